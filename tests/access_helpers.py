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


# -- organizations: RCPs, SCPs and identities around one repository ------------------------------

ROOT, PROD_OU, DEV_OU = "r-ab12", "ou-ab12-prod0001", "ou-ab12-dev00001"
MANAGEMENT = "999900001111"
ORG_WITH_MANAGEMENT = {
    "id": ORG,
    "management_account_id": MANAGEMENT,
    "account_ids": [OWNER, SIBLING, MANAGEMENT],
}


def org_inventory(
    policy=None,
    *,
    rcps=(),
    scps=(),
    owner=OWNER,
    tags=None,
    rcp_status="enabled",
    scp_status="enabled",
    principals=(),
    extra_policies=(),
    full_access=True,
) -> Inventory:
    """One repository `app` of `owner` (policy, tags: dict or None = unreadable) in an organization:
    OWNER and SIBLING in OU prod, MANAGEMENT at the root. `rcps` / `scps`: (policy dict, target id)
    pairs; the AWS managed full-access policies are attached everywhere unless `full_access=False`
    (SCPs). `principals`: dicts with account_id, arn, type, policies (list of dicts), boundary
    (dict), trust (dict), service_linked."""
    arn = f"arn:aws:ecr:{REGION}:{owner}:repository/app"
    frames: dict = {
        "accounts": [
            {"account_id": a, "ou_path": p, "collection_status": "collected", "account_name": n}
            for a, p, n in (
                (OWNER, f"{ROOT}/{PROD_OU}", "owner"),
                (SIBLING, f"{ROOT}/{PROD_OU}", "sibling"),
                (MANAGEMENT, ROOT, "management"),
            )
        ],
        "organizational_units": [
            {"ou_id": ROOT, "name": "Root", "ou_path": ROOT},
            {"ou_id": PROD_OU, "parent_id": ROOT, "name": "prod", "ou_path": f"{ROOT}/{PROD_OU}"},
        ],
        "org_policy_coverage": [
            {"policy_type": "RESOURCE_CONTROL_POLICY", "status": rcp_status},
            {"policy_type": "SERVICE_CONTROL_POLICY", "status": scp_status},
        ],
        "repositories": [
            {
                "account_id": owner,
                "region": REGION,
                "repository_name": "app",
                "repository_arn": arn,
                "tags_status": "unreadable" if tags is None else "present" if tags else "absent",
                "policy_status": "present" if policy is not None else "absent",
            }
        ],
        "repository_tags": [
            {"account_id": owner, "region": REGION, "repository_name": "app", "key": k, "value": v}
            for k, v in (tags or {}).items()
        ],
        "org_policies": [],
        "org_policy_targets": [],
    }
    levels = [(ROOT, "ROOT"), (PROD_OU, "ORGANIZATIONAL_UNIT"), (OWNER, "ACCOUNT"), (SIBLING, "ACCOUNT")]
    levels.append((MANAGEMENT, "ACCOUNT"))
    managed = [("p-RCPFullAWSAccess", "RESOURCE_CONTROL_POLICY", "RCPFullAWSAccess")]
    if full_access:
        managed.append(("p-FullAWSAccess", "SERVICE_CONTROL_POLICY", "FullAWSAccess"))
    for pid, ptype, name in managed:
        doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        if ptype == "RESOURCE_CONTROL_POLICY":
            doc["Statement"][0]["Principal"] = "*"
        frames["org_policies"].append(
            {
                "policy_id": pid,
                "policy_type": ptype,
                "name": name,
                "is_aws_managed": True,
                "policy_text": text(doc),
            }
        )
        frames["org_policy_targets"] += [
            {"policy_id": pid, "target_id": t, "target_type": tt} for t, tt in levels
        ]
    for n, (ptype, items) in enumerate((("RESOURCE_CONTROL_POLICY", rcps), ("SERVICE_CONTROL_POLICY", scps))):
        for i, (doc, target) in enumerate(items):
            pid = f"p-{'rcp' if n == 0 else 'scp'}{i:05d}"
            frames["org_policies"].append(
                {
                    "policy_id": pid,
                    "policy_type": ptype,
                    "name": f"{'rcp' if n == 0 else 'scp'}-{i}",
                    "is_aws_managed": False,
                    "policy_text": None if doc is None else text(doc),
                }
            )
            frames["org_policy_targets"].append({"policy_id": pid, "target_id": target, "target_type": "X"})
    for p in principals:
        frames.setdefault("iam_principals", []).append(
            {
                "account_id": p["account_id"],
                "principal_arn": p["arn"],
                "principal_type": p.get("type", "role"),
                "name": p["arn"].rsplit("/", 1)[-1],
                "trust_policy_text": text(p["trust"]) if p.get("trust") else None,
                "permissions_boundary_arn": "arn:aws:iam::policy/boundary" if p.get("boundary") else None,
                "is_service_linked": p.get("service_linked", False),
            }
        )
        for j, doc in enumerate(p.get("policies", ())):
            frames.setdefault("iam_principal_policies", []).append(
                {
                    "account_id": p["account_id"],
                    "principal_arn": p["arn"],
                    "relation": "inline",
                    "policy_name": f"policy-{j}",
                    "policy_text": text(doc),
                }
            )
        if p.get("boundary"):
            frames.setdefault("iam_principal_policies", []).append(
                {
                    "account_id": p["account_id"],
                    "principal_arn": p["arn"],
                    "relation": "boundary",
                    "policy_arn": "arn:aws:iam::policy/boundary",
                }
            )
            frames.setdefault("iam_policies", []).append(
                {
                    "account_id": p["account_id"],
                    "policy_arn": "arn:aws:iam::policy/boundary",
                    "name": "boundary",
                    "policy_text": text(p["boundary"]),
                }
            )
    frames.setdefault("repository_policies", [])
    if policy is not None:
        frames["repository_policies"].append(
            {"account_id": owner, "region": REGION, "repository_name": "app", "policy_text": text(policy)}
        )
    for extra in extra_policies:
        frames["repository_policies"].append(extra)
    return Inventory.from_frames(meta={"organization": ORG_WITH_MANAGEMENT}, **frames)
