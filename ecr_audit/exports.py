"""Findings in the standard formats: OCSF Detection Findings, AWS Security Finding Format, Parquet.

Every exporter takes `frame(inv, states)`: the snapshot's findings, one row per finding, with
their change state when the findings of earlier snapshots are given (`changes.finding_states`,
newest snapshot = `inv`): `new`, `persisting`, `reopened`, `resolved` (gone from this snapshot),
`unknown` (gone because its account or region was not read this time); without history the state
is empty and every finding counts as current.

- `ocsf_events` / `write_ocsf`: OCSF 1.5.0 Detection Finding (class_uid 2004) events as JSON
  lines; activity Create / Update / Close from the change state (docs/exports.md#ocsf).
- `asff_batches` / `write_asff`: AWS Security Finding Format, one file per account (Security Hub's
  BatchImportFindings takes findings of the calling account only), one request of at most 100
  findings per line, every finding under 240 KB with its text fields cut to the ASFF limits and
  marked (docs/exports.md#asff).
- `write_parquet`: the frame as a Hive-partitioned Parquet dataset (`account_id=…/date=…/`), for
  a data lake (docs/exports.md#parquet).

Each finding carries its evidence (`findings(inv, evidence=True)`: the grantee and exposures, the
digests, the consumers... docs/exports.md#evidence): in OCSF `resources[0].data`, in ASFF
`Resources[0].Details.Other` as strings, in Parquet as the `evidence` column (JSON text).

Text from AWS goes out as JSON strings (non-ASCII and control characters escaped): it stays text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from . import ecr, findings
from ._version import __version__
from .inventory import Inventory

OCSF_VERSION = "1.5.0"
STATES = ("new", "persisting", "reopened", "resolved", "unknown")
STATE_COLUMNS = ["state", "first_seen", "last_seen", "runs_seen"]
COLUMNS = findings.COLUMNS + [findings.EVIDENCE_COLUMN] + STATE_COLUMNS + ["collected_at"]
PRODUCT = "ecr-audit"


def frame(inv: Inventory, states: pd.DataFrame | None = None) -> pd.DataFrame:
    """The findings of `inv` (COLUMNS); with `states` (finding_states over earlier snapshots and
    `inv`, newest last) every finding of the history, with its state, first and last seen times.

    Remediation and evidence come from this snapshot's finding; else remediation from the check's
    catalog entry, evidence from `states` if it has an evidence column (else none)."""
    current = findings.findings(inv, evidence=True)
    collected = pd.Timestamp(inv.meta.get("collected_at")) if inv.meta.get("collected_at") else pd.NaT
    if states is None:
        out = current.assign(state=pd.NA, first_seen=collected, last_seen=collected, runs_seen=1)
    else:
        missing = {"finding_uid", "state", "first_seen", "last_seen", "runs_seen"} - set(states.columns)
        if missing:
            raise ValueError(f"finding states lack {', '.join(sorted(missing))}")
        bad = set(states["state"].dropna().astype(str)) - set(STATES)
        if bad:
            raise ValueError(
                f"unknown finding state(s) {', '.join(sorted(bad))}; expected {', '.join(STATES)}"
            )
        out = states.copy()
        remedy = dict(zip(current["finding_uid"], current["remediation"]))
        kinds = findings.catalog()
        catalog = dict(zip(kinds["finding_id"], kinds["remediation"]))
        out["remediation"] = [
            remedy.get(u) or catalog.get(f, "") for u, f in zip(out["finding_uid"], out["finding_id"])
        ]
        evidence = dict(zip(current["finding_uid"], current[findings.EVIDENCE_COLUMN]))
        earlier = out.get(findings.EVIDENCE_COLUMN, pd.Series("", index=out.index)).fillna("")
        out[findings.EVIDENCE_COLUMN] = [evidence.get(u) or e for u, e in zip(out["finding_uid"], earlier)]
        for col in findings.COLUMNS:
            if col not in out:
                out[col] = ""
    out["collected_at"] = collected
    for col in ("first_seen", "last_seen", "collected_at"):
        out[col] = pd.to_datetime(out[col], utc=True)
    out["runs_seen"] = pd.to_numeric(out["runs_seen"]).astype("Int64")
    out["state"] = out["state"].astype("string")
    for col in findings.COLUMNS + [findings.EVIDENCE_COLUMN]:
        if col != "severity":
            out[col] = out[col].fillna("").astype(str)
    out["severity"] = ecr.as_severity(out["severity"].astype(str))
    return out[COLUMNS].reset_index(drop=True)


# -- resource kinds ------------------------------------------------------------------------------
# The ARN forms ecr-audit gives resources (ecr.repository_arn, registry_arn, creation_template_arn,
# account_arn), by their resource part: (OCSF resource type, ASFF resource type).
_KINDS = (
    ("repository/", ("AWS::ECR::Repository", "AwsEcrRepository")),
    ("repository-creation-template/", ("AWS::ECR::RepositoryCreationTemplate", "Other")),
    ("registry", ("AWS::ECR::Registry", "Other")),
    ("account", ("AWS::Account", "AwsAccount")),
)


def _kind(arn: str) -> tuple[str, str]:
    resource = arn.split(":", 5)[5] if arn.count(":") >= 5 else ""
    for prefix, kind in _KINDS:
        if resource == prefix or (prefix.endswith("/") and resource.startswith(prefix)):
            return kind
    return ("Other", "Other")


def _ms(ts) -> int | None:
    return None if ts is None or pd.isna(ts) else int(pd.Timestamp(ts).value // 1_000_000)


def _iso(ts) -> str:
    return pd.Timestamp(ts).tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _evidence(row) -> dict:
    """What the finding rests on, as data: the check, the details text, the repository, then the
    check's evidence (`findings.EVIDENCE`). An access finding without evidence (resolved: gone from
    this snapshot) keeps the exposure its id names (`ecr_<scope>_<exposure>_…`: ids never change
    meaning)."""
    data = {"finding_id": row.finding_id, "details": row.details}
    if row.repository_name:
        data["repository_name"] = row.repository_name
    data.update(json.loads(row.evidence) if row.evidence else {})
    for exposure in ("public", "external"):
        if f"_{exposure}_" in row.finding_id:
            data.setdefault("exposure", exposure)
    return data


# -- OCSF ------------------------------------------------------------------------------------------
# https://schema.ocsf.io/1.5.0/classes/detection_finding ; captions are the schema's enum captions.
OCSF_CLASS_UID, OCSF_CATEGORY_UID = 2004, 2
OCSF_SEVERITY = {"info": (1, "Informational"), "low": (2, "Low"), "medium": (3, "Medium")}
OCSF_SEVERITY |= {"high": (4, "High"), "critical": (5, "Critical")}
# Change state → (activity_id, activity_name, status_id, status). No history: Create / New.
OCSF_ACTIVITY = {
    None: (1, "Create", 1, "New"),
    "new": (1, "Create", 1, "New"),
    "persisting": (2, "Update", 1, "New"),
    "reopened": (2, "Update", 1, "New"),
    "resolved": (3, "Close", 4, "Resolved"),
    "unknown": (2, "Update", 0, "Unknown"),
}
_STATUS_DETAIL = {
    "reopened": "resolved in an earlier audit, present again",
    "resolved": "not found by the newest audit, which read its account and region",
    "unknown": "its account or region could not be read by the newest audit",
}


def ocsf_events(df: pd.DataFrame, meta: dict) -> Iterator[dict]:
    """One OCSF 1.5.0 Detection Finding per row of `frame(...)`; `meta` is the snapshot's."""
    org = (meta.get("organization") or {}).get("id")
    partition = ecr.partition_of_snapshot(meta)
    for row in df.itertuples(index=False):
        state = None if pd.isna(row.state) else row.state
        activity_id, activity, status_id, status = OCSF_ACTIVITY[state]
        severity_id, severity = OCSF_SEVERITY[str(row.severity)]
        ocsf_type, _ = _kind(row.resource_arn)
        resource = {"uid": row.resource_arn, "type": ocsf_type, "cloud_partition": partition}
        resource["name"] = row.repository_name or row.resource_arn
        resource["data"] = _evidence(row)
        if row.region:
            resource["region"] = row.region
        cloud = {"provider": "AWS", "account": {"uid": row.account_id, "type_id": 10, "type": "AWS Account"}}
        if org:
            cloud["org"] = {"uid": org}
        if row.region:
            cloud["region"] = row.region
        event = {
            "activity_id": activity_id,
            "activity_name": activity,
            "category_uid": OCSF_CATEGORY_UID,
            "category_name": "Findings",
            "class_uid": OCSF_CLASS_UID,
            "class_name": "Detection Finding",
            "type_uid": OCSF_CLASS_UID * 100 + activity_id,
            "type_name": f"Detection Finding: {activity}",
            "time": _ms(row.collected_at),
            "severity_id": severity_id,
            "severity": severity,
            "status_id": status_id,
            "status": status,
            "message": row.title,
            "is_alert": activity_id != 3,
            "finding_info": {
                "uid": row.finding_uid,
                "title": row.title,
                "desc": row.details,
                "types": [row.finding_id],
                "first_seen_time": _ms(row.first_seen),
                "last_seen_time": _ms(row.last_seen),
                "created_time": _ms(row.first_seen),
            },
            "resources": [resource],
            "cloud": cloud,
            "metadata": {
                "version": OCSF_VERSION,
                "product": {"name": PRODUCT, "vendor_name": PRODUCT, "version": __version__},
                "profiles": ["cloud"],
                "event_code": row.finding_id,
                "uid": f"{row.finding_uid}-{_ms(row.collected_at)}",
            },
        }
        if state in _STATUS_DETAIL:
            event["status_detail"] = _STATUS_DETAIL[state]
        if row.remediation:
            event["remediation"] = {"desc": row.remediation}
        yield _without_none(event)


def _without_none(d: dict) -> dict:
    return {k: _without_none(v) if isinstance(v, dict) else v for k, v in d.items() if v is not None}


def write_ocsf(df: pd.DataFrame, meta: dict, out) -> int:
    """Write `ocsf_events` as JSON lines to `out` (a path or a text stream); the number written."""
    lines = (json.dumps(e, sort_keys=True) + "\n" for e in ocsf_events(df, meta))
    if hasattr(out, "write"):
        return sum(1 for line in lines if out.write(line) is not None)
    with open(out, "w", encoding="utf-8") as f:
        return sum(1 for line in lines if f.write(line) is not None)


# -- ASFF ------------------------------------------------------------------------------------------
# https://docs.aws.amazon.com/securityhub/latest/userguide/asff-required-attributes.html and
# https://docs.aws.amazon.com/securityhub/1.0/APIReference/API_BatchImportFindings.html
ASFF_SCHEMA_VERSION = "2018-10-08"
ASFF_BATCH = 100  # findings per BatchImportFindings request
ASFF_MAX_BYTES = 240 * 1024  # per finding
ASFF_TYPE = "Software and Configuration Checks/AWS Security Best Practices"
ASFF_SEVERITY = {
    "info": "INFORMATIONAL",
    "low": "LOW",
    "medium": "MEDIUM",
    "high": "HIGH",
    "critical": "CRITICAL",
}
# Field limits of the ASFF reference (AwsSecurityFinding): longer text is cut and marked. Details.Other
# is a map of at most 50 string values of fewer than 1024 characters, keys fewer than 128
# (https://docs.aws.amazon.com/securityhub/latest/userguide/asff-resourcedetails-other.html).
ASFF_LIMITS = {"Title": 256, "Description": 1024, "Recommendation": 512, "Other": 1023, "ProductField": 4096}
ASFF_OTHER_KEYS = 50
TRUNCATED = " …[truncated by ecr-audit]"


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - len(TRUNCATED)] + TRUNCATED


def asff_finding(row, meta: dict) -> dict:
    """The ASFF record of one row of `frame(...)`."""
    partition = ecr.partition_of_snapshot(meta)
    regions = meta.get("regions") or ["us-east-1"]
    region = row.region or regions[0]
    state = None if pd.isna(row.state) else row.state
    _, asff_type = _kind(row.resource_arn)
    other = {k: _cut(_asff_text(v), ASFF_LIMITS["Other"]) for k, v in _evidence(row).items()}
    resource = {"Type": asff_type, "Id": row.resource_arn, "Partition": partition, "Region": region}
    resource["Details"] = {"Other": other}
    finding = {
        "SchemaVersion": ASFF_SCHEMA_VERSION,
        "Id": f"{PRODUCT}/{row.finding_uid}",
        "ProductArn": f"arn:{partition}:securityhub:{region}:{row.account_id}:product/{row.account_id}/default",
        "GeneratorId": f"{PRODUCT}/{row.finding_id}",
        "AwsAccountId": row.account_id,
        "Types": [ASFF_TYPE],
        "CreatedAt": _iso(row.first_seen),
        "UpdatedAt": _iso(row.collected_at),
        "FirstObservedAt": _iso(row.first_seen),
        "LastObservedAt": _iso(row.last_seen),
        "Severity": {"Label": ASFF_SEVERITY[str(row.severity)], "Original": str(row.severity)},
        "Title": _cut(row.title, ASFF_LIMITS["Title"]),
        "Description": _cut(row.details or row.title, ASFF_LIMITS["Description"]),
        "Resources": [resource],
        "ProductFields": {
            f"{PRODUCT}/finding_id": row.finding_id,
            f"{PRODUCT}/finding_uid": row.finding_uid,
            f"{PRODUCT}/state": state or "",
        },
        # A provider closes a finding by archiving it (Workflow is the customer's to set).
        "RecordState": "ARCHIVED" if state == "resolved" else "ACTIVE",
        "ProductName": PRODUCT,
        "CompanyName": PRODUCT,
    }
    if row.remediation:
        finding["Remediation"] = {
            "Recommendation": {"Text": _cut(row.remediation, ASFF_LIMITS["Recommendation"])}
        }
    return _within_size(finding)


def _asff_text(value) -> str:
    """An evidence value as an ASFF string: text as is, anything else as JSON (a list as a JSON
    array: IAM names may hold commas, so a joined list could not be split back)."""
    return value if isinstance(value, str) else json.dumps(value)


def _within_size(finding: dict) -> dict:
    """`finding` under ASFF_MAX_BYTES as JSON: the longest texts of Details.Other are cut further
    (marked) until it fits. It is never dropped."""
    other = finding["Resources"][0]["Details"]["Other"]
    while len(json.dumps(finding).encode()) >= ASFF_MAX_BYTES:
        key = max(other, key=lambda k: len(other[k]))
        if len(other[key]) <= len(TRUNCATED) + 1:
            raise ValueError(f"ASFF finding {finding['Id']} cannot be made smaller than 240 KB")
        other[key] = _cut(other[key], len(other[key]) // 2)
    return finding


def asff_batches(df: pd.DataFrame, meta: dict) -> dict[str, list[dict]]:
    """Per account id: BatchImportFindings requests (`{"Findings": [...]}`) of at most 100."""
    out: dict[str, list[dict]] = {}
    for account, rows in df.groupby("account_id", sort=True):
        records = [asff_finding(r, meta) for r in rows.itertuples(index=False)]
        out[str(account)] = [
            {"Findings": records[i : i + ASFF_BATCH]} for i in range(0, len(records), ASFF_BATCH)
        ]
    return out


def write_asff(df: pd.DataFrame, meta: dict, out_dir) -> list[Path]:
    """Write `asff_batches` to `out_dir/<account id>.jsonl`, one request per line (import each with
    `aws securityhub batch-import-findings --cli-input-json` from that account); the files."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for account, batches in asff_batches(df, meta).items():
        if not ecr.is_account_id(account):  # findings about the organization, not an account
            account = "no-account"
        path = out_dir / f"{account}.jsonl"
        path.write_text("".join(json.dumps(b, sort_keys=True) + "\n" for b in batches), encoding="utf-8")
        paths.append(path)
    return paths


# -- Parquet ---------------------------------------------------------------------------------------


def write_parquet(df: pd.DataFrame, out_dir, snapshot_name: str) -> Path:
    """Write `df` under `out_dir/account_id=<id>/date=<collection date>/<snapshot_name>-0.parquet`
    (Hive partitioning: Athena, Spark, DuckDB and pyarrow read the partitions as columns). Writing
    the same snapshot again replaces its files; other snapshots' files stay."""
    import pyarrow as pa
    import pyarrow.dataset as ds

    out_dir = Path(out_dir)
    table_df = df.assign(
        severity=df["severity"].astype(str),
        date=pd.to_datetime(df["collected_at"], utc=True).dt.strftime("%Y-%m-%d"),
    )
    table = pa.Table.from_pandas(table_df, preserve_index=False)
    part = ds.partitioning(pa.schema([("account_id", pa.string()), ("date", pa.string())]), flavor="hive")
    ds.write_dataset(
        table,
        out_dir,
        format="parquet",
        partitioning=part,
        basename_template=f"{snapshot_name}-{{i}}.parquet",
        existing_data_behavior="overwrite_or_ignore",
    )
    return out_dir


__all__ = [
    "ASFF_BATCH",
    "ASFF_MAX_BYTES",
    "COLUMNS",
    "OCSF_VERSION",
    "STATES",
    "asff_batches",
    "asff_finding",
    "frame",
    "ocsf_events",
    "write_asff",
    "write_ocsf",
    "write_parquet",
]
