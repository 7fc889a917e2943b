"""A history directory: the snapshots of scheduled audits, side by side, and their pruning.

Layout: `DIR/<UTC time>/`, one ecr-audit snapshot per collection, named `%Y%m%dT%H%M%SZ` (a
`-N` suffix when two collections start in the same second) so that names sort by time. Each is
written atomically by `snapshot.save` (`ecr-audit collect --history DIR`); hidden entries are
the atomic writer's work in progress and are never listed or touched here.

- `snapshots(DIR)`: one row per subdirectory, oldest first, with its provenance and
  completeness; one that cannot be loaded (truncated, altered, not an ecr-audit snapshot) is
  listed with its problem, never hidden.
- `previous(path)`: the snapshot a report or a diff compares `path` with.
- `prune(DIR, keep=, keep_days=)`: removes old snapshots; never the newest complete one, never a
  directory that is not provably an ecr-audit snapshot (`snapshot_checks.foreign_reason`).
More: docs/history.md.
"""

from __future__ import annotations

import os
import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pandas as pd

from . import atomic_dir
from .snapshot import READS, SnapshotError, load
from .snapshot_checks import MANIFEST, foreign_reason

NAME_FORMAT = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"(\d{8}T\d{6}Z)(?:-(\d{1,6}))?")
# A snapshot `previous` may return: it holds data for at least part of the organization.
# Partial ones count (what they could not read is `unknown` in a diff, never "resolved").
COMPARABLE = ("complete", "partial")
COLUMNS = [
    "path",
    "name",
    "collected_at",
    "completeness",
    "accounts",
    "regions",
    "errors",
    "source",
    "is_loadable",
    "problem",
]


class HistoryError(Exception):
    """The history directory cannot be used (missing, not a directory); the message says why."""


def _directory(directory) -> Path:
    directory = Path(directory)
    if not directory.exists():
        raise HistoryError(f"{directory}: no such history directory")
    if not directory.is_dir():
        raise HistoryError(f"{directory}: is not a directory (a history directory holds snapshots)")
    return directory


def new_path(directory, now: datetime | None = None) -> Path:
    """Where the next snapshot of history `directory` goes: DIR/<UTC time>, unused so far."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    base = now.strftime(NAME_FORMAT)
    path, n = Path(directory) / base, 1
    while os.path.lexists(path):
        path, n = Path(directory) / f"{base}-{n}", n + 1
    return path


def _time_of_name(name: str):
    m = _NAME.fullmatch(name)
    if not m:
        return pd.NaT
    return pd.Timestamp(datetime.strptime(m.group(1), NAME_FORMAT).replace(tzinfo=timezone.utc))


def _row(path: Path, verify: bool) -> dict:
    row = dict.fromkeys(COLUMNS)
    row.update(path=str(path), name=path.name, is_loadable=False, collected_at=_time_of_name(path.name))
    if path.is_symlink():
        row["problem"] = "a symbolic link, not a snapshot directory"
        return row
    reason = foreign_reason(path, READS) if os.listdir(path) else "it is empty"
    if reason:
        row["problem"] = f"not an ecr-audit snapshot: {reason}"
        return row
    try:
        inv = load(path, verify=verify)
    except SnapshotError as e:
        row["problem"] = str(e)
        return row
    meta = inv.meta
    try:
        collected = pd.Timestamp(meta.get("collected_at"))
        collected = collected.tz_localize("UTC") if collected.tzinfo is None else collected.tz_convert("UTC")
    except (TypeError, ValueError):
        collected = pd.NaT
    row.update(
        collected_at=collected if not pd.isna(collected) else row["collected_at"],
        completeness=meta.get("completeness"),
        accounts=len(meta.get("accounts") or []),
        regions=len(meta.get("regions") or []),
        errors=inv.frames.rows("errors"),
        source=meta.get("source"),
        is_loadable=True,
    )
    return row


def snapshots(directory, verify: bool = False) -> pd.DataFrame:
    """One row per snapshot directory of history `directory`, oldest first (COLUMNS).

    `is_loadable` False with `problem` for a directory that cannot be loaded; its `collected_at`
    is then the time its name says (if any). verify=True also checks every file's checksum
    (reads every byte); by default the manifest and the Parquet footers are checked."""
    directory = _directory(directory)
    rows = [
        _row(directory / e.name, verify)
        for e in os.scandir(directory)
        if not e.name.startswith(".") and (e.is_dir(follow_symlinks=False) or e.is_symlink())
    ]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["collected_at"] = pd.to_datetime(df["collected_at"], utc=True)
    df = df.astype({"accounts": "Int64", "regions": "Int64", "errors": "Int64", "is_loadable": bool})
    for c in ("completeness", "source", "problem"):
        df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df.sort_values(["collected_at", "name"], na_position="first", kind="stable", ignore_index=True)


def previous(path) -> Path | None:
    """The newest loadable snapshot (complete or partial, COMPARABLE) of the same history
    directory collected before snapshot `path`; None when there is none."""
    path = Path(path)
    this = load(path, verify=False).meta.get("collected_at")
    listed = snapshots(path.resolve().parent)
    older = listed[
        listed["is_loadable"]
        & listed["completeness"].isin(COMPARABLE)
        & (listed["collected_at"] < pd.Timestamp(this))
        & (listed["name"] != path.name)
    ]
    return Path(older["path"].iloc[-1]) if len(older) else None


def prune(directory, keep: int | None = None, keep_days: float | None = None, now=None, dry_run=False):
    """Remove old snapshots of history `directory`; returns the paths removed (or that would be).

    Kept: the `keep` newest snapshots, those collected less than `keep_days` days before `now`
    (a snapshot is kept when either rule keeps it), and always the newest complete snapshot.
    Only directories that are provably ecr-audit snapshots are ever removed: anything else
    (including a snapshot that cannot be loaded, an empty directory, a link) is left alone."""
    if keep is None and keep_days is None:
        return []
    if keep is not None and keep < 1:
        raise ValueError("keep must be at least 1")
    if keep_days is not None and not keep_days >= 0:
        raise ValueError("keep_days must be a number of days >= 0")
    directory = _directory(directory)
    now = pd.Timestamp(now or datetime.now(timezone.utc))
    listed = snapshots(directory)
    ours = listed[listed["is_loadable"]]
    kept = set()
    if keep is not None:
        kept |= set(ours["path"].iloc[-keep:])
    if keep_days is not None:
        kept |= set(ours.loc[ours["collected_at"] >= now - timedelta(days=keep_days), "path"])
    complete = ours[ours["completeness"] == "complete"]
    if len(complete):
        kept.add(complete["path"].iloc[-1])
    removed = []
    with atomic_dir.locked(directory):
        for p in ours["path"]:
            path = Path(p)
            if p in kept or path.is_symlink() or not (path / MANIFEST).is_file():
                continue
            if foreign_reason(path, READS) is not None:  # checked again: it may have changed since
                continue
            if not dry_run:
                # Renamed away first (one atomic step), then deleted: an interrupted prune leaves a
                # hidden directory, never a half-deleted snapshot that would be listed as broken.
                gone = atomic_dir.temp_sibling(path)
                os.rename(path, gone)
                atomic_dir.remove(gone)
            removed.append(path)
    return removed


__all__ = [
    "COLUMNS",
    "COMPARABLE",
    "HistoryError",
    "NAME_FORMAT",
    "new_path",
    "previous",
    "prune",
    "snapshots",
]
