"""Snapshots of older schema versions load under today's names (issue 13).

tests/data/snapshot-v2 is the demo organization saved by ecr-audit 0.1.0 at schema version 2
(commit fc4388a, before the version 3 renames): its files are what a user's snapshots hold.
"""

import json
import shutil

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ecr_audit import SnapshotError, findings, load, save, schema
from ecr_audit.schema import STR, Column, Frame
from ecr_audit.snapshot_checks import sha256

from .test_naming import V2_SNAPSHOT


def test_the_kept_snapshot_is_a_version_2_one_with_the_old_names():
    m = json.loads((V2_SNAPSHOT / "manifest.json").read_text())
    assert m["schema_version"] == 2
    assert "manifests_read" in pq.read_schema(V2_SNAPSHOT / "coverage.parquet").names


def test_a_version_2_snapshot_loads_every_renamed_column_under_its_new_name_with_its_values():
    inv = load(V2_SNAPSHOT)
    for name, renamed in schema.RENAMED[3].items():
        raw = pq.read_table(V2_SNAPSHOT / f"{name}.parquet").to_pandas()
        frame = inv.frames[name]
        assert list(frame.columns) == schema.FRAMES[name].names
        for before, after in renamed.items():
            assert before not in frame.columns
            expected = schema.conform(name, raw.rename(columns=renamed))[after]
            pd.testing.assert_series_equal(frame[after], expected, check_names=False)
            assert len(frame) == len(raw)
    assert inv.coverage["has_read_manifests"].fillna(False).astype(bool).any()


def test_a_version_2_snapshot_saved_again_is_version_3_and_the_same_inventory(tmp_path):
    old = load(V2_SNAPSHOT)
    path = save(old, tmp_path / "v3")
    assert json.loads((path / "manifest.json").read_text())["schema_version"] == schema.SCHEMA_VERSION == 3
    new = load(path)
    for name in schema.FRAMES:
        pd.testing.assert_frame_equal(new.frames[name], old.frames[name], check_exact=True, obj=name)
    pd.testing.assert_frame_equal(findings.findings(new), findings.findings(old))


def test_renames_map_a_snapshot_version_to_todays_names():
    assert schema.renames("coverage", 2) == {"manifests_read": "has_read_manifests"}
    assert schema.renames("coverage", 3) == {}
    assert "kms_key" in [c.name for c in schema.stored_columns("repositories", 1)]
    for version, frames in schema.RENAMED.items():  # every rename ends at a declared column
        for name, renamed in frames.items():
            assert set(renamed.values()) <= set(schema.FRAMES[name].names), (version, name)


def _new_frame(since: int) -> Frame:
    return Frame(
        "consumers_example", "one row per example", (Column("account_id", STR, "account", True),), since=since
    )


def test_a_frame_added_after_a_snapshots_version_loads_empty(monkeypatch, tmp_path):
    monkeypatch.setitem(schema.FRAMES, "consumers_example", _new_frame(since=3))
    inv = load(V2_SNAPSHOT)
    assert inv.counts()["consumers_example"] == 0
    frame = inv.frames["consumers_example"]
    assert frame.empty and list(frame.columns) == ["account_id"]
    saved = save(inv, tmp_path / "v3")  # and it is written from now on
    assert "consumers_example" in json.loads((saved / "manifest.json").read_text())["frames"]
    assert load(saved).frames["consumers_example"].empty


def test_a_frame_the_snapshots_version_had_must_be_there(monkeypatch, tmp_path):
    path = tmp_path / "v2"
    shutil.copytree(V2_SNAPSHOT, path)
    m = json.loads((path / "manifest.json").read_text())
    del m["frames"]["pull_time_exclusions"]
    (path / "pull_time_exclusions.parquet").unlink()
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SnapshotError, match="frame 'pull_time_exclusions' is not listed"):
        load(path)
    monkeypatch.setitem(schema.FRAMES, "consumers_example", _new_frame(since=2))
    with pytest.raises(SnapshotError, match="frame 'consumers_example' is not listed"):
        load(V2_SNAPSHOT)


def test_a_version_2_file_under_the_new_name_is_refused_naming_the_column(tmp_path):
    """A file must hold the names of its snapshot's version: a v2 snapshot cannot use v3 names."""
    path = tmp_path / "v2"
    shutil.copytree(V2_SNAPSHOT, path)
    f = path / "coverage.parquet"
    t = pq.read_table(f)
    pq.write_table(
        t.rename_columns(["has_read_manifests" if c == "manifests_read" else c for c in t.column_names]), f
    )
    m = json.loads((path / "manifest.json").read_text())
    m["frames"]["coverage"]["sha256"] = sha256(f)
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(
        SnapshotError, match="has column 'has_read_manifests', which frame 'coverage' does not declare"
    ):
        load(path)
