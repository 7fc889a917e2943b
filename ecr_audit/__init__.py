"""ecr-audit: collect, analyze and report on Amazon ECR across an AWS Organization."""

from ._version import __version__

# Imported eagerly: importing the `collect` subpackage binds `ecr_audit.collect` to the module,
# and this import rebinds it to the function, which is what users call.
from .collect import collect
from .inventory import Inventory
from .snapshot import SnapshotError, load, save

__all__ = ["Inventory", "SnapshotError", "__version__", "collect", "load", "save"]
