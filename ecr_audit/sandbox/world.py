"""Declarative description of a simulated AWS Organization and its ECR registries.

A `World` says what exists (accounts, regions, repositories, images with their manifests and
times, policies, registry settings, organization policies, IAM identities, and the consumers of
each account × region: ECS, Lambda, Batch, App Runner, SageMaker, EMR Serverless, CodeBuild,
Inspector, CloudTrail pulls); `build.seed` turns it into moto state. Times are absolute
and derived from `World.now`, never from the wall clock, so every run is identical.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from .manifests import Manifest

# moto maps the dummy "testing" credentials to this account: it is the caller, hence the
# management account of the organization it creates (docs/sandbox.md#how-moto-routes-calls-to-accounts).
MOTO_DEFAULT_ACCOUNT = "123456789012"
DEFAULT_NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)


def organization_id_for(world_name: str) -> str:
    """The deterministic Organizations id (o-xxxxxxxxxx) of a world."""
    h = hashlib.sha256(("org:" + world_name).encode()).digest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "o-" + "".join(alphabet[b % 36] for b in h[:10])


@dataclass
class Image:
    """One image (digest) in a repository: a manifest plus what ECR records about it."""

    manifest: Manifest
    tags: tuple[str, ...] = ()
    pushed_at: datetime = DEFAULT_NOW
    last_pulled_at: datetime | None = None  # None: never pulled (field absent in ECR)
    status: str = "ACTIVE"  # ACTIVE | ARCHIVED | ACTIVATING
    last_archived_at: datetime | None = None
    last_activated_at: datetime | None = None

    @property
    def digest(self) -> str:
        return self.manifest.digest


@dataclass
class Repository:
    name: str
    images: list[Image] = field(default_factory=list)
    created_at: datetime = DEFAULT_NOW
    policy: str | None = None  # repository policy text (stored verbatim)
    lifecycle_policy: str | None = None
    lifecycle_evaluated_at: datetime | None = None
    tags: dict[str, str] = field(default_factory=dict)
    tag_mutability: str = "MUTABLE"
    scan_on_push: bool = False
    encryption_type: str = "AES256"
    kms_key: str | None = None


# -- consumers (issue 14): what names images, per account × region ------------------------------
# A digest left None is resolved when the world is seeded: the digest its tag names then (what
# the service resolved at deploy time, for a world whose tags have not moved since).


@dataclass
class Container:
    name: str
    image: str  # the image reference as written (any text)


@dataclass
class TaskDefinition:
    """One revision of an ECS task definition family (revisions count up in world order)."""

    family: str
    containers: list[Container]
    status: str = "ACTIVE"  # INACTIVE: deregistered


@dataclass
class EcsDeployment:
    """One ECS service deployment: the family revision it rolled out and the digests ECS
    resolved for it (container name → digest; default: the tag's digest at seeding)."""

    revision: int
    created_at: datetime
    status: str = "SUCCESSFUL"
    digests: dict[str, str] = field(default_factory=dict)


@dataclass
class EcsService:
    name: str
    family: str
    deployments: list[EcsDeployment]  # oldest first; the last is the current one
    running: int = 1  # tasks of the current deployment (started as `tasks` of the cluster)


@dataclass
class EcsTask:
    """A running task: the family revision it runs and the digests pulled when it started."""

    family: str
    revision: int
    started_at: datetime
    group: str | None = None  # service:<name> for a service's task, else family:<family>
    digests: dict[str, str] = field(default_factory=dict)


@dataclass
class EcsCluster:
    name: str
    services: list[EcsService] = field(default_factory=list)
    tasks: list[EcsTask] = field(default_factory=list)


@dataclass
class LambdaCode:
    image: str  # ImageUri
    digest: str | None = None  # what Lambda resolved when this code was deployed


@dataclass
class LambdaFunction:
    """An image function: published versions 1..n in order, $LATEST, aliases."""

    name: str
    versions: list[LambdaCode]
    latest: LambdaCode | None = None  # default: the code of the last version
    aliases: dict[str, tuple[str, dict[str, float]]] = field(
        default_factory=dict
    )  # name → (version, weights)


@dataclass
class BatchJobDefinition:
    name: str
    image: str | None = None  # containerProperties.image
    ecs_containers: list[Container] = field(default_factory=list)  # ecsProperties
    eks_containers: list[Container] = field(default_factory=list)  # eksProperties
    node_images: list[tuple[str, str]] = field(default_factory=list)  # nodeProperties: (targetNodes, image)


@dataclass
class AppRunnerService:
    name: str
    image: str
    repository_type: str = "ECR"  # ECR | ECR_PUBLIC
    status: str = "RUNNING"
    auto_deployments: bool = False


@dataclass
class SageMakerModel:
    name: str
    images: list[str]  # PrimaryContainer first


@dataclass
class SageMakerEndpoint:
    name: str
    model: str
    variant: str = "primary"


@dataclass
class EmrApplication:
    name: str
    image: str | None = None  # imageConfiguration.imageUri
    worker_images: dict[str, str] = field(default_factory=dict)  # worker type → imageUri
    state: str = "STARTED"


@dataclass
class CodeBuildProject:
    name: str
    image: str
    credentials: str = "SERVICE_ROLE"  # imagePullCredentialsType


@dataclass
class InspectorCluster:
    """Where Inspector saw an image run (GetClustersForImage): an ECS task definition group, or
    an EKS namespace and its workloads."""

    arn: str
    last_in_use: datetime
    running: int = 1
    stopped: int = 0
    ecs_group: str | None = None
    task_definition_arn: str | None = None
    eks_namespace: str | None = None
    workloads: list[tuple[str, str]] = field(default_factory=list)  # (name, type)


@dataclass
class InspectorImage:
    """An image of this registry that Inspector counts in use."""

    repository: str
    digest: str
    in_use: int
    last_in_use_at: datetime
    clusters: list[InspectorCluster] = field(default_factory=list)


@dataclass
class Pull:
    """A BatchGetImage call CloudTrail recorded in this registry's account × region."""

    caller_arn: str
    caller_account: str
    repository: str
    at: datetime
    tag: str | None = None
    digest: str | None = None
    error: str | None = None  # errorCode of a failed pull


@dataclass
class Consumers:
    clusters: list[EcsCluster] = field(default_factory=list)
    task_definitions: list[TaskDefinition] = field(default_factory=list)
    functions: list[LambdaFunction] = field(default_factory=list)
    job_definitions: list[BatchJobDefinition] = field(default_factory=list)
    apprunner_services: list[AppRunnerService] = field(default_factory=list)
    sagemaker_models: list[SageMakerModel] = field(default_factory=list)
    sagemaker_endpoints: list[SageMakerEndpoint] = field(default_factory=list)
    emr_applications: list[EmrApplication] = field(default_factory=list)
    codebuild_projects: list[CodeBuildProject] = field(default_factory=list)
    inspector_ecr: bool = False  # Inspector's ECR scanning is on
    inspector_images: list[InspectorImage] = field(default_factory=list)
    pulls: list[Pull] = field(default_factory=list)


# -- end of consumers ------------------------------------------------------------------------------


@dataclass
class Registry:
    """One account × region."""

    region: str
    repositories: list[Repository] = field(default_factory=list)
    policy: str | None = None  # registry policy text (any ECR action)
    policy_scope: str = "V2"  # GetAccountSetting REGISTRY_POLICY_SCOPE
    blob_mounting: str = "DISABLED"  # GetAccountSetting BLOB_MOUNTING
    replication_rules: list[dict] = field(default_factory=list)  # ECR ReplicationRule dicts
    pull_through_cache_rules: list[dict] = field(default_factory=list)
    creation_templates: list[dict] = field(default_factory=list)
    audit_role_excluded: bool = True  # audit role registered as pull-time exclusion
    pull_time_exclusions: list[str] = field(default_factory=list)  # further principal ARNs
    consumers: Consumers = field(default_factory=Consumers)  # what runs here (ECS, Lambda, ...)

    def repository(self, name: str) -> Repository:
        for r in self.repositories:
            if r.name == name:
                return r
        raise KeyError(name)


# -- identities and organization policies (effective access) ------------------------------------

# AWS managed policies are named by ARN wherever a world attaches one (the sandbox seeds each from
# moto's copy of AWS's documents); customer managed ones by name.
AWS_POLICY_ARN = "arn:aws:iam::aws:policy/"


@dataclass
class IamRole:
    name: str
    trust: str  # AssumeRolePolicyDocument text
    path: str = "/"
    inline: dict[str, str] = field(default_factory=dict)  # policy name → document text
    attached: tuple[str, ...] = ()  # customer managed policy names, or AWS managed policy ARNs
    boundary: str | None = None  # a customer managed policy name or an AWS managed policy ARN
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class IamUser:
    name: str
    path: str = "/"
    inline: dict[str, str] = field(default_factory=dict)
    attached: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()  # group names
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class IamGroup:
    name: str
    path: str = "/"
    inline: dict[str, str] = field(default_factory=dict)
    attached: tuple[str, ...] = ()


@dataclass
class Identities:
    """One account's IAM: customer managed policies, roles, users, groups, and AWS managed
    policies that exist in it without being attached to anything (`aws_managed`)."""

    policies: dict[str, str] = field(default_factory=dict)  # customer managed: name → document
    roles: list[IamRole] = field(default_factory=list)
    users: list[IamUser] = field(default_factory=list)
    groups: list[IamGroup] = field(default_factory=list)
    aws_managed: tuple[str, ...] = ()  # AWS managed policy ARNs present but unused


@dataclass
class OrgPolicy:
    """A service control policy or resource control policy and its direct targets: "root", an OU
    name of `World.ous`, or an account id."""

    name: str
    type: str  # SERVICE_CONTROL_POLICY | RESOURCE_CONTROL_POLICY
    document: str
    targets: tuple[str, ...] = ()
    description: str = ""


@dataclass
class Account:
    account_id: str  # 12-digit string (may start with 0)
    name: str
    email: str = ""
    state: str = "ACTIVE"  # Organizations State: ACTIVE | SUSPENDED | ...
    ou: str | None = None  # name of the OU directly under the root (None: root)
    registries: list[Registry] = field(default_factory=list)
    disabled_regions: tuple[str, ...] = ()  # opt-in regions not opted in
    identities: Identities = field(default_factory=Identities)

    @property
    def regions(self) -> list[str]:
        return [r.region for r in self.registries]

    def registry(self, region: str) -> Registry:
        for r in self.registries:
            if r.region == region:
                return r
        raise KeyError(region)


@dataclass
class World:
    name: str
    accounts: list[Account]
    now: datetime = DEFAULT_NOW
    role_name: str = "ecr-audit"
    ous: tuple[str, ...] = ()
    # Policy types enabled on the root (none, as in a new organization) and the policies: AWS
    # attaches FullAWSAccess / RCPFullAWSAccess to the root, every OU and account of an enabled type.
    policy_types: tuple[str, ...] = ()
    org_policies: list[OrgPolicy] = field(default_factory=list)

    def __post_init__(self):
        mgmt = [a for a in self.accounts if a.account_id == MOTO_DEFAULT_ACCOUNT]
        if len(mgmt) != 1:
            raise ValueError(f"the world needs exactly one management account {MOTO_DEFAULT_ACCOUNT}")
        ids = [a.account_id for a in self.accounts]
        if len(set(ids)) != len(ids) or not all(len(i) == 12 and i.isdigit() for i in ids):
            raise ValueError("account ids must be distinct 12-digit strings")
        if self.now.tzinfo is None:
            raise ValueError("World.now must be tz-aware")
        for policy in self.org_policies:
            if policy.type not in self.policy_types:
                raise ValueError(f"org policy {policy.name!r}: its type {policy.type} is not enabled")
            for target in policy.targets:
                if target != "root" and target not in self.ous and target not in ids:
                    raise ValueError(f"org policy {policy.name!r}: unknown target {target!r}")

    @property
    def organization_id(self) -> str:
        return organization_id_for(self.name)

    @property
    def management_account_id(self) -> str:
        return MOTO_DEFAULT_ACCOUNT

    def account(self, account_id: str) -> Account:
        for a in self.accounts:
            if a.account_id == account_id:
                return a
        raise KeyError(account_id)

    def image_count(self) -> int:
        return sum(
            len(repo.images) for a in self.accounts for reg in a.registries for repo in reg.repositories
        )
