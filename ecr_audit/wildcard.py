"""Wildcard patterns (`*` any run, `?` one character) matched without a regular-expression engine.

Every glob the audit evaluates goes through `compile`: IAM Action/NotAction names, Resource and
principal ARN patterns, ArnLike/StringLike values, lifecycle tagPatternList entries and registry
scanning filters. The patterns are untrusted text; a backtracking regex takes exponential time on
`ecr:****…*q` (issue 12 #4), this matcher at most len(pattern) × len(text) character comparisons:

The pattern is split at its `*` runs into pieces. The first piece must open the text, the last must
close it, and each middle piece is taken at its leftmost place after the one before (a place further
right only leaves less room for the rest, so leftmost never loses a match). Each piece scans the text
once from where the previous one ended.

Case folding is chosen by the caller, never implied:
- EXACT  case-sensitive (ARNs, lifecycle tags, repository names);
- ASCII  A-Z equal a-z and nothing else (IAM action names). Python's str.lower() and re.IGNORECASE
         are Unicode-aware and also equate `İ`, `ı`, `ſ` and the Kelvin sign `K` with ASCII letters
         (issue 12 #8);
- LOOSE  ASCII plus exactly those four look-alikes: what re.IGNORECASE did, for readings where wider
         is the safe side.
"""

from __future__ import annotations

import string
from functools import lru_cache

EXACT, ASCII, LOOSE = "exact", "ascii", "loose"

_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# The only non-ASCII characters re.IGNORECASE matches to an ASCII letter (tests/test_wildcard.py
# scans every code point to keep this list complete).
LOOKALIKES = {"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"}
_LOOSE_LOWER = {**_ASCII_LOWER, **{ord(k): v for k, v in LOOKALIKES.items()}}
_TABLES = {ASCII: _ASCII_LOWER, LOOSE: _LOOSE_LOWER}


def fold(text: str, how: str = ASCII) -> str:
    """`text` case-folded as `how` says (EXACT leaves it unchanged)."""
    table = _TABLES.get(how)
    return text if table is None else text.translate(table)


def ascii_lower(text: str) -> str:
    """Lower-case A-Z only: IAM element, operator and key names are compared this way."""
    return text.translate(_ASCII_LOWER)


class _Piece:
    """A run of the pattern between `*`s; `?` (when a wildcard) matches any one character."""

    __slots__ = ("text", "size", "parts")

    def __init__(self, text: str, single: bool):
        self.text = text
        self.size = len(text)
        # (offset, literal) runs between `?`s; None when the piece has no `?` wildcard.
        self.parts = None
        if single and "?" in text:
            parts, off = [], 0
            for lit in text.split("?"):
                if lit:
                    parts.append((off, lit))
                off += len(lit) + 1
            self.parts = tuple(parts)

    def at(self, t: str, i: int) -> bool:
        if self.parts is None:
            return t.startswith(self.text, i)
        return i + self.size <= len(t) and all(t.startswith(lit, i + off) for off, lit in self.parts)

    def find(self, t: str, start: int, end: int) -> int:
        """Leftmost i in [start, end - size] where the piece matches, or -1."""
        if self.parts is None:
            return t.find(self.text, start, end)
        for i in range(start, end - self.size + 1):
            if self.at(t, i):
                return i
        return -1


class Glob:
    """A compiled pattern; `match(text)` is true when the pattern spans the whole text."""

    __slots__ = ("pattern", "how", "pieces", "has_star")

    def __init__(self, pattern: str, single: bool, how: str):
        self.pattern = pattern
        self.how = how
        runs = fold(pattern, how).split("*")
        self.has_star = len(runs) > 1
        # Empty middle runs (from `**`) match anywhere: dropped.
        keep = [runs[0]] + [r for r in runs[1:-1] if r] + ([runs[-1]] if self.has_star else [])
        self.pieces = tuple(_Piece(r, single) for r in keep)

    def match(self, text: str) -> bool:
        t = fold(text, self.how)
        first = self.pieces[0]
        if not self.has_star:
            return len(t) == first.size and first.at(t, 0)
        last = self.pieces[-1]
        end = len(t) - last.size
        if end < first.size or not first.at(t, 0) or not last.at(t, end):
            return False
        pos = first.size
        for piece in self.pieces[1:-1]:
            i = piece.find(t, pos, end)
            if i < 0:
                return False
            pos = i + piece.size
        return True


@lru_cache(maxsize=65536)
def compile(pattern: str, *, single: bool = True, case: str = EXACT) -> Glob:  # noqa: A001 (like re.compile)
    """`pattern` compiled; `single`: `?` is a wildcard (IAM) or a literal (lifecycle, ECR filters);
    `case`: EXACT, ASCII or LOOSE folding of pattern and text."""
    return Glob(pattern, single, case)


def match(pattern: str, text: str, *, single: bool = True, case: str = EXACT) -> bool:
    return compile(pattern, single=single, case=case).match(text)


def within(narrow: str, wide: str) -> bool:
    """Sound test that every text `*`-pattern `narrow` matches is also matched by `wide` (`*` the
    only wildcard): `wide` matches `narrow` read as text, its `*`s spanning `narrow`'s `*`s."""
    return match(wide, narrow, single=False)
