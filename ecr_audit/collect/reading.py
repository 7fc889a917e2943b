"""The read policy: one AWS read → (status, value); every failure an errors row, never a crash.

status: present | absent (AWS says "not configured") | unreadable (an errors row) | unsupported
(an errors row: the endpoint lacks the operation). Exceptions that are neither AWS nor network
failures nor malformed answers are bugs and propagate (`errors.is_recordable`).

Throttling. botocore's standard mode retries a throttled request up to 10 times with backoff
(`aws.py`). A read still throttled after that is tried again, up to THROTTLE_ROUNDS rounds in all,
after a pause of THROTTLE_PAUSE_SECONDS × the round number: ECR publishes no rate for its
control-plane calls (https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html),
so a long storm on one call should cost time, not data. How much time is bounded by the throttle
budget (`collect(throttle_budget=...)`, `ecr-audit collect --throttle-budget SECONDS`, default
THROTTLE_BUDGET_SECONDS): every attempt and pause of one read shares one deadline. A botocore retry
is not made when its longest possible wait (min(2^n, 20) s, +5 s when the answer asks for a
later retry) would pass the deadline, and another round is not started when its pause would; the
read is then a `throttled` errors row. So one persistently throttled read costs at most the budget
plus the duration of its requests (it was ≈ 200 s before the budget: 3 rounds of 11 requests with
backoff, and 30 s of pauses).

Listings that do not end (`paging.IncompleteListing`) and answers botocore cannot parse are
`invalid_data` rows; the items read before are kept, and the read is `unreadable`.
"""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from itertools import count

from botocore.exceptions import ClientError

from .errors import classify, is_absent, is_recordable, message_of, scrub

THROTTLE_ROUNDS = 3  # botocore retry sequences per read before a throttled read is an error
THROTTLE_PAUSE_SECONDS = 10.0  # × round number, between sequences
THROTTLE_BUDGET_SECONDS = 30.0  # all the attempts and pauses of one throttled read
BACKOFF_CAP_SECONDS = 20  # botocore standard mode: one wait is at most min(2^n, 20) s ...
RETRY_AFTER_EXTRA_SECONDS = 5  # ... plus up to 5 s when the answer carries x-amz-retry-after

# The clock and the pause between rounds (tests replace them: no test sleeps for real).
clock = time.monotonic
sleep = time.sleep


class ThrottleBudget:
    """The deadline of the read each thread is making, and the botocore hook that enforces it."""

    def __init__(self, seconds: float = THROTTLE_BUDGET_SECONDS):
        if not seconds > 0:
            raise ValueError(f"the throttle budget must be more than 0 seconds, got {seconds!r}")
        self.seconds = float(seconds)
        self._local = threading.local()

    @contextmanager
    def started(self):
        """Every call this thread makes in the block shares one deadline (yielded)."""
        if getattr(self._local, "deadline", None) is not None:  # nested: the outer read's deadline
            yield self._local.deadline
            return
        self._local.deadline = clock() + self.seconds
        try:
            yield self._local.deadline
        finally:
            self._local.deadline = None

    def restart(self) -> None:
        """A new deadline for the read in progress on this thread, from now: for a long paced
        listing (CloudTrail LookupEvents) where each page is a read of its own."""
        if getattr(self._local, "deadline", None) is not None:
            self._local.deadline = clock() + self.seconds

    def instrument(self, client, *_) -> None:
        """Stop `client`'s throttling retries that would pass the deadline of the read in progress."""
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"needs-retry.{service}", self._needs_retry)

    def _needs_retry(self, response=None, attempts=1, operation=None, **_):
        deadline = getattr(self._local, "deadline", None)
        if deadline is None or response is None:
            return None
        http, parsed = response
        if http.status_code < 300 or not isinstance(parsed, dict):
            return None
        error = ClientError(parsed, operation.name)
        if classify(error)[1] != "throttled":
            return None
        longest = min(2 ** (attempts - 1), BACKOFF_CAP_SECONDS)
        if "x-amz-retry-after" in (http.headers or {}):
            longest += RETRY_AFTER_EXTRA_SECONDS
        if clock() + longest <= deadline:
            return None  # botocore's own retry handler decides
        # Raised here, the error leaves the client call as if botocore had run out of attempts.
        raise error


class Reader:
    """Reads made for one place (the caller, an account, an account × region) and their errors rows.

    Rows carry `account_id` and `region`; the call recorder counts failures at `calls_at`
    (account, region) — they differ for the caller's reads made on an account's behalf."""

    def __init__(
        self,
        sink,
        recorder,
        budget: ThrottleBudget,
        account_id: str = "",
        region=None,
        calls_at: tuple | None = None,
    ):
        self.sink = sink
        self.recorder = recorder
        self.budget = budget
        self.account_id = account_id
        self.region = region
        self.calls_at = calls_at or (account_id, region)
        self.errors = 0
        self._lock = threading.Lock()

    def error(self, operation: str, code: str, kind: str, message: str, repository_name=None) -> None:
        with self._lock:
            self.errors += 1
        self.sink.add(
            "errors",
            [
                {
                    "account_id": self.account_id,
                    "region": self.region,
                    "repository_name": repository_name,
                    "operation": operation,
                    "error_code": code,
                    "error_kind": kind,
                    "message": scrub(message),
                }
            ],
        )

    def invalid(self, operation: str, problems, repository_name=None) -> None:
        """One `invalid_data` row per kind of item `operation`'s answer held that was not understood."""
        seen: dict[str, list] = {}
        for what, where in problems:
            seen.setdefault(what, [0, where])[0] += 1
        for what, (n, where) in seen.items():
            text = f"{what} ({where})" if n == 1 else f"{n} items: {what} (first: {where})"
            self.error(operation, "MalformedItem", "invalid_data", text, repository_name)

    def read(self, operation: str, fn, *args, repository_name=None):
        """(status, value) of fn(*args) under the read policy (module docstring). A failed read's
        value is what it read before failing (a listing's earlier pages), or None.

        The errors row names the operation that failed when the error says (a read of several
        calls, like the OU walk), else `operation`."""
        with self.budget.started() as deadline:
            for round_ in count(1):
                try:
                    return "present", fn(*args)
                except Exception as e:
                    if not is_recordable(e):
                        raise
                    if is_absent(e):
                        return "absent", None
                    code, kind = classify(e)
                    pause = THROTTLE_PAUSE_SECONDS * round_
                    if kind == "throttled" and round_ < THROTTLE_ROUNDS and clock() + pause < deadline:
                        sleep(pause)
                        continue
                    failed = getattr(e, "operation_name", None) or getattr(e, "operation", None) or operation
                    self.recorder.failed(*self.calls_at, failed)
                    self.error(failed, code, kind, message_of(e), repository_name)
                    status = "unsupported" if kind == "unsupported" else "unreadable"
                    return status, getattr(e, "partial_items", None)
