"""The one wildcard matcher: IAM and lifecycle glob semantics, no backtracking, explicit case folding."""

import re
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_audit import wildcard
from ecr_audit.wildcard import ASCII, EXACT, LOOSE

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reference(pattern: str, text: str, single: bool = True) -> bool:
    """Textbook dynamic programme over (pattern prefix, text prefix): obviously right, O(n·m)."""
    n = len(text)
    row = [True] + [False] * n  # empty pattern matches the empty text only
    for p in pattern:
        if p == "*":
            new = [row[0]]
            for j in range(1, n + 1):
                new.append(row[j] or new[j - 1])
        else:
            new = [False] + [
                row[j - 1] and ((single and p == "?") or p == text[j - 1]) for j in range(1, n + 1)
            ]
        row = new
    return row[n]


@FAST
@given(st.text("ab*?", max_size=9), st.text("ab?*", max_size=12), st.booleans())
def test_matcher_agrees_with_the_reference_on_random_patterns(pattern, text, single):
    assert wildcard.match(pattern, text, single=single) == reference(pattern, text, single)


def test_iam_and_lifecycle_semantics():
    assert wildcard.match("ecr:Get*", "ecr:GetDownloadUrlForLayer")
    assert wildcard.match("*", "") and wildcard.match("**", "x") and not wildcard.match("?", "")
    assert wildcard.match("ecr:Put?mage", "ecr:PutImage")
    assert not wildcard.match("ecr:Put?mage", "ecr:PutImage2")
    assert not wildcard.match("prod-?", "prod-a", single=False)
    assert wildcard.match("prod-?", "prod-?", single=False)
    assert not wildcard.match("v[12]", "v1") and wildcard.match("v[12]", "v[12]")  # brackets are literal
    assert wildcard.match("a*", "a\nb")  # `*` spans newlines: tags and ARNs are plain text
    assert not wildcard.match("prod*", "Prod-1")  # EXACT is case-sensitive


def test_case_folding_is_explicit_and_ascii_unless_asked():
    assert not wildcard.match("ecr:batchgetimage", "ecr:BatchGetImage", case=EXACT)
    assert wildcard.match("ecr:batchgetimage", "ecr:BatchGetImage", case=ASCII)
    assert not wildcard.match("ecr:batchget\u0131mage", "ecr:BatchGetImage", case=ASCII)
    assert wildcard.match("ecr:batchget\u0131mage", "ecr:BatchGetImage", case=LOOSE)
    assert wildcard.ascii_lower("AWS:PrincipalOrgID\u212a") == "aws:principalorgid\u212a"


def test_loose_folding_lists_every_character_re_ignorecase_equates_with_an_ascii_letter():
    everything = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    lookalikes = {c for c in re.findall("(?i)[a-z]", everything) if not c.isascii()}
    assert lookalikes == set(wildcard.LOOKALIKES)
    assert all(re.fullmatch(c, ascii_, re.IGNORECASE) for c, ascii_ in wildcard.LOOKALIKES.items())


def _count_work(monkeypatch):
    """Characters the matcher examines: each `at` costs its piece's size, each `find` its window."""
    work = [0]
    at, find = wildcard._Piece.at, wildcard._Piece.find

    def counting_at(self, t, i):
        work[0] += max(self.size, 1)
        return at(self, t, i)

    def counting_find(self, t, start, end):
        if self.parts is None:
            work[0] += max(end - start, 0) * max(self.size, 1)  # str.find's worst case
        return find(self, t, start, end)

    monkeypatch.setattr(wildcard._Piece, "at", counting_at)
    monkeypatch.setattr(wildcard._Piece, "find", counting_find)
    return work


@pytest.mark.parametrize(
    "pattern,text",
    [
        ("ecr:" + "*" * 24 + "q", "ecr:" + "BatchGetImage" * 400),  # issue 12 #4
        ("*a" * 40 + "*b", "a" * 5000),
        ("?*" * 60 + "q", "x" * 5000),
        ("*a?b*" * 20 + "c", "ab" * 3000),
        ("arn:" + "*:" * 30 + "*q", "arn:" + "aws:" * 1000),
    ],
)
def test_issue12_4_adversarial_globs_take_at_most_pattern_times_text_steps(monkeypatch, pattern, text):
    wildcard.compile.cache_clear()
    work = _count_work(monkeypatch)
    assert wildcard.match(pattern, text) == reference(pattern, text)
    assert work[0] <= 2 * (len(pattern) + 1) * (len(text) + 1)


@FAST
@given(st.text("ab*?", max_size=12), st.text("ab", max_size=40))
def test_work_is_bounded_by_pattern_times_text_on_random_inputs(pattern, text):
    wildcard.compile.cache_clear()
    with pytest.MonkeyPatch.context() as mp:
        work = _count_work(mp)
        wildcard.match(pattern, text)
    assert work[0] <= 2 * (len(pattern) + 1) * (len(text) + 1)


@FAST
@given(st.text("ab*", max_size=6), st.text("ab*", max_size=6), st.text("ab", max_size=8))
def test_within_is_sound_every_text_the_narrow_pattern_matches_the_wide_one_matches(narrow, wide, text):
    if wildcard.within(narrow, wide) and wildcard.match(narrow, text, single=False):
        assert wildcard.match(wide, text, single=False)
