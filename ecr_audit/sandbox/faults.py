"""Server-side fault and latency injection for the sandbox.

Faults are matched inside moto's request dispatch (`fidelity` wraps `BaseResponse.call_action`),
so they reach every boto3 session the collector creates, including the ones built from
sts:AssumeRole credentials. A matched fault answers with a real AWS error response for the
service's protocol (JSON `__type` for ECR, XML `<Error>` for STS / EC2 / query services), so
botocore raises `ClientError` with the intended code and HTTP status.

Answers no endpoint should give (`add_answer`): a matched call gets the document a function
builds from the request (and, if it asks, moto's own answer) as a 200 JSON answer that botocore
parses as it would a real one — page tokens that cycle, items with missing or mistyped fields,
duplicates, values out of range. Only for the JSON-protocol services (ECR, Organizations, STS is
XML: not supported).

Not-implemented operations: a real endpoint that lacks an operation answers
`UnknownOperationException` with HTTP 400 on the JSON protocol (what AWS JSON services send for an
unknown X-Amz-Target). `add_not_implemented(..., http_status=501)` gives the other shape some
proxies and emulators use (`NotImplemented`, HTTP 501). Operations moto itself lacks and the
sandbox does not emulate are answered the same 400 way instead of raising a Python
NotImplementedError inside the client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Fault:
    operation: str  # API operation name, e.g. "DescribeImages" (None: any)
    code: str
    http_status: int = 400
    message: str | Callable[[], str] = ""  # a callable is asked when the fault fires
    account_id: str | None = None  # the account the call lands in (for AssumeRole: the target)
    region: str | None = None
    repository_name: str | None = None
    times: int | None = None  # fire this many times, then stop (None: always)
    service: str | None = None  # e.g. "ecr", "sts" (None: any)
    timeout: bool = False  # no answer: the client sees a read timeout
    answer: Callable | None = None  # answer(request params, real) -> the answer document
    fired: int = field(default=0)

    def message_text(self) -> str:
        return self.message() if callable(self.message) else self.message

    def matches(
        self, service: str, operation: str, account_id: str, region: str, repository_name: str | None
    ) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        return (
            (self.operation is None or self.operation == operation)
            and (self.service is None or self.service == service)
            and (self.account_id is None or self.account_id == account_id)
            and (self.region is None or self.region == region)
            and (self.repository_name is None or self.repository_name == repository_name)
        )


class Faults:
    """The fault and latency settings of a running sandbox (`org.faults`)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._faults: list[Fault] = []
        self.latency_seconds = 0.0
        self.iam_page_items: int | None = None

    def add(
        self,
        operation: str | None,
        code: str,
        http_status: int = 400,
        message: str | Callable = "",
        account_id: str | None = None,
        region: str | None = None,
        repository_name: str | None = None,
        times: int | None = None,
        service: str | None = None,
    ) -> Fault:
        """Make matching calls fail with `code` (None filters match anything). `message` may be a
        callable, asked each time the fault fires (e.g. to echo credentials minted meanwhile)."""
        if times is not None and times < 1:
            raise ValueError("times must be >= 1 or None")
        f = Fault(
            operation, code, http_status, message or code, account_id, region, repository_name, times, service
        )
        with self._lock:
            self._faults.append(f)
        return f

    def add_assume_role_failure(
        self,
        account_id: str,
        code: str = "AccessDenied",
        http_status: int = 403,
        message: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """sts:AssumeRole into any role of `account_id` fails."""
        msg = message or (
            f"User is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{account_id}:role/*"
        )
        return self.add(
            "AssumeRole", code, http_status, msg, account_id=account_id, times=times, service="sts"
        )

    def add_not_implemented(
        self, operation: str, account_id: str | None = None, region: str | None = None, http_status: int = 400
    ) -> Fault:
        """The endpoint does not know `operation` (400 UnknownOperationException, or 501)."""
        code = "UnknownOperationException" if http_status == 400 else "NotImplemented"
        msg = (
            f"Unknown operation {operation}"
            if http_status == 400
            else f"The {operation} operation is not implemented"
        )
        return self.add(operation, code, http_status, msg, account_id, region)

    def add_timeout(
        self,
        operation: str,
        account_id: str | None = None,
        region: str | None = None,
        repository_name: str | None = None,
        times: int | None = None,
    ) -> Fault:
        """Matching calls get no answer: the client raises ReadTimeoutError (and retries).

        In-process moto answers before any socket is opened, so a client read timeout cannot be
        reached with `latency`; the sandbox raises what botocore raises when it is.
        """
        f = self.add(
            operation,
            "ReadTimeout",
            0,
            "Read timeout on endpoint URL",
            account_id,
            region,
            repository_name,
            times,
        )
        f.timeout = True
        return f

    def add_answer(
        self,
        operation: str,
        answer: Callable,
        account_id: str | None = None,
        region: str | None = None,
        repository_name: str | None = None,
        times: int | None = None,
        service: str | None = None,
    ) -> Fault:
        """Matching calls are answered `answer(params, real)`: `params` is the request's JSON body
        as a dict, `real()` moto's own answer to that request (a dict; call it only for requests
        moto can answer). The returned dict is sent as a 200 JSON answer, unchecked."""
        f = self.add(operation, "Answer", 200, "", account_id, region, repository_name, times, service)
        f.answer = answer
        return f

    def latency(self, seconds: float) -> None:
        """Add `seconds` to every AWS call (server side)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        self.latency_seconds = float(seconds)

    def short_iam_pages(self, items: int | None) -> None:
        """GetAccountAuthorizationDetails answers at most `items` per page, even when MaxItems is
        larger and more remain ("IAM might return fewer results"); None: MaxItems."""
        if items is not None and items < 1:
            raise ValueError("items must be >= 1 or None")
        self.iam_page_items = items

    def clear(self) -> None:
        """Remove every fault, the latency and short IAM pages."""
        with self._lock:
            self._faults.clear()
        self.latency_seconds = 0.0
        self.iam_page_items = None

    @property
    def faults(self) -> list[Fault]:
        return list(self._faults)

    def match(
        self, service: str, operation: str, account_id: str, region: str, repository_name: str | None
    ) -> Fault | None:
        """The first matching fault, counted as fired; None when the call goes through."""
        with self._lock:
            for f in self._faults:
                if f.matches(service, operation, account_id, region, repository_name):
                    f.fired += 1
                    return f
        return None
