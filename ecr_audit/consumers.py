"""Which images are in use, by whom, across accounts: consumer references resolved to images.

`references(inv)`: each row of the `consumers` frame resolved to an image of the inventory
(`resolution`):
  digest               the consumer pinned a digest (`@sha256:…`) and the image is there
  resolved_by_service  the service reported the digest it resolved (ECS, Lambda, SageMaker,
                       EMR Serverless, Inspector) and the image is there
  tag_now              only a tag: resolved by the tag's *current* digest (it may have moved since
                       the consumer deployed; a service that pins digests has its own rows)
  not_found            the repository's images were read, but the digest or tag is not there
                       (nor the repository, in a registry read in full): the next deployment,
                       scale-out or job submit fails
  outside_inventory    not a private ECR image (Docker Hub, public.ecr.aws, an AWS-owned
                       registry), or a registry or repository whose images were not read
  unparseable          not an image reference at all (any text: it comes from other teams)

`in_use(inv)`: one row per image, `in_use` yes | no | unknown (docs/consumers.md#in-use):
- yes: a reference resolves to it, or to an image of its unit. An index in use keeps its children
  and attachments (signatures, referrers, attestations) in use; a child in use keeps the indexes
  listing it in use (and so their other children: the unit is pulled together).
- unknown: a consumer kind that could reach the image was not read (`reach` below), or the image
  is untagged in a repository whose index → child edges were not read while an index of it is in
  use (it may be that index's child). Never "no" because something could not be looked at.
- no: none of the consumers read names it, and every kind in its reach was read. Kinds the audit
  does not read (Kubernetes outside Inspector, Step Functions, ...) are not in any reach: "no"
  means "no consumer among those read" (docs/consumers.md#what-is-not-read).

Reach (who could reference an image of account A, region R, repository P):
- accounts: A itself; every account a pull grant names (`access.grants` with can_pull, on P or on
  the registry A × R): an account or principal grantee → its account; an organization grantee →
  every account of the organization. Accounts that cannot run workloads (SUSPENDED, closed) are
  left out. An account outside the collection (an external grantee, an organization account that
  was not collected), a public grant, a service principal tied to no account, or a policy that could
  not be read make "no" impossible: those images are `unknown`, with the reason.
- kinds per reach account: ecs, batch, apprunner, sagemaker, emr_serverless, codebuild in every
  collected region of the account (they can pull across regions); lambda only in R (a function's
  image must be in its region); inspector in A × R (it reports the registry's own images, whoever
  runs them). CloudTrail is evidence, never required: it can only add a `yes`.
- read: consumer_coverage status complete, or not_offered (the service has no endpoint there), or
  for inspector disabled (ECR scanning is off: there is nothing Inspector could say). Anything
  else (partial, unreadable, unsupported, skipped, no row at all) leaves the kind unread.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from . import access, ecr, images
from .keys import keys, tag_rows
from .schema import IMAGE_KEY, REPO_KEY

RESOLUTIONS = ("digest", "resolved_by_service", "tag_now", "not_found", "outside_inventory", "unparseable")
IN_USE = ("yes", "no", "unknown")

# consumers.consumer_kind → the collection kind of consumer_coverage that reads it
COLLECTION_KIND = {
    "ecs_service_revision": "ecs",
    "ecs_service_deployment": "ecs",
    "ecs_task": "ecs",
    "ecs_task_definition": "ecs",
    "lambda_version": "lambda",
    "batch_job_definition": "batch",
    "apprunner_service": "apprunner",
    "sagemaker_endpoint": "sagemaker",
    "sagemaker_model": "sagemaker",
    "emr_serverless_application": "emr_serverless",
    "codebuild_project": "codebuild",
    "inspector_ecs": "inspector",
    "inspector_eks": "inspector",
    "inspector_in_use": "inspector",
    "cloudtrail_pull": "cloudtrail",
}
CROSS_REGION_KINDS = ("ecs", "batch", "apprunner", "sagemaker", "emr_serverless", "codebuild")
SAME_REGION_KINDS = ("lambda",)  # docs/consumers.md#lambda: the image must be in the function's region
REGISTRY_KINDS = ("inspector",)  # read in the registry's own account × region
REQUIRED_KINDS = CROSS_REGION_KINDS + SAME_REGION_KINDS + REGISTRY_KINDS
READ_STATUSES = {"complete", "not_offered"}
READ_STATUSES_BY_KIND = {"inspector": {"complete", "not_offered", "disabled"}}
# Organizations states of accounts that run nothing (docs/consumers.md#reach).
INACTIVE_ACCOUNT_STATES = {"SUSPENDED", "PENDING_CLOSURE", "CLOSED"}
ROLE_ORDER = ("running", "deployed", "rollback", "defined", "observed")

REFERENCE_COLUMNS = ["resolution", "resolution_reason", "resolved_digest"]
IN_USE_COLUMNS = IMAGE_KEY + [
    "in_use",
    "consumers",
    "consumer_kinds",
    "consumer_accounts",
    "consumer_names",
    "is_cross_account",
    "is_running",
    "last_in_use_at",
    "in_use_via_digest",
    "unknown_reason",
]

# The Docker reference grammar (distribution/reference), to tell "an image elsewhere" from "not an
# image reference at all": [host[:port]/]path[:tag][@algorithm:hex].
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_DOCKER_REFERENCE = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
    r"(?::[0-9]+)?/)?" + _COMPONENT + r"(?:/" + _COMPONENT + r")*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,})?",
    re.ASCII,
)


def is_image_reference(text) -> bool:
    """Whether `text` is an image reference of any registry (Docker's grammar). Never raises."""
    return (
        isinstance(text, str)
        and 0 < len(text) <= ecr.MAX_IMAGE_URI
        and bool(_DOCKER_REFERENCE.fullmatch(text))
    )


# --------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------


def references(inv) -> pd.DataFrame:
    """Every consumer reference with `resolution`, `resolution_reason` and `resolved_digest` (the
    inventory image it names, or null). Row order and index follow inv.consumers."""
    return _references(inv)[0].copy()


def _references(inv) -> tuple[pd.DataFrame, np.ndarray]:
    """(references, row in inv.images of each reference: -1 none), cached on the Inventory."""
    return inv.cached("consumers.references", lambda: _compute_references(inv))


def _collected_registries(inv) -> pd.DataFrame:
    """account × region → the registry was read in full (is_complete) or in part."""
    cov = inv.coverage
    cov = cov[cov["status"].isin(["complete", "partial"])]
    return cov[["account_id", "region"]].assign(is_complete=cov["status"].eq("complete").to_numpy())


def _compute_references(inv) -> tuple[pd.DataFrame, np.ndarray]:
    c = inv.consumers.reset_index(drop=True)
    n = len(c)
    res = np.full(n, "", dtype=object)
    why = np.full(n, "", dtype=object)
    row = np.full(n, -1, np.int64)
    if not n:
        out = c.assign(resolution=pd.Series(dtype="str"), resolution_reason=pd.Series(dtype="str"))
        return out.assign(resolved_digest=pd.Series(dtype="str")), row
    is_ecr = (c["is_ecr_private"].fillna(False).astype(bool) & c["account_id"].notna()).to_numpy()
    # Not private ECR: an image elsewhere, or not an image reference at all.
    other = ~is_ecr
    if other.any():
        ref_ok = c.loc[other, "image_uri"].map(is_image_reference).to_numpy(dtype=bool)
        res[other] = np.where(ref_ok, "outside_inventory", "unparseable")
        why[other] = np.where(ref_ok, "not a private ECR image", "not an image reference")
    e = c[is_ecr]
    pos = np.flatnonzero(is_ecr)
    reg = e[["account_id", "region"]].merge(
        _collected_registries(inv), on=["account_id", "region"], how="left"
    )
    reg_known = reg["is_complete"].notna().to_numpy()
    reg_complete = reg["is_complete"].fillna(False).astype(bool).to_numpy()
    repos = inv.repositories[REPO_KEY + ["images_status"]].drop_duplicates(REPO_KEY)
    rs = e[REPO_KEY].merge(repos, on=REPO_KEY, how="left")["images_status"]
    repo_read = rs.isin(["present", "absent"]).to_numpy()
    repo_listed = rs.notna().to_numpy()
    k = keys(inv)
    digest = e["image_digest"]
    by_digest = k.rows(e, digest) if len(e) else np.zeros(0, np.int64)
    by_tag = _tag_rows(inv, e)
    has_digest = digest.notna().to_numpy()
    has_tag = e["image_tag"].notna().to_numpy()
    found = np.where(has_digest, by_digest, by_tag)
    kind = np.select(
        [
            ~reg_known,
            repo_listed & ~repo_read,
            ~repo_listed & ~reg_complete,
            found >= 0,
        ],
        ["outside_inventory", "outside_inventory", "outside_inventory", "found"],
        default="not_found",
    )
    written = (e["digest_source"] == "written").fillna(False).to_numpy()
    res_e = np.where(
        kind == "found",
        np.where(has_digest, np.where(written, "digest", "resolved_by_service"), "tag_now"),
        kind,
    )
    why_e = np.select(
        [
            ~reg_known,
            repo_listed & ~repo_read,
            ~repo_listed & ~reg_complete,
            (kind == "not_found") & ~repo_listed,
            (kind == "not_found") & has_digest,
            (kind == "not_found") & has_tag,
            kind == "not_found",
        ],
        [
            "the registry (account × region) was not collected",
            "the repository's images could not be read",
            "the repository is not listed, and the registry was read only in part",
            "no such repository",
            "no image with this digest in the repository",
            "no image with this tag in the repository",
            "the written digest is not a sha256 digest ECR can hold",
        ],
        default="",
    )
    res[pos], why[pos] = res_e, why_e
    row[pos] = np.where(kind == "found", found, -1)
    out = c.copy()
    out["resolution"] = pd.Series(res, dtype="str")
    out["resolution_reason"] = pd.Series(why, dtype="str")
    dig = inv.images["image_digest"].to_numpy(dtype=object)
    resolved = np.full(n, None, dtype=object)
    resolved[row >= 0] = dig[row[row >= 0]]
    out["resolved_digest"] = pd.Series(resolved, dtype="str")
    return out, row


def _tag_rows(inv, refs: pd.DataFrame) -> np.ndarray:
    """Row in inv.images of the image each reference's tag names now (-1: none, or no tag)."""
    out = np.full(len(refs), -1, np.int64)
    tagged = refs["image_tag"].notna().to_numpy()
    rows, flat = tag_rows(inv)
    if not tagged.any() or not len(rows):
        return out
    k = keys(inv)
    have = pd.DataFrame({"_repo": k.image_repo[rows], "tag": flat.to_pandas(), "_row": rows})
    q = pd.DataFrame(
        {"_repo": k.repo_ids(refs[tagged]), "tag": refs.loc[tagged, "image_tag"].astype(str).to_numpy()}
    )
    m = q.merge(have.drop_duplicates(["_repo", "tag"]), on=["_repo", "tag"], how="left")
    out[tagged] = m["_row"].fillna(-1).astype(np.int64).to_numpy()
    return out


# --------------------------------------------------------------------------------------------
# reach and coverage
# --------------------------------------------------------------------------------------------


def _reach(inv) -> _Reach:
    """One `_Reach` per inventory (in-use and unused grants both ask; its memo is shared too)."""
    return inv.cached("consumers.reach", lambda: _Reach(inv))


class _Reach:
    """Whether every consumer kind that could reach an image was read, per registry and grant."""

    def __init__(self, inv):
        cc = inv.consumer_coverage
        self.read: set[tuple[str, str, str]] = set()
        for kind, grp in cc.groupby("consumer_kind", observed=True):
            ok = READ_STATUSES_BY_KIND.get(kind, READ_STATUSES)
            g = grp[grp["status"].isin(ok)]
            self.read |= {(a, r, kind) for a, r in zip(g["consumer_account_id"], g["consumer_region"])}
        self.any_read = bool(len(cc)) and bool((cc["status"] != "skipped").any())
        cov = inv.coverage
        cov = cov[cov["status"] != "disabled"]  # a region not enabled runs nothing
        pairs = pd.concat(
            [
                cov[["account_id", "region"]],
                cc[["consumer_account_id", "consumer_region"]].set_axis(["account_id", "region"], axis=1),
            ]
        ).astype(str)
        self.regions: dict[str, list[str]] = {
            a: sorted(set(g["region"])) for a, g in pairs.groupby("account_id", observed=True)
        }
        acc = inv.accounts
        self.inactive = set(acc.loc[acc["state"].isin(INACTIVE_ACCOUNT_STATES), "account_id"])
        collected = acc["collection_status"].isin(["collected", "partial"])
        self.collected = set(acc.loc[collected, "account_id"]) | set(self.regions)
        self.org_accounts = set(inv.org_account_ids) or set(acc["account_id"])
        self._memo: dict[tuple, str] = {}

    def grantee(self, owner: str, region: str, grantee: str) -> str:
        """ "" when every kind of `grantee` (an account, or ORGANIZATION: each account of it) that
        could reach an image of `owner` in `region` was read, else why not."""
        accounts = sorted(self.org_accounts) if grantee == ORGANIZATION else [grantee]
        for a in accounts:
            why = "" if a == owner else self.account(a, region, own=False)
            if why:
                return why
        return ""

    def account(self, account: str, region: str, own: bool) -> str:
        """ "" when every kind that could reach an image in `region` from `account` was read, else why not."""
        key = (account, region, own)
        if key in self._memo:
            return self._memo[key]
        if account in self.inactive:
            why = ""
        elif account not in self.collected or not self.regions.get(account):
            why = f"account {account} was not collected: its consumers are unknown"
        else:
            need = [(account, r, k) for r in self.regions[account] for k in CROSS_REGION_KINDS]
            need += [(account, region, k) for k in SAME_REGION_KINDS]
            if own:
                need += [(account, region, k) for k in REGISTRY_KINDS]
            missing = sorted({(k, r) for a, r, k in need if (a, r, k) not in self.read})
            why = ""
            if missing:
                shown = ", ".join(f"{k} in {r}" for k, r in missing[:4]) + (" …" if len(missing) > 4 else "")
                why = f"consumers not read in account {account}: {shown}"
        self._memo[key] = why
        return why


ORGANIZATION = "organization"  # reach_account_id of an organization grantee: every account of it


def _grant_reach(grants: pd.DataFrame) -> pd.DataFrame:
    """Pull grants → (account_id, region, repository_name ("" = registry), reach_account_id —
    an account, or ORGANIZATION — or the reason it leaves the collection)."""
    g = grants[
        grants["can_pull"].fillna(True).astype(bool) & grants["scope"].isin(["repository", "registry"])
    ]
    rows = []
    for r in g.itertuples(index=False):
        base = (r.account_id, r.region, r.repository_name if r.scope == "repository" else "")
        if r.exposure == "account":
            continue
        if r.exposure == "undetermined":
            rows.append((*base, None, "who the policy lets pull is undetermined (it could not be read)"))
        elif r.exposure == "public":
            rows.append((*base, None, "a public grant lets any account pull: their consumers cannot be read"))
        elif r.grantee_kind == "org" and r.exposure == "org":
            rows.append((*base, ORGANIZATION, ""))  # every account of the organization
        elif isinstance(r.grantee_account_id, str) and r.grantee_account_id:
            if r.exposure == "external":
                rows.append(
                    (
                        *base,
                        None,
                        f"a grant lets account {r.grantee_account_id} (outside the organization) pull",
                    )
                )
            else:
                rows.append((*base, r.grantee_account_id, ""))
        else:
            rows.append((*base, None, f"a grant lets {r.grantee} pull (not tied to an account)"))
    return pd.DataFrame(rows, columns=REPO_KEY + ["reach_account_id", "reason"])


def _repository_unknown(inv) -> pd.DataFrame:
    """Per repository with images: why its images' in-use cannot be "no" ("" when it can)."""
    k = keys(inv)
    repos = k.repos[REPO_KEY].copy()
    if not len(repos):
        return repos.assign(unknown_reason=pd.Series(dtype="str"))
    reach = _reach(inv)
    if not reach.any_read:
        return repos.assign(
            unknown_reason="consumers were not read (--consumers none, or a snapshot without them)"
        )
    acc, reg, name = (repos[c].tolist() for c in REPO_KEY)
    own = {(a, r): reach.account(a, r, own=True) for a, r in set(zip(acc, reg))}
    reason = np.array([own[(a, r)] for a, r in zip(acc, reg)], dtype=object)
    on_repo, on_registry = _grant_unknown(inv)
    if on_repo or on_registry:
        extra = [on_repo.get(key) or on_registry.get(key[:2]) or "" for key in zip(acc, reg, name)]
        reason = np.where(reason == "", np.array(extra, dtype=object), reason)
    return repos.assign(unknown_reason=pd.Series(reason, dtype="str"))


def _grant_unknown(inv) -> tuple[dict, dict]:
    """Why a grant makes in-use unknowable, by repository (REPO_KEY tuple → reason) and by
    registry ((account, region) → reason, from registry-policy grants); cached per inventory
    apart from the images (`reuse`: the policies and consumers of a history rarely change)."""

    def compute():
        gr = _grant_reach(access.grants(inv))
        if not len(gr):
            return {}, {}
        reach = _reach(inv)
        # one answer per owner × region × grantee, however many repositories carry the grant
        pairs = gr[["account_id", "region", "reach_account_id", "reason"]].drop_duplicates()
        pairs["_why"] = [
            why or reach.grantee(a, reg, acc)
            for a, reg, acc, why in zip(
                pairs["account_id"], pairs["region"], pairs["reach_account_id"], pairs["reason"]
            )
        ]
        gr = gr.merge(pairs, on=["account_id", "region", "reach_account_id", "reason"])
        gr = gr.assign(reason=gr["_why"]).drop(columns="_why")
        gr = gr[gr["reason"] != ""].drop_duplicates(REPO_KEY)
        on_repo, on_registry = {}, {}
        for a, r, n, why in zip(*(gr[c].tolist() for c in [*REPO_KEY, "reason"])):
            if n == "":
                on_registry[(a, r)] = why
            else:
                on_repo[(a, r, n)] = why
        return on_repo, on_registry

    return inv.cached("consumers.grant_unknown", compute)


# --------------------------------------------------------------------------------------------
# in use
# --------------------------------------------------------------------------------------------


def in_use(inv) -> pd.DataFrame:
    """One row per image of inv.images (same order): in_use yes | no | unknown and who uses it.

    consumers: references that name the image (or, for an image in use through its unit, the
    image `in_use_via_digest` names); consumer_kinds / consumer_accounts: sorted lists;
    consumer_names: "name (account, kind)" text, the first few; is_running: true when one of
    them runs it now, false when none does, null when unknown; last_in_use_at: the newest time a
    consumer was seen using it; unknown_reason: why in_use is unknown (empty otherwise).
    """
    return _in_use(inv).copy()


def in_use_by_row(inv) -> pd.DataFrame:
    """`in_use(inv)` without the copy (cached; row i is inv.images row i): read it, never change it."""
    return _in_use(inv)


def _in_use(inv) -> pd.DataFrame:
    return inv.cached("consumers.in_use", lambda: _compute_in_use(inv))


def _compute_in_use(inv) -> pd.DataFrame:
    im = inv.images.reset_index(drop=True)
    n = len(im)
    refs, row = _references(inv)
    hit = row >= 0
    r = refs[hit].assign(_row=row[hit])
    # Direct aggregates per image named by a reference.
    direct = np.zeros(n, bool)
    direct[r["_row"].to_numpy()] = True
    agg = _aggregate(r, im)
    # The unit: a child in use keeps its indexes; everything a used image keeps is in use.
    via = np.full(n, -1, np.int64)
    via[direct] = np.flatnonzero(direct)
    parent, child = images.index_child_edges(inv)
    up = direct[child] & ~direct[parent]
    # A runtime reports the platform child it runs, not the index it was pulled through: the live
    # (tagged) indexes listing it are in use; an orphaned index listing it too is unknown (a consumer
    # may have named it by digest). When no live index lists it, every index listing it is in use.
    maybe = np.zeros(len(parent), bool)
    if up.any():
        is_live = images.liveness_by_row(inv) == "live"
        has_live_parent = np.zeros(n, bool)
        has_live_parent[child[direct[child] & is_live[parent]]] = True
        maybe = up & has_live_parent[child] & ~is_live[parent]
    keep_up = up & ~maybe
    via[parent[keep_up]] = child[keep_up]
    keeper, kept = images.keep_edges(inv)
    via = _spread(via, keeper, kept)
    used = via >= 0
    maybe_unit = np.full(n, -1, np.int64)
    maybe_unit[parent[maybe]] = parent[maybe]
    maybe_unit = (_spread(maybe_unit, keeper, kept) >= 0) & ~used
    src = np.where(used, via, 0)
    while True:  # follow `via` to an image a reference names
        nxt = np.where(direct[src], src, via[src])
        if np.array_equal(nxt, src):
            break
        src = nxt
    out = im[IMAGE_KEY].copy()
    state = np.where(used, "yes", "no").astype(object)
    reason = np.full(n, "", dtype=object)
    if n:
        repo_reason = _repository_unknown(inv)["unknown_reason"].to_numpy(dtype=object)[keys(inv).image_repo]
        state[~used & (repo_reason != "")] = "unknown"
        reason[~used] = repo_reason[~used]
        state[maybe_unit] = "unknown"
        reason[maybe_unit] = (
            "an untagged index listing a platform image in use (or a part of it): a consumer may have "
            "pulled that image through this index"
        )
        graph = _graph_unknown(inv, used)
        more = (state == "no") & graph
        state[more] = "unknown"
        reason[more] = (
            "untagged, and the repository's index manifests were not read while an index of it is in "
            "use: it may be that index's child"
        )
    out["in_use"] = pd.Series(state, dtype="str")
    counts = np.zeros(n, np.int64)
    kinds = np.empty(n, dtype=object)
    accounts = np.empty(n, dtype=object)
    names = np.full(n, "", dtype=object)
    empty: list = []
    kinds[:] = [empty] * n
    accounts[:] = [empty] * n
    cross = np.zeros(n, bool)
    running = pd.array([pd.NA] * n, dtype="boolean") if n else pd.array([], dtype="boolean")
    last = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns, UTC]")
    if used.any():
        u = np.flatnonzero(used)
        a = agg.reindex(src[u])
        counts[u] = a["consumers"].to_numpy()
        kinds[u] = a["consumer_kinds"].to_numpy()
        accounts[u] = a["consumer_accounts"].to_numpy()
        names[u] = a["consumer_names"].to_numpy()
        owner = im["account_id"].to_numpy(dtype=object)[u]
        cross[u] = [any(x != o for x in accs) for accs, o in zip(accounts[u], owner)]
        running[u] = a["is_running"].array
        last.iloc[u] = a["last_in_use_at"].to_numpy()
        running[~used] = False
    else:
        running[:] = False
    out["consumers"] = pd.array(counts, dtype="Int64")
    out["consumer_kinds"] = kinds
    out["consumer_accounts"] = accounts
    out["consumer_names"] = pd.Series(names, dtype="str")
    out["is_cross_account"] = pd.array(cross, dtype="boolean")
    # Not in use: false only when known to be unused; unknown stays null.
    running[(state == "unknown")] = pd.NA
    out["is_running"] = running
    out["last_in_use_at"] = last.to_numpy()
    digs = im["image_digest"].to_numpy(dtype=object)
    via_digest = np.full(n, None, dtype=object)
    prop = used & ~direct
    via_digest[prop] = digs[src[prop]]
    out["in_use_via_digest"] = pd.Series(via_digest, dtype="str")
    out["unknown_reason"] = pd.Series(reason, dtype="str")
    return out[IN_USE_COLUMNS]


def _spread(via: np.ndarray, keeper: np.ndarray, kept: np.ndarray) -> np.ndarray:
    """`via` (row per image, -1 none) carried along keep-alive edges to everything it keeps."""
    via = via.copy()
    while len(keeper):
        new = (via[keeper] >= 0) & (via[kept] < 0)
        if not new.any():
            return via
        via[kept[new]] = via[keeper[new]]
    return via


def _aggregate(r: pd.DataFrame, im: pd.DataFrame) -> pd.DataFrame:
    """Per image row named by references: count, kinds, accounts, names, running, last seen."""
    cols = [
        "consumers",
        "consumer_kinds",
        "consumer_accounts",
        "consumer_names",
        "is_running",
        "last_in_use_at",
    ]
    if r.empty:
        return pd.DataFrame(columns=cols)
    acc = r["consumer_account_id"].fillna("").astype(str)
    label = (
        r["consumer_name"].fillna("").astype(str).str.slice(0, 120)
        + " ("
        + acc.where(acc != "", "AWS service")
        + ", "
        + r["consumer_kind"].astype(str)
        + ")"
    )
    run = r["is_running"].astype("boolean")
    r = r.assign(_label=label, _acc=acc, _run_t=run.fillna(False), _run_na=run.isna())
    g = r.groupby("_row", sort=True)

    def listed(col):  # sorted distinct values per image, one list each
        pairs = r[["_row", col]].astype({col: object}).drop_duplicates().sort_values(["_row", col])
        rows = pairs["_row"].to_numpy()
        starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        parts = np.split(pairs[col].to_numpy(dtype=object), starts[1:])
        return pd.Series([p.tolist() for p in parts], index=rows[starts])

    out = pd.DataFrame(
        {
            "consumers": g.size(),
            "consumer_kinds": listed("consumer_kind"),
            "consumer_accounts": listed("_acc"),
            "consumer_names": listed("_label").map(_join),
            "_run_t": g["_run_t"].any(),
            "_run_na": g["_run_na"].any(),
            "last_in_use_at": g["last_in_use_at"].max(),
        }
    )
    out["consumer_accounts"] = out["consumer_accounts"].map(lambda v: [a for a in v if a])  # "": AWS services
    out["is_running"] = pd.array(
        np.where(out["_run_t"], True, np.where(out["_run_na"], None, False)), dtype="boolean"
    )
    return out[cols]


def _join(names: list[str], limit: int = 5) -> str:
    more = len(names) - limit
    return "; ".join(names[:limit]) + (f"; and {more} more" if more > 0 else "")


def _graph_unknown(inv, used: np.ndarray) -> np.ndarray:
    """Untagged images of repositories whose index → child edges are unknown while an index of the
    repository is in use: the used index may list them."""
    k = keys(inv)
    known, _ = images.graph_known_by_repo(inv)
    is_index = inv.images["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
    used_index = np.bincount(k.image_repo, weights=(used & is_index), minlength=k.n_repos) > 0
    untagged = (inv.images["tags"].map(len) == 0).to_numpy()
    repo = k.image_repo
    return untagged & ~known[repo] & used_index[repo]


# --------------------------------------------------------------------------------------------
# helpers for the cleanup analyses
# --------------------------------------------------------------------------------------------


def in_use_of(inv, frame: pd.DataFrame) -> pd.DataFrame:
    """in_use, consumers (names) and unknown_reason for the images `frame` names (IMAGE_KEY
    columns), aligned with `frame`'s rows; images not in the inventory are `unknown`."""
    rows = keys(inv).rows(frame[IMAGE_KEY]) if len(frame) else np.zeros(0, np.int64)
    u = _in_use(inv)
    ok = rows >= 0
    state = np.full(len(frame), "unknown", dtype=object)
    names = np.full(len(frame), "", dtype=object)
    why = np.full(len(frame), "not an image of the inventory", dtype=object)
    state[ok] = u["in_use"].to_numpy(dtype=object)[rows[ok]]
    names[ok] = u["consumer_names"].to_numpy(dtype=object)[rows[ok]]
    why[ok] = u["unknown_reason"].to_numpy(dtype=object)[rows[ok]]
    return pd.DataFrame(
        {"in_use": state, "consumers": names, "unknown_reason": why}, index=frame.index
    ).astype("str")


# --------------------------------------------------------------------------------------------
# what to act on: broken references, consumers without a grant, grants nobody uses
# --------------------------------------------------------------------------------------------

# reference_role → severity of a reference to an image that no longer exists
MISSING_SEVERITY = {"running": "high", "deployed": "high", "rollback": "medium", "defined": "medium"}


def broken_references(inv) -> pd.DataFrame:
    """References to a private ECR image that is not there (resolution not_found), with severity:
    high when something runs or deploys it (the next scale-out or deployment fails), medium for
    rollback and defined references (the next rollback, submit or build fails), low for observed
    ones (Inspector, CloudTrail: it ran or was pulled, and is gone now)."""
    r = references(inv)
    r = r[r["resolution"] == "not_found"].copy()
    running = r["is_running"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    r["severity"] = np.where(running, "high", r["reference_role"].map(MISSING_SEVERITY).fillna("low"))
    return r.reset_index(drop=True)


def _pull_grants(inv) -> pd.DataFrame:
    """Pull grants (can_pull) of repositories and registries: who they let pull."""
    g = access.grants(inv)
    return g[g["can_pull"].fillna(False).astype(bool) & g["scope"].isin(["repository", "registry"])]


def without_grant(inv) -> pd.DataFrame:
    """References of a consumer in account B to an image of a collected registry in account A ≠ B
    that no repository or registry policy lets B pull. It works only by a path the audit cannot
    see (a policy that could not be read is such a path: those registries are left out), or it is
    broken. CloudTrail callers without an account (AWS services) are left out."""
    r = references(inv)
    r = r[
        r["resolution"].isin(["digest", "resolved_by_service", "tag_now", "not_found"])
        & r["consumer_account_id"].map(ecr.is_account_id).astype(bool)
        & (r["consumer_account_id"] != r["account_id"])
    ]
    if r.empty:
        return r.assign(grant_status=pd.Series(dtype="str"))
    key = REPO_KEY + ["consumer_account_id"]
    r = r.dropna(subset=key)
    out = r.merge(_pairs_without_grant(inv), on=key)  # r's order within each pair
    return out.sort_values(key, kind="stable").reset_index(drop=True)


def _pairs_without_grant(inv) -> pd.DataFrame:
    """Every owner repository × consumer account (of another account) of inv.consumers that no
    grant lets pull and whose policies could all be read (REPO_KEY + consumer_account_id). Cached
    apart from the images, which only decide which references count (`reuse`)."""

    def compute():
        c = inv.consumers
        key = REPO_KEY + ["consumer_account_id"]
        c = c[
            c["consumer_account_id"].map(ecr.is_account_id).astype(bool)
            & (c["consumer_account_id"] != c["account_id"])
        ]
        # One answer per owner repository × consumer account, against the grants of the same
        # registry (a few per registry: the pairing stays small at a million images).
        groups = c[key].dropna().drop_duplicates().reset_index(drop=True)
        groups["_g"] = np.arange(len(groups))
        allg = access.grants(inv)
        undetermined = allg[allg["exposure"] == "undetermined"]
        u = groups.merge(
            undetermined[["account_id", "region", "repository_name"]], on=["account_id", "region"]
        )
        # who the policy grants is undetermined (the repository's or the registry's): cannot tell
        cannot_tell = u.loc[
            u["repository_name_y"].isin([""]) | (u["repository_name_y"] == u["repository_name_x"]), "_g"
        ]
        pulls = _pull_grants(inv)
        cols = [
            "account_id",
            "region",
            "repository_name",
            "scope",
            "grantee_account_id",
            "grantee_kind",
            "exposure",
        ]
        p = groups.merge(pulls[cols], on=["account_id", "region"], suffixes=("", "_grant"))
        name = p["repository_name_grant"]
        applies = (name == p["repository_name"]) | ((p["scope"] == "registry") & (name == ""))
        org = set(inv.org_account_ids)
        in_org = p["consumer_account_id"].isin(org)
        covers = (
            (p["grantee_account_id"].astype("string").fillna("") == p["consumer_account_id"])
            | (p["exposure"] == "public")
            | ((p["grantee_kind"] == "org") & (p["exposure"] == "org") & in_org)
        )
        covered = p.loc[(applies & covers).fillna(False).to_numpy(dtype=bool), "_g"]
        return groups.loc[~groups["_g"].isin(cannot_tell) & ~groups["_g"].isin(covered), key]

    return inv.cached("consumers.pairs_without_grant", compute)


def unused_grants(inv, pull_days: int | None = None) -> pd.DataFrame:
    """Cross-account pull grants (org, external, public) that no consumer read uses, with what was
    looked at (`evidence`). A grant is listed only where its use would show: every grantee account
    is in the collection with its consumer kinds read, or CloudTrail was read (complete) for the
    registry and shows no pull by a grantee. `has_read_cloudtrail` says which."""
    cols = REPO_KEY + ["scope", "grantee", "exposure", "has_read_cloudtrail", "evidence"]
    g = _pull_grants(inv)
    g = g[g["exposure"].isin(["org", "external", "public"])]
    if g.empty:
        return pd.DataFrame(columns=cols)
    r = inv.consumers  # who names an image of each repository: no resolution needed (nor the images)
    r = r[r["is_ecr_private"].fillna(False).astype(bool) & r["account_id"].notna()]
    cc = inv.consumer_coverage
    trail = cc[(cc["consumer_kind"] == "cloudtrail") & (cc["status"] == "complete")]
    trail_read = set(zip(trail["consumer_account_id"], trail["consumer_region"]))
    days = pull_days or (inv.meta.get("options") or {}).get("pull_days") or 30
    reach = _reach(inv)
    org = reach.org_accounts
    # The consumer accounts naming an image of each registry and each repository, once (a million
    # images carry tens of thousands of references; thousands of grants look them up).
    users_of = r.assign(_user=r["consumer_account_id"].astype(str))
    by_registry = users_of.groupby(["account_id", "region"])["_user"].agg(set).to_dict()
    by_repository = users_of.groupby(REPO_KEY)["_user"].agg(set).to_dict()
    rows = []
    for grant in g.itertuples(index=False):
        owner, reg = grant.account_id, grant.region
        repo = grant.repository_name if grant.scope == "repository" else ""
        users = by_repository.get((owner, reg, repo), set()) if repo else by_registry.get((owner, reg), set())
        if grant.exposure == "public":
            grantees, used = None, bool(users - {owner})
        elif grant.grantee_kind == "org":
            grantees = sorted(org - {owner} - reach.inactive)
            used = not users.isdisjoint(grantees)
        else:
            grantees = [grant.grantee_account_id]
            used = not users.isdisjoint(grantees)
        if used:
            continue
        has_trail = (owner, reg) in trail_read
        looked = [] if grantees is None else [reach.account(a, reg, own=False) for a in grantees]
        consumers_read = grantees is not None and all(w == "" for w in looked)
        if not (has_trail or consumers_read):
            continue  # nothing could show its use: no evidence either way
        who = "anyone" if grantees is None else ", ".join(grantees)
        evidence = (
            f"no consumer read in {who} names an image of "
            + (f"repository {repo}" if repo else "the registry")
            + ("" if consumers_read else " (their consumers could not all be read)")
            + (
                f"; CloudTrail read: no pull by them in the last {days} days"
                if has_trail
                else "; CloudTrail not read (--consumers ...,cloudtrail): pulls unknown"
            )
        )
        rows.append((owner, reg, repo, grant.scope, grant.grantee, grant.exposure, has_trail, evidence))
    return pd.DataFrame(rows, columns=cols).astype({"has_read_cloudtrail": bool})


# --------------------------------------------------------------------------------------------
# for the report
# --------------------------------------------------------------------------------------------


def consumers_of(inv, frame: pd.DataFrame) -> pd.DataFrame:
    """The references that put the images `frame` names (IMAGE_KEY) in use, directly or through
    their unit (`in_use_via_digest`)."""
    cols = list(inv.consumers.columns) + REFERENCE_COLUMNS
    if frame.empty:
        return pd.DataFrame(columns=cols)
    u = _in_use(inv)
    rows = keys(inv).rows(frame[IMAGE_KEY])
    rows = rows[rows >= 0]
    rows = rows[u["in_use"].to_numpy(dtype=object)[rows] == "yes"]
    via = u["in_use_via_digest"].to_numpy(dtype=object)[rows]
    im = inv.images.reset_index(drop=True)
    src = im.iloc[rows][REPO_KEY].assign(
        image_digest=np.where(pd.isna(via), im["image_digest"].to_numpy()[rows], via)
    )
    src_rows = set(keys(inv).rows(src).tolist())
    refs, ref_row = _references(inv)
    return refs[np.isin(ref_row, list(src_rows))].reset_index(drop=True)


def lifecycle_impact(inv, sim: pd.DataFrame) -> dict:
    """What the lifecycle simulation `sim` would break: running_workloads (distinct consumers
    running an image it expires or archives), images_in_use, images_unknown (in-use unknown)."""
    if sim.empty:
        return {"running_workloads": 0, "images_in_use": 0, "images_unknown": 0}
    used = sim[sim["in_use"] == "yes"]
    refs = consumers_of(inv, used)
    running = refs[refs["is_running"].astype("boolean").fillna(False).to_numpy(dtype=bool)]
    who = running[
        ["consumer_account_id", "consumer_region", "consumer_kind", "consumer_name"]
    ].drop_duplicates()
    return {
        "running_workloads": len(who),
        "images_in_use": len(used),
        "images_unknown": int((sim["in_use"] == "unknown").sum()),
    }


def coverage(inv) -> pd.DataFrame:
    """Consumer kinds × status: how many account × region units, and the reasons of the others."""
    cc = inv.consumer_coverage
    if cc.empty:
        return pd.DataFrame(columns=["consumer_kind", "status", "units", "consumers", "reason"])
    g = (
        cc.assign(reason=cc["reason"].fillna(""))
        .groupby(["consumer_kind", "status"], sort=True)
        .agg(
            units=("status", "size"),
            consumers=("consumers", "sum"),
            reason=("reason", lambda s: "; ".join(sorted(set(s) - {""})[:3])),
        )
        .reset_index()
    )
    return g.astype({"units": "Int64", "consumers": "Int64"})


def matrix(inv) -> pd.DataFrame:
    """What runs where: owner account × consumer account × consumer kind, with references and
    images (references that resolve to an image of the inventory)."""
    r = references(inv)
    r = r[r["resolved_digest"].notna()]
    cols = ["account_id", "consumer_account_id", "consumer_kind", "references", "images"]
    if r.empty:
        return pd.DataFrame(columns=cols)
    g = (
        r.groupby(["account_id", "consumer_account_id", "consumer_kind"], sort=True)
        .agg(references=("consumer_kind", "size"), images=("resolved_digest", "nunique"))
        .reset_index()
    )
    return g.astype({"references": "Int64", "images": "Int64"})


__all__ = [
    "COLLECTION_KIND",
    "MISSING_SEVERITY",
    "IN_USE",
    "IN_USE_COLUMNS",
    "REFERENCE_COLUMNS",
    "REQUIRED_KINDS",
    "RESOLUTIONS",
    "broken_references",
    "consumers_of",
    "coverage",
    "in_use",
    "in_use_by_row",
    "in_use_of",
    "is_image_reference",
    "lifecycle_impact",
    "matrix",
    "references",
    "unused_grants",
    "without_grant",
]
