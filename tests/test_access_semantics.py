"""Named semantics of policy weighing (issue 3, 'Semantics to get right')."""

import json

import pytest

from ecr_audit import access
from ecr_audit.access import actions
from ecr_audit.access.policy import parse_policy
from tests.access_helpers import REGION, classified, inventory
from tests.data.policy_corpus import ORG, OTHER_ORG, OUTSIDER, OWNER, PUSH, SIBLING

PULL2 = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]


def allow(principal, action=PULL2, condition=None, **extra):
    st = {"Effect": "Allow", "Principal": principal, "Action": action, **extra}
    if condition:
        st["Condition"] = condition
    return st


def deny(action="*", principal="*", condition=None, **extra):
    st = {"Effect": "Deny", "Principal": principal, "Action": action, **extra}
    if condition:
        st["Condition"] = condition
    return st


def doc(*sts, version="2012-10-17"):
    return {"Version": version, "Statement": list(sts)}


def grants_of(*sts, **kw):
    return access.grants(inventory(doc(*sts), **kw))


# -- versions, statement shapes, principals ----------------------------------------------------


@pytest.mark.parametrize("version", ["2012-10-17", "2008-10-17"])
def test_both_policy_versions_are_evaluated(version):
    g = access.grants(inventory(doc(allow("*"), version=version)))
    assert classified(g) == {"*": ("public", "pull")}


def test_statement_given_as_object_equals_statement_list():
    one = {"Version": "2012-10-17", "Statement": allow({"AWS": OUTSIDER})}
    assert classified(access.grants(inventory(one))) == classified(grants_of(allow({"AWS": OUTSIDER})))


@pytest.mark.parametrize("principal", ["*", {"AWS": "*"}, {"AWS": ["*"]}])
def test_star_principal_forms_are_public(principal):
    assert classified(grants_of(allow(principal))) == {"*": ("public", "pull")}


@pytest.mark.parametrize("value", [OUTSIDER, f"arn:aws:iam::{OUTSIDER}:root"])
def test_bare_account_id_and_root_arn_both_mean_the_account(value):
    g = grants_of(allow({"AWS": value}))
    assert classified(g) == {OUTSIDER: ("external", "pull")}
    assert g["grantee_account_id"].tolist() == [OUTSIDER]


@pytest.mark.parametrize(
    "arn",
    [
        f"arn:aws:iam::{SIBLING}:role/deploy",
        f"arn:aws:iam::{SIBLING}:user/ci",
        f"arn:aws:sts::{SIBLING}:assumed-role/deploy/build-42",
    ],
)
def test_role_user_and_assumed_role_arns_belong_to_their_account(arn):
    g = grants_of(allow({"AWS": arn}))
    assert classified(g) == {arn: ("org", "pull")}
    assert g["grantee_account_id"].tolist() == [SIBLING]
    assert g["grantee_kind"].tolist() == ["principal"]


def test_unique_id_principal_grants_nothing_and_is_a_dangling_finding():
    inv = inventory(doc(allow({"AWS": ["AIDAJQABLZS4A3QDU576Q", OUTSIDER]})))
    assert classified(access.grants(inv)) == {OUTSIDER: ("external", "pull")}
    f = access.policy_findings(inv)
    dangling = f[f["finding_id"] == "ecr_policy_dangling_principal"]
    assert dangling["subject"].tolist() == ["AIDAJQABLZS4A3QDU576Q"]


def test_owner_account_grant_is_reported_as_account_not_exposure():
    g = grants_of(allow({"AWS": OWNER}, action="ecr:*"))
    assert classified(g) == {OWNER: ("account", "pull+push+delete+manage")}
    assert g["severity"].tolist() == ["info"]


def test_not_principal_with_allow_is_everyone_except_those_named():
    g = grants_of({"Effect": "Allow", "NotPrincipal": {"AWS": OUTSIDER}, "Action": PULL2})
    assert classified(g) == {"*": ("public", "pull")}


def test_service_principal_without_source_condition_is_a_confused_deputy():
    inv = inventory(doc(allow({"Service": "codebuild.amazonaws.com"}, action=PULL2 + PUSH)))
    g = access.grants(inv)
    assert g["exposure"].tolist() == ["service"]
    assert g["is_confused_deputy"].tolist() == [True]
    assert g["severity"].tolist() == ["high"]
    assert "ecr_policy_confused_deputy" in set(access.policy_findings(inv)["finding_id"])


@pytest.mark.parametrize(
    "key,value",
    [
        ("aws:SourceAccount", OWNER),
        ("aws:SourceOwner", OWNER),
        ("aws:SourceArn", f"arn:aws:codebuild:us-east-1:{OWNER}:project/x"),
        ("aws:SourceArn", "arn:aws:s3:::my-bucket"),
    ],
)
def test_service_tied_by_source_key_is_not_a_confused_deputy(key, value):
    op = "ArnLike" if key == "aws:SourceArn" else "StringEquals"
    g = grants_of(allow({"Service": "codebuild.amazonaws.com"}, condition={op: {key: value}}))
    assert g["is_confused_deputy"].tolist() == [False]
    assert g["restricted_by"].tolist() == [[key]]


def test_service_tied_to_outside_account_is_rated_like_external():
    g = grants_of(
        allow(
            {"Service": "lambda.amazonaws.com"},
            action=PUSH,
            condition={"StringEquals": {"aws:SourceAccount": OUTSIDER}},
        )
    )
    assert g["grantee_account_id"].tolist() == [OUTSIDER]
    assert g["severity"].tolist() == ["high"]


# -- actions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "pattern,included,excluded",
    [
        ("ecr:*", "ecr:DeleteRepository", None),
        ("ecr:Batch*", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"),
        ("ecr:Get*", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"),
        ("ECR:batchgetIMAGE", "ecr:BatchGetImage", "ecr:BatchDeleteImage"),
        ("ecr:Put?mage", "ecr:PutImage", "ecr:PutImageTagMutability"),
        ("*", "ecr:ReplicateImage", None),
    ],
)
def test_action_wildcards_match_case_insensitively(pattern, included, excluded):
    m = actions.match_actions(pattern)
    assert included in m
    if excluded:
        assert excluded not in m


def test_other_service_actions_match_no_ecr_action():
    assert actions.match_actions("s3:*") == frozenset()
    assert grants_of(allow("*", action="s3:GetObject")).empty


def test_not_action_is_every_ecr_action_but_those_named():
    g = grants_of({"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "NotAction": "ecr:Get*"})
    row = g.iloc[0]
    assert (row["can_pull"], row["can_push"], row["can_delete"], row["can_manage"]) == (
        True,
        True,
        True,
        True,
    )
    g = grants_of(
        {
            "Effect": "Allow",
            "Principal": {"AWS": OUTSIDER},
            "NotAction": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
        }
    )
    assert g.iloc[0]["can_pull"] is False or not g.iloc[0]["can_pull"]


def test_get_authorization_token_alone_grants_no_capability():
    g = grants_of(allow("*", action="ecr:GetAuthorizationToken"))
    assert g.empty


def test_metadata_only_grant_is_listed_without_capabilities():
    g = grants_of(allow("*", action=["ecr:DescribeImages", "ecr:ListImages"]))
    assert classified(g) == {"*": ("public", "")}
    assert g["severity"].tolist() == ["medium"]


# -- deny ----------------------------------------------------------------------------------------


def test_org_restricted_wildcard_principal_is_not_public():
    g = grants_of(allow("*", condition={"StringEquals": {"aws:PrincipalOrgID": ORG}}))
    assert classified(g) == {ORG: ("org", "pull")}
    assert g["restricted_by"].tolist() == [["aws:PrincipalOrgID"]]


def test_allow_star_with_conditional_deny_outside_org_is_org_only_not_public():
    g = grants_of(
        allow("*", action="ecr:*"), deny(condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}})
    )
    assert classified(g) == {ORG: ("org", "pull+push+delete+manage")}


def test_partial_deny_keeps_public_for_actions_it_does_not_name():
    g = grants_of(
        allow("*", action=PULL2 + PUSH),
        deny(action=PUSH, condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}}),
    )
    assert classified(g) == {"*": ("public", "pull"), ORG: ("org", "push")}


def test_unconditional_deny_removes_the_grant():
    assert grants_of(allow({"AWS": OUTSIDER}), deny(principal={"AWS": OUTSIDER})).empty


def test_deny_naming_one_account_does_not_narrow_a_public_grant():
    g = grants_of(allow("*"), deny(principal={"AWS": OUTSIDER}))
    assert classified(g) == {"*": ("public", "pull")}


def test_deny_except_principalaccount_narrows_public_to_those_accounts():
    g = grants_of(
        allow("*"), deny(condition={"StringNotEquals": {"aws:PrincipalAccount": [SIBLING, OUTSIDER]}})
    )
    assert classified(g) == {SIBLING: ("org", "pull"), OUTSIDER: ("external", "pull")}


def test_deny_outside_org_removes_grant_to_outside_account():
    g = grants_of(
        allow({"AWS": [OUTSIDER, SIBLING]}), deny(condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}})
    )
    assert classified(g) == {SIBLING: ("org", "pull")}


def test_deny_outside_org_keeps_outside_account_when_org_unknown():
    g = grants_of(
        allow({"AWS": OUTSIDER}), deny(condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}}), org=None
    )
    assert classified(g) == {OUTSIDER: ("external", "pull")}


def test_deny_with_tag_condition_cannot_be_shown_to_apply():
    g = grants_of(allow("*"), deny(condition={"StringEquals": {"aws:ResourceTag/env": "prod"}}))
    assert classified(g) == {"*": ("public", "pull")}


def test_deny_limited_to_another_repository_does_not_apply():
    g = grants_of(allow("*"), deny(Resource=f"arn:aws:ecr:{REGION}:{OWNER}:repository/other"))
    assert classified(g) == {"*": ("public", "pull")}
    g = grants_of(allow("*"), deny(Resource=f"arn:aws:ecr:{REGION}:{OWNER}:repository/ap*"))
    assert g.empty


# -- conditions ----------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["aws:principalorgid", "AWS:PRINCIPALORGID", "aws:PrincipalOrgId"])
def test_condition_keys_are_case_insensitive(key):
    g = grants_of(allow("*", condition={"StringEquals": {key: ORG}}))
    assert classified(g) == {ORG: ("org", "pull")}


def test_ifexists_identity_test_does_not_confine():
    g = grants_of(allow("*", condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}}))
    assert classified(g) == {"*": ("public", "pull")}


def test_forallvalues_does_not_confine_but_foranyvalue_does():
    any_ = grants_of(
        allow("*", condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/r-1/*"}})
    )
    all_ = grants_of(
        allow("*", condition={"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/r-1/*"}})
    )
    assert classified(any_) == {ORG: ("org", "pull")}
    assert classified(all_) == {"*": ("public", "pull")}


def test_stringlike_wildcard_org_id_does_not_confine():
    g = grants_of(allow("*", condition={"StringLike": {"aws:PrincipalOrgID": "o-*"}}))
    assert classified(g) == {"*": ("public", "pull")}


def test_arnlike_principalarn_with_literal_account_confines_to_that_account():
    g = grants_of(allow("*", condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OUTSIDER}:role/*"}}))
    assert classified(g) == {OUTSIDER: ("external", "pull")}


def test_exact_principalarn_confines_to_that_principal():
    arn = f"arn:aws:iam::{SIBLING}:role/deploy"
    g = grants_of(allow("*", condition={"ArnEquals": {"aws:PrincipalArn": arn}}))
    assert classified(g) == {arn: ("org", "pull")}


def test_negated_identity_test_in_allow_does_not_confine():
    g = grants_of(allow("*", condition={"StringNotEquals": {"aws:PrincipalOrgID": OTHER_ORG}}))
    assert classified(g) == {"*": ("public", "pull")}


def test_several_conditions_intersect():
    g = grants_of(
        allow(
            "*",
            condition={
                "StringEquals": {"aws:PrincipalOrgID": ORG, "aws:PrincipalAccount": [SIBLING, OUTSIDER]}
            },
        )
    )
    # OUTSIDER is not in ORG: the intersection keeps only SIBLING.
    assert classified(g) == {SIBLING: ("org", "pull")}


def test_identity_keys_confine_a_wildcard_principal():
    for key, value, grantee in [
        ("aws:PrincipalAccount", OUTSIDER, OUTSIDER),
        ("aws:SourceAccount", SIBLING, SIBLING),
        ("aws:SourceOwner", SIBLING, SIBLING),
        ("aws:PrincipalOrgPaths", f"{ORG}/r-x/ou-y/", ORG),
    ]:
        g = grants_of(allow("*", condition={"StringEquals": {key: value}}))
        assert list(classified(g)) == [grantee], key


@pytest.mark.parametrize(
    "cond",
    [
        {"StringEquals": {"aws:SourceVpce": "vpce-0abc"}},
        {"StringEquals": {"aws:SourceVpc": "vpc-0abc"}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
    ],
)
def test_network_keys_keep_exposure_but_list_restriction_and_lower_severity(cond):
    g = grants_of(allow("*", action=PUSH, condition=cond))
    assert classified(g) == {"*": ("public", "push")}
    assert g["restricted_by"].tolist() == [list(next(iter(cond.values())))]
    assert g["is_network_restricted"].tolist() == [True]
    assert g["severity"].tolist() == ["high"]  # critical lowered one step


def test_open_ip_range_is_not_a_restriction():
    g = grants_of(allow("*", action=PUSH, condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}))
    assert g["severity"].tolist() == ["critical"]
    assert g["restricted_by"].tolist() == [[]]


def test_deny_outside_ip_range_makes_grant_network_restricted():
    g = grants_of(allow("*", action=PUSH), deny(condition={"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}}))
    assert g["exposure"].tolist() == ["public"]
    assert g["is_network_restricted"].tolist() == [True]
    assert g["severity"].tolist() == ["high"]


def test_unknown_operator_never_narrows_and_is_a_finding():
    inv = inventory(doc(allow("*", condition={"StringEqualsSometimes": {"aws:PrincipalOrgID": ORG}})))
    assert classified(access.grants(inv)) == {"*": ("public", "pull")}
    f = access.policy_findings(inv)
    assert "ecr_policy_unknown_condition_operator" in set(f["finding_id"])


def test_unknown_key_never_narrows_and_is_a_finding():
    inv = inventory(doc(allow("*", condition={"StringEquals": {"aws:PrincipalOrgIdentity": ORG}})))
    assert classified(access.grants(inv)) == {"*": ("public", "pull")}
    assert "ecr_policy_unknown_condition_key" in set(access.policy_findings(inv)["finding_id"])


# -- organization classification ---------------------------------------------------------------


def test_grantee_inside_org_is_org_and_outside_is_external():
    g = grants_of(allow({"AWS": [SIBLING, OUTSIDER]}))
    assert classified(g) == {SIBLING: ("org", "pull"), OUTSIDER: ("external", "pull")}


def test_another_organization_id_is_external():
    g = grants_of(allow("*", condition={"StringEquals": {"aws:PrincipalOrgID": OTHER_ORG}}))
    assert classified(g) == {OTHER_ORG: ("external", "pull")}


def test_without_organization_every_other_account_is_external_and_said_so():
    inv = inventory(doc(allow({"AWS": SIBLING})), org=None)
    assert classified(access.grants(inv)) == {SIBLING: ("external", "pull")}
    assert "ecr_access_organization_unknown" in set(access.policy_findings(inv)["finding_id"])


def test_grant_to_account_outside_org_is_a_finding():
    inv = inventory(doc(allow({"AWS": OUTSIDER})))
    f = access.policy_findings(inv)
    assert f.loc[f["finding_id"] == "ecr_policy_grantee_outside_org", "subject"].tolist() == [OUTSIDER]


def test_grant_to_suspended_org_account_is_a_finding():
    inv = inventory(
        doc(allow({"AWS": SIBLING})),
        accounts=[{"account_id": SIBLING, "state": "SUSPENDED", "collection_status": "skipped"}],
    )
    f = access.policy_findings(inv)
    assert f.loc[f["finding_id"] == "ecr_policy_grantee_inactive_account", "subject"].tolist() == [SIBLING]


# -- hostile input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "",
        "[]",
        '{"Statement": 7}',
        "[" * 100_000 + "]" * 100_000,
        json.dumps(doc(allow("*", action=5))),
        json.dumps(doc({"Effect": "Allow", "Principal": {"AWS": {"nested": "x"}}, "Action": "ecr:*"})),
        json.dumps(doc({"Effect": "Maybe", "Principal": "*", "Action": "ecr:*"})),
        json.dumps(doc(*[allow("*")] * 5000)),
        "x" * 300_000,
    ],
)
def test_hostile_policy_is_undetermined_and_a_finding_never_a_crash(text):
    inv = inventory(text)
    g = access.grants(inv)
    assert g["exposure"].tolist() == ["undetermined"]
    f = access.policy_findings(inv)
    assert "ecr_policy_unparseable" in set(f["finding_id"])
    assert f["message"].str.len().gt(0).all()


def test_malformed_deny_is_ignored_which_only_widens():
    inv = inventory(doc(allow("*"), {"Effect": "Deny", "Principal": "*", "Action": 5}))
    assert classified(access.grants(inv)) == {"*": ("public", "pull")}
    assert "ecr_policy_invalid_statement" in set(access.policy_findings(inv)["finding_id"])


def test_identical_policy_text_is_parsed_once():
    parse_policy.cache_clear()
    text = json.dumps(doc(allow("*")))
    repos = [
        {"account_id": OWNER, "region": REGION, "repository_name": f"r{i}", "policy_text": text}
        for i in range(50)
    ]
    access.grants(inventory(None, repository_policies=repos))
    assert parse_policy.cache_info().misses == 1


# -- registry scope ------------------------------------------------------------------------------


def test_registry_v2_grant_applies_to_every_action():
    g = access.grants(inventory(doc(allow({"AWS": OUTSIDER}, action="ecr:*")), scope="registry_v2"))
    assert g["scope"].tolist() == ["registry"] and g["repository_name"].tolist() == [""]
    assert classified(g) == {OUTSIDER: ("external", "pull+push+delete+manage")}


def test_registry_v1_grant_applies_only_to_replication_and_pull_through_actions():
    g = access.grants(inventory(doc(allow({"AWS": OUTSIDER}, action="ecr:*")), scope="registry_v1"))
    assert classified(g) == {OUTSIDER: ("external", "push")}
    assert set(g["actions"].iloc[0].split(", ")) == {
        "ecr:BatchImportUpstreamImage",
        "ecr:CreateRepository",
        "ecr:ReplicateImage",
    }


def test_registry_v1_pull_only_policy_grants_nothing():
    assert access.grants(inventory(doc(allow("*")), scope="registry_v1")).empty


def test_unreadable_registry_scope_is_treated_as_v2_and_reported():
    inv = inventory(None, registry_policy=doc(allow({"AWS": OUTSIDER})), registry_scope=None)
    assert classified(access.grants(inv)) == {OUTSIDER: ("external", "pull")}
    assert "ecr_registry_policy_scope_unknown" in set(access.policy_findings(inv)["finding_id"])


def test_registry_deny_subtracts_from_repository_grants():
    inv = inventory(
        doc(allow("*", action="ecr:*")),
        registry_policy=doc(deny(condition={"StringNotEquals": {"aws:PrincipalOrgID": ORG}})),
    )
    g = access.grants(inv)
    repo = g[g["scope"] == "repository"]
    assert classified(repo) == {ORG: ("org", "pull+push+delete+manage")}


def test_creation_template_policy_is_a_grant_at_template_scope():
    inv = inventory(
        None,
        creation_templates=[
            {
                "account_id": OWNER,
                "region": REGION,
                "prefix": "ROOT",
                "repository_policy_text": json.dumps(doc(allow("*"))),
            }
        ],
    )
    g = access.grants(inv)
    assert g["scope"].tolist() == ["creation_template"]
    assert g["template_prefix"].tolist() == ["ROOT"]
    assert classified(g) == {"*": ("public", "pull")}


# -- severity ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal,action,expected",
    [
        ("*", PUSH, "critical"),
        ("*", ["ecr:BatchDeleteImage"], "critical"),
        ("*", ["ecr:SetRepositoryPolicy"], "critical"),
        ("*", PULL2, "high"),
        ({"AWS": OUTSIDER}, PUSH, "high"),
        ({"AWS": OUTSIDER}, PULL2, "medium"),
        ({"AWS": SIBLING}, PUSH, "medium"),
        ({"AWS": SIBLING}, PULL2, "low"),
        ({"AWS": OWNER}, PUSH, "info"),
    ],
)
def test_severity_scale(principal, action, expected):
    assert grants_of(allow(principal, action=action))["severity"].tolist() == [expected]


def test_grants_frame_has_declared_columns_and_dtypes_even_when_empty():
    g = access.grants(inventory(None))
    assert list(g.columns) == [c.name for c in access.GRANT_COLUMNS]
    assert g.empty
    assert str(g["can_pull"].dtype) == "boolean"


def test_each_problem_is_reported_once():
    inv = inventory(
        doc(
            allow(
                "*",
                condition={
                    "StringEqualsSometimes": {"aws:PrincipalOrgID": ORG},
                    "StringEquals": {"aws:MadeUp": "x"},
                },
            )
        )
    )
    f = access.policy_findings(inv)
    assert f["finding_id"].value_counts().to_dict() == {
        "ecr_policy_unknown_condition_operator": 1,
        "ecr_policy_unknown_condition_key": 1,
    }
