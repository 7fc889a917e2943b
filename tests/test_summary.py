import pandas as pd

from ecr_audit import summary


def _f(fid, sev, arn):
    return {"finding_id": fid, "severity": sev, "resource_arn": arn, "title": fid.replace("_", " ")}


def test_top_findings_ranks_by_severity_then_by_resources_affected():
    f = pd.DataFrame([_f("ecr_low_a", "low", "r1"), _f("ecr_low_a", "low", "r2"), _f("ecr_low_a", "low", "r3"),
                      _f("ecr_crit", "critical", "r1"), _f("ecr_high_b", "high", "r1"),
                      _f("ecr_high_c", "high", "r1"), _f("ecr_high_c", "high", "r2")])
    top = summary.top_findings(f, n=3)
    assert top["finding_id"].tolist() == ["ecr_crit", "ecr_high_c", "ecr_high_b"]
    assert top["resources"].tolist() == [1, 2, 1]


def test_findings_by_severity_lists_every_level_even_when_zero():
    s = summary.findings_by_severity(pd.DataFrame([_f("x", "high", "r")]))
    assert s.to_dict() == {"critical": 0, "high": 1, "medium": 0, "low": 0, "info": 0}
