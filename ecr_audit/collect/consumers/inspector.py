"""Amazon Inspector: which ECR images ECS tasks and EKS pods run now, and where — the path to
EKS workloads without Kubernetes credentials (docs/consumers.md#inspector).

Read where the account has Inspector's ECR scanning on (BatchGetAccountStatus); the images in use
come from ListCoverage (`ecrImageInUseCount` ≥ 1), their clusters from GetClustersForImage.
"""

from __future__ import annotations

import re

from ... import ecr
from ..fields import Fields, Problems, problems_or_strict
from ..paging import pages
from .rows import Place, reference

IN_USE = {
    "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
    "ecrImageInUseCount": [{"lowerInclusive": 1}],
}
# An ECR image's resource id: the pattern of ClusterForImageFilterCriteria.resourceId.
_IMAGE_ID = re.compile(
    rf"arn:(?P<partition>{ecr.PARTITION_PATTERN}):ecr:(?P<region>[a-z0-9-]+):(?P<account>{ecr.ACCOUNT_ID_PATTERN}):"
    r"repository/"
    r"(?P<repository>[a-z0-9._/-]+)/(?P<digest>sha256:[0-9a-f]{64})",
    re.ASCII,
)
_ARN = re.compile(
    rf"arn:[^:]+:(?P<service>[^:]+):(?P<region>[^:]*):(?P<account>{ecr.ACCOUNT_ID_PATTERN}):(?P<resource>.+)",
    re.S,
)


def get_account_status(inspector, account_id: str) -> dict:
    return inspector.batch_get_account_status(accountIds=[account_id])


def get_images_in_use(inspector, account_id: str) -> list:
    """ECR images of `account_id` Inspector counts in use (a delegated administrator would see
    every member's: each account's own are read in that account)."""
    criteria = {**IN_USE, "accountId": [{"comparison": "EQUALS", "value": account_id}]}
    return pages(inspector.list_coverage, "coveredResources", filterCriteria=criteria, maxResults=200)


def get_clusters(inspector, resource_id: str) -> list:
    return pages(
        inspector.get_clusters_for_image, "cluster", filter={"resourceId": resource_id}, maxResults=100
    )


def ecr_status(answer: dict, account_id: str, problems: Problems | None = None) -> tuple[str | None, str]:
    """(ECR scanning status of `account_id` — ENABLED, DISABLED, ... — or None, why)."""
    problems = problems_or_strict(problems)
    top = Fields(answer, "a BatchGetAccountStatus answer")
    for i, item in enumerate(top.items("accounts")):
        f = Fields(item, "an account status")
        if f.text("accountId") != account_id:
            continue
        state = Fields(f.obj("resourceState"), "a resource state")
        ecr_state = Fields(state.obj("ecr"), "the ECR state")
        status = ecr_state.text("status")
        problem = f.problem or state.problem or ecr_state.problem
        if problem or status is None:
            problems.add(problem or "an account status without resourceState.ecr.status", f"account {i}")
            return None, "Inspector's answer could not be understood"
        return status, f"Inspector ECR scanning is {status} in this account and region"
    for item in top.items("failedAccounts"):
        f = Fields(item, "a failed account")
        if f.text("accountId") == account_id:
            code, message = f.text("errorCode"), f.text("errorMessage")
            return None, f"Inspector could not tell its status: {code or '?'} {message or ''}".strip()
    return None, "Inspector did not answer for this account"


def transform_coverage(items: list, problems: Problems | None = None) -> list[dict]:
    """ListCoverage → [{resource_id, account_id, region, repository, digest, partition,
    in_use, last_in_use_at}] for ECR images in use."""
    problems = problems_or_strict(problems)
    out = []
    for i, item in enumerate(items):
        f = Fields(item, "a covered resource")
        resource_id = f.text("resourceId", required=True)
        meta = Fields(Fields(f.obj("resourceMetadata"), "resource metadata").obj("ecrImage"), "ecrImage")
        in_use, last = meta.count("inUseCount"), meta.time("lastInUseAt")
        m = _IMAGE_ID.fullmatch(resource_id or "")
        problem = f.problem or meta.problem
        if problem is None and m is None:
            problem = "a covered resource whose resourceId is not an ECR image ARN"
        if problem:
            problems.add(problem, f"item {i}")
            continue
        if not in_use:
            continue
        out.append(
            {
                "resource_id": resource_id,
                "account_id": m["account"],
                "region": m["region"],
                "repository": m["repository"],
                "digest": m["digest"],
                "partition": m["partition"],
                "in_use": in_use,
                "last_in_use_at": last,
            }
        )
    return out


def image_ref(image: dict) -> str:
    """The image Inspector identifies (a transform_coverage item), as a reference by digest."""
    return ecr.image_uri(
        image["account_id"],
        image["region"],
        image["repository"],
        digest=image["digest"],
        partition=image["partition"],
    )


def _arn_place(arn: str | None) -> tuple[str | None, str | None, str | None]:
    m = _ARN.fullmatch(arn or "")
    return (m["account"], m["region"], m["resource"].rsplit("/", 1)[-1]) if m else (None, None, None)


def transform_clusters(
    place: Place, image: dict, items: list, problems: Problems | None = None
) -> list[dict]:
    """GetClustersForImage → inspector_ecs rows (cluster × task definition) and inspector_eks rows
    (cluster × namespace × workload)."""
    problems = problems_or_strict(problems)
    uri = image_ref(image)
    rows = []
    for i, item in enumerate(items):
        f = Fields(item, "a cluster")
        cluster_arn = f.text("clusterArn", required=True)
        details = f.items("clusterDetails")
        if f.problem:
            problems.add(f.problem, f"cluster {i}")
            continue
        account, region, cluster = _arn_place(cluster_arn)
        for j, d in enumerate(details):
            g = Fields(d, "cluster details")
            last, running, stopped = (
                g.time("lastInUse"),
                g.count("runningUnitCount"),
                g.count("stoppedUnitCount"),
            )
            meta = Fields(g.obj("clusterMetadata"), "cluster metadata")
            ecs = Fields(meta.obj("awsEcsMetadataDetails"), "ECS metadata")
            eks = Fields(meta.obj("awsEksMetadataDetails"), "EKS metadata")
            units = f"{running or 0} running, {stopped or 0} stopped in 24 h"
            common = dict(
                image=uri,
                digest_source="resolved_by_service",
                role="observed",
                running=(running or 0) > 0,
                last_in_use_at=last or image["last_in_use_at"],
                account_id=account,
                region=region,
            )
            found = []
            if meta.obj("awsEcsMetadataDetails"):
                group, task_definition = ecs.text("detailsGroup"), ecs.text("taskDefinitionArn")
                found.append(
                    reference(
                        place,
                        "inspector_ecs",
                        arn=task_definition or cluster_arn,
                        name=f"{cluster}/{group}" if group else cluster,
                        details=f"Inspector: ECS cluster {cluster}, {units}",
                        **common,
                    )
                )
            if meta.obj("awsEksMetadataDetails"):
                namespace = eks.text("namespace")
                for k, w in enumerate(eks.items("workloadInfoList") or [{}]):
                    h = Fields(w, "a workload")
                    workload, kind = h.text("name"), h.text("type")
                    if h.problem:
                        problems.add(h.problem, f"cluster {i} details {j} workload {k}")
                        continue
                    found.append(
                        reference(
                            place,
                            "inspector_eks",
                            arn=cluster_arn,
                            name=f"{namespace}/{workload}" if workload else namespace,
                            details=f"Inspector: EKS cluster {cluster}, {kind or 'workload'}, {units}",
                            **common,
                        )
                    )
            problem = g.problem or meta.problem or ecs.problem or eks.problem
            if problem:
                problems.add(problem, f"cluster {i} details {j}")
                continue
            rows += found
    return rows


def in_use_row(place: Place, image: dict, why: str) -> dict:
    """An image Inspector counts in use whose clusters are not known (`why`)."""
    uri = image_ref(image)
    return reference(
        place,
        "inspector_in_use",
        image=uri,
        digest_source="resolved_by_service",
        role="observed",
        arn=image["resource_id"],
        name=None,
        running=True,
        last_in_use_at=image["last_in_use_at"],
        details=f"Inspector: in use by {image['in_use']} ECS tasks or EKS pods; clusters unknown ({why})",
    )
