"""Every frame of an inventory: its grain, columns, dtypes and meaning, declared once.

`conform(name, df)` is the single boundary where collected records (or hand-built test
frames) become a frame: missing optional columns are added as nulls, dtypes are cast,
unknown columns are refused. Everything downstream may rely on the declared dtypes.

Conventions (docs/conventions.md): account ids are 12-character strings; `_at` columns are
tz-aware UTC; sizes carry their unit; booleans read `is_`/`has_`/`can_`.
Status columns use the vocabulary in `STATUS`: present | absent | unreadable | unsupported.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from . import ecr

# Versions: 1 the first; 2 stores layers, manifest_references and image_tags compactly (compact.py);
# 3 renames columns to the naming rules (RENAMED[3], docs/conventions.md). Snapshots of every
# version load: older names are mapped on load, and frames added since come back empty.
SCHEMA_VERSION = 3

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
SEVERITY = "severity"  # ecr.SEVERITY: an ordered categorical, critical first


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
    since: int = 1  # the schema version that added the frame: older snapshots lack it (loads empty)

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


def _frame(name, grain, columns, description="", since=1):
    FRAMES[name] = Frame(name, grain, tuple(columns), description, since)


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
        _c("has_read_manifests", BOOL, "manifests were fetched with BatchGetImage in this account × region"),
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
        _c("scanning_rules_text", STR, "registry scanning rules as JSON text (untrusted text)"),
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
        _c("has_scan_on_push", BOOL, "repository-level scanOnPush"),
        _c("encryption_type", STR, "AES256 | KMS | KMS_DSSE"),
        _c("kms_key_arn", STR, "KMS key ARN when KMS encrypted (kmsKey)"),
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
        _c("destination_account_id", STR, "destination registry's account id (registryId)", True),
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

# -- prices (issue 15): ECR storage prices as the AWS Price List stated them at collection time ---
_frame(
    "storage_prices",
    "one row per region × storage class × charge × price tier, from the AWS Price List (GetProducts)",
    [
        REGION,
        _c("storage_class", STR, "standard | archive", True),
        _c("charge", STR, "storage (per GB-month) | restore (per GB restored)", True),
        _c("tier_begin_gb", INT, "first GB of the usage the price applies to (tiers: beginRange)", True),
        _c("tier_end_gb", INT, "GB where the tier ends (endRange; null: no upper bound)"),
        _c("price", STR, "price per unit as the Price List states it (exact decimal text)", True),
        _c("currency", STR, "currency of the price (USD; CNY in the China regions)", True),
        _c("unit", STR, "GB-Mo (storage) | GB (restore)", True),
        _c("usage_type", STR, "Price List usagetype, e.g. EUW1-TimedStorage-ByteHrs"),
        _c("effective_at", TIME, "effectiveDate of the OnDemand term: when the price took effect", True),
        _c("sku", STR, "Price List SKU of the product"),
        _c("source", STR, "where the price was read (the Price List API)"),
    ],
    "Read once per collection by the caller; empty when it could not be read (an errors row says "
    "why; cost then uses the shipped table: ecr_audit.cost.prices)",
    since=3,
)

# -- effective access: organization policies and identities (docs/organization-policies.md) --------

POLICY_TYPE = _c("policy_type", STR, "SERVICE_CONTROL_POLICY | RESOURCE_CONTROL_POLICY", True)

_frame(
    "organizational_units",
    "one row per root and organizational unit of the organization (read once, from the caller)",
    [
        _c("ou_id", STR, "r-xxxx (a root) or ou-xxxx-yyyyyyyy", True),
        _c("parent_id", STR, "the parent root or OU (null for a root)"),
        _c("name", STR, "root or OU name (untrusted text)"),
        _c("ou_path", STR, "ids from the root down to this one, as accounts.ou_path (r-ab12/ou-ab12-x)"),
    ],
    since=3,
)

_frame(
    "org_policies",
    "one row per service control policy (SCP) or resource control policy (RCP)",
    [
        _c("policy_id", STR, "p-xxxxxxxx (AWS managed: p-FullAWSAccess, p-RCPFullAWSAccess)", True),
        POLICY_TYPE,
        _c("name", STR, "policy name (untrusted text)"),
        _c("description", STR, "policy description (untrusted text)"),
        _c("is_aws_managed", BOOL, "an AWS managed policy (FullAWSAccess, RCPFullAWSAccess)"),
        _c(
            "policy_text", STR, "DescribePolicy Content (untrusted text; null: could not be read, see errors)"
        ),
    ],
    since=3,
)

_frame(
    "org_policy_targets",
    "one row per organization policy × root, OU or account it is attached to directly",
    [
        _c("policy_id", STR, "the policy", True),
        _c("target_id", STR, "root id, OU id or 12-digit account id", True),
        _c("target_type", STR, "ROOT | ORGANIZATIONAL_UNIT | ACCOUNT", True),
        _c("target_name", STR, "name of the root, OU or account (untrusted text)"),
    ],
    since=3,
)

_frame(
    "org_policy_coverage",
    "one row per organization policy type: whether its policies were read",
    [
        POLICY_TYPE,
        _c(
            "status",
            STR,
            "enabled (read) | not_enabled (the type is off: none of its policies apply) | pending (being"
            " enabled or disabled) | unreadable (see errors) | not_an_organization | skipped",
            True,
        ),
        _c("reason", STR, "why not enabled, unreadable or skipped"),
    ],
    since=3,
)

_frame(
    "iam_principals",
    "one row per IAM user, role and group of a collected account",
    [
        ACCOUNT,
        _c("principal_arn", STR, "user, role or group ARN", True),
        _c("principal_type", STR, "user | role | group", True),
        _c("name", STR, "user, role or group name"),
        _c("path", STR, "IAM path"),
        _c(
            "trust_policy_text",
            STR,
            "roles: the trust policy (AssumeRolePolicyDocument) as JSON text (untrusted)",
        ),
        _c("permissions_boundary_arn", STR, "the managed policy used as permissions boundary"),
        _c("is_service_linked", BOOL, "a service-linked role (path /aws-service-role/)"),
        _c("tags", LIST, "Key=Value"),
    ],
    since=3,
)

_frame(
    "iam_policies",
    "one row per managed policy of a collected account (AWS managed ones only when attached)",
    [
        ACCOUNT,
        _c("policy_arn", STR, "managed policy ARN", True),
        _c("name", STR, "policy name"),
        _c("is_aws_managed", BOOL, "an AWS managed policy (arn:<partition>:iam::aws:policy/...)"),
        _c("policy_text", STR, "the default version's document as JSON text (untrusted; null: not returned)"),
    ],
    since=3,
)

_frame(
    "iam_principal_policies",
    "one row per IAM principal × policy that applies to it (inline, attached, boundary, via a group)",
    [
        ACCOUNT,
        _c("principal_arn", STR, "user, role or group ARN", True),
        _c("relation", STR, "inline | attached | boundary | group_inline | group_attached", True),
        _c(
            "policy_arn", STR, "managed policy ARN (attached, boundary, group_attached; text in iam_policies)"
        ),
        _c("policy_name", STR, "policy name"),
        _c("policy_text", STR, "inline policy document as JSON text (untrusted)"),
        _c("group_arn", STR, "the group the policy comes from (group_inline, group_attached)"),
    ],
    since=3,
)

_frame(
    "iam_coverage",
    "one row per account considered: whether its IAM users, roles, groups and policies were read",
    [
        ACCOUNT,
        _c("status", STR, "complete | partial (see errors) | unreadable (see errors) | skipped", True),
        _c("reason", STR, "why not complete"),
        _c("principals", INT, "users, roles and groups read"),
    ],
    since=3,
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
    since=3,
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
    since=3,
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


# Columns each schema version renamed: {version: {frame: {name before: name from then on}}}.
# Loading a snapshot of an older version applies every later version's renames, in order.
RENAMED: dict[int, dict[str, dict[str, str]]] = {
    3: {
        "coverage": {"manifests_read": "has_read_manifests"},
        "registries": {"scanning_rules": "scanning_rules_text"},
        "repositories": {"scan_on_push": "has_scan_on_push", "kms_key": "kms_key_arn"},
        "replication_rules": {"destination_registry_id": "destination_account_id"},
    },
}


def renames(name: str, version: int) -> dict[str, str]:
    """Columns of frame `name` that a snapshot of schema `version` names differently: {name
    there: name now}."""
    out: dict[str, str] = {}
    for v in sorted(RENAMED):
        if v <= version:
            continue
        for before, after in RENAMED[v].get(name, {}).items():
            first = next((k for k, now in out.items() if now == before), before)  # renamed twice
            out[first] = after
    return out


def stored_columns(name: str, version: int) -> tuple[Column, ...]:
    """Frame `name`'s declared columns under the names a snapshot of schema `version` gives them."""
    there = {now: before for before, now in renames(name, version).items()}
    return tuple(replace(c, name=there.get(c.name, c.name)) for c in FRAMES[name].columns)


def empty(name: str) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes."""
    return conform(name, pd.DataFrame())


def _cast(series: pd.Series, dtype: str) -> pd.Series:
    if dtype in _PLAIN and series.dtype == dtype:  # already cast (a Parquet column read back)
        return series
    if dtype == LIST:
        return series.map(_as_list).astype(object)
    if dtype == TIME:
        return pd.to_datetime(series, utc=True).astype(TIME)
    if dtype == STR:
        # Keep nulls as nulls; everything else as text. Account ids stay strings (leading zeros).
        return series.astype(STR)
    if dtype == SEVERITY:
        return ecr.as_severity(series)
    if dtype == CAT:  # categories are text, like STR
        if isinstance(series.dtype, pd.CategoricalDtype) and series.cat.categories.dtype == STR:
            return series
        return series.astype(STR).astype(CAT)
    return series.astype(dtype)


_PLAIN = (STR, BOOL, INT, TIME, "float64", "int64")  # dtypes whose equality means "nothing to do"


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


def from_records(records: list[dict], columns) -> pd.DataFrame:
    """A table of `records` with exactly `columns` (declared `Column`s: order and dtypes), for
    analysis outputs that declare their columns but are not snapshot frames."""
    return cast_columns(pd.DataFrame.from_records(records, columns=[c.name for c in columns]), columns)


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
    """The schema itself as a frame (frame, grain, since, column, dtype, description, formerly: the
    column's earlier names with the version that renamed them) for docs and notebooks."""
    formerly = {
        (frame, after): f"`{before}` before version {version}"
        for version, frames in RENAMED.items()
        for frame, renamed in frames.items()
        for before, after in renamed.items()
    }
    rows = [
        {
            "frame": f.name,
            "grain": f.grain,
            "since": f.since,
            "column": c.name,
            "dtype": c.dtype,
            "description": c.description,
            "formerly": formerly.get((f.name, c.name), ""),
        }
        for f in FRAMES.values()
        for c in f.columns
    ]
    return pd.DataFrame(rows)


__all__ = [
    "BOOL",
    "CAT",
    "FRAMES",
    "IMAGE_KEY",
    "INT",
    "LIST",
    "REPO_KEY",
    "SCHEMA_VERSION",
    "SEVERITY",
    "STATUS",
    "STR",
    "TIME",
    "Column",
    "Frame",
    "RENAMED",
    "cast_columns",
    "conform",
    "describe",
    "empty",
    "from_records",
    "renames",
    "stored_columns",
]
