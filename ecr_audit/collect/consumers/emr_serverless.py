"""Amazon EMR Serverless consumers: applications with a custom image, per application and per
worker type, with the digest EMR resolved (docs/consumers.md#emr-serverless)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, digest_uri, listed, reference

GONE = {"TERMINATED"}


def get_applications(emr) -> list:
    return pages(emr.list_applications, "applications", maxResults=50)


def get_application(emr, application_id: str) -> dict:
    return emr.get_application(applicationId=application_id)


def transform_application_list(items: list, problems: Problems | None = None) -> list[str]:
    """ListApplications → ids of applications not TERMINATED."""
    return listed(
        items,
        "an application summary",
        "id",
        problems_or_strict(problems),
        lambda f: f.text("state") not in GONE,
    )


def transform_application(place: Place, answer: dict, problems: Problems | None = None) -> list[dict]:
    problems = problems_or_strict(problems)
    app = Fields(Fields(answer, "a GetApplication answer").obj("application"), "an application")
    arn, name, state = app.text("arn"), app.text("name"), app.text("state")
    configs = [(None, app.obj("imageConfiguration"))]
    for worker, spec in app.obj("workerTypeSpecifications").items():
        s = Fields(spec, "a worker type specification")
        configs.append((worker, s.obj("imageConfiguration")))
        if s.problem:
            problems.add(s.problem, f"{name} {worker}"[:200])
    pairs = []
    for worker, config in configs:
        if not config:
            continue
        g = Fields(config, "an image configuration")
        pair = (worker, g.text("imageUri", required=True), g.text("resolvedImageDigest"))
        if g.problem:
            problems.add(g.problem, f"{name} {worker or 'application'}"[:200])
        else:
            pairs.append(pair)
    if app.problem:
        problems.add(app.problem, (name or "GetApplication")[:200])
        return []
    return [
        reference(
            place,
            "emr_serverless_application",
            image=image,
            resolved=digest_uri(image, digest) if digest else None,
            role="deployed",
            arn=arn,
            name=name,
            container=worker,
            running=state == "STARTED",
            details=f"application {state or '?'}" + (f", worker type {worker}" if worker else ""),
        )
        for worker, image, digest in pairs
    ]
