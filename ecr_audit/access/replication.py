"""Where each registry copies its images (DescribeRegistry replication rules)."""

from __future__ import annotations

import pandas as pd

from .. import schema
from ..schema import BOOL, INT, LIST, STR, Column
from .evaluate import evaluate, registry_scope_actions
from .grants import exposure, org_view
from .policy import parse_policy

REPLICATION_COLUMNS: tuple[Column, ...] = (
    Column("account_id", STR, "source account (owner of the rule)", True),
    Column("region", STR, "source region", True),
    Column("rule_index", INT, "position of the rule", True),
    Column("destination_account_id", STR, "destination registry (account id)", True),
    Column("destination_region", STR, "destination region", True),
    Column("relation", STR, "account (same account) | org | external", True),
    Column("is_cross_account", BOOL, "destination is another account"),
    Column("is_cross_region", BOOL, "destination is another region"),
    Column("repository_filters", LIST, "PREFIX_MATCH filters (empty: every repository)"),
    Column(
        "destination_permission",
        STR,
        "not_needed (same account) | granted | missing | undetermined (destination registry "
        "policy not collected or unreadable)",
        True,
    ),
)


def _destination_allows(inv, org, source: str, dest: str, region: str) -> str:
    regs = inv.registries
    collected = ((regs["account_id"] == dest) & (regs["region"] == region)).any()
    pol = inv.registry_policies
    rows = pol[(pol["account_id"] == dest) & (pol["region"] == region)]
    if rows.empty:
        if not collected:
            return "undetermined"
        status = regs.loc[(regs["account_id"] == dest) & (regs["region"] == region), "registry_policy_status"]
        return "missing" if (status == "absent").all() else "undetermined"
    parsed = parse_policy(rows["policy_text"].iloc[0])
    if not parsed.ok:
        return "undetermined"
    scope = regs.loc[(regs["account_id"] == dest) & (regs["region"] == region), "registry_policy_scope"]
    scope = scope.iloc[0] if len(scope) and isinstance(scope.iloc[0], str) else None
    ev = evaluate(parsed, org, scope_actions=registry_scope_actions(scope))
    for p in ev.pieces:
        if "ecr:ReplicateImage" not in p.actions:
            continue
        g = p.grantee
        if (
            g.kind == "public"
            or (g.kind in ("account", "principal") and g.account_id == source)
            or (g.kind == "org" and org.org_id == g.value and source in org.account_ids)
        ):
            return "granted"
    return "missing"


def replication(inv) -> pd.DataFrame:
    """One row per replication rule × destination, classified against the organization."""
    org = org_view(inv)
    rows = []
    for r in inv.replication_rules.itertuples(index=False):
        src, dest = r.account_id, r.destination_account_id
        rel = exposure("account", "", dest, src, org)
        rows.append(
            {
                "account_id": src,
                "region": r.region,
                "rule_index": r.rule_index,
                "destination_account_id": dest,
                "destination_region": r.destination_region,
                "relation": rel,
                "is_cross_account": dest != src,
                "is_cross_region": r.destination_region != r.region,
                "repository_filters": list(r.repository_filters),
                "destination_permission": "not_needed"
                if dest == src
                else _destination_allows(inv, org, src, dest, r.destination_region),
            }
        )
    return schema.from_records(rows, REPLICATION_COLUMNS)
