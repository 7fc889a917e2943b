"""Replication flows, the owner × grantee matrix and exposure counts."""

import json

from ecr_audit import access
from ecr_audit.inventory import Inventory
from tests.access_helpers import ORG_META, REGION, inventory
from tests.data.policy_corpus import ORG, OUTSIDER, OWNER, SIBLING


def _replication_inventory(dest_policy=None, dest_collected=True):
    regs = [
        {
            "account_id": OWNER,
            "region": REGION,
            "registry_policy_status": "absent",
            "registry_policy_scope": "V2",
        }
    ]
    policies = []
    if dest_collected:
        regs.append(
            {
                "account_id": SIBLING,
                "region": "eu-west-1",
                "registry_policy_status": "present" if dest_policy else "absent",
                "registry_policy_scope": "V2",
            }
        )
    if dest_policy:
        policies.append(
            {"account_id": SIBLING, "region": "eu-west-1", "policy_text": json.dumps(dest_policy)}
        )
    rules = [
        {
            "account_id": OWNER,
            "region": REGION,
            "rule_index": 0,
            "destination_region": "eu-west-1",
            "destination_account_id": SIBLING,
            "repository_filters": ["prod-"],
        },
        {
            "account_id": OWNER,
            "region": REGION,
            "rule_index": 0,
            "destination_region": "us-west-2",
            "destination_account_id": OWNER,
            "repository_filters": [],
        },
        {
            "account_id": OWNER,
            "region": REGION,
            "rule_index": 1,
            "destination_region": REGION,
            "destination_account_id": OUTSIDER,
            "repository_filters": [],
        },
    ]
    return Inventory.from_frames(
        meta={"organization": ORG_META}, replication_rules=rules, registries=regs, registry_policies=policies
    )


def test_replication_classifies_destinations_against_the_org():
    r = access.replication(_replication_inventory())
    assert r["relation"].tolist() == ["org", "account", "external"]
    assert r["is_cross_region"].tolist() == [True, True, False]
    assert r["repository_filters"].tolist() == [["prod-"], [], []]


def test_replication_checks_destination_registry_grant():
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OWNER}:root"},
                "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
            }
        ],
    }
    r = access.replication(_replication_inventory(grant))
    assert r["destination_permission"].tolist() == ["granted", "not_needed", "undetermined"]
    r = access.replication(_replication_inventory(None))
    assert r["destination_permission"].tolist() == ["missing", "not_needed", "undetermined"]


def test_matrix_counts_resources_per_owner_and_grantee_without_self_grants():
    pol = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": [SIBLING, OUTSIDER, OWNER]},
                    "Action": "ecr:BatchGetImage",
                },
                {
                    "Effect": "Allow",
                    "Principal": "*",
                    "Action": "ecr:BatchGetImage",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
                },
            ],
        }
    )
    repos = [
        {"account_id": OWNER, "region": REGION, "repository_name": n, "policy_text": pol} for n in ("a", "b")
    ]
    g = access.grants(inventory(None, repository_policies=repos))
    m = access.matrix(g)
    assert m.loc[OWNER, SIBLING] == 2 and m.loc[OWNER, OUTSIDER] == 2 and m.loc[OWNER, ORG] == 2
    assert OWNER not in m.columns


def test_by_account_puts_the_worst_owner_first_and_leaves_self_grants_out():
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
            {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ecr:PutImage"},
        ],
    }
    org_pull = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": [SIBLING, OWNER]}, "Action": "ecr:BatchGetImage"}
        ],
    }
    repos = [
        {
            "account_id": SIBLING,
            "region": REGION,
            "repository_name": "quiet",
            "policy_text": json.dumps(org_pull),
        },
        {"account_id": OWNER, "region": REGION, "repository_name": "open", "policy_text": json.dumps(public)},
    ]
    b = access.by_account(access.grants(inventory(None, repository_policies=repos)))
    assert b["account_id"].tolist() == [OWNER, SIBLING]
    first = b.iloc[0]
    assert first["worst_severity"] == "high" and first["public"] == 1 and first["external"] == 1
    assert first["write_grants"] == 1 and first["grantees"] == 2
    assert b.iloc[1]["grants"] == 1  # the owner's own grant is not counted
    assert access.by_account(access.grants(Inventory.from_frames(meta={}))).empty


def test_summary_counts_grants_by_exposure_and_capability():
    pol = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
            {
                "Effect": "Allow",
                "Principal": {"AWS": OUTSIDER},
                "Action": ["ecr:PutImage", "ecr:BatchGetImage"],
            },
        ],
    }
    s = access.summary(access.grants(inventory(pol)))
    assert s.loc["public", "can_pull"] == 1 and s.loc["public", "can_push"] == 0
    assert s.loc["external", "can_push"] == 1 and s.loc["external", "grants"] == 1


def test_empty_inventory_yields_empty_frames_with_columns():
    inv = Inventory.from_frames(meta={})
    assert access.grants(inv).empty and access.policy_findings(inv).empty and access.replication(inv).empty
    assert list(access.replication(inv).columns) == [c.name for c in access.REPLICATION_COLUMNS]
    assert access.matrix(access.grants(inv)).empty


def test_critical_list_has_public_and_external_write_but_not_trusted_or_pull_only():
    pol = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
            {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ecr:PutImage"},
            {"Effect": "Allow", "Principal": {"AWS": "999999999999"}, "Action": "ecr:PutImage"},
            {"Effect": "Allow", "Principal": {"AWS": "888888888888"}, "Action": "ecr:BatchGetImage"},
            {"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": "ecr:DeleteRepository"},
        ],
    }
    g = access.grants(inventory(pol))
    assert set(access.critical(g)["grantee"]) == {"*", OUTSIDER, "999999999999"}
    assert set(access.critical(g, trusted_accounts=[OUTSIDER, ""])["grantee"]) == {"*", "999999999999"}


def test_coverage_counts_unreadable_policies_separately():
    inv = Inventory.from_frames(
        meta={},
        repositories=[
            {
                "account_id": OWNER,
                "region": REGION,
                "repository_name": n,
                "repository_arn": f"arn:{n}",
                "policy_status": s,
            }
            for n, s in [("a", "present"), ("b", "absent"), ("c", "unreadable")]
        ],
    )
    c = access.coverage(inv)
    rp = c[c["what"] == "repository policy"].set_index("status")["count"]
    assert rp.to_dict() == {"present": 1, "absent": 1, "unreadable": 1}


def test_a_repository_policy_that_could_not_be_read_is_an_undetermined_grant_and_a_finding():
    from ecr_audit import Inventory, access

    acct = "012345678901"
    inv = Inventory.from_frames(
        repositories=[
            {
                "account_id": acct,
                "region": "us-east-1",
                "repository_name": "app",
                "repository_arn": f"arn:aws:ecr:us-east-1:{acct}:repository/app",
                "policy_status": "unreadable",
            }
        ],
        registries=[
            {
                "account_id": acct,
                "region": "us-east-1",
                "registry_policy_status": "unreadable",
                "registry_policy_scope": "V2",
            }
        ],
    )
    g = access.grants(inv)
    assert sorted(zip(g["scope"], g["exposure"])) == [
        ("registry", "undetermined"),
        ("repository", "undetermined"),
    ]
    f = access.policy_findings(inv)
    assert set(zip(f["scope"], f["finding_id"])) == {
        ("registry", "ecr_policy_unreadable"),
        ("repository", "ecr_policy_unreadable"),
    }
    assert len(access.critical(g)) == 2  # an unreadable policy belongs on the critical list
