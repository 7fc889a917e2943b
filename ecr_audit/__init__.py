"""ecr-audit: collect, analyze and report on Amazon ECR across an AWS Organization.

`import ecr_audit` gives the entry points (`collect`, `load`, `save`, `Inventory`) and every public
module as an attribute, imported on first use (`ecr_audit.access.grants(inv)`), so importing the
package stays as fast as importing the collector and the snapshot reader.
"""

import importlib

from ._version import __version__

# Imported eagerly: importing the `collect` subpackage binds `ecr_audit.collect` to the module,
# and this import rebinds it to the function, which is what users call.
from .collect import collect
from .inventory import Inventory
from .snapshot import SnapshotError, load, save

# Public modules: attributes of the package, imported when first used. A new module goes here or
# in INTERNAL_MODULES (tests/test_house.py fails until it is in one of them).
SUBMODULES = (
    "access",  # who outside each account can pull, push, delete or manage
    "blobs",  # what a set of images occupies and what removing them frees
    "changes",  # what changed between audits: finding states across runs, diffs of two snapshots
    "consumers",  # which images are in use, by whom, across accounts (references resolved to images)
    "cost",  # storage cost, savings, archive advice, reconciliation
    "ecr",  # the ECR vocabulary: media types, cosign tags, roles, severities, account ids, ARNs
    "export",  # CSV that is safe to open in a spreadsheet
    "exports",  # findings as OCSF, ASFF (Security Hub) and partitioned Parquet
    "findings",  # every check as findings with stable ids
    "formats",  # how pages show money, sizes, counts, times, digests and names (accounts, grantees)
    "history",  # a directory of snapshots over time: listing, previous, pruning
    "images",  # the manifest graph: roles, liveness, orphans, stale, superseded
    "lifecycle",  # lifecycle policies: parse, simulate, lint
    "notebook",  # helpers for report notebooks
    "pages",  # HTML building blocks of the report pages: tables, headlines, navigation, header
    "permissions",  # the AWS actions the collector calls; the IAM policies built from them
    "report",  # notebooks → HTML report
    "sandbox",  # the simulated organization (needs the [sandbox] extra)
    "schema",  # every frame's columns and dtypes
    "summary",  # the executive summary's headline numbers
    "times",  # the evaluation time of a snapshot
    "trends",  # cost, images, stale bytes and findings over a history of snapshots
)
# Modules that are plumbing for the ones above (importable, not promised as API). `collect` is
# the function above; its subpackage is `ecr_audit.collect.<module>` through sys.modules.
INTERNAL_MODULES = (
    "atomic_dir",
    "aws",
    "cli",
    "collect",
    "compact",
    "demo",
    "findings_analyses",
    "findings_check",
    "inventory",
    "jsondoc",
    "kernel_launch",
    "keys",
    "reuse",
    "snapshot",
    "snapshot_checks",
    "wildcard",
)
_NEEDS_EXTRA = ("sandbox",)  # left out of __all__: `from ecr_audit import *` must work without extras

__all__ = ["Inventory", "SnapshotError", "__version__", "collect", "load", "save"] + [
    m for m in SUBMODULES if m not in _NEEDS_EXTRA
]


def __getattr__(name: str):
    if name in SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # binds the attribute for next time
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(SUBMODULES))
