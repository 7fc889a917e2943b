"""Consumers of ECR images, read per account × region with the audit role (docs/consumers.md).

Collection kinds (`collect(consumers=...)`, `ecr-audit collect --consumers`), each one reading
unit: ecs, lambda, batch, apprunner, sagemaker, emr_serverless, codebuild, inspector, cloudtrail.
`all` is every kind but cloudtrail (LookupEvents is slow: 2 requests a second); cloudtrail runs
only when named. Each kind of each account × region gives one `consumer_coverage` row, whatever
happened (complete, partial, unreadable, unsupported, not_offered, disabled, skipped), and its
consumers go to the `consumers` frame.

Modules: rows (one consumers row: the URI parsed, the digest chosen); one module per kind with
its get_* calls and pure transform_* (ecs, lambda_, batch, apprunner, sagemaker, emr_serverless,
codebuild, inspector, cloudtrail); steps (each kind's reads in order, through the table in
`collect/reads.py`, and its coverage row).
"""

from __future__ import annotations

KINDS = (
    "ecs",
    "lambda",
    "batch",
    "apprunner",
    "sagemaker",
    "emr_serverless",
    "codebuild",
    "inspector",
    "cloudtrail",
)
ONLY_WHEN_NAMED = ("cloudtrail",)
DEFAULT_KINDS = tuple(k for k in KINDS if k not in ONLY_WHEN_NAMED)
# The boto3 client of each kind: botocore's endpoint data says where it is offered.
SERVICES = {
    "ecs": "ecs",
    "lambda": "lambda",
    "batch": "batch",
    "apprunner": "apprunner",
    "sagemaker": "sagemaker",
    "emr_serverless": "emr-serverless",
    "codebuild": "codebuild",
    "inspector": "inspector2",
    "cloudtrail": "cloudtrail",
}
KEEP_TASK_DEFINITIONS = 5  # newest ACTIVE revisions of each task definition family (rollback window)
MAX_KEEP_TASK_DEFINITIONS = 100  # ListTaskDefinitions returns at most 100 a page
PULL_DAYS = 30
MAX_PULL_DAYS = 90  # CloudTrail's event history keeps 90 days


def select(consumers) -> tuple[str, ...]:
    """The kinds `consumers` asks for, in KINDS order: "all" (every kind but cloudtrail),
    "none", a comma-separated text or a list of kinds. ValueError names an unknown kind."""
    if consumers is None or consumers == "all":
        return DEFAULT_KINDS
    if consumers == "none":
        return ()
    if isinstance(consumers, str):
        consumers = [c.strip() for c in consumers.split(",") if c.strip()]
    wanted = set()
    for c in consumers:
        if c == "all":
            wanted |= set(DEFAULT_KINDS)
        elif c in KINDS:
            wanted.add(c)
        else:
            raise ValueError(
                f"unknown consumer kind {str(c)[:60]!r}: use all, none or a list of {', '.join(KINDS)}"
            )
    return tuple(k for k in KINDS if k in wanted)


def check_options(keep_task_definitions, pull_days) -> None:
    """ValueError unless both are whole numbers in range."""
    if (
        isinstance(keep_task_definitions, bool)
        or not isinstance(keep_task_definitions, int)
        or not 0 <= keep_task_definitions <= MAX_KEEP_TASK_DEFINITIONS
    ):
        raise ValueError(
            f"keep_task_definitions must be a whole number from 0 to {MAX_KEEP_TASK_DEFINITIONS}, "
            f"got {keep_task_definitions!r}"
        )
    if isinstance(pull_days, bool) or not isinstance(pull_days, int) or not 1 <= pull_days <= MAX_PULL_DAYS:
        raise ValueError(f"pull_days must be a whole number from 1 to {MAX_PULL_DAYS}, got {pull_days!r}")


def offered_regions(session, partition: str, kinds) -> dict[str, set[str]]:
    """Kind → regions where its service has an endpoint (botocore's offline endpoint data)."""
    return {k: set(session.get_available_regions(SERVICES[k], partition_name=partition)) for k in kinds}
