"""The compact on-disk form of the big frames (snapshot schema version 2) and the row ids it
hands over to `keys`.

The big frames repeat the key of an image on every row; on disk they name it by its row in
images.parquet instead, and image_tags (a copy of images.tags) is not written at all:
    layers                image_row, blob_first (the first row with the same blob, the only one
                          whose blob_digest is written) + the other layer columns
    manifest_references   source_row, target_row (null: no such image; then target_digest is
                          written) + the other edge columns
    image_tags            written empty; rebuilt from images.tags
`encode_*` return the stored frame, or None when the frame does not fit (a row naming an image
the snapshot lacks, tags that differ from images.tags): it is then written in full.
`decode` is the inverse. It leaves the row ids it decoded in `frames.hints` under the names
below, so that `keys` need not find them again (`hint`).
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pyarrow as pa

from . import reuse, schema
from .schema import IMAGE_KEY, REPO_KEY

# Hints: row ids a decoded frame hands to keys.py (Frames.hints[name]).
TAG_ROWS = "images.tags"  # (image row, tag) per image × tag, as `flat_tags` returns
LAYER_IMAGE_ROWS = "layers.image_row"  # image row of each layers row
LAYER_BLOBS = "layers.blob"  # blob id of each layers row: equal ids ⇔ equal digests
REFERENCE_ROWS = "manifest_references.rows"  # (source row, target row or -1) of each edge

# Columns of the stored form.
IMAGE_ROW, BLOB_FIRST, SOURCE_ROW, TARGET_ROW = "image_row", "blob_first", "source_row", "target_row"
# Frame → (declared columns not written, pointer columns written instead).
STORED = {
    "layers": (tuple(IMAGE_KEY), (IMAGE_ROW, BLOB_FIRST)),
    "manifest_references": (tuple(REPO_KEY + ["source_digest"]), (SOURCE_ROW, TARGET_ROW)),
    "image_tags": ((), ()),
}
# Pointer columns whose value is a row of images.parquet (the others point into their own frame).
IMAGE_POINTERS = (IMAGE_ROW, SOURCE_ROW, TARGET_ROW)
# Mostly ascending: delta encoding stores them in a few bits.
DELTA_CODED = (IMAGE_ROW, BLOB_FIRST, SOURCE_ROW)


def hint(frames, name: str):
    """The row ids a decoded compact frame left under `name` (see the constants), or None."""
    reuse.frame_read(frames, name.split(".")[0])  # a hint is derived from the frame it is named for
    return getattr(frames, "hints", {}).get(name)


def flat_tags(tags: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(row of each tag, the tags as an Arrow string array) for a Series of tag lists, in row order."""
    lens = np.fromiter(map(len, tags), np.int64, len(tags))
    return (
        np.repeat(np.arange(len(tags)), lens),
        pa.array(list(itertools.chain.from_iterable(tags)), pa.string()),
    )


def tags_from_images(images: pd.DataFrame, flat=None) -> pd.DataFrame:
    """image_tags as the collector builds it: one row per image × tag, in image order.
    `flat`: `flat_tags(images["tags"])` when already known."""
    rows, tags = flat if flat is not None else flat_tags(images["tags"])
    out = images[IMAGE_KEY].take(rows).reset_index(drop=True)
    out["tag"] = pd.Series(pd.arrays.ArrowStringArray(tags) if len(tags) else [], dtype=schema.STR)
    return schema.conform("image_tags", out)


# -- encoding ----------------------------------------------------------------------------------


def encode_tags(image_tags: pd.DataFrame, images: pd.DataFrame) -> pd.DataFrame | None:
    """Nothing (an empty frame) when image_tags is exactly what images.tags rebuilds."""
    rebuilt = tags_from_images(images)
    same = len(image_tags) == len(rebuilt) and image_tags.reset_index(drop=True).equals(
        rebuilt.reset_index(drop=True)
    )
    return image_tags.iloc[:0] if same else None


def encode_layers(layers: pd.DataFrame, image_row: np.ndarray, blob: np.ndarray) -> pd.DataFrame | None:
    """layers by image row and first row of each blob (`image_row`, `blob`: `keys.layer_keys`)."""
    if (image_row < 0).any() or layers["blob_digest"].isna().any():
        return None
    # Each blob's digest is written once, on its first row; later rows point to that row.
    _, first = np.unique(blob, return_index=True)
    blob_first = first[blob]
    out = layers.drop(columns=IMAGE_KEY).reset_index(drop=True)
    out["blob_digest"] = out["blob_digest"].where(blob_first == np.arange(len(out)), None)
    out.insert(0, IMAGE_ROW, image_row.astype(np.int32))
    out.insert(1, BLOB_FIRST, blob_first.astype(np.int32))
    return out


def encode_references(refs: pd.DataFrame, source: np.ndarray, target: np.ndarray) -> pd.DataFrame | None:
    """manifest_references by source and target image row (`keys.reference_rows`)."""
    if (source < 0).any():
        return None
    out = refs.drop(columns=list(STORED["manifest_references"][0])).reset_index(drop=True)
    out["target_digest"] = out["target_digest"].where(target < 0, None)
    out.insert(0, SOURCE_ROW, source.astype(np.int32))
    out.insert(1, TARGET_ROW, pd.array(np.where(target >= 0, target, 0), dtype="Int32").copy())
    out.loc[target < 0, TARGET_ROW] = pd.NA
    return out


# -- decoding ----------------------------------------------------------------------------------


def decode(name: str, df: pd.DataFrame, frames) -> pd.DataFrame:
    """The in-memory form of compact frame `name` read from disk (`frames`: the snapshot's
    Frames, whose images it decodes against). Raises ValueError on a pointer that is out of
    range or names a row without the value it should carry."""
    if name not in STORED:
        return df
    images = frames["images"]
    if name == "image_tags":
        return tags_from_images(images, hint(frames, TAG_ROWS))
    if name == "layers":
        rows = df.pop(IMAGE_ROW).to_numpy(dtype=np.int64)
        keys = _take(images, IMAGE_KEY, rows, name)
        frames.hints[LAYER_IMAGE_ROWS] = rows
        if BLOB_FIRST not in df.columns:  # written before blob_first existed: digests in full
            return pd.concat([keys, df], axis=1)
        first = df.pop(BLOB_FIRST).to_numpy(dtype=np.int64)
        is_first = first == np.arange(len(first))
        if len(first) and (
            (first < 0).any()
            or (first > np.arange(len(first))).any()
            or not is_first[first].all()
            or df["blob_digest"][is_first].isna().any()
        ):
            raise ValueError(f"{BLOB_FIRST} must name an earlier row that carries the blob digest")
        df["blob_digest"] = df["blob_digest"].take(first).reset_index(drop=True)
        frames.hints[LAYER_BLOBS] = (np.cumsum(is_first) - 1)[first]
        return pd.concat([keys, df], axis=1)
    src = df.pop(SOURCE_ROW).to_numpy(dtype=np.int64)  # manifest_references
    dst = df.pop(TARGET_ROW).fillna(-1).to_numpy(dtype=np.int64)
    keys = _take(images, IMAGE_KEY, src, name).rename(columns={"image_digest": "source_digest"})
    target = _take(images, ["image_digest"], np.where(dst >= 0, dst, 0))["image_digest"]
    df["target_digest"] = target.where(dst >= 0, df["target_digest"])
    frames.hints[REFERENCE_ROWS] = (src, dst)
    return pd.concat([keys, df], axis=1)


def _take(images: pd.DataFrame, columns, rows: np.ndarray, name: str = "") -> pd.DataFrame:
    """images[columns] at `rows`; columns that frame `name` declares categorical are encoded on
    the images side first, so the take moves integer codes rather than strings."""
    n = len(images)
    if len(rows) and (rows.min() < 0 or rows.max() >= n):
        raise ValueError(f"an image row is outside images.parquet (0..{n - 1})")
    cat = {c.name for c in schema.FRAMES[name].columns if c.dtype == schema.CAT} if name else set()
    return pd.DataFrame(
        {
            c: (images[c].astype(schema.CAT) if c in cat else images[c]).take(rows).reset_index(drop=True)
            for c in columns
        }
    )
