"""The ECR vocabulary: manifest media types, the cosign tag scheme, account ids and ARNs.

One module so that the collector and the analyses name these things the same way (the collector
imports only this, never an analysis module). Sources:
- media types: OCI image spec https://github.com/opencontainers/image-spec/blob/main/media-types.md
  and Docker's manifest v2 schema 2
  https://distribution.github.io/distribution/spec/manifest-v2-2/ (what ECR stores:
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html)
- cosign tags: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
- account ids: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html
- ARNs and partitions: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html; ECR's
  resource type, in the Service Authorization Reference:
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
"""

from __future__ import annotations

import re

# -- manifest media types ---------------------------------------------------------------------
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_ARTIFACT = "application/vnd.oci.artifact.manifest.v1+json"  # OCI 1.1-rc artifact manifest

IMAGE_TYPES = (DOCKER_MANIFEST, OCI_MANIFEST)
INDEX_TYPES = (DOCKER_LIST, OCI_INDEX)
# What BatchGetImage is asked to return: every type the collector parses. ECR converts or fails
# for anything else (failure code UnsupportedImageType).
ACCEPTED_MEDIA_TYPES = [DOCKER_MANIFEST, DOCKER_LIST, OCI_MANIFEST, OCI_INDEX, OCI_ARTIFACT]

# -- cosign ---------------------------------------------------------------------------------------
# cosign stores a signature, attestation or SBOM of image sha256:<hex> under the tag
# `sha256-<hex>.sig|.att|.sbom`: the tag names the subject (regex groups `hex` and `suffix`).
COSIGN_TAG = r"^sha256-(?P<hex>[0-9a-f]{64})\.(?P<suffix>sig|att|sbom)$"

# -- accounts and ARNs --------------------------------------------------------------------------
# ASCII digits only: `\d` and str.isdigit() accept other scripts' digits, and `$` a final newline.
_ACCOUNT_ID = re.compile(r"[0-9]{12}")
# Commercial, China and GovCloud; ISO partitions (aws-iso, aws-iso-b, ...) follow the same forms.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
_PARTITION = re.compile(r"aws(?:-[a-z]+)*")


def is_account_id(value) -> bool:
    """`value` is a 12-digit AWS account id given as text (ids may start with 0)."""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


def partition_of(arn) -> str:
    """The partition of an ARN (`arn:aws-us-gov:sts::…` → `aws-us-gov`); `aws` when not an ARN."""
    parts = arn.split(":", 2) if isinstance(arn, str) else []
    if len(parts) == 3 and parts[0] == "arn" and _PARTITION.fullmatch(parts[1]):
        return parts[1]
    return "aws"


def repository_arn(partition: str, region: str, account_id: str, name: str) -> str:
    """`arn:<partition>:ecr:<region>:<account>:repository/<name>`."""
    return f"arn:{partition}:ecr:{region}:{account_id}:repository/{name}"


def registry_arn(partition: str, region: str, account_id: str) -> str:
    """The identifier ecr-audit gives a private registry (one per account × region).

    IAM has no registry resource type (registry-level actions take `*`); this is the form the
    tool's findings use for registry-level resources."""
    return f"arn:{partition}:ecr:{region}:{account_id}:registry"


def role_arn(partition: str, account_id: str, role_name: str, path: str = "/") -> str:
    """IAM role ARN, e.g. for sts:AssumeRole: `arn:<partition>:iam::<account>:role<path><name>`."""
    return iam_arn(partition, account_id, "role", role_name, path)


def iam_arn(partition: str, account_id: str, kind: str, name: str, path: str = "/") -> str:
    """IAM user or role ARN (`kind` is "user" or "role")."""
    return f"arn:{partition}:iam::{account_id}:{kind}{path}{name}"
