import json
import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from ecr_audit import Inventory, SnapshotError, load, save, schema
from tests.snapshot_helpers import written_as

ACCT = "012345678901"  # leading zero: must survive as a string


def _inventory():
    return Inventory.from_frames(
        meta={"source": "test", "organization": {"id": "o-abc", "account_ids": [ACCT]}},
        accounts=[{"account_id": ACCT, "collection_status": "collected"}],
        images=[
            {
                "account_id": ACCT,
                "region": "eu-west-1",
                "repository_name": "app",
                "image_digest": "sha256:aa",
                "tags": ["1.0", "latest"],
                "pushed_at": "2025-01-02T03:04:05Z",
                "size_bytes": 123,
            }
        ],
        errors=[
            {
                "account_id": ACCT,
                "region": "eu-west-1",
                "operation": "GetRepositoryPolicy",
                "error_code": "AccessDeniedException",
                "error_kind": "access_denied",
                "message": "<script>alert(1)</script>",
            }
        ],
    )


def test_save_load_round_trips_every_frame_with_dtypes(tmp_path):
    inv = _inventory()
    loaded = load(save(inv, tmp_path / "snap"))
    for name in schema.FRAMES:
        pd.testing.assert_frame_equal(inv.frames[name], loaded.frames[name], check_exact=True)
    assert loaded.images.loc[0, "account_id"] == ACCT
    assert loaded.images.loc[0, "tags"] == ["1.0", "latest"]
    assert str(loaded.images["pushed_at"].dt.tz) == "UTC"
    assert loaded.meta["organization"]["id"] == "o-abc"


def test_saving_over_an_existing_snapshot_replaces_it(tmp_path):
    path = tmp_path / "snap"
    save(_inventory(), path)
    save(Inventory.from_frames(meta={"source": "second"}), path)
    assert load(path).meta["source"] == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["snap"]  # no temp or backup left behind


def test_refuses_to_overwrite_a_directory_that_is_not_a_snapshot(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "precious.txt").write_text("keep me")
    with pytest.raises(SnapshotError, match="not a snapshot"):
        save(_inventory(), tmp_path / "data")
    assert (tmp_path / "data" / "precious.txt").read_text() == "keep me"


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(SnapshotError, match="no such snapshot directory"):
        load(tmp_path / "nope")


def test_future_schema_version_is_refused_naming_the_manifest(tmp_path):
    path = save(_inventory(), tmp_path / "snap")
    m = json.loads((path / "manifest.json").read_text())
    m["schema_version"] = schema.SCHEMA_VERSION + 1
    (path / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(
        SnapshotError, match=rf"manifest\.json: schema version {schema.SCHEMA_VERSION + 1} is not supported"
    ):
        load(path)


def test_truncated_parquet_is_refused_naming_the_file(tmp_path):
    path = save(_inventory(), tmp_path / "snap")
    f = path / "images.parquet"
    f.write_bytes(f.read_bytes()[:50])
    with pytest.raises(SnapshotError, match=r"images\.parquet: checksum mismatch"):
        load(path)


def test_corrupt_parquet_with_matching_checksum_is_refused_naming_the_file(tmp_path):
    path = save(_inventory(), tmp_path / "snap")
    f = path / "errors.parquet"
    f.write_bytes(b"not parquet at all")
    with pytest.raises(SnapshotError, match=r"errors\.parquet: not a readable Parquet file"):
        load(path, verify=False)


def test_missing_frame_file_is_refused_naming_the_file(tmp_path):
    path = save(_inventory(), tmp_path / "snap")
    (path / "layers.parquet").unlink()
    with pytest.raises(SnapshotError, match=r"layers\.parquet: missing frame file"):
        load(path)


def test_directory_without_manifest_is_not_a_snapshot(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "images.parquet").write_bytes(b"x")
    with pytest.raises(SnapshotError, match="manifest.json: missing"):
        load(tmp_path / "half")


@pytest.mark.slow  # spawns a Python process and kills it mid-save: a second or more
def test_kill_during_save_leaves_previous_snapshot_intact(tmp_path):
    """SIGKILL a process while it writes a large snapshot over an existing one."""
    path = tmp_path / "snap"
    save(_inventory(), path)
    script = textwrap.dedent(f"""
        import sys
        import ecr_audit.snapshot as s
        from ecr_audit import Inventory, save
        orig = s._write_frame
        def slow(df, p):
            orig(df, p)
            print("wrote", p.name, flush=True)
            if p.name == "images.parquet":
                import time; time.sleep(60)
        s._write_frame = slow
        rows = [{{"account_id": "1", "region": "r", "repository_name": "x", "image_digest": f"sha256:{{i}}"}}
                for i in range(1000)]
        save(Inventory.from_frames(meta={{"source": "killed"}}, images=rows), {str(path)!r})
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    for line in proc.stdout:
        if "images.parquet" in line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert load(path).meta["source"] == "test"
    leftovers = [p for p in tmp_path.iterdir() if p.name != "snap"]
    for p in leftovers:  # a hidden temp directory may remain; it must never load as a snapshot
        assert p.name.startswith(".")
        with pytest.raises(SnapshotError):
            load(p)


# -- compact encoding (schema version 2) and lazy loading ------------------------------------


def _assert_same_inventory(a, b):
    for name in schema.FRAMES:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_exact=True, obj=name)


def test_big_frames_are_stored_by_image_row_and_load_back_exactly(demo_inventory, tmp_path):
    from ecr_audit import keys

    path = save(demo_inventory, tmp_path / "snap")
    m = json.loads((path / "manifest.json").read_text())
    assert m["schema_version"] == schema.SCHEMA_VERSION == 3
    for name in ("layers", "manifest_references", "image_tags"):
        assert m["frames"][name].get("encoding") == "compact", name
    import pyarrow.parquet as pq

    assert "image_digest" not in pq.read_schema(path / "layers.parquet").names
    assert "source_digest" not in pq.read_schema(path / "manifest_references.parquet").names
    assert pq.read_metadata(path / "image_tags.parquet").num_rows == 0
    assert m["frames"]["image_tags"]["rows"] == len(demo_inventory.image_tags) > 0
    loaded = load(path)
    _assert_same_inventory(demo_inventory, loaded)
    # The rows decoded from disk are the ones the key computations would find.
    fresh = Inventory.from_frames(meta=loaded.meta, **{n: loaded.frames[n] for n in schema.FRAMES})
    got, want = keys.layer_keys(loaded), keys.layer_keys(fresh)
    for field in ("image_row", "repo", "blob", "pair", "size"):
        np.testing.assert_array_equal(getattr(got, field), getattr(want, field), err_msg=field)
    assert got.n_pairs == want.n_pairs
    (rows, tags), (want_rows, want_tags) = keys.tag_rows(loaded), keys.tag_rows(fresh)
    np.testing.assert_array_equal(rows, want_rows)
    assert tags.to_pylist() == want_tags.to_pylist() and len(tags) == len(loaded.image_tags)
    shared = loaded.layers["blob_digest"].duplicated().sum()
    assert shared > 0 and pq.read_table(path / "layers.parquet")["blob_digest"].null_count == shared
    for got, want in zip(keys.reference_rows(loaded), keys.reference_rows(fresh)):
        np.testing.assert_array_equal(got, want)


def test_frames_that_do_not_fit_the_compact_form_are_written_in_full(demo_inventory, tmp_path):
    frames = {n: demo_inventory.frames[n] for n in schema.FRAMES}
    lay = frames["layers"].copy()
    lay.loc[0, "image_digest"] = "sha256:" + "f" * 64  # a layer of an image not listed
    tags = frames["image_tags"].iloc[1:]  # one tag missing from image_tags
    inv = Inventory.from_frames(meta=demo_inventory.meta, **{**frames, "layers": lay, "image_tags": tags})
    path = save(inv, tmp_path / "snap")
    m = json.loads((path / "manifest.json").read_text())
    assert "encoding" not in m["frames"]["layers"] and "encoding" not in m["frames"]["image_tags"]
    assert m["frames"]["manifest_references"]["encoding"] == "compact"
    _assert_same_inventory(inv, load(path))


def test_version_1_snapshots_still_load(demo_inventory, tmp_path, monkeypatch):
    import ecr_audit.snapshot as snap

    monkeypatch.setattr(snap, "_compact", lambda inv, name: inv.frames[name])
    path = save(demo_inventory, tmp_path / "v1")
    written_as(path, 1)
    _assert_same_inventory(demo_inventory, load(path))


def test_loading_reads_a_frame_only_when_used(demo_inventory, tmp_path):
    path = save(demo_inventory, tmp_path / "snap")
    inv = load(path)
    assert not any(inv.frames.is_loaded(n) for n in schema.FRAMES)
    assert inv.counts() == demo_inventory.counts()
    assert len(inv.repositories) == len(demo_inventory.repositories)
    assert not inv.frames.is_loaded("images") and not inv.frames.is_loaded("layers")
    inv.layers  # decodes against images
    assert inv.frames.is_loaded("images")


def test_a_compact_row_outside_the_images_is_refused_naming_the_file(demo_inventory, tmp_path):
    import pyarrow.parquet as pq

    path = save(demo_inventory, tmp_path / "snap")
    f = path / "layers.parquet"
    t = pq.read_table(f).to_pandas()
    t.loc[0, "image_row"] = 10**6
    t.to_parquet(f, index=False)
    # The checksum would catch it: look past it. The footer's statistics give it away at load.
    with pytest.raises(SnapshotError, match=r"layers\.parquet: .*outside images\.parquet"):
        load(path, verify=False).layers


def test_a_blob_pointer_to_a_row_without_the_digest_is_refused(demo_inventory, tmp_path):
    import pyarrow.parquet as pq

    path = save(demo_inventory, tmp_path / "snap")
    f = path / "layers.parquet"
    t = pq.read_table(f).to_pandas()
    later = int(np.flatnonzero(t["blob_digest"].isna())[0])
    t.loc[0, "blob_first"] = later
    t.to_parquet(f, index=False)
    with pytest.raises(SnapshotError, match=r"layers\.parquet: does not match .*blob_first"):
        load(path, verify=False).layers


def test_a_snapshot_saved_again_at_its_path_after_loading_is_refused_not_mixed_in(demo_inventory, tmp_path):
    path = save(demo_inventory, tmp_path / "snap")
    inv = load(path)
    inv.images  # read before the new collection lands
    save(demo_inventory, path)  # a new collection saved to the same path
    with pytest.raises(
        SnapshotError, match=r"layers\.parquet: replaced or changed since the snapshot was loaded"
    ):
        inv.layers


def test_images_sharing_a_key_are_saved_in_full_and_round_trip(tmp_path):
    digest = "sha256:" + "a" * 64
    repo = {"account_id": ACCT, "region": "eu-west-1", "repository_name": "app"}
    inv = Inventory.from_frames(
        images=[
            {**repo, "image_digest": digest, "tags": ["v1"]},
            {**repo, "image_digest": digest, "tags": ["v1"]},
        ],
        layers=[
            {
                **repo,
                "image_digest": digest,
                "blob_digest": "sha256:" + "b" * 64,
                "size_bytes": 1,
                "kind": "layer",
            }
        ],
    )
    path = save(inv, tmp_path / "dup")
    assert "encoding" not in json.loads((path / "manifest.json").read_text())["frames"]["layers"]
    _assert_same_inventory(inv, load(path))


def test_a_lazily_loaded_inventory_pickles_with_every_frame(demo_inventory, tmp_path):
    import pickle

    inv = load(save(demo_inventory, tmp_path / "snap"))
    _assert_same_inventory(demo_inventory, pickle.loads(pickle.dumps(inv)))
