"""Times in the analyses: the evaluation time of a snapshot and times as int64 nanoseconds.

Every analysis that judges age (staleness, lifecycle rules, archive candidates) and every notebook
asks `as_of(inv, value)` for "now": the time the user gave, else the snapshot's collection time, so
a report computed next month says what it said today.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NAT = np.iinfo(np.int64).min  # what `to_ns` gives a missing time (pandas' NaT as int64)


def as_of(inv, value=None) -> pd.Timestamp:
    """The evaluation time in UTC: `value` (a time or ISO text; None or "" for none) or else the
    snapshot's `collected_at`. ValueError when neither is there; a naive time is read as UTC."""
    raw = value if value is not None and not (isinstance(value, str) and value == "") else None
    if raw is None:
        raw = inv.meta.get("collected_at")
    if raw is None or (isinstance(raw, str) and raw == ""):
        raise ValueError("no as_of given and the snapshot has no collected_at")
    ts = pd.Timestamp(raw)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def to_ns(series: pd.Series) -> np.ndarray:
    """UTC times as int64 nanoseconds since 1970 (a new array); a missing time is `NAT`."""
    s = pd.to_datetime(series, utc=True)
    return s.astype("datetime64[ns, UTC]").array.asi8.copy()


__all__ = [
    "NAT",
    "as_of",
    "to_ns",
]
