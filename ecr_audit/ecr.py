"""The ECR vocabulary: manifest media types, signature artifacts, the cosign tag scheme, image
roles, finding severities, account ids, ARNs per partition and image URIs.

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
- image URIs: docs/consumers.md#image-references
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


# -- image references ---------------------------------------------------------------------------
# What a consumer (a task definition, a Lambda function, ...) writes to name an ECR image:
# `<account>.dkr.ecr[-fips].<region>.amazonaws.com[.cn]/<repository>[:<tag>][@<digest>]`, or the
# dual-stack host `<account>.dkr-ecr.<region>.on.aws` (docs/consumers.md#image-references).
# Any text must be accepted: image strings come from other teams' task definitions.
MAX_IMAGE_URI = 4096  # far beyond a real reference (repository 256 + tag 128 + digest 71 + host)
_REGION_NAME = r"[a-z]{2}(?:-[a-z]+)+-[0-9]{1,2}"
_REPOSITORY_NAME = r"(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*"
_IMAGE_URI = re.compile(
    r"(?:(?P<account>[0-9]{12})\.dkr\.ecr(?P<fips>-fips)?\.(?P<region>" + _REGION_NAME + r")"
    r"\.amazonaws\.com(?P<cn>\.cn)?"
    r"|(?P<ds_account>[0-9]{12})\.dkr-ecr\.(?P<ds_region>" + _REGION_NAME + r")\.on\.aws)"
    r"/(?P<repository>" + _REPOSITORY_NAME + r")"
    r"(?::(?P<tag>[A-Za-z0-9_.-]{1,128}))?"
    # OCI digest grammar (algorithm:encoded); only sha256 with 64 lowercase hex is an ECR digest.
    r"(?:@(?P<digest>[a-z0-9]+(?:[+._-][a-z0-9]+)*:[A-Za-z0-9=_-]+))?",
    re.ASCII,
)
_SHA256_DIGEST = re.compile(r"sha256:[0-9a-f]{64}", re.ASCII)
_HOST_END = re.compile(r"/", re.ASCII)


@dataclass(frozen=True)
class ImageRef:
    """A private ECR image reference, parsed (`parse_image_uri`).

    `tag` is the tag as written (None when the reference names none); `digest` the written
    digest when it is a sha256 digest ECR can hold (`sha256:` + 64 lowercase hex), else None;
    `digest_text` the text after `@` as written (set also when `digest` is None: another
    algorithm, upper-case hex)."""

    account_id: str
    region: str
    repository_name: str
    tag: str | None
    digest: str | None
    digest_text: str | None
    partition: str
    is_fips: bool = False
    is_dual_stack: bool = False

    @property
    def effective_tag(self) -> str | None:
        """The tag a pull uses: as written, or `latest` when neither tag nor digest is written
        (the Docker default that ECS, Lambda and the other services apply)."""
        if self.tag is not None:
            return self.tag
        return "latest" if self.digest_text is None else None

    @property
    def problem(self) -> str | None:
        """Why a written digest is not used (None when there is none or it is a sha256 digest)."""
        if self.digest_text is None or self.digest is not None:
            return None
        return (
            f"digest {self.digest_text[:80]!r} is not a sha256 digest ECR stores (sha256: + 64 lowercase hex)"
        )


def parse_image_uri(text) -> ImageRef | None:
    """The private ECR image `text` names, or None when it names none (anything that is not text,
    another registry, a malformed reference). Total: never raises, whatever the text."""
    if not isinstance(text, str) or not 0 < len(text) <= MAX_IMAGE_URI:
        return None
    host_end = _HOST_END.search(text)
    if host_end is None or not text[: host_end.start()].isascii():
        return None
    # Host names are case-insensitive; the repository, tag and digest are not.
    m = _IMAGE_URI.fullmatch(text[: host_end.start()].lower() + text[host_end.start() :])
    if m is None:
        return None
    repository = m.group("repository")
    if not 2 <= len(repository) <= 256:  # ECR's repository name length
        return None
    digest_text = m.group("digest")
    digest = digest_text if digest_text and _SHA256_DIGEST.fullmatch(digest_text) else None
    if m.group("ds_account"):
        account, region, fips, china = m.group("ds_account"), m.group("ds_region"), False, False
    else:
        account, region, fips, china = (
            m.group("account"),
            m.group("region"),
            bool(m.group("fips")),
            bool(m.group("cn")),
        )
    if china != region.startswith("cn-"):  # China regions live only under amazonaws.com.cn
        return None
    partition = "aws-cn" if china else "aws-us-gov" if region.startswith("us-gov-") else "aws"
    return ImageRef(
        account_id=account,
        region=region,
        repository_name=repository,
        tag=m.group("tag"),
        digest=digest,
        digest_text=digest_text,
        partition=partition,
        is_fips=fips,
        is_dual_stack=m.group("ds_account") is not None,
    )


def image_uri(
    account_id: str,
    region: str,
    repository_name: str,
    *,
    tag: str | None = None,
    digest: str | None = None,
    partition: str = "aws",
) -> str:
    """`<account>.dkr.ecr.<region>.amazonaws.com[.cn]/<repository>[:tag][@digest]`."""
    suffix = ".cn" if partition == "aws-cn" else ""
    return (
        f"{account_id}.dkr.ecr.{region}.amazonaws.com{suffix}/{repository_name}"
        + (f":{tag}" if tag is not None else "")
        + (f"@{digest}" if digest is not None else "")
    )


__all__ = [
    "ACCEPTED_MEDIA_TYPES",
    "ACCOUNT_ID_PATTERN",
    "COSIGN_TAG",
    "DOCKER_LIST",
    "DOCKER_MANIFEST",
    "IMAGE_ROLES",
    "IMAGE_TYPES",
    "INDEX_TYPES",
    "ImageRef",
    "MAX_IMAGE_URI",
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
    "image_uri",
    "is_account_id",
    "padded_account_ids",
    "parse_image_uri",
    "partition_of",
    "partition_of_snapshot",
    "registry_arn",
    "repository_arn",
    "role_arn",
    "severity_below",
]
