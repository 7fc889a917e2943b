"""Hand-built consumer frames for unit tests: coverage that says every consumer kind was read."""

from ecr_audit import consumers

KINDS = consumers.REQUIRED_KINDS


def coverage_read(*account_regions, status="complete", kinds=KINDS) -> list[dict]:
    """consumer_coverage rows: every kind read (`status`) in each (account, region)."""
    return [
        {"consumer_account_id": a, "consumer_region": r, "consumer_kind": k, "status": status, "consumers": 0}
        for a, r in account_regions
        for k in kinds
    ]
