"""Who pulled, seen from the registry: BatchGetImage events in CloudTrail's event history of the
registry's account × region (docs/consumers.md#cloudtrail).

Off unless named (`--consumers ...,cloudtrail`): LookupEvents answers 2 requests a second per
account and region and 50 events a page, so the listing is paced and stops after MAX_EVENTS
(the newest: the event history is returned newest first). The audit's own BatchGetImage calls
(manifest reads) are left out.
"""

from __future__ import annotations

import json
from datetime import datetime

from ... import aws, ecr
from .. import reading
from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, reference

LOOKUP_INTERVAL_SECONDS = 0.5  # LookupEvents: 2 requests a second per account and region
MAX_EVENTS = 10_000  # 200 pages, at least 100 s of LookupEvents per account × region
PULL = [{"AttributeKey": "EventName", "AttributeValue": "BatchGetImage"}]


def get_pull_events(ct, start: datetime, end: datetime, budget=None, max_events: int = MAX_EVENTS) -> list:
    """BatchGetImage events between `start` and `end`, newest first, at most `max_events`; at
    most one request every LOOKUP_INTERVAL_SECONDS. Each page gets the whole throttle budget
    (`budget.restart()`): the listing is paced to last minutes, its pages are the reads."""
    last: list[float] = []

    def lookup(**params):
        if last:
            wait = last[-1] + LOOKUP_INTERVAL_SECONDS - reading.clock()
            if wait > 0:
                reading.sleep(wait)
        last.append(reading.clock())
        if budget is not None:
            budget.restart()
        return ct.lookup_events(**params)

    return pages(
        lookup,
        "Events",
        token="NextToken",
        max_items=max_events,
        LookupAttributes=PULL,
        StartTime=start,
        EndTime=end,
        MaxResults=50,
    )


def _event(item, i: int, problems: Problems) -> dict | None:
    f = Fields(item, "an event")
    when, text = f.time("EventTime"), f.text("CloudTrailEvent", required=True)
    if f.problem:
        problems.add(f.problem, f"event {i}")
        return None
    try:
        doc = json.loads(text)
    except ValueError:
        problems.add("an event whose CloudTrailEvent is not JSON", f"event {i}")
        return None
    e = Fields(doc, "a CloudTrail event")
    who = Fields(e.obj("userIdentity"), "a userIdentity")
    request = Fields(e.obj("requestParameters"), "requestParameters")
    out = {
        "when": when,
        "source": e.text("eventSource"),
        "region": e.text("awsRegion"),
        "error": e.text("errorCode"),
        "account": who.text("accountId"),
        "arn": who.text("arn"),
        "invoked_by": who.text("invokedBy"),
        "type": who.text("type"),
        "registry": request.text("registryId"),
        "repository": request.text("repositoryName"),
        "ids": [],
    }
    for j, image_id in enumerate(request.items("imageIds")):
        g = Fields(image_id, "an imageId")
        pair = (g.text("imageTag"), g.text("imageDigest"))
        if g.problem:
            problems.add(g.problem, f"event {i} imageId {j}")
        else:
            out["ids"].append(pair)
    problem = e.problem or who.problem or request.problem
    if problem:
        problems.add(problem, f"event {i}")
        return None
    return out


def transform_pulls(
    place: Place, items: list, self_arn: str | None, problems: Problems | None = None
) -> list[dict]:
    """BatchGetImage events → one cloudtrail_pull row per caller × image id (newest pull as
    last_in_use_at, the count and failures in details). Calls by `self_arn`'s role or user (the
    audit itself) are left out."""
    problems = problems_or_strict(problems)
    me = aws.principal_key(self_arn or "")
    partition = ecr.partition_of(self_arn)
    pulls: dict[tuple, dict] = {}
    for i, item in enumerate(items):
        e = _event(item, i, problems)
        if e is None or (e["source"] not in (None, "ecr.amazonaws.com")):
            continue
        if me is not None and e["arn"] and aws.principal_key(e["arn"]) == me:
            continue
        account = e["account"] if ecr.is_account_id(e["account"]) else ""
        caller = e["arn"] or e["invoked_by"] or e["type"] or "unknown caller"
        registry = e["registry"] or place.account_id
        region = e["region"] or place.region
        for tag, digest in e["ids"] or [(None, None)]:
            key = (account, caller, registry, region, e["repository"], tag, digest)
            p = pulls.setdefault(key, {"n": 0, "failed": {}, "newest": None, "oldest": None})
            p["n"] += 1
            if e["error"]:
                p["failed"][e["error"]] = p["failed"].get(e["error"], 0) + 1
            if e["when"] is not None:
                p["newest"] = max(p["newest"] or e["when"], e["when"])
                p["oldest"] = min(p["oldest"] or e["when"], e["when"])
    rows = []
    for (account, caller, registry, region, repository, tag, digest), p in pulls.items():
        image = (
            ecr.image_uri(registry, region, repository, tag=tag, digest=digest, partition=partition)
            if repository
            else None
        )
        failed = ", ".join(f"{n} failed ({code})" for code, n in sorted(p["failed"].items()))
        since = f" since {p['oldest']:%Y-%m-%d}" if p["oldest"] else ""
        rows.append(
            reference(
                place,
                "cloudtrail_pull",
                image=image,
                role="observed",
                arn=caller,
                name=caller.split(":", 5)[-1] if caller.startswith("arn:") else caller,
                running=None,
                last_in_use_at=p["newest"],
                account_id=account or "",
                details=f"{p['n']} BatchGetImage calls{since}" + (f"; {failed}" if failed else ""),
            )
        )
    return rows
