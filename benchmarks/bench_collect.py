"""Collection benchmark: the collector against the sandbox with per-call latency, vs. a sequential baseline.

    .venv/bin/python benchmarks/bench_collect.py                       # 4 × 2 × 25 × 40, 50 ms
    .venv/bin/python benchmarks/bench_collect.py --accounts 8 --latency 0.1 --workers 8 --repository-workers 4

Prints: wall time, API calls per operation against the minimum the data requires, calls/s, the
concurrency bound (calls × latency ÷ concurrent calls possible) and the ratio to it, and the wall
time of a plain sequential boto3 collector doing the same reads one call at a time.

The latency is server side (`org.faults.latency`): a thread waiting on it releases the GIL, as a
thread waiting on a real endpoint would. moto's own CPU time per call (it serializes under the GIL,
about 1-5 ms per call, more per described image) is measured separately with zero latency and
reported, because it is the part of the wall time that no client-side concurrency can hide here
and that real AWS does not have. The last part runs the collection and the baseline again against
the sandbox's recorded answers (benchmarks/replay.py): an endpoint that costs our process nothing
but the latency, which is what the concurrency bound assumes.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import boto3
from botocore.exceptions import ClientError

from ecr_audit import sandbox
from ecr_audit.collect.manifests import ACCEPTED_MEDIA_TYPES
from ecr_audit.collect.run import collect

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from replay import Recorder, Replayer  # noqa: E402  (benchmarks/ is not a package)

ORG_PAGE = 20  # organizations:ListAccounts MaxResults limit
IMAGES_PAGE = 1000  # DescribeImages maxResults limit
MANIFEST_BATCH = 100  # BatchGetImage imageIds limit
REGISTRY_OPS = {
    "DescribeRegistry": 1,
    "GetRegistryPolicy": 1,
    "GetAccountSetting": 2,
    "GetRegistryScanningConfiguration": 1,
    "DescribePullThroughCacheRules": 1,
    "DescribeRepositoryCreationTemplates": 1,
    "ListPullTimeUpdateExclusions": 1,
}


def minimum_calls(world, manifest_units: set[tuple[str, str]]) -> dict[str, int]:
    """The fewest ECR/STS/EC2 calls that reading every field of `world` requires, per operation.

    manifest_units: the account × region units where manifests are to be read (the collector reads
    them only where its principal is excluded from pull-time updates: not the caller's own account).

    Organizations calls (ListAccounts pages, the OU walk) are reported as observed: their count
    depends on the OU tree, not on ECR data.
    """
    n_accounts = len(world.accounts)
    need = {"GetCallerIdentity": 1, "AssumeRole": n_accounts - 1, "DescribeRegions": n_accounts}
    for op in REGISTRY_OPS:
        need[op] = 0
    for op in (
        "DescribeRepositories",
        "GetRepositoryPolicy",
        "GetLifecyclePolicy",
        "ListTagsForResource",
        "DescribeImages",
        "BatchGetImage",
    ):
        need[op] = 0
    for acct in world.accounts:
        for reg in acct.registries:
            for op, n in REGISTRY_OPS.items():
                need[op] += n
            need["DescribeRepositories"] += max(1, math.ceil(len(reg.repositories) / 1000))
            for repo in reg.repositories:
                need["GetRepositoryPolicy"] += 1
                need["GetLifecyclePolicy"] += 1
                need["ListTagsForResource"] += 1
                need["DescribeImages"] += max(1, math.ceil(len(repo.images) / IMAGES_PAGE))
                if (acct.account_id, reg.region) in manifest_units and repo.images:
                    need["BatchGetImage"] += math.ceil(len(repo.images) / MANIFEST_BATCH)
    return need


# -- the baseline: a sequential collector written the obvious way -------------------------------


def sequential_collect(
    session: boto3.Session, role_name: str, regions: list[str], manifest_units: set[tuple[str, str]]
) -> int:
    """One call at a time, default boto3 clients; the same reads as the collector. Returns images read."""
    images = 0
    me = session.client("sts").get_caller_identity()["Account"]
    org = session.client("organizations")
    org.describe_organization()
    accounts = [a for p in org.get_paginator("list_accounts").paginate() for a in p["Accounts"]]
    for a in accounts:
        if a["State"] != "ACTIVE":
            continue
        if a["Id"] == me:
            s = session
        else:
            c = session.client("sts").assume_role(
                RoleArn=f"arn:aws:iam::{a['Id']}:role/{role_name}", RoleSessionName="baseline"
            )["Credentials"]
            s = boto3.Session(
                aws_access_key_id=c["AccessKeyId"],
                aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"],
                region_name=session.region_name,
            )
        s.client("ec2").describe_regions()
        for region in regions:
            ecr = s.client("ecr", region_name=region)
            ecr.describe_registry()
            for call in (ecr.get_registry_policy,):
                try:
                    call()
                except ClientError:
                    pass
            ecr.get_account_setting(name="REGISTRY_POLICY_SCOPE")
            ecr.get_account_setting(name="BLOB_MOUNTING")
            ecr.get_registry_scanning_configuration()
            ecr.describe_pull_through_cache_rules()
            ecr.describe_repository_creation_templates()
            ecr.list_pull_time_update_exclusions()
            repos = [
                r for p in ecr.get_paginator("describe_repositories").paginate() for r in p["repositories"]
            ]
            for repo in repos:
                name = repo["repositoryName"]
                for call in (ecr.get_repository_policy, ecr.get_lifecycle_policy):
                    try:
                        call(repositoryName=name)
                    except ClientError:
                        pass
                ecr.list_tags_for_resource(resourceArn=repo["repositoryArn"])
                details = [
                    d
                    for p in ecr.get_paginator("describe_images").paginate(
                        repositoryName=name,
                        filter={"tagStatus": "ANY", "imageStatus": "ANY"},
                        PaginationConfig={"PageSize": IMAGES_PAGE},
                    )
                    for d in p["imageDetails"]
                ]
                digests = [d["imageDigest"] for d in details]
                if (a["Id"], region) not in manifest_units:
                    digests = []
                for i in range(0, len(digests), MANIFEST_BATCH):
                    ecr.batch_get_image(
                        repositoryName=name,
                        imageIds=[{"imageDigest": d} for d in digests[i : i + MANIFEST_BATCH]],
                        acceptedMediaTypes=ACCEPTED_MEDIA_TYPES,
                    )
                images += len(details)
    return images


# -- runs ----------------------------------------------------------------------------------------


def run_collector(org, latency: float, regions, workers: int, repository_workers: int):
    """(wall seconds, process CPU seconds, inventory) of one collection."""
    org.faults.latency(latency)
    t, c = time.perf_counter(), time.process_time()
    inv = collect(
        org.session(),
        org=True,
        role_name=org.role_name,
        regions=regions,
        max_workers=workers,
        repository_workers=repository_workers,
    )
    return time.perf_counter() - t, time.process_time() - c, inv


def server_calls(org) -> int:
    return sum(org.calls.values())


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=4)
    p.add_argument("--regions", type=int, default=2)
    p.add_argument("--repositories", type=int, default=25, help="repositories per region")
    p.add_argument("--images", type=int, default=40, help="images per repository")
    p.add_argument("--latency", type=float, default=0.05, help="seconds added to every call")
    p.add_argument(
        "--workers", type=int, default=None, help="account × region units in parallel (default: collect()'s)"
    )
    p.add_argument(
        "--repository-workers",
        type=int,
        default=None,
        help="repositories in parallel per unit (default: collect()'s)",
    )
    p.add_argument("--no-baseline", action="store_true", help="skip the sequential baseline")
    args = p.parse_args(argv)

    import inspect

    defaults = inspect.signature(collect).parameters
    workers = args.workers or defaults["max_workers"].default
    rworkers = args.repository_workers or defaults["repository_workers"].default

    world = sandbox.scaled_world(args.accounts, args.regions, args.repositories, args.images)
    regions = sorted({r.region for a in world.accounts for r in a.registries})
    n_images = world.image_count()
    print(f"machine: {os.cpu_count()} cpus, python {platform.python_version()}, {platform.platform()}")
    print(
        f"world: {args.accounts} accounts × {args.regions} regions × {args.repositories} repositories × "
        f"{args.images} images = {n_images:,} images; latency {args.latency * 1000:.0f} ms per call"
    )
    print(f"collector settings: workers={workers} (account × region units), repository_workers={rworkers}")

    with sandbox.running(world) as org:
        # moto's own CPU time, without injected latency (not part of a real endpoint's cost to us).
        run_collector(org, 0.0, regions, workers, rworkers)  # warm-up: imports, moto lazy state
        with Recorder() as recorder:
            cpu_wall, cpu, _ = run_collector(org, 0.0, regions, workers, rworkers)
        before = server_calls(org)
        wall, wall_cpu, inv = run_collector(org, args.latency, regions, workers, rworkers)
        served = server_calls(org) - before
        read = inv.coverage["has_read_manifests"].fillna(False).astype(bool)
        manifest_units = set(zip(inv.coverage.loc[read, "account_id"], inv.coverage.loc[read, "region"]))
        if not args.no_baseline:
            org.faults.latency(args.latency)
            before = server_calls(org)
            t = time.perf_counter()
            with recorder:
                seq_images = sequential_collect(org.session(), org.role_name, regions, manifest_units)
            seq_wall = time.perf_counter() - t
            seq_calls = server_calls(org) - before
        org.faults.latency(0)
        caller, role_name = org.session(), org.role_name
        credentials = caller.get_credentials()

    # The same collection against a zero-CPU endpoint: the answers above, replayed (replay.py).
    def replayed_session():
        return boto3.Session(
            aws_access_key_id=credentials.access_key,
            aws_secret_access_key=credentials.secret_key,
            region_name=caller.region_name,
        )

    with Replayer(recorder.responses, args.latency) as replayer:
        t, c = time.perf_counter(), time.process_time()
        rinv = collect(
            replayed_session(),
            org=True,
            role_name=role_name,
            regions=regions,
            max_workers=workers,
            repository_workers=rworkers,
        )
        r_wall, r_cpu = time.perf_counter() - t, time.process_time() - c
        r_calls = replayer.calls
        if not args.no_baseline:
            t = time.perf_counter()
            sequential_collect(replayed_session(), role_name, regions, manifest_units)
            r_seq_wall = time.perf_counter() - t
    assert len(rinv.errors) == 0 and len(rinv.images) == len(inv.images), "the replayed collection differs"

    calls = inv.api_calls.groupby("operation")["calls"].sum()
    retries = int(inv.api_calls["retries"].fillna(0).sum())
    need = minimum_calls(world, manifest_units)
    print(f"\n{'operation':38} {'calls':>7} {'minimum':>8}")
    extra_total = 0
    for op in sorted(set(calls.index) | set(need)):
        got = int(calls.get(op, 0))
        want = need.get(op)
        mark = "" if want is None else ("" if got == want else f"  <-- {got - want:+d}")
        if want is not None:
            extra_total += max(0, got - want)
        print(f"{op:38} {got:7d} {'(org)' if want is None else want:>8}{mark}")
    total = int(calls.sum())
    n_units = len(inv.coverage)
    # Concurrent calls possible: units in flight × repository workers (registry reads are one per unit).
    concurrency = min(workers, n_units) * rworkers
    bound = total * args.latency / concurrency
    print(
        f"{'total':38} {total:7d}   (server counted {served}; retries {retries}; over minimum {extra_total})"
    )
    print(f"\nimages collected: {len(inv.images):,} of {n_images:,}; completeness {inv.meta['completeness']}")
    print(
        f"collector wall: {wall:.2f} s at {args.latency * 1000:.0f} ms (process CPU {wall_cpu:.2f} s); "
        f"{total / wall:.0f} calls/s"
    )
    print(
        f"  same collection at 0 ms latency: wall {cpu_wall:.2f} s, process CPU {cpu:.2f} s "
        f"(moto serving + botocore; one GIL, so this is a floor no concurrency removes here)"
    )
    print(
        f"  concurrency bound: {total} calls × {args.latency * 1000:.0f} ms ÷ {concurrency} "
        f"(= {min(workers, n_units)} units × {rworkers} repository workers) = {bound:.2f} s; "
        f"wall / bound = {wall / bound:.2f}; wall / max(bound, 0-ms wall) = {wall / max(bound, cpu_wall):.2f}"
    )
    if not args.no_baseline:
        print(
            f"sequential baseline: {seq_wall:.2f} s, {seq_calls} calls, {seq_images:,} images; "
            f"collector is {seq_wall / wall:.1f}× faster"
        )
    r_bound = r_calls * args.latency / concurrency
    print(
        f"\nagainst a zero-CPU endpoint (the sandbox's answers replayed after {args.latency * 1000:.0f} ms; "
        f"botocore still signs and parses every call):"
    )
    print(
        f"  collector wall: {r_wall:.2f} s (process CPU {r_cpu:.2f} s), {r_calls} calls, "
        f"{r_calls / r_wall:.0f} calls/s, "
        f"{len(rinv.images):,} images, 0 errors"
    )
    print(
        f"  concurrency bound: {r_calls} × {args.latency * 1000:.0f} ms ÷ {concurrency} = {r_bound:.2f} s; "
        f"wall / bound = {r_wall / r_bound:.2f} (target ≤ 1.5)"
    )
    if not args.no_baseline:
        print(
            f"  sequential baseline: {r_seq_wall:.2f} s; collector is {r_seq_wall / r_wall:.1f}× faster (target ≥ 10)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
