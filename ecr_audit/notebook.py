"""Helpers that keep report notebooks thin and their HTML and charts safe.

Everything shown goes through escaping: AWS text (repository names, tags, policy Sids) is
untrusted and must render as text. In HTML (`esc`, `table`, `headline`, `header`) it is escaped,
bidi and control characters are shown as escapes (`export.visible`) and missing values are blank.
In charts every text of the figure goes through `chart_text` when `chart` shows it: a `$` from
AWS is never matplotlib math and TeX is off. When a notebook runs under `ecr-audit report`, the
environment names the report directory so that full tables are written beside the page as
CSV and headline numbers are collected for index.html.
"""

from __future__ import annotations

import functools
import html
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from . import times
from .export import to_csv, visible
from .inventory import Inventory
from .snapshot import load

REPORT_DIR_ENV = "ECR_AUDIT_REPORT_DIR"
REPORT_NAME_ENV = "ECR_AUDIT_REPORT_NAME"


def _display_html(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


def open_snapshot(snapshot: str = "") -> Inventory:
    """Load `snapshot`; empty means the demo snapshot (built on first use)."""
    if not snapshot:
        from .demo import demo_snapshot

        snapshot = str(demo_snapshot())
    return load(snapshot)


def as_of(inv: Inventory, value: str = "") -> pd.Timestamp:
    """The evaluation time: `value` (ISO date) or the snapshot's collection time (`times.as_of`)."""
    return times.as_of(inv, value)


def _missing(value) -> bool:
    """None, NaN, NaT or pd.NA (and not a list, which is never missing as a whole)."""
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def text(value) -> str:
    """How a value reads on a page: blank when missing, hidden characters shown as escapes."""
    return "" if _missing(value) else visible(str(value))


def esc(value) -> str:
    """`text(value)` escaped for HTML."""
    return html.escape(text(value), quote=True)


def provenance(inv: Inventory) -> dict:
    """The facts every page states about its snapshot."""
    m = inv.meta
    cov = inv.coverage
    opts = m.get("options") or {}
    org = m.get("organization") or {}
    return {
        "collected_at": m.get("collected_at", "unknown"),
        "source": m.get("source", "unknown"),
        "caller": (m.get("caller") or {}).get("arn", "unknown"),
        "organization": org.get("id") or "none",
        "accounts": len(m.get("accounts") or inv.accounts.query("collection_status != 'skipped'")),
        "regions": ", ".join(m.get("regions") or sorted(cov["region"].dropna().unique())),
        "manifest mode": opts.get("read_manifests", "unknown"),
        "manifests read": f"{int(cov['has_read_manifests'].fillna(False).sum())} of {len(cov)} account × region units",
        "completeness": m.get("completeness", "unknown"),
        "errors": len(inv.errors),
    }


# JupyterLab's stylesheet right-aligns table cells; names and ARNs read better left-aligned.
_STYLE = (
    "<style>table.ecr-audit td, table.ecr-audit th, table.provenance td, table.provenance th"
    "{text-align:left !important; vertical-align:top}</style>"
)


def header(inv: Inventory, title: str | None = None) -> None:
    """Provenance and coverage: what was attempted, what was read, what failed.

    `title` is shown only when given (notebooks usually open with their own Markdown title)."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in provenance(inv).items())
    heading = f"<h1>{esc(title)}</h1>" if title else "<h3>Snapshot</h3>"
    _display_html(f"{_STYLE}{heading}<table class='provenance'>{rows}</table>")
    status = inv.coverage.groupby("status", dropna=False).size().rename("account × region units")
    table(status.reset_index(), caption="Coverage", top=20)
    if len(inv.errors):
        summary = (
            inv.errors.groupby(["error_kind", "operation"], dropna=False)
            .size()
            .rename("errors")
            .reset_index()
            .sort_values("errors", ascending=False)
        )
        table(summary, caption="What could not be read (see errors for every row)", top=20, name="errors")


def markdown(markup: str) -> None:
    """Show the notebook author's own Markdown (never AWS text: use `table`, which escapes)."""
    from IPython.display import Markdown, display

    display(Markdown(markup))


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "table"


def table(df: pd.DataFrame, top: int = 50, name: str | None = None, caption: str | None = None) -> None:
    """An escaped HTML table of the first `top` rows; the whole frame as CSV beside the report.

    Lists and dicts in cells are shown as comma-joined text. When `name` is given and the
    notebook runs under `ecr-audit report`, `<notebook>-<name>.csv` is written and linked.
    """
    shown = _displayed(df.head(top))
    parts = []
    if caption:
        parts.append(f"<h4>{esc(caption)}</h4>")
    if df.empty:
        parts.append("<p><em>none</em></p>")
    else:
        parts.append(
            _STYLE + shown.to_html(index=False, escape=True, na_rep="", border=0, classes="ecr-audit")
        )
        note = f"{len(df):,} row{'s' if len(df) != 1 else ''}" + (
            f", first {top} shown" if len(df) > top else ""
        )
        csv = _write_csv(df, name) if name else None
        if csv:
            note += f" — <a href='{esc(csv)}' download>all rows as CSV</a>"
        parts.append(f"<p class='table-note'>{note}</p>")
    _display_html("".join(parts))


def _cell(value):
    if isinstance(value, (list, tuple, np.ndarray)):
        return visible(", ".join(map(str, value)))
    if _missing(value):
        return ""
    return visible(value) if isinstance(value, str) else value


def _displayed(df: pd.DataFrame) -> pd.DataFrame:
    """`df` as `table` shows it: list cells joined, hidden characters shown, and every missing
    value blank (`to_html`'s na_rep covers NaN and NaT, but not None or pd.NA, which rendered
    as "None" and "<NA>")."""
    cols = {}
    for i in range(df.shape[1]):
        s = df.iloc[:, i]
        if pd.api.types.is_float_dtype(s.dtype):
            s = s.astype("float64")  # Float64's NA -> NaN, which na_rep blanks
        elif not (
            (isinstance(s.dtype, np.dtype) and s.dtype != object) or isinstance(s.dtype, pd.DatetimeTZDtype)
        ):  # NaN / NaT: na_rep blanks them
            s = s.astype(object).map(_cell)  # text, categories, Int64, boolean, ...
        cols[i] = s
    out = pd.concat(cols, axis=1) if cols else df.copy()
    out.columns = [text(c) for c in df.columns]
    return out


def _write_csv(df: pd.DataFrame, name: str) -> str | None:
    out = os.environ.get(REPORT_DIR_ENV)
    if not out:
        return None
    fname = f"{_safe_name(os.environ.get(REPORT_NAME_ENV, 'report'))}-{_safe_name(name)}.csv"
    to_csv(df, Path(out) / fname)
    return fname


def headline(label: str, value, show: bool = True) -> None:
    """Record a headline number for the report's index page (and show it here unless `show` is False)."""
    if show:
        _display_html(f"<p class='headline'><strong>{esc(label)}:</strong> {esc(value)}</p>")
    out = os.environ.get(REPORT_DIR_ENV)
    if not out:
        return
    path = Path(out) / f"{_safe_name(os.environ.get(REPORT_NAME_ENV, 'report'))}.headlines.json"
    items = json.loads(path.read_text()) if path.exists() else []
    shown = "" if _missing(value) else str(value)
    items = [i for i in items if i["label"] != label] + [{"label": label, "value": shown}]
    path.write_text(json.dumps(items))


def chart_text(value) -> str:
    """`value` as a matplotlib text that is drawn exactly as it reads: every `$` escaped (an even
    number of them would otherwise start mathtext, whose parser fails on unknown macros such as
    `o-$\\undefinedmacro{$`), hidden characters shown as escapes, missing values blank."""
    return text(value).replace("$", r"\$")


@functools.cache
def _escaped_formatter_class():
    from matplotlib.ticker import Formatter

    class Escaped(Formatter):
        """Tick labels of a string formatter (data labels), passed through `chart_text`."""

        def __init__(self, inner):
            self.inner = inner

        def __call__(self, x, pos=None):
            return chart_text(self.inner(x, pos))

        def format_ticks(self, values):
            return [chart_text(v) for v in self.inner.format_ticks(values)]

        def set_axis(self, axis):
            super().set_axis(axis)
            self.inner.set_axis(axis)

        def set_locs(self, locs):
            self.inner.set_locs(locs)

    return Escaped


def _escape_figure(fig) -> None:
    """Every text of `fig` through `chart_text` (once) with TeX off; tick labels that can come from
    data are escaped whenever the axis draws them. Those are the formatters of `set_ticklabels`
    (fixed, or a function of the position in matplotlib >= 3.10), of string categories, and any
    function formatter; numeric formatters, whose text matplotlib writes itself (possibly as
    mathtext, e.g. log axes), are left alone."""
    from matplotlib.category import StrCategoryFormatter
    from matplotlib.text import Text
    from matplotlib.ticker import FixedFormatter, FuncFormatter

    escaped = _escaped_formatter_class()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            for get, put in (
                (axis.get_major_formatter, axis.set_major_formatter),
                (axis.get_minor_formatter, axis.set_minor_formatter),
            ):
                if isinstance(get(), (FixedFormatter, FuncFormatter, StrCategoryFormatter)):
                    put(escaped(get()))
    for t in fig.findobj(Text):
        if getattr(t, "_ecr_audit_text", None) != t.get_text():
            t.set_text(chart_text(t.get_text()))
            t._ecr_audit_text = t.get_text()
        t.set_usetex(False)


def chart(ax, title: str | None = None):
    """Finish a matplotlib chart consistently and show it (embedded as PNG in the HTML).

    Every chart of a report goes through here: its texts (ticks, titles, axis labels, legends,
    annotations) are made literal by `chart_text` before it is drawn."""
    import matplotlib.pyplot as plt

    if title:
        ax.set_title(title)
    _escape_figure(ax.figure)
    with plt.rc_context({"text.usetex": False}):
        ax.figure.tight_layout()
        plt.show()


def fold(matrix: pd.DataFrame, limit: int = 30) -> pd.DataFrame:
    """`matrix` with at most `limit` rows and columns: the largest by total are kept and the rest
    summed into one "other (N)" row and column, so totals are unchanged."""

    def fold_axis(m: pd.DataFrame) -> pd.DataFrame:
        if len(m) <= limit:
            return m
        keep = m.sum(axis=1).sort_values(ascending=False, kind="stable").index[: limit - 1]
        rest = m.drop(index=keep)
        other = pd.DataFrame([rest.sum()], index=[f"other ({len(rest)})"])
        return pd.concat([m.loc[keep], other])

    return fold_axis(fold_axis(matrix).T).T


def heatmap(matrix: pd.DataFrame, title: str, xlabel: str = "", ylabel: str = "", limit: int = 30) -> None:
    """A counts matrix as an annotated heatmap (labels are drawn into the PNG, never as HTML;
    `chart` makes them literal).

    At most `limit` rows and columns are drawn (`fold`); the title says when others are folded."""
    import matplotlib.pyplot as plt
    import numpy as np

    if matrix.shape[0] > limit or matrix.shape[1] > limit:
        title = f"{title} (largest {limit - 1} of {matrix.shape[0]} × {matrix.shape[1]}, rest folded into 'other')"
        matrix = fold(matrix, limit)
    values = matrix.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(1.2 + 0.9 * matrix.shape[1], 1.2 + 0.6 * matrix.shape[0]))
    ax.imshow(values, cmap="Reds", aspect="auto", vmin=0)
    ax.set_xticks(range(matrix.shape[1]), [str(c) for c in matrix.columns], rotation=45, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [str(i) for i in matrix.index])
    top = values.max() if values.size else 0
    for i, j in zip(*np.nonzero(values)):
        ax.text(
            j,
            i,
            int(values[i, j]),
            ha="center",
            va="center",
            color="white" if values[i, j] > top / 2 else "black",
        )  # readable on dark cells
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    chart(ax, title)
