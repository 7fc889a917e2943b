"""ecr-audit: collect, analyze and report on Amazon ECR across an AWS Organization."""
__version__ = "0.1.0"

from .inventory import Inventory  # noqa: E402
from .snapshot import SnapshotError, load  # noqa: E402

__all__ = ["Inventory", "SnapshotError", "__version__", "collect", "load"]


def __getattr__(name):
    # collect pulls in boto3; import it lazily so analyses and notebooks stay light.
    if name == "collect":
        from .collect import collect
        return collect
    raise AttributeError(name)
