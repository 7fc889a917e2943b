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
        "0.50 (upper bound: 4 repositories estimated without manifests; "
        "incomplete: 1 repositories could not be read and are excluded)"
    )
    assert summary.cost_headline(total.assign(repositories=0)) == "no repository was read"


def test_reclaimable_headline_counts_unknown_orphans_instead_of_adding_zero():
    orphans = pd.DataFrame({"reclaimable_bytes": pd.array([100, None, 50], dtype="Int64")})
    assert summary.reclaimable_headline(orphans) == "150 (+1 orphan undetermined: manifests not read)"


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
    assert h.loc["Storage cost (USD per month)", "value"] == "no repository was read"
