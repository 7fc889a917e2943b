"""AWS App Runner consumers: services deployed from an ECR image (docs/consumers.md#app-runner)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, listed, reference


def get_services(apprunner) -> list:
    return pages(apprunner.list_services, "ServiceSummaryList", token="NextToken", MaxResults=20)


def get_service(apprunner, arn: str) -> dict:
    return apprunner.describe_service(ServiceArn=arn)


def transform_service_list(items: list, problems: Problems | None = None) -> list[str]:
    """ListServices → the ARNs of services that are not DELETED."""
    return listed(
        items,
        "a service summary",
        "ServiceArn",
        problems_or_strict(problems),
        lambda f: f.text("Status") != "DELETED",
    )


def transform_service(place: Place, answer: dict, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    service = Fields(Fields(answer, "a DescribeService answer").obj("Service"), "a service")
    arn, name, status = service.text("ServiceArn"), service.text("ServiceName"), service.text("Status")
    source = Fields(service.obj("SourceConfiguration"), "a source configuration")
    repo = Fields(source.obj("ImageRepository"), "an image repository")
    image, kind = repo.text("ImageIdentifier"), repo.text("ImageRepositoryType")
    auto = source.flag("AutoDeploymentsEnabled")
    problem = service.problem or source.problem or repo.problem
    if problem:
        problems.add(problem, (arn or "DescribeService")[:200])
        return []
    if image is None:  # built from a source code repository
        return []
    follows = ", deploys every push to the tag" if auto else ""
    return [
        reference(
            place,
            "apprunner_service",
            image=image,
            role="deployed",
            arn=arn,
            name=name,
            running=status == "RUNNING",
            details=f"App Runner service {status or '?'}, {kind or '?'} image{follows}",
        )
    ]
