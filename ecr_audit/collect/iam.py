"""The IAM users, roles, groups and policies of one account (GetAccountAuthorizationDetails).

IAM is global: one paged read per account (docs/organization-policies.md#reading-identities),
with every entity type, whose items become three frames: `iam_principals` (users, roles, groups),
`iam_policies` (managed policies with their default version's document; AWS managed ones only
when something in the account uses them, to keep snapshots small) and `iam_principal_policies`
(what applies to whom: inline, attached, boundary, and a group's policies on each member user).
`iam_coverage` says per account whether all of it was read: "could not read" is never "nobody".

Policy documents are URL-encoded JSON on the wire; botocore decodes them into objects, and they
are stored as JSON text again (`document_text`).
"""

from __future__ import annotations

import json
import re
from urllib.parse import unquote

from .fields import Fields, Problems, first_of_each, is_text, problems_or_strict
from .paging import IncompleteListing, pages

FILTER = ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy")
MAX_ITEMS = 1000  # the API's maximum
LISTS = (
    ("UserDetailList", "user"),
    ("GroupDetailList", "group"),
    ("RoleDetailList", "role"),
    ("Policies", "policy"),
)
AWS_MANAGED = re.compile(r"^arn:[\w-]+:iam::aws:policy/")
SERVICE_LINKED_PATH = "/aws-service-role/"


def get_authorization_details(iam) -> list[tuple[str, dict]]:
    """Every (kind, item) of GetAccountAuthorizationDetails, kind = user | group | role | policy.

    Paged by `IsTruncated` and `Marker`: IAM may return fewer items than MaxItems and still have
    more (https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html)."""

    def page(**params) -> dict:
        answer = iam.get_account_authorization_details(Filter=list(FILTER), MaxItems=MAX_ITEMS, **params)
        items = []
        for key, kind in LISTS:
            got = answer.get(key)
            if got is not None and not isinstance(got, list):
                raise IncompleteListing(
                    "GetAccountAuthorizationDetails", "MalformedPage", f"{key} is not a list", []
                )
            items += [(kind, item) for item in got or []]
        return {"Items": items, "IsTruncated": answer.get("IsTruncated"), "Marker": answer.get("Marker")}

    return pages(page, "Items", token="Marker", truncated="IsTruncated")


def document_text(value) -> tuple[str | None, str | None]:
    """(JSON text, problem) of a policy document as botocore returns it: an object it decoded, or
    the URL-encoded text it could not decode (kept, unquoted, with a problem: never dropped)."""
    if value is None:
        return None, "without its document"
    if isinstance(value, (dict, list)):
        return json.dumps(value), None
    if isinstance(value, str):
        text = unquote(value)
        return (text if is_text(text) else None), "whose document is not JSON"
    return None, "whose document is not JSON"


def _tags(f: Fields, problems: Problems, where: str) -> list[str]:
    out = []
    for tag in f.items("Tags"):
        t = Fields(tag, "a tag")
        key, value = t.text("Key", required=True), t.text("Value")
        if t.problem:
            problems.add(t.problem, where)
        else:
            out.append(f"{key}={value or ''}")
    return out


class _Account:
    """The rows of one account's answer, built item by item."""

    def __init__(self, account_id: str, problems: Problems):
        self.account_id = account_id
        self.problems = problems
        self.principals: list[dict] = []
        self.links: list[dict] = []
        self.used: set[str] = set()  # managed policy ARNs attached or used as boundary

    def link(self, principal_arn: str, relation: str, **fields) -> dict:
        row = {"account_id": self.account_id, "principal_arn": principal_arn, "relation": relation, **fields}
        self.links.append(row)
        return row

    def policies_of(self, f: Fields, arn: str, inline_key: str, where: str) -> list[dict]:
        """Inline and attached policy rows of one user, group or role; the rows made."""
        made = []
        for k, item in enumerate(f.items(inline_key)):
            p = Fields(item, "an inline policy")
            name = p.text("PolicyName", required=True)
            if p.problem:
                self.problems.add(p.problem, f"{where} inline {k}")
                continue
            text, problem = document_text(p.item.get("PolicyDocument"))
            if problem:  # kept: an inline policy that cannot be read must not vanish
                self.problems.add(f"an inline policy {problem}", f"{where} {name[:100]}")
            made.append(self.link(arn, "inline", policy_name=name, policy_text=text))
        for k, item in enumerate(f.items("AttachedManagedPolicies")):
            p = Fields(item, "an attached policy")
            policy_arn, name = p.text("PolicyArn", required=True), p.text("PolicyName")
            if p.problem:
                self.problems.add(p.problem, f"{where} attached {k}")
                continue
            self.used.add(policy_arn)
            made.append(self.link(arn, "attached", policy_arn=policy_arn, policy_name=name))
        return made

    def boundary(self, f: Fields, arn: str, where: str) -> str | None:
        b = Fields(f.obj("PermissionsBoundary"), "a permissions boundary")
        policy_arn = b.text("PermissionsBoundaryArn")
        if b.problem:
            self.problems.add(b.problem, where)
        if policy_arn is not None:
            self.used.add(policy_arn)
            self.link(arn, "boundary", policy_arn=policy_arn)
        return policy_arn

    def principal(self, arn, kind, f: Fields, name_key: str, **fields) -> None:
        self.principals.append(
            {
                "account_id": self.account_id,
                "principal_arn": arn,
                "principal_type": kind,
                "name": f.text(name_key),
                "path": f.text("Path"),
                **fields,
            }
        )


def _valid(items: list, kind: str, name_key: str, problems: Problems):
    """(Fields, ARN, name, where) of each user, group or role that has its ARN (and a group its
    name: membership is by name); the others are problems."""
    for i, item in enumerate(items):
        f = Fields(item, f"a {kind}")
        arn, name = f.text("Arn", required=True), f.text(name_key, required=kind == "group")
        if f.problem:
            problems.add(f.problem, f"{kind} {i}")
            continue
        yield f, arn, name, f"{kind} {(name or arn)[:100]}"


def transform_authorization_details(
    account_id: str, items: list, problems: Problems | None = None
) -> dict[str, list[dict]]:
    """(kind, item) pairs of `get_authorization_details` → {frame: rows} for iam_principals,
    iam_policies and iam_principal_policies. An item without its ARN is a problem and left out;
    a document that cannot be read keeps its row (text null) and is a problem."""
    problems = problems_or_strict(problems)
    acct = _Account(account_id, problems)
    by_kind: dict[str, list] = {"user": [], "group": [], "role": [], "policy": []}
    for kind, item in items:
        by_kind[kind].append(item)
    groups: dict[str, tuple[str, list[dict]]] = {}  # name → (ARN, its policy rows)
    for f, arn, name, where in _valid(by_kind["group"], "group", "GroupName", problems):
        acct.principal(arn, "group", f, "GroupName", is_service_linked=False, tags=[])
        groups[name] = (arn, acct.policies_of(f, arn, "GroupPolicyList", where))
    for f, arn, _, where in _valid(by_kind["user"], "user", "UserName", problems):
        member_of = f.texts("GroupList")
        if f.problem:  # the user is kept, without what its groups give it
            problems.add(f.problem, where)
        boundary = acct.boundary(f, arn, where)
        acct.principal(
            arn,
            "user",
            f,
            "UserName",
            permissions_boundary_arn=boundary,
            is_service_linked=False,
            tags=_tags(f, problems, where),
        )
        acct.policies_of(f, arn, "UserPolicyList", where)
        for group in member_of:
            if group not in groups:
                problems.add("a user in a group that was not listed", f"{where} group {group[:100]}")
                continue
            group_arn, rows = groups[group]
            for r in rows:
                acct.link(
                    arn,
                    "group_" + r["relation"],
                    policy_arn=r.get("policy_arn"),
                    policy_name=r.get("policy_name"),
                    policy_text=r.get("policy_text"),
                    group_arn=group_arn,
                )
    for f, arn, _, where in _valid(by_kind["role"], "role", "RoleName", problems):
        trust, problem = document_text(f.item.get("AssumeRolePolicyDocument"))
        if problem:
            problems.add(f"a trust policy {problem}", where)
        acct.principal(
            arn,
            "role",
            f,
            "RoleName",
            trust_policy_text=trust,
            permissions_boundary_arn=acct.boundary(f, arn, where),
            is_service_linked=(f.text("Path") or "").startswith(SERVICE_LINKED_PATH),
            tags=_tags(f, problems, where),
        )
        acct.policies_of(f, arn, "RolePolicyList", where)
    return {
        "iam_principals": first_of_each(
            acct.principals, lambda r: r["principal_arn"], problems, "a principal listed twice"
        ),
        "iam_policies": _managed(account_id, by_kind["policy"], acct.used, problems),
        "iam_principal_policies": acct.links,
    }


def _managed(account_id: str, items: list, used: set[str], problems: Problems) -> list[dict]:
    """Managed policies with their default version's document; an AWS managed one only when the
    account uses it (attached, or a boundary: here or by its counts)."""
    rows = []
    for i, item in enumerate(items):
        f = Fields(item, "a managed policy")
        arn, default = f.text("Arn", required=True), f.text("DefaultVersionId")
        attachments, boundaries = f.count("AttachmentCount"), f.count("PermissionsBoundaryUsageCount")
        versions = f.items("PolicyVersionList")
        if f.problem:
            problems.add(f.problem, f"policy {i}")
            continue
        aws_managed = AWS_MANAGED.match(arn) is not None
        if aws_managed and arn not in used and not (attachments or boundaries):
            continue
        text = None
        for v in versions:
            version = Fields(v, "a policy version")
            if version.flag("IsDefaultVersion") or (
                default is not None and version.text("VersionId") == default
            ):
                text, problem = document_text(version.item.get("Document"))
                if problem:
                    problems.add(f"a managed policy {problem}", arn[:200])
                break
        else:
            problems.add("a managed policy without its default version", arn[:200])
        rows.append(
            {
                "account_id": account_id,
                "policy_arn": arn,
                "name": f.text("PolicyName"),
                "is_aws_managed": aws_managed,
                "policy_text": text,
            }
        )
    return first_of_each(rows, lambda r: r["policy_arn"], problems, "a managed policy listed twice")


def coverage(account_rows: list[dict], read: dict[str, dict], enabled: bool) -> list[dict]:
    """One iam_coverage row per account considered: the row of its read, or why it was not read."""
    out = []
    for row in account_rows:
        got = read.get(row["account_id"])
        if got is not None:
            out.append(got)
            continue
        if not enabled:
            why = "identities not collected (--no-identities)"
        elif row["collection_status"] == "skipped":
            why = f"account not collected: {row['skip_reason']}"
        else:
            why = f"account not reached: {row['skip_reason'] or 'see errors'}"
        status = "unreadable" if enabled and row["collection_status"] != "skipped" else "skipped"
        out.append({"account_id": row["account_id"], "status": status, "reason": why, "principals": None})
    return out
