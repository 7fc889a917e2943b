"""Keep a running sandbox off the network, whatever the environment and AWS config files say.

moto answers only requests whose URL it recognizes as an AWS endpoint; anything else (a custom
`endpoint_url`, a FIPS or dual-stack host, a request through a proxy) would be sent for real.
Two layers keep every request in-process while `sandbox.running` is active:

1. `isolated_environment`: botocore reads no setting that could change where a request goes.
   Every `AWS_*` variable except the credentials is removed (`AWS_ENDPOINT_URL*`, `AWS_PROFILE`,
   `AWS_USE_FIPS_ENDPOINT`, `AWS_USE_DUALSTACK_ENDPOINT`, `AWS_CA_BUNDLE`, `AWS_DATA_PATH`,
   container and web-identity credential settings, ...), and so are the proxy variables; the
   config and shared-credentials files are pinned to the null device, so `endpoint_url`,
   `services` sections, profiles and `use_fips_endpoint` in them are never read. Every session
   made meanwhile (the sandbox's, and those the collector makes per account) starts empty.
2. `no_network`: while it runs, connecting an IP socket or resolving a host name raises
   `NetworkRefused`, and so does any request botocore would send because moto did not answer
   it (raised before a socket exists, and not retried: botocore retries only its own
   connection errors).

See https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html for the endpoint
settings the SDK reads from the environment and the config file.
"""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

# Credentials only sign requests; they never choose where one goes. They are left as they are
# (moto's mock replaces the key pair with its own while it runs).
KEPT = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"})
PINNED = {
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_DEFAULT_REGION": "us-east-1",
}
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


class NetworkRefused(RuntimeError):
    """Something tried to reach the network while the sandbox ran (a sandbox bug, not user input)."""


def _routing(name: str) -> bool:
    """Whether environment variable `name` can change where an HTTP request goes."""
    if name.startswith("AWS_"):
        return name not in KEPT
    return name.lower().endswith("_proxy")  # http_proxy, HTTPS_PROXY, all_proxy, no_proxy


@contextmanager
def isolated_environment() -> Iterator[None]:
    """Inside: no routing setting in `os.environ`, empty AWS config files, dummy credentials where
    none are set. The environment is restored exactly on exit."""
    saved = dict(os.environ)
    try:
        for name in [n for n in os.environ if _routing(n)]:
            del os.environ[name]
        os.environ.update(PINNED)
        for name, value in DUMMY_CREDENTIALS.items():
            os.environ.setdefault(name, value)
        yield
    finally:
        for name in [n for n in os.environ if n not in saved]:
            del os.environ[name]
        os.environ.update(saved)


def _numeric(host) -> bool:
    if host is None:
        return True
    try:
        ipaddress.ip_address(host.decode() if isinstance(host, bytes) else str(host).split("%")[0])
        return True
    except ValueError:
        return False


@contextmanager
def no_network() -> Iterator[None]:
    """Inside: IP connections, host-name lookups and botocore sends raise `NetworkRefused`."""
    from botocore.endpoint import Endpoint

    own = {name: socket.socket.__dict__.get(name) for name in ("connect", "connect_ex")}
    real = {
        "connect": socket.socket.connect,
        "connect_ex": socket.socket.connect_ex,
        "getaddrinfo": socket.getaddrinfo,
        "gethostbyname": socket.gethostbyname,
        "gethostbyname_ex": socket.gethostbyname_ex,
        "gethostbyaddr": socket.gethostbyaddr,
        "send": Endpoint._send,
    }

    def connect(sock, address, *, _real=real["connect"]):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkRefused(f"the sandbox refused a connection to {address!r}")
        return _real(sock, address)

    def connect_ex(sock, address, *, _real=real["connect_ex"]):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            raise NetworkRefused(f"the sandbox refused a connection to {address!r}")
        return _real(sock, address)

    def lookup(name):
        def refuse(host, *args, **kwargs):
            if name != "gethostbyaddr" and _numeric(host):
                return real[name](host, *args, **kwargs)
            raise NetworkRefused(f"the sandbox refused to resolve {host!r}")

        return refuse

    def send(endpoint, request):
        raise NetworkRefused(
            f"the sandbox did not answer {request.method} {request.url}; it is not sent to the network"
        )

    socket.socket.connect = connect
    socket.socket.connect_ex = connect_ex
    for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        setattr(socket, name, lookup(name))
    Endpoint._send = send
    try:
        yield
    finally:
        for name, method in own.items():  # inherited from _socket.socket unless overridden
            if method is None:
                delattr(socket.socket, name)
            else:
                setattr(socket.socket, name, method)
        for name in ("getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
            setattr(socket, name, real[name])
        Endpoint._send = real["send"]


@contextmanager
def isolated() -> Iterator[None]:
    """Both layers (see the module docstring)."""
    with isolated_environment(), no_network():
        yield
