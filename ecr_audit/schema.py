"""Every frame of an inventory: its grain, columns, dtypes and meaning, declared once.

`conform(name, df)` is the single boundary where collected records (or hand-built test
frames) become a frame: missing optional columns are added as nulls, dtypes are cast,
unknown columns are refused. Everything downstream may rely on the declared dtypes.

Conventions (docs/conventions.md): account ids are 12-character strings; `_at` columns are
tz-aware UTC; sizes carry their unit; booleans read `is_`/`has_`/`can_`.
Status columns use the vocabulary in `STATUS`: present | absent | unreadable | unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

SCHEMA_VERSION = 2  # 2: compact layers, manifest_references, image_tags on disk (snapshot.py)

# Status of one thing the collector tried to read.
#   present     - read, and it exists
#   absent      - read, and AWS says it is not configured (an expected absence, e.g. no policy)
#   unreadable  - could not look (access denied, retries exhausted, ...): see the errors frame
#   unsupported - the endpoint does not implement the operation
#   skipped     - deliberately not read (e.g. manifests under --read-manifests auto without exclusion)
STATUS = ("present", "absent", "unreadable", "unsupported", "skipped")

STR = "str"
BOOL = "boolean"
INT = "Int64"
TIME = "datetime64[us, UTC]"
LIST = "list"  # list[str] per cell (object dtype in pandas, list<string> in Parquet)
CAT = "category"


@dataclass(frozen=True)
class Column:
    name: str
    dtype: str
    description: str
    required: bool = False  # must be present (and non-null for keys) in every row


@dataclass(frozen=True)
class Frame:
    name: str
    grain: str
    columns: tuple[Column, ...]
    description: str = ""

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.name} has no column {name!r}")


def _c(name, dtype, description, required=False):
    return Column(name, dtype, description, required)


ACCOUNT = _c("account_id", STR, "12-digit id of the account that owns the resource", True)
REGION = _c("region", STR, "AWS region code", True)
REPO = _c("repository_name", STR, "ECR repository name", True)
DIGEST = _c("image_digest", STR, "sha256 digest of the image manifest", True)
# Key columns of a repository and of an image, for joins across frames.
REPO_KEY = [ACCOUNT.name, REGION.name, REPO.name]
IMAGE_KEY = REPO_KEY + [DIGEST.name]

# The million-row frames repeat a handful of values per column: categoricals hold them as
# small integer codes (hundreds of MiB less at a million images).
ACCOUNT_CAT = _c("account_id", CAT, ACCOUNT.description, True)
REGION_CAT = _c("region", CAT, REGION.description, True)
REPO_CAT = _c("repository_name", CAT, REPO.description, True)


FRAMES: dict[str, Frame] = {}


def _frame(name, grain, columns, description=""):
    FRAMES[name] = Frame(name, grain, tuple(columns), description)


_frame(
    "accounts",
    "one row per account considered (collected, skipped or failed)",
    [
        ACCOUNT,
        _c("account_name", STR, "name in Organizations (empty outside an organization)"),
        _c("email", STR, "root e-mail in Organizations"),
        _c("state", STR, "Organizations State: ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, ..."),
        _c(
            "ou_path",
            STR,
            "organizational-unit path from the root, e.g. r-ab12/ou-ab12-x/ou-ab12-y (when known)",
        ),
        _c("collection_status", STR, "collected | partial | skipped | failed", True),
        _c("skip_reason", STR, "why the account was skipped or failed"),
        _c("principal_arn", STR, "ARN the tool ran as in this account (assumed-role ARN)"),
    ],
)

_frame(
    "coverage",
    "one row per account × region the collector attempted",
    [
        ACCOUNT,
        REGION,
        _c("status", STR, "complete | partial | failed | disabled | skipped", True),
        _c("reason", STR, "why not complete"),
        _c("principal_arn", STR, "ARN the tool ran as"),
        _c(
            "is_pull_time_excluded",
            BOOL,
            "the principal is listed by ListPullTimeUpdateExclusions (None: could not look)",
        ),
        _c("manifest_mode", STR, "auto | always | never: the --read-manifests mode requested"),
        _c("manifests_read", BOOL, "manifests were fetched with BatchGetImage in this account × region"),
        _c("manifests_reason", STR, "why manifests were or were not read"),
        _c("repositories", INT, "repositories listed"),
        _c("images", INT, "images described"),
        _c("errors", INT, "rows in the errors frame for this account × region"),
    ],
)

_frame(
    "registries",
    "one row per account × region registry read",
    [
        ACCOUNT,
        REGION,
        _c("registry_policy_status", STR, "present | absent | unreadable | unsupported"),
        _c(
            "registry_policy_scope",
            STR,
            "GetAccountSetting REGISTRY_POLICY_SCOPE: V1 | V2 (None: could not read)",
        ),
        _c("blob_mounting", STR, "GetAccountSetting BLOB_MOUNTING: ENABLED | DISABLED"),
        _c("scan_type", STR, "registry scanning: BASIC | ENHANCED"),
        _c("scanning_rules", STR, "registry scanning rules as JSON text"),
        _c("replication_status", STR, "present | absent | unreadable | unsupported"),
        _c("pull_through_cache_status", STR, "present | absent | unreadable | unsupported"),
        _c("creation_templates_status", STR, "present | absent | unreadable | unsupported"),
        _c("pull_time_exclusions_status", STR, "present | absent | unreadable | unsupported"),
    ],
)

_frame(
    "repositories",
    "one row per account × region × repository",
    [
        ACCOUNT,
        REGION,
        REPO,
        _c("repository_arn", STR, "repository ARN", True),
        _c("repository_uri", STR, "registry URI used by docker pull"),
        _c("created_at", TIME, "creation time"),
        _c(
            "image_tag_mutability",
            STR,
            "MUTABLE | IMMUTABLE | IMMUTABLE_WITH_EXCLUSION | MUTABLE_WITH_EXCLUSION",
        ),
        _c("tag_mutability_exclusions", LIST, "exclusion filters (wildcards)"),
        _c("scan_on_push", BOOL, "repository-level scanOnPush"),
        _c("encryption_type", STR, "AES256 | KMS | KMS_DSSE"),
        _c("kms_key", STR, "KMS key ARN when KMS encrypted"),
        _c("policy_status", STR, "repository policy: present | absent | unreadable | unsupported"),
        _c("lifecycle_policy_status", STR, "lifecycle policy: present | absent | unreadable | unsupported"),
        _c("tags_status", STR, "resource tags: present | absent | unreadable | unsupported"),
        _c("images_status", STR, "image list: present | absent (no images) | unreadable"),
        _c(
            "manifests_status",
            STR,
            "manifests: present | skipped | unreadable (some failed) | absent (no images)",
        ),
    ],
)

_frame(
    "repository_tags",
    "one row per account × region × repository × resource tag key",
    [
        ACCOUNT,
        REGION,
        REPO,
        _c("key", STR, "tag key", True),
        _c("value", STR, "tag value"),
    ],
)

_frame(
    "images",
    "one row per account × region × repository × image digest",
    [
        ACCOUNT,
        REGION,
        REPO,
        DIGEST,
        _c("tags", LIST, "image tags (empty list when untagged)"),
        _c("pushed_at", TIME, "imagePushedAt"),
        _c("last_pulled_at", TIME, "lastRecordedPullTime (null: never pulled; ECR records at most daily)"),
        _c(
            "size_bytes",
            INT,
            "imageSizeInBytes as ECR reports it (index: max of its children; not billable bytes)",
        ),
        _c("manifest_media_type", STR, "imageManifestMediaType"),
        _c("artifact_media_type", STR, "artifactMediaType (config media type)"),
        _c("image_status", STR, "ACTIVE | ARCHIVED | ACTIVATING"),
        _c("subject_digest", STR, "subjectManifestDigest: the subject of an OCI referrer"),
        _c("last_archived_at", TIME, "lastArchivedAt"),
        _c("last_activated_at", TIME, "lastActivatedAt"),
        _c("scan_status", STR, "imageScanStatus.status"),
        _c("manifest_status", STR, "present (manifest read and parsed) | skipped | unreadable | invalid"),
        _c("manifest_size_bytes", INT, "length of the manifest document when read"),
        _c("config_media_type", STR, "config.mediaType from the manifest (artifact type for OCI artifacts)"),
        _c("artifact_type", STR, "artifactType from the manifest (OCI 1.1)"),
    ],
)

_frame(
    "image_tags",
    "one row per account × region × repository × tag (a tag names one digest)",
    [
        ACCOUNT,
        REGION,
        REPO,
        DIGEST,
        _c("tag", STR, "image tag", True),
    ],
)

_frame(
    "manifest_references",
    "one row per edge of the manifest graph within a repository",
    [
        ACCOUNT_CAT,
        REGION_CAT,
        REPO_CAT,
        _c(
            "source_digest",
            STR,
            "the referring manifest (index, referrer, signature image, attestation)",
            True,
        ),
        _c("target_digest", STR, "the referred manifest (child, subject)", True),
        _c("kind", CAT, "index_child | referrer_subject | signature_subject | attestation_subject", True),
        _c("platform", CAT, "os/architecture[/variant] of an index child (unknown/unknown for attestations)"),
        _c("media_type", CAT, "media type of the referenced descriptor"),
        _c("reference_type", CAT, "annotation vnd.docker.reference.type (e.g. attestation-manifest)"),
    ],
)

_frame(
    "layers",
    "one row per image × blob (config or layer) the manifest references",
    [
        ACCOUNT_CAT,
        REGION_CAT,
        REPO_CAT,
        DIGEST,
        _c("blob_digest", STR, "digest of the blob", True),
        _c("size_bytes", INT, "compressed size of the blob as declared in the manifest"),
        _c("media_type", CAT, "blob media type"),
        _c("kind", CAT, "config | layer", True),
    ],
)

_frame(
    "repository_policies",
    "one row per repository with a repository policy",
    [
        ACCOUNT,
        REGION,
        REPO,
        _c("policy_text", STR, "policy document as returned (untrusted text)", True),
    ],
)

_frame(
    "registry_policies",
    "one row per account × region with a registry policy",
    [
        ACCOUNT,
        REGION,
        _c("policy_text", STR, "policy document as returned (untrusted text)", True),
    ],
)

_frame(
    "lifecycle_policies",
    "one row per repository with a lifecycle policy",
    [
        ACCOUNT,
        REGION,
        REPO,
        _c("policy_text", STR, "lifecycle policy text as returned (untrusted text)", True),
        _c("last_evaluated_at", TIME, "lastEvaluatedAt"),
    ],
)

_frame(
    "replication_rules",
    "one row per replication rule × destination",
    [
        ACCOUNT,
        REGION,
        _c("rule_index", INT, "position of the rule in the configuration", True),
        _c("destination_region", STR, "destination region", True),
        _c("destination_registry_id", STR, "destination account id", True),
        _c("repository_filters", LIST, "PREFIX_MATCH filters (empty: every repository)"),
    ],
)

_frame(
    "pull_through_cache_rules",
    "one row per pull-through cache rule",
    [
        ACCOUNT,
        REGION,
        _c("ecr_repository_prefix", STR, "local repository prefix", True),
        _c("upstream_registry_url", STR, "upstream URL"),
        _c("upstream_registry", STR, "ecr | ecr-public | quay | k8s | docker-hub | ..."),
        _c("upstream_repository_prefix", STR, "upstream prefix"),
        _c("credential_arn", STR, "Secrets Manager ARN of upstream credentials"),
        _c("custom_role_arn", STR, "role used for ECR-to-ECR caching"),
        _c("created_at", TIME, "creation time"),
        _c("updated_at", TIME, "last update"),
    ],
)

_frame(
    "creation_templates",
    "one row per repository creation template",
    [
        ACCOUNT,
        REGION,
        _c("prefix", STR, "repository prefix the template applies to (ROOT: all)", True),
        _c("description", STR, "description"),
        _c("applied_for", LIST, "REPLICATION | PULL_THROUGH_CACHE | CREATE_ON_PUSH"),
        _c("image_tag_mutability", STR, "tag mutability applied"),
        _c("encryption_type", STR, "encryption applied"),
        _c("repository_policy_text", STR, "repository policy applied (untrusted text)"),
        _c("lifecycle_policy_text", STR, "lifecycle policy applied (untrusted text)"),
        _c("custom_role_arn", STR, "role ECR uses to create repositories"),
        _c("created_at", TIME, "creation time"),
        _c("updated_at", TIME, "last update"),
    ],
)

_frame(
    "pull_time_exclusions",
    "one row per principal excluded from pull-time updates",
    [
        ACCOUNT,
        REGION,
        _c("principal_arn", STR, "IAM role or user ARN", True),
    ],
)

# -- consumers (issue 14): what names an image, and which consumer kinds could be read ---------
# Contract between collection (collect/consumers/) and analysis (consumers.py): docs/consumers.md.
CONSUMER_KINDS = (
    "ecs_service_revision",
    "ecs_service_deployment",
    "ecs_task",
    "ecs_task_definition",
    "lambda_version",
    "batch_job_definition",
    "apprunner_service",
    "sagemaker_endpoint",
    "sagemaker_model",
    "emr_serverless_application",
    "codebuild_project",
    "inspector_ecs",
    "inspector_eks",
    "inspector_in_use",
    "cloudtrail_pull",
)
REFERENCE_ROLES = ("running", "deployed", "rollback", "defined", "observed")
DIGEST_SOURCES = ("written", "resolved_by_service", "none")
CONSUMER_COVERAGE_STATUSES = (
    "complete",
    "partial",
    "unreadable",
    "unsupported",
    "not_offered",
    "disabled",
    "skipped",
)

_frame(
    "consumers",
    "one row per consumer × image reference (a container of a task, a Lambda version, ...)",
    [
        _c("consumer_account_id", STR, "account where the consumer runs or is defined", True),
        _c("consumer_region", STR, "region of the consumer (CloudTrail pulls: the registry's region)", True),
        _c("consumer_kind", STR, " | ".join(CONSUMER_KINDS), True),
        _c(
            "consumer_arn",
            STR,
            "ARN of the consumer; for Inspector and CloudTrail rows the cluster, task definition or caller",
        ),
        _c(
            "consumer_name",
            STR,
            "human name: cluster/service, function:version, job:revision, namespace/workload",
        ),
        _c("container_name", STR, "container within the consumer, when it has several"),
        _c("reference_role", STR, " | ".join(REFERENCE_ROLES) + " (docs/consumers.md#reference-roles)"),
        _c(
            "image_uri", STR, "the image reference as the consumer wrote it (untrusted text: may be anything)"
        ),
        _c("resolved_uri", STR, "the reference the service resolved (a digest), when it says"),
        _c("is_ecr_private", BOOL, "image_uri (or resolved_uri) parses as a private ECR image reference"),
        _c("account_id", STR, "registry account parsed from the URI (null when not ECR private)"),
        _c("region", STR, "registry region parsed from the URI"),
        _c("repository_name", STR, "repository parsed from the URI"),
        _c(
            "image_tag",
            STR,
            "tag as written; latest when neither tag nor digest is written; null when pinned by digest only",
        ),
        _c(
            "image_digest",
            STR,
            "the digest to use: written if pinned, else the one the service resolved, else null",
        ),
        _c("digest_source", STR, " | ".join(DIGEST_SOURCES)),
        _c("is_running", BOOL, "something runs it now; false for definitions only; null when unknown"),
        _c("observed_at", TIME, "when the collector read it"),
        _c(
            "last_in_use_at",
            TIME,
            "Inspector lastInUseAt, newest CloudTrail pull, ECS task startedAt, when known",
        ),
        _c("details", STR, "short human text (untrusted parts included): deployment, alias weight, cluster"),
    ],
)

_frame(
    "consumer_coverage",
    "one row per consumer account × region × consumer kind (ecs, lambda, ...) attempted or skipped",
    [
        _c("consumer_account_id", STR, "account the kind was read in", True),
        _c("consumer_region", STR, "region the kind was read in", True),
        _c(
            "consumer_kind",
            STR,
            "ecs | lambda | batch | apprunner | sagemaker | emr_serverless | codebuild | inspector | cloudtrail",
            True,
        ),
        _c("status", STR, " | ".join(CONSUMER_COVERAGE_STATUSES), True),
        _c("reason", STR, "why not complete"),
        _c("consumers", INT, "consumer rows read"),
    ],
)
# -- end of consumers -----------------------------------------------------------------------------

_frame(
    "errors",
    "one row per failed read: what could not be looked at, and why",
    [
        _c("account_id", STR, "account (empty when the failure precedes account discovery)"),
        _c("region", STR, "region (empty for account-level operations)"),
        _c("repository_name", STR, "repository (empty for registry-level operations)"),
        _c("operation", STR, "API operation, e.g. GetRepositoryPolicy", True),
        _c("error_code", STR, "AWS error code or exception class", True),
        _c(
            "error_kind",
            STR,
            "access_denied | throttled | unsupported | not_found | disabled_region | timeout | server_error"
            " | invalid_data | error",
            True,
        ),
        _c("message", STR, "error message, scrubbed of credentials (untrusted text)"),
    ],
)

_frame(
    "api_calls",
    "one row per account × region × operation",
    [
        _c("account_id", STR, "account (empty for calls made before assuming into an account)"),
        _c("region", STR, "region"),
        _c("operation", STR, "API operation", True),
        _c("calls", INT, "requests sent, retries included", True),
        _c("retries", INT, "of which retries"),
        _c("failures", INT, "calls that ended in an error after retries"),
    ],
)


def empty(name: str) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes."""
    return conform(name, pd.DataFrame())


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if dtype == LIST:
        return series.map(_as_list).astype(object)
    if dtype == TIME:
        return pd.to_datetime(series, utc=True).astype(TIME)
    if dtype == STR:
        # Keep nulls as nulls; everything else as text. Account ids stay strings (leading zeros).
        return series.astype(STR)
    if dtype == CAT:  # categories are text, like STR
        if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.dtype == STR:
            return series
        return series.astype(STR).astype(CAT)
    return series.astype(dtype)


def _as_list(value) -> list:
    # Fast paths first: this runs once per image (a million times on a large snapshot).
    t = type(value)
    if t is list or t is tuple:
        return [v if type(v) is str else str(v) for v in value]
    if t is np.ndarray:  # Parquet list<string> cells arrive as object arrays of str
        return [v if type(v) is str else str(v) for v in value.tolist()]
    if value is None:
        return []
    if isinstance(value, float) and pd.isna(value):
        return []
    if isinstance(value, str):
        return [value]
    return [str(v) for v in value]


def cast_columns(df: pd.DataFrame, columns, ready=()) -> pd.DataFrame:
    """`df` with exactly `columns` (declared order, dtypes cast; missing ones null), index reset.

    The casting step of `conform`, also used for analysis outputs that declare their columns
    with `Column` but are not snapshot frames. Columns named in `ready` already have their
    declared type (e.g. lists of str built by the snapshot reader) and are taken as they are."""
    out = {}
    for col in columns:
        series = (
            df[col.name]
            if col.name in df.columns
            else pd.Series([None] * len(df), index=df.index, dtype=object)
        )
        out[col.name] = series if col.name in ready else _cast(series, col.dtype)
    return pd.DataFrame(out, index=df.index).reset_index(drop=True)


def conform(name: str, df: pd.DataFrame | list[dict] | None, ready=()) -> pd.DataFrame:
    """Return `df` as frame `name`: declared column order, dtypes cast, missing columns null.

    Raises ValueError on unknown columns or null required columns (a bug, not bad AWS data).
    `ready`: columns already of their declared type (see `cast_columns`).
    """
    frame = FRAMES[name]
    if df is None:
        df = pd.DataFrame()
    elif not isinstance(df, pd.DataFrame):
        df = pd.DataFrame.from_records(list(df))
    extra = set(df.columns) - set(frame.names)
    if extra:
        raise ValueError(f"frame {name!r} got undeclared columns: {sorted(extra)}")
    n = len(df)
    result = cast_columns(df, frame.columns, ready)
    for col in frame.columns:
        if col.required and n and result[col.name].isna().any():
            raise ValueError(f"frame {name!r}: required column {col.name!r} has nulls")
    return result


def describe() -> pd.DataFrame:
    """The schema itself as a frame (frame, grain, column, dtype, description) for docs and notebooks."""
    rows = [
        {"frame": f.name, "grain": f.grain, "column": c.name, "dtype": c.dtype, "description": c.description}
        for f in FRAMES.values()
        for c in f.columns
    ]
    return pd.DataFrame(rows)
