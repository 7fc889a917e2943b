"""A zero-CPU endpoint for the collection benchmark: record the sandbox's answers, replay them.

moto answers in our process and under our GIL (a few ms of CPU per call), so against the sandbox
the collector's wall time includes the server's work, which a real endpoint does not put on us.
`Recorder` keeps every HTTP answer the sandbox gives (status, headers, body) keyed by the request
(method, URL, X-Amz-Target, body, access key id); `Replayer` then answers the same requests from
that table after sleeping the injected latency (which releases the GIL, as waiting on a socket
does). botocore still signs, serializes and parses every call, so what remains is exactly the
client's cost: the collector plus botocore, the part a real collection pays too.

A request that was not recorded raises (the benchmark must not reach a network).
"""

from __future__ import annotations

import threading
import time

from botocore.awsrequest import AWSResponse
from botocore.handlers import BUILTIN_HANDLERS
from moto.core.botocore_stubber import BotocoreStubber, MockRawResponse


def _bytes(value) -> bytes:
    if value is None:
        return b""
    return value if isinstance(value, bytes) else str(value).encode()


def request_key(request) -> tuple:
    """What identifies a request's answer: the signature and date headers change on every call,
    the access key id (which account and role) does not."""
    auth = _bytes(request.headers.get("Authorization")).decode()
    akid = auth.split("Credential=", 1)[1].split("/", 1)[0] if "Credential=" in auth else ""
    return (
        request.method,
        request.url,
        _bytes(request.headers.get("X-Amz-Target")),
        _bytes(request.body),
        akid,
    )


class Recorder:
    """Context manager: while active, every answer moto gives is stored in `responses`."""

    def __init__(self):
        self.responses: dict[tuple, tuple[int, dict, bytes]] = {}
        self._lock = threading.Lock()
        self._orig = None

    def __enter__(self) -> Recorder:
        self._orig = orig = BotocoreStubber.__call__
        recorder = self

        def record(stub, event_name, request, **kwargs):
            response = orig(stub, event_name, request, **kwargs)
            if response is not None:
                entry = (response.status_code, dict(response.headers.items()), response.raw.getvalue())
                with recorder._lock:
                    recorder.responses[request_key(request)] = entry
            return response

        BotocoreStubber.__call__ = record
        return self

    def __exit__(self, *exc) -> None:
        BotocoreStubber.__call__ = self._orig


class Replayer:
    """Context manager: botocore sessions created while active get their answers from a
    `Recorder`'s table after `latency` seconds. Counts `calls`."""

    def __init__(self, responses: dict, latency: float):
        self.responses, self.latency = responses, latency
        self.calls = 0
        self._lock = threading.Lock()
        self._entry = ("before-send", self)

    def __call__(self, event_name=None, request=None, **kwargs):
        entry = self.responses.get(request_key(request))
        if entry is None:
            raise RuntimeError(f"replay: no recorded answer for {request.method} {request.url}")
        with self._lock:
            self.calls += 1
        if self.latency:
            time.sleep(self.latency)
        status, headers, body = entry
        return AWSResponse(request.url, status, dict(headers), MockRawResponse(body))

    def __enter__(self) -> Replayer:
        BUILTIN_HANDLERS.append(self._entry)
        return self

    def __exit__(self, *exc) -> None:
        BUILTIN_HANDLERS.remove(self._entry)
