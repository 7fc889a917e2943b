"""Builders shared by the access tests: a tiny inventory around one policy; a hang guard."""

import json
import signal
from contextlib import contextmanager

import pytest

from ecr_audit.inventory import Inventory
from tests.data.policy_corpus import ORG, OWNER, SIBLING

REGION = "us-east-1"
ORG_META = {"id": ORG, "management_account_id": OWNER, "account_ids": [OWNER, SIBLING]}


def text(policy) -> str:
    return policy if isinstance(policy, str) else json.dumps(policy)


def inventory(
    policy=None,
    *,
    scope="repository",
    org=ORG_META,
    owner=OWNER,
    registry_policy=None,
    registry_scope="V2",
    **frames,
) -> Inventory:
    meta = {"organization": org}
    if scope == "repository" and policy is not None:
        frames.setdefault("repository_policies", []).append(
            {"account_id": owner, "region": REGION, "repository_name": "app", "policy_text": text(policy)}
        )
    if scope.startswith("registry"):
        registry_policy, registry_scope = policy, scope.split("_")[1].upper()
    if registry_policy is not None:
        frames.setdefault("registry_policies", []).append(
            {"account_id": owner, "region": REGION, "policy_text": text(registry_policy)}
        )
        frames.setdefault("registries", []).append(
            {
                "account_id": owner,
                "region": REGION,
                "registry_policy_status": "present",
                "registry_policy_scope": registry_scope,
            }
        )
    return Inventory.from_frames(meta=meta, **frames)


def caps(row) -> str:
    return "+".join(c for c in ("pull", "push", "delete", "manage") if row[f"can_{c}"])


def classified(df) -> dict:
    return {r["grantee"]: (r["exposure"], caps(r)) for _, r in df.iterrows()}


class _Hung(BaseException):
    """Raised by the alarm; a BaseException so that no `except Exception` in the code swallows it."""


@contextmanager
def time_limit(seconds: float, what: str = "the block"):
    """Fail the test instead of hanging when the block runs past `seconds`: a hang guard, not a speed
    test (callers allow ~100× the expected time). SIGALRM interrupts Python code and `re` matching
    alike, which a thread's join(timeout) cannot (the regex engine holds the GIL)."""

    def expired(signum, frame):
        raise _Hung()

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    except _Hung:
        pytest.fail(f"{what} did not finish within {seconds} s (hung)")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
