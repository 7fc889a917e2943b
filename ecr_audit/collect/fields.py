"""Typed access to the items of an AWS answer: a field of the wrong type is a problem, not a crash.

botocore builds answers from the service model but keeps whatever scalar a JSON answer holds (a
number where the model says string, `null` inside lists, text with lone surrogates that no
Parquet file can store), and a member the model marks as always present can be missing. So every
transform reads items through `Fields`: each accessor returns the value when it has its documented
type, and otherwise None and a `problem` naming the field. The transform then skips the item and
reports `(what, where)` to its `Problems`, which become `invalid_data` rows of the errors frame.
"""

from __future__ import annotations

from datetime import datetime, timezone

# Counts go through pandas, which holds an integer column with nulls as float64 on the way to
# Int64: above 2^53 a value is no longer exact there. No ECR count comes near (a layer is at most
# 52,000 MiB: https://docs.aws.amazon.com/AmazonECR/latest/userguide/service-quotas.html).
MAX_COUNT = 2**53 - 1


def is_text(value) -> bool:
    """A str that UTF-8 can encode (JSON can carry lone surrogates; Arrow cannot store them)."""
    if not isinstance(value, str):
        return False
    if value.isascii():
        return True
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class Problems(list):
    """(what, where) pairs of one answer's items that could not be understood.

    `strict=True` raises ValueError at the first one instead (for callers that hand in data they
    built themselves and want a bad item to stop them)."""

    def __init__(self, strict: bool = False):
        super().__init__()
        self.strict = strict

    def add(self, what: str, where: str) -> None:
        if self.strict:
            raise ValueError(f"{what} ({where})")
        self.append((what, where))


def problems_or_strict(problems: Problems | None) -> Problems:
    """The transforms' default: without a `Problems` to report to, a malformed item raises."""
    return Problems(strict=True) if problems is None else problems


class Fields:
    """One item of an answer. Accessors return None for a missing field; for a field of the wrong
    type they return None and set `problem` (the first such field)."""

    def __init__(self, item, what: str):
        self.what = what
        self.item = item if isinstance(item, dict) else {}
        self.problem = None if isinstance(item, dict) else f"{what} that is not an object"

    def _bad(self, key: str, expected: str) -> None:
        if self.problem is None:
            self.problem = f"{self.what} whose {key} is not {expected}"

    def _missing(self, key: str) -> None:
        if self.problem is None:
            self.problem = f"{self.what} without {key}"

    def text(self, key: str, required: bool = False) -> str | None:
        v = self.item.get(key)
        if v is None:
            if required:
                self._missing(key)
            return None
        if not is_text(v) or (required and not v):
            self._bad(key, "text")
            return None
        return v

    def time(self, key: str) -> datetime | None:
        v = self.item.get(key)
        if v is None:
            return None
        if not isinstance(v, datetime):
            self._bad(key, "a time")
            return None
        try:
            return v.astimezone(timezone.utc) if v.tzinfo is not None else v.replace(tzinfo=timezone.utc)
        except (OverflowError, ValueError):  # year 1 east of UTC, a broken tzinfo
            self._bad(key, "a time in range")
            return None

    def count(self, key: str) -> int | None:
        v = self.item.get(key)
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= MAX_COUNT:
            self._bad(key, "a count of 0 to 2^53-1")
            return None
        return v

    def flag(self, key: str) -> bool | None:
        v = self.item.get(key)
        if v is None or isinstance(v, bool):
            return v
        self._bad(key, "true or false")
        return None

    def texts(self, key: str) -> list[str]:
        v = self.item.get(key)
        if v is None:
            return []
        if not isinstance(v, list) or not all(is_text(x) for x in v):
            self._bad(key, "a list of text")
            return []
        return list(v)

    def items(self, key: str) -> list:
        """A list member (its elements are checked by the caller)."""
        v = self.item.get(key)
        if v is None:
            return []
        if not isinstance(v, list):
            self._bad(key, "a list")
            return []
        return v

    def obj(self, key: str) -> dict:
        """A structure member ({} when missing)."""
        v = self.item.get(key)
        if v is None:
            return {}
        if not isinstance(v, dict):
            self._bad(key, "an object")
            return {}
        return v


def rows_of(items: list, what: str, build, problems: Problems, where: str = "item") -> list[dict]:
    """`build(Fields(item))` for each item; an item with a problem is reported ("<where> <i>") and
    left out."""
    rows = []
    for i, item in enumerate(items):
        f = Fields(item, what)
        row = build(f)
        if f.problem:
            problems.add(f.problem, f"{where} {i}")
        else:
            rows.append(row)
    return rows


def first_of_each(rows: list[dict], key, problems: Problems, what: str) -> list[dict]:
    """`rows` without later rows whose `key(row)` was seen before (each one a problem)."""
    seen, out = set(), []
    for row in rows:
        k = key(row)
        if k in seen:
            problems.add(what, str(k)[:200])
            continue
        seen.add(k)
        out.append(row)
    return out
