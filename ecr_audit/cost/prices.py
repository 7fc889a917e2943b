"""ECR storage prices by region: the shipped table (with source and date) and user overrides.

Units: USD per GB-month as AWS bills it. AWS meters storage in byte-hours
(`TimedStorage-ByteHrs`) and converts to GB-months with 1 GB = 2^30 bytes (see
`data/prices.json` → unit.basis). A snapshot is a point in time, so a monthly cost here is
"what this storage costs if it stays for a whole month".

Regions missing from the table are priced at the default region (us-east-1) and flagged
`price_basis = "assumed"`, never silently.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import pandas as pd

BYTES_PER_GB = 2**30
GB_PER_TB = 1024

PRICE_COLUMNS = [
    "standard_usd_per_gb_month",
    "archive_usd_per_gb_month",  # archive tier up to the limit (first 150 TB-month)
    "archive_above_limit_usd_per_gb_month",  # archive tier above the limit
    "archive_tier_limit_gb",
    "restore_usd_per_gb",
    "archive_minimum_days",
]
TEXT_COLUMNS = ["as_of", "source", "assumed_fields", "note"]


def _shipped() -> dict:
    return json.loads(resources.files("ecr_audit").joinpath("data/prices.json").read_text())


def _from_document(doc: dict) -> pd.DataFrame:
    archive = doc.get("archive", {})
    limit_gb = float(archive.get("tier_limit_tb", 150)) * GB_PER_TB
    rows = []
    for region, p in doc.get("regions", {}).items():
        rows.append(
            {
                "region": region,
                "standard_usd_per_gb_month": p.get("standard_usd_per_gb_month"),
                "archive_usd_per_gb_month": p.get("archive_usd_per_gb_month"),
                "archive_above_limit_usd_per_gb_month": p.get("archive_above_limit_usd_per_gb_month"),
                "archive_tier_limit_gb": p.get("archive_tier_limit_gb", limit_gb),
                "restore_usd_per_gb": p.get("restore_usd_per_gb"),
                "archive_minimum_days": p.get(
                    "archive_minimum_days", archive.get("minimum_storage_days", 90)
                ),
                "as_of": p.get("as_of", doc.get("as_of")),
                "source": p.get("source", ""),
                "assumed_fields": ", ".join(p.get("assumed_fields") or []),
                "note": p.get("note", ""),
            }
        )
    return _table(pd.DataFrame(rows), doc.get("default_region", "us-east-1"), doc.get("as_of"))


def _table(df: pd.DataFrame, default_region: str, as_of) -> pd.DataFrame:
    for col in PRICE_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
    for col in TEXT_COLUMNS:
        df[col] = df[col].fillna("").astype(str)
    out = df.set_index("region")[PRICE_COLUMNS + TEXT_COLUMNS].sort_index()
    out.attrs.update(default_region=default_region, as_of=as_of)
    return out


def _apply_overrides(table: pd.DataFrame, overrides, source: str) -> pd.DataFrame:
    """Overlay `overrides` (region → $/GB-month standard price, or region → {column: value})."""
    default = table.loc[table.attrs["default_region"]]
    rows = {}
    for region, value in overrides.items():
        base = table.loc[region] if region in table.index else default
        row = base.to_dict()
        given = value if isinstance(value, dict) else {"standard_usd_per_gb_month": value}
        unknown = set(given) - set(PRICE_COLUMNS + TEXT_COLUMNS)
        if unknown:
            raise ValueError(
                f"price override for {region!r} has unknown fields {sorted(unknown)}; "
                f"known: {PRICE_COLUMNS + TEXT_COLUMNS}"
            )
        row.update(given)
        if "source" not in given:
            row["source"] = source
        if "as_of" not in given:
            row["as_of"] = ""
        if region not in table.index and set(PRICE_COLUMNS) - set(given):
            filled = sorted(set(PRICE_COLUMNS) - set(given))
            row["note"] = f"{', '.join(filled)} taken from {table.attrs['default_region']}"
        rows[region] = row
    merged = pd.concat(
        [
            table.drop(index=[r for r in rows if r in table.index]),
            pd.DataFrame.from_dict(rows, orient="index"),
        ]
    )
    merged.index.name = "region"
    return _table(merged.reset_index(), table.attrs["default_region"], table.attrs.get("as_of"))


def _read_file(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype={"region": str})
        if "region" not in df.columns or "standard_usd_per_gb_month" not in df.columns:
            raise ValueError(
                f"{path}: a price CSV needs columns region, standard_usd_per_gb_month "
                f"(optional: {', '.join(PRICE_COLUMNS[1:] + TEXT_COLUMNS)})"
            )
        overrides = {
            r["region"]: {k: v for k, v in r.items() if k != "region" and pd.notna(v)}
            for r in df.to_dict("records")
        }
        return _apply_overrides(table, overrides, source=str(path))
    doc = json.loads(path.read_text())
    if "regions" in doc:  # a full table in the shipped format replaces the shipped one
        return _from_document(doc)
    return _apply_overrides(table, doc, source=str(path))


def load_prices(path=None, overrides: dict | None = None) -> pd.DataFrame:
    """The price table: one row per region (index `region`), prices and their source and date.

    `path`: a JSON file in the shipped format (replaces the table), a JSON mapping
    region → price or region → {column: value}, or a CSV with `region,standard_usd_per_gb_month`
    and optional further columns (overlaid on the shipped table). `overrides`: such a mapping
    given directly. `attrs["default_region"]` names the region whose price stands in for
    unlisted ones.
    """
    table = _from_document(_shipped())
    if path:
        table = _read_file(Path(path), table)
    if overrides:
        table = _apply_overrides(table, overrides, source="parameter")
    return table


def resolve(prices) -> pd.DataFrame:
    """Accept None (shipped), a path, a dict of overrides or a loaded table."""
    if prices is None:
        return load_prices()
    if isinstance(prices, pd.DataFrame):
        if "region" in prices.columns:
            prices = prices.set_index("region")
        if "standard_usd_per_gb_month" not in prices.columns:
            raise ValueError("a price table needs a standard_usd_per_gb_month column")
        prices.attrs.setdefault("default_region", "us-east-1")
        return prices
    if isinstance(prices, dict):
        return load_prices(overrides=prices)
    return load_prices(path=prices)


def for_regions(regions: pd.Series, prices) -> pd.DataFrame:
    """Price columns for each value of `regions` (aligned), plus `price_basis`: listed | assumed."""
    table = resolve(prices)
    default_region = table.attrs.get("default_region", "us-east-1")
    if default_region not in table.index:
        raise ValueError(f"price table has no row for its default region {default_region!r}")
    listed = regions.isin(table.index)
    lookup = regions.where(listed, default_region)
    out = table.reindex(lookup.to_numpy())
    out.index = regions.index
    out = out[[c for c in PRICE_COLUMNS if c in out.columns]].copy()
    # A minimal user table may give only the standard price: archive then costs the same,
    # with no cheaper tier, and the restore fee is unknown.
    std = out["standard_usd_per_gb_month"]
    defaults = {
        "archive_usd_per_gb_month": std,
        "archive_above_limit_usd_per_gb_month": std,
        "archive_tier_limit_gb": float("inf"),
        "restore_usd_per_gb": float("nan"),
        "archive_minimum_days": 90.0,
    }
    for col, value in defaults.items():
        if col not in out.columns:
            out[col] = value
    out["price_basis"] = listed.map({True: "listed", False: "assumed"}).astype("string")
    out["price_note"] = pd.Series("", index=regions.index, dtype="string").where(
        listed, f"region not in price table: {default_region} price used"
    )
    return out
