"""Counting every API request per account × region × operation, retries included.

botocore emits `before-call` once per operation invocation and `before-send` once per HTTP
attempt (so retries show as extra sends). Counting on the client's own event system sees what
actually went over the wire, whatever retry mode is configured.
"""

from __future__ import annotations

import threading
from collections import defaultdict


class CallRecorder:
    """Thread-safe counters: calls (attempts), retries, failures per (account_id, region, operation)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._invocations = defaultdict(int)
        self._sends = defaultdict(int)
        self._failures = defaultdict(int)
        self.operations: set[str] = set()  # "service:Operation" of every invocation (permission checks)

    def instrument(self, client, account_id: str, region: str) -> None:
        """Count requests made through `client`, attributed to `account_id` and `region`."""
        service = client.meta.service_model.service_name
        prefix = client.meta.service_model.signing_name or service

        def before_call(model, **_):
            with self._lock:
                self._invocations[(account_id, region, model.name)] += 1
                self.operations.add(f"{prefix}:{model.name}")

        def before_send(event_name, **_):
            # event_name reads "before-send.<service>.<Operation>"
            op = event_name.split(".")[2] if event_name.count(".") >= 2 else "unknown"
            with self._lock:
                self._sends[(account_id, region, op)] += 1

        events = client.meta.events
        events.register(f"before-call.{service}", before_call)
        events.register(f"before-send.{service}", before_send)

    def failed(self, account_id: str, region: str, operation: str) -> None:
        with self._lock:
            self._failures[(account_id, region, operation)] += 1

    def records(self) -> list[dict]:
        with self._lock:
            keys = set(self._invocations) | set(self._sends) | set(self._failures)
            rows = []
            for key in sorted(keys, key=lambda k: tuple(str(x) for x in k)):
                sends = self._sends.get(key, 0)
                invoked = self._invocations.get(key, 0)
                rows.append(
                    {
                        "account_id": key[0],
                        "region": key[1],
                        "operation": key[2],
                        # A Stubber answers before anything is sent: count the invocation then.
                        "calls": max(sends, invoked),
                        "retries": max(sends - invoked, 0),
                        "failures": self._failures.get(key, 0),
                    }
                )
            return rows
