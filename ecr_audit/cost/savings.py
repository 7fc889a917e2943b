"""What deleting a set of images frees: bytes and dollars per month, per cleanup option.

A blob is freed only when no image that stays in the same repository still uses it
(`blobs.freed_bytes`). Where some image of a repository has no manifest read, nobody can say
which blobs stay in use: the freed bytes are `undetermined` (with an upper bound), not zero.
ECR refuses to delete an index child while a kept index still lists it
(ImageReferencedByManifestList), so such removals are counted as `images_blocked` and freed
nothing. An image in use (`consumers.in_use`) is never counted as freed: it stays, counted as
`images_in_use`; where in-use is unknown for a selected image, the repository's saving is
`undetermined` (`images_in_use_unknown`), with its upper bound (docs/consumers.md#in-use).
Deleting archived images before their 90 days still incurs the rest of the minimum
charge once; the monthly saving is unaffected.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import consumers, images, lifecycle
from ..blobs import freed_coded
from ..keys import REPOSITORY_ID, Coded, coded
from ..schema import IMAGE_KEY, REPO_KEY
from . import prices as _prices
from .storage import flags_and_basis

COLUMNS = (
    ["option"]
    + REPO_KEY
    + [
        "images_removed",
        "images_blocked",
        "images_in_use",
        "images_in_use_unknown",
        "basis",
        "freed_bytes",
        "freed_blobs",
        "freed_standard_bytes",
        "freed_archive_bytes",
        "freed_cost_usd_per_month",
        "freed_upper_bound_bytes",
        "upper_bound_cost_usd_per_month",
        "price_basis",
        "reason",
    ]
)


def _blocked_rows(inv, enc: Coded, removed_rows: np.ndarray) -> np.ndarray:
    """Rows (in inv.images) of removed images that a kept index still lists as a child."""
    refs = inv.manifest_references
    refs = refs[refs["kind"] == "index_child"]
    if refs.empty or not len(removed_rows):
        return np.array([], dtype=np.int64)
    src = enc.rows(refs[REPO_KEY].assign(image_digest=refs["source_digest"]))
    tgt = enc.rows(refs[REPO_KEY].assign(image_digest=refs["target_digest"]))
    is_removed = np.zeros(len(inv.images), bool)
    is_removed[removed_rows] = True
    kept_parent = (src >= 0) & (tgt >= 0)
    kept_parent[kept_parent] = ~is_removed[src[kept_parent]]
    held = np.unique(tgt[kept_parent])
    return held[is_removed[held]]


def freed(inv, removed: pd.DataFrame, prices=None) -> pd.DataFrame:
    """One row per repository with selected images: what deleting `removed` frees.

    images_removed excludes images in use (they stay: images_in_use); images_in_use_unknown > 0
    makes the repository's freed bytes undetermined (upper bound: freed_upper_bound_bytes).
    `removed` needs account_id, region, repository_name, image_digest (other columns ignored;
    images not in the inventory are ignored).
    """
    enc = coded(inv)
    flags, basis = flags_and_basis(inv)  # once per inventory, however many options are priced
    selected = enc.rows(removed[IMAGE_KEY])
    selected = np.unique(selected[selected >= 0])
    state = consumers.in_use_by_row(inv)["in_use"].to_numpy(dtype=object)[selected]
    rows = selected[state != "yes"]  # an image in use stays
    blocked = _blocked_rows(inv, enc, rows)
    gone = np.setdiff1d(rows, blocked)
    layers = enc.layers[enc.layers["image_row"] >= 0]

    sel = flags.iloc[selected].assign(
        is_blocked=np.isin(selected, blocked),
        is_removed=state != "yes",
        is_in_use=state == "yes",
        is_in_use_unknown=state == "unknown",
    )
    deletable = flags.iloc[gone]
    everything = freed_coded(enc, layers, gone)
    # Standard-class bytes: drop the rows of removed archived images, then free the active ones.
    archived_gone = gone[flags["is_archived"].to_numpy()[gone]]
    has_archived_layers = np.isin(layers["image_row"].to_numpy(), archived_gone)
    if has_archived_layers.any():
        standard = freed_coded(enc, layers[~has_archived_layers], np.setdiff1d(gone, archived_gone))
    else:
        standard = everything

    out = enc.decode(
        sel.groupby(REPOSITORY_ID, observed=True)
        .agg(
            images_removed=("is_removed", "sum"),
            images_blocked=("is_blocked", "sum"),
            images_in_use=("is_in_use", "sum"),
            images_in_use_unknown=("is_in_use_unknown", "sum"),
        )
        .reset_index()
    )
    bound = enc.decode(
        deletable.assign(_b=deletable["size_bytes"].where(~deletable["is_index"], 0))
        .groupby(REPOSITORY_ID, observed=True)
        .agg(freed_upper_bound_bytes=("_b", "sum"))
        .reset_index()
    )
    out = (
        out.merge(bound, on=REPO_KEY, how="left")
        .merge(enc.decode(everything), on=REPO_KEY, how="left")
        .merge(
            enc.decode(standard)[REPO_KEY + ["freed_bytes"]].rename(columns={"freed_bytes": "_std"}),
            on=REPO_KEY,
            how="left",
        )
        .merge(basis, on=REPO_KEY, how="left")
    )
    in_use_unknown = out["images_in_use_unknown"].gt(0)
    exact = out["basis"].eq("exact") & ~in_use_unknown
    for col in ["freed_bytes", "freed_blobs", "_std", "freed_upper_bound_bytes"]:
        out[col] = out[col].fillna(0).astype("int64").astype("Int64")
    out["freed_bytes"] = out["freed_bytes"].where(exact)
    out["freed_blobs"] = out["freed_blobs"].where(exact)
    out["freed_standard_bytes"] = out["_std"].where(exact)
    out["freed_archive_bytes"] = out["freed_bytes"] - out["freed_standard_bytes"]
    out["basis"] = out["basis"].where(exact, "undetermined")
    out["reason"] = pd.Series("", index=out.index, dtype=object).where(
        exact, "manifests not read for every image in the repository: kept images may share these blobs"
    )
    out["reason"] = out["reason"].where(
        ~in_use_unknown,
        "in use unknown for "
        + out["images_in_use_unknown"].astype(str)
        + " image(s) (consumers not read where they could be): removing them may break a consumer",
    )

    price = _prices.for_regions(out["region"], prices, inv)
    gb = _prices.BYTES_PER_GB
    out["freed_cost_usd_per_month"] = (
        out["freed_standard_bytes"].astype(float) / gb * price["standard_usd_per_gb_month"]
        + out["freed_archive_bytes"].astype(float) / gb * price["archive_usd_per_gb_month"]
    )
    out["upper_bound_cost_usd_per_month"] = (
        out["freed_upper_bound_bytes"].astype(float) / gb * price["standard_usd_per_gb_month"]
    )
    out["price_basis"] = price["price_basis"]
    return out[COLUMNS[1:]]


def _as_removals(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    missing = set(IMAGE_KEY) - set(frame.columns)
    if missing:
        raise ValueError(f"removal option {name!r} lacks columns {sorted(missing)}")
    return frame[IMAGE_KEY]


def default_removals(inv, stale_days: int = 90, lifecycle_policy=None) -> dict[str, pd.DataFrame]:
    """The cleanup options the other analyses provide: {name: the images it would remove}."""
    found = {
        "orphans": images.orphans(inv),
        f"stale_{stale_days}d": _only_stale(images.stale(inv, days=stale_days)),
        "lifecycle_current": _expired(lifecycle.simulate(inv)),
    }
    if lifecycle_policy is not None:
        found["lifecycle_what_if"] = _expired(lifecycle.simulate(inv, policy=lifecycle_policy))
    return found


def _only_stale(frame: pd.DataFrame) -> pd.DataFrame:
    """`images.stale` judges every image (is_stale); keep the stale ones."""
    return frame[frame["is_stale"].fillna(False).astype(bool)]


def _expired(sim: pd.DataFrame) -> pd.DataFrame:
    """Images a lifecycle simulation would expire."""
    return sim[sim["action"].astype(str).str.lower() == "expire"]


def savings(
    inv,
    removals: dict[str, pd.DataFrame] | None = None,
    prices=None,
    stale_days: int = 90,
    lifecycle_policy=None,
) -> pd.DataFrame:
    """One row per cleanup option × repository: images removed, bytes and USD/month freed.

    `removals`: {option name: frame with account_id, region, repository_name, image_digest}.
    None: the options other analyses provide (orphans, stale, lifecycle current/what-if).
    Options that select no image appear as one row with basis `nothing_to_remove`.
    """
    if removals is None:
        removals = default_removals(inv, stale_days, lifecycle_policy)
    parts = []
    for name, frame in removals.items():
        part = freed(inv, _as_removals(frame, name), prices)
        if part.empty:  # the option removes nothing: say so rather than vanish
            part = pd.DataFrame(
                [
                    {
                        "option": name,
                        "basis": "nothing_to_remove",
                        "images_removed": 0,
                        "images_blocked": 0,
                        "images_in_use": 0,
                        "images_in_use_unknown": 0,
                        "freed_bytes": 0,
                        "freed_blobs": 0,
                        "freed_cost_usd_per_month": 0.0,
                        "freed_upper_bound_bytes": 0,
                        "reason": "no image selected",
                    }
                ]
            )
        parts.append(part.assign(option=name))
    if not parts:
        return freed(inv, inv.images[IMAGE_KEY].iloc[:0], prices).assign(option=pd.Series(dtype=object))
    out = pd.concat(parts, ignore_index=True)
    return out.reindex(columns=COLUMNS)


def savings_totals(savings_frame: pd.DataFrame) -> pd.DataFrame:
    """Per option: repositories, images, freed bytes and USD/month where determined, and how
    much is undetermined (with its upper bound)."""
    df = savings_frame.assign(_undetermined=savings_frame["basis"].eq("undetermined"))
    und = df[df["_undetermined"]]
    g = df.groupby("option", sort=False)
    out = pd.DataFrame(
        {
            "repositories": g["repository_name"].count(),
            "images_removed": g["images_removed"].sum(),
            "images_blocked": g["images_blocked"].sum(),
            "images_in_use": g["images_in_use"].sum(),
            "images_in_use_unknown": g["images_in_use_unknown"].sum(),
            "freed_bytes": g["freed_bytes"].sum(),
            "freed_cost_usd_per_month": g["freed_cost_usd_per_month"].sum(),
            "repositories_undetermined": g["_undetermined"].sum(),
        }
    )
    out["undetermined_upper_bound_bytes"] = und.groupby("option")["freed_upper_bound_bytes"].sum()
    out["undetermined_upper_bound_bytes"] = out["undetermined_upper_bound_bytes"].fillna(0).astype("Int64")
    return out.reset_index()
