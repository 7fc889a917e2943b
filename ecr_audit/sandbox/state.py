"""The sandbox running in this process (one at a time: moto's state is global) and the error answer
the patched handlers raise.

Its own module so that `fidelity` (which installs the patches) and the service corrections it
installs (`consumers`) share them without importing each other.
"""

from __future__ import annotations

from typing import Any

from moto.core.exceptions import ServiceException


class SandboxError(ServiceException):
    """An AWS error answer with an arbitrary code (serialized in the service's protocol)."""

    def __init__(self, code: str, message: str):
        super().__init__(code, message)


_ACTIVE: Any = None  # the running fidelity.Runtime


def active():
    """The running sandbox's `fidelity.Runtime`."""
    if _ACTIVE is None:
        raise RuntimeError("no sandbox is running")
    return _ACTIVE


def current():
    """The running sandbox's Runtime, or None."""
    return _ACTIVE


def is_running() -> bool:
    """A sandbox is running in this process (moto's state is global: one at a time)."""
    return _ACTIVE is not None


def start(rt) -> None:
    global _ACTIVE
    if _ACTIVE is not None:
        raise RuntimeError("a sandbox is already running in this process")
    _ACTIVE = rt


def stop() -> None:
    global _ACTIVE
    _ACTIVE = None
