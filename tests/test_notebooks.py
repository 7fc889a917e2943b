"""Every report notebook runs on the demo snapshot through `ecr-audit report` (papermill + nbconvert)."""

import html
import json
import re

import pytest

from ecr_audit import report, save

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
        assert nb["cells"][0]["cell_type"] == "markdown" and "".join(nb["cells"][0]["source"]).startswith(
            "# "
        )
        # One Markdown cell documents every parameter; the page shows it at its end.
        docs = [c for c in nb["cells"] if report.PARAMETERS_DOC_TAG in c.get("metadata", {}).get("tags", [])]
        assert len(docs) == 1 and docs[0]["cell_type"] == "markdown", name
        text = "".join(docs[0]["source"])
        assert all(f"`{p}`" in text for p in report.parameters(path)), f"{name}: undocumented parameters"


def test_every_chart_of_every_notebook_is_shown_through_the_escaping_helper():
    """Labels from AWS are made literal for matplotlib only in `nb.chart` / `nb.heatmap`
    (issue 12 #14): a cell that draws must show its figure through one of them."""
    for name, path in report.notebooks().items():
        for cell in json.loads(path.read_text())["cells"]:
            src = "".join(cell["source"])
            draws = re.search(r"\.plot\b|\bplt\.|subplots|\.bar\(|\.imshow\(", src)
            if cell["cell_type"] == "code" and draws:
                assert "nb.chart(" in src or "nb.heatmap(" in src or "nb.bars(" in src, f"{name}: {src[:80]}"
                assert "plt.show" not in src and "display(" not in src, f"{name}: {src[:80]}"


@pytest.mark.parametrize("name", NOTEBOOKS)
def test_notebook_runs_on_demo_snapshot_and_page_is_self_contained(demo_report, name):
    results, out = demo_report
    result = next(r for r in results if r.name == name)
    assert result.ok, result.error
    page = result.html.read_text()
    assert not re.search(r"""<(script|link|img|iframe)[^>]+(src|href)=["']?(https?:)?//""", page, re.I)
    assert page.count("Snapshot: collected") == 1  # provenance once, in the page's header
    assert page.count("<nav class='ecr-nav'>") == 1
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


def _cell_texts(page: str) -> list[str]:
    return [
        html.unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", page, re.S)
    ]


def test_no_page_shows_a_missing_value_as_na_none_or_nan(demo_report):
    """issue 15 #5: `<NA>` and `None` leaked into the lifecycle, orphan and cost tables."""
    results, out = demo_report
    for page in sorted(out.glob("*.html")):
        leaked = [c for c in _cell_texts(page.read_text()) if c in {"<NA>", "None", "NaN", "nan", "NaT"}]
        assert not leaked, f"{page.name}: {leaked[:5]}"


def test_access_page_with_math_and_bidi_text_from_aws_draws_its_chart_and_tables(demo_snapshot, tmp_path):
    """issue 12 #14: a condition value `o-$\\undefinedmacro{$` (the grantee label of the access
    heatmap) made matplotlib's math parser fail and the page died before its tables; a Sid with
    U+202E could reorder the text around it."""
    from ecr_audit import load

    evil_org, evil_sid = "o-$\\undefinedmacro{$", "Sid\u202e}1{\x00"
    inv = load(demo_snapshot)
    policies = inv.repository_policies.copy()
    policies.loc[policies.index[0], "policy_text"] = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": evil_sid,
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "ecr:BatchGetImage",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": evil_org}},
                }
            ],
        }
    )
    inv.frames["repository_policies"] = policies
    snap = save(inv, tmp_path / "snap")
    [result] = report.run(snap, tmp_path / "report", only=["cross_account_access"])
    assert result.ok, result.error
    page = result.html.read_text()
    assert "data:image/png;base64" in page  # the heatmap was drawn
    cells = _cell_texts(page)
    assert evil_org in cells  # the grant is in the tables
    assert "Sid\\u202e}1{\\x00" in cells  # the Sid, visibly marked
    assert "\u202e" not in page and "\x00" not in page


def _ids(page: str) -> set[str]:
    return set(re.findall(r"""\bid=["']([^"']+)["']""", page))


def test_what_to_fix_first_opens_the_index_and_the_summary_and_its_links_resolve(demo_report):
    results, out = demo_report
    for name in ("index.html", "executive_summary.html"):
        page = (out / name).read_text()
        table = re.search(r"<table class=[\"']ecr-audit fix-first[\"']>.*?</table>", page, re.S)
        assert table, name
        assert "Anyone (public) can push, delete, manage and pull" in table.group(0)  # the demo's worst
        links = re.findall(r"href=[\"']([a-z_]+\.html)#([a-z0-9-]+)[\"']", table.group(0))
        assert len(links) >= 5, links
        for target, anchor in links:
            assert anchor in _ids((out / target).read_text()), (name, target, anchor)
    index = (out / "index.html").read_text()
    assert index.index("id='fix-first'") < index.index("<section>")  # before the pages' headlines


def test_every_section_a_finding_kind_links_to_exists_on_its_page(demo_report):
    from ecr_audit import summary

    results, out = demo_report
    for _prefix, page, anchor, _name in summary.SECTIONS:
        assert anchor in _ids((out / f"{page}.html").read_text()), (page, anchor)


def test_findings_csv_and_json_are_written_into_the_report_and_linked(demo_report, demo_inventory):
    import csv

    from ecr_audit import findings

    results, out = demo_report
    expected = findings.findings(demo_inventory)
    rows = list(csv.DictReader(open(out / "findings.csv", newline="")))
    records = json.loads((out / "findings.json").read_text())
    assert len(rows) == len(records) == len(expected) > 0
    assert {r["finding_uid"] for r in records} == set(expected["finding_uid"])
    index = (out / "index.html").read_text()
    assert "href='findings.csv'" in index and "href='findings.json'" in index


def test_pages_show_numbers_and_names_for_people_while_csvs_keep_raw_values(demo_report):
    import csv

    from ecr_audit import formats

    results, out = demo_report
    page = (out / "storage_cost.html").read_text()
    first = next(csv.DictReader(open(out / "storage_cost-by_account.csv", newline="")))
    cost, billable = float(first["cost_usd_per_month"]), int(first["billable_bytes"])
    assert re.fullmatch(r"\d+\.\d{3,}", first["cost_usd_per_month"])  # raw in the CSV
    assert f">{formats.money(cost)}<" in page and f">{formats.size(billable)}<" in page
    assert f">{billable}<" not in page and f">{first['cost_usd_per_month']}<" not in page
    assert re.search(rf">[\w-]+ <span class=[\"']?id[\"']?>{first['account_id']}</span>", page)  # by name
    assert "data (098765432109)" in (out / "executive_summary.ipynb").read_text()  # chart labels by name


def test_every_page_ends_with_its_parameters_and_keeps_kernel_logs_out_of_the_report(demo_report):
    results, out = demo_report
    for r in results:
        page = r.html.read_text()
        about, ran = page.rindex("About this page"), page.index("This page ran with")
        assert about > page.rfind("<table") and ran > about, r.name  # rfind: a page may have no table
        assert (out / ".logs" / f"{r.name}.kernel.log").exists()
    assert not list(out.glob("*.log")) and not list(out.glob("*.headlines.json"))


def test_every_page_runs_on_a_partly_read_organization_without_images(tmp_path):
    """The pages' helpers on degenerate input: no image, a failed region, a read error (the summary
    page once died here on an empty savings merge)."""
    from ecr_audit import Inventory

    acct = "012345678901"
    inv = Inventory.from_frames(
        meta={
            "source": "test",
            "collected_at": "2026-11-01T00:00:00Z",
            "options": {"read_manifests": "auto"},
        },
        accounts=[{"account_id": acct, "account_name": "solo", "collection_status": "partial"}],
        repositories=[
            {
                "account_id": acct,
                "region": "us-east-1",
                "repository_name": "app",
                "repository_arn": f"arn:aws:ecr:us-east-1:{acct}:repository/app",
            }
        ],
        coverage=[
            {"account_id": acct, "region": "us-east-1", "status": "partial", "reason": "some reads denied"},
            {"account_id": acct, "region": "eu-west-1", "status": "failed", "reason": "denied"},
        ],
        errors=[
            {
                "account_id": acct,
                "region": "eu-west-1",
                "operation": "DescribeRepositories",
                "error_code": "AccessDenied",
                "error_kind": "access_denied",
            }
        ],
    )
    results = report.run(save(inv, tmp_path / "snap"), tmp_path / "out")
    assert [(r.name, r.error) for r in results if not r.ok] == []
    index = (tmp_path / "out" / "index.html").read_text()
    assert "<div class='warn'>Coverage: 0 of 2 account × region units complete · 1 failed read" in index
    assert "href='errors.csv'" in index
