"""Image reads: DescribeImages (every tag and storage status) and BatchGetImage (manifests)."""
from __future__ import annotations

from .manifests import ACCEPTED_MEDIA_TYPES

BATCH = 100  # BatchGetImage imageIds limit
# Archived images cannot be pulled (ecr-facts §1.5): asking for their manifests is a known failure.
UNPULLABLE = frozenset({"ARCHIVED", "ACTIVATING"})


def get_images(ecr, name: str) -> list[dict]:
    # Without imageStatus=ANY only ACTIVE images are listed (ecr-facts §0.2).
    images = []
    paginator = ecr.get_paginator("describe_images")
    for page in paginator.paginate(repositoryName=name, filter={"tagStatus": "ANY", "imageStatus": "ANY"},
                                   PaginationConfig={"PageSize": 1000}):
        images.extend(page.get("imageDetails", []))
    return images


def get_manifests(ecr, name: str, digests: list[str]) -> tuple[list[dict], list[dict]]:
    """One BatchGetImage call for ≤100 digests → (images, failures) as returned."""
    if not digests or len(digests) > BATCH:
        raise ValueError(f"BatchGetImage takes 1-{BATCH} image ids, got {len(digests)}")
    answer = ecr.batch_get_image(repositoryName=name, imageIds=[{"imageDigest": d} for d in digests],
                                 acceptedMediaTypes=ACCEPTED_MEDIA_TYPES)
    return answer.get("images", []), answer.get("failures", [])


def transform_images(account_id: str, region: str, name: str, details: list[dict]) -> tuple[list[dict], list[dict]]:
    """ImageDetail dicts → (images rows, image_tags rows)."""
    images, tags = [], []
    for d in details:
        digest = d["imageDigest"]
        image_tags = list(d.get("imageTags") or [])
        images.append({
            "account_id": account_id, "region": region, "repository_name": name, "image_digest": digest,
            "tags": image_tags, "pushed_at": d.get("imagePushedAt"),
            "last_pulled_at": d.get("lastRecordedPullTime"), "size_bytes": d.get("imageSizeInBytes"),
            "manifest_media_type": d.get("imageManifestMediaType"),
            "artifact_media_type": d.get("artifactMediaType"),
            "image_status": d.get("imageStatus"), "subject_digest": d.get("subjectManifestDigest"),
            "last_archived_at": d.get("lastArchivedAt"), "last_activated_at": d.get("lastActivatedAt"),
            "scan_status": (d.get("imageScanStatus") or {}).get("status"),
        })
        tags.extend({"account_id": account_id, "region": region, "repository_name": name,
                     "image_digest": digest, "tag": t} for t in image_tags)
    return images, tags


def subject_edges(account_id: str, region: str, name: str, details: list[dict]) -> list[dict]:
    """referrer_subject edges from DescribeImages subjectManifestDigest (no manifest needed)."""
    return [{"account_id": account_id, "region": region, "repository_name": name,
             "source_digest": d["imageDigest"], "target_digest": d["subjectManifestDigest"],
             "kind": "referrer_subject"}
            for d in details if d.get("subjectManifestDigest") and d["subjectManifestDigest"] != d["imageDigest"]]
