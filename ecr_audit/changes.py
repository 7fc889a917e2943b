"""What changed between audits: findings across runs, and the deltas between two snapshots.

- `finding_states(snapshots)`: one row per `finding_uid` seen in any of the snapshots (oldest
  first), with its state relative to the newest: new | persisting | resolved | reopened | unknown.
- `diff(old, new)` → `Changes`: findings, repositories, images, storage, grants, policies,
  lifecycle and coverage deltas; `Changes.got_worse` gates CI (`ecr-audit diff`, exit 6).

"Could not look" is never "gone" (docs/history.md#unknown-is-not-resolved): a finding, a
repository, an image, a grant or a policy that disappears where the newer snapshot did not read
(its account × region not `complete`/`partial` in `coverage`, the account not collected, or an
error recorded for the repository) is `unknown`, never resolved, deleted or removed. Inventory
deltas are computed only over the account × region units read in both snapshots; the others are
listed in `Changes.coverage`. Renames are not guessed: a deleted and a created repository are
two events.

Memory: a snapshot given as a path is reduced to what the comparison needs (`_Side`: findings,
the per-repository frames, the image and tag key columns) and dropped, analyses' caches included,
before the next one is read, so two snapshots' frames and analyses are never in memory together
(`diff` at 1,000,000 images: one snapshot's peak plus its reduced predecessor; benchmarks/RESULTS.md).
"""

from __future__ import annotations

import difflib
import gc
import json
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from . import access, cost, ecr, findings, lifecycle
from .inventory import Inventory
from .schema import IMAGE_KEY, REPO_KEY
from .snapshot import load

STATES = ("new", "reopened", "persisting", "unknown", "resolved")
READ = ("complete", "partial")  # coverage statuses of an account × region that was read
# Larger is wider; `undetermined` (policy unreadable) is outside the order.
EXPOSURE_RANK = {"account": 0, "service": 1, "org": 2, "external": 3, "public": 4}
CAPABILITIES = ("can_pull", "can_push", "can_delete", "can_manage")
WORSE_SEVERITIES = ("critical", "high")
# An added grant to these exposures makes a diff worse, like a widened one.
WORSE_EXPOSURES = ("public", "external")
GRANT_KEY = ["account_id", "region", "scope", "repository_name", "template_prefix", "grantee"]
STATE_COLUMNS = findings.COLUMNS + ["state", "first_seen", "last_seen", "runs_seen"]


class ChangesError(ValueError):
    """Two snapshots that cannot be compared (other organization or partition); says why."""


def _inventory(x) -> Inventory:
    return x if isinstance(x, Inventory) else load(x)


def _collected_at(inv: Inventory) -> pd.Timestamp:
    raw = inv.meta.get("collected_at")
    ts = pd.Timestamp(raw) if raw else pd.NaT
    return ts if pd.isna(ts) or ts.tzinfo else ts.tz_localize("UTC")


def read_units(inv) -> set[tuple[str, str]]:
    """The (account_id, region) units the snapshot read (coverage complete or partial). `inv`: an
    Inventory, or anything with its `coverage` frame."""
    c = inv.coverage
    c = c[c["status"].isin(READ)]
    return set(zip(c["account_id"].astype(str), c["region"].astype(str)))


def _unit_mask(df: pd.DataFrame, units: set) -> np.ndarray:
    if not len(df):
        return np.zeros(0, bool)
    idx = pd.MultiIndex.from_arrays([df["account_id"].astype(str), df["region"].astype(str)])
    return idx.isin(list(units)) if units else np.zeros(len(df), bool)


def looked(inv, df: pd.DataFrame) -> np.ndarray:
    """Per row of `df` (account_id, region, repository_name): did snapshot `inv` (an Inventory, or
    anything with its `coverage` and `errors` frames) look there?

    An account-level row (no region) needs one read unit of its account; an organization-level
    row (no account) a snapshot that read anything. A repository with a failed read recorded in
    `errors`, or a unit whose repository listing failed, counts as not looked at."""
    units = read_units(inv)
    acct = df["account_id"].fillna("").astype(str).to_numpy()
    region = df["region"].fillna("").astype(str).to_numpy()
    repo = df["repository_name"].fillna("").astype(str).to_numpy()
    e = inv.errors
    e_acct = e["account_id"].fillna("").astype(str)
    e_region = e["region"].fillna("").astype(str)
    e_repo = e["repository_name"].fillna("").astype(str)
    failed_repos = set(zip(e_acct, e_region, e_repo))
    unlisted = set(
        zip(
            e_acct[e["operation"] == "DescribeRepositories"],
            e_region[e["operation"] == "DescribeRepositories"],
        )
    )
    accounts = {a for a, _ in units}
    out = np.empty(len(df), bool)
    for i, (a, r, n) in enumerate(zip(acct, region, repo)):
        if not a:
            out[i] = bool(units)
        elif not r:
            out[i] = a in accounts
        else:
            out[i] = (a, r) in units and (a, r) not in unlisted and (not n or (a, r, n) not in failed_repos)
    return out


# -- one snapshot, reduced to what is compared -------------------------------------------------------

IMAGE_COLUMNS = IMAGE_KEY + ["tags", "pushed_at", "size_bytes"]
GRANT_COLUMNS = GRANT_KEY + ["grantee_kind", "exposure", "severity"] + list(CAPABILITIES)
# kind → (frame of policy texts, its key, the frame with its read status, the status column)
POLICY_FRAMES = {
    "repository": ("repository_policies", REPO_KEY, "repositories", "policy_status"),
    "registry": ("registry_policies", ["account_id", "region"], "registries", "registry_policy_status"),
    "lifecycle": ("lifecycle_policies", REPO_KEY, "repositories", "lifecycle_policy_status"),
}


@dataclass
class _Side:
    """What `finding_states` (`full=False`) or `diff` compares of one snapshot, holding no reference
    to its Inventory: frames, analyses and their caches go with the Inventory."""

    meta: dict
    collected_at: pd.Timestamp
    findings: pd.DataFrame
    coverage: pd.DataFrame  # with `errors`: what the snapshot looked at (`looked`)
    errors: pd.DataFrame
    repositories: pd.DataFrame | None = None
    images: pd.DataFrame | None = None  # IMAGE_COLUMNS of the repositories whose images were read
    image_tags: pd.DataFrame | None = None
    storage: pd.DataFrame | None = None  # cost.storage
    grants: pd.DataFrame | None = None  # access.grants, GRANT_COLUMNS
    policies: dict | None = None  # POLICY_FRAMES kind → (texts, keys of unreadable policies)

    @classmethod
    def of(cls, inv: Inventory, full: bool = True, evidence: bool = False) -> _Side:
        side = cls(
            meta=dict(inv.meta),
            collected_at=_collected_at(inv),
            findings=findings.findings(inv, evidence=evidence),
            coverage=inv.coverage[["account_id", "region", "status"]],
            errors=inv.errors[["account_id", "region", "repository_name", "operation"]],
        )
        if not full:
            return side
        r = inv.repositories
        side.repositories = r[REPO_KEY + ["repository_arn", "created_at"]]
        side.images = inv.images.loc[_images_read(inv), IMAGE_COLUMNS]
        side.image_tags = inv.image_tags[REPO_KEY + ["tag", "image_digest"]]
        side.storage = cost.storage(inv)
        side.grants = access.grants(inv)[GRANT_COLUMNS]
        side.policies = {}
        for kind, (frame, key, status_frame, status_col) in POLICY_FRAMES.items():
            st = inv.frames[status_frame]
            unreadable = st.loc[st[status_col].isin(["unreadable", "unsupported"]), key]
            side.policies[kind] = (inv.frames[frame][key + ["policy_text"]], unreadable)
        return side


def _side(snapshot, full: bool = True, evidence: bool = False) -> _Side:
    """`_Side.of` a snapshot (a path or an Inventory); one loaded here is gone when this returns."""
    inv = _inventory(snapshot)
    side = _Side.of(inv, full, evidence)
    if inv is not snapshot:
        _drop(inv)
    return side


def _drop(inv: Inventory) -> None:
    """Empty an Inventory loaded here (frames, analyses' caches) before the next snapshot is read.
    Its caches refer back to it: left to reference counting, it would outlive the next load."""
    inv.__dict__.clear()
    gc.collect()


# -- findings across runs ------------------------------------------------------------------------


def finding_states(snapshots, evidence: bool = False) -> pd.DataFrame:
    """One row per finding_uid seen in any of `snapshots` (paths or Inventories, oldest first).

    state, relative to the newest snapshot: new (first seen there), persisting (seen there and at
    the last earlier look), reopened (seen there, absent at the last earlier look that could see
    it), resolved (absent there, and there it looked), unknown (absent there because it did not
    look: `looked`). first_seen / last_seen: collected_at of the first / last snapshot holding
    it; runs_seen: how many hold it. The descriptive columns come from the latest holding it, and
    with `evidence` its evidence (a resolved finding's, as last seen: `findings.findings`)."""
    sides = [_side(s, full=False, evidence=evidence) for s in snapshots]
    if not sides:
        raise ValueError("finding_states needs at least one snapshot")
    return _states(sides)


def _states(sides: list[_Side]) -> pd.DataFrame:
    times = [side.collected_at for side in sides]
    per = [side.findings.assign(_run=i) for i, side in enumerate(sides)]
    allf = pd.concat(per, ignore_index=True)
    latest = allf.drop_duplicates("finding_uid", keep="last").reset_index(drop=True)
    n, runs = len(latest), len(sides)
    uid_pos = pd.Index(latest["finding_uid"])
    present = np.zeros((n, runs), bool)
    present[uid_pos.get_indexer(allf["finding_uid"]), allf["_run"].to_numpy()] = True
    seen = present.copy()
    for i, side in enumerate(sides):
        seen[:, i] |= looked(side, latest)
    last = runs - 1
    before = present[:, :last].any(axis=1)
    last_value = np.zeros(n, bool)  # presence at the last earlier run that looked
    for i in range(last):
        last_value = np.where(seen[:, i], present[:, i], last_value)
    now = present[:, last]
    state = np.select(
        [now & ~before, now & last_value, now, seen[:, last]],
        ["new", "persisting", "reopened", "resolved"],
        "unknown",
    )
    first = present.argmax(axis=1)
    final = runs - 1 - present[:, ::-1].argmax(axis=1)
    stamp = pd.DatetimeIndex(times)
    out = latest.drop(columns="_run").assign(
        state=pd.Categorical(state, categories=STATES),
        first_seen=stamp[first],
        last_seen=stamp[final],
        runs_seen=present.sum(axis=1),
    )
    out["severity"] = ecr.as_severity(out["severity"])
    columns = STATE_COLUMNS + [c for c in (findings.EVIDENCE_COLUMN,) if c in out]
    return out.sort_values(
        ["state", "severity", "finding_id", "resource_arn"], kind="stable", ignore_index=True
    )[columns]


# -- deltas between two snapshots -------------------------------------------------------------------


@dataclass
class Changes:
    """The deltas between two snapshots (`diff`). Every frame is empty when nothing changed."""

    findings: pd.DataFrame
    repositories: pd.DataFrame  # change: created | deleted
    images: pd.DataFrame  # change: pushed | deleted | tag_moved
    storage: pd.DataFrame  # per repository: bytes and monthly cost before / after / delta
    grants: pd.DataFrame  # change: added | removed | widened | narrowed | undetermined
    policies: pd.DataFrame  # kind: repository | registry | lifecycle; change: added | removed | changed
    lifecycle: pd.DataFrame  # change: now_acts | no_longer_acts
    coverage: pd.DataFrame  # change: no_longer_read | newly_read
    old_meta: dict
    new_meta: dict
    new_public_repositories: pd.DataFrame = field(default_factory=pd.DataFrame)

    FRAMES = (
        "findings",
        "repositories",
        "images",
        "storage",
        "grants",
        "policies",
        "lifecycle",
        "coverage",
        "new_public_repositories",
    )

    @property
    def got_worse(self) -> bool:
        """A new (or reopened) critical or high finding, a widened grant, or a grant added with
        public or external exposure."""
        s = self.summary()
        return bool(s["new_critical"] or s["new_high"] or s["widened_grants"] or s["added_wide_grants"])

    def summary(self) -> dict:
        f = self.findings
        fresh = f[f["state"].isin(["new", "reopened"])]
        g = self.grants
        s = self.storage
        before = float(s["cost_usd_per_month_before"].sum()) if len(s) else 0.0
        after = float(s["cost_usd_per_month_after"].sum()) if len(s) else 0.0
        count = lambda df, col, value: int((df[col] == value).sum()) if len(df) else 0  # noqa: E731
        return {
            "since": self.old_meta.get("collected_at"),
            "until": self.new_meta.get("collected_at"),
            "new_critical": int((fresh["severity"] == "critical").sum()),
            "new_high": int((fresh["severity"] == "high").sum()),
            "new_findings": count(f, "state", "new"),
            "reopened": count(f, "state", "reopened"),
            "resolved": count(f, "state", "resolved"),
            "unknown": count(f, "state", "unknown"),
            "widened_grants": count(g, "change", "widened"),
            "added_wide_grants": int(
                ((g["change"] == "added") & g["exposure_after"].isin(WORSE_EXPOSURES)).sum() if len(g) else 0
            ),
            "new_public_repositories": len(self.new_public_repositories),
            "repositories_created": count(self.repositories, "change", "created"),
            "repositories_deleted": count(self.repositories, "change", "deleted"),
            "images_pushed": count(self.images, "change", "pushed"),
            "images_deleted": count(self.images, "change", "deleted"),
            "tags_moved": count(self.images, "change", "tag_moved"),
            "policies_changed": len(self.policies),
            "units_no_longer_read": count(self.coverage, "change", "no_longer_read"),
            "cost_usd_per_month_before": round(before, 6),
            "cost_usd_per_month_after": round(after, 6),
            "cost_usd_per_month_delta": round(after - before, 6),
            "cost_delta_pct": round(100 * (after - before) / before, 2) if before else None,
        }


def comparable_problem(old_meta: dict, new_meta: dict) -> str | None:
    """Why two snapshots cannot be compared (other organization, other partition), or None."""
    org_old = (old_meta.get("organization") or {}).get("id")
    org_new = (new_meta.get("organization") or {}).get("id")
    if org_old and org_new and org_old != org_new:
        return f"they are of different organizations ({org_old} and {org_new})"
    p_old, p_new = ecr.partition_of_snapshot(old_meta), ecr.partition_of_snapshot(new_meta)
    if p_old != p_new:
        return f"they are of different AWS partitions ({p_old} and {p_new})"
    return None


def diff(old, new) -> Changes:
    """The deltas from snapshot `old` to snapshot `new` (paths or Inventories). ChangesError when
    they are not of one organization and partition."""
    o, n = _inventory(old), _inventory(new)  # reads only the manifests
    problem = comparable_problem(o.meta, n.meta)
    if problem:
        raise ChangesError(f"the snapshots cannot be compared: {problem}")
    units = read_units(o) & read_units(n)
    # One snapshot's frames and analyses in memory at a time (module docstring).
    before = _Side.of(o)
    if o is not old:
        _drop(o)
    del o
    after = _Side.of(n)
    policies = _policies(before, after, units)
    lifecycle_delta = _lifecycle(n, policies)  # the last use of the newer Inventory
    if n is not new:
        _drop(n)
    del n
    grants_delta, new_public = _grants(before, after, units)
    return Changes(
        findings=_states([before, after]),
        repositories=_repositories(before, after, units),
        images=_images(before, after, units),
        storage=_storage(before, after, units),
        grants=grants_delta,
        policies=policies,
        lifecycle=lifecycle_delta,
        coverage=_coverage(before, after),
        old_meta=before.meta,
        new_meta=after.meta,
        new_public_repositories=new_public,
    )


def _repositories(o, n, units) -> pd.DataFrame:
    ro, rn = o.repositories, n.repositories
    m = ro.loc[_unit_mask(ro, units)].merge(
        rn.loc[_unit_mask(rn, units)], on=REPO_KEY, how="outer", indicator=True, suffixes=("_old", "")
    )
    m = m[m["_merge"] != "both"]
    out = pd.DataFrame(
        {
            "change": np.where(m["_merge"] == "right_only", "created", "deleted"),
            **{k: m[k] for k in REPO_KEY},
            "repository_arn": m["repository_arn"].fillna(m["repository_arn_old"]),
            "created_at": m["created_at"].fillna(m["created_at_old"]),
        }
    )
    return out.sort_values(["change"] + REPO_KEY, ignore_index=True)


def _images_read(inv) -> np.ndarray:
    """Images outside repositories whose image list could not be read."""
    r = inv.repositories
    bad = r.loc[r["images_status"] == "unreadable", REPO_KEY]
    im = inv.images
    mask = np.ones(len(im), bool)
    if len(bad):
        idx = pd.MultiIndex.from_frame(im[REPO_KEY].astype(str))
        mask &= ~idx.isin(pd.MultiIndex.from_frame(bad.astype(str)))
    return mask


def _key(df: pd.DataFrame, cols) -> pd.Series:
    """One text key per row (faster to match than a merge on several text columns)."""
    out = df[cols[0]].astype(str)
    for c in cols[1:]:
        out = out + "\x1f" + df[c].astype(str)
    return out


def _membership(ka: pd.Series, kb: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """(is each key of `ka` among `kb`, is each key of `kb` among `ka`). Arrow's hash lookup on
    the Arrow text itself: Series.isin took 7 s per million keys, a joint pd.factorize of Python
    strings 1.5 s and 0.3 GiB more peak memory at 1M, this 1.2 s and no Python string."""
    a, b = pa.array(ka.array, pa.large_string()), pa.array(kb.array, pa.large_string())
    return (
        pc.is_in(a, value_set=b).to_numpy(zero_copy_only=False),
        pc.is_in(b, value_set=a).to_numpy(zero_copy_only=False),
    )


def _images(o, n, units) -> pd.DataFrame:
    io = o.images[_unit_mask(o.images, units)]
    in_ = n.images[_unit_mask(n.images, units)]
    old_kept, new_known = _membership(_key(io, IMAGE_KEY), _key(in_, IMAGE_KEY))
    pushed = in_[~new_known].assign(change="pushed")
    deleted = io[~old_kept].assign(change="deleted")
    moved = _tag_moves(o, n, units)
    out = pd.concat([pushed, deleted, moved], ignore_index=True)
    for c in ("tag", "old_digest", "new_digest"):
        if c not in out:
            out[c] = None
    out = out[["change"] + IMAGE_KEY + ["tag", "old_digest", "new_digest", "tags", "pushed_at", "size_bytes"]]
    return out.sort_values(
        ["change"] + REPO_KEY + ["tag", "image_digest"], ignore_index=True, na_position="first"
    )


def _tag_moves(o, n, units) -> pd.DataFrame:
    """Tags (a tag names one digest in a repository) that name another digest now."""
    to, tn = o.image_tags, n.image_tags
    to, tn = to[_unit_mask(to, units)], tn[_unit_mask(tn, units)]
    key = REPO_KEY + ["tag"]
    codes, uniques = pd.factorize(
        np.concatenate([_key(to, key).to_numpy(dtype=object), _key(tn, key).to_numpy(dtype=object)])
    )
    digest_then = np.full(len(uniques), None, dtype=object)
    digest_then[codes[: len(to)]] = to["image_digest"].to_numpy(dtype=object)
    before = digest_then[codes[len(to) :]]
    after = tn["image_digest"].to_numpy(dtype=object)
    moved = pd.notna(before) & (before != after)
    rows = tn[moved]
    return pd.DataFrame(
        {
            "change": "tag_moved",
            **{k: rows[k].to_numpy() for k in REPO_KEY},
            "image_digest": after[moved],
            "tag": rows["tag"].to_numpy(),
            "old_digest": before[moved],
            "new_digest": after[moved],
        },
        columns=["change"] + IMAGE_KEY + ["tag", "old_digest", "new_digest"],
    )


def _storage(o, n, units) -> pd.DataFrame:
    cols = ["billable_bytes", "cost_usd_per_month", "basis"]
    so, sn = o.storage, n.storage
    so, sn = so.loc[_unit_mask(so, units), REPO_KEY + cols], sn.loc[_unit_mask(sn, units), REPO_KEY + cols]
    m = so.merge(sn, on=REPO_KEY, how="outer", suffixes=("_before", "_after"), indicator=True)
    for c in ("billable_bytes", "cost_usd_per_month"):
        # A repository that did not exist on one side holds nothing there (a true zero).
        m.loc[m["_merge"] == "right_only", f"{c}_before"] = 0
        m.loc[m["_merge"] == "left_only", f"{c}_after"] = 0
        m[f"{c}_delta"] = m[f"{c}_after"] - m[f"{c}_before"]
    out = m[
        REPO_KEY
        + [f"{c}_{s}" for c in ("billable_bytes", "cost_usd_per_month") for s in ("before", "after", "delta")]
        + ["basis_before", "basis_after"]
    ]
    return out.sort_values(REPO_KEY, ignore_index=True)


def _capabilities(df: pd.DataFrame) -> pd.Series:
    names = [c.removeprefix("can_") for c in CAPABILITIES]
    flags = [df[c].fillna(False).astype(bool).to_numpy() for c in CAPABILITIES]
    return pd.Series(
        [", ".join(n for n, f in zip(names, row) if f) for row in zip(*flags)] if len(df) else [],
        index=df.index,
        dtype=object,
    )


def _grants(o, n, units) -> tuple[pd.DataFrame, pd.DataFrame]:
    go, gn = o.grants, n.grants
    go, gn = go[_unit_mask(go, units)].copy(), gn[_unit_mask(gn, units)].copy()
    res_key = GRANT_KEY[:-1]
    for g in (go, gn):
        for c in GRANT_KEY:
            g[c] = g[c].fillna("").astype(str)
        g["capabilities"] = _capabilities(g)
    undetermined = {
        side: set(map(tuple, g.loc[g["exposure"] == "undetermined", res_key].to_numpy().tolist()))
        for side, g in (("before", go), ("after", gn))
    }
    keep = ["grantee_kind", "exposure", "capabilities", "severity"] + list(CAPABILITIES)
    m = go[GRANT_KEY + keep].merge(
        gn[GRANT_KEY + keep], on=GRANT_KEY, how="outer", suffixes=("_before", "_after"), indicator=True
    )
    m = m[~((m["exposure_before"] == "undetermined") & (m["exposure_after"] == "undetermined"))]
    rank_b = m["exposure_before"].map(EXPOSURE_RANK)
    rank_a = m["exposure_after"].map(EXPOSURE_RANK)
    gained = np.zeros(len(m), bool)
    lost = np.zeros(len(m), bool)
    for c in CAPABILITIES:
        b = m[f"{c}_before"].fillna(False).astype(bool).to_numpy()
        a = m[f"{c}_after"].fillna(False).astype(bool).to_numpy()
        gained |= a & ~b
        lost |= b & ~a
    res = [tuple(r) for r in m[res_key].to_numpy().tolist()]
    undet_now = np.array([r in undetermined["after"] for r in res], bool)
    undet_then = np.array([r in undetermined["before"] for r in res], bool)
    only_old, only_new = (m["_merge"] == "left_only").to_numpy(), (m["_merge"] == "right_only").to_numpy()
    both = ~only_old & ~only_new
    either_undetermined = (m["exposure_before"] == "undetermined") | (m["exposure_after"] == "undetermined")
    # The placeholder row of a resource whose policy could not be read: reported only when the
    # other side had no grant on the resource to report as undetermined itself.
    placeholder = (only_new & (m["exposure_after"] == "undetermined").to_numpy()) | (
        only_old & (m["exposure_before"] == "undetermined").to_numpy()
    )
    determined = {
        side: set(map(tuple, g.loc[g["exposure"] != "undetermined", res_key].to_numpy().tolist()))
        for side, g in (("before", go), ("after", gn))
    }
    other_side = np.array(
        [r in determined["before" if new_row else "after"] for r, new_row in zip(res, only_new)], bool
    )
    change = np.select(
        [
            placeholder & other_side,
            (only_old & undet_now) | (only_new & undet_then) | (both & either_undetermined.to_numpy()),
            only_new,
            only_old,
            both & ((rank_a > rank_b).to_numpy() | gained),
            both & ((rank_a < rank_b).to_numpy() | lost),
        ],
        ["", "undetermined", "added", "removed", "widened", "narrowed"],
        "",
    )
    m = m.assign(change=change)
    m = m[m["change"] != ""]
    m = m.assign(grantee_kind=m["grantee_kind_after"].fillna(m["grantee_kind_before"]))
    out = m[
        ["change"]
        + GRANT_KEY
        + ["grantee_kind", "exposure_before", "exposure_after", "capabilities_before", "capabilities_after"]
        + ["severity_before", "severity_after"]
    ].sort_values(["change"] + GRANT_KEY, ignore_index=True)

    def public(g):
        r = g[(g["scope"] == "repository") & (g["exposure"] == "public")]
        return r[REPO_KEY].drop_duplicates()

    new_public = public(gn).merge(public(go), on=REPO_KEY, how="left", indicator=True)
    new_public = new_public.loc[new_public["_merge"] == "left_only", REPO_KEY].reset_index(drop=True)
    return out, new_public


def _normalized(text) -> str:
    """Policy JSON with sorted keys and one indentation, so that only meaning changes show."""
    if not isinstance(text, str):
        return ""
    try:
        return json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return text


def _policies(o, n, units) -> pd.DataFrame:
    parts = []
    for kind, (_, key, _, _) in POLICY_FRAMES.items():
        (po, bad_o), (pn, bad_n) = o.policies[kind], n.policies[kind]
        po, pn = po[_unit_mask(po, units)], pn[_unit_mask(pn, units)]
        m = po.merge(pn, on=key, how="outer", suffixes=("_before", "_after"))
        bad = pd.concat([bad_o, bad_n]).drop_duplicates()
        if len(bad):
            m = m.merge(bad.assign(_bad=True), on=key, how="left")
            m = m[m["_bad"].isna()]
        # Normalizing parses the JSON: only for texts that differ at all (most are identical).
        m = m[m["policy_text_before"].fillna("\x00") != m["policy_text_after"].fillna("\x00")]
        m = m.assign(
            before=m["policy_text_before"].map(_normalized), after=m["policy_text_after"].map(_normalized)
        )
        m = m[m["before"] != m["after"]]
        if not len(m):
            continue
        change = np.where(m["before"] == "", "added", np.where(m["after"] == "", "removed", "changed"))
        text = [
            "\n".join(difflib.unified_diff(b.splitlines(), a.splitlines(), "before", "after", lineterm=""))
            for b, a in zip(m["before"], m["after"])
        ]
        parts.append(
            m.assign(kind=kind, change=change, diff=text, repository_name=m.get("repository_name", ""))[
                ["kind", "change"] + REPO_KEY + ["policy_text_before", "policy_text_after", "diff"]
            ]
        )
    cols = ["kind", "change"] + REPO_KEY + ["policy_text_before", "policy_text_after", "diff"]
    if not parts:
        return pd.DataFrame(columns=cols)
    return pd.concat(parts, ignore_index=True).sort_values(["kind", "change"] + REPO_KEY, ignore_index=True)


LIFECYCLE_COLUMNS = ["change"] + IMAGE_KEY + ["tags", "action", "rule_priority", "size_bytes", "pushed_at"]


def _lifecycle(n: Inventory, policies) -> pd.DataFrame:
    """Images of `n` that a changed lifecycle policy now acts on, or no longer acts on: each
    repository's new policy and its old one simulated on the same (newer) images and time."""
    changed = policies[policies["kind"] == "lifecycle"] if len(policies) else policies
    if not len(changed):
        return pd.DataFrame(columns=LIFECYCLE_COLUMNS)
    repos = changed[REPO_KEY].merge(n.repositories[REPO_KEY], on=REPO_KEY)
    if not len(repos):
        return pd.DataFrame(columns=LIFECYCLE_COLUMNS)
    now = lifecycle.simulate(n, repositories=repos)
    then = [
        lifecycle.simulate(n, policy=text, repositories=group[REPO_KEY])
        for text, group in changed.dropna(subset=["policy_text_before"]).groupby("policy_text_before")
    ]
    then = pd.concat([t for t in then if len(t)], ignore_index=True) if any(len(t) for t in then) else now[:0]
    key = IMAGE_KEY + ["action"]
    now_before, then_now = _membership(_key(now, key), _key(then, key))
    out = pd.concat(
        [
            now[~now_before].assign(change="now_acts"),
            then[~then_now].assign(change="no_longer_acts"),
        ],
        ignore_index=True,
    )
    return out[LIFECYCLE_COLUMNS].sort_values(["change"] + IMAGE_KEY, ignore_index=True)


def _coverage(o, n) -> pd.DataFrame:
    co, cn = o.coverage, n.coverage
    m = co.merge(cn, on=["account_id", "region"], how="outer", suffixes=("_before", "_after"))
    read_b = m["status_before"].isin(READ)
    read_a = m["status_after"].isin(READ)
    m = m.assign(
        change=np.where(read_b & ~read_a, "no_longer_read", np.where(read_a & ~read_b, "newly_read", ""))
    )
    return m[m["change"] != ""][
        ["change", "account_id", "region", "status_before", "status_after"]
    ].sort_values(["change", "account_id", "region"], ignore_index=True)


# -- output: text for terminals, one long table for CSV, JSON ----------------------------------------


def terminal_text(value) -> str:
    """AWS text for a terminal line: controls and bidi escaped (`export.visible`), and the line
    breaks and tabs it may hold too, so no value can forge or overwrite a line."""
    from .export import visible

    if value is None or (not isinstance(value, (list, tuple, dict)) and pd.isna(value)):
        return ""
    text = ", ".join(map(str, value)) if isinstance(value, (list, tuple)) else str(value)
    return visible(text).replace("\r", "\\r").replace("\n", "\\n").replace("\t", "\\t")


def _where(row) -> str:
    parts = [row.get("account_id"), row.get("region"), row.get("repository_name")]
    return "/".join(terminal_text(p) for p in parts if isinstance(p, str) and p)


TABLE_COLUMNS = ["section", "change", "account_id", "region", "repository_name", "item", "before", "after"]


def to_table(c: Changes) -> pd.DataFrame:
    """Every change as one row (TABLE_COLUMNS): the CSV of `ecr-audit diff --format csv`."""
    rows = []
    f = c.findings[c.findings["state"] != "persisting"]
    for r in f.to_dict("records"):
        rows.append(
            ("findings", r["state"], r, f"{r['severity']} {r['finding_id']}", r["resource_arn"], r["details"])
        )
    for r in c.repositories.to_dict("records"):
        rows.append(("repositories", r["change"], r, r["repository_arn"], None, None))
    for r in c.images.to_dict("records"):
        if r["change"] == "tag_moved":
            rows.append(("images", r["change"], r, r["tag"], r["old_digest"], r["new_digest"]))
        else:
            rows.append(("images", r["change"], r, r["image_digest"], None, terminal_text(r["tags"])))
    for r in c.grants.to_dict("records"):
        before = (
            f"{r['exposure_before']}: {r['capabilities_before']}"
            if isinstance(r["exposure_before"], str)
            else None
        )
        after = (
            f"{r['exposure_after']}: {r['capabilities_after']}"
            if isinstance(r["exposure_after"], str)
            else None
        )
        rows.append(("grants", r["change"], r, f"{r['scope']} grantee {r['grantee']}", before, after))
    for r in c.policies.to_dict("records"):
        rows.append(
            (
                "policies",
                r["change"],
                r,
                f"{r['kind']} policy",
                r["policy_text_before"],
                r["policy_text_after"],
            )
        )
    for r in c.lifecycle.to_dict("records"):
        rows.append(("lifecycle", r["change"], r, r["image_digest"], None, r["action"]))
    s = c.storage[c.storage["cost_usd_per_month_delta"].fillna(0) != 0]
    for r in s.to_dict("records"):
        rows.append(
            (
                "storage",
                "cost",
                r,
                "cost_usd_per_month",
                r["cost_usd_per_month_before"],
                r["cost_usd_per_month_after"],
            )
        )
    for r in c.coverage.to_dict("records"):
        rows.append(("coverage", r["change"], r, "account × region", r["status_before"], r["status_after"]))
    return pd.DataFrame(
        [
            (sec, ch, r.get("account_id"), r.get("region"), r.get("repository_name"), item, before, after)
            for sec, ch, r, item, before, after in rows
        ],
        columns=TABLE_COLUMNS,
    )


def to_json(c: Changes) -> dict:
    """The summary, both snapshots' provenance and every frame as records (JSON-ready)."""
    doc = {"got_worse": c.got_worse, "summary": c.summary(), "old": c.old_meta, "new": c.new_meta}
    for name in Changes.FRAMES:
        df = getattr(c, name)
        doc[name] = json.loads(df.to_json(orient="records", date_format="iso")) if len(df) else []
    return doc


def to_text(c: Changes, limit: int = 20) -> str:
    """The changes for a terminal or a log: what got worse first, then what got better, then the
    inventory, cost and coverage deltas; at most `limit` lines per list."""
    t = terminal_text
    s = c.summary()
    lines = [f"changes from {t(s['since'])} to {t(s['until'])}"]

    def listing(title, items):
        items = list(items)
        if not items:
            return
        lines.append(f"{title} ({len(items)}):")
        lines.extend(f"  {i}" for i in items[:limit])
        if len(items) > limit:
            lines.append(f"  ... and {len(items) - limit} more")

    f = c.findings
    worse_f = f[f["state"].isin(["new", "reopened"]) & f["severity"].isin(WORSE_SEVERITIES)]
    g = c.grants
    worse_g = g[
        (g["change"] == "widened") | ((g["change"] == "added") & g["exposure_after"].isin(WORSE_EXPOSURES))
    ]
    lines.append("GOT WORSE" if c.got_worse else "nothing got worse")
    listing(
        "new critical/high findings",
        (
            f"{r['severity']} {r['state']} {t(r['finding_id'])} {t(r['resource_arn'])}"
            for _, r in worse_f.iterrows()
        ),
    )
    listing(
        "wider grants",
        (
            f"{r['change']} {_where(r)} {t(r['scope'])} grantee {t(r['grantee'])}: "
            f"{t(r['exposure_before']) or '-'} -> {t(r['exposure_after'])} ({t(r['capabilities_after'])})"
            for _, r in worse_g.iterrows()
        ),
    )
    listing("repositories newly public", (_where(r) for _, r in c.new_public_repositories.iterrows()))
    other = f[f["state"].isin(["new", "reopened"]) & ~f.index.isin(worse_f.index)]
    listing(
        "other new findings",
        (f"{r['severity']} {t(r['finding_id'])} {t(r['resource_arn'])}" for _, r in other.iterrows()),
    )
    listing(
        "resolved findings",
        (
            f"{r['severity']} {t(r['finding_id'])} {t(r['resource_arn'])}"
            for _, r in f[f["state"] == "resolved"].iterrows()
        ),
    )
    listing(
        "findings not looked at this time (unknown, not resolved)",
        (
            f"{r['severity']} {t(r['finding_id'])} {t(r['resource_arn'])}"
            for _, r in f[f["state"] == "unknown"].iterrows()
        ),
    )
    listing(
        "other grant changes",
        (
            f"{r['change']} {_where(r)} grantee {t(r['grantee'])}: {t(r['exposure_before']) or '-'} -> "
            f"{t(r['exposure_after']) or '-'}"
            for _, r in g[~g.index.isin(worse_g.index)].iterrows()
        ),
    )
    listing("repositories", (f"{r['change']} {_where(r)}" for _, r in c.repositories.iterrows()))
    listing(
        "images",
        (
            f"tag {t(r['tag'])} moved in {_where(r)}: {t(r['old_digest'])} -> {t(r['new_digest'])}"
            if r["change"] == "tag_moved"
            else f"{r['change']} {_where(r)} {t(r['image_digest'])} {t(r['tags'])}"
            for _, r in c.images.iterrows()
        ),
    )
    listing("policies", (f"{r['kind']} policy {r['change']}: {_where(r)}" for _, r in c.policies.iterrows()))
    listing(
        "lifecycle (images a changed policy now acts on / no longer acts on)",
        (
            f"{r['change']} {r['action']} {_where(r)} {t(r['image_digest'])}"
            for _, r in c.lifecycle.iterrows()
        ),
    )
    listing(
        "coverage",
        (
            f"{r['change']} {_where(r)} ({t(r['status_before'])} -> {t(r['status_after'])})"
            for _, r in c.coverage.iterrows()
        ),
    )
    pct = f" ({s['cost_delta_pct']:+.1f}%)" if s["cost_delta_pct"] is not None else ""
    lines.append(
        f"storage cost per month: ${s['cost_usd_per_month_before']:,.2f} -> ${s['cost_usd_per_month_after']:,.2f}{pct} "
        "(account × region units read in both snapshots)"
    )
    lines.append(
        "summary: "
        + ", ".join(
            f"{k} {v}" for k, v in s.items() if k not in ("since", "until") and not k.startswith("cost")
        )
    )
    return "\n".join(lines) + "\n"


__all__ = [
    "CAPABILITIES",
    "Changes",
    "ChangesError",
    "EXPOSURE_RANK",
    "STATES",
    "STATE_COLUMNS",
    "comparable_problem",
    "diff",
    "finding_states",
    "looked",
    "read_units",
    "terminal_text",
    "to_json",
    "to_table",
    "to_text",
]
