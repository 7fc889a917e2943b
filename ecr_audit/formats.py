"""How values read on a page: numbers for humans, decided once from the column name.

Frames keep raw values (integer bytes, float dollars, UTC times: the CSVs are written from them);
pages, headlines and chart labels show them through here. The kind of a column follows the
schema's naming rules (docs/conventions.md), so every table of every page gets the same treatment
without a per-notebook format list:

| kind      | recognised by                                    | shown as                        |
|-----------|--------------------------------------------------|---------------------------------|
| `bool`    | boolean dtype, or `is_`/`has_`/`can_` on objects | ✓, blank for False, ? when null |
| `date`    | name ends `_at` (or a datetime dtype)            | `2026-11-27` (time in tooltip)  |
| `digest`  | name ends `_digest`                              | `sha256:1a42b3c4…` (full in tooltip) |
| `account` | `account_id`, `*_account_id`                     | name with the id beside it      |
| `ou`      | `ou_id`, `ou_path`, `*_ou_id`                    | OU names when known, else ids   |
| `principal` | `grantee`                                      | an account by name, else as is  |
| `money`   | numeric, a `usd` part (`cost_usd_per_month`)     | `$1,234.56` (`<$0.01` for less) |
| `price`   | numeric, `usd_per_gb…`                           | `$0.10`, `$0.0114`              |
| `bytes`   | numeric, a `bytes` part                          | `1.5 KiB` … `2.31 TiB`          |
| `tb`/`gb` | numeric, a `tb`/`gb` part                        | as bytes (TB = 2^40, GB = 2^30) |
| `ratio`   | numeric, `ratio` in the name                     | `2.68×`                         |
| `percent` | numeric, ends `_pct`                             | `12.5 %`                        |
| `count`   | other integers                                   | `1,234`                         |
| `number`  | other floats                                     | `0.1`, `1,234`                  |
| `arn`     | name ends `_arn`                                 | text that may break anywhere    |
| `text`    | everything else (lists: `a, b, c (+12)`)         | text                            |

Missing values are blank everywhere (a null boolean is `?`: "could not tell" is not "no").
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from . import ecr
from .export import visible

UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
NUMERIC_KINDS = {"money", "price", "bytes", "tb", "gb", "ratio", "percent", "count", "number"}
_PART = r"(?:^|_){}(?:_|$)"


def missing(value) -> bool:
    """None, NaN, NaT or pd.NA (a list is never missing as a whole)."""
    return pd.api.types.is_scalar(value) and bool(pd.isna(value))


def kind(name, dtype=None) -> str:
    """The display kind of a column named `name` with `dtype` (see the module docstring)."""
    n = str(name).lower()
    is_bool = dtype is not None and (pd.api.types.is_bool_dtype(dtype) or str(dtype) == "boolean")
    numeric = dtype is not None and not is_bool and pd.api.types.is_numeric_dtype(dtype)
    if is_bool:
        return "bool"
    if n.endswith("_at") or (dtype is not None and pd.api.types.is_datetime64_any_dtype(dtype)):
        return "date"
    if n.endswith("_digest") or n == "digest":
        return "digest"
    if n == "account_id" or n.endswith("_account_id"):
        return "account"
    if n in ("ou_id", "ou_path") or n.endswith("_ou_id"):
        return "ou"
    if n == "grantee":
        return "principal"
    if numeric:
        if re.search(_PART.format("usd_per_gb"), n):
            return "price"
        if re.search(_PART.format("usd"), n):
            return "money"
        if re.search(_PART.format("bytes"), n):
            return "bytes"
        for unit in ("tb", "gb"):
            if re.search(_PART.format(unit), n):
                return unit
        if "ratio" in n:
            return "ratio"
        if n.endswith("_pct"):
            return "percent"
        return "count" if pd.api.types.is_integer_dtype(dtype) else "number"
    if n.startswith(("is_", "has_", "can_")) and (dtype is None or pd.api.types.is_object_dtype(dtype)):
        return "bool"
    if n.endswith("_arn"):
        return "arn"
    return "text"


# ---- one value ----------------------------------------------------------------------------------


def size(n) -> str:
    """Bytes in binary units: `512 B`, `1.50 KiB`, `282.6 MiB`, `12.3 GiB`."""
    if missing(n):
        return ""
    n = float(n)
    sign = "-" if n < 0 else ""
    n = abs(n)
    i = 0
    while n >= 1024 and i < len(UNITS) - 1:
        n /= 1024
        i += 1
    if i == 0:
        return f"{sign}{int(n):,} B"
    return f"{sign}{n:,.2f} {UNITS[i]}" if n < 10 else f"{sign}{n:,.1f} {UNITS[i]}"


def unit_for(max_bytes) -> tuple[str, float]:
    """The unit a chart axis of bytes reads best in, and its size: (`GiB`, 2**30)."""
    m = 0.0 if missing(max_bytes) else abs(float(max_bytes))
    i = 0
    while m >= 1024 and i < len(UNITS) - 1:
        m /= 1024
        i += 1
    return UNITS[i], float(1024**i)


def money(x) -> str:
    """US dollars: `$1,234.56`; a non-zero amount under a cent is `<$0.01` (never a false `$0.00`)."""
    if missing(x):
        return ""
    x = float(x)
    sign = "-" if x < 0 else ""
    if 0 < abs(x) < 0.005:
        return f"{sign}<$0.01"
    return f"{sign}${abs(x):,.2f}"


def price(x) -> str:
    """A unit price: two decimals, more when they matter (`$0.10`, `$0.0114`)."""
    if missing(x):
        return ""
    x = float(x)
    text = f"{x:,.4f}".rstrip("0")
    decimals = len(text.split(".")[1]) if "." in text else 0
    return f"${x:,.{max(decimals, 2)}f}"


def count(n) -> str:
    return "" if missing(n) else f"{int(n):,}"


def number(x) -> str:
    """A plain number: thousands separated, at most three significant decimals."""
    if missing(x):
        return ""
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    if x == int(x) or abs(x) >= 1000:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def ratio(x) -> str:
    return "" if missing(x) else f"{float(x):,.2f}×"


def percent(x) -> str:
    return "" if missing(x) else f"{float(x):,.1f} %"


def timestamp(value) -> pd.Timestamp | None:
    if missing(value):
        return None
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        return None
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def date(value) -> str:
    """`2026-11-27` (UTC)."""
    ts = timestamp(value)
    return "" if ts is None else ts.strftime("%Y-%m-%d")


def when(value) -> str:
    """`2026-11-27 15:59 UTC`: where the time of day matters (when a snapshot was collected)."""
    ts = timestamp(value)
    return "" if ts is None else ts.strftime("%Y-%m-%d %H:%M UTC")


def digest(value, keep: int = 8) -> str:
    """`sha256:1a42b3c4…`: the algorithm and the first `keep` hex digits."""
    if missing(value):
        return ""
    text = str(value)
    algo, sep, hexpart = text.partition(":")
    if sep and len(hexpart) > keep:
        return f"{algo}:{hexpart[:keep]}…"
    return text


def boolean(value) -> str:
    if missing(value):
        return "?"
    return "✓" if bool(value) else ""


def items(values, limit: int = 3) -> str:
    """A list as `a, b, c (+12)`."""
    values = [str(v) for v in values]
    shown = ", ".join(values[:limit])
    return shown + (f" (+{len(values) - limit})" if len(values) > limit else "")


def value(v, kind_: str) -> str:
    """`v` as a column of kind `kind_` shows it, as plain text (not escaped for HTML). Text is
    returned whole with hidden characters shown (`export.visible`); `shorten` cuts it."""
    if isinstance(v, (list, tuple, np.ndarray)):
        return visible(items(v))
    if kind_ == "bool":
        return boolean(v)
    if missing(v):
        return ""
    fmt = {
        "money": money,
        "price": price,
        "bytes": size,
        "tb": lambda x: size(float(x) * 2**40),
        "gb": lambda x: size(float(x) * 2**30),
        "ratio": ratio,
        "percent": percent,
        "count": count,
        "number": number,
        "date": date,
        "digest": digest,
    }.get(kind_)
    if fmt is not None:
        try:
            return visible(fmt(v))
        except (TypeError, ValueError):
            pass  # not what the name promised: show it as it is
    return visible(str(v))


_BYTES_IN_TEXT = re.compile(r"\b(\d{4,}) bytes\b")
_USD_IN_TEXT = re.compile(r"\bUSD (\d+(?:\.\d+)?)")


def humanize(text: str) -> str:
    """Raw figures in a sentence the tool wrote (`204290567 bytes (USD 0.019 per month)`) for
    people (`194.8 MiB ($0.02 per month)`); nothing else of the text changes."""
    text = _BYTES_IN_TEXT.sub(lambda m: size(int(m.group(1))), text)
    return _USD_IN_TEXT.sub(lambda m: money(float(m.group(1))), text)


def shorten(text: str, limit: int) -> str:
    """`text` cut to at most `limit` characters: a comma-separated list keeps whole items and says
    how many follow (`a, b, c (+12)`), other text ends in `…`."""
    if len(text) <= limit:
        return text
    parts = text.split(", ")
    if len(parts) > 2:
        kept, used = 0, -2
        for p in parts:
            rest = len(parts) - kept - 1
            if used + 2 + len(p) + (len(f" (+{rest})") if rest else 0) > limit:
                break
            kept, used = kept + 1, used + 2 + len(p)
        if kept:
            return items(parts, kept)
    return text[: max(limit - 1, 1)].rstrip() + "…"


def label(name) -> str:
    """A column name as a header: the unit the cells now carry is dropped (`billable_bytes` →
    `billable`, `cost_usd_per_month` → `cost / month`, `pushed_at` → `pushed`, `can_push` → `push`)."""
    n = str(name)
    per_month = "_per_month" in n and "usd" in n and "usd_per_gb" not in n
    per_gb = "usd_per_gb_month" in n
    words = [w for w in n.split("_") if w]
    if words and words[0] in ("is", "has", "can") and len(words) > 1:
        words = words[1:]
    if len(words) > 1 and (words[-1] in ("at", "digest", "name") or words[-2:] == ["account", "id"]):
        words = words[:-1]
    drop = {"bytes", "usd", "tb", "gb"}
    if per_month or per_gb:
        drop |= {"per", "month"}
    words = [w for w in words if w not in drop] or [n]
    text = " ".join(words)
    if per_month:
        text += " / month"
    elif per_gb:
        text += " per GB-month"
    return text


# ---- accounts and organizational units ------------------------------------------------------------


class Names:
    """Accounts and OUs by name, with the id beside it: `payments (012345678901)`.

    Built from an inventory (`Names.of(inv)`): account names from the `accounts` frame; OU names
    from the `organizational_units` frame when the snapshot has one, else OUs show their ids."""

    def __init__(self, accounts: dict | None = None, ous: dict | None = None, organization_id=None):
        self.accounts = {str(k): str(v) for k, v in (accounts or {}).items() if not missing(v) and v}
        self.ous = {str(k): str(v) for k, v in (ous or {}).items() if not missing(v) and v}
        self.organization_id = organization_id or None

    @classmethod
    def of(cls, inv) -> Names:
        acc = inv.accounts
        accounts = dict(zip(acc["account_id"], acc["account_name"])) if len(acc) else {}
        ous = {}
        if "organizational_units" in inv.frames:
            ou = inv.frames["organizational_units"]
            if len(ou) and {"ou_id", "name"} <= set(ou.columns):
                ous = dict(zip(ou["ou_id"], ou["name"]))
        return cls(accounts, ous, inv.organization_id)

    def account_name(self, account_id) -> str:
        return "" if missing(account_id) else self.accounts.get(str(account_id), "")

    def account(self, account_id) -> str:
        """`name (id)`, or the id alone when the account has no known name."""
        if missing(account_id):
            return ""
        name = self.account_name(account_id)
        return f"{visible(name)} ({account_id})" if name else visible(str(account_id))

    def ou(self, value) -> str:
        """An OU id or an `ou_path` of ids (`r-ab12/ou-ab12-x`) by name: `Root / Payments
        (ou-ab12-x)`; ids stay where no name is known."""
        if missing(value) or not str(value):
            return ""
        ids = str(value).split("/")
        names = [self.ous.get(i, "") for i in ids]
        if not any(names):
            return visible(" / ".join(ids))
        shown = " / ".join(n or i for n, i in zip(names, ids))
        return visible(f"{shown} ({ids[-1]})" if names[-1] else shown)

    def principal(self, grantee) -> str:
        """A grantee: a known account by name, this organization said so, anything else as is."""
        if missing(grantee):
            return ""
        g = str(grantee)
        if ecr.is_account_id(g):
            return self.account(g)
        if self.organization_id and g == self.organization_id:
            return f"{g} (this organization)"
        return visible(g)

    def of_kind(self, kind_: str, v) -> str:
        """`v` as a column of kind `kind_` shows it, accounts, OUs and principals by name."""
        shown = {"account": self.account, "ou": self.ou, "principal": self.principal}.get(kind_)
        return shown(v) if shown else value(v, kind_)


__all__ = [
    "NUMERIC_KINDS",
    "Names",
    "UNITS",
    "boolean",
    "count",
    "date",
    "digest",
    "humanize",
    "items",
    "kind",
    "label",
    "missing",
    "money",
    "number",
    "percent",
    "price",
    "ratio",
    "shorten",
    "size",
    "timestamp",
    "unit_for",
    "value",
    "when",
]
