"""Registry-level reads (one account × region): get_* page one call, transform_* are pure."""
from __future__ import annotations

import json


def get_registry(ecr) -> dict:
    return ecr.describe_registry()


def get_registry_policy(ecr) -> str:
    return ecr.get_registry_policy()["policyText"]


def get_account_setting(ecr, name: str) -> str | None:
    return ecr.get_account_setting(name=name).get("value")


def get_scanning_configuration(ecr) -> dict:
    return ecr.get_registry_scanning_configuration().get("scanningConfiguration") or {}


def get_pull_through_cache_rules(ecr) -> list[dict]:
    rules = []
    for page in ecr.get_paginator("describe_pull_through_cache_rules").paginate(PaginationConfig={"PageSize": 1000}):
        rules.extend(page.get("pullThroughCacheRules", []))
    return rules


def get_creation_templates(ecr) -> list[dict]:
    templates = []
    for page in ecr.get_paginator("describe_repository_creation_templates").paginate(
            PaginationConfig={"PageSize": 1000}):
        templates.extend(page.get("repositoryCreationTemplates", []))
    return templates


def get_pull_time_exclusions(ecr) -> list[str]:
    # No paginator in botocore for this operation (ecr-facts §1.1): loop on nextToken.
    principals, token = [], None
    while True:
        page = ecr.list_pull_time_update_exclusions(maxResults=1000, **({"nextToken": token} if token else {}))
        principals.extend(page.get("pullTimeUpdateExclusions", []))
        token = page.get("nextToken")
        if not token:
            return principals


def transform_replication_rules(account_id: str, region: str, registry: dict) -> list[dict]:
    rules = ((registry.get("replicationConfiguration") or {}).get("rules")) or []
    rows = []
    for i, rule in enumerate(rules):
        filters = [f.get("filter") for f in rule.get("repositoryFilters") or [] if f.get("filter") is not None]
        for dest in rule.get("destinations") or []:
            rows.append({"account_id": account_id, "region": region, "rule_index": i,
                         "destination_region": dest.get("region"),
                         "destination_registry_id": str(dest.get("registryId")),
                         "repository_filters": filters})
    return rows


def transform_pull_through_cache_rules(account_id: str, region: str, rules: list[dict]) -> list[dict]:
    return [{"account_id": account_id, "region": region,
             "ecr_repository_prefix": r.get("ecrRepositoryPrefix"),
             "upstream_registry_url": r.get("upstreamRegistryUrl"),
             "upstream_registry": r.get("upstreamRegistry"),
             "upstream_repository_prefix": r.get("upstreamRepositoryPrefix"),
             "credential_arn": r.get("credentialArn"), "custom_role_arn": r.get("customRoleArn"),
             "created_at": r.get("createdAt"), "updated_at": r.get("updatedAt")} for r in rules]


def transform_creation_templates(account_id: str, region: str, templates: list[dict]) -> list[dict]:
    return [{"account_id": account_id, "region": region, "prefix": t.get("prefix"),
             "description": t.get("description"), "applied_for": t.get("appliedFor") or [],
             "image_tag_mutability": t.get("imageTagMutability"),
             "encryption_type": (t.get("encryptionConfiguration") or {}).get("encryptionType"),
             "repository_policy_text": t.get("repositoryPolicy"),
             "lifecycle_policy_text": t.get("lifecyclePolicy"),
             "custom_role_arn": t.get("customRoleArn"),
             "created_at": t.get("createdAt"), "updated_at": t.get("updatedAt")} for t in templates]


def transform_pull_time_exclusions(account_id: str, region: str, principals: list[str]) -> list[dict]:
    return [{"account_id": account_id, "region": region, "principal_arn": p} for p in principals]


def transform_scanning(config: dict) -> dict:
    rules = config.get("rules")
    return {"scan_type": config.get("scanType"),
            "scanning_rules": json.dumps(rules, sort_keys=True, default=str) if rules is not None else None}
