"""Repository-level reads: get_* page one call and return raw dicts, transform_* are pure."""
from __future__ import annotations


def get_repositories(ecr) -> list[dict]:
    repos = []
    for page in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 1000}):
        repos.extend(page.get("repositories", []))
    return repos


def get_repository_policy(ecr, name: str) -> str:
    return ecr.get_repository_policy(repositoryName=name)["policyText"]


def get_lifecycle_policy(ecr, name: str) -> dict:
    return ecr.get_lifecycle_policy(repositoryName=name)


def get_repository_tags(ecr, arn: str) -> list[dict]:
    # Not paginated; "the only supported resource is an Amazon ECR repository".
    return ecr.list_tags_for_resource(resourceArn=arn).get("tags", [])


def transform_repository(account_id: str, region: str, repo: dict) -> dict:
    enc = repo.get("encryptionConfiguration") or {}
    return {
        "account_id": account_id, "region": region, "repository_name": repo["repositoryName"],
        "repository_arn": repo["repositoryArn"], "repository_uri": repo.get("repositoryUri"),
        "created_at": repo.get("createdAt"), "image_tag_mutability": repo.get("imageTagMutability"),
        "tag_mutability_exclusions": [f.get("filter") for f in repo.get("imageTagMutabilityExclusionFilters") or []
                                      if f.get("filter") is not None],
        "scan_on_push": (repo.get("imageScanningConfiguration") or {}).get("scanOnPush"),
        "encryption_type": enc.get("encryptionType"), "kms_key": enc.get("kmsKey"),
    }


def transform_tags(account_id: str, region: str, name: str, tags: list[dict]) -> list[dict]:
    return [{"account_id": account_id, "region": region, "repository_name": name,
             "key": t.get("Key"), "value": t.get("Value")} for t in tags if t.get("Key") is not None]


def transform_lifecycle_policy(account_id: str, region: str, name: str, answer: dict) -> dict:
    return {"account_id": account_id, "region": region, "repository_name": name,
            "policy_text": answer.get("lifecyclePolicyText"), "last_evaluated_at": answer.get("lastEvaluatedAt")}
