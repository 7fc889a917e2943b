"""Regions of one account: EC2 DescribeRegions (opt-in aware) and where ECR has an endpoint."""

from __future__ import annotations

from .fields import Fields, Problems, problems_or_strict


def get_regions(ec2) -> list[dict]:
    """Every region with its OptInStatus (AllRegions=True also lists disabled ones)."""
    return ec2.describe_regions(AllRegions=True).get("Regions") or []


def transform_regions(listed: list, problems: Problems | None = None) -> tuple[set[str], set[str]]:
    """(enabled region names, every region name) of a DescribeRegions answer."""
    problems = problems_or_strict(problems)
    enabled, known = set(), set()
    for i, r in enumerate(listed):
        f = Fields(r, "a region")
        name, opt_in = f.text("RegionName", required=True), f.text("OptInStatus")
        if f.problem:
            problems.add(f.problem, f"item {i}")
            continue
        known.add(name)
        if opt_in != "not-opted-in":
            enabled.add(name)
    return enabled, known


def ecr_regions(session, partition: str = "aws") -> set[str]:
    """Regions with an ECR endpoint (botocore's offline endpoint data; may lag brand-new regions)."""
    return set(session.get_available_regions("ecr", partition_name=partition))


def known_ecr_regions() -> set[str]:
    """Every region of every partition where botocore knows an ECR endpoint (offline data): what
    `--regions` may name. Checked before any AWS call, so a typo never starts a collection."""
    import boto3

    session = boto3.session.Session()
    return {r for p in session.get_available_partitions() for r in ecr_regions(session, p)}
