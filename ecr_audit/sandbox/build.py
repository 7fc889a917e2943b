"""Seed moto's backends from a `World` (organization and consumers through the API, ECR directly).

The organization is created through boto3 (so moto's own bookkeeping, e.g. the
OrganizationAccountAccessRole, is right) with moto's random id generators pinned to the world's
ids. ECR state is written straight into `ecr_backends` (no HTTP): repositories, images (moto
`Image` objects carrying the sandbox metadata), policies, registry settings. Consumers (ECS,
Lambda, Batch, SageMaker, EMR Serverless, CodeBuild) are created through their APIs in their
account (`seed_consumers`), after ECR, so the services resolve tags to the world's digests.
"""

from __future__ import annotations

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
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends

from .. import ecr, permissions
from .consumers import pinned, resolve
from .fidelity import set_image_meta
from .sessions import AccountClients
from .world import World

AUDIT_POLICY_NAME = "ecr-audit-read"


@contextmanager
def _pinned(name: str, value: str):
    with mock.patch.object(org_utils, name, lambda: value):
        yield


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
    with _pinned("make_random_org_id", org_id):
        org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    ou_ids = {}
    for name in world.ous:
        ou_ids[name] = org.create_organizational_unit(ParentId=root_id, Name=name)["OrganizationalUnit"]["Id"]
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
    return org_id


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
