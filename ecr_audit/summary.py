"""The executive summary: the numbers a reader needs first, and what to fix first.

`headlines` gives the headline numbers (already formatted for people: `$1,234.56`, `4.99 GiB`);
`fix_first` ranks the findings a platform engineer should act on first; `SECTIONS` says which
page section explains each finding kind (the links of the "what to fix first" table).
"""

from __future__ import annotations

import re

import pandas as pd

from . import consumers, formats
from .findings import SEVERITIES
from .inventory import Inventory


def cost_headline(total: pd.DataFrame) -> tuple[str, str]:
    """(value, note) of the monthly cost from `cost.rollup(storage, "total")`; the note says what
    the figure cannot include."""
    if total.empty or not int(total["repositories"].iloc[0]):
        return "no repository was read", ""
    row = total.iloc[0]
    notes = []
    if int(row["repositories_upper_bound"]):
        notes.append(
            f"upper bound: {int(row['repositories_upper_bound'])} repositories estimated without manifests"
        )
    if int(row["repositories_undetermined"]):
        notes.append(
            f"incomplete: {int(row['repositories_undetermined'])} repositories could not be read and are excluded"
        )
    return formats.money(row["cost_usd_per_month"]), "; ".join(notes)


def reclaimable_headline(orphans: pd.DataFrame) -> tuple[str, str]:
    """(value, note): bytes freed by deleting the orphans, and how many orphans' bytes are unknown."""
    known = orphans["reclaimable_bytes"].dropna()
    unknown = len(orphans) - len(known)
    note = (
        f"+{unknown} orphan{'s' if unknown != 1 else ''} undetermined: manifests not read" if unknown else ""
    )
    return formats.size(int(known.sum())), note


def coverage_line(inv: Inventory) -> tuple[str, bool]:
    """(one line on what was read, whether everything was): for every page's header."""
    cov = inv.coverage
    units = len(cov)
    complete = int((cov["status"] == "complete").sum())
    read = int(cov["has_read_manifests"].fillna(False).astype(bool).sum())
    errors = len(inv.errors)
    text = (
        f"{complete} of {units} account × region units complete · "
        f"{errors:,} failed read{'s' if errors != 1 else ''} · manifests read in {read} of {units}"
    )
    return text, complete == units and not errors


_STATUS_ORDER = ["failed", "partial", "skipped", "disabled", "complete"]


def coverage_detail(inv: Inventory) -> list[tuple[str, str, pd.DataFrame, list | None]]:
    """What was attempted and what could not be read, as (name, caption, frame, columns shown)
    tables: units by status, every account × region unit (the incomplete first), the failed reads
    by kind and operation, and the accounts not collected. The index and the summary show them."""
    cov = inv.coverage
    order = {s: i for i, s in enumerate(_STATUS_ORDER)}
    units = cov.assign(_o=cov["status"].map(order).fillna(len(order)))
    units = units.sort_values(["_o", "account_id", "region"], kind="stable").drop(columns="_o")
    by_status = units.groupby("status", dropna=False, sort=False).size().rename("units").reset_index()
    shown = [
        "status",
        "account_id",
        "region",
        "reason",
        "has_read_manifests",
        "repositories",
        "images",
        "errors",
    ]
    tables = [
        ("coverage_by_status", "Account × region units by status", by_status, None),
        ("coverage", "Every account × region unit", units, shown),
    ]
    if len(inv.errors):
        errors = (
            inv.errors.groupby(["error_kind", "operation"], dropna=False)
            .size()
            .rename("errors")
            .reset_index()
            .sort_values("errors", ascending=False)
        )
        tables.append(("errors_by_kind", "What could not be read, by kind and operation", errors, None))
    acc = inv.accounts
    skipped = acc[acc["collection_status"].isin(["skipped", "failed"])]
    if len(skipped):
        columns = ["collection_status", "account_id", "state", "skip_reason"]
        tables.append(("accounts_not_collected", "Accounts not collected", skipped, columns))
    return tables


def _coverage_note(inv: Inventory) -> str:
    cov = inv.coverage
    short = int((cov["status"] != "complete").sum())
    return f"at least: {short} of {len(cov)} account × region units not fully read" if short else ""


def lifecycle_breaks_headline(inv: Inventory, sim: pd.DataFrame | None) -> list[tuple[str, str, str]]:
    """The lead when lifecycle would break something: [("Lifecycle would break", "N running
    workloads", note)] when N > 0 or in-use is unknown for images it acts on; else []."""
    if sim is None or sim.empty:
        return []
    impact = consumers.lifecycle_impact(inv, sim)
    n, unknown = impact["running_workloads"], impact["images_unknown"]
    if not n and not unknown:
        return []
    notes = [
        f"{impact['images_in_use']} images in use expired or archived" if impact["images_in_use"] else ""
    ]
    if unknown:
        notes.append(
            f"in use unknown for {unknown} images it acts on (consumers not read where they could be)"
        )
    return [
        (
            "Lifecycle would break",
            f"{n:,} running workload{'s' if n != 1 else ''}",
            "; ".join(x for x in notes if x),
        )
    ]


def headlines(
    inv: Inventory,
    findings: pd.DataFrame,
    total_cost: pd.DataFrame,
    savings_totals: pd.DataFrame,
    lifecycle_simulation: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per headline: label, value (formatted), note. Counts from an incompletely read
    organization say "at least"; figures that are bounds or exclude unreadable repositories say so.
    With `lifecycle_simulation` (`lifecycle.simulate`), "Lifecycle would break N running workloads"
    leads when lifecycle would expire or archive an image in use, or one whose in-use is unknown."""
    cov = inv.coverage
    partial = _coverage_note(inv)
    sev = findings["severity"].astype(str).value_counts()
    public = findings[findings["finding_id"].str.startswith("ecr_repository_public_")][
        "resource_arn"
    ].nunique()
    public_registries = findings[findings["finding_id"] == "ecr_registry_public_access"][
        "resource_arn"
    ].nunique()
    undetermined_policies = int((findings["finding_id"] == "ecr_policy_unreadable").sum())
    public_note = "; ".join(
        n
        for n in [
            "anyone can pull or more",
            f"plus {public_registries} registries whose policy is public" if public_registries else "",
            f"{undetermined_policies} policies could not be read" if undetermined_policies else "",
            partial,
        ]
        if n
    )
    cost, cost_note = cost_headline(total_cost)
    rows = lifecycle_breaks_headline(inv, lifecycle_simulation) + [
        (
            "Accounts collected",
            formats.count(inv.accounts["collection_status"].isin(["collected", "partial"]).sum()),
            f"{int((inv.accounts['collection_status'] == 'skipped').sum())} skipped, "
            f"{int((inv.accounts['collection_status'] == 'failed').sum())} failed",
        ),
        (
            "Account × region units complete",
            f"{int((cov['status'] == 'complete').sum()):,} of {len(cov):,}",
            f"{len(inv.errors):,} reads failed" if len(inv.errors) else "every read succeeded",
        ),
        ("Repositories", formats.count(len(inv.repositories)), partial),
        ("Images", formats.count(len(inv.images)), partial),
        (
            "Critical findings",
            formats.count(sev.get("critical", 0)),
            "; ".join(n for n in [f"{int(sev.get('high', 0))} high", partial] if n),
        ),
        ("Publicly accessible repositories", formats.count(public), public_note),
        ("Storage cost per month", cost, "; ".join(n for n in [cost_note, partial] if n)),
    ]
    if len(savings_totals):
        b = savings_totals.sort_values("freed_bytes", ascending=False).iloc[0]
        note = f"{b['option']}: {int(b['images_removed']):,} images, {formats.size(b['freed_bytes'])}"
        if int(b.get("repositories_undetermined", 0) or 0):
            note += (
                f"; {int(b['repositories_undetermined'])} repositories undetermined (up to "
                f"{formats.size(b['undetermined_upper_bound_bytes'])} more)"
            )
        rows.append(("Largest cleanup saving per month", formats.money(b["freed_cost_usd_per_month"]), note))
    return pd.DataFrame(rows, columns=["label", "value", "note"])


def top_findings(findings: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The most severe finding kinds, with how many resources each affects."""
    cols = ["severity", "finding_id", "title", "resources", "example", "remediation"]
    if findings.empty:
        return pd.DataFrame(columns=cols)
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    f = findings.assign(severity=findings["severity"].astype(str))
    if "remediation" not in f:
        f = f.assign(remediation="")
    g = (
        f.groupby(["severity", "finding_id"], sort=False)
        .agg(
            title=("title", "first"),
            resources=("resource_arn", "nunique"),
            example=("resource_arn", "first"),
            remediation=("remediation", "first"),
        )
        .reset_index()
    )
    g["_r"] = g["severity"].map(rank)
    return (
        g.sort_values(["_r", "resources"], ascending=[True, False])
        .drop(columns="_r")
        .head(n)
        .reset_index(drop=True)[cols]
    )


def findings_by_severity(findings: pd.DataFrame) -> pd.Series:
    return findings["severity"].astype(str).value_counts().reindex(SEVERITIES, fill_value=0)


# ---- what to fix first -----------------------------------------------------------------------------

# Which page section explains a finding kind: (id prefix, page, anchor, section name). The first
# matching prefix wins; `tests/test_report.py` checks that every anchor exists on its page.
SECTIONS = [
    ("ecr_repository_public_", "cross_account_access", "critical-list", "Access: critical list"),
    ("ecr_repository_external_", "cross_account_access", "critical-list", "Access: critical list"),
    ("ecr_registry_public_access", "cross_account_access", "registry-grants", "Access: registry grants"),
    ("ecr_registry_external_access", "cross_account_access", "registry-grants", "Access: registry grants"),
    ("ecr_creation_template_public", "cross_account_access", "registry-grants", "Access: registry grants"),
    ("ecr_creation_template_external", "cross_account_access", "registry-grants", "Access: registry grants"),
    ("ecr_registry_replicates_", "cross_account_access", "registry-grants", "Access: replication"),
    ("ecr_registry_policy_", "cross_account_access", "policy-quality", "Access: policy quality"),
    ("ecr_policy_", "cross_account_access", "policy-quality", "Access: policy quality"),
    ("ecr_perimeter_gap", "cross_account_access", "perimeter-gaps", "Access: perimeter gaps"),
    ("ecr_external_path_via_role", "cross_account_access", "external-paths", "Access: outsiders via roles"),
    ("ecr_principal_", "cross_account_access", "who-can-write", "Access: who can push, delete, manage"),
    ("ecr_access_", "cross_account_access", "policy-quality", "Access: policy quality"),
    (
        "ecr_lifecycle_expires_in_use_image",
        "consumers",
        "act-first",
        "Consumers: images in use a cleanup removes",
    ),
    ("ecr_consumer_image_missing", "consumers", "broken", "Consumers: broken references"),
    ("ecr_consumer_without_grant", "consumers", "without-grant", "Consumers: without a grant"),
    ("ecr_grant_unused", "consumers", "unused-grants", "Consumers: unused grants"),
    ("ecr_lifecycle_", "lifecycle", "lint", "Lifecycle: lint"),
    ("ecr_repository_lifecycle_", "lifecycle", "lint", "Lifecycle: lint"),
    ("ecr_pull_through_cache_", "lifecycle", "lint", "Lifecycle: lint"),
    ("ecr_replication_", "lifecycle", "lint", "Lifecycle: lint"),
    ("ecr_creation_template_without_lifecycle", "lifecycle", "lint", "Lifecycle: lint"),
    ("ecr_repository_orphaned_images", "orphaned_images", "orphans", "Images: orphans"),
    ("ecr_image_dangling_", "orphaned_images", "orphans", "Images: orphans"),
    ("ecr_repository_stale_images", "orphaned_images", "stale-images", "Images: stale images"),
    ("ecr_repository_reclaimable_storage", "storage_cost", "savings", "Storage cost: savings"),
    ("ecr_audit_manifests_not_read", "orphaned_images", "manifest-mode", "Images: manifest mode"),
    ("ecr_audit_unreadable", "index", "coverage", "Coverage detail"),
    ("", "executive_summary", "finding-kinds", "Summary: every finding kind"),
]

_ACCESS = re.compile(r"^ecr_repository_(public|external)_(pull|push|delete|manage)$")
_WRITE_ORDER = ["push", "delete", "manage", "pull"]
_WHO = {"public": "Anyone (public)", "external": "An account outside the organization"}
# Cleanups that say how much they free; the first two also make the quota of `fix_first`.
_CLEANUP = (
    "ecr_repository_reclaimable_storage",
    "ecr_repository_stale_images",
    "ecr_repository_orphaned_images",
)
FIX_FIRST_COLUMNS = [
    "severity",
    "problem",
    "resource",
    "account_id",
    "region",
    "more_resources",
    "root_cause",
    "remediation",
    "impact",
    "freed_bytes",
    "cost_usd_per_month",
    "page",
    "anchor",
    "section",
    "finding_ids",
    "resource_arn",
]


def section(finding_id: str) -> tuple[str, str, str]:
    """(page, anchor, section name) of the page section that explains `finding_id`."""
    for prefix, page, anchor, name in SECTIONS:
        if finding_id.startswith(prefix):
            return page, anchor, name
    raise AssertionError("SECTIONS ends with a catch-all")


def _class(finding_id: str, capabilities: str) -> int:
    """How much a kind of finding exposes, most first: write access or a grant over a whole
    registry, then read access and policy faults, lifecycle, cleanup, hygiene."""
    if capabilities:
        return 0 if set(capabilities.split(", ")) - {"pull"} else 1
    if finding_id.startswith(
        ("ecr_registry_public", "ecr_registry_external", "ecr_creation_template_public")
    ):
        return 0
    if finding_id.startswith(("ecr_creation_template_external", "ecr_registry_replicates", "ecr_policy_")):
        return 1
    if finding_id.startswith(("ecr_lifecycle_", "ecr_registry_policy_", "ecr_access_")):
        return 2
    if finding_id.startswith(_CLEANUP + ("ecr_image_dangling_",)):
        return 3
    return 4


def resource_name(arn: str) -> str:
    """What an ECR ARN names, for people: the repository, `registry`, or `creation template X`."""
    tail = str(arn).split(":", 5)[-1] if str(arn).startswith("arn:") else str(arn)
    if tail.startswith("repository/"):
        return tail.removeprefix("repository/")
    if tail.startswith("repository-creation-template/"):
        return "creation template " + tail.removeprefix("repository-creation-template/")
    return tail


def _merge_access(f: pd.DataFrame) -> pd.DataFrame:
    """One row per grant instead of one per capability: `ecr_repository_public_push`, `_delete`
    and `_manage` of one statement on one repository are one thing to fix."""
    m = f["finding_id"].str.extract(_ACCESS)
    is_access = m[0].notna()
    access, rest = f[is_access].assign(_exposure=m[0], _cap=m[1]), f[~is_access]
    rest = rest.assign(capabilities="")
    if access.empty:
        return rest
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    rows = []
    for (_arn, exposure, _details), g in access.groupby(["resource_arn", "_exposure", "details"], sort=False):
        caps = [c for c in _WRITE_ORDER if c in set(g["_cap"])]
        worst = g.loc[g["severity"].map(rank).idxmin()]
        row = worst.drop(["_exposure", "_cap"]).copy()
        row["finding_id"] = ", ".join(g["finding_id"])
        row["capabilities"] = ", ".join(caps)
        verbs = caps[0] if len(caps) == 1 else ", ".join(caps[:-1]) + " and " + caps[-1]
        row["title"] = f"{_WHO[exposure]} can {verbs}"
        rows.append(row)
    return pd.concat([rest, pd.DataFrame(rows)], ignore_index=True)


def fix_first(
    findings: pd.DataFrame,
    n: int = 8,
    savings: pd.DataFrame | None = None,
    repositories: pd.DataFrame | None = None,
    cleanup: int = 2,
) -> pd.DataFrame:
    """The few problems that matter most, one row per kind (its worst resource named, the others
    counted), ranked by severity, then by what they expose (public or external write before
    read, a whole registry before one repository), then by how many repositories they reach and
    by the bytes and dollars a cleanup frees. Info findings (what the audit could not look at)
    are left to the coverage detail. Up to `cleanup` of the `n` rows are the cleanups that free
    the most, so money is never crowded out by hygiene.

    `savings` (`cost.savings`) gives the bytes and dollars of cleanup findings per repository;
    `repositories` (the inventory frame) counts the repositories a registry-wide finding reaches."""
    if findings.empty:
        return pd.DataFrame(columns=FIX_FIRST_COLUMNS)
    f = findings.assign(severity=findings["severity"].astype(str))
    f = f[f["severity"] != "info"]
    if f.empty:
        return pd.DataFrame(columns=FIX_FIRST_COLUMNS)
    f = _merge_access(f.reset_index(drop=True))
    # Blast radius: repositories reached (a registry-wide finding reaches every repository there).
    per_registry = (
        repositories.groupby(["account_id", "region"]).size().to_dict()
        if repositories is not None and len(repositories)
        else {}
    )
    registry_wide = f["finding_id"].str.startswith(
        ("ecr_registry_public_access", "ecr_registry_external_access")
    )
    f["_reach"] = [
        per_registry.get((a, r), 1) if wide else 1
        for a, r, wide in zip(f["account_id"], f["region"], registry_wide)
    ]
    f["_bytes"], f["_usd"] = pd.NA, pd.NA
    if savings is not None and len(savings):
        key = ["account_id", "region", "repository_name"]
        for fid, option in (
            ("ecr_repository_reclaimable_storage", "orphans"),
            ("ecr_repository_orphaned_images", "orphans"),
            ("ecr_repository_stale_images", "stale_90d"),  # the finding's 90 days (findings_analyses)
        ):
            # Rows without a repository say "no image selected" (their keys are null).
            s = savings[savings["option"].astype(str) == option].dropna(subset=key)
            sel = f["finding_id"] == fid
            if s.empty or not sel.any():  # nothing freed by this option: no figure, never 0
                continue
            s = s.astype({k: str for k in key})
            s = s.groupby(key)[["freed_bytes", "freed_cost_usd_per_month"]].sum(min_count=1)
            joined = f.loc[sel, key].merge(s, left_on=key, right_index=True, how="left")
            f.loc[sel, "_bytes"] = joined["freed_bytes"].to_numpy()
            f.loc[sel, "_usd"] = joined["freed_cost_usd_per_month"].to_numpy()
    f["_bytes"] = pd.to_numeric(f["_bytes"], errors="coerce")
    f["_usd"] = pd.to_numeric(f["_usd"], errors="coerce")
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    f["_sev"] = f["severity"].map(rank).fillna(len(SEVERITIES))
    f["_kind"] = f["finding_id"].where(f["capabilities"] == "", "access: " + f["title"])
    f["_class"] = [_class(i, c) for i, c in zip(f["finding_id"], f["capabilities"])]
    # The worst resource of each kind first: severity, reach, bytes.
    f = f.sort_values(
        ["_sev", "_reach", "_bytes", "_usd"], ascending=[True, False, False, False], kind="stable"
    )
    problems = []
    for _kind, g in f.groupby("_kind", sort=False):
        first = g.iloc[0]
        ids = sorted(set(", ".join(g["finding_id"]).split(", ")))
        page, anchor, name = section(ids[0])
        freed = g["_bytes"].sum(min_count=1)
        usd = g["_usd"].sum(min_count=1)
        reach = int(g.drop_duplicates("resource_arn")["_reach"].sum())
        impact = ""
        if not pd.isna(freed):
            impact = f"frees {formats.size(freed)}" + (
                f" ({formats.money(usd)} / month)" if not pd.isna(usd) else ""
            )
        elif reach > 1 and bool(first["_reach"] > 1):
            impact = f"reaches {reach:,} repositories"
        title = str(first["title"])
        problems.append(
            {
                "severity": first["severity"],
                "problem": title[:1].upper() + title[1:],
                "resource": resource_name(first["resource_arn"]),
                "account_id": first["account_id"],
                "region": first["region"],
                "more_resources": g["resource_arn"].nunique() - 1,
                "root_cause": " ".join(str(first["details"]).split()),
                "remediation": first["remediation"],
                "impact": impact,
                "freed_bytes": freed,
                "cost_usd_per_month": usd,
                "page": page,
                "anchor": anchor,
                "section": name,
                "finding_ids": ", ".join(ids),
                "resource_arn": first["resource_arn"],
                "_sev": first["_sev"],
                "_class": first["_class"],
                "_reach": reach,
                "_bytes": freed,
                "_usd": usd,
            }
        )
    p = pd.DataFrame(problems)
    order = ["_sev", "_class", "_reach", "_usd", "_bytes"]
    asc = [True, True, False, False, False]
    p = p.sort_values(order, ascending=asc, kind="stable")
    is_cleanup = p["finding_ids"].str.contains("|".join(_CLEANUP[:2]))
    money = p[is_cleanup].sort_values(["_usd", "_bytes"], ascending=False, kind="stable").head(cleanup)
    rest = p[~p.index.isin(money.index)].head(max(n - len(money), 0))
    out = pd.concat([rest, money]).sort_values(order, ascending=asc, kind="stable").head(n)
    return out[FIX_FIRST_COLUMNS].reset_index(drop=True)


# ---- views: analysis frames arranged for a page ------------------------------------------------

CAPABILITIES = ["pull", "push", "delete", "manage"]


def capabilities(grants: pd.DataFrame) -> pd.Series:
    """What each grant allows, in words (`pull, push`); `undetermined` when the policy could not
    be weighed (every `can_*` null)."""
    flags = pd.DataFrame({c: grants[f"can_{c}"].astype("boolean") for c in CAPABILITIES}, index=grants.index)
    words = pd.Series("", index=grants.index, dtype=object)
    for c in CAPABILITIES:
        words = words + flags[c].fillna(False).astype(bool).map({True: f"{c}, ", False: ""})
    words = words.str.removesuffix(", ")
    return words.where(~flags.isna().all(axis=1), "undetermined")


def grants_view(grants: pd.DataFrame) -> pd.DataFrame:
    """`access.grants` for a page: severity, exposure, grantee and what it can do first, the
    resource as one column (repository, `registry` or `creation template PREFIX`), every other
    column after them (kept in the CSV)."""
    scope = grants["scope"].astype("string")
    resource = grants["repository_name"].astype("string")
    resource = resource.where(scope == "repository", "registry")
    template = "creation template " + grants["template_prefix"].astype("string").fillna("")
    resource = resource.where(scope != "creation_template", template)
    out = grants.assign(capabilities=capabilities(grants), resource=resource.astype(object))
    first = [
        "severity",
        "exposure",
        "grantee",
        "capabilities",
        "resource",
        "account_id",
        "region",
        "statement_ids",
    ]
    return out[first + [c for c in out.columns if c not in first]]


__all__ = [
    "CAPABILITIES",
    "FIX_FIRST_COLUMNS",
    "SECTIONS",
    "capabilities",
    "cost_headline",
    "coverage_detail",
    "coverage_line",
    "findings_by_severity",
    "fix_first",
    "grants_view",
    "headlines",
    "reclaimable_headline",
    "resource_name",
    "section",
    "top_findings",
]
