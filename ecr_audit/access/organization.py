"""Organization policies on the way to a repository: RCPs cap what anyone may do to the resources of
a member account, SCPs cap what the principals of a member account may do (docs/access.md#effective-access).

`Organization(inv)` knows the OU tree, every SCP and RCP and where each is attached; `rcps(account)`
says whether and which RCPs apply to an account's resources (`effective_basis`), `scps(account)`
which SCPs cap its principals. `apply(pieces, policies, context, org, bound)` weighs the Deny
statements of those policies against grant pieces with the resource-policy machinery
(`evaluate.deny_rule` / `apply_deny`), after deciding first the conditions that only the request
can answer and the snapshot can still decide:

- `aws:ResourceTag/<key>` / `ecr:ResourceTag/<key>` against the repository's collected tags;
- `aws:PrincipalIsAWSService` against the grantee (a public grant is split into "any IAM principal"
  and "any AWS service principal", `split_public`, so both halves are decided);
- `Null` on identity keys where the grantee says whether the key is in the request.

`bound` is one-sided (the package rule: what cannot be proven narrows nothing): `upper` skips a
statement whose conditions cannot be decided (the wider outcome), `lower` assumes they hold; where
the two differ the analysis reports `undetermined`. `tags_hold` is `upper` with every tag test
taken as true: it shows what a tag exclusion spared (`rcp_excluded_by_tag`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from .. import wildcard
from .conditions import ANY_SERVICE, NEGATED, POSITIVE, PUBLIC, SOURCE_KEYS, Grantee, for_deny
from .evaluate import Evaluation, OrgView, Piece, apply_deny, deny_rule, resource_applies
from .policy import Condition, Statement, parse_policy

RCP, SCP = "RESOURCE_CONTROL_POLICY", "SERVICE_CONTROL_POLICY"
EFFECTIVE_BASES = (
    "rcp_applied",
    "management_account_exempt",
    "rcp_excluded_by_tag",
    "no_rcp_on_path",
    "rcp_unknown",
    "not_applicable",
)
SCP_BASES = (
    "scp_applied",
    "management_account_exempt",
    "service_linked_role",
    "no_scp_on_path",
    "scp_unknown",
    "not_applicable",
)
_TAG_PREFIXES = ("aws:resourcetag/", "ecr:resourcetag/")
_STRING_TESTS = frozenset(op for op in POSITIVE | NEGATED if op.startswith("string"))


@dataclass(frozen=True)
class OrgPolicy:
    """One SCP or RCP attached on a path; `statements` None when its text could not be read."""

    policy_id: str
    name: str
    where: str  # names from the root to where it is attached: "Root/prod"
    statements: tuple[Statement, ...] | None
    is_aws_managed: bool = False
    level: str = ""  # the root, OU or account id it is attached to

    @property
    def label(self) -> str:
        return f"{self.policy_id} {self.name} @ {self.where}"


@dataclass(frozen=True)
class Context:
    """What the snapshot knows of the resource: its ARN (None: a registry or template) and tags
    (None: unknown — not read, or a registry-wide grant covering repositories with any tags)."""

    resource_arn: str | None
    tags: tuple[tuple[str, str], ...] | None


def _text(v) -> str | None:
    return v if isinstance(v, str) else None


class Organization:
    """The organization policies of a snapshot, by account path."""

    def __init__(self, inv):
        meta = inv.meta.get("organization") or {}
        self.org_id = meta.get("id")
        self.management = meta.get("management_account_id")
        cov = inv.org_policy_coverage
        self.status = dict(zip(cov["policy_type"], cov["status"]))
        ous = inv.organizational_units
        self.names = {i: n for i, n in zip(ous["ou_id"], ous["name"]) if isinstance(n, str)}
        acc = inv.accounts
        self.paths = {a: p for a, p in zip(acc["account_id"], acc["ou_path"]) if isinstance(p, str) and p}
        self.names.update(
            {a: n for a, n in zip(acc["account_id"], acc["account_name"]) if isinstance(n, str)}
        )
        pol = inv.org_policies
        self.policies = {
            r.policy_id: (r.policy_type, _text(r.name) or r.policy_id, _text(r.policy_text), r.is_aws_managed)
            for r in pol.itertuples(index=False)
        }
        self.targets: dict[str, list[str]] = {}
        for pid, target in zip(inv.org_policy_targets["policy_id"], inv.org_policy_targets["target_id"]):
            self.targets.setdefault(target, []).append(pid)

    def path(self, account: str) -> list[str] | None:
        """Root, OUs and the account itself, top down; None when the account's place is unknown."""
        p = self.paths.get(account)
        return None if p is None else [*p.split("/"), account]

    def where(self, ids: list[str]) -> str:
        return "/".join(self.names.get(i, i) for i in ids)

    def on_path(self, account: str, policy_type: str) -> list[OrgPolicy] | None:
        path = self.path(account)
        if path is None:
            return None
        out = []
        for depth, level in enumerate(path):
            for pid in self.targets.get(level, ()):
                ptype, name, text, managed = self.policies.get(pid, (None, pid, None, None))
                if ptype != policy_type:
                    continue
                parsed = parse_policy(text, identity=policy_type == SCP) if text is not None else None
                statements = parsed.statements if parsed is not None and parsed.ok else None
                out.append(
                    OrgPolicy(pid, name, self.where(path[: depth + 1]), statements, bool(managed), level)
                )
        return out

    def _type_basis(self, policy_type: str, kind: str) -> str | None:
        """The basis when the type's status alone decides it (None: look at the path)."""
        status = self.status.get(policy_type)
        if not self.org_id or status == "not_an_organization":
            return "not_applicable"
        if status == "not_enabled":
            return f"no_{kind}_on_path"
        if status != "enabled":  # unreadable, pending, skipped, or a snapshot without the frame
            return f"{kind}_unknown"
        return None

    def rcps(self, account: str) -> tuple[str, list[OrgPolicy]]:
        """(effective_basis, the RCPs to weigh): RCPs never apply in the management account
        (docs/organization-policies.md#where-rcps-apply)."""
        basis = self._type_basis(RCP, "rcp")
        if basis == "not_applicable":
            return basis, []
        if account == self.management:
            return "management_account_exempt", []
        if basis:
            return basis, []
        policies = self.on_path(account, RCP)
        if policies is None:
            return "rcp_unknown", []
        custom = [p for p in policies if not p.is_aws_managed]
        if not custom:
            return "no_rcp_on_path", []
        if any(p.statements is None for p in custom):
            return "rcp_unknown", []
        return "rcp_applied", custom

    def scps(self, account: str, service_linked: bool = False) -> tuple[str, list[OrgPolicy]]:
        """(scp basis, every SCP on the path, full-access ones included: Allows count per level)."""
        basis = self._type_basis(SCP, "scp")
        if basis == "not_applicable":
            return basis, []
        if account == self.management:
            return "management_account_exempt", []
        if service_linked:
            return "service_linked_role", []
        if basis:
            return basis, []
        policies = self.on_path(account, SCP)
        if policies is None or any(p.statements is None for p in policies):
            return "scp_unknown", []
        if not policies:
            return "no_scp_on_path", []
        return "scp_applied", policies

    @property
    def has_perimeter(self) -> bool:
        """Some custom RCP is attached somewhere: the organization states a perimeter."""
        return any(
            ptype == RCP and not managed and pid in attached
            for attached in [{p for ps in self.targets.values() for p in ps}]
            for pid, (ptype, _, _, managed) in self.policies.items()
        )


def organization(inv) -> Organization:
    return inv.cached("access.organization", lambda: Organization(inv))


# -- deciding conditions the snapshot can answer ------------------------------------------------


def is_tag_key(key: str) -> bool:
    return key.startswith(_TAG_PREFIXES)


def _string_test(base: str, pattern: str, value: str) -> bool:
    if base.endswith("ignorecase"):
        return wildcard.ascii_lower(pattern) == wildcard.ascii_lower(value)
    if base in ("stringlike", "stringnotlike"):
        return wildcard.match(pattern, value)
    return pattern == value


def _tag_test(c: Condition, tags) -> bool | None:
    if tags is None or (c.base not in _STRING_TESTS and c.base != "null"):
        return None
    # Condition key names, the tag-key part included, are case-insensitive.
    name = c.key.split("/", 1)[1]
    values = {v for k, v in tags if wildcard.ascii_lower(k) == name}
    if len(values) > 1:
        return None  # two tags differing only in case: which one IAM reads is not documented
    lowered = {wildcard.ascii_lower(v) for v in c.values}
    if not values:
        if c.base == "null":
            return "true" in lowered
        if c.if_exists or c.qualifier == "forallvalues":
            return True
        return c.base.startswith("stringnot")
    (value,) = values
    if c.base == "null":
        return "false" in lowered
    hit = any(_string_test(c.base, p, value) for p in c.values)
    return not hit if c.base.startswith("stringnot") else hit


def _is_service(g: Grantee) -> bool:
    return g.kind == "service"


def _key_present(key: str, g: Grantee, org: OrgView) -> bool | None:
    """Is `key` in the request of grantee `g`? None when the grantee does not say."""
    if key == "aws:principalisawsservice":
        return True
    if key in SOURCE_KEYS:  # only a service acting for a resource sends them
        return (True if g.tied_to else None) if _is_service(g) else False
    if key in ("aws:principalaccount", "aws:principalarn", "aws:principaltype", "aws:userid"):
        return not _is_service(g)
    if key in ("aws:principalorgid", "aws:principalorgpaths"):
        if _is_service(g):
            return False
        if g.kind == "org":
            return g.value == org.org_id or None
        if g.kind in ("account", "principal"):
            return True if org.member(g.account_id, org.org_id or "") else None
    return None


def decide(c: Condition, g: Grantee, context: Context, org: OrgView) -> bool | None | str:
    """True/False when the snapshot decides the test for grantee `g` on this resource, None when
    it cannot, "keep" when the test is for the resource-policy machinery (identity, network keys)."""
    if is_tag_key(c.key):
        return _tag_test(c, context.tags)
    lowered = {wildcard.ascii_lower(v) for v in c.values}
    if c.key == "aws:principalisawsservice" and c.base == "bool" and c.qualifier is None:
        return ("true" if _is_service(g) else "false") in lowered
    if c.base == "null" and c.qualifier is None:
        present = _key_present(c.key, g, org)
        return None if present is None else ("false" if present else "true") in lowered
    return "keep"


def specialize(st: Statement, g: Grantee, context: Context, org: OrgView, bound: str) -> Statement | None:
    """The Deny `st` as it stands for grantee `g` on this resource, its decided tests removed;
    None when it provably does not apply (or, for `upper`, cannot be shown to apply)."""
    kept = []
    for c in st.conditions:
        v = decide(c, g, context, org)
        if v is True or (v is None and bound == "tags_hold" and is_tag_key(c.key)):
            continue
        if v is False:
            if bound == "tags_hold" and is_tag_key(c.key):
                continue
            return None
        if v is None:
            if bound == "lower":
                continue
            return None
        if bound == "lower" and for_deny(c).role == "none":
            continue  # a test the machinery cannot place: assumed to hold
        kept.append(c)
    return replace(st, conditions=tuple(kept))


def split_public(pieces: list[Piece]) -> list[Piece]:
    """A public piece as "any IAM principal" (PUBLIC) plus "any AWS service principal": the halves
    aws:PrincipalIsAWSService tells apart."""
    out = []
    for p in pieces:
        out.append(p)
        if p.grantee == PUBLIC:
            out.append(replace(p, grantee=ANY_SERVICE))
    return out


def apply(
    pieces: list[Piece], policies: list[OrgPolicy], context: Context, org: OrgView, bound: str = "upper"
) -> tuple[list[Piece], list[str]]:
    """`pieces` after the Deny statements of `policies`; also the labels of the policies that took
    something away."""
    changed: list[str] = []
    ev = Evaluation()
    for policy in policies:
        for st in policy.statements or ():
            if st.effect != "Deny":
                continue
            out = []
            for piece in pieces:
                spec = specialize(st, piece.grantee, context, org, bound)
                rule = deny_rule(spec, ev) if spec is not None else None
                if rule is None or not resource_applies(rule, context.resource_arn):
                    out.append(piece)
                    continue
                after = apply_deny(piece, rule, org, spare_strict=bound == "lower")
                if after != [piece] and policy.label not in changed:
                    changed.append(policy.label)
                out.extend(after)
            pieces = out
    return pieces, changed


__all__ = [
    "Organization",
    "OrgPolicy",
    "Context",
    "organization",
    "apply",
    "split_public",
    "specialize",
    "decide",
    "EFFECTIVE_BASES",
    "SCP_BASES",
    "RCP",
    "SCP",
]
