"""Blob accounting: what storage a set of images occupies and what removing some of them frees.

ECR bills a blob (layer or config) once per repository however many images reference it
(ecr-facts §4.2), so freed bytes are the blobs referenced by removed images and by no image
that stays in the same repository. Repositories do not share storage with each other.
"""
from __future__ import annotations

import pandas as pd

REPO_KEY = ["account_id", "region", "repository_name"]
IMAGE_KEY = REPO_KEY + ["image_digest"]


def unique_blobs(layers: pd.DataFrame) -> pd.DataFrame:
    """One row per repository × blob digest with its size (distinct blobs, as billed)."""
    cols = REPO_KEY + ["blob_digest", "size_bytes"]
    return layers[cols].drop_duplicates(REPO_KEY + ["blob_digest"])


def freed_blobs(layers: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    """The blobs deleting `removed` (IMAGE_KEY columns) frees: REPO_KEY + blob_digest + size_bytes.

    A blob is freed when no image outside `removed` in the same repository references it.
    """
    removed = removed[IMAGE_KEY].drop_duplicates()
    marked = layers.merge(removed.assign(_removed=True), on=IMAGE_KEY, how="left")
    is_removed = marked["_removed"].fillna(False).astype(bool)
    kept_blobs = marked.loc[~is_removed, REPO_KEY + ["blob_digest"]].drop_duplicates()
    gone = unique_blobs(marked.loc[is_removed])
    gone = gone.merge(kept_blobs.assign(_kept=True), on=REPO_KEY + ["blob_digest"], how="left")
    return gone.loc[gone["_kept"].isna(), REPO_KEY + ["blob_digest", "size_bytes"]]


def freed_bytes(layers: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    """Bytes freed per repository by deleting the images in `removed` (IMAGE_KEY columns).

    A blob counts only when no image outside `removed` in the same repository references it.
    Returns REPO_KEY + freed_bytes + freed_blobs, one row per repository with removed images
    that have known layers (repositories whose manifests were not read are absent: unknown).
    """
    gone = freed_blobs(layers, removed)
    out = (gone.groupby(REPO_KEY, observed=True, sort=True)
           .agg(freed_bytes=("size_bytes", "sum"), freed_blobs=("blob_digest", "size"))
           .reset_index())
    out["freed_bytes"] = out["freed_bytes"].astype("Int64")
    out["freed_blobs"] = out["freed_blobs"].astype("Int64")
    return out
