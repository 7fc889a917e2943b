"""Blob accounting: what storage a set of images occupies and what removing some of them frees.

ECR bills a blob (layer or config) once per repository however many images reference it
(docs/ecr.md#storage-billing), so freed bytes are the blobs referenced by removed images and by no image
that stays in the same repository. Repositories do not share storage with each other.

The core (`freed_rows`) works on integer ids (`keys.layer_keys`); the frame functions below
take string-keyed frames for ad-hoc use and tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .schema import IMAGE_KEY, REPO_KEY  # declared once in schema; other modules import them from here


def freed_rows(pair: np.ndarray, n_pairs: int, is_removed: np.ndarray) -> np.ndarray:
    """Layer rows whose blob is freed: the row belongs to a removed image and no kept row of the
    same repository × blob (`pair` id per row, 0..n_pairs-1) remains."""
    kept = np.bincount(pair[~is_removed], minlength=n_pairs)
    return is_removed & (kept[pair] == 0)


def unique_blobs(layers: pd.DataFrame) -> pd.DataFrame:
    """One row per repository × blob digest with its size (distinct blobs, as billed)."""
    cols = REPO_KEY + ["blob_digest", "size_bytes"]
    return layers[cols].drop_duplicates(REPO_KEY + ["blob_digest"])


def freed_blobs(layers: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    """The blobs deleting `removed` (IMAGE_KEY columns) frees: REPO_KEY + blob_digest + size_bytes.

    A blob is freed when no image outside `removed` in the same repository references it.
    """
    if layers.empty:
        return layers[REPO_KEY + ["blob_digest", "size_bytes"]]
    both = pd.concat([layers[IMAGE_KEY], removed[IMAGE_KEY]], ignore_index=True)
    image_id = both.groupby(IMAGE_KEY, sort=False, observed=True, dropna=False).ngroup().to_numpy()
    is_removed = np.isin(image_id[: len(layers)], image_id[len(layers) :])
    pair, uniq = pd.factorize(pd.MultiIndex.from_frame(layers[REPO_KEY + ["blob_digest"]]))
    gone = freed_rows(pair.astype(np.int64), len(uniq), is_removed)
    return unique_blobs(layers.loc[gone])


def freed_bytes(layers: pd.DataFrame, removed: pd.DataFrame) -> pd.DataFrame:
    """Bytes freed per repository by deleting the images in `removed` (IMAGE_KEY columns).

    A blob counts only when no image outside `removed` in the same repository references it.
    Returns REPO_KEY + freed_bytes + freed_blobs, one row per repository with removed images
    that have known layers (repositories whose manifests were not read are absent: unknown).
    """
    gone = freed_blobs(layers, removed)
    out = (
        gone.groupby(REPO_KEY, observed=True, sort=True)
        .agg(freed_bytes=("size_bytes", "sum"), freed_blobs=("blob_digest", "size"))
        .reset_index()
    )
    out["freed_bytes"] = out["freed_bytes"].astype("Int64")
    out["freed_blobs"] = out["freed_blobs"].astype("Int64")
    return out
