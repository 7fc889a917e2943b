"""Checks of a snapshot's untrusted parts, made before anything is decoded.

A snapshot directory may come from anywhere (a colleague, a ticket, an attacker), so
manifest.json and the Parquet footers are read as hostile input:
  - `read_manifest_bytes` / `manifest_problem` / `meta_problem`: manifest.json's size, nesting,
    types and bounds, including the provenance (`meta`) that analyses and notebooks read;
  - `parquet_problem`: a frame file's footer (row count, row groups, columns and their types,
    null counts of required columns, ranges of times and of compact row pointers, list sizes,
    the memory decoding would take) against the manifest and the schema;
  - `foreign_reason`: whether an existing directory is provably an ecr-audit snapshot, the only
    kind of directory `save` may replace.
Every check returns the problem as text (None: fine); snapshot.py names the file.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from . import compact, schema
from ._version import __version__

MANIFEST = "manifest.json"
FORMAT = "ecr-audit-snapshot"  # manifest["format"]: this tool wrote the directory
LEGACY_VERSIONS = (1, 2)  # written without FORMAT: recognized by their checksums
MANIFEST_MAX_BYTES = 64 << 20
MAX_DEPTH = 64  # JSON nesting in manifest.json (the tool writes 4)
MAX_ROWS = 2**31 - 1  # compact row pointers are int32
# ECR quota "Tags per image: 1,000" (https://docs.aws.amazon.com/AmazonECR/latest/userguide/
# service-quotas.html); the other list columns (filters, template uses) are far shorter.
MAX_LIST = 1000
# Times the analyses compute with in nanoseconds (pandas: 1677-09-21 .. 2262-04-11). No ECR time
# is outside this range, which leaves decades of headroom for day arithmetic.
TIME_RANGE = (pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp("2200-01-01", tz="UTC"))
_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*\.parquet")
_SHA256 = re.compile(r"[0-9a-f]{64}")


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# -- manifest.json ---------------------------------------------------------------------------


def read_manifest_bytes(raw: bytes):
    """(parsed JSON, None) or (None, the problem)."""
    if len(raw) > MANIFEST_MAX_BYTES:
        return None, f"larger than {MANIFEST_MAX_BYTES >> 20} MiB"
    try:
        doc = json.loads(raw.decode("utf-8"))
    except RecursionError:
        return None, "nested too deeply to be a snapshot manifest"
    except (UnicodeDecodeError, ValueError) as e:
        return None, f"unreadable or not JSON ({e})"
    if _depth(doc) > MAX_DEPTH:
        return None, f"nested more than {MAX_DEPTH} levels deep"
    return doc, None


def _depth(doc) -> int:
    """Nesting depth of parsed JSON, without recursion."""
    deepest, stack = 0, [(doc, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        if d > MAX_DEPTH:
            break
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
        stack.extend((c, d + 1) for c in children if isinstance(c, (dict, list)))
    return deepest


def manifest_problem(manifest, readable_versions) -> str | None:
    """What is wrong with a parsed manifest (its frames entries; not `meta`), or None."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("frames"), dict):
        return "not an ecr-audit snapshot manifest"
    if "format" in manifest and manifest["format"] != FORMAT:
        return f"format {str(manifest['format'])[:40]!r} is not {FORMAT!r}"
    version = manifest.get("schema_version")
    if type(version) is not int or version not in readable_versions:
        return (
            f"schema version {repr(version)[:20]} is not supported by ecr-audit {__version__} "
            f"(it reads versions {', '.join(map(str, readable_versions))})"
        )
    for name, entry in manifest["frames"].items():
        problem = _entry_problem(entry)
        if problem:
            return f"frame {str(name)[:60]!r}: {problem}"
    return None


def _entry_problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "entry is not an object"
    file = entry.get("file")
    if not isinstance(file, str) or not _FILE.fullmatch(file):
        return f"file {str(file)[:80]!r} is not a .parquet file name inside the snapshot directory"
    rows = entry.get("rows")
    if type(rows) is not int or not 0 <= rows <= MAX_ROWS:
        return f"rows {repr(rows)[:20]} is not a row count (0..{MAX_ROWS})"
    if not isinstance(entry.get("sha256"), str) or not _SHA256.fullmatch(entry["sha256"]):
        return "sha256 is not 64 lowercase hex digits"
    if entry.get("encoding", "full") not in ("full", "compact"):
        return f"encoding {str(entry['encoding'])[:20]!r} is unknown"
    return None


def meta_problem(meta) -> str | None:
    """What is wrong with the provenance (`meta`) that analyses and notebooks read, or None.
    Only the fields the tool uses are checked; others are kept as they are."""
    if meta is None:
        return None
    if not isinstance(meta, dict):
        return "meta is not an object"
    checks = {
        "source": _text,
        "completeness": _text,
        "collected_at": _time,
        "accounts": _texts,
        "regions": _texts,
        "caller": _object({"arn": _text, "account_id": _text}),
        "organization": _object({"id": _text, "management_account_id": _text, "account_ids": _texts}),
        "options": _options,
    }
    for key, check in checks.items():
        if meta.get(key) is not None:
            problem = check(meta[key])
            if problem:
                return f"meta.{key}: {problem}"
    return None


def _text(v) -> str | None:
    if not isinstance(v, str):
        return f"{type(v).__name__} where text is expected"
    return f"text longer than 4096 characters ({len(v)})" if len(v) > 4096 else None


def _texts(v) -> str | None:
    if not isinstance(v, list):
        return f"{type(v).__name__} where a list of text is expected"
    if len(v) > 1_000_000:
        return f"{len(v)} entries"
    bad = next((x for x in v if _text(x)), None)
    return f"entry {bad!r:.60}: {_text(bad)}" if bad is not None else None


def _object(fields):
    def check(v):
        if not isinstance(v, dict):
            return f"{type(v).__name__} where an object is expected"
        for k, f in fields.items():
            if v.get(k) is not None and f(v[k]):
                return f"{k}: {f(v[k])}"
        return None

    return check


def _options(v) -> str | None:
    """The collection options the reports print; other options are kept as they are."""
    if not isinstance(v, dict):
        return f"{type(v).__name__} where an object is expected"
    for k in ("read_manifests", "role_name", "account_source"):
        if v.get(k) is not None and _text(v[k]):
            return f"{k}: {_text(v[k])}"
    regions = v.get("regions")
    if regions is not None and _text(regions) and _texts(regions):
        return f"regions: {type(regions).__name__} is neither text nor a list of text"
    return None


def _time(v) -> str | None:
    if not isinstance(v, str):
        return f"{type(v).__name__} where an ISO 8601 time is expected"
    try:
        ts = pd.Timestamp(v)
    except (ValueError, OverflowError):
        return f"{v[:40]!r} is not an ISO 8601 time"
    if pd.isna(ts):
        return f"{v[:40]!r} is not an ISO 8601 time"
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return None if TIME_RANGE[0] <= ts < TIME_RANGE[1] else f"{v[:40]!r} is {_outside()}"


def _outside() -> str:
    lo, hi = (t.strftime("%Y-%m-%d") for t in TIME_RANGE)
    return f"outside the times this tool computes with ({lo} .. {hi})"


# -- Parquet footers -------------------------------------------------------------------------


def parquet_problem(
    name: str,
    pf: pq.ParquetFile,
    rows: int,
    compact_encoded: bool,
    n_images: int | None,
    memory: int | None,
    version: int = schema.SCHEMA_VERSION,
) -> str | None:
    """What is wrong with frame file `pf` (footer only) for frame `name` with `rows` rows in the
    manifest, or None. `n_images`: rows of images.parquet (compact pointers must stay inside);
    `memory`: bytes of memory this machine has (None: unknown); `version`: the snapshot's schema
    version (its column names, `schema.stored_columns`)."""
    md, arrow = pf.metadata, pf.schema_arrow
    stored = 0 if compact_encoded and name == "image_tags" else rows  # rebuilt from images.tags
    if md.num_rows != stored:
        return f"has {md.num_rows} rows, manifest says {stored}"
    if sum(md.row_group(g).num_rows for g in range(md.num_row_groups)) != md.num_rows:
        return "row groups do not add up to the file's row count"
    if compact_encoded and name == "image_tags" and n_images is not None and rows > MAX_LIST * n_images:
        return f"manifest says {rows} tags for {n_images} images (at most {MAX_LIST} tags per image)"
    columns = _expected_columns(name, compact_encoded, version)
    required = _required(name, compact_encoded, version)
    if len(set(arrow.names)) != len(arrow.names):
        return "has a column twice"
    for field in arrow:
        if field.name not in columns:
            return f"has column {field.name[:60]!r}, which frame {name!r} does not declare"
        if not _type_fits(field.type, columns[field.name]):
            return f"column {field.name!r} is {field.type}, not {columns[field.name]}"
    if md.num_rows:
        for col in required:
            if col not in arrow.names:
                return f"required column {col!r} is missing"
    leaves = _leaf_chunks(md)
    for col, chunks in leaves.items():
        top = col.split(".")[0]
        if top in required and any(_nulls(c) for c in chunks):
            return f"required column {top!r} has nulls"
    problem = _ranges(name, pf, leaves, columns, rows, n_images)
    if problem:
        return problem
    for col, dtype in columns.items():
        if dtype == schema.LIST and col in arrow.names:
            values = sum(c.num_values for path, cs in leaves.items() if path.split(".")[0] == col for c in cs)
            if values > MAX_LIST * max(md.num_rows, 1):
                return (
                    f"column {col!r} holds {values} list entries for {md.num_rows} rows "
                    f"(at most {MAX_LIST} each)"
                )
    need = _decoded_bytes(md, arrow, columns)
    if memory is not None and need > memory:
        return (
            f"decoding it would take at least {_size(need)}, more than the {_size(memory)} "
            "of memory this machine has"
        )
    return None


def _size(n: int) -> str:
    return f"{n / 2**30:,.1f} GiB" if n >= 2**30 else f"{n / 2**20:,.1f} MiB"


def _expected_columns(name: str, compact_encoded: bool, version: int) -> dict[str, str]:
    """Column → declared dtype of frame `name` as stored ("pointer" for compact row pointers)."""
    declared = {c.name: c.dtype for c in schema.stored_columns(name, version)}
    if not compact_encoded or name not in compact.STORED:
        return declared
    dropped, pointers = compact.STORED[name]
    out = {c: t for c, t in declared.items() if c not in dropped}
    out.update(dict.fromkeys(pointers, "pointer"))
    return out


def _required(name: str, compact_encoded: bool, version: int) -> set[str]:
    req = {c.name for c in schema.stored_columns(name, version) if c.required}
    if compact_encoded and name in compact.STORED:
        dropped, pointers = compact.STORED[name]
        req = (req - set(dropped)) | {p for p in pointers if p != compact.BLOB_FIRST}  # older files lack it
        if name == "manifest_references":
            req -= {"target_digest", compact.TARGET_ROW}  # one of the two, per row
        if name == "layers":
            req -= {"blob_digest"}  # written on each blob's first row
    return req


def _type_fits(t: pa.DataType, dtype: str) -> bool:
    if pa.types.is_null(t):
        return True
    if pa.types.is_dictionary(t):  # only text is stored dictionary-typed
        return dtype in (schema.STR, schema.CAT) and _type_fits(t.value_type, schema.STR)
    if dtype in (schema.STR, schema.CAT):
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if dtype in (schema.INT, "pointer"):
        return pa.types.is_integer(t)
    if dtype == schema.BOOL:
        return pa.types.is_boolean(t)
    if dtype == schema.TIME:
        return pa.types.is_timestamp(t)
    if dtype == schema.LIST:
        return (pa.types.is_list(t) or pa.types.is_large_list(t)) and _type_fits(t.value_type, schema.STR)
    return False


def _leaf_chunks(md) -> dict[str, list]:
    out: dict[str, list] = {}
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for j in range(rg.num_columns):
            c = rg.column(j)
            out.setdefault(c.path_in_schema, []).append(c)
    return out


def _nulls(chunk) -> int:
    st = chunk.statistics
    return st.null_count if st is not None and st.has_null_count else 0


def _ranges(name, pf, leaves, columns, rows, n_images) -> str | None:
    """Times inside TIME_RANGE; compact pointers inside their frame. From the footer's
    statistics; a column without them is read alone (8 bytes a row) and checked."""
    limits = {}
    for col, dtype in columns.items():
        if dtype == schema.TIME:
            limits[col] = TIME_RANGE
        elif dtype == "pointer":
            top = n_images if col in compact.IMAGE_POINTERS else rows
            limits[col] = (0, (top if top is not None else MAX_ROWS) - 1)
    for col, (lo, hi) in limits.items():
        chunks = leaves.get(col)
        if not chunks:
            continue
        unit = pf.schema_arrow.field(col).type
        bounds = [_stat_bounds(c, unit) for c in chunks]
        if any(b is None for b in bounds):
            bounds = [_read_bounds(pf, col)]
        for b in bounds:
            if b is False:  # no values at all
                continue
            if b[0] < _raw(lo, unit) or b[1] > _raw(hi, unit, upper=True):
                shown = f"{_show(b[0], unit)} .. {_show(b[1], unit)}"
                if columns[col] == schema.TIME:
                    return f"column {col!r} holds times {shown}, {_outside()}"
                where = "images.parquet" if col in compact.IMAGE_POINTERS else "this file"
                return f"row pointer {col!r} holds {shown}, outside {where} (0..{hi})"
    return None


def _stat_bounds(chunk, unit):
    st = chunk.statistics
    if st is None or not st.has_null_count:
        return None
    if st.null_count == chunk.num_values:
        return False
    if not st.has_min_max or st.physical_type not in ("INT32", "INT64"):
        return None
    return st.min_raw, st.max_raw


def _read_bounds(pf, col):
    import pyarrow.compute as pc

    arr = pf.read(columns=[col])[col]
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if pa.types.is_timestamp(arr.type):
        arr = arr.cast(pa.int64())
    mm = pc.min_max(arr).as_py()
    return False if mm["min"] is None else (mm["min"], mm["max"])


_PER_SECOND = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}


def _raw(limit, t, upper=False):
    """A time limit in the raw integer unit of timestamp type `t` (pointers pass through)."""
    if not pa.types.is_timestamp(t):
        return limit
    ns = limit.value
    per = 10**9 // _PER_SECOND[t.unit]
    return ns // per if upper else -(-ns // per)


def _show(raw, t) -> str:
    if not pa.types.is_timestamp(t):
        return str(raw)
    try:
        return pd.Timestamp(int(raw), unit=t.unit, tz="UTC").isoformat()
    except (ValueError, OverflowError):
        return f"{raw} {t.unit} after 1970"


def _decoded_bytes(md, arrow, columns) -> int:
    """A floor on the memory decoding the file takes: every cell at least 8 bytes (a pointer, an
    offset or a number), the pages' uncompressed bytes, and a Python object per list and per
    list entry. Dictionary-encoded strings are counted as their pages, not as expanded."""
    rows = md.num_rows
    total = rows * 8 * max(len(arrow.names), 1)
    for g in range(md.num_row_groups):
        rg = md.row_group(g)
        for j in range(rg.num_columns):
            c = rg.column(j)
            total += max(c.total_uncompressed_size, 0)
            if columns.get(c.path_in_schema.split(".")[0]) == schema.LIST:
                total += c.num_values * 56  # a Python str per entry (after _str_lists)
    n_lists = sum(1 for n in arrow.names if columns.get(n) == schema.LIST)
    return total + n_lists * rows * 64  # a Python list per cell


def machine_memory() -> int | None:
    """Bytes of memory this machine (or container) has; None when unknown."""
    total = None
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit != "max":
            total = min(total or int(limit), int(limit))
    except (OSError, ValueError):
        pass
    return total


# -- is this directory ours? ---------------------------------------------------------------


def foreign_reason(path: Path, readable_versions) -> str | None:
    """Why existing directory `path` is not provably an ecr-audit snapshot (None: it is one, or
    it is empty). Provably ours: manifest.json carries FORMAT (or, written before FORMAT
    existed, a known schema version and frames matching their checksums), and the directory
    holds nothing but manifest.json and the .parquet files it lists, all regular files."""
    entries = sorted(os.listdir(path))
    if not entries:
        return None
    mpath = path / MANIFEST
    if MANIFEST not in entries:
        return f"it has no {MANIFEST}"
    if mpath.is_symlink() or not mpath.is_file():
        return f"its {MANIFEST} is not a regular file"
    try:
        with open(mpath, "rb") as f:
            raw = f.read(MANIFEST_MAX_BYTES + 1)
    except OSError as e:
        return f"its {MANIFEST} is unreadable ({e.strerror})"
    manifest, problem = read_manifest_bytes(raw)
    if problem is None and (not isinstance(manifest, dict) or not isinstance(manifest.get("frames"), dict)):
        problem = "it is not an ecr-audit manifest"
    if problem:
        return f"its {MANIFEST}: {problem}"
    marked = manifest.get("format") == FORMAT
    if not marked:
        problem = manifest_problem(manifest, LEGACY_VERSIONS)
        if problem:
            return f"its {MANIFEST} was not written by ecr-audit ({problem})"
    own = {MANIFEST}
    for entry in manifest["frames"].values():
        file = entry.get("file") if isinstance(entry, dict) else None
        if not isinstance(file, str) or not _FILE.fullmatch(file):
            return f"its {MANIFEST} lists {str(file)[:60]!r}, not a frame file of its own"
        own.add(file)
    others = [e for e in entries if e not in own]
    if others:
        more = f" and {len(others) - 3} more" if len(others) > 3 else ""
        return f"it also holds {', '.join(others[:3])}{more}"
    for e in entries:
        p = path / e
        if p.is_symlink() or not p.is_file():
            return f"{e} is not a regular file"
    if not marked:
        for entry in manifest["frames"].values():
            p = path / entry["file"]
            if not p.exists() or sha256(p) != entry["sha256"]:
                return f"{entry['file']} does not match the checksum in its {MANIFEST}"
    return None
