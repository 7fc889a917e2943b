"""Who inside the organization can pull, push, delete or manage each repository: identity policies,
permissions boundaries, SCPs, repository and registry policies and RCPs combined
(docs/access.md#effective-access).

`principals(inv)`: one row per IAM user or role of a collected account × repository (or its
registry) × capability it is allowed before the caps (pull / push / delete / manage /
get_authorization_token), `can` after them. The rules (IAM policy evaluation logic):

- same account: an Allow in the identity policy or in the repository (or V2 registry) policy is
  enough — a resource policy naming the account itself only delegates to identity policies;
- another account: both must allow;
- an explicit Deny anywhere (identity, repository, registry policy, SCP, RCP) wins;
- a permissions boundary caps identity grants, and same-account resource grants to a role; SCPs on
  the principal's account path cap everything except in the management account and for
  service-linked roles; RCPs on the repository account's path cap every principal;
- `ecr:GetAuthorizationToken` comes only from identity policies: without it no docker pull or push
  (`can_use_docker` says so; the row stays).

Capabilities follow `actions` (pull: BatchGetImage or GetDownloadUrlForLayer; delete; manage), but
push means writing an image (PutImage; ReplicateImage for ECR's replication service-linked role):
uploading layers publishes nothing. One-sided like the rest of the package: tests the snapshot cannot decide are
listed (`unevaluated_conditions`); where they decide the answer `can` is null and `is_undetermined`.
Roles whose trust policy lets a principal outside the organization assume them carry
`assumable_from`: `external_paths(inv)` lists what those outsiders can do through them.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pandas as pd

from .. import schema, wildcard
from ..schema import BOOL, LIST, STR, Column
from .actions import action_class, all_actions
from .conditions import Grantee, arn_matches
from .evaluate import Evaluation, OrgView, Piece, allow_pieces, apply_deny, covers, deny_rule, deny_rules
from .grants import evaluated_resources, exposure, org_view, repository_context
from .organization import Context, OrgPolicy, apply, decide, organization, specialize
from .policy import ParsedPolicy, Statement, parse_policy

CAPABILITIES = ("pull", "push", "delete", "manage", "get_authorization_token")
# Writing an image is PutImage; ReplicateImage only ECR's replication role performs (a permission
# without an API), BatchImportUpstreamImage is a pull through a cache rule, not a push.
PUSH_ACTIONS = frozenset({"ecr:PutImage"})
SERVICE_PUSH_ACTIONS = frozenset({"ecr:PutImage", "ecr:ReplicateImage"})
TOKEN = "ecr:GetAuthorizationToken"
_ASSUME = ("sts:assumerole", "sts:assumerolewithwebidentity", "sts:assumerolewithsaml")

PRINCIPAL_COLUMNS: tuple[Column, ...] = (
    Column("account_id", STR, "the principal's account", True),
    Column("principal_arn", STR, "IAM user or role", True),
    Column("principal_type", STR, "user | role", True),
    Column("principal_name", STR, "user or role name (untrusted text)"),
    Column("resource_account_id", STR, "owner of the repository or registry", True),
    Column("region", STR, "region of the repository (empty for get_authorization_token)"),
    Column("repository_name", STR, "repository; empty for a registry-wide right"),
    Column("scope", STR, "repository | registry (get_authorization_token; manage on every repository)", True),
    Column("capability", STR, " | ".join(CAPABILITIES), True),
    Column("can", BOOL, "allowed after every cap and Deny (null: a condition decides it)"),
    Column("via", STR, "identity | resource | both: which policies allow it before the caps", True),
    Column("can_use_docker", BOOL, "pull/push: can, and ecr:GetAuthorizationToken is allowed too"),
    Column("allowed_by", LIST, "statements that allow it: 'policy name: Sid'"),
    Column("capped_by", LIST, "what took some of it away: boundary, SCP, RCP, identity or resource Deny"),
    Column("unevaluated_conditions", LIST, "condition tests the snapshot cannot decide"),
    Column("is_undetermined", BOOL, "a condition (or an unreadable policy) decides it", True),
    Column("scp_basis", STR, "scp_applied | management_account_exempt | service_linked_role | ...", True),
    Column("assumable_from", LIST, "outsiders (account ids, *, federated providers) the trust policy admits"),
)

EXTERNAL_PATH_COLUMNS: tuple[Column, ...] = (
    Column("external_principal", STR, "who outside the organization can assume the role", True),
    Column("role_arn", STR, "the role", True),
    Column("account_id", STR, "the role's account", True),
    Column("resource_account_id", STR, "owner of the repository", True),
    Column("region", STR, "region of the repository"),
    Column("repository_name", STR, "repository; empty for a registry-wide right"),
    Column("capability", STR, " | ".join(CAPABILITIES), True),
    Column("can_use_docker", BOOL, "pull/push through docker (the role can also get a token)"),
)


def capability_of(actions: frozenset[str], capability: str, service_linked: bool = False) -> frozenset[str]:
    """The actions of `actions` that give `capability` to a principal."""
    if capability == "push":
        return actions & (SERVICE_PUSH_ACTIONS if service_linked else PUSH_ACTIONS)
    if capability == "get_authorization_token":
        return actions & {TOKEN}
    cls = action_class()
    return frozenset(a for a in actions if cls.get(a) == capability)


# -- identity policies --------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    label: str  # "name" (inline, managed) — where an allowing statement comes from
    parsed: ParsedPolicy | None  # None: text not read


@dataclass
class Identity:
    arn: str
    account: str
    kind: str
    name: str
    policies: list[Policy] = field(default_factory=list)
    boundary: Policy | None = None
    has_boundary: bool = False
    service_linked: bool = False
    trust: str | None = None

    @property
    def grantee(self) -> Grantee:
        return Grantee("principal", self.arn, self.account)


def _resource_matches(st: Statement, arn: str | None) -> bool:
    """Does the statement's Resource cover `arn` (None: registry-wide, only `*` covers it)? An
    Allow reads wide (patterns match leniently), a Deny must match exactly."""
    exact = st.effect == "Deny"
    if st.not_resources is not None:
        return arn is not None and not any(wildcard.match(r, arn) for r in st.not_resources) or not exact
    patterns = st.resources if st.resources is not None else ("*",)
    if arn is None:
        return "*" in patterns
    return any(r == "*" or arn_matches(r, arn, exact=exact) for r in patterns)


@dataclass
class Allowed:
    """Actions an identity-side policy set allows on one resource, with where they come from."""

    sure: frozenset = frozenset()
    maybe: frozenset = frozenset()  # allowed only if conditions the snapshot cannot decide hold
    by: dict = field(default_factory=dict)  # action -> [labels]
    unevaluated: list = field(default_factory=list)

    @property
    def upper(self) -> frozenset:
        return self.sure | self.maybe


def allowed(policies: list[Policy], arn: str | None, g: Grantee, ctx: Context, org: OrgView) -> Allowed:
    out = Allowed()
    sure, maybe = set(), set()
    for pol in policies:
        if pol.parsed is None:
            maybe |= set(all_actions())
            out.unevaluated.append(f"{pol.label}: not readable")
            continue
        for st in pol.parsed.statements:
            if st.effect != "Allow" or not st.actions or not _resource_matches(st, arn):
                continue
            verdicts = [(c, decide(c, g, ctx, org)) for c in st.conditions]
            if any(v is False for _, v in verdicts):
                continue
            open_tests = [c.text for c, v in verdicts if v is not True]
            (maybe if open_tests else sure).update(st.actions)
            out.unevaluated.extend(t for t in open_tests if t not in out.unevaluated)
            for a in st.actions:
                out.by.setdefault(a, []).append(f"{pol.label}: {st.label}")
    out.sure, out.maybe = frozenset(sure), frozenset(maybe - sure)
    return out


def _deny_rules_of(policies, g: Grantee, ctx: Context, org: OrgView, bound: str) -> list[tuple[str, object]]:
    """(label, rule) for the Deny statements of identity-side policies that cover the resource."""
    ev = Evaluation()
    out = []
    for pol in policies:
        for st in pol.parsed.statements if pol.parsed is not None else ():
            if st.effect != "Deny" or not _resource_matches(st, ctx.resource_arn):
                continue
            spec = specialize(replace(st, resources=None), g, ctx, org, bound)
            rule = deny_rule(spec, ev) if spec is not None else None
            if rule is not None:
                out.append((pol.label, rule))
    return out


# -- the inventory's identities ------------------------------------------------------------------


def identities(inv) -> list[Identity]:
    """Users and roles of collected accounts with the policies that apply to them."""
    managed = {
        (a, arn): t if isinstance(t, str) else None
        for a, arn, t in inv.iam_policies[["account_id", "policy_arn", "policy_text"]].itertuples(index=False)
    }
    names = {
        (a, arn): n
        for a, arn, n in inv.iam_policies[["account_id", "policy_arn", "name"]].itertuples(index=False)
    }
    by_principal: dict[str, Identity] = {}
    for r in inv.iam_principals.itertuples(index=False):
        if r.principal_type not in ("user", "role"):
            continue
        by_principal[r.principal_arn] = Identity(
            r.principal_arn,
            r.account_id,
            r.principal_type,
            r.name if isinstance(r.name, str) else r.principal_arn,
            has_boundary=isinstance(r.permissions_boundary_arn, str),
            service_linked=bool(r.is_service_linked) if not pd.isna(r.is_service_linked) else False,
            trust=r.trust_policy_text if isinstance(r.trust_policy_text, str) else None,
        )
    for r in inv.iam_principal_policies.itertuples(index=False):
        ident = by_principal.get(r.principal_arn)
        if ident is None:
            continue
        if isinstance(r.policy_arn, str):
            text = managed.get((r.account_id, r.policy_arn))
            label = names.get((r.account_id, r.policy_arn)) or r.policy_arn
        else:
            text = r.policy_text if isinstance(r.policy_text, str) else None
            label = r.policy_name if isinstance(r.policy_name, str) else "inline"
        parsed = parse_policy(text, identity=True) if text is not None else None
        pol = Policy(str(label), parsed if parsed is None or parsed.ok else None)
        if r.relation == "boundary":
            ident.boundary = pol
        else:
            ident.policies.append(pol)
    for ident in by_principal.values():
        if ident.has_boundary and ident.boundary is None:
            ident.boundary = Policy("permissions boundary", None)
    return list(by_principal.values())


def assumable_from(ident: Identity, org: OrgView) -> list[str]:
    """Principals outside the organization the role's trust policy lets assume it (public as `*`)."""
    if ident.kind != "role" or ident.trust is None:
        return []
    parsed = parse_policy(ident.trust)
    if not parsed.ok:
        return ["undetermined"]
    assume = frozenset({"sts:assumerole"})
    ev = Evaluation()
    pieces: list[Piece] = []
    rules = []
    for st in parsed.statements:
        patterns = [p.strip() for p in st.action_text.removeprefix("NotAction: ").split(", ")]
        named = any(wildcard.match(p, a, case=wildcard.LOOSE) for p in patterns for a in _ASSUME)
        if named == st.action_text.startswith("NotAction: "):
            continue
        st = replace(st, actions=assume)
        if st.effect == "Allow":
            pieces.extend(allow_pieces(st, assume, ev, org))
        elif (rule := deny_rule(st, ev)) is not None:
            rules.append(rule)
    for rule in rules:
        pieces = [q for p in pieces for q in apply_deny(p, rule, org)]
    out = []
    for p in pieces:
        g = p.grantee
        if p.actions and exposure(g.kind, g.value, g.account_id, ident.account, org) in (
            "public",
            "external",
        ):
            who = g.account_id if g.kind in ("account", "principal") and g.account_id else g.value
            if who not in out:
                out.append(who)
    return out


# -- combining ------------------------------------------------------------------------------------


@dataclass
class _ResourceSide:
    account: str
    region: str
    name: str
    context: Context
    pieces: list  # resource-policy pieces (repository + registry), after their Denies
    denies: list  # (label, DenyRule) of the repository and registry policies
    undetermined: bool  # a resource policy could not be read


def _resource_sides(inv, org: OrgView) -> list[_ResourceSide]:
    contexts = repository_context(inv)
    evaluated: dict[tuple, list] = {}
    unreadable: set[tuple] = set()
    for res in evaluated_resources(inv):
        b = res.base
        if b["scope"] == "creation_template":
            continue
        key = (b["account_id"], b["region"], b["repository_name"] if b["scope"] == "repository" else "")
        if res.evaluation is None:
            unreadable.add(key)
        else:
            evaluated.setdefault(key, []).extend(
                (p, "repository policy" if b["scope"] == "repository" else "registry policy")
                for p in res.evaluation.pieces
            )
    denies: dict[tuple, list] = {}
    for r in inv.repository_policies.itertuples(index=False):
        parsed = parse_policy(r.policy_text)
        if parsed.ok:
            key = (r.account_id, r.region, r.repository_name)
            denies[key] = [("repository policy", d) for d in deny_rules(parsed)]
    for r in inv.registry_policies.itertuples(index=False):
        parsed = parse_policy(r.policy_text)
        if parsed.ok:
            denies[(r.account_id, r.region, "")] = [("registry policy", d) for d in deny_rules(parsed)]
    out = []
    for (a, region, name), ctx in contexts.items():
        reg = (a, region, "")
        out.append(
            _ResourceSide(
                a,
                region,
                name,
                ctx,
                evaluated.get((a, region, name), []) + evaluated.get(reg, []),
                denies.get((a, region, name), []) + denies.get(reg, []),
                (a, region, name) in unreadable or reg in unreadable,
            )
        )
    return out


def _resource_grant(side: _ResourceSide, ident: Identity, org: OrgView) -> tuple[frozenset, dict]:
    """Actions the resource policies grant this principal on their own, with their statements."""
    same = side.account == ident.account
    actions: set = set()
    by: dict = {}
    for piece, where in side.pieces:
        g = piece.grantee
        if same and g.kind == "account":
            continue  # naming the own account delegates to identity policies
        if g.kind in ("service", "federated", "canonical_user", "unknown", "resource"):
            continue
        if not covers(g, ident.grantee, org, strict=False):
            continue
        actions |= piece.actions
        for a in piece.actions:
            by.setdefault(a, []).extend(f"{where}: {s}" for s in piece.sids)
    return frozenset(actions), by


def _caps(
    actions: frozenset,
    ident: Identity,
    side: _ResourceSide | None,
    ctx: Context,
    org: OrgView,
    env,
    bound: str,
) -> tuple[frozenset, dict]:
    """`actions` after every Deny and cap; also the labels that removed each action."""
    removed: dict = {}
    piece = [Piece(ident.grantee, actions)]

    def take(label: str, new: list[Piece]) -> list[Piece]:
        before = frozenset().union(*(p.actions for p in piece)) if piece else frozenset()
        after = frozenset().union(*(p.actions for p in new)) if new else frozenset()
        for a in before - after:
            removed.setdefault(a, []).append(label)
        return new

    rules = _deny_rules_of(ident.policies, ident.grantee, ctx, org, bound)
    rules += side.denies if side is not None else []
    for label, rule in rules:
        if rule.resources is None or ctx.resource_arn is not None or "*" in rule.resources:
            piece = take(label, [q for p in piece for q in apply_deny(p, rule, org)])
    scp_basis, scps = env["scps"]
    if scps:
        piece = take_scp_allow(piece, scps, ctx, bound, take)
        for pol in scps:
            piece = take(f"SCP {pol.label}", apply(piece, [pol], ctx, org, bound)[0])
    if side is not None:
        rcp_basis, rcps = env["rcps"](side.account)
        for pol in rcps:
            piece = take(f"RCP {pol.label}", apply(piece, [pol], ctx, org, bound)[0])
    left = frozenset().union(*(p.actions for p in piece)) if piece else frozenset()
    return left, removed


def take_scp_allow(piece, scps: list[OrgPolicy], ctx: Context, bound: str, take):
    """An action must be allowed by an SCP at every level of the path (root, each OU, account)."""
    levels: dict[str, list[OrgPolicy]] = {}
    for pol in scps:
        levels.setdefault(pol.level, []).append(pol)
    for pols in levels.values():
        allowed_here: set = set()
        for pol in pols:
            for st in pol.statements or ():
                if st.effect == "Allow" and _resource_matches(st, ctx.resource_arn):
                    if not st.conditions or bound != "lower":
                        allowed_here |= st.actions
        names = ", ".join(p.label for p in pols)
        piece = take(
            f"SCP allow list {names}",
            [replace(p, actions=p.actions & allowed_here) for p in piece if p.actions & allowed_here],
        )
    return piece


def _rows_for(ident: Identity, side, ctx: Context, org: OrgView, env, base: dict, caps) -> list[dict]:
    arn = ctx.resource_arn
    sl = ident.service_linked
    same = side is None or side.account == ident.account
    ident_up = allowed(ident.policies, arn, ident.grantee, ctx, org)
    boundary = None
    if ident.boundary is not None:
        boundary = allowed([ident.boundary], arn, ident.grantee, ctx, org)
    res_actions, res_by = _resource_grant(side, ident, org) if side is not None else (frozenset(), {})
    rows = []
    for bound in ("upper", "lower"):
        id_acts = ident_up.upper if bound == "upper" else ident_up.sure
        b_acts = None if boundary is None else (boundary.upper if bound == "upper" else boundary.sure)
        capped_id = id_acts if b_acts is None else id_acts & b_acts
        # A boundary also caps same-account resource grants to a role (not those naming a user's ARN).
        capped_res = res_actions
        if b_acts is not None and ident.kind == "role":
            capped_res = res_actions & b_acts
        granted = (capped_id | capped_res) if same else (capped_id & capped_res)
        left, removed = _caps(granted, ident, side, ctx, org, env, bound)
        rows.append((id_acts, capped_id, granted, left, removed, b_acts))
    (id_u, capid_u, granted_u, left_u, removed_u, b_u), (_, _, granted_l, left_l, _, _) = rows
    out = []
    undetermined_side = side is not None and side.undetermined
    for cap in caps:
        ident_cap = capability_of(id_u, cap, sl)
        res_cap = capability_of(res_actions, cap, sl)
        before = ident_cap | res_cap if same else ident_cap & res_cap
        if not before:
            continue
        can_u, can_l = bool(capability_of(left_u, cap, sl)), bool(capability_of(left_l, cap, sl))
        capped_by = []
        if b_u is not None and capability_of(id_u, cap, sl) - b_u:
            capped_by.append(f"boundary {ident.boundary.label}")
        for a in sorted(before):
            for label in removed_u.get(a, ()):
                if label not in capped_by:
                    capped_by.append(label)
        via = "both" if ident_cap and res_cap else "identity" if ident_cap else "resource"
        allowed_by = sorted({s for a in before for s in ident_up.by.get(a, []) + res_by.get(a, [])})
        undetermined = can_u != can_l or undetermined_side
        out.append(
            {
                **base,
                "capability": cap,
                "can": None if undetermined else can_u,
                "via": via,
                "allowed_by": allowed_by,
                "capped_by": capped_by,
                "unevaluated_conditions": list(ident_up.unevaluated),
                "is_undetermined": undetermined,
            }
        )
    return out


def principals(inv) -> pd.DataFrame:
    """One row per principal × repository (or registry) × capability allowed before the caps
    (columns: PRINCIPAL_COLUMNS)."""
    return inv.cached("access.principals", lambda: _principals(inv))


def _principals(inv) -> pd.DataFrame:
    org = org_view(inv)
    orgs = organization(inv)
    rcp_cache: dict = {}

    def rcps(account):
        if account not in rcp_cache:
            rcp_cache[account] = orgs.rcps(account)
        return rcp_cache[account]

    sides = _resource_sides(inv, org)
    by_account: dict[str, list] = {}
    for s in sides:
        by_account.setdefault(s.account, []).append(s)
    open_to: dict[str, list] = {}  # repositories whose resource policies reach other accounts
    for s in sides:
        open_to[id(s)] = [
            p for p, _ in s.pieces if p.grantee.kind in ("public", "org", "account", "principal")
        ]
    rows: list[dict] = []
    for ident in identities(inv):
        scp = orgs.scps(ident.account, ident.service_linked)
        env = {"scps": scp, "rcps": rcps}
        outsiders = assumable_from(ident, org)
        base = {
            "account_id": ident.account,
            "principal_arn": ident.arn,
            "principal_type": ident.kind,
            "principal_name": ident.name,
            "scp_basis": scp[0],
            "assumable_from": outsiders,
        }
        token_ctx = Context(None, None)
        where = {
            "resource_account_id": ident.account,
            "region": "",
            "repository_name": "",
            "scope": "registry",
        }
        rows += _rows_for(ident, None, token_ctx, org, env, {**base, **where}, ("get_authorization_token",))
        rows += _manage_all(ident, org, env, base)
        for side in sides:
            if side.account != ident.account and not any(
                covers(g.grantee, ident.grantee, org, strict=False) for g in open_to[id(side)]
            ):
                continue
            rows += _rows_for(
                ident,
                side,
                side.context,
                org,
                env,
                {
                    **base,
                    "resource_account_id": side.account,
                    "region": side.region,
                    "repository_name": side.name,
                    "scope": "repository",
                },
                CAPABILITIES[:4],
            )
    tokens = {r["principal_arn"]: r["can"] for r in rows if r["capability"] == "get_authorization_token"}
    for r in rows:
        token = tokens.get(r["principal_arn"], False)  # no row: no identity policy allows it
        docker = r["capability"] in ("pull", "push") and r["can"] is not None and token is not None
        r["can_use_docker"] = bool(r["can"] and token) if docker else None
    df = schema.from_records(rows, PRINCIPAL_COLUMNS)
    return df.sort_values(
        ["account_id", "principal_arn", "resource_account_id", "region", "repository_name", "capability"],
        kind="stable",
        ignore_index=True,
    )


def _manage_all(ident: Identity, org: OrgView, env, base: dict) -> list[dict]:
    """ "manage on *": identity policies allowing manage actions on every repository (Resource `*`)."""
    ctx = Context(None, None)
    if not capability_of(allowed(ident.policies, None, ident.grantee, ctx, org).upper, "manage"):
        return []
    where = {"resource_account_id": ident.account, "region": "", "repository_name": "*", "scope": "registry"}
    return _rows_for(ident, None, ctx, org, env, {**base, **where}, ("manage",))


DEFAULT_PRODUCTION = "env=prod,prod"


def production_repositories(inv, production: str | None = None) -> set[tuple[str, str, str]]:
    """(account, region, name) of the production repositories. `production`: comma-separated items,
    `key=value` for a resource tag (key compared without case, value exactly), anything else a
    name prefix; default `env=prod,prod` (tagged env=prod, or named prod…)."""
    items = [i.strip() for i in (production or DEFAULT_PRODUCTION).split(",") if i.strip()]
    tags = [tuple(i.split("=", 1)) for i in items if "=" in i]
    prefixes = tuple(i for i in items if "=" not in i)
    out = {
        (a, r, n)
        for a, r, n in inv.repositories[["account_id", "region", "repository_name"]].itertuples(index=False)
        if prefixes and str(n).startswith(prefixes)
    }
    for a, r, n, k, v in inv.repository_tags[
        ["account_id", "region", "repository_name", "key", "value"]
    ].itertuples(index=False):
        if any(wildcard.ascii_lower(str(k)) == wildcard.ascii_lower(tk) and v == tv for tk, tv in tags):
            out.add((a, r, n))
    return out


def external_paths(inv) -> pd.DataFrame:
    """What principals outside the organization can do by assuming a role of it (columns:
    EXTERNAL_PATH_COLUMNS): the indirect path no resource policy shows."""
    p = principals(inv)
    p = p[p["assumable_from"].map(len).astype(bool) & p["can"].fillna(False).astype(bool)]
    rows = [
        {
            "external_principal": who,
            "role_arn": r.principal_arn,
            "account_id": r.account_id,
            "resource_account_id": r.resource_account_id,
            "region": r.region,
            "repository_name": r.repository_name,
            "capability": r.capability,
            "can_use_docker": r.can_use_docker,
        }
        for r in p.itertuples(index=False)
        for who in r.assumable_from
    ]
    return schema.from_records(rows, EXTERNAL_PATH_COLUMNS)


__all__ = [
    "principals",
    "external_paths",
    "identities",
    "assumable_from",
    "capability_of",
    "production_repositories",
    "DEFAULT_PRODUCTION",
    "PRINCIPAL_COLUMNS",
    "EXTERNAL_PATH_COLUMNS",
    "CAPABILITIES",
    "PUSH_ACTIONS",
]
