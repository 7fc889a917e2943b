"""Effective access (issue 16): RCPs on grants, identities × repositories, trust policies, the demo
world's named cases (tests/data/org_policy_corpus.py, ecr_audit.sandbox.demo.ACCESS_CASES)."""

import pandas as pd
import pytest

from ecr_audit import access
from ecr_audit.access import principal_access as principals_mod
from tests.access_helpers import caps, org_inventory
from tests.data.org_policy_corpus import ADMIN, PRINCIPAL_CASES, RCP_CASES, TRUST_CASES


def _effective_caps(row) -> str:
    return "+".join(c for c in ("pull", "push", "delete", "manage") if row[f"effective_can_{c}"] is True)


def _effective(g) -> dict:
    return {
        r["grantee"]: (r["effective_exposure"], _effective_caps(r), r["effective_basis"])
        for _, r in g.iterrows()
    }


@pytest.mark.parametrize("case", RCP_CASES, ids=[c["name"] for c in RCP_CASES])
def test_rcp_corpus_effective_exposure(case):
    inv = org_inventory(
        case["policy"],
        rcps=case["rcps"],
        owner=case.get("owner", "111122223333"),
        tags=case["tags"],
        rcp_status=case.get("rcp_status", "enabled"),
    )
    g = access.grants(inv)
    assert _effective(g) == case["expected"]
    # The policy's own columns are kept as they were.
    assert set(g["exposure"]) <= {"public", "external", "org", "service", "account"}
    neutralized = [n for ns in g["neutralized_by"] for n in ns]
    if case.get("neutralized"):
        assert neutralized and all(" @ " in n and n.startswith("p-") for n in neutralized)
        assert any("Root" in n for n in neutralized)  # the path, by names
    else:
        assert not neutralized


def test_undetermined_effective_capability_is_null_not_false():
    case = next(c for c in RCP_CASES if c["name"] == "perimeter_with_unreadable_tags_is_undetermined")
    g = access.grants(org_inventory(case["policy"], rcps=case["rcps"], tags=None))
    row = g.iloc[0]
    assert row["effective_exposure"] == "undetermined"
    assert row["effective_can_pull"] == True  # noqa: E712  # the org part keeps it either way
    assert caps(row) == "pull"


def test_rcp_corpus_cites_sources():
    for corpus in (RCP_CASES, PRINCIPAL_CASES, TRUST_CASES):
        assert all(c.get("source") for c in corpus)
        assert len({c["name"] for c in corpus}) == len(corpus)


def _principal_rows(case):
    p = case["principal"]
    inv = org_inventory(
        case.get("policy"),
        principals=[p],
        scps=case.get("scps", ()),
        rcps=case.get("rcps", ()),
        owner=case.get("owner", "111122223333"),
        tags=case.get("tags", {}),
        full_access=case.get("full_access", True),
    )
    df = access.principals(inv)
    return df[df["principal_arn"] == p["arn"]]


@pytest.mark.parametrize("case", PRINCIPAL_CASES, ids=[c["name"] for c in PRINCIPAL_CASES])
def test_principal_corpus(case):
    rows = _principal_rows(case)
    for cap, want in case["expected"].items():
        scope = "registry" if cap == "get_authorization_token" else "repository"
        r = rows[(rows["capability"] == cap) & (rows["scope"] == scope)]
        if want == "absent":
            assert r.empty, (cap, r.to_dict("records"))
            continue
        assert len(r) == 1, (cap, rows[["capability", "scope", "can"]].to_dict("records"))
        got = r["can"].iloc[0]
        if want is None:
            assert pd.isna(got), cap
            assert bool(r["is_undetermined"].iloc[0])
            assert r["unevaluated_conditions"].iloc[0]
        else:
            assert not pd.isna(got) and bool(got) == want, (cap, got, r.to_dict("records"))
    listed = [c for cs in rows["capped_by"] for c in cs]
    for needle in case.get("capped_by", ()):
        assert any(needle in c for c in listed), (needle, listed)
    if "via" in case:
        repo = rows[rows["scope"] == "repository"]
        assert set(repo["via"]) == {case["via"]}
    if "docker" in case:
        pulls = rows[rows["capability"] == "pull"]
        assert [bool(v) for v in pulls["can_use_docker"]] == [case["docker"]] * len(pulls)
    if "scp_basis" in case:
        assert set(rows["scp_basis"]) == {case["scp_basis"]}


def test_scp_deny_does_not_cap_the_service_linked_role_but_caps_a_normal_role():
    case = next(c for c in PRINCIPAL_CASES if c["name"] == "scp_does_not_cap_service_linked_roles")
    admin = {**case["principal"], "policies": [ADMIN]}
    linked = _principal_rows({**case, "principal": admin}).query("capability == 'push'")
    normal = _principal_rows({**case, "principal": {**admin, "service_linked": False}}).query(
        "capability == 'push'"
    )
    assert linked["can"].tolist() == [True] and linked["capped_by"].tolist() == [[]]
    assert normal["can"].tolist() == [False] and "scp-0" in normal["capped_by"].iloc[0][0]


@pytest.mark.parametrize("case", TRUST_CASES, ids=[c["name"] for c in TRUST_CASES])
def test_trust_policies_name_who_outside_can_assume(case):
    from ecr_audit.access.evaluate import OrgView
    from tests.data.policy_corpus import ORG, OWNER, SIBLING

    ident = principals_mod.Identity(
        f"arn:aws:iam::{OWNER}:role/r", OWNER, "role", "r", trust=_text(case["trust"])
    )
    assert principals_mod.assumable_from(ident, OrgView(ORG, frozenset({OWNER, SIBLING}))) == case["expected"]


def _text(doc):
    import json

    return json.dumps(doc)


def test_external_paths_join_roles_trusted_from_outside_with_what_they_can_do():
    trust = TRUST_CASES[0]["trust"]
    role = "arn:aws:iam::111122223333:role/vendor"
    inv = org_inventory(
        None, principals=[dict(account_id="111122223333", arn=role, policies=[ADMIN], trust=trust)]
    )
    paths = access.external_paths(inv)
    push = paths[(paths["capability"] == "push") & (paths["repository_name"] == "app")]
    assert push[["external_principal", "role_arn"]].values.tolist() == [["777788889999", role]]
