"""Helpers that keep report notebooks thin, their pages readable and their HTML and charts safe.

A page is a notebook: a Markdown title (`# ...` and one line on what the page answers), one
Markdown cell tagged `parameters-doc` documenting the parameters (the page shows it at its end),
one `parameters` cell, then calls to the analyses and to these helpers:

    inv = nb.open_snapshot(snapshot)      # also learns account and OU names for every table
    nb.header(inv)                        # provenance on one line, coverage on the next
    nb.headlines([("Public grants", 3), ("Monthly cost", formats.money(x), "upper bound")])
    nb.table(df, name="grants", caption="Every grant", columns=[...], sort="severity")
    nb.bars(by_account, "account_id", "cost_usd_per_month", title="Monthly cost by account")

| helper | shows |
|---|---|
| `header(inv)` | provenance and a coverage line; `coverage(inv)` the detail (status, every unit, errors) |
| `headline` / `headlines` | headline numbers as tiles, also gathered on index.html (format money and bytes first) |
| `table(df, ...)` | a formatted table (below); `name=` writes the whole frame as `<page>-<name>.csv` |
| `bars(df, label, value, ...)` | bars on $ or GiB axes, accounts by name, `stacked=` or `panels=` |
| `heatmap(matrix, ...)` | a counts matrix, accounts and this organization by name, large ones folded |
| `chart(ax, title)` | any other matplotlib chart, made safe and shown |
| `fix_first(rows)` / `write_findings(found)` | "what to fix first" (`summary.fix_first`) and findings.csv/json |
| `account(id)`, `ou(path)`, `names()` | `payments (012345678901)`; OU names, else ids |
| `markdown(text)` | the author's own Markdown (never AWS text) |

Tables (`table`, rendered by `pages.table`): numbers for people, decided once from the column
name (`formats.kind`: `_bytes` → `1.5 GiB`, `_usd…` → `$1,234.56`, `_at` → `2026-11-27`,
`is_/has_/can_` → ✓, `*_digest` → `sha256:1a42b3c4…` with the digest in a tooltip, account ids
→ name and id, `ou_path` → OU names); at most eight columns on the page, the deciding ones first
(`columns=` chooses them, `first=` prefers them where a frame's columns depend on the data), the
rest in the CSV, which keeps raw values; long text cut with a count (`a, b, c (+12)`) and whole
in a tooltip; a long text equal on every row (a remediation) said once above the table; `sort=`
orders rows (severity first, largest numbers first).

Section anchors: start a Markdown heading with `<a id="name"></a>` (`## <a id="lint"></a>Lint`)
so the "what to fix first" links (`summary.SECTIONS`) stay stable; a test checks each one.

Safety: everything shown goes through escaping. AWS text (repository names, tags, policy Sids)
is untrusted and must render as text: in HTML (`esc`, `table`, `headline`, `header`) it is
escaped, bidi and control characters are shown as escapes (`export.visible`) and missing values
are blank. In charts every text of the figure goes through `chart_text` when `chart` shows it:
a `$` from AWS is never matplotlib math and TeX is off. Under `ecr-audit report` the
environment names the report directory: tables are written there as CSV, headline numbers and
the "what to fix first" rows go to its `.logs/` folder for index.html.
"""

from __future__ import annotations

import functools
import json
import os
import re
from pathlib import Path

import pandas as pd

from . import formats, pages, times
from .export import to_csv, visible
from .formats import Names
from .inventory import Inventory
from .snapshot import SnapshotError, load

REPORT_DIR_ENV = "ECR_AUDIT_REPORT_DIR"
REPORT_NAME_ENV = "ECR_AUDIT_REPORT_NAME"
# The runner's working files inside a report directory (kernel logs, headlines, fix-first rows):
# not part of what a reader opens.
WORK_DIR = ".logs"
_PAGE: dict = {"names": Names()}


def _display_html(markup: str) -> None:
    from IPython.display import HTML, display

    display(HTML(markup))


# Where relative snapshot paths are meant from. A kernel runs in its notebook's directory
# (ecr_audit/notebooks/ under `make lab`), not where the user started JupyterLab: `make lab` sets
# this to the directory it was run from, and a user can set it for `jupyter lab` as well.
WORKDIR_ENV = "ECR_AUDIT_WORKDIR"


def snapshot_path(snapshot) -> Path:
    """`snapshot` as an absolute path: a relative one is taken from $ECR_AUDIT_WORKDIR when set,
    else from the current directory."""
    path = Path(snapshot).expanduser()
    if path.is_absolute():
        return path
    return Path(os.environ.get(WORKDIR_ENV) or Path.cwd()).resolve() / path


def open_snapshot(snapshot: str = "") -> Inventory:
    """Load `snapshot` (relative paths: see `snapshot_path`); empty means the demo snapshot
    (built on first use, which needs the sandbox extra). A missing snapshot is an error naming
    the absolute path that was tried. Its account and OU names label every table and chart of
    the page from then on."""
    if not snapshot:
        import importlib.util

        if importlib.util.find_spec("moto") is None:
            raise SnapshotError(
                "no snapshot given, and the demo snapshot needs the sandbox extra (pip install "
                "'ecr-audit[sandbox]'): set snapshot = \"snapshots/...\" in the parameters cell"
            )
        from .demo import demo_snapshot

        snapshot = str(demo_snapshot())
        inv = load(snapshot)
        use(inv)
        return inv
    path = snapshot_path(snapshot)
    if not path.exists():
        base = f"${WORKDIR_ENV}" if os.environ.get(WORKDIR_ENV) else "the current directory"
        raise SnapshotError(
            f"snapshot {str(snapshot)!r} not found: tried {path} (a relative path is taken from {base}; "
            f"give an absolute path, or set {WORKDIR_ENV} to the directory it is relative to)"
        )
    inv = load(path)
    use(inv)
    return inv


def use(inv: Inventory) -> Names:
    """Label the page's accounts and OUs with the names in `inv` (done by `open_snapshot`)."""
    _PAGE["names"] = Names.of(inv)
    return _PAGE["names"]


def names() -> Names:
    """The page's account and OU names (`formats.Names`)."""
    return _PAGE["names"]


def account(account_id) -> str:
    """`payments (012345678901)`: an account by name with its id."""
    return names().account(account_id)


def ou(value) -> str:
    """An OU id or `ou_path` by name (ids where no name is known)."""
    return names().ou(value)


def as_of(inv: Inventory, value: str = "") -> pd.Timestamp:
    """The evaluation time: `value` (ISO date) or the snapshot's collection time (`times.as_of`)."""
    return times.as_of(inv, value)


_missing = formats.missing


def text(value) -> str:
    """How a value reads on a page: blank when missing, hidden characters shown as escapes."""
    return "" if _missing(value) else visible(str(value))


esc = pages.esc


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


def _under_report() -> Path | None:
    out = os.environ.get(REPORT_DIR_ENV)
    return Path(out) if out else None


def _page_name() -> str:
    return _safe_name(os.environ.get(REPORT_NAME_ENV, "report"))


def header(inv: Inventory, title: str | None = None) -> None:
    """The page's header: provenance on one line, coverage on the next, a link to the coverage
    detail (index.html) under `ecr-audit report`. `title` is shown only when given (notebooks
    open with their own Markdown title)."""
    from .summary import coverage_line

    line, ok = coverage_line(inv)
    heading = f"<h1>{esc(title)}</h1>" if title else ""
    href = "index.html#coverage" if _under_report() else ""
    _display_html(pages.STYLE + heading + pages.header(provenance(inv), line, ok, href))


def coverage(inv: Inventory) -> None:
    """Coverage in detail (`summary.coverage_detail`): the status of every account × region unit,
    what could not be read, and the accounts not collected."""
    from .summary import coverage_detail

    for name, caption, frame, columns in coverage_detail(inv):
        table(frame, caption=caption, name=name, columns=columns)


def markdown(markup: str) -> None:
    """Show the notebook author's own Markdown (never AWS text: use `table`, which escapes)."""
    from IPython.display import Markdown, display

    display(Markdown(markup))


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "table"


def table(
    df: pd.DataFrame,
    top: int = 50,
    name: str | None = None,
    caption: str | None = None,
    columns: list | None = None,
    sort=None,
    once: tuple = (),
    anchor: str | None = None,
    max_columns: int = 8,
    first: list | None = None,
) -> None:
    """An escaped, formatted HTML table of the first `top` rows (`pages.table`); the whole frame
    as CSV beside the page when `name` is given. `columns`: the columns on the page, in order
    (the deciding one first); `first`: columns to put first where the frame has them (the rest
    fill up to `max_columns`); `sort`: a column or list to order rows by (severity, then largest
    first); `once`: columns said once above the table when they hold one value on every row."""
    if sort is not None and not df.empty:
        df = pages.sort_rows(df, sort)
    csv = _write_csv(df, name) if name else None
    _display_html(
        pages.STYLE
        + pages.table(
            df,
            names=names(),
            top=top,
            columns=columns,
            first=first,
            once=once,
            caption=caption,
            anchor=anchor,
            csv_href=csv,
            max_columns=max_columns,
        )
    )


def _write_csv(df: pd.DataFrame, name: str) -> str | None:

    out = _under_report()
    if not out:
        return None
    fname = f"{_page_name()}-{_safe_name(name)}.csv"
    to_csv(df, out / fname)
    return fname


def _work_file(suffix: str) -> Path | None:
    out = _under_report()
    if not out:
        return None
    (out / WORK_DIR).mkdir(exist_ok=True)
    return out / WORK_DIR / f"{_page_name()}.{suffix}"


def _shown(value) -> str:
    if isinstance(value, bool):
        return formats.boolean(value)
    if isinstance(value, int) or (hasattr(value, "dtype") and pd.api.types.is_integer_dtype(value.dtype)):
        return formats.count(value)
    if isinstance(value, float):
        return formats.number(value)
    return text(value)


def headline(label: str, value, note: str = "", show: bool = True) -> None:
    """Record a headline number for index.html (and show it here unless `show` is False).
    Integers are shown with thousands separators; format money and bytes first
    (`formats.money`, `formats.size`)."""
    shown = _shown(value)
    if show:
        _display_html(pages.STYLE + pages.headlines([{"label": label, "value": shown, "note": note}]))
    path = _work_file("headlines.json")
    if path is None:
        return
    items = json.loads(path.read_text()) if path.exists() else []
    items = [i for i in items if i["label"] != label] + [{"label": label, "value": shown, "note": note}]
    path.write_text(json.dumps(items))


def headlines(rows, show: bool = True) -> None:
    """Several headlines as one row of tiles: a frame with columns label, value, note, or a list
    of (label, value) or (label, value, note)."""
    if isinstance(rows, pd.DataFrame):
        notes = rows["note"] if "note" in rows else [""] * len(rows)
        rows = list(zip(rows["label"], rows["value"], notes))
    items = []
    for row in rows:
        label, value, note = (*row, "")[:3]
        items.append({"label": label, "value": _shown(value), "note": "" if _missing(note) else str(note)})
    for i in items:
        headline(i["label"], i["value"], i["note"], show=False)
    if show:
        _display_html(pages.STYLE + pages.headlines(items))


def fix_first(rows: pd.DataFrame) -> None:
    """Show "what to fix first" (`summary.fix_first` rows) and keep the rows for index.html."""
    _display_html(pages.STYLE + pages.fix_first(rows, names()))
    path = _work_file("fix-first.json")
    if path is not None:
        path.write_text(rows.to_json(orient="records"))


def write_findings(found: pd.DataFrame) -> None:
    """Under `ecr-audit report`: every finding as `findings.csv` and `findings.json` in the
    report directory (the formats of `ecr-audit findings`), linked from index.html."""

    out = _under_report()
    if out is None:
        return
    to_csv(found, out / "findings.csv")
    (out / "findings.json").write_text(found.to_json(orient="records", date_format="iso", indent=2))


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

    fig = ax.figure
    if title:
        if len(fig.axes) > 1:
            fig.suptitle(title)
        else:
            ax.set_title(title)
    _escape_figure(fig)
    with plt.rc_context({"text.usetex": False}):
        fig.tight_layout()
        plt.show()


def _label(column: str, value) -> str:
    return names().of_kind(formats.kind(column), value)


def _axis(ax, kind: str, which: str, raw_max: float, column: str = ""):
    """Put `kind`'s unit on the value axis; returns the factor the values were divided by."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    axis = ax.xaxis if which == "x" else ax.yaxis
    set_label = ax.set_xlabel if which == "x" else ax.set_ylabel
    if kind in ("bytes", "tb", "gb"):
        unit, factor = formats.unit_for(raw_max)
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.3g}"))
        set_label(unit)
        return factor
    if kind == "money":
        decimals = 2 if raw_max < 10 else 0
        axis.set_major_formatter(FuncFormatter(lambda x, _: f"${x:,.{decimals}f}"))
        set_label("USD per month" if "per_month" in column else "USD")
        return 1.0
    axis.set_major_locator(MaxNLocator(integer=kind == "count"))
    axis.set_major_formatter(FuncFormatter(lambda x, _: formats.number(x)))
    return 1.0


def bars(
    df: pd.DataFrame,
    label: str,
    value,
    title: str | None = None,
    kind: str | None = None,
    stacked: bool = False,
    panels: bool = False,
    horizontal: bool | None = None,
    top: int | None = None,
    axis_label: str | None = None,
    colors=None,
    legend_title: str | None = None,
) -> None:
    """A bar chart of `df[value]` per `df[label]`, shown through `chart`.

    `value`: a column, or several (side by side, `stacked`, or one `panels` each). The value
    axis carries the unit of the column's kind (`formats.kind`): GiB (or the unit that reads
    best) for bytes, $ for money, whole numbers for counts; each bar (or stack) says its value.
    `colors`: a {column: color} mapping, one color per value column, or (one column) one per bar.
    Account ids and OU paths in `label` are shown by name. Bars turn horizontal when a label is
    longer than 12 characters or there are more than 8 of them (largest first, on top)."""
    import matplotlib.pyplot as plt
    import numpy as np

    values = [value] if isinstance(value, str) else list(value)
    d = df if top is None else df.head(top)
    labels = [_label(label, v) for v in d[label]]
    n = len(labels)
    longest = max((len(t) for t in labels), default=0)
    if horizontal is None:
        horizontal = n > 8 or longest > 12
    groups = [[v] for v in values] if panels else [values]
    if horizontal:
        size = (10 if not panels else 12, 0.38 * n + 1.4)
    else:
        size = (min(max(5.0, 0.9 * n + 2), 11) * (len(groups) if panels else 1), 3.6)
    size = (min(size[0], 13), size[1])
    fig, axes = plt.subplots(1, len(groups), figsize=size, squeeze=False, sharey=horizontal and panels)
    pos = np.arange(n)
    for ax, cols in zip(axes[0], groups):
        k = kind or formats.kind(cols[0], d[cols[0]].dtype)
        raw = d[cols].apply(pd.to_numeric, errors="coerce").astype(float).fillna(0.0)
        total = raw.sum(axis=1) if stacked else raw.max(axis=1)
        factor = _axis(ax, k, "x" if horizontal else "y", float(total.max()) if n else 0.0, cols[0])
        width = 0.8 / (1 if stacked or len(cols) == 1 else len(cols))
        base = np.zeros(n)
        for i, col in enumerate(cols):
            shift = 0 if stacked or len(cols) == 1 else (i - (len(cols) - 1) / 2) * width
            color = _color(colors, cols, i)
            kw = {"color": color, "label": formats.label(col) if len(cols) > 1 else None}
            vals = raw[col].to_numpy() / factor
            if horizontal:
                ax.barh(pos + shift, vals, height=width, left=base if stacked else None, **kw)
            else:
                ax.bar(pos + shift, vals, width=width, bottom=base if stacked else None, **kw)
            if stacked:
                base = base + vals
            if not stacked:
                for p, v, r in zip(pos + shift, vals, raw[col]):
                    _annotate(ax, p, v, formats.value(r, k), horizontal)
        if stacked:
            for p, v, r in zip(pos, base, total):
                _annotate(ax, p, v, formats.value(r, k), horizontal)
        if not (raw.to_numpy() < 0).any():  # bars start at 0, also when every value is 0
            top_value = float(total.max()) / factor if n else 0.0
            (ax.set_xlim if horizontal else ax.set_ylim)(0, top_value * 1.15 if top_value > 0 else 1)
        if horizontal:
            ax.set_yticks(pos, labels)
            ax.invert_yaxis()
        else:
            ax.set_xticks(
                pos, labels, rotation=30 if longest > 6 else 0, ha="right" if longest > 6 else "center"
            )
        if panels:
            ax.set_title(formats.label(cols[0]))
        if axis_label is not None:
            (ax.set_xlabel if horizontal else ax.set_ylabel)(axis_label)
        if len(cols) > 1:
            ax.legend(title=legend_title, fontsize=9, loc="best")
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    chart(axes[0][0], title)


def _color(colors, cols: list, i: int):
    """`colors` of `bars`: a {column: color} mapping, one color per series, or (one series) one per bar."""
    if colors is None:
        return None
    if isinstance(colors, dict):
        return colors.get(cols[i])
    if isinstance(colors, str):
        return colors
    return colors[i % len(colors)] if len(cols) > 1 else list(colors)


def _annotate(ax, pos, height, shown: str, horizontal: bool) -> None:
    if not shown or height == 0:
        return
    if horizontal:
        ax.annotate(shown, (height, pos), xytext=(3, 0), textcoords="offset points", va="center", fontsize=8)
    else:
        ax.annotate(shown, (pos, height), xytext=(0, 2), textcoords="offset points", ha="center", fontsize=8)


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


def heatmap(
    matrix: pd.DataFrame,
    title: str,
    xlabel: str = "",
    ylabel: str = "",
    limit: int = 30,
    by_name: bool = True,
) -> None:
    """A counts matrix as an annotated heatmap (labels are drawn into the PNG, never as HTML;
    `chart` makes them literal). With `by_name`, account ids among the labels are shown by name
    (`Names.principal`).

    At most `limit` rows and columns are drawn (`fold`); the title says when others are folded."""
    import matplotlib.pyplot as plt
    import numpy as np

    if matrix.shape[0] > limit or matrix.shape[1] > limit:
        title = f"{title} (largest {limit - 1} of {matrix.shape[0]} × {matrix.shape[1]}, rest folded into 'other')"
        matrix = fold(matrix, limit)
    show = names().principal if by_name else str
    values = matrix.to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(min(2.5 + 0.9 * matrix.shape[1], 14), 1.6 + 0.45 * matrix.shape[0]))
    ax.imshow(values, cmap="Reds", aspect="auto", vmin=0)
    ax.set_xticks(range(matrix.shape[1]), [show(c) for c in matrix.columns], rotation=35, ha="right")
    ax.set_yticks(range(matrix.shape[0]), [show(i) for i in matrix.index])
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
