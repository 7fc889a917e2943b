"""One account × region: its registry, its repositories, their images and (maybe) manifests.

Every read goes through the table in `reads` and the read policy of `reading.Reader`. The unit's
reads share its `repository_workers` threads, so at most that many calls are in flight per
account × region (ECR's throttling scope).
"""

from __future__ import annotations

import functools
from concurrent.futures import ThreadPoolExecutor

from .. import aws
from . import images as img
from . import reads
from . import repositories as repos
from .consumers import KINDS as CONSUMER_KINDS
from .consumers import steps as consumer_steps
from .fields import Fields, Problems
from .manifests import parse_manifest
from .reading import Reader
from .reads import REPOSITORY, presence

MANIFEST_MODES = ("auto", "always", "never")

# BatchGetImage per-image failure codes → error_kind.
_FAILURE_KINDS = {
    "ImageNotFound": "not_found",
    "UpstreamAccessDenied": "access_denied",
    "UpstreamTooManyRequests": "throttled",
    "UpstreamUnavailable": "server_error",
    "UnsupportedImageType": "unsupported",
}


class Unit(Reader):
    """One account × region: its clients, its error rows, its reads."""

    def __init__(self, account, region: str, sink, recorder, budget):
        super().__init__(sink, recorder, budget, account.account_id, region)
        self.account = account

    def client(self, service: str = "ecr"):
        """A leased client of this account × region (use as a context manager)."""
        return self.account.clients.lease(service, self.region)

    def key(self, row: dict) -> tuple:
        """The key of a registry row (account, region) or a repository row (…, repository name)."""
        name = row.get("repository_name")
        return (self.account_id, self.region) + ((name,) if name is not None else ())

    def run(self, read: reads.Read, row: dict):
        """`read` for the scope `row` (the registry row, or a repository row): (status, answer)."""
        with self.client(read.service) as client:
            return read.run(self, client, row, self.key(row))

    def run_group(self, group: tuple, row: dict) -> None:
        reads.run_group(group, self, self.client, row, self.key(row))

    def list_repositories(self) -> tuple[str, list[dict]]:
        """DescribeRepositories → (status, repository rows); a partial listing keeps its rows."""
        listing = reads.DESCRIBE_REPOSITORIES
        with self.client(listing.service) as client:
            status, listed = self.read(listing.operation, listing.get, client)
        problems = Problems()
        rows = repos.transform_repositories(
            self.account_id, self.region, listed or [], self.account.partition, problems
        )
        if problems:
            self.invalid(reads.DESCRIBE_REPOSITORIES.operation, problems)
            status = "unreadable" if status == "present" else status
        return status, rows


def manifest_decision(
    mode: str, principal_arn: str | None, exclusions_status: str, exclusions
) -> tuple[bool, bool | None, str]:
    """(read manifests?, is_pull_time_excluded, reason) for one account × region.

    BatchGetImage counts as a pull and moves lastRecordedPullTime unless the principal is a
    pull-time update exclusion
    (https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-time-update-exclusions.html).
    A principal found in a listing that could not be read in full is still excluded; not found
    there, it is unknown."""
    excluded = None
    if exclusions_status in ("present", "absent"):
        excluded = aws.is_excluded(principal_arn or "", exclusions or [])
    elif exclusions and aws.is_excluded(principal_arn or "", exclusions):
        excluded = True
    who = principal_arn or "the caller"
    if mode == "never":
        return False, excluded, "read_manifests=never"
    if mode == "always":
        if excluded:
            return True, excluded, "read_manifests=always; principal is excluded from pull-time updates"
        return (
            True,
            excluded,
            (
                "read_manifests=always; principal is not excluded from pull-time updates "
                "(or that could not be checked): lastRecordedPullTime of read images may "
                "have moved"
            ),
        )
    if excluded is None:
        return (
            False,
            None,
            (
                f"ListPullTimeUpdateExclusions was {exclusions_status}: cannot tell whether "
                "reading manifests would update pull times, so they were not read"
            ),
        )
    if excluded:
        return True, True, "principal is excluded from pull-time updates"
    return (
        False,
        False,
        (
            f"{who} is not in ListPullTimeUpdateExclusions: BatchGetImage would update "
            "lastRecordedPullTime, so manifests were not read"
        ),
    )


def collect_unit(account, region: str, opts: dict, sink, recorder, budget) -> dict:
    """Collect one account × region; returns its coverage row."""
    u = Unit(account, region, sink, recorder, budget)
    registry_row = {"account_id": account.account_id, "region": region}
    n_images = 0
    manifests_sent = False
    # The registry reads depend on nothing, so they run beside the repositories' reads instead of
    # before them; only BatchGetImage waits for the manifest decision, which needs
    # ListPullTimeUpdateExclusions — submitted first, so no waiting task can starve it.
    with ThreadPoolExecutor(
        max_workers=max(1, opts["repository_workers"]),
        thread_name_prefix=f"ecr-{account.account_id}-{region}",
    ) as pool:
        seen = pool.submit(u.run, reads.PULL_TIME_EXCLUSIONS, registry_row)

        @functools.cache
        def decision():
            return manifest_decision(opts["read_manifests"], account.principal_arn, *seen.result())

        listed = pool.submit(u.list_repositories)
        registry = [pool.submit(u.run_group, g, registry_row) for g in reads.independent(reads.UNIT)]
        # Consumer kinds (ECS, Lambda, ...): one task each, beside the ECR reads (collect/consumers/).
        consumers = {
            kind: pool.submit(consumer_steps.collect_kind, u, kind, opts)
            for kind in CONSUMER_KINDS
            if kind in opts["consumers"]
        }
        status, repo_rows = listed.result()
        sink.bump("repositories", repositories=len(repo_rows))
        # Each repository's reads are separate tasks (policy, lifecycle policy, tags, and images
        # then manifests), so the unit's workers stay busy to the end instead of idling behind the
        # last few repositories' five-call chains.
        pending, images = [], []
        for row in repo_rows:
            pending += [pool.submit(u.run_group, g, row) for g in reads.independent(REPOSITORY)]
            images.append(pool.submit(repository_images, u, row, lambda: decision()[0]))
        for f in images:
            n, sent = f.result()
            n_images += n
            manifests_sent |= sent
        for f in pending + registry:
            f.result()
        read, excluded, reason = decision()
        sink.add(
            "consumer_coverage",
            [
                consumers[k].result() if k in consumers else consumer_steps.collect_kind(u, k, opts)
                for k in CONSUMER_KINDS
            ],
        )
    sink.add("repositories", repo_rows)
    sink.add("registries", [registry_row])
    if read and not manifests_sent:
        reason += " (no pullable images to read)"
    if status != "present" and not repo_rows:
        unit_status, why = "failed", "repositories could not be listed"
    elif status != "present":
        unit_status, why = "partial", "the repository list could not be read in full"
    elif u.errors:
        unit_status, why = "partial", f"{u.errors} failed reads (see errors)"
    else:
        unit_status, why = "complete", None
    if status != "present" and u.errors:
        why = f"{why}; {u.errors} failed reads (see errors)"
    row = {
        "account_id": account.account_id,
        "region": region,
        "status": unit_status,
        "reason": why,
        "principal_arn": account.principal_arn,
        "is_pull_time_excluded": excluded,
        "manifest_mode": opts["read_manifests"],
        "has_read_manifests": manifests_sent,
        "manifests_reason": reason,
        "repositories": len(repo_rows),
        "images": n_images,
        "errors": u.errors,
    }
    sink.bump("unit_done", about=row, units_done=1)
    return row


def repository_images(u: Unit, row: dict, read_manifests) -> tuple[int, bool]:
    """DescribeImages, then BatchGetImage when `read_manifests()`; returns (images described,
    BatchGetImage sent). Fills the images and manifests statuses of the repository `row`."""
    a, r, name = u.account_id, u.region, row["repository_name"]
    with u.client(reads.DESCRIBE_IMAGES.service) as ecr:
        status, details = u.read(
            reads.DESCRIBE_IMAGES.operation, reads.DESCRIBE_IMAGES.get, ecr, name, repository_name=name
        )
        problems = Problems()
        images, image_tags = img.transform_images(a, r, name, details or [], problems)
        if problems:
            u.invalid(reads.DESCRIBE_IMAGES.operation, problems, name)
            status = "unreadable" if status == "present" else status
        row["images_status"] = presence(status, images)
        edges = img.subject_edges_of(images)
        sent = False
        if not images:
            row["manifests_status"] = "absent" if status == "present" else "unreadable"
        elif not read_manifests():
            row["manifests_status"] = "skipped"
            for i in images:
                i["manifest_status"] = "skipped"
        else:
            sent, layers, manifest_edges = read_manifests_of(u, ecr, name, images)
            edges = manifest_edges + edges  # manifest edges first: they carry media types
            u.sink.add("layers", layers)
            st = {i.get("manifest_status") for i in images}
            row["manifests_status"] = (
                "unreadable"
                if "unreadable" in st
                else "present"
                if st & {"present", "invalid"}
                else "skipped"
            )
    u.sink.add("images", images)
    u.sink.add("image_tags", image_tags)
    u.sink.add("manifest_references", edges)
    u.sink.bump("repository_done", images=len(images))
    return len(images), sent


def read_manifests_of(u: Unit, ecr, name: str, images: list[dict]):
    """BatchGetImage in batches of 100; sets manifest fields on `images` rows (one per digest) in
    place. Returns (BatchGetImage sent, layers rows, manifest edges)."""
    by_digest = {i["image_digest"]: i for i in images}
    wanted = []
    for i in images:
        if i["image_status"] in img.UNPULLABLE:
            i["manifest_status"] = "skipped"
        else:
            wanted.append(i["image_digest"])
    layers, edges, sent = [], [], False
    base = {"account_id": u.account_id, "region": u.region, "repository_name": name}
    problems = Problems()
    for start in range(0, len(wanted), img.BATCH):
        batch = wanted[start : start + img.BATCH]
        sent = True
        _, answer = u.read(
            reads.BATCH_GET_IMAGE.operation, reads.BATCH_GET_IMAGE.get, ecr, name, batch, repository_name=name
        )
        if answer is None:
            for d in batch:
                by_digest[d]["manifest_status"] = "unreadable"
            continue
        got, failures = answer
        answered = set()
        for k, f in enumerate(failures):
            item = Fields(f, "a BatchGetImage failure")
            digest = Fields(item.obj("imageId"), "a failure's imageId").text("imageDigest")
            code, reason = item.text("failureCode") or "Unknown", item.text("failureReason") or ""
            if item.problem:
                problems.add(item.problem, f"failure {k}")
                continue
            u.error("BatchGetImage", code, _FAILURE_KINDS.get(code, "error"), f"{digest}: {reason}", name)
            if digest in by_digest:
                by_digest[digest]["manifest_status"] = "unreadable"
                answered.add(digest)
        for k, m in enumerate(got):
            item = Fields(m, "a BatchGetImage image")
            image_id = Fields(item.obj("imageId"), "an image's imageId")
            digest = image_id.text("imageDigest", required=True)
            media_type = item.text("imageManifestMediaType")
            problem = item.problem or image_id.problem
            if problem is None and digest not in by_digest:
                problem = "a manifest of an image that was not asked for"
            elif problem is None and digest in answered:
                problem = "an image answered twice"
            if problem:
                problems.add(problem, (digest or f"image {k}")[:200])
                continue
            answered.add(digest)
            parsed = parse_manifest(digest, item.item.get("imageManifest"), media_type)
            row = by_digest[digest]
            row["manifest_status"] = parsed.status
            row["manifest_size_bytes"] = parsed.size_bytes
            if parsed.status != "present":
                u.error(
                    "BatchGetImage", "InvalidManifest", "invalid_data", f"{digest}: {parsed.problem}", name
                )
                continue
            row["config_media_type"] = parsed.config_media_type
            row["artifact_type"] = parsed.artifact_type
            layers.extend({**base, **layer} for layer in parsed.layers)
            edges.extend({**base, **edge} for edge in parsed.edges)
        for d in batch:
            if d not in answered:
                by_digest[d]["manifest_status"] = "unreadable"
                u.error(
                    "BatchGetImage",
                    "MissingFromAnswer",
                    "error",
                    f"{d}: neither a manifest nor a failure was returned",
                    name,
                )
    if problems:
        u.invalid(reads.BATCH_GET_IMAGE.operation, problems, name)
    return sent, layers, edges
