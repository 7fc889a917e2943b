"""Realistic manifest documents (Docker v2, OCI, indexes, attestations, signatures, referrers).

Blobs are never stored: a blob is a digest, a size and a media type derived from a seed string,
so the same seed gives the same blob in every repository (shared base layers). A manifest's
digest is sha256 of its exact bytes, as in ECR. `size_bytes` is what ECR reports as
imageSizeInBytes: config + layers for a manifest, the largest child for an index/list.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
DOCKER_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
OCI_EMPTY = "application/vnd.oci.empty.v1+json"
IN_TOTO = "application/vnd.in-toto+json"
COSIGN_CONFIG = OCI_CONFIG
COSIGN_LAYER = "application/vnd.dev.cosign.simplesigning.v1+json"
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)


def sha256(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Blob:
    digest: str
    size: int
    media_type: str
    kind: str = "layer"  # config | layer

    def descriptor(self) -> dict:
        return {"mediaType": self.media_type, "size": self.size, "digest": self.digest}


def blob(seed: str, size: int | None = None, media_type: str = OCI_LAYER, kind: str = "layer") -> Blob:
    """A blob named by `seed`; size defaults to a deterministic 1–60 MB value from the seed."""
    d = sha256("blob:" + seed)
    if size is None:
        size = 1_000_000 + int(d[7:15], 16) % 59_000_000
    return Blob(d, size, media_type, kind)


def config_blob(seed: str, media_type: str = OCI_CONFIG, size: int | None = None) -> Blob:
    d = sha256("config:" + seed)
    if size is None:
        size = 1_500 + int(d[7:13], 16) % 9_000
    return Blob(d, size, media_type, "config")


@dataclass(frozen=True)
class Child:
    """An entry of an index / manifest list."""

    digest: str
    platform: str  # os/arch[/variant]; unknown/unknown for attestations
    media_type: str
    size: int  # ECR size of the child image
    reference_type: str | None = None  # vnd.docker.reference.type annotation


@dataclass(frozen=True)
class Manifest:
    text: str
    media_type: str
    size_bytes: int
    blobs: tuple[Blob, ...] = ()
    children: tuple[Child, ...] = ()
    config_media_type: str | None = None
    artifact_type: str | None = None
    subject_digest: str | None = None
    digest: str = field(init=False)

    def __post_init__(self):
        object.__setattr__(self, "digest", sha256(self.text))

    @property
    def is_index(self) -> bool:
        return self.media_type in INDEX_TYPES

    @property
    def artifact_media_type(self) -> str | None:
        """What ECR reports as artifactMediaType: the config media type (none for an index)."""
        return self.config_media_type


def _dump(doc: dict) -> str:
    return json.dumps(doc, indent=3, sort_keys=False)


def image_manifest(
    config: Blob,
    layers: list[Blob],
    *,
    docker: bool = False,
    annotations: dict | None = None,
    subject: Manifest | str | None = None,
    artifact_type: str | None = None,
) -> Manifest:
    """A Docker v2 schema 2 (docker=True) or OCI image manifest."""
    media_type = DOCKER_MANIFEST if docker else OCI_MANIFEST
    doc: dict = {"schemaVersion": 2, "mediaType": media_type}
    if artifact_type:
        doc["artifactType"] = artifact_type
    doc["config"] = config.descriptor()
    doc["layers"] = [b.descriptor() for b in layers]
    subject_digest = None
    if subject is not None:
        if isinstance(subject, Manifest):
            doc["subject"] = {
                "mediaType": subject.media_type,
                "size": len(subject.text.encode()),
                "digest": subject.digest,
            }
            subject_digest = subject.digest
        else:
            # A dangling subject: a digest that is not in the repository.
            doc["subject"] = {"mediaType": OCI_MANIFEST, "size": 1234, "digest": subject}
            subject_digest = subject
    if annotations:
        doc["annotations"] = annotations
    size = config.size + sum(b.size for b in layers)
    return Manifest(
        _dump(doc),
        media_type,
        size,
        (config, *layers),
        config_media_type=config.media_type,
        artifact_type=artifact_type,
        subject_digest=subject_digest,
    )


def index(
    children: list[tuple[Manifest, str, dict | None]],
    *,
    docker: bool = False,
    annotations: dict | None = None,
) -> Manifest:
    """An OCI image index (or Docker manifest list) over (manifest, platform, annotations)."""
    media_type = DOCKER_LIST if docker else OCI_INDEX
    entries, kids = [], []
    for m, platform, ann in children:
        os_, arch, *variant = platform.split("/")
        plat = {"architecture": arch, "os": os_}
        if variant:
            plat["variant"] = variant[0]
        e = {"mediaType": m.media_type, "digest": m.digest, "size": len(m.text.encode()), "platform": plat}
        if ann:
            e["annotations"] = ann
        entries.append(e)
        kids.append(
            Child(
                m.digest, platform, m.media_type, m.size_bytes, (ann or {}).get("vnd.docker.reference.type")
            )
        )
    doc: dict = {"schemaVersion": 2, "mediaType": media_type, "manifests": entries}
    if annotations:
        doc["annotations"] = annotations
    size = max((k.size for k in kids), default=0)
    return Manifest(_dump(doc), media_type, size, (), tuple(kids))


def attestation(subject: Manifest, seed: str) -> Manifest:
    """A buildx provenance/SBOM attestation manifest (in-toto layers) for a platform manifest."""
    cfg = config_blob("att:" + seed, OCI_CONFIG, size=241)
    layers = [
        blob(f"att:{seed}:provenance", 1_800 + len(seed), IN_TOTO),
        blob(f"att:{seed}:sbom", 25_000 + 7 * len(seed), IN_TOTO),
    ]
    return image_manifest(cfg, layers)


def buildx_image(
    seed: str,
    base: list[Blob],
    platforms=("linux/amd64", "linux/arm64"),
    app_layers: int = 2,
    docker: bool = False,
    attestations: bool = True,
) -> tuple[Manifest, list[Manifest]]:
    """A buildx multi-platform push: index + one manifest per platform (+ attestation manifests).

    Returns (index, children). `base` layers are shared with every image built on that base;
    the base differs per platform in reality, so the platform name is mixed into the seed.
    """
    entries, children = [], []
    for p in platforms:
        pbase = [blob(f"{b.digest}:{p}", b.size + len(p), b.media_type) for b in base]
        layers = pbase + [blob(f"{seed}:{p}:app{i}") for i in range(app_layers)]
        m = image_manifest(
            config_blob(f"{seed}:{p}", DOCKER_CONFIG if docker else OCI_CONFIG),
            layers if not docker else [_docker_layer(b) for b in layers],
            docker=docker,
        )
        entries.append((m, p, None))
        children.append(m)
    if attestations and not docker:
        for m, p, _ in list(entries):
            a = attestation(m, f"{seed}:{p}")
            entries.append(
                (
                    a,
                    "unknown/unknown",
                    {
                        "vnd.docker.reference.type": "attestation-manifest",
                        "vnd.docker.reference.digest": m.digest,
                    },
                )
            )
            children.append(a)
    return index(entries, docker=docker), children


def _docker_layer(b: Blob) -> Blob:
    return Blob(b.digest, b.size, DOCKER_LAYER, b.kind)


def single_image(seed: str, base: list[Blob], app_layers: int = 2, docker: bool = True) -> Manifest:
    """A single-platform image (the classic `docker push` of a Docker v2 manifest)."""
    layers = list(base) + [blob(f"{seed}:app{i}") for i in range(app_layers)]
    if docker:
        layers = [_docker_layer(b) for b in layers]
    return image_manifest(config_blob(seed, DOCKER_CONFIG if docker else OCI_CONFIG), layers, docker=docker)


def cosign_signature(subject_digest: str, seed: str) -> tuple[Manifest, str]:
    """A cosign (tag scheme) signature manifest and its tag `sha256-<hex>.sig`."""
    payload = blob(f"cosign:{seed}", 233 + len(seed), COSIGN_LAYER)
    m = image_manifest(config_blob(f"cosign:{seed}", COSIGN_CONFIG, size=233), [payload], annotations=None)
    return m, subject_digest.replace(":", "-") + ".sig"


def referrer(
    subject: Manifest | str, seed: str, artifact_type: str = "application/vnd.cncf.notary.signature"
) -> Manifest:
    """An OCI 1.1 referrer (e.g. a Notation signature or SBOM) with a `subject`."""
    cfg = Blob(sha256("{}"), 2, OCI_EMPTY, "config")
    layer = blob(f"referrer:{seed}", 2_000 + len(seed), "application/jose+json")
    return image_manifest(
        cfg,
        [layer],
        subject=subject,
        artifact_type=artifact_type,
        annotations={"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    )
