"""`ecr-audit report`: run every report notebook with papermill, export self-contained HTML.

For each notebook in ecr_audit/notebooks/ (shipped in the package): execute it against the
snapshot (papermill, cwd = the report directory), keep the executed .ipynb beside the page, export
HTML without code cells, and strip every reference that would leave the page (MathJax, require.js,
any external script, link or font). Every page gets the navigation bar and the shared style
(`pages`); the documentation of its parameters moves to its end, followed by the values it ran
with. One failing notebook does not stop the others; its page says what failed, once, and where
the traceback and the kernel's log are. The kernels' logs and the runner's working files stay in
the report's `.logs/` folder, out of the way of readers.

index.html gathers "what to fix first" (from the executive summary page, which also writes
`findings.csv` and `findings.json`), the headline numbers of every page, and the coverage detail.

Each notebook has an execution budget (`timeout`, from its first cell; kernel start-up has its own
60 s): a notebook still running then is stopped, its kernel killed, and its page says it timed
out. Kernels are started through `kernel_launch.py`, which makes them die with this process even
when it is killed with SIGKILL (Linux).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from . import pages
from .notebook import REPORT_DIR_ENV, REPORT_NAME_ENV, WORK_DIR, esc
from .summary import coverage_line

LAUNCHER = Path(__file__).resolve().parent / "kernel_launch.py"
# Per notebook. The slowest ever measured took 77 s (1 M images, before later speed-ups;
# benchmarks/RESULTS.md): a notebook still running after 30 minutes is stuck, not slow.
DEFAULT_TIMEOUT = 1800.0
NOTEBOOK_DIR = Path(os.environ.get("ECR_AUDIT_NOTEBOOKS") or Path(__file__).resolve().parent / "notebooks")
# Order of the index page and the navigation bar; notebooks not listed here follow alphabetically.
ORDER = [
    "executive_summary",
    "changes",
    "consumers",
    "cross_account_access",
    "orphaned_images",
    "lifecycle",
    "storage_cost",
]
# Names in the navigation bar (others: the notebook name in words).
TITLES = {
    "executive_summary": "Summary",
    "changes": "Changes",
    "consumers": "Consumers",
    "cross_account_access": "Cross-account access",
    "orphaned_images": "Orphaned & stale images",
    "lifecycle": "Lifecycle",
    "storage_cost": "Storage cost",
}
# A Markdown cell tagged so documents the notebook's parameters; the page shows it at the end.
PARAMETERS_DOC_TAG = "parameters-doc"


# Parameters the runner sets itself. A user value for `snapshot` would show another snapshot's data
# under the provenance of the one named on the command line.
RESERVED = {
    "snapshot": "the snapshot is the SNAPSHOT argument of `ecr-audit report`; name the other "
    "snapshot there instead of -p snapshot"
}


class ReportError(Exception):
    """Bad report input (unknown notebook or parameter); the message says what is valid."""


@dataclass
class PageResult:
    name: str
    html: Path
    notebook: Path
    ok: bool
    seconds: float
    error: str = ""
    headlines: list = field(default_factory=list)


def notebooks() -> dict[str, Path]:
    found = {p.stem: p for p in sorted(NOTEBOOK_DIR.glob("*.ipynb"))}
    ordered = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    return {n: found[n] for n in ordered}


def parameters(path: Path) -> dict:
    """The notebook's declared parameters and their defaults (from its `parameters` cell)."""
    import papermill as pm

    return {name: info["default"] for name, info in pm.inspect_notebook(str(path)).items()}


def _coerce(raw: str, default_src: str, name: str = "value"):
    """Give -p `name` the type of the notebook default (defaults are Python source text)."""
    import ast

    try:
        default = ast.literal_eval(default_src)
    except (ValueError, SyntaxError):
        default = ""
    if isinstance(default, bool):
        if raw.lower() in {"true", "1", "yes"}:
            return True
        if raw.lower() in {"false", "0", "no"}:
            return False
        raise ReportError(f"parameter {name}: {raw!r} is not a boolean (true or false)")
    for typ, what in ((int, "an integer"), (float, "a number")):
        if isinstance(default, typ):
            try:
                return typ(raw)
            except ValueError:
                raise ReportError(f"parameter {name}: {raw!r} is not {what}") from None
    return raw


def resolve(only: list[str] | None, params: dict[str, str]) -> dict[str, tuple[Path, dict]]:
    """Check names and parameters before running anything; return notebook -> (path, parameters)."""
    available = notebooks()
    if not available:
        raise ReportError(f"no notebooks found in {NOTEBOOK_DIR}")
    chosen = only or list(available)
    unknown = [n for n in chosen if n not in available]
    if unknown:
        raise ReportError(f"unknown report(s) {', '.join(unknown)}; available: {', '.join(available)}")
    reserved = sorted(set(params) & set(RESERVED))
    if reserved:
        raise ReportError(f"parameter {reserved[0]} cannot be set: {RESERVED[reserved[0]]}")
    declared = {n: parameters(available[n]) for n in chosen}
    valid = sorted(set().union(*declared.values()) - set(RESERVED))
    bad = sorted(set(params) - set(valid))
    if bad:
        raise ReportError(f"unknown parameter(s) {', '.join(bad)}; valid: {', '.join(valid)}")
    plan = {}
    for n in chosen:
        p = {k: _coerce(v, declared[n][k], k) for k, v in params.items() if k in declared[n]}
        plan[n] = (available[n], p)
    return plan


# Anything that would make the page fetch from elsewhere. nbconvert's lab template links
# MathJax and require.js from a CDN; widget and mermaid loaders are also remote.
_REMOTE = [
    re.compile(r"<script[^>]*\bsrc=\"(?:https?:)?//[^\"]*\"[^>]*>\s*</script>", re.I),
    re.compile(r"<script[^>]*\bsrc=\"\"[^>]*>\s*</script>", re.I),
    re.compile(r"<link[^>]*\bhref=\"(?:https?:)?//[^\"]*\"[^>]*>", re.I),
]


def title(name: str) -> str:
    """A page's name in the navigation bar and on the index."""
    return TITLES.get(name) or name.replace("_", " ").capitalize()


def _for_readers(nb) -> None:
    """The executed notebook as a reader should see it: the parameters' documentation moved to the
    end, and on a failed page no traceback output and no papermill marker pointing at a hidden
    cell (the banner says what failed, once)."""
    from papermill.execute import ERROR_MARKER_TAG

    def tags(cell):
        return cell.get("metadata", {}).get("tags", [])

    nb.cells = [c for c in nb.cells if ERROR_MARKER_TAG not in tags(c)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = [o for o in cell.get("outputs", []) if o.get("output_type") != "error"]
    docs = [c for c in nb.cells if PARAMETERS_DOC_TAG in tags(c)]
    nb.cells = [c for c in nb.cells if PARAMETERS_DOC_TAG not in tags(c)] + docs


def _export_html(nb_path: Path, html_path: Path, banner: str, footer: str = "") -> None:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.widget_renderer_url = ""
    nb = nbformat.read(str(nb_path), as_version=4)
    _for_readers(nb)
    body, _ = exporter.from_notebook_node(nb)
    for pattern in _REMOTE:
        body = pattern.sub("", body)
    # Scripts the template inlines for MathJax/mermaid configuration are not needed offline.
    body = re.sub(r"<script type=\"module\">.*?</script>", "", body, flags=re.S)
    body = re.sub(r"<script type=\"text/x-mathjax-config\">.*?</script>", "", body, flags=re.S)
    # Functions, not replacement strings: the banner holds error text whose backslashes
    # would otherwise be read as group references or bad escapes.
    body = re.sub(r"</head>", lambda m: pages.STYLE + m.group(0), body, count=1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, body, count=1)
    body = re.sub(r"</main>", lambda m: footer + m.group(0), body, count=1)
    html_path.write_text(body, encoding="utf-8")


def _banner(nav: list, current: str = "", failed: str = "", name: str = "") -> str:
    """The navigation bar, and on a failed page the error once, in words, with where to look."""
    bar = pages.nav(nav, current) if nav else ""
    if not failed:
        return bar
    where = (
        f" The traceback is in the executed notebook <a href='{esc(name)}.ipynb'>{esc(name)}.ipynb</a>;"
        f" the kernel's log is <code>{esc(WORK_DIR)}/{esc(name)}.kernel.log</code> in this folder."
        if name
        else ""
    )
    return (
        f"{bar}<div class='ecr-failed'><strong>This page is incomplete:</strong> {esc(failed)}."
        f" What it showed before that is below.{where}</div>"
    )


def _footer(values: dict) -> str:
    """What the page ran with, after the parameters' documentation."""
    items = " · ".join(
        f"<code>{esc(k)}</code> = {esc(v if v != '' else '(empty)')}" for k, v in values.items()
    )
    return f"<div class='ecr-params'>This page ran with: {items}</div>" if values else ""


def _in_words(e: BaseException, timeout) -> str:
    """What went wrong, for the page and the terminal."""
    import papermill as pm
    from nbclient.exceptions import CellTimeoutError, DeadKernelError

    if isinstance(e, pm.PapermillExecutionError):
        return f"it stopped at an error — {e.ename}: {e.evalue}"
    if isinstance(e, CellTimeoutError):
        return (
            f"timed out: the notebook was still running after {timeout:g} s and was stopped "
            f"(ecr-audit report --timeout SECONDS)"
        )
    if isinstance(e, DeadKernelError):
        return "the notebook's Python process died (out of memory, or killed) before the page was complete"
    return f"it could not run — {type(e).__name__}: {e}"


_KERNEL_MANAGER = None


def _kernel_manager_class():
    """jupyter_client's AsyncKernelManager, starting kernels through `kernel_launch.py`."""
    global _KERNEL_MANAGER
    if _KERNEL_MANAGER is None:
        from jupyter_client import AsyncKernelManager

        class ParentBoundKernelManager(AsyncKernelManager):
            def format_kernel_cmd(self, extra_arguments=None):
                cmd = super().format_kernel_cmd(extra_arguments)
                return [sys.executable, "-I", str(LAUNCHER), str(os.getpid()), "--", *cmd]

        _KERNEL_MANAGER = ParentBoundKernelManager
    return _KERNEL_MANAGER


def _budget(seconds: float):
    """nbclient's per-cell timeout: what remains of `seconds`, counted from the first cell."""
    start = None

    def remaining(cell) -> float:
        nonlocal start
        if start is None:
            start = time.monotonic()
        return max(seconds - (time.monotonic() - start), 0.01)  # nbclient reads 0 as "no limit"

    return remaining


@contextlib.contextmanager
def _stderr_to(path: Path):
    """Send this process's file descriptor 2 (inherited by the kernel) to `path` meanwhile.

    The kernel writes start-up noise there (e.g. ipykernel's "running over TCP" warning);
    a failing cell's traceback reaches the executed notebook and the page, not the terminal.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "ab") as f:
            os.dup2(f.fileno(), 2)
            try:
                yield
            finally:
                sys.stderr.flush()
                os.dup2(saved, 2)
    finally:
        os.close(saved)


def run(
    snapshot, out, only=None, params=None, log=None, timeout: float | None = DEFAULT_TIMEOUT
) -> list[PageResult]:
    """Execute the chosen notebooks against `snapshot` and write the HTML audit into `out`.

    `timeout`: seconds each notebook may run (None or 0: no limit)."""
    import papermill as pm

    from .notebook import provenance
    from .snapshot import load

    snapshot = Path(snapshot).resolve()
    inv = load(snapshot)  # fail early, with the loader's message, on a bad snapshot
    prov = provenance(inv)
    plan = resolve(only, dict(params or {}))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    work = out / WORK_DIR
    work.mkdir(exist_ok=True)
    nav = [("index.html", "Overview")] + [(f"{name}.html", title(name)) for name in plan]
    results = []
    for name, (path, p) in plan.items():
        t0 = time.monotonic()
        executed = out / f"{name}.ipynb"
        html_path = out / f"{name}.html"
        # What an earlier run left: this page's working files (and, from older versions, the
        # logs and headlines kept beside the pages).
        for stale in [
            *work.glob(f"{name}.*"),
            *out.glob(f"{name}*.headlines.json"),
            out / f"{name}.kernel.log",
        ]:
            stale.unlink(missing_ok=True)
        if name == "executive_summary":
            for stale in (out / "findings.csv", out / "findings.json"):
                stale.unlink(missing_ok=True)
        error = ""
        env_before = {k: os.environ.get(k) for k in (REPORT_DIR_ENV, REPORT_NAME_ENV)}
        os.environ[REPORT_DIR_ENV] = str(out)
        os.environ[REPORT_NAME_ENV] = name
        try:
            with _stderr_to(work / f"{name}.kernel.log"):
                pm.execute_notebook(
                    str(path),
                    str(executed),
                    parameters={"snapshot": str(snapshot), **p},
                    kernel_name="python3",
                    cwd=str(out),
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    kernel_manager_class=_kernel_manager_class(),
                    **({"timeout_func": _budget(timeout)} if timeout else {}),
                )
        except Exception as e:  # the page still says what happened
            error = _in_words(e, timeout)
        finally:
            for k, v in env_before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        banner = _banner(nav, f"{name}.html", error, name if executed.exists() else "")
        if executed.exists():
            ran_with = {
                **{k: _literal(v) for k, v in parameters(path).items()},
                **p,
                "snapshot": str(snapshot),
            }
            _export_html(executed, html_path, banner, _footer(ran_with))
        else:
            html_path.write_text(
                f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title(name))}</title>"
                f"{pages.STYLE}</head><body>{banner}</body></html>",
                encoding="utf-8",
            )
        hl = work / f"{name}.headlines.json"
        headlines = json.loads(hl.read_text()) if hl.exists() else []
        result = PageResult(name, html_path, executed, not error, time.monotonic() - t0, error, headlines)
        results.append(result)
        if log:
            log(
                f"{'ok  ' if result.ok else 'FAIL'} {name} ({result.seconds:.1f} s)"
                + (f": {error}" if error else "")
            )
    _write_index(out, results, prov, inv)
    return results


def _literal(source: str):
    """A parameter's default as its value (papermill gives the source text)."""
    import ast

    try:
        return ast.literal_eval(source)
    except (ValueError, SyntaxError):
        return source


def _coverage_detail(out: Path, inv, names) -> str:
    """The coverage section of index.html (`summary.coverage_detail`), each table in full as CSV;
    and every failed read as errors.csv."""
    from .export import to_csv
    from .summary import coverage_detail

    line, _ = coverage_line(inv)
    parts = [f"<p>{esc(line)}.</p>"]
    for name, caption, frame, columns in coverage_detail(inv):
        to_csv(frame, out / f"{name}.csv")
        parts.append(
            pages.table(frame, names=names, columns=columns, caption=caption, csv_href=f"{name}.csv")
        )
    if len(inv.errors):
        to_csv(inv.errors, out / "errors.csv")
        parts.append(
            "<p class='ecr-note'>Every failed read: <a href='errors.csv' download>errors.csv</a></p>"
        )
    return "".join(parts)


def _write_index(out: Path, results: list[PageResult], prov: dict, inv=None) -> Path:
    """index.html: what to fix first, the headline numbers of every page, coverage in detail."""
    import pandas as pd

    from .formats import Names

    names = Names.of(inv) if inv is not None else Names()
    nav = [("index.html", "Overview")] + [(r.html.name, title(r.name)) for r in results]
    line, ok = coverage_line(inv) if inv is not None else ("", True)
    parts = [pages.nav(nav, "index.html"), "<main class='ecr-page'><h1>ECR audit</h1>"]
    parts.append(pages.header(prov, line, ok, "#coverage" if inv is not None else ""))
    summary = next((r for r in results if r.name == "executive_summary"), None)
    parts.append("<h2 id='fix-first'>What to fix first</h2>")
    fix = out / WORK_DIR / "executive_summary.fix-first.json"
    if summary is not None and summary.ok and fix.exists():
        rows = pd.read_json(fix, orient="records", dtype=False) if fix.read_text().strip() != "[]" else None
        parts.append(pages.fix_first(rows, names))
        links = [
            f"<a href='{n}' download>{n}</a>" for n in ("findings.csv", "findings.json") if (out / n).exists()
        ]
        if links:
            parts.append(
                f"<p class='ecr-note'>Every finding, with its resource and remediation: {' · '.join(links)}</p>"
            )
    elif summary is not None:
        parts.append("<p class='ecr-note'>The summary page failed: see it for what happened.</p>")
    else:
        parts.append(
            "<p class='ecr-note'>Comes from the executive summary page, which this run did not include "
            "(<code>ecr-audit report SNAPSHOT --only executive_summary</code>).</p>"
        )
    for r in results:
        status = "" if r.ok else f"<p class='ecr-failed'>failed: {esc(r.error)}</p>"
        items = [
            {"label": h.get("label"), "value": h.get("value"), "note": h.get("note", "")} for h in r.headlines
        ]
        parts.append(
            f"<section><h2><a href='{esc(r.html.name)}'>{esc(title(r.name))}</a></h2>{status}"
            f"{pages.headlines(items) if items else ''}"
            f"<p class='ecr-note'><a href='{esc(r.notebook.name)}'>executed notebook</a></p></section>"
        )
    if inv is not None:
        parts.append("<h2 id='coverage'>Coverage detail</h2>" + _coverage_detail(out, inv, names))
    parts.append("<h2 id='provenance'>Snapshot</h2>" + pages.details(prov) + "</main>")
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ECR audit</title>"
        f"{pages.STYLE}<style>body{{margin:0;font:15px/1.5 system-ui,sans-serif}}"
        "main{margin:1em 24px}section{border-top:1px solid #e5e7eb;margin-top:1em}</style>"
        f"</head><body>{''.join(parts)}</body></html>"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
