"""Unified findings with stable ids: `findings(inv)` → one row per finding.

Each check (`findings_check.Check`) is a function with its id (`<service>_<resource>_<condition>`),
default severity, title and remediation; it returns rows naming the resource and the details.
`CHECKS` lists them all: the collected frames' own below, then `findings_analyses.CHECKS`. Ids never
change meaning, so findings can be tracked across snapshots (`finding_uid` hashes the id, the
resource and the check's own stable key — a grantee, a statement, a rule — never the details text,
whose counts and ages change from day to day). Where the collector could not read something, the check says
so with an `ecr_audit_unreadable` finding instead of passing silently.

`findings(inv, evidence=True)` adds an `evidence` column: what each finding rests on as compact JSON
(`EVIDENCE` names its keys; docs/exports.md#evidence), for the OCSF and ASFF exports. Without it the
frame is exactly `COLUMNS`.
"""

from __future__ import annotations

import hashlib
import json

import pandas as pd

from . import ecr, findings_analyses, reuse, wildcard
from .findings_check import EVIDENCE, Check, check, evidence_json, partition, registry_arns
from .inventory import Inventory

SEVERITIES = list(ecr.SEVERITIES)
COLUMNS = [
    "finding_id",
    "severity",
    "resource_arn",
    "account_id",
    "region",
    "repository_name",
    "title",
    "details",
    "remediation",
    "finding_uid",
]
EVIDENCE_COLUMN = "evidence"


def _repos_where(inv: Inventory, mask: pd.Series, details: pd.Series | str) -> pd.DataFrame:
    r = inv.repositories[mask]
    d = details[mask] if isinstance(details, pd.Series) else details
    return pd.DataFrame(
        {
            "resource_arn": r["repository_arn"],
            "account_id": r["account_id"],
            "region": r["region"],
            "repository_name": r["repository_name"],
            "details": d,
        }
    )


# --- hygiene: what Prowler and Security Hub (ECR.1-ECR.5) check, from the collected frames -----


def _registry_scans_on_push(inv: Inventory) -> pd.Series:
    """Per repository: does the registry's scanning configuration scan it on push?

    True when a SCAN_ON_PUSH or CONTINUOUS_SCAN rule's wildcard filter matches the repository,
    False when the configuration was read and none does, None when it was not read (undetermined).
    A WILDCARD filter's only wildcard is `*` (its documented pattern allows no other), matched
    case-sensitively over the whole name by `ecr_audit.wildcard` (fnmatch would also read `?`, `[`).
    """
    rules_by_registry = {}
    for acct, region, text in inv.registries[["account_id", "region", "scanning_rules_text"]].itertuples(
        index=False
    ):
        try:
            rules = json.loads(text) if isinstance(text, str) else None
        except ValueError:
            rules = None
        rules_by_registry[(acct, region)] = rules if isinstance(rules, list) else None
    out = []
    for acct, region, name in inv.repositories[["account_id", "region", "repository_name"]].itertuples(
        index=False
    ):
        rules = rules_by_registry.get((acct, region))
        if rules is None:
            out.append(None)
            continue
        out.append(
            any(
                isinstance(f, dict) and wildcard.match(str(f.get("filter", "")), name, single=False)
                for rule in rules
                if isinstance(rule, dict) and rule.get("scanFrequency") in {"SCAN_ON_PUSH", "CONTINUOUS_SCAN"}
                for f in rule.get("repositoryFilters") or []
            )
        )
    return pd.Series(out, index=inv.repositories.index, dtype="boolean")


@check(
    "ecr_repository_scan_on_push_disabled",
    "medium",
    "Images are not scanned on push",
    "Enable scan on push (put-image-scanning-configuration) or a registry scanning rule "
    "(put-registry-scanning-configuration) that matches the repository.",
)
def _scan_on_push(inv, memo):
    repos = inv.repositories
    registry = _registry_scans_on_push(inv)
    # Only where both were read: an unread registry configuration is reported by ecr_audit_unreadable.
    off = repos["has_scan_on_push"].eq(False).fillna(False).astype(bool) & registry.eq(False).fillna(
        False
    ).astype(bool)
    return _repos_where(inv, off, "neither the repository nor a registry scanning rule scans on push")


@check(
    "ecr_repository_tags_mutable",
    "medium",
    "Image tags are mutable",
    "Set image tag mutability to IMMUTABLE (or IMMUTABLE_WITH_EXCLUSION for tags such as latest).",
)
def _mutable(inv, memo):
    m = inv.repositories["image_tag_mutability"].fillna("").str.startswith("MUTABLE")
    return _repos_where(inv, m, "imageTagMutability=" + inv.repositories["image_tag_mutability"].fillna("?"))


# A missing lifecycle policy is reported by lifecycle.lint (ecr_repository_lifecycle_missing).


@check(
    "ecr_repository_not_kms_encrypted",
    "low",
    "Repository is not encrypted with a KMS key",
    "Create repositories with KMS encryption (encryption cannot be changed after creation; use a "
    "repository creation template for new ones).",
)
def _kms(inv, memo):
    m = inv.repositories["encryption_type"].fillna("AES256") == "AES256"
    return _repos_where(inv, m, "encryptionType=AES256")


@check(
    "ecr_registry_scanning_not_configured",
    "medium",
    "Registry has no scanning rules",
    "Configure registry scanning (basic scan on push for all repositories, or enhanced scanning).",
)
def _registry_scanning(inv, memo):
    regs = inv.registries

    def empty(rules):
        try:
            parsed = json.loads(rules) if isinstance(rules, str) else None
        except ValueError:
            return False
        return parsed == []

    m = regs["scanning_rules_text"].map(empty).astype(bool)
    r = regs[m]
    return pd.DataFrame(
        {
            "resource_arn": registry_arns(inv, r),
            "account_id": r["account_id"],
            "region": r["region"],
            "repository_name": "",
            "details": "scan type " + r["scan_type"].fillna("?") + " with no rules",
        }
    )


@check(
    "ecr_audit_unreadable",
    "info",
    "The audit could not read part of the registry",
    "Grant the audit role the permissions in `ecr-audit permissions` and re-run; see the errors frame.",
)
def _unreadable(inv, memo):
    e = inv.errors
    if e.empty:
        return pd.DataFrame()
    g = (
        e.assign(
            repository_name=e["repository_name"].fillna(""),
            region=e["region"].fillna(""),
            account_id=e["account_id"].fillna(""),
        )
        .groupby(["account_id", "region", "repository_name", "error_kind"], dropna=False)
        .agg(operations=("operation", lambda s: ", ".join(sorted(set(s)))), n=("operation", "size"))
        .reset_index()
    )
    part = partition(inv)
    arn = [
        ecr.repository_arn(part, r, a, n)
        if n
        else (ecr.registry_arn(part, r, a) if r else ecr.account_arn(part, a))
        for a, r, n in zip(g["account_id"], g["region"], g["repository_name"])
    ]
    return pd.DataFrame(
        {
            "resource_arn": arn,
            "account_id": g["account_id"],
            "region": g["region"],
            "repository_name": g["repository_name"],
            "uid_key": g["error_kind"],
            "error_kind": g["error_kind"],
            "operations": g["operations"].str.split(", "),
            "errors": g["n"],
            "details": g["error_kind"]
            + ": "
            + g["n"].astype(str)
            + " failed call(s) ("
            + g["operations"]
            + ")",
        }
    )


# Every check, in report order: the collected frames' own, then the analyses'.
CHECKS: tuple[Check, ...] = (
    _scan_on_push,
    _mutable,
    _kms,
    _registry_scanning,
    _unreadable,
) + findings_analyses.CHECKS


def findings(
    inv: Inventory, checks: list[str] | None = None, production: str | None = None, evidence: bool = False
) -> pd.DataFrame:
    """Run the checks (all by default; else those whose ids are in `checks`) and return one row
    per finding, most severe first (`severity` is an ordered categorical: critical first).
    `production`: which repositories are production (`access.production_repositories`).
    `evidence`: add the `evidence` column (compact JSON text, "" when the check gives none)."""
    columns = COLUMNS + [EVIDENCE_COLUMN] if evidence else COLUMNS
    frames = list(_each_check(inv, checks, production, evidence))
    if not frames:
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in columns})
        return empty.astype({"severity": ecr.SEVERITY})
    out = pd.concat(frames, ignore_index=True)
    if evidence:
        out[EVIDENCE_COLUMN] = out[EVIDENCE_COLUMN].fillna("")
    for col in COLUMNS[:-1]:
        if col not in out:
            out[col] = ""
        out[col] = out[col].fillna("").astype(str)
    # The uid names what is wrong where, not how bad it is today: id, resource and the check's own
    # stable key (grantee, statement, rule...), never the free-text details (counts, ages change daily).
    key = out["uid_key"].fillna("").astype(str) if "uid_key" in out else pd.Series("", index=out.index)
    out["finding_uid"] = [
        hashlib.sha1(f"{f}|{r}|{k}".encode()).hexdigest()[:16]
        for f, r, k in zip(out["finding_id"], out["resource_arn"], key)
    ]
    out["severity"] = ecr.as_severity(out["severity"])
    out = out.sort_values(
        ["severity", "finding_id", "account_id", "region", "repository_name", "details"], kind="stable"
    )
    # Rows the check could not tell apart by key (rare): number them in details order.
    dup = out.groupby("finding_uid").cumcount()
    out["finding_uid"] = out["finding_uid"].where(dup == 0, out["finding_uid"] + "-" + dup.astype(str))
    return out[columns].reset_index(drop=True)


def severity_counts(inv: Inventory, production: str | None = None) -> dict[str, int]:
    """How many findings `findings(inv, production=production)` gives per severity (every
    severity, 0 when none), without assembling them (the trend of findings by severity)."""
    counts = dict.fromkeys(ecr.SEVERITIES, 0)
    for rows in _each_check(inv, None, production, False):
        for severity in rows["severity"].tolist():  # a few rows a check: Python beats pandas here
            if severity not in counts:  # as findings() does (ecr.as_severity)
                raise ValueError(f"not a severity: {severity!r} (one of {', '.join(ecr.SEVERITIES)})")
            counts[severity] += 1
    return counts


def _each_check(inv: Inventory, checks, production, evidence: bool):
    """The rows of each check that finds something, in report order, as `_check_rows` gives them;
    with a `reuse` store attached, a check whose inputs did not change gives an earlier
    snapshot's rows."""
    memo: dict = {"production": production}
    for c in CHECKS:
        if checks and c.finding_id not in checks:
            continue
        key = f"findings.{c.finding_id}|{production!r}|{evidence}"
        rows = reuse.call(inv, key, lambda c=c: _check_rows(c, inv, memo, evidence))
        if rows is not None:
            yield rows


def _check_rows(c: Check, inv: Inventory, memo: dict, evidence: bool) -> pd.DataFrame | None:
    """Check `c`'s rows with its id, severity, title and remediation filled in and its evidence
    folded (`_evidence_folded`); None when it finds nothing."""
    rows = c.run(inv, memo)
    if rows is None or rows.empty:
        return None
    rows = rows.copy()
    if not c.is_family:
        rows["finding_id"] = c.finding_id
    if "severity" not in rows:
        rows["severity"] = c.severity
    rows["severity"] = rows["severity"].fillna(c.severity)
    if "title" not in rows:
        rows["title"] = c.title
    rows["remediation"] = c.remediation
    return _evidence_folded(rows, c.finding_id, evidence)


def _evidence_folded(rows: pd.DataFrame, finding_id: str, evidence: bool) -> pd.DataFrame:
    """A check's rows with its evidence columns folded into one `evidence` JSON text column (or
    dropped without `evidence`); per check, so each row reads only its own check's columns."""
    undeclared = set(rows.columns) - set(COLUMNS) - set(EVIDENCE) - {"uid_key"}
    if undeclared:  # a column that would silently vanish: declare it in findings_check.EVIDENCE
        raise ValueError(
            f"{finding_id}: columns not declared in findings_check.EVIDENCE: {sorted(undeclared)}"
        )
    present = [k for k in EVIDENCE if k in rows]
    out = rows.drop(columns=present)
    if evidence:
        out[EVIDENCE_COLUMN] = [evidence_json(r) for r in rows[present].to_dict("records")]
    return out


def catalog() -> pd.DataFrame:
    """Every finding kind this version can report: id, default severity, title, remediation."""
    return pd.DataFrame(
        [
            {
                "finding_id": c.finding_id,
                "severity": c.severity,
                "title": c.title,
                "remediation": c.remediation,
            }
            for c in CHECKS
        ]
    )


__all__ = [
    "CHECKS",
    "COLUMNS",
    "EVIDENCE",
    "EVIDENCE_COLUMN",
    "SEVERITIES",
    "Check",
    "catalog",
    "findings",
]
