"""Trends benchmark: the four trend charts over a history of daily snapshots.

    .venv/bin/python benchmarks/bench_trends.py                 # 30 snapshots of the demo organization
    .venv/bin/python benchmarks/bench_trends.py --snapshots 90

The history is built from the demo snapshot (the sandbox's organization, collected once): snapshot
i is collected i days after the first and lacks a different tenth of the images, so every day's
figures differ. Timed, each in the same process after the history is written:
- cold: `trends.points` with an empty cache (every metric of every snapshot computed: findings
  read every frame; each worker reuses, from one snapshot to the next, the analyses whose inputs
  did not change: `ecr_audit.reuse`), then the four charts rendered to PNG;
- warm: the same with every point cached (what a report of the history does every day but the first);
- one new: every point cached but the newest snapshot's (a scheduled run's steady state);
- with `--report`: `ecr-audit report NEWEST --only changes`, the page a user opens, with the
  history's own cache (`DIR/.trends`) empty, then again with it filled.
Each line gives the wall time and the CPU time of this process and its worker processes (the
machine is shared: wall time alone says little when other work runs; CPU time ÷ cores is the wall
time on an idle machine). `--workers 1` computes every point in this process (the code before
worker processes).
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from ecr_audit import load, save, trends  # noqa: E402
from ecr_audit.demo import demo_snapshot  # noqa: E402


def build_history(directory: Path, n: int) -> list[Path]:
    base = load(demo_snapshot())
    frames = {name: base.frames[name] for name in base.frames}
    start = pd.Timestamp(base.meta["collected_at"]) - pd.Timedelta(days=n)
    paths = []
    for i in range(n):
        when = start + pd.Timedelta(days=i)
        images = frames["images"]
        keep = images.index % 10 != i % 10
        inv = type(base).from_frames(meta={**base.meta, "collected_at": when.isoformat()}, **frames)
        inv.frames["images"] = images[keep].reset_index(drop=True)
        paths.append(save(inv, directory / when.strftime("%Y%m%dT%H%M%SZ")))
    return paths


def charts(pts: pd.DataFrame) -> int:
    total = 0
    for name in trends.CHARTS:
        fig, ax = plt.subplots(figsize=(9, 3.2))
        trends.plot(pts, name, ax)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=100)
        plt.close(fig)
        total += buf.tell()
    return total


def cpu() -> float:
    """CPU seconds of this process and of its children that have ended (the pool's workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed(label: str, paths, cache, workers) -> None:
    c0, t0 = cpu(), time.perf_counter()
    pts = trends.points(paths, cache_dir=cache, workers=workers)
    t1 = time.perf_counter()
    charts(pts)
    t2 = time.perf_counter()
    print(
        f"{label:>8}: points {t1 - t0:6.2f} s + 4 charts {t2 - t1:5.2f} s = {t2 - t0:6.2f} s wall"
        f" ({cpu() - c0:6.2f} s CPU)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--snapshots", type=int, default=30)
    ap.add_argument("--workers", type=int, default=None, help="processes for points (default: one per CPU)")
    ap.add_argument("--report", action="store_true", help="also time `ecr-audit report --only changes`")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-trends-") as tmp:
        history, cache = Path(tmp) / "history", Path(tmp) / "cache"
        t0 = time.perf_counter()
        paths = build_history(history, args.snapshots)
        print(f"built {len(paths)} snapshots in {time.perf_counter() - t0:.1f} s")
        print(f"machine: {platform.machine()}, {os.cpu_count()} cores, python {platform.python_version()}")
        print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        for label in ("cold", "warm"):
            timed(label, paths, cache, args.workers)
        for metric in trends.METRICS:  # forget the newest snapshot's points only
            (cache / f"{trends.cache_key(paths[-1], metric, 90)}.json").unlink()
        timed("one new", paths, cache, args.workers)
        if args.report:
            report(paths[-1], Path(tmp) / "report")


def report(newest: Path, out: Path) -> None:
    """The user's path: `ecr-audit report NEWEST --only changes` (a kernel, the diff with the
    previous snapshot, the trend charts from the history's own cache, HTML), cold then warm."""
    shutil.rmtree(newest.parent / trends.HISTORY_CACHE, ignore_errors=True)
    cmd = [sys.executable, "-m", "ecr_audit.cli", "report", str(newest), "--only", "changes", "--quiet"]
    for label in ("cold", "warm"):
        t0 = time.perf_counter()
        subprocess.run(
            [*cmd, "--out", str(out / label)], check=True, env={**os.environ, "ECR_AUDIT_CACHE_DIR": ""}
        )
        print(
            f"{'report ' + label:>13}: {time.perf_counter() - t0:6.2f} s wall (changes page, whole command)"
        )


if __name__ == "__main__":
    main()
