"""Helpers for the snapshot tests: make a snapshot read as an older release wrote it."""

import json

import pyarrow.parquet as pq

from ecr_audit import schema
from ecr_audit.snapshot_checks import sha256


def written_as(path, version: int, marked: bool = True) -> None:
    """Make the snapshot at `path` one of schema `version`: its column names then, its version in
    manifest.json, checksums to match; `marked=False` drops the format marker, as releases before
    it wrote manifests."""
    m = json.loads((path / "manifest.json").read_text())
    m["schema_version"] = version
    if not marked:
        del m["format"]
    for name, entry in m["frames"].items():
        old = {now: before for before, now in schema.renames(name, version).items()}
        if old:
            f = path / entry["file"]
            t = pq.read_table(f)
            pq.write_table(t.rename_columns([old.get(c, c) for c in t.column_names]), f)
            entry["sha256"] = sha256(f)
    (path / "manifest.json").write_text(json.dumps(m))
