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
- `principals(inv)`      IAM users and roles × repositories × capability, after boundaries, SCPs, RCPs
- `external_paths(inv)`  what outsiders can do by assuming a role of the organization

`grants` also carries the exposure after the organization's RCPs (`effective_*`, `organization`).

Semantics are documented in `grants` (exposure, severity), `conditions` (condition keys),
`evaluate` (statement weighing) and `actions` (capability mapping).
"""

from .grants import (
    EFFECTIVE_ORDER,
    FINDING_COLUMNS,
    GRANT_COLUMNS,
    SEVERITIES,
    by_account,
    coverage,
    critical,
    grants,
    matrix,
    perimeter_gaps,
    policy_findings,
    summary,
)
from .organization import EFFECTIVE_BASES, organization
from .policy import parse_policy
from .principal_access import (
    DEFAULT_PRODUCTION,
    EXTERNAL_PATH_COLUMNS,
    PRINCIPAL_COLUMNS,
    external_paths,
    principals,
    production_repositories,
)
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
    "principals",
    "external_paths",
    "PRINCIPAL_COLUMNS",
    "EXTERNAL_PATH_COLUMNS",
    "EFFECTIVE_BASES",
    "EFFECTIVE_ORDER",
    "perimeter_gaps",
    "DEFAULT_PRODUCTION",
    "organization",
    "production_repositories",
    "GRANT_COLUMNS",
    "FINDING_COLUMNS",
    "REPLICATION_COLUMNS",
    "SEVERITIES",
]
