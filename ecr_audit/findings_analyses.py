"""Findings from the analyses (access, images, lifecycle, cost): `CHECKS`, in report order.

Access grants become `ecr_<scope>_<exposure>_<capability>` findings; the analyses' own finding
rows (`ecr_policy_*` from access, `ecr_lifecycle_*` from lifecycle lint) pass through with their
ids; image findings are rolled up per repository so an organization of millions of images yields
a readable list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import access, consumers, cost, ecr, images, lifecycle
from .findings_check import (
    EVIDENCE_FIRST,
    Check,
    check,
    memoized,
    partition,
    registry_arns,
    repository_arns,
    resource_arns,
)
from .keys import keys
from .schema import IMAGE_KEY

CAPABILITIES = ["pull", "push", "delete", "manage"]


def _grants(inv, memo):
    return memoized(memo, "grants", lambda: access.grants(inv))


def _listed(values: pd.Series) -> pd.Series:
    """Each value as a list of one (evidence lists), an empty list for a null or empty value."""
    return values.map(lambda v: [v] if isinstance(v, str) and v else [])


def _text(values) -> str:
    """Lists (statement ids, condition keys) as readable text."""
    if values is None or (isinstance(values, float) and pd.isna(values)):
        return ""
    if isinstance(values, str):
        return values
    return ", ".join(map(str, values))


def _grant_evidence(g: pd.DataFrame) -> dict[str, pd.Series]:
    """The evidence of grant rows (`access.grants` columns): who, by which statements, how far."""
    can = g[[f"can_{c}" for c in CAPABILITIES]].fillna(False).astype(bool).to_numpy()
    return {
        "scope": g["scope"],
        "grantee": g["grantee"].astype(str),
        "grantee_kind": g["grantee_kind"],
        "statement_ids": g["statement_ids"],
        "actions": g["actions"],
        "capabilities": pd.Series(
            [[c for c, y in zip(CAPABILITIES, row) if y] for row in can], index=g.index
        ),
        "exposure": g["exposure"],
        "effective_exposure": g["effective_exposure"],
        "effective_basis": g["effective_basis"],
        "restricted_by": g["restricted_by"],
        "neutralized_by": g["neutralized_by"],
    }


def _grant_texts(inv, memo) -> pd.DataFrame:
    """Per grant (`access.grants` row, same index): the ARN and details text of its findings,
    whatever the check; computed once per run, each access check selects its rows."""

    def compute() -> pd.DataFrame:
        g = _grants(inv, memo)
        effective = [
            _effective_text(*values)
            for values in zip(
                g["exposure"], g["effective_exposure"], g["effective_basis"], g["neutralized_by"]
            )
        ]
        narrowed = g["restricted_by"].map(_text)
        details = (
            "grantee "
            + g["grantee"].astype(str)
            + " via statement(s) "
            + g["statement_ids"].map(_text)
            + narrowed.map(lambda r: f"; narrowed only by network conditions ({r})" if r else "")
            + "; "
            + pd.Series(effective, index=g.index, dtype="str")
        )
        return pd.DataFrame({"resource_arn": resource_arns(inv, g), "details": details}, index=g.index)

    return memoized(memo, "grant_texts", compute)


def _grant_rows(inv, memo, scope: str, exposure: str, capability: str, severity: str) -> pd.DataFrame:
    g = _grants(inv, memo)
    keep = (
        (g["scope"] == scope)
        & (g["exposure"] == exposure)
        & g[f"can_{capability}"].fillna(False).astype(bool)
    )
    if not keep.any():
        return pd.DataFrame()
    texts = _grant_texts(inv, memo)[keep]
    g = g[keep]
    # Network conditions (source VPC/IP) do not confine who can call, but they do shrink the reach.
    restricted = g["is_network_restricted"].fillna(False).astype(bool).to_numpy()
    sev = np.where(restricted, ecr.severity_below(severity), severity).astype(object)
    # An RCP that provably takes the grant's reach (or this capability) away leaves the policy's
    # finding, at low severity: the policy still says it, the organization does not let it happen.
    neutralized = [
        _neutralized(eff, can, exposure)
        for eff, can in zip(g["effective_exposure"], g[f"effective_can_{capability}"])
    ]
    sev[np.array(neutralized, dtype=bool)] = "low"
    return pd.DataFrame(
        {
            "resource_arn": texts["resource_arn"],
            "account_id": g["account_id"],
            "region": g["region"],
            "repository_name": g["repository_name"].fillna(""),
            "details": texts["details"],
            "severity": pd.Series(sev, index=g.index, dtype=object),
            "uid_key": g["grantee"].astype(str),
            "capability": capability,
            **_grant_evidence(g),
        }
    )


def _effective_text(exposure, effective, basis, neutralized_by) -> str:
    """The policy's exposure beside the effective one, and why."""
    text = f"policy exposure {exposure}, effective after RCPs {effective} ({basis})"
    by = _text(neutralized_by)
    return text + (f"; narrowed by {by}" if by else "")


def _neutralized(effective, can, exposure: str) -> bool:
    """Whether the RCPs provably take away the reach `exposure` or the capability (`can`: the
    grant's effective_can_<capability>)."""
    if effective == "undetermined":
        return False
    still = access.EFFECTIVE_ORDER.index(effective) <= access.EFFECTIVE_ORDER.index(exposure)
    return not still or (can is not None and not pd.isna(can) and not bool(can))


_VERB = {
    "pull": "pull images",
    "push": "push images",
    "delete": "delete images or the repository",
    "manage": "change its policies or settings",
}
_WHO = {"public": "Anyone (public)", "external": "An account outside the organization"}


def _grant_checks() -> tuple[Check, ...]:
    """Per exposure (public, external): a check per repository capability, one for registry
    policies and one for creation templates."""
    out = []
    for exposure in ("public", "external"):
        for cap in CAPABILITIES:
            sev = {"public": {"pull": "high"}, "external": {"pull": "medium"}}[exposure].get(
                cap, "critical" if exposure == "public" else "high"
            )

            @check(
                f"ecr_repository_{exposure}_{cap}",
                sev,
                f"{_WHO[exposure]} can {_VERB[cap]}",
                "Remove or narrow the repository policy statement (Principal, or a condition on "
                "aws:PrincipalOrgID / aws:PrincipalAccount); see the cross-account access report.",
            )
            def _repo(inv, memo, exposure=exposure, cap=cap, sev=sev):
                return _grant_rows(inv, memo, "repository", exposure, cap, sev)

            out.append(_repo)

        @check(
            f"ecr_registry_{exposure}_access",
            "high",
            f"{_WHO[exposure]} is granted ECR actions by a registry policy",
            "Narrow the registry policy (put-registry-policy); with REGISTRY_POLICY_SCOPE V2 it applies to every "
            "repository of the registry.",
        )
        def _registry(inv, memo, exposure=exposure):
            rows = [_grant_rows(inv, memo, "registry", exposure, c, "high") for c in CAPABILITIES]
            # one finding per grant, whatever it allows: its evidence names the capabilities
            return (
                pd.concat(rows)
                .drop_duplicates(["resource_arn", "details"])
                .drop(columns="capability", errors="ignore")
            )

        @check(
            f"ecr_creation_template_{exposure}_access",
            "high",
            f"A repository creation template gives new repositories a policy open to {exposure} principals",
            "Fix the template's repositoryPolicy (update-repository-creation-template) before more "
            "repositories are created from it.",
        )
        def _template(inv, memo, exposure=exposure):
            g = _grants(inv, memo)
            g = g[(g["scope"] == "creation_template") & (g["exposure"] == exposure)]
            if g.empty:
                return pd.DataFrame()
            prefix = g["template_prefix"].fillna("").astype(str)
            return pd.DataFrame(
                {
                    "resource_arn": ecr.creation_template_arn(
                        partition(inv), g["region"].astype(str), g["account_id"].astype(str), prefix
                    ),
                    "account_id": g["account_id"],
                    "region": g["region"],
                    "repository_name": "",
                    "details": "template " + prefix + " grants " + g["grantee"].astype(str),
                    "uid_key": g["grantee"].astype(str),
                    **_grant_evidence(g),
                }
            )

        out += [_registry, _template]
    return tuple(out)


def _passthrough(inv, f: pd.DataFrame, key_columns: list[str], evidence=lambda f: {}) -> pd.DataFrame:
    """An analysis's own finding rows (finding_id, severity, account/region/repository, message);
    `key_columns` tell rows of one kind on one resource apart for the stable uid; `evidence(f)`
    gives the rows' evidence columns."""
    if f.empty:
        return f
    key = f[key_columns].astype("string").fillna("").agg("|".join, axis=1)
    return pd.DataFrame(
        {
            "finding_id": f["finding_id"],
            "severity": f["severity"],
            "resource_arn": resource_arns(inv, f),
            "account_id": f["account_id"],
            "region": f["region"],
            "repository_name": f["repository_name"].fillna(""),
            "title": f["finding_id"].str.replace("_", " ").str.removeprefix("ecr "),
            "details": f["message"],
            "uid_key": key,
            **evidence(f),
        }
    )


@check("ecr_policy_*", "medium", "Policy quality", "See the finding's details; fix or remove the statement.")
def _policy_findings(inv, memo):
    return _passthrough(
        inv,
        access.policy_findings(inv),
        ["scope", "template_prefix", "statement_id", "subject"],
        lambda f: {
            "scope": f["scope"],
            "subject": f["subject"],
            "statement_ids": _listed(f["statement_id"]),
        },
    )


@check(
    "ecr_registry_replicates_outside_org",
    "high",
    "Images are replicated to an account outside the organization",
    "Remove the replication rule (put-replication-configuration) or confirm the destination is trusted.",
)
def _replication(inv, memo):
    r = access.replication(inv)
    r = r[r["relation"] == "external"]
    if r.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "resource_arn": registry_arns(inv, r),
            "account_id": r["account_id"],
            "region": r["region"],
            "repository_name": "",
            "details": "to account "
            + r["destination_account_id"].astype(str)
            + " in "
            + r["destination_region"].astype(str),
            "uid_key": r["destination_account_id"].astype(str) + "|" + r["destination_region"].astype(str),
            "destination_account_id": r["destination_account_id"],
            "destination_region": r["destination_region"],
        }
    )


@check("ecr_lifecycle_*", "medium", "Lifecycle policy", "See the finding's details and the lifecycle report.")
def _lifecycle(inv, memo):
    return _passthrough(
        inv, lifecycle.lint(inv), ["rule_priority"], lambda f: {"rule_priority": f["rule_priority"]}
    )


_REPO = ["account_id", "region", "repository_name"]


def _reasons(df: pd.DataFrame) -> pd.Series:
    """Per repository: its distinct reasons, sorted (grouped on the few distinct repository ×
    reason pairs, not on every image)."""
    pairs = df[_REPO + ["reason"]].drop_duplicates().sort_values("reason")
    return pairs.groupby(_REPO, observed=True, sort=True)["reason"].agg(list)


def _first_digests(df: pd.DataFrame, index: pd.Index, by: str | None = None) -> pd.Series:
    """Per repository of `index` (REPO_KEY tuples): the digests of its first EVIDENCE_FIRST
    images, largest `by` first (nulls last), else in digest order. One sort, then one pass in
    Python (a groupby of lists costs more than the few rows it lists)."""
    ordered = df.sort_values(by, ascending=False, kind="stable") if by else df.sort_values("image_digest")
    first: dict = {}
    keys = zip(*(ordered[c].tolist() for c in _REPO))
    for key, digest in zip(keys, ordered["image_digest"].tolist()):
        digests = first.setdefault(key, [])
        if len(digests) < EVIDENCE_FIRST:
            digests.append(digest)
    return pd.Series([first.get(key, []) for key in index], index=index, dtype=object)


def _per_repository(inv, df: pd.DataFrame, details, by: str | None = None, **evidence) -> pd.DataFrame:
    """One finding per repository of `df` (image rows): `details(groups)`, the images counted and
    the first digests (`_first_digests`); `evidence`: more per-repository Series."""
    g = df.groupby(_REPO, observed=True, sort=True)
    size = g.size()
    out = pd.DataFrame(
        {
            "details": details(g),
            "images": size,
            "image_digests": _first_digests(df, size.index, by),
            **evidence,
        }
    ).reset_index()
    return pd.DataFrame(
        {
            "resource_arn": repository_arns(inv, out),
            "account_id": out["account_id"],
            "region": out["region"],
            "repository_name": out["repository_name"],
            **{c: out[c] for c in out.columns if c not in _REPO},
        }
    )


def _orphans(inv, memo):
    return memoized(memo, "orphans", lambda: images.orphans(inv))


@check(
    "ecr_repository_orphaned_images",
    "low",
    "Orphaned images take storage",
    "Delete them (batch-delete-image), or add a lifecycle rule for untagged images; indexes before their children.",
)
def _orphaned(inv, memo):
    o = _orphans(inv, memo)
    o = o[~o["reason"].isin(["dangling_signature", "dangling_referrer"])]
    if o.empty:
        return pd.DataFrame()
    o = o.assign(_unknown=o["reclaimable_bytes"].isna())
    by_repo = o.groupby(_REPO, observed=True, sort=True)
    reclaimable = by_repo["reclaimable_bytes"].sum().astype("Int64").where(~by_repo["_unknown"].any())
    reasons = _reasons(o)
    return _per_repository(
        inv,
        o,
        lambda g: (
            g.agg(n=("image_digest", "size"), unknown=("_unknown", "any"), b=("reclaimable_bytes", "sum"))
            .assign(
                r=reasons.map(", ".join),
                # one unknown figure makes the repository's total unknown: never shown as 0
                details=lambda d: (
                    d["n"].astype(str)
                    + " orphaned image(s) ("
                    + d["r"]
                    + "), "
                    + d["b"].astype("Int64").astype(str).where(~d["unknown"], "")
                    + " reclaimable bytes"
                ),
            )
            .assign(
                details=lambda d: d["details"].where(
                    ~d["unknown"],
                    d["n"].astype(str)
                    + " orphaned image(s) ("
                    + d["r"]
                    + "), reclaimable bytes undetermined (not every manifest was read)",
                )
            )["details"]
        ),
        by="reclaimable_bytes",
        reasons=reasons,
        reclaimable_bytes=reclaimable,
    )


@check(
    "ecr_image_dangling_signature",
    "medium",
    "Signatures or referrers whose subject image is gone",
    "Delete the dangling signature/referrer artifacts; check whether the signed image was deleted on purpose.",
)
def _dangling(inv, memo):
    o = _orphans(inv, memo)
    o = o[o["reason"].isin(["dangling_signature", "dangling_referrer"])]
    if o.empty:
        return pd.DataFrame()
    reasons = _reasons(o)
    return _per_repository(
        inv,
        o,
        lambda g: (
            g.agg(n=("image_digest", "size"))
            .assign(r=reasons.map(", ".join))
            .assign(details=lambda d: d["n"].astype(str) + " artifact(s): " + d["r"])["details"]
        ),
        reasons=reasons,
    )


@check(
    "ecr_repository_stale_images",
    "low",
    "Images not pulled for 90 days",
    "Archive or delete them, or add a lifecycle rule (sinceImagePulled transition to archive).",
)
def _stale(inv, memo):
    s = images.stale(inv, days=90)
    s = s[s["is_stale"].fillna(False).astype(bool)]
    if s.empty:
        return pd.DataFrame()
    idle = s.groupby(_REPO, observed=True, sort=True)["idle_days"].max().astype("Int64")
    return _per_repository(
        inv,
        s,
        lambda g: g.agg(n=("image_digest", "size")).assign(
            details=lambda d: (
                d["n"].astype(str)
                + " image(s) idle 90+ days (longest "
                + idle.astype(str)
                + " days; ECR records pulls at most daily)"
            )
        )["details"],
        by="idle_days",
        idle_days=idle,
    )


@check(
    "ecr_audit_manifests_not_read",
    "info",
    "Manifests were not read: orphans and exact storage are undetermined",
    "Register the audit role as a pull-time exclusion (aws ecr register-pull-time-update-exclusion "
    "--principal-arn <role ARN>) in this account and region, then collect again.",
)
def _unread(inv, memo):
    c = inv.coverage
    c = c[~c["has_read_manifests"].fillna(False).astype(bool) & c["status"].isin(["complete", "partial"])]
    if c.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "resource_arn": registry_arns(inv, c),
            "account_id": c["account_id"],
            "region": c["region"],
            "repository_name": "",
            "details": c["manifests_reason"].fillna(""),
        }
    )


@check(
    "ecr_repository_reclaimable_storage",
    "low",
    "Cleanup would free storage in this repository",
    "Delete the orphaned images (see the orphaned images report) or let a lifecycle rule do it.",
)
def _reclaimable(inv, memo):
    s = cost.savings(inv, removals={"orphans": _orphans(inv, memo)})
    s = s[(s["basis"] != "undetermined") & (s["freed_bytes"].fillna(0) > 0)]
    if s.empty:
        return pd.DataFrame()
    return pd.DataFrame(
        {
            "resource_arn": repository_arns(inv, s),
            "account_id": s["account_id"],
            "region": s["region"],
            "repository_name": s["repository_name"],
            "details": s["freed_bytes"].astype("int64").astype(str)
            + " bytes (USD "
            + s["freed_cost_usd_per_month"].round(4).astype(str)
            + " per month) freed by deleting "
            + s["images_removed"].astype(str)
            + " orphaned image(s); shared layers excluded",
            "reclaimable_bytes": s["freed_bytes"],
            "images": s["images_removed"],
        }
    )


# -- consumers (docs/consumers.md#in-use) -----------------------------------------------------------------


def _consumer_label(df: pd.DataFrame) -> pd.Series:
    """ "<name> (<kind>, account <id>, <region>)" of each reference (names are untrusted text)."""
    return (
        df["consumer_name"].fillna("").astype(str).str.slice(0, 200)
        + " ("
        + df["consumer_kind"].astype(str)
        + ", account "
        + df["consumer_account_id"].fillna("").astype(str)
        + ", "
        + df["consumer_region"].fillna("").astype(str)
        + ")"
    )


def _consumer_key(df: pd.DataFrame) -> pd.Series:
    """What tells references of one repository apart across snapshots: consumer, container, image."""
    parts = ["consumer_account_id", "consumer_region", "consumer_kind", "consumer_name", "container_name"]
    return df[parts + ["image_uri"]].astype("string").fillna("").agg("|".join, axis=1)


def _on_repository(
    inv, df: pd.DataFrame, details: pd.Series, uid_key: pd.Series, arns=repository_arns, **extra
):
    """Finding rows for the repository (or registry, with `arns=resource_arns`) of each row of `df`."""
    return pd.DataFrame(
        {
            "resource_arn": arns(inv, df),
            "account_id": df["account_id"],
            "region": df["region"],
            "repository_name": df["repository_name"],
            "details": details,
            "uid_key": uid_key,
            **extra,
        }
    )


# -- effective access (issue 16): the perimeter and the principals inside -------------------------


@check(
    "ecr_perimeter_gap",
    "high",
    "A repository is wider open than the organization's perimeter (RCPs) intends",
    "Narrow the repository policy, or close the gap: move the account under the RCP, remove the exclusion tag, "
    "or keep public repositories out of the management account.",
)
def _perimeter_gap(inv, memo):
    g = access.perimeter_gaps(inv, _grants(inv, memo))
    if g.empty:
        return pd.DataFrame()
    details = (
        g["effective_exposure"]
        + " grant to "
        + g["grantee"].astype(str)
        + " ("
        + g["actions"].astype(str)
        + "): "
        + g["gap_reason"]
    )
    severity = g["effective_exposure"].map({"public": "high", "external": "medium"})
    return _on_repository(
        inv,
        g,
        details,
        g["grantee"].astype(str),
        arns=resource_arns,
        severity=severity,
        gap_reason=g["gap_reason"],
        **_grant_evidence(g),
    )


@check(
    "ecr_consumer_image_missing",
    "high",
    "A consumer names an image that no longer exists",
    "Redeploy the consumer on an image that exists, or restore the image (push it again under the "
    "same tag; a digest cannot be re-created): the next deployment, scale-out or run fails.",
)
def _consumer_image_missing(inv, memo):
    b = consumers.broken_references(inv)
    if b.empty:
        return pd.DataFrame()
    details = (
        _consumer_label(b)
        + " ["
        + b["reference_role"].fillna("").astype(str)
        + "] names "
        + b["image_uri"].astype(str).str.slice(0, 300)
        + ": "
        + b["resolution_reason"].astype(str)
    )
    return _on_repository(
        inv,
        b,
        details,
        _consumer_key(b),
        severity=b["severity"],
        **_consumer_lists(b.assign(_row=b.index), ["_row"], b.index),
        reference_role=b["reference_role"],
        image_uri=b["image_uri"],
        resolution_reason=b["resolution_reason"],
    )


@check(
    "ecr_consumer_without_grant",
    "medium",
    "A consumer in another account uses an image no policy lets its account pull",
    "Add a repository policy statement that lets the consumer's account pull (ecr:BatchGetImage, "
    "ecr:GetDownloadUrlForLayer), or find the path the audit cannot see; otherwise its next pull fails.",
)
def _consumer_without_grant(inv, memo):
    w = consumers.without_grant(inv)
    if w.empty:
        return pd.DataFrame()
    w = w.assign(_label=_consumer_label(w))
    by = w.groupby(_REPO + ["consumer_account_id"], sort=True)
    g = by["_label"].agg(lambda s: "; ".join(sorted(set(s))[:5])).reset_index()
    digests = by["resolved_digest"].agg(lambda d: sorted(set(d.dropna()))[:EVIDENCE_FIRST])
    group = _REPO + ["consumer_account_id"]
    listed = _consumer_lists(w, group, pd.MultiIndex.from_frame(g[group]))
    details = (
        "account "
        + g["consumer_account_id"]
        + " uses images of this repository with no grant to pull them: "
        + g["_label"]
    )
    return _on_repository(
        inv,
        g,
        details,
        g["consumer_account_id"],
        image_digests=digests.to_numpy(),
        **{k: v.to_numpy() for k, v in listed.items()},
    )


@check(
    "ecr_grant_unused",
    "low",
    "A cross-account pull grant that no consumer uses",
    "Before tightening the policy, confirm with the grantee; read CloudTrail pulls "
    "(ecr-audit collect --consumers all,cloudtrail) for the evidence.",
)
def _grant_unused(inv, memo):
    u = consumers.unused_grants(inv)
    if u.empty:
        return pd.DataFrame()
    details = "grant to " + u["grantee"].astype(str) + " (" + u["exposure"] + "): " + u["evidence"]
    return _on_repository(
        inv,
        u,
        details,
        u["grantee"].astype(str),
        arns=resource_arns,
        scope=u["scope"],
        grantee=u["grantee"],
        exposure=u["exposure"],
        has_read_cloudtrail=u["has_read_cloudtrail"],
    )


@check(
    "ecr_lifecycle_expires_in_use_image",
    "critical",
    "The lifecycle policy would expire or archive an image in use",
    "Exclude the image from the rule (a tag the rule does not select), or move the consumers to a "
    "newer image first; an ECS service pins the digest it deployed, even after the tag moved.",
)
def _lifecycle_in_use(inv, memo):
    sim = memoized(memo, "simulate", lambda: lifecycle.simulate(inv))
    s = sim[sim["in_use"] == "yes"] if len(sim) else sim
    if s.empty:
        return pd.DataFrame()
    details = (
        "rule "
        + s["rule_priority"].astype(str)
        + " would "
        + s["action"].astype(str)
        + " "
        + s["image_digest"].astype(str)
        + ", used by "
        + s["consumers"].astype(str)
    )
    return _on_repository(
        inv,
        s,
        details,
        s["image_digest"].astype(str),
        image_digests=_listed(s["image_digest"]),
        rule_priority=s["rule_priority"],
        action=s["action"],
        **_consumers_of_images(inv, s),
    )


def _consumers_of_images(inv, s: pd.DataFrame) -> dict[str, pd.Series]:
    """Per image of `s` (IMAGE_KEY rows, in use): the first consumers' ARNs, their kinds and
    accounts; an image in use through its unit (an index and its children) gets the unit's."""
    u = consumers.in_use_by_row(inv)
    rows = keys(inv).rows(s[IMAGE_KEY])
    via = u["in_use_via_digest"].to_numpy(dtype=object)[np.maximum(rows, 0)]
    source = np.where(pd.isna(via) | (rows < 0), s["image_digest"].to_numpy(dtype=object), via)
    wanted = s[_REPO].assign(resolved_digest=source, _row=np.arange(len(s)))
    refs = consumers.references(inv)[_REPO + ["resolved_digest"] + list(_CONSUMER.values())]
    hit = wanted.merge(refs, on=_REPO + ["resolved_digest"], how="inner")
    lists = _consumer_lists(hit, ["_row"], pd.RangeIndex(len(s)))
    return {k: v.set_axis(s.index) for k, v in lists.items()}


# evidence list → consumers.references column; the lists are parallel: consumer i is arns[i] ...
_CONSUMER = {
    "consumer_arns": "consumer_arn",
    "consumer_kinds": "consumer_kind",
    "consumer_account_ids": "consumer_account_id",
}


def _consumer_lists(refs: pd.DataFrame, by: list[str], index: pd.Index) -> dict[str, pd.Series]:
    """Per group of consumer references (`by` columns; one entry per value of `index`): the first
    EVIDENCE_FIRST distinct consumers by ARN, as parallel lists ([] for a group without any), and
    how many distinct consumers the group has (`consumers`)."""
    cols = list(_CONSUMER.values())
    r = refs[by + [c for c in cols if c not in by]].astype({c: object for c in cols})
    r = r.fillna({c: "" for c in cols}).drop_duplicates().sort_values(by + ["consumer_arn"])
    r = r.dropna(subset=by)  # a null key is no group (as in a groupby), not one a null in `index` finds
    # One pass in Python: a groupby of lists per column costs more than the few rows it lists.
    group = list(zip(*(r[c].tolist() for c in by))) if len(by) > 1 else r[by[0]].tolist()
    first: dict = {}
    count: dict = {}
    for key, *consumer in zip(group, *(r[c].tolist() for c in cols)):
        count[key] = count.get(key, 0) + 1
        lists = first.setdefault(key, tuple([] for _ in cols))
        if len(lists[0]) < EVIDENCE_FIRST:
            for values, value in zip(lists, consumer):
                values.append(value)
    empty = tuple([] for _ in cols)
    out = {
        k: pd.Series([list(first.get(key, empty)[i]) for key in index], index=index, dtype=object)
        for i, k in enumerate(_CONSUMER)
    }
    out["consumers"] = pd.Series(pd.array([count.get(key) for key in index], dtype="Int64"), index=index)
    return out


def _principals(inv, memo):
    return memoized(memo, "principals", lambda: access.principals(inv))


def _principal_evidence(p: pd.DataFrame) -> dict[str, pd.Series]:
    """The evidence of `access.principals` rows: who, which capability, allowed and capped by what."""
    return {
        "principal_arn": p["principal_arn"],
        "principal_type": p["principal_type"],
        "capability": p["capability"],
        "via": p["via"],
        "allowed_by": p["allowed_by"],
        "capped_by": p["capped_by"],
    }


def _principal_rows(p: pd.DataFrame, details: pd.Series, severity="medium") -> pd.DataFrame:
    return pd.DataFrame(
        {
            "resource_arn": p["principal_arn"],
            "account_id": p["account_id"],
            "region": "",
            "repository_name": "",
            "details": details,
            "severity": severity,
            "uid_key": p["principal_arn"].astype(str),
            **_principal_evidence(p),
        }
    )


def _who(p: pd.DataFrame) -> pd.Series:
    return p["principal_type"] + " " + p["principal_name"].astype(str)


@check(
    "ecr_principal_can_push_prod",
    "medium",
    "A principal can push to production repositories",
    "Review who can push to production (report parameter `production`); keep it to the deployment pipeline.",
)
def _push_prod(inv, memo):
    p = _principals(inv, memo)
    prod = access.production_repositories(inv, memo.get("production"))
    p = p[
        (p["capability"] == "push")
        & p["can"].fillna(False).astype(bool)
        & pd.Series(
            list(zip(p["resource_account_id"], p["region"], p["repository_name"])), index=p.index
        ).isin(prod)
    ]
    if p.empty:
        return pd.DataFrame()
    rows = pd.DataFrame(
        {
            "resource_arn": repository_arns(
                inv,
                p.assign(account_id=p["resource_account_id"])[["account_id", "region", "repository_name"]],
            ),
            "account_id": p["resource_account_id"],
            "region": p["region"],
            "repository_name": p["repository_name"],
            "details": _who(p)
            + " ("
            + p["principal_arn"]
            + ") can push, via "
            + p["via"]
            + p["can_use_docker"].map(
                lambda d: "" if d is True else "; no docker login (GetAuthorizationToken)"
            ),
            "uid_key": p["principal_arn"],
            **_principal_evidence(p),
        }
    )
    return rows


@check(
    "ecr_principal_admin_all_repositories",
    "medium",
    "A principal can change the policies and settings of every repository (manage on *)",
    "Scope the identity policy to the repositories the principal administers, or cap it with a permissions "
    "boundary or SCP.",
)
def _admin_all(inv, memo):
    p = _principals(inv, memo)
    p = p[(p["repository_name"] == "*") & (p["capability"] == "manage") & p["can"].fillna(False).astype(bool)]
    if p.empty:
        return pd.DataFrame()
    return _principal_rows(
        p, _who(p) + " is allowed manage actions on every repository (" + p["allowed_by"].map(_text) + ")"
    )


@check(
    "ecr_external_path_via_role",
    "high",
    "A principal outside the organization reaches ECR by assuming a role",
    "Check the role's trust policy (who may assume it, sts:ExternalId) and narrow what the role can do.",
)
def _external_path(inv, memo):
    paths = access.external_paths(inv)
    if paths.empty:
        return pd.DataFrame()
    rows = []
    for (who, role, account), grp in paths.groupby(
        ["external_principal", "role_arn", "account_id"], sort=True
    ):
        repo = grp[grp["repository_name"].astype(str) != ""]
        what = sorted({f"{c} {n}" for c, n in zip(repo["capability"], repo["repository_name"].astype(str))})
        write = repo["capability"].isin(["push", "delete", "manage"]).any()
        reach = _text(what) or "get a registry token"
        details = (
            f"the trust policy of role {role} could not be read: whether someone outside the organization "
            f"can assume it (and then {reach}) is undetermined"
            if who == "undetermined"
            else f"{who} can {reach} by assuming role {role}"
        )
        rows.append(
            {
                "resource_arn": role,
                "account_id": account,
                "region": "",
                "repository_name": "",
                "details": details,
                "severity": "high" if write and who != "undetermined" else "medium",
                "uid_key": who,
                "external_principal": who,
                "principal_arn": role,
                "capabilities": sorted(set(repo["capability"])),
                "reaches": what[:EVIDENCE_FIRST],
            }
        )
    return pd.DataFrame(rows)


# Report order.
CHECKS: tuple[Check, ...] = _grant_checks() + (
    _lifecycle_in_use,
    _consumer_image_missing,
    _consumer_without_grant,
    _grant_unused,
    _perimeter_gap,
    _external_path,
    _push_prod,
    _admin_all,
    _policy_findings,
    _replication,
    _lifecycle,
    _orphaned,
    _dangling,
    _stale,
    _unread,
    _reclaimable,
)
