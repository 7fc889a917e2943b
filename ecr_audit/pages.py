"""HTML fragments shared by the report pages and index.html: style, navigation, header, tables.

Pure functions from frames to escaped HTML text; `notebook` displays them in a notebook, `report`
writes them into index.html and around each exported page. Every text from AWS goes through `esc`
(hidden characters shown by `export.visible`, then HTML-escaped), values through `formats`.

Tables are made for reading, not for dumping a frame: at most `max_columns` columns (the deciding
ones first; the rest stay in the CSV, which keeps raw values), long cells cut with a count of what
was left out and the whole text in a tooltip, no cell taller than four lines (`STYLE`), and a
long text that is the same on every row stated once above the table.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd

from . import formats
from .export import visible
from .formats import Names

# Row heights and widths are what the browser test measures: a cell shows at most four lines
# (`.c` clamps), text breaks anywhere rather than widen the table, numbers never wrap.
STYLE = """<style>
.ecr-nav{font:14px/1.4 system-ui,sans-serif;display:flex;flex-wrap:wrap;gap:2px 20px;align-items:baseline;
 padding:8px 20px;background:#1f2937;color:#d1d5db}
.ecr-nav a{color:#e5e7eb;text-decoration:none}.ecr-nav a:hover{text-decoration:underline}
.ecr-nav a.current{color:#fff;font-weight:600;border-bottom:2px solid #60a5fa}
.ecr-nav .brand{font-weight:600;color:#fff;margin-right:8px}
.ecr-head{font:13px/1.5 system-ui,sans-serif;color:#4b5563;margin:0 0 1em 0}
.ecr-head strong{color:#111827}.ecr-head .warn{color:#b45309}
.ecr-failed{font:14px/1.5 system-ui,sans-serif;padding:10px 20px;background:#fee2e2;color:#7f1d1d;
 border-bottom:1px solid #fca5a5}
.ecr-failed code{background:#fff;padding:0 3px}
table.ecr-audit{border-collapse:collapse;margin:.3em 0 .2em 0 !important;max-width:100%;font-size:13px;
 table-layout:auto}
table.ecr-audit th,table.ecr-audit td{text-align:left !important;vertical-align:top !important;
 padding:3px 10px !important;line-height:18px !important;border-bottom:1px solid #e5e7eb;
 overflow-wrap:anywhere;max-width:34em;white-space:normal}
table.ecr-audit th{font-weight:600;background:#f3f4f6;overflow-wrap:normal}
table.ecr-audit th.n,table.ecr-audit td.n{text-align:right !important;white-space:nowrap;
 font-variant-numeric:tabular-nums}
table.ecr-audit .c{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:4;line-clamp:4;
 overflow:hidden;max-height:72px}
table.ecr-audit .id{color:#6b7280;font-size:11px}
table.ecr-audit td.bool{text-align:center !important}
table.ecr-audit td.nw{white-space:nowrap;overflow-wrap:normal}
.sev{display:inline-block;padding:0 6px;border-radius:3px;font-size:12px;color:#fff;line-height:17px;
 white-space:nowrap}
.sev-critical{background:#7f1d1d}.sev-high{background:#dc2626}.sev-medium{background:#b45309}
.sev-low{background:#2563eb}.sev-info{background:#6b7280}
p.ecr-note{font-size:12px;color:#6b7280;margin:.1em 0 1.4em 0}
p.ecr-once{font-size:13px;margin:.2em 0 .4em 0}
h4.ecr-caption{margin:1.2em 0 .3em 0}
.ecr-headlines{display:flex;flex-wrap:wrap;gap:10px;margin:.5em 0 1em 0}
.ecr-headline{border:1px solid #e5e7eb;border-radius:6px;padding:6px 12px;min-width:11em;max-width:24em}
.ecr-headline .v{font-size:20px;font-weight:600;color:#111827}
.ecr-headline .l{font-size:12px;color:#4b5563}.ecr-headline .note{font-size:11px;color:#6b7280}
.ecr-params{font:13px/1.5 system-ui,sans-serif;color:#4b5563;border-top:1px solid #e5e7eb;margin-top:2em;
 padding:.5em 0 1em 0}
.jp-RenderedImage img,.ecr-page img{max-width:100%;height:auto}
.jp-Cell.jp-mod-noOutputs.jp-mod-noInput{display:none}
</style>"""

SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"]
# Columns that decide what a reader does with a row come first (after severities), then money.
DECIDING = ["verdict", "reason", "action", "exposure", "option", "status"]
CELL_CHARS = 900  # characters of text per row on the page, shared by its text columns
CELL_MAX = 200  # and at most this many in one cell (about four lines of its widest column)


def esc(value) -> str:
    """`value` as safe HTML text: blank when missing, hidden characters shown as escapes."""
    return html.escape("" if formats.missing(value) else visible(str(value)), quote=True)


def slug(text: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "section"


def nav(pages: list[tuple[str, str]], current: str = "") -> str:
    """The bar between pages: `pages` is [(href, title)], index first; `current` is an href."""
    links = "".join(
        f"<a href='{esc(href)}'{' class=current' if href == current else ''}>{esc(title)}</a>"
        for href, title in pages
    )
    return f"<nav class='ecr-nav'><span class='brand'>ecr-audit</span>{links}</nav>"


def header(prov: dict, coverage: str, coverage_ok: bool = True, coverage_href: str = "") -> str:
    """One compact header: the snapshot's provenance on one line, coverage on the next."""
    facts = [
        f"collected <strong>{esc(formats.when(prov.get('collected_at')) or prov.get('collected_at'))}</strong>",
        esc(prov.get("source")),
        f"organization {esc(prov.get('organization'))}",
        f"{esc(prov.get('accounts'))} accounts",
        f"regions {esc(prov.get('regions'))}",
        f"as {esc(prov.get('caller'))}",
        f"manifests {esc(prov.get('manifest mode'))}",
    ]
    link = f" — <a href='{esc(coverage_href)}'>coverage detail</a>" if coverage_href else ""
    cls = "" if coverage_ok else " class='warn'"
    return (
        f"<div class='ecr-head'><div>Snapshot: {' · '.join(facts)}</div>"
        f"<div{cls}>Coverage: {esc(coverage)}{link}</div></div>"
    )


def details(prov: dict) -> str:
    """The full provenance as a two-column table (index page)."""
    rows = "".join(f"<tr><th>{esc(k)}</th><td><div class=c>{esc(v)}</div></td></tr>" for k, v in prov.items())
    return f"<table class='ecr-audit provenance'>{rows}</table>"


def severity(value) -> str:
    v = "" if formats.missing(value) else str(value)
    return f"<span class='sev sev-{esc(v)}'>{esc(v)}</span>" if v in SEVERITY_ORDER else esc(v)


def _is_empty(s: pd.Series) -> bool:
    """No value in `s` (missing, "" or an empty list); stops at the first value found."""
    s = s.dropna()
    if s.empty:
        return True
    if s.dtype != object and not isinstance(s.dtype, pd.StringDtype):
        return False
    for v in s:
        if isinstance(v, (list, tuple, np.ndarray)):
            if len(v):
                return False
        elif v != "":
            return False
    return True


def kinds(df: pd.DataFrame) -> dict:
    return {
        c: ("severity" if str(c).endswith("severity") else formats.kind(c, df[c].dtype)) for c in df.columns
    }


def _ordered(df: pd.DataFrame, kind: dict) -> list:
    sev = [c for c in df.columns if kind[c] == "severity"]
    deciding = [c for d in DECIDING for c in df.columns if c == d]
    money = [c for c in df.columns if kind[c] == "money"][:1]
    first = list(dict.fromkeys(sev + deciding + money))
    return first + [c for c in df.columns if c not in first]


def _constant_text(df: pd.DataFrame, col, kind: str) -> str | None:
    """The text of `col` when it is the same long text on every row (said once above the table)."""
    if len(df) < 2 or kind != "text":
        return None
    s = df[col]
    if not all(isinstance(v, str) for v in s.head(1)):
        return None
    first = s.iloc[0]
    if len(first) >= 30 and bool((s == first).all()):
        return first
    return None


# Text no longer than this stays on one line (a region, an option, an account name with its id).
SHORT_TEXT = {"text": 20, "principal": 24, "account": 40}


def _short(s: pd.Series, kind: str, names: Names | None) -> bool:
    """Whether every value of `s` is short enough to keep on one line."""
    limit = SHORT_TEXT.get(kind)
    if limit is None or s.empty:
        return False
    if kind == "account":
        return all(len(names.account(v) if names else str(v)) <= limit for v in s)
    return all(
        len(", ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else str(v)) <= limit
        for v in s
    )


def sort_rows(df: pd.DataFrame, by) -> pd.DataFrame:
    """`df` sorted by `by` (a column or a list): severities most severe first, numbers largest
    first, text A→Z; missing values last."""
    by = [by] if isinstance(by, str) else list(by)
    keys, ascending = {}, []
    for i, col in enumerate(by):
        s = df[col].reset_index(drop=True)
        if str(col).endswith("severity"):
            rank = {v: n for n, v in enumerate(SEVERITY_ORDER)}
            keys[i] = s.astype("string").map(rank).astype("Float64")
            ascending.append(True)
        elif pd.api.types.is_numeric_dtype(s.dtype) and not pd.api.types.is_bool_dtype(s.dtype):
            keys[i] = s.astype("Float64")
            ascending.append(False)
        else:
            keys[i] = s.astype("string")
            ascending.append(True)
    order = pd.DataFrame(keys).sort_values(list(keys), ascending=ascending, na_position="last", kind="stable")
    return df.take(order.index.to_numpy())


def cell(v, kind: str, names: Names | None, limit: int) -> tuple[str, str]:
    """(inner HTML, td class) of one value shown as `kind`."""
    names = names or Names()
    if kind == "severity":
        return severity(v), ""
    if kind == "account":
        if formats.missing(v):
            return "", ""
        name = names.account_name(v)
        return (f"{esc(name)} <span class=id>{esc(v)}</span>" if name else esc(v)), ""
    if kind in ("ou", "principal"):
        return f"<div class=c>{esc(names.of_kind(kind, v))}</div>", ""
    if kind == "bool":
        shown = formats.boolean(v)
        title = " title='could not tell'" if shown == "?" else ""
        return f"<span{title}>{esc(shown)}</span>", "bool"
    if kind in formats.NUMERIC_KINDS:
        shown = formats.value(v, kind)
        title = ""
        if kind == "money" and shown.lstrip("-").startswith("<"):
            title = f" title='{esc(formats.price(v))}'"
        return (f"<span{title}>{esc(shown)}</span>" if title else esc(shown)), "n"
    if kind in ("date", "digest"):
        shown = formats.value(v, kind)
        full = "" if formats.missing(v) else str(v)
        return (
            f"<span title='{esc(full)}'>{esc(shown)}</span>" if shown and shown != full else esc(shown)
        ), ""
    if isinstance(v, (list, tuple, np.ndarray)):
        text = visible(", ".join(map(str, v)))
    else:
        text = formats.value(v, kind)
    short = formats.shorten(text, limit)
    title = f" title='{esc(text[:2000])}'" if short != text or len(text) > 60 else ""
    return f"<div class=c{title}>{esc(short)}</div>", ""


def table(
    df: pd.DataFrame,
    *,
    names: Names | None = None,
    top: int = 50,
    columns: list | None = None,
    first: list | None = None,
    sort=None,
    once: tuple = (),
    caption: str | None = None,
    anchor: str | None = None,
    csv_href: str | None = None,
    max_columns: int = 8,
    empty: str = "none",
) -> str:
    """`df` as a page shows it (see the module docstring). `columns` chooses and orders the
    columns on the page (default: the deciding ones first, at most `max_columns`); `first` puts
    these columns first where the frame has them (for frames whose columns depend on the data,
    such as pivots) and fills up to `max_columns` with the others; `sort` orders
    the rows (`sort_rows`); `once` names columns to state once above the table when they hold
    one value on every row (long text columns that do are always stated once)."""
    parts = []
    if caption:
        ident = f" id='{esc(anchor)}'" if anchor else ""
        parts.append(f"<h4 class='ecr-caption'{ident}>{esc(caption)}</h4>")
    elif anchor:
        parts.append(f"<a id='{esc(anchor)}'></a>")
    if df.empty:
        parts.append(f"<p class='ecr-note'><em>{esc(empty)}</em></p>")
        return "".join(parts)
    if sort is not None:
        df = sort_rows(df, sort)
    kind = kinds(df)
    stated = {}
    for c in df.columns:
        text = _constant_text(df, c, kind[c])
        if text is None and c in once and len(df) >= 2 and df[c].astype("string").nunique(dropna=False) == 1:
            text = formats.value(df[c].iloc[0], kind[c])
        if text is not None:
            stated[c] = text
    for c, text in stated.items():
        parts.append(
            f"<p class='ecr-once'><strong>{esc(formats.label(c).capitalize())}</strong>: {esc(text)}</p>"
        )
    if columns is not None:
        unknown = [c for c in columns if c not in df.columns]
        if unknown:
            raise KeyError(f"table has no column(s) {unknown}; it has {list(df.columns)}")
        shown = [c for c in columns if c not in stated]
    else:
        preferred = [c for c in (first or []) if c in df.columns]
        candidates = [
            c for c in preferred + [c for c in _ordered(df, kind) if c not in preferred] if c not in stated
        ]
        shown = [c for c in candidates if not _is_empty(df[c])][:max_columns]
    rows = df.head(top)
    text_cols = [c for c in shown if kind[c] in ("text", "arn", "ou", "principal")] or [None]
    limit = min(CELL_MAX, max(60, CELL_CHARS // len(text_cols)))
    head = "".join(
        f"<th{' class=n' if kind[c] in formats.NUMERIC_KINDS else ''} data-kind={kind[c]} title='{esc(c)}'>"
        f"{esc(formats.label(c))}</th>"
        for c in shown
    )
    nowrap = {c for c in shown if _short(rows[c], kind[c], names)}
    body = []
    for values in zip(*(rows[c] for c in shown)):
        tds = []
        for c, v in zip(shown, values):
            inner, cls = cell(v, kind[c], names, limit)
            cls = cls or ("nw" if c in nowrap else "")
            tds.append(f"<td class={cls}>{inner}</td>" if cls else f"<td>{inner}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    parts.append(
        f"<table class='ecr-audit'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"
    )
    hidden = [c for c in df.columns if c not in shown and c not in stated]
    note = f"{len(df):,} row{'s' if len(df) != 1 else ''}" + (f", first {top} shown" if len(df) > top else "")
    if csv_href:
        more = f" ({len(hidden)} more column{'s' if len(hidden) != 1 else ''} there)" if hidden else ""
        note += f" — <a href='{esc(csv_href)}' download>all rows and columns as CSV</a>{more}"
    elif hidden:
        note += f" — not shown: {esc(', '.join(map(str, hidden)))}"
    parts.append(f"<p class='ecr-note'>{note}</p>")
    return "".join(parts)


def headlines(items: list[dict]) -> str:
    """Headline numbers as tiles: [{label, value, note?}] (values already formatted)."""
    tiles = "".join(
        f"<div class='ecr-headline'><div class='v'>{esc(i.get('value'))}</div>"
        f"<div class='l'>{esc(i.get('label'))}</div>"
        + (f"<div class='note'>{esc(i.get('note'))}</div>" if i.get("note") else "")
        + "</div>"
        for i in items
    )
    return f"<div class='ecr-headlines'>{tiles}</div>"


def fix_first(rows: pd.DataFrame, names: Names | None = None, link_base: str = "") -> str:
    """The "what to fix first" table of `summary.fix_first` rows; links go to `link_base +
    page.html#anchor`."""
    if rows is None or rows.empty:
        return "<p class='ecr-note'><em>Nothing to fix: no finding above info level.</em></p>"
    names = names or Names()
    body = []
    for r in rows.itertuples(index=False):
        where = esc(r.resource)
        acct = names.account(r.account_id) if r.account_id else ""
        if acct or r.region:
            where += f"<br><span class=id>{esc(' · '.join(x for x in (acct, r.region) if x))}</span>"
        more = f" <span class=id>(+{int(r.more_resources)} more)</span>" if int(r.more_resources) else ""
        link = f"<a href='{esc(link_base + r.page + '.html#' + r.anchor)}'>{esc(r.section)}</a>"
        impact = f"<br><strong>{esc(r.impact)}</strong>" if r.impact else ""
        why = formats.humanize(visible(r.root_cause))
        body.append(
            f"<tr><td>{severity(r.severity)}</td><td><div class=c>{esc(r.problem)}{more}{impact}</div></td>"
            f"<td><div class=c>{where}</div></td>"
            f"<td><div class=c title='{esc(why)}'>{esc(formats.shorten(why, 140))}</div></td>"
            f"<td><div class=c title='{esc(r.remediation)}'>{esc(formats.shorten(r.remediation, 170))}</div></td>"
            f"<td>{link}</td></tr>"
        )
    head = "".join(f"<th>{h}</th>" for h in ("severity", "problem", "where", "why", "fix", "explained in"))
    return f"<table class='ecr-audit fix-first'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


__all__ = [
    "CELL_CHARS",
    "CELL_MAX",
    "DECIDING",
    "SEVERITY_ORDER",
    "SHORT_TEXT",
    "STYLE",
    "cell",
    "details",
    "esc",
    "fix_first",
    "header",
    "headlines",
    "kinds",
    "nav",
    "severity",
    "slug",
    "sort_rows",
    "table",
]
