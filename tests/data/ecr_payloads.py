"""Literal ECR / Organizations payloads for collector tests (shapes as in the botocore models)."""

import hashlib
import json
from datetime import datetime, timezone


def digest_of(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def h(n: int) -> str:
    """A deterministic sha256 digest for blob/child placeholders."""
    return "sha256:" + hashlib.sha256(str(n).encode()).hexdigest()


DOCKER_V2 = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 7023,
            "digest": h(1),
        },
        "layers": [
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 32654, "digest": h(2)},
            {"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip", "size": 16724, "digest": h(3)},
        ],
    },
    indent=3,
)

OCI_AMD64 = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1469, "digest": h(10)},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 3_000_000, "digest": h(11)}
        ],
    }
)
OCI_ARM64 = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 1470, "digest": h(20)},
        "layers": [
            {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "size": 2_900_000, "digest": h(21)}
        ],
    }
)
ATTESTATION = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 167, "digest": h(30)},
        "layers": [
            {
                "mediaType": "application/vnd.in-toto+json",
                "size": 1200,
                "digest": h(31),
                "annotations": {"in-toto.io/predicate-type": "https://slsa.dev/provenance/v0.2"},
            }
        ],
    }
)

# buildx-style OCI index: two platforms and one attestation manifest for amd64.
OCI_INDEX = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": len(OCI_AMD64),
                "digest": digest_of(OCI_AMD64),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": len(OCI_ARM64),
                "digest": digest_of(OCI_ARM64),
                "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"},
            },
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "size": len(ATTESTATION),
                "digest": digest_of(ATTESTATION),
                "platform": {"architecture": "unknown", "os": "unknown"},
                "annotations": {
                    "vnd.docker.reference.digest": digest_of(OCI_AMD64),
                    "vnd.docker.reference.type": "attestation-manifest",
                },
            },
        ],
    }
)

DOCKER_LIST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.list.v2+json",
        "manifests": [
            {
                "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
                "size": len(DOCKER_V2),
                "digest": digest_of(DOCKER_V2),
                "platform": {"architecture": "amd64", "os": "linux"},
            },
        ],
    }
)

# OCI 1.1 referrer (e.g. an SBOM) pointing at the amd64 manifest.
REFERRER = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/spdx+json",
        "config": {
            "mediaType": "application/vnd.oci.empty.v1+json",
            "size": 2,
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
        },
        "layers": [{"mediaType": "application/spdx+json", "size": 5000, "digest": h(40)}],
        "subject": {
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "size": len(OCI_AMD64),
            "digest": digest_of(OCI_AMD64),
        },
    }
)

T0 = datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc)

# DescribeImages imageDetails for one repository holding the index family above.
IMAGE_DETAILS = [
    {
        "registryId": "012345678901",
        "repositoryName": "web",
        "imageDigest": digest_of(OCI_INDEX),
        "imageTags": ["1.0", "latest"],
        "imageSizeInBytes": 3_001_469,
        "imagePushedAt": T0,
        "imageManifestMediaType": "application/vnd.oci.image.index.v1+json",
        "imageStatus": "ACTIVE",
        "lastRecordedPullTime": T0,
    },
    {
        "registryId": "012345678901",
        "repositoryName": "web",
        "imageDigest": digest_of(OCI_AMD64),
        "imageSizeInBytes": 3_001_469,
        "imagePushedAt": T0,
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactMediaType": "application/vnd.oci.image.config.v1+json",
        "imageStatus": "ACTIVE",
    },
    {
        "registryId": "012345678901",
        "repositoryName": "web",
        "imageDigest": digest_of(REFERRER),
        "imageSizeInBytes": 5002,
        "imagePushedAt": T0,
        "subjectManifestDigest": digest_of(OCI_AMD64),
        "imageManifestMediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactMediaType": "application/spdx+json",
        "imageStatus": "ARCHIVED",
        "lastArchivedAt": T0,
    },
]

ORG_ACCOUNT = {
    "Id": "012345678901",
    "Arn": "arn:aws:organizations::123456789012:account/o-abc/012345678901",
    "Email": "a@example.com",
    "Name": "payments",
    "Status": "ACTIVE",
    "State": "ACTIVE",
    "JoinedMethod": "CREATED",
    "JoinedTimestamp": T0,
    "Paths": ["o-abc1234567/r-ab12/ou-ab12-11111111/012345678901/"],
}
SUSPENDED_ACCOUNT = {
    **ORG_ACCOUNT,
    "Id": "000555666777",
    "Name": "legacy",
    "Status": "SUSPENDED",
    "State": "SUSPENDED",
    "Paths": ["o-abc1234567/r-ab12/000555666777/"],
}
