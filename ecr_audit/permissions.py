"""The API actions the collector calls, and the least-privilege IAM policies built from them.

The actions come from the collector's table of reads (`ecr_audit.collect.reads`): a read cannot
be added without its permission. A test records every operation a full collection makes and
fails on anything not listed here, and another fails on any mutating verb: the tool is
read-only. `ecr:BatchGetImage` reads manifests (it counts as a pull and moves
lastRecordedPullTime unless the principal is a pull-time update exclusion:
https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html).
"""

from __future__ import annotations

import json
import re

from .collect import reads

# Member-account audit role: everything read inside an account or account × region.
MEMBER_ACTIONS = reads.actions(reads.ACCOUNT, reads.UNIT, reads.REPOSITORY)

# Caller (management account or delegated administrator): its identity and the organization,
# plus sts:AssumeRole — not a read but how the collector enters each account (its statement in
# `caller_policy` names the audit role).
CALLER_ACTIONS = reads.actions(reads.CALLER) + ("sts:AssumeRole",)

READ_ACTIONS = tuple(sorted(set(MEMBER_ACTIONS) | set(CALLER_ACTIONS)))

MUTATING_VERBS = (
    "Put",
    "Create",
    "Delete",
    "Set",
    "Start",
    "Stop",
    "Update",
    "Register",
    "Deregister",
    "Tag",
    "Untag",
    "Upload",
    "Initiate",
    "Complete",
    "Replicate",
    "Import",
    "Enable",
    "Disable",
    "Attach",
    "Detach",
    "Modify",
    "Move",
    "Remove",
    "Invite",
    "Close",
    "Leave",
)


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
    return {
        "Version": "2012-10-17",
        "Statement": [{"Sid": "EcrAuditRead", "Effect": "Allow", "Action": sorted(actions), "Resource": "*"}],
    }


def caller_policy(role_name: str = "ecr-audit") -> dict:
    """IAM policy for the principal that runs ecr-audit (management or delegated-admin account)."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "EcrAuditOrganization",
                "Effect": "Allow",
                "Resource": "*",
                # Every read of the caller: its identity, the organization, the Price List.
                "Action": sorted(a for a in CALLER_ACTIONS if a != "sts:AssumeRole"),
            },
            {
                "Sid": "EcrAuditAssumeRole",
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Resource": f"arn:aws:iam::*:role/{role_name}",
            },
            # The caller's own account is collected with the caller's credentials.
            {
                "Sid": "EcrAuditOwnAccount",
                "Effect": "Allow",
                "Action": sorted(MEMBER_ACTIONS),
                "Resource": "*",
            },
        ],
    }


def policy_json(policy: dict) -> str:
    return json.dumps(policy, indent=2)
