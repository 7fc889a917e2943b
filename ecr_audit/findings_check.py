"""One kind of finding (`Check`) and what the check modules share: a memo of analyses computed
once per `findings()` run, and the ARNs findings name their resources by.

Check modules (`findings` for the collected frames, `findings_analyses` for the analyses) wrap
their functions with `check(...)` and list them in their `CHECKS` tuple; `findings.CHECKS` is the
whole list, in report order. Nothing registers itself on import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from . import ecr


@dataclass(frozen=True)
class Check:
    """`run(inv, memo)` returns rows; a family check (id ending in `*`) gives each row its own id.

    Rows name the resource (resource_arn, account_id, region, repository_name) and the details;
    they may add `severity` (overrides the default), `title` and `uid_key` (a stable discriminator
    for several findings of one kind on one resource)."""

    finding_id: str
    severity: str
    title: str
    remediation: str
    run: Callable[..., pd.DataFrame]

    @property
    def is_family(self) -> bool:
        return self.finding_id.endswith("*")


def check(finding_id: str, severity: str, title: str, remediation: str):
    """Decorator: the function becomes a `Check` with this id, default severity and texts."""
    if severity not in ecr.SEVERITIES:
        raise ValueError(f"{finding_id}: severity {severity!r} is not one of {ecr.SEVERITIES}")

    def wrap(fn) -> Check:
        return Check(finding_id, severity, title, remediation, fn)

    return wrap


def memoized(memo: dict, key: str, compute: Callable[[], pd.DataFrame]) -> pd.DataFrame:
    """Compute an analysis once per `findings()` run, however many checks read it."""
    if key not in memo:
        memo[key] = compute()
    return memo[key]


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
