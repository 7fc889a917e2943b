"""Seed moto's backends from a `World` (organization and consumers through the API, ECR directly).

The organization is created through boto3 (so moto's own bookkeeping, e.g. the
OrganizationAccountAccessRole, is right) with moto's random id generators pinned to the world's
ids (root, OU and policy ids derived from the world's name, so every run gives the same ids).
ECR state is written straight into `ecr_backends` (no HTTP): repositories, images (moto `Image`
objects carrying the sandbox metadata), policies, registry settings. Organization policies go
through the API; IAM identities straight into `iam_backends`. Consumers (ECS, Lambda, Batch,
SageMaker, EMR Serverless, CodeBuild) are created through their APIs in their account
(`seed_consumers`), after ECR, so the services resolve tags to the world's digests.
"""

from __future__ import annotations

import functools
import hashlib
import json
from contextlib import contextmanager
from datetime import timedelta
from unittest import mock

import boto3
from moto.awslambda.models import lambda_backends
from moto.batch.models import batch_backends
from moto.ecr.models import Image as MotoImage
from moto.ecr.models import ecr_backends
from moto.ecs.models import ecs_backends
from moto.emrserverless.models import emrserverless_backends
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import AWSManagedPolicy, iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends

from .. import ecr, permissions
from .consumers import pinned, resolve
from .fidelity import set_image_meta
from .sessions import AccountClients
from .world import AWS_POLICY_ARN, World

AUDIT_POLICY_NAME = "ecr-audit-read"


@contextmanager
def _pinned(name: str, value: str):
    with mock.patch.object(org_utils, name, lambda *_: value):
        yield


def stable_id(world: World, *parts: str, size: int) -> str:
    """`size` lower-case letters and digits derived from the world's name and `parts`."""
    h = hashlib.sha256("/".join((world.name, *parts)).encode()).digest()
    return "".join("abcdefghijklmnopqrstuvwxyz0123456789"[b % 36] for b in h[:size])


def _audit_trust(world: World) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{world.management_account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def seed_organization(world: World, session: boto3.Session) -> str:
    """Create the organization, OUs and member accounts; returns the organization id."""
    org = session.client("organizations", region_name="us-east-1")
    org_id = world.organization_id
    with (
        _pinned("make_random_org_id", org_id),
        _pinned("make_random_root_id", "r-" + stable_id(world, "root", size=4)),
    ):
        org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    ou_ids = {}
    for name in world.ous:
        with _pinned("make_random_ou_id", f"ou-{root_id[2:]}-" + stable_id(world, "ou", name, size=8)):
            ou = org.create_organizational_unit(ParentId=root_id, Name=name)
        ou_ids[name] = ou["OrganizationalUnit"]["Id"]
    backend = organizations_backends[world.management_account_id]["aws"]
    for acct in world.accounts:
        if acct.account_id != world.management_account_id:
            with _pinned("make_random_account_id", acct.account_id):
                org.create_account(AccountName=acct.name, Email=acct.email or f"{acct.name}@example.com")
        if acct.ou:
            org.move_account(
                AccountId=acct.account_id, SourceParentId=root_id, DestinationParentId=ou_ids[acct.ou]
            )
        fake = backend.get_account_by_id(acct.account_id)
        if acct.account_id == world.management_account_id:
            fake.name = acct.name
        # moto has no API to suspend an account; Status is the deprecated twin of State.
        fake.state = acct.state
        fake.status = acct.state if acct.state in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE") else "SUSPENDED"
        iam = iam_backends[acct.account_id]["aws"]
        try:
            iam.create_role(
                role_name=world.role_name,
                assume_role_policy_document=_audit_trust(world),
                path="/",
                permissions_boundary=None,
                description="read-only ECR audit",
                tags=[],
                max_session_duration="3600",
            )
        except EntityAlreadyExists:
            pass
        # The least-privilege policy the README ships: only it lets the role act when moto's
        # IAM enforcement is on (Org.enforce_iam), so a collection proves the policy suffices.
        iam.put_role_policy(world.role_name, AUDIT_POLICY_NAME, json.dumps(permissions.audit_role_policy()))
        if acct.account_id != world.management_account_id:
            _organization_access_role(iam)
    seed_org_policies(world, org, root_id, ou_ids)
    return org_id


def _organization_access_role(iam) -> None:
    """moto creates OrganizationAccountAccessRole with an empty path and no permissions; AWS
    gives it full administrative permissions (docs/sandbox.md#organization-policies-and-iam)."""
    role = iam.get_role("OrganizationAccountAccessRole")
    role.path = "/"
    iam.put_role_policy(
        role.name,
        "AdministratorAccess",
        json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )


# The AWS managed policy each policy type attaches everywhere once enabled.
FULL_ACCESS = {"SERVICE_CONTROL_POLICY": "p-FullAWSAccess", "RESOURCE_CONTROL_POLICY": "p-RCPFullAWSAccess"}


def seed_org_policies(world: World, org, root_id: str, ou_ids: dict[str, str]) -> None:
    """Enable the world's policy types (a type not enabled keeps no full-access policy attached, as
    in AWS), then create and attach the world's SCPs and RCPs.

    moto attaches FullAWSAccess and RCPFullAWSAccess to the root, every OU and every account
    whatever policy types are enabled; AWS attaches a type's full-access policy there only once the
    type is enabled, and detaches every policy of a type that is disabled
    (docs/organization-policies.md#policy-types-and-full-access-policies)."""
    backend = organizations_backends[world.management_account_id]["aws"]
    every = [root_id, *ou_ids.values(), *(a.account_id for a in world.accounts)]
    for policy_type, full_access in FULL_ACCESS.items():
        if policy_type in world.policy_types:
            org.enable_policy_type(RootId=root_id, PolicyType=policy_type)
        else:
            for target in every:
                backend.detach_policy(PolicyId=full_access, TargetId=target)
    targets = {"root": root_id, **ou_ids}
    for policy in world.org_policies:
        with _pinned("make_random_policy_id", "p-" + stable_id(world, "policy", policy.name, size=8)):
            made = org.create_policy(
                Content=policy.document, Description=policy.description, Name=policy.name, Type=policy.type
            )
        policy_id = made["Policy"]["PolicySummary"]["Id"]
        for target in policy.targets:
            org.attach_policy(PolicyId=policy_id, TargetId=targets.get(target, target))


@functools.cache
def _aws_managed_data() -> dict:
    return json.loads(aws_managed_policies_data)


def _policy_arn(account_id: str, ref: str) -> str:
    """A world's policy reference: an AWS managed policy ARN, or a customer managed policy name."""
    return ref if ref.startswith(AWS_POLICY_ARN) else f"arn:aws:iam::{account_id}:policy/{ref}"


def seed_identities(world: World) -> None:
    """Write every account's IAM roles, users, groups and policies into moto's IAM backends.

    AWS managed policies exist in every account; moto loads none of them by default, so the ones a
    world names are created from moto's copy of AWS's documents."""
    for acct in world.accounts:
        ids = acct.identities
        iam = iam_backends[acct.account_id]["aws"]
        refs = {*ids.aws_managed, *(r for p in (*ids.roles, *ids.users, *ids.groups) for r in p.attached)}
        refs |= {r.boundary for r in ids.roles if r.boundary}
        for arn in sorted(r for r in refs if r.startswith(AWS_POLICY_ARN)):
            name = arn.rsplit("/", 1)[1]
            policy = AWSManagedPolicy.from_data(name, acct.account_id, "us-east-1", _aws_managed_data()[name])
            if policy.arn != arn:
                raise ValueError(f"{acct.account_id}: {arn} is {policy.arn} in AWS")
            iam.aws_managed_policies.append(policy)
            iam.managed_policies[policy.arn] = policy
        for name, document in ids.policies.items():
            iam.create_policy("", "/", document, name, [])
        for g in ids.groups:
            iam.create_group(g.name, g.path)
            for name, document in g.inline.items():
                iam.put_group_policy(g.name, name, document)
            for ref in g.attached:
                iam.attach_group_policy(_policy_arn(acct.account_id, ref), g.name)
        for u in ids.users:
            iam.create_user("us-east-1", u.name, u.path, [{"Key": k, "Value": v} for k, v in u.tags.items()])
            for name, document in u.inline.items():
                iam.put_user_policy(u.name, name, document)
            for ref in u.attached:
                iam.attach_user_policy(_policy_arn(acct.account_id, ref), u.name)
            for group in u.groups:
                iam.add_user_to_group(group, u.name)
        for r in ids.roles:
            iam.create_role(
                r.name,
                r.trust,
                r.path,
                _policy_arn(acct.account_id, r.boundary) if r.boundary else None,
                "",
                [{"Key": k, "Value": v} for k, v in r.tags.items()],
                "3600",
            )
            for name, document in r.inline.items():
                iam.put_role_policy(r.name, name, document)
            for ref in r.attached:
                iam.attach_role_policy(_policy_arn(acct.account_id, ref), r.name)


def seed_ecr(world: World) -> int:
    """Write every registry of the world into moto's ECR backends; returns images seeded."""
    n = 0
    for acct in world.accounts:
        for reg in acct.registries:
            backend = ecr_backends[acct.account_id][reg.region]
            backend.registry_policy = reg.policy  # bypasses moto's 2-action whitelist
            backend.replication_config = {"rules": [dict(r) for r in reg.replication_rules]}
            for spec in reg.repositories:
                enc = {"encryptionType": spec.encryption_type}
                if spec.kms_key:
                    enc["kmsKey"] = spec.kms_key
                repo = backend.create_repository(
                    repository_name=spec.name,
                    registry_id=None,
                    encryption_config=enc,
                    image_scan_config={"scanOnPush": spec.scan_on_push},
                    image_tag_mutability=spec.tag_mutability,
                    tags=[{"Key": k, "Value": v} for k, v in spec.tags.items()],
                )
                repo.created_at = spec.created_at
                repo.policy = spec.policy
                repo.lifecycle_policy = spec.lifecycle_policy
                repo.sb_lifecycle_evaluated_at = spec.lifecycle_evaluated_at
                n += add_images(repo, acct.account_id, spec.images)
    return n


def add_images(repo, account_id: str, images) -> int:
    """Append world `Image`s to a moto repository object (no HTTP, no validation)."""
    out = repo.images
    for im in images:
        m = im.manifest
        img = MotoImage(account_id, None, m.text, repo.name, m.media_type, m.digest)
        img.image_tags = list(im.tags)
        img.image_tag = im.tags[-1] if im.tags else None
        img.image_pushed_at = int(im.pushed_at.timestamp())
        set_image_meta(
            img,
            size=m.size_bytes,
            pushed_at=im.pushed_at,
            last_pulled_at=im.last_pulled_at,
            status=im.status,
            archived_at=im.last_archived_at,
            activated_at=im.last_activated_at,
            artifact_media_type=m.artifact_media_type,
            subject=m.subject_digest,
        )
        out.append(img)
    return len(images)


# -- consumers (issue 14) -------------------------------------------------------------------------
CONSUMER_ROLE = "consumer-exec"  # execution role of seeded Lambda functions and SageMaker models


def _stable_id(*parts) -> str:
    return str(int(hashlib.sha256(":".join(parts).encode()).hexdigest()[:12], 16))


def seed_consumers(world: World, state) -> int:
    """Create every registry's consumers through the services' APIs (moto, corrected by
    `consumers`), in the account × region that holds them; ECS deployment history goes to
    `state` (`consumers.State`). Returns the consumers seeded."""
    clients = AccountClients()
    n = 0
    for acct in world.accounts:
        for reg in acct.registries:
            c = reg.consumers
            a, r = acct.account_id, reg.region
            if c.functions or c.sagemaker_models:
                _ensure_role(a)
            n += _seed_ecs(clients, state, a, r, c)
            n += _seed_lambda(clients, a, r, c)
            n += _seed_batch(clients, a, r, c)
            n += _seed_sagemaker(clients, a, r, c)
            n += _seed_emr(clients, a, r, c)
            for p in c.codebuild_projects:
                clients("codebuild", a, r).create_project(
                    name=p.name,
                    source={"type": "S3", "location": f"{p.name}-source/src.zip"},
                    artifacts={"type": "NO_ARTIFACTS"},
                    environment={
                        "type": "LINUX_CONTAINER",
                        "image": p.image,
                        "computeType": "BUILD_GENERAL1_SMALL",
                        "imagePullCredentialsType": p.credentials,
                    },
                    serviceRole=ecr.role_arn("aws", a, CONSUMER_ROLE),
                )
            n += len(c.codebuild_projects) + len(c.apprunner_services) + len(c.inspector_images)
    return n


def _ensure_role(account_id: str) -> None:
    try:
        iam_backends[account_id]["aws"].create_role(
            role_name=CONSUMER_ROLE,
            assume_role_policy_document="{}",
            path="/",
            permissions_boundary=None,
            description="execution role of the sandbox's consumers",
            tags=[],
            max_session_duration="3600",
        )
    except EntityAlreadyExists:
        pass


def _seed_ecs(clients, state, a: str, r: str, c) -> int:
    if not (c.task_definitions or c.clusters):
        return 0
    ecs = clients("ecs", a, r)
    definitions: dict[tuple[str, int], dict] = {}
    for td in c.task_definitions:
        got = ecs.register_task_definition(
            family=td.family,
            containerDefinitions=[{"name": x.name, "image": x.image, "memory": 512} for x in td.containers],
        )["taskDefinition"]
        definitions[(td.family, got["revision"])] = got
    for (family, revision), td in zip(list(definitions), c.task_definitions):
        if td.status != "ACTIVE":
            ecs.deregister_task_definition(taskDefinition=f"{family}:{revision}")
    backend = ecs_backends[a][r]
    n = 0
    for cluster in c.clusters:
        cluster_arn = ecs.create_cluster(clusterName=cluster.name)["cluster"]["clusterArn"]
        for svc in cluster.services:
            current = svc.deployments[-1]
            arn = ecs.create_service(
                cluster=cluster.name,
                serviceName=svc.name,
                taskDefinition=f"{svc.family}:{current.revision}",
                desiredCount=svc.running,
            )["service"]["serviceArn"]
            service = backend.services[f"{cluster.name}:{svc.name}"]
            service.running_count, service.pending_count = svc.running, 0
            service.deployments[0].update(
                createdAt=current.created_at,
                updatedAt=current.created_at,
                runningCount=svc.running,
                pendingCount=0,
                rolloutState="COMPLETED",
                rolloutStateReason="ECS deployment completed.",
            )
            state.deployments[(a, r, arn)] = [
                _deployment(a, r, cluster.name, cluster_arn, svc, d, definitions, state)
                for d in svc.deployments
            ]
            n += 1
        for task in cluster.tasks:
            (got,) = ecs.run_task(
                cluster=cluster.name,
                taskDefinition=f"{task.family}:{task.revision}",
                launchType="FARGATE",
                group=task.group or f"family:{task.family}",
            )["tasks"]
            obj = backend.tasks[cluster.name][got["taskArn"]]
            obj.started_at = task.started_at
            for container in obj.containers:
                if container.name in task.digests:
                    container.image_digest = task.digests[container.name]
            n += 1
    return n + len(c.task_definitions)


def _deployment(a, r, cluster, cluster_arn, svc, d, definitions, state) -> dict:
    """One ListServiceDeployments entry, and its target revision into `state.revisions`."""
    key = _stable_id(a, r, cluster, svc.name, str(d.revision), d.created_at.isoformat())
    revision_arn = f"arn:aws:ecs:{r}:{a}:service-revision/{cluster}/{svc.name}/{key}"
    service_arn = f"arn:aws:ecs:{r}:{a}:service/{cluster}/{svc.name}"
    td = definitions[(svc.family, d.revision)]
    state.revisions[revision_arn] = {
        "serviceRevisionArn": revision_arn,
        "serviceArn": service_arn,
        "clusterArn": cluster_arn,
        "taskDefinition": td["taskDefinitionArn"],
        "launchType": "FARGATE",
        "platformFamily": "Linux",
        "containerImages": [
            {
                "containerName": x["name"],
                "image": x["image"],
                **(
                    {"imageDigest": digest}
                    if (digest := d.digests.get(x["name"]) or resolve(x["image"]))
                    else {}
                ),
            }
            for x in td["containerDefinitions"]
        ],
        "createdAt": d.created_at,
    }
    return {
        "serviceDeploymentArn": f"arn:aws:ecs:{r}:{a}:service-deployment/{cluster}/{svc.name}/{key}",
        "serviceArn": service_arn,
        "clusterArn": cluster_arn,
        "createdAt": d.created_at,
        "startedAt": d.created_at,
        "finishedAt": d.created_at + timedelta(minutes=12),
        "targetServiceRevisionArn": revision_arn,
        "status": d.status,
    }


def _seed_lambda(clients, a: str, r: str, c) -> int:
    if not c.functions:
        return 0
    lam = clients("lambda", a, r)
    backend = lambda_backends[a][r]
    for fn in c.functions:
        lam.create_function(
            FunctionName=fn.name,
            Role=ecr.role_arn("aws", a, CONSUMER_ROLE),
            Code={"ImageUri": fn.versions[0].image},
            PackageType="Image",
            Publish=True,
        )
        for code in fn.versions[1:]:
            lam.update_function_code(FunctionName=fn.name, ImageUri=code.image, Publish=True)
        for version, code in enumerate(fn.versions, start=1):
            if code.digest:  # resolved when it was deployed, before its tag moved
                backend.get_function(fn.name, str(version)).sb_resolved_image_uri = pinned(
                    code.image, code.digest
                )
        latest = fn.latest or fn.versions[-1]
        if latest is not fn.versions[-1]:
            lam.update_function_code(FunctionName=fn.name, ImageUri=latest.image)
        if latest.digest:
            backend.get_function(fn.name, "$LATEST").sb_resolved_image_uri = pinned(
                latest.image, latest.digest
            )
        for alias, (version, weights) in fn.aliases.items():
            extra = {"RoutingConfig": {"AdditionalVersionWeights": weights}} if weights else {}
            lam.create_alias(FunctionName=fn.name, Name=alias, FunctionVersion=version, **extra)
    return len(c.functions)


def _seed_batch(clients, a: str, r: str, c) -> int:
    batch = clients("batch", a, r)
    for jd in c.job_definitions:
        resources = {"vcpus": 1, "memory": 512}
        if jd.node_images:
            got = batch.register_job_definition(
                jobDefinitionName=jd.name,
                type="multinode",
                nodeProperties={
                    "numNodes": len(jd.node_images),
                    "mainNode": 0,
                    "nodeRangeProperties": [
                        {"targetNodes": target, "container": {"image": image, **resources}}
                        for target, image in jd.node_images
                    ],
                },
            )
        elif jd.eks_containers:
            got = batch.register_job_definition(
                jobDefinitionName=jd.name,
                type="container",
                eksProperties={
                    "podProperties": {
                        "containers": [{"name": x.name, "image": x.image} for x in jd.eks_containers]
                    }
                },
            )
        else:
            # moto cannot register ecsProperties: a stand-in containerProperties, replaced in
            # DescribeJobDefinitions by the ecsProperties kept on the job definition.
            image = jd.image or jd.ecs_containers[0].image
            got = batch.register_job_definition(
                jobDefinitionName=jd.name, type="container", containerProperties={"image": image, **resources}
            )
            if jd.ecs_containers:
                batch_backends[a][r].get_job_definition_by_arn(got["jobDefinitionArn"]).sb_ecs_properties = {
                    "taskProperties": [
                        {"containers": [{"name": x.name, "image": x.image} for x in jd.ecs_containers]}
                    ]
                }
    return len(c.job_definitions)


def _seed_sagemaker(clients, a: str, r: str, c) -> int:
    if not (c.sagemaker_models or c.sagemaker_endpoints):
        return 0
    sm = clients("sagemaker", a, r)
    role = ecr.role_arn("aws", a, CONSUMER_ROLE)
    for m in c.sagemaker_models:
        if len(m.images) == 1:
            sm.create_model(ModelName=m.name, PrimaryContainer={"Image": m.images[0]}, ExecutionRoleArn=role)
        else:
            sm.create_model(
                ModelName=m.name, Containers=[{"Image": i} for i in m.images], ExecutionRoleArn=role
            )
    for e in c.sagemaker_endpoints:
        sm.create_endpoint_config(
            EndpointConfigName=f"{e.name}-config",
            ProductionVariants=[
                {
                    "VariantName": e.variant,
                    "ModelName": e.model,
                    "InitialInstanceCount": 1,
                    "InstanceType": "ml.m5.large",
                }
            ],
        )
        sm.create_endpoint(EndpointName=e.name, EndpointConfigName=f"{e.name}-config")
    return len(c.sagemaker_models) + len(c.sagemaker_endpoints)


def _seed_emr(clients, a: str, r: str, c) -> int:
    for app in c.emr_applications:
        extra = {}
        if app.image:
            extra["imageConfiguration"] = {"imageUri": app.image}
        if app.worker_images:
            extra["workerTypeSpecifications"] = {
                worker: {"imageConfiguration": {"imageUri": image}}
                for worker, image in app.worker_images.items()
            }
        got = clients("emr-serverless", a, r).create_application(
            name=app.name, releaseLabel="emr-7.5.0", type="SPARK", clientToken=app.name, **extra
        )
        emrserverless_backends[a][r].applications[got["applicationId"]].state = app.state
    return len(c.emr_applications)
