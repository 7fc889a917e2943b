"""Lifecycle policy lint: what is missing, invalid, dead or risky, organization-wide.

One row per finding: finding_id (`ecr_<resource>_<condition>`), severity (high | medium | low |
info), account_id, region, repository_name, rule_priority, message. Static checks read the policy
text; data checks read the images of the repository. "Could not look" is reported as such.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from .. import ecr, images, times, wildcard
from ..schema import REPO_KEY
from .policy import SINCE_TYPES, Rule, parse

COLUMNS = ["finding_id", "severity", "account_id", "region", "repository_name", "rule_priority", "message"]


def _entries(r: Rule) -> list[str]:
    """Selection entries as wildcard patterns (a prefix p is the pattern p*; a prefix holding a
    literal `*` has no such pattern and is left out, which only makes the rule look narrower)."""
    return [p + "*" for p in r.tag_prefixes if "*" not in p] + list(r.tag_patterns)


def shadowed_by(rule: Rule, higher: Rule) -> bool:
    """`higher` claims every image `rule` could select, so `rule` can never act."""
    if higher.storage_class != rule.storage_class or higher.priority >= rule.priority:
        return False
    if higher.tag_status == "any":
        return True
    if higher.tag_status == "untagged":
        return rule.tag_status == "untagged"
    if rule.tag_status != "tagged":
        return False
    # rule's images carry a tag for each of its entries; higher needs, per entry, some such tag.
    if any("*" in p for p in higher.tag_prefixes):
        return False
    return all(any(wildcard.within(f, e) for f in _entries(rule)) for e in _entries(higher))


def _row(fid, sev, key, prio, msg) -> dict:
    return {
        "finding_id": fid,
        "severity": sev,
        **dict(zip(REPO_KEY, key)),
        "rule_priority": prio,
        "message": msg,
    }


def _repository_findings(inv, rows: list[dict]) -> dict[tuple, object]:
    repos = inv.repositories
    pol = inv.lifecycle_policies
    has_policy = set(map(tuple, pol[REPO_KEY].itertuples(index=False, name=None)))
    for key, status in zip(
        repos[REPO_KEY].itertuples(index=False, name=None), repos["lifecycle_policy_status"]
    ):
        if key in has_policy:
            continue
        if status == "absent":
            rows.append(
                _row(
                    "ecr_repository_lifecycle_missing",
                    "medium",
                    key,
                    None,
                    "no lifecycle policy: nothing is ever cleaned up",
                )
            )
        elif status in ("unreadable", "unsupported", "skipped") or pd.isna(status):
            rows.append(
                _row(
                    "ecr_repository_lifecycle_unreadable",
                    "info",
                    key,
                    None,
                    f"lifecycle policy could not be read ({status if not pd.isna(status) else 'unknown'})",
                )
            )
    parsed = {}
    for key, text in zip(pol[REPO_KEY].itertuples(index=False, name=None), pol["policy_text"]):
        p = parse(text)
        parsed[key] = p
        for prob in p.problems:
            fid = (
                "ecr_lifecycle_policy_duplicate_key"
                if prob.code == "duplicate_key"
                else "ecr_lifecycle_policy_invalid"
                if prob.severity == "error"
                else "ecr_lifecycle_policy_questionable"
            )
            rows.append(
                _row(
                    fid,
                    "high" if prob.severity == "error" else "low",
                    key,
                    prob.rule_priority,
                    f"{prob.where}: {prob.message}",
                )
            )
    return parsed


@lru_cache(maxsize=1)
def ecr_epoch() -> pd.Timestamp:
    """No ECR image predates the ECR API: the date of its version in the botocore model (2015-09-21)."""
    import botocore.session

    version = botocore.session.get_session().get_service_model("ecr").metadata["apiVersion"]
    return pd.Timestamp(version, tz="UTC")


def _reference_time(inv) -> pd.Timestamp:
    """The snapshot's collection time; now when it has none that pandas can read."""
    try:
        return times.as_of(inv)
    except (ValueError, TypeError, OverflowError):
        return pd.Timestamp.now(tz="UTC")


def unreachable_age(r: Rule, ref: pd.Timestamp) -> tuple[str, str] | None:
    """(severity, message) when a sinceImage* rule's age cannot be reached by `ref`: no ECR image
    is older than the ECR API (`ecr_epoch`); past pandas' last date (year 2262) it never can."""
    if r.count_type not in SINCE_TYPES:
        return None
    epoch = ecr_epoch()
    if r.count_number > (pd.Timestamp.max.tz_localize("UTC") - epoch).days:
        return "medium", (
            f"{r.count_type} {r.count_number} days is longer than any date can be represented "
            "(past the year 2262): this rule can never act"
        )
    earliest = epoch + pd.Timedelta(days=r.count_number)
    if earliest <= ref:
        return None
    return "low", (
        f"{r.count_type} {r.count_number} days: no ECR image can be that old before "
        f"{earliest:%Y-%m-%d} (the ECR API dates from {epoch:%Y-%m-%d}); the rule does nothing "
        "until then"
    )


def _static_findings(key, policy, rows, ref):
    rules = policy.rules
    if not rules:
        return
    for r in rules:
        unreachable = unreachable_age(r, ref)
        if unreachable:
            severity, message = unreachable
            rows.append(_row("ecr_lifecycle_rule_age_unreachable", severity, key, r.priority, message))
    last = max(r.priority for r in rules)
    for r in rules:
        if r.tag_status == "any" and r.priority != last:
            rows.append(
                _row(
                    "ecr_lifecycle_rule_any_not_last",
                    "low",
                    key,
                    r.priority,
                    "a tagStatus any rule should have the highest rulePriority; rules after it "
                    "can only act on images it does not select",
                )
            )
        for h in rules:
            if shadowed_by(r, h):
                rows.append(
                    _row(
                        "ecr_lifecycle_rule_never_fires",
                        "medium",
                        key,
                        r.priority,
                        f"every image this rule selects is claimed first by rule {h.priority}",
                    )
                )
                break


def _data_findings(inv, parsed, rows):
    if not parsed:
        return
    ref = _reference_time(inv)
    roles = images.classify(inv)
    roles = roles.assign(
        _untagged=roles["tags"].map(len) == 0,
        _std=(roles["image_status"].fillna("ACTIVE") == "ACTIVE"),
        # lifecycle never acts on children of an existing index; referrers follow their subject
        _actionable=(roles["parent_index_count"] == 0) & (roles["role"] != "referrer"),
        _index=roles["manifest_media_type"].isin(ecr.INDEX_TYPES),
    )
    roles["_untagged_std"] = roles["_untagged"] & roles["_std"]
    roles["_untagged_actionable"] = roles["_untagged_std"] & roles["_actionable"]
    per_repo = roles.groupby(REPO_KEY, observed=True).agg(
        untagged=("_untagged_std", "sum"),
        actionable=("_untagged_actionable", "sum"),
        indexes=("_index", "sum"),
        is_graph_known=("is_graph_known", "all"),
    )
    for key, policy in parsed.items():
        if not policy.is_valid:
            continue
        _static_findings(key, policy, rows, ref)
        if key not in per_repo.index:
            continue
        stats = per_repo.loc[key]
        std = [r for r in policy.rules if r.storage_class == "standard"]
        for r in std:
            if r.tag_status != "untagged":
                continue
            if stats["untagged"] == 0:
                rows.append(
                    _row(
                        "ecr_lifecycle_untagged_rule_idle",
                        "info",
                        key,
                        r.priority,
                        "untagged rule, but the repository has no untagged images",
                    )
                )
            elif stats["actionable"] == 0 and stats["is_graph_known"]:
                rows.append(
                    _row(
                        "ecr_lifecycle_untagged_rule_idle",
                        "info",
                        key,
                        r.priority,
                        f"untagged rule, but all {int(stats['untagged'])} untagged images are index "
                        "children or referrers of existing images, which lifecycle does not act on",
                    )
                )
        expires_tagged = any(r.tag_status in ("tagged", "any") and r.action == "expire" for r in std)
        cleans_untagged = any(r.selects_untagged for r in std)
        if stats["indexes"] > 0 and expires_tagged and not cleans_untagged:
            rows.append(
                _row(
                    "ecr_lifecycle_strands_index_children",
                    "medium",
                    key,
                    None,
                    f"{int(stats['indexes'])} image indexes here: expiring one leaves its platform and "
                    "attestation manifests as untagged images that no rule of this policy removes",
                )
            )


def _templates_cover(templates: pd.DataFrame, purpose: str, prefixes: list[str]) -> pd.DataFrame:
    t = templates.loc[
        np.array([purpose in (v if v is not None else []) for v in templates["applied_for"]], dtype=bool)
    ]
    ok = [p == "ROOT" or (bool(prefixes) and all(x.startswith(p) for x in prefixes)) for p in t["prefix"]]
    return t.loc[np.array(ok, dtype=bool)]


def _template_findings(inv, rows):
    tpl = inv.creation_templates
    regs = (
        inv.registries.set_index(["account_id", "region"])["creation_templates_status"]
        if len(inv.registries)
        else pd.Series(dtype=object)
    )
    collected = set(map(tuple, inv.coverage[["account_id", "region"]].itertuples(index=False, name=None)))

    def status(acct, region):
        return regs.get((acct, region)) if (acct, region) in regs.index else None

    for r in inv.pull_through_cache_rules.itertuples(index=False):
        key = (r.account_id, r.region, None)
        if status(r.account_id, r.region) in ("unreadable", "unsupported"):
            rows.append(
                _row(
                    "ecr_pull_through_cache_template_undetermined",
                    "info",
                    key,
                    None,
                    f"creation templates could not be read; cache prefix {r.ecr_repository_prefix}",
                )
            )
            continue
        here = tpl[(tpl["account_id"] == r.account_id) & (tpl["region"] == r.region)]
        cover = _templates_cover(here, "PULL_THROUGH_CACHE", [r.ecr_repository_prefix])
        if cover.empty:
            rows.append(
                _row(
                    "ecr_pull_through_cache_without_creation_template",
                    "medium",
                    key,
                    None,
                    f"repositories created by pull-through cache prefix {r.ecr_repository_prefix} get "
                    "no creation template, hence no lifecycle policy",
                )
            )
        elif cover["lifecycle_policy_text"].isna().all():
            rows.append(
                _row(
                    "ecr_creation_template_without_lifecycle",
                    "low",
                    key,
                    None,
                    f"the creation template for cache prefix {r.ecr_repository_prefix} sets no lifecycle policy",
                )
            )
    for r in inv.replication_rules.itertuples(index=False):
        dest = (r.destination_account_id, r.destination_region)
        key = (r.account_id, r.region, None)
        if dest == (r.account_id, r.region):
            continue
        filters = list(r.repository_filters or [])
        label = f"replication to {dest[0]} {dest[1]}" + (
            f" (prefixes {', '.join(filters)})" if filters else ""
        )
        if dest not in collected or status(*dest) in ("unreadable", "unsupported"):
            rows.append(
                _row(
                    "ecr_replication_template_undetermined",
                    "info",
                    key,
                    None,
                    f"{label}: destination creation templates were not read",
                )
            )
            continue
        there = tpl[(tpl["account_id"] == dest[0]) & (tpl["region"] == dest[1])]
        cover = _templates_cover(there, "REPLICATION", filters)
        if cover.empty:
            rows.append(
                _row(
                    "ecr_replication_without_creation_template",
                    "medium",
                    key,
                    None,
                    f"{label}: replicated repositories get no creation template (lifecycle policies "
                    "are not replicated)",
                )
            )
        elif cover["lifecycle_policy_text"].isna().all():
            rows.append(
                _row(
                    "ecr_creation_template_without_lifecycle",
                    "low",
                    key,
                    None,
                    f"{label}: the destination creation template sets no lifecycle policy",
                )
            )


def _repository_lint(inv) -> tuple[tuple[dict, ...], dict]:
    rows: list[dict] = []
    parsed = _repository_findings(inv, rows)
    return tuple(rows), parsed


def _template_lint(inv) -> tuple[dict, ...]:
    rows: list[dict] = []
    _template_findings(inv, rows)
    return tuple(rows)


def lint(inv) -> pd.DataFrame:
    """Every lifecycle finding in the inventory (see module docstring)."""
    # What the policies alone decide is cached apart from what the images decide: with `reuse`,
    # a snapshot whose policies did not change takes those from the one before.
    repository_rows, parsed = inv.cached("lifecycle.lint.repositories", lambda: _repository_lint(inv))
    template_rows = inv.cached("lifecycle.lint.templates", lambda: _template_lint(inv))
    rows = list(repository_rows)
    _data_findings(inv, parsed, rows)
    rows += template_rows
    out = pd.DataFrame(rows, columns=COLUMNS)
    out["rule_priority"] = out["rule_priority"].astype("Int64")
    order = {"high": 0, "medium": 1, "low": 2, "info": 3}
    return (
        out.assign(_o=out["severity"].map(order))
        .sort_values(["_o", "finding_id", "account_id", "region", "repository_name"], na_position="first")
        .drop(columns="_o")
        .reset_index(drop=True)
    )
