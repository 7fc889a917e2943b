"""Analysis benchmark: a synthetic snapshot of a million images, then each analysis in its own process.

    .venv/bin/python benchmarks/bench_analysis.py                    # 1,000,000 images, full report
    .venv/bin/python benchmarks/bench_analysis.py --images 100000 --no-report
    .venv/bin/python benchmarks/bench_analysis.py --step classify --snapshot DIR   # one step, JSON out

The snapshot is built directly as frames (no sandbox, no AWS): 200 accounts × 2 regions, 5,000
repositories, images in blocks of ten — a tagged (or, one block in five, untagged) OCI index with
amd64 and arm64 children and a buildx attestation manifest, a cosign signature of the index
(`sha256-<hex>.sig` tag), an OCI referrer (SBOM) whose subject is the index, and four
single-platform images (two tagged, two untagged, one of them archived). Digests are random (real
digests are incompressible; sequential ones would flatter the on-disk size). Every image has a
unique config blob; single-platform images and children share two base layers per repository
and add one unique layer. Five accounts have no manifests read (undetermined paths), 40% of the
repositories have a repository policy, every account × region a registry policy, half the
repositories a lifecycle policy.

Each step runs in a fresh subprocess: "load" is snapshot.load plus reading every frame (loading
is lazy; "open" is the eager part alone); every other step is timed after that load (load time
excluded), and its peak RSS (getrusage maxrss) includes the loaded inventory. "report" runs
`ecr-audit report` and reports the largest RSS among its processes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ecr_audit import snapshot as snap
from ecr_audit.schema import SCHEMA_VERSION

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
NOW = pd.Timestamp("2026-01-15T00:00:00Z")

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
INTOTO = "application/vnd.in-toto+json"
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
SBOM = "application/spdx+json"
BLOCK = 10  # images per block, see the module docstring

LIFECYCLE_TEMPLATES = [
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "untagged",
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 14,
                },
                "action": {"type": "expire"},
            }
        ]
    },
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "keep 10 releases",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPrefixList": ["release-"],
                    "countType": "imageCountMoreThan",
                    "countNumber": 10,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 2,
                "description": "untagged",
                "selection": {"tagStatus": "untagged", "countType": "imageCountMoreThan", "countNumber": 20},
                "action": {"type": "expire"},
            },
        ]
    },
    {
        "rules": [
            {
                "rulePriority": 1,
                "description": "builds",
                "selection": {
                    "tagStatus": "tagged",
                    "tagPatternList": ["build-*"],
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 90,
                },
                "action": {"type": "expire"},
            },
            {
                "rulePriority": 5,
                "description": "anything old",
                "selection": {
                    "tagStatus": "any",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 365,
                },
                "action": {"type": "expire"},
            },
        ]
    },
]


def _digests(n: int, rng: np.random.Generator) -> np.ndarray:
    """n random sha256:<64 hex> strings (object array)."""
    raw = rng.bytes(32 * n).hex()
    return np.char.add("sha256:", np.frombuffer(raw.encode(), dtype="S64").astype("U64")).astype(object)


def build(n_images: int, n_accounts: int = 200, n_repos: int = 5000, seed: int = 0):
    """The synthetic Inventory (see the module docstring)."""
    from ecr_audit.inventory import Inventory

    rng = np.random.default_rng(seed)
    regions = np.array(["us-east-1", "eu-west-1"], dtype=object)
    accounts = np.array([f"{100000000000 + 7919 * i:012d}" for i in range(n_accounts)], dtype=object)
    per_repo = max(BLOCK, n_images // n_repos // BLOCK * BLOCK)
    n_repos = n_images // per_repo
    n = n_repos * per_repo
    repo_acct = np.arange(n_repos) % n_accounts
    repo_region = (np.arange(n_repos) // n_accounts) % 2
    repo_names = np.array([f"team{r % 40}/service-{r}" for r in range(n_repos)], dtype=object)
    unread_accounts = set(range(n_accounts - 5, n_accounts))  # no manifests read there

    # -- images ------------------------------------------------------------------------------
    repo = np.repeat(np.arange(n_repos), per_repo)
    pos = np.tile(np.arange(per_repo), n_repos)
    block, slot = pos // BLOCK, pos % BLOCK
    digest = _digests(n, rng)
    base = np.arange(n) - slot  # row of the block's index
    read = ~np.isin(repo_acct[repo], list(unread_accounts))
    idx_tagged = block % 5 != 4
    hexes = np.array([d[7:] for d in digest[base[slot == 0]]], dtype=object)
    idx_hex = np.repeat(hexes, BLOCK)
    tags = np.empty(n, dtype=object)
    lists = {
        0: lambda i: [f"v{block[i]}"] if idx_tagged[i] else [],
        4: lambda i: [f"sha256-{idx_hex[i]}.sig"],
        6: lambda i: [f"build-{block[i]}"],
        8: lambda i: (
            [f"release-{block[i]}", "latest"]
            if block[i] == per_repo // BLOCK - 1
            else [f"release-{block[i]}"]
        ),
    }
    slot_l = slot.tolist()
    for i in range(n):
        f = lists.get(slot_l[i])
        tags[i] = f(i) if f else []
    age_days = (per_repo // BLOCK - block) * 7 + rng.integers(0, 7, n)
    pushed = NOW - pd.to_timedelta(age_days, unit="D")
    pulled_days = age_days - rng.integers(0, np.maximum(age_days, 1))
    pulled = (NOW - pd.to_timedelta(pulled_days, unit="D")).to_series(index=range(n))
    pulled[rng.random(n) < 0.3] = pd.NaT
    mmt = np.select(
        [slot == 0, np.isin(slot, [1, 2, 6, 7, 8, 9])], [OCI_INDEX, DOCKER_MANIFEST], OCI_MANIFEST
    )
    sizes = np.select(
        [np.isin(slot, [3, 4, 5])], [rng.integers(800, 4000, n)], rng.integers(20_000_000, 400_000_000, n)
    )
    status = np.where((slot == 9) & (block % 2 == 0), "ARCHIVED", "ACTIVE")
    subject = np.where(slot == 5, digest[base], None)
    config_type = np.select(
        [np.isin(slot, [1, 2, 6, 7, 8, 9]), slot == 3, slot == 4, slot == 5],
        [DOCKER_CONFIG, OCI_CONFIG, OCI_CONFIG, OCI_CONFIG],
        None,
    )
    artifact_type = np.where(slot == 5, SBOM, None)
    manifest_status = np.where(~read, "skipped", np.where(status == "ARCHIVED", "skipped", "present"))
    has_manifest = manifest_status == "present"
    images = pd.DataFrame(
        {
            "account_id": accounts[repo_acct[repo]],
            "region": regions[repo_region[repo]],
            "repository_name": repo_names[repo],
            "image_digest": digest,
            "tags": tags,
            "pushed_at": pushed,
            "last_pulled_at": pulled.to_numpy(),
            "size_bytes": sizes,
            "manifest_media_type": mmt,
            "artifact_media_type": np.where(slot == 5, SBOM, config_type),
            "image_status": status,
            "subject_digest": subject,
            "scan_status": "COMPLETE",
            "manifest_status": manifest_status,
            "manifest_size_bytes": np.where(has_manifest, rng.integers(400, 2000, n), None),
            "config_media_type": np.where(has_manifest, config_type, None),
            "artifact_type": np.where(has_manifest, artifact_type, None),
        }
    )
    key = images[["account_id", "region", "repository_name"]]

    # -- image_tags ------------------------------------------------------------------------
    t = images[["account_id", "region", "repository_name", "image_digest", "tags"]].explode("tags")
    image_tags = t[t["tags"].notna()].rename(columns={"tags": "tag"}).reset_index(drop=True)

    # -- manifest references -------------------------------------------------------------------
    def edges(src_slot, tgt_slot, kind, only_read=True, **extra):
        m = (slot == tgt_slot) & (read if only_read else True)
        rows = np.flatnonzero(m)
        src = base[rows] + src_slot
        df = key.iloc[rows].reset_index(drop=True)
        df["source_digest"] = digest[src]
        df["target_digest"] = digest[rows]
        df["kind"] = kind
        for k, v in extra.items():
            df[k] = v
        return df

    refs = [
        edges(0, 1, "index_child", platform="linux/amd64", media_type=DOCKER_MANIFEST),
        edges(0, 2, "index_child", platform="linux/arm64", media_type=DOCKER_MANIFEST),
        edges(
            0,
            3,
            "index_child",
            platform="unknown/unknown",
            media_type=OCI_MANIFEST,
            reference_type="attestation-manifest",
        ),
    ]
    att = edges(0, 3, "attestation_subject", media_type=OCI_MANIFEST, reference_type="attestation-manifest")
    att["source_digest"], att["target_digest"] = att["target_digest"], digest[base[(slot == 3) & read] + 1]
    sig = edges(0, 4, "signature_subject", only_read=False, reference_type="cosign:sig")
    sig["source_digest"], sig["target_digest"] = sig["target_digest"], sig["source_digest"]
    ref = edges(0, 5, "referrer_subject", only_read=False)
    ref["source_digest"], ref["target_digest"] = ref["target_digest"], ref["source_digest"]
    manifest_references = pd.concat(refs + [att, sig, ref], ignore_index=True)

    # -- layers: unique config per image; 2 shared base + 1 unique layer for runnable images --
    with_m = np.flatnonzero(has_manifest & (slot != 0))
    runnable = with_m[np.isin(slot[with_m], [1, 2, 6, 7, 8, 9])]
    repo_base = _digests(2 * n_repos, rng).reshape(n_repos, 2)
    parts = [
        pd.DataFrame(
            {
                "row": with_m,
                "blob_digest": _digests(len(with_m), rng),
                "size_bytes": rng.integers(500, 12_000, len(with_m)),
                "media_type": OCI_CONFIG,
                "kind": "config",
            }
        ),
        pd.DataFrame(
            {
                "row": runnable,
                "blob_digest": repo_base[repo[runnable], 0],
                "size_bytes": 30_000_000,
                "media_type": DOCKER_LAYER,
                "kind": "layer",
            }
        ),
        pd.DataFrame(
            {
                "row": runnable,
                "blob_digest": repo_base[repo[runnable], 1],
                "size_bytes": 5_000_000,
                "media_type": DOCKER_LAYER,
                "kind": "layer",
            }
        ),
        pd.DataFrame(
            {
                "row": with_m,
                "blob_digest": _digests(len(with_m), rng),
                "size_bytes": rng.integers(1_000, 300_000_000, len(with_m)),
                "media_type": OCI_LAYER,
                "kind": "layer",
            }
        ),
    ]
    lay = pd.concat(parts, ignore_index=True).sort_values("row", kind="stable")
    layers = pd.concat(
        [
            images[["account_id", "region", "repository_name", "image_digest"]]
            .iloc[lay["row"].to_numpy()]
            .reset_index(drop=True),
            lay.drop(columns="row").reset_index(drop=True),
        ],
        axis=1,
    )

    # -- repositories, policies, registries, coverage, accounts --------------------------------
    ra, rr = accounts[repo_acct], regions[repo_region]
    repositories = pd.DataFrame(
        {
            "account_id": ra,
            "region": rr,
            "repository_name": repo_names,
            "repository_arn": [f"arn:aws:ecr:{r}:{a}:repository/{p}" for a, r, p in zip(ra, rr, repo_names)],
            "created_at": NOW - pd.Timedelta(days=1500),
            "image_tag_mutability": "MUTABLE",
            "encryption_type": "AES256",
            "policy_status": np.where(np.arange(n_repos) % 5 < 2, "present", "absent"),
            "lifecycle_policy_status": np.where(np.arange(n_repos) % 2 == 0, "present", "absent"),
            "tags_status": "absent",
            "images_status": "present",
            "manifests_status": np.where(np.isin(repo_acct, list(unread_accounts)), "skipped", "present"),
        }
    )
    with_policy = np.flatnonzero(np.arange(n_repos) % 5 < 2)
    templates = []
    for k in range(50):
        other = accounts[(k * 13) % n_accounts]
        st = [
            {
                "Sid": "pull",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{other}:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            },
            {
                "Sid": "org",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "ecr:BatchGetImage",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-bench12345"}},
            },
        ]
        if k % 10 == 0:
            st.append(
                {
                    "Sid": "lambda",
                    "Effect": "Allow",
                    "Principal": {"Service": "lambda.amazonaws.com"},
                    "Action": "ecr:BatchGetImage",
                }
            )
        if k % 25 == 0:
            st.append({"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"})
        if k % 7 == 0:
            st.append(
                {
                    "Sid": "push",
                    "Effect": "Allow",
                    "Principal": {"AWS": "arn:aws:iam::999988887777:role/ci"},
                    "Action": [
                        "ecr:PutImage",
                        "ecr:InitiateLayerUpload",
                        "ecr:UploadLayerPart",
                        "ecr:CompleteLayerUpload",
                    ],
                }
            )
        templates.append(json.dumps({"Version": "2012-10-17", "Statement": st}))
    repository_policies = pd.DataFrame(
        {
            "account_id": ra[with_policy],
            "region": rr[with_policy],
            "repository_name": repo_names[with_policy],
            "policy_text": [templates[i % 50] for i in range(len(with_policy))],
        }
    )
    with_lc = np.flatnonzero(np.arange(n_repos) % 2 == 0)
    lifecycle_policies = pd.DataFrame(
        {
            "account_id": ra[with_lc],
            "region": rr[with_lc],
            "repository_name": repo_names[with_lc],
            "policy_text": [json.dumps(LIFECYCLE_TEMPLATES[i % 3]) for i in range(len(with_lc))],
        }
    )
    units = pd.DataFrame([(a, r) for a in accounts for r in regions], columns=["account_id", "region"])
    unit_read = ~units["account_id"].isin(accounts[list(unread_accounts)])
    registry_policies = units.assign(
        policy_text=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "replicate",
                        "Effect": "Allow",
                        "Principal": {"AWS": f"arn:aws:iam::{accounts[0]}:root"},
                        "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
                        "Resource": "*",
                    }
                ],
            }
        )
    )
    registries = units.assign(
        registry_policy_status="present",
        registry_policy_scope="V2",
        replication_status="absent",
        pull_through_cache_status="absent",
        creation_templates_status="absent",
        pull_time_exclusions_status="present",
    )
    per_unit = images.groupby(["account_id", "region"]).size().rename("images").reset_index()
    coverage = units.merge(per_unit, how="left").assign(
        status="complete",
        manifest_mode="auto",
        has_read_manifests=unit_read.to_numpy(),
        is_pull_time_excluded=unit_read.to_numpy(),
        manifests_reason=np.where(
            unit_read,
            "principal is excluded from pull-time updates",
            "principal is not in ListPullTimeUpdateExclusions",
        ),
        repositories=n_repos // len(units),
        errors=0,
    )
    accounts_df = pd.DataFrame(
        {
            "account_id": accounts,
            "account_name": [f"acct-{i}" for i in range(n_accounts)],
            "state": "ACTIVE",
            "collection_status": "collected",
            "ou_path": [f"r-ab12/ou-ab12-{i % 8}" for i in range(n_accounts)],
        }
    )
    meta = {
        "source": "synthetic:bench_analysis",
        "collected_at": NOW.isoformat(),
        "caller": {"arn": f"arn:aws:iam::{accounts[0]}:role/audit", "account_id": accounts[0]},
        "organization": {
            "id": "o-bench12345",
            "management_account_id": accounts[0],
            "account_ids": list(accounts),
        },
        "accounts": list(accounts),
        "regions": list(regions),
        "options": {
            "read_manifests": "auto",
            "role_name": "audit",
            "regions": "all",
            "account_source": "organization",
        },
        "completeness": "complete",
    }
    consumers, consumer_coverage = _consumers(images, accounts, regions, rng, n_refs=max(n // 20, 1))
    return Inventory.from_frames(
        meta=meta,
        accounts=accounts_df,
        coverage=coverage,
        consumers=consumers,
        consumer_coverage=consumer_coverage,
        registries=registries,
        repositories=repositories,
        images=images,
        image_tags=image_tags,
        manifest_references=manifest_references,
        layers=layers,
        repository_policies=repository_policies,
        registry_policies=registry_policies,
        lifecycle_policies=lifecycle_policies,
    )


def _consumers(images: pd.DataFrame, accounts, regions, rng, n_refs: int):
    """`n_refs` consumer references (50,000 at a million images): ECS, Lambda, Batch, ... rows naming
    random images — half by tag (tag_now), half by the digest the service resolved, one in five from
    another account, one in fifty naming a tag that does not exist — and every consumer kind read
    (complete) in every account × region."""
    from ecr_audit import consumers as c
    from ecr_audit import ecr

    tagged = np.flatnonzero(images["tags"].map(len).to_numpy() > 0)
    pick = rng.choice(len(images), n_refs)
    by_tag = rng.random(n_refs) < 0.5
    pick[by_tag] = rng.choice(tagged, int(by_tag.sum()))
    im = images.iloc[pick].reset_index(drop=True)
    tag = np.where(by_tag, im["tags"].map(lambda t: t[0] if len(t) else None).to_numpy(), None)
    missing = rng.random(n_refs) < 0.02
    tag = np.where(missing & by_tag, "gone-" + pd.Series(np.arange(n_refs)).astype(str).to_numpy(), tag)
    digest = np.where(by_tag, None, im["image_digest"].to_numpy())
    uri = [
        ecr.image_uri(a, r, p, tag=t if t is not None else "latest")
        for a, r, p, t in zip(im["account_id"], im["region"], im["repository_name"], tag)
    ]
    kinds = np.array([k for k in c.COLLECTION_KIND if not k.startswith(("inspector", "cloudtrail"))])
    consumer_account = np.where(
        rng.random(n_refs) < 0.2,
        accounts[rng.integers(0, len(accounts), n_refs)],
        im["account_id"].to_numpy(),
    )
    refs = pd.DataFrame(
        {
            "consumer_account_id": consumer_account,
            "consumer_region": im["region"].to_numpy(),
            "consumer_kind": kinds[np.arange(n_refs) % len(kinds)],
            "consumer_name": "svc-" + pd.Series(np.arange(n_refs)).astype(str),
            "reference_role": np.array(["running", "deployed", "rollback", "defined"])[np.arange(n_refs) % 4],
            "image_uri": uri,
            "is_ecr_private": True,
            "account_id": im["account_id"].to_numpy(),
            "region": im["region"].to_numpy(),
            "repository_name": im["repository_name"].to_numpy(),
            "image_tag": tag,
            "image_digest": digest,
            "digest_source": np.where(by_tag, "none", "resolved_by_service"),
            "is_running": np.arange(n_refs) % 4 < 2,
        }
    )
    cov = pd.DataFrame(
        [
            {
                "consumer_account_id": a,
                "consumer_region": r,
                "consumer_kind": k,
                "status": "complete",
                "consumers": 0,
            }
            for a in accounts
            for r in regions
            for k in c.REQUIRED_KINDS
        ]
    )
    return refs, cov


# -- steps (each in its own process) -----------------------------------------------------------


def _maxrss_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024  # Linux: KiB


def _step_grants(inv):
    from ecr_audit import access

    g = access.grants(inv)
    return {"rows": len(g)}


def _step_classify(inv):
    from ecr_audit import images

    roles = images.classify(inv)
    o = images.orphans(inv, roles)
    return {"rows": len(roles), "orphans": len(o)}


def _step_stale(inv):
    from ecr_audit import images

    s = images.stale(inv)
    sup = images.superseded(inv)
    return {"stale": len(s), "superseded": len(sup)}


def _step_simulate(inv):
    from ecr_audit import lifecycle

    sim = lifecycle.simulate(inv)
    return {"rows": len(sim)}


def _step_cost(inv):
    from ecr_audit import cost

    s = cost.storage(inv)
    return {"rows": len(s)}


def _step_consumers(inv):
    """in_use, then the in-use-aware answers: orphans, simulate, savings (each reuses in_use)."""
    import time as _t

    from ecr_audit import consumers, cost, images, lifecycle

    t = _t.perf_counter()
    u = consumers.in_use(inv)
    in_use_s = _t.perf_counter() - t
    o = images.orphans(inv)
    sim = lifecycle.simulate(inv)
    sv = cost.savings(inv, removals={"orphans": o, "lifecycle": sim[sim["action"] == "expire"]})
    return {
        "references": len(inv.consumers),
        "in_use_s": round(in_use_s, 2),
        "yes": int((u["in_use"] == "yes").sum()),
        "unknown": int((u["in_use"] == "unknown").sum()),
        "orphans": len(o),
        "simulate": len(sim),
        "savings": len(sv),
    }


ANALYSES = {
    "grants": _step_grants,
    "classify": _step_classify,
    "stale": _step_stale,
    "simulate": _step_simulate,
    "cost": _step_cost,
    "consumers": _step_consumers,
}


def run_step(step: str, snapshot: str) -> dict:
    t = time.perf_counter()
    inv = snap.load(snapshot)
    open_s = time.perf_counter() - t
    for name in inv.frames:  # loading is lazy: read every frame, as the figures always did
        inv.frames[name]
    load_s = time.perf_counter() - t
    out = {"step": step, "open_s": round(open_s, 2), "load_s": round(load_s, 2), "images": len(inv.images)}
    steps = list(ANALYSES) if step == "all" else [] if step == "load" else [step]
    t = time.perf_counter()
    for s in steps:
        t1 = time.perf_counter()
        out[s] = ANALYSES[s](inv)
        out[s]["s"] = round(time.perf_counter() - t1, 2)
    out["seconds"] = round(time.perf_counter() - t, 2) if steps else out["load_s"]
    out["peak_rss_mb"] = round(_maxrss_mb())
    return out


def _sub(args: list[str]) -> dict:
    p = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True)
    if p.returncode:
        return {"error": (p.stderr or p.stdout).strip().splitlines()[-1:]}
    return json.loads(p.stdout.strip().splitlines()[-1])


def _report(snapshot: Path, out: Path) -> dict:
    shutil.rmtree(out, ignore_errors=True)
    exe = Path(sys.executable).with_name("ecr-audit")
    t = time.perf_counter()
    p = subprocess.run([str(exe), "report", str(snapshot), "--out", str(out)], capture_output=True, text=True)
    seconds = time.perf_counter() - t
    tail = (p.stdout + p.stderr).strip().splitlines()[-12:]
    return {
        "seconds": round(seconds, 1),
        "rc": p.returncode,
        "peak_rss_mb_children": round(_maxrss_mb(resource.RUSAGE_CHILDREN)),
        "tail": tail,
    }


def _versions() -> str:
    import pyarrow

    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (
        f"{os.cpu_count()} cpus, {mem:.1f} GiB, python {platform.python_version()}, pandas {pd.__version__}, "
        f"pyarrow {pyarrow.__version__}, numpy {np.__version__}"
    )


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=int, default=1_000_000)
    p.add_argument(
        "--snapshot", default=None, help="snapshot directory (default /tmp/ecr-audit-bench/<images>)"
    )
    p.add_argument("--rebuild", action="store_true", help="build the snapshot even if it exists")
    p.add_argument("--no-report", action="store_true", help="skip `ecr-audit report`")
    p.add_argument("--step", help=argparse.SUPPRESS)  # internal: run one step, print JSON
    args = p.parse_args(argv)
    snapshot = Path(args.snapshot or f"/tmp/ecr-audit-bench/{args.images}")
    if args.step:
        print(json.dumps(run_step(args.step, str(snapshot))))
        return 0

    print(f"machine: {_versions()}")
    if (
        not args.rebuild
        and (snapshot / "manifest.json").is_file()
        and json.loads((snapshot / "manifest.json").read_text()).get("schema_version") != SCHEMA_VERSION
    ):
        t = time.perf_counter()  # an older format: rewrite it in the current one
        snap.save(snap.load(snapshot), snapshot)
        print(f"rewrote {snapshot} in schema version {SCHEMA_VERSION} in {time.perf_counter() - t:.1f} s")
    if args.rebuild or not (snapshot / "manifest.json").is_file():
        t = time.perf_counter()
        inv = build(args.images)
        built = time.perf_counter() - t
        t = time.perf_counter()
        snap.save(inv, snapshot)
        saved = time.perf_counter() - t
        print(f"built {len(inv.images):,} images in {built:.1f} s, saved in {saved:.1f} s → {snapshot}")
        del inv
    manifest = json.loads((snapshot / "manifest.json").read_text())
    n = manifest["frames"]["images"]["rows"]
    sizes = {f.stem: f.stat().st_size for f in snapshot.glob("*.parquet")}
    total = sum(sizes.values())
    rows = {k: v["rows"] for k, v in manifest["frames"].items()}
    print(
        f"snapshot: {n:,} images, {total / 2**20:.1f} MiB on disk = {total / n:.0f} bytes per image (target ≤ 100)"
    )
    for name, size in sorted(sizes.items(), key=lambda kv: -kv[1])[:6]:
        print(f"  {name:22} {rows.get(name, 0):>10,} rows {size / 2**20:8.1f} MiB {size / n:6.1f} B/image")

    results = {}
    for step in ["load", *ANALYSES, "all"]:
        r = _sub(["--step", step, "--snapshot", str(snapshot), "--images", str(args.images)])
        results[step] = r
        if "error" in r:
            print(f"{step:10} ERROR {r['error']}")
            continue
        detail = {k: v for k, v in r.get(step, {}).items() if k != "s"} if step in ANALYSES else ""
        print(
            f"{step:10} {r['seconds']:6.2f} s  peak RSS {r['peak_rss_mb'] / 1024:5.2f} GiB  "
            f"(load {r['load_s']:.2f} s, of which open {r['open_s']:.2f} s) {detail}"
        )
    ok = [r for s, r in results.items() if s in ANALYSES and "error" not in r]
    print(
        f"sum of analyses in separate processes: {sum(r['seconds'] for r in ok):.2f} s (target ≤ 15); "
        f"in one process: {results['all'].get('seconds', float('nan')):.2f} s"
    )
    if not args.no_report:
        r = _report(snapshot, snapshot.parent / f"{snapshot.name}-report")
        print(
            f"report     {r['seconds']:6.1f} s  rc {r['rc']}  peak RSS of any child "
            f"{r['peak_rss_mb_children'] / 1024:.2f} GiB (target ≤ 90 s)"
        )
        for line in r["tail"]:
            print(f"    {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
