"""What ECR storage each repository occupies and costs, from the blobs its manifests name.

ECR bills a blob (layer or config) once per repository however many images share it
(docs/ecr.md#storage-billing). `imageSizeInBytes` is not billable bytes: an index reports the largest of
its children, which are listed beside it (docs/ecr.md#image-size). So:

- `exact`: every non-index image's manifest was read → Σ distinct blobs of the repository.
- `estimate`: no manifest was read → Σ size_bytes over non-index images, an upper bound
  (shared layers are still counted once per image; indexes are never added to their children).
- `partial`: some were read → distinct blobs of those + the bound for the rest (upper bound).
- `undetermined`: the image list itself could not be read.

Storage class: a blob used by any image that is not archived counts as standard; a blob used
only by archived (or still-restoring) images counts as archive. How ECR bills a blob shared by
an active and an archived image is not documented; this is our assumption.
Archive bytes are priced at the first archive tier here (the same as standard up to 150 TB);
the tiering across a whole account or bill is in `archive_advice`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import ecr, images
from ..keys import REPOSITORY_ID, Coded, coded
from ..schema import IMAGE_KEY, REPO_KEY
from . import prices as _prices

ROLES = ecr.IMAGE_ROLES
# ARCHIVED images are in the archive class; ACTIVATING ones are still being restored from it.
ARCHIVE_STATUSES = ("ARCHIVED", "ACTIVATING")
BASES = ("exact", "partial", "estimate", "undetermined")


def image_roles(inv, roles: pd.DataFrame | None = None) -> pd.Series:
    """Role per row of `inv.images`, as `images.classify` decides it.

    `roles`: a `images.classify(inv)` result already computed (saves recomputing it); images it
    lacks are `undetermined`.
    """
    img = inv.images
    if roles is None:
        return pd.Series(images.roles_by_row(inv), index=img.index, dtype=object)
    if len(roles) == len(img) and roles[IMAGE_KEY].reset_index(drop=True).equals(
        img[IMAGE_KEY].reset_index(drop=True)
    ):
        return pd.Series(roles["role"].to_numpy(), index=img.index, dtype=object)
    merged = img[IMAGE_KEY].merge(
        roles[IMAGE_KEY + ["role"]].drop_duplicates(IMAGE_KEY), on=IMAGE_KEY, how="left"
    )
    return pd.Series(merged["role"].fillna("undetermined").to_numpy(), index=img.index, dtype=object)


def image_flags(inv, enc: Coded | None = None) -> pd.DataFrame:
    """Row-aligned with inv.images: repository_id, image_row, size_bytes, is_index, has_blobs (its blobs
    are known), is_archived, needs_estimate (non-index image whose blobs are unknown)."""
    enc = coded(inv) if enc is None else enc
    img = inv.images
    out = enc.images.copy()
    out["size_bytes"] = img["size_bytes"].fillna(0).to_numpy(dtype="int64")  # null size counts 0
    out["is_index"] = img["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
    has_layers = np.zeros(len(img), bool)
    rows = enc.layers["image_row"].to_numpy()
    has_layers[rows[rows >= 0]] = True
    out["has_blobs"] = img["manifest_status"].eq("present").fillna(False).to_numpy() | has_layers
    out["is_archived"] = img["image_status"].isin(ARCHIVE_STATUSES).fillna(False).to_numpy()
    # An index holds no blobs of its own: only non-index images need a manifest read.
    out["needs_estimate"] = ~out["is_index"] & ~out["has_blobs"]
    return out


def flags_and_basis(inv) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`image_flags(inv)` and `repository_basis` of them, computed once per inventory (storage,
    savings and the archive advisor all start from them): read them, never change them."""

    def compute():
        enc = coded(inv)
        flags = image_flags(inv, enc)
        return flags, repository_basis(inv, flags, enc)

    return inv.cached("cost.flags_and_basis", compute)


def _repositories(inv) -> pd.DataFrame:
    """Every repository: listed ones plus any seen only through images."""
    listed = inv.repositories[REPO_KEY + ["images_status"]].drop_duplicates(REPO_KEY)
    seen = inv.images[REPO_KEY].drop_duplicates()
    return listed.merge(seen, on=REPO_KEY, how="outer").reset_index(drop=True)


def _by_repo(enc: Coded, frame: pd.DataFrame, aggs: dict) -> pd.DataFrame:
    """Group a coded frame by repository (in order of first appearance), aggregate, decode the
    keys to strings. Sizes and sums of int64 or boolean columns are summed in numpy (int64, as a
    groupby sums them): a pandas groupby costs milliseconds however few the rows. Other columns
    go through the groupby (it keeps a narrower integer type)."""
    ids = frame[REPOSITORY_ID].to_numpy()
    summed = {name: frame[col] for name, (col, how) in aggs.items() if how == "sum"}
    if not all(how in ("sum", "size") for _col, how in aggs.values()) or not all(
        isinstance(s.dtype, np.dtype) and s.dtype in (np.bool_, np.int64) for s in summed.values()
    ):
        out = frame.groupby(REPOSITORY_ID, observed=True, sort=False).agg(**aggs).reset_index()
        return enc.decode(out)
    group, uniq = pd.factorize(ids)  # groups numbered in order of first appearance
    by_group = np.argsort(group, kind="stable")
    starts = np.flatnonzero(np.r_[True, np.diff(group[by_group]) != 0]) if len(ids) else np.zeros(0, int)
    data = {REPOSITORY_ID: np.asarray(uniq, dtype=np.int64)}
    for name, (_col, how) in aggs.items():
        if how == "size":
            data[name] = np.bincount(group, minlength=len(uniq)).astype(np.int64)
        else:
            values = summed[name].to_numpy().astype(np.int64)[by_group]
            data[name] = np.add.reduceat(values, starts) if len(values) else np.zeros(0, np.int64)
    return enc.decode(pd.DataFrame(data))


def repository_basis(inv, flags: pd.DataFrame, enc: Coded) -> pd.DataFrame:
    """REPO_KEY + basis (exact | partial | estimate | undetermined) for every repository."""
    counts = _by_repo(
        enc, flags.assign(_n=~flags["is_index"]), {"_n": ("_n", "sum"), "_m": ("needs_estimate", "sum")}
    )
    repos = _repositories(inv).merge(counts, on=REPO_KEY, how="left").fillna({"_n": 0, "_m": 0})
    basis = pd.Series("exact", index=repos.index, dtype=object)
    basis[(repos["_m"] > 0) & (repos["_m"] < repos["_n"])] = "partial"
    basis[(repos["_m"] > 0) & (repos["_m"] == repos["_n"])] = "estimate"
    # The image list could not be read (fully): whatever was seen is not the repository.
    basis[repos["images_status"].eq("unreadable").fillna(False).to_numpy()] = "undetermined"
    return repos[REPO_KEY].assign(basis=basis)


def storage(inv, prices=None, roles: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per repository: bytes (reported, distinct, billable), image counts by role,
    standard vs archive bytes, cost_usd_per_month and the basis of the figure.

    Bytes are bytes; GB = 2^30 bytes; cost = GB × USD per GB-month of the repository's region
    (`price_basis`: from the snapshot's Price List, the user's prices, the shipped table, or
    assumed from us-east-1: `cost.prices`).
    `roles`: an `images.classify(inv)` frame if already computed.
    """
    enc = coded(inv)
    shared, basis = flags_and_basis(inv)
    flags = shared.copy()
    role = image_roles(inv, roles)
    flags["role"] = pd.Categorical(role.to_numpy(), categories=ROLES)
    est = flags["size_bytes"].where(flags["needs_estimate"], 0)
    flags["_est"] = est
    flags["_est_archive"] = est.where(flags["is_archived"], 0)

    agg = _by_repo(
        enc,
        flags,
        {
            "images_total": ("is_index", "size"),
            "images_without_manifest": ("needs_estimate", "sum"),
            "images_archived": ("is_archived", "sum"),
            "reported_bytes": ("size_bytes", "sum"),
            "estimated_bytes": ("_est", "sum"),
            "_est_archive": ("_est_archive", "sum"),
        },
    )
    by_role = (
        flags.groupby([REPOSITORY_ID, "role"], observed=False, sort=False)
        .size()
        .unstack("role")
        .reindex(columns=list(ROLES), fill_value=0)
    )
    by_role.columns = [f"images_{r}" for r in by_role.columns]
    by_role = enc.decode(by_role.reset_index())
    agg = agg.merge(by_role, on=REPO_KEY, how="left")

    layers = enc.layers[enc.layers["image_row"] >= 0]
    in_active = ~flags["is_archived"].to_numpy()[layers["image_row"].to_numpy()]
    # `pair` is the repository × blob id: one row per pair is `unique_blobs` on ints.
    exact = _by_repo(enc, layers.drop_duplicates("pair"), {"unique_bytes": ("size_bytes", "sum")})
    if in_active.all():  # the usual case: archived images' manifests cannot be read, so no layers
        active = exact.rename(columns={"unique_bytes": "_unique_standard"})
    else:
        active = _by_repo(
            enc, layers[in_active].drop_duplicates("pair"), {"_unique_standard": ("size_bytes", "sum")}
        )

    out = (
        basis.merge(agg, on=REPO_KEY, how="left")
        .merge(exact, on=REPO_KEY, how="left")
        .merge(active, on=REPO_KEY, how="left")
    )
    counts = ["images_total", "images_without_manifest", "images_archived"] + [f"images_{r}" for r in ROLES]
    out[counts] = out[counts].fillna(0).astype("int64")
    for col in ["reported_bytes", "estimated_bytes", "_est_archive", "unique_bytes", "_unique_standard"]:
        out[col] = out[col].fillna(0).astype("int64").astype("Int64")

    known = out["basis"].isin(["exact", "partial"])
    determined = ~out["basis"].eq("undetermined")
    out["unique_bytes"] = out["unique_bytes"].where(known)
    out["billable_bytes"] = (out["unique_bytes"].fillna(0) + out["estimated_bytes"]).where(determined)
    out["is_upper_bound"] = out["basis"].isin(["partial", "estimate"])
    unique_archive = out["unique_bytes"].fillna(0) - out["_unique_standard"]
    out["archive_bytes"] = (unique_archive + out["_est_archive"]).where(determined)
    out["standard_bytes"] = out["billable_bytes"] - out["archive_bytes"]
    out["reported_to_billable_ratio"] = out["reported_bytes"].astype(float) / out["billable_bytes"].astype(
        float
    ).where(out["billable_bytes"] > 0)

    price = _prices.for_regions(out["region"], prices, inv)
    out["standard_usd_per_gb_month"] = price["standard_usd_per_gb_month"]
    out["archive_usd_per_gb_month"] = price["archive_usd_per_gb_month"]
    out["cost_usd_per_month"] = (
        out["standard_bytes"].astype(float) / _prices.BYTES_PER_GB * out["standard_usd_per_gb_month"]
        + out["archive_bytes"].astype(float) / _prices.BYTES_PER_GB * out["archive_usd_per_gb_month"]
    )
    out["price_basis"] = price["price_basis"]
    out["price_note"] = price["price_note"]
    out = out.merge(
        inv.accounts[["account_id", "ou_path"]].drop_duplicates("account_id"), on="account_id", how="left"
    )

    cols = (
        REPO_KEY
        + [
            "ou_path",
            "basis",
            "is_upper_bound",
            "billable_bytes",
            "unique_bytes",
            "estimated_bytes",
            "reported_bytes",
            "reported_to_billable_ratio",
            "standard_bytes",
            "archive_bytes",
            "cost_usd_per_month",
            "standard_usd_per_gb_month",
            "archive_usd_per_gb_month",
            "price_basis",
            "price_note",
            "images_total",
            "images_without_manifest",
            "images_archived",
        ]
        + [f"images_{r}" for r in ROLES]
    )
    return out[cols].sort_values(REPO_KEY, kind="stable").reset_index(drop=True)
