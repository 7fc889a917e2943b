"""Integer ids for repositories, images and blobs, computed once per Inventory.

At a million images, hashing the four string key columns (account_id, region,
repository_name, digest) for every join dominated every analysis. Here they are hashed once:
an image's id is its row position in `inv.images`, a repository's id its position in
`Keys.repos`; layers and manifest references get the image ids they name. Results are cached
on the Inventory (`inv.cached`), so every analysis of one Inventory shares them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import compact
from .compact import flat_tags
from .schema import IMAGE_KEY, REPO_KEY  # declared once in schema; other modules import them from here

# -- hashing digests fast -----------------------------------------------------------------------
# A canonical digest is `sha256:` + 64 lowercase hex characters; 64 of its bits hash as an
# integer far faster than the string. Every match found that way is then confirmed on the whole
# string, so the result is exact; anything else (other algorithms, hand-built frames) takes the
# string path.

_HEX = np.full(256, 255, np.uint8)
for i, ch in enumerate(b"0123456789abcdef"):
    _HEX[ch] = i
_PREFIX = np.frombuffer(b"sha256:", np.uint8)
_LEN = 71
_FILL = "sha256:" + "0" * 64


def _chunks(values) -> list:
    a = pa.array(values.array if isinstance(values, (pd.Series, pd.Index)) else values)
    return a.chunks if isinstance(a, pa.ChunkedArray) else [a]


def _records_chunk(a: pa.Array):
    """The n × 71 bytes of a chunk of canonical digests (a view of the Arrow buffer), else None."""
    n = len(a)
    if n == 0:
        return np.zeros((0, _LEN), np.uint8)
    if not (pa.types.is_string(a.type) or pa.types.is_large_string(a.type)):
        return None
    if a.null_count:
        a = a.fill_null(_FILL)
    bufs = a.buffers()
    off = np.frombuffer(bufs[1], np.int64 if pa.types.is_large_string(a.type) else np.int32)[
        a.offset : a.offset + n + 1
    ]
    if off[-1] - off[0] != _LEN * n or not np.all(np.diff(off) == _LEN):
        return None
    rec = np.frombuffer(bufs[2], np.uint8)[off[0] : off[-1]].reshape(n, _LEN)
    # Only the hashed 16 hex digits must parse: matches are confirmed on all 71 bytes.
    if not np.all(rec[:, :7] == _PREFIX) or np.any(_HEX[rec[:, 7:23]] == 255):
        return None
    return rec


def _records(values):
    """(n × 71 digest bytes, first 64 bits of each digest) when every non-null value is canonical
    (`sha256:` + 64 lowercase hex), else None. Nulls get an arbitrary value: callers mask them."""
    try:
        chunks = _chunks(values)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    recs = []
    for c in chunks:
        r = _records_chunk(c)
        if r is None:
            return None
        recs.append(r)
    rec = recs[0] if len(recs) == 1 else np.concatenate(recs) if recs else np.zeros((0, _LEN), np.uint8)
    nib = _HEX[rec[:, 7:23]]
    v = np.zeros(len(rec), np.uint64)
    for j in range(16):
        v = (v << np.uint64(4)) | nib[:, j]
    return rec, v


def _same(rec_a: np.ndarray, rec_b: np.ndarray) -> np.ndarray:
    """Row-wise equality of two equally long n × 71 byte arrays."""
    if not len(rec_a):
        return np.zeros(0, bool)
    return (rec_a == rec_b).all(axis=1)


@dataclass(frozen=True)
class _Fast:
    """The fast path's view of a set of unique digests: their 64-bit prefixes and bytes."""

    prefixes: pd.Index
    records: np.ndarray | None  # None when the caller did not ask for the uniques


def _factorize_digests(
    values: pd.Series, uniques: bool = True
) -> tuple[np.ndarray, pd.Index | None, _Fast | None]:
    """(code per row, -1 for null; unique values (None unless `uniques`) — or, on the string
    path, always; the fast path's prefixes and bytes of the uniques, or None)."""
    r = _records(values)
    if r is not None:
        rec, p = r
        keep = np.flatnonzero(values.notna().to_numpy())
        c, uniq = pd.factorize(p[keep])
        # Codes appear in increasing order: a row is a value's first when its code is new.
        new = np.r_[True, c[1:] > np.maximum.accumulate(c)[:-1]] if len(c) else np.zeros(0, bool)
        first = keep[new]
        codes = np.full(len(values), -1, np.int64)
        codes[keep] = c
        dup = ~new  # rows repeating a prefix: they must repeat the whole digest
        if not dup.any() or _same(rec[keep[dup]], rec[first[c[dup]]]).all():
            return (
                codes,
                pd.Index(values.iloc[first].array) if uniques else None,
                _Fast(pd.Index(uniq), rec[first] if uniques else None),
            )
    codes, uniq = pd.factorize(values)
    return codes.astype(np.int64), pd.Index(uniq), None


def _digest_codes(values, uniques: pd.Index, fast: _Fast | None) -> np.ndarray:
    """Position of each value in `uniques` (-1: absent or null)."""
    values = values if isinstance(values, pd.Series) else pd.Series(values)
    r = _records(values) if fast is not None else None
    if r is None:
        return uniques.get_indexer(values)
    rec, p = r
    code = fast.prefixes.get_indexer(p)
    code[values.isna().to_numpy()] = -1
    hit = np.flatnonzero(code >= 0)
    if len(hit):
        code[hit[~_same(rec[hit], fast.records[code[hit]])]] = -1
    return code


def _codes(values: pd.Series, uniques: pd.Index) -> np.ndarray:
    """Position of each value in the (small) `uniques` of a repository key column (-1: absent)."""
    if not len(values):
        return np.zeros(0, np.int64)
    try:
        found = pc.index_in(pa.chunked_array(_chunks(values)), value_set=pa.array(uniques.array))
    except (pa.ArrowException, TypeError, ValueError):
        return uniques.get_indexer(values)
    return np.asarray(found.fill_null(-1)).astype(np.int64)


@dataclass(frozen=True)
class Keys:
    """Repository and image ids of one Inventory (see `keys`)."""

    image_repo: np.ndarray  # repository id of each inv.images row
    repos: pd.DataFrame  # repository id (row position) → account_id, region, repository_name
    uniques: dict  # REPO_KEY column / "image_digest" → pd.Index of its values
    repo_index: pd.Index  # combined column codes → repository id
    image_index: pd.Index  # repository id × digest code → image row
    digest_fast: _Fast | None  # prefixes and bytes of uniques["image_digest"] (fast path)

    @property
    def n_repos(self) -> int:
        return len(self.repos)

    def repo_ids(self, frame: pd.DataFrame) -> np.ndarray:
        """Repository id of each row of `frame` (REPO_KEY columns); -1 for a repository without images."""
        if not len(frame):
            return np.zeros(0, np.int64)
        codes = [_codes(frame[c], self.uniques[c]) for c in REPO_KEY]
        ok = np.logical_and.reduce([c >= 0 for c in codes])
        out = np.full(len(frame), -1, np.int64)
        if ok.any():
            out[ok] = self.repo_index.get_indexer(_combine(self.uniques, *(c[ok] for c in codes)))
        return out

    def rows(
        self, frame: pd.DataFrame, digest="image_digest", repo_ids: np.ndarray | None = None
    ) -> np.ndarray:
        """Row in inv.images of the image each row of `frame` names (REPO_KEY + `digest`, a
        column name or a Series aligned with frame); -1 when absent or the digest is null."""
        if not len(frame):
            return np.zeros(0, np.int64)
        repo = self.repo_ids(frame) if repo_ids is None else repo_ids
        values = frame[digest] if isinstance(digest, str) else digest
        return self._image_rows(repo, self.digest_codes(values))

    def digest_codes(self, values) -> np.ndarray:
        """Position of each digest in uniques["image_digest"] (-1: no image has it, or null)."""
        return _digest_codes(values, self.uniques["image_digest"], self.digest_fast)

    def _image_rows(self, repo: np.ndarray, dig: np.ndarray) -> np.ndarray:
        ok = (repo >= 0) & (dig >= 0)
        out = np.full(len(repo), -1, np.int64)
        if ok.any():
            out[ok] = self.image_index.get_indexer(repo[ok] * len(self.uniques["image_digest"]) + dig[ok])
        return out


def _combine(uniques, acc, reg, repo) -> np.ndarray:
    return (acc.astype(np.int64) * len(uniques["region"]) + reg) * len(uniques["repository_name"]) + repo


def _compute_keys(inv) -> Keys:
    im = inv.images
    uniques, codes = {}, {}
    for c in REPO_KEY:
        col_codes, uniq = pd.factorize(im[c])
        uniques[c] = pd.Index(uniq)
        codes[c] = col_codes.astype(np.int64)
    codes["image_digest"], uniques["image_digest"], fast = _factorize_digests(im["image_digest"])
    sizes = [max(len(uniques[c]), 1) for c in IMAGE_KEY]
    if float(np.prod(sizes, dtype=float)) >= 2.0**62:
        raise ValueError(f"too many distinct keys to combine into one int64: {sizes}")
    repo_id, repo_keys = pd.factorize(_combine(uniques, *(codes[c] for c in REPO_KEY)))
    repo_id = repo_id.astype(np.int64)
    first = np.unique(repo_id, return_index=True)[1]  # first image row of each repository
    repos = pd.DataFrame({c: im[c].iloc[first].reset_index(drop=True) for c in REPO_KEY})
    dig = codes["image_digest"]
    # A null digest (hand-built frames) names nothing.
    image_key = np.where(
        dig >= 0, repo_id * max(len(uniques["image_digest"]), 1) + dig, -1 - np.arange(len(im))
    )
    return Keys(repo_id, repos, uniques, pd.Index(repo_keys), pd.Index(image_key), fast)


def keys(inv) -> Keys:
    """The Inventory's repository and image ids (computed once, cached on `inv`)."""
    return inv.cached("keys", lambda: _compute_keys(inv))


def _run_heads(frame: pd.DataFrame, cols) -> np.ndarray:
    """True where a row's key differs from the previous row's. Layers come grouped by image, so
    only one row per image needs hashing (correct in any order, just slower when unordered)."""
    change = np.zeros(len(frame), bool)
    if len(frame):
        change[0] = True
        for c in cols:
            col = frame[c].reset_index(drop=True)
            change[1:] |= (
                (col.iloc[1:].reset_index(drop=True) != col.iloc[:-1].reset_index(drop=True))
                .fillna(True)
                .to_numpy(dtype=bool)
            )
    return change


@dataclass(frozen=True)
class LayerKeys:
    """Per inv.layers row: the image row (-1: image not in inv.images), repository id (-1:
    repository without images), blob id, repository × blob id
    (`pair`, 0..n_pairs-1) and size (null → 0). Equal blob ids ⇔ equal blob digests."""

    image_row: np.ndarray
    repo: np.ndarray
    blob: np.ndarray
    pair: np.ndarray
    n_pairs: int
    size: np.ndarray


def _compute_layer_keys(inv) -> LayerKeys:
    k = keys(inv)
    lay = inv.layers
    image_row = compact.hint(inv.frames, compact.LAYER_IMAGE_ROWS)  # decoded from a compact snapshot
    if image_row is not None:
        repo = k.image_repo[image_row]
    elif len(lay):
        heads = _run_heads(lay, IMAGE_KEY)
        run = np.cumsum(heads) - 1
        head_rows = lay[IMAGE_KEY].loc[heads]
        head_repo = k.repo_ids(head_rows)
        image_row, repo = k.rows(head_rows, repo_ids=head_repo)[run], head_repo[run]
    else:
        image_row = repo = np.zeros(0, np.int64)
    blob = compact.hint(inv.frames, compact.LAYER_BLOBS)  # decoded from a compact snapshot
    if blob is not None:
        n_blobs = int(blob.max()) + 1 if len(blob) else 0
    else:
        blob, _uniq, fast = _factorize_digests(lay["blob_digest"], uniques=False)
        n_blobs = len(fast.prefixes) if fast is not None else len(_uniq)
        blob = np.where(blob >= 0, blob, n_blobs)  # a null blob digest is one more blob
    # Layers of repositories without images (repo -1) get pair ids of their own, never shared.
    pair, pair_uniq = pd.factorize(repo * (n_blobs + 1) + blob)
    return LayerKeys(
        image_row,
        repo,
        blob,
        pair.astype(np.int64),
        len(pair_uniq),
        lay["size_bytes"].fillna(0).to_numpy(dtype="int64"),
    )


def layer_keys(inv) -> LayerKeys:
    """Ids of every inv.layers row (computed once, cached on `inv`)."""
    return inv.cached("layer_keys", lambda: _compute_layer_keys(inv))


def tag_rows(inv) -> tuple[np.ndarray, pa.Array]:
    """`flat_tags` of inv.images["tags"]: image row and tag, one entry per image × tag (cached;
    a compact snapshot hands them over from the Parquet list column)."""

    def compute():
        inv.images  # noqa: B018 (loading it may leave the hint)
        hint = compact.hint(inv.frames, compact.TAG_ROWS)
        return hint if hint is not None else flat_tags(inv.images["tags"])

    return inv.cached("tag_rows", compute)


def _compute_reference_rows(inv) -> tuple[np.ndarray, np.ndarray]:
    inv.manifest_references  # noqa: B018 (loading it may leave the hint)
    rows = compact.hint(inv.frames, compact.REFERENCE_ROWS)
    if rows is not None:
        return rows
    k = keys(inv)
    ref = inv.manifest_references
    repo = k.repo_ids(ref)
    return k.rows(ref, "source_digest", repo), k.rows(ref, "target_digest", repo)


def reference_rows(inv) -> tuple[np.ndarray, np.ndarray]:
    """(source row, target row) in inv.images of each inv.manifest_references row (-1: not an
    image of the inventory). Computed once, cached on `inv`."""
    return inv.cached("reference_rows", lambda: _compute_reference_rows(inv))


def digest_rows(inv, digests: pd.Series, rows: np.ndarray) -> np.ndarray:
    """Row in inv.images of digest `digests[i]` in the repository of image row `rows[i]` (-1: absent)."""
    k = keys(inv)
    if not len(rows):
        return np.zeros(0, np.int64)
    return k._image_rows(k.image_repo[rows], k.digest_codes(digests))


# Columns of the integer-coded frames (`Coded`).
REPOSITORY_ID = "repository_id"  # row position in Keys.repos
IMAGE_ROW = "image_row"  # row position in inv.images (-1: the image is not listed)
BLOB_ID = "blob_id"  # equal ids ⇔ equal blob digests
PAIR = "pair"  # repository × blob id (0..n_pairs-1): one billed blob


@dataclass(frozen=True)
class Coded:
    """Integer-coded views for blob accounting (cost). `images` is row-aligned with inv.images
    (repository_id, image_row); `layers` is row-aligned with inv.layers (repository_id,
    image_row, blob_id, pair, size_bytes). Group by REPOSITORY_ID, then `decode` restores the
    repository's account_id, region and repository_name."""

    keys: Keys
    images: pd.DataFrame
    layers: pd.DataFrame
    n_pairs: int

    def decode(self, frame: pd.DataFrame) -> pd.DataFrame:
        """`frame` with its repository_id column replaced by the three REPO_KEY string columns."""
        ids = frame[REPOSITORY_ID].to_numpy(dtype=np.int64)
        out = frame.drop(columns=REPOSITORY_ID)
        strings = self.keys.repos.iloc[ids].reset_index(drop=True)
        strings.index = out.index
        return pd.concat([strings, out], axis=1)

    def rows(self, frame: pd.DataFrame) -> np.ndarray:
        """Row in inv.images of each image `frame` names (string IMAGE_KEY), -1 when unknown."""
        return self.keys.rows(frame)


def _compute_coded(inv) -> Coded:
    k, lk = keys(inv), layer_keys(inv)
    images = pd.DataFrame(
        {REPOSITORY_ID: k.image_repo, IMAGE_ROW: np.arange(len(inv.images), dtype=np.int64)}
    )
    layers = pd.DataFrame(
        {
            REPOSITORY_ID: lk.repo,
            IMAGE_ROW: lk.image_row,
            BLOB_ID: lk.blob,
            "size_bytes": lk.size,
            PAIR: lk.pair,
        }
    )
    return Coded(k, images, layers, lk.n_pairs)


def coded(inv) -> Coded:
    """The Inventory's integer-coded images and layers (computed once, cached on `inv`; do not mutate)."""
    return inv.cached("coded", lambda: _compute_coded(inv))
