"""AWS sessions and clients for the collector, and the principal ARNs it compares.

Nothing here runs at import time. Clients are made once per account × service × region and
shared by threads (botocore clients are thread-safe; boto3 sessions are not, so clients are
created under a lock). Every new client is handed to the `instrument` callback of its `Clients`
(the collector counts calls and bounds throttling retries there: `collect.reading`).

Retry decision: botocore `standard` mode, max_attempts 10 — botocore counts retries there, so
one call is up to 11 requests (measured in tests/test_reliability_faults.py). Standard mode
retries ThrottlingException, 429 and 5xx with full-jitter exponential backoff (≤20 s per wait;
https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html), so a storm of
dozens of throttles spread over a unit's calls is absorbed. `adaptive` adds a client-side token
bucket per client, but the SDK guide calls it experimental and it was not needed. How long one
persistently throttled call may take in all is the collector's throttle budget
(`collect.reading`), after which it is an errors row (error_kind throttled).
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager

import boto3
import botocore.session
from botocore.config import Config
from botocore.credentials import AssumeRoleCredentialFetcher, DeferredRefreshableCredentials
from botocore.exceptions import BotoCoreError

from . import ecr

RETRY_MODE = "standard"
MAX_ATTEMPTS = 10
SESSION_NAME = "ecr-audit"
GLOBAL_REGION = "us-east-1"  # where Organizations and EC2 DescribeRegions are asked when no region is set
_CREATE_LOCK = threading.Lock()


class MalformedAnswer(BotoCoreError):
    """An answer without a member the collector cannot do without (e.g. AssumeRole's credentials)."""

    fmt = "{detail}"


def client_config(max_pool_connections: int = 10) -> Config:
    return Config(
        retries={"mode": RETRY_MODE, "max_attempts": MAX_ATTEMPTS},
        max_pool_connections=max_pool_connections,
        connect_timeout=10,
        read_timeout=60,
        user_agent_extra="ecr-audit",
    )


def default_session(profile: str | None = None) -> boto3.Session:
    """The caller's session: standard credential chain, config files, AWS_ENDPOINT_URL."""
    return boto3.Session(profile_name=profile)


class Clients:
    """Clients of one account's session, all counted: one per service × region, shared by the
    threads working on it.

    botocore clients are thread-safe (sessions are not: clients are created under a lock).
    Sharing matters for CPU: creating a client costs tens of milliseconds, and the collector is
    CPU-bound under the GIL once latency is low (benchmarks/RESULTS.md: one client per thread
    made 41 clients for 8 account × region units, one per service × region makes 17).
    The connection pool (`max_pool_connections`, 10) exceeds a unit's repository workers.
    """

    def __init__(
        self, session: boto3.Session, account_id: str, instrument=None, config: Config | None = None
    ):
        """`instrument(client, account_id, region)` is called once for every client made."""
        self.session = session
        self.account_id = account_id
        self._instrument = instrument
        self._config = config or client_config()
        self._clients: dict[tuple, object] = {}
        self._lock = threading.Lock()

    def client(self, service: str, region: str | None):
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                with _CREATE_LOCK:  # boto3.Session.client() is not thread-safe
                    client = self.session.client(service, region_name=region, config=self._config)
                if self._instrument is not None:
                    self._instrument(client, self.account_id, region or client.meta.region_name)
                self._clients[key] = client
            return self._clients[key]

    @contextmanager
    def lease(self, service: str, region: str | None):
        yield self.client(service, region)

    def call(self, service: str, region: str | None, fn, *args, **kwargs):
        """fn(client, *args, **kwargs) with a leased client."""
        with self.lease(service, region) as client:
            return fn(client, *args, **kwargs)


def _explicit_profile(session: boto3.Session) -> str | None:
    name = session.profile_name
    return name if name in session.available_profiles else None


def assume_role(
    caller: boto3.Session,
    account_id: str,
    role_name: str,
    *,
    partition: str = "aws",
    external_id: str | None = None,
    instrument=None,
    config: Config | None = None,
    on_credentials=None,
):
    """Session in `account_id` through sts:AssumeRole, refreshed automatically when it expires.

    Returns (boto3.Session, assumed-role ARN). Raises ClientError when the role cannot be
    assumed (the first fetch happens here, eagerly, so failures surface per account).
    `instrument(client, "", region)` sees the STS clients; `on_credentials(access_key, secret_key,
    token)` every set of credentials STS hands out (the first and each refresh).
    """
    config = config or client_config()

    def sts_client(service, **kwargs):
        with _CREATE_LOCK:
            client = caller.client(service, region_name=caller.region_name, config=config, **kwargs)
        if instrument is not None:
            instrument(client, "", client.meta.region_name)
        return client

    extra = {"RoleSessionName": SESSION_NAME}
    if external_id:
        extra["ExternalId"] = external_id
    cache: dict = {}
    fetcher = AssumeRoleCredentialFetcher(
        client_creator=sts_client,
        source_credentials=caller.get_credentials(),
        role_arn=ecr.role_arn(partition, account_id, role_name),
        extra_args=extra,
        cache=cache,
    )

    def fetch():
        fetched = fetcher.fetch_credentials()
        if on_credentials is not None:
            on_credentials(fetched.get("access_key"), fetched.get("secret_key"), fetched.get("token"))
        return fetched

    creds = DeferredRefreshableCredentials(refresh_using=fetch, method="assume-role")
    try:
        creds.get_frozen_credentials()
        principal = next(iter(cache.values()))["AssumedRoleUser"]["Arn"]
    except (KeyError, TypeError, StopIteration) as e:
        raise MalformedAnswer(
            detail=f"AssumeRole answered without credentials or AssumedRoleUser ({e!r})"
        ) from None
    if not isinstance(principal, str):
        raise MalformedAnswer(detail="AssumeRole answered an AssumedRoleUser ARN that is not text")
    core = botocore.session.Session(profile=_explicit_profile(caller))
    # Share the caller's loader (it caches the parsed service models and endpoint rules): a fresh
    # session per account would re-read ECR's JSON model, ~0.4 s of CPU per account (benchmarks/).
    core.register_component("data_loader", caller._session.get_component("data_loader"))
    # botocore has no public setter for refreshable credentials on a session.
    core._credentials = creds
    return boto3.Session(botocore_session=core, region_name=caller.region_name), principal


_ARN = re.compile(
    rf"arn:(?P<partition>[^:]+):(?P<service>iam|sts)::(?P<account>{ecr.ACCOUNT_ID_PATTERN}):(?P<resource>.+)",
    re.DOTALL,
)


def principal_key(arn: str) -> tuple | None:
    """(partition, account, kind, name) identifying an IAM role or user, paths ignored.

    An assumed-role session ARN `arn:aws:sts::A:assumed-role/ROLE/SESSION` carries no role path,
    while pull-time exclusions hold IAM ARNs `arn:aws:iam::A:role/[path/]ROLE`. Role and user
    names are unique within an account whatever their path, so comparing names is exact.
    """
    m = _ARN.fullmatch(arn) if isinstance(arn, str) else None
    if not m:
        return None
    parts = m.group("resource").split("/")
    if m.group("service") == "sts":
        if parts[0] == "assumed-role" and len(parts) >= 3:
            return (m.group("partition"), m.group("account"), "role", parts[1])
        # moto answers GetCallerIdentity for IAM users with `arn:aws:sts::A:user/N` (real STS
        # says `arn:aws:iam::A:user/N`); it is the same user. federated-user sessions stay None.
        if parts[0] == "user" and len(parts) >= 2:
            return (m.group("partition"), m.group("account"), "user", parts[-1])
        return None
    if parts[0] in ("role", "user") and len(parts) >= 2:
        return (m.group("partition"), m.group("account"), parts[0], parts[-1])
    return None


def role_arn_of(principal_arn: str) -> str | None:
    """IAM ARN (without path) of the role behind an assumed-role ARN; IAM ARNs unchanged."""
    key = principal_key(principal_arn)
    if key is None:
        return None
    if principal_arn.split(":")[2] == "iam":
        return principal_arn
    return ecr.iam_arn(key[0], key[1], key[2], key[3])


def is_excluded(principal_arn: str, exclusions) -> bool:
    """The principal appears in a ListPullTimeUpdateExclusions answer (paths ignored)."""
    key = principal_key(principal_arn)
    return key is not None and any(principal_key(e) == key for e in exclusions)
