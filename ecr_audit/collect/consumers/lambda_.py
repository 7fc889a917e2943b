"""AWS Lambda consumers: image functions, the versions their aliases reach (weighted aliases
included) and `$LATEST` (docs/consumers.md#lambda).

ListFunctions does not return the image URI: GetFunction is read per version.
"""

from __future__ import annotations

from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, listed, reference

LATEST = "$LATEST"


def get_functions(lam) -> list:
    return pages(lam.list_functions, "Functions", token="Marker", answer_token="NextMarker", MaxItems=50)


def get_aliases(lam, function: str) -> list:
    return pages(
        lam.list_aliases,
        "Aliases",
        token="Marker",
        answer_token="NextMarker",
        FunctionName=function,
        MaxItems=50,
    )


def get_function(lam, function: str, qualifier: str) -> dict:
    return lam.get_function(FunctionName=function, Qualifier=qualifier)


def transform_functions(items: list, problems: Problems | None = None) -> list[str]:
    """ListFunctions → the names of image-packaged functions (PackageType Image)."""
    return listed(
        items,
        "a function",
        "FunctionName",
        problems_or_strict(problems),
        lambda f: f.text("PackageType") == "Image",
    )


def transform_aliases(items: list, problems: Problems | None = None) -> dict[str, list[str]]:
    """ListAliases → version → ["alias live (90%)", ...]: each alias' primary version gets the
    weight the additional versions leave (`RoutingConfig.AdditionalVersionWeights`)."""
    problems = problems_or_strict(problems)
    reached: dict[str, list[str]] = {}
    for i, item in enumerate(items):
        f = Fields(item, "an alias")
        name, version = f.text("Name", required=True), f.text("FunctionVersion", required=True)
        weights = Fields(f.obj("RoutingConfig"), "an alias routing config").obj("AdditionalVersionWeights")
        extra = {}
        for v, w in weights.items():
            if isinstance(v, str) and isinstance(w, (int, float)) and not isinstance(w, bool) and 0 <= w <= 1:
                extra[v] = float(w)
            else:
                problems.add("an alias weight that is not a version and a share of 0 to 1", f"alias {name}")
        if f.problem:
            problems.add(f.problem, f"item {i}")
            continue
        primary = 1.0 - sum(extra.values())
        reached.setdefault(version, []).append(_share(name, primary, bool(extra)))
        for v, w in extra.items():
            reached.setdefault(v, []).append(_share(name, w, True))
    return reached


def _share(alias: str, weight: float, weighted: bool) -> str:
    return f"alias {alias} ({weight:.0%})" if weighted else f"alias {alias}"


def transform_function(
    place: Place, name: str, version: str, answer: dict, aliases: list[str], problems: Problems | None = None
) -> list[dict]:
    """GetFunction of one version → its consumer row (none for a function that is not an image)."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a GetFunction answer")
    code = Fields(top.obj("Code"), "a function's Code")
    config = Fields(top.obj("Configuration"), "a function's Configuration")
    image, resolved = code.text("ImageUri"), code.text("ResolvedImageUri")
    arn, state_reason = config.text("FunctionArn"), config.text("StateReasonCode")
    update_reason = config.text("LastUpdateStatusReasonCode")
    problem = top.problem or code.problem or config.problem
    if problem:
        problems.add(problem, f"{name}:{version}"[:200])
        return []
    if image is None:
        return []
    if arn and not arn.endswith(f":{version}") and version != LATEST:
        arn = f"{arn}:{version}"
    notes = list(aliases) or ([f"{LATEST} (no alias)"] if version == LATEST else [])
    # The image was deleted under the function: it cannot be updated or published again
    # (docs/consumers.md#lambda).
    for reason in {state_reason, update_reason} - {None}:
        if reason == "ImageDeleted" or reason.startswith("Image"):
            notes.append(f"Lambda reports {reason}")
    return [
        reference(
            place,
            "lambda_version",
            image=image,
            resolved=resolved,
            role="deployed" if aliases else "defined",
            arn=arn,
            name=f"{name}:{version}",
            # A version behind an alias serves traffic; $LATEST may be invoked unqualified: unknown.
            running=True if aliases else None,
            details=", ".join(notes) or None,
        )
    ]
