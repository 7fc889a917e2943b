"""Corrections to moto 5.2.5 where it differs from Amazon ECR, applied only inside `running()`.

Everything is server side: `BaseResponse.call_action` is wrapped (faults, latency, call counts,
disabled regions, unknown operations) and handler methods are installed on moto's response
classes for the ECR / EC2 operations that moto gets wrong or lacks. `install()` returns an
`uninstall` callable that restores every attribute it replaced.

ECR behaviour emulated (docs/sandbox.md#corrections-to-moto):
- DescribeImages returns artifactMediaType, lastRecordedPullTime (absent when never pulled),
  subjectManifestDigest, imageStatus, lastArchivedAt, lastActivatedAt and the real
  imageSizeInBytes; honours filter.tagStatus and filter.imageStatus (default ACTIVE only).
- DescribeImages / DescribeRepositories / ListImages paginate (default 100, maxResults <= 1000).
- PutImage: digest = sha256 of the manifest bytes (a different imageDigest is refused); moving a
  tag leaves the previous image untagged (moto deleted it).
- BatchGetImage moves lastRecordedPullTime to the sandbox clock unless the calling principal (the
  role behind assumed-role credentials) is a pull-time exclusion of that account × region.
  Archived images are refused per id with failure code ImageInaccessible (they cannot be pulled).
- ListImageReferrers (subject = subjectManifestDigest; ACTIVE by default; page 50),
  ListPullTimeUpdateExclusions, GetAccountSetting, DescribePullThroughCacheRules,
  DescribeRepositoryCreationTemplates, GetSigningConfiguration answer from the world.
- GetLifecyclePolicy reports the world's lastEvaluatedAt (moto: wall-clock now).
- sts:AssumeRole into a SUSPENDED (or otherwise not ACTIVE) account fails with AccessDenied 403.
- Faults (`faults.Faults`): error answers, timeouts, latency, and answers no endpoint should give
  (`add_answer`: cycling page tokens, malformed items) for the collector's hardening tests.
- Consumers (ECS, Lambda, Batch, SageMaker, EMR Serverless corrected; App Runner, Inspector2,
  CloudTrail LookupEvents answered from the world): see `consumers`.
- ec2:DescribeRegions lists the account's world regions (AllRegions adds its disabled opt-in
  regions as not-opted-in); ECR calls into a disabled region fail as AWS does for a region the
  account has not opted into (UnrecognizedClientException, HTTP 400).
- pricing:GetProducts (moto has no Price List service) is answered from a recorded ECR Price List
  (`pricelist`), through the same dispatch: faults, call counts and IAM enforcement apply.
- organizations:ListTargetsForPolicy pages (MaxResults 1..20; moto answers every target at once).
- iam:GetAccountAuthorizationDetails pages across users, groups, roles and policies (MaxItems
  1..1000, default 100, Marker, IsTruncated; moto answers everything in one page), sends policy
  documents URL-encoded and managed policies with their names (moto: a raw trust policy,
  nameless policies), and
  `Faults.short_iam_pages` makes pages shorter than MaxItems, as IAM may.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import warnings
from collections import Counter
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

from moto.core.botocore_stubber import BotocoreStubber
from moto.core.responses import ActionResult, BaseResponse
from moto.ec2.responses.availability_zones_and_regions import AvailabilityZonesAndRegions
from moto.ecr import exceptions as ecr_exc
from moto.ecr.models import Image as MotoImage
from moto.ecr.responses import ECRResponse
from moto.iam.exceptions import ValidationError as IamValidationError
from moto.iam.responses import IamResponse
from moto.organizations.exceptions import InvalidInputException as OrgInvalidInput
from moto.organizations.responses import OrganizationsResponse

from . import consumers, pricelist, state
from . import manifests as mf
from .faults import Faults
from .state import SandboxError, active
from .world import Registry, World

MAX_PAGE = 1000
DEFAULT_PAGE = 100
# Regions that AWS requires an account to opt into (OptInStatus opted-in / not-opted-in).
OPT_IN_REGIONS = {
    "af-south-1",
    "ap-east-1",
    "ap-south-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-west-1",
    "eu-central-2",
    "eu-south-1",
    "eu-south-2",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
}
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class Runtime:
    """State of one running sandbox that the patched handlers read."""

    def __init__(self, world: World):
        self.world = world
        self.faults = Faults()
        self.calls: Counter = Counter()  # (service, operation, account_id, region) -> n
        self.registries: dict[tuple[str, str], Registry] = {
            (a.account_id, r.region): r for a in world.accounts for r in a.registries
        }
        self.disabled: dict[str, set[str]] = {a.account_id: set(a.disabled_regions) for a in world.accounts}
        self.enabled: dict[str, list[str]] = {a.account_id: a.regions for a in world.accounts}
        self.states: dict[str, str] = {a.account_id: a.state for a in world.accounts}
        self.consumers = consumers.State(world)  # ECS deployments, CloudTrail events (consumers.py)
        self._t0 = time.monotonic()
        self._lock = threading.Lock()

    def now(self) -> datetime:
        """The sandbox clock: World.now plus the time elapsed since the sandbox started."""
        return self.world.now + timedelta(seconds=time.monotonic() - self._t0)

    def exclusions(self, account_id: str, region: str) -> list[str]:
        reg = self.registries.get((account_id, region))
        if reg is None:
            return []
        out = []
        if reg.audit_role_excluded:
            out.append(f"arn:aws:iam::{account_id}:role/{self.world.role_name}")
        out.extend(reg.pull_time_exclusions)
        return out


# ---------------------------------------------------------------------------------------------
# Image metadata kept on moto's Image objects (sb_* attributes)


def set_image_meta(
    img: MotoImage,
    *,
    size: int,
    pushed_at: datetime,
    last_pulled_at=None,
    status="ACTIVE",
    archived_at=None,
    activated_at=None,
    artifact_media_type=None,
    subject=None,
) -> None:
    img.sb_size = size
    img.sb_pushed_at = pushed_at
    img.sb_pulled_at = last_pulled_at
    img.sb_status = status
    img.sb_archived_at = archived_at
    img.sb_activated_at = activated_at
    img.sb_artifact_media_type = artifact_media_type
    img.sb_subject = subject


def meta_from_manifest(text: str, repo_images) -> dict:
    """Size, artifact media type and subject of a manifest pushed at runtime."""
    doc = json.loads(text)
    media = doc.get("mediaType")
    if "manifests" in doc:
        sizes = {i.image_digest: getattr(i, "sb_size", 0) for i in repo_images}
        return {
            "size": max((sizes.get(m.get("digest"), 0) for m in doc["manifests"]), default=0),
            "artifact_media_type": None,
            "subject": None,
            "media_type": media,
        }
    cfg = doc.get("config") or {}
    size = int(cfg.get("size", 0)) + sum(int(layer.get("size", 0)) for layer in doc.get("layers", []))
    return {
        "size": size,
        "artifact_media_type": cfg.get("mediaType"),
        "subject": (doc.get("subject") or {}).get("digest"),
        "media_type": media,
    }


def _detail(img: MotoImage) -> dict:
    d = {
        "registryId": img.registry_id,
        "repositoryName": img.repository_name,
        "imageDigest": img.image_digest,
        "imageSizeInBytes": img.sb_size,
        "imagePushedAt": img.sb_pushed_at,
        "imageManifestMediaType": img.image_manifest_media_type,
        "imageStatus": img.sb_status,
    }
    if img.image_tags:
        d["imageTags"] = list(img.image_tags)
    optional = {
        "artifactMediaType": img.sb_artifact_media_type,
        "lastRecordedPullTime": img.sb_pulled_at,
        "subjectManifestDigest": img.sb_subject,
        "lastArchivedAt": img.sb_archived_at,
        "lastActivatedAt": img.sb_activated_at,
    }
    d.update({k: v for k, v in optional.items() if v is not None})
    return d


def ensure_meta(img: MotoImage, repo) -> None:
    """Give `img` the sandbox's image metadata (size, push time, media types, subject), derived
    from its manifest, when it has none yet."""
    if not hasattr(img, "sb_size"):
        m = meta_from_manifest(img.image_manifest, repo.images)
        set_image_meta(
            img,
            size=m["size"],
            pushed_at=datetime.fromtimestamp(img.image_pushed_at, timezone.utc),
            artifact_media_type=m["artifact_media_type"],
            subject=m["subject"],
        )


# ---------------------------------------------------------------------------------------------
# Pagination like ECR: opaque token, default 100, maxResults 1..1000


def _page(resp: BaseResponse, items: list, default: int = DEFAULT_PAGE) -> tuple[list, str | None]:
    size = resp._get_param("maxResults") or default
    if not 1 <= int(size) <= MAX_PAGE:
        raise ecr_exc.InvalidParameterException(
            f"Invalid parameter at 'maxResults' failed to satisfy constraint: "
            f"'Member must have value less than or equal to {MAX_PAGE}'"
        )
    token = resp._get_param("nextToken")
    start = 0
    if token:
        try:
            start = int(json.loads(base64.b64decode(token))["offset"])
        except Exception:
            raise ecr_exc.InvalidParameterException("Invalid parameter at 'nextToken'") from None
    end = start + int(size)
    nxt = base64.b64encode(json.dumps({"offset": end}).encode()).decode() if end < len(items) else None
    return items[start:end], nxt


def _with_token(body: dict, token: str | None) -> dict:
    if token:
        body["nextToken"] = token
    return body


# ---------------------------------------------------------------------------------------------
# ECR handlers (installed as ECRResponse methods)


def _filtered(resp: BaseResponse, repo) -> list[MotoImage]:
    flt = resp._get_param("filter") or {}
    tag_status = flt.get("tagStatus", "ANY")
    image_status = flt.get("imageStatus", "ACTIVE")  # ECR's default: ACTIVE images only
    out = []
    for img in repo.images:
        ensure_meta(img, repo)
        if tag_status == "TAGGED" and not img.image_tags:
            continue
        if tag_status == "UNTAGGED" and img.image_tags:
            continue
        if image_status != "ANY" and img.sb_status != image_status:
            continue
        out.append(img)
    return out


def describe_images(self) -> ActionResult:
    backend = self.ecr_backend
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    ids = self._get_param("imageIds")
    if ids:
        imgs, seen = [], set()
        for i in ids:
            img = repo._get_image(i.get("imageTag"), i.get("imageDigest"))
            ensure_meta(img, repo)
            if img.image_digest not in seen:
                seen.add(img.image_digest)
                imgs.append(img)
        return ActionResult({"imageDetails": [_detail(i) for i in imgs]})
    page, token = _page(self, _filtered(self, repo))
    return ActionResult(_with_token({"imageDetails": [_detail(i) for i in page]}, token))


def list_images(self) -> ActionResult:
    backend = self.ecr_backend
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    ids = []
    for img in _filtered(self, repo):
        if img.image_tags:
            ids.extend({"imageDigest": img.image_digest, "imageTag": t} for t in img.image_tags)
        else:
            ids.append({"imageDigest": img.image_digest})
    page, token = _page(self, ids)
    return ActionResult(_with_token({"imageIds": page}, token))


def describe_repositories(self) -> ActionResult:
    names = self._get_param("repositoryNames")
    repos = self.ecr_backend.describe_repositories(
        repository_names=names, registry_id=self._get_param("registryId")
    )
    if names:
        return ActionResult({"repositories": repos})
    page, token = _page(self, list(repos))
    return ActionResult(_with_token({"repositories": page}, token))


def put_image(self) -> ActionResult:
    backend = self.ecr_backend
    name = self._get_param("repositoryName")
    if name not in backend.repositories:
        raise ecr_exc.RepositoryNotFoundException(name, backend.account_id)
    repo = backend.repositories[name]
    text = self._get_param("imageManifest")
    tag = self._get_param("imageTag")
    digest = mf.sha256(text)
    given = self._get_param("imageDigest")
    if given and given != digest:
        raise ecr_exc.InvalidParameterException(
            "Invalid parameter at 'imageDigest' failed to satisfy constraint: "
            "'The provided digest does not match the manifest'"
        )
    try:
        m = meta_from_manifest(text, repo.images)
    except ValueError:
        raise ecr_exc.InvalidParameterException(
            "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'"
        ) from None
    media = self._get_param("imageManifestMediaType") or m["media_type"]
    if not media:
        raise ecr_exc.InvalidParameterException(
            "image manifest mediatype not provided in manifest or parameter"
        )
    existing = next((i for i in repo.images if i.image_digest == digest), None)
    holder = next((i for i in repo.images if tag and tag in i.image_tags), None)
    if existing is not None and holder is existing:
        raise ecr_exc.ImageAlreadyExistsException(
            registry_id=repo.registry_id, image_tag=tag, digest=digest, repository_name=name
        )
    if holder is not None and repo.image_tag_mutability.startswith("IMMUTABLE"):
        raise SandboxError(
            "ImageTagAlreadyExistsException",
            f"The image tag '{tag}' already exists in the '{name}' repository "
            f"with registry id '{repo.registry_id}' and cannot be overwritten "
            f"because the repository is immutable.",
        )
    if holder is not None:
        # ECR moves the tag: the previous image stays, untagged (moto deleted it).
        holder.remove_tag(tag)
    if existing is None:
        existing = MotoImage(backend.account_id, tag, text, name, media, digest)
        set_image_meta(
            existing,
            size=m["size"],
            pushed_at=active().now(),
            artifact_media_type=m["artifact_media_type"],
            subject=m["subject"],
        )
        repo.images.append(existing)
    elif tag:
        existing.update_tag(tag)
    body = {
        "registryId": repo.registry_id,
        "repositoryName": name,
        "imageId": {"imageDigest": digest, **({"imageTag": tag} if tag else {})},
        "imageManifest": text,
        "imageManifestMediaType": media,
    }
    return ActionResult({"image": body})


def _principal_arn(resp: BaseResponse) -> str | None:
    """The IAM role (or user) ARN behind the request's access key, when moto issued it."""
    from moto.iam.models import iam_backends

    key = resp.get_access_key()
    iam = iam_backends[resp.current_account]["aws"]
    ak = iam.access_keys.get(key)
    if ak is None:
        # A key moto never issued (the caller's dummy credentials): moto's GetCallerIdentity
        # calls that principal user/moto, so the exclusion check must too.
        return f"arn:aws:iam::{resp.current_account}:user/moto"
    return getattr(ak, "role_arn", None)


def batch_get_image(self) -> ActionResult:
    rt = active()
    backend = self.ecr_backend
    name = self._get_param("repositoryName")
    if name not in backend.repositories:
        raise ecr_exc.RepositoryNotFoundException(name, backend.account_id)
    repo = backend.repositories[name]
    ids = self._get_param("imageIds") or []
    excluded = _principal_arn(self) in set(rt.exclusions(self.current_account, self.region))
    now = rt.now()
    images, failures = [], []
    for iid in ids:
        tag, dig = iid.get("imageTag"), iid.get("imageDigest")
        if not tag and not dig:
            failures.append(
                {
                    "imageId": iid,
                    "failureCode": "MissingDigestAndTag",
                    "failureReason": "Invalid request parameters: both tag and digest cannot be null",
                }
            )
            continue
        found = None
        for img in repo.images:
            if (dig is None or img.image_digest == dig) and (tag is None or tag in img.image_tags):
                found = img
                break
        if found is None:
            holder = tag and any(tag in i.image_tags for i in repo.images)
            code = "ImageTagDoesNotMatchDigest" if (holder and dig) else "ImageNotFound"
            failures.append(
                {"imageId": iid, "failureCode": code, "failureReason": "Requested image not found"}
            )
            continue
        ensure_meta(found, repo)
        if found.sb_status != "ACTIVE":
            failures.append(
                {
                    "imageId": iid,
                    "failureCode": "ImageInaccessible",
                    "failureReason": "The image is archived and cannot be pulled",
                }
            )
            continue
        if not excluded:
            found.sb_pulled_at = now
        images.append(
            {
                "registryId": repo.registry_id,
                "repositoryName": name,
                "imageId": {"imageDigest": found.image_digest, **({"imageTag": tag} if tag else {})},
                "imageManifest": found.image_manifest,
                "imageManifestMediaType": found.image_manifest_media_type,
            }
        )
    # CloudTrail records the call in the registry's account × region, whoever makes it.
    consumers.record_pull(self, name, ids, failed=bool(failures) and not images)
    return ActionResult({"images": images, "failures": failures})


def get_lifecycle_policy(self) -> ActionResult:
    backend = self.ecr_backend
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    if not repo.lifecycle_policy:
        raise ecr_exc.LifecyclePolicyNotFoundException(repo.name, repo.registry_id)
    body = {
        "registryId": repo.registry_id,
        "repositoryName": repo.name,
        "lifecyclePolicyText": repo.lifecycle_policy,
    }
    evaluated = getattr(repo, "sb_lifecycle_evaluated_at", None)
    body["lastEvaluatedAt"] = evaluated or EPOCH  # 1970: never evaluated (as observed on ECR)
    return ActionResult(body)


def _registry(self) -> Registry:
    return active().registries.get((self.current_account, self.region)) or Registry(self.region)


def list_pull_time_update_exclusions(self) -> ActionResult:
    arns = active().exclusions(self.current_account, self.region)
    page, token = _page(self, arns)
    return ActionResult(_with_token({"pullTimeUpdateExclusions": page}, token))


ACCOUNT_SETTINGS = ("BASIC_SCAN_TYPE_VERSION", "REGISTRY_POLICY_SCOPE", "BLOB_MOUNTING")


def get_account_setting(self) -> ActionResult:
    name = self._get_param("name")
    reg = _registry(self)
    values = {
        "BASIC_SCAN_TYPE_VERSION": "AWS_NATIVE",
        "REGISTRY_POLICY_SCOPE": reg.policy_scope,
        "BLOB_MOUNTING": reg.blob_mounting,
    }
    if name not in values:
        raise SandboxError(
            "ValidationException",
            f"1 validation error detected: Value '{name}' at 'name' failed to "
            f"satisfy constraint: Member must satisfy enum value set: {list(values)}",
        )
    return ActionResult({"name": name, "value": values[name]})


def describe_pull_through_cache_rules(self) -> ActionResult:
    reg = _registry(self)
    rules = [{"registryId": self.current_account, **r} for r in reg.pull_through_cache_rules]
    prefixes = self._get_param("ecrRepositoryPrefixes")
    if prefixes:
        missing = set(prefixes) - {r["ecrRepositoryPrefix"] for r in rules}
        if missing:
            raise SandboxError(
                "PullThroughCacheRuleNotFoundException",
                "The pull through cache rule with the given prefix does not exist.",
            )
        rules = [r for r in rules if r["ecrRepositoryPrefix"] in prefixes]
    page, token = _page(self, rules)
    return ActionResult(_with_token({"pullThroughCacheRules": page}, token))


def describe_repository_creation_templates(self) -> ActionResult:
    reg = _registry(self)
    templates = list(reg.creation_templates)
    prefixes = self._get_param("prefixes")
    if prefixes:
        templates = [t for t in templates if t["prefix"] in prefixes]
    page, token = _page(self, templates)
    return ActionResult(
        _with_token({"registryId": self.current_account, "repositoryCreationTemplates": page}, token)
    )


def list_image_referrers(self) -> ActionResult:
    backend = self.ecr_backend
    repo = backend._get_repository(self._get_param("repositoryName"), self._get_param("registryId"))
    subject = (self._get_param("subjectId") or {}).get("imageDigest")
    flt = self._get_param("filter") or {}
    types = flt.get("artifactTypes")
    status = flt.get("artifactStatus", "ACTIVE")
    refs = []
    for img in repo.images:
        ensure_meta(img, repo)
        if img.sb_subject != subject or (status != "ANY" and img.sb_status != status):
            continue
        doc = json.loads(img.image_manifest)
        atype = doc.get("artifactType") or (doc.get("config") or {}).get("mediaType")
        if types and atype not in types:
            continue
        r = {
            "digest": img.image_digest,
            "mediaType": img.image_manifest_media_type,
            "artifactType": atype,
            "size": len(img.image_manifest.encode()),
            "artifactStatus": img.sb_status,
        }
        if doc.get("annotations"):
            r["annotations"] = doc["annotations"]
        refs.append(r)
    page, token = _page(self, refs, default=50)
    return ActionResult(_with_token({"referrers": page}, token))


def get_signing_configuration(self) -> ActionResult:
    raise SandboxError(
        "SigningConfigurationNotFoundException",
        f"No signing configuration found for registry '{self.current_account}'",
    )


ECR_HANDLERS = {
    "describe_images": describe_images,
    "list_images": list_images,
    "describe_repositories": describe_repositories,
    "put_image": put_image,
    "batch_get_image": batch_get_image,
    "get_lifecycle_policy": get_lifecycle_policy,
    "list_pull_time_update_exclusions": list_pull_time_update_exclusions,
    "get_account_setting": get_account_setting,
    "describe_pull_through_cache_rules": describe_pull_through_cache_rules,
    "describe_repository_creation_templates": describe_repository_creation_templates,
    "get_signing_configuration": get_signing_configuration,
    "list_image_referrers": list_image_referrers,
}


def describe_regions(self) -> ActionResult:
    rt = active()
    acct = self.current_account
    if acct not in rt.enabled:
        return _ORIGINALS[(AvailabilityZonesAndRegions, "describe_regions")](self)
    names = self._get_param("RegionNames", []) or []
    all_regions = str(self._get_param("AllRegions", False)).lower() == "true"
    rows = [(r, "opted-in" if r in OPT_IN_REGIONS else "opt-in-not-required") for r in rt.enabled[acct]]
    if all_regions or names:
        rows += [(r, "not-opted-in") for r in sorted(rt.disabled[acct])]
    if names:
        rows = [x for x in rows if x[0] in names]
    return ActionResult(
        {
            "Regions": [
                {"RegionName": r, "Endpoint": f"ec2.{r}.amazonaws.com", "OptInStatus": s} for r, s in rows
            ]
        }
    )


# ---------------------------------------------------------------------------------------------
# Organizations and IAM paging (docs/sandbox.md#organization-policies-and-iam)


def _offset_token(offset: int) -> str:
    return base64.b64encode(json.dumps({"offset": offset}).encode()).decode()


def _offset_of(token: str | None, bad) -> int:
    if not token:
        return 0
    try:
        return int(json.loads(base64.b64decode(token))["offset"])
    except Exception:
        raise bad from None


def list_targets_for_policy(self) -> str:
    """Targets of a policy, MaxResults (1..20) at a time."""
    size = self._get_param("MaxResults") or 20
    if not 1 <= int(size) <= 20:
        raise OrgInvalidInput("You specified an invalid value.")
    targets = self.organizations_backend.list_targets_for_policy(PolicyId=self._get_param("PolicyId"))[
        "Targets"
    ]
    start = _offset_of(self._get_param("NextToken"), OrgInvalidInput("You specified an invalid value."))
    end = start + int(size)
    body = {"Targets": targets[start:end]}
    if end < len(targets):
        body["NextToken"] = _offset_token(end)
    return json.dumps(body)


def _document(text: str) -> str:
    # IAM sends policy documents URL-encoded (RFC 3986); moto sends the trust policy raw.
    return quote(text, safe="")


def _inline(policies: dict[str, str]) -> list[dict]:
    return [{"PolicyName": n, "PolicyDocument": _document(d)} for n, d in policies.items()]


def _attached(entity) -> list[dict]:
    return [{"PolicyName": p.name, "PolicyArn": p.arn} for p in entity.managed_policies.values()]


def _entity(e, kind: str) -> dict:
    """What a UserDetail, GroupDetail and RoleDetail share (`kind`: User | Group | Role)."""
    return {
        "Path": e.path,
        f"{kind}Name": e.name,
        f"{kind}Id": e.id,
        "Arn": e.arn,
        "CreateDate": e.create_date,
        f"{kind}PolicyList": _inline(e.policies),
        "AttachedManagedPolicies": _attached(e),
    }


def _authorization_items(backend, kinds: list[str]) -> list[tuple[str, dict]]:
    """Every entity of the account as GetAccountAuthorizationDetails describes it, in order:
    users, groups, roles, managed policies (AWS managed ones: those the account holds)."""
    everything = not kinds
    items: list[tuple[str, dict]] = []
    if everything or "User" in kinds:
        for u in backend.users.values():
            groups = [g.name for g in backend.get_groups_for_user(u.name)]
            d = {**_entity(u, "User"), "GroupList": groups, "Tags": backend.list_user_tags(u.name)}
            items.append(("UserDetailList", d))
    if everything or "Group" in kinds:
        items += [("GroupDetailList", _entity(g, "Group")) for g in backend.groups.values()]
    if everything or "Role" in kinds:
        for r in backend.roles.values():
            d = {
                **_entity(r, "Role"),
                "AssumeRolePolicyDocument": _document(r.assume_role_policy_document),
                "InstanceProfileList": [],
                "Tags": list(r.tags or []),
            }
            if r.permissions_boundary_arn:
                d["PermissionsBoundary"] = {
                    "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
                    "PermissionsBoundaryArn": r.permissions_boundary_arn,
                }
            items.append(("RoleDetailList", d))
    aws_managed = set(backend.aws_managed_policies)
    boundaries = [r.permissions_boundary_arn for r in backend.roles.values()]
    for policy in backend.managed_policies.values():
        wanted = "AWSManagedPolicy" if policy in aws_managed else "LocalManagedPolicy"
        if not (everything or wanted in kinds):
            continue
        d = {
            "PolicyName": policy.name,
            "PolicyId": policy.id,
            "Arn": policy.arn,
            "Path": policy.path,
            "DefaultVersionId": policy.default_version_id,
            "AttachmentCount": policy.attachment_count,
            "PermissionsBoundaryUsageCount": boundaries.count(policy.arn),
            "IsAttachable": True,
            "CreateDate": policy.create_date,
            "UpdateDate": policy.update_date,
            "PolicyVersionList": [
                {
                    "Document": _document(v.document),
                    "VersionId": v.version_id,
                    "IsDefaultVersion": v.is_default_version,
                    "CreateDate": v.create_date,
                }
                for v in policy.versions
            ],
        }
        items.append(("Policies", d))
    return items


def get_account_authorization_details(self) -> ActionResult:
    """Users, groups, roles and managed policies as IAM describes them (documents URL-encoded,
    policy names, boundary usage counts), MaxItems (1..1000, default 100) at a time, or fewer
    under `Faults.short_iam_pages`."""
    size = int(self._get_param("MaxItems") or 100)
    if not 1 <= size <= 1000:
        raise IamValidationError("Invalid value for MaxItems: must be between 1 and 1000")
    short = active().faults.iam_page_items
    size = min(size, short) if short else size
    items = _authorization_items(self.backend, self._get_param("Filter", []))
    start = _offset_of(self._get_param("Marker"), IamValidationError("Invalid Marker"))
    end = start + size
    body: dict = {key: [] for key in ("UserDetailList", "GroupDetailList", "RoleDetailList", "Policies")}
    for key, x in items[start:end]:
        body[key].append(x)
    body["IsTruncated"] = end < len(items)
    if body["IsTruncated"]:
        body["Marker"] = _offset_token(end)
    return ActionResult(body)


# ---------------------------------------------------------------------------------------------
# Dispatch wrapper: faults, latency, call counts, disabled regions, unknown operations

_ORIGINALS: dict = {}


def _error(resp: BaseResponse, code: str, message: str, status: int):
    with warnings.catch_warnings():
        # moto warns when a code is not an error shape of the service model (e.g. Throttling).
        warnings.simplefilter("ignore")
        s, headers, body = resp.serialized(ActionResult(SandboxError(code, message)))
    headers = dict(headers)
    headers["status"] = status
    return status, headers, body


def _call_action(self):
    rt = state.current()
    orig = _ORIGINALS[(BaseResponse, "call_action")]
    if rt is None:
        return orig(self)
    op = self._get_action()
    service = self.service_name or ""
    account = self.current_account
    region = self.region
    target = account
    if service == "sts" and op == "AssumeRole":
        arn = self._get_param("RoleArn") or ""
        target = arn.split(":")[4] if arn.count(":") >= 5 else account
    try:
        repo = self._get_param("repositoryName") if service == "ecr" else None
    except Exception:
        repo = None
    with rt._lock:
        rt.calls[(service, op, target, region)] += 1
    if rt.faults.latency_seconds:
        time.sleep(rt.faults.latency_seconds)
    fault = rt.faults.match(service, op, target, region, repo)
    if fault is not None:
        if fault.timeout:
            from botocore.exceptions import ReadTimeoutError

            raise ReadTimeoutError(endpoint_url=f"https://{self.headers.get('Host', service)}/")
        if fault.answer is not None:
            return _answer(self, orig, fault.answer)
        return _error(self, fault.code, fault.message_text(), fault.http_status)
    if service == "sts" and op == "AssumeRole" and rt.states.get(target, "ACTIVE") != "ACTIVE":
        # A suspended or closed account cannot be entered.
        return _error(
            self,
            "AccessDenied",
            f"Account {target} is {rt.states[target]}; sts:AssumeRole is not authorized",
            403,
        )
    if service == "ecr" and region in rt.disabled.get(account, ()):
        return _error(
            self, "UnrecognizedClientException", "The security token included in the request is invalid.", 400
        )
    try:
        return orig(self)
    except NotImplementedError:
        # A real endpoint that lacks the operation (see faults.py).
        return _error(self, "UnknownOperationException", f"Unknown operation {op}", 400)


class _Refused(Exception):
    def __init__(self, response):
        self.response = response


def _answer(resp: BaseResponse, orig, build):
    """A 200 JSON answer built by `build(params, real)` (see `Faults.add_answer`)."""
    body = resp.body or b"{}"
    params = json.loads(body) if body else {}

    def real() -> dict:
        status, headers, text = orig(resp)
        if int(status) >= 300:
            raise _Refused((status, headers, text))
        return json.loads(text)

    try:
        doc = build(params, real)
    except _Refused as e:
        return e.response
    headers = {"Content-Type": "application/x-amz-json-1.1", "status": 200}
    return 200, headers, json.dumps(doc, default=str)


def _process_request(self, request):
    """moto's request router, with what moto has no route for answered first: the Price List
    endpoint (`pricelist`), App Runner and two Inspector2 operations (`consumers.dispatch`). One
    router for both: two patches of the same method would each hide the other."""
    if pricelist.URL.match(request.url.split("?")[0]):
        return pricelist.dispatch(request)
    answer = consumers.dispatch(request)
    if answer is not None:
        return answer
    return _ORIGINALS[(BotocoreStubber, "process_request")](self, request)


def install(rt: Runtime):
    """Activate the fidelity patches for `rt`; returns the function that removes them."""
    if state.is_running():
        raise RuntimeError("a sandbox is already running in this process")
    patches = [
        (BaseResponse, "call_action", _call_action),
        (AvailabilityZonesAndRegions, "describe_regions", describe_regions),
        (BotocoreStubber, "process_request", _process_request),
    ]
    patches += [(ECRResponse, name, fn) for name, fn in ECR_HANDLERS.items()]
    patches += [
        (OrganizationsResponse, "list_targets_for_policy", list_targets_for_policy),
        (IamResponse, "get_account_authorization_details", get_account_authorization_details),
    ]
    patches += consumers.patches()  # ECS, Lambda, Batch, SageMaker, EMR Serverless, Inspector2, ...
    missing = object()
    saved = []
    for cls, name, fn in patches:
        saved.append((cls, name, cls.__dict__.get(name, missing)))
        _ORIGINALS[(cls, name)] = getattr(cls, name, None)
        setattr(cls, name, fn)
    state.start(rt)
    release_tasks = consumers.hold_tasks_running()
    consumers.build_routers()

    def uninstall():
        release_tasks()
        for cls, name, old in reversed(saved):
            if old is missing:
                delattr(cls, name)
            else:
                setattr(cls, name, old)
        _ORIGINALS.clear()
        state.stop()

    return uninstall
