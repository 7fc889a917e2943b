"""CSV exports that are safe to open in a spreadsheet.

Everything from AWS is untrusted text: a resource tag value, an error message or a policy Sid
that starts with `=`, `+`, `-`, `@`, a tab or a carriage return is a formula to Excel, LibreOffice
and Google Sheets (CSV injection). Text cells starting so are written with a leading `'`
(OWASP's advice); numbers, dates and booleans are written as they are. List cells (tags) are
written comma-joined.
"""
from __future__ import annotations

import pandas as pd

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _text(s: pd.Series) -> pd.Series:
    if s.dtype == object:           # lists, mixed values, nulls
        s = s.map(lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v)
        risky = s.map(lambda v: isinstance(v, str) and v.startswith(FORMULA_START)).astype(bool)
    else:                           # str / categorical text: vectorized
        risky = s.astype("str").str.startswith(FORMULA_START).fillna(False).astype(bool)
    if not risky.any():
        return s
    s = s.astype(object)
    s[risky] = "'" + s[risky].astype(str)
    return s


def safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """`df` with list cells joined and formula-like text cells neutralized (text columns only)."""
    out = {}
    for col in df.columns:
        s = df[col]
        text = s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype))
        out[col] = _text(s) if text else s
    return pd.DataFrame(out, index=df.index)


def to_csv(df: pd.DataFrame, path=None) -> str | None:
    """`df.to_csv(path, index=False)` after `safe_frame`; the text when `path` is None."""
    return safe_frame(df).to_csv(path, index=False)
