"""Amazon ECS consumers: services (their deployments and service revisions), running tasks, and
the task definitions of the rollback window (docs/consumers.md#ecs).

get_* make the calls (listings through `paging.pages`); transform_* are pure and read items
through `fields.Fields`. The order of the reads is the step's (`steps.read_ecs`).
"""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict, rows_of
from ..paging import pages
from .rows import Place, digest_uri, reference

DESCRIBE_SERVICES_BATCH = 10  # DescribeServices: at most 10 services per call
DESCRIBE_REVISIONS_BATCH = 20  # DescribeServiceRevisions: at most 20 ARNs per call
DESCRIBE_TASKS_BATCH = 100  # DescribeTasks: at most 100 tasks per call
# ListServiceDeployments statuses whose target revision runs now (it is being deployed or rolled back).
IN_FLIGHT = {"PENDING", "IN_PROGRESS", "STOP_REQUESTED", "ROLLBACK_REQUESTED", "ROLLBACK_IN_PROGRESS"}
COMPLETED = {"SUCCESSFUL", "ROLLBACK_SUCCESSFUL"}


def get_clusters(ecs) -> list:
    return pages(ecs.list_clusters, "clusterArns", maxResults=100)


def get_services(ecs, cluster: str) -> list:
    return pages(ecs.list_services, "serviceArns", cluster=cluster, maxResults=100)


def get_service_details(ecs, cluster: str, services: list[str]) -> dict:
    return ecs.describe_services(cluster=cluster, services=services)


def get_service_deployments(ecs, cluster: str, service: str) -> list:
    return pages(
        ecs.list_service_deployments, "serviceDeployments", cluster=cluster, service=service, maxResults=100
    )


def get_service_revisions(ecs, arns: list[str]) -> dict:
    return ecs.describe_service_revisions(serviceRevisionArns=arns)


def get_tasks(ecs, cluster: str) -> list:
    return pages(ecs.list_tasks, "taskArns", cluster=cluster, desiredStatus="RUNNING", maxResults=100)


def get_task_details(ecs, cluster: str, tasks: list[str]) -> dict:
    return ecs.describe_tasks(cluster=cluster, tasks=tasks)


def get_families(ecs) -> list:
    return pages(ecs.list_task_definition_families, "families", status="ACTIVE", maxResults=100)


def get_newest_task_definitions(ecs, family: str, n: int) -> list:
    """The newest `n` ACTIVE revisions of `family` (ListTaskDefinitions sorted DESC)."""
    return pages(
        ecs.list_task_definitions,
        "taskDefinitionArns",
        familyPrefix=family,
        status="ACTIVE",
        sort="DESC",
        maxResults=max(1, min(n, 100)),
        max_items=n,
    )


def get_task_definition(ecs, arn: str) -> dict:
    return ecs.describe_task_definition(taskDefinition=arn).get("taskDefinition") or {}


# -- transforms ----------------------------------------------------------------------------------


def texts(items, what: str, problems: Problems | None = None) -> list[str]:
    """The text items of a listing (ARNs, names); anything else is a problem."""
    problems = problems_or_strict(problems)
    out = []
    for i, item in enumerate(items or []):
        f = Fields({"v": item}, what)
        v = f.text("v", required=True)
        if v is None:
            problems.add(f"{what} that is not text", f"item {i}")
        else:
            out.append(v)
    return list(dict.fromkeys(out))


def name_of(arn: str | None) -> str | None:
    """The last part of an ECS ARN (`…:cluster/prod` → `prod`, `…:service/prod/web` → `web`)."""
    return arn.rsplit("/", 1)[-1] if arn else arn


def family_of(arn: str) -> str:
    """The family of a task definition ARN (`…:task-definition/web:3` → `web`)."""
    return arn.rsplit("/", 1)[-1].rsplit(":", 1)[0]


def transform_services(answer: dict, problems: Problems | None = None) -> tuple[list[dict], list[dict]]:
    """DescribeServices → (services: {arn, name, cluster, running, deployments[{id, status,
    task_definition, running, desired}]}, failures: {arn, reason})."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeServices answer")
    services = []
    for i, item in enumerate(top.items("services")):
        f = Fields(item, "a service")
        arn = f.text("serviceArn", required=True)
        name = f.text("serviceName")
        running = f.count("runningCount")
        deployments = []
        for j, d in enumerate(f.items("deployments")):
            g = Fields(d, "a deployment")
            dep = {
                "id": g.text("id"),
                "status": g.text("status"),
                "task_definition": g.text("taskDefinition", required=True),
                "running": g.count("runningCount"),
                "desired": g.count("desiredCount"),
            }
            if g.problem:
                problems.add(g.problem, f"{arn or f'service {i}'} deployment {j}")
            else:
                deployments.append(dep)
        if f.problem:
            problems.add(f.problem, f"service {i}")
            continue
        services.append(
            {"arn": arn, "name": name or name_of(arn), "running": running, "deployments": deployments}
        )
    return services, _failures(top, problems)


def _failures(top: Fields, problems: Problems) -> list[dict]:
    out = []
    for i, item in enumerate(top.items("failures")):
        f = Fields(item, "a failure")
        row = {"arn": f.text("arn"), "reason": f.text("reason"), "detail": f.text("detail")}
        if f.problem:
            problems.add(f.problem, f"failure {i}")
        else:
            out.append(row)
    return out


def transform_deployments(items: list, problems: Problems | None = None) -> list[dict]:
    """ListServiceDeployments → [{arn, status, target, created_at}], newest first."""
    problems = problems_or_strict(problems)
    out = []
    for i, item in enumerate(items):
        f = Fields(item, "a service deployment")
        row = {
            "arn": f.text("serviceDeploymentArn"),
            "status": f.text("status"),
            "target": f.text("targetServiceRevisionArn"),
            "created_at": f.time("createdAt") or f.time("startedAt"),
        }
        if f.problem:
            problems.add(f.problem, f"item {i}")
        else:
            out.append(row)
    # Newest first, whatever order the listing came in (undocumented); undated ones last.
    return sorted(out, key=lambda r: (r["created_at"] is not None, r["created_at"]), reverse=True)


def revisions_to_read(deployments: list[dict]) -> dict[str, str]:
    """Service revision ARN → role: targets of deployments in flight and of the newest completed
    one are `deployed` (they run now), the one completed before it is `rollback` (where a
    rollback returns: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/deployment-circuit-breaker.html)."""
    roles: dict[str, str] = {}
    completed = [d for d in deployments if d["status"] in COMPLETED and d["target"]]
    for d in deployments:
        if d["status"] in IN_FLIGHT and d["target"]:
            roles[d["target"]] = "deployed"
    if completed:
        roles.setdefault(completed[0]["target"], "deployed")
    if len(completed) > 1:
        roles.setdefault(completed[1]["target"], "rollback")
    return roles


def _images(items: list, what: str, name_key: str, problems: Problems, where) -> list[tuple]:
    """(container name, image, digest) of each container of a service revision or a task."""
    return rows_of(
        items,
        what,
        lambda g: (g.text(name_key), g.text("image"), g.text("imageDigest")),
        problems,
        f"{where} container",
    )


def transform_revisions(
    place: Place,
    answer: dict,
    context: dict[str, dict],
    problems: Problems | None = None,
) -> tuple[list[dict], list[dict]]:
    """DescribeServiceRevisions → (consumer rows, failures). `context[revision arn]` gives the
    service's name, cluster, role and whether it runs."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeServiceRevisions answer")
    rows = []
    for i, item in enumerate(top.items("serviceRevisions")):
        f = Fields(item, "a service revision")
        arn = f.text("serviceRevisionArn", required=True)
        task_definition = f.text("taskDefinition")
        images = _images(f.items("containerImages"), "a container image", "containerName", problems, arn or i)
        if f.problem:
            problems.add(f.problem, f"revision {i}")
            continue
        ctx = context.get(arn) or {}
        role = ctx.get("role", "deployed")
        for container, image, digest in images:
            if image is None:
                continue
            rows.append(
                reference(
                    place,
                    "ecs_service_revision",
                    image=image,
                    resolved=digest_uri(image, digest) if image and digest else None,
                    role=role,
                    arn=arn,
                    name=ctx.get("name"),
                    container=container,
                    running=bool(ctx.get("running")) if role == "deployed" else False,
                    details=f"service revision ({role}), task definition {name_of(task_definition)}",
                )
            )
    return rows, _failures(top, problems)


def transform_tasks(place: Place, answer: dict, cluster: str, problems: Problems | None = None):
    """DescribeTasks → (consumer rows, task definition ARNs the tasks run, failures)."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeTasks answer")
    rows, task_definitions = [], []
    for i, item in enumerate(top.items("tasks")):
        f = Fields(item, "a task")
        arn = f.text("taskArn", required=True)
        task_definition = f.text("taskDefinitionArn")
        group = f.text("group")
        last_status = f.text("lastStatus")
        started = f.time("startedAt")
        containers = _images(f.items("containers"), "a container", "name", problems, arn or i)
        if f.problem:
            problems.add(f.problem, f"task {i}")
            continue
        if task_definition:
            task_definitions.append(task_definition)
        for name, image, digest in containers:
            if image is None:
                continue
            rows.append(
                reference(
                    place,
                    "ecs_task",
                    image=image,
                    resolved=digest_uri(image, digest) if image and digest else None,
                    role="running",
                    arn=arn,
                    name=f"{name_of(cluster)}/{group or name_of(arn)}",
                    container=name,
                    running=last_status == "RUNNING",
                    last_in_use_at=started,
                    details=f"task {last_status or 'status unknown'}, task definition {name_of(task_definition)}",
                )
            )
    return rows, task_definitions, _failures(top, problems)


def task_definition_containers(answer: dict, problems: Problems | None = None) -> list[tuple]:
    """DescribeTaskDefinition's taskDefinition → [(container name, image)]."""
    problems = problems_or_strict(problems)
    f = Fields(answer, "a task definition")
    out = rows_of(
        f.items("containerDefinitions"),
        "a container definition",
        lambda g: (g.text("name"), g.text("image", required=True)),
        problems,
        f"{f.item.get('taskDefinitionArn')!s:.200} container",
    )
    if f.problem:
        problems.add(f.problem, "taskDefinition")
    return out


def service_deployment_rows(place: Place, service: dict, cluster: str, containers: dict) -> list[dict]:
    """A service's current deployments (DescribeServices) × their task definition's containers
    (`containers[task definition arn]`)."""
    rows = []
    for d in service["deployments"]:
        for container, image in containers.get(d["task_definition"], ()):
            rows.append(
                reference(
                    place,
                    "ecs_service_deployment",
                    image=image,
                    role="deployed",
                    arn=service["arn"],
                    name=f"{name_of(cluster)}/{service['name']}",
                    container=container,
                    running=(d["running"] or 0) > 0,
                    details=(
                        f"deployment {d['status'] or '?'} ({d['running'] or 0}/{d['desired'] or 0} running), "
                        f"task definition {name_of(d['task_definition'])}"
                    ),
                )
            )
    return rows


def task_definition_rows(place: Place, arn: str, containers: list[tuple], keep: int) -> list[dict]:
    """A task definition of the rollback window (the newest `keep` ACTIVE revisions of its family)."""
    return [
        reference(
            place,
            "ecs_task_definition",
            image=image,
            role="rollback",
            arn=arn,
            name=name_of(arn),
            container=container,
            running=False,
            details=f"one of the newest {keep} ACTIVE revisions of its family (rollback window)",
        )
        for container, image in containers
    ]
