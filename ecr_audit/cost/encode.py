"""Integer codes for the image and blob keys, so blob accounting runs on ints, not strings.

At a million images (several million layer rows) joining and de-duplicating on four string
columns dominates the run time. The key columns are factorized once over images and layers
together; the shared `blobs` functions then run unchanged on coded frames: same column names,
with the whole repository key carried as one int in `account_id` (`region` and
`repository_name` are 0). `decode` turns results back into the three string columns.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..blobs import IMAGE_KEY, REPO_KEY


@dataclass
class Encoded:
    images: pd.DataFrame        # coded IMAGE_KEY, row-aligned with inv.images (+ _key)
    layers: pd.DataFrame        # coded IMAGE_KEY + blob_digest, size_bytes, image_row
    repos: pd.DataFrame         # repo id → account_id, region, repository_name (strings)
    uniques: dict[str, pd.Index]
    repo_keys: pd.Index         # combined per-column repo codes → repo id (position)

    def decode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Coded REPO_KEY (repo id in account_id) → the three string columns."""
        ids = frame["account_id"].to_numpy(dtype=np.int64)
        out = frame.drop(columns=REPO_KEY)
        strings = self.repos.iloc[ids].reset_index(drop=True)
        strings.index = out.index
        return pd.concat([strings, out], axis=1)

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Row number in inv.images of each image `frame` names (IMAGE_KEY), -1 when unknown."""
        codes = {c: self.uniques[c].get_indexer(frame[c]) for c in IMAGE_KEY}
        ok = np.logical_and.reduce([codes[c] >= 0 for c in IMAGE_KEY]) if len(frame) else np.zeros(0, bool)
        out = np.full(len(frame), -1, dtype=np.int64)
        if ok.any():
            repo = self.repo_keys.get_indexer(_combine(self.uniques, *(codes[c][ok] for c in REPO_KEY)))
            ids = np.where(repo >= 0, repo * len(self.uniques["image_digest"]) + codes["image_digest"][ok], -1)
            pos = pd.Index(self.images["_key"].to_numpy()).get_indexer(ids)
            out[ok] = np.where(repo >= 0, pos, -1)
        return out


def _combine(uniques, acc, reg, repo) -> np.ndarray:
    return (acc.astype(np.int64) * len(uniques["region"]) + reg) * len(uniques["repository_name"]) + repo


def _run_heads(frame: pd.DataFrame, cols) -> np.ndarray:
    """True where a row's key differs from the previous row's (layers come grouped by image, so
    only one row per image needs hashing; correct for any order, just slower when unordered)."""
    change = np.zeros(len(frame), bool)
    if len(frame):
        change[0] = True
        for c in cols:
            col = frame[c].reset_index(drop=True)
            change[1:] |= (col.iloc[1:].reset_index(drop=True) != col.iloc[:-1].reset_index(drop=True)
                           ).fillna(True).to_numpy(dtype=bool)
    return change


def encode(inv) -> Encoded:
    img, lay = inv.images, inv.layers
    n = len(img)
    heads = _run_heads(lay, IMAGE_KEY)
    run = np.cumsum(heads) - 1
    head_rows = lay.loc[heads, IMAGE_KEY] if len(lay) else lay[IMAGE_KEY]
    uniques, codes = {}, {}
    for c in IMAGE_KEY:
        col_codes, uniq = pd.factorize(pd.concat([img[c], head_rows[c]], ignore_index=True))
        uniques[c] = pd.Index(uniq)
        codes[c] = col_codes
    sizes = [max(len(uniques[c]), 1) for c in IMAGE_KEY]
    if float(np.prod(sizes, dtype=float)) >= 2.0 ** 62:
        raise ValueError(f"too many distinct keys to combine into one int64: {sizes}")
    combined = _combine(uniques, *(codes[c] for c in REPO_KEY))
    repo_id, repo_keys = pd.factorize(combined)
    first = pd.Series(np.arange(len(repo_id))).groupby(repo_id).first().to_numpy()
    repos = pd.DataFrame({c: pd.array(uniques[c].take(codes[c][first]), dtype="str") for c in REPO_KEY})
    key = repo_id.astype(np.int64) * len(uniques["image_digest"]) + codes["image_digest"]

    zeros_img = np.zeros(n, dtype=np.int64)
    images = pd.DataFrame({"account_id": repo_id[:n].astype(np.int64), "region": zeros_img,
                           "repository_name": zeros_img, "image_digest": codes["image_digest"][:n],
                           "_key": key[:n]})
    blob_codes, blob_uniq = pd.factorize(lay["blob_digest"])
    uniques["blob_digest"] = pd.Index(blob_uniq)
    zeros_lay = np.zeros(len(lay), dtype=np.int64)
    head_key = key[n:]
    layers = pd.DataFrame({"account_id": repo_id[n:].astype(np.int64)[run], "region": zeros_lay,
                           "repository_name": zeros_lay, "image_digest": codes["image_digest"][n:][run],
                           "blob_digest": blob_codes,
                           "size_bytes": lay["size_bytes"].fillna(0).to_numpy(dtype="int64")})
    # Row of each layer's image in inv.images (-1: a layer row of an image not in the inventory).
    layers["image_row"] = pd.Index(images["_key"].to_numpy()).get_indexer(head_key)[run]
    return Encoded(images, layers, repos, uniques, pd.Index(repo_keys))
