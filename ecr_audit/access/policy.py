"""Parse resource-policy text into small immutable value objects.

`parse_policy(text)` never raises on bad input: it returns a `ParsedPolicy` whose `problems`
carry the parser's messages. `ok` is False when an Allow could not be read, because then no
honest grant can be computed (the caller reports the policy as undetermined). A malformed Deny
is dropped with a problem: ignoring a Deny can only make grants look wider, never narrower.

IAM element names (Version, Statement, Effect, Principal, ...) are case-sensitive; an element
spelled otherwise is ignored by IAM, so it is ignored here too and reported as a problem.

Every reading is one-sided (issue 12 #8): an Allow may be read wider than IAM reads it, a Deny
counts only where it provably matches the way IAM matches. So text that decides what a statement
covers is read two ways. Exactly (no trimming, A-Z = a-z only for action names, ASCII digits in
account ids) where that keeps the grant wider: a Deny's Principal and Action, an Allow's
NotAction. Leniently (trimmed, look-alike letters folded) where that does: an Allow's Principal and
Action, a Deny's NotPrincipal and NotAction. Text that is not plain printable ASCII (surrounding
whitespace, control characters, `ı` for `i`, fullwidth digits) is reported (`inexact_text`)
either way. A document that repeats a key anywhere with different values is undetermined
(`duplicate_key`, issue 12 #7): IAM does not document which value wins, and json.loads would
silently keep the last one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from .. import ecr, jsondoc
from ..wildcard import ascii_lower
from .actions import all_actions, match_actions

VERSIONS = ("2012-10-17", "2008-10-17")
MAX_POLICY_CHARS = 200_000  # ECR caps policies at 10,240 characters; anything far beyond is hostile
MAX_STATEMENTS = 2_000

_STATEMENT_KEYS = {
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
}
# IAM unique-id prefixes: a principal shown this way was deleted (the policy keeps its id).
_UNIQUE_ID = re.compile(r"(AIDA|AROA|AIPA|ANPA|ANVA|AGPA|ASIA|AKIA|APKA|ABIA|ACCA)[A-Z0-9]{8,}")
# Used with fullmatch (no `$`, which also matches before a trailing newline).
_ARN = re.compile(rf"arn:({ecr.PARTITION_PATTERN}):(iam|sts)::({ecr.ACCOUNT_ID_PATTERN}|\*?):(.+)", re.DOTALL)

_OPERATORS = {
    "stringequals",
    "stringnotequals",
    "stringequalsignorecase",
    "stringnotequalsignorecase",
    "stringlike",
    "stringnotlike",
    "numericequals",
    "numericnotequals",
    "numericlessthan",
    "numericlessthanequals",
    "numericgreaterthan",
    "numericgreaterthanequals",
    "dateequals",
    "datenotequals",
    "datelessthan",
    "datelessthanequals",
    "dategreaterthan",
    "dategreaterthanequals",
    "bool",
    "binaryequals",
    "ipaddress",
    "notipaddress",
    "arnequals",
    "arnlike",
    "arnnotequals",
    "arnnotlike",
    "null",
}


@dataclass(frozen=True)
class Principal:
    """One entry of Principal/NotPrincipal.

    kind: any | account | arn | unique_id | service | federated | canonical_user | unknown
    """

    kind: str
    value: str
    account_id: str | None = None


@dataclass(frozen=True)
class Condition:
    """One key test of a Condition block. `key` is lower-cased (IAM keys are case-insensitive)."""

    operator: str  # as written, e.g. "ForAnyValue:StringLikeIfExists"
    base: str  # lower-case operator without qualifier and IfExists ("unknown" if not an IAM operator)
    qualifier: str | None  # "foranyvalue" | "forallvalues" | None
    if_exists: bool
    key: str
    key_as_written: str
    values: tuple[str, ...]

    @property
    def text(self) -> str:
        vals = ", ".join(self.values)
        return f"{self.operator} {self.key_as_written} [{vals}]"


@dataclass(frozen=True)
class Statement:
    index: int
    sid: str
    effect: str  # Allow | Deny
    principals: tuple[Principal, ...] | None  # None when NotPrincipal is used
    not_principals: tuple[Principal, ...] | None
    actions: frozenset[str]  # ECR actions after Action/NotAction resolution
    action_text: str
    resources: tuple[str, ...] | None  # None: element absent (the repository itself)
    not_resources: tuple[str, ...] | None
    conditions: tuple[Condition, ...]

    @property
    def label(self) -> str:
        return self.sid or f"#{self.index}"


@dataclass(frozen=True)
class Problem:
    code: str  # see grants.FINDINGS for the finding each code becomes
    message: str
    statement: str = ""
    subject: str = ""


def inexact(text: str) -> str | None:
    """Why `text` cannot be an exact IAM name, ARN, account id, org id or address (None if it can):
    those are printable ASCII without spaces; anything else is a look-alike or padding."""
    for ch in text:
        if not "\x21" <= ch <= "\x7e":
            kind = (
                "whitespace"
                if ch.isspace()
                else "a control character"
                if unicodedata.category(ch).startswith("C")
                else "a non-ASCII character"
            )
            return f"{kind} (U+{ord(ch):04X})"
    return None


def inexact_problem(what: str, text: str, why: str, label: str, *, narrows: bool) -> Problem:
    """The finding for inexact text; `narrows`: the text could only have narrowed a grant."""
    outcome = (
        "IAM matches exactly, so it is not counted as matching anything and the grant stays"
        if narrows
        else "it is read leniently (trimmed, look-alike letters as ASCII): the wider grant"
    )
    return Problem("inexact_text", f"{what} {text!r} contains {why}; {outcome}", label, text)


@dataclass(frozen=True)
class ParsedPolicy:
    version: str | None
    statements: tuple[Statement, ...]
    problems: tuple[Problem, ...]
    ok: bool


class _Invalid(Exception):
    pass


def _strings(value, what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    raise _Invalid(f"{what} must be a string or a non-empty list of strings, got {type(value).__name__}")


def _condition_values(value) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    out = []
    for v in items:
        if isinstance(v, bool):
            out.append("true" if v else "false")
        elif isinstance(v, (str, int, float)):
            out.append(str(v))
        else:
            raise _Invalid(f"condition value must be scalar, got {type(v).__name__}")
    return tuple(out)


def parse_principal_value(
    kind_key: str, value: str, problems: list, label: str, exact: bool = False
) -> Principal:
    """One principal. exact (a Deny's Principal): only text IAM itself would match counts; padded,
    look-alike or partly wildcarded text is `unknown`, which a Deny never hits with. Otherwise
    (an Allow's Principal, any NotPrincipal) trimmed, and partial wildcards read as any principal."""
    why = inexact(value)
    if why:
        problems.append(inexact_problem("principal", value, why, label, narrows=exact))
        if exact:
            return Principal("unknown", value)
    if kind_key == "Service":
        return Principal("service", value if exact else ascii_lower(value.strip()))
    if kind_key == "Federated":
        return Principal("federated", value)
    if kind_key == "CanonicalUser":
        return Principal("canonical_user", value)
    v = value if exact else value.strip()
    if v == "*":
        return Principal("any", "*")
    if ecr.is_account_id(v):
        return Principal("account", v, v)
    m = _ARN.fullmatch(v)
    wildcard_what = None
    if m:
        account, rest = m.group(3), m.group(4)
        if account in ("", "*") or "*" in v:
            wildcard_what = "wildcard in principal ARN"
        elif m.group(2) == "iam" and rest == "root":
            return Principal("account", account, account)
        else:
            return Principal("arn", v, account)
    elif _UNIQUE_ID.fullmatch(v):
        return Principal("unique_id", v)
    elif "*" in v:
        wildcard_what = "wildcard principal"
    if wildcard_what:
        # IAM matches no partial wildcard in a principal: a Deny naming one hits nobody provably.
        if exact:
            problems.append(
                Problem(
                    "unrecognized_principal",
                    f"{wildcard_what} {v!r} in a Deny: IAM does not match partial wildcards "
                    "in principals, so the Deny is not counted for it",
                    label,
                    v,
                )
            )
            return Principal("unknown", v)
        problems.append(
            Problem("unrecognized_principal", f"{wildcard_what} {v!r}: treated as any principal", label, v)
        )
        return Principal("any", "*")
    problems.append(
        Problem("unrecognized_principal", f"principal {v!r} is not an account, ARN or unique id", label, v)
    )
    return Principal("unknown", v)


def _principals(value, problems: list, label: str, exact: bool = False) -> tuple[Principal, ...]:
    if value == "*":
        return (Principal("any", "*"),)
    if not isinstance(value, dict) or not value:
        raise _Invalid(f'Principal must be "*" or an object, got {type(value).__name__}')
    out = []
    for kind_key, raw in value.items():
        if kind_key not in ("AWS", "Service", "Federated", "CanonicalUser"):
            raise _Invalid(f"unknown principal type {kind_key!r}")
        for v in _strings(raw, f"Principal.{kind_key}"):
            out.append(parse_principal_value(kind_key, v, problems, label, exact))
    return tuple(out)


def split_operator(operator: str) -> tuple[str, str | None, bool]:
    """("ForAnyValue:StringLikeIfExists") -> ("stringlike", "foranyvalue", True); unknown base -> "unknown".
    Not trimmed, A-Z folded only: an operator IAM would not read never narrows and never denies."""
    op = operator
    qualifier = None
    if ":" in op:
        q, op = op.split(":", 1)
        qualifier = ascii_lower(q)
        if qualifier not in ("foranyvalue", "forallvalues"):
            return "unknown", qualifier, False
    low = ascii_lower(op)
    if_exists = low.endswith("ifexists") and low != "ifexists"
    if if_exists:
        low = low[: -len("ifexists")]
    if low not in _OPERATORS or (if_exists and low == "null"):
        return "unknown", qualifier, if_exists
    return low, qualifier, if_exists


def _conditions(value, problems: list, label: str) -> tuple[Condition, ...]:
    if not isinstance(value, dict):
        raise _Invalid(f"Condition must be an object, got {type(value).__name__}")
    out = []
    for operator, block in value.items():
        if not isinstance(block, dict):
            raise _Invalid(f"Condition {operator!r} must map keys to values")
        base, qualifier, if_exists = split_operator(operator)
        if base == "unknown":
            problems.append(
                Problem(
                    "unknown_condition_operator",
                    f"condition operator {operator!r} is not an IAM operator; it never narrows "
                    "an Allow and a Deny guarded by it is treated as not applying",
                    label,
                    operator,
                )
            )
        for key, raw in block.items():
            out.append(
                Condition(
                    operator,
                    base,
                    qualifier,
                    if_exists,
                    ascii_lower(str(key)),
                    str(key),
                    _condition_values(raw),
                )
            )
    return tuple(out)


def _actions(st: dict, effect: str, problems: list, label: str) -> tuple[frozenset[str], str]:
    has_a, has_na = "Action" in st, "NotAction" in st
    if has_a == has_na:
        raise _Invalid("a statement needs exactly one of Action or NotAction")
    element = "Action" if has_a else "NotAction"
    patterns = _strings(st[element], element)
    # Exact where matching less keeps grants wider: a Deny's Action, an Allow's NotAction.
    exact = (effect == "Deny") == has_a
    matched: set[str] = set()
    for p in patterns:
        m = match_actions(p, exact=exact)
        why = inexact(p)
        if why:
            problems.append(inexact_problem(f"{effect} {element}", p, why, label, narrows=exact))
        elif not m and ascii_lower(p).startswith("ecr:"):
            problems.append(Problem("unknown_action", f"{p!r} matches no ECR action", label, p))
        matched |= m
    if has_na:
        return frozenset(all_actions()) - matched, "NotAction: " + ", ".join(patterns)
    return frozenset(matched), ", ".join(patterns)


def _statement(index: int, st, problems: list, identity: bool = False) -> Statement:
    if not isinstance(st, dict):
        raise _Invalid(f"statement must be an object, got {type(st).__name__}")
    sid = st.get("Sid", "")
    sid = sid if isinstance(sid, str) else json.dumps(sid)
    label = sid or f"#{index}"
    for key in st:
        if key not in _STATEMENT_KEYS:
            problems.append(
                Problem(
                    "unknown_element",
                    f"statement element {key!r} is not IAM grammar and is ignored",
                    label,
                    str(key),
                )
            )
    effect = st.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise _Invalid(f'Effect must be "Allow" or "Deny", got {effect!r}')
    has_p, has_np = "Principal" in st, "NotPrincipal" in st
    if identity:
        # Identity policies and SCPs name no principal: the statement applies to whoever holds it.
        if has_p or has_np:
            raise _Invalid("an identity-policy statement cannot have Principal or NotPrincipal")
        has_p, st = True, {**st, "Principal": "*"}
    if has_p == has_np:
        raise _Invalid("a resource-policy statement needs exactly one of Principal or NotPrincipal")
    principals = _principals(st["Principal"], problems, label, exact=effect == "Deny") if has_p else None
    not_principals = _principals(st["NotPrincipal"], problems, label) if has_np else None
    actions, action_text = _actions(st, effect, problems, label)
    resources = _strings(st["Resource"], "Resource") if "Resource" in st else None
    if effect == "Deny":
        for r in resources or ():
            why = inexact(r)
            if why:
                problems.append(inexact_problem("Deny Resource", r, why, label, narrows=True))
    not_resources = _strings(st["NotResource"], "NotResource") if "NotResource" in st else None
    conditions = _conditions(st["Condition"], problems, label) if "Condition" in st else ()
    return Statement(
        index,
        sid,
        effect,
        principals,
        not_principals,
        actions,
        action_text,
        resources,
        not_resources,
        conditions,
    )


@lru_cache(maxsize=131072)
def parse_policy(text, identity: bool = False) -> ParsedPolicy:
    """Parse one policy document (cached by text: identical policies are parsed once).

    identity: an identity policy, permissions boundary or SCP — statements name no principal and
    apply to the principal that holds the policy (read as `Principal: "*"`)."""
    problems: list[Problem] = []

    def fail(message: str) -> ParsedPolicy:
        return ParsedPolicy(None, (), tuple(problems) + (Problem("unparseable", message),), False)

    if not isinstance(text, str) or not text.strip():
        return fail("policy text is empty or not a string")
    if len(text) > MAX_POLICY_CHARS:
        return fail(f"policy text is {len(text)} characters (limit {MAX_POLICY_CHARS})")
    try:
        doc, repeated = jsondoc.loads(text)
    except RecursionError:
        return fail("policy JSON is nested too deeply to parse")
    except ValueError as exc:
        return fail(f"invalid JSON: {exc}")
    if not isinstance(doc, dict):
        return fail(f"policy must be a JSON object, got {type(doc).__name__}")
    conflicting = False
    for path, key, same in repeated:
        where = path or "the policy"
        if same:
            problems.append(
                Problem(
                    "duplicate_key_same_value",
                    f"key {key!r} appears more than once in "
                    f"{where}, with the same value each time; remove the copies",
                    _statement_label(path, doc),
                    key,
                )
            )
            continue
        conflicting = True
        problems.append(
            Problem(
                "duplicate_key",
                f"key {key!r} appears more than once in {where} with "
                "different values; IAM does not document which one counts, so every grant "
                "of this policy is undetermined",
                _statement_label(path, doc),
                key,
            )
        )
    version = doc.get("Version")
    if version is not None and version not in VERSIONS:
        problems.append(Problem("unknown_version", f"Version {version!r} is not 2012-10-17 or 2008-10-17"))
    for key in doc:
        if key not in ("Version", "Id", "Statement"):
            problems.append(
                Problem(
                    "unknown_element",
                    f"policy element {key!r} is not IAM grammar and is ignored",
                    subject=str(key),
                )
            )
    raw = doc.get("Statement")
    if isinstance(raw, dict):
        raw = [raw]
    if not isinstance(raw, list):
        return fail("Statement must be an object or a list of objects")
    if len(raw) > MAX_STATEMENTS:
        return fail(f"{len(raw)} statements (limit {MAX_STATEMENTS})")
    statements = []
    ok = True
    for i, st in enumerate(raw):
        try:
            statements.append(_statement(i, st, problems, identity))
        except (_Invalid, RecursionError) as exc:
            is_deny = isinstance(st, dict) and st.get("Effect") == "Deny"
            label = (
                st.get("Sid") if isinstance(st, dict) and isinstance(st.get("Sid"), str) else ""
            ) or f"#{i}"
            what = (
                "ignored (a Deny left out can only widen grants)"
                if is_deny
                else "the policy's grants are undetermined"
            )
            problems.append(Problem("invalid_statement", f"{exc}; {what}", label))
            ok = ok and is_deny
    if not ok:
        problems.append(Problem("unparseable", "an Allow statement could not be read; grants undetermined"))
    return ParsedPolicy(version, tuple(statements), tuple(problems), ok and not conflicting)


def _statement_label(path: str, doc: dict) -> str:
    """Sid (or #index) of the statement a JSON path lies in ("" outside statements)."""
    m = re.match(r"Statement(?:\[(\d+)\])?(?:\.|\[|$)", path)
    if not m:
        return ""
    raw = doc.get("Statement")
    st = raw[int(m.group(1))] if m.group(1) and isinstance(raw, list) else raw
    sid = st.get("Sid") if isinstance(st, dict) else None
    return sid if isinstance(sid, str) and sid else f"#{m.group(1) or 0}"
