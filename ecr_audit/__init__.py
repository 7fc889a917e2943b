"""ecr-audit: collect, analyze and report on Amazon ECR across an AWS Organization."""
__version__ = "0.1.0"

from .inventory import Inventory  # noqa: E402
from .snapshot import SnapshotError, load  # noqa: E402

# Imported eagerly: importing the `collect` subpackage binds `ecr_audit.collect` to the module,
# and this import rebinds it to the function, which is what users call.
from .collect import collect  # noqa: E402

__all__ = ["Inventory", "SnapshotError", "__version__", "collect", "load"]
