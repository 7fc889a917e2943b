"""The ECR action catalog and what each action lets a grantee do.

The catalog is every operation in the installed botocore ECR model plus the permission-only
actions that have no API operation (docs/access.md#permission-only-actions). Each action belongs to exactly one class:

- ``pull``   reads image content: the manifest (BatchGetImage) or layer bytes
             (GetDownloadUrlForLayer). Either one is enough to count: a manifest is image
             content, and layer digests of a known image are enough to fetch its layers.
- ``push``   writes content: layer upload, PutImage, ReplicateImage, BatchImportUpstreamImage
             (docs/access.md#action-classes), and CreateRepository (it creates a place to write; it changes
             nothing that exists, so it is not ``manage``).
- ``delete`` removes images or the repository.
- ``manage`` changes policy, lifecycle, settings, tags, storage class, or registry-level
             configuration (replication, pull-through cache, templates, signing, account settings).
- ``read``   metadata only (Describe*/List*/Get* that return no image content).
- ``none``   no effect in a resource policy: ecr:GetAuthorizationToken is registry-wide and only
             honoured from identity policies (ECR docs, repository-policies "Important").

`tests/test_access_actions.py` fails when botocore adds an operation this table does not know,
so a new action is classified deliberately rather than by a guess.
"""

from __future__ import annotations

from functools import lru_cache

from .. import wildcard

CAPABILITIES = ("pull", "push", "delete", "manage")

# Permission-only IAM actions (no API operation) [ECR docs registry-permissions, pull-through-cache-private].
PERMISSION_ONLY = ("ReplicateImage", "BatchImportUpstreamImage", "GetImageCopyStatus")

_CLASSES: dict[str, tuple[str, ...]] = {
    "pull": ("BatchGetImage", "GetDownloadUrlForLayer"),
    "push": (
        "InitiateLayerUpload",
        "UploadLayerPart",
        "CompleteLayerUpload",
        "PutImage",
        "ReplicateImage",
        "BatchImportUpstreamImage",
        "CreateRepository",
    ),
    "delete": ("BatchDeleteImage", "DeleteRepository"),
    "manage": (
        "SetRepositoryPolicy",
        "DeleteRepositoryPolicy",
        "PutLifecyclePolicy",
        "DeleteLifecyclePolicy",
        "PutImageTagMutability",
        "PutImageScanningConfiguration",
        "TagResource",
        "UntagResource",
        "UpdateImageStorageClass",
        "StartImageScan",
        "StartLifecyclePolicyPreview",
        "PutRegistryPolicy",
        "DeleteRegistryPolicy",
        "PutReplicationConfiguration",
        "PutRegistryScanningConfiguration",
        "PutAccountSetting",
        "CreatePullThroughCacheRule",
        "DeletePullThroughCacheRule",
        "UpdatePullThroughCacheRule",
        "CreateRepositoryCreationTemplate",
        "DeleteRepositoryCreationTemplate",
        "UpdateRepositoryCreationTemplate",
        "PutSigningConfiguration",
        "DeleteSigningConfiguration",
        "RegisterPullTimeUpdateExclusion",
        "DeregisterPullTimeUpdateExclusion",
        "StartReplicationBackfill",
        "StopReplicationBackfill",
    ),
    "read": (
        "BatchCheckLayerAvailability",
        "BatchGetRepositoryScanningConfiguration",
        "DescribeImageReplicationStatus",
        "DescribeImageScanFindings",
        "DescribeImageSigningStatus",
        "DescribeImages",
        "DescribePullThroughCacheRules",
        "DescribeRegistry",
        "DescribeReplicationBackfillResults",
        "DescribeRepositories",
        "DescribeRepositoryCreationTemplates",
        "GetAccountSetting",
        "GetLifecyclePolicy",
        "GetLifecyclePolicyPreview",
        "GetRegistryPolicy",
        "GetRegistryScanningConfiguration",
        "GetRepositoryPolicy",
        "GetSigningConfiguration",
        "ListImageReferrers",
        "ListImages",
        "ListPullTimeUpdateExclusions",
        "ListReplicationBackfills",
        "ListTagsForResource",
        "ValidatePullThroughCacheRule",
        "GetImageCopyStatus",
    ),
    "none": ("GetAuthorizationToken",),
}

# Registry policy scope V1 enforces only these actions (docs/access.md#registry-policies-and-their-scope).
REGISTRY_V1_ACTIONS = frozenset(
    {"ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:CreateRepository"}
)


# Listed in resource policies but without effect there (ECR docs, repository-policies "Important").
NO_EFFECT = frozenset({"ecr:GetAuthorizationToken"})


@lru_cache(maxsize=1)
def model_operations() -> tuple[str, ...]:
    """Operation names of the installed botocore ECR model."""
    import botocore.session

    return tuple(botocore.session.get_session().get_service_model("ecr").operation_names)


@lru_cache(maxsize=1)
def all_actions() -> tuple[str, ...]:
    """Every ECR action name, ``ecr:<Name>``: model operations plus permission-only actions."""
    names = dict.fromkeys(model_operations())
    names.update(dict.fromkeys(PERMISSION_ONLY))
    return tuple(f"ecr:{n}" for n in names)


@lru_cache(maxsize=1)
def action_class() -> dict[str, str]:
    """``ecr:<Name>`` -> class. Actions of the model missing from the table are ``unclassified``."""
    table = {f"ecr:{n}": cls for cls, names in _CLASSES.items() for n in names}
    return {a: table.get(a, "unclassified") for a in all_actions()}


def capability_actions(capability: str) -> frozenset[str]:
    return frozenset(a for a, c in action_class().items() if c == capability)


@lru_cache(maxsize=4096)
def match_actions(pattern: str, *, exact: bool = False) -> frozenset[str]:
    """ECR actions an Action/NotAction entry names (`*` any run, `?` one character).

    exact=True is IAM's own matching, what a Deny must satisfy to count: the entry is `*`, or the
    service prefix is `ecr` and the wildcards are in the action name; A-Z equal a-z and nothing
    else; no trimming [IAM docs reference_policies_elements_action: "The prefix and the action name
    are case insensitive"]. exact=False is the wider reading an Allow may take: surrounding
    whitespace ignored, wildcards anywhere, the Unicode look-alikes of ASCII letters folded (what
    str.lower and re.IGNORECASE did). Patterns for other services match nothing either way."""
    if exact:
        if pattern == "*":
            return frozenset(all_actions())
        prefix, sep, name = pattern.partition(":")
        if not sep or wildcard.ascii_lower(prefix) != "ecr":
            return frozenset()
        glob = wildcard.compile(name, case=wildcard.ASCII)
        return frozenset(a for a in all_actions() if glob.match(a[4:]))
    glob = wildcard.compile(pattern.strip(), case=wildcard.LOOSE)
    return frozenset(a for a in all_actions() if glob.match(a))


def capabilities(actions: frozenset[str]) -> dict[str, bool]:
    """can_<capability> for a set of allowed actions."""
    return dict(_capabilities(frozenset(actions)))


@lru_cache(maxsize=8192)
def _capabilities(actions: frozenset[str]) -> tuple:
    cls = action_class()
    present = {cls.get(a) for a in actions}
    return tuple((f"can_{c}", c in present) for c in CAPABILITIES)


@lru_cache(maxsize=8192)
def compact(actions: frozenset[str]) -> str:
    """Short text for a set of actions: `ecr:*` when complete (GetAuthorizationToken aside, it has
    no effect in a resource policy), else sorted names."""
    if not actions:
        return ""
    if set(actions) >= set(all_actions()) - NO_EFFECT:
        return "ecr:*"
    return ", ".join(sorted(actions))
