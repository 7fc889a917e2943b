"""The caller's reads: its identity (STS) and the organization's accounts and OU tree.

get_* call and page (through `paging.pages`), transform_* are pure and report items they cannot
understand to their `Problems` (see `fields`).
"""

from __future__ import annotations

from .. import ecr
from .fields import Fields, Problems, first_of_each, problems_or_strict, rows_of
from .paging import pages


def get_caller_identity(sts) -> dict:
    return sts.get_caller_identity()


def get_organization(org) -> dict:
    return org.describe_organization().get("Organization") or {}


def get_org_accounts(org) -> list[dict]:
    """Every account of the organization (any State). Pages can be empty with a NextToken."""
    return pages(org.list_accounts, "Accounts", token="NextToken")


def get_ou_paths(org, problems: Problems | None = None, units: list | None = None) -> dict[str, str]:
    """account id → OU path from the root ("r-ab12/ou-ab12-x/ou-ab12-y").

    Walks the tree: ListRoots, then per parent ListOrganizationalUnitsForParent and
    ListAccountsForParent — 1 + 2 × (roots + OUs) calls, fewer than ListParents per account
    once an organization has more accounts than OUs. A parent met twice (the tree answered as a
    cycle) is walked once; ids that are not text are problems. `units`, when given, receives one
    `organizational_units` row per root and OU walked (kept when the walk fails later)."""
    problems = problems_or_strict(problems)
    paths: dict[str, str] = {}
    names: dict[str, str | None] = {}

    def ids(items, what):
        out = []
        for i, item in enumerate(items):
            f = Fields(item, what)
            value, name = f.text("Id", required=True), f.text("Name")
            if f.problem:
                problems.add(f.problem, f"item {i}")
            else:
                out.append(value)
                names[value] = name
        return out

    try:
        roots = ids(pages(org.list_roots, "Roots", token="NextToken"), "a root")
        todo = [(root, None, root) for root in roots]
        walked = set()
        while todo:
            parent, grandparent, path = todo.pop()
            if parent in walked:
                problems.add("an organizational unit listed under two parents (a cycle)", parent[:200])
                continue
            walked.add(parent)
            if units is not None:
                units.append(
                    {"ou_id": parent, "parent_id": grandparent, "name": names.get(parent), "ou_path": path}
                )
            for acct in ids(
                pages(org.list_accounts_for_parent, "Accounts", token="NextToken", ParentId=parent),
                "an account",
            ):
                paths[acct] = path
            for ou in ids(
                pages(
                    org.list_organizational_units_for_parent,
                    "OrganizationalUnits",
                    token="NextToken",
                    ParentId=parent,
                ),
                "an organizational unit",
            ):
                todo.append((ou, parent, f"{path}/{ou}"))
    except Exception as e:  # the paths found before the failure are real: keep them
        e.partial_items = paths
        raise
    return paths


def ou_path_from_paths(paths, account_id: str) -> str | None:
    """OU path from ListAccounts `Paths` ("o-x/r-ab12/ou-ab12-y/<account>/"): root and OUs only."""
    if not paths or not isinstance(paths, list) or not isinstance(paths[0], str):
        return None
    parts = [p for p in paths[0].split("/") if p and not p.startswith("o-") and p != account_id]
    return "/".join(parts) or None


def transform_accounts(listed: list, problems: Problems | None = None) -> list[dict]:
    """ListAccounts items → (id, name, email, state, ou_path from Paths) rows, one per valid id."""
    problems = problems_or_strict(problems)

    def row(f: Fields) -> dict:
        account_id = f.text("Id", required=True)
        if account_id is not None and not ecr.is_account_id(account_id):
            f.problem = f.problem or "an account whose Id is not a 12-digit account id"
        # `Status` is being retired: `State` is the field to read (Organizations API reference,
        # https://docs.aws.amazon.com/organizations/latest/APIReference/API_Account.html).
        return {
            "account_id": account_id,
            "account_name": f.text("Name"),
            "email": f.text("Email"),
            "state": f.text("State"),
            "ou_path": ou_path_from_paths(f.texts("Paths"), account_id or ""),
        }

    rows = rows_of(listed, "an account", row, problems)
    return first_of_each(rows, lambda r: r["account_id"], problems, "an account listed twice")


def transform_identity(ident: dict) -> tuple[str, str] | None:
    """(caller ARN, account id) of a GetCallerIdentity answer, None when it lacks either."""
    f = Fields(ident, "GetCallerIdentity")
    arn, account = f.text("Arn", required=True), f.text("Account", required=True)
    if f.problem or not ecr.is_account_id(account):
        return None
    return arn, account
