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
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

from .actions import glob_regex
from .policy import Condition

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
_OTHER_KEYS = frozenset({
    "aws:tagkeys", "aws:securetransport", "aws:currenttime", "aws:epochtime", "aws:multifactorauthpresent",
    "aws:multifactorauthage", "aws:principaltype", "aws:userid", "aws:username", "aws:principalisawsservice",
    "aws:principalservicename", "aws:principalservicenameslist", "aws:viaawsservice", "aws:calledvia",
    "aws:calledviafirst", "aws:calledvialast", "aws:referer", "aws:useragent", "aws:requestedregion",
    "aws:tokenissuetime", "aws:sourceidentity", "aws:resourceaccount", "aws:resourceorgid",
    "aws:resourceorgpaths", "aws:federatedprovider", "aws:ec2instancesourcevpc",
    "aws:ec2instancesourceprivateipv4", "aws:sourcevpcarn", "aws:isawsservice", "aws:sourceservicename",
})
_OTHER_PREFIXES = ("aws:resourcetag/", "ecr:resourcetag/", "aws:requesttag/", "aws:principaltag/")

POSITIVE = frozenset({"stringequals", "stringequalsignorecase", "stringlike", "arnequals", "arnlike"})
NEGATED = frozenset({"stringnotequals", "stringnotequalsignorecase", "stringnotlike", "arnnotequals",
                     "arnnotlike"})
_ACCOUNT = re.compile(r"^\d{12}$")


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


def key_class(key: str) -> str:
    k = key.lower()
    if k in IDENTITY_KEYS:
        return "identity"
    if k in NETWORK_KEYS:
        return "network"
    if k in _OTHER_KEYS or k.startswith(_OTHER_PREFIXES):
        return "other"
    return "unknown"


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def identity_atom(key: str, value: str, wildcards: bool) -> Grantee:
    """The audience one value of an identity key names (PUBLIC when it confines nothing)."""
    kind, is_source = IDENTITY_KEYS[key]
    v = value.strip()
    tie = v if is_source else None
    if kind == "org":
        return PUBLIC if wildcards and _has_wildcard(v) else Grantee("org", v, tied_to=tie)
    if kind == "orgpath":
        first = v.split("/", 1)[0]
        if not first.startswith("o-") or (wildcards and _has_wildcard(first)):
            return PUBLIC
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
            try:
                if ipaddress.ip_network(v.strip(), strict=False).prefixlen == 0:
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


def _atoms(cond: Condition) -> tuple[Grantee, ...]:
    wildcards = cond.base in ("stringlike", "arnlike", "stringnotlike", "arnnotlike", "arnequals",
                              "arnnotequals")
    return tuple(dict.fromkeys(identity_atom(cond.key, v, wildcards) for v in cond.values))


def for_allow(cond: Condition) -> Effect:
    cls = key_class(cond.key)
    if cond.base == "unknown" or cls == "unknown":
        return Effect("none", cond.key, known=False)
    plain = not cond.if_exists and cond.qualifier in (None, "foranyvalue")
    if cls == "identity" and cond.base in POSITIVE and plain:
        atoms = _atoms(cond)
        return Effect("none", cond.key) if PUBLIC in atoms else Effect("confine", cond.key, atoms)
    if cls == "network" and plain and not _network_is_open(cond) and (
            cond.base in POSITIVE or cond.base == "ipaddress"):
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
            return Effect("except", cond.key, _atoms(cond))
        if cond.base in POSITIVE and cond.qualifier in (None, "foranyvalue"):
            atoms = _atoms(cond)
            return Effect("none", cond.key) if PUBLIC in atoms else Effect("only", cond.key, atoms)
        return Effect("none", cond.key)
    if cls == "network" and cond.qualifier in (None, "forallvalues") and (
            cond.base in NEGATED or cond.base == "notipaddress") and not _network_is_open(cond):
        return Effect("network", cond.key)
    return Effect("none", cond.key)


def arn_matches(pattern: str, arn: str) -> bool:
    return bool(glob_regex(pattern).match(arn))


def is_account_id(value: str | None) -> bool:
    return bool(value) and bool(_ACCOUNT.match(value))
