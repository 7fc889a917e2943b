"""Compare the estimate with what AWS billed, per account and region.

`billed` is a user export, read as text (account ids keep their leading zeros):

- Cost and Usage Report (CUR 2.0 snake_case or legacy `lineItem/UsageAccountId` headers):
  line_item_usage_account_id, product_region_code (or product_region / product/region),
  line_item_usage_type, line_item_unblended_cost, line_item_usage_amount, and optionally
  line_item_product_code. Rows kept: product code AmazonECR (when the column exists) and a usage
  type naming storage byte-hours (e.g. `USE1-TimedStorage-ByteHrs`; the archive usage type is
  not documented in our sources, so any `*Storage*ByteHrs*` is kept). For these usage types
  line_item_usage_amount is in GB-months.
- A tidy Cost Explorer export grouped by linked account and region: account_id (or
  linked_account), region, cost_usd (or unblended_cost / cost), optionally usage_gb_month.

Pick the month that matches the snapshot: the estimate is "if storage stays as collected for a
month", the bill is what a past month's average storage cost.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from .. import ecr

ALIASES = {
    "account_id": [
        "line_item_usage_account_id",
        "usage_account_id",
        "linked_account_id",
        "linked_account",
        "account_id",
    ],
    "region": ["product_region_code", "product_region", "region"],
    "usage_type": ["line_item_usage_type", "usage_type"],
    "cost": ["line_item_unblended_cost", "unblended_cost", "cost_usd", "cost"],
    "usage": ["line_item_usage_amount", "usage_amount", "usage_gb_month", "usage_quantity"],
    "product": ["line_item_product_code", "product_code", "product_servicecode"],
}
STORAGE_USAGE = re.compile(r"storage.*bytehrs", re.IGNORECASE)


def _snake(name: str) -> str:
    parts = str(name).strip().split("/")
    snake = [
        re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", p).lower().replace(" ", "_").replace("-", "_") for p in parts
    ]
    return "_".join(snake)


def read_billed(billed) -> pd.DataFrame:
    """account_id, region, billed_usd, billed_gb_month (NaN when the export has no usage amount)."""
    df = billed.copy() if isinstance(billed, pd.DataFrame) else pd.read_csv(Path(billed), dtype=str)
    df.columns = [_snake(c) for c in df.columns]
    cols = {}
    for want, names in ALIASES.items():
        cols[want] = next((n for n in names if n in df.columns), None)
    for need in ("account_id", "region", "cost"):
        if cols[need] is None:
            raise ValueError(
                f"billed export has no {need} column (accepted: {ALIASES[need]}); "
                f"columns seen: {list(df.columns)}"
            )
    if cols["product"]:
        df = df[df[cols["product"]].astype(str) == "AmazonECR"]
    if cols["usage_type"]:
        df = df[df[cols["usage_type"]].astype(str).str.contains(STORAGE_USAGE)]
    account = ecr.padded_account_ids(df[cols["account_id"]])
    out = pd.DataFrame(
        {
            "account_id": account,
            "region": df[cols["region"]].astype(str).str.strip(),
            "billed_usd": pd.to_numeric(df[cols["cost"]], errors="coerce"),
            "billed_gb_month": (
                pd.to_numeric(df[cols["usage"]], errors="coerce")
                if cols["usage"]
                else pd.Series(float("nan"), index=df.index)
            ),
        }
    )
    return out.groupby(["account_id", "region"], as_index=False).sum(min_count=1)


def reconcile(storage: pd.DataFrame, billed) -> pd.DataFrame:
    """Estimate vs billed per account × region: both costs, GB, the difference and a status
    (matched | not_in_bill | not_collected)."""
    bill = read_billed(billed)
    est = (
        storage.assign(_bound=storage["is_upper_bound"], _und=storage["basis"].eq("undetermined"))
        .groupby(["account_id", "region"], as_index=False)
        .agg(
            estimated_usd_per_month=("cost_usd_per_month", "sum"),
            estimated_bytes=("billable_bytes", "sum"),
            repositories=("repository_name", "size"),
            repositories_upper_bound=("_bound", "sum"),
            repositories_undetermined=("_und", "sum"),
        )
    )
    est["estimated_gb"] = est["estimated_bytes"].astype(float) / 2**30
    out = est.merge(bill, on=["account_id", "region"], how="outer", indicator=True)
    out["status"] = (
        out["_merge"]
        .map({"both": "matched", "left_only": "not_in_bill", "right_only": "not_collected"})
        .astype(object)
    )
    out["difference_usd"] = out["estimated_usd_per_month"] - out["billed_usd"]
    out["difference_pct"] = 100 * out["difference_usd"] / out["billed_usd"].where(out["billed_usd"] != 0)
    cols = [
        "account_id",
        "region",
        "status",
        "estimated_usd_per_month",
        "billed_usd",
        "difference_usd",
        "difference_pct",
        "estimated_gb",
        "billed_gb_month",
        "repositories",
        "repositories_upper_bound",
        "repositories_undetermined",
    ]
    return out[cols].sort_values(["account_id", "region"], kind="stable").reset_index(drop=True)
