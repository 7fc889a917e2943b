"""Registry-level reads (one account × region): get_* call and page, transform_* are pure.

Transforms report the items they cannot understand to their `Problems` (see `fields`); without
one they raise on the first.
"""

from __future__ import annotations

import json

from .fields import Fields, Problems, first_of_each, is_text, problems_or_strict, rows_of
from .paging import pages


def get_registry(ecr) -> dict:
    return ecr.describe_registry()


def get_registry_policy(ecr):
    return ecr.get_registry_policy().get("policyText")


def get_account_setting(ecr, name: str):
    return ecr.get_account_setting(name=name).get("value")


def get_scanning_configuration(ecr) -> dict:
    return ecr.get_registry_scanning_configuration().get("scanningConfiguration") or {}


def get_pull_through_cache_rules(ecr) -> list[dict]:
    return pages(ecr.describe_pull_through_cache_rules, "pullThroughCacheRules", maxResults=1000)


def get_creation_templates(ecr) -> list[dict]:
    return pages(ecr.describe_repository_creation_templates, "repositoryCreationTemplates", maxResults=1000)


def get_pull_time_exclusions(ecr) -> list:
    # botocore has no paginator for this operation: `pages` follows nextToken.
    return pages(ecr.list_pull_time_update_exclusions, "pullTimeUpdateExclusions", maxResults=1000)


def transform_registry_policy(
    account_id: str, region: str, text, problems: Problems | None = None
) -> list[dict]:
    if not is_text(text):
        problems_or_strict(problems).add(
            "a registry policy whose policyText is not text", "GetRegistryPolicy"
        )
        return []
    return [{"account_id": account_id, "region": region, "policy_text": text}]


def transform_replication_rules(
    account_id: str, region: str, registry: dict, problems: Problems | None = None
) -> list[dict]:
    problems = problems_or_strict(problems)
    config = Fields(registry, "a registry")
    rules = Fields(config.obj("replicationConfiguration"), "a replication configuration").items("rules")
    if config.problem:
        problems.add(config.problem, "DescribeRegistry")
    rows = []
    for i, rule in enumerate(rules):
        f = Fields(rule, "a replication rule")
        filters = []
        for flt in f.items("repositoryFilters"):
            g = Fields(flt, "a replication rule's repository filter")
            value = g.text("filter")
            if g.problem:
                f.problem = f.problem or g.problem
            elif value is not None:
                filters.append(value)
        destinations = []
        for dest in f.items("destinations"):
            d = Fields(dest, "a replication destination")
            destinations.append((d.text("region", required=True), d.text("registryId", required=True)))
            f.problem = f.problem or d.problem
        if f.problem:
            problems.add(f.problem, f"rule {i}")
            continue
        rows += [
            {
                "account_id": account_id,
                "region": region,
                "rule_index": i,
                "destination_region": dest_region,
                "destination_account_id": registry_id,
                "repository_filters": filters,
            }
            for dest_region, registry_id in destinations
        ]
    return rows


def transform_pull_through_cache_rules(
    account_id: str, region: str, rules: list, problems: Problems | None = None
) -> list[dict]:
    problems = problems_or_strict(problems)
    rows = rows_of(
        rules,
        "a pull-through cache rule",
        lambda f: {
            "account_id": account_id,
            "region": region,
            "ecr_repository_prefix": f.text("ecrRepositoryPrefix", required=True),
            "upstream_registry_url": f.text("upstreamRegistryUrl"),
            "upstream_registry": f.text("upstreamRegistry"),
            "upstream_repository_prefix": f.text("upstreamRepositoryPrefix"),
            "credential_arn": f.text("credentialArn"),
            "custom_role_arn": f.text("customRoleArn"),
            "created_at": f.time("createdAt"),
            "updated_at": f.time("updatedAt"),
        },
        problems,
    )
    return first_of_each(
        rows, lambda r: r["ecr_repository_prefix"], problems, "a pull-through cache prefix listed twice"
    )


def transform_creation_templates(
    account_id: str, region: str, templates: list, problems: Problems | None = None
) -> list[dict]:
    problems = problems_or_strict(problems)

    def row(f: Fields) -> dict:
        encryption = Fields(f.obj("encryptionConfiguration"), "an encryption configuration")
        out = {
            "account_id": account_id,
            "region": region,
            "prefix": f.text("prefix", required=True),
            "description": f.text("description"),
            "applied_for": f.texts("appliedFor"),
            "image_tag_mutability": f.text("imageTagMutability"),
            "encryption_type": encryption.text("encryptionType"),
            "repository_policy_text": f.text("repositoryPolicy"),
            "lifecycle_policy_text": f.text("lifecyclePolicy"),
            "custom_role_arn": f.text("customRoleArn"),
            "created_at": f.time("createdAt"),
            "updated_at": f.time("updatedAt"),
        }
        f.problem = f.problem or encryption.problem
        return out

    rows = rows_of(templates, "a repository creation template", row, problems)
    return first_of_each(rows, lambda r: r["prefix"], problems, "a creation template prefix listed twice")


def transform_pull_time_exclusions(
    account_id: str, region: str, principals: list, problems: Problems | None = None
) -> list[dict]:
    problems = problems_or_strict(problems)
    rows = []
    for i, p in enumerate(principals):
        if not is_text(p) or not p:
            problems.add("a pull-time exclusion that is not an ARN text", f"item {i}")
            continue
        rows.append({"account_id": account_id, "region": region, "principal_arn": p})
    return first_of_each(rows, lambda r: r["principal_arn"], problems, "a pull-time exclusion listed twice")


def transform_account_setting(name: str, value, problems: Problems | None = None) -> dict:
    """{column: value} for GetAccountSetting `name` (REGISTRY_POLICY_SCOPE → registry_policy_scope)."""
    if value is not None and not is_text(value):
        problems_or_strict(problems).add(f"a {name} setting whose value is not text", "GetAccountSetting")
        value = None
    return {name.lower(): value}


def transform_scanning(config: dict, problems: Problems | None = None) -> dict:
    f = Fields(config, "a registry scanning configuration")
    scan_type, rules = f.text("scanType"), f.item.get("rules")
    if f.problem:
        problems_or_strict(problems).add(f.problem, "GetRegistryScanningConfiguration")
    try:  # ASCII JSON: text from the answer that UTF-8 cannot encode is escaped, not stored raw
        rules_text = json.dumps(rules, sort_keys=True, default=str) if rules is not None else None
    except (ValueError, TypeError, RecursionError):  # keys of mixed types, nesting beyond the stack
        problems_or_strict(problems).add(
            "scanning rules that cannot be written as JSON", "GetRegistryScanningConfiguration"
        )
        rules_text = None
    return {"scan_type": scan_type, "scanning_rules_text": rules_text}
