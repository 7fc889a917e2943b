"""Read-only, proven: a full collection under moto's IAM enforcement with only the shipped policies.

The audit role in every member holds only `permissions.audit_role_policy()` (the sandbox attaches
it); the caller is an IAM user holding only `permissions.caller_policy()`. moto then refuses any
action those policies do not allow, so a complete snapshot shows the policies suffice, and the
negative controls show the enforcement is really on.
"""

import json

import pytest

from ecr_audit import permissions, sandbox
from ecr_audit.cli import main
from ecr_audit.collect import collect
from ecr_audit.sandbox import demo
from tests.consumer_helpers import CONSUMER_OPERATIONS

pytestmark = pytest.mark.slow
KEY = ["account_id", "region", "repository_name", "image_digest"]


@pytest.fixture
def org():
    with sandbox.running(sandbox.demo_world()) as o:
        yield o


def _enforced(org, read_manifests="always", caller_policy=None, consumers="all"):
    session = org.iam_user_session(caller_policy or permissions.caller_policy(org.role_name))
    with org.enforce_iam():
        return collect(
            session, org=True, role_name=org.role_name, read_manifests=read_manifests, consumers=consumers
        )


def _role_policy_without(action: str) -> dict:
    policy = permissions.audit_role_policy()
    policy["Statement"][0]["Action"] = [a for a in policy["Statement"][0]["Action"] if a != action]
    return policy


def _members(org) -> set[str]:
    """The ACTIVE accounts other than the management account: those read with the audit role."""
    return {
        a.account_id
        for a in org.world.accounts
        if a.state == "ACTIVE" and a.account_id != org.management_account_id
    }


def _active_images(org):
    exp = org.expected_images()
    active = {a.account_id for a in org.world.accounts if a.state == "ACTIVE"}
    return exp[exp["account_id"].isin(active)]


def test_full_collection_with_only_the_shipped_policies_under_iam_enforcement_is_complete(org):
    inv = _enforced(org, read_manifests="always")
    assert inv.meta["completeness"] == "complete", inv.errors
    assert inv.errors.empty
    assert inv.meta["caller"]["arn"] == f"arn:aws:iam::{org.management_account_id}:user/ecr-audit-caller"
    assert set(map(tuple, inv.images[KEY].values)) == set(map(tuple, _active_images(org)[KEY].values))
    assert set(inv.coverage["status"]) == {"complete"}
    cov = inv.coverage
    assert (cov["has_read_manifests"].astype(bool) | (cov["images"] == 0)).all()
    # Manifests were really read (BatchGetImage allowed by the policy), not skipped.
    assert set(inv.images["manifest_status"]) <= {"present", "skipped"}
    assert (inv.images["manifest_status"] == "present").sum() > 0
    assert set(inv.api_calls["operation"]) >= {
        "AssumeRole",
        "BatchGetImage",
        "DescribeImages",
        "ListAccounts",
        "DescribeRegions",
        "GetAccountAuthorizationDetails",
        "ListPolicies",
        "DescribePolicy",
        "ListTargetsForPolicy",
    }
    # Organization policies and every ACTIVE account's identities were read with these policies too.
    assert set(inv.org_policy_coverage["status"]) == {"enabled"} and len(inv.org_policies) == 4
    iam = inv.iam_coverage.set_index("account_id")["status"]
    active = {a.account_id for a in org.world.accounts if a.state == "ACTIVE"}
    assert {a: iam[a] for a in active} == dict.fromkeys(active, "complete")


def test_every_consumer_kind_reads_completely_with_only_the_shipped_policies_under_iam_enforcement(org):
    inv = _enforced(org, read_manifests="never", consumers="all,cloudtrail")
    assert inv.meta["completeness"] == "complete", inv.errors
    cov = inv.consumer_coverage
    assert set(cov["status"]) == {"complete", "disabled"}, cov[~cov["status"].isin(["complete", "disabled"])]
    assert set(cov.loc[cov["status"] == "disabled", "consumer_kind"]) == {"inspector"}
    # Every consumer operation was really called (and allowed), in member accounts through the role.
    consumer_reads = set(CONSUMER_OPERATIONS)
    called = inv.api_calls
    members = called[
        called["account_id"].isin([a.account_id for a in org.world.accounts])
        & (called["account_id"] != org.management_account_id)
    ]
    assert consumer_reads <= set(members["operation"])
    assert len(inv.consumers) and set(inv.consumers["consumer_kind"]) >= {
        "lambda_version",
        "cloudtrail_pull",
        "inspector_eks",
    }


def test_enforcement_is_real_for_consumers_a_missing_action_makes_its_kind_unreadable(org):
    policy = permissions.audit_role_policy()
    policy["Statement"][0]["Action"] = [
        a
        for a in policy["Statement"][0]["Action"]
        if a not in ("lambda:ListFunctions", "ecs:DescribeServiceRevisions")
    ]
    org.set_audit_role_policy(policy)
    inv = _enforced(org, read_manifests="never")
    assert inv.meta["completeness"] == "partial"
    e = inv.errors
    assert set(e["operation"]) == {"ListFunctions", "DescribeServiceRevisions"}
    assert set(e["error_kind"]) == {"access_denied"}
    cov = inv.consumer_coverage.set_index(["consumer_account_id", "consumer_region", "consumer_kind"])[
        "status"
    ]
    members = [
        a.account_id
        for a in org.world.accounts
        if a.state == "ACTIVE" and a.account_id != org.management_account_id
    ]
    for account in members:
        for region in org.world.account(account).regions:
            assert cov[(account, region, "lambda")] == "unreadable"
    # Services with deployments lose only their revisions: partial, the rest of ECS is read.
    assert cov[(demo.PAYMENTS, "us-east-1", "ecs")] == "partial"
    assert cov[(org.management_account_id, "us-east-1", "lambda")] == "complete"  # the caller's own policy


def test_enforcement_is_real_an_action_missing_from_the_role_policy_is_denied_where_the_role_is_used(org):
    org.set_audit_role_policy(_role_policy_without("ecr:GetLifecyclePolicy"))
    inv = _enforced(org)
    assert inv.meta["completeness"] == "partial"
    e = inv.errors
    assert set(e["operation"]) == {"GetLifecyclePolicy"}
    assert set(e["error_kind"]) == {"access_denied"}
    members = _members(org)
    # The management account is read with the caller's own policy, which still allows it.
    assert set(e["account_id"]) == members
    repos = inv.repositories
    member_repos = repos[repos["account_id"].isin(members)]
    assert len(e) == len(member_repos)
    assert set(member_repos["lifecycle_policy_status"]) == {"unreadable"}
    assert "unreadable" not in set(repos.loc[~repos["account_id"].isin(members), "lifecycle_policy_status"])


def test_role_policy_without_get_account_authorization_details_leaves_member_identities_unreadable(org):
    org.set_audit_role_policy(_role_policy_without("iam:GetAccountAuthorizationDetails"))
    inv = _enforced(org)
    assert inv.meta["completeness"] == "partial"
    e = inv.errors
    members = _members(org)
    # One row per member account, region "" (IAM is global); the management account is read with
    # the caller's policy, which still allows it.
    assert sorted(zip(e["account_id"], e["region"], e["operation"], e["error_kind"])) == sorted(
        (a, "", "GetAccountAuthorizationDetails", "access_denied") for a in members
    )
    cov = inv.iam_coverage.set_index("account_id")["status"]
    assert {a: cov[a] for a in members} == dict.fromkeys(members, "unreadable")
    assert cov[org.management_account_id] == "complete"


def test_caller_policy_without_list_policies_leaves_organization_policies_unreadable(org):
    policy = permissions.caller_policy(org.role_name)
    for s in policy["Statement"]:
        if s["Sid"] == "EcrAuditOrganization":
            s["Action"] = [a for a in s["Action"] if a != "organizations:ListPolicies"]
    inv = _enforced(org, caller_policy=policy)
    e = inv.errors
    assert list(zip(e["operation"], e["error_kind"])) == [("ListPolicies", "access_denied")] * 2
    assert set(inv.org_policy_coverage["status"]) == {"unreadable"} and inv.org_policies.empty


def test_caller_without_assume_role_permission_reaches_only_its_own_account(org):
    policy = permissions.caller_policy(org.role_name)
    policy["Statement"] = [s for s in policy["Statement"] if s["Sid"] != "EcrAuditAssumeRole"]
    inv = _enforced(org, caller_policy=policy)
    assert inv.meta["completeness"] == "partial"
    denied = inv.errors[inv.errors["operation"] == "AssumeRole"]
    assert set(denied["error_kind"]) == {"access_denied"}
    assert inv.meta["accounts"] == [org.management_account_id]


def test_role_policy_without_batch_get_image_suffices_when_manifests_are_never_read(org):
    org.set_audit_role_policy(permissions.audit_role_policy(include_manifests=False))
    inv = _enforced(org, read_manifests="never")
    assert inv.meta["completeness"] == "complete", inv.errors
    assert set(inv.images["manifest_status"]) == {"skipped"}


def test_permissions_command_prints_the_policy_built_from_the_declared_action_list(capsys):
    assert main(["permissions"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == permissions.audit_role_policy()
    assert sorted(printed["Statement"][0]["Action"]) == sorted(permissions.MEMBER_ACTIONS)
    assert main(["permissions", "--scope", "caller"]) == 0
    assert json.loads(capsys.readouterr().out) == permissions.caller_policy()
