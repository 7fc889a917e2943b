"""What a condition does to the audience of a statement.

Classes of condition keys (keys are case-insensitive, compared lower-case):

- identity: the key names who the caller is or on whose behalf a service acts —
  aws:PrincipalOrgID, aws:PrincipalOrgPaths, aws:PrincipalAccount, aws:PrincipalArn,
  aws:SourceAccount, aws:SourceOwner, aws:SourceArn, aws:SourceOrgID, aws:SourceOrgPaths.
  A positive test (StringEquals/Like, ArnEquals/Like, without IfExists, without ForAllValues)
  confines an Allow to the values named. Negated tests confine nothing in an Allow ("anyone
  but X"); in a Deny they are the usual "deny everyone except X" guard.
- network: aws:SourceVpce, aws:SourceVpc, aws:SourceIp, aws:VpcSourceIp. They narrow *where
  from* a request may come, not *who* makes it: anyone who can reach the endpoint or address
  range still gets in. We keep the exposure (a public grant stays public), list the key in
  restricted_by, and lower the severity one step.
- other: known global/ECR keys that neither confine identity nor network (tags, time, MFA,
  transport, ...). They never narrow a grant here.
- unknown: a key we do not know. It never narrows a grant, and is reported as a finding.

Pitfalls encoded here: IfExists passes when the key is absent (service principals and
anonymous callers lack aws:PrincipalOrgID), so an IfExists test confines nothing; ForAllValues
is true for an absent key, so it confines nothing either; wildcard values that leave the
account or organization open confine nothing.

One-sided reading of values (issue 12 #8): an Allow's values are trimmed (the wider audience); a
Deny's positive test counts only the values IAM could match exactly, and a Deny whose exception
list (a negated test) holds inexact text is not counted at all — what that text spares is unknown.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .. import wildcard
from .policy import Condition, inexact

IDENTITY_KEYS = {
    "aws:principalorgid": ("org", False),
    "aws:principalorgpaths": ("orgpath", False),
    "aws:principalaccount": ("account", False),
    "aws:principalarn": ("arn", False),
    "aws:sourceaccount": ("account", True),
    "aws:sourceowner": ("account", True),
    "aws:sourcearn": ("arn", True),
    "aws:sourceorgid": ("org", True),
    "aws:sourceorgpaths": ("orgpath", True),
}
SOURCE_KEYS = frozenset(k for k, (_, src) in IDENTITY_KEYS.items() if src)
NETWORK_KEYS = frozenset({"aws:sourcevpce", "aws:sourcevpc", "aws:sourceip", "aws:vpcsourceip"})
_OTHER_KEYS = frozenset(
    {
        "aws:tagkeys",
        "aws:securetransport",
        "aws:currenttime",
        "aws:epochtime",
        "aws:multifactorauthpresent",
        "aws:multifactorauthage",
        "aws:principaltype",
        "aws:userid",
        "aws:username",
        "aws:principalisawsservice",
        "aws:principalservicename",
        "aws:principalservicenameslist",
        "aws:viaawsservice",
        "aws:calledvia",
        "aws:calledviafirst",
        "aws:calledvialast",
        "aws:referer",
        "aws:useragent",
        "aws:requestedregion",
        "aws:tokenissuetime",
        "aws:sourceidentity",
        "aws:resourceaccount",
        "aws:resourceorgid",
        "aws:resourceorgpaths",
        "aws:federatedprovider",
        "aws:ec2instancesourcevpc",
        "aws:ec2instancesourceprivateipv4",
        "aws:sourcevpcarn",
        "aws:isawsservice",
        "aws:sourceservicename",
    }
)
_OTHER_PREFIXES = ("aws:resourcetag/", "ecr:resourcetag/", "aws:requesttag/", "aws:principaltag/")

POSITIVE = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})
NEGATED = frozenset(
    {"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals", "arnnotlike"}
)


@dataclass(frozen=True)
class Grantee:
    """One audience atom.

    kind: public | org | account | principal | service | federated | canonical_user | unknown.
    `account_id` is the account for account/principal grantees and the tied account of a
    service; `tied_to` is the Source* value that ties a service to a resource or account.
    """

    kind: str
    value: str
    account_id: str | None = None
    tied_to: str | None = None


PUBLIC = Grantee("public", "*")
# Every AWS service principal (what aws:PrincipalIsAWSService = true selects).
ANY_SERVICE = Grantee("service", "*")


def key_class(key: str) -> str:
    k = wildcard.ascii_lower(key)
    if k in IDENTITY_KEYS:
        return "identity"
    if k in NETWORK_KEYS:
        return "network"
    if k in _OTHER_KEYS or k.startswith(_OTHER_PREFIXES):
        return "other"
    return "unknown"


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def identity_atom(key: str, value: str, wildcards: bool, exact: bool = False) -> Grantee | None:
    """The audience one value of an identity key names (PUBLIC when it confines nothing).

    Not exact (an Allow's confining test, a Deny's exceptions): a superset of what IAM matches —
    trimmed, an OU path as its whole organization, an ARN pattern or a condition value naming
    `:root` as its whole account. exact (whom a Deny hits): a subset — the value as IAM compares
    it, None when no identity can be shown to match it (inexact text, a path below the
    organization), a root or wildcard ARN only the principals it matches."""
    kind, is_source = IDENTITY_KEYS[key]
    if exact and inexact(value):
        return None
    v = value if exact else value.strip()
    if not wildcards and _has_wildcard(v):
        # StringEquals compares literally: no organization id, account id or ARN contains `*` or
        # `?`, so the value matches nobody (docs/access.md#literal-wildcards-in-equality-tests).
        return None
    tie = v if is_source else None
    if kind == "org":
        return PUBLIC if wildcards and _has_wildcard(v) else Grantee("org", v, tied_to=tie)
    if kind == "orgpath":
        first, _, below = v.partition("/")
        if not first.startswith("o-") or (wildcards and _has_wildcard(first)):
            return PUBLIC
        if exact and not (wildcards and below == "*"):
            return None  # an OU path covers part of the organization: which accounts, unknown
        return Grantee("org", first, tied_to=first if is_source else None)
    if kind == "account":
        return PUBLIC if wildcards and _has_wildcard(v) else Grantee("account", v, v, tied_to=tie)
    # ARN: arn:partition:service:region:account:resource
    parts = v.split(":", 5)
    if len(parts) < 6:
        return PUBLIC if (wildcards and _has_wildcard(v)) else Grantee("principal", v, None)
    account = parts[4]
    if wildcards and _has_wildcard(account):
        return PUBLIC
    if account == "":
        # A resource ARN without an account (an S3 bucket): ties a service to that resource only.
        return Grantee("resource", v) if is_source else PUBLIC
    if is_source:
        return Grantee("account", account, account, tied_to=v)
    if exact:
        # aws:PrincipalArn is the caller's own ARN: `:root` is the root user alone, a pattern only
        # the principals it matches (evaluate.covers matches it part by part); StringEquals has no
        # wildcards, and no IAM name holds `*` or `?`.
        return Grantee("principal", v, account) if wildcards or not _has_wildcard(v) else None
    if parts[2] == "iam" and parts[5] == "root" and not _has_wildcard(v):
        return Grantee("account", account, account)
    if wildcards and _has_wildcard(v):
        return Grantee("account", account, account)
    return Grantee("principal", v, account)


def _network_is_open(cond: Condition) -> bool:
    """True when a network test admits everything (0.0.0.0/0, ::/0, `*`)."""
    for v in cond.values:
        if v.strip() in ("*", ""):
            return True
        if cond.key in ("aws:sourceip", "aws:vpcsourceip"):
            try:  # not trimmed: a range IAM could not read restricts nothing
                if ipaddress.ip_network(v, strict=False).prefixlen == 0:
                    return True
            except ValueError:
                return True  # unreadable range: assume it admits everything
    return False


@dataclass(frozen=True)
class Effect:
    """How one condition acts. role:
    - confine: positive identity test; `atoms` is the audience (OR over values)
    - network: narrows reachability (Allow: positive test; Deny: negated test)
    - except: (Deny) negated identity test; the Deny spares `atoms`
    - only:   (Deny) positive identity test; the Deny hits only `atoms`
    - none:   does not narrow (Allow) / cannot be shown to apply (Deny)
    """

    role: str
    key: str
    atoms: tuple[Grantee, ...] = ()
    known: bool = True


_WILDCARD_OPERATORS = frozenset(
    {"stringlike", "arnlike", "stringnotlike", "arnnotlike", "arnequals", "arnnotequals"}
)


def _atoms(cond: Condition, exact: bool = False) -> tuple[Grantee, ...]:
    wildcards = cond.base in _WILDCARD_OPERATORS
    atoms = (identity_atom(cond.key, v, wildcards, exact) for v in cond.values)
    return tuple(dict.fromkeys(a for a in atoms if a is not None))


def unmatchable_values(cond: Condition) -> list[str]:
    """Values of an identity test that compares literally (StringEquals, StringNotEquals and their
    IgnoreCase forms) yet hold `*` or `?`: no real identity has such a value."""
    literal = cond.base in POSITIVE | NEGATED and cond.base not in _WILDCARD_OPERATORS
    if not literal or key_class(cond.key) != "identity":
        return []
    return [v for v in cond.values if _has_wildcard(v.strip())]


def inexact_values(cond: Condition) -> list[tuple[str, str]]:
    """(value, why) for the values of an identity or network test that are not exact IAM text."""
    if key_class(cond.key) not in ("identity", "network"):
        return []
    return [(v, why) for v in cond.values if (why := inexact(v))]


def for_allow(cond: Condition) -> Effect:
    cls = key_class(cond.key)
    if cond.base == "unknown" or cls == "unknown":
        return Effect("none", cond.key, known=False)
    plain = not cond.if_exists and cond.qualifier in (None, "foranyvalue")
    if cls == "identity" and cond.base in POSITIVE and plain:
        atoms = _atoms(cond)
        return Effect("none", cond.key) if PUBLIC in atoms else Effect("confine", cond.key, atoms)
    if (
        cls == "network"
        and plain
        and not _network_is_open(cond)
        and (cond.base in POSITIVE or cond.base == "ipaddress")
    ):
        return Effect("network", cond.key)
    return Effect("none", cond.key)


def for_deny(cond: Condition) -> Effect:
    cls = key_class(cond.key)
    if cond.base == "unknown" or cls == "unknown":
        return Effect("none", cond.key, known=False)
    if cls == "identity":
        # Negated operators are true when the key is absent, so the Deny also hits callers
        # without the key (anonymous, services). ForAnyValue + negated is false then: unproven.
        if cond.base in NEGATED and cond.qualifier in (None, "forallvalues"):
            if inexact_values(cond):
                return Effect("none", cond.key)  # whom inexact text spares is unknown: not proven
            return Effect("except", cond.key, _atoms(cond))
        if cond.base in POSITIVE and cond.qualifier in (None, "foranyvalue"):
            atoms = _atoms(cond, exact=True)
            if not atoms or PUBLIC in atoms:
                return Effect("none", cond.key)
            return Effect("only", cond.key, atoms)
        return Effect("none", cond.key)
    if (
        cls == "network"
        and cond.qualifier in (None, "forallvalues")
        and (cond.base in NEGATED or cond.base == "notipaddress")
        and not _network_is_open(cond)
    ):
        return Effect("network", cond.key)
    return Effect("none", cond.key)


def arn_matches(pattern: str, arn: str, *, exact: bool = False) -> bool:
    """Does ARN `pattern` (`*`, `?` wildcards) match `arn`?

    exact (a Deny must prove it applies): IAM's ArnLike — each of the six colon-separated parts
    matched on its own, case-sensitively [IAM docs reference_policies_elements_condition_operators,
    "Amazon Resource Name (ARN) condition operators"]. Otherwise the wider reading: wildcards may
    span colons and ASCII letters (and their look-alikes) match in any case."""
    if not exact:
        return wildcard.match(pattern, arn, case=wildcard.LOOSE)
    p, a = pattern.split(":", 5), arn.split(":", 5)
    return len(p) == len(a) == 6 and all(wildcard.match(x, y) for x, y in zip(p, a))
