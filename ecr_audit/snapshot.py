"""Snapshots on disk: one Parquet file per frame plus manifest.json.

Layout of a snapshot directory:
    manifest.json       format ("ecr-audit-snapshot"), schema_version, tool_version, meta
                        (provenance), and per frame: file, rows, sha256 (and "encoding": "compact")
    <frame>.parquet     one per frame in schema.FRAMES
Schema version 2 stores layers, manifest_references and image_tags compactly (compact.py);
version 3 renamed columns (`schema.RENAMED`). Snapshots of every earlier version load: their
column names are mapped to today's, and a frame added after their version (`Frame.since`) loads
as an empty frame.

Saving (`save`):
  - replaces only a directory that is provably an ecr-audit snapshot (`snapshot_checks.
    foreign_reason`), never a symbolic link; `check_writable` says so before long work;
  - writes into a hidden sibling, fsyncs every file, manifest.json last, then swaps it into
    place atomically (`atomic_dir`); an interrupted swap is finished by the next save or load,
    and siblings left by dead writers are removed;
  - never loses the data: when the snapshot cannot be written or put in place, it is written
    to `<path>.unsaved-<time>` beside it or to the temp directory, and the error names it.
Files and directories are created under the process umask (the CLI sets 077: owner only).

Loading (`load`) is lazy: manifest.json (types and bounds, `meta` included), every file's
checksum and Parquet footer are checked up front (`snapshot_checks`); a frame is read and
conformed when first used, so a report page that needs only the policies never reads the
million-row frames.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import atomic_dir, compact, keys, schema
from . import snapshot_checks as checks
from ._version import __version__
from .inventory import Frames, Inventory
from .snapshot_checks import FORMAT, MANIFEST, foreign_reason, sha256

READS = tuple(range(1, schema.SCHEMA_VERSION + 1))  # schema versions this release loads
_FRAME_FILES = {f"{name}.parquet" for name in schema.FRAMES}


class SnapshotError(Exception):
    """A snapshot cannot be loaded or written; the message names the file and the reason."""


def _write_frame(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    rows = [c for c in compact.DELTA_CODED if c in table.column_names]
    extra = (
        {
            "use_dictionary": [c for c in table.column_names if c not in rows],
            "column_encoding": dict.fromkeys(rows, "DELTA_BINARY_PACKED"),
        }
        if rows
        else {}
    )
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
        out = None  # two images with one key: a row number would not say which
    elif name == "layers":
        lk = keys.layer_keys(inv)
        out = compact.encode_layers(df, lk.image_row, lk.blob)
    else:
        out = compact.encode_references(df, *keys.reference_rows(inv))
    return df if out is None else out


def _write(inv: Inventory, directory: Path) -> None:
    """Every frame and manifest.json (last) into the existing empty `directory`, fsynced."""
    files = {}
    for name in schema.FRAMES:
        fname = f"{name}.parquet"
        df = inv.frames[name]
        stored = _compact(inv, name)
        _write_frame(stored, directory / fname)
        files[name] = {"file": fname, "rows": len(df), "sha256": sha256(directory / fname)}
        if stored is not df:
            files[name]["encoding"] = "compact"
    manifest = {
        "format": FORMAT,
        "schema_version": schema.SCHEMA_VERSION,
        "tool_version": __version__,
        "meta": inv.meta,
        "frames": files,
    }
    with open(directory / MANIFEST, "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=True, default=str)
        f.flush()
        os.fsync(f.fileno())
    atomic_dir.fsync_dir(directory)


# -- where a snapshot may be written ---------------------------------------------------------


def check_writable(path) -> Path:
    """Raise SnapshotError unless a snapshot can be written at `path` (call before long work):
    not a symbolic link, no file or dangling link on the way, a writable parent, and nothing
    there but an ecr-audit snapshot (replaced) or an empty directory.

    Creates the parent directory if needed; never changes `path` itself."""
    path = Path(path)
    try:
        cwd = Path.cwd()
    except OSError:
        cwd = None
    absolute = Path(os.path.abspath(path))
    if cwd is not None and (absolute == cwd or absolute in cwd.parents):
        raise SnapshotError(
            f"{path}: is the current directory or contains it; give the path of a "
            "snapshot directory, e.g. snapshots/today"
        )
    if path.is_symlink():
        try:
            target = f"pointing to {path.resolve(strict=True)}; give that directory itself"
        except (OSError, RuntimeError):
            target = "dangling or a loop"
        raise SnapshotError(
            f"{path}: is a symbolic link ({target}); a snapshot is written only to a real directory path"
        )
    for parent in [path.parent, *path.parent.parents]:
        if parent.is_symlink() and not parent.exists():
            raise SnapshotError(
                f"{parent}: is a symbolic link that leads nowhere (dangling or a loop), "
                f"so {path} cannot be created"
            )
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
    if path.exists():
        if not path.is_dir():
            raise SnapshotError(f"{path}: exists and is a file, not a snapshot directory")
        reason = foreign_reason(path, READS)
        if reason:
            raise SnapshotError(
                f"{path}: exists and is not a snapshot written by ecr-audit ({reason}); "
                "nothing was changed. Choose another output directory, or move this "
                "one away if you mean to replace it"
            )
    probe = atomic_dir.temp_sibling(path)
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        raise SnapshotError(f"{path.parent}: cannot create a directory there ({e.strerror})") from None
    return path


def _is_complete(directory: Path) -> bool:
    """A complete ecr-audit snapshot (its manifest is written last)."""
    return (directory / MANIFEST).is_file() and foreign_reason(directory, READS) is None


def _is_leftover(directory: Path) -> bool:
    """Written by `save` and nothing else: a complete snapshot, or frame files without manifest."""
    names = os.listdir(directory)
    if MANIFEST in names:
        return foreign_reason(directory, READS) is None
    return all(
        n in _FRAME_FILES and (directory / n).is_file() and not (directory / n).is_symlink() for n in names
    )


def _rescue(inv: Inventory, path: Path) -> Path | None:
    """Write `inv` somewhere new when it cannot go to `path`: beside it, else the temp directory."""
    stamp = time.strftime("%Y%m%dT%H%M%S")
    for where in (
        path.parent / f"{path.name}.unsaved-{stamp}",
        Path(tempfile.gettempdir()) / f"ecr-audit-unsaved-{stamp}-{os.getpid()}",
    ):
        try:
            where.mkdir()
        except OSError:
            continue
        try:
            _write(inv, where)
            return where
        except OSError:
            atomic_dir.remove(where)
    return None


def _saved_instead(problem: str, where: Path) -> SnapshotError:
    return SnapshotError(
        f"{problem}; the data was saved to {where} instead (a complete snapshot: load or move it from there)"
    )


def _unsaved(inv: Inventory, path: Path, problem: str) -> SnapshotError:
    where = _rescue(inv, path)
    if where is None:
        return SnapshotError(
            f"{problem}; the data could not be written anywhere else either "
            f"(tried beside {path} and in {tempfile.gettempdir()})"
        )
    return _saved_instead(problem, where)


def save(inv: Inventory, path) -> Path:
    """Write `inv` to directory `path` atomically, replacing the ecr-audit snapshot there if any
    (see the module docstring). Raises SnapshotError when it cannot; the data is then written
    elsewhere and the message says where."""
    try:
        path = check_writable(path)
    except SnapshotError as e:
        raise _unsaved(inv, Path(path), str(e)) from None
    with atomic_dir.locked(path.parent):
        try:
            atomic_dir.recover(path, _is_complete)
        except OSError:
            pass  # the replacement below puts a complete snapshot there anyway
        atomic_dir.sweep(path, _is_leftover)
    tmp = atomic_dir.temp_sibling(path)
    try:
        tmp.mkdir()
        _write(inv, tmp)
    except OSError as e:
        atomic_dir.remove(tmp)
        raise _unsaved(inv, path, f"{path}: cannot write snapshot ({e.strerror or e})") from None
    except BaseException:
        atomic_dir.remove(tmp)
        raise
    with atomic_dir.locked(path.parent):
        # The directory may have changed since check_writable: it is checked again under the lock.
        problem = None
        if path.is_symlink() or (path.exists() and (not path.is_dir() or foreign_reason(path, READS))):
            problem = f"{path}: changed while the snapshot was written; it is no longer an ecr-audit snapshot"
        else:
            try:
                atomic_dir.replace(tmp, path)
            except OSError as e:
                problem = f"{path}: cannot put the snapshot in place ({e.strerror or e})"
        if problem:
            keep = path.parent / f"{path.name}.unsaved-{time.strftime('%Y%m%dT%H%M%S')}"
            try:
                os.rename(tmp, keep)
            except OSError:
                keep = tmp
            raise _saved_instead(problem, keep)
    return path


# -- loading ---------------------------------------------------------------------------------


def _recover_for_load(path: Path) -> None:
    """Finish a save that stopped between its two renames (nothing at `path`)."""
    if os.path.lexists(path) or not path.parent.is_dir():
        return
    try:
        with atomic_dir.locked(path.parent):
            atomic_dir.recover(path, _is_complete)
    except OSError as e:
        try:
            found = atomic_dir.interrupted(path, _is_complete)
        except OSError:
            found = None
        if found is not None:
            raise SnapshotError(
                f"{path}: a save was interrupted; the snapshot is complete at {found}: "
                f"rename it to {path.name} ({e.strerror})"
            ) from None


def read_manifest(path) -> dict:
    """Read and check manifest.json of snapshot `path` (sizes, types and bounds, `meta` included)."""
    path = Path(path)
    mpath = path / MANIFEST
    if not path.exists():
        raise SnapshotError(f"{path}: no such snapshot directory")
    if not mpath.is_file():
        raise SnapshotError(f"{mpath}: missing; {path} is not a complete snapshot")
    try:
        with open(mpath, "rb") as f:
            raw = f.read(checks.MANIFEST_MAX_BYTES + 1)
    except OSError as e:
        raise SnapshotError(f"{mpath}: unreadable ({e.strerror})") from None
    manifest, problem = checks.read_manifest_bytes(raw)
    problem = problem or checks.manifest_problem(manifest, READS) or checks.meta_problem(manifest.get("meta"))
    if problem:
        raise SnapshotError(f"{mpath}: {problem}")
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
    except (NotImplementedError, pa.ArrowException):  # a build without jemalloc: keep the default
        pass


def load(path, verify: bool = True) -> Inventory:
    """Load the snapshot at `path`. Raises SnapshotError naming the bad file on any problem.

    Checked now: manifest.json, and per file its presence inside the directory, checksum and
    Parquet footer (`snapshot_checks.parquet_problem`). Each frame is read on first use; a
    frame that then fails to decode or conform raises SnapshotError naming its file."""
    path = Path(path)
    _recover_for_load(path)
    manifest = read_manifest(path)
    _prefer_jemalloc()
    version = manifest["schema_version"]
    entries = manifest["frames"]
    n_images = entries["images"]["rows"] if isinstance(entries.get("images"), dict) else None
    memory = checks.machine_memory()
    files, rows, added = {}, {}, []
    for name, frame in schema.FRAMES.items():
        entry = entries.get(name)
        if entry is None and frame.since > version:  # a frame added after this snapshot's version
            added.append(name)
            rows[name] = 0
            continue
        if not isinstance(entry, dict):
            raise SnapshotError(f"{path / MANIFEST}: frame {name!r} is not listed")
        fpath = path / entry["file"]
        if not fpath.is_file():
            raise SnapshotError(f"{fpath}: missing frame file {name!r}")
        if fpath.resolve().parent != path.resolve():  # a symlink (tampering) pointing elsewhere
            raise SnapshotError(f"{fpath}: frame file {name!r} resolves outside the snapshot directory")
        if verify and sha256(fpath) != entry["sha256"]:
            raise SnapshotError(f"{fpath}: checksum mismatch (truncated or modified since it was written)")
        compact_encoded = entry.get("encoding") == "compact"
        try:
            with pq.ParquetFile(fpath) as pf:
                problem = checks.parquet_problem(
                    name, pf, entry["rows"], compact_encoded, n_images, memory, version
                )
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SnapshotError(f"{fpath}: not a readable Parquet file ({e})") from None
        if problem:
            raise SnapshotError(f"{fpath}: {problem}")
        files[name], rows[name] = (fpath, compact_encoded, _identity(os.stat(fpath))), entry["rows"]
    frames = Frames(rows=rows, content_ids=_content_ids(entries, files, added, version))
    for name, (fpath, compact_encoded, identity) in files.items():
        frames.lazy(
            name, _loader(name, fpath, frames, compact_encoded, identity, schema.renames(name, version))
        )
    for name in added:
        frames.lazy(name, functools.partial(schema.empty, name))
    return Inventory.from_conformed(frames, manifest.get("meta") or {})


def _content_ids(entries: dict, files: dict, added: list, version) -> dict[str, str]:
    """Frame name → what its content is (`Frames.content_id`): the schema version (which decides
    renames and casts) and the manifest's checksum of its file; a compact frame is decoded against
    the images, so theirs is part of it. Trusted as the manifest is: `load(verify=False)` does not
    recompute checksums."""
    ids = {name: f"v{version}:{entries[name].get('sha256', '')}" for name in files}
    ids.update({name: f"v{version}:empty" for name in added})
    for name, (_fpath, compact_encoded, _identity) in files.items():
        if compact_encoded:
            ids[name] += f"+images:{ids.get('images', '')}"
    return ids


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
        if (name, col.name) == ("images", "tags"):  # keys.tag_rows takes them from here
            hints[compact.TAG_ROWS] = (np.asarray(pc.list_parent_indices(arr), dtype=np.int64), flat)
    return out


def _identity(st: os.stat_result) -> tuple:
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns


def _loader(name: str, fpath: Path, frames: Frames, compact_encoded: bool, identity: tuple, renamed: dict):
    """Reads frame `name` from `fpath` on first use; `renamed`: {column name in the file: name now}."""

    def load_frame() -> pd.DataFrame:
        # The file must still be the one checked at load(): a snapshot saved again at the same
        # path in between (a new collection) must not be mixed into this one. Checked before and
        # after reading (by path: pyarrow reads a path natively, far faster than a Python file).
        def check():
            try:
                now = _identity(os.stat(fpath))
            except OSError as e:
                raise SnapshotError(
                    f"{fpath}: gone since the snapshot was loaded ({e.strerror}); load it again"
                ) from None
            if now != identity:
                raise SnapshotError(
                    f"{fpath}: replaced or changed since the snapshot was loaded; load it again"
                )

        check()
        try:
            table = pq.read_table(fpath)
            if renamed:
                table = table.rename_columns([renamed.get(c, c) for c in table.column_names])
            lists = _str_lists(table, name, frames.hints)
            df = table.drop_columns(list(lists)).to_pandas()
        except Exception as e:  # pyarrow raises several types for corrupt files
            raise SnapshotError(f"{fpath}: not a readable Parquet file ({e})") from None
        check()
        for col, values in lists.items():
            df[col] = pd.Series(values, index=df.index, dtype=object)
        try:
            df = schema.conform(
                name, compact.decode(name, df, frames) if compact_encoded else df, ready=lists
            )
        except (ValueError, TypeError, KeyError) as e:
            raise SnapshotError(f"{fpath}: does not match the schema of {name!r} ({e})") from None
        if len(df) != frames.rows(name):
            raise SnapshotError(f"{fpath}: has {len(df)} rows, manifest says {frames.rows(name)}")
        return df

    return load_frame
