"""Snapshots on disk: one Parquet file per frame plus manifest.json, written atomically.

Layout of a snapshot directory:
    manifest.json       schema_version, tool_version, meta (provenance), per-frame file, rows, sha256
    <frame>.parquet     one per frame in schema.FRAMES

Atomicity: everything is written into a hidden sibling directory, fsynced, manifest.json last,
then renamed into place. A crash at any point leaves either the previous snapshot or nothing
that loads (a directory without manifest.json is not a snapshot). Checksums in manifest.json
catch truncated or altered Parquet files.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import __version__, schema
from .inventory import Inventory

MANIFEST = "manifest.json"


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
    pq.write_table(table, path, compression="zstd")
    with open(path, "rb") as f:
        os.fsync(f.fileno())


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
        for name, df in inv.frames.items():
            fname = f"{name}.parquet"
            _write_frame(df, tmp / fname)
            files[name] = {"file": fname, "rows": len(df), "sha256": _sha256(tmp / fname)}
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
    if version != schema.SCHEMA_VERSION:
        raise SnapshotError(
            f"{mpath}: schema version {version!r} is not supported by ecr-audit {__version__} "
            f"(it reads version {schema.SCHEMA_VERSION})")
    return manifest


def load(path, verify: bool = True) -> Inventory:
    """Load the snapshot at `path`. Raises SnapshotError naming the bad file on any problem."""
    path = Path(path)
    manifest = read_manifest(path)
    frames = {}
    for name in schema.FRAMES:
        entry = manifest["frames"].get(name)
        if entry is None:
            raise SnapshotError(f"{path / MANIFEST}: frame {name!r} is not listed")
        fpath = path / str(entry.get("file", ""))
        if fpath.parent != path or not fpath.is_file():
            raise SnapshotError(f"{fpath}: missing frame file {name!r}")
        if fpath.resolve().parent != path.resolve():  # a symlink (tampering) pointing elsewhere
            raise SnapshotError(f"{fpath}: frame file {name!r} resolves outside the snapshot directory")
        if verify and _sha256(fpath) != entry.get("sha256"):
            raise SnapshotError(f"{fpath}: checksum mismatch (truncated or modified since it was written)")
        try:
            df = pq.read_table(fpath).to_pandas()
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SnapshotError(f"{fpath}: not a readable Parquet file ({e})") from None
        if len(df) != entry.get("rows"):
            raise SnapshotError(f"{fpath}: has {len(df)} rows, manifest says {entry.get('rows')}")
        try:
            frames[name] = schema.conform(name, df)
        except (ValueError, TypeError) as e:
            raise SnapshotError(f"{fpath}: does not match the schema of {name!r} ({e})") from None
    # The frames were conformed above, file by file (so errors name the file): build the
    # Inventory without conforming every frame a second time (seconds at a million images).
    return Inventory.from_conformed(frames, manifest.get("meta") or {})
