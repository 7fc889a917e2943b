"""Blob accounting: what storage a set of images occupies and what removing some of them frees.

ECR bills a blob (layer or config) once per repository however many images reference it
(docs/ecr.md#storage-billing), so freed bytes are the blobs referenced by removed images and by no image
that stays in the same repository. Repositories do not share storage with each other.

The core (`freed_rows`) works on integer ids (`keys.layer_keys`); `attributed_freed_bytes*`
apply it to an Inventory, and the frame functions below take string-keyed frames for ad-hoc use
and tests.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .keys import IMAGE_ROW, PAIR, REPOSITORY_ID, Coded, keys, layer_keys
from .schema import IMAGE_KEY, REPO_KEY


def freed_rows(pair: np.ndarray, n_pairs: int, is_removed: np.ndarray) -> np.ndarray:
    """Layer rows whose blob is freed: the row belongs to a removed image and no kept row of the
    same repository × blob (`pair` id per row, 0..n_pairs-1) remains."""
    kept = np.bincount(pair[~is_removed], minlength=n_pairs)
    return is_removed & (kept[pair] == 0)


def freed_coded(enc: Coded, layers: pd.DataFrame, removed_rows: np.ndarray) -> pd.DataFrame:
    """`freed_rows` on coded `layers` (a subset of `enc.layers`, `keys.coded`) for the images at
    `removed_rows`: repository_id + freed_bytes + freed_blobs per repository."""
    is_img = np.zeros(len(enc.images), bool)
    is_img[removed_rows] = True
    row = layers[IMAGE_ROW].to_numpy()
    pair = layers[PAIR].to_numpy()
    gone = freed_rows(pair, enc.n_pairs, is_img[row] & (row >= 0))
    g = layers.loc[gone, [REPOSITORY_ID, PAIR, "size_bytes"]].drop_duplicates(PAIR)
    out = (
        g.groupby(REPOSITORY_ID, sort=True)
        .agg(freed_bytes=("size_bytes", "sum"), freed_blobs=(PAIR, "size"))
        .reset_index()
    )
    return out.astype({"freed_bytes": "Int64", "freed_blobs": "Int64"})


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


def repo_blobs_known(inv) -> np.ndarray:
    """Per repository id (`keys.repos` row): every image's blobs are known (manifest read, or
    layers present). Cached per Inventory; do not mutate."""

    def compute():
        k, lk = keys(inv), layer_keys(inv)
        im = inv.images
        known = (im["manifest_status"] == "present").fillna(False).to_numpy().copy()
        known[lk.image_row[lk.image_row >= 0]] = True
        return np.bincount(k.image_repo, weights=~known, minlength=k.n_repos) == 0

    return inv.cached("blobs.repo_blobs_known", compute)


def attributed_freed_bytes(inv, removed: pd.DataFrame) -> pd.Series:
    """Blob-aware bytes freed by removing `removed` (IMAGE_KEY rows), attributed per image.

    The repository total is `freed_bytes`; each freed blob is counted once, on the first removed
    image (by digest) that references it, so rows add up to the repository total. Null where the
    repository's blobs are not fully known (some image's manifest unread).
    """
    if removed.empty:
        return pd.Series([], dtype="Int64")
    k = keys(inv)
    repo = k.repo_ids(removed)
    rows = k.rows(removed, repo_ids=repo)
    return pd.Series(attributed_freed_bytes_rows(inv, rows, repo), index=removed.index)


def attributed_freed_bytes_rows(
    inv, rows: np.ndarray, repo: np.ndarray | None = None
) -> pd.arrays.IntegerArray:
    """`attributed_freed_bytes` for removed images given as rows of inv.images (-1: not an image
    of the inventory; then `repo`, its repository id, decides whether the figure is known)."""
    k, lk = keys(inv), layer_keys(inv)
    n = len(inv.images)
    repo = k.image_repo[rows.clip(0)] if repo is None else repo
    is_removed_img = np.zeros(n + 1, bool)  # slot n: "not an image" (row -1)
    is_removed_img[rows[rows >= 0]] = True
    is_removed = is_removed_img[np.where(lk.image_row >= 0, lk.image_row, n)]
    gone = np.flatnonzero(freed_rows(lk.pair, lk.n_pairs, is_removed))
    per_image = np.zeros(n, np.int64)
    if len(gone):
        owner = lk.image_row[gone]
        imgs, inverse = np.unique(owner, return_inverse=True)
        digest_rank = np.argsort(
            np.argsort(inv.images["image_digest"].iloc[imgs].to_numpy(dtype=object), kind="stable"),
            kind="stable",
        )
        order = np.lexsort((digest_rank[inverse], lk.pair[gone]))
        pairs = lk.pair[gone][order]
        first = order[np.r_[True, pairs[1:] != pairs[:-1]]]
        np.add.at(per_image, owner[first], lk.size[gone][first])
    ok = (repo >= 0) & repo_blobs_known(inv)[repo.clip(0)] if len(repo) else np.zeros(0, bool)
    out = pd.array(np.where(rows >= 0, per_image[rows.clip(0)], 0), dtype="Int64")
    out[~ok] = pd.NA
    return out


__all__ = [
    "attributed_freed_bytes",
    "attributed_freed_bytes_rows",
    "freed_blobs",
    "freed_bytes",
    "freed_coded",
    "freed_rows",
    "repo_blobs_known",
    "unique_blobs",
]
