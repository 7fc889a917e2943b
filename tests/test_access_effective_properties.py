"""Properties of effective access (hypothesis): organization policies and boundaries only ever take
away. Adding an RCP Deny never widens a grant's effective exposure or capabilities, removing one
never narrows them; an SCP Deny or a permissions boundary never widens what a principal can do."""

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ecr_audit import access
from ecr_audit.access.grants import EFFECTIVE_ORDER
from tests.access_helpers import MANAGEMENT, PROD_OU, ROOT, org_inventory
from tests.data.org_policy_corpus import ADMIN, ENFORCE_ORG_IDENTITIES, PARTNER, PUBLIC_PULL
from tests.data.policy_corpus import ORG, OTHER_ORG, OUTSIDER, OWNER, PULL, PUSH, SIBLING

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
CAPS = ("pull", "push", "delete", "manage")


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


grantee_policies = st.sampled_from(
    [
        PUBLIC_PULL,
        _doc({"Effect": "Allow", "Principal": "*", "Action": "ecr:*"}),
        _doc({"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": PULL + PUSH}),
        _doc({"Effect": "Allow", "Principal": {"AWS": PARTNER}, "Action": PULL}),
        _doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": "ecr:*"}),
        _doc({"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": PULL}),
        _doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
        ),
    ]
)
condition = st.sampled_from(
    [
        {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
        {"StringNotEquals": {"aws:PrincipalOrgID": OTHER_ORG}},
        {"StringNotEqualsIfExists": {"aws:PrincipalAccount": [PARTNER]}},
        {"StringEquals": {"aws:PrincipalAccount": OUTSIDER}},
        {"StringNotEqualsIfExists": {"aws:ResourceTag/keep": "true"}},
        {"StringEquals": {"aws:ResourceTag/env": "prod"}},
        {"Null": {"aws:ResourceTag/env": "true"}},
        {"BoolIfExists": {"aws:PrincipalIsAWSService": "false"}},
        {"Bool": {"aws:PrincipalIsAWSService": "true"}},
        {"Null": {"aws:SourceAccount": "false"}},
        {"StringNotEqualsIfExists": {"aws:SourceOrgID": ORG}},
        {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
        {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
    ]
)
actions = st.sampled_from(["ecr:*", PULL, PUSH, "ecr:PutImage", "ecr:Batch*", "ecr:DeleteRepository"])


@st.composite
def deny(draw):
    conds: dict = {}
    for c in draw(st.lists(condition, max_size=3)):
        for op, block in c.items():
            conds.setdefault(op, {}).update(block)
    statement = {"Effect": "Deny", "Principal": "*", "Action": draw(actions), "Resource": "*"}
    if conds:
        statement["Condition"] = conds
    return _doc(statement), draw(st.sampled_from([ROOT, PROD_OU, OWNER, "ou-ab12-elsewhere"]))


tags = st.sampled_from([{}, {"keep": "true"}, {"env": "prod"}, {"env": "dev", "keep": "no"}, None])


def _true(v) -> bool:
    return v is not None and not pd.isna(v) and bool(v)


def _false(v) -> bool:
    return v is not None and not pd.isna(v) and not bool(v)


def _rank(exposure: str) -> int | None:
    return None if exposure == "undetermined" else EFFECTIVE_ORDER.index(exposure)


def _assert_not_wider(after, before):
    """Every grant row of `after` is no wider than the same row of `before`."""
    assert len(after) == len(before)
    for (_, a), (_, b) in zip(after.iterrows(), before.iterrows()):
        assert a["grantee"] == b["grantee"] and a["exposure"] == b["exposure"]
        ra, rb = _rank(a["effective_exposure"]), _rank(b["effective_exposure"])
        if ra is not None and rb is not None:
            assert ra >= rb, (b["effective_exposure"], "->", a["effective_exposure"])
        for c in CAPS:
            was, now = b[f"effective_can_{c}"], a[f"effective_can_{c}"]
            if _true(now):
                assert not _false(was), c


DENY_SERVICES = _doc(
    {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "ecr:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:PrincipalIsAWSService": "true"}},
    }
)


@SETTINGS
@given(grantee_policies, st.lists(deny(), max_size=2), deny(), tags)
@example(PUBLIC_PULL, [], (DENY_SERVICES, ROOT), {})  # takes away the narrowest part (services)
@pytest.mark.slow  # a property search over many generated inputs: seconds
def test_adding_an_rcp_deny_never_widens_and_removing_one_never_narrows(policy, rcps, extra, repo_tags):
    before = access.grants(
        org_inventory(policy, rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU), *rcps], tags=repo_tags)
    )
    after = access.grants(
        org_inventory(policy, rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU), *rcps, extra], tags=repo_tags)
    )
    _assert_not_wider(after, before)  # adding never widens = removing never narrows
    assert (before["effective_exposure"] != "none").any() or (after["effective_exposure"] == "none").all()


@SETTINGS
@given(grantee_policies, st.lists(deny(), max_size=2), tags)
@pytest.mark.slow
def test_rcps_never_widen_the_policy_and_never_apply_in_the_management_account(policy, rcps, repo_tags):
    member = access.grants(org_inventory(policy, rcps=rcps, tags=repo_tags))
    for _, r in member.iterrows():
        if r["effective_exposure"] not in ("undetermined", "none"):
            assert _rank(r["effective_exposure"]) >= EFFECTIVE_ORDER.index(r["exposure"])
    management = access.grants(org_inventory(policy, rcps=rcps, owner=MANAGEMENT, tags=repo_tags))
    assert set(management["effective_basis"]) == {"management_account_exempt"}
    assert (management["effective_exposure"] == management["exposure"]).all()


def _can(df) -> dict:
    return {(r["capability"], r["scope"], r["repository_name"]): r["can"] for _, r in df.iterrows()}


def _assert_principal_not_wider(after, before):
    a, b = _can(after), _can(before)
    for key, now in a.items():
        if _true(now):
            assert key in b and not _false(b[key]), key


identity_policies = st.sampled_from(
    [
        [ADMIN],
        [_doc({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", *PULL, *PUSH], "Resource": "*"})],
        [_doc({"Effect": "Allow", "Action": "ecr:*", "Resource": f"arn:aws:ecr:*:{OWNER}:repository/*"})],
    ]
)
scp_deny = st.builds(
    lambda act, cond: _doc(
        {"Effect": "Deny", "Action": act, "Resource": "*", **({"Condition": cond} if cond else {})}
    ),
    actions,
    st.one_of(st.none(), condition),
)


@SETTINGS
@given(identity_policies, grantee_policies, scp_deny, st.sampled_from([ROOT, PROD_OU, OWNER]), tags)
@pytest.mark.slow
def test_an_scp_deny_never_widens_what_a_principal_can_do(policies, policy, scp, target, repo_tags):
    role = {"account_id": OWNER, "arn": f"arn:aws:iam::{OWNER}:role/r", "policies": policies}
    before = access.principals(org_inventory(policy, principals=[role], tags=repo_tags))
    after = access.principals(org_inventory(policy, principals=[role], scps=[(scp, target)], tags=repo_tags))
    _assert_principal_not_wider(after, before)


@SETTINGS
@given(identity_policies, grantee_policies, actions, tags)
@pytest.mark.slow
def test_adding_a_boundary_never_widens_what_a_principal_can_do(policies, policy, allowed, repo_tags):
    role = {"account_id": OWNER, "arn": f"arn:aws:iam::{OWNER}:role/r", "policies": policies}
    boundary = _doc({"Effect": "Allow", "Action": allowed, "Resource": "*"})
    before = access.principals(org_inventory(policy, principals=[role], tags=repo_tags))
    after = access.principals(
        org_inventory(policy, principals=[{**role, "boundary": boundary}], tags=repo_tags)
    )
    _assert_principal_not_wider(after, before)
