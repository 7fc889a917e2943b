"""Saving a snapshot never destroys what is not a snapshot, never leaves the path without one,
never loses collected data, and writes owner-only files by default (issue 12: #1, #2, #3, umask)."""

import errno
import json
import os
import signal
import stat
import subprocess
import sys
import textwrap

import pytest

from ecr_audit import Inventory, SnapshotError, atomic_dir, load, save
from ecr_audit import snapshot as snapshot_module
from ecr_audit.cli import main
from tests.snapshot_helpers import written_as
from tests.test_reliability_inputs import one_line_error
from tests.test_report import probe_env  # noqa: F401  (a fixture)

ACCT = "012345678901"


def _inventory(source="test", n=1):
    return Inventory.from_frames(
        meta={"source": source},
        images=[
            {
                "account_id": ACCT,
                "region": "eu-west-1",
                "repository_name": "app",
                "image_digest": f"sha256:{i:064x}",
                "tags": [f"v{i}"],
            }
            for i in range(n)
        ],
    )


def _hidden_siblings(path):
    return sorted(p.name for p in path.parent.iterdir() if p.name.startswith(f".{path.name}."))


@pytest.fixture
def no_collection(monkeypatch):
    """Fail the test if `collect` starts a collection (or the sandbox) at all."""
    from ecr_audit import sandbox

    def must_not_run(*a, **k):
        raise AssertionError("collection started although the output cannot be written")

    monkeypatch.setattr(sys.modules["ecr_audit.collect"], "collect", must_not_run)
    monkeypatch.setattr(sandbox, "running", must_not_run)


# -- issue 12 #1: only an ecr-audit snapshot is ever replaced ---------------------------------


def test_collect_out_onto_a_web_app_with_a_manifest_json_is_refused_and_left_untouched(
    tmp_path, capsys, no_collection
):
    app = tmp_path / "webapp"
    (app / "src").mkdir(parents=True)
    (app / "manifest.json").write_text('{"name":"PWA"}')
    (app / "src" / "app.js").write_text("x")
    err = one_line_error(capsys, main(["collect", "--sandbox", "--quiet", "--out", str(app)]))
    assert f"{app}: exists and is not a snapshot written by ecr-audit" in err
    assert "Choose another output directory, or move this one away" in err
    assert (app / "src" / "app.js").read_text() == "x"
    assert (app / "manifest.json").read_text() == '{"name":"PWA"}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["webapp"]  # nothing written beside it


def _snapshot_plus(tmp_path, extra):
    path = save(_inventory("old"), tmp_path / "snap")
    extra(path)
    return path


def _unmark(path):
    """As the releases before the format marker wrote it (schema version 2)."""
    written_as(path, 2, marked=False)


@pytest.mark.parametrize(
    "shape, change, why",
    [
        (
            "a snapshot with a file of the user's added",
            lambda p: (p / "notes.txt").write_text("mine"),
            "it also holds notes.txt",
        ),
        ("a snapshot with a directory inside", lambda p: (p / "src").mkdir(), "it also holds src"),
        (
            "a manifest with our schema version but no marker and a frame that fails its checksum",
            lambda p: (_unmark(p), (p / "errors.parquet").write_bytes(b"user data")),
            "errors.parquet does not match the checksum",
        ),
        (
            "a marked manifest that lists a file of another kind",
            lambda p: (p / "manifest.json").write_text(
                json.dumps(
                    {"format": "ecr-audit-snapshot", "schema_version": 2, "frames": {"x": {"file": "app.js"}}}
                )
            ),
            "not a frame file of its own",
        ),
        (
            "a manifest of another tool",
            lambda p: (p / "manifest.json").write_text('{"frames": {}, "name": "PWA"}'),
            "was not written by ecr-audit",
        ),
        (
            "a frame file that is a symbolic link",
            lambda p: (
                os.replace(p / "errors.parquet", p.parent / "e"),
                os.symlink(p.parent / "e", p / "errors.parquet"),
            ),
            "errors.parquet is not a regular file",
        ),
    ],
)
def test_save_replaces_only_what_is_provably_an_ecr_audit_snapshot(tmp_path, shape, change, why):
    path = _snapshot_plus(tmp_path, change)
    before = {p.name: (p.read_bytes() if p.is_file() else None) for p in path.iterdir()}
    with pytest.raises(SnapshotError, match="not a snapshot written by ecr-audit") as e:
        save(_inventory("new"), path)
    assert why in str(e.value), shape
    assert {p.name: (p.read_bytes() if p.is_file() else None) for p in path.iterdir()} == before


def test_snapshots_of_this_and_the_previous_release_are_replaced(tmp_path):
    marked = save(_inventory("old"), tmp_path / "marked")
    assert json.loads((marked / "manifest.json").read_text())["format"] == "ecr-audit-snapshot"
    legacy = save(_inventory("old"), tmp_path / "legacy")
    _unmark(legacy)  # as the release without the marker wrote it
    empty = tmp_path / "empty"
    empty.mkdir()
    for path in (marked, legacy, empty):
        save(_inventory("new"), path)
        assert load(path).meta["source"] == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty", "legacy", "marked"]


# -- issue 12 #2: the swap is atomic; an interrupted one is finished ------------------------

_CHILD = textwrap.dedent("""
    import os, shutil, sys, time
    from pathlib import Path
    from ecr_audit import Inventory, save
    target, mode = sys.argv[1], sys.argv[2]
    if mode == "fallback":                      # as on an OS or filesystem without rename-exchange
        import ecr_audit.atomic_dir as a
        a._exchange = lambda x, y: False

    def pause(where):
        print("paused", where, flush=True)
        time.sleep(600)

    real_rename, real_rmtree = os.rename, shutil.rmtree
    def rename(src, dst, *args, **kw):
        if os.fspath(dst) == target:            # the new snapshot is about to move into place
            pause("before the new snapshot is at the path")
        return real_rename(src, dst, *args, **kw)
    def rmtree(p, *args, **kw):
        if Path(p).name.startswith("." + Path(target).name + "."):   # the old one, swapped out
            pause("before the old snapshot is removed")
        return real_rmtree(p, *args, **kw)
    os.rename, shutil.rmtree = rename, rmtree
    rows = [{"account_id": "1", "region": "r", "repository_name": "x", "image_digest": f"sha256:{i}"}
            for i in range(200)]
    save(Inventory.from_frames(meta={"source": "new"}, images=rows), target)
    print("finished", flush=True)
""")


def _save_in_a_child_killed_at_the_pause(path, mode="auto") -> str:
    """Run a save of a new snapshot over `path` in a child process; SIGKILL it where it pauses.
    Returns the child's last line ("paused ...", or "finished" when it never paused)."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(path), mode], stdout=subprocess.PIPE, text=True
    )
    last = ""
    for line in proc.stdout:
        last = line.strip()
        if last.startswith("paused") or last == "finished":
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    proc.stdout.close()
    return last


@pytest.mark.slow  # spawns a Python process and kills it mid-save: a second or more
def test_sigkill_at_the_dangerous_point_of_a_save_leaves_a_complete_snapshot_at_the_path(tmp_path):
    path = save(_inventory("old"), tmp_path / "snap")
    last = _save_in_a_child_killed_at_the_pause(path)
    assert last.startswith("paused") or last == "finished", last
    assert os.path.isdir(path), f"killed {last!r}: no snapshot at the path"
    assert load(path).meta["source"] == "new"  # the swap happened in one step, or not at all


@pytest.mark.slow  # spawns a Python process and kills it mid-save: a second or more
def test_a_save_killed_between_its_two_renames_is_finished_by_the_next_load(tmp_path):
    path = save(_inventory("old"), tmp_path / "snap")
    last = _save_in_a_child_killed_at_the_pause(path, "fallback")
    assert last == "paused before the new snapshot is at the path"
    assert not os.path.lexists(path)  # the half-done swap the fallback can leave
    assert load(path).meta["source"] == "new"  # rolled forward: the new one was complete
    assert any(".old-" in n for n in _hidden_siblings(path))
    save(_inventory("third"), path)  # the next save sweeps what the dead writer left
    assert _hidden_siblings(path) == [] and load(path).meta["source"] == "third"


@pytest.mark.slow  # spawns a Python process and kills it mid-save: a second or more
def test_a_save_killed_between_its_two_renames_is_finished_by_the_next_save(tmp_path):
    path = save(_inventory("old"), tmp_path / "snap")
    _save_in_a_child_killed_at_the_pause(path, "fallback")
    assert not os.path.lexists(path)
    save(_inventory("third"), path)
    assert load(path).meta["source"] == "third" and _hidden_siblings(path) == []


@pytest.mark.slow  # spawns a Python process and kills it mid-save: a second or more
def test_a_save_killed_after_the_exchange_keeps_the_new_snapshot_and_the_next_save_sweeps_the_old(tmp_path):
    path = save(_inventory("old"), tmp_path / "snap")
    last = _save_in_a_child_killed_at_the_pause(path, "exchange")
    if last != "paused before the old snapshot is removed":
        pytest.skip(f"this filesystem has no rename-exchange ({last})")
    assert load(path).meta["source"] == "new"
    (left,) = _hidden_siblings(path)  # the old snapshot, swapped out
    assert load(path.parent / left).meta["source"] == "old"
    save(_inventory("third"), path)
    assert _hidden_siblings(path) == []


def test_sweep_removes_only_leftovers_of_dead_writers_that_are_provably_ours(tmp_path):
    path = save(_inventory("old"), tmp_path / "snap")
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True
    )
    dead_pid = int(dead.stdout)
    partial = tmp_path / f".snap.tmp-{dead_pid}-0000000a"  # frames written, no manifest yet
    partial.mkdir()
    (partial / "images.parquet").write_bytes((path / "images.parquet").read_bytes())
    foreign = tmp_path / f".snap.tmp-{dead_pid}-0000000b"  # our name, someone else's file
    foreign.mkdir()
    (foreign / "thesis.tex").write_text("keep")
    live = tmp_path / f".snap.tmp-{os.getpid()}-0000000c"  # a writer that is still running
    live.mkdir()
    (live / "images.parquet").write_bytes(b"being written")
    unrelated = tmp_path / ".snapshots-of-my-cat"
    unrelated.mkdir()
    save(_inventory("new"), path)
    assert not partial.exists()
    assert (foreign / "thesis.tex").read_text() == "keep" and live.exists() and unrelated.exists()


def test_the_swap_uses_rename_exchange_where_the_os_has_it(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir()
    b.mkdir()
    (a / "f").write_text("a")
    (b / "f").write_text("b")
    if not atomic_dir._exchange(a, b):
        pytest.skip("no rename-exchange on this OS or filesystem")
    assert (a / "f").read_text() == "b" and (b / "f").read_text() == "a"


# -- issue 12 #3: every --out check before the first AWS call; a failed save loses nothing --------


def _dangling(tmp_path, monkeypatch):
    link = tmp_path / "out"
    os.symlink(tmp_path / "nowhere", link)
    return link, "is a symbolic link (dangling or a loop)"


def _loop(tmp_path, monkeypatch):
    a, b = tmp_path / "a", tmp_path / "b"
    os.symlink(b, a)
    os.symlink(a, b)
    return a, "is a symbolic link (dangling or a loop)"


def _link_to_snapshot(tmp_path, monkeypatch):
    real = save(_inventory(), tmp_path / "real")
    link = tmp_path / "out"
    os.symlink(real, link)
    return link, f"pointing to {real}"


def _dangling_parent(tmp_path, monkeypatch):
    os.symlink(tmp_path / "nowhere", tmp_path / "parent")
    return tmp_path / "parent" / "snap", "is a symbolic link that leads nowhere"


def _file(tmp_path, monkeypatch):
    (tmp_path / "out").write_text("a file")
    return tmp_path / "out", "exists and is a file"


def _foreign(tmp_path, monkeypatch):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("keep")
    return tmp_path / "out", "not a snapshot written by ecr-audit"


def _current_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # empty: nothing would refuse it as foreign
    return ".", "is the current directory or contains it"


def _parent_of_the_current_directory(tmp_path, monkeypatch):
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    return "..", "is the current directory or contains it"


@pytest.mark.parametrize(
    "make",
    [
        _dangling,
        _loop,
        _link_to_snapshot,
        _dangling_parent,
        _file,
        _foreign,
        _current_directory,
        _parent_of_the_current_directory,
    ],
)
def test_collect_out_that_cannot_take_a_snapshot_is_refused_before_any_aws_call(
    tmp_path, capsys, make, no_collection, monkeypatch
):
    out, why = make(tmp_path, monkeypatch)
    before = sorted(os.listdir(tmp_path))
    err = one_line_error(capsys, main(["collect", "--sandbox", "--quiet", "--out", str(out)]))
    assert why in err and str(out) in err
    assert sorted(os.listdir(tmp_path)) == before


def _unwritable(directory):
    """Make `directory` unwritable, for root too (immutable); returns the undo, or None."""
    if os.geteuid() != 0:
        directory.chmod(0o500)
        return lambda: directory.chmod(0o700)
    if subprocess.run(["chattr", "+i", str(directory)], capture_output=True).returncode != 0:
        return None
    return lambda: subprocess.run(["chattr", "-i", str(directory)], check=True)


def test_collect_out_under_an_unwritable_directory_is_refused_before_any_aws_call(
    tmp_path, capsys, no_collection
):
    locked = tmp_path / "locked"
    locked.mkdir()
    undo = _unwritable(locked)
    if undo is None:
        pytest.skip("cannot make a directory unwritable for root here (no chattr)")
    try:
        err = one_line_error(capsys, main(["collect", "--sandbox", "--quiet", "--out", str(locked / "snap")]))
    finally:
        undo()
    assert f"{locked}: not writable" in err
    assert list(locked.iterdir()) == []


@pytest.fixture
def disk_full_beside(monkeypatch, tmp_path):
    """Writing any frame under tmp_path/"full" fails with ENOSPC; the temp directory is elsewhere."""
    full = tmp_path / "full"
    full.mkdir()
    real = snapshot_module._write_frame

    def write_frame(df, path):
        if full in path.parents:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        return real(df, path)

    monkeypatch.setattr(snapshot_module, "_write_frame", write_frame)
    spare = tmp_path / "spare-tmp"
    spare.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(spare))
    return full, spare


def test_a_save_that_fails_for_lack_of_space_keeps_the_data_where_the_message_says(disk_full_beside):
    full, spare = disk_full_beside
    inv = _inventory("collected", n=3)
    with pytest.raises(SnapshotError, match="No space left on device") as e:
        save(inv, full / "snap")
    (kept,) = spare.iterdir()
    assert f"the data was saved to {kept} instead" in str(e.value)
    assert load(kept).meta["source"] == "collected" and len(load(kept).images) == 3
    assert list(full.iterdir()) == []  # nothing half-written left


@pytest.mark.slow
@pytest.mark.sandbox  # collect --sandbox
def test_collect_whose_save_fails_after_collecting_exits_2_naming_where_the_data_is(disk_full_beside, capsys):
    full, spare = disk_full_beside
    rc = main(["collect", "--sandbox", "--quiet", "--out", str(full / "snap")])
    captured = capsys.readouterr()
    assert rc == 2 and "Traceback" not in captured.err
    (kept,) = spare.iterdir()
    assert f"the data was saved to {kept} instead" in captured.err
    assert "79 images" in captured.out  # what was collected
    assert len(load(kept).images) == 79


def test_a_directory_that_turns_foreign_while_collecting_is_not_replaced_and_the_data_is_kept(
    tmp_path, monkeypatch
):
    path = save(_inventory("old"), tmp_path / "snap")
    real = snapshot_module._write

    def write_then_someone_adds_a_file(inv, directory):
        real(inv, directory)
        (path / "notes.txt").write_text("mine")

    monkeypatch.setattr(snapshot_module, "_write", write_then_someone_adds_a_file)
    with pytest.raises(SnapshotError, match="no longer an ecr-audit snapshot") as e:
        save(_inventory("new"), path)
    kept = str(e.value).split("the data was saved to ")[1].split(" instead")[0]
    assert load(kept).meta["source"] == "new"
    assert (path / "notes.txt").read_text() == "mine" and load(path).meta["source"] == "old"


# -- owner-only files by default (issue 12, output safety) ----------------------------------------


def _modes(root):
    return {stat.S_IMODE(os.stat(p).st_mode) for p in [root, *root.rglob("*")] if p.is_dir()}, {
        stat.S_IMODE(os.stat(p).st_mode) for p in root.rglob("*") if p.is_file()
    }


@pytest.mark.slow
@pytest.mark.sandbox  # collect --sandbox
def test_collect_and_findings_write_owner_only_files_unless_umask_says_otherwise(tmp_path, capsys):
    before = os.umask(0o022)  # a typical login umask
    try:
        assert main(["collect", "--sandbox", "--quiet", "--out", str(tmp_path / "private" / "snap")]) == 0
        assert main(["findings", str(tmp_path / "private" / "snap"), "--out", str(tmp_path / "f.csv")]) == 0
        assert os.umask(0o022) == 0o022  # the command restored the caller's umask
        assert _modes(tmp_path / "private") == ({0o700}, {0o600})
        assert stat.S_IMODE(os.stat(tmp_path / "f.csv").st_mode) == 0o600
        shared = ["--umask", "022", "--out", str(tmp_path / "shared")]
        assert main(["collect", "--sandbox", "--quiet", *shared]) == 0
        assert _modes(tmp_path / "shared") == ({0o755}, {0o644})
    finally:
        os.umask(before)


def test_an_invalid_umask_is_one_line_exit_2(capsys, no_collection):
    err = one_line_error(capsys, main(["collect", "--sandbox", "--umask", "999"]))
    assert "not an octal umask" in err


@pytest.mark.slow
def test_report_writes_an_owner_only_directory_by_default(probe_env, capsys):
    snap, out = probe_env
    before = os.umask(0o022)
    try:
        assert main(["report", str(snap), "--out", str(out), "--quiet"]) == 0
    finally:
        os.umask(before)
    dirs, files = _modes(out)
    assert dirs == {0o700} and files == {0o600}
    assert {"probe.html", "index.html", "probe-tags.csv"} <= {p.name for p in out.iterdir()}
