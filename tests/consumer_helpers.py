"""Hand-built consumer frames for unit tests (coverage that says every consumer kind was read), and
the consumer kinds' AWS operations."""

from ecr_audit import consumers
from ecr_audit.collect import consumers as collect_consumers
from ecr_audit.collect import reads

KINDS = consumers.REQUIRED_KINDS
# The AWS operations of the consumer kinds (the reads of their services in the table of reads).
CONSUMER_OPERATIONS = frozenset(
    r.operation for r in reads.READS if r.service in set(collect_consumers.SERVICES.values())
)


def coverage_read(*account_regions, status="complete", kinds=KINDS) -> list[dict]:
    """consumer_coverage rows: every kind read (`status`) in each (account, region)."""
    return [
        {"consumer_account_id": a, "consumer_region": r, "consumer_kind": k, "status": status, "consumers": 0}
        for a, r in account_regions
        for k in kinds
    ]
