"""One row of the `consumers` frame: a consumer's image reference, parsed, with the digest to use.

Every kind's transform builds its rows here, so the URI parsing, the choice of digest and its
source, and the implicit `latest` tag are decided once (docs/consumers.md#the-consumers-frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ... import ecr
from ..fields import Problems, rows_of

MAX_DETAILS = 500  # details is a short human text; the untrusted parts in it are cut


def listed(items: list, what: str, key: str, problems: Problems, keep=None) -> list[str]:
    """The `key` text of each item of a listing (an item without it is a problem), once each;
    `keep(fields)` says which items count (a function's PackageType, a service's status)."""
    pairs = rows_of(items, what, lambda f: (f.text(key, required=True), keep is None or keep(f)), problems)
    return list(dict.fromkeys(name for name, kept in pairs if kept))


@dataclass(frozen=True)
class Place:
    """Where a kind was read: the consumer account × region, and when."""

    account_id: str
    region: str
    observed_at: datetime


def digest_uri(image: str, digest: str) -> str:
    """`image` pinned to `digest` as services report it (`repo@sha256:…`; a tag is dropped)."""
    ref = ecr.parse_image_uri(image)
    if ref is not None:
        return ecr.image_uri(
            ref.account_id, ref.region, ref.repository_name, digest=digest, partition=ref.partition
        )
    base = image.split("@", 1)[0]
    # Drop a tag (a ':' after the last '/'), keep a registry port (a ':' before it).
    if ":" in base.rsplit("/", 1)[-1]:
        base = base.rsplit(":", 1)[0]
    return f"{base}@{digest}"


def reference(
    place: Place,
    kind: str,
    *,
    image: str | None,
    role: str,
    arn: str | None = None,
    name: str | None = None,
    container: str | None = None,
    resolved: str | None = None,
    running: bool | None = None,
    last_in_use_at: datetime | None = None,
    details: str | None = None,
    account_id: str | None = None,
    region: str | None = None,
    digest_source: str | None = None,
) -> dict:
    """A consumers row. `image` is kept as written; `resolved` is the reference the service
    resolved (a URI pinned by digest). `account_id` / `region` override the place's (a cluster
    Inspector saw in another account). `digest_source="resolved_by_service"` says the digest
    written in `image` was found by an observer (Inspector), not written by the consumer."""
    written = ecr.parse_image_uri(image)
    found = ecr.parse_image_uri(resolved)
    ref = written or found
    notes = [details] if details else []
    if written is not None and written.problem:
        notes.append(written.problem)
    digest, source = None, "none"
    if written is not None and written.digest:
        digest, source = written.digest, digest_source or "written"
    elif found is not None and found.digest:
        digest, source = found.digest, "resolved_by_service"
    tag = written.effective_tag if written is not None else (found.tag if found is not None else None)
    if written is not None and written.tag is None and tag == "latest":
        notes.append("no tag written: latest")
    text = "; ".join(notes)
    return {
        "consumer_account_id": place.account_id if account_id is None else account_id,
        "consumer_region": place.region if region is None else region,
        "consumer_kind": kind,
        "consumer_arn": arn,
        "consumer_name": name,
        "container_name": container,
        "reference_role": role,
        "image_uri": image,
        "resolved_uri": resolved,
        "is_ecr_private": ref is not None,
        "account_id": ref.account_id if ref else None,
        "region": ref.region if ref else None,
        "repository_name": ref.repository_name if ref else None,
        "image_tag": tag,
        "image_digest": digest,
        "digest_source": source,
        "is_running": running,
        "observed_at": place.observed_at,
        "last_in_use_at": last_in_use_at,
        "details": (text[: MAX_DETAILS - 1] + "…") if len(text) > MAX_DETAILS else (text or None),
    }
