"""Every report notebook runs on the demo snapshot through `ecr-audit report` (papermill + nbconvert)."""
import json
import re

import pytest

from ecr_audit import report

NOTEBOOKS = sorted(report.notebooks())
pytestmark = pytest.mark.slow


def test_every_notebook_is_committed_without_outputs_and_has_one_parameters_cell():
    for name, path in report.notebooks().items():
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c.get("outputs") and not c.get("execution_count") for c in code), name
        tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, f"{name}: {len(tagged)} parameters cells"
        assert "snapshot" in report.parameters(path), name
        assert nb["metadata"]["kernelspec"]["name"] == "python3", name
        assert nb["cells"][0]["cell_type"] == "markdown" and "snapshot" in "".join(nb["cells"][0]["source"]), \
            f"{name}: the first markdown cell must document the parameters"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_demo_snapshot_and_page_is_self_contained(demo_report, name):
    results, out = demo_report
    result = next(r for r in results if r.name == name)
    assert result.ok, result.error
    page = result.html.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", page, re.I)
    assert "collected_at:" in page  # provenance banner on every page
    assert "Traceback" not in page


def test_xss_canaries_render_as_text_on_every_page(demo_report):
    results, out = demo_report
    for r in results:
        page = r.html.read_text()
        assert "<script>alert(1)</script>" not in page, r.name
        assert "<img src=x onerror=alert(1)>" not in page, r.name


def test_index_links_every_page_with_headlines(demo_report):
    results, out = demo_report
    index = (out / "index.html").read_text()
    for r in results:
        assert f"href='{r.html.name}'" in index
    assert all(r.headlines for r in results), [r.name for r in results if not r.headlines]
