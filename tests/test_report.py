"""The report runner: papermill execution, parameter checks, self-contained escaped HTML."""

import html
import json
import re
import shutil
from pathlib import Path

import pytest

from ecr_audit import Inventory, cli, report, save

CANARY = "<script>alert(1)</script>"
PROBE = Path(__file__).parent / "data" / "probe_report.ipynb"


@pytest.fixture
def probe_env(tmp_path, monkeypatch):
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(PROBE, nbdir / "probe.ipynb")
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbdir)
    inv = Inventory.from_frames(
        meta={
            "source": "test",
            "collected_at": "2026-11-01T00:00:00Z",
            "options": {"read_manifests": "auto"},
        },
        repositories=[
            {
                "account_id": "012345678901",
                "region": "us-east-1",
                "repository_name": "app",
                "repository_arn": "arn:aws:ecr:us-east-1:012345678901:repository/app",
            }
        ],
        repository_tags=[
            {
                "account_id": "012345678901",
                "region": "us-east-1",
                "repository_name": "app",
                "key": "team",
                "value": CANARY,
            }
        ],
        coverage=[{"account_id": "012345678901", "region": "us-east-1", "status": "complete"}],
    )
    return save(inv, tmp_path / "snap"), tmp_path / "out"


@pytest.mark.slow
def test_report_writes_escaped_self_contained_pages_and_index(probe_env):
    snap, out = probe_env
    results = report.run(snap, out)
    assert [r.ok for r in results] == [True]
    page = (out / "probe.html").read_text()
    assert CANARY not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert not re.search(r"""(src|href)=["'](https?:)?//""", page), "page references a remote resource"
    assert "data:image/png;base64" in page  # the chart is embedded
    assert "collected <strong>2026-11-01 00:00 UTC</strong>" in page  # provenance in the page's header
    assert page.count("<nav class='ecr-nav'>") == 1 and "href='index.html'" in page
    assert (out / "probe-tags.csv").read_text().count("\n") == 2
    index = (out / "index.html").read_text()
    assert "<div class='v'>1</div><div class='l'>Repositories</div>" in index and "probe.html" in index
    assert (out / "probe.ipynb").exists()
    # The kernel's log and the runner's working files are out of the reader's way.
    assert not list(out.glob("*.log")) and not list(out.glob("*.json"))
    assert (out / ".logs" / "probe.kernel.log").exists()


@pytest.mark.slow
def test_failing_notebook_page_shows_error_and_exit_code_is_5(probe_env, capsys):
    snap, out = probe_env
    rc = cli.main(["report", str(snap), "--out", str(out), "-p", "fail", "true", "--quiet"])
    assert rc == cli.EXIT_REPORT
    page = (out / "probe.html").read_text()
    assert "This page is incomplete" in page and "RuntimeError: probe failure requested" in page
    # Once, in words: no traceback, no papermill marker pointing at a code cell the page hides.
    assert page.count("probe failure requested") == 1, page.count("probe failure requested")
    assert "Traceback" not in page and "Exception was encountered" not in page and "In [" not in page
    assert ".logs/probe.kernel.log" in page and "href='probe.ipynb'" in page  # where to look
    assert re.search(r"<div class=[\"']v[\"']>1</div>", page)  # what ran before the error is still shown


def test_unknown_parameter_is_refused_with_the_valid_names(probe_env, capsys):
    snap, out = probe_env
    rc = cli.main(["report", str(snap), "--out", str(out), "-p", "nope", "1"])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_INPUT
    assert "unknown parameter(s) nope; valid: fail, limit" in err
    assert not out.exists()


def test_snapshot_parameter_is_refused_so_data_and_provenance_come_from_the_same_snapshot(probe_env, capsys):
    """issue 12 #15: `report A -p snapshot B` showed B's data under A's provenance."""
    snap, out = probe_env
    other = save(
        Inventory.from_frames(meta={"source": "other", "collected_at": "2020-01-01T00:00:00Z"}),
        snap.parent / "other",
    )
    rc = cli.main(["report", str(snap), "--out", str(out), "-p", "snapshot", str(other), "--quiet"])
    assert rc == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "parameter snapshot cannot be set" in err and "SNAPSHOT argument" in err
    assert not out.exists()
    with pytest.raises(report.ReportError, match="snapshot cannot be set"):
        report.run(snap, out, params={"snapshot": str(other)})


def test_unknown_report_name_is_refused(probe_env, capsys):
    snap, out = probe_env
    assert cli.main(["report", str(snap), "--only", "nosuch"]) == cli.EXIT_INPUT
    assert "unknown report(s) nosuch; available: probe" in capsys.readouterr().err


def test_parameter_of_wrong_type_is_refused(probe_env, capsys):
    snap, out = probe_env
    assert cli.main(["report", str(snap), "-p", "limit", "many"]) == cli.EXIT_INPUT
    assert "parameter limit: 'many' is not an integer" in capsys.readouterr().err


def test_report_on_missing_snapshot_is_one_line_error(tmp_path, capsys):
    assert cli.main(["report", str(tmp_path / "missing")]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no such snapshot directory" in err


def test_error_text_with_backslashes_is_shown_verbatim_not_read_as_a_regex(tmp_path):
    nb = tmp_path / "page.ipynb"
    import nbformat

    n = nbformat.v4.new_notebook()
    nbformat.write(n, str(nb))
    html = tmp_path / "page.html"
    report._export_html(nb, html, report._banner([], failed=r"ValueError: C:\data\snap \1 \d"))
    page = html.read_text()
    assert r"ValueError: C:\data\snap \1 \d" in page


def test_heatmap_fold_keeps_the_largest_rows_and_columns_and_every_count():
    import pandas as pd

    from ecr_audit import notebook as nb

    m = pd.DataFrame(
        [[i * j for j in range(40)] for i in range(50)],
        index=[f"a{i}" for i in range(50)],
        columns=[f"g{j}" for j in range(40)],
    )
    f = nb.fold(m, limit=10)
    assert f.shape == (10, 10)
    assert f.to_numpy().sum() == m.to_numpy().sum()
    assert f.index[0] == "a49" and f.index[-1] == "other (41)" and f.columns[-1] == "other (31)"
    assert nb.fold(m.iloc[:5, :5], limit=10).equals(m.iloc[:5, :5])


# ---- notebooks that never end (issue 12 #6) --------------------------------------------------------


def _notebook(path: Path, *code: str) -> Path:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}\nParameters: `snapshot`."),
        nbformat.v4.new_code_cell('snapshot = ""', metadata={"tags": ["parameters"]}),
        *[nbformat.v4.new_code_cell(c) for c in code],
    ]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


@pytest.fixture
def hanging(probe_env):
    """(snapshot, report dir, notebook dir, pid file): notebook `a_hangs` writes its kernel's pid,
    then spins in C code holding the GIL (a catastrophic regex: ipykernel's own parent-poller
    thread never runs again)."""
    snap, out = probe_env
    nbdir = out.parent / "hanging"
    nbdir.mkdir()
    pid_file = out.parent / "kernel.pid"
    _notebook(
        nbdir / "a_hangs.ipynb",
        f"import os, re\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))",
        "re.match(r'(a*)*b', 'a' * 64)",
    )
    return snap, out, nbdir, pid_file


needs_proc = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc")


def _alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, dead but not yet reaped by its new parent, does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _kill_kernel(pid: int) -> None:
    """Cleanup after a failure: kill the kernel this test started, if it still runs."""
    import os
    import signal

    try:
        if _alive(pid) and b"ipykernel" in Path(f"/proc/{pid}/cmdline").read_bytes():
            os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


def _wait(predicate, seconds: float) -> bool:
    import time

    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def _report_process(snap, out, nbdir, *args):
    """`ecr-audit report` in a child process; its output goes to files (a surviving kernel would
    hold pipes open)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "ECR_AUDIT_NOTEBOOKS": str(nbdir)}
    with open(nbdir / "stderr.txt", "w") as err:
        return subprocess.Popen(
            [sys.executable, "-m", "ecr_audit.cli", "report", str(snap), "--out", str(out), *args],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


@pytest.mark.slow
@needs_proc
def test_notebook_that_hangs_times_out_as_a_failed_page_and_the_other_pages_still_run(hanging):
    snap, out, nbdir, pid_file = hanging
    _notebook(nbdir / "b_fine.ipynb", "print('the next page ran')")
    proc = _report_process(snap, out, nbdir, "--timeout", "3")
    try:
        proc.wait(timeout=300)  # a bound on a hang, not a speed assertion
    finally:
        proc.kill()
        if pid_file.exists():
            kernel = int(pid_file.read_text())
            _wait(lambda: not _alive(kernel), 30)
            survived = _alive(kernel)
            _kill_kernel(kernel)
            assert not survived, "the timed-out kernel still runs"
    assert proc.returncode == cli.EXIT_REPORT, (nbdir / "stderr.txt").read_text()
    assert pid_file.exists()  # the hanging cell really ran
    page = (out / "a_hangs.html").read_text()
    assert "This page is incomplete" in page and "timed out" in page and "after 3 s" in page
    assert "the next page ran" in (out / "b_fine.html").read_text()
    index = (out / "index.html").read_text()
    assert "failed: timed out" in index and "B fine</a></h2><p class='ecr-note'>" in index


@pytest.mark.slow
@needs_proc
def test_sigkill_of_report_leaves_no_kernel_running(hanging):
    import os
    import signal

    snap, out, nbdir, pid_file = hanging
    proc = _report_process(snap, out, nbdir)
    kernel = None
    try:
        assert _wait(lambda: pid_file.exists() and pid_file.read_text(), 120), (
            nbdir / "stderr.txt"
        ).read_text()
        kernel = int(pid_file.read_text())
        assert _alive(kernel)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=60)
        assert _wait(lambda: not _alive(kernel), 30), f"kernel {kernel} survived the report's SIGKILL"
    finally:
        proc.kill()
        proc.wait()
        if kernel:
            _kill_kernel(kernel)


def test_timeout_option_is_documented_with_its_default_and_refuses_nonsense(capsys):
    import contextlib

    with contextlib.suppress(SystemExit):
        cli.main(["report", "--help"])
    assert f"default {report.DEFAULT_TIMEOUT:g}" in capsys.readouterr().out
    for bad in ("-1", "soon", "nan", "inf"):
        assert cli.main(["report", "snap", "--timeout", bad]) == cli.EXIT_INPUT
        assert "--timeout" in capsys.readouterr().err


# ---- text from AWS in charts and HTML (issue 12 #14 and its tail; issue 15 #5) ----------------------

HOSTILE = [
    "o-$\\undefinedmacro{$",
    "$x^2$",
    "a\\$b$",
    "r\u202eevil",
    "nul\x00x",
    "$\\$",
    "100$ and 200$",
    "{}_^%&#~\\",
    "\u2066iso\u2069\u200f\u061c",
]
HIDDEN = ["\u202e", "\x00", "\u2066", "\u2069", "\u200f", "\u061c"]


@pytest.fixture
def drawn(monkeypatch):
    """Every figure `nb.chart` shows, drawn to PNG (as the inline backend does): its texts."""
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    texts = []

    def show():
        for num in plt.get_fignums():
            fig = plt.figure(num)
            fig.savefig(io.BytesIO(), format="png")  # mathtext would raise here
            texts.append(
                [
                    t
                    for ax in fig.axes
                    for t in ax.get_xticklabels()
                    + ax.get_yticklabels()
                    + [ax.title, ax.xaxis.label, ax.yaxis.label]
                    + ax.texts
                    + (ax.get_legend().get_texts() if ax.get_legend() else [])
                ]
            )
            plt.close(fig)

    monkeypatch.setattr(plt, "show", show)
    return texts


def _shows(t) -> str:
    """What matplotlib draws for Text `t` (non-math text: `\\$` is a literal `$`)."""
    from matplotlib import cbook

    assert not t.get_usetex() and not cbook.is_math_text(t.get_text()), t.get_text()
    return t.get_text().replace(r"\$", "$")


def test_chart_labels_from_aws_are_drawn_literally_never_as_math_or_hidden_characters(drawn):
    import matplotlib.pyplot as plt
    import pandas as pd
    from matplotlib.ticker import FuncFormatter

    from ecr_audit import notebook as nb
    from ecr_audit.export import visible

    expected = {visible(h) for h in HOSTILE}
    nb.heatmap(
        pd.DataFrame([[1, 2, 0], [3, 0, 4], [0, 5, 6]], index=HOSTILE[:3], columns=HOSTILE[3:6]),
        HOSTILE[6],
        xlabel=HOSTILE[7],
        ylabel=HOSTILE[8],
    )
    df = pd.DataFrame({"k": HOSTILE, HOSTILE[1]: range(len(HOSTILE)), HOSTILE[0]: range(len(HOSTILE))})
    nb.chart(df.plot.bar(x="k", y=[HOSTILE[1], HOSTILE[0]]), HOSTILE[0])  # pandas ticks and legend
    nb.chart(df.plot.barh(x="k", y=HOSTILE[1], logx=True, legend=False), "log")  # mathtext of its own
    fig, ax = plt.subplots()
    ax.bar(HOSTILE, range(len(HOSTILE)))  # string categories
    ax.annotate(HOSTILE[3], (0, 0))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda x, pos: HOSTILE[0]))
    nb.chart(ax)
    assert len(drawn) == 4
    heat, bars, log, cats = drawn
    assert {_shows(t) for t in heat} >= expected | {"1", "6"}  # ticks, title, axis labels, counts
    assert {_shows(t) for t in bars if t.get_text()} >= expected
    assert {_shows(t) for t in cats if t.get_text()} >= expected
    log_math = [t.get_text() for t in log if "mathdefault" in t.get_text()]
    assert log_math, "numeric log ticks keep matplotlib's own mathtext"
    shown = "".join(t.get_text() for fig in drawn for t in fig)
    assert not [c for c in HIDDEN if c in shown]


def test_rendered_text_shows_hidden_characters_as_escapes_and_missing_values_blank(monkeypatch, tmp_path):
    import numpy as np
    import pandas as pd

    from ecr_audit import notebook as nb

    shown = []
    monkeypatch.setattr(nb, "_display_html", shown.append)
    monkeypatch.setenv(nb.REPORT_DIR_ENV, str(tmp_path))  # headlines go to the index
    monkeypatch.setenv(nb.REPORT_NAME_ENV, "page")
    sid = "Allow\u202e}1{=x"
    df = pd.DataFrame(
        {
            "sid": [sid, None, "nul\x00"],
            "o": pd.Series(["a", pd.NA, np.nan], dtype=object),
            "s": pd.Series(["x", None, "\u2066y"], dtype="string"),
            "i": pd.Series([1, None, 3], dtype="Int64"),
            "b": pd.Series([True, None, False], dtype="boolean"),
            "F": pd.Series([1.5, None, 2.0], dtype="Float64"),
            "f": [1.0, np.nan, 2.0],
            "t": pd.to_datetime(["2026-01-01", None, "2026-01-02"], utc=True),
            "c": pd.Series(["k", None, "k"], dtype="category"),
            "tags": [["a", "\u202eb"], [], None],
            "n": [1, 2, 3],
        }
    )
    nb.table(df, caption="cap\u202e", columns=list(df.columns))
    nb.headline("label\u202e", "value\x00")
    nb.headline("missing", pd.NA)
    page = "".join(shown)
    cells = [html.unescape(re.sub(r"<[^>]+>", "", c)) for c in re.findall(r"<td[^>]*>(.*?)</td>", page)]
    assert not {"<NA>", "None", "NaN", "nan", "NaT"} & set(cells), cells
    assert cells[:11] == [
        "Allow\\u202e}1{=x",
        "a",
        "x",
        "1",
        "✓",
        "1.5",
        "1",
        "2026-01-01",
        "k",
        "a, \\u202eb",
        "1",
    ]
    # The all-missing row is blank, but for the boolean: null is "could not tell", not "no".
    assert cells[11:22] == [""] * 4 + ["?"] + [""] * 5 + ["2"]
    assert "nul\\x00" in cells and "\\u2066y" in cells
    banner = report._banner([("index.html", "Overview")], "", failed="Error: \x00\u202e", name="page\u202e")
    index = report._write_index(
        tmp_path,
        [
            report.PageResult(
                "page",
                tmp_path / "page.html",
                tmp_path / "page.ipynb",
                False,
                1.0,
                "bad\u202e",
                json.loads((tmp_path / ".logs" / "page.headlines.json").read_text()),
            )
        ],
        {"org": "o-\u2067"},
    )
    everything = page + banner + index.read_text()
    assert not [c for c in HIDDEN if c in everything]
    assert "\\x00\\u202e" in banner and "page\\u202e.kernel.log" in banner
    text = index.read_text()
    assert "<div class='v'>value\\x00</div><div class='l'>label\\u202e</div>" in text
    assert "<div class='v'></div><div class='l'>missing</div>" in text
    assert "o-\\u2067" in text and "bad\\u202e" in text


def test_a_page_shows_its_parameters_last_and_no_traceback_or_pointer_to_hidden_cells():
    import nbformat
    from papermill.execute import ERROR_MARKER_TAG

    v4 = nbformat.v4
    nb = v4.new_notebook()
    error = v4.new_output("error", ename="ValueError", evalue="bad", traceback=["Traceback ..."])
    shown = v4.new_output("display_data", data={"text/html": "<p>before the error</p>"})
    nb.cells = [
        v4.new_markdown_cell("An Exception was encountered at In [3]", metadata={"tags": [ERROR_MARKER_TAG]}),
        v4.new_markdown_cell("# Title"),
        v4.new_markdown_cell("## About this page", metadata={"tags": [report.PARAMETERS_DOC_TAG]}),
        v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        v4.new_code_cell("nb.table(...)", outputs=[shown, error]),
    ]
    report._for_readers(nb)
    assert [c.source for c in nb.cells] == ["# Title", "x = 1", "nb.table(...)", "## About this page"]
    assert nb.cells[2].outputs == [shown]
