"""Trends over a history of snapshots: one point per snapshot for each metric a chart shows.

`points(snapshots, metrics)` gives one row per snapshot (name, path, collected_at, completeness,
problem) with the columns of the metrics asked for (`METRICS`):

- `inventory`: repositories and images, from the row counts of the snapshot's manifest (no frame
  is read);
- `cost`: the monthly storage cost (`cost.rollup(cost.storage(inv), "total")`) and how many
  repositories it leaves out (undetermined) or only bounds;
- `stale`: images not active for `stale_days` days and their bytes (`images.stale`; index
  manifests, whose size is their children's, not counted);
- `findings`: findings per severity (`findings.severity_counts`: every frame the checks read).

Each metric reads only what it needs (snapshots load lazily). A snapshot never changes once
written, so a computed point is cached on disk, keyed by the snapshot's manifest (which holds
every frame's checksum) and by the code of this package: a history of daily snapshots computes
each day's point once. A snapshot that cannot be read gives a row with its `problem` and empty
values: charts show a gap there, never a zero.

Points not in the cache are computed in worker processes, one snapshot each, on every core this
process may use (`workers`): a point is most of a second of CPU even for a small organization
(mostly the checks of `findings`), so the first report of a long history, or the first after an
upgrade (which changes the code fingerprint), is bound by CPU. Snapshots of more than
`PARALLEL_MAX_IMAGES` images are computed one at a time in this process: their analyses need
gigabytes each. How workers start (`_start_method`): forked from a process with one thread;
from a fork server inside a Jupyter kernel (forking a process whose other threads may hold
locks can deadlock the child); elsewhere with threads, not at all.
"""

from __future__ import annotations

import functools
import gc
import hashlib
import json
import multiprocessing
import os
import secrets
import stat
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from itertools import repeat
from pathlib import Path

import pandas as pd

from . import reuse
from .findings import SEVERITIES
from .snapshot import SnapshotError, load, read_manifest

METRICS = {
    "inventory": ("repositories", "images"),
    "cost": ("cost_usd_per_month", "repositories_undetermined", "repositories_upper_bound"),
    "stale": ("stale_images", "stale_bytes"),
    "findings": tuple(SEVERITIES),
}
BASE_COLUMNS = ["name", "path", "collected_at", "completeness", "problem"]
CACHE_ENV = "ECR_AUDIT_CACHE_DIR"
# Above this many images a snapshot's analyses take a gigabyte or more (2.3 GiB at 1M images).
PARALLEL_MAX_IMAGES = 250_000
# Up to this many images the analyses of one snapshot are kept for the next (`reuse`); above,
# keeping them would double the memory a point needs, and what earlier ones kept is let go first.
REUSE_MAX_IMAGES = PARALLEL_MAX_IMAGES


def default_cache_dir() -> Path:
    """$ECR_AUDIT_CACHE_DIR, else `trends` in the user's cache directory."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / "trends"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecr-audit" / "trends"


@functools.cache
def _code_fingerprint(package: Path = Path(__file__).parent) -> str:
    """Changes whenever any module or data file of the package changes (the shipped price table
    prices the cost points): a point computed by other code or data is stale."""
    h = hashlib.sha256()
    for f in sorted([*package.rglob("*.py"), *(p for p in (package / "data").rglob("*") if p.is_file())]):
        h.update(f.relative_to(package).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _inventory(inv) -> dict:
    return {"repositories": inv.frames.rows("repositories"), "images": inv.frames.rows("images")}


def _cost(inv) -> dict:
    from . import cost

    total = cost.rollup(cost.storage(inv), "total")
    if total.empty:
        return {"cost_usd_per_month": 0.0, "repositories_undetermined": 0, "repositories_upper_bound": 0}
    row = total.iloc[0]
    return {k: float(row[k]) if k.startswith("cost") else int(row[k]) for k in METRICS["cost"]}


def _stale(inv, days: int) -> dict:
    from . import images

    s = images.stale(inv, days)
    stale = s[s["is_stale"].fillna(False).astype(bool)]
    return {
        "stale_images": len(stale),
        "stale_bytes": int(stale["size_bytes"].where(~stale["is_index"].astype(bool), 0).fillna(0).sum()),
    }


def _findings(inv) -> dict:
    from . import findings

    return findings.severity_counts(inv)


def _compute(inv, metric: str, stale_days: int) -> dict:
    if metric == "inventory":
        return _inventory(inv)
    if metric == "cost":
        return _cost(inv)
    if metric == "stale":
        return _stale(inv, stale_days)
    return _findings(inv)


def _reusing(inv, metric: str, stale_days: int) -> dict | None:
    """`_compute`, reusing what an earlier snapshot computed from the same inputs when a store is
    attached; None when a reused analysis read another snapshot's data (`reuse.ReuseConflict`):
    what was computed then cannot be trusted."""
    store = reuse.store_of(inv)
    if store is None:
        return _compute(inv, metric, stale_days)
    try:
        values = reuse.call(inv, f"trends.{metric}|{stale_days}", lambda: _compute(inv, metric, stale_days))
    except reuse.ReuseConflict:
        return None
    return None if store.conflict else values


def cache_key(path: Path, metric: str, stale_days: int) -> str:
    """The name of a point's cache file: the snapshot's manifest, the metric and this code."""
    return _cache_keys(path, (metric,), stale_days)[metric]


def _cache_keys(path: Path, metrics, stale_days: int) -> dict[str, str]:
    """`cache_key` of each metric, the manifest read once."""
    manifest = (Path(path) / "manifest.json").read_bytes()
    keys = {}
    for metric in metrics:
        args = f"{metric}|{stale_days if metric == 'stale' else ''}|{_code_fingerprint()}".encode()
        keys[metric] = hashlib.sha256(manifest + b"\0" + args).hexdigest()
    return keys


def _checked(metrics: Iterable[str]) -> tuple[str, ...]:
    metrics = tuple(metrics)
    for metric in metrics:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
    return metrics


def _cache(cache_dir) -> Path | None:
    return None if cache_dir is False else Path(cache_dir or default_cache_dir())


def point(
    path,
    metrics: Iterable[str] = tuple(METRICS),
    stale_days: int = 90,
    cache_dir=None,
    reuse_store: reuse.Store | None = None,
) -> dict:
    """One row of `points` for the snapshot at `path`. `reuse_store`: analyses of earlier
    snapshots whose inputs are the same in this one are taken from there (`reuse`)."""
    path, metrics, cache = Path(path), _checked(metrics), _cache(cache_dir)
    row: dict = {"name": path.name, "path": str(path), "problem": ""}
    try:
        inv = load(path, verify=False)  # a point reads a few frames: those are checked as they load
        if reuse_store is not None and not reuse_store.conflict:
            if inv.frames.rows("images") <= REUSE_MAX_IMAGES:
                reuse.attach(inv, reuse_store)
            else:  # its analyses need the memory that earlier snapshots' frames and answers hold
                reuse_store.clear()
        row["collected_at"] = pd.Timestamp(inv.meta.get("collected_at"))
        row["completeness"] = inv.meta.get("completeness", "")
        keys = _cache_keys(path, metrics, stale_days) if cache else {}
        for metric in metrics:
            hit = cache / f"{keys[metric]}.json" if cache else None
            cached = _read_cached(hit, metric) if hit is not None else None
            if cached is not None:
                row.update(cached)
                continue
            values = _reusing(inv, metric, stale_days)
            if values is None:  # a reuse conflict: this snapshot again, reusing nothing
                return point(path, metrics, stale_days, cache_dir)
            row.update(values)
            if hit is not None:
                _write_atomically(hit, json.dumps(values))
    except (SnapshotError, OSError) as e:
        row["problem"] = str(e)
    return row


def _read_cached(path: Path, metric: str) -> dict | None:
    """The cached values of `metric`, or None when there are none or the file is not what this
    code writes (truncated, edited): a cache entry is never trusted beyond its shape."""
    try:
        text = _read_entry(path)
        values = json.loads(text) if text is not None else None
    except (OSError, ValueError):
        return None
    if not isinstance(values, dict) or set(values) != set(METRICS[metric]):
        return None
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values.values()):
        return None
    return values


_ENTRY_MAX_BYTES = 64 * 1024  # an entry is a few numbers


def _read_entry(path: Path) -> bytes | None:
    """A cache file's bytes, touched as in use (`prune_cache` keeps it); None unless it is a small
    regular file. Whoever else writes a shared history may have put a link to elsewhere, a FIFO
    (reading it would block forever) or a device there."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode) or st.st_size > _ENTRY_MAX_BYTES:
            return None
        text = os.read(fd, _ENTRY_MAX_BYTES + 1)
        try:
            os.utime(fd if os.utime in os.supports_fd else path)
        except OSError:
            pass
        return text
    finally:
        os.close(fd)


def _to_compute(path: Path, metrics, stale_days: int, cache: Path | None) -> int | None:
    """The snapshot's image count (from its manifest) when some metric of it is not cached; None
    when all are, or when it cannot be read (`point` then says why, quickly)."""
    try:
        keys = _cache_keys(path, metrics, stale_days) if cache else {}
        if cache and all((cache / f"{key}.json").is_file() for key in keys.values()):
            return None
        images = read_manifest(path)["frames"].get("images")
        return int(images["rows"]) if isinstance(images, dict) else 0
    except (SnapshotError, OSError, KeyError, TypeError, ValueError):
        return None


def _usable_cpus() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start_method() -> str | None:
    """How worker processes start here, None when they should not (module docstring)."""
    if not sys.platform.startswith("linux"):
        return None  # macOS and Windows: spawn would import the caller's main module again
    if multiprocessing.current_process().daemon:
        return None  # a multiprocessing.Pool worker, say: daemonic processes may not have children
    if threading.active_count() == 1:
        return "fork"  # the workers start with everything imported, nothing to redo
    if "ipykernel" in sys.modules:
        return "forkserver"  # its main module (ipykernel_launcher) is safe to import again
    return None


def _rows(paths: list[Path], metrics, stale_days: int, cache_dir, workers: int | None) -> list[dict]:
    """`point` of every path; the uncached small snapshots in up to `workers` processes."""
    cache = _cache(cache_dir)
    sizes = {p: _to_compute(p, metrics, stale_days, cache) for p in paths}
    parallel = [p for p, n in sizes.items() if n is not None and n <= PARALLEL_MAX_IMAGES]
    workers = min(_usable_cpus() if workers is None else workers, len(parallel))
    method = _start_method() if workers > 1 else None
    done: dict = {}
    # Reuse pays only from the second snapshot on: a scheduled run computes one (no traces kept).
    store = reuse.Store() if sum(n is not None for n in sizes.values()) > 1 else None
    if method:
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":
            ctx.set_forkserver_preload(["ecr_audit.trends"])
        try:
            with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_start) as pool:
                args = (parallel, repeat(metrics), repeat(stale_days), repeat(cache_dir))
                # One snapshot at a time: no worker idles at the end while another finishes a
                # batch. Each worker's reuse store serves every later snapshot it is given.
                done = dict(zip(parallel, pool.map(_worker_point, *args)))
        except (OSError, BrokenProcessPool):  # no processes to be had: compute them here instead
            done = {}
    return [done[p] if p in done else point(p, metrics, stale_days, cache_dir, store) for p in paths]


_worker_store: reuse.Store | None = None  # a worker process's own (set by _worker_start)


def _worker_start() -> None:
    global _worker_store
    gc.freeze()  # what a worker inherits is never its garbage: its collections skip it
    _worker_store = reuse.Store()


def _worker_point(path, metrics, stale_days, cache_dir) -> dict:
    return point(path, metrics, stale_days, cache_dir, _worker_store)


def _write_atomically(path: Path, text: str) -> None:
    """Best effort (a cache): a read-only or full cache directory only costs the recomputation."""
    # An unpredictable name, created exclusively: a link planted at the name in a shared history
    # is never written through.
    tmp = path.with_suffix(f".{os.getpid()}.{secrets.token_hex(8)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except OSError:  # full: leave no partial file behind
        try:
            tmp.unlink()
        except OSError:
            pass


def points(
    snapshots,
    metrics: Iterable[str] = tuple(METRICS),
    stale_days: int = 90,
    cache_dir=None,
    workers: int | None = None,
) -> pd.DataFrame:
    """One row per snapshot (paths, or a frame with a `path` column such as `history.snapshots`),
    oldest first: BASE_COLUMNS and the columns of `metrics`. `cache_dir=False` computes every point.
    `workers`: processes computing the uncached points (None: one per usable CPU; 1: this process)."""
    metrics = _checked(metrics)
    paths = list(snapshots["path"]) if isinstance(snapshots, pd.DataFrame) else list(snapshots)
    rows = _rows([Path(p) for p in paths], metrics, stale_days, cache_dir, workers)
    columns = BASE_COLUMNS + [c for m in metrics for c in METRICS[m]]
    out = pd.DataFrame(rows, columns=columns)
    out["collected_at"] = pd.to_datetime(out["collected_at"], utc=True)
    for c in columns[len(BASE_COLUMNS) :]:
        out[c] = pd.to_numeric(out[c])
    return out.sort_values("collected_at", kind="stable", na_position="first").reset_index(drop=True)


HISTORY_CACHE = ".trends"  # a history's own point cache: hidden, so never listed as a snapshot
CACHE_KEEP_DAYS = 7


def history_cache_dir(directory) -> Path:
    """Where `of_history` caches the points of a history: $ECR_AUDIT_CACHE_DIR when set, else
    `DIR/.trends` when the history directory is writable (the points travel with the history: a
    scheduled job that restores the directory, on a runner without a persistent home, finds
    them), else the user's cache (`default_cache_dir`)."""
    if os.environ.get(CACHE_ENV):
        return default_cache_dir()
    own = Path(directory) / HISTORY_CACHE
    if own.is_symlink() or (own.exists() and not own.is_dir()):
        return default_cache_dir()  # a link is not the history's own: never written or pruned through
    if own.is_dir():
        return own if os.access(own, os.W_OK | os.X_OK) else default_cache_dir()
    return own if os.access(directory, os.W_OK | os.X_OK) else default_cache_dir()


def prune_cache(cache: Path, keep_days: float = CACHE_KEEP_DAYS) -> int:
    """Remove the cache files not read or written for `keep_days` days (points of pruned snapshots,
    of an older ecr-audit); returns how many. Best effort: what cannot be removed stays."""
    cutoff = time.time() - keep_days * 86400
    removed = 0
    try:  # the directory itself, never a link swapped in for it since it was chosen
        fd = os.open(cache, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except (OSError, AttributeError):  # AttributeError: no O_DIRECTORY / O_NOFOLLOW (Windows)
        return 0
    try:
        for e in list(os.scandir(fd)):
            try:
                if (
                    e.name.endswith(".json")
                    and e.is_file(follow_symlinks=False)
                    and e.stat(follow_symlinks=False).st_mtime < cutoff
                ):
                    os.unlink(e.name, dir_fd=fd)
                    removed += 1
            except OSError:
                pass
    finally:
        os.close(fd)
    return removed


def of_history(
    directory,
    metrics: Iterable[str] = tuple(METRICS),
    stale_days: int = 90,
    cache_dir=None,
    workers: int | None = None,
):
    """`points` over every loadable snapshot of a history directory (`history.snapshots`); the
    snapshots that cannot be loaded are rows with their problem. `cache_dir` None: the history's
    own cache (`history_cache_dir`), pruned of entries unused for CACHE_KEEP_DAYS days."""
    from . import history

    listing = history.snapshots(directory)
    loadable = listing[listing["is_loadable"].astype(bool)]
    own = cache_dir is None  # the history's cache or $ECR_AUDIT_CACHE_DIR: ours to prune
    if cache_dir is None:
        cache_dir = history_cache_dir(directory)
    out = points(loadable, metrics, stale_days, cache_dir, workers)
    if own:
        prune_cache(Path(cache_dir))
    bad = listing[~listing["is_loadable"].astype(bool)]
    if len(bad):
        extra = pd.DataFrame(
            {
                "name": bad["name"].astype(str),
                "path": bad["path"].astype(str),
                "collected_at": pd.to_datetime(bad["collected_at"], utc=True),
                "completeness": bad["completeness"],
                "problem": bad["problem"].fillna("not loadable").astype(str),
            }
        )
        out = pd.concat([out, extra], ignore_index=True).sort_values("collected_at", kind="stable")
    return out.reset_index(drop=True)


# What each chart draws: (metric, columns, y-axis kind: money | bytes | count).
CHARTS = {
    "cost": ("cost", ["cost_usd_per_month"], "money", "Monthly storage cost"),
    "images": ("inventory", ["images", "repositories"], "count", "Images and repositories"),
    "stale": ("stale", ["stale_bytes"], "bytes", "Bytes of stale images"),
    "findings": ("findings", list(SEVERITIES), "count", "Findings by severity"),
}
SEVERITY_COLORS = {"critical": "#991b1b", "high": "#dc2626", "medium": "#f59e0b", "low": "#2563eb"}
SEVERITY_COLORS["info"] = "#9ca3af"


def plot(pts: pd.DataFrame, chart: str, ax) -> None:
    """Draw trend `chart` (a key of CHARTS) of `points` on the matplotlib axes `ax`: one line per
    column over collection time; snapshots without a value leave a gap."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from . import formats

    _, columns, kind, _title = CHARTS[chart]
    x = pts["collected_at"]
    factor, unit = 1.0, ""
    if kind == "bytes":
        unit, factor = formats.unit_for(float(pts[columns].max().max() or 0))
    for col in columns:
        style = {"color": SEVERITY_COLORS[col]} if col in SEVERITY_COLORS else {}
        ax.plot(x, pts[col] / factor, marker="o", markersize=3, label=formats.label(col), **style)
    if kind == "money":
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"${v:,.2f}"))
        ax.set_ylabel("USD per month")
    elif kind == "bytes":
        ax.set_ylabel(unit)
    else:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
    if len(columns) > 1:
        ax.legend(loc="upper left", fontsize="small")
    ax.figure.autofmt_xdate()


def since_line(summary: dict) -> str:
    """`since 2026-11-20: +2 critical, −3 resolved, cost +4.1%` from `Changes.summary()`: new (or
    reopened) critical findings, resolved findings, and the change of the monthly storage cost over
    the repositories read in both snapshots (`cost n/a` when the older cost was zero)."""
    from . import formats

    pct = summary.get("cost_delta_pct")
    cost = "cost n/a" if pct is None else f"cost {'+' if pct >= 0 else '−'}{abs(pct):.1f}%"
    return (
        f"since {formats.date(summary.get('since'))}: +{int(summary.get('new_critical', 0))} critical, "
        f"−{int(summary.get('resolved', 0))} resolved, {cost}"
    )


__all__ = [
    "CHARTS",
    "METRICS",
    "cache_key",
    "default_cache_dir",
    "of_history",
    "plot",
    "point",
    "points",
    "since_line",
]
