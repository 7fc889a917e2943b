"""Consumers in the sandbox: where moto is not AWS, corrected; where moto has nothing, answered from
the world (docs/sandbox.md#consumers). Installed by `fidelity.install`, like the ECR corrections.

Through moto, corrected:
- ECS: a task stays RUNNING (moto moves it towards STOPPED whenever it is described);
  ListTaskDefinitions sorts (`sort`), filters the exact family and pages; ListTaskDefinitionFamilies
  honours `status` and pages; RunTask gives every container of the task definition (moto: only the
  first) with the digest pulled (`imageDigest`, resolved from the sandbox's ECR) and `startedAt`.
  ListServiceDeployments and DescribeServiceRevisions (moto: none) answer from the deployments the
  world declares, with the digests ECS resolved for each revision.
- Lambda: `Code.ResolvedImageUri` is the ECR digest the image's tag named when the code was
  deployed (moto: sha256 of the URI text); an image that is not in ECR, not found, or in another
  region is refused as Lambda refuses it.
- Batch: DescribeJobDefinitions returns `nodeProperties` (moto drops them) and `ecsProperties`
  (moto cannot register them: the seeder stores them on the job definition).
- SageMaker: DescribeEndpoint gives each variant's `DeployedImages` (specified, resolved digest,
  resolution time), resolved when the endpoint is created.
- EMR Serverless: CreateApplication keeps `imageConfiguration` and `workerTypeSpecifications`
  (moto drops them) and GetApplication returns them with the `resolvedImageDigest`.
Answered from the world (moto has no handler):
- App Runner ListServices / DescribeService.
- Inspector2 BatchGetAccountStatus (moto: an empty list for an account that is not enabled),
  ListCoverage (ECR images of the account × region, their in-use counts from the world, the
  resourceType / accountId / ecrImageInUseCount filters) and GetClustersForImage.
- CloudTrail LookupEvents: the world's BatchGetImage pulls plus every BatchGetImage the sandbox
  serves (the audit's own manifest reads included), newest first, 50 a page.
IAM enforcement (`org.enforce_iam`): action names match case-insensitively, as in IAM, and a GET
with query parameters verifies its signature (moto: Batch, Lambda and EMR Serverless reads refused).
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from moto.awslambda.exceptions import InvalidParameterValueException
from moto.awslambda.models import LambdaFunction, LambdaStorage
from moto.batch.models import JobDefinition
from moto.cloudtrail.responses import CloudTrailResponse
from moto.core.responses import ActionResult, BaseResponse
from moto.ecr.models import ecr_backends
from moto.ecs.models import EC2ContainerServiceBackend
from moto.ecs.responses import EC2ContainerServiceResponse
from moto.emrserverless.models import emrserverless_backends
from moto.emrserverless.responses import EMRServerlessResponse
from moto.iam.access_control import IAMPolicyStatement, IAMRequestBase
from moto.inspector2.responses import Inspector2Response
from moto.sagemaker.models import SageMakerModelBackend

from .. import ecr
from .state import SandboxError, active

ECR_IMAGE = "AWS_ECR_CONTAINER_IMAGE"


class State:
    """What the consumer handlers answer from, beside moto's backends (on `Runtime.consumers`)."""

    def __init__(self, world):
        self.world = world
        self.registries = {
            (a.account_id, r.region): r.consumers for a in world.accounts for r in a.registries
        }
        # ECS: (account, region, service ARN) → deployments, newest last; revision ARN → revision.
        self.deployments: dict[tuple, list[dict]] = {}
        self.revisions: dict[str, dict] = {}
        # CloudTrail event history: (account, region) → events (dicts), in the order they happened.
        self.trail: dict[tuple, list[dict]] = {}
        self._lock = threading.Lock()

    def consumers(self, account_id: str, region: str):
        return self.registries.get((account_id, region))

    def record(self, account_id: str, region: str, event: dict) -> None:
        with self._lock:
            self.trail.setdefault((account_id, region), []).append(event)


def _state() -> State:
    return active().consumers


def _now() -> datetime:
    return active().now()


def resolve(image) -> str | None:
    """The digest `image` names in the sandbox's ECR now (None: not a private ECR image, or not
    there). Backends are read directly: no call, no pull time moved."""
    ref = ecr.parse_image_uri(image)
    if ref is None:
        return None
    repo = ecr_backends[ref.account_id][ref.region].repositories.get(ref.repository_name)
    if repo is None:
        return None
    for img in repo.images:
        if ref.digest is not None and img.image_digest == ref.digest:
            return img.image_digest
        if ref.digest is None and ref.effective_tag in (img.image_tags or []):
            return img.image_digest
    return None


def pinned(image: str, digest: str) -> str:
    """`repo@digest` for a private ECR image reference."""
    ref = ecr.parse_image_uri(image)
    return ecr.image_uri(
        ref.account_id, ref.region, ref.repository_name, digest=digest, partition=ref.partition
    )


def page(resp: BaseResponse, items: list, default: int, maximum: int, size="maxResults", token="nextToken"):
    """(items of this page, the next token or None): an opaque offset token, like the ECR handlers."""
    size_value = resp._get_param(size) or default
    if not 1 <= int(size_value) <= maximum:
        raise SandboxError("ValidationException", f"{size} must be between 1 and {maximum}")
    start = 0
    given = resp._get_param(token)
    if given:
        try:
            start = int(json.loads(base64.b64decode(given))["offset"])
        except Exception:
            raise SandboxError("InvalidParameterException", f"Invalid {token}") from None
    end = start + int(size_value)
    nxt = base64.b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def _with(body: dict, key: str, token: str | None) -> dict:
    if token:
        body[key] = token
    return body


# ---------------------------------------------------------------------------------------------
# ECS


def _ecs(resp):
    return resp.ecs_backend


def list_task_definitions(self) -> ActionResult:
    family = self._get_param("familyPrefix")  # the whole family name, despite the parameter's name
    status = self._get_param("status") or "ACTIVE"
    newest_first = self._get_param("sort") == "DESC"
    found = [
        td
        for revisions in _ecs(self).task_definitions.values()
        for td in revisions.values()
        if (family is None or td.family == family) and td.status == status
    ]
    found.sort(key=lambda td: (td.family, td.revision), reverse=newest_first)
    items, token = page(self, [td.arn for td in found], 100, 100)
    return ActionResult(_with({"taskDefinitionArns": items}, "nextToken", token))


def list_task_definition_families(self) -> ActionResult:
    prefix = self._get_param("familyPrefix") or ""
    status = self._get_param("status") or "ACTIVE"
    families = []
    for family, revisions in _ecs(self).task_definitions.items():
        active = any(td.status == "ACTIVE" for td in revisions.values())
        if family.startswith(prefix) and (status == "ALL" or (status == "ACTIVE") == active):
            families.append(family)
    items, token = page(self, sorted(families), 100, 100)
    return ActionResult(_with({"families": items}, "nextToken", token))


def list_service_deployments(self) -> ActionResult:
    service = self._get_param("service") or ""
    cluster = (self._get_param("cluster") or "default").rsplit("/", 1)[-1]
    statuses = set(self._get_param("status") or [])
    key = next(
        (
            k
            for k in _state().deployments
            if k[:2] == (self.current_account, self.region)
            and (k[2] == service or k[2].endswith(f"/{cluster}/{service}"))
        ),
        None,
    )
    if key is None:
        raise SandboxError("ServiceNotFoundException", "Service not found.")
    found = [
        {k: v for k, v in d.items() if not k.startswith("_")}
        for d in reversed(_state().deployments[key])
        if not statuses or d["status"] in statuses
    ]
    items, token = page(self, found, 20, 100)
    return ActionResult(_with({"serviceDeployments": items}, "nextToken", token))


def describe_service_revisions(self) -> ActionResult:
    arns = self._get_param("serviceRevisionArns") or []
    if not 1 <= len(arns) <= 20:
        raise SandboxError("InvalidParameterException", "serviceRevisionArns must hold 1 to 20 ARNs")
    found, failures = [], []
    for arn in arns:
        revision = _state().revisions.get(arn)
        if revision is None or arn.split(":")[4] != self.current_account:
            failures.append({"arn": arn, "reason": "MISSING"})
        else:
            found.append(revision)
    return ActionResult({"serviceRevisions": found, "failures": failures})


class _TaskContainer:
    """A container of a running task, as DescribeTasks answers it (moto's Container has no
    digest and stands for the first container definition only)."""

    def __init__(self, task_arn: str, definition: dict, digest: str | None):
        self.container_arn = f"{task_arn.replace(':task/', ':container/')}/{definition.get('name')}"
        self.task_arn = task_arn
        self.name = definition.get("name")
        self.image = definition.get("image")
        self.image_digest = digest
        self.last_status = "RUNNING"
        self.health_status = "UNKNOWN"
        self.network_interfaces = []


def _run_task(original):
    def run_task(self, cluster_str, task_definition_str, *args, **kwargs):
        tasks = original(self, cluster_str, task_definition_str, *args, **kwargs)
        for task in tasks:
            definition = self.describe_task_definition(task.task_definition_arn)
            task.containers = [
                _TaskContainer(task.task_arn, c, resolve(c.get("image")))
                for c in definition.container_definitions
            ]
            task.started_at = _now()
        return tasks

    return run_task


# ---------------------------------------------------------------------------------------------
# Lambda


def _set_function_code(original):
    def set_function_code(self, updated_spec):
        original(self, updated_spec)
        image = updated_spec.get("ImageUri") if isinstance(updated_spec, dict) else None
        if image is None or (updated_spec is not self.code and updated_spec.get("DryRun")):
            return
        # Lambda runs images of private ECR repositories in the function's region only, and
        # resolves the tag to a digest when the code is deployed (docs/consumers.md#lambda).
        ref = ecr.parse_image_uri(image)
        if ref is None:
            raise InvalidParameterValueException(
                f"Source image {image} is not valid. Provide a valid source image."
            )
        if ref.region != self.region:
            raise InvalidParameterValueException(
                f"Source image {image} is in {ref.region}; the function is in {self.region}."
            )
        digest = resolve(image)
        if digest is None:
            raise InvalidParameterValueException(
                f"Source image {image} does not exist. Provide a valid source image."
            )
        self.sb_resolved_image_uri = pinned(image, digest)

    return set_function_code


def _publish_version(original):
    def publish_version(self, name_or_arn, description=""):
        fn = original(self, name_or_arn, description)
        # A published version is immutable; moto's shallow copy shared its Code with $LATEST.
        if fn is not None:
            fn.code = dict(fn.code)
        return fn

    return publish_version


def _get_code(original):
    def get_code(self):
        resp = original(self)
        code = resp.get("Code") or {}
        if "ImageUri" in code and getattr(self, "sb_resolved_image_uri", None):
            code["ResolvedImageUri"] = self.sb_resolved_image_uri
        return resp

    return get_code


# ---------------------------------------------------------------------------------------------
# Batch


def _describe_job_definition(original):
    def describe(self):
        out = original(self)
        if self.node_properties is not None:
            out["nodeProperties"] = self.node_properties
        ecs_properties = getattr(self, "sb_ecs_properties", None)
        if ecs_properties is not None:
            out["ecsProperties"] = ecs_properties
            out.pop("containerProperties", None)  # the seeder's stand-in (moto cannot do without)
        return out

    return describe


# ---------------------------------------------------------------------------------------------
# SageMaker


def _create_endpoint(original):
    def create_endpoint(self, endpoint_name, endpoint_config_name, tags):
        endpoint = original(self, endpoint_name, endpoint_config_name, tags)
        config = self.describe_endpoint_config(endpoint_config_name)
        when = _now()
        for variant, configured in zip(endpoint.production_variants, config["ProductionVariants"]):
            model = self._models.get(configured.get("ModelName"))
            containers = ([model.primary_container] if model and model.primary_container else []) + (
                list(model.containers) if model else []
            )
            deployed = []
            for c in containers:
                image = (c or {}).get("Image")
                if image is None:
                    continue
                digest = resolve(image)
                entry = {"SpecifiedImage": image, "ResolutionTime": when}
                if digest is not None:
                    entry["ResolvedImage"] = pinned(image, digest)
                deployed.append(entry)
            variant["DeployedImages"] = deployed
        return endpoint

    return create_endpoint


# ---------------------------------------------------------------------------------------------
# EMR Serverless


def _image_configuration(config) -> dict | None:
    if not isinstance(config, dict) or not config.get("imageUri"):
        return None
    digest = resolve(config["imageUri"])
    return {"imageUri": config["imageUri"], **({"resolvedImageDigest": digest} if digest else {})}


def _create_application(original):
    def create_application(self):
        result = original(self)
        app = emrserverless_backends[self.current_account][self.region].applications[
            result.result["applicationId"]
        ]
        app.image_configuration = _image_configuration(self._get_param("imageConfiguration"))
        workers = {}
        for worker, spec in (self._get_param("workerTypeSpecifications") or {}).items():
            config = _image_configuration((spec or {}).get("imageConfiguration"))
            workers[worker] = {"imageConfiguration": config} if config else {}
        app.worker_type_specifications = workers or None
        return result

    return create_application


# ---------------------------------------------------------------------------------------------
# Inspector2 (answered from the world)


def batch_get_account_status(self) -> ActionResult:
    accounts = []
    for account_id in self._get_param("accountIds") or [self.current_account]:
        consumers = _state().consumers(account_id, self.region)
        on = "ENABLED" if consumers is not None and consumers.inspector_ecr else "DISABLED"
        off = {"status": "DISABLED"}
        accounts.append(
            {
                "accountId": account_id,
                "state": {"status": on},
                "resourceState": {
                    "ec2": off,
                    "ecr": {"status": on},
                    "lambda": off,
                    "lambdaCode": off,
                    "codeRepository": off,
                },
            }
        )
    return ActionResult({"accounts": accounts, "failedAccounts": []})


def _string_filter(values, value) -> bool:
    if not values:
        return True
    return all((f.get("comparison") == "EQUALS") == (f.get("value") == value) for f in values)


def list_coverage(self) -> ActionResult:
    consumers = _state().consumers(self.current_account, self.region)
    criteria = self._get_param("filterCriteria") or {}
    in_use = {(i.repository, i.digest): i for i in (consumers.inspector_images if consumers else [])}
    covered = []
    if consumers is not None and consumers.inspector_ecr:
        for repo in ecr_backends[self.current_account][self.region].repositories.values():
            for img in repo.images:
                seen = in_use.get((repo.name, img.image_digest))
                count = seen.in_use if seen else 0
                counts = criteria.get("ecrImageInUseCount") or []
                if not all(
                    f.get("lowerInclusive", 0) <= count <= f.get("upperInclusive", 2**63) for f in counts
                ):
                    continue
                if not (
                    _string_filter(criteria.get("resourceType"), ECR_IMAGE)
                    and _string_filter(criteria.get("accountId"), self.current_account)
                ):
                    continue
                meta = {"tags": list(img.image_tags or []), "inUseCount": count}
                if seen:
                    meta["lastInUseAt"] = seen.last_in_use_at
                covered.append(
                    {
                        "resourceType": ECR_IMAGE,
                        "resourceId": (
                            f"arn:aws:ecr:{self.region}:{self.current_account}:repository/"
                            f"{repo.name}/{img.image_digest}"
                        ),
                        "accountId": self.current_account,
                        "scanType": "PACKAGE",
                        "scanStatus": {"statusCode": "ACTIVE", "reason": "SUCCESSFUL"},
                        "resourceMetadata": {
                            "ecrRepository": {"name": repo.name, "scanFrequency": "CONTINUOUS_SCAN"},
                            "ecrImage": meta,
                        },
                    }
                )
    items, token = page(self, covered, 100, 200)
    return ActionResult(_with({"coveredResources": items}, "nextToken", token))


def get_clusters_for_image(self) -> ActionResult:
    resource_id = (self._get_param("filter") or {}).get("resourceId") or ""
    consumers = _state().consumers(self.current_account, self.region)
    clusters = []
    for image in consumers.inspector_images if consumers else []:
        arn = f"arn:aws:ecr:{self.region}:{self.current_account}:repository/{image.repository}/{image.digest}"
        if arn != resource_id:
            continue
        for c in image.clusters:
            metadata = {}
            if c.ecs_group is not None or c.task_definition_arn is not None:
                metadata["awsEcsMetadataDetails"] = {
                    "detailsGroup": c.ecs_group,
                    "taskDefinitionArn": c.task_definition_arn,
                }
            if c.eks_namespace is not None:
                metadata["awsEksMetadataDetails"] = {
                    "namespace": c.eks_namespace,
                    "workloadInfoList": [{"name": n, "type": t} for n, t in c.workloads],
                }
            details = {
                "lastInUse": c.last_in_use,
                "runningUnitCount": c.running,
                "stoppedUnitCount": c.stopped,
                "clusterMetadata": metadata,
            }
            clusters.append({"clusterArn": c.arn, "clusterDetails": [details]})
    items, token = page(self, clusters, 100, 100)
    return ActionResult(_with({"cluster": items}, "nextToken", token))


# ---------------------------------------------------------------------------------------------
# App Runner (answered from the world)


def _apprunner_arn(account_id: str, region: str, name: str) -> str:
    service_id = hashlib.sha256(f"{account_id}:{region}:{name}".encode()).hexdigest()[:32]
    return f"arn:aws:apprunner:{region}:{account_id}:service/{name}/{service_id}"


class AppRunnerResponse(BaseResponse):
    """App Runner, which moto does not implement."""

    def __init__(self) -> None:
        super().__init__(service_name="apprunner")

    def _services(self) -> list:
        consumers = _state().consumers(self.current_account, self.region)
        return consumers.apprunner_services if consumers else []

    def _summary(self, s) -> dict:
        arn = _apprunner_arn(self.current_account, self.region, s.name)
        return {
            "ServiceName": s.name,
            "ServiceId": arn.rsplit("/", 1)[-1],
            "ServiceArn": arn,
            "ServiceUrl": f"{arn.rsplit('/', 1)[-1][:10]}.{self.region}.awsapprunner.com",
            "CreatedAt": _state().world.now - timedelta(days=30),
            "UpdatedAt": _state().world.now - timedelta(days=30),
            "Status": s.status,
        }

    def list_services(self) -> ActionResult:
        items, token = page(
            self, [self._summary(s) for s in self._services()], 20, 20, size="MaxResults", token="NextToken"
        )
        return ActionResult(_with({"ServiceSummaryList": items}, "NextToken", token))

    def describe_service(self) -> ActionResult:
        arn = self._get_param("ServiceArn")
        for s in self._services():
            summary = self._summary(s)
            if summary["ServiceArn"] == arn:
                source = {
                    "ImageRepository": {
                        "ImageIdentifier": s.image,
                        "ImageConfiguration": {"Port": "8080"},
                        "ImageRepositoryType": s.repository_type,
                    },
                    "AutoDeploymentsEnabled": s.auto_deployments,
                }
                return ActionResult(
                    {
                        "Service": {
                            **summary,
                            "SourceConfiguration": source,
                            "InstanceConfiguration": {"Cpu": "1024", "Memory": "2048"},
                        }
                    }
                )
        raise SandboxError("ResourceNotFoundException", f"Service {arn} not found")


# ---------------------------------------------------------------------------------------------
# CloudTrail (answered from the world and from the BatchGetImage calls the sandbox serves)


def pull_event(
    account_id: str,
    region: str,
    at: datetime,
    caller_arn: str,
    caller_account: str,
    repository: str,
    image_ids: list[dict],
    error: str | None = None,
) -> dict:
    """A BatchGetImage event as CloudTrail records it in the registry's account × region."""
    identity_type = (
        "AssumedRole"
        if ":assumed-role/" in caller_arn
        else "IAMUser"
        if ":user/" in caller_arn
        else "AWSAccount"
    )
    doc = {
        "eventVersion": "1.09",
        "userIdentity": {"type": identity_type, "arn": caller_arn, "accountId": caller_account},
        "eventTime": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": "ecr.amazonaws.com",
        "eventName": "BatchGetImage",
        "awsRegion": region,
        "requestParameters": {"registryId": account_id, "repositoryName": repository, "imageIds": image_ids},
        "responseElements": None,
        "readOnly": True,
        "eventType": "AwsApiCall",
        "recipientAccountId": account_id,
    }
    if error:
        doc["errorCode"] = error
    event_id = hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()
    doc["eventID"] = f"{event_id[:8]}-{event_id[8:12]}-{event_id[12:16]}-{event_id[16:20]}-{event_id[20:32]}"
    return {"at": at, "doc": doc, "user": caller_arn.rsplit("/", 1)[-1]}


def caller_of(resp: BaseResponse) -> tuple[str, str]:
    """(account, ARN as CloudTrail writes it) of the request's caller: the assumed-role session
    ARN for keys sts:AssumeRole minted, else the IAM user."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    key = resp.get_access_key()
    account = resp.current_account
    for role in sts_backends[account]["aws"].assumed_roles:
        if role.access_key_id == key:
            return account, role.arn
    user = iam_backends[account]["aws"].access_keys.get(key)
    name = getattr(user, "user_name", None) or "moto"
    return account, f"arn:aws:iam::{account}:user/{name}"


def record_pull(resp: BaseResponse, repository: str, image_ids: list[dict], failed: bool) -> None:
    """Record a BatchGetImage the sandbox served (fidelity.batch_get_image)."""
    account, arn = caller_of(resp)
    event = pull_event(
        resp.current_account,
        resp.region,
        _now(),
        arn,
        account,
        repository,
        image_ids,
        "ImageNotFoundException" if failed else None,
    )
    _state().record(resp.current_account, resp.region, event)


def _as_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return datetime.fromtimestamp(float(value), timezone.utc)


def lookup_events(self) -> ActionResult:
    state = _state()
    consumers = state.consumers(self.current_account, self.region)
    world = [
        pull_event(
            self.current_account,
            self.region,
            p.at,
            p.caller_arn,
            p.caller_account,
            p.repository,
            [{"imageTag": p.tag} if p.tag else {"imageDigest": p.digest}],
            p.error,
        )
        for p in (consumers.pulls if consumers else [])
    ]
    events = world + list(state.trail.get((self.current_account, self.region), []))
    # Request times are the caller's clock; the sandbox's clock is World.now (docs/sandbox.md#cloudtrail-lookupevents).
    shift = _now() - datetime.now(timezone.utc)
    start, end = _as_time(self._get_param("StartTime")), _as_time(self._get_param("EndTime"))
    wanted = {
        a.get("AttributeKey"): a.get("AttributeValue") for a in self._get_param("LookupAttributes") or []
    }
    if wanted.get("EventName") not in (None, "BatchGetImage"):
        events = []
    if start is not None:
        events = [e for e in events if e["at"] >= start + shift]
    if end is not None:
        events = [e for e in events if e["at"] <= end + shift]
    events.sort(key=lambda e: e["at"], reverse=True)
    answer = [
        {
            "EventId": e["doc"]["eventID"],
            "EventName": "BatchGetImage",
            "ReadOnly": "true",
            "EventTime": e["at"],
            "EventSource": "ecr.amazonaws.com",
            "Username": e["user"],
            "Resources": [],
            "CloudTrailEvent": json.dumps(e["doc"]),
        }
        for e in events
    ]
    items, token = page(self, answer, 50, 50, size="MaxResults", token="NextToken")
    return ActionResult(_with({"Events": items}, "NextToken", token))


# ---------------------------------------------------------------------------------------------
# Routing of the operations moto has no URL for, and the patch list


def dispatch(request):
    """The answer to a request for what moto has no route for (App Runner; Inspector2's ListCoverage
    and GetClustersForImage), or None. Called by `fidelity`'s request router."""
    url = urlparse(request.url)
    host, path = url.netloc, url.path
    if host.startswith("apprunner."):
        handler = AppRunnerResponse
    elif host.startswith("inspector2.") and path in ("/coverage/list", "/cluster/get"):
        handler = Inspector2Response
    else:
        return None
    from moto.core.request import normalize_request

    normalized = normalize_request(request)
    return handler.dispatch(normalized, normalized.raw_url, normalized.headers)


# ---------------------------------------------------------------------------------------------
# IAM enforcement (org.enforce_iam) of the REST services the consumer reads use


def _check_element_matches(original):
    def check_element_matches(self, statement_element, value):
        if statement_element in ("Action", "NotAction"):
            # Action names are case-insensitive in IAM; moto names some REST operations in lower
            # case (batch:describejobdefinitions) and compared them case by case.
            element = self._statement[statement_element]
            patterns = element if isinstance(element, list) else [element]
            return any(self._match(p.lower(), value.lower()) for p in patterns if isinstance(p, str))
        return original(self, statement_element, value)

    return check_element_matches


def _create_aws_request(original):
    def create_aws_request(self):
        request = original(self)
        # moto signed a GET's query parameters again as a form body (SignatureDoesNotMatch on
        # Lambda ListFunctions, EMR Serverless ListApplications): a GET has no body.
        if self._method in ("GET", "HEAD", "DELETE") and not self._body:
            request.data = b""
        return request

    return create_aws_request


# REST services moto routes by method and path (a werkzeug map per service, built on first use).
REST_SERVICES = ("lambda", "batch", "emr-serverless", "inspector2")


def build_routers() -> None:
    """Build moto's request routers of the REST services before any thread needs them.

    A router compiles its URL rules with `ast.parse` when first used; two collector threads doing
    that at once (CPython 3.11 before 3.11.9, gh-106905) failed with "SystemError: AST constructor
    recursion depth mismatch". Built once here, in the thread that starts the sandbox, they are
    shared by every thread after (moto caches them)."""
    from botocore.session import get_session
    from moto.core.routing import get_service_router

    models = get_session()
    for service in REST_SERVICES:
        protocol = models.get_service_model(service).protocol
        get_service_router(service)._get_router(protocol)._map.update()


def hold_tasks_running():
    """moto moves an ECS task on towards STOPPED each time it is described (its ManagedState);
    a real task runs until stopped. Returns the function that restores moto's setting."""
    from moto.moto_api import state_manager

    before = state_manager._transitions.get("ecs::task")
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 2**62})

    def restore():
        if before is None:
            state_manager.unset_transition("ecs::task")
        else:
            state_manager.set_transition("ecs::task", before)

    return restore


def patches() -> list[tuple]:
    """(class, attribute, replacement) for `fidelity.install`; wrappers get the original."""
    return [
        (EC2ContainerServiceResponse, "list_task_definitions", list_task_definitions),
        (EC2ContainerServiceResponse, "list_task_definition_families", list_task_definition_families),
        (EC2ContainerServiceResponse, "list_service_deployments", list_service_deployments),
        (EC2ContainerServiceResponse, "describe_service_revisions", describe_service_revisions),
        (EC2ContainerServiceBackend, "run_task", _run_task(EC2ContainerServiceBackend.run_task)),
        (LambdaFunction, "_set_function_code", _set_function_code(LambdaFunction._set_function_code)),
        (LambdaFunction, "get_code", _get_code(LambdaFunction.get_code)),
        (LambdaStorage, "publish_version", _publish_version(LambdaStorage.publish_version)),
        (JobDefinition, "describe", _describe_job_definition(JobDefinition.describe)),
        (SageMakerModelBackend, "create_endpoint", _create_endpoint(SageMakerModelBackend.create_endpoint)),
        (
            EMRServerlessResponse,
            "create_application",
            _create_application(EMRServerlessResponse.create_application),
        ),
        (Inspector2Response, "batch_get_account_status", batch_get_account_status),
        (Inspector2Response, "list_coverage", list_coverage),
        (Inspector2Response, "get_clusters_for_image", get_clusters_for_image),
        (CloudTrailResponse, "lookup_events", lookup_events),
        (
            IAMPolicyStatement,
            "_check_element_matches",
            _check_element_matches(IAMPolicyStatement._check_element_matches),
        ),
        (IAMRequestBase, "_create_aws_request", _create_aws_request(IAMRequestBase._create_aws_request)),
    ]
