"""Image reads: DescribeImages (every tag and storage status) and BatchGetImage (manifests).

Transforms report the items they cannot understand to their `Problems` (see `fields`); without
one they raise on the first.
"""

from __future__ import annotations

from ..ecr import ACCEPTED_MEDIA_TYPES
from .fields import Fields, Problems, problems_or_strict
from .paging import pages

BATCH = 100  # BatchGetImage imageIds limit
# Archived images cannot be pulled, so asking for their manifests is a known failure
# (https://docs.aws.amazon.com/AmazonECR/latest/userguide/archive_restore_image.html).
UNPULLABLE = frozenset({"ARCHIVED", "ACTIVATING"})


def get_images(ecr, name: str) -> list[dict]:
    # Without imageStatus=ANY only ACTIVE images are listed (DescribeImagesFilter in the API
    # reference: https://docs.aws.amazon.com/AmazonECR/latest/APIReference/API_DescribeImagesFilter.html).
    return pages(
        ecr.describe_images,
        "imageDetails",
        repositoryName=name,
        filter={"tagStatus": "ANY", "imageStatus": "ANY"},
        maxResults=1000,
    )


def get_manifests(ecr, name: str, digests: list[str]) -> tuple[list, list]:
    """One BatchGetImage call for ≤100 digests → (images, failures) as returned."""
    if not digests or len(digests) > BATCH:
        raise ValueError(f"BatchGetImage takes 1-{BATCH} image ids, got {len(digests)}")
    answer = ecr.batch_get_image(
        repositoryName=name,
        imageIds=[{"imageDigest": d} for d in digests],
        acceptedMediaTypes=list(ACCEPTED_MEDIA_TYPES),
    )
    return answer.get("images") or [], answer.get("failures") or []


def transform_images(
    account_id: str, region: str, name: str, details: list, problems: Problems | None = None
) -> tuple[list[dict], list[dict]]:
    """ImageDetail items → (images rows, image_tags rows), one image row per digest.

    An item without a digest, or with a field of the wrong type, is a problem and left out (a
    null there would read as "never pulled" or "untagged"). A digest listed twice is a problem;
    its first item is kept, with the tags of both."""
    problems = problems_or_strict(problems)
    images, by_digest = [], {}
    for i, d in enumerate(details):
        f = Fields(d, "an image")
        digest = f.text("imageDigest", required=True)
        row = {
            "account_id": account_id,
            "region": region,
            "repository_name": name,
            "image_digest": digest,
            "tags": f.texts("imageTags"),
            "pushed_at": f.time("imagePushedAt"),
            "last_pulled_at": f.time("lastRecordedPullTime"),
            "size_bytes": f.count("imageSizeInBytes"),
            "manifest_media_type": f.text("imageManifestMediaType"),
            "artifact_media_type": f.text("artifactMediaType"),
            "image_status": f.text("imageStatus"),
            "subject_digest": f.text("subjectManifestDigest"),
            "last_archived_at": f.time("lastArchivedAt"),
            "last_activated_at": f.time("lastActivatedAt"),
        }
        scan = Fields(f.obj("imageScanStatus"), "an image's scan status")
        row["scan_status"] = scan.text("status")
        if f.problem or scan.problem:
            problems.add(f.problem or scan.problem, f"item {i}" + (f" ({digest[:80]})" if digest else ""))
            continue
        first = by_digest.get(digest)
        if first is not None:
            problems.add("an image digest listed twice", digest[:200])
            first["tags"] += [t for t in row["tags"] if t not in first["tags"]]
            continue
        by_digest[digest] = row
        images.append(row)
    tags = [
        {
            "account_id": account_id,
            "region": region,
            "repository_name": name,
            "image_digest": row["image_digest"],
            "tag": t,
        }
        for row in images
        for t in row["tags"]
    ]
    return images, tags


def subject_edges(account_id: str, region: str, name: str, details: list) -> list[dict]:
    """referrer_subject edges from DescribeImages subjectManifestDigest (no manifest needed), for
    the items `transform_images` keeps."""
    return subject_edges_of(transform_images(account_id, region, name, details, Problems())[0])


def subject_edges_of(images: list[dict]) -> list[dict]:
    """referrer_subject edges of `transform_images` rows (a self reference is not an edge)."""
    return [
        {
            "account_id": i["account_id"],
            "region": i["region"],
            "repository_name": i["repository_name"],
            "source_digest": i["image_digest"],
            "target_digest": i["subject_digest"],
            "kind": "referrer_subject",
        }
        for i in images
        if i["subject_digest"] and i["subject_digest"] != i["image_digest"]
    ]
