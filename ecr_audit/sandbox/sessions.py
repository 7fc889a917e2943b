"""boto3 sessions for the sandbox: the caller's, and per-account seeding clients."""

from __future__ import annotations

import boto3
import botocore.session

_LOADER = None  # botocore's data loader, shared by every sandbox session of the process


def sandbox_session(**kwargs) -> boto3.Session:
    """A boto3 session whose service models are loaded once per process, not once per session.

    A collection loads the JSON model of each service it calls (SageMaker's and EC2's are large);
    a real run does that once, but the tests and benchmarks build a sandbox and a session many
    times over. Sessions made from it (sts:AssumeRole) share the loader too (`aws.assume_role`)."""
    global _LOADER
    core = botocore.session.Session()
    if _LOADER is None:
        _LOADER = core.get_component("data_loader")
    core.register_component("data_loader", _LOADER)
    session = boto3.Session(botocore_session=core, **kwargs)
    # boto3 appends its own data directory to the loader's search path on every session.
    _LOADER.search_paths[:] = list(dict.fromkeys(_LOADER.search_paths))
    return session


class AccountClients:
    """Clients whose calls land in a chosen account (moto's `x-moto-account-id` header), for
    seeding a world: no role needs assuming. One client per service × region, whatever the
    account (creating a client costs tens of milliseconds); not for use by several threads."""

    def __init__(self):
        self._session = sandbox_session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        self._clients: dict[tuple, object] = {}
        self._account: str | None = None

    def _to_account(self, request, **_):
        request.headers["x-moto-account-id"] = self._account

    def __call__(self, service: str, account_id: str, region: str):
        self._account = account_id
        key = (service, region)
        if key not in self._clients:
            client = self._session.client(service, region_name=region)
            event = f"before-sign.{client.meta.service_model.service_id.hyphenize()}"
            client.meta.events.register_first(event, self._to_account)
            self._clients[key] = client
        return self._clients[key]
