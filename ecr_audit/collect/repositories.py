"""Repository-level reads: get_* call and page and return raw answers, transform_* are pure.

Transforms report the items they cannot understand to their `Problems` (see `fields`); without
one they raise on the first.
"""

from __future__ import annotations

from .. import ecr
from .fields import Fields, Problems, first_of_each, is_text, problems_or_strict, rows_of
from .paging import pages


def get_repositories(ecr_client) -> list[dict]:
    return pages(ecr_client.describe_repositories, "repositories", maxResults=1000)


def get_repository_policy(ecr_client, name: str):
    return ecr_client.get_repository_policy(repositoryName=name).get("policyText")


def get_lifecycle_policy(ecr_client, name: str) -> dict:
    return ecr_client.get_lifecycle_policy(repositoryName=name)


def get_repository_tags(ecr_client, arn: str) -> list[dict]:
    # Not paginated; "the only supported resource is an Amazon ECR repository".
    return ecr_client.list_tags_for_resource(resourceArn=arn).get("tags") or []


def transform_repository(
    account_id: str, region: str, repo: dict, partition: str = "aws", problems: Problems | None = None
) -> dict | None:
    """One repository row, or None (a problem) when the item has no usable name or a field of the
    wrong type. A missing repositoryArn is built from the name (ECR's ARN form, `partition`)."""
    f = Fields(repo, "a repository")
    name = f.text("repositoryName", required=True)
    enc = Fields(f.obj("encryptionConfiguration"), "a repository's encryption configuration")
    scanning = Fields(f.obj("imageScanningConfiguration"), "a repository's scanning configuration")
    exclusions = []
    for item in f.items("imageTagMutabilityExclusionFilters"):
        g = Fields(item, "a tag mutability exclusion filter")
        value = g.text("filter")
        f.problem = f.problem or g.problem
        if value is not None:
            exclusions.append(value)
    row = {
        "account_id": account_id,
        "region": region,
        "repository_name": name,
        "repository_arn": f.text("repositoryArn", required=False),
        "repository_uri": f.text("repositoryUri"),
        "created_at": f.time("createdAt"),
        "image_tag_mutability": f.text("imageTagMutability"),
        "tag_mutability_exclusions": exclusions,
        "has_scan_on_push": scanning.flag("scanOnPush"),
        "encryption_type": enc.text("encryptionType"),
        "kms_key_arn": enc.text("kmsKey"),
    }
    problem = f.problem or enc.problem or scanning.problem
    if problem:
        problems_or_strict(problems).add(problem, repr(name)[:200] if name else "")
        return None
    if not row["repository_arn"]:
        row["repository_arn"] = ecr.repository_arn(partition, region, account_id, name)
    return row


def transform_repositories(
    account_id: str, region: str, repos: list, partition: str = "aws", problems: Problems | None = None
) -> list[dict]:
    """DescribeRepositories items → repository rows (one per name)."""
    problems = problems_or_strict(problems)
    rows = [transform_repository(account_id, region, r, partition, problems) for r in repos]
    return first_of_each(
        [r for r in rows if r is not None],
        lambda r: r["repository_name"],
        problems,
        "a repository listed twice",
    )


def transform_repository_policy(
    account_id: str, region: str, name: str, text, problems: Problems | None = None
) -> list[dict]:
    if not is_text(text):
        problems_or_strict(problems).add("a repository policy whose policyText is not text", name)
        return []
    return [{"account_id": account_id, "region": region, "repository_name": name, "policy_text": text}]


def transform_tags(
    account_id: str, region: str, name: str, tags: list, problems: Problems | None = None
) -> list[dict]:
    problems = problems_or_strict(problems)
    rows = rows_of(
        tags,
        "a resource tag",
        lambda f: {
            "account_id": account_id,
            "region": region,
            "repository_name": name,
            "key": f.text("Key", required=True),
            "value": f.text("Value"),
        },
        problems,
        where="tag",
    )
    return first_of_each(rows, lambda r: r["key"], problems, "a tag key listed twice")


def transform_lifecycle_policy(
    account_id: str, region: str, name: str, answer: dict, problems: Problems | None = None
) -> list[dict]:
    f = Fields(answer, "a lifecycle policy")
    row = {
        "account_id": account_id,
        "region": region,
        "repository_name": name,
        "policy_text": f.text("lifecyclePolicyText", required=True),
        "last_evaluated_at": f.time("lastEvaluatedAt"),
    }
    if f.problem:
        problems_or_strict(problems).add(f.problem, name)
        return []
    return [row]
