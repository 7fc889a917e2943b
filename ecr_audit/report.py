"""`ecr-audit report`: run every report notebook with papermill, export self-contained HTML.

For each notebook in ecr_audit/notebooks/ (shipped in the package): execute it against the snapshot
(papermill, cwd = the report directory), keep the executed .ipynb beside the page, export HTML
without code cells, and strip every reference that would leave the page (MathJax, require.js, any
external script, link or font). One failing notebook does not stop the others; its page shows the error.

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

from .notebook import REPORT_DIR_ENV, REPORT_NAME_ENV, esc

LAUNCHER = Path(__file__).resolve().parent / "kernel_launch.py"
# Per notebook. The slowest ever measured took 77 s (1 M images, before later speed-ups;
# benchmarks/RESULTS.md): a notebook still running after 30 minutes is stuck, not slow.
DEFAULT_TIMEOUT = 1800.0
NOTEBOOK_DIR = Path(os.environ.get("ECR_AUDIT_NOTEBOOKS") or Path(__file__).resolve().parent / "notebooks")
# Order of the index page; notebooks not listed here follow alphabetically.
ORDER = ["executive_summary", "cross_account_access", "orphaned_images", "lifecycle", "storage_cost"]


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


def _export_html(nb_path: Path, html_path: Path, banner: str) -> None:
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.mathjax_url = ""
    exporter.require_js_url = ""
    exporter.widget_renderer_url = ""
    body, _ = exporter.from_notebook_node(nbformat.read(str(nb_path), as_version=4))
    for pattern in _REMOTE:
        body = pattern.sub("", body)
    # Scripts the template inlines for MathJax/mermaid configuration are not needed offline.
    body = re.sub(r"<script type=\"module\">.*?</script>", "", body, flags=re.S)
    body = re.sub(r"<script type=\"text/x-mathjax-config\">.*?</script>", "", body, flags=re.S)
    # A function, not a replacement string: the banner holds error text whose backslashes
    # would otherwise be read as group references or bad escapes.
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + banner, body, count=1)
    html_path.write_text(body, encoding="utf-8")


def _banner(provenance: dict, failed: str = "") -> str:
    items = " · ".join(f"{esc(k)}: {esc(v)}" for k, v in provenance.items())
    err = (
        f"<div class='ecr-audit-error'><strong>This report failed:</strong> {esc(failed)}</div>"
        if failed
        else ""
    )
    return (
        f"<div class='ecr-audit-banner' style='font:12px sans-serif;padding:6px 12px;background:#f3f4f6;"
        f"border-bottom:1px solid #ccc'><a href='index.html'>ecr-audit</a> — {items}</div>"
        + (
            f"<div style='font:14px sans-serif;padding:8px 12px;background:#fee2e2'>{err}</div>"
            if failed
            else ""
        )
    )


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
    from nbclient.exceptions import CellTimeoutError

    from .notebook import provenance
    from .snapshot import load

    snapshot = Path(snapshot).resolve()
    inv = load(snapshot)  # fail early, with the loader's message, on a bad snapshot
    prov = provenance(inv)
    plan = resolve(only, dict(params or {}))
    out = Path(out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, (path, p) in plan.items():
        t0 = time.monotonic()
        executed = out / f"{name}.ipynb"
        html_path = out / f"{name}.html"
        for stale in out.glob(f"{name}*.headlines.json"):
            stale.unlink()
        error = ""
        env_before = {k: os.environ.get(k) for k in (REPORT_DIR_ENV, REPORT_NAME_ENV)}
        os.environ[REPORT_DIR_ENV] = str(out)
        os.environ[REPORT_NAME_ENV] = name
        try:
            with _stderr_to(out / f"{name}.kernel.log"):
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
        except pm.PapermillExecutionError as e:
            error = f"{e.ename}: {e.evalue}"
        except CellTimeoutError:
            error = (
                f"timed out: the notebook was still running after {timeout:g} s and was stopped "
                f"(ecr-audit report --timeout SECONDS)"
            )
        except Exception as e:  # kernel death, timeouts: the page still says what happened
            error = f"{type(e).__name__}: {e}"
        finally:
            for k, v in env_before.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        if executed.exists():
            _export_html(executed, html_path, _banner(prov, error))
        else:
            html_path.write_text(
                f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(name)}</title>"
                f"</head><body>{_banner(prov, error)}</body></html>",
                encoding="utf-8",
            )
        hl = out / f"{name}.headlines.json"
        headlines = json.loads(hl.read_text()) if hl.exists() else []
        result = PageResult(name, html_path, executed, not error, time.monotonic() - t0, error, headlines)
        results.append(result)
        if log:
            log(
                f"{'ok  ' if result.ok else 'FAIL'} {name} ({result.seconds:.1f} s)"
                + (f": {error}" if error else "")
            )
    _write_index(out, results, prov)
    return results


def _write_index(out: Path, results: list[PageResult], prov: dict) -> Path:
    rows = []
    for r in results:
        status = "ok" if r.ok else f"failed: {esc(r.error)}"
        hl = "".join(f"<li>{esc(h['label'])}: <strong>{esc(h['value'])}</strong></li>" for h in r.headlines)
        rows.append(
            f"<section><h2><a href='{esc(r.html.name)}'>{esc(r.name.replace('_', ' ').capitalize())}</a></h2>"
            f"<p>{status} · <a href='{esc(r.notebook.name)}'>notebook</a></p><ul>{hl}</ul></section>"
        )
    prov_rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in prov.items())
    page = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>ecr-audit report</title>"
        "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em}"
        "th{text-align:left;padding-right:1em}section{border-top:1px solid #ddd;margin-top:1em}</style>"
        f"</head><body><h1>ECR audit</h1><table>{prov_rows}</table>{''.join(rows)}</body></html>"
    )
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
