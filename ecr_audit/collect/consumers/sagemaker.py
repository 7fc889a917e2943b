"""Amazon SageMaker consumers: endpoints (the images each variant deployed, resolved to a digest)
and models (docs/consumers.md#sagemaker)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict, rows_of
from ..paging import pages
from .rows import Place, listed, reference


def get_endpoints(sm) -> list:
    return pages(sm.list_endpoints, "Endpoints", token="NextToken", MaxResults=100)


def get_endpoint(sm, name: str) -> dict:
    return sm.describe_endpoint(EndpointName=name)


def get_models(sm) -> list:
    return pages(sm.list_models, "Models", token="NextToken", MaxResults=100)


def get_model(sm, name: str) -> dict:
    return sm.describe_model(ModelName=name)


def names(items: list, key: str, what: str, problems: Problems | None = None) -> list[str]:
    return listed(items, what, key, problems_or_strict(problems))


def transform_endpoint(place: Place, answer: dict, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeEndpoint answer")
    arn, name, status = top.text("EndpointArn"), top.text("EndpointName"), top.text("EndpointStatus")
    rows = []
    for key in ("ProductionVariants", "ShadowProductionVariants"):
        for i, variant in enumerate(top.items(key)):
            v = Fields(variant, "a production variant")
            variant_name = v.text("VariantName")
            images = rows_of(
                v.items("DeployedImages"),
                "a deployed image",
                lambda g: (g.text("SpecifiedImage"), g.text("ResolvedImage"), g.time("ResolutionTime")),
                problems,
                f"{name} {key} {i} image"[:200],
            )
            if v.problem:
                problems.add(v.problem, f"{name} {key} {i}"[:200])
                continue
            shadow = " (shadow)" if key.startswith("Shadow") else ""
            for j, (specified, resolved, when) in enumerate(images):
                if specified is None and resolved is None:
                    continue
                rows.append(
                    reference(
                        place,
                        "sagemaker_endpoint",
                        image=specified or resolved,
                        resolved=resolved,
                        role="deployed",
                        arn=arn,
                        name=f"{name}/{variant_name}",
                        container=f"container {j + 1}" if len(images) > 1 else None,
                        running=status == "InService",
                        details=f"endpoint {status or '?'}, variant {variant_name}{shadow}"
                        + (f", resolved {when:%Y-%m-%d}" if when else ""),
                    )
                )
    if top.problem:
        problems.add(top.problem, (name or "DescribeEndpoint")[:200])
        return []
    return rows


def transform_model(place: Place, answer: dict, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeModel answer")
    arn, name = top.text("ModelArn"), top.text("ModelName")
    containers = [top.obj("PrimaryContainer")] if top.obj("PrimaryContainer") else []
    containers += top.items("Containers")
    pairs = rows_of(
        containers,
        "a model container",
        lambda g: (g.text("ContainerHostname"), g.text("Image")),
        problems,
        f"{name} container"[:200],
    )
    pairs = [p for p in pairs if p[1] is not None]  # a model package container names no image
    if top.problem:
        problems.add(top.problem, (name or "DescribeModel")[:200])
        return []
    return [
        reference(
            place,
            "sagemaker_model",
            image=image,
            role="defined",
            arn=arn,
            name=name,
            container=host,
            running=False,
            details="SageMaker model",
        )
        for host, image in pairs
    ]
