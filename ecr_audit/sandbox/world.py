"""Declarative description of a simulated AWS Organization and its ECR registries.

A `World` says what exists (accounts, regions, repositories, images with their manifests and
times, policies, registry settings, organization policies, IAM identities); `build.seed` turns it
into moto state. Times are absolute
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
