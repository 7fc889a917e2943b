"""Evaluate lifecycle policies the way ECR does, for every repository at once.

Algorithm (docs/lifecycle.md#how-ecr-evaluates-a-policy; "inferred" marks our reading):
- A rule's selection M(r): images in the rule's storage class (ACTIVE → standard, ARCHIVED →
  archive; ACTIVATING images are in neither — inferred) whose tags satisfy tagStatus and every
  tagPrefixList / tagPatternList entry (each entry must match some tag; `*` matches any run of
  characters and the pattern spans the whole tag). Excluded from M(r): images listed by an index
  that exists (not actionable while it exists; by default also not ranked — inferred from one
  observed preview, docs/lifecycle.md#what-the-simulator-infers), and OCI referrers (they follow their subject).
- All rules evaluate together; each image is claimed by the highest-priority (lowest number)
  rule whose selection matches it, even if that rule keeps it; only the claiming rule may act.
- imageCountMoreThan ranks M(r) — claimed-elsewhere images included — youngest first by push
  time (lastActivatedAt for restored images); ties break by digest (undocumented).
- sinceImagePushed / sinceImagePulled / sinceImageTransitioned compare with `as_of` minus
  countNumber days, strictly older (day rounding undocumented). sinceImagePushed uses the same
  push time as ranking (inferred); never-pulled images use push (or restore) time;
  sinceImageTransitioned never acts on images archived less than 90 days. Ages are computed in
  Python integers and saturate: a countNumber of 400,000 days (beyond the int64 nanoseconds of
  pandas timestamps) selects nothing instead of wrapping around (issue 12 #9), and `as_of` may
  lie beyond pandas' nanosecond range.
- tagPatternList / tagPrefixList are matched with `ecr_audit.wildcard` (`*` only, case-sensitive,
  the whole tag), never a backtracking regex.
- Referrers of acted-on subjects follow with the same action (within 24 h in ECR).
Not simulated: children of an expired index become ordinary untagged images only at the *next*
evaluation, so a single run does not remove them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import consumers, ecr, images, times, wildcard
from ..blobs import attributed_freed_bytes_rows
from ..keys import digest_rows, keys, reference_rows
from ..schema import IMAGE_KEY, REPO_KEY
from ..times import NAT, to_ns
from .policy import ARCHIVE_MINIMUM_DAYS, Policy, parse

COLUMNS = IMAGE_KEY + [
    "tags",
    "image_status",
    "storage_class",
    "rule_priority",
    "action",
    "target_storage_class",
    "reason",
    "pushed_at",
    "last_pulled_at",
    "size_bytes",
    "freed_bytes",
    "is_decided",
    "undecided_reason",
    "policy_source",
    "in_use",
    "consumers",
]
_DAY_NS = 86_400 * 10**9
_INT64 = np.iinfo(np.int64)
_UNIT_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}


def ns_since_epoch(ts: pd.Timestamp) -> int:
    """`ts` as nanoseconds since 1970 in a Python int: exact for any date pandas holds, also past
    the year 2262 where `Timestamp.value` raises."""
    return int(ts.asm8.astype(np.int64)) * _UNIT_NS[ts.unit]


def older_than(t: np.ndarray, now_ns: int, days: int) -> np.ndarray:
    """Which int64-ns times (NaT excluded) lie strictly before `now_ns` minus `days` days; the
    arithmetic is done on Python ints, so it saturates instead of wrapping."""
    cutoff = now_ns - int(days) * _DAY_NS
    known = t != NAT
    if cutoff > _INT64.max:
        return known
    if cutoff <= _INT64.min + 1:
        return np.zeros(len(t), bool)
    return known & (t < cutoff)


def days_since(t: np.ndarray, now_ns: int) -> np.ndarray:
    """Whole days from each int64-ns time to `now_ns` (-1 for NaT), without int64 overflow:
    floor((now - t) / day) = (q_now - q_t) - (r_now < r_t) for quotients q and remainders r."""
    q_now, r_now = divmod(now_ns, _DAY_NS)
    q_t, r_t = np.divmod(t, _DAY_NS)
    idle = (q_now - q_t) - (r_now < r_t)
    return np.where(t != NAT, idle, -1)


def _policies_for(inv, policy, repositories) -> tuple[pd.DataFrame, dict[int, Policy], str]:
    """Repository → policy id, and the parsed policies (only valid ones are evaluated)."""
    if policy is None:
        assign = inv.lifecycle_policies[REPO_KEY + ["policy_text"]].copy()
        source = "repository"
    else:
        repos = pd.concat([inv.repositories[REPO_KEY], inv.images[REPO_KEY]]).drop_duplicates()
        assign = repos.assign(policy_text=0)
        source = "proposed"
    if repositories is not None:
        if isinstance(repositories, pd.DataFrame):
            assign = assign.merge(repositories[REPO_KEY].drop_duplicates(), on=REPO_KEY)
        else:
            assign = assign[assign["repository_name"].isin(list(repositories))]
    parsed: dict[int, Policy] = {}
    if policy is None:
        codes, uniques = pd.factorize(assign["policy_text"])
        assign = assign.assign(policy_id=codes)
        for i, text in enumerate(uniques):
            parsed[i] = parse(text)
    else:
        assign = assign.assign(policy_id=0)
        parsed[0] = policy if isinstance(policy, Policy) else parse(policy)
    valid = {i for i, p in parsed.items() if p.is_valid and p.rules}
    return assign[assign["policy_id"].isin(valid)][REPO_KEY + ["policy_id"]], parsed, source


def _rule_table(parsed: dict[int, Policy], ids) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, entries = [], []
    for pid in ids:
        for r in parsed[pid].rules:
            rid = len(rows)
            rows.append(
                {
                    "rule_id": rid,
                    "policy_id": pid,
                    "priority": r.priority,
                    "tag_status": r.tag_status,
                    # saturated: no rank or age in days reaches 2**63 - 1 anyway
                    "count_type": r.count_type,
                    "count_number": min(r.count_number, int(_INT64.max)),
                    "action": r.action,
                    "storage_class": r.storage_class,
                    "target_storage_class": r.target_storage_class,
                    "n_entries": len(r.tag_prefixes) + len(r.tag_patterns),
                    "summary": r.summary(),
                }
            )
            for j, p in enumerate(r.tag_prefixes):
                entries.append({"rule_id": rid, "entry": j, "kind": "prefix", "pattern": p})
            for j, p in enumerate(r.tag_patterns):
                entries.append({"rule_id": rid, "entry": j, "kind": "pattern", "pattern": p})
    return pd.DataFrame(rows), pd.DataFrame(entries, columns=["rule_id", "entry", "kind", "pattern"])


def _image_facts(inv, as_of) -> pd.DataFrame:
    im = inv.images.reset_index(drop=True)
    ref = inv.manifest_references
    f = pd.DataFrame({"img": np.arange(len(im))})
    f["is_tagged"] = (im["tags"].map(len) > 0).to_numpy()
    status = im["image_status"].fillna("ACTIVE")
    f["cls"] = np.select([status == "ACTIVE", status == "ARCHIVED"], ["standard", "archive"], default="")
    referenced = np.zeros(len(im), bool)
    referrer = im["subject_digest"].notna().to_numpy().copy()
    if len(ref):
        src, tgt = reference_rows(inv)
        kids = (ref["kind"] == "index_child").to_numpy() & (src >= 0) & (tgt >= 0)
        referenced[tgt[kids]] = True
        subj = (ref["kind"] == "referrer_subject").to_numpy() & (src >= 0)
        referrer[src[subj]] = True
    f["referenced"] = referenced
    f["referrer"] = referrer
    pushed = to_ns(im["pushed_at"])
    activated = to_ns(im["last_activated_at"])
    pulled = to_ns(im["last_pulled_at"])
    nat = NAT
    f["push_t"] = np.where(activated != nat, activated, pushed)
    # Restored but not pulled since: lastActivatedAt (documented rule 9).
    f["pull_t"] = np.where(pulled != nat, np.maximum(pulled, activated), f["push_t"].to_numpy())
    f["archived_t"] = to_ns(im["last_archived_at"])
    f["digest"] = im["image_digest"].to_numpy()
    f["repository_key"] = keys(inv).image_repo
    f["is_index"] = im["manifest_media_type"].isin(ecr.INDEX_TYPES).to_numpy()
    return f


def simulate(
    inv, policy=None, as_of=None, repositories=None, rank_index_children: bool = False
) -> pd.DataFrame:
    """What lifecycle would do now: one row per image expired or transitioned.

    policy: None → each repository's own policy (inv.lifecycle_policies); text, dict or
    `Policy` → that policy applied to every repository (or to `repositories`: names or a frame
    with account_id, region, repository_name) as a what-if. Invalid policies are not evaluated
    (see `lint`). freed_bytes: blob-aware bytes leaving the rule's storage class, per repository
    (each freed blob counted on one image; null when the repository's blobs are unknown).
    is_decided is false where manifests were not read in a repository that has indexes: which
    untagged images are index children (never actionable) is then unknown, and so are the ranks.
    rank_index_children: count index children in imageCountMoreThan ranks (undocumented).
    in_use / consumers: whether a consumer uses the image (yes | no | unknown,
    `consumers.in_use`) and which ("name (account, kind)"): expiring or archiving an image in use
    is the critical finding `ecr_lifecycle_expires_in_use_image`.
    """
    now = times.as_of(inv, as_of)
    now_ns = ns_since_epoch(now)
    im = inv.images.reset_index(drop=True)
    assign, parsed, source = _policies_for(inv, policy, repositories)
    if im.empty or assign.empty:
        return pd.DataFrame(columns=COLUMNS)
    rules, entries = _rule_table(parsed, sorted(assign["policy_id"].unique()))
    facts = _image_facts(inv, now)
    k = keys(inv)
    repo_policy = np.full(k.n_repos, -1, np.int64)
    a_repo = k.repo_ids(assign)
    first = ~pd.Series(a_repo).duplicated().to_numpy() & (a_repo >= 0)  # the first policy row per repository
    repo_policy[a_repo[first]] = assign["policy_id"].to_numpy()[first]
    facts["policy_id"] = repo_policy[k.image_repo]
    facts = facts[facts["policy_id"] >= 0]

    pairs = facts.merge(rules, on="policy_id")
    pairs = pairs[(pairs["cls"] == pairs["storage_class"]) & ~pairs["referrer"]]
    if not rank_index_children:
        pairs = pairs[~pairs["referenced"]]
    ts = pairs["tag_status"]
    untagged_ok = (ts == "untagged") & ~pairs["is_tagged"]
    tagged = (ts == "tagged") & pairs["is_tagged"]
    pairs = pairs[untagged_ok | tagged | (ts == "any")]
    pairs = _tag_match(im, pairs, entries)

    # Claim: the highest-priority rule whose selection matches the image.
    claim = pairs.groupby("img")["priority"].transform("min")
    pairs["claimed"] = pairs["priority"] == claim
    pairs["actionable"] = ~pairs["referenced"]

    cand = np.zeros(len(pairs), bool)
    reason = np.full(len(pairs), "", dtype=object)
    ct = pairs["count_type"].to_numpy()
    n = pairs["count_number"].to_numpy()
    count = ct == "imageCountMoreThan"
    if count.any():
        c = pairs[count].sort_values(
            ["rule_id", "repository_key", "push_t", "digest"], ascending=[True, True, False, True]
        )
        rank = c.groupby(["rule_id", "repository_key"], sort=False).cumcount() + 1
        total = c.groupby(["rule_id", "repository_key"], sort=False)["img"].transform("size")
        hit = (rank > c["count_number"]).reindex(pairs.index, fill_value=False).to_numpy()
        cand |= hit
        r_txt = (
            "rank "
            + rank.astype(str)
            + " of "
            + total.astype(str)
            + " by push time, keeps "
            + c["count_number"].astype(str)
        ).reindex(pairs.index)
        reason = np.where(count, r_txt.fillna("").to_numpy(), reason)
    for kind, col, floor in (
        ("sinceImagePushed", "push_t", 0),
        ("sinceImagePulled", "pull_t", 0),
        ("sinceImageTransitioned", "archived_t", ARCHIVE_MINIMUM_DAYS),
    ):
        m = ct == kind
        if not m.any():
            continue
        days = np.maximum(n.astype(np.int64), floor)
        t = pairs[col].to_numpy()
        for d in np.unique(days[m]):
            sel = m & (days == d)
            cand[sel] |= older_than(t[sel], now_ns, d)
        idle = days_since(t, now_ns)
        what = {"push_t": "pushed", "pull_t": "last pulled (or pushed/restored)", "archived_t": "archived"}[
            col
        ]
        reason = np.where(m, what + " " + idle.astype(str) + " days ago, limit " + days.astype(str), reason)
    acted = pairs[cand & pairs["claimed"].to_numpy() & pairs["actionable"].to_numpy()].copy()
    acted["reason"] = acted["summary"] + ": " + pd.Series(reason, index=pairs.index)[acted.index]
    acted = acted[["img", "priority", "action", "target_storage_class", "reason", "tag_status"]]
    acted = pd.concat([acted, _follow_referrers(inv, im, facts, acted)], ignore_index=True)
    return _rows(inv, im, facts, acted, source)


def _tag_match(im: pd.DataFrame, pairs: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """Keep pairs whose rule has no tag entries, or whose every entry matches some image tag."""
    need = pairs["n_entries"] > 0
    if not need.any():
        return pairs
    p = pairs.loc[need, ["img", "rule_id", "n_entries"]]
    tags = im["tags"].explode().dropna()
    tag_rows = pd.DataFrame({"img": tags.index.to_numpy(), "tag": tags.astype(str).to_numpy()})
    j = p.merge(entries, on="rule_id").merge(tag_rows, on="img")
    ok = np.zeros(len(j), bool)
    for (kind, pattern), idx in j.groupby(["kind", "pattern"], sort=False).indices.items():
        tags = j["tag"].iloc[idx]
        if kind == "prefix":
            ok[idx] = tags.str.startswith(pattern).to_numpy(dtype=bool)
            continue
        glob = wildcard.compile(pattern, single=False)
        hit = {t: glob.match(t) for t in pd.unique(tags)}
        ok[idx] = tags.map(hit).to_numpy(dtype=bool)
    hits = j[ok].drop_duplicates(["img", "rule_id", "entry"]).groupby(["img", "rule_id"]).size()
    full = (
        hits.rename("_hits").reset_index().merge(p.drop_duplicates(["img", "rule_id"]), on=["img", "rule_id"])
    )
    full = full[full["_hits"] == full["n_entries"]][["img", "rule_id"]]
    matched = pairs[need].merge(full, on=["img", "rule_id"])
    return pd.concat([pairs[~need], matched], ignore_index=True)


def _follow_referrers(inv, im, facts, acted) -> pd.DataFrame:
    """OCI referrers follow their subject (ECR acts on them within 24 h of the subject)."""
    cols = ["img", "priority", "action", "target_storage_class", "reason", "tag_status"]
    sub = im["subject_digest"]
    has = sub.notna().to_numpy() & np.isin(np.arange(len(im)), facts["img"].to_numpy())
    if not has.any() or acted.empty:
        return pd.DataFrame(columns=cols)
    subj_idx = np.full(len(im), -1)
    subj_idx[has] = digest_rows(inv, sub[has], np.flatnonzero(has))
    out, done = [], set(acted["img"])
    frontier = acted.set_index("img")
    while not frontier.empty:
        m = np.isin(subj_idx, frontier.index.to_numpy()) & ~np.isin(np.arange(len(im)), list(done))
        if not m.any():
            break
        kids = np.flatnonzero(m)
        parent = frontier.loc[subj_idx[kids]]
        f = pd.DataFrame(
            {
                "img": kids,
                "priority": parent["priority"].to_numpy(),
                "action": parent["action"].to_numpy(),
                "target_storage_class": parent["target_storage_class"].to_numpy(),
                "reason": "follows its subject "
                + im.loc[subj_idx[kids], "image_digest"].to_numpy()
                + " (OCI referrer; ECR acts within 24 h)",
                "tag_status": parent["tag_status"].to_numpy(),
            }
        )
        out.append(f)
        done |= set(kids)
        frontier = f.set_index("img")
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame(columns=cols)


def _rows(inv, im, facts, acted, source) -> pd.DataFrame:
    if acted.empty:
        return pd.DataFrame(columns=COLUMNS)
    idx = acted["img"].to_numpy().astype(int)
    out = im.loc[
        idx, IMAGE_KEY + ["tags", "image_status", "pushed_at", "last_pulled_at", "size_bytes"]
    ].reset_index(drop=True)
    out["storage_class"] = facts.set_index("img").loc[idx, "cls"].to_numpy()
    out["rule_priority"] = acted["priority"].astype("Int64").to_numpy()
    out["action"] = acted["action"].to_numpy()
    out["target_storage_class"] = acted["target_storage_class"].to_numpy()
    out["reason"] = acted["reason"].to_numpy()
    out["freed_bytes"] = pd.array([pd.NA] * len(out), dtype="Int64")
    for (_action, _cls), grp in out.groupby(["action", "storage_class"]).groups.items():
        pos = out.index.get_indexer(grp)
        out.loc[grp, "freed_bytes"] = attributed_freed_bytes_rows(inv, idx[pos])
    # Undecidable: untagged selections in repositories with indexes whose children are unknown.
    k = keys(inv)
    known_repo, _reason = images.graph_known_by_repo(inv)
    has_index = (
        np.bincount(
            k.image_repo[facts["img"].to_numpy()], weights=facts["is_index"].to_numpy(), minlength=k.n_repos
        )
        > 0
    )
    repo = k.image_repo[idx]
    unknown = ~known_repo[repo] & has_index[repo]
    selects_untagged = acted["tag_status"].isin(["untagged", "any"]).to_numpy()
    undecided = unknown & selects_untagged
    out["is_decided"] = ~undecided
    out["undecided_reason"] = np.where(
        undecided,
        "index children unknown (manifests not read): the image may be an index child ECR "
        "will not act on, and imageCountMoreThan ranks may differ",
        "",
    )
    out["policy_source"] = source
    # What lifecycle would break (docs/consumers.md#in-use): in use yes | no | unknown, and who.
    iu = consumers.in_use_by_row(inv)
    out["in_use"] = pd.Series(iu["in_use"].to_numpy(dtype=object)[idx], dtype="str")
    out["consumers"] = pd.Series(iu["consumer_names"].to_numpy(dtype=object)[idx], dtype="str")
    return out[COLUMNS].sort_values(REPO_KEY + ["rule_priority", "pushed_at"]).reset_index(drop=True)


def summary(sim: pd.DataFrame) -> pd.DataFrame:
    """Per repository × action: images acted on, bytes freed (null if unknown), undecided rows."""
    if sim.empty:
        return pd.DataFrame(columns=REPO_KEY + ["action", "images", "freed_bytes", "undecided_images"])
    s = sim.assign(_unknown=sim["freed_bytes"].isna(), _undecided=~sim["is_decided"].astype(bool))
    out = (
        s.groupby(REPO_KEY + ["action"], observed=True)
        .agg(
            images=("image_digest", "size"),
            freed_bytes=("freed_bytes", "sum"),
            _unknown=("_unknown", "any"),
            undecided_images=("_undecided", "sum"),
        )
        .reset_index()
    )
    out["freed_bytes"] = out["freed_bytes"].astype("Int64").mask(out.pop("_unknown"))
    return (
        out.astype({"images": "Int64", "undecided_images": "Int64"})
        .sort_values("freed_bytes", ascending=False, na_position="last")
        .reset_index(drop=True)
    )
