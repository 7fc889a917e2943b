"""One kind of finding (`Check`) and what the check modules share: a memo of analyses computed
once per `findings()` run, and the ARNs findings name their resources by.

Check modules (`findings` for the collected frames, `findings_analyses` for the analyses) wrap
their functions with `check(...)` and list them in their `CHECKS` tuple; `findings.CHECKS` is the
whole list, in report order. Nothing registers itself on import.

Evidence: beside the details text, a check's rows may carry columns named in `EVIDENCE` (what the
finding rests on, as data: the grantee, the digests, the consumer...). `findings(inv,
evidence=True)` keeps them as one compact JSON object per row (`evidence_json`), which the OCSF and
ASFF exports carry (docs/exports.md#evidence).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import ecr, reuse


@dataclass(frozen=True)
class Check:
    """`run(inv, memo)` returns rows; a family check (id ending in `*`) gives each row its own id.

    Rows name the resource (resource_arn, account_id, region, repository_name) and the details;
    they may add `severity` (overrides the default), `title`, `uid_key` (a stable discriminator
    for several findings of one kind on one resource) and `EVIDENCE` columns."""

    finding_id: str
    severity: str
    title: str
    remediation: str
    run: Callable[..., pd.DataFrame]

    @property
    def is_family(self) -> bool:
        return self.finding_id.endswith("*")


EVIDENCE_FIRST = 10  # list evidence (digests, consumers) keeps the first 10; a count says how many
# What a finding's evidence may hold: name → meaning, in the order exports show them. Values are
# text, numbers, booleans or lists of text; a null or empty value is left out (never "none there":
# an absent reclaimable_bytes is undetermined). Names follow docs/conventions.md like columns do.
EVIDENCE = {
    # a policy grant (access.grants)
    "scope": "where the policy is: repository, registry or creation_template",
    "grantee": "who the statement lets in: *, an account id, a principal ARN, an organization path, a service",
    "grantee_kind": "public, org, account, principal, service, ... (access.grants)",
    "statement_ids": "the policy statements (Sid, or #index when unnamed) that grant it",
    "subject": "what a policy-quality finding is about: a principal, a condition key, an action",
    "actions": "the ECR actions granted, as the policy writes them",
    "capability": "the capability the finding is about: pull, push, delete or manage",
    "capabilities": "every capability the grant (or path) gives",
    "exposure": "who the policy alone lets in: public, external, org, account, service, undetermined",
    "effective_exposure": "the same after the organization's RCPs (docs/access.md#effective-access)",
    "effective_basis": "why the effective exposure is what it is (rcp_applied, no_rcp_on_path, ...)",
    "restricted_by": "network condition keys (source VPC, IP) that narrow the grant, not who can call",
    "neutralized_by": "RCPs that take some of the grant away: 'p-id name @ Root/OU/...'",
    "gap_reason": "why the organization's perimeter does not cover the grant",
    # an IAM principal inside the organization, or a path into it (access.principals, external_paths)
    "principal_arn": "the IAM principal (a role a path goes through)",
    "principal_type": "role or user",
    "via": "identity, resource or both: which policy lets the principal act",
    "allowed_by": "the policies and statements that allow it",
    "capped_by": "what takes some of it away: permissions boundary, SCP, RCP, a Deny",
    "external_principal": "who outside the organization can assume the role (undetermined: unread)",
    "reaches": "what the path reaches: '<capability> <repository>'",
    # images (images.orphans, images.stale, lifecycle.simulate)
    "image_digests": f"the images: the first {EVIDENCE_FIRST} (orphans: most bytes, stale: most idle first)",
    "images": "how many images the finding counts",
    "reasons": "why they are orphaned or dangling (images.orphans reasons)",
    "reclaimable_bytes": "bytes deleting them frees (shared layers excluded); absent: undetermined",
    "idle_days": "the longest time one of them has not been pulled",
    "rule_priority": "the lifecycle rule",
    "action": "what the rule would do: expire or transition",
    # consumers (consumers.references)
    "consumers": "how many distinct consumers (ARN, kind, account) the finding counts",
    "consumer_arns": f"the consumers (ECS task, service revision, Lambda function ...): the first {EVIDENCE_FIRST}",
    "consumer_kinds": "their kinds (consumers.consumer_kind), in the order of consumer_arns",
    "consumer_account_ids": "the accounts they run in, in the order of consumer_arns",
    "reference_role": "running, deployed, rollback, defined or observed",
    "image_uri": "the image reference as the consumer names it",
    "resolution_reason": "why the reference names no image",
    "has_read_cloudtrail": "whether CloudTrail pulls were read as evidence of use",
    # replication, failed reads
    "destination_account_id": "the account images are replicated to",
    "destination_region": "the region images are replicated to",
    "error_kind": "the kind of failure (errors frame)",
    "operations": "the AWS operations that failed",
    "errors": "how many calls failed",
}


def evidence_json(row: dict) -> str:
    """One row's evidence (its `EVIDENCE` columns) as compact JSON text, keys in declared order,
    null and empty values left out; "" when nothing is left."""
    out = {}
    for key in EVIDENCE:
        value = _plain(row.get(key))
        if value is not None and value != "" and value != []:
            out[key] = value
    return json.dumps(out, separators=(",", ":")) if out else ""


def _plain(value):
    """A cell as JSON data: lists of text, text, int, float, bool, or None for a null."""
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        return [str(v) for v in value if not (v is None or (not isinstance(v, str) and pd.isna(v)))]
    if value is None or pd.isna(value):
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return int(value) if float(value).is_integer() else float(value)
    return str(value)


def check(finding_id: str, severity: str, title: str, remediation: str):
    """Decorator: the function becomes a `Check` with this id, default severity and texts."""
    if severity not in ecr.SEVERITIES:
        raise ValueError(f"{finding_id}: severity {severity!r} is not one of {ecr.SEVERITIES}")

    def wrap(fn) -> Check:
        return Check(finding_id, severity, title, remediation, fn)

    return wrap


def memoized(memo: dict, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Compute an analysis once per `findings()` run, however many checks read it (each check
    that reads it depends on what it read: `reuse`)."""
    traces = memo.setdefault(_TRACES, {})
    if key not in memo:
        memo[key], traces[key] = reuse.within(compute)
    else:
        reuse.used(None, traces.get(key))
    return memo[key]


_TRACES = "\0traces"  # memo key of the traces of the memo's analyses


def partition(inv) -> str:
    """The AWS partition of the snapshot (`aws`, `aws-cn`, `aws-us-gov`, ...)."""
    return ecr.partition_of_snapshot(inv.meta)


def repository_arns(inv, df: pd.DataFrame) -> pd.Series:
    """ARN of the repository of each row of `df` (account_id, region, repository_name)."""
    return ecr.repository_arn(
        partition(inv),
        df["region"].astype(str),
        df["account_id"].astype(str),
        df["repository_name"].astype(str),
    )


def registry_arns(inv, df: pd.DataFrame) -> pd.Series:
    """The registry identifier (`ecr.registry_arn`) of each row of `df` (account_id, region)."""
    return ecr.registry_arn(partition(inv), df["region"].astype(str), df["account_id"].astype(str))


def resource_arns(inv, df: pd.DataFrame) -> pd.Series:
    """Per row: the repository's ARN, or the registry's where repository_name is empty or null."""
    name = df["repository_name"].fillna("")
    return repository_arns(inv, df.assign(repository_name=name)).where(name != "", registry_arns(inv, df))
