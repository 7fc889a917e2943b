"""Organization policies (SCPs and RCPs) and where they are attached, read once from the caller.

From the management account or a delegated administrator
(docs/organization-policies.md#reading-organization-policies): ListRoots says which policy types
are enabled on the root; for each enabled type, ListPolicies, then per policy DescribePolicy (its
Content) and ListTargetsForPolicy (its direct attachments: roots, OUs, accounts). Inherited
attachments are not listed by AWS: the analysis follows `accounts.ou_path` up to the root.

`org_policy_coverage` says per type what is known: `not_enabled` (the type is off, so none of its
policies apply), `enabled` (every policy and target read), `unreadable` (something failed: see
errors; what was read is kept), `not_an_organization`, `pending`, `skipped`. "Could not read"
is never "no policies".

get_* call and page, transform_* are pure and report what they cannot understand to `Problems`.
"""

from __future__ import annotations

from .. import ecr
from .fields import Fields, Problems, first_of_each, problems_or_strict, rows_of
from .paging import pages

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
POLICY_TYPES = (SCP, RCP)
TARGET_TYPES = ("ROOT", "ORGANIZATIONAL_UNIT", "ACCOUNT")
# ListPolicies and ListTargetsForPolicy accept MaxResults 1-20 (Organizations API reference).
PAGE = 20
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


def get_roots(org) -> list[dict]:
    return pages(org.list_roots, "Roots", token="NextToken")


def get_policies(org, policy_type: str) -> list[dict]:
    """Policy summaries of one type. Pages can be empty with a NextToken."""
    return pages(org.list_policies, "Policies", token="NextToken", Filter=policy_type, MaxResults=PAGE)


def get_policy(org, policy_id: str) -> dict:
    return org.describe_policy(PolicyId=policy_id).get("Policy") or {}


def get_targets(org, policy_id: str) -> list[dict]:
    return pages(
        org.list_targets_for_policy, "Targets", token="NextToken", PolicyId=policy_id, MaxResults=PAGE
    )


def transform_policy_types(roots: list, problems: Problems | None = None) -> dict[str, str]:
    """Policy type → its status on the root (ENABLED | PENDING_ENABLE | PENDING_DISABLE); a type
    the root does not list is not enabled. An organization has one root: none or more are a
    problem (no root would otherwise read as "nothing enabled")."""
    problems = problems_or_strict(problems)
    if len(roots) != 1:
        problems.add("no root" if not roots else "more than one root", f"{len(roots)} roots")
    types: dict[str, str] = {}
    for i, root in enumerate(roots):
        f = Fields(root, "a root")
        listed = f.items("PolicyTypes")
        if f.problem:
            problems.add(f.problem, f"root {i}")
            continue
        for k, item in enumerate(listed):
            t = Fields(item, "a root's policy type")
            name, status = t.text("Type", required=True), t.text("Status", required=True)
            if t.problem:
                problems.add(t.problem, f"root {i} type {k}")
            else:
                types[name] = status
    return types


def transform_policies(policy_type: str, listed: list, problems: Problems | None = None) -> list[dict]:
    """ListPolicies items → org_policies rows (without `policy_text`), one per policy id."""
    problems = problems_or_strict(problems)

    def row(f: Fields) -> dict:
        policy_id = f.text("Id", required=True)
        kind = f.text("Type")
        if kind is not None and kind != policy_type and f.problem is None:
            f.problem = f"a {policy_type} listing item of another type"
        return {
            "policy_id": policy_id,
            "policy_type": policy_type,
            "name": f.text("Name"),
            "description": f.text("Description"),
            "is_aws_managed": f.flag("AwsManaged"),
        }

    rows = rows_of(listed, "a policy", row, problems)
    return first_of_each(rows, lambda r: r["policy_id"], problems, "a policy listed twice")


def transform_policy_text(described: dict, problems: Problems | None = None) -> str | None:
    """DescribePolicy → its Content (None, and a problem, when the answer holds none)."""
    problems = problems_or_strict(problems)
    f = Fields(described, "a described policy")
    content = f.text("Content", required=True)
    if f.problem:
        problems.add(f.problem, "DescribePolicy")
    return content


def transform_targets(policy_id: str, listed: list, problems: Problems | None = None) -> list[dict]:
    """ListTargetsForPolicy items → org_policy_targets rows."""
    problems = problems_or_strict(problems)

    def row(f: Fields) -> dict:
        target_id, kind = f.text("TargetId", required=True), f.text("Type", required=True)
        if f.problem is None and kind not in TARGET_TYPES:
            f.problem = "a target whose Type is not ROOT, ORGANIZATIONAL_UNIT or ACCOUNT"
        elif f.problem is None and kind == "ACCOUNT" and not ecr.is_account_id(target_id):
            f.problem = "an account target whose TargetId is not a 12-digit account id"
        return {
            "policy_id": policy_id,
            "target_id": target_id,
            "target_type": kind,
            "target_name": f.text("Name"),
        }

    rows = rows_of(listed, "a policy target", row, problems, where=f"{policy_id[:100]} target")
    return first_of_each(
        rows, lambda r: r["target_id"], problems, f"a target of {policy_id[:100]} listed twice"
    )


def coverage(policy_type: str, status: str, reason: str | None = None) -> dict:
    return {"policy_type": policy_type, "status": status, "reason": reason}


def skipped(reason: str) -> list[dict]:
    """Coverage rows when organization policies are not read at all."""
    return [coverage(t, "skipped", reason) for t in POLICY_TYPES]
