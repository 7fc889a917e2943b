"""Weigh the statements of resource policies into effective grants ("pieces").

A piece is one grantee with the actions it is allowed after every applicable Deny, plus the
condition keys that narrowed it. The algebra is deliberately one-sided: whenever we cannot
prove that a condition narrows an Allow, or that a Deny applies, we assume the wider outcome.
So the result may over-state access, never under-state it (property-tested).

Allow: principals × confining conditions (intersection), actions as resolved by the parser.
Deny:  hits a grantee when its principal covers it, every `only` condition covers it, and it is
       outside every `except` audience. A Deny that hits only part of a public grantee
       (everyone except our organization) replaces it, for the denied actions, by the part it
       spares. A Deny guarded by a negated network test leaves the grant reachable only from
       that network. A Deny with any condition we cannot place (tags, time, unknown) is skipped.
       Whether a Deny covers a principal or a resource ARN is decided by IAM's exact matching
       (case-sensitive, part by part); an Allow's confining ARN patterns match leniently.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .actions import NO_EFFECT, REGISTRY_V1_ACTIONS, all_actions
from .conditions import (
    ANY_SERVICE,
    NEGATED,
    PUBLIC,
    Grantee,
    arn_matches,
    for_allow,
    for_deny,
    inexact_values,
    unmatchable_values,
)
from .policy import ParsedPolicy, Principal, Problem, Statement, inexact_problem


@dataclass(frozen=True)
class OrgView:
    """What the snapshot knows about the organization."""

    org_id: str | None
    account_ids: frozenset[str] = frozenset()

    def member(self, account: str | None, org: str) -> bool | None:
        """Is `account` in organization `org`? None when the snapshot cannot tell."""
        if not account or not self.org_id:
            return None
        if org == self.org_id:
            return account in self.account_ids
        return False if account in self.account_ids else None


@dataclass(frozen=True)
class Piece:
    grantee: Grantee
    actions: frozenset[str]
    restricted_by: frozenset[str] = frozenset()
    network: frozenset[str] = frozenset()
    conditions: tuple[str, ...] = ()
    sids: tuple[str, ...] = ()


@dataclass
class Evaluation:
    pieces: list[Piece] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    dangling: list[tuple[str, str]] = field(default_factory=list)  # (unique id, statement label)


def principal_grantee(p: Principal) -> Grantee | None:
    if p.kind == "any":
        return PUBLIC
    if p.kind == "account":
        return Grantee("account", p.account_id, p.account_id)
    if p.kind == "arn":
        return Grantee("principal", p.value, p.account_id)
    if p.kind == "service":
        return Grantee("service", p.value)
    if p.kind in ("federated", "canonical_user", "unknown"):
        return Grantee(p.kind, p.value)
    return None  # unique_id: a deleted principal, grants nothing


# -- the algebra -------------------------------------------------------------------------------


def intersect(g: Grantee, a: Grantee, org: OrgView) -> Grantee | None:
    """The part of grantee `g` that audience `a` admits; a superset when membership is unknown.

    Atoms from aws:Source* keys carry `tied_to`: they tie a service to an account or resource.
    """
    if a.kind == "public" or g == a:
        return g
    source = a.tied_to is not None or a.kind == "resource"
    if g.kind == "public":
        if a.kind == "resource":
            return Grantee("service", "*", None, tied_to=a.value)
        return replace(a, tied_to=None) if source else a
    if g.kind == "service":
        if source:
            if g.tied_to and g.account_id and a.kind in ("account", "org"):
                # Already tied to an account: a tie elsewhere (another account, an organization the
                # account is not in) leaves nothing.
                if (a.kind == "account" and a.account_id != g.account_id) or (
                    a.kind == "org" and org.member(g.account_id, a.value) is False
                ):
                    return None
                if a.kind == "org":
                    return g
            return replace(g, account_id=a.account_id, tied_to=a.tied_to or a.value)
        return g  # aws:Principal* keys are absent for service calls: keep (wider)
    if source:
        return g  # direct calls carry no aws:Source* key: keep (wider)
    if g.kind == "org":
        if a.kind == "org":
            return g if a.value == g.value else None
        if a.kind in ("account", "principal"):
            return None if org.member(a.account_id, g.value) is False else a
        return g
    if g.kind in ("account", "principal"):
        if a.kind == "org":
            return None if org.member(g.account_id, a.value) is False else g
        if a.kind == "account":
            return g if g.account_id == a.account_id else None
        if a.kind == "principal":
            if g.kind == "account":
                return a if a.account_id == g.account_id else None
            return g if arn_matches(a.value, g.value) else None
        return g
    return g


def covers(outer: Grantee, g: Grantee, org: OrgView, strict: bool) -> bool:
    """Is all of `g` inside `outer`? When the snapshot cannot tell, answer `not strict`."""
    if outer.kind == "public" or outer == g:
        return True
    if g.kind == "public":
        return False
    if outer.tied_to is not None or outer.kind == "resource":
        if g.kind == "service" and g.tied_to:
            # A tie to a whole account (aws:SourceAccount) covers every tie into it; a tie to one
            # resource (aws:SourceArn) provably covers only that resource.
            whole_account = outer.kind == "account" and (not strict or outer.tied_to == outer.account_id)
            return g.tied_to == (outer.tied_to or outer.value) or (
                whole_account and g.account_id == outer.account_id
            )
        return not strict
    if outer == ANY_SERVICE:
        return g.kind == "service"  # aws:PrincipalIsAWSService: every service principal, nobody else
    if g.kind == "service":
        return not strict  # service calls lack aws:Principal* keys; whether a Deny hits them is unproven
    if outer.kind == "org":
        if g.kind == "org":
            return g.value == outer.value
        member = org.member(g.account_id, outer.value)
        return (not strict) if member is None else member
    if outer.kind == "account":
        return g.kind in ("account", "principal") and g.account_id == outer.account_id
    if outer.kind == "principal":
        return g.kind == "principal" and arn_matches(outer.value, g.value, exact=strict)
    return not strict


def _with_atoms(value_atoms, g: Grantee, org: OrgView) -> list[Grantee]:
    out = []
    for a in value_atoms:
        r = intersect(g, a, org)
        if r is not None and r not in out:
            out.append(r)
    return out


def allow_pieces(st: Statement, scope_actions: frozenset[str], ev: Evaluation, org: OrgView) -> list[Piece]:
    actions = (st.actions & scope_actions) - NO_EFFECT
    if not actions:
        return []
    conds = tuple(c.text for c in st.conditions)
    if st.principals is None:
        # Allow + NotPrincipal: everyone except those named — public.
        names = ", ".join(p.value for p in st.not_principals or ())
        grantees = [PUBLIC]
        conds = conds + (f"NotPrincipal [{names}]",)
    else:
        grantees = []
        for p in st.principals:
            if p.kind == "unique_id":
                ev.dangling.append((p.value, st.label))
            g = principal_grantee(p)
            if g is not None and g not in grantees:
                grantees.append(g)
    restricted: set[str] = set()
    network: set[str] = set()
    for c in st.conditions:
        _report_inexact(c, st, ev, narrows=False)
        eff = for_allow(c)
        if not eff.known and c.base != "unknown":  # unknown operators are reported by the parser
            ev.problems.append(
                Problem(
                    "unknown_condition_key",
                    f"condition key {c.key_as_written!r} is not known; the test is treated "
                    "as not narrowing the Allow",
                    st.label,
                    c.key_as_written,
                )
            )
        _report_unmatchable(c, st, ev)
        if eff.role == "confine":
            grantees = [r for g in grantees for r in _with_atoms(eff.atoms, g, org)]
            grantees = list(dict.fromkeys(grantees))
            restricted.add(c.key_as_written)
        elif eff.role == "network":
            network.add(c.key_as_written)
    return [
        Piece(g, actions, frozenset(restricted), frozenset(network), conds, (st.label,)) for g in grantees
    ]


def _report_unmatchable(c, st: Statement, ev: Evaluation) -> None:
    for value in unmatchable_values(c):
        outcome = (
            "the Allow grants nobody through it"
            if st.effect == "Allow"
            else "the test is true for everyone (the Deny spares nobody through it)"
            if c.base in NEGATED
            else "the Deny hits nobody through it"
        )
        ev.problems.append(
            Problem(
                "unmatchable_condition_value",
                f"{c.operator} compares {c.key_as_written} literally and no identity has the value "
                f"{value!r}: {outcome}; a wildcard needs StringLike",
                st.label,
                value,
            )
        )


def _report_inexact(c, st: Statement, ev: Evaluation, narrows: bool) -> None:
    for value, why in inexact_values(c):
        ev.problems.append(
            inexact_problem(
                f"{st.effect} condition {c.key_as_written}", value, why, st.label, narrows=narrows
            )
        )


@dataclass(frozen=True)
class DenyRule:
    label: str
    actions: frozenset[str]
    only: tuple[tuple[Grantee, ...], ...]  # each tuple: an audience the grantee must fall in
    excepted: tuple[Grantee, ...]  # the Deny spares these
    network: frozenset[str]
    keys: frozenset[str]
    resources: tuple[str, ...] | None
    text: str = ""


def deny_rule(st: Statement, ev: Evaluation) -> DenyRule | None:
    """A Deny we can prove applies to someone, or None (skipped: the wider outcome)."""
    only: list[tuple[Grantee, ...]] = []
    excepted: list[Grantee] = []
    network: set[str] = set()
    keys: set[str] = set()
    if st.not_resources is not None:
        return None
    if st.principals is not None:
        gs = tuple(g for g in (principal_grantee(p) for p in st.principals) if g is not None)
        if not gs:
            return None
        if PUBLIC not in gs:
            only.append(gs)
    else:
        excepted.extend(g for g in (principal_grantee(p) for p in st.not_principals or ()) if g is not None)
        keys.add("NotPrincipal")
    for c in st.conditions:
        _report_inexact(c, st, ev, narrows=True)
        _report_unmatchable(c, st, ev)
        eff = for_deny(c)
        if not eff.known:
            if c.base != "unknown":  # unknown operators are reported by the parser
                ev.problems.append(
                    Problem(
                        "unknown_condition_key",
                        f"condition key {c.key_as_written!r} is not known; the Deny is "
                        "treated as not applying",
                        st.label,
                        c.key_as_written,
                    )
                )
            return None
        if eff.role == "none":
            return None
        keys.add(c.key_as_written)
        if eff.role == "only":
            only.append(eff.atoms)
        elif eff.role == "except":
            excepted.extend(eff.atoms)
        elif eff.role == "network":
            network.add(c.key_as_written)
    text = "; ".join(c.text for c in st.conditions)
    if st.not_principals is not None:
        text = "; ".join(
            filter(None, [text, "NotPrincipal [" + ", ".join(p.value for p in st.not_principals) + "]"])
        )
    return DenyRule(
        st.label,
        st.actions,
        tuple(only),
        tuple(excepted),
        frozenset(network),
        frozenset(keys),
        st.resources,
        text,
    )


def resource_applies(rule: DenyRule, resource_arn: str | None) -> bool:
    """Does the Deny's Resource provably cover `resource_arn` (None: a registry or template)?"""
    if rule.resources is None or "*" in rule.resources:
        return True
    if resource_arn is None:
        return False  # registry or template scope: cannot show the Deny covers every repository
    return any(arn_matches(r, resource_arn, exact=True) for r in rule.resources)


def apply_deny(piece: Piece, rule: DenyRule, org: OrgView, spare_strict: bool = False) -> list[Piece]:
    """`piece` after `rule`. spare_strict: the Deny spares only who provably falls in an exception
    (the lower bound of organization.apply); by default whoever might."""
    hit = piece.actions & rule.actions
    if not hit:
        return [piece]
    g = piece.grantee
    if not all(any(covers(a, g, org, strict=True) for a in audience) for audience in rule.only):
        return [piece]
    if any(covers(e, g, org, strict=spare_strict) for e in rule.excepted):
        return [piece]
    out = []
    rest = piece.actions - hit
    if rest:
        out.append(replace(piece, actions=rest))
    note = (f"Deny {rule.label} when {rule.text}" if rule.text else f"Deny {rule.label}",)
    for e in rule.excepted:
        part = intersect(g, e, org)
        if part is not None:
            out.append(
                replace(
                    piece,
                    grantee=part,
                    actions=hit,
                    restricted_by=piece.restricted_by | (rule.keys - rule.network),
                    conditions=piece.conditions + note,
                    sids=piece.sids + (rule.label,),
                )
            )
    if rule.network:
        out.append(
            replace(
                piece,
                actions=hit,
                network=piece.network | rule.network,
                conditions=piece.conditions + note,
                sids=piece.sids + (rule.label,),
            )
        )
    return out


def apply_rules(pieces: list[Piece], rules, org: OrgView, resource_arn: str | None = None) -> list[Piece]:
    """`pieces` after every Deny of `rules` whose Resource covers `resource_arn`."""
    for rule in rules:
        if resource_applies(rule, resource_arn):
            pieces = [q for p in pieces for q in apply_deny(p, rule, org)]
    return pieces


def evaluate(
    policy: ParsedPolicy,
    org: OrgView,
    *,
    scope_actions: frozenset[str] | None = None,
    extra_denies: tuple[DenyRule, ...] = (),
    resource_arn: str | None = None,
) -> Evaluation:
    """Pieces granted by one parsed policy, after its own Denies and `extra_denies`."""
    ev = Evaluation(problems=list(policy.problems))
    scope = scope_actions if scope_actions is not None else frozenset(all_actions())
    pieces: list[Piece] = []
    rules = []
    for st in policy.statements:
        if st.effect == "Allow":
            pieces.extend(allow_pieces(st, scope, ev, org))
        else:
            rule = deny_rule(st, ev)
            if rule is not None:
                rules.append(rule)
    ev.pieces = apply_rules(pieces, list(rules) + list(extra_denies), org, resource_arn)
    return ev


def registry_scope_actions(scope: str | None) -> frozenset[str]:
    """Actions a registry policy governs: V1 only replication/pull-through/CreateRepository;
    V2 (and an unreadable scope, the wider assumption) every action."""
    if isinstance(scope, str) and scope.upper() == "V1":
        return REGISTRY_V1_ACTIONS
    return frozenset(all_actions())


def deny_rules(policy: ParsedPolicy, scope_actions: frozenset[str] | None = None) -> tuple[DenyRule, ...]:
    """The Denies of a (registry) policy, to subtract from repository grants."""
    ev = Evaluation()
    out = []
    for st in policy.statements:
        if st.effect == "Deny":
            rule = deny_rule(st, ev)
            if rule is not None:
                if scope_actions is not None:
                    rule = replace(rule, actions=rule.actions & scope_actions)
                out.append(rule)
    return tuple(out)
