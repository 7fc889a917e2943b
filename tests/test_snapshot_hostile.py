"""A hostile snapshot (issue 12 #12) is refused with exit 2 naming the file, by `show` and by
`report`, before anything is decoded — never "internal error", never gigabytes first."""

import hashlib
import json
from datetime import datetime, timezone

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ecr_audit import Inventory, SnapshotError, load, save, snapshot_checks
from ecr_audit.cli import main
from tests.test_reliability_inputs import one_line_error

ACCT = "012345678901"
BIG = 2_000_000


@pytest.fixture
def snap(tmp_path):
    inv = Inventory.from_frames(
        meta={
            "source": "test",
            "collected_at": "2026-11-01T00:00:00+00:00",
            "completeness": "complete",
            "organization": {"id": "o-abc", "account_ids": [ACCT]},
            "accounts": [ACCT],
            "regions": ["eu-west-1"],
            "caller": {"arn": "arn:aws:iam::012345678901:user/a", "account_id": ACCT},
            "options": {"read_manifests": "auto", "role_name": None, "regions": "all"},
        },
        accounts=[{"account_id": ACCT, "collection_status": "collected"}],
        coverage=[{"account_id": ACCT, "region": "eu-west-1", "status": "complete"}],
        images=[
            {
                "account_id": ACCT,
                "region": "eu-west-1",
                "repository_name": "app",
                "image_digest": "sha256:" + f"{i:x}" * 64,
                "tags": [f"v{i}"],
                "pushed_at": "2025-01-02T03:04:05Z",
            }
            for i in range(1, 4)
        ],
    )
    return save(inv, tmp_path / "snap")


def _manifest(path):
    return json.loads((path / "manifest.json").read_text())


def _edit_meta(path, **changes):
    m = _manifest(path)
    m["meta"].update(changes)
    (path / "manifest.json").write_text(json.dumps(m))


def _replace_frame(path, name, table, stored_rows=None, **write):
    """Put `table` in as frame `name`, with the manifest's rows and checksum updated to match."""
    f = path / f"{name}.parquet"
    pq.write_table(table, f, compression="zstd", **write)
    m = _manifest(path)
    m["frames"][name].update(
        rows=table.num_rows if stored_rows is None else stored_rows,
        sha256=hashlib.sha256(f.read_bytes()).hexdigest(),
    )
    (path / "manifest.json").write_text(json.dumps(m))
    return f


def _table(f) -> pa.Table:
    return pq.ParquetFile(f).read()


def _with(table: pa.Table, column: str, values) -> pa.Table:
    i = table.column_names.index(column)
    return table.set_column(i, column, pa.array(values, table.schema.field(column).type))


def _refused_by_show_and_report(capsys, path, tmp_path, named, why):
    for argv in (["show", str(path)], ["report", str(path), "--out", str(tmp_path / "report"), "--quiet"]):
        err = one_line_error(capsys, main(argv))
        assert f"{path / named}:" in err and why in err, (argv[0], err)
        assert "internal error" not in err
    assert not (tmp_path / "report").exists()


@pytest.fixture
def no_decoding(monkeypatch):
    """Fail the test if any frame is decoded (the checks must come first)."""

    def decoded(*a, **k):
        raise AssertionError("a frame was decoded before the snapshot was checked")

    monkeypatch.setattr(pq, "read_table", decoded)


# -- manifest.json: types and bounds of what analyses and notebooks read ------------------------


@pytest.mark.parametrize(
    "field, value, why",
    [
        ("organization", "o-abc", "meta.organization: str where an object is expected"),
        ("accounts", 7, "meta.accounts: int where a list of text is expected"),
        ("collected_at", "yesterday-ish", "meta.collected_at: 'yesterday-ish' is not an ISO 8601 time"),
        ("collected_at", "9999-12-31T00:00:00Z", "outside the times this tool computes with"),
        ("caller", ["arn"], "meta.caller: list where an object is expected"),
        ("regions", {"a": 1}, "meta.regions: dict where a list of text is expected"),
        ("options", "auto", "meta.options: str where an object is expected"),
        ("completeness", ["complete"], "meta.completeness: list where text is expected"),
        (
            "options",
            {"read_manifests": {"x": 1}},
            "meta.options: read_manifests: dict where text is expected",
        ),
        ("organization", {"id": 5}, "meta.organization: id: int where text is expected"),
        ("accounts", ["1" * 5000], "text longer than 4096 characters"),
    ],
)
def test_hostile_manifest_meta_is_refused_by_show_and_report_naming_the_manifest(
    snap, tmp_path, capsys, field, value, why
):
    _edit_meta(snap, **{field: value})
    _refused_by_show_and_report(capsys, snap, tmp_path, "manifest.json", why)


def test_manifest_nested_200000_deep_is_refused_by_show_and_report(snap, tmp_path, capsys):
    (snap / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    _refused_by_show_and_report(capsys, snap, tmp_path, "manifest.json", "nested too deeply")


def test_manifest_nested_deeper_than_any_snapshot_inside_meta_is_refused(snap, tmp_path, capsys):
    deep = {}
    for _ in range(100):
        deep = {"x": deep}
    _edit_meta(snap, extra=deep)
    _refused_by_show_and_report(capsys, snap, tmp_path, "manifest.json", "nested more than 64 levels")


@pytest.mark.parametrize(
    "change, why",
    [
        ({"rows": -1}, "rows -1 is not a row count"),
        ({"rows": 1e9}, "rows 1000000000.0 is not a row count"),
        ({"rows": True}, "rows True is not a row count"),
        ({"rows": 2**40}, "is not a row count"),
        ({"sha256": "x" * 64}, "sha256 is not 64 lowercase hex digits"),
        ({"encoding": "zip"}, "encoding 'zip' is unknown"),
    ],
)
def test_hostile_frame_entries_are_refused_naming_the_frame(snap, tmp_path, capsys, change, why):
    m = _manifest(snap)
    m["frames"]["errors"].update(change)
    (snap / "manifest.json").write_text(json.dumps(m))
    _refused_by_show_and_report(capsys, snap, tmp_path, "manifest.json", why)
    with pytest.raises(SnapshotError, match="manifest.json: frame 'errors': ") as e:
        load(snap)
    assert why in str(e.value)


# -- frame files: footers checked against the manifest and the schema before decoding ----------


def test_year_9999_pushed_at_is_refused_by_show_and_report_naming_the_file(
    snap, tmp_path, capsys, no_decoding
):
    images = _table(snap / "images.parquet")
    y9999 = datetime(9999, 12, 31, tzinfo=timezone.utc)
    _replace_frame(snap, "images", _with(images, "pushed_at", [y9999] * 3))
    _refused_by_show_and_report(
        capsys,
        snap,
        tmp_path,
        "images.parquet",
        "column 'pushed_at' holds times "
        "9999-12-31T00:00:00+00:00 .. 9999-12-31T00:00:00+00:00, outside the times",
    )


def test_out_of_range_times_in_a_file_without_statistics_are_still_refused(snap):
    images = _table(snap / "images.parquet")
    times = [datetime(2025, 1, 1, tzinfo=timezone.utc), datetime(1000, 1, 1, tzinfo=timezone.utc), None]
    _replace_frame(snap, "images", _with(images, "last_pulled_at", times), write_statistics=False)
    with pytest.raises(SnapshotError, match=r"images\.parquet: column 'last_pulled_at' holds times 1000-"):
        load(snap)


def _bomb(columns: dict) -> pa.Table:
    """BIG rows of one repeated value per column: a few KB on disk."""
    zeros = pa.array(np.zeros(BIG, np.int32))
    return pa.table(
        {
            c: pa.DictionaryArray.from_arrays(zeros, pa.array([v]))
            if isinstance(v, str)
            else pa.array(np.full(BIG, v))
            for c, v in columns.items()
        }
    )


def test_a_small_parquet_of_2m_rows_with_a_wrong_column_type_is_refused_before_decoding(
    snap, tmp_path, capsys, no_decoding
):
    f = _replace_frame(snap, "errors", _bomb({"operation": 7, "error_code": "x", "error_kind": "x"}))
    assert f.stat().st_size < 200_000
    _refused_by_show_and_report(
        capsys, snap, tmp_path, "errors.parquet", "column 'operation' is int64, not str"
    )


@pytest.mark.parametrize(
    "columns, why",
    [
        (
            {"operation": "x", "error_code": "x", "evil": "x"},
            "has column 'evil', which frame 'errors' does not declare",
        ),
        ({"operation": "x", "error_code": "x"}, "required column 'error_kind' is missing"),
    ],
)
def test_a_small_parquet_of_2m_rows_that_does_not_fit_the_schema_is_refused_before_decoding(
    snap, tmp_path, capsys, no_decoding, columns, why
):
    _replace_frame(snap, "errors", _bomb(columns))
    _refused_by_show_and_report(capsys, snap, tmp_path, "errors.parquet", why)


def test_nulls_in_a_required_column_are_refused_from_the_footer(snap, tmp_path, capsys, no_decoding):
    images = _table(snap / "images.parquet")
    _replace_frame(snap, "images", _with(images, "image_digest", ["sha256:" + "a" * 64, None, None]))
    _refused_by_show_and_report(
        capsys, snap, tmp_path, "images.parquet", "required column 'image_digest' has nulls"
    )


def test_rows_beyond_the_manifest_are_refused(snap, no_decoding):
    _replace_frame(
        snap, "errors", _bomb({"operation": "x", "error_code": "x", "error_kind": "x"}), stored_rows=3
    )
    with pytest.raises(SnapshotError, match=rf"errors\.parquet: has {BIG} rows, manifest says 3"):
        load(snap)


def test_a_frame_that_needs_more_memory_than_the_machine_has_is_refused_before_decoding(
    snap, tmp_path, capsys, no_decoding, monkeypatch
):
    _replace_frame(snap, "errors", _bomb({"operation": "x", "error_code": "x", "error_kind": "x"}))
    monkeypatch.setattr(snapshot_checks, "machine_memory", lambda: 16 << 20)
    _refused_by_show_and_report(
        capsys,
        snap,
        tmp_path,
        "errors.parquet",
        "decoding it would take at least 45.8 MiB, more than the 16.0 MiB",
    )


def test_more_list_entries_than_ecr_allows_tags_per_image_are_refused(snap, no_decoding):
    images = _table(snap / "images.parquet")
    _replace_frame(snap, "images", _with(images, "tags", [["t"] * 1001] * 3))
    with pytest.raises(
        SnapshotError,
        match=r"images\.parquet: column 'tags' holds 3003 list entries "
        r"for 3 rows",
    ):
        load(snap)


def test_a_compact_tag_count_beyond_ecr_limits_is_refused(tmp_path, demo_inventory):
    path = save(demo_inventory, tmp_path / "demo")
    m = _manifest(path)
    assert m["frames"]["image_tags"]["encoding"] == "compact"
    m["frames"]["image_tags"]["rows"] = 1001 * m["frames"]["images"]["rows"]
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(SnapshotError, match=r"image_tags\.parquet: manifest says \d+ tags for 79 images"):
        load(path)


def test_a_compact_pointer_without_statistics_is_still_range_checked_at_load(tmp_path, demo_inventory):
    path = save(demo_inventory, tmp_path / "demo")
    layers = _table(path / "layers.parquet")
    rows = layers["image_row"].to_numpy().copy()
    rows[5] = -3
    _replace_frame(
        path, "layers", _with(layers, "image_row", rows), write_statistics=False, stored_rows=layers.num_rows
    )
    with pytest.raises(
        SnapshotError,
        match=r"layers\.parquet: row pointer 'image_row' holds -3 \.\. \d+, "
        r"outside images\.parquet \(0\.\.78\)",
    ):
        load(path)


def test_a_genuine_snapshot_passes_every_check_and_loads(demo_snapshot):
    inv = load(demo_snapshot)
    assert len(inv.images) == 79 and len(inv.layers) > 0
