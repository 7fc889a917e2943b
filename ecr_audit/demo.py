"""The demo: the simulated organization collected into a snapshot, cached for notebooks."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from ._version import __version__
from .snapshot import SnapshotError, load, save


def build_demo_snapshot(path, read_manifests: str = "auto", progress=None) -> Path:
    """Build the sandbox demo organization, collect it like a real one, save to `path`."""
    from . import sandbox
    from .collect import collect

    with sandbox.running(sandbox.demo_world()) as org:
        inv = collect(
            org.session(), org=True, role_name=org.role_name, read_manifests=read_manifests, progress=progress
        )
    inv.meta["source"] = "sandbox:demo"
    return save(inv, path)


def _code_fingerprint() -> str:
    """Changes whenever the code that produces the demo snapshot changes: the sandbox, the
    collector, and the snapshot writer with its encoding."""
    root = Path(__file__).parent
    h = hashlib.sha256(__version__.encode())
    for sub in ("sandbox", "collect"):
        for f in sorted((root / sub).rglob("*.py")):
            h.update(f.read_bytes())
    for f in ("schema.py", "aws.py", "ecr.py", "snapshot.py", "snapshot_checks.py", "compact.py", "keys.py"):
        if (root / f).exists():
            h.update((root / f).read_bytes())
    return h.hexdigest()[:12]


def demo_snapshot_path() -> Path:
    """Where the cached demo snapshot lives: $ECR_AUDIT_DEMO_SNAPSHOT, else the user cache."""
    explicit = os.environ.get("ECR_AUDIT_DEMO_SNAPSHOT")
    if explicit:
        return Path(explicit)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "ecr-audit" / f"demo-{_code_fingerprint()}"


def demo_snapshot() -> Path:
    """Path of the demo snapshot, built on first use (a few seconds)."""
    path = demo_snapshot_path()
    try:
        inv = load(path, verify=False)
        for name in inv.frames:  # loading is lazy: read every frame now
            inv.frames[name]
        return path
    except SnapshotError:
        return build_demo_snapshot(path)
