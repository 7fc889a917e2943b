"""AWS Batch consumers: ACTIVE job definitions, every container they name — container, ECS, EKS
and multi-node properties (docs/consumers.md#batch)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict, rows_of
from ..paging import pages
from .rows import Place, reference


def get_job_definitions(batch) -> list:
    return pages(batch.describe_job_definitions, "jobDefinitions", status="ACTIVE", maxResults=100)


def _named(items: list, what: str, where: str, problems: Problems) -> list[tuple]:
    """(name, image) of each container of `items`; one without an image is a problem."""
    return rows_of(items, what, lambda g: (g.text("name"), g.text("image", required=True)), problems, where)


def _ecs_containers(props: dict, where: str, problems: Problems) -> list[tuple]:
    out = []
    f = Fields(props, "ecsProperties")
    for i, task in enumerate(f.items("taskProperties")):
        t = Fields(task, "ecsProperties.taskProperties")
        out += _named(t.items("containers"), "an ECS container", f"{where} task {i} container", problems)
        if t.problem:
            problems.add(t.problem, f"{where} task {i}")
    if f.problem:
        problems.add(f.problem, where)
    return out


def _eks_containers(props: dict, where: str, problems: Problems) -> list[tuple]:
    pod = Fields(Fields(props, "eksProperties").obj("podProperties"), "eksProperties.podProperties")
    out = [
        pair
        for key in ("initContainers", "containers")
        for pair in _named(pod.items(key), "an EKS container", f"{where} {key}", problems)
    ]
    if pod.problem:
        problems.add(pod.problem, where)
    return out


def containers_of(
    item: Fields, where: str, problems: Problems, key: str = "containerProperties"
) -> list[tuple]:
    """(container name, image) of every container a job definition (or a node range: `key`
    "container") names."""
    out = []
    container = item.obj(key)
    if container:
        g = Fields(container, key)
        image = g.text("image", required=True)
        if g.problem:
            problems.add(g.problem, where)
        else:
            out.append((None, image))
    if item.obj("ecsProperties"):
        out += _ecs_containers(item.obj("ecsProperties"), where, problems)
    if item.obj("eksProperties"):
        out += _eks_containers(item.obj("eksProperties"), where, problems)
    return out


def transform_job_definitions(place: Place, items: list, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    rows = []
    for i, item in enumerate(items):
        f = Fields(item, "a job definition")
        arn, name = f.text("jobDefinitionArn", required=True), f.text("jobDefinitionName")
        revision, status = f.count("revision"), f.text("status")
        where = f"job definition {i}"
        pairs = containers_of(f, where, problems)
        nodes = Fields(f.obj("nodeProperties"), "nodeProperties")
        for k, node_range in enumerate(nodes.items("nodeRangeProperties")):
            n = Fields(node_range, "a node range")
            target = n.text("targetNodes") or "?"
            for container, image in containers_of(n, f"{where} node range {k}", problems, key="container"):
                pairs.append((f"nodes {target}" + (f"/{container}" if container else ""), image))
            if n.problem:
                problems.add(n.problem, f"{where} node range {k}")
        if f.problem or nodes.problem:
            problems.add(f.problem or nodes.problem, where)
            continue
        if status not in (None, "ACTIVE"):
            continue
        for container, image in pairs:
            rows.append(
                reference(
                    place,
                    "batch_job_definition",
                    image=image,
                    role="defined",
                    arn=arn,
                    name=f"{name}:{revision}" if name else arn,
                    container=container,
                    running=False,
                    details="ACTIVE job definition",
                )
            )
    return rows
