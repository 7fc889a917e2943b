"""The table of every AWS read the collector makes, and the one step that runs a read.

Each `Read` names its API operation, its service (one client per service × region, so reads of
other services get their own), its IAM action(s), its scope, its get function, and how its answer
is recorded: transform → rows of a frame, the read's status on the scope's row, and/or fields of
that row. `permissions.py` builds the IAM policies from this table, so a read cannot be added
without its permission. How to add one: see the `ecr_audit.collect` package docstring.

Scopes:
  CALLER      the principal running ecr-audit (management account or delegated administrator)
  ACCOUNT     one collected account (asked in the caller's home region)
  UNIT        one collected account × region (its registry row)
  REPOSITORY  one ECR repository of a unit (its repositories row)

`driven` reads are called by the collector's own steps because other reads depend on their
answers (the repository listing fans out per repository, DescribeImages feeds BatchGetImage, the
pull-time exclusions decide whether manifests may be read, the caller's reads discover the
accounts). Every other read runs by itself (`independent`, `run_group`): a REPOSITORY read for
each repository row, a UNIT read for each registry row, an ACCOUNT read once per collected account
(key: its account id; row: its accounts row), a CALLER read once per collection (no key; it has
no row of its own, so it records rows of its frame only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from . import iam, pricing, regions
from . import images as img
from . import org_policies as orgpol
from . import organizations as orgs
from . import registry as reg
from . import repositories as repos
from .consumers import apprunner as c_apprunner
from .consumers import batch as c_batch
from .consumers import cloudtrail as c_cloudtrail
from .consumers import codebuild as c_codebuild
from .consumers import ecs as c_ecs
from .consumers import emr_serverless as c_emr
from .consumers import inspector as c_inspector
from .consumers import lambda_ as c_lambda
from .consumers import sagemaker as c_sagemaker
from .fields import Problems

CALLER, ACCOUNT, UNIT, REPOSITORY = "caller", "account", "unit", "repository"
SCOPES = (CALLER, ACCOUNT, UNIT, REPOSITORY)

# boto3 client name → IAM service prefix, where they differ (give `actions` for anything else unusual).
_IAM_PREFIX = {"elbv2": "elasticloadbalancing", "resourcegroupstaggingapi": "tag"}


def presence(status: str, items) -> str:
    """A listing's status: `present` only when it listed something (`absent` when empty)."""
    return ("present" if items else "absent") if status == "present" else status


@dataclass(frozen=True)
class Read:
    operation: str  # API operation, as in errors rows and api_calls
    service: str  # boto3 client name ("ecr", "ecs", "lambda", ...)
    scope: str  # CALLER | ACCOUNT | UNIT | REPOSITORY
    get: Callable  # get(client, *args) -> answer (pages followed inside)
    args: Callable = lambda row: ()  # get's arguments from the scope's row
    transform: Callable | None = None  # transform(*key, answer, problems=) -> rows of `frame`
    frame: str | None = None
    status: str | None = None  # column of the scope's row that gets the read's status
    by_items: bool = False  # the status is `absent` when the transform gives no rows
    fields: Callable | None = None  # fields(answer, problems, *args) -> {column: value} of the row
    actions: tuple[str, ...] = field(default=())  # IAM actions (default: <service>:<operation>)
    driven: bool = False  # run by the collector's own steps (see module docstring)

    def __post_init__(self):
        if self.scope not in SCOPES:
            raise ValueError(f"{self.operation}: unknown scope {self.scope!r}")
        if not self.actions:
            prefix = _IAM_PREFIX.get(self.service, self.service)
            object.__setattr__(self, "actions", (f"{prefix}:{self.operation}",))
        if self.transform is not None and self.frame is None:
            raise ValueError(f"{self.operation}: a transform needs the frame its rows go to")

    def run(self, reader, client, row: dict, key: tuple) -> tuple[str, object]:
        """Read with `client` under the read policy (`reader.read`), then record the answer:
        rows into `frame`, the status into `row[status]`, `fields` into `row`. Items the
        transform cannot understand are `invalid_data` rows and make the status `unreadable`
        (what was understood is kept). Returns (status, answer)."""
        args = self.args(row)
        repository = key[2] if len(key) > 2 else None
        status, answer = reader.read(self.operation, self.get, client, *args, repository_name=repository)
        return self.record(reader, row, key, status, answer, args)

    def record(self, reader, row: dict, key: tuple, status: str, answer, args=()) -> tuple[str, object]:
        rows, problems = [], Problems()
        if answer is not None:
            if self.transform is not None:
                rows = self.transform(*key, answer, problems=problems)
            if self.fields is not None:
                row.update(self.fields(answer, problems, *args))
        if problems:
            reader.invalid(self.operation, problems, key[2] if len(key) > 2 else None)
            status = "unreadable" if status == "present" else status
        if self.frame is not None:
            reader.sink.add(self.frame, rows)
        if self.status is not None:
            row[self.status] = presence(status, rows) if self.by_items else status
        return status, answer


def _name(row):
    return (row["repository_name"],)


def _arn(row):
    return (row["repository_arn"],)


def _setting(value, problems, name):
    return reg.transform_account_setting(name, value, problems)


# -- the table ------------------------------------------------------------------------------------

# Caller: who runs the audit, and which accounts the organization has.
GET_CALLER_IDENTITY = Read("GetCallerIdentity", "sts", CALLER, orgs.get_caller_identity, driven=True)
DESCRIBE_ORGANIZATION = Read(
    "DescribeOrganization", "organizations", CALLER, orgs.get_organization, driven=True
)
LIST_ACCOUNTS = Read("ListAccounts", "organizations", CALLER, orgs.get_org_accounts, driven=True)
OU_PATHS = Read(
    "ListOrganizationalUnitsForParent",
    "organizations",
    CALLER,
    orgs.get_ou_paths,
    driven=True,
    actions=(
        "organizations:ListRoots",
        "organizations:ListOrganizationalUnitsForParent",
        "organizations:ListAccountsForParent",
    ),
)

# Caller: ECR storage prices, asked of the Price List endpoint of the caller's partition (not the
# home region: `pricing.endpoint_region`), so the collector's own step calls it (`run._price_list`).
GET_PRODUCTS = Read(
    "GetProducts",
    "pricing",
    CALLER,
    pricing.get_products,
    transform=pricing.transform_storage_prices,
    frame="storage_prices",
    driven=True,
)

# Caller: the organization's SCPs and RCPs, once per run (`caller_steps.collect_org_policies`).
LIST_ROOTS = Read("ListRoots", "organizations", CALLER, orgpol.get_roots, driven=True)
LIST_POLICIES = Read("ListPolicies", "organizations", CALLER, orgpol.get_policies, driven=True)
DESCRIBE_POLICY = Read("DescribePolicy", "organizations", CALLER, orgpol.get_policy, driven=True)
LIST_TARGETS_FOR_POLICY = Read(
    "ListTargetsForPolicy", "organizations", CALLER, orgpol.get_targets, driven=True
)

# Account: its IAM users, roles, groups and policies, once (IAM is global; `accounts.collect_identities`).
GET_ACCOUNT_AUTHORIZATION_DETAILS = Read(
    "GetAccountAuthorizationDetails", "iam", ACCOUNT, iam.get_authorization_details, driven=True
)

# Account: its regions (opt-in aware).
DESCRIBE_REGIONS = Read("DescribeRegions", "ec2", ACCOUNT, regions.get_regions, driven=True)

# Unit (account × region): the registry.
PULL_TIME_EXCLUSIONS = Read(
    "ListPullTimeUpdateExclusions",
    "ecr",
    UNIT,
    reg.get_pull_time_exclusions,
    driven=True,
    transform=reg.transform_pull_time_exclusions,
    frame="pull_time_exclusions",
    status="pull_time_exclusions_status",
    by_items=True,
)
DESCRIBE_REPOSITORIES = Read("DescribeRepositories", "ecr", UNIT, repos.get_repositories, driven=True)
_REGISTRY_READS = (
    Read(
        "DescribeRegistry",
        "ecr",
        UNIT,
        reg.get_registry,
        transform=reg.transform_replication_rules,
        frame="replication_rules",
        status="replication_status",
        by_items=True,
    ),
    Read(
        "GetRegistryPolicy",
        "ecr",
        UNIT,
        reg.get_registry_policy,
        transform=reg.transform_registry_policy,
        frame="registry_policies",
        status="registry_policy_status",
    ),
    # Two settings of one operation: read in this order, the second not sent where the endpoint
    # does not know the operation (see `run_group`).
    Read(
        "GetAccountSetting",
        "ecr",
        UNIT,
        reg.get_account_setting,
        args=lambda row: ("REGISTRY_POLICY_SCOPE",),
        fields=_setting,
    ),
    Read(
        "GetAccountSetting",
        "ecr",
        UNIT,
        reg.get_account_setting,
        args=lambda row: ("BLOB_MOUNTING",),
        fields=_setting,
    ),
    Read(
        "GetRegistryScanningConfiguration",
        "ecr",
        UNIT,
        reg.get_scanning_configuration,
        fields=lambda config, problems: reg.transform_scanning(config, problems),
    ),
    Read(
        "DescribePullThroughCacheRules",
        "ecr",
        UNIT,
        reg.get_pull_through_cache_rules,
        transform=reg.transform_pull_through_cache_rules,
        frame="pull_through_cache_rules",
        status="pull_through_cache_status",
        by_items=True,
    ),
    Read(
        "DescribeRepositoryCreationTemplates",
        "ecr",
        UNIT,
        reg.get_creation_templates,
        transform=reg.transform_creation_templates,
        frame="creation_templates",
        status="creation_templates_status",
        by_items=True,
    ),
)

# Repository.
_REPOSITORY_READS = (
    Read(
        "GetRepositoryPolicy",
        "ecr",
        REPOSITORY,
        repos.get_repository_policy,
        args=_name,
        transform=repos.transform_repository_policy,
        frame="repository_policies",
        status="policy_status",
    ),
    Read(
        "GetLifecyclePolicy",
        "ecr",
        REPOSITORY,
        repos.get_lifecycle_policy,
        args=_name,
        transform=repos.transform_lifecycle_policy,
        frame="lifecycle_policies",
        status="lifecycle_policy_status",
    ),
    Read(
        "ListTagsForResource",
        "ecr",
        REPOSITORY,
        repos.get_repository_tags,
        args=_arn,
        transform=repos.transform_tags,
        frame="repository_tags",
        status="tags_status",
        by_items=True,
    ),
)
DESCRIBE_IMAGES = Read("DescribeImages", "ecr", REPOSITORY, img.get_images, args=_name, driven=True)
# Reads manifests; counts as a pull (moves lastRecordedPullTime) unless the principal is a
# pull-time update exclusion: see `unit.manifest_decision`.
BATCH_GET_IMAGE = Read("BatchGetImage", "ecr", REPOSITORY, img.get_manifests, driven=True)

# -- consumers (issue 14): what names an image, per account × region (collect/consumers/) --------
# All driven: `consumers.steps` calls them in order, one kind at a time.
ECS_LIST_CLUSTERS = Read("ListClusters", "ecs", UNIT, c_ecs.get_clusters, driven=True)
ECS_LIST_SERVICES = Read("ListServices", "ecs", UNIT, c_ecs.get_services, driven=True)
ECS_DESCRIBE_SERVICES = Read("DescribeServices", "ecs", UNIT, c_ecs.get_service_details, driven=True)
ECS_LIST_SERVICE_DEPLOYMENTS = Read(
    "ListServiceDeployments", "ecs", UNIT, c_ecs.get_service_deployments, driven=True
)
ECS_DESCRIBE_SERVICE_REVISIONS = Read(
    "DescribeServiceRevisions", "ecs", UNIT, c_ecs.get_service_revisions, driven=True
)
ECS_LIST_TASKS = Read("ListTasks", "ecs", UNIT, c_ecs.get_tasks, driven=True)
ECS_DESCRIBE_TASKS = Read("DescribeTasks", "ecs", UNIT, c_ecs.get_task_details, driven=True)
ECS_LIST_FAMILIES = Read("ListTaskDefinitionFamilies", "ecs", UNIT, c_ecs.get_families, driven=True)
ECS_LIST_TASK_DEFINITIONS = Read(
    "ListTaskDefinitions", "ecs", UNIT, c_ecs.get_newest_task_definitions, driven=True
)
ECS_DESCRIBE_TASK_DEFINITION = Read(
    "DescribeTaskDefinition", "ecs", UNIT, c_ecs.get_task_definition, driven=True
)
LAMBDA_LIST_FUNCTIONS = Read("ListFunctions", "lambda", UNIT, c_lambda.get_functions, driven=True)
LAMBDA_LIST_ALIASES = Read("ListAliases", "lambda", UNIT, c_lambda.get_aliases, driven=True)
LAMBDA_GET_FUNCTION = Read("GetFunction", "lambda", UNIT, c_lambda.get_function, driven=True)
BATCH_DESCRIBE_JOB_DEFINITIONS = Read(
    "DescribeJobDefinitions", "batch", UNIT, c_batch.get_job_definitions, driven=True
)
APPRUNNER_LIST_SERVICES = Read("ListServices", "apprunner", UNIT, c_apprunner.get_services, driven=True)
APPRUNNER_DESCRIBE_SERVICE = Read("DescribeService", "apprunner", UNIT, c_apprunner.get_service, driven=True)
SAGEMAKER_LIST_ENDPOINTS = Read("ListEndpoints", "sagemaker", UNIT, c_sagemaker.get_endpoints, driven=True)
SAGEMAKER_DESCRIBE_ENDPOINT = Read(
    "DescribeEndpoint", "sagemaker", UNIT, c_sagemaker.get_endpoint, driven=True
)
SAGEMAKER_LIST_MODELS = Read("ListModels", "sagemaker", UNIT, c_sagemaker.get_models, driven=True)
SAGEMAKER_DESCRIBE_MODEL = Read("DescribeModel", "sagemaker", UNIT, c_sagemaker.get_model, driven=True)
EMR_LIST_APPLICATIONS = Read("ListApplications", "emr-serverless", UNIT, c_emr.get_applications, driven=True)
EMR_GET_APPLICATION = Read("GetApplication", "emr-serverless", UNIT, c_emr.get_application, driven=True)
CODEBUILD_LIST_PROJECTS = Read("ListProjects", "codebuild", UNIT, c_codebuild.get_projects, driven=True)
CODEBUILD_BATCH_GET_PROJECTS = Read(
    "BatchGetProjects", "codebuild", UNIT, c_codebuild.get_project_details, driven=True
)
INSPECTOR_ACCOUNT_STATUS = Read(
    "BatchGetAccountStatus", "inspector2", UNIT, c_inspector.get_account_status, driven=True
)
INSPECTOR_LIST_COVERAGE = Read("ListCoverage", "inspector2", UNIT, c_inspector.get_images_in_use, driven=True)
INSPECTOR_CLUSTERS_FOR_IMAGE = Read(
    "GetClustersForImage", "inspector2", UNIT, c_inspector.get_clusters, driven=True
)
CLOUDTRAIL_LOOKUP_EVENTS = Read("LookupEvents", "cloudtrail", UNIT, c_cloudtrail.get_pull_events, driven=True)
_CONSUMER_READS = (
    ECS_LIST_CLUSTERS,
    ECS_LIST_SERVICES,
    ECS_DESCRIBE_SERVICES,
    ECS_LIST_SERVICE_DEPLOYMENTS,
    ECS_DESCRIBE_SERVICE_REVISIONS,
    ECS_LIST_TASKS,
    ECS_DESCRIBE_TASKS,
    ECS_LIST_FAMILIES,
    ECS_LIST_TASK_DEFINITIONS,
    ECS_DESCRIBE_TASK_DEFINITION,
    LAMBDA_LIST_FUNCTIONS,
    LAMBDA_LIST_ALIASES,
    LAMBDA_GET_FUNCTION,
    BATCH_DESCRIBE_JOB_DEFINITIONS,
    APPRUNNER_LIST_SERVICES,
    APPRUNNER_DESCRIBE_SERVICE,
    SAGEMAKER_LIST_ENDPOINTS,
    SAGEMAKER_DESCRIBE_ENDPOINT,
    SAGEMAKER_LIST_MODELS,
    SAGEMAKER_DESCRIBE_MODEL,
    EMR_LIST_APPLICATIONS,
    EMR_GET_APPLICATION,
    CODEBUILD_LIST_PROJECTS,
    CODEBUILD_BATCH_GET_PROJECTS,
    INSPECTOR_ACCOUNT_STATUS,
    INSPECTOR_LIST_COVERAGE,
    INSPECTOR_CLUSTERS_FOR_IMAGE,
    CLOUDTRAIL_LOOKUP_EVENTS,
)
# -- end of consumers -----------------------------------------------------------------------------

READS = (
    GET_CALLER_IDENTITY,
    DESCRIBE_ORGANIZATION,
    LIST_ACCOUNTS,
    OU_PATHS,
    GET_PRODUCTS,
    LIST_ROOTS,
    LIST_POLICIES,
    DESCRIBE_POLICY,
    LIST_TARGETS_FOR_POLICY,
    GET_ACCOUNT_AUTHORIZATION_DETAILS,
    DESCRIBE_REGIONS,
    PULL_TIME_EXCLUSIONS,
    DESCRIBE_REPOSITORIES,
    *_REGISTRY_READS,
    *_REPOSITORY_READS,
    DESCRIBE_IMAGES,
    BATCH_GET_IMAGE,
    *_CONSUMER_READS,
)


def independent(scope: str) -> list[tuple[Read, ...]]:
    """The reads of `scope` that run by themselves (not `driven`), grouped by (service, operation)
    in table order: a group runs one read after another (`run_group`)."""
    out: dict[tuple[str, str], list[Read]] = {}
    for r in READS:
        if r.scope == scope and not r.driven:
            out.setdefault((r.service, r.operation), []).append(r)
    return [tuple(g) for g in out.values()]


def run_group(group: tuple[Read, ...], reader, lease, row: dict, key: tuple) -> None:
    """Reads of one operation, one after another, each with a client `lease(service)` gives; once
    the endpoint answers that it does not know the operation, the rest are not sent (it will not
    know it for the next argument)."""
    for read in group:
        with lease(read.service) as client:
            status, _ = read.run(reader, client, row, key)
        if status == "unsupported":
            break


def actions(*scopes: str) -> tuple[str, ...]:
    """The IAM actions of every read in `scopes`, each once, in table order."""
    return tuple(dict.fromkeys(a for r in READS if r.scope in scopes for a in r.actions))
