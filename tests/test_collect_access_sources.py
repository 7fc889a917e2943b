"""Organization policies and IAM identities collected from the sandbox: the demo world's rows, paging,
denials, types not enabled, a caller outside any organization, the options that skip them."""

import json
from urllib.parse import unquote

import pandas as pd
import pytest
from botocore.exceptions import ClientError

from ecr_audit import sandbox
from ecr_audit.collect import collect
from ecr_audit.sandbox import build, demo
from ecr_audit.sandbox.world import Account, IamRole, Identities, OrgPolicy, Registry, Repository, World
from tests.collect_helpers import ERR, cli_collect, rows

pytestmark = pytest.mark.slow

SCP, RCP = demo.SCP, demo.RCP
MGMT, APP = "123456789012", "210987654321"
NEW_ORG_OPS = ("ListPolicies", "DescribePolicy", "ListTargetsForPolicy")


@pytest.fixture
def fresh_org():
    """A demo organization of its own for each test (conftest's fresh_org is shared by the session)."""
    with sandbox.running(sandbox.demo_world()) as o:
        yield o


def _doc(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def _summary(policy_id, name, policy_type):
    return {
        "Id": policy_id,
        "Arn": f"arn:aws:organizations::{MGMT}:policy/o-x/{policy_id}",
        "Name": name,
        "Type": policy_type,
        "AwsManaged": False,
    }


def small_world(policy_types=(SCP, RCP), name="small") -> World:
    """Management account and one member in OU prod, one repository each; an RCP on prod."""
    policies = (
        [
            OrgPolicy(
                "deny-outsiders",
                RCP,
                _doc({"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}),
                ("prod",),
            )
        ]
        if RCP in policy_types
        else []
    )
    odd = {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "a b&c+d%25e", "Effect": "Allow", "Action": "ecr:*", "Resource": "*"}],
    }
    trust = _doc(
        {
            "Sid": "t%41x",
            "Effect": "Allow",
            "Principal": {"Service": "ecs-tasks.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    )
    return World(
        name=name,
        accounts=[
            Account(MGMT, "management", registries=[Registry("us-east-1", [Repository("base")])]),
            Account(
                APP,
                "app",
                ou="prod",
                registries=[Registry("us-east-1", [Repository("app")])],
                identities=Identities(roles=[IamRole("odd", trust, inline={"é": json.dumps(odd)})]),
            ),
        ],
        ous=("prod",),
        policy_types=policy_types,
        org_policies=policies,
    )


def _collect(org, **kw):
    return collect(org.session(), org=True, role_name=org.role_name, **kw)


def _calls(inv, operation):
    c = inv.api_calls
    return int(c.loc[c["operation"] == operation, "calls"].sum())


# -- the demo world ------------------------------------------------------------------------------


def test_demo_collection_holds_the_organization_policies_their_targets_and_the_ou_tree(fresh_org):
    inv = _collect(fresh_org)
    assert inv.meta["completeness"] == "complete", inv.errors
    ous = inv.organizational_units
    root = ous[ous["parent_id"].isna()]
    assert root["name"].tolist() == ["Root"] and root["ou_path"].tolist() == root["ou_id"].tolist()
    children = ous[ous["parent_id"].notna()]
    assert set(children["name"]) == {"prod", "dev", "closed"}
    assert set(children["parent_id"]) == set(root["ou_id"])
    assert (children["ou_path"] == children["parent_id"] + "/" + children["ou_id"]).all()
    # Every account sits in a walked OU, by the same path notation.
    assert set(inv.accounts["ou_path"]) <= set(ous["ou_path"])
    ou_of = dict(zip(ous["name"], ous["ou_id"]))

    policies = inv.org_policies.set_index("name")
    assert sorted(zip(policies.index, policies["policy_type"], policies["is_aws_managed"])) == [
        ("FullAWSAccess", SCP, True),
        ("RCPFullAWSAccess", RCP, True),
        (demo.PERIMETER_RCP, RCP, False),
        (demo.DENY_DELETE_SCP, SCP, False),
    ]
    world = {p.name: p for p in fresh_org.world.org_policies}
    for name in (demo.PERIMETER_RCP, demo.DENY_DELETE_SCP):
        assert json.loads(policies.loc[name, "policy_text"]) == json.loads(world[name].document)
    targets = inv.org_policy_targets.merge(inv.org_policies[["policy_id", "name"]], on="policy_id")
    by_policy = targets.groupby("name")["target_id"].apply(set).to_dict()
    everything = set(ous["ou_id"]) | set(inv.accounts["account_id"])
    assert by_policy == {
        "FullAWSAccess": everything,
        "RCPFullAWSAccess": everything,
        demo.PERIMETER_RCP: {ou_of["prod"]},
        demo.DENY_DELETE_SCP: {ou_of["prod"]},
    }
    assert set(targets.loc[targets["target_id"] == ou_of["prod"], "target_type"]) == {"ORGANIZATIONAL_UNIT"}
    assert set(targets.loc[targets["target_id"] == demo.PAYMENTS, "target_name"]) == {"payments"}
    assert inv.org_policy_coverage.set_index("policy_type")["status"].to_dict() == {
        SCP: "enabled",
        RCP: "enabled",
    }
    assert (
        _calls(inv, "ListPolicies"),
        _calls(inv, "DescribePolicy"),
        _calls(inv, "ListTargetsForPolicy"),
    ) == (2, 4, 4)


def test_demo_collection_holds_every_identity_and_what_applies_to_it(fresh_org):
    inv = _collect(fresh_org)
    assert inv.meta["completeness"] == "complete", inv.errors
    p = inv.iam_principals
    found = {(a, t, n) for a, t, n in zip(p["account_id"], p["principal_type"], p["name"])}
    expected = {(MGMT, "role", "ecr-audit")}
    for acct in (demo.PAYMENTS, demo.DATA):
        ids = fresh_org.world.account(acct).identities
        expected |= {(acct, "role", r.name) for r in ids.roles} | {(acct, "user", u.name) for u in ids.users}
        expected |= {(acct, "group", g.name) for g in ids.groups}
        expected |= {(acct, "role", "ecr-audit"), (acct, "role", "OrganizationAccountAccessRole")}
    # the execution role the sandbox creates for the Lambda functions and SageMaker models it seeds
    expected |= {
        (a.account_id, "role", build.CONSUMER_ROLE)
        for a in fresh_org.world.accounts
        if any(r.consumers.functions or r.consumers.sagemaker_models for r in a.registries)
    }
    assert found == expected
    assert p.loc[p["is_service_linked"].astype(bool), "name"].tolist() == ["AWSServiceRoleForECRReplication"]
    vendor = p[p["name"] == "vendor-deploy"].iloc[0]
    assert json.loads(vendor["trust_policy_text"])["Statement"][0]["Principal"] == {
        "AWS": f"arn:aws:iam::{demo.EXTERNAL}:root"
    }
    developer = p[p["name"] == "developer"].iloc[0]
    assert developer["permissions_boundary_arn"] == f"arn:aws:iam::{demo.PAYMENTS}:policy/developer-boundary"

    policies = inv.iam_policies
    assert set(zip(policies["account_id"], policies["name"])) == {
        (demo.PAYMENTS, "ecr-push-everywhere"),
        (demo.PAYMENTS, "ecr-full-access"),
        (demo.PAYMENTS, "developer-boundary"),
        (demo.PAYMENTS, "ECRReplicationServiceRolePolicy"),
        (demo.DATA, "AmazonEC2ContainerRegistryReadOnly"),
    }  # AmazonEC2ContainerRegistryFullAccess exists in data, attached to nothing: not kept
    boundary = policies[policies["name"] == "developer-boundary"].iloc[0]
    assert json.loads(boundary["policy_text"]) == json.loads(
        fresh_org.world.account(demo.PAYMENTS).identities.policies["developer-boundary"]
    )
    links = inv.iam_principal_policies
    auditor = links[links["principal_arn"] == f"arn:aws:iam::{demo.DATA}:user/auditor"]
    assert auditor[["relation", "policy_arn", "group_arn"]].values.tolist() == [
        [
            "group_attached",
            "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
            f"arn:aws:iam::{demo.DATA}:group/readers",
        ]
    ]
    dev_links = links[links["principal_arn"] == developer["principal_arn"]]
    assert sorted(dev_links["relation"]) == ["attached", "boundary"]
    cov = inv.iam_coverage.set_index("account_id")
    assert cov["status"].to_dict() == {
        MGMT: "complete",
        demo.PAYMENTS: "complete",
        demo.DATA: "complete",
        demo.LEGACY: "skipped",
    }
    assert cov.loc[demo.PAYMENTS, "principals"] == (p["account_id"] == demo.PAYMENTS).sum()
    # One read per collected account (IAM is global), none for the suspended one.
    c = inv.api_calls[inv.api_calls["operation"] == "GetAccountAuthorizationDetails"]
    assert sorted(c["account_id"]) == sorted(inv.meta["accounts"]) and set(c["calls"]) == {1}


def test_access_cases_name_principals_and_repositories_that_exist_in_the_demo_world(fresh_org):
    """The truth table the analysis is checked against refers only to what the world holds."""
    inv = _collect(fresh_org)
    repos = set(
        zip(inv.repositories["account_id"], inv.repositories["region"], inv.repositories["repository_name"])
    )
    principals = set(inv.iam_principals["principal_arn"])
    policy_names = set(inv.org_policies["name"])
    sids = {
        (a, r, n, s["Sid"])
        for a, r, n, t in inv.repository_policies.itertuples(index=False)
        for s in json.loads(t)["Statement"]
    }
    for case in demo.ACCESS_CASES.values():
        if case.repository and case.sid:
            assert (case.account_id, case.region, case.repository, case.sid) in sids, case.name
        if case.principal_arn:
            assert case.principal_arn in principals, case.name
        for region, name in case.repositories:
            owner = next(a for a, r, n in repos if (r, n) == (region, name))
            assert (owner, region, name) in repos, case.name
        assert set(case.neutralized_by) <= policy_names, case.name
        assert {c for c in case.capped_by if not c.endswith("boundary")} <= policy_names, case.name


# -- paging --------------------------------------------------------------------------------------


def test_list_targets_for_policy_and_authorization_details_page_in_the_sandbox(fresh_org):
    o = fresh_org.session().client("organizations")
    first = o.list_targets_for_policy(PolicyId="p-FullAWSAccess", MaxResults=3)
    rest = o.list_targets_for_policy(PolicyId="p-FullAWSAccess", MaxResults=20, NextToken=first["NextToken"])
    assert len(first["Targets"]) == 3 and "NextToken" not in rest and len(rest["Targets"]) == 5
    with pytest.raises(ClientError) as e:
        o.list_targets_for_policy(PolicyId="p-FullAWSAccess", MaxResults=21)
    assert e.value.response["Error"]["Code"] == "InvalidInputException"

    full = _collect(fresh_org)
    fresh_org.faults.short_iam_pages(2)  # fewer than MaxItems (1000), IsTruncated each time
    short = _collect(fresh_org)
    for name in ("iam_principals", "iam_policies", "iam_principal_policies"):
        key = list(full.frames[name].columns[:3])
        a, b = (f.frames[name].sort_values(key).reset_index(drop=True) for f in (full, short))
        assert a.equals(b), name
    calls = short.api_calls[short.api_calls["operation"] == "GetAccountAuthorizationDetails"].set_index(
        "account_id"
    )
    assert calls.loc[demo.PAYMENTS, "calls"] > 1 and short.errors.empty


def test_iam_documents_arrive_url_encoded_and_are_stored_as_json_text():
    with sandbox.running(small_world()) as org:
        raw = []
        client = org.session().client("sts")
        creds = client.assume_role(RoleArn=org.role_arn(APP), RoleSessionName="test")["Credentials"]
        import boto3

        member = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        ).client("iam", region_name="us-east-1")
        member.meta.events.register_first(
            "after-call.iam.GetAccountAuthorizationDetails",
            # Before botocore's own handler decodes the documents in place: copy what arrived.
            lambda parsed, **_: raw.extend(
                dict(p) for r in parsed["RoleDetailList"] for p in r["RolePolicyList"]
            ),
        )
        member.get_account_authorization_details(Filter=["Role"])
        inv = _collect(org)
    text = next(p["PolicyDocument"] for p in raw if p["PolicyName"] == "é")
    assert text.startswith("%7B") and "%2525" in text  # URL-encoded on the wire, "%" included
    odd = inv.iam_principal_policies[inv.iam_principal_policies["policy_name"] == "é"].iloc[0]
    assert json.loads(odd["policy_text"]) == json.loads(unquote(text))
    assert json.loads(odd["policy_text"])["Statement"][0]["Sid"] == "a b&c+d%25e"
    # The trust policy too (moto sent it raw, and decoding raw text turned "%41" into "A").
    role = inv.iam_principals[inv.iam_principals["name"] == "odd"].iloc[0]
    assert json.loads(role["trust_policy_text"])["Statement"][0]["Sid"] == "t%41x"


def test_org_policy_listings_follow_empty_pages_and_stop_on_a_repeated_token(fresh_org):
    prod = {
        "TargetId": "ou-x",
        "Name": "prod",
        "Type": "ORGANIZATIONAL_UNIT",
        "Arn": "arn:aws:organizations::1:ou/o/ou-x",
    }

    def targets(params, real):  # an empty page with a token, then the target
        return {"Targets": [prod]} if params.get("NextToken") == "t1" else {"Targets": [], "NextToken": "t1"}

    listed = {}

    def policies(params, real):  # the RCP listing goes round: page 2 sends page 1's token again
        if params["Filter"] != RCP:
            return real()
        if "NextToken" not in params:
            listed["all"] = real()["Policies"]
            return {"Policies": listed["all"][:1], "NextToken": "A"}
        return {"Policies": listed["all"][1:], "NextToken": "A"}

    fresh_org.faults.add_answer(
        "ListTargetsForPolicy", lambda p, r: targets(p, r) if p["PolicyId"] != "p-FullAWSAccess" else r()
    )
    fresh_org.faults.add_answer("ListPolicies", policies)
    inv = _collect(fresh_org)
    assert rows(inv) == [("", None, None, "ListPolicies", "RepeatedPageToken", "invalid_data")]
    cov = inv.org_policy_coverage.set_index("policy_type")
    assert cov.loc[SCP, "status"] == "enabled"
    assert (
        cov.loc[RCP, "status"] == "unreadable" and "the policy list is incomplete" in cov.loc[RCP, "reason"]
    )
    rcps = inv.org_policies[inv.org_policies["policy_type"] == RCP]
    assert set(rcps["name"]) == {"RCPFullAWSAccess", demo.PERIMETER_RCP}  # both pages kept
    t = inv.org_policy_targets.merge(inv.org_policies[["policy_id", "name"]], on="policy_id")
    # The listing went on after an empty page that carried a token.
    assert t.loc[t["name"] == demo.PERIMETER_RCP, "target_id"].tolist() == ["ou-x"]


# -- could not look is never "nothing there" ----------------------------------------------------------


def test_denied_list_policies_is_unreadable_with_an_errors_row_never_no_policies(
    monkeypatch, tmp_path, capsys
):
    def deny(org):
        org.faults.add("ListPolicies", "AccessDeniedException", 400, "not allowed", service="organizations")

    rc, inv, _, _, _ = cli_collect(monkeypatch, tmp_path, capsys, deny)
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert rows(inv) == [("", None, None, "ListPolicies", "AccessDeniedException", "access_denied")] * 2
    cov = inv.org_policy_coverage.set_index("policy_type")
    assert set(cov["status"]) == {"unreadable"} and set(cov["reason"]) == {"ListPolicies failed (see errors)"}
    assert inv.org_policies.empty and inv.org_policy_targets.empty
    assert set(inv.iam_coverage["status"]) == {"complete", "skipped"}  # the rest was read


def test_denied_describe_policy_keeps_the_policy_and_makes_its_type_unreadable(fresh_org):
    perimeter = demo.PERIMETER_RCP
    fresh_org.faults.add(
        "DescribePolicy", "AccessDeniedException", 400, "no", service="organizations", times=1
    )
    inv = _collect(fresh_org)
    assert len(inv.errors) == 1 and inv.errors["operation"].tolist() == ["DescribePolicy"]
    p = inv.org_policies
    unread = p[p["policy_text"].isna()]
    assert len(unread) == 1 and unread["name"].notna().all()  # the row stays, its text is unknown
    cov = inv.org_policy_coverage.set_index("policy_type")
    kind = unread["policy_type"].iloc[0]
    assert cov.loc[kind, "status"] == "unreadable" and "content of 1 of 2 policies" in cov.loc[kind, "reason"]
    assert perimeter in set(p["name"])


def test_policy_type_not_enabled_is_not_enabled_and_its_policies_are_not_listed():
    with sandbox.running(small_world(policy_types=(SCP,))) as org:
        roots = org.session().client("organizations").list_roots()["Roots"]
        inv = _collect(org)
    assert roots[0]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    cov = inv.org_policy_coverage.set_index("policy_type")
    assert cov["status"].to_dict() == {SCP: "enabled", RCP: "not_enabled"}
    assert cov.loc[RCP, "reason"] == "the policy type is not enabled on the root"
    assert _calls(inv, "ListPolicies") == 1 and set(inv.org_policies["policy_type"]) == {SCP}
    assert inv.errors.empty


def test_sandbox_attaches_full_access_policies_as_aws_does():
    """moto attaches both full-access policies everywhere, even for a type that is not enabled;
    AWS attaches an enabled type's to the root, every OU and account, and none of a type that is
    not enabled."""
    with sandbox.running(small_world(policy_types=(SCP,))) as org:
        o = org.session().client("organizations")
        scp = {t["TargetId"] for t in o.list_targets_for_policy(PolicyId="p-FullAWSAccess")["Targets"]}
        rcp = o.list_targets_for_policy(PolicyId="p-RCPFullAWSAccess")["Targets"]
        root = o.list_roots()["Roots"][0]["Id"]
        ou = o.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"][0]["Id"]
    assert scp == {root, ou, MGMT, APP} and rcp == []


def test_pending_policy_type_is_read_and_said_to_be_pending(fresh_org):
    def pending(params, real):
        answer = real()
        for root in answer["Roots"]:
            root["PolicyTypes"] = [
                {"Type": t["Type"], "Status": "PENDING_ENABLE" if t["Type"] == RCP else t["Status"]}
                for t in root["PolicyTypes"]
            ]
        return answer

    fresh_org.faults.add_answer("ListRoots", pending)
    inv = _collect(fresh_org)
    cov = inv.org_policy_coverage.set_index("policy_type")
    assert cov.loc[RCP, "status"] == "pending" and "PENDING_ENABLE" in cov.loc[RCP, "reason"]
    assert cov.loc[SCP, "status"] == "enabled"
    assert demo.PERIMETER_RCP in set(inv.org_policies["name"])  # read all the same


def test_a_caller_outside_any_organization_is_not_an_organization_with_an_errors_row(fresh_org):
    fresh_org.faults.add(
        None,
        "AWSOrganizationsNotInUseException",
        400,
        "Your account is not a member of an organization.",
        service="organizations",
    )
    inv = _collect(fresh_org)
    cov = inv.org_policy_coverage.set_index("policy_type")
    assert set(cov["status"]) == {"not_an_organization"}
    e = inv.errors
    assert ("ListRoots", "AWSOrganizationsNotInUseException") in set(zip(e["operation"], e["error_code"]))
    assert inv.meta["completeness"] == "empty"  # no account list either: nothing collected


def test_malformed_policy_and_target_items_are_invalid_data_rows_and_the_rest_is_kept(fresh_org):
    def listing(params, real):
        answer = real()
        if params["Filter"] == SCP:
            answer["Policies"].append({"Name": "no id", "Type": SCP})
        return answer

    def targets(params, real):
        answer = real()
        if params["PolicyId"] == "p-FullAWSAccess":
            answer["Targets"].append({"TargetId": "ou-zz", "Type": "PLANET"})
        return answer

    fresh_org.faults.add_answer("ListPolicies", listing)
    fresh_org.faults.add_answer("ListTargetsForPolicy", targets)
    inv = _collect(fresh_org)
    e = inv.errors
    assert sorted(zip(e["operation"], e["error_kind"])) == [
        ("ListPolicies", "invalid_data"),
        ("ListTargetsForPolicy", "invalid_data"),
    ]
    assert len(inv.org_policies) == 4 and "ou-zz" not in set(inv.org_policy_targets["target_id"])
    assert inv.org_policy_coverage.set_index("policy_type").loc[SCP, "status"] == "unreadable"


def test_denied_authorization_details_make_that_account_unreadable_and_partial(fresh_org):
    fresh_org.faults.add(
        "GetAccountAuthorizationDetails",
        "AccessDenied",
        403,
        "not authorized",
        account_id=demo.PAYMENTS,
        service="iam",
    )
    inv = _collect(fresh_org)
    assert rows(inv) == [
        (demo.PAYMENTS, "", None, "GetAccountAuthorizationDetails", "AccessDenied", "access_denied")
    ]
    cov = inv.iam_coverage.set_index("account_id")
    assert cov.loc[demo.PAYMENTS, "status"] == "unreadable" and pd.isna(cov.loc[demo.PAYMENTS, "principals"])
    assert cov.loc[demo.DATA, "status"] == "complete"
    accounts = inv.accounts.set_index("account_id")["collection_status"]
    assert accounts[demo.PAYMENTS] == "partial" and accounts[demo.DATA] == "collected"
    assert demo.PAYMENTS not in set(inv.iam_principals["account_id"])


# -- the options -----------------------------------------------------------------------------------


def test_no_identities_and_no_org_policies_read_neither_and_say_skipped(monkeypatch, tmp_path, capsys):
    rc, inv, _, _, _ = cli_collect(
        monkeypatch, tmp_path, capsys, args=["--no-identities", "--no-org-policies"]
    )
    assert rc == 0 and inv.errors.empty
    assert set(inv.org_policy_coverage["status"]) == {"skipped"}
    assert set(inv.org_policy_coverage["reason"]) == {"not read: --no-org-policies"}
    assert set(inv.iam_coverage["status"]) == {"skipped"} and len(inv.iam_coverage) == len(inv.accounts)
    assert inv.iam_principals.empty and inv.org_policies.empty
    ops = set(inv.api_calls["operation"])
    assert not ops & {"GetAccountAuthorizationDetails", *NEW_ORG_OPS}
    assert (inv.meta["options"]["identities"], inv.meta["options"]["org_policies"]) == (False, False)


def test_without_org_organization_policies_are_skipped_and_identities_still_read(
    monkeypatch, tmp_path, capsys
):
    rc, inv, _, _, _ = cli_collect(monkeypatch, tmp_path, capsys, args=["--accounts", MGMT])
    assert rc == 0
    assert set(inv.org_policy_coverage["reason"]) == {"not read: organization policies are read with --org"}
    assert inv.iam_coverage["status"].tolist() == ["complete"]
    assert not set(inv.api_calls["operation"]) & set(NEW_ORG_OPS)
    assert [r[ERR.index("operation")] for r in rows(inv)] == []
