"""The history directory: listing (unloadable snapshots included), previous, pruning, its CLI."""

import shutil
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

from ecr_audit import Inventory, history, save
from ecr_audit.cli import main

A = "111111111111"


def snap(directory, day, completeness="complete"):
    """A small snapshot collected on 2026-11-`day`, saved where `collect --history` would put it."""
    when = datetime(2026, 11, day, 2, 0, tzinfo=timezone.utc)
    inv = Inventory.from_frames(
        meta={
            "collected_at": when.isoformat(),
            "completeness": completeness,
            "accounts": [A],
            "regions": ["us-east-1"],
        },
        coverage=[{"account_id": A, "region": "us-east-1", "status": "complete"}],
    )
    return save(inv, history.new_path(directory, when))


def names(directory):
    return history.snapshots(directory)["name"].tolist()


def test_new_path_is_sortable_and_never_reused(tmp_path):
    when = datetime(2026, 11, 27, 2, 0, 5, tzinfo=timezone.utc)
    first = snap(tmp_path, 27)
    assert first.name == "20261127T020000Z"
    assert (
        history.new_path(tmp_path, datetime(2026, 11, 27, 2, 0, tzinfo=timezone.utc)).name
        == "20261127T020000Z-1"
    )
    assert history.new_path(tmp_path, when).name == "20261127T020005Z"


def test_unloadable_snapshot_is_listed_with_its_problem(tmp_path):
    good, bad = snap(tmp_path, 1), snap(tmp_path, 2)
    (bad / "images.parquet").write_bytes(b"not parquet")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("x")
    (tmp_path / ".20261103T020000Z.tmp-1-abcdef12").mkdir()  # a save in progress: not listed
    listed = history.snapshots(tmp_path, verify=True)
    assert listed["name"].tolist() == ["notes", good.name, bad.name]
    problems = dict(zip(listed["name"], listed["problem"]))
    assert problems[good.name] is None
    assert "checksum mismatch" in problems[bad.name]
    assert "not an ecr-audit snapshot" in problems["notes"]
    assert listed["is_loadable"].tolist() == [False, True, False]
    # its time is the one its name says
    assert listed.loc[listed["name"] == bad.name, "collected_at"].iloc[0] == pd.Timestamp("2026-11-02T02:00Z")


def test_previous_is_the_newest_older_comparable_snapshot(tmp_path):
    one = snap(tmp_path, 1)
    snap(tmp_path, 2, completeness="empty")  # nothing read: nothing to compare with
    three = snap(tmp_path, 3, completeness="partial")
    four = snap(tmp_path, 4)
    assert history.previous(four) == three
    assert history.previous(three) == one
    assert history.previous(one) is None


def test_prune_keeps_the_newest_complete_snapshot(tmp_path):
    complete = snap(tmp_path, 1)
    partial = [snap(tmp_path, d, completeness="partial") for d in (2, 3, 4)]
    removed = history.prune(tmp_path, keep=1)
    assert sorted(removed) == sorted(partial[:2])
    assert names(tmp_path) == [complete.name, partial[2].name]


def test_prune_by_age_and_count_keeps_what_either_keeps(tmp_path):
    paths = [snap(tmp_path, d) for d in range(1, 8)]
    now = datetime(2026, 11, 8, 0, 0, tzinfo=timezone.utc)
    assert history.prune(tmp_path, keep_days=3, now=now, dry_run=True) == paths[:4]
    assert names(tmp_path) == [p.name for p in paths]  # dry run: nothing removed
    history.prune(tmp_path, keep=5, keep_days=3, now=now)
    assert names(tmp_path) == [p.name for p in paths[2:]]


def test_prune_never_touches_what_is_not_an_ecr_audit_snapshot(tmp_path):
    old = snap(tmp_path, 1)
    broken = snap(tmp_path, 2)
    (broken / "errors.parquet").write_bytes(b"truncated")  # ours, but unloadable: left for a human
    lookalike = tmp_path / "20261103T020000Z"
    shutil.copytree(old, lookalike)
    (lookalike / "mine.txt").write_text("a user's file")  # no longer provably a snapshot
    empty = tmp_path / "20261104T020000Z"
    empty.mkdir()
    link = tmp_path / "20261105T020000Z"
    link.symlink_to(old)
    newest = snap(tmp_path, 6)
    assert history.prune(tmp_path, keep=1) == [old]
    for p in (broken, lookalike / "mine.txt", empty, link, newest):
        assert p.exists() or p.is_symlink()


def test_history_cli_lists_and_prunes(tmp_path, capsys):
    paths = [snap(tmp_path, d) for d in (1, 2, 3)]
    (paths[1] / "manifest.json").write_text("{")
    assert main(["history", str(tmp_path), "--keep", "1"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"removed {paths[0]}"
    assert out[1].startswith(f"{paths[1].name}  2026-11-02 02:00:00Z  NOT LOADABLE:")
    assert out[2].startswith(
        f"{paths[2].name}  2026-11-03 02:00:00Z  complete  1 accounts  1 regions  0 errors"
    )
    assert len(out) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["missing"], "no such history directory"),
        (["file"], "is not a directory"),
        (["ok", "--keep", "0"], "--keep must be at least 1"),
        (["ok", "--keep-days", "-1"], "--keep-days must be"),
    ],
)
def test_history_cli_bad_input_exit_2(tmp_path, capsys, args, message):
    (tmp_path / "file").write_text("x")
    (tmp_path / "ok").mkdir()
    args = [str(tmp_path / args[0]), *args[1:]]
    assert main(["history", *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_collect_history_and_out_are_exclusive(tmp_path, capsys):
    code = main(["collect", "--history", str(tmp_path), "--out", str(tmp_path / "x"), "--accounts", A])
    assert code == 2 and "mutually exclusive" in capsys.readouterr().err
    assert not any(Path(tmp_path).iterdir())
