"""Every policy shape of tests/data/policy_corpus.py classifies as expected."""

import pytest

from ecr_audit import access
from tests.access_helpers import classified, inventory, time_limit
from tests.data.policy_corpus import CASES


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_policy_classifies_as_documented(case):
    inv = inventory(case["policy"], scope=case.get("scope", "repository"))
    with time_limit(60, case["name"]):
        g = access.grants(inv)
    found = set(access.policy_findings(inv)["finding_id"])
    if case.get("undetermined"):
        assert g["exposure"].tolist() == ["undetermined"]
        assert g["can_pull"].isna().all()
        assert case.get("findings", {"ecr_policy_unparseable"}) <= found
        return
    assert classified(g) == case["expected"]
    assert case.get("findings", set()) <= found


def test_corpus_cites_a_source_for_every_case():
    assert all(c.get("source") for c in CASES)
    assert len({c["name"] for c in CASES}) == len(CASES)
