"""Orchestration: accounts → account × region units (in parallel) → repositories (in parallel).

Every read goes through `Unit.read`, which turns an AWS answer into a status:
present | absent (AWS says "not configured") | unreadable (an errors row) | unsupported (an
errors row). Exceptions that are not AWS/network failures are bugs and propagate.
"""
from __future__ import annotations

import functools
import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone

import pandas as pd

from .. import aws
from ..inventory import Inventory
from . import images as img
from . import registry as reg
from . import repositories as repos
from .calls import CallRecorder
from .errors import RECORDABLE, classify, is_absent, message_of, scrub
from .manifests import cosign_edges, parse_manifest

MANIFEST_MODES = ("auto", "always", "never")
THROTTLE_ROUNDS = 3            # botocore retry sequences per read before a throttled read is an error
THROTTLE_PAUSE_SECONDS = 10.0  # × round number, between sequences
_ACCOUNT_ID = re.compile(r"^\d{12}$")

# BatchGetImage per-image failure codes → error_kind.
_FAILURE_KINDS = {"ImageNotFound": "not_found", "UpstreamAccessDenied": "access_denied",
                  "UpstreamTooManyRequests": "throttled", "UpstreamUnavailable": "server_error",
                  "UnsupportedImageType": "unsupported"}


class Sink:
    """Thread-safe row lists per frame, plus live counters for progress."""

    def __init__(self, progress=None):
        self.rows: dict[str, list] = {}
        self.frames: dict[str, list] = {}   # DataFrames appended by units (vectorized parts)
        self._lock = threading.Lock()
        self._progress = progress
        self.counts = {"units_total": 0, "units_done": 0, "repositories": 0, "images": 0, "errors": 0}

    def add(self, frame: str, rows) -> None:
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            self.rows.setdefault(frame, []).extend(rows)
            if frame == "errors":
                self.counts["errors"] += len(rows)

    def bump(self, event: str, **counts) -> None:
        with self._lock:
            for k, v in counts.items():
                self.counts[k] += v
            snapshot = {"event": event, **self.counts}
        if self._progress is not None:
            self._progress(snapshot)


@dataclass
class Account:
    account_id: str
    clients: aws.Clients | None = None
    principal_arn: str | None = None
    row: dict = field(default_factory=dict)
    regions: list[str] = field(default_factory=list)
    disabled: dict[str, str] = field(default_factory=dict)   # region → reason
    units: list[dict] = field(default_factory=list)          # coverage rows


class Unit:
    """One account × region: its clients, its error rows, its reads."""

    def __init__(self, account: Account, region: str, sink: Sink, recorder: CallRecorder):
        self.account = account
        self.account_id = account.account_id
        self.region = region
        self.sink = sink
        self.recorder = recorder
        self.errors = 0
        self._lock = threading.Lock()

    def ecr(self):
        """A leased ECR client for this account × region (use as a context manager)."""
        return self.account.clients.lease("ecr", self.region)

    def error(self, operation: str, code: str, kind: str, message: str, repository_name=None) -> None:
        with self._lock:
            self.errors += 1
        self.sink.add("errors", [{"account_id": self.account_id, "region": self.region,
                                  "repository_name": repository_name, "operation": operation,
                                  "error_code": code, "error_kind": kind, "message": scrub(message)}])

    def read(self, operation: str, fn, *args, repository_name=None):
        """(status, value) of one read; failures become errors rows.

        A read still throttled after botocore's MAX_ATTEMPTS is tried again, up to
        THROTTLE_ROUNDS rounds in all, after a pause: one long storm on a single call (ecr-facts §2:
        control-plane calls have no published rate) should cost time, not data.
        """
        for round_ in range(1, THROTTLE_ROUNDS + 1):
            try:
                return "present", fn(*args)
            except RECORDABLE as e:
                if is_absent(e):
                    return "absent", None
                code, kind = classify(e)
                if kind == "throttled" and round_ < THROTTLE_ROUNDS:
                    time.sleep(THROTTLE_PAUSE_SECONDS * round_)
                    continue
                self.recorder.failed(self.account_id, self.region, operation)
                self.error(operation, code, kind, message_of(e), repository_name)
                return ("unsupported" if kind == "unsupported" else "unreadable"), None


# -- per account × region -------------------------------------------------------------------

def _presence(status: str, items) -> str:
    return ("present" if items else "absent") if status == "present" else status


def _registry_reads(u: Unit, row: dict) -> list:
    """The registry-level reads of one unit as independent tasks; each fills its part of the
    registries `row` (different keys) and adds its frames' rows."""
    a, r = u.account_id, u.region

    def replication():
        with u.ecr() as ecr:
            status, registry = u.read("DescribeRegistry", reg.get_registry, ecr)
        rules = reg.transform_replication_rules(a, r, registry) if registry else []
        row["replication_status"] = _presence(status, rules)
        u.sink.add("replication_rules", rules)

    def registry_policy():
        with u.ecr() as ecr:
            status, policy = u.read("GetRegistryPolicy", reg.get_registry_policy, ecr)
        row["registry_policy_status"] = status
        if status == "present":
            u.sink.add("registry_policies", [{"account_id": a, "region": r, "policy_text": policy}])

    def settings():
        with u.ecr() as ecr:
            status, row["registry_policy_scope"] = u.read("GetAccountSetting", reg.get_account_setting, ecr,
                                                          "REGISTRY_POLICY_SCOPE")
            if status != "unsupported":  # an endpoint without the operation will not have it for the next name
                _, row["blob_mounting"] = u.read("GetAccountSetting", reg.get_account_setting, ecr, "BLOB_MOUNTING")

    def scanning():
        with u.ecr() as ecr:
            _, config = u.read("GetRegistryScanningConfiguration", reg.get_scanning_configuration, ecr)
        if config is not None:
            row.update(reg.transform_scanning(config))

    def pull_through_cache():
        with u.ecr() as ecr:
            status, rules = u.read("DescribePullThroughCacheRules", reg.get_pull_through_cache_rules, ecr)
        row["pull_through_cache_status"] = _presence(status, rules)
        u.sink.add("pull_through_cache_rules", reg.transform_pull_through_cache_rules(a, r, rules or []))

    def creation_templates():
        with u.ecr() as ecr:
            status, templates = u.read("DescribeRepositoryCreationTemplates", reg.get_creation_templates, ecr)
        row["creation_templates_status"] = _presence(status, templates)
        u.sink.add("creation_templates", reg.transform_creation_templates(a, r, templates or []))

    return [replication, registry_policy, settings, scanning, pull_through_cache, creation_templates]


def _pull_time_exclusions(u: Unit, row: dict) -> tuple[str, list | None]:
    with u.ecr() as ecr:
        status, exclusions = u.read("ListPullTimeUpdateExclusions", reg.get_pull_time_exclusions, ecr)
    row["pull_time_exclusions_status"] = _presence(status, exclusions)
    u.sink.add("pull_time_exclusions", reg.transform_pull_time_exclusions(u.account_id, u.region, exclusions or []))
    return status, exclusions


def manifest_decision(mode: str, principal_arn: str | None, exclusions_status: str, exclusions) -> tuple[bool, bool | None, str]:
    """(read manifests?, is_pull_time_excluded, reason) for one account × region (ecr-facts §0.1)."""
    excluded = None
    if exclusions_status in ("present", "absent"):
        excluded = aws.is_excluded(principal_arn or "", exclusions or [])
    who = principal_arn or "the caller"
    if mode == "never":
        return False, excluded, "read_manifests=never"
    if mode == "always":
        if excluded:
            return True, excluded, "read_manifests=always; principal is excluded from pull-time updates"
        return True, excluded, ("read_manifests=always; principal is not excluded from pull-time updates "
                                "(or that could not be checked): lastRecordedPullTime of read images may have moved")
    if excluded is None:
        return False, None, (f"ListPullTimeUpdateExclusions was {exclusions_status}: cannot tell whether reading "
                             "manifests would update pull times, so they were not read")
    if excluded:
        return True, True, "principal is excluded from pull-time updates"
    return False, False, (f"{who} is not in ListPullTimeUpdateExclusions: BatchGetImage would update "
                          "lastRecordedPullTime, so manifests were not read")


def collect_unit(account: Account, region: str, opts: dict, sink: Sink, recorder: CallRecorder) -> dict:
    u = Unit(account, region, sink, recorder)
    registry_row = {"account_id": account.account_id, "region": region}
    n_images = 0
    manifests_sent = False
    # Every read of the unit shares its `repository_workers` threads, so at most that many calls
    # are in flight per account × region (ECR's throttling scope). The registry reads depend on
    # nothing, so they run beside the repositories' reads instead of before them (at 50 ms per
    # call that prefix was 9 calls long); only BatchGetImage waits for the manifest decision,
    # which needs ListPullTimeUpdateExclusions — submitted first, so no waiting task can starve it.
    with ThreadPoolExecutor(max_workers=max(1, opts["repository_workers"]),
                            thread_name_prefix=f"ecr-{account.account_id}-{region}") as pool:
        seen = pool.submit(_pull_time_exclusions, u, registry_row)

        @functools.cache
        def decision():
            return manifest_decision(opts["read_manifests"], account.principal_arn, *seen.result())

        def describe_repositories():
            with u.ecr() as ecr:
                return u.read("DescribeRepositories", repos.get_repositories, ecr)

        listed = pool.submit(describe_repositories)
        registry = [pool.submit(task) for task in _registry_reads(u, registry_row)]
        status, repositories = listed.result()
        repositories = repositories or []
        sink.bump("repositories", repositories=len(repositories))
        # Each repository's reads are four tasks (policy, lifecycle policy, tags, and images then
        # manifests), so the unit's workers stay busy to the end instead of idling behind the
        # last few repositories' five-call chains.
        repo_rows, reads, images = [], [], []
        for repo in repositories:
            row = repos.transform_repository(u.account_id, u.region, repo)
            repo_rows.append(row)
            reads += [pool.submit(fn, u, row) for fn in REPOSITORY_READS]
            images.append(pool.submit(_repository_images, u, row, lambda: decision()[0]))
        for f in images:
            n, sent = f.result()
            n_images += n
            manifests_sent |= sent
        for f in reads + registry:
            f.result()
        read, excluded, reason = decision()
    sink.add("repositories", repo_rows)
    sink.add("registries", [registry_row])
    if read and not manifests_sent:
        reason += " (no pullable images to read)"
    if status != "present":
        unit_status, why = "failed", "repositories could not be listed"
    elif u.errors:
        unit_status, why = "partial", f"{u.errors} failed reads (see errors)"
    else:
        unit_status, why = "complete", None
    if unit_status == "failed" and u.errors:
        why = f"{why}; {u.errors} failed reads (see errors)"
    row = {"account_id": account.account_id, "region": region, "status": unit_status, "reason": why,
           "principal_arn": account.principal_arn, "is_pull_time_excluded": excluded,
           "manifest_mode": opts["read_manifests"], "manifests_read": manifests_sent, "manifests_reason": reason,
           "repositories": len(repositories), "images": n_images, "errors": u.errors}
    sink.bump("unit_done", units_done=1)
    return row


def _repository_policy(u: Unit, row: dict) -> None:
    name = row["repository_name"]
    with u.ecr() as ecr:
        row["policy_status"], policy = u.read("GetRepositoryPolicy", repos.get_repository_policy, ecr, name,
                                              repository_name=name)
    if policy is not None:
        u.sink.add("repository_policies", [{"account_id": u.account_id, "region": u.region,
                                            "repository_name": name, "policy_text": policy}])


def _lifecycle_policy(u: Unit, row: dict) -> None:
    name = row["repository_name"]
    with u.ecr() as ecr:
        row["lifecycle_policy_status"], lifecycle = u.read("GetLifecyclePolicy", repos.get_lifecycle_policy, ecr,
                                                           name, repository_name=name)
    if lifecycle is not None:
        u.sink.add("lifecycle_policies", [repos.transform_lifecycle_policy(u.account_id, u.region, name, lifecycle)])


def _repository_tags(u: Unit, row: dict) -> None:
    name = row["repository_name"]
    with u.ecr() as ecr:
        status, tags = u.read("ListTagsForResource", repos.get_repository_tags, ecr, row["repository_arn"],
                              repository_name=name)
    row["tags_status"] = _presence(status, tags)
    u.sink.add("repository_tags", repos.transform_tags(u.account_id, u.region, name, tags or []))


REPOSITORY_READS = (_repository_policy, _lifecycle_policy, _repository_tags)


def _repository_images(u: Unit, row: dict, read_manifests) -> tuple[int, bool]:
    """DescribeImages, then BatchGetImage when `read_manifests()`; returns (images described,
    BatchGetImage sent). Fills the images and manifests statuses of the repository `row`."""
    a, r, name = u.account_id, u.region, row["repository_name"]
    with u.ecr() as ecr:
        status, details = u.read("DescribeImages", img.get_images, ecr, name, repository_name=name)
        details = details or []
        row["images_status"] = _presence(status, details)
        images, image_tags = img.transform_images(a, r, name, details)
        edges = img.subject_edges(a, r, name, details)
        sent = False
        if not details:
            row["manifests_status"] = "absent" if status == "present" else "unreadable"
        elif not read_manifests():
            row["manifests_status"] = "skipped"
            for i in images:
                i["manifest_status"] = "skipped"
        else:
            sent, layers, manifest_edges = _read_manifests(u, ecr, name, details, images)
            edges = manifest_edges + edges  # manifest edges first: they carry media types
            u.sink.add("layers", layers)
            st = {i["manifest_status"] for i in images}
            row["manifests_status"] = ("unreadable" if "unreadable" in st else
                                       "present" if st & {"present", "invalid"} else "skipped")
    u.sink.add("images", images)
    u.sink.add("image_tags", image_tags)
    u.sink.add("manifest_references", edges)
    u.sink.bump("repository_done", images=len(images))
    return len(images), sent


def _read_manifests(u: Unit, ecr, name: str, details: list[dict], images: list[dict]):
    """BatchGetImage in batches of 100; sets manifest fields on `images` rows in place."""
    by_digest = {i["image_digest"]: i for i in images}
    wanted = []
    for d in details:
        if d.get("imageStatus") in img.UNPULLABLE:
            by_digest[d["imageDigest"]]["manifest_status"] = "skipped"
        else:
            wanted.append(d["imageDigest"])
    wanted = list(dict.fromkeys(wanted))
    layers, edges, sent = [], [], False
    base = {"account_id": u.account_id, "region": u.region, "repository_name": name}
    for start in range(0, len(wanted), img.BATCH):
        batch = wanted[start:start + img.BATCH]
        sent = True
        status, answer = u.read("BatchGetImage", img.get_manifests, ecr, name, batch, repository_name=name)
        if answer is None:
            for d in batch:
                by_digest[d]["manifest_status"] = "unreadable"
            continue
        got, failures = answer
        answered = set()
        for f in failures:
            digest = (f.get("imageId") or {}).get("imageDigest")
            code = f.get("failureCode") or "Unknown"
            u.error("BatchGetImage", code, _FAILURE_KINDS.get(code, "error"),
                    f"{digest}: {f.get('failureReason') or ''}", name)
            if digest in by_digest:
                by_digest[digest]["manifest_status"] = "unreadable"
                answered.add(digest)
        for m in got:
            digest = (m.get("imageId") or {}).get("imageDigest")
            if digest not in by_digest or digest in answered:
                continue
            answered.add(digest)
            parsed = parse_manifest(digest, m.get("imageManifest"), m.get("imageManifestMediaType"))
            row = by_digest[digest]
            row["manifest_status"] = parsed.status
            row["manifest_size_bytes"] = parsed.size_bytes
            if parsed.status != "present":
                u.error("BatchGetImage", "InvalidManifest", "invalid_data", f"{digest}: {parsed.problem}", name)
                continue
            row["config_media_type"] = parsed.config_media_type
            row["artifact_type"] = parsed.artifact_type
            layers.extend({**base, **layer} for layer in parsed.layers)
            edges.extend({**base, **edge} for edge in parsed.edges)
        for d in batch:
            if d not in answered:
                by_digest[d]["manifest_status"] = "unreadable"
                u.error("BatchGetImage", "MissingFromAnswer", "error",
                        f"{d}: neither a manifest nor a failure was returned", name)
    return sent, layers, edges


# -- accounts -------------------------------------------------------------------------------

def _account_row(account_id: str, **fields) -> dict:
    return {"account_id": account_id, "account_name": None, "email": None, "state": None, "ou_path": None,
            "collection_status": "failed", "skip_reason": None, "principal_arn": None, **fields}


def _caller_error(sink: Sink, operation: str, exc, account_id="", region=None) -> None:
    code, kind = classify(exc)
    sink.add("errors", [{"account_id": account_id, "region": region, "repository_name": None,
                         "operation": operation, "error_code": code, "error_kind": kind,
                         "message": message_of(exc)}])


def _normalize_ids(ids) -> list[str]:
    out = []
    for x in ids:
        s = str(x).strip()
        if not _ACCOUNT_ID.match(s):
            raise ValueError(f"not a 12-digit account id: {s!r} (pass ids as strings; they can start with 0)")
        out.append(s)
    return list(dict.fromkeys(out))


def discover_accounts(caller_clients: aws.Clients, caller_account: str, org: bool, accounts, sink: Sink,
                      recorder: CallRecorder, region: str, background: ThreadPoolExecutor):
    """(account rows to collect (state ACTIVE) or skip, the organization meta or None, the OU
    walk still running in `background` or None: pass it to `_finish_ou_paths`)."""
    wanted = _normalize_ids(accounts) if accounts is not None else None
    if not org:
        ids = wanted if wanted is not None else [caller_account]
        return [_account_row(i, collection_status="pending") for i in ids], None, None
    with caller_clients.lease("organizations", region) as client:
        return _discover_org(client, wanted, sink, recorder, region, background)


def _discover_org(client, wanted, sink: Sink, recorder: CallRecorder, region: str, background):
    meta = {"id": None, "management_account_id": None, "account_ids": []}
    try:
        o = aws.get_organization(client)
        meta["id"], meta["management_account_id"] = o.get("Id"), str(o.get("MasterAccountId") or "") or None
    except RECORDABLE as e:
        recorder.failed("", region, "DescribeOrganization")
        _caller_error(sink, "DescribeOrganization", e)
    try:
        listed = aws.get_org_accounts(client)
    except RECORDABLE as e:
        recorder.failed("", region, "ListAccounts")
        _caller_error(sink, "ListAccounts", e)
        return [], meta, None
    meta["account_ids"] = sorted(str(a["Id"]) for a in listed)
    paths = {str(a["Id"]): aws.ou_path_from_paths(a.get("Paths"), str(a["Id"])) for a in listed}
    rows = []
    for a in listed:
        i = str(a["Id"])
        if wanted is not None and i not in wanted:
            continue
        # `Status` is being retired (ecr-facts §7): use `State`.
        state = a.get("State")
        row = _account_row(i, account_name=a.get("Name"), email=a.get("Email"), state=state,
                           ou_path=paths.get(i), collection_status="pending")
        if state != "ACTIVE":
            row.update(collection_status="skipped", skip_reason=f"account State is {state}")
        rows.append(row)
    for i in wanted or []:
        if i not in meta["account_ids"]:
            rows.append(_account_row(i, skip_reason="not an account of the organization"))
    walk = None
    if any(p is None for p in paths.values()):
        # Only OU paths need the walk (one call per OU and page, one after another): it runs
        # beside the collection and fills `ou_path` when it ends (`_finish_ou_paths`).
        walk = background.submit(aws.get_ou_paths, client)
    return rows, meta, walk


def _finish_ou_paths(rows: list[dict], walk, sink: Sink) -> None:
    if walk is None:
        return
    try:
        walked = walk.result()
    except RECORDABLE as e:
        _caller_error(sink, "ListOrganizationalUnitsForParent", e)
        return
    for row in rows:
        if row.get("ou_path") is None:
            row["ou_path"] = walked.get(row["account_id"])


def prepare_account(row: dict, caller, caller_arn: str, caller_account: str, opts: dict,
                    sink: Sink, recorder: CallRecorder, ecr_regions: set[str]) -> Account:
    """Credentials, principal and regions for one account (errors rows on failure)."""
    acct = Account(row["account_id"], row=row)
    config = aws.client_config(max_pool_connections=max(10, opts["repository_workers"] + 2))
    partition = aws.partition_of(caller_arn)
    if acct.account_id == caller_account:
        session, acct.principal_arn = caller, caller_arn
    else:
        if not opts["role_name"]:
            row.update(collection_status="failed", skip_reason="no role_name given to reach this account")
            sink.add("errors", [{"account_id": acct.account_id, "operation": "AssumeRole",
                                 "error_code": "NoRoleName", "error_kind": "access_denied",
                                 "message": "role_name is required to collect accounts other than the caller's"}])
            return acct
        try:
            session, acct.principal_arn = aws.assume_role(
                caller, acct.account_id, opts["role_name"], partition=partition,
                external_id=opts["external_id"], recorder=recorder, config=config)
        except RECORDABLE as e:
            recorder.failed("", caller.region_name or aws.GLOBAL_REGION, "AssumeRole")
            _caller_error(sink, "AssumeRole", e, account_id=acct.account_id)
            row.update(collection_status="failed", skip_reason="could not assume the audit role")
            return acct
    row["principal_arn"] = acct.principal_arn
    acct.clients = aws.Clients(session, acct.account_id, recorder, config)
    home = caller.region_name or aws.GLOBAL_REGION
    try:
        listed = acct.clients.call("ec2", home, aws.get_regions)
        enabled = aws.enabled_regions(listed)
        known = {x["RegionName"] for x in listed}
    except RECORDABLE as e:
        recorder.failed(acct.account_id, home, "DescribeRegions")
        _caller_error(sink, "DescribeRegions", e, account_id=acct.account_id, region=home)
        if opts["regions"] == "all":
            row.update(collection_status="failed", skip_reason="could not list the account's enabled regions")
            return acct
        enabled = known = None  # explicit list: try each region; failures show per region
    if opts["regions"] == "all":
        acct.regions = sorted(enabled & ecr_regions)
    else:
        for region in opts["regions"]:
            if enabled is None or region in enabled:
                acct.regions.append(region)
            else:
                acct.disabled[region] = ("region is not enabled in this account" if region in known
                                         else "unknown region")
    return acct


def collect(session=None, *, profile=None, org=False, accounts=None, role_name=None, external_id=None,
            regions="all", read_manifests="auto", max_workers=8, repository_workers=4, progress=None) -> Inventory:
    """Collect ECR from the caller's account, listed accounts or the whole organization.

    session: the caller's boto3.Session (default: boto3.Session(profile_name=profile)).
    org: list accounts with Organizations (management account or delegated administrator).
    accounts: account ids to collect (with org=True: a subset of the organization).
    role_name / external_id: role assumed in every account other than the caller's.
    regions: "all" (enabled regions with an ECR endpoint) or a list of region codes.
    read_manifests: auto | always | never (ecr-facts §0.1; see `manifest_decision`).
    progress: callable(event dict) or None (see `StderrProgress`).
    """
    if read_manifests not in MANIFEST_MODES:
        raise ValueError(f"read_manifests must be one of {MANIFEST_MODES}, got {read_manifests!r}")
    if regions != "all":
        if isinstance(regions, str):
            regions = [regions]
        regions = list(dict.fromkeys(str(r) for r in regions))
    if session is None:
        session = aws.default_session(profile)
    opts = {"read_manifests": read_manifests, "role_name": role_name, "external_id": external_id,
            "regions": regions, "repository_workers": repository_workers}
    collected_at = datetime.now(timezone.utc)
    recorder = CallRecorder()
    sink = Sink(progress)
    home = session.region_name or aws.GLOBAL_REGION

    caller_clients = aws.Clients(session, "", recorder)
    # The caller's own identity is not optional: without it nothing can be attributed. Let it raise.
    ident = caller_clients.call("sts", session.region_name, lambda sts: sts.get_caller_identity())
    caller_arn, caller_account = ident["Arn"], str(ident["Account"])

    # The OU walk runs in `background` beside the collection (see `_discover_org`).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="ecr-org") as background:
        rows, org_meta, ou_walk = discover_accounts(caller_clients, caller_account, org, accounts, sink, recorder, home,
                                                    background)
        ecr_regions = aws.ecr_regions(session, aws.partition_of(caller_arn))
        pending = [r for r in rows if r["collection_status"] == "pending"]
        prepared, units = [None] * len(pending), []
        # An account's units start as soon as it is prepared (AssumeRole, DescribeRegions), not
        # after every account is: with thousands of accounts that barrier was minutes long.
        with ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="ecr-unit") as unit_pool, \
                ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="ecr-account") as acct_pool:
            position = {acct_pool.submit(prepare_account, r, session, caller_arn, caller_account, opts, sink,
                                         recorder, ecr_regions): i for i, r in enumerate(pending)}
            for ready in as_completed(position):
                acct = prepared[position[ready]] = ready.result()
                for region, why in acct.disabled.items():
                    sink.add("errors", [{"account_id": acct.account_id, "region": region,
                                         "operation": "DescribeRegions", "error_code": "RegionDisabled",
                                         "error_kind": "disabled_region", "message": why}])
                    acct.units.append({"account_id": acct.account_id, "region": region, "status": "disabled",
                                       "reason": why, "principal_arn": acct.principal_arn,
                                       "manifest_mode": read_manifests, "manifests_read": False,
                                       "manifests_reason": "region not collected", "errors": 1})
                if acct.clients is None or acct.row["collection_status"] != "pending":
                    continue
                sink.bump("start", units_total=len(acct.regions))
                units += [(acct, unit_pool.submit(collect_unit, acct, region, opts, sink, recorder))
                          for region in acct.regions]
            for acct, unit in units:
                acct.units.append(unit.result())
        for acct in prepared:
            if acct.row["collection_status"] != "pending":
                continue
            statuses = {u["status"] for u in acct.units}
            if statuses and statuses <= {"failed", "disabled"}:
                acct.row.update(collection_status="failed", skip_reason="no region could be collected")
            elif statuses - {"complete"}:
                acct.row.update(collection_status="partial", skip_reason="some regions were not fully read")
            else:
                acct.row["collection_status"] = "collected"
        _finish_ou_paths(rows, ou_walk, sink)
        sink.add("accounts", rows)
        sink.add("coverage", [u for a in prepared for u in a.units])
        sink.bump("done")
        return _inventory(sink, recorder, rows, prepared, org_meta, opts, org, accounts, session,
                          {"arn": caller_arn, "account_id": caller_account}, collected_at)


def _inventory(sink, recorder, rows, prepared, org_meta, opts, org, accounts, session, caller, collected_at):
    frames = {name: pd.DataFrame.from_records(r) for name, r in sink.rows.items()}
    tags = frames.get("image_tags")
    edges = frames.get("manifest_references", pd.DataFrame())
    if tags is not None and len(tags):
        edges = pd.concat([edges, cosign_edges(tags)], ignore_index=True)
    if len(edges):
        edges = edges.drop_duplicates(["account_id", "region", "repository_name", "source_digest",
                                       "target_digest", "kind"], keep="first")
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
        "options": {"read_manifests": opts["read_manifests"], "role_name": opts["role_name"],
                    "regions": opts["regions"],
                    "account_source": "organization" if org else "list" if accounts is not None else "caller"},
        "completeness": completeness,
    }
    return Inventory(frames=frames, meta=meta)
