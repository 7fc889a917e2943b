import numpy as np
import pandas as pd

from ecr_audit import summary


def _f(fid, sev, arn):
    return {"finding_id": fid, "severity": sev, "resource_arn": arn, "title": fid.replace("_", " ")}


def test_top_findings_ranks_by_severity_then_by_resources_affected():
    f = pd.DataFrame(
        [
            _f("ecr_low_a", "low", "r1"),
            _f("ecr_low_a", "low", "r2"),
            _f("ecr_low_a", "low", "r3"),
            _f("ecr_crit", "critical", "r1"),
            _f("ecr_high_b", "high", "r1"),
            _f("ecr_high_c", "high", "r1"),
            _f("ecr_high_c", "high", "r2"),
        ]
    )
    top = summary.top_findings(f, n=3)
    assert top["finding_id"].tolist() == ["ecr_crit", "ecr_high_c", "ecr_high_b"]
    assert top["resources"].tolist() == [1, 2, 1]


def test_findings_by_severity_lists_every_level_even_when_zero():
    s = summary.findings_by_severity(pd.DataFrame([_f("x", "high", "r")]))
    assert s.to_dict() == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}


def test_cost_headline_says_upper_bound_and_exclusions():
    total = pd.DataFrame(
        [
            {
                "repositories": 8,
                "repositories_upper_bound": 4,
                "repositories_undetermined": 1,
                "cost_usd_per_month": 0.5,
            }
        ]
    )
    assert summary.cost_headline(total) == (
        "$0.50",
        "upper bound: 4 repositories estimated without manifests; "
        "incomplete: 1 repositories could not be read and are excluded",
    )
    assert summary.cost_headline(total.assign(repositories=0)) == ("no repository was read", "")


def test_reclaimable_headline_counts_unknown_orphans_instead_of_adding_zero():
    orphans = pd.DataFrame({"reclaimable_bytes": pd.array([100, None, 50], dtype="Int64")})
    assert summary.reclaimable_headline(orphans) == ("150 B", "+1 orphan undetermined: manifests not read")


def test_headlines_of_a_partly_read_organization_say_at_least():
    from ecr_audit import Inventory

    inv = Inventory.from_frames(
        coverage=[
            {"account_id": "012345678901", "region": "us-east-1", "status": "failed"},
            {"account_id": "012345678901", "region": "eu-west-1", "status": "complete"},
        ]
    )
    found = pd.DataFrame(columns=["finding_id", "severity", "resource_arn", "title"])
    total = pd.DataFrame(
        [
            {
                "repositories": 0,
                "repositories_upper_bound": 0,
                "repositories_undetermined": 0,
                "cost_usd_per_month": 0.0,
            }
        ]
    )
    h = summary.headlines(inv, found, total, pd.DataFrame()).set_index("label")
    assert h.loc["Repositories", "note"] == "at least: 1 of 2 account × region units not fully read"
    assert h.loc["Storage cost per month", "value"] == "no repository was read"


# ---- what to fix first -------------------------------------------------------------------------


def _finding(fid, sev, repo="app", account="012345678901", region="us-east-1", details="d", **kw):
    arn = f"arn:aws:ecr:{region}:{account}:" + (f"repository/{repo}" if repo else "registry")
    return {
        "finding_id": fid,
        "severity": sev,
        "resource_arn": arn,
        "account_id": account,
        "region": region,
        "repository_name": repo,
        "title": kw.get("title", fid.replace("_", " ")),
        "details": details,
        "remediation": kw.get("remediation", f"fix {fid}"),
        "finding_uid": f"{fid}|{arn}|{details}",
    }


def test_fix_first_states_one_grant_once_with_everything_it_allows():
    """public push, delete, manage and pull of one statement on one repository are one thing to fix."""
    f = pd.DataFrame(
        [
            _finding(f"ecr_repository_public_{cap}", sev, details="grantee * via statement(s) Open")
            for cap, sev in [
                ("delete", "critical"),
                ("manage", "critical"),
                ("push", "critical"),
                ("pull", "high"),
            ]
        ]
    )
    top = summary.fix_first(f)
    assert len(top) == 1
    row = top.iloc[0]
    assert (
        row["severity"] == "critical"
        and row["problem"] == "Anyone (public) can push, delete, manage and pull"
    )
    assert row["resource"] == "app" and row["root_cause"] == "grantee * via statement(s) Open"
    assert (row["page"], row["anchor"]) == ("cross_account_access", "critical-list")
    assert set(row["finding_ids"].split(", ")) == {f"ecr_repository_public_{c}" for c in summary.CAPABILITIES}


def test_fix_first_puts_write_before_read_and_a_whole_registry_before_one_repository():
    f = pd.DataFrame(
        [
            _finding("ecr_repository_public_pull", "high", repo="pulled"),
            _finding("ecr_repository_tags_mutable", "high", repo="hygiene"),
            _finding("ecr_repository_external_push", "high", repo="pushed"),
            _finding("ecr_registry_external_access", "high", repo="", account="111111111111"),
        ]
    )
    repos = pd.DataFrame({"account_id": ["111111111111"] * 5, "region": ["us-east-1"] * 5})
    top = summary.fix_first(f, repositories=repos)
    assert top["resource"].tolist() == ["registry", "pushed", "pulled", "hygiene"]
    assert top["impact"].iloc[0] == "reaches 5 repositories"


def test_fix_first_keeps_room_for_the_cleanups_that_free_the_most_and_says_how_much():
    hygiene = [_finding(f"ecr_repository_hygiene_{i}", "medium", repo=f"r{i}") for i in range(10)]
    cleanup = [
        _finding("ecr_repository_reclaimable_storage", "low", repo="small"),
        _finding("ecr_repository_reclaimable_storage", "low", repo="big"),
        _finding("ecr_repository_stale_images", "low", repo="big"),
        _finding("ecr_audit_unreadable", "info", repo="x"),
    ]
    savings = pd.DataFrame(
        {
            "option": ["orphans", "orphans", "stale_90d"],
            "account_id": ["012345678901"] * 3,
            "region": ["us-east-1"] * 3,
            "repository_name": ["small", "big", "big"],
            "freed_bytes": [2**20, 3 * 2**30, 2**30],
            "freed_cost_usd_per_month": [0.0001, 0.30, 0.10],
        }
    )
    top = summary.fix_first(pd.DataFrame(hygiene + cleanup), n=5, savings=savings)
    assert len(top) == 5
    assert top["severity"].tolist() == ["medium"] * 3 + ["low"] * 2  # info is left to the coverage detail
    reclaim = top[top["finding_ids"] == "ecr_repository_reclaimable_storage"].iloc[0]
    assert (
        reclaim["resource"] == "big" and reclaim["more_resources"] == 1
    )  # the worst named, the rest counted
    assert reclaim["impact"] == "frees 3.00 GiB ($0.30 / month)"
    assert reclaim["freed_bytes"] == 3 * 2**30 + 2**20
    stale = top[top["finding_ids"] == "ecr_repository_stale_images"].iloc[0]
    assert stale["impact"] == "frees 1.00 GiB ($0.10 / month)"
    assert top.index[top["finding_ids"] == "ecr_repository_reclaimable_storage"][0] < stale.name  # $ first


def test_fix_first_of_no_findings_or_only_info_is_empty_with_its_columns():
    assert summary.fix_first(pd.DataFrame(columns=["finding_id", "severity"])).columns.tolist() == (
        summary.FIX_FIRST_COLUMNS
    )
    only_info = pd.DataFrame([_finding("ecr_audit_unreadable", "info")])
    assert summary.fix_first(only_info).empty


def test_every_finding_kind_is_explained_in_a_section_of_a_report_page():
    from ecr_audit import findings, report

    pages = set(report.ORDER) | {"index"}
    for fid in findings.catalog()["finding_id"].str.rstrip("*"):
        page, anchor, name = summary.section(fid)
        assert page in pages and anchor and name, fid
    assert summary.section("ecr_repository_public_push")[:2] == ("cross_account_access", "critical-list")
    assert summary.section("ecr_repository_tags_mutable")[:2] == ("executive_summary", "finding-kinds")


def test_grants_view_says_what_each_grant_allows_and_on_what():
    grants = pd.DataFrame(
        {
            "severity": ["critical", "high", "undetermined"],
            "exposure": ["public", "public", "undetermined"],
            "grantee": ["*", "*", "?"],
            "scope": ["repository", "creation_template", "registry"],
            "repository_name": ["app", None, None],
            "template_prefix": [None, "ROOT", None],
            "account_id": ["012345678901"] * 3,
            "region": ["us-east-1"] * 3,
            "statement_ids": [["A"], ["B"], []],
            "can_pull": pd.array([True, True, None], dtype="boolean"),
            "can_push": pd.array([True, False, None], dtype="boolean"),
            "can_delete": pd.array([False, False, None], dtype="boolean"),
            "can_manage": pd.array([True, False, None], dtype="boolean"),
        }
    )
    view = summary.grants_view(grants)
    assert view.columns[:5].tolist() == ["severity", "exposure", "grantee", "capabilities", "resource"]
    assert view["capabilities"].tolist() == ["pull, push, manage", "pull", "undetermined"]
    assert view["resource"].tolist() == ["app", "creation template ROOT", "registry"]


def test_coverage_detail_lists_what_was_not_read_first():
    from ecr_audit import Inventory

    inv = Inventory.from_frames(
        accounts=[
            {"account_id": "012345678901", "account_name": "a", "collection_status": "partial"},
            {"account_id": "000555666777", "account_name": "old", "collection_status": "skipped"},
        ],
        coverage=[
            {"account_id": "012345678901", "region": "eu-west-1", "status": "complete"},
            {"account_id": "012345678901", "region": "us-east-1", "status": "failed", "reason": "denied"},
        ],
        errors=[
            {
                "account_id": "012345678901",
                "region": "us-east-1",
                "operation": op,
                "error_code": "AccessDenied",
                "error_kind": "access_denied",
            }
            for op in ("DescribeRepositories", "DescribeRepositories", "GetRegistryPolicy")
        ],
    )
    tables = {
        name: (caption, frame, columns) for name, caption, frame, columns in summary.coverage_detail(inv)
    }
    assert list(tables) == ["coverage_by_status", "coverage", "errors_by_kind", "accounts_not_collected"]
    assert tables["coverage"][1]["status"].tolist() == ["failed", "complete"]
    assert tables["errors_by_kind"][1]["errors"].tolist() == [2, 1]
    assert tables["accounts_not_collected"][1]["account_id"].tolist() == ["000555666777"]
    line, ok = summary.coverage_line(inv)
    assert not ok and line.startswith("1 of 2 account × region units complete · 3 failed reads")


def test_fix_first_with_no_saving_for_a_cleanup_kind_names_no_figure():
    """When no image is selected, `cost.savings` gives one row per option with null keys (float64):
    merging them with the findings' text keys failed and took the summary page down."""
    f = pd.DataFrame(
        [
            _finding("ecr_repository_reclaimable_storage", "low"),
            _finding("ecr_repository_stale_images", "low"),
        ]
    )
    savings = pd.DataFrame(
        {
            "option": ["orphans", "stale_90d"],
            "account_id": [np.nan, np.nan],
            "region": [np.nan, np.nan],
            "repository_name": [np.nan, np.nan],
            "freed_bytes": [0, 0],
            "freed_cost_usd_per_month": [0.0, 0.0],
            "reason": ["no image selected"] * 2,
        }
    )
    top = summary.fix_first(f, savings=savings)
    assert top["impact"].tolist() == ["", ""] and top["freed_bytes"].isna().all()
