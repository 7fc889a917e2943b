"""Storage cost: what ECR storage costs per repository, account, region, OU and tag, and what
cleanup or archiving would save. Pure functions of an Inventory; prices from the snapshot's AWS
Price List, a user's price file, or `data/prices.json` (`prices`).

Units: bytes; GB = 2^30 bytes; USD per GB-month as AWS bills storage.
"""

from .archive import archive_advice, archive_candidates
from .prices import BYTES_PER_GB, load_prices, price_sources
from .reconcile import read_billed, reconcile
from .rollup import basis_summary, rollup, top
from .savings import freed, savings, savings_totals
from .storage import image_roles, storage

__all__ = [
    "BYTES_PER_GB",
    "archive_advice",
    "basis_summary",
    "archive_candidates",
    "freed",
    "image_roles",
    "load_prices",
    "price_sources",
    "read_billed",
    "reconcile",
    "rollup",
    "savings",
    "savings_totals",
    "storage",
    "top",
]
