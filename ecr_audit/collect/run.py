"""A collection run: the caller's identity → accounts (prepared in parallel) → account × region
units (in parallel) → one Inventory with its provenance."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import datetime, timezone

import pandas as pd

from .. import aws, ecr
from ..inventory import Inventory
from . import caller_steps, iam, pricing, reads
from . import consumers as consumer_kinds
from . import org_policies as orgpol
from . import organizations as orgs
from .accounts import collect_identities, discover_accounts, finish_ou_paths, prepare_account
from .calls import CallRecorder
from .errors import (
    CollectionError,
    CredentialsError,
    classify,
    credentials_fix,
    is_recordable,
    message_of,
    remember_credentials,
)
from .manifests import cosign_edges
from .reading import THROTTLE_BUDGET_SECONDS, Reader, ThrottleBudget
from .regions import ecr_regions
from .sink import Sink
from .unit import MANIFEST_MODES, collect_unit


def collect(
    session=None,
    *,
    profile=None,
    org=False,
    accounts=None,
    role_name=None,
    external_id=None,
    regions="all",
    read_manifests="auto",
    max_workers=8,
    repository_workers=4,
    progress=None,
    throttle_budget=THROTTLE_BUDGET_SECONDS,
    identities=True,
    org_policies=True,
    consumers="all",
    keep_task_definitions=consumer_kinds.KEEP_TASK_DEFINITIONS,
    pull_days=consumer_kinds.PULL_DAYS,
) -> Inventory:
    """Collect ECR from the caller's account, listed accounts or the whole organization.

    session: the caller's boto3.Session (default: boto3.Session(profile_name=profile)).
    org: list accounts with Organizations (management account or delegated administrator).
    accounts: account ids to collect (with org=True: a subset of the organization).
    role_name / external_id: role assumed in every account other than the caller's.
    regions: "all" (enabled regions with an ECR endpoint) or a list of region codes.
    read_manifests: auto | always | never (see `unit.manifest_decision`).
    progress: callable(event dict) or None (see `StderrProgress`).
    throttle_budget: seconds one persistently throttled read may take in all (see `reading`).
    identities: read each account's IAM users, roles, groups and policies (`iam`).
    org_policies: with org=True, read the organization's SCPs and RCPs and its OU tree
        (`org_policies`); without org=True they are `skipped`.
    consumers: which consumer kinds to read in every account × region (collect/consumers/):
      "all" (every kind but cloudtrail), "none", or kinds (a list or comma-separated text).
    keep_task_definitions: newest ACTIVE revisions of each ECS task definition family read as
      the rollback window (0-100). pull_days: CloudTrail pulls of the last N days (1-90).

    Raises CredentialsError when the caller's credentials are missing, expired or refused, and
    CollectionError when AWS cannot tell who the caller is (after retries): nothing is collected.
    """
    if read_manifests not in MANIFEST_MODES:
        raise ValueError(f"read_manifests must be one of {MANIFEST_MODES}, got {read_manifests!r}")
    kinds = consumer_kinds.select(consumers)
    consumer_kinds.check_options(keep_task_definitions, pull_days)
    if regions != "all":
        if isinstance(regions, str):
            regions = [regions]
        regions = list(dict.fromkeys(str(r) for r in regions))
    budget = ThrottleBudget(throttle_budget)
    opts = {
        "read_manifests": read_manifests,
        "role_name": role_name,
        "external_id": external_id,
        "regions": regions,
        "repository_workers": repository_workers,
        "identities": bool(identities),
        "org_policies": bool(org_policies),
        "consumers": kinds,
        "keep_task_definitions": keep_task_definitions,
        "pull_days": pull_days,
    }
    collected_at = opts["collected_at"] = datetime.now(timezone.utc)
    recorder = CallRecorder()
    sink = Sink(progress)

    def instrument(client, account_id, region):
        recorder.instrument(client, account_id, region)
        budget.instrument(client)

    session, caller_clients, caller_arn, caller_account = _identify(session, profile, instrument, budget)
    home = session.region_name or aws.GLOBAL_REGION
    caller = Reader(sink, recorder, budget, calls_at=("", home))

    # The OU walk runs in `background` beside the collection (see `accounts.discover_accounts`).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecr-org") as background:
        read_org_policies = bool(org and org_policies)
        rows, org_meta, ou_walk = discover_accounts(
            caller, caller_clients, caller_account, org, accounts, home, background, ou_tree=read_org_policies
        )
        # After the OU walk, on the same background thread (the caller's Organizations reads
        # go one after another).
        policy_step = (
            background.submit(caller_steps.collect_org_policies, sink, recorder, budget, caller_clients, home)
            if read_org_policies
            else None
        )
        for group in reads.independent(reads.CALLER):
            background.submit(
                reads.run_group, group, caller, lambda service: caller_clients.lease(service, home), {}, ()
            )
        prices = background.submit(
            _price_list, sink, recorder, budget, caller_clients, ecr.partition_of(caller_arn)
        )
        regions_with_ecr = ecr_regions(session, ecr.partition_of(caller_arn))
        opts["consumer_regions"] = consumer_kinds.offered_regions(
            session, ecr.partition_of(caller_arn), kinds
        )
        pending = [r for r in rows if r["collection_status"] == "pending"]
        prepared, units, identity_reads = [None] * len(pending), [], {}
        # An account's units start as soon as it is prepared (AssumeRole, DescribeRegions), not
        # after every account is: with thousands of accounts that barrier was minutes long.
        with (
            ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="ecr-unit") as unit_pool,
            ThreadPoolExecutor(
                max_workers=max(1, max_workers), thread_name_prefix="ecr-account"
            ) as acct_pool,
        ):
            position = {
                acct_pool.submit(
                    prepare_account,
                    r,
                    session,
                    caller_arn,
                    caller_account,
                    opts,
                    sink,
                    recorder,
                    budget,
                    instrument,
                    regions_with_ecr,
                ): i
                for i, r in enumerate(pending)
            }
            for ready in as_completed(position):
                acct = prepared[position[ready]] = ready.result()
                for region, why in acct.disabled.items():
                    sink.add(
                        "errors",
                        [
                            {
                                "account_id": acct.account_id,
                                "region": region,
                                "operation": "DescribeRegions",
                                "error_code": "RegionDisabled",
                                "error_kind": "disabled_region",
                                "message": why,
                            }
                        ],
                    )
                    acct.units.append(
                        {
                            "account_id": acct.account_id,
                            "region": region,
                            "status": "disabled",
                            "reason": why,
                            "principal_arn": acct.principal_arn,
                            "manifest_mode": read_manifests,
                            "has_read_manifests": False,
                            "manifests_reason": "region not collected",
                            "errors": 1,
                        }
                    )
                if acct.clients is None or acct.row["collection_status"] != "pending":
                    sink.bump("account_done", about=acct.row)
                    continue
                sink.bump("start", units_total=len(acct.regions))
                units += [
                    (acct, unit_pool.submit(collect_unit, acct, region, opts, sink, recorder, budget))
                    for region in acct.regions
                ]
                if reads.independent(reads.ACCOUNT):
                    units.append((None, unit_pool.submit(_account_reads, acct, home, sink, recorder, budget)))
                if identities:
                    identity_reads[acct.account_id] = unit_pool.submit(
                        collect_identities, acct, home, sink, recorder, budget
                    )
            for acct, unit in units:
                if acct is None:
                    unit.result()
                else:
                    acct.units.append(unit.result())
        for acct in prepared:
            _account_status(acct)
        finish_ou_paths(rows, ou_walk)
        prices.result()  # its failures are errors rows; anything else is a bug and is raised
        if policy_step is not None:
            policy_step.result()
        else:
            why = (
                "not read: --no-org-policies"
                if org
                else "not read: organization policies are read with --org"
            )
            sink.add("org_policy_coverage", orgpol.skipped(why))
        read = {a: f.result() for a, f in identity_reads.items()}
        sink.add("iam_coverage", iam.coverage(rows, read, identities))
        sink.add("accounts", rows)
        sink.add("coverage", [u for a in prepared for u in a.units])
        sink.bump("done")
        return _inventory(
            sink,
            recorder,
            rows,
            prepared,
            org_meta,
            opts,
            org,
            accounts,
            session,
            {"arn": caller_arn, "account_id": caller_account},
            collected_at,
        )


def _identify(session, profile, instrument, budget):
    """(session, its Clients, caller ARN, caller account) — or CredentialsError / CollectionError.

    The caller's identity is not optional: without it nothing can be attributed. botocore retries
    a throttled or failing GetCallerIdentity like any call (`aws.client_config`)."""
    try:
        if session is None:
            session = aws.default_session(profile)
        clients = aws.Clients(session, "", instrument)
        creds = session.get_credentials()
        if creds is not None:
            frozen = creds.get_frozen_credentials()
            remember_credentials(frozen.access_key, frozen.secret_key, frozen.token)
        with budget.started():
            ident = clients.call(
                reads.GET_CALLER_IDENTITY.service, session.region_name, reads.GET_CALLER_IDENTITY.get
            )
    except Exception as e:
        fix = credentials_fix(e, profile)
        if fix is not None:
            raise CredentialsError(fix) from e
        if not is_recordable(e):
            raise
        code, kind = classify(e)
        raise CollectionError(
            f"AWS STS could not tell who the caller is ({code}, {kind}, after retries): "
            f"{message_of(e)} — nothing was collected; check the network, proxy and "
            "endpoint settings (AWS_ENDPOINT_URL) and retry"
        ) from e
    identity = orgs.transform_identity(ident)
    if identity is None:
        raise CollectionError(
            "AWS STS answered GetCallerIdentity without a caller ARN and 12-digit account "
            "id: nothing was collected; check the endpoint (AWS_ENDPOINT_URL) and retry"
        )
    return session, clients, *identity


def _price_list(sink, recorder, budget, clients, partition: str) -> None:
    """ECR storage prices (`reads.GET_PRODUCTS`), asked once of the Price List endpoint of the
    caller's partition. Where there is none, or the read fails, an errors row says so and the
    shipped table prices every region (`cost.prices`)."""
    read = reads.GET_PRODUCTS
    region = pricing.endpoint_region(partition)
    here = Reader(sink, recorder, budget, calls_at=("", region or ""))
    if region is None:
        here.error(
            read.operation,
            "NoPriceListEndpoint",
            "unsupported",
            f"the {partition} partition has no AWS Price List endpoint: storage is priced from the shipped table",
        )
        return
    with clients.lease(read.service, region) as client:
        read.run(here, client, {}, ())


def _account_reads(acct, home: str, sink, recorder, budget) -> None:
    """The table's ACCOUNT-scope reads for one account, in the caller's home region."""
    here = Reader(sink, recorder, budget, account_id=acct.account_id, region=home)
    for group in reads.independent(reads.ACCOUNT):
        reads.run_group(
            group, here, lambda service: acct.clients.lease(service, home), acct.row, (acct.account_id,)
        )
    if here.errors and not acct.incomplete:
        acct.incomplete = "some of the account's own reads failed (see errors)"


def _account_status(acct) -> None:
    if acct.row["collection_status"] != "pending":
        return
    statuses = {u["status"] for u in acct.units}
    if statuses and statuses <= {"failed", "disabled"}:
        acct.row.update(collection_status="failed", skip_reason="no region could be collected")
    elif statuses - {"complete"}:
        acct.row.update(collection_status="partial", skip_reason="some regions were not fully read")
    elif acct.incomplete:
        acct.row.update(collection_status="partial", skip_reason=acct.incomplete)
    else:
        acct.row["collection_status"] = "collected"


def _inventory(sink, recorder, rows, prepared, org_meta, opts, org, accounts, session, caller, collected_at):
    frames = {name: pd.DataFrame.from_records(r) for name, r in sink.rows.items()}
    tags = frames.get("image_tags")
    edges = frames.get("manifest_references", pd.DataFrame())
    if tags is not None and len(tags):
        edges = pd.concat([edges, cosign_edges(tags)], ignore_index=True)
    if len(edges):
        edges = edges.drop_duplicates(
            ["account_id", "region", "repository_name", "source_digest", "target_digest", "kind"],
            keep="first",
        )
    frames["manifest_references"] = edges
    frames["api_calls"] = pd.DataFrame.from_records(recorder.records())
    coverage = frames.get("coverage", pd.DataFrame())
    n_errors = len(frames.get("errors", ()))
    read_any = len(coverage) and coverage["status"].isin(["complete", "partial"]).any()
    completeness = "empty" if not read_any else "complete" if n_errors == 0 else "partial"
    regions = sorted({u["region"] for a in prepared for u in a.units})
    meta = {
        "source": getattr(session, "ecr_audit_source", None) or "aws",
        "collected_at": collected_at.isoformat(),
        "caller": caller,
        "organization": org_meta,
        "accounts": [r["account_id"] for r in rows if r["collection_status"] in ("collected", "partial")],
        "regions": regions,
        "options": {
            "read_manifests": opts["read_manifests"],
            "role_name": opts["role_name"],
            "regions": opts["regions"],
            "account_source": "organization" if org else "list" if accounts is not None else "caller",
            "identities": opts["identities"],
            "org_policies": opts["org_policies"],
            "consumers": list(opts["consumers"]),
            "keep_task_definitions": opts["keep_task_definitions"],
            "pull_days": opts["pull_days"],
        },
        "completeness": completeness,
    }
    return Inventory(frames=frames, meta=meta)
