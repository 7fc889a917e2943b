"""Pure manifest parsing: one manifest document → layers rows and manifest-graph edges.

Everything here is untrusted input. A manifest that cannot be understood (bad JSON, unknown
media type, a digest that is not sha256 of the bytes, self references, oversized documents)
is reported as `invalid` with a problem text; nothing here raises on bad data.

Edges (docs/ecr.md#manifest-graph), all within one repository:
  index_child          Docker manifest list / OCI index → each listed manifest (with platform)
  attestation_subject  buildx attestation manifest → the platform manifest it describes
                       (index entry annotated vnd.docker.reference.type=attestation-manifest)
  referrer_subject     OCI 1.1 manifest with `subject` → that subject (also from DescribeImages
                       subjectManifestDigest)
  signature_subject    cosign tag `sha256-<hex>.sig|.att|.sbom` → sha256:<hex> (from tags alone)
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field

# The vocabulary lives in ecr.py; the names are re-exported here for the parser's readers.
from .. import ecr
from ..ecr import (
    ACCEPTED_MEDIA_TYPES,
    DOCKER_MANIFEST,  # noqa: F401
    INDEX_TYPES,
    OCI_ARTIFACT,
    OCI_INDEX,
    OCI_MANIFEST,
)

MAX_MANIFEST_BYTES = 4 * 1024 * 1024  # ECR's limit on imageManifest (docs/ecr.md#limits)
MAX_DESCRIPTORS = 10_000  # far beyond any real manifest; guards memory on hostile input

REF_TYPE = "vnd.docker.reference.type"
REF_DIGEST = "vnd.docker.reference.digest"
ATTESTATION = "attestation-manifest"

_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")  # fullmatch: `$` would accept a final newline


@dataclass
class ParsedManifest:
    """What one manifest says. `status` is present | invalid (then `problem` says why)."""

    status: str
    size_bytes: int
    media_type: str | None = None
    config_media_type: str | None = None
    artifact_type: str | None = None
    layers: list[dict] = field(
        default_factory=list
    )  # image_digest, blob_digest, size_bytes, media_type, kind
    edges: list[dict] = field(
        default_factory=list
    )  # source_digest, target_digest, kind, platform, media_type, reference_type
    problem: str | None = None


def _invalid(size: int, problem: str, media_type=None) -> ParsedManifest:
    return ParsedManifest(status="invalid", size_bytes=size, media_type=media_type, problem=problem)


def _platform(p) -> str | None:
    if not isinstance(p, dict):
        return None
    os_, arch = p.get("os"), p.get("architecture")
    if not isinstance(os_, str) or not isinstance(arch, str):
        return None
    variant = p.get("variant")
    return f"{os_}/{arch}/{variant}" if isinstance(variant, str) and variant else f"{os_}/{arch}"


def _descriptor(d, what: str) -> tuple[str, int | None, str | None, dict]:
    """(digest, size, mediaType, annotations) of a descriptor; ValueError when malformed."""
    if not isinstance(d, dict):
        raise ValueError(f"{what} is not an object")
    digest = d.get("digest")
    if not isinstance(digest, str) or not _DIGEST.fullmatch(digest):
        raise ValueError(f"{what} has no valid sha256 digest")
    size = d.get("size")
    if size is not None and (isinstance(size, bool) or not isinstance(size, int) or size < 0):
        raise ValueError(f"{what} has an invalid size")
    media_type = d.get("mediaType")
    if media_type is not None and not isinstance(media_type, str):
        raise ValueError(f"{what} has a non-text mediaType")
    ann = d.get("annotations") or {}
    if not isinstance(ann, dict):
        raise ValueError(f"{what} has invalid annotations")
    return digest, size, media_type, ann


def _descriptors(doc: dict, key: str) -> list:
    items = doc.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        raise ValueError(f"{key} is not a list")
    if len(items) > MAX_DESCRIPTORS:
        raise ValueError(f"{key} lists {len(items)} descriptors (more than {MAX_DESCRIPTORS})")
    return items


def parse_manifest(digest: str, text, media_type: str | None = None) -> ParsedManifest:
    """Parse the manifest `text` of image `digest`.

    `media_type` is BatchGetImage's imageManifestMediaType; the document's own `mediaType`
    wins when both are present and differ only if ours is missing. A document whose sha256 is
    not `digest` is invalid: the bytes are not the image they claim to be.
    """
    if not isinstance(text, str):
        return _invalid(0, "manifest is not text", media_type)
    raw = text.encode("utf-8", "surrogatepass")
    size = len(raw)
    if size > MAX_MANIFEST_BYTES:
        return _invalid(size, f"manifest is {size} bytes (more than ECR's {MAX_MANIFEST_BYTES})", media_type)
    actual = "sha256:" + hashlib.sha256(raw).hexdigest()
    if actual != digest:
        return _invalid(size, f"manifest bytes hash to {actual}, not to the image digest", media_type)
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as e:
        return _invalid(size, f"manifest is not JSON ({type(e).__name__})", media_type)
    if not isinstance(doc, dict):
        return _invalid(size, "manifest is not a JSON object", media_type)
    doc_type = doc.get("mediaType")
    if doc_type is not None and not isinstance(doc_type, str):
        return _invalid(size, "manifest mediaType is not text", media_type)
    mt = doc_type or media_type
    if mt is None:
        # OCI allows omitting mediaType; the shape tells index from image.
        mt = OCI_INDEX if "manifests" in doc else OCI_MANIFEST if "layers" in doc or "config" in doc else None
    if mt not in ACCEPTED_MEDIA_TYPES:
        return _invalid(size, f"unknown manifest media type {str(mt)[:200]!r}", media_type)
    artifact_type = doc.get("artifactType")
    if artifact_type is not None and not isinstance(artifact_type, str):
        return _invalid(size, "artifactType is not text", mt)
    out = ParsedManifest(status="present", size_bytes=size, media_type=mt, artifact_type=artifact_type)
    try:
        if mt in INDEX_TYPES:
            _parse_index(digest, doc, out)
        else:
            _parse_image(digest, doc, out, mt)
        _parse_subject(digest, doc, out)
    except ValueError as e:
        return _invalid(size, str(e), mt)
    return out


def _parse_index(digest: str, doc: dict, out: ParsedManifest) -> None:
    for i, d in enumerate(_descriptors(doc, "manifests")):
        child, _size, child_type, ann = _descriptor(d, f"manifests[{i}]")
        if child == digest:
            raise ValueError("index lists itself")
        ref_type = ann.get(REF_TYPE) if isinstance(ann.get(REF_TYPE), str) else None
        out.edges.append(
            {
                "source_digest": digest,
                "target_digest": child,
                "kind": "index_child",
                "platform": _platform(d.get("platform")),
                "media_type": child_type,
                "reference_type": ref_type,
            }
        )
        if ref_type == ATTESTATION:
            subject = ann.get(REF_DIGEST)
            if not isinstance(subject, str) or not _DIGEST.fullmatch(subject):
                raise ValueError(f"manifests[{i}] is an attestation without a valid {REF_DIGEST}")
            if subject == child:
                raise ValueError(f"manifests[{i}] is an attestation of itself")
            out.edges.append(
                {
                    "source_digest": child,
                    "target_digest": subject,
                    "kind": "attestation_subject",
                    "platform": None,
                    "media_type": child_type,
                    "reference_type": ref_type,
                }
            )


def _parse_image(digest: str, doc: dict, out: ParsedManifest, mt: str) -> None:
    if mt == OCI_ARTIFACT:
        blobs = [("layer", d) for d in _descriptors(doc, "blobs")]
    else:
        config = doc.get("config")
        if config is None:
            raise ValueError("image manifest has no config")
        blobs = [("config", config)] + [("layer", d) for d in _descriptors(doc, "layers")]
    for i, (kind, d) in enumerate(blobs):
        blob, size, blob_type, _ann = _descriptor(d, kind if kind == "config" else f"layers[{i - 1}]")
        if kind == "config":
            out.config_media_type = blob_type
        out.layers.append(
            {
                "image_digest": digest,
                "blob_digest": blob,
                "size_bytes": size,
                "media_type": blob_type,
                "kind": kind,
            }
        )


def _parse_subject(digest: str, doc: dict, out: ParsedManifest) -> None:
    if doc.get("subject") is None:
        return
    subject, _size, subject_type, _ann = _descriptor(doc["subject"], "subject")
    if subject == digest:
        raise ValueError("manifest is its own subject")
    out.edges.append(
        {
            "source_digest": digest,
            "target_digest": subject,
            "kind": "referrer_subject",
            "platform": None,
            "media_type": subject_type,
            "reference_type": None,
        }
    )


def cosign_edges(image_tags):
    """signature_subject edges from cosign tags, vectorized.

    `image_tags`: a frame with account_id, region, repository_name, image_digest, tag.
    Returns manifest_references records as a DataFrame (reference_type cosign:sig|att|sbom).
    """
    import pandas as pd

    cols = [
        "account_id",
        "region",
        "repository_name",
        "source_digest",
        "target_digest",
        "kind",
        "reference_type",
    ]
    if len(image_tags) == 0:
        return pd.DataFrame(columns=cols)
    subject, suffix = ecr.cosign_tags(image_tags["tag"].astype("str"))
    hit = subject.is_valid().to_numpy(zero_copy_only=False)
    t = image_tags.loc[hit]
    out = pd.DataFrame(
        {
            "account_id": t["account_id"],
            "region": t["region"],
            "repository_name": t["repository_name"],
            "source_digest": t["image_digest"],
            "target_digest": pd.Series(
                subject.filter(hit).to_numpy(zero_copy_only=False), index=t.index, dtype="str"
            ),
            "kind": "signature_subject",
            "reference_type": "cosign:"
            + pd.Series(suffix.filter(hit).to_numpy(zero_copy_only=False), index=t.index, dtype="str"),
        }
    )
    # A tag naming its own image is not an edge (self reference).
    return out[out["source_digest"] != out["target_digest"]].reset_index(drop=True)
