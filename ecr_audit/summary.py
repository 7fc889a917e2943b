"""The executive summary: the numbers a reader needs first, from every analysis."""

from __future__ import annotations

import pandas as pd

from . import ecr
from .inventory import Inventory


def cost_headline(total: pd.DataFrame) -> str:
    """Monthly cost from `cost.rollup(storage, "total")`, saying what the figure cannot include."""
    if total.empty or not int(total["repositories"].iloc[0]):
        return "no repository was read"
    row = total.iloc[0]
    notes = []
    if int(row["repositories_upper_bound"]):
        notes.append(
            f"upper bound: {int(row['repositories_upper_bound'])} repositories estimated without manifests"
        )
    if int(row["repositories_undetermined"]):
        notes.append(
            f"incomplete: {int(row['repositories_undetermined'])} repositories could not be read and are excluded"
        )
    return f"{float(row['cost_usd_per_month']):,.2f}" + (f" ({'; '.join(notes)})" if notes else "")


def reclaimable_headline(orphans: pd.DataFrame) -> str:
    """Bytes freed by deleting the orphans, with how many orphans' bytes are unknown."""
    known = orphans["reclaimable_bytes"].dropna()
    unknown = len(orphans) - len(known)
    text = f"{int(known.sum()):,}"
    return text + (
        f" (+{unknown} orphan{'s' if unknown != 1 else ''} undetermined: manifests not read)"
        if unknown
        else ""
    )


def _coverage_note(inv: Inventory) -> str:
    cov = inv.coverage
    short = int((cov["status"] != "complete").sum())
    return f"at least: {short} of {len(cov)} account × region units not fully read" if short else ""


def headlines(
    inv: Inventory, findings: pd.DataFrame, total_cost: pd.DataFrame, savings_totals: pd.DataFrame
) -> pd.DataFrame:
    """One row per headline: label, value, note. Counts from an incompletely read organization
    say "at least"; figures that are bounds or exclude unreadable repositories say so."""
    cov = inv.coverage
    partial = _coverage_note(inv)
    sev = findings["severity"].value_counts()
    public = findings[findings["finding_id"].str.startswith("ecr_repository_public_")][
        "resource_arn"
    ].nunique()
    public_registries = findings[findings["finding_id"] == "ecr_registry_public_access"][
        "resource_arn"
    ].nunique()
    undetermined_policies = int((findings["finding_id"] == "ecr_policy_unreadable").sum())
    public_note = "; ".join(
        n
        for n in [
            "anyone can pull or more",
            f"plus {public_registries} registries whose policy is public" if public_registries else "",
            f"{undetermined_policies} policies could not be read" if undetermined_policies else "",
            partial,
        ]
        if n
    )
    rows = [
        (
            "Accounts collected",
            int(inv.accounts["collection_status"].isin(["collected", "partial"]).sum()),
            f"{int((inv.accounts['collection_status'] == 'skipped').sum())} skipped, "
            f"{int((inv.accounts['collection_status'] == 'failed').sum())} failed",
        ),
        (
            "Account × region units complete",
            f"{int((cov['status'] == 'complete').sum())} of {len(cov)}",
            f"{len(inv.errors)} reads failed" if len(inv.errors) else "every read succeeded",
        ),
        ("Repositories", len(inv.repositories), partial),
        ("Images", len(inv.images), partial),
        (
            "Critical findings",
            int(sev.get("critical", 0)),
            "; ".join(n for n in [f"{int(sev.get('high', 0))} high", partial] if n),
        ),
        ("Publicly accessible repositories", int(public), public_note),
        ("Storage cost (USD per month)", cost_headline(total_cost), partial),
    ]
    if len(savings_totals):
        b = savings_totals.sort_values("freed_bytes", ascending=False).iloc[0]
        note = f"{b['option']}: {int(b['images_removed'])} images"
        if int(b.get("repositories_undetermined", 0) or 0):
            note += (
                f"; {int(b['repositories_undetermined'])} repositories undetermined (up to "
                f"{int(b['undetermined_upper_bound_bytes']):,} more bytes)"
            )
        rows.append(
            ("Largest cleanup saving (USD per month)", round(float(b["freed_cost_usd_per_month"]), 2), note)
        )
    return pd.DataFrame(rows, columns=["label", "value", "note"])


def top_findings(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The most severe finding kinds (critical first, then by resources affected), with how many
    resources each affects."""
    if findings.empty:
        return pd.DataFrame(columns=["severity", "finding_id", "title", "resources", "example"])
    g = (
        findings.assign(severity=ecr.as_severity(findings["severity"]))
        .groupby(["severity", "finding_id"], sort=False, observed=True)
        .agg(
            title=("title", "first"), resources=("resource_arn", "nunique"), example=("resource_arn", "first")
        )
        .reset_index()
    )
    return g.sort_values(["severity", "resources"], ascending=[True, False]).head(n).reset_index(drop=True)


def findings_by_severity(findings: pd.DataFrame) -> pd.Series:
    """Findings per severity, every severity listed, critical first."""
    return ecr.as_severity(findings["severity"]).value_counts(sort=False)


__all__ = [
    "cost_headline",
    "findings_by_severity",
    "headlines",
    "reclaimable_headline",
    "top_findings",
]
