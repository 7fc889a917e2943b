"""Snapshots on disk: one Parquet file per frame plus manifest.json, written atomically.

Layout of a snapshot directory:
    manifest.json       schema_version, tool_version, meta (provenance), per-frame file, rows, sha256
    <frame>.parquet     one per frame in schema.FRAMES

Compact frames (schema version 2): layers, manifest_references and image_tags name their
image by its row in images.parquet (compact.py); manifest.json marks such a frame
`"encoding": "compact"`. A frame that does not fit is written in full, as in version 1.
Version 1 snapshots load unchanged.

Loading is lazy: manifest.json, every file's checksum and Parquet metadata are checked up
front; a frame is read and conformed when first used, so a report page that needs only the
policies never reads the million-row frames.

Atomicity: everything is written into a hidden sibling directory, fsynced, manifest.json last,
then renamed into place. A crash at any point leaves either the previous snapshot or nothing
that loads (a directory without manifest.json is not a snapshot). Checksums in manifest.json
catch truncated or altered Parquet files.
"""
from __future__ import annotations

import gc
import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import compact, keys, schema
from ._version import __version__
from .inventory import Frames, Inventory

MANIFEST = "manifest.json"
READS = (1, schema.SCHEMA_VERSION)      # schema versions this release loads


class SnapshotError(Exception):
    """A snapshot cannot be loaded or written; the message names the file and the reason."""


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    rows = [c for c in compact.DELTA_CODED if c in table.column_names]
    extra = {"use_dictionary": [c for c in table.column_names if c not in rows],
             "column_encoding": dict.fromkeys(rows, "DELTA_BINARY_PACKED")} if rows else {}
    pq.write_table(table, path, compression="zstd", **extra)
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _compact(inv: Inventory, name: str) -> pd.DataFrame:
    """Frame `name` as written to disk: its compact form when it has one and fits, else itself."""
    df = inv.frames[name]
    if not len(df) or name not in compact.STORED:
        return df
    if name == "image_tags":
        out = compact.encode_tags(df, inv.images)
    elif not keys.keys(inv).image_index.is_unique:
        out = None          # two images with one key: a row number would not say which
    elif name == "layers":
        lk = keys.layer_keys(inv)
        out = compact.encode_layers(df, lk.image_row, lk.blob)
    else:
        out = compact.encode_references(df, *keys.reference_rows(inv))
    return df if out is None else out


def check_writable(path) -> Path:
    """Raise SnapshotError unless a snapshot can be written at `path` (call before long work).

    Creates the parent directory if needed; never touches `path` itself."""
    path = Path(path)
    for parent in [path.parent, *path.parent.parents]:
        if parent.exists():
            if not parent.is_dir():
                raise SnapshotError(f"{parent}: is a file, so {path} cannot be created")
            break
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise SnapshotError(f"{path.parent}: cannot create directory ({e.strerror})") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise SnapshotError(f"{path.parent}: not writable")
    if path.exists() and not path.is_dir():
        raise SnapshotError(f"{path}: exists and is a file, not a snapshot directory")
    if path.exists() and not (path / MANIFEST).is_file() and any(path.iterdir()):
        raise SnapshotError(f"{path}: exists and is not a snapshot; refusing to overwrite it")
    return path


def save(inv: Inventory, path) -> Path:
    """Write `inv` to directory `path` atomically; replaces an existing snapshot there."""
    path = check_writable(path)
    tmp = path.parent / f".{path.name}.tmp-{uuid.uuid4().hex[:8]}"
    try:
        tmp.mkdir()
        files = {}
        for name in schema.FRAMES:
            fname = f"{name}.parquet"
            df = inv.frames[name]
            stored = _compact(inv, name)
            _write_frame(stored, tmp / fname)
            files[name] = {"file": fname, "rows": len(df), "sha256": _sha256(tmp / fname)}
            if stored is not df:
                files[name]["encoding"] = "compact"
        manifest = {
            "schema_version": schema.SCHEMA_VERSION,
            "tool_version": __version__,
            "meta": inv.meta,
            "frames": files,
        }
        with open(tmp / MANIFEST, "w") as f:
            json.dump(manifest, f, indent=2, sort_keys=True, default=str)
            f.flush()
            os.fsync(f.fileno())
        _fsync_dir(tmp)
        if path.exists():
            old = path.parent / f".{path.name}.old-{uuid.uuid4().hex[:8]}"
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
        _fsync_dir(path.parent)
    except OSError as e:
        shutil.rmtree(tmp, ignore_errors=True)
        raise SnapshotError(f"{path}: cannot write snapshot ({e.strerror or e})") from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def read_manifest(path) -> dict:
    """Read and check manifest.json of snapshot `path`."""
    path = Path(path)
    mpath = path / MANIFEST
    if not path.exists():
        raise SnapshotError(f"{path}: no such snapshot directory")
    if not mpath.is_file():
        raise SnapshotError(f"{mpath}: missing; {path} is not a complete snapshot")
    try:
        manifest = json.loads(mpath.read_text())
    except (OSError, ValueError) as e:
        raise SnapshotError(f"{mpath}: unreadable or not JSON ({e})") from None
    if not isinstance(manifest, dict) or not isinstance(manifest.get("frames"), dict):
        raise SnapshotError(f"{mpath}: not an ecr-audit snapshot manifest")
    version = manifest.get("schema_version")
    if version not in READS:
        raise SnapshotError(
            f"{mpath}: schema version {version!r} is not supported by ecr-audit {__version__} "
            f"(it reads versions {', '.join(map(str, READS))})")
    return manifest


def _prefer_jemalloc() -> None:
    """Use Arrow's jemalloc pool unless ARROW_DEFAULT_MEMORY_POOL chooses one.

    Measured on the 1M-image benchmark (Linux VM, transparent huge pages on madvise): reading
    layers spent 1.8 s in the kernel faulting in pages under the default mimalloc pool and
    0.5 s under jemalloc (whole load 4.0-4.5 s -> 2.7-3.0 s, peak RSS 0.2 GiB lower)."""
    if os.environ.get("ARROW_DEFAULT_MEMORY_POOL") or pa.default_memory_pool().backend_name == "jemalloc":
        return
    try:
        pa.set_memory_pool(pa.jemalloc_memory_pool())
    except (NotImplementedError, pa.ArrowException):   # a build without jemalloc: keep the default
        pass


def load(path, verify: bool = True) -> Inventory:
    """Load the snapshot at `path`. Raises SnapshotError naming the bad file on any problem.

    Files are checked now (present, inside the directory, checksum, Parquet metadata, row
    count); each frame is read on first use. A frame that then fails to conform raises
    SnapshotError naming its file."""
    path = Path(path)
    manifest = read_manifest(path)
    _prefer_jemalloc()
    files, rows = {}, {}
    for name in schema.FRAMES:
        entry = manifest["frames"].get(name)
        if not isinstance(entry, dict):
            raise SnapshotError(f"{path / MANIFEST}: frame {name!r} is not listed")
        fpath = path / str(entry.get("file", ""))
        if fpath.parent != path or not fpath.is_file():
            raise SnapshotError(f"{fpath}: missing frame file {name!r}")
        if fpath.resolve().parent != path.resolve():  # a symlink (tampering) pointing elsewhere
            raise SnapshotError(f"{fpath}: frame file {name!r} resolves outside the snapshot directory")
        if verify and _sha256(fpath) != entry.get("sha256"):
            raise SnapshotError(f"{fpath}: checksum mismatch (truncated or modified since it was written)")
        try:
            stored = pq.read_metadata(fpath).num_rows
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SnapshotError(f"{fpath}: not a readable Parquet file ({e})") from None
        expected, compact_encoded = entry.get("rows"), entry.get("encoding") == "compact"
        if stored != expected and not (compact_encoded and name == "image_tags"):   # not written: derived
            raise SnapshotError(f"{fpath}: has {stored} rows, manifest says {expected}")
        files[name], rows[name] = (fpath, compact_encoded, _identity(os.stat(fpath))), expected
    frames = Frames(rows=rows)
    for name, (fpath, compact_encoded, identity) in files.items():
        frames.lazy(name, _loader(name, fpath, frames, compact_encoded, identity))
    return Inventory.from_conformed(frames, manifest.get("meta") or {})


def _str_lists(table: pa.Table, name: str, hints: dict) -> dict[str, list]:
    """The frame's list<string> columns without nulls as Python lists, built from the Arrow
    offsets (to_pandas makes a numpy array per cell, which conform then converts: seconds at a
    million images). Columns that are anything else are left to conform."""
    out = {}
    for col in schema.FRAMES[name].columns:
        if col.dtype != schema.LIST or col.name not in table.column_names:
            continue
        arr = table[col.name].combine_chunks()
        if not (pa.types.is_list(arr.type) and pa.types.is_string(arr.type.value_type)):
            continue
        if arr.null_count or arr.flatten().null_count:
            continue
        flat = arr.flatten()
        off = arr.offsets.to_numpy()
        values = flat.to_pylist()
        off = (off - off[0]).tolist()
        # A million new lists would trigger the cyclic GC hundreds of times (0.9 s → 0.1 s).
        enabled = gc.isenabled()
        gc.disable()
        try:
            out[col.name] = [values[a:b] for a, b in zip(off[:-1], off[1:])]
        finally:
            if enabled:
                gc.enable()
        if (name, col.name) == ("images", "tags"):          # keys.tag_rows takes them from here
            hints[compact.TAG_ROWS] = (np.asarray(pc.list_parent_indices(arr), dtype=np.int64), flat)
    return out


def _identity(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _loader(name: str, fpath: Path, frames: Frames, compact_encoded: bool, identity: tuple):
    def load_frame() -> pd.DataFrame:
        # The file must still be the one checked at load(): a snapshot saved again at the same
        # path in between (a new collection) must not be mixed into this one. Checked before and
        # after reading (by path: pyarrow reads a path natively, far faster than a Python file).
        def check():
            try:
                now = _identity(os.stat(fpath))
            except OSError as e:
                raise SnapshotError(f"{fpath}: gone since the snapshot was loaded ({e.strerror}); load it again") from None
            if now != identity:
                raise SnapshotError(f"{fpath}: replaced or changed since the snapshot was loaded; load it again")
        check()
        try:
            table = pq.read_table(fpath)
            lists = _str_lists(table, name, frames.hints)
            df = table.drop_columns(list(lists)).to_pandas()
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SnapshotError(f"{fpath}: not a readable Parquet file ({e})") from None
        check()
        for col, values in lists.items():
            df[col] = pd.Series(values, index=df.index, dtype=object)
        try:
            df = schema.conform(name, compact.decode(name, df, frames) if compact_encoded else df,
                                ready=lists)
        except (ValueError, TypeError, KeyError) as e:
            raise SnapshotError(f"{fpath}: does not match the schema of {name!r} ({e})") from None
        if len(df) != frames.rows(name):
            raise SnapshotError(f"{fpath}: has {len(df)} rows, manifest says {frames.rows(name)}")
        return df
    return load_frame
