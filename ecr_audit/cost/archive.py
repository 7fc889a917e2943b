"""When moving images to the ECR archive storage class would pay, and when it would not.

Archive costs the same as standard for the first 150 TB-month and less above it; restoring
costs a fee per GB; an archived image is charged for at least 90 days (prices.json). So
archiving saves money only where the archive volume of a billing scope passes 150 TB, and only
if the discount above it outweighs the restore fees. Whether the 150 TB is counted per account
and region or across the whole bill is not documented: `scope` chooses, and the answer says
which was assumed. Every assumption is a column.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import consumers, images
from ..blobs import freed_coded
from ..keys import REPOSITORY_ID, coded
from ..schema import IMAGE_KEY, REPO_KEY
from . import prices as _prices
from .storage import flags_and_basis
from .storage import storage as _storage

SCOPES = {"account_region": ["account_id", "region"], "region": ["region"]}


def archive_candidates(inv, unused_days: int = 90, as_of=None) -> pd.DataFrame:
    """ACTIVE images that `images.stale` finds idle for `unused_days` before `as_of` (not pulled,
    or never pulled and not pushed; judged with the images that keep them), never one in use (an
    archived image cannot be pulled until restored); in_use says `unknown` where it is."""
    out = images.stale(inv, days=unused_days, as_of=as_of)
    out = out[out["is_stale"].fillna(False).astype(bool) & (out["in_use"] != "yes")]
    active = inv.images.loc[inv.images["image_status"].eq("ACTIVE").fillna(False), IMAGE_KEY]
    return out[IMAGE_KEY + ["in_use"]].merge(active, on=IMAGE_KEY, how="inner")


def _archive_cost(gb, limit_gb, low, high):
    return np.minimum(gb, limit_gb) * low + np.maximum(gb - limit_gb, 0) * high


def archive_advice(
    inv,
    prices=None,
    unused_days: int = 90,
    scope: str = "account_region",
    restored_fraction_per_year: float = 0.10,
    candidates: pd.DataFrame | None = None,
    as_of=None,
    storage: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per billing scope (account × region, or region org-wide): would archiving pay?

    Moved bytes are the blobs of the candidate images that no other active image of the same
    repository uses (exact where manifests were read; else the candidates' size_bytes as an
    upper bound, `is_moved_upper_bound`). Images in use are never candidates; those whose in-use is
    unknown are counted (`candidates_in_use_unknown`) and the verdict says so.
    Net saving per month = standard cost of the moved
    bytes − added archive cost (tiered over the scope's whole archive volume) − restore fees
    (`restored_fraction_per_year` of the moved bytes restored each year, spread per month).
    """
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {sorted(SCOPES)}")
    keys = SCOPES[scope]
    enc = coded(inv)
    flags, basis = flags_and_basis(inv)
    st = _storage(inv, prices) if storage is None else storage
    cand = archive_candidates(inv, unused_days, as_of) if candidates is None else candidates
    rows = enc.rows(cand[IMAGE_KEY])
    rows = np.unique(rows[rows >= 0])
    state = consumers.in_use_by_row(inv)["in_use"].to_numpy(dtype=object)
    rows = rows[~flags["is_archived"].to_numpy()[rows] & (state[rows] != "yes")]  # in use: never proposed
    cand = flags.iloc[rows].assign(_unknown=state[rows] == "unknown")

    layers = enc.layers[enc.layers["image_row"] >= 0]
    active_layers = layers[~flags["is_archived"].to_numpy()[layers["image_row"].to_numpy()]]
    exact = enc.decode(freed_coded(enc, active_layers, rows))[REPO_KEY + ["freed_bytes"]]
    per_repo = enc.decode(
        cand.assign(_b=cand["size_bytes"].where(~cand["is_index"], 0))
        .groupby(REPOSITORY_ID, observed=True)
        .agg(_bound=("_b", "sum"), _images=("_b", "size"), _unknown=("_unknown", "sum"))
        .reset_index()
    )
    repo = per_repo.merge(exact, on=REPO_KEY, how="left").merge(basis, on=REPO_KEY, how="left")
    is_exact = repo["basis"].eq("exact")
    repo["moved_bytes"] = repo["freed_bytes"].fillna(0).astype("int64").where(is_exact, repo["_bound"])
    repo["_upper"] = ~is_exact

    current = (
        st.groupby(keys, sort=True)
        .agg(current_archive_bytes=("archive_bytes", "sum"), standard_bytes=("standard_bytes", "sum"))
        .reset_index()
    )
    moved = (
        repo.groupby(keys)
        .agg(
            candidate_images=("_images", "sum"),
            moved_bytes=("moved_bytes", "sum"),
            is_moved_upper_bound=("_upper", "any"),
            candidates_in_use_unknown=("_unknown", "sum"),
        )
        .reset_index()
    )
    out = current.merge(moved, on=keys, how="left")
    out["candidate_images"] = out["candidate_images"].fillna(0).astype("int64")
    out["candidates_in_use_unknown"] = out["candidates_in_use_unknown"].fillna(0).astype("int64")
    out["moved_bytes"] = out["moved_bytes"].fillna(0).astype("Int64")
    out["is_moved_upper_bound"] = out["is_moved_upper_bound"].fillna(False).astype(bool)

    region_for_price = out["region"]
    price = _prices.for_regions(region_for_price, prices, inv)
    gb = _prices.BYTES_PER_GB
    cur_gb = out["current_archive_bytes"].astype(float).fillna(0) / gb
    mov_gb = out["moved_bytes"].astype(float) / gb
    limit = price["archive_tier_limit_gb"]
    low, high = price["archive_usd_per_gb_month"], price["archive_above_limit_usd_per_gb_month"]
    std = price["standard_usd_per_gb_month"]
    added_archive = _archive_cost(cur_gb + mov_gb, limit, low, high) - _archive_cost(cur_gb, limit, low, high)
    out["standard_cost_of_moved_usd_per_month"] = mov_gb * std
    out["archive_cost_of_moved_usd_per_month"] = added_archive
    out["restore_fees_usd_per_month"] = mov_gb * restored_fraction_per_year / 12 * price["restore_usd_per_gb"]
    out["net_saving_usd_per_month"] = (
        out["standard_cost_of_moved_usd_per_month"] - added_archive - out["restore_fees_usd_per_month"]
    )
    out["minimum_charge_usd"] = added_archive * price["archive_minimum_days"] / 30
    out["archive_after_tb"] = (cur_gb + mov_gb) / _prices.GB_PER_TB
    out["tier_shortfall_tb"] = np.maximum(limit - (cur_gb + mov_gb), 0) / _prices.GB_PER_TB

    verdict = pd.Series("pays", index=out.index, dtype=object)
    verdict[out["net_saving_usd_per_month"] <= 0] = (
        "does not pay: restore fees exceed the discount above the tier"
    )
    verdict[(cur_gb + mov_gb) <= limit] = (
        "does not pay: archive volume stays below the tier, where archive costs the same as standard"
    )
    verdict[mov_gb == 0] = "nothing to archive"
    unknown = out["candidates_in_use_unknown"] > 0
    verdict[unknown] = verdict[unknown] + (
        "; in use unknown for "
        + out.loc[unknown, "candidates_in_use_unknown"].astype(str)
        + " candidate image(s): check their consumers before archiving"
    )
    out["verdict"] = verdict
    # Assumptions, stated per row.
    out["tier_scope"] = scope
    out["tier_limit_tb"] = limit / _prices.GB_PER_TB
    out["unused_days"] = unused_days
    out["restored_fraction_per_year"] = restored_fraction_per_year
    out["standard_usd_per_gb_month"] = std
    out["archive_usd_per_gb_month"] = low
    out["archive_above_limit_usd_per_gb_month"] = high
    out["restore_usd_per_gb"] = price["restore_usd_per_gb"]
    out["archive_minimum_days"] = price["archive_minimum_days"]
    out["price_basis"] = price["price_basis"]
    return out.sort_values("net_saving_usd_per_month", ascending=False, kind="stable").reset_index(drop=True)
