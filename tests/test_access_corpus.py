"""Every policy shape of tests/data/policy_corpus.py classifies as expected."""
import pytest

from ecr_audit import access
from tests.access_helpers import classified, inventory
from tests.data.policy_corpus import CASES


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_corpus_policy_classifies_as_documented(case):
    inv = inventory(case["policy"], scope=case.get("scope", "repository"))
    g = access.grants(inv)
    if case.get("undetermined"):
        assert g["exposure"].tolist() == ["undetermined"]
        assert g["can_pull"].isna().all()
        assert "ecr_policy_unparseable" in set(access.policy_findings(inv)["finding_id"])
        return
    assert classified(g) == case["expected"]


def test_corpus_cites_a_source_for_every_case():
    assert all(c.get("source") for c in CASES)
    assert len({c["name"] for c in CASES}) == len(CASES)
