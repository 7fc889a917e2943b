import json

from ecr_audit import permissions


def test_read_actions_contain_no_mutating_verb():
    assert not [a for a in permissions.READ_ACTIONS if permissions.is_mutating(a)]


def test_mutating_verb_detector_catches_writes_but_not_reads():
    assert permissions.is_mutating("ecr:PutImage")
    assert permissions.is_mutating("ecr:TagResource")
    assert permissions.is_mutating("ecr:RegisterPullTimeUpdateExclusion")
    assert not permissions.is_mutating("ecr:BatchGetImage")
    assert not permissions.is_mutating("ecr:ListTagsForResource")
    assert not permissions.is_mutating("ecr:DescribeRepositories")


def test_audit_role_policy_grants_exactly_the_member_actions_and_is_valid_json():
    policy = json.loads(permissions.policy_json(permissions.audit_role_policy()))
    (stmt,) = policy["Statement"]
    assert stmt["Effect"] == "Allow" and sorted(stmt["Action"]) == sorted(permissions.MEMBER_ACTIONS)
    assert (
        "ecr:BatchGetImage"
        not in permissions.audit_role_policy(include_manifests=False)["Statement"][0]["Action"]
    )


def test_caller_policy_limits_assume_role_to_the_audit_role_name():
    stmts = permissions.caller_policy("ecr-audit")["Statement"]
    assume = [s for s in stmts if s["Action"] == "sts:AssumeRole"]
    assert assume == [
        {
            "Sid": "EcrAuditAssumeRole",
            "Effect": "Allow",
            "Action": "sts:AssumeRole",
            "Resource": "arn:aws:iam::*:role/ecr-audit",
        }
    ]
    granted = {a for s in stmts for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
    assert granted == set(permissions.READ_ACTIONS)


def test_readme_and_shipped_policy_files_are_generated_from_the_declared_action_list():
    import json
    import re
    from pathlib import Path

    from ecr_audit import permissions

    root = Path(__file__).resolve().parent.parent
    member = permissions.audit_role_policy()
    shipped = root / "ecr_audit" / "data" / "iam"
    assert json.loads((shipped / "audit-role-policy.json").read_text()) == member
    assert json.loads((shipped / "caller-policy.json").read_text()) == permissions.caller_policy()
    block = re.search(
        r"<!-- permissions:member -->\s*```json\n(.*?)```", (root / "README.md").read_text(), re.S
    )
    assert block, "README lost its generated permissions block"
    assert json.loads(block.group(1)) == member
