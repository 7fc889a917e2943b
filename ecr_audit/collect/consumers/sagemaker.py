"""Amazon SageMaker consumers: endpoints (the images each variant deployed, resolved to a digest)
and models (docs/consumers.md#sagemaker)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, reference


def get_endpoints(sm) -> list:
    return pages(sm.list_endpoints, "Endpoints", token="NextToken", MaxResults=100)


def get_endpoint(sm, name: str) -> dict:
    return sm.describe_endpoint(EndpointName=name)


def get_models(sm) -> list:
    return pages(sm.list_models, "Models", token="NextToken", MaxResults=100)


def get_model(sm, name: str) -> dict:
    return sm.describe_model(ModelName=name)


def names(items: list, key: str, what: str, problems: Problems | None = None) -> list[str]:
    problems = problems_or_strict(problems)
    out = []
    for i, item in enumerate(items):
        f = Fields(item, what)
        name = f.text(key, required=True)
        if f.problem:
            problems.add(f.problem, f"item {i}")
        else:
            out.append(name)
    return list(dict.fromkeys(out))


def transform_endpoint(place: Place, answer: dict, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    top = Fields(answer, "a DescribeEndpoint answer")
    arn, name, status = top.text("EndpointArn"), top.text("EndpointName"), top.text("EndpointStatus")
    rows = []
    for key in ("ProductionVariants", "ShadowProductionVariants"):
        for i, variant in enumerate(top.items(key)):
            v = Fields(variant, "a production variant")
            variant_name = v.text("VariantName")
            images = []
            for j, d in enumerate(v.items("DeployedImages")):
                g = Fields(d, "a deployed image")
                image = (g.text("SpecifiedImage"), g.text("ResolvedImage"), g.time("ResolutionTime"))
                if g.problem:
                    problems.add(g.problem, f"{name} {key} {i} image {j}"[:200])
                else:
                    images.append(image)
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
    pairs = []
    for j, c in enumerate(containers):
        g = Fields(c, "a model container")
        pair = (g.text("ContainerHostname"), g.text("Image"))
        if g.problem:
            problems.add(g.problem, f"{name} container {j}"[:200])
        elif pair[1] is not None:  # a model package container names no image
            pairs.append(pair)
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
