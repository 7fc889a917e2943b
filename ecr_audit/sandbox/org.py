"""`running(world)`: the simulated organization, live inside moto's in-process mock."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager

import boto3
import pandas as pd
from moto.core.models import MockAWS
from moto.ecr.models import ecr_backends

from .. import schema
from . import build, fidelity, isolation
from . import running as sandbox_state
from .faults import Faults
from .sessions import sandbox_session
from .world import World


class Org:
    """Handle on a running sandbox (see `running`)."""

    def __init__(self, world: World, runtime: fidelity.Runtime, organization_id: str, images_seeded: int):
        self.world = world
        self._rt = runtime
        self.organization_id = organization_id
        self.images_seeded = images_seeded

    @property
    def management_account_id(self) -> str:
        return self.world.management_account_id

    @property
    def account_ids(self) -> list[str]:
        """Every account in the organization, whatever its state."""
        return [a.account_id for a in self.world.accounts]

    @property
    def role_name(self) -> str:
        return self.world.role_name

    @property
    def faults(self) -> Faults:
        return self._rt.faults

    @property
    def calls(self):
        """Counter of requests served: (service, operation, account_id, region) -> n."""
        return self._rt.calls

    def now(self):
        """The sandbox clock (World.now plus elapsed time): what BatchGetImage records."""
        return self._rt.now()

    def session(self, region: str | None = None) -> boto3.Session:
        """A boto3 session for the management (caller) account."""
        region = region or (self.world.account(self.management_account_id).regions or ["us-east-1"])[0]
        return sandbox_session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
        )

    def role_arn(self, account_id: str) -> str:
        return f"arn:aws:iam::{account_id}:role/{self.role_name}"

    # ---- IAM enforcement ---------------------------------------------------------------------
    def iam_user_session(
        self, policy: dict, user_name: str = "ecr-audit-caller", region: str = "us-east-1"
    ) -> boto3.Session:
        """A session for a new IAM user of the management account holding only `policy`.

        moto only authorizes principals it issued keys to (the dummy "testing" key is refused
        once enforcement is on), so a caller under `enforce_iam` must be such a user.
        """
        from moto.iam.models import iam_backends

        iam = iam_backends[self.management_account_id]["aws"]
        iam.create_user(None, user_name, "/", [])
        iam.put_user_policy(user_name, "policy", json.dumps(policy))
        key = iam.create_access_key(user_name)
        return sandbox_session(
            aws_access_key_id=key.access_key_id,
            aws_secret_access_key=key.secret_access_key,
            region_name=region,
        )

    def set_audit_role_policy(self, policy: dict) -> None:
        """Replace the inline policy of the audit role in every account."""
        from moto.iam.models import iam_backends

        for a in self.account_ids:
            iam_backends[a]["aws"].put_role_policy(
                self.role_name, build.AUDIT_POLICY_NAME, json.dumps(policy)
            )

    @contextmanager
    def enforce_iam(self):
        """Inside: moto checks every request's signature and identity policies (docs/sandbox.md#iam-enforcement).

        What moto evaluates: the caller's IAM user policies and the assumed role's policies
        (Allow/Deny on Action; Resource only as the service reports it — "*" for ECR, EC2 and
        Organizations). Not evaluated: SCPs, permission boundaries, resource policies, session
        policies, and the trust policy of a role in another account.
        """
        from moto.core.authorization import enable_iam_authentication

        with enable_iam_authentication():
            yield

    def minted_credentials(self) -> list[dict]:
        """Every credential sts:AssumeRole has issued in the sandbox (to check none leaks)."""
        from moto.sts.models import sts_backends

        out = []
        for a in self.account_ids:
            for r in sts_backends[a]["aws"].assumed_roles:
                out.append(
                    {
                        "account_id": a,
                        "access_key_id": r.access_key_id,
                        "secret_access_key": r.secret_access_key,
                        "session_token": r.session_token,
                    }
                )
        return out

    # ---- ground truth, read from the backends (not through the API) -------------------------
    def _images(self):
        for acct in self.world.accounts:
            for reg in acct.regions:
                backend = ecr_backends[acct.account_id][reg]
                for repo in backend.repositories.values():
                    for img in repo.images:
                        fidelity.ensure_meta(img, repo)
                        yield acct.account_id, reg, repo, img

    def expected_images(self) -> pd.DataFrame:
        """Every image (any status) as the `images` frame holds it, manifest columns left null."""
        rows = [
            {
                "account_id": a,
                "region": r,
                "repository_name": repo.name,
                "image_digest": img.image_digest,
                "tags": list(img.image_tags),
                "pushed_at": img.sb_pushed_at,
                "last_pulled_at": img.sb_pulled_at,
                "size_bytes": img.sb_size,
                "manifest_media_type": img.image_manifest_media_type,
                "artifact_media_type": img.sb_artifact_media_type,
                "image_status": img.sb_status,
                "subject_digest": img.sb_subject,
                "last_archived_at": img.sb_archived_at,
                "last_activated_at": img.sb_activated_at,
            }
            for a, r, repo, img in self._images()
        ]
        return schema.conform("images", rows)

    def expected_blobs(self) -> pd.DataFrame:
        """Distinct blobs (config and layers) per repository with their sizes."""
        rows, seen = [], set()
        for a, r, repo, img in self._images():
            doc = json.loads(img.image_manifest)
            parts = ([("config", doc["config"])] if "config" in doc else []) + [
                ("layer", d) for d in doc.get("layers", [])
            ]
            for kind, d in parts:
                key = (a, r, repo.name, d["digest"])
                if key not in seen:
                    seen.add(key)
                    rows.append(
                        {
                            "account_id": a,
                            "region": r,
                            "repository_name": repo.name,
                            "blob_digest": d["digest"],
                            "size_bytes": int(d["size"]),
                            "media_type": d.get("mediaType"),
                            "kind": kind,
                        }
                    )
        cols = ["account_id", "region", "repository_name", "blob_digest", "size_bytes", "media_type", "kind"]
        df = pd.DataFrame(rows, columns=cols)
        df["size_bytes"] = df["size_bytes"].astype("Int64")
        for c in ("account_id", "region", "repository_name", "blob_digest", "media_type", "kind"):
            df[c] = df[c].astype("str")
        return df

    def pull_times(self) -> pd.DataFrame:
        """Current lastRecordedPullTime per image (null: never pulled)."""
        rows = [
            {
                "account_id": a,
                "region": r,
                "repository_name": repo.name,
                "image_digest": img.image_digest,
                "last_pulled_at": img.sb_pulled_at,
            }
            for a, r, repo, img in self._images()
        ]
        df = pd.DataFrame(
            rows, columns=["account_id", "region", "repository_name", "image_digest", "last_pulled_at"]
        )
        for c in ("account_id", "region", "repository_name", "image_digest"):
            df[c] = df[c].astype("str")
        df["last_pulled_at"] = pd.to_datetime(df["last_pulled_at"], utc=True).astype(schema.TIME)
        return df


@contextmanager
def running(world: World) -> Iterator[Org]:
    """Run `world` in moto's in-process mock with the fidelity patches; yields an `Org`.

    Nothing leaves the process (`isolation`): settings that could route a request elsewhere
    (`AWS_ENDPOINT_URL*`, the AWS config files, profiles, proxies, FIPS / dual-stack) are
    hidden and any network connection is refused until exit; dummy credentials are set where
    none are. Refuses MOTO_ACCOUNT_ID (it overrides moto's per-account routing). moto's server
    and proxy modes (TEST_SERVER_MODE, TEST_PROXY_MODE) are not used: the mock is always
    in-process, with no passthrough. Everything is restored on exit.
    """
    if "MOTO_ACCOUNT_ID" in os.environ:
        raise RuntimeError(
            "MOTO_ACCOUNT_ID is set: it would route every account's calls to one "
            "account; unset it to run the sandbox"
        )
    if sandbox_state.is_running():
        raise RuntimeError("a sandbox is already running in this process (moto state is global)")
    # MockAWS itself, not mock_aws(): the latter becomes a client of a moto server on localhost
    # when TEST_SERVER_MODE or TEST_PROXY_MODE is set.
    mock = MockAWS(
        {
            "core": {
                "mock_credentials": True,
                "reset_boto3_session": True,
                "passthrough": {"urls": [], "services": []},
                "service_whitelist": None,
            }
        }
    )
    uninstall = None
    with isolation.isolated():
        try:
            mock.start()
            rt = fidelity.Runtime(world)
            uninstall = fidelity.install(rt)
            org_id = build.seed_organization(
                world,
                boto3.Session(
                    aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
                ),
            )
            build.seed_identities(world)
            n = build.seed_ecr(world)
            build.seed_consumers(world, rt.consumers)
            yield Org(world, rt, org_id, n)
        finally:
            if uninstall is not None:
                uninstall()
            mock.stop()
