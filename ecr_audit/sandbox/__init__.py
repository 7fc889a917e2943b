"""The simulated AWS Organization: moto in-process, corrected where it differs from ECR.

    from ecr_audit import sandbox
    with sandbox.running(sandbox.demo_world()) as org:
        session = org.session()        # management account; assume org.role_name elsewhere

See `fidelity` for what is corrected, `faults` for error and latency injection, `demo` for the
named cases of the demo world and `scale` for large worlds.
"""

from .demo import demo_world
from .faults import Fault, Faults
from .org import Org, running
from .world import Account, Image, Registry, Repository, World

__all__ = [
    "Account",
    "Fault",
    "Faults",
    "Image",
    "Org",
    "Registry",
    "Repository",
    "World",
    "demo_world",
    "running",
    "scaled_world",
]


def __getattr__(name):
    if name == "scaled_world":
        from .scale import scaled_world

        return scaled_world
    raise AttributeError(name)
