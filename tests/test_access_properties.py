"""Property tests: a Deny never widens exposure, an Allow never narrows it, bad input never crashes."""

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_audit import access
from ecr_audit.access.actions import capabilities
from ecr_audit.access.evaluate import OrgView, evaluate
from ecr_audit.access.grants import EXPOSURES, exposure
from ecr_audit.access.policy import parse_policy
from tests.access_helpers import inventory
from tests.data.policy_corpus import ORG, OTHER_ORG, OUTSIDER, OWNER, SIBLING

ORGV = OrgView(ORG, frozenset({OWNER, SIBLING}))
RANK = {"account": 1, "service": 2, "org": 3, "external": 4, "public": 5}

principals = st.sampled_from(
    [
        "*",
        {"AWS": "*"},
        {"AWS": OUTSIDER},
        {"AWS": SIBLING},
        {"AWS": OWNER},
        {"AWS": f"arn:aws:iam::{SIBLING}:role/ci"},
        {"AWS": f"arn:aws:sts::{OUTSIDER}:assumed-role/r/s"},
        {"AWS": "AROAEXAMPLEEXAMPLE12"},
        {"Service": "lambda.amazonaws.com"},
        {"AWS": [SIBLING, OUTSIDER]},
    ]
)
action_sets = st.sampled_from(
    [
        "ecr:*",
        "*",
        "ecr:Batch*",
        "ecr:Get*",
        "ecr:Put*",
        ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        ["ecr:PutImage", "ecr:InitiateLayerUpload"],
        "ecr:DeleteRepository",
        "ecr:SetRepositoryPolicy",
        "ecr:ReplicateImage",
        "ecr:describe*",
    ]
)
conditions = st.sampled_from(
    [
        None,
        {"StringEquals": {"aws:PrincipalOrgID": ORG}},
        {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
        {"StringEquals": {"aws:PrincipalOrgID": OTHER_ORG}},
        {"StringNotEquals": {"aws:PrincipalAccount": [SIBLING, OUTSIDER]}},
        {"StringEquals": {"aws:PrincipalAccount": OUTSIDER}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/*"}},
        {"StringEquals": {"aws:SourceAccount": OWNER}},
        {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
        {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}},
        {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}},
        {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
        {"StringEquals": {"aws:SourceVpce": "vpce-1"}},
        {"StringEquals": {"ecr:ResourceTag/env": "prod"}},
        {"StringEqualsMaybe": {"aws:PrincipalOrgID": ORG}},
        {"StringEquals": {"aws:MadeUpKey": "x"}},
    ]
)


@st.composite
def statements(draw, effect=None):
    eff = effect or draw(st.sampled_from(["Allow", "Deny"]))
    s = {"Effect": eff, "Action": draw(action_sets)}
    if draw(st.booleans()) or eff == "Allow":
        s["Principal"] = draw(principals)
    else:
        s["NotPrincipal"] = draw(principals)
    cond = draw(conditions)
    if cond:
        s["Condition"] = cond
    if draw(st.integers(0, 5)) == 0:
        s["NotAction" if "Action" in s else "Action"] = s.pop("Action")
    return s


def reach(sts) -> dict:
    """Widest exposure rank reached per capability."""
    ev = evaluate(parse_policy(json.dumps({"Version": "2012-10-17", "Statement": sts})), ORGV)
    out = {c: 0 for c in ("can_pull", "can_push", "can_delete", "can_manage")}
    for p in ev.pieces:
        rank = RANK[exposure(p.grantee.kind, p.grantee.value, p.grantee.account_id, OWNER, ORGV)]
        for cap, on in capabilities(p.actions).items():
            if on:
                out[cap] = max(out[cap], rank)
    return out


FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(st.lists(statements(), min_size=1, max_size=5), statements(effect="Deny"))
def test_adding_a_deny_never_widens_exposure(sts, extra_deny):
    before, after = reach(sts), reach(sts + [extra_deny])
    assert all(after[c] <= before[c] for c in before), (before, after)


@FAST
@given(st.lists(statements(), min_size=0, max_size=5), statements(effect="Allow"))
def test_adding_an_allow_never_narrows_exposure(sts, extra_allow):
    before, after = reach(sts), reach(sts + [extra_allow])
    assert all(after[c] >= before[c] for c in before), (before, after)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "Version",
                    "Statement",
                    "Effect",
                    "Principal",
                    "NotPrincipal",
                    "Action",
                    "NotAction",
                    "Resource",
                    "Condition",
                    "AWS",
                    "Service",
                    "StringEquals",
                    "aws:PrincipalOrgID",
                    "Sid",
                    "x",
                ]
            ),
            children,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@pytest.mark.slow  # a property search over many generated inputs: seconds
@settings(max_examples=100, deadline=None)
@given(json_values)
def test_arbitrary_json_never_crashes_and_yields_known_exposures(doc):
    inv = inventory(json.dumps(doc))
    g = access.grants(inv)
    f = access.policy_findings(inv)
    assert set(g["exposure"]) <= set(EXPOSURES)
    if (g["exposure"] == "undetermined").any():
        assert "ecr_policy_unparseable" in set(f["finding_id"])
