"""Seed moto's backends from a `World` (organization through the API, ECR directly).

The organization is created through boto3 (so moto's own bookkeeping, e.g. the
OrganizationAccountAccessRole, is right) with moto's random id generators pinned to the world's
ids. ECR state is written straight into `ecr_backends` (no HTTP): repositories, images (moto
`Image` objects carrying the sandbox metadata), policies, registry settings.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from unittest import mock

import boto3
from moto.ecr.models import Image as MotoImage
from moto.ecr.models import ecr_backends
from moto.iam.exceptions import EntityAlreadyExists
from moto.iam.models import iam_backends
from moto.organizations import utils as org_utils
from moto.organizations.models import organizations_backends

from .. import permissions
from .fidelity import set_image_meta
from .world import World

AUDIT_POLICY_NAME = "ecr-audit-read"


@contextmanager
def _pinned(name: str, value: str):
    with mock.patch.object(org_utils, name, lambda: value):
        yield


def _audit_trust(world: World) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{world.management_account_id}:root"},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
    )


def seed_organization(world: World, session: boto3.Session) -> str:
    """Create the organization, OUs and member accounts; returns the organization id."""
    org = session.client("organizations", region_name="us-east-1")
    org_id = world.organization_id
    with _pinned("make_random_org_id", org_id):
        org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    ou_ids = {}
    for name in world.ous:
        ou_ids[name] = org.create_organizational_unit(ParentId=root_id, Name=name)["OrganizationalUnit"]["Id"]
    backend = organizations_backends[world.management_account_id]["aws"]
    for acct in world.accounts:
        if acct.account_id != world.management_account_id:
            with _pinned("make_random_account_id", acct.account_id):
                org.create_account(AccountName=acct.name, Email=acct.email or f"{acct.name}@example.com")
        if acct.ou:
            org.move_account(
                AccountId=acct.account_id, SourceParentId=root_id, DestinationParentId=ou_ids[acct.ou]
            )
        fake = backend.get_account_by_id(acct.account_id)
        if acct.account_id == world.management_account_id:
            fake.name = acct.name
        # moto has no API to suspend an account; Status is the deprecated twin of State.
        fake.state = acct.state
        fake.status = acct.state if acct.state in ("ACTIVE", "SUSPENDED", "PENDING_CLOSURE") else "SUSPENDED"
        iam = iam_backends[acct.account_id]["aws"]
        try:
            iam.create_role(
                role_name=world.role_name,
                assume_role_policy_document=_audit_trust(world),
                path="/",
                permissions_boundary=None,
                description="read-only ECR audit",
                tags=[],
                max_session_duration="3600",
            )
        except EntityAlreadyExists:
            pass
        # The least-privilege policy the README ships: only it lets the role act when moto's
        # IAM enforcement is on (Org.enforce_iam), so a collection proves the policy suffices.
        iam.put_role_policy(world.role_name, AUDIT_POLICY_NAME, json.dumps(permissions.audit_role_policy()))
    return org_id


def seed_ecr(world: World) -> int:
    """Write every registry of the world into moto's ECR backends; returns images seeded."""
    n = 0
    for acct in world.accounts:
        for reg in acct.registries:
            backend = ecr_backends[acct.account_id][reg.region]
            backend.registry_policy = reg.policy  # bypasses moto's 2-action whitelist
            backend.replication_config = {"rules": [dict(r) for r in reg.replication_rules]}
            for spec in reg.repositories:
                enc = {"encryptionType": spec.encryption_type}
                if spec.kms_key:
                    enc["kmsKey"] = spec.kms_key
                repo = backend.create_repository(
                    repository_name=spec.name,
                    registry_id=None,
                    encryption_config=enc,
                    image_scan_config={"scanOnPush": spec.scan_on_push},
                    image_tag_mutability=spec.tag_mutability,
                    tags=[{"Key": k, "Value": v} for k, v in spec.tags.items()],
                )
                repo.created_at = spec.created_at
                repo.policy = spec.policy
                repo.lifecycle_policy = spec.lifecycle_policy
                repo.sb_lifecycle_evaluated_at = spec.lifecycle_evaluated_at
                n += add_images(repo, acct.account_id, spec.images)
    return n


def add_images(repo, account_id: str, images) -> int:
    """Append world `Image`s to a moto repository object (no HTTP, no validation)."""
    out = repo.images
    for im in images:
        m = im.manifest
        img = MotoImage(account_id, None, m.text, repo.name, m.media_type, m.digest)
        img.image_tags = list(im.tags)
        img.image_tag = im.tags[-1] if im.tags else None
        img.image_pushed_at = int(im.pushed_at.timestamp())
        set_image_meta(
            img,
            size=m.size_bytes,
            pushed_at=im.pushed_at,
            last_pulled_at=im.last_pulled_at,
            status=im.status,
            archived_at=im.last_archived_at,
            activated_at=im.last_activated_at,
            artifact_media_type=m.artifact_media_type,
            subject=m.subject_digest,
        )
        out.append(img)
    return len(images)
