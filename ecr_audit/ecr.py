"""The ECR vocabulary: manifest media types, signature artifacts, the cosign tag scheme, image
roles, finding severities, account ids and ARNs per partition.

One module so that the collector and the analyses name these things the same way (the collector
imports only this, never an analysis module). Sources:
- media types: OCI image spec https://github.com/opencontainers/image-spec/blob/main/media-types.md
  and Docker's manifest v2 schema 2
  https://distribution.github.io/distribution/spec/manifest-v2-2/ (what ECR stores:
  https://docs.aws.amazon.com/AmazonECR/latest/userguide/image-manifest-formats.html)
- cosign tags: https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md
- signature artifact types: cosign (above), Notation (AWS Signer)
  https://github.com/notaryproject/specifications/blob/main/specs/signature-specification.md, sigstore
  bundles https://github.com/sigstore/protobuf-specs/blob/main/protos/sigstore_bundle.proto
- account ids: https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-identifiers.html
- ARNs and partitions: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html; ECR's
  resource type, in the Service Authorization Reference:
  https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerregistry.html
"""

from __future__ import annotations

import re

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

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

# Artifact or config media types of signature artifacts (cosign, Notation/AWS Signer, sigstore bundles).
SIGNATURE_TYPES = (
    "application/vnd.dev.cosign.artifact.sig.v1+json",
    "application/vnd.dev.cosign.simplesigning.v1+json",
    "application/vnd.cncf.notary.signature",
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
)

# -- cosign ---------------------------------------------------------------------------------------
# cosign stores a signature, attestation or SBOM of image sha256:<hex> under the tag
# `sha256-<hex>.sig|.att|.sbom`: the tag names the subject (regex groups `hex` and `suffix`).
# Matched by Arrow's RE2 (`cosign_tags`), where `$` is the end of the tag (no final newline).
COSIGN_TAG = r"^sha256-(?P<hex>[0-9a-f]{64})\.(?P<suffix>sig|att|sbom)$"


def cosign_tags(tags) -> tuple[pa.Array, pa.Array]:
    """The one reading of cosign tags: per tag (Arrow array or Series of str), the subject digest
    it names (`sha256:<hex>`) and its kind (`sig`, `att`, `sbom`); both null for any other tag."""
    arr = pa.array(tags.array if isinstance(tags, pd.Series) else tags, pa.string())
    if not len(arr):
        return arr, arr
    m = pc.extract_regex(arr, COSIGN_TAG)
    subject = pc.binary_join_element_wise("sha256:", pc.struct_field(m, "hex"), "")
    return subject, pc.struct_field(m, "suffix")


# -- image roles ----------------------------------------------------------------------------------
# The role of an image in the manifest graph (`images.classify` decides it; docs/ecr.md#manifest-graph).
IMAGE_ROLES = ("image", "index", "index_child", "attestation", "signature", "referrer", "undetermined")

# -- severities -----------------------------------------------------------------------------------
# Most severe first. Frames hold severities as SEVERITY, an ordered categorical, so sorting by
# severity puts critical first and `min()` is the worst.
SEVERITIES = ("critical", "high", "medium", "low", "info")
SEVERITY = pd.CategoricalDtype(list(SEVERITIES), ordered=True)


def as_severity(values) -> pd.Series:
    """`values` (a Series of text) as SEVERITY; ValueError on text that is not a severity (a cast
    alone would turn it into a silent null)."""
    unknown = values.notna() & ~values.isin(SEVERITIES)
    if unknown.any():
        raise ValueError(f"not a severity: {values[unknown].iloc[0]!r} (one of {', '.join(SEVERITIES)})")
    return values.astype(SEVERITY)


def severity_below(severity: str) -> str:
    """One step less severe, never below low (a narrowing condition does not make a grant harmless);
    info stays info."""
    return severity if severity in ("low", "info") else SEVERITIES[SEVERITIES.index(severity) + 1]


# -- accounts and ARNs --------------------------------------------------------------------------
# ASCII digits only: `\d` and str.isdigit() accept other scripts' digits, and `$` a final newline.
# ACCOUNT_ID_PATTERN is for building larger patterns (ARNs); alone, use `is_account_id`.
ACCOUNT_ID_PATTERN = r"[0-9]{12}"
_ACCOUNT_ID = re.compile(ACCOUNT_ID_PATTERN)
# Commercial, China and GovCloud; ISO partitions (aws-iso, aws-iso-b, ...) follow the same forms.
PARTITIONS = ("aws", "aws-cn", "aws-us-gov")
PARTITION_PATTERN = r"aws(?:-cn|-us-gov|-iso[a-z-]*)?"  # for building larger patterns (ARNs)
_PARTITION = re.compile(PARTITION_PATTERN)


def is_account_id(value) -> bool:
    """`value` is a 12-digit AWS account id given as text (ids may start with 0)."""
    return isinstance(value, str) and _ACCOUNT_ID.fullmatch(value) is not None


def padded_account_ids(values: pd.Series) -> pd.Series:
    """Account ids as text, with the leading zeros that a spreadsheet or CSV reader dropped (it
    read `012345678901` as a number) put back: 1 to 11 ASCII digits are padded to 12."""
    text = values.astype(str).str.strip()
    return text.where(~text.str.fullmatch(r"[0-9]{1,12}"), text.str.zfill(12))


def partition_of(arn) -> str:
    """The partition of an ARN (`arn:aws-us-gov:sts::…` → `aws-us-gov`); `aws` when not an ARN."""
    parts = arn.split(":", 2) if isinstance(arn, str) else []
    if len(parts) == 3 and parts[0] == "arn" and _PARTITION.fullmatch(parts[1]):
        return parts[1]
    return "aws"


def partition_of_snapshot(meta: dict) -> str:
    """The partition a snapshot was collected in: that of its caller's ARN (`inv.meta`)."""
    caller = (meta or {}).get("caller")
    return partition_of(caller.get("arn") if isinstance(caller, dict) else None)


# The ECR builders below take text or a pandas Series of text (then every argument that varies
# per row is a Series) and build by concatenation, so findings build a column of ARNs at once.


def repository_arn(partition, region, account_id, name):
    """`arn:<partition>:ecr:<region>:<account>:repository/<name>`."""
    return "arn:" + partition + ":ecr:" + region + ":" + account_id + ":repository/" + name


def registry_arn(partition, region, account_id):
    """The identifier ecr-audit gives a private registry (one per account × region).

    IAM has no registry resource type (registry-level actions take `*`); this is the form the
    tool's findings use for registry-level resources."""
    return "arn:" + partition + ":ecr:" + region + ":" + account_id + ":registry"


def creation_template_arn(partition, region, account_id, prefix):
    """The identifier ecr-audit gives a repository creation template (its findings' resource)."""
    return (
        "arn:" + partition + ":ecr:" + region + ":" + account_id + ":repository-creation-template/" + prefix
    )


def account_arn(partition, account_id):
    """The identifier ecr-audit gives an account as a whole (findings about no registry):
    `arn:<partition>::<account>:account`."""
    return "arn:" + partition + "::" + account_id + ":account"


def role_arn(partition: str, account_id: str, role_name: str, path: str = "/") -> str:
    """IAM role ARN, e.g. for sts:AssumeRole: `arn:<partition>:iam::<account>:role<path><name>`."""
    return iam_arn(partition, account_id, "role", role_name, path)


def iam_arn(partition: str, account_id: str, kind: str, name: str, path: str = "/") -> str:
    """IAM user or role ARN (`kind` is "user" or "role")."""
    return f"arn:{partition}:iam::{account_id}:{kind}{path}{name}"


__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "ACCOUNT_ID_PATTERN",
    "COSIGN_TAG",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "IMAGE_ROLES",
    "IMAGE_TYPES",
    "INDEX_TYPES",
    "OCI_ARTIFACT",
    "OCI_INDEX",
    "OCI_MANIFEST",
    "PARTITIONS",
    "PARTITION_PATTERN",
    "SEVERITIES",
    "SEVERITY",
    "SIGNATURE_TYPES",
    "account_arn",
    "as_severity",
    "cosign_tags",
    "creation_template_arn",
    "iam_arn",
    "is_account_id",
    "padded_account_ids",
    "partition_of",
    "partition_of_snapshot",
    "registry_arn",
    "repository_arn",
    "role_arn",
    "severity_below",
]
