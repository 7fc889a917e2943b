"""The executive summary: the numbers a reader needs first, from every analysis."""
from __future__ import annotations

import pandas as pd

from .findings import SEVERITIES
from .inventory import Inventory


def headlines(inv: Inventory, findings: pd.DataFrame, storage: pd.DataFrame,
              savings_totals: pd.DataFrame) -> pd.DataFrame:
    """One row per headline: label, value, note. Values are numbers or short text."""
    cov = inv.coverage
    complete = int((cov["status"] == "complete").sum())
    sev = findings["severity"].value_counts()
    public = findings[findings["finding_id"].str.startswith("ecr_repository_public_")]["resource_arn"].nunique()
    exact = storage["basis"].eq("exact").all() if len(storage) else True
    best = savings_totals.sort_values("freed_bytes", ascending=False).head(1)
    rows = [
        ("Accounts collected", int(inv.accounts["collection_status"].isin(["collected", "partial"]).sum()),
         f"{int((inv.accounts['collection_status'] == 'skipped').sum())} skipped, "
         f"{int((inv.accounts['collection_status'] == 'failed').sum())} failed"),
        ("Account × region units complete", f"{complete} of {len(cov)}",
         f"{len(inv.errors)} reads failed" if len(inv.errors) else "every read succeeded"),
        ("Repositories", len(inv.repositories), ""),
        ("Images", len(inv.images), ""),
        ("Critical findings", int(sev.get("critical", 0)), f"{int(sev.get('high', 0))} high"),
        ("Publicly accessible repositories", int(public), "anyone can pull or more"),
        ("Storage cost (USD per month)", round(float(storage["cost_usd_per_month"].sum()), 2),
         "exact from manifests" if exact else "partly estimated: repositories without manifests are upper bounds"),
    ]
    if len(best):
        b = best.iloc[0]
        rows.append(("Largest cleanup saving (USD per month)", round(float(b["cost_usd_per_month_freed"]), 2),
                     f"{b['option']}: {int(b['images_removed'])} images"))
    return pd.DataFrame(rows, columns=["label", "value", "note"])


def top_findings(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The most severe finding kinds, with how many resources each affects."""
    if findings.empty:
        return pd.DataFrame(columns=["severity", "finding_id", "title", "resources", "example"])
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    g = (findings.groupby(["severity", "finding_id"], sort=False)
         .agg(title=("title", "first"), resources=("resource_arn", "nunique"), example=("resource_arn", "first"))
         .reset_index())
    g["_r"] = g["severity"].map(rank)
    return g.sort_values(["_r", "resources"], ascending=[True, False]).drop(columns="_r").head(n).reset_index(drop=True)


def findings_by_severity(findings: pd.DataFrame) -> pd.Series:
    return findings["severity"].value_counts().reindex(SEVERITIES, fill_value=0)
