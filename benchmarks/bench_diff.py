"""Diff benchmark: `changes.diff` of two snapshots, the demo organization's and a million images'.

    .venv/bin/python benchmarks/bench_diff.py                     # demo and 1,000,000 images
    .venv/bin/python benchmarks/bench_diff.py --images 100000 --no-demo

The newer snapshot is the older one changed as a day of a large organization might change it:
1% of the images deleted (with their tags, layers and manifest edges), 50 repository policies
opened to everyone, 50 lifecycle policies edited, collected a day later. The diff is timed in both
directions (old → new: deletions; new → old: the same images as pushes), each in a fresh process
(load of the two snapshots included: the diff reads them lazily), with its peak RSS. The million-
image snapshot is the one `bench_analysis.py` builds (shared under /tmp/ecr-audit-bench/, or
`--root DIR`; a cached snapshot this code can no longer load is built again).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

PUBLIC = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}
        ],
    }
)


def _key(df: pd.DataFrame, cols) -> pd.Series:
    out = df[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "\x1f" + df[c].astype(str)
    return out


def changed(inv, seed: int = 1):
    """`inv` a day later: 1% of images deleted, 50 repository and 50 lifecycle policies edited."""
    from ecr_audit import Inventory
    from ecr_audit.schema import IMAGE_KEY, REPO_KEY

    rng = np.random.default_rng(seed)
    images = inv.images
    gone = rng.random(len(images)) < 0.01
    gone_keys = set(_key(images[gone], IMAGE_KEY))
    frames = {name: inv.frames[name] for name in inv.frames}
    frames["images"] = images[~gone].reset_index(drop=True)
    for name, digest in (("image_tags", "image_digest"), ("layers", "image_digest")):
        df = frames[name]
        frames[name] = df[~_key(df, REPO_KEY + [digest]).isin(gone_keys).to_numpy()].reset_index(drop=True)
    refs = frames["manifest_references"]
    drop = _key(refs, REPO_KEY + ["source_digest"]).isin(gone_keys) | _key(
        refs, REPO_KEY + ["target_digest"]
    ).isin(gone_keys)
    frames["manifest_references"] = refs[~drop.to_numpy()].reset_index(drop=True)
    repos = frames["repositories"]
    opened = repos.sample(min(50, len(repos) // 2), random_state=seed)[REPO_KEY].assign(policy_text=PUBLIC)
    pol = frames["repository_policies"]
    pol = pd.concat([pol[~_key(pol, REPO_KEY).isin(set(_key(opened, REPO_KEY))).to_numpy()], opened])
    frames["repository_policies"] = pol.reset_index(drop=True)
    frames["repositories"] = repos.assign(
        policy_status=repos["policy_status"].where(
            ~_key(repos, REPO_KEY).isin(set(_key(opened, REPO_KEY))), "present"
        )
    )
    lc = frames["lifecycle_policies"].copy()
    edit = lc.sample(min(50, len(lc)), random_state=seed).index
    lc.loc[edit, "policy_text"] = lc.loc[edit, "policy_text"].str.replace(
        '"countNumber": 1', '"countNumber": 2'
    )
    frames["lifecycle_policies"] = lc
    meta = dict(inv.meta)
    meta["collected_at"] = (pd.Timestamp(meta["collected_at"]) + pd.Timedelta(days=1)).isoformat()
    return Inventory(frames=frames, meta=meta)


def step(old: str, new: str) -> dict:
    from ecr_audit import changes

    t = time.perf_counter()
    c = changes.diff(old, new)
    seconds = time.perf_counter() - t
    s = c.summary()
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "counts": {k: s[k] for k in ("images_pushed", "images_deleted", "policies_changed", "new_findings")},
        "findings": len(c.findings),
        "lifecycle": len(c.lifecycle),
    }


def _sub(old: Path, new: Path) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--step", str(old), str(new)], capture_output=True, text=True, check=False
    )
    if out.returncode:
        return {
            "error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"rc {out.returncode}"
        }
    return json.loads(out.stdout)


def _loads(snapshot: Path) -> bool:
    """Whether a cached snapshot exists and this code can load it (a cache written by an older
    schema is built again, with its changed twin)."""
    from ecr_audit import load
    from ecr_audit.snapshot import SnapshotError

    if not (snapshot / "manifest.json").is_file():
        return False
    try:
        load(snapshot)
    except SnapshotError as e:
        print(f"{snapshot}: cached snapshot not loadable ({e}): building it again")
        return False
    return True


def pair(label: str, old: Path, root: Path) -> None:
    from ecr_audit import load, save

    new = root / f"{old.name}-changed"
    if not _loads(new) or (new / "manifest.json").stat().st_mtime < (old / "manifest.json").stat().st_mtime:
        t = time.perf_counter()
        save(changed(load(old)), new)
        print(f"{label}: wrote the changed snapshot in {time.perf_counter() - t:.1f} s")
    for a, b, what in ((old, new, "old → new"), (new, old, "new → old")):
        r = _sub(a, b)
        if "error" in r:
            print(f"{label} {what}: ERROR {r['error']}")
            continue
        print(
            f"{label} {what}: {r['seconds']:.2f} s, peak RSS {r['peak_rss_mb'] / 1024:.2f} GiB, "
            f"{r['findings']:,} finding states, {r['lifecycle']:,} lifecycle rows, {r['counts']}"
        )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1_000_000)
    p.add_argument("--no-demo", action="store_true")
    p.add_argument("--root", default="/tmp/ecr-audit-bench", help="snapshot cache (default %(default)s)")
    p.add_argument("--step", nargs=2, help=argparse.SUPPRESS)  # internal: one diff, JSON out
    args = p.parse_args(argv)
    if args.step:
        print(json.dumps(step(*args.step)))
        return 0
    root = Path(args.root)
    root.mkdir(parents=True, exist_ok=True)
    if not args.no_demo:
        from ecr_audit.demo import demo_snapshot

        pair("demo", demo_snapshot(), root)
    big = root / str(args.images)
    if not _loads(big):
        from bench_analysis import build

        from ecr_audit import save

        t = time.perf_counter()
        save(build(args.images), big)
        print(f"built {args.images:,} images in {time.perf_counter() - t:.1f} s → {big}")
    pair(f"{args.images:,} images", big, root)
    return 0


if __name__ == "__main__":
    sys.exit(main())
