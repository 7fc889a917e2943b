"""Time access.grants / policy_findings / replication on a synthetic organization.

Usage: .venv/bin/python benchmarks/access_bench.py [repositories] [distinct_policies]
"""

import json
import sys
import time

from ecr_audit import access
from ecr_audit.access.policy import parse_policy
from ecr_audit.inventory import Inventory


def build(n_repos: int, n_policies: int) -> Inventory:
    accounts = [f"{100000000000 + i:012d}" for i in range(50)]
    policies = []
    for i in range(n_policies):
        policies.append(
            json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Sid": f"s{i}",
                            "Effect": "Allow",
                            "Principal": {"AWS": [accounts[i % 50], accounts[(i + 7) % 50]]},
                            "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:PutImage"],
                        },
                        {
                            "Effect": "Allow",
                            "Principal": "*",
                            "Action": "ecr:*",
                            "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-bench"}},
                        },
                        {
                            "Effect": "Deny",
                            "Principal": "*",
                            "Action": "ecr:Delete*",
                            "Condition": {"StringNotEquals": {"aws:PrincipalAccount": accounts[i % 50]}},
                        },
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "ecr:BatchGetImage",
                        },
                    ],
                }
            )
        )
    repos = [
        {
            "account_id": accounts[i % 50],
            "region": "us-east-1",
            "repository_name": f"team/app-{i}",
            "policy_text": policies[i % n_policies],
        }
        for i in range(n_repos)
    ]
    regs = [
        {
            "account_id": a,
            "region": "us-east-1",
            "policy_text": json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"AWS": accounts[0]},
                            "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
                        }
                    ],
                }
            ),
        }
        for a in accounts
    ]
    meta = {"organization": {"id": "o-bench", "account_ids": accounts[:40]}}
    return Inventory.from_frames(
        meta=meta,
        repository_policies=repos,
        registry_policies=regs,
        registries=[
            {"account_id": a, "region": "us-east-1", "registry_policy_scope": "V2"} for a in accounts
        ],
    )


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 5000
    k = int(sys.argv[2]) if len(sys.argv) > 2 else n  # default: every repository has its own policy text
    inv = build(n, k)
    for label in ("cold", "warm"):
        if label == "cold":
            parse_policy.cache_clear()
            access.grants.__globals__["_evaluate_cached"].cache_clear()
        t = time.perf_counter()
        g = access.grants(inv)
        t1 = time.perf_counter()
        f = access.policy_findings(inv)
        t2 = time.perf_counter()
        print(
            f"{label}: {n} repositories, {k} distinct policies: grants {t1 - t:.2f}s ({len(g)} rows), "
            f"policy_findings {t2 - t1:.2f}s ({len(f)} rows)"
        )


if __name__ == "__main__":
    main()
