"""Each consumer kind's reads, in order, for one account × region, and its coverage row.

A kind runs in one of the unit's worker threads, one read after another, every read through its
entry in `collect/reads.py` and the read policy (`reading.Reader`): a failed read is an errors
row, never an empty answer. The kind's coverage row says what happened (docs/consumers.md#coverage):
  skipped      left out by --consumers (cloudtrail unless named)
  not_offered  the service has no endpoint in the region (botocore's endpoint data): not asked
  unreadable   the kind's first read failed (access denied, retries exhausted, ...)
  unsupported  the endpoint does not know the kind's first operation
  disabled     Inspector's ECR scanning is not on in the account × region
  partial      read, but some reads failed (errors rows) or the listing was cut (reason)
  complete     every read answered
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from .. import reads
from ..fields import Problems
from ..reading import Reader
from . import ONLY_WHEN_NAMED, SERVICES
from . import apprunner as c_apprunner
from . import batch as c_batch
from . import cloudtrail as c_cloudtrail
from . import codebuild as c_codebuild
from . import ecs as c_ecs
from . import emr_serverless as c_emr
from . import inspector as c_inspector
from . import lambda_ as c_lambda
from . import sagemaker as c_sagemaker
from .rows import Place


def chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class KindReader(Reader):
    """The reads of one consumer kind in one account × region, its rows and its failures."""

    def __init__(self, unit, kind: str, observed_at: datetime):
        super().__init__(unit.sink, unit.recorder, unit.budget, unit.account_id, unit.region)
        self.unit = unit
        self.kind = kind
        self.place = Place(unit.account_id, unit.region, observed_at)
        self.rows: list[dict] = []
        self.first_failure: tuple | None = None
        self.gate: tuple[str, object] | None = None  # (status, answer) of the kind's first read
        self.disabled: str | None = None
        self.note: str | None = None  # why the kind is partial although no read failed
        self._unknown: set[str] = set()

    def error(self, operation, code, kind, message, repository_name=None) -> None:
        if self.first_failure is None:
            self.first_failure = (operation, code, kind)
        super().error(operation, code, kind, message, repository_name)

    def call(self, read: reads.Read, *args) -> tuple[str, object]:
        """(status, answer) of `read`; an operation the endpoint said it does not know is not
        sent again in this account × region."""
        if read.operation in self._unknown:
            return "unsupported", None
        with self.unit.client(read.service) as client:
            status, answer = self.read(read.operation, read.get, client, *args)
        if status == "unsupported":
            self._unknown.add(read.operation)
        return status, answer

    def first(self, read: reads.Read, *args) -> object:
        """The kind's first read: its outcome decides whether the kind could be read at all."""
        self.gate = self.call(read, *args)
        return self.gate[1]

    def take(self, read: reads.Read, transform, *args):
        """transform(*args, problems=) with the items it cannot understand as invalid_data rows."""
        problems = Problems()
        out = transform(*args, problems=problems)
        if problems:
            self.invalid(read.operation, problems)
        return out

    def failed_items(self, read: reads.Read, failures: list[dict]) -> None:
        """Per-item failures of a batch call (DescribeServices, DescribeTasks, ...) as errors rows."""
        for f in failures:
            reason = f.get("reason") or "Failure"
            kind = "not_found" if reason in ("MISSING", "NotFound") else "error"
            self.error(read.operation, reason, kind, f"{f.get('arn') or '?'}: {f.get('detail') or reason}")

    def coverage(self) -> tuple[str, str | None]:
        if self.disabled is not None:
            return "disabled", self.disabled
        status, answer = self.gate or ("present", None)
        if status == "unsupported":
            return "unsupported", self._failure("the endpoint does not know")
        if answer is None and status != "present":
            return "unreadable", self._failure("could not read")
        if self.errors:
            return "partial", f"{self.errors} failed reads (see errors)" + (
                f"; {self.note}" if self.note else ""
            )
        if self.note:
            return "partial", self.note
        return "complete", None

    def _failure(self, what: str) -> str:
        if self.first_failure is None:
            return what
        operation, code, kind = self.first_failure
        return f"{what} {operation}: {code} ({kind})"


# -- the kinds -----------------------------------------------------------------------------------


def read_ecs(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.ECS_LIST_CLUSTERS)
    if listed is None:
        return
    keep = opts["keep_task_definitions"]
    services, deployed = [], set()
    for cluster in kr.take(reads.ECS_LIST_CLUSTERS, c_ecs.texts, listed, "a cluster ARN"):
        _, listed = kr.call(reads.ECS_LIST_SERVICES, cluster)
        arns = kr.take(reads.ECS_LIST_SERVICES, c_ecs.texts, listed or [], "a service ARN")
        for batch in chunks(arns, c_ecs.DESCRIBE_SERVICES_BATCH):
            _, answer = kr.call(reads.ECS_DESCRIBE_SERVICES, cluster, batch)
            if answer is None:
                continue
            found, failures = kr.take(reads.ECS_DESCRIBE_SERVICES, c_ecs.transform_services, answer)
            kr.failed_items(reads.ECS_DESCRIBE_SERVICES, failures)
            for service in found:
                services.append((cluster, service))
                deployed |= {d["task_definition"] for d in service["deployments"]}
                _service_revisions(kr, cluster, service)
        _running_tasks(kr, cluster)
    window = _rollback_window(kr, keep)
    containers = {}
    for arn in list(dict.fromkeys(sorted(deployed) + window)):
        _, answer = kr.call(reads.ECS_DESCRIBE_TASK_DEFINITION, arn)
        if answer is not None:
            containers[arn] = kr.take(
                reads.ECS_DESCRIBE_TASK_DEFINITION, c_ecs.task_definition_containers, answer
            )
    for cluster, service in services:
        kr.rows += c_ecs.service_deployment_rows(kr.place, service, cluster, containers)
    for arn in window:
        if arn not in deployed and arn in containers:
            kr.rows += c_ecs.task_definition_rows(kr.place, arn, containers[arn], keep)


def _service_revisions(kr: KindReader, cluster: str, service: dict) -> None:
    """The service revisions of a service's current and previous deployments: the digests ECS
    resolved for it (docs/consumers.md#ecs)."""
    _, listed = kr.call(reads.ECS_LIST_SERVICE_DEPLOYMENTS, cluster, service["arn"])
    if listed is None:
        return
    deployments = kr.take(reads.ECS_LIST_SERVICE_DEPLOYMENTS, c_ecs.transform_deployments, listed)
    roles = c_ecs.revisions_to_read(deployments)
    context = {
        arn: {
            "role": role,
            "name": f"{c_ecs.name_of(cluster)}/{service['name']}",
            "running": (service["running"] or 0) > 0,
        }
        for arn, role in roles.items()
    }
    for batch in chunks(list(roles), c_ecs.DESCRIBE_REVISIONS_BATCH):
        _, answer = kr.call(reads.ECS_DESCRIBE_SERVICE_REVISIONS, batch)
        if answer is None:
            continue
        rows, failures = kr.take(
            reads.ECS_DESCRIBE_SERVICE_REVISIONS, c_ecs.transform_revisions, kr.place, answer, context
        )
        kr.rows += rows
        kr.failed_items(reads.ECS_DESCRIBE_SERVICE_REVISIONS, failures)


def _running_tasks(kr: KindReader, cluster: str) -> None:
    _, listed = kr.call(reads.ECS_LIST_TASKS, cluster)
    arns = kr.take(reads.ECS_LIST_TASKS, c_ecs.texts, listed or [], "a task ARN")
    for batch in chunks(arns, c_ecs.DESCRIBE_TASKS_BATCH):
        _, answer = kr.call(reads.ECS_DESCRIBE_TASKS, cluster, batch)
        if answer is None:
            continue
        rows, _, failures = kr.take(
            reads.ECS_DESCRIBE_TASKS, c_ecs.transform_tasks, kr.place, answer, cluster
        )
        kr.rows += rows
        kr.failed_items(reads.ECS_DESCRIBE_TASKS, failures)


def _rollback_window(kr: KindReader, keep: int) -> list[str]:
    """The newest `keep` ACTIVE revisions of every task definition family."""
    if keep == 0:
        return []
    _, listed = kr.call(reads.ECS_LIST_FAMILIES)
    window = []
    for family in kr.take(reads.ECS_LIST_FAMILIES, c_ecs.texts, listed or [], "a family name"):
        _, arns = kr.call(reads.ECS_LIST_TASK_DEFINITIONS, family, keep)
        for arn in kr.take(reads.ECS_LIST_TASK_DEFINITIONS, c_ecs.texts, arns or [], "a task definition ARN"):
            # familyPrefix names the whole family; a revision of another family is not counted.
            if c_ecs.family_of(arn) == family:
                window.append(arn)
    return window


def read_lambda(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.LAMBDA_LIST_FUNCTIONS)
    if listed is None:
        return
    for name in kr.take(reads.LAMBDA_LIST_FUNCTIONS, c_lambda.transform_functions, listed):
        _, aliases = kr.call(reads.LAMBDA_LIST_ALIASES, name)
        reached = kr.take(reads.LAMBDA_LIST_ALIASES, c_lambda.transform_aliases, aliases or [])
        for version in dict.fromkeys([c_lambda.LATEST, *reached]):
            _, answer = kr.call(reads.LAMBDA_GET_FUNCTION, name, version)
            if answer is not None:
                kr.rows += kr.take(
                    reads.LAMBDA_GET_FUNCTION,
                    c_lambda.transform_function,
                    kr.place,
                    name,
                    version,
                    answer,
                    reached.get(version, []),
                )


def read_batch(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.BATCH_DESCRIBE_JOB_DEFINITIONS)
    if listed is not None:
        kr.rows += kr.take(
            reads.BATCH_DESCRIBE_JOB_DEFINITIONS, c_batch.transform_job_definitions, kr.place, listed
        )


def _describe_each(kr: KindReader, names: list[str], describe: reads.Read, transform) -> None:
    """`describe` each listed name (an ARN, an id) and add its transformed rows."""
    for name in names:
        _, answer = kr.call(describe, name)
        if answer is not None:
            kr.rows += kr.take(describe, transform, kr.place, answer)


def read_apprunner(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.APPRUNNER_LIST_SERVICES)
    if listed is not None:
        arns = kr.take(reads.APPRUNNER_LIST_SERVICES, c_apprunner.transform_service_list, listed)
        _describe_each(kr, arns, reads.APPRUNNER_DESCRIBE_SERVICE, c_apprunner.transform_service)


def read_sagemaker(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.SAGEMAKER_LIST_ENDPOINTS)
    if listed is None:
        return
    names = kr.take(reads.SAGEMAKER_LIST_ENDPOINTS, c_sagemaker.names, listed, "EndpointName", "an endpoint")
    _describe_each(kr, names, reads.SAGEMAKER_DESCRIBE_ENDPOINT, c_sagemaker.transform_endpoint)
    _, listed = kr.call(reads.SAGEMAKER_LIST_MODELS)
    names = kr.take(reads.SAGEMAKER_LIST_MODELS, c_sagemaker.names, listed or [], "ModelName", "a model")
    _describe_each(kr, names, reads.SAGEMAKER_DESCRIBE_MODEL, c_sagemaker.transform_model)


def read_emr_serverless(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.EMR_LIST_APPLICATIONS)
    if listed is not None:
        ids = kr.take(reads.EMR_LIST_APPLICATIONS, c_emr.transform_application_list, listed)
        _describe_each(kr, ids, reads.EMR_GET_APPLICATION, c_emr.transform_application)


def read_codebuild(kr: KindReader, opts: dict) -> None:
    listed = kr.first(reads.CODEBUILD_LIST_PROJECTS)
    if listed is None:
        return
    names = kr.take(reads.CODEBUILD_LIST_PROJECTS, c_ecs.texts, listed, "a project name")
    for batch in chunks(names, c_codebuild.BATCH):
        _, answer = kr.call(reads.CODEBUILD_BATCH_GET_PROJECTS, batch)
        if answer is None:
            continue
        rows, missing = kr.take(
            reads.CODEBUILD_BATCH_GET_PROJECTS, c_codebuild.transform_projects, kr.place, answer
        )
        kr.rows += rows
        kr.failed_items(
            reads.CODEBUILD_BATCH_GET_PROJECTS, [{"arn": n, "reason": "NotFound"} for n in missing]
        )


def read_inspector(kr: KindReader, opts: dict) -> None:
    answer = kr.first(reads.INSPECTOR_ACCOUNT_STATUS, kr.account_id)
    if answer is None:
        return
    status, why = kr.take(reads.INSPECTOR_ACCOUNT_STATUS, c_inspector.ecr_status, answer, kr.account_id)
    if status is None:
        kr.error(reads.INSPECTOR_ACCOUNT_STATUS.operation, "NoStatus", "error", why)
        kr.gate = ("unreadable", None)
        return
    if status != "ENABLED":
        kr.disabled = why
        return
    _, listed = kr.call(reads.INSPECTOR_LIST_COVERAGE, kr.account_id)
    for image in kr.take(reads.INSPECTOR_LIST_COVERAGE, c_inspector.transform_coverage, listed or []):
        status, clusters = kr.call(reads.INSPECTOR_CLUSTERS_FOR_IMAGE, image["resource_id"])
        rows = []
        if clusters is not None:
            rows = kr.take(
                reads.INSPECTOR_CLUSTERS_FOR_IMAGE, c_inspector.transform_clusters, kr.place, image, clusters
            )
        if not rows:
            why = "GetClustersForImage named none" if status == "present" else f"GetClustersForImage {status}"
            rows = [c_inspector.in_use_row(kr.place, image, why)]
        kr.rows += rows


def read_cloudtrail(kr: KindReader, opts: dict) -> None:
    end = opts["collected_at"]
    start = end - timedelta(days=opts["pull_days"])
    events = kr.first(reads.CLOUDTRAIL_LOOKUP_EVENTS, start, end, kr.budget)
    if events is None:
        return
    if len(events) >= c_cloudtrail.MAX_EVENTS:
        kr.note = (
            f"read the newest {c_cloudtrail.MAX_EVENTS} BatchGetImage events only: older pulls of the "
            f"{opts['pull_days']} days were not read"
        )
    kr.rows += kr.take(
        reads.CLOUDTRAIL_LOOKUP_EVENTS,
        c_cloudtrail.transform_pulls,
        kr.place,
        events,
        kr.unit.account.principal_arn,
    )


STEPS = {
    "ecs": read_ecs,
    "lambda": read_lambda,
    "batch": read_batch,
    "apprunner": read_apprunner,
    "sagemaker": read_sagemaker,
    "emr_serverless": read_emr_serverless,
    "codebuild": read_codebuild,
    "inspector": read_inspector,
    "cloudtrail": read_cloudtrail,
}


def collect_kind(unit, kind: str, opts: dict) -> dict:
    """Read consumer kind `kind` in `unit`'s account × region (or skip it); its rows go to the
    consumers frame. Returns its consumer_coverage row."""
    row = {"consumer_account_id": unit.account_id, "consumer_region": unit.region, "consumer_kind": kind}
    if kind not in opts["consumers"]:
        why = (
            f"{kind} is read only when named (--consumers ...,{kind})"
            if opts["consumers"] and kind in ONLY_WHEN_NAMED
            else "left out by --consumers"
        )
        return {**row, "status": "skipped", "reason": why, "consumers": 0}
    offered = (opts.get("consumer_regions") or {}).get(kind)
    if offered is not None and unit.region not in offered:
        why = f"{SERVICES[kind]} has no endpoint in {unit.region} (botocore's endpoint data)"
        return {**row, "status": "not_offered", "reason": why, "consumers": 0}
    kr = KindReader(unit, kind, datetime.now(timezone.utc))
    STEPS[kind](kr, opts)
    unit.sink.add("consumers", kr.rows)
    status, why = kr.coverage()
    return {**row, "status": status, "reason": why, "consumers": len(kr.rows)}
