"""ECR storage prices by region: the snapshot's AWS Price List, user overrides, the shipped table.

Where each region's price comes from (`price_basis`), first that applies:
  user        a price file or overrides the caller gave (`load_prices(path, overrides)`)
  price_list  the AWS Price List as the collection read it (the snapshot's `storage_prices`
              frame: `collect.pricing`), with its effective date
  shipped     `data/prices.json`, which covers every commercial region (its source and date per row)
  assumed     none of these: the default region's (us-east-1) price, never silently
A price-list row keeps what the Price List did not state (the archive tiers, the restore fee) from
the shipped row and names those fields in `assumed_fields`.

Units: USD per GB-month as AWS bills it. AWS meters storage in byte-hours
(`TimedStorage-ByteHrs`) and converts to GB-months with 1 GB = 2^30 bytes (see
`data/prices.json` → unit.basis). A snapshot is a point in time, so a monthly cost here is
"what this storage costs if it stays for a whole month".
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
TEXT_COLUMNS = ["as_of", "source", "assumed_fields", "note", "price_basis"]
USER, PRICE_LIST, SHIPPED, ASSUMED = "user", "price_list", "shipped", "assumed"
PRICE_LIST_SOURCE = "AWS Price List (pricing:GetProducts), read when the snapshot was collected"


def _shipped() -> dict:
    return json.loads(resources.files("ecr_audit").joinpath("data/prices.json").read_text())


def _document_rows(doc: dict) -> dict[str, dict]:
    """region → its fields: `regions`, and each of `uniform_regions.regions` with the shared fields."""
    rows = dict(doc.get("regions", {}))
    uniform = doc.get("uniform_regions") or {}
    shared = {k: v for k, v in uniform.items() if k not in ("regions", "description")}
    for region in uniform.get("regions", []):
        rows.setdefault(region, shared)
    return rows


def _from_document(doc: dict, basis: str) -> pd.DataFrame:
    archive = doc.get("archive", {})
    limit_gb = float(archive.get("tier_limit_tb", 150)) * GB_PER_TB
    rows = []
    for region, p in _document_rows(doc).items():
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
                "price_basis": basis,
            }
        )
    return _table(pd.DataFrame(rows), doc.get("default_region", "us-east-1"), doc.get("as_of"))


def _table(df: pd.DataFrame, default_region: str, as_of) -> pd.DataFrame:
    for col in PRICE_COLUMNS:
        df[col] = pd.to_numeric(df[col], errors="raise").astype(float)
    for col in TEXT_COLUMNS:
        df[col] = (df[col] if col in df.columns else pd.Series("", index=df.index)).fillna("").astype(str)
    out = df.set_index("region")[PRICE_COLUMNS + TEXT_COLUMNS].sort_index()
    out.attrs.update(default_region=default_region, as_of=as_of)
    return out


def _replace_rows(table: pd.DataFrame, rows: dict[str, dict]) -> pd.DataFrame:
    merged = pd.concat(
        [
            table.drop(index=[r for r in rows if r in table.index]),
            pd.DataFrame.from_dict(rows, orient="index"),
        ]
    )
    merged.index.name = "region"
    return _table(merged.reset_index(), table.attrs["default_region"], table.attrs.get("as_of"))


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
        row["price_basis"] = USER
        if "source" not in given:
            row["source"] = source
        if "as_of" not in given:
            row["as_of"] = ""
        filled = sorted(set(PRICE_COLUMNS) - set(given))
        if "note" not in given:
            if region not in table.index:
                row["note"] = (
                    f"{', '.join(filled)} taken from {table.attrs['default_region']}" if filled else ""
                )
            else:
                row["note"] = (
                    f"{', '.join(filled)} taken from the {base['price_basis']} row of {region}"
                    if filled
                    else ""
                )
        rows[region] = row
    return _replace_rows(table, rows)


def _read_file(path: Path, table: pd.DataFrame) -> pd.DataFrame:
    if path.suffix.lower() == ".csv":
        df = pd.read_csv(path, dtype={"region": str})
        if "region" not in df.columns or "standard_usd_per_gb_month" not in df.columns:
            raise ValueError(
                f"{path}: a price CSV needs columns region, standard_usd_per_gb_month "
                f"(optional: {', '.join(PRICE_COLUMNS[1:] + TEXT_COLUMNS[:-1])})"
            )
        overrides = {
            r["region"]: {k: v for k, v in r.items() if k != "region" and pd.notna(v)}
            for r in df.to_dict("records")
        }
        return _apply_overrides(table, overrides, source=str(path))
    doc = json.loads(path.read_text())
    if "regions" in doc:  # a full table in the shipped format replaces the shipped one
        return _from_document(doc, USER)
    return _apply_overrides(table, doc, source=str(path))


# -- the snapshot's Price List ---------------------------------------------------------------------


def snapshot_prices(inv) -> pd.DataFrame | None:
    """The `storage_prices` frame of `inv` (None: no inventory, or a snapshot without the frame)."""
    if inv is None:
        return None
    frames = getattr(inv, "frames", {})
    return frames["storage_prices"] if "storage_prices" in frames else None


def from_price_list(frame: pd.DataFrame | None, fallback: pd.DataFrame) -> dict[str, dict]:
    """region → price row (basis `price_list`) from `storage_prices` rows in USD with a standard
    storage price; what the Price List did not state is taken from `fallback`'s row of the region
    (or its default region) and listed in `assumed_fields`."""
    if frame is None or frame.empty:
        return {}
    df = frame[frame["currency"].eq("USD")].copy()
    df["usd"] = pd.to_numeric(df["price"], errors="coerce")
    key = ["region", "storage_class", "charge", "tier_begin_gb"]
    df = df.dropna(subset=["usd"]).sort_values("effective_at").drop_duplicates(key, keep="last")
    default = fallback.attrs.get("default_region", "us-east-1")
    rows = {}
    for region, g in df.groupby("region", sort=True):
        std = g[g["storage_class"].eq("standard") & g["charge"].eq("storage") & g["tier_begin_gb"].eq(0)]
        if std.empty:
            continue
        base = fallback.loc[region] if region in fallback.index else fallback.loc[default]
        row = base.to_dict()
        row["standard_usd_per_gb_month"] = float(std["usd"].iloc[0])
        used, kept = [std], []
        tiers = g[g["storage_class"].eq("archive") & g["charge"].eq("storage")].sort_values("tier_begin_gb")
        if len(tiers) and tiers["tier_begin_gb"].iloc[0] == 0:
            row["archive_usd_per_gb_month"] = float(tiers["usd"].iloc[0])
            above = tiers.iloc[1] if len(tiers) > 1 else tiers.iloc[0]
            row["archive_above_limit_usd_per_gb_month"] = float(above["usd"])
            row["archive_tier_limit_gb"] = float(above["tier_begin_gb"]) if len(tiers) > 1 else float("inf")
            used.append(tiers)
        else:
            kept += [
                "archive_usd_per_gb_month",
                "archive_above_limit_usd_per_gb_month",
                "archive_tier_limit_gb",
            ]
        restore = g[g["charge"].eq("restore") & g["tier_begin_gb"].eq(0)]
        if len(restore):
            row["restore_usd_per_gb"] = float(restore["usd"].iloc[0])
            used.append(restore)
        else:
            kept.append("restore_usd_per_gb")
        effective = pd.concat(used)["effective_at"].max()
        row.update(
            as_of=effective.strftime("%Y-%m-%d") if pd.notna(effective) else "",
            source=PRICE_LIST_SOURCE,
            assumed_fields=", ".join(kept),
            note=f"{', '.join(kept)} not in the Price List: from the {row['price_basis']} table"
            if kept
            else "",
            price_basis=PRICE_LIST,
        )
        rows[region] = row
    return rows


def with_price_list(table: pd.DataFrame, frame: pd.DataFrame | None) -> pd.DataFrame:
    """`table` with its shipped rows replaced by the Price List's where it has them; rows the user
    gave stay (the user's word comes first)."""
    listed = from_price_list(frame, table)
    keep_user = set(table.index[table["price_basis"].eq(USER)])
    rows = {r: row for r, row in listed.items() if r not in keep_user}
    return _replace_rows(table, rows) if rows else table


def load_prices(path=None, overrides: dict | None = None, inv=None) -> pd.DataFrame:
    """The price table: one row per region (index `region`), prices, their source and date, and
    `price_basis` (module docstring).

    `inv`: an Inventory whose Price List prices (read at collection) replace the shipped rows.
    `path`: a JSON file in the shipped format (replaces the table), a JSON mapping
    region → price or region → {column: value}, or a CSV with `region,standard_usd_per_gb_month`
    and optional further columns (overlaid). `overrides`: such a mapping given directly.
    `attrs["default_region"]` names the region whose price stands in for unlisted ones.
    """
    table = with_price_list(_from_document(_shipped(), SHIPPED), snapshot_prices(inv))
    if path:
        table = _read_file(Path(path), table)
    if overrides:
        table = _apply_overrides(table, overrides, source="parameter")
    return table


def resolve(prices, inv=None) -> pd.DataFrame:
    """Accept None (shipped), a path, a dict of overrides or a loaded table; with `inv`, the
    snapshot's Price List prices replace shipped rows (`with_price_list`)."""
    if prices is None:
        return load_prices(inv=inv)
    if isinstance(prices, pd.DataFrame):
        if "region" in prices.columns:
            prices = prices.set_index("region")
        if "standard_usd_per_gb_month" not in prices.columns:
            raise ValueError("a price table needs a standard_usd_per_gb_month column")
        if "price_basis" not in prices.columns:  # a table of the caller's own
            prices = prices.assign(price_basis=USER)
        prices.attrs.setdefault("default_region", "us-east-1")
        return with_price_list(prices, snapshot_prices(inv))
    if isinstance(prices, dict):
        return load_prices(overrides=prices, inv=inv)
    return load_prices(path=prices, inv=inv)


# The default table (shipped + the snapshot's Price List) by the Price List's content: storage and
# savings both price an inventory, the snapshots of a history mostly carry the same list, and
# building the table costs more pandas work than pricing a small organization's repositories.
_DEFAULT_TABLES: dict[bytes, pd.DataFrame] = {}


def _default_table(inv) -> pd.DataFrame:
    """`resolve(None, inv)`, built once per distinct Price List and found once per inventory
    (callers must not modify it)."""
    if inv is None or not hasattr(inv, "cached"):
        return _default_table_of(inv)
    return inv.cached("cost.default_price_table", lambda: _default_table_of(inv))


def _default_table_of(inv) -> pd.DataFrame:
    frame = snapshot_prices(inv)
    key = b""
    if frame is not None:
        try:
            key = "|".join(frame.columns).encode() + b"\0"
            key += pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes()
        except TypeError:  # a column hash_pandas_object cannot hash: do not memoize
            return resolve(None, inv)
    if key not in _DEFAULT_TABLES:
        if len(_DEFAULT_TABLES) >= 16:
            _DEFAULT_TABLES.clear()
        _DEFAULT_TABLES[key] = resolve(None, inv)
    return _DEFAULT_TABLES[key]


def for_regions(regions: pd.Series, prices, inv=None) -> pd.DataFrame:
    """Price columns for each value of `regions` (aligned), plus `price_basis` (module docstring)
    and `price_note`. `inv`: the inventory whose Price List prices come before the shipped table."""
    table = _default_table(inv) if prices is None else resolve(prices, inv)
    default_region = table.attrs.get("default_region", "us-east-1")
    if default_region not in table.index:
        raise ValueError(f"price table has no row for its default region {default_region!r}")
    listed = regions.isin(table.index)
    lookup = regions.where(listed, default_region)
    out = table.reindex(lookup.to_numpy())
    out.index = regions.index
    basis = out["price_basis"].where(listed, ASSUMED).astype("string")
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
    out["price_basis"] = basis
    out["price_note"] = pd.Series("", index=regions.index, dtype="string").where(
        listed, f"region not in price table: {default_region} price used"
    )
    return out


def price_sources(inv, prices=None) -> pd.DataFrame:
    """One row per region of `inv`'s coverage: which source priced it (`price_basis`), that
    source, the price's date and the standard price. For the report's statement of its prices."""
    regions = pd.Series(sorted(inv.coverage["region"].dropna().unique()), dtype="str", name="region")
    table = resolve(prices, inv)
    priced = for_regions(regions, table)
    default = table.attrs["default_region"]
    row = table.reindex(regions.where(regions.isin(table.index), default).to_numpy())
    assumed = priced["price_basis"].eq(ASSUMED).to_numpy()
    source = row["source"].where(~assumed, f"no price for this region: {default}'s (" + row["source"] + ")")
    return pd.DataFrame(
        {
            "region": regions,
            "price_basis": priced["price_basis"],
            "standard_usd_per_gb_month": priced["standard_usd_per_gb_month"],
            "archive_usd_per_gb_month": priced["archive_usd_per_gb_month"],
            "archive_above_limit_usd_per_gb_month": priced["archive_above_limit_usd_per_gb_month"],
            "restore_usd_per_gb": priced["restore_usd_per_gb"],
            "as_of": row["as_of"].to_numpy(),
            "source": source.to_numpy(),
            "assumed_fields": row["assumed_fields"].to_numpy(),
        }
    )
