"""The report runner: papermill execution, parameter checks, self-contained escaped HTML."""
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
        meta={"source": "test", "collected_at": "2026-11-01T00:00:00Z", "options": {"read_manifests": "auto"}},
        repositories=[{"account_id": "012345678901", "region": "us-east-1", "repository_name": "app",
                       "repository_arn": "arn:aws:ecr:us-east-1:012345678901:repository/app"}],
        repository_tags=[{"account_id": "012345678901", "region": "us-east-1", "repository_name": "app",
                          "key": "team", "value": CANARY}],
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
    assert "collected_at: 2026-11-01T00:00:00Z" in page  # provenance banner on the page
    assert (out / "probe-tags.csv").read_text().count("\n") == 2
    index = (out / "index.html").read_text()
    assert "Repositories: <strong>1</strong>" in index and "probe.html" in index
    assert (out / "probe.ipynb").exists()


@pytest.mark.slow
def test_failing_notebook_page_shows_error_and_exit_code_is_5(probe_env, capsys):
    snap, out = probe_env
    rc = cli.main(["report", str(snap), "--out", str(out), "-p", "fail", "true", "--quiet"])
    assert rc == cli.EXIT_REPORT
    page = (out / "probe.html").read_text()
    assert "This report failed" in page and "probe failure requested" in page


def test_unknown_parameter_is_refused_with_the_valid_names(probe_env, capsys):
    snap, out = probe_env
    rc = cli.main(["report", str(snap), "--out", str(out), "-p", "nope", "1"])
    err = capsys.readouterr().err
    assert rc == cli.EXIT_INPUT
    assert "unknown parameter(s) nope; valid: fail, limit, snapshot" in err
    assert not out.exists()


def test_unknown_report_name_is_refused(probe_env, capsys):
    snap, out = probe_env
    assert cli.main(["report", str(snap), "--only", "nosuch"]) == cli.EXIT_INPUT
    assert "unknown report(s) nosuch; available: probe" in capsys.readouterr().err


def test_parameter_of_wrong_type_is_refused(probe_env, capsys):
    snap, out = probe_env
    assert cli.main(["report", str(snap), "-p", "limit", "many"]) == cli.EXIT_INPUT
    assert "'many' is not a int" in capsys.readouterr().err


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
    report._export_html(nb, html, report._banner({"source": "t"}, r"ValueError: C:\data\snap \1 \d"))
    page = html.read_text()
    assert r"ValueError: C:\data\snap \1 \d" in page


def test_heatmap_fold_keeps_the_largest_rows_and_columns_and_every_count():
    import pandas as pd
    from ecr_audit import notebook as nb
    m = pd.DataFrame([[i * j for j in range(40)] for i in range(50)],
                     index=[f"a{i}" for i in range(50)], columns=[f"g{j}" for j in range(40)])
    f = nb.fold(m, limit=10)
    assert f.shape == (10, 10)
    assert f.to_numpy().sum() == m.to_numpy().sum()
    assert f.index[0] == "a49" and f.index[-1] == "other (41)" and f.columns[-1] == "other (31)"
    assert nb.fold(m.iloc[:5, :5], limit=10).equals(m.iloc[:5, :5])
