"""Trends over a history of snapshots: one point per snapshot for each metric a chart shows.

`points(snapshots, metrics)` gives one row per snapshot (name, path, collected_at, completeness,
problem) with the columns of the metrics asked for (`METRICS`):

- `inventory`: repositories and images, from the row counts of the snapshot's manifest (no frame
  is read);
- `cost`: the monthly storage cost (`cost.rollup(cost.storage(inv), "total")`) and how many
  repositories it leaves out (undetermined) or only bounds;
- `stale`: images not active for `stale_days` days and their bytes (`images.stale`; index
  manifests, whose size is their children's, not counted);
- `findings`: findings per severity (`findings.findings`: every frame the checks read).

Each metric reads only what it needs (snapshots load lazily). A snapshot never changes once
written, so a computed point is cached on disk, keyed by the snapshot's manifest (which holds
every frame's checksum) and by the code of this package: a history of daily snapshots computes
each day's point once. A snapshot that cannot be read gives a row with its `problem` and empty
values: charts show a gap there, never a zero.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from .findings import SEVERITIES
from .snapshot import SnapshotError, load

METRICS = {
    "inventory": ("repositories", "images"),
    "cost": ("cost_usd_per_month", "repositories_undetermined", "repositories_upper_bound"),
    "stale": ("stale_images", "stale_bytes"),
    "findings": tuple(SEVERITIES),
}
BASE_COLUMNS = ["name", "path", "collected_at", "completeness", "problem"]
CACHE_ENV = "ECR_AUDIT_CACHE_DIR"


def default_cache_dir() -> Path:
    """$ECR_AUDIT_CACHE_DIR, else `trends` in the user's cache directory."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit) / "trends"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "ecr-audit" / "trends"


@functools.cache
def _code_fingerprint() -> str:
    """Changes whenever any module of the package changes (a point computed by other code is stale)."""
    h = hashlib.sha256()
    for f in sorted(Path(__file__).parent.rglob("*.py")):
        h.update(f.read_bytes())
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

    counts = findings.findings(inv)["severity"].astype(str).value_counts()
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}


def _compute(inv, metric: str, stale_days: int) -> dict:
    if metric == "inventory":
        return _inventory(inv)
    if metric == "cost":
        return _cost(inv)
    if metric == "stale":
        return _stale(inv, stale_days)
    return _findings(inv)


def cache_key(path: Path, metric: str, stale_days: int) -> str:
    """The name of a point's cache file: the snapshot's manifest, the metric and this code."""
    manifest = (path / "manifest.json").read_bytes()
    args = f"{metric}|{stale_days if metric == 'stale' else ''}|{_code_fingerprint()}".encode()
    return hashlib.sha256(manifest + b"\0" + args).hexdigest()


def point(path, metrics: Iterable[str] = tuple(METRICS), stale_days: int = 90, cache_dir=None) -> dict:
    """One row of `points` for the snapshot at `path`."""
    path = Path(path)
    cache = None if cache_dir is False else Path(cache_dir or default_cache_dir())
    row: dict = {"name": path.name, "path": str(path), "problem": ""}
    try:
        inv = load(path, verify=False)  # a point reads a few frames: those are checked as they load
        row["collected_at"] = pd.Timestamp(inv.meta.get("collected_at"))
        row["completeness"] = inv.meta.get("completeness", "")
        for metric in metrics:
            if metric not in METRICS:
                raise ValueError(f"unknown metric {metric!r} (one of {', '.join(METRICS)})")
            key = cache_key(path, metric, stale_days) if cache else ""
            hit = cache / f"{key}.json" if cache else None
            if hit is not None and hit.is_file():
                row.update(json.loads(hit.read_text()))
                continue
            values = _compute(inv, metric, stale_days)
            row.update(values)
            if hit is not None:
                _write_atomically(hit, json.dumps(values))
    except (SnapshotError, OSError) as e:
        row["problem"] = str(e)
    return row


def _write_atomically(path: Path, text: str) -> None:
    """Best effort (a cache): a read-only or full cache directory only costs the recomputation."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
    except OSError:
        pass


def points(
    snapshots, metrics: Iterable[str] = tuple(METRICS), stale_days: int = 90, cache_dir=None
) -> pd.DataFrame:
    """One row per snapshot (paths, or a frame with a `path` column such as `history.snapshots`),
    oldest first: BASE_COLUMNS and the columns of `metrics`. `cache_dir=False` computes every point."""
    metrics = tuple(metrics)
    paths = list(snapshots["path"]) if isinstance(snapshots, pd.DataFrame) else list(snapshots)
    rows = [point(p, metrics, stale_days, cache_dir) for p in paths]
    columns = BASE_COLUMNS + [c for m in metrics for c in METRICS[m]]
    out = pd.DataFrame(rows, columns=columns)
    out["collected_at"] = pd.to_datetime(out["collected_at"], utc=True)
    for c in columns[len(BASE_COLUMNS) :]:
        out[c] = pd.to_numeric(out[c])
    return out.sort_values("collected_at", kind="stable", na_position="first").reset_index(drop=True)


def of_history(directory, metrics: Iterable[str] = tuple(METRICS), stale_days: int = 90, cache_dir=None):
    """`points` over every loadable snapshot of a history directory (`history.snapshots`); the
    snapshots that cannot be loaded are rows with their problem."""
    from . import history

    listing = history.snapshots(directory)
    loadable = listing[listing["is_loadable"].astype(bool)]
    out = points(loadable, metrics, stale_days, cache_dir)
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
