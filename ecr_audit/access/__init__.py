"""Access analysis: who outside each account can pull, push, delete or manage ECR content.

Public API (pure functions, Inventory in, DataFrame out):
- `grants(inv)`          one row per resource × grantee after all statements are weighed
- `replication(inv)`     where each registry copies images
- `policy_findings(inv)` policy-quality findings (never a silent skip)
- `matrix(grants_df)`    owner account × grantee counts, for the heatmap
- `summary(grants_df)`   counts by exposure × capability
- `by_account(grants_df)` per owner account: grants to others by exposure, worst severity
- `critical(grants_df, trusted_accounts)` public anything, external push/delete/manage, unreadable
- `coverage(inv)`        what the analysis could look at (policy read status, registry scope)

Semantics are documented in `grants` (exposure, severity), `conditions` (condition keys),
`evaluate` (statement weighing) and `actions` (capability mapping).
"""

from .grants import (
    FINDING_COLUMNS,
    GRANT_COLUMNS,
    SEVERITIES,
    by_account,
    coverage,
    critical,
    grants,
    matrix,
    policy_findings,
    summary,
)
from .policy import parse_policy
from .replication import REPLICATION_COLUMNS, replication

__all__ = [
    "grants",
    "replication",
    "policy_findings",
    "matrix",
    "summary",
    "by_account",
    "critical",
    "coverage",
    "parse_policy",
    "GRANT_COLUMNS",
    "FINDING_COLUMNS",
    "REPLICATION_COLUMNS",
    "SEVERITIES",
]
