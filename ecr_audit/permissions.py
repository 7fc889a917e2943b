"""The one list of API actions the collector calls, and the least-privilege IAM policies built from it.

A test records every operation a full collection makes and fails on anything not listed here,
and another fails on any mutating verb: the tool is read-only (DESIGN.md). `ecr:BatchGetImage`
reads manifests (it counts as a pull and moves lastRecordedPullTime: see ecr-facts §0.1).
"""
from __future__ import annotations

import json
import re

# Member-account audit role: everything read inside an account × region.
MEMBER_ACTIONS = (
    "ec2:DescribeRegions",
    "ecr:DescribeRegistry",
    "ecr:GetRegistryPolicy",
    "ecr:GetAccountSetting",
    "ecr:GetRegistryScanningConfiguration",
    "ecr:DescribePullThroughCacheRules",
    "ecr:DescribeRepositoryCreationTemplates",
    "ecr:ListPullTimeUpdateExclusions",
    "ecr:DescribeRepositories",
    "ecr:GetRepositoryPolicy",
    "ecr:GetLifecyclePolicy",
    "ecr:ListTagsForResource",
    "ecr:DescribeImages",
    "ecr:BatchGetImage",
)

# Caller (management account or delegated administrator): identity, organization, assume-role.
CALLER_ACTIONS = (
    "sts:GetCallerIdentity",
    "sts:AssumeRole",
    "organizations:DescribeOrganization",
    "organizations:ListAccounts",
    "organizations:ListRoots",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAccountsForParent",
)

READ_ACTIONS = tuple(sorted(set(MEMBER_ACTIONS) | set(CALLER_ACTIONS)))

MUTATING_VERBS = ("Put", "Create", "Delete", "Set", "Start", "Stop", "Update", "Register", "Deregister",
                  "Tag", "Untag", "Upload", "Initiate", "Complete", "Replicate", "Import", "Enable",
                  "Disable", "Attach", "Detach", "Modify", "Move", "Remove", "Invite", "Close", "Leave")


def is_mutating(action: str) -> bool:
    """The action's verb changes something (`ecr:PutImage`, `organizations:TagResource`, ...)."""
    name = action.split(":", 1)[-1]
    return re.match(r"^(" + "|".join(MUTATING_VERBS) + r")(?=[A-Z]|$)", name) is not None


def audit_role_policy(include_manifests: bool = True) -> dict:
    """IAM policy for the audit role in every collected account.

    `include_manifests=False` drops ecr:BatchGetImage for deployments that never read manifests
    (`read_manifests="never"`); the collector then records manifests as skipped.
    """
    actions = [a for a in MEMBER_ACTIONS if include_manifests or a != "ecr:BatchGetImage"]
    return {"Version": "2012-10-17",
            "Statement": [{"Sid": "EcrAuditRead", "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}]}


def caller_policy(role_name: str = "ecr-audit") -> dict:
    """IAM policy for the principal that runs ecr-audit (management or delegated-admin account)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "EcrAuditOrganization", "Effect": "Allow", "Resource": "*",
         "Action": sorted(a for a in CALLER_ACTIONS if a.startswith("organizations:") or a == "sts:GetCallerIdentity")},
        {"Sid": "EcrAuditAssumeRole", "Effect": "Allow", "Action": "sts:AssumeRole",
         "Resource": f"arn:aws:iam::*:role/{role_name}"},
        # The caller's own account is collected with the caller's credentials.
        {"Sid": "EcrAuditOwnAccount", "Effect": "Allow", "Action": sorted(MEMBER_ACTIONS), "Resource": "*"},
    ]}


def policy_json(policy: dict) -> str:
    return json.dumps(policy, indent=2)
