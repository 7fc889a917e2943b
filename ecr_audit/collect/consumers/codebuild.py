"""AWS CodeBuild consumers: projects whose build environment is an image (docs/consumers.md#codebuild)."""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, reference

BATCH = 100  # BatchGetProjects: at most 100 names per call


def get_projects(cb) -> list:
    return pages(cb.list_projects, "projects")


def get_project_details(cb, names: list[str]) -> dict:
    return cb.batch_get_projects(names=names)


def transform_projects(place: Place, answer: dict, problems: Problems | None = None):
    """BatchGetProjects → (consumer rows, names not found)."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a BatchGetProjects answer")
    rows = []
    for i, item in enumerate(top.items("projects")):
        f = Fields(item, "a project")
        arn, name = f.text("arn"), f.text("name", required=True)
        env = Fields(f.obj("environment"), "a build environment")
        image, credentials = env.text("image"), env.text("imagePullCredentialsType")
        if f.problem or env.problem:
            problems.add(f.problem or env.problem, f"project {i}")
            continue
        if image is None:
            continue
        rows.append(
            reference(
                place,
                "codebuild_project",
                image=image,
                role="defined",
                arn=arn,
                name=name,
                running=False,
                details=f"build environment, pulled with {credentials or '?'} credentials",
            )
        )
    missing = top.texts("projectsNotFound")
    return rows, missing
