"""Which accounts to collect, and a session and region list for each.

Discovery: the caller's own account, a list, or every account of the organization (ListAccounts;
the OU walk fills `ou_path` in the background when ListAccounts gives no Paths). Preparation of
one account: a session (the caller's own, or sts:AssumeRole of the audit role, its credentials
registered with the scrubber) and its enabled regions (DescribeRegions, opt-in aware). Every
failure is an errors row through the read policy (`reading.Reader`).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from .. import aws, ecr
from . import iam, reads
from . import organizations as orgs
from .errors import remember_credentials
from .fields import Fields, Problems
from .reading import Reader
from .regions import transform_regions


@dataclass
class Account:
    account_id: str
    clients: aws.Clients | None = None
    principal_arn: str | None = None
    partition: str = "aws"
    row: dict = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    disabled: dict[str, str] = field(default_factory=dict)  # region → reason
    units: list[dict] = field(default_factory=list)  # coverage rows
    incomplete: str | None = None  # why the account is partial beyond its units


def account_row(account_id: str, **fields) -> dict:
    return {
        "account_id": account_id,
        "account_name": None,
        "email": None,
        "state": None,
        "ou_path": None,
        "collection_status": "failed",
        "skip_reason": None,
        "principal_arn": None,
        **fields,
    }


def normalize_ids(ids) -> list[str]:
    out = []
    for x in ids:
        s = str(x).strip()
        if not ecr.is_account_id(s):
            raise ValueError(f"not a 12-digit account id: {s!r} (pass ids as strings; they can start with 0)")
        out.append(s)
    return list(dict.fromkeys(out))


def discover_accounts(
    caller: Reader,
    caller_clients: aws.Clients,
    caller_account: str,
    org: bool,
    accounts,
    region: str,
    background: ThreadPoolExecutor,
    ou_tree: bool = False,
):
    """(account rows to collect (state ACTIVE) or skip, the organization meta or None, the OU
    walk still running in `background` or None: pass it to `finish_ou_paths`).

    The walk runs when ListAccounts gives no OU paths, or with `ou_tree` (it records the
    `organizational_units` rows, their names, for the organization policies' analysis)."""
    wanted = normalize_ids(accounts) if accounts is not None else None
    if not org:
        ids = wanted if wanted is not None else [caller_account]
        return [account_row(i, collection_status="pending") for i in ids], None, None
    with caller_clients.lease("organizations", region) as client:
        return _discover_org(caller, client, wanted, background, ou_tree)


def _discover_org(caller: Reader, client, wanted, background, ou_tree=False):
    meta = {"id": None, "management_account_id": None, "account_ids": []}
    _, o = caller.read(reads.DESCRIBE_ORGANIZATION.operation, reads.DESCRIBE_ORGANIZATION.get, client)
    if o is not None:
        f = Fields(o, "an organization")
        meta["id"], management = f.text("Id"), f.text("MasterAccountId")
        meta["management_account_id"] = management if ecr.is_account_id(management) else None
        if f.problem:
            caller.invalid(reads.DESCRIBE_ORGANIZATION.operation, [(f.problem, "DescribeOrganization")])
    status, listed = caller.read(reads.LIST_ACCOUNTS.operation, reads.LIST_ACCOUNTS.get, client)
    if listed is None:
        return [], meta, None
    problems = Problems()
    listed = orgs.transform_accounts(listed, problems)
    if problems:
        caller.invalid(reads.LIST_ACCOUNTS.operation, problems)
        status = "unreadable"
    meta["account_ids"] = sorted(a["account_id"] for a in listed)
    rows = []
    for a in listed:
        if wanted is not None and a["account_id"] not in wanted:
            continue
        row = account_row(**a, collection_status="pending")
        if a["state"] != "ACTIVE":
            row.update(collection_status="skipped", skip_reason=f"account State is {a['state']}")
        rows.append(row)
    missing = (
        "not an account of the organization"
        if status == "present"
        else "not in the organization's account list, which could not be read in full (see errors)"
    )
    rows += [account_row(i, skip_reason=missing) for i in wanted or [] if i not in meta["account_ids"]]
    walk = None
    if ou_tree or any(a["ou_path"] is None for a in listed):
        # Only OU paths need the walk (one call per OU and page, one after another): it runs
        # beside the collection and fills `ou_path` when it ends (`finish_ou_paths`).
        walk = background.submit(_walk_ou_tree, caller, client)
    return rows, meta, walk


def _walk_ou_tree(caller: Reader, client):
    problems, units = Problems(), []
    _, paths = caller.read(reads.OU_PATHS.operation, reads.OU_PATHS.get, client, problems, units)
    if problems:
        caller.invalid(reads.OU_PATHS.operation, problems)
    caller.sink.add("organizational_units", units)
    return paths or {}


def finish_ou_paths(rows: list[dict], walk) -> None:
    if walk is None:
        return
    walked = walk.result()
    for row in rows:
        if row.get("ou_path") is None:
            row["ou_path"] = walked.get(row["account_id"])


def prepare_account(
    row: dict,
    caller,
    caller_arn: str,
    caller_account: str,
    opts: dict,
    sink,
    recorder,
    budget,
    instrument,
    ecr_regions: set[str],
) -> Account:
    """Credentials, principal and regions for one account (errors rows on failure)."""
    acct = Account(row["account_id"], row=row, partition=ecr.partition_of(caller_arn))
    config = aws.client_config(max_pool_connections=max(10, opts["repository_workers"] + 2))
    home = caller.region_name or aws.GLOBAL_REGION
    if acct.account_id == caller_account:
        session, acct.principal_arn = caller, caller_arn
    else:
        here = Reader(sink, recorder, budget, account_id=acct.account_id, calls_at=("", home))
        if not opts["role_name"]:
            row.update(collection_status="failed", skip_reason="no role_name given to reach this account")
            here.error(
                "AssumeRole",
                "NoRoleName",
                "access_denied",
                "role_name is required to collect accounts other than the caller's",
            )
            return acct
        _, assumed = here.read(
            "AssumeRole",
            lambda: aws.assume_role(
                caller,
                acct.account_id,
                opts["role_name"],
                partition=acct.partition,
                external_id=opts["external_id"],
                instrument=instrument,
                config=config,
                on_credentials=remember_credentials,
            ),
        )
        if assumed is None:
            row.update(collection_status="failed", skip_reason="could not assume the audit role")
            return acct
        session, acct.principal_arn = assumed
    row["principal_arn"] = acct.principal_arn
    acct.clients = aws.Clients(session, acct.account_id, instrument, config)
    here = Reader(sink, recorder, budget, account_id=acct.account_id, region=home)
    with acct.clients.lease("ec2", home) as ec2:
        status, listed = here.read(reads.DESCRIBE_REGIONS.operation, reads.DESCRIBE_REGIONS.get, ec2)
    enabled = known = None
    if listed is not None:
        problems = Problems()
        enabled, known = transform_regions(listed, problems)
        if problems:
            here.invalid(reads.DESCRIBE_REGIONS.operation, problems)
        if status != "present" or problems:
            acct.incomplete = "the account's region list could not be read in full"
    if opts["regions"] == "all":
        if enabled is None:
            row.update(collection_status="failed", skip_reason="could not list the account's enabled regions")
            return acct
        acct.regions = sorted(enabled & ecr_regions)
    else:
        for region in opts["regions"]:
            if enabled is not None and region in known and region not in enabled:
                acct.disabled[region] = "region is not enabled in this account"
            elif enabled is not None and region not in known and not acct.incomplete:
                acct.disabled[region] = "unknown region"
            else:  # enabled, or not known for sure: try it (failures show per region)
                acct.regions.append(region)
    return acct


def collect_identities(acct, region: str, sink, recorder, budget) -> dict:
    """Read one account's identities (errors rows carry region "": IAM is global); returns its
    iam_coverage row and marks the account incomplete when they were not read in full."""
    read = reads.GET_ACCOUNT_AUTHORIZATION_DETAILS
    here = Reader(
        sink, recorder, budget, account_id=acct.account_id, region="", calls_at=(acct.account_id, region)
    )
    with acct.clients.lease(read.service, region) as client:
        status, items = here.read(read.operation, read.get, client)
    problems = Problems()
    frames = iam.transform_authorization_details(acct.account_id, items or [], problems)
    if problems:
        here.invalid(read.operation, problems)
    for name, rows in frames.items():
        sink.add(name, rows)
    n = len(frames["iam_principals"]) if items is not None else None
    if items is None:
        state, why = "unreadable", f"{read.operation} failed (see errors)"
    elif status != "present":
        state, why = "partial", "the listing stopped before its end (see errors)"
    elif problems:
        state, why = "partial", f"{len(problems)} items could not be understood (see errors)"
    else:
        state, why = "complete", None
    if state != "complete" and not acct.incomplete:
        acct.incomplete = "its IAM identities could not be read in full (see errors)"
    return {"account_id": acct.account_id, "status": state, "reason": why, "principals": n}
