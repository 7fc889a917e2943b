"""Organization policies and IAM identities: get_* paging with botocore's Stubber, pure transforms."""

import json
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber

from ecr_audit.collect import iam, org_policies, paging
from ecr_audit.collect.fields import Problems

SCP, RCP = org_policies.SCP, org_policies.RCP
ACCOUNT = "012345678901"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"AWS": "arn:aws:iam::999988887777:root"},
            "Action": "sts:AssumeRole",
        }
    ],
}


def _stubbed(service):
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def _summary(policy_id, name, policy_type=SCP, managed=False):
    return {
        "Id": policy_id,
        "Arn": f"arn:aws:organizations::123456789012:policy/o-abcdefghij/{policy_type.lower()}/{policy_id}",
        "Name": name,
        "Description": "",
        "Type": policy_type,
        "AwsManaged": managed,
    }


# -- Organizations paging --------------------------------------------------------------------------


def test_list_policies_pages_through_empty_pages_twenty_at_a_time():
    org, stub = _stubbed("organizations")
    asked = {"Filter": RCP, "MaxResults": 20}
    stub.add_response(
        "list_policies", {"Policies": [_summary("p-aaaaaaaa", "a", RCP)], "NextToken": "t1"}, asked
    )
    stub.add_response("list_policies", {"Policies": [], "NextToken": "t2"}, {**asked, "NextToken": "t1"})
    stub.add_response(
        "list_policies", {"Policies": [_summary("p-bbbbbbbb", "b", RCP)]}, {**asked, "NextToken": "t2"}
    )
    with stub:
        got = org_policies.get_policies(org, RCP)
    stub.assert_no_pending_responses()
    assert [p["Id"] for p in got] == ["p-aaaaaaaa", "p-bbbbbbbb"]


def test_list_targets_for_policy_stops_on_a_repeated_token_and_keeps_the_targets_read():
    org, stub = _stubbed("organizations")
    asked = {"PolicyId": "p-aaaaaaaa", "MaxResults": 20}
    target = {"TargetId": "ou-ab12-11111111", "Arn": "arn:x", "Name": "prod", "Type": "ORGANIZATIONAL_UNIT"}
    stub.add_response("list_targets_for_policy", {"Targets": [target], "NextToken": "A"}, asked)
    stub.add_response(
        "list_targets_for_policy", {"Targets": [], "NextToken": "B"}, {**asked, "NextToken": "A"}
    )
    stub.add_response(
        "list_targets_for_policy", {"Targets": [], "NextToken": "A"}, {**asked, "NextToken": "B"}
    )
    with stub, pytest.raises(paging.IncompleteListing) as e:
        org_policies.get_targets(org, "p-aaaaaaaa")
    assert e.value.code == "RepeatedPageToken" and e.value.partial_items == [target]


# -- IAM paging ----------------------------------------------------------------------------------

ASKED = {"Filter": list(iam.FILTER), "MaxItems": 1000}


def _user(name, groups=(), **extra):
    return {
        "Path": "/",
        "UserName": name,
        "UserId": "AIDA" + name.upper().ljust(17, "X"),
        "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
        "GroupList": list(groups),
        **extra,
    }


def _role(name, path="/", **extra):
    return {
        "Path": path,
        "RoleName": name,
        "RoleId": "AROA" + name.upper().ljust(17, "X")[:17],
        "Arn": f"arn:aws:iam::{ACCOUNT}:role{path}{name}",
        "AssumeRolePolicyDocument": quote(json.dumps(TRUST)),
        **extra,
    }


def test_authorization_details_follow_is_truncated_and_marker_through_short_and_empty_pages():
    """IAM "might return fewer results" than MaxItems while IsTruncated: only the flag ends it."""
    client, stub = _stubbed("iam")
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [_user("a")], "IsTruncated": True, "Marker": "m1"},
        ASKED,
    )
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [], "IsTruncated": True, "Marker": "m2"},
        {**ASKED, "Marker": "m1"},
    )
    stub.add_response(
        "get_account_authorization_details",
        {"RoleDetailList": [_role("r")], "IsTruncated": False},
        {**ASKED, "Marker": "m2"},
    )
    with stub:
        got = iam.get_authorization_details(client)
    stub.assert_no_pending_responses()
    assert [(kind, item.get("UserName") or item.get("RoleName")) for kind, item in got] == [
        ("user", "a"),
        ("role", "r"),
    ]
    # botocore decoded the URL-encoded trust policy into an object.
    assert got[1][1]["AssumeRolePolicyDocument"] == TRUST


def test_authorization_details_repeated_marker_ends_as_an_incomplete_listing_with_the_items_read():
    client, stub = _stubbed("iam")
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [_user("a")], "IsTruncated": True, "Marker": "m"},
        ASKED,
    )
    stub.add_response(
        "get_account_authorization_details",
        {"UserDetailList": [_user("b")], "IsTruncated": True, "Marker": "m"},
        {**ASKED, "Marker": "m"},
    )
    with stub, pytest.raises(paging.IncompleteListing) as e:
        iam.get_authorization_details(client)
    assert e.value.code == "RepeatedPageToken"
    assert [item["UserName"] for _, item in e.value.partial_items] == ["a", "b"]


def test_truncated_without_a_marker_or_with_a_flag_that_is_not_one_is_an_incomplete_listing():
    with pytest.raises(paging.IncompleteListing) as e:
        paging.pages(
            lambda **_: {"Items": [1], "IsTruncated": True}, "Items", token="Marker", truncated="IsTruncated"
        )
    assert e.value.code == "MalformedPage" and e.value.partial_items == [1]
    with pytest.raises(paging.IncompleteListing) as e:
        paging.pages(
            lambda **_: {"Items": [1], "IsTruncated": "yes"}, "Items", token="Marker", truncated="IsTruncated"
        )
    assert e.value.code == "MalformedPage"
    # IsTruncated false ends the listing even when a Marker is present.
    assert paging.pages(
        lambda **_: {"Items": [1], "IsTruncated": False, "Marker": "m"},
        "Items",
        token="Marker",
        truncated="IsTruncated",
    ) == [1]


def test_an_authorization_details_list_that_is_not_a_list_is_an_incomplete_listing():
    class Client:
        def get_account_authorization_details(self, **params):
            return {"UserDetailList": {"not": "a list"}, "IsTruncated": False}

    with pytest.raises(paging.IncompleteListing) as e:
        iam.get_authorization_details(Client())
    assert e.value.code == "MalformedPage" and "UserDetailList" in str(e.value)


# -- IAM transform -------------------------------------------------------------------------------


def _managed(arn, doc=DOC, default="v2", attachments=0, boundaries=0, versions=None):
    return {
        "PolicyName": arn.rsplit("/", 1)[1],
        "Arn": arn,
        "DefaultVersionId": default,
        "AttachmentCount": attachments,
        "PermissionsBoundaryUsageCount": boundaries,
        "PolicyVersionList": versions
        if versions is not None
        else [
            {
                "Document": {"Version": "2012-10-17", "Statement": []},
                "VersionId": "v1",
                "IsDefaultVersion": False,
            },
            {"Document": doc, "VersionId": "v2", "IsDefaultVersion": True},
        ],
    }


READ_ONLY = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
UNUSED = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryFullAccess"
COUNTED = "arn:aws:iam::aws:policy/AWSCounted"
BOUNDARY = f"arn:aws:iam::{ACCOUNT}:policy/boundary"
LONELY = f"arn:aws:iam::{ACCOUNT}:policy/unattached"


def _items():
    group = {
        "Path": "/",
        "GroupName": "readers",
        "Arn": f"arn:aws:iam::{ACCOUNT}:group/readers",
        "GroupPolicyList": [{"PolicyName": "g-inline", "PolicyDocument": DOC}],
        "AttachedManagedPolicies": [
            {"PolicyName": "AmazonEC2ContainerRegistryReadOnly", "PolicyArn": READ_ONLY}
        ],
    }
    user = _user(
        "auditor",
        groups=["readers"],
        UserPolicyList=[{"PolicyName": "u-inline", "PolicyDocument": DOC}],
        PermissionsBoundary={
            "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
            "PermissionsBoundaryArn": BOUNDARY,
        },
        Tags=[{"Key": "team", "Value": "security"}],
    )
    role = _role(
        "AWSServiceRoleForECRReplication",
        "/aws-service-role/replication.ecr.amazonaws.com/",
        AssumeRolePolicyDocument=TRUST,
        AttachedManagedPolicies=[{"PolicyName": "boundary", "PolicyArn": BOUNDARY}],
        Tags=[{"Key": "k", "Value": ""}],
    )
    policies = [
        _managed(READ_ONLY),
        _managed(UNUSED),
        _managed(COUNTED, attachments=1),
        _managed(BOUNDARY),
        _managed(
            LONELY, default=None, versions=[{"Document": DOC, "VersionId": "v1", "IsDefaultVersion": True}]
        ),
    ]
    return [("group", group), ("user", user), ("role", role), *(("policy", p) for p in policies)]


def test_authorization_details_become_principals_policies_and_what_applies_to_whom():
    frames = iam.transform_authorization_details(ACCOUNT, _items())
    principals = {p["principal_arn"].rsplit(":", 1)[1]: p for p in frames["iam_principals"]}
    assert set(principals) == {
        "group/readers",
        "user/auditor",
        "role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication",
    }
    user = principals["user/auditor"]
    assert (user["principal_type"], user["name"], user["permissions_boundary_arn"], user["tags"]) == (
        "user",
        "auditor",
        BOUNDARY,
        ["team=security"],
    )
    assert user["is_service_linked"] is False
    role = next(p for p in frames["iam_principals"] if p["principal_type"] == "role")
    assert role["is_service_linked"] is True and role["tags"] == ["k="]
    assert json.loads(role["trust_policy_text"]) == TRUST
    links = {
        (r["principal_arn"].rsplit("/", 1)[1], r["relation"], r.get("policy_arn") or r.get("policy_name"))
        for r in frames["iam_principal_policies"]
    }
    assert links == {
        ("readers", "inline", "g-inline"),
        ("readers", "attached", READ_ONLY),
        ("auditor", "boundary", BOUNDARY),
        ("auditor", "inline", "u-inline"),
        ("auditor", "group_inline", "g-inline"),
        ("auditor", "group_attached", READ_ONLY),
        ("AWSServiceRoleForECRReplication", "attached", BOUNDARY),
    }
    from_group = [r for r in frames["iam_principal_policies"] if r["relation"].startswith("group_")]
    assert {r["group_arn"] for r in from_group} == {f"arn:aws:iam::{ACCOUNT}:group/readers"}
    assert json.loads(next(r for r in from_group if r["relation"] == "group_inline")["policy_text"]) == DOC
    # AWS managed: kept when attached here or counted as attached; the unused one is left out.
    policies = {p["policy_arn"]: p for p in frames["iam_policies"]}
    assert set(policies) == {READ_ONLY, COUNTED, BOUNDARY, LONELY}
    assert policies[READ_ONLY]["is_aws_managed"] and not policies[BOUNDARY]["is_aws_managed"]
    assert json.loads(policies[READ_ONLY]["policy_text"]) == DOC  # the default version, not v1
    assert json.loads(policies[LONELY]["policy_text"]) == DOC  # IsDefaultVersion without DefaultVersionId


def test_malformed_identity_items_are_problems_and_nothing_readable_is_dropped():
    items = [
        ("role", {"RoleName": "no-arn"}),
        ("user", _user("lost", groups=["nowhere"], Tags=[{"Value": "no key"}])),
        ("user", _user("odd", UserPolicyList=[{"PolicyName": "raw", "PolicyDocument": "not%20json"}])),
        ("role", _role("blank", AssumeRolePolicyDocument=None)),
        ("policy", _managed(LONELY, default="v9", versions=[{"Document": DOC, "VersionId": "v1"}])),
    ]
    problems = Problems()
    frames = iam.transform_authorization_details(ACCOUNT, items, problems)
    assert sorted(what for what, _ in problems) == sorted(
        [
            "a role without Arn",
            "a tag without Key",
            "a user in a group that was not listed",
            "an inline policy whose document is not JSON",
            "a trust policy without its document",
            "a managed policy without its default version",
        ]
    )
    names = {p["name"] for p in frames["iam_principals"]}
    assert names == {"lost", "odd", "blank"}
    raw = next(r for r in frames["iam_principal_policies"] if r["policy_name"] == "raw")
    assert raw["policy_text"] == "not json"  # kept, URL-decoded
    assert frames["iam_policies"][0]["policy_text"] is None  # kept: the analysis says undetermined


def test_document_text_keeps_json_as_text_and_what_botocore_could_not_decode():
    assert iam.document_text({"a": "é"}) == ('{"a": "\\u00e9"}', None)
    assert iam.document_text("%7Bbroken") == ("{broken", "whose document is not JSON")
    assert iam.document_text(None) == (None, "without its document")
    assert iam.document_text(42) == (None, "whose document is not JSON")


# -- Organizations transforms ----------------------------------------------------------------------


def test_policy_types_of_the_root_enabled_pending_and_malformed():
    roots = [
        {
            "Id": "r-ab12",
            "PolicyTypes": [{"Type": SCP, "Status": "ENABLED"}, {"Type": RCP, "Status": "PENDING_ENABLE"}],
        }
    ]
    assert org_policies.transform_policy_types(roots) == {SCP: "ENABLED", RCP: "PENDING_ENABLE"}
    assert org_policies.transform_policy_types([{"Id": "r-ab12"}]) == {}  # none enabled
    problems = Problems()
    assert org_policies.transform_policy_types([], problems) == {}
    assert [what for what, _ in problems] == ["no root"]  # not "nothing enabled"
    problems = Problems()
    org_policies.transform_policy_types([*roots, {"Id": "r-cd34", "PolicyTypes": [{"Type": 7}]}], problems)
    assert [what for what, _ in problems] == [
        "more than one root",
        "a root's policy type whose Type is not text",
    ]


def test_policy_summaries_targets_and_content_that_cannot_be_understood_are_problems():
    problems = Problems()
    rows = org_policies.transform_policies(
        SCP,
        [
            _summary("p-aaaaaaaa", "a"),
            {"Name": "no id"},
            _summary("p-bbbbbbbb", "b", RCP),
            _summary("p-aaaaaaaa", "a"),
        ],
        problems,
    )
    assert [r["policy_id"] for r in rows] == ["p-aaaaaaaa"]
    assert [what for what, _ in problems] == [
        "a policy without Id",
        f"a {SCP} listing item of another type",
        "a policy listed twice",
    ]
    problems = Problems()
    targets = org_policies.transform_targets(
        "p-aaaaaaaa",
        [
            {"TargetId": "r-ab12", "Name": "Root", "Type": "ROOT"},
            {"TargetId": "ou-ab12-11111111", "Type": "PLANET"},
            {"TargetId": "12345", "Type": "ACCOUNT"},
        ],
        problems,
    )
    assert targets == [
        {"policy_id": "p-aaaaaaaa", "target_id": "r-ab12", "target_type": "ROOT", "target_name": "Root"}
    ]
    assert len(problems) == 2
    problems = Problems()
    assert org_policies.transform_policy_text({"PolicySummary": {}}, problems) is None
    assert [what for what, _ in problems] == ["a described policy without Content"]
