"""Effective grants and policy findings for every policy in an inventory.

Exposure of a grantee (relative to the owning account and the snapshot's organization):
  public    any principal once conditions are applied
  external  another account not in the organization, another organization, a federated or
            unrecognised principal. Without an organization in the snapshot every other
            account is external (we cannot know it is a sibling).
  org       another account of the organization, or the organization itself
  account   the owning account (reported, not exposure)
  service   an AWS service principal (is_confused_deputy when no aws:SourceAccount/SourceArn/
            SourceOwner/SourceOrgID ties it to an account or resource)
  undetermined  the policy could not be read (see policy_findings)

Severity (network-restricted grants drop one step, never below low):
  critical  public push/delete/manage
  high      public pull; external push/delete/manage; confused-deputy service with
            push/delete/manage; an unreadable policy
  medium    public metadata read; external pull; org push/delete/manage; confused-deputy pull
  low       external metadata read; org pull; services tied to an org account
  info      the owner itself; org metadata read
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd

from .. import ecr, schema
from ..ecr import SEVERITIES
from ..schema import BOOL, LIST, SEVERITY, STR, Column
from .actions import capabilities, compact
from .evaluate import DenyRule, Evaluation, OrgView, Piece, deny_rules, evaluate, registry_scope_actions
from .organization import EFFECTIVE_BASES, Context, apply, organization, split_public
from .policy import parse_policy

EXPOSURES = ("public", "external", "org", "service", "account", "undetermined")
# Widest first: the effective exposure of a grant is the widest of what is left of it.
EFFECTIVE_ORDER = ("public", "external", "org", "service", "account", "none")
_WRITE = ("can_push", "can_delete", "can_manage")

GRANT_COLUMNS: tuple[Column, ...] = (
    Column("account_id", STR, "owner of the resource", True),
    Column("region", STR, "region of the registry", True),
    Column("repository_name", STR, "repository (empty for registry and creation-template scope)"),
    Column("scope", STR, "repository | registry | creation_template", True),
    Column("template_prefix", STR, "creation-template prefix (creation_template scope)"),
    Column("grantee", STR, "account id, organization id, *, principal ARN, service principal", True),
    Column(
        "grantee_kind",
        STR,
        "public | org | account | principal | service | federated | canonical_user | unknown | undetermined",
        True,
    ),
    Column("grantee_account_id", STR, "account of the grantee (tied account for services)"),
    Column("exposure", STR, "public | external | org | account | service | undetermined", True),
    Column("can_pull", BOOL, "image content can be read (null: undetermined)"),
    Column("can_push", BOOL, "content can be written (incl. ReplicateImage, BatchImportUpstreamImage)"),
    Column("can_delete", BOOL, "images or the repository can be deleted"),
    Column("can_manage", BOOL, "policy, lifecycle, settings can be changed"),
    Column("actions", STR, "ECR actions allowed (ecr:* when all)"),
    Column("is_confused_deputy", BOOL, "service principal not tied to an account or resource"),
    Column(
        "is_network_restricted", BOOL, "every piece of the grant is confined to a VPC, endpoint or IP range"
    ),
    Column("restricted_by", LIST, "condition keys that narrowed every piece of the grant"),
    Column("conditions", STR, "normalized conditions of the statements involved"),
    Column("statement_ids", LIST, "Sids (or #index) of the statements involved"),
    Column("severity", SEVERITY, "critical | high | medium | low | info (ordered: critical first)", True),
    # -- after the organization's resource control policies (docs/access.md#effective-access) --
    Column(
        "effective_exposure",
        STR,
        "exposure after RCPs: public | external | org | service | account | none | undetermined",
        True,
    ),
    Column("effective_can_pull", BOOL, "can_pull after RCPs (null: a condition decides it)"),
    Column("effective_can_push", BOOL, "can_push after RCPs (null: a condition decides it)"),
    Column("effective_can_delete", BOOL, "can_delete after RCPs (null: a condition decides it)"),
    Column("effective_can_manage", BOOL, "can_manage after RCPs (null: a condition decides it)"),
    Column("neutralized_by", LIST, "RCPs that took some of the grant away: 'p-id name @ Root/OU/…'"),
    Column("effective_basis", STR, " | ".join(EFFECTIVE_BASES), True),
)

FINDING_COLUMNS: tuple[Column, ...] = (
    Column("finding_id", STR, "ecr_<resource>_<condition>", True),
    Column("severity", SEVERITY, "critical | high | medium | low | info (ordered: critical first)", True),
    Column("account_id", STR, "owner of the policy"),
    Column("region", STR, "region"),
    Column("repository_name", STR, "repository (empty for registry / template scope)"),
    Column("scope", STR, "repository | registry | creation_template"),
    Column("template_prefix", STR, "creation-template prefix"),
    Column("subject", STR, "the principal, key, operator or action concerned (untrusted text)"),
    Column("statement_id", STR, "Sid or #index"),
    Column("message", STR, "what is wrong (untrusted text from the parser included)", True),
)

# problem code (policy parser / evaluator) -> (finding id, severity)
FINDINGS = {
    "unparseable": ("ecr_policy_unparseable", "high"),
    "unreadable": ("ecr_policy_unreadable", "high"),
    "invalid_statement": ("ecr_policy_invalid_statement", "medium"),
    "unrecognized_principal": ("ecr_policy_unrecognized_principal", "medium"),
    "unknown_condition_operator": ("ecr_policy_unknown_condition_operator", "medium"),
    "unknown_condition_key": ("ecr_policy_unknown_condition_key", "low"),
    "unknown_action": ("ecr_policy_unknown_action", "low"),
    "unknown_version": ("ecr_policy_unknown_version", "low"),
    "unknown_element": ("ecr_policy_unknown_element", "low"),
    "duplicate_key": ("ecr_policy_duplicate_key", "high"),
    "duplicate_key_same_value": ("ecr_policy_duplicate_key", "low"),
    "inexact_text": ("ecr_policy_inexact_text", "medium"),
    "unmatchable_condition_value": ("ecr_policy_unmatchable_condition_value", "low"),
}


def org_view(inv) -> OrgView:
    return OrgView(inv.organization_id, frozenset(inv.org_account_ids))


def exposure(grantee_kind: str, value: str, account_id: str | None, owner: str, org: OrgView) -> str:
    if grantee_kind == "public":
        return "public"
    if grantee_kind == "service":
        return "service"
    if grantee_kind == "org":
        return "org" if org.org_id and value == org.org_id else "external"
    if grantee_kind in ("account", "principal") and account_id:
        if account_id == owner:
            return "account"
        return "org" if org.org_id and account_id in org.account_ids else "external"
    return "external"


def severity(
    exposure_: str,
    caps: dict,
    *,
    network: bool = False,
    confused: bool = False,
    tied_exposure: str | None = None,
) -> str:
    write = any(caps[c] for c in _WRITE)
    pull = caps["can_pull"]
    if exposure_ == "service":
        if confused:
            base = "high" if write else "medium" if pull else "low"
        elif tied_exposure == "external":
            base = "high" if write else "medium" if pull else "low"
        else:
            base = "low" if (write or pull) else "info"
    elif exposure_ == "public":
        base = "critical" if write else "high" if pull else "medium"
    elif exposure_ == "external":
        base = "high" if write else "medium" if pull else "low"
    elif exposure_ == "org":
        base = "medium" if write else "low" if pull else "info"
    else:
        base = "info"
    return ecr.severity_below(base) if network else base


def _groups(ev: Evaluation) -> dict[tuple, list[Piece]]:
    """The pieces of an evaluation by grantee: one grant row each."""
    groups: dict[tuple, list[Piece]] = {}
    for p in ev.pieces:
        g = p.grantee
        groups.setdefault((g.kind, g.value, g.account_id, g.tied_to), []).append(p)
    return groups


def _grant_rows(ev: Evaluation, owner: str, org: OrgView, base: dict) -> list[dict]:
    return [row for row, _ in _grant_rows_with_pieces(ev, owner, org, base)]


def _grant_rows_with_pieces(ev: Evaluation, owner: str, org: OrgView, base: dict) -> list[tuple[dict, list]]:
    rows = []
    for (kind, value, account_id, tied_to), pieces in _groups(ev).items():
        actions = frozenset().union(*(p.actions for p in pieces))
        if not actions:
            continue
        exp = exposure(kind, value, account_id, owner, org)
        confused = kind == "service" and not tied_to
        tied_exp = (
            exposure("account", "", account_id, owner, org) if kind == "service" and account_id else None
        )
        sev = min(
            (
                severity(
                    exp,
                    capabilities(p.actions),
                    network=bool(p.network),
                    confused=confused,
                    tied_exposure=tied_exp,
                )
                for p in pieces
            ),
            key=SEVERITIES.index,
        )
        narrowed = frozenset.intersection(*(p.restricted_by | p.network for p in pieces))
        conditions = sorted({c for p in pieces for c in p.conditions})
        rows.append(
            {
                **base,
                "grantee": value,
                "grantee_kind": kind,
                "grantee_account_id": account_id,
                "exposure": exp,
                **capabilities(actions),
                "actions": compact(actions),
                "is_confused_deputy": confused,
                "is_network_restricted": all(p.network for p in pieces),
                "restricted_by": sorted(narrowed),
                "conditions": "; ".join(conditions),
                "statement_ids": sorted({s for p in pieces for s in p.sids}),
                "severity": sev,
            }
        )
        rows[-1] = (rows[-1], pieces)
    return rows


def _reach(pieces: list[Piece], owner: str, org: OrgView) -> tuple[str, dict]:
    """(widest exposure, capabilities) of what is left of a grant."""
    left = [p for p in pieces if p.actions]
    if not left:
        return "none", capabilities(frozenset())
    exposures = {exposure(p.grantee.kind, p.grantee.value, p.grantee.account_id, owner, org) for p in left}
    widest = min(exposures, key=EFFECTIVE_ORDER.index)
    return widest, capabilities(frozenset().union(*(p.actions for p in left)))


def _as_is(row: dict, basis: str) -> dict:
    """Effective columns equal to the policy's: no RCP applies, or which ones is unknown."""
    return {
        "effective_exposure": row["exposure"],
        **{f"effective_{c}": row[c] for c in _CAPS},
        "neutralized_by": [],
        "effective_basis": basis,
    }


_CAPS = ("can_pull", "can_push", "can_delete", "can_manage")


def _effective(row: dict, pieces: list[Piece], owner: str, org: OrgView, rcps, context: Context) -> dict:
    """The grant after the RCPs on the owner's path, bounded one-sidedly (organization.apply)."""
    pieces = split_public(pieces)
    upper, neutralized = apply(pieces, rcps, context, org, "upper")
    lower, may_neutralize = apply(pieces, rcps, context, org, "lower")
    (exp_u, caps_u), (exp_l, caps_l) = _reach(upper, owner, org), _reach(lower, owner, org)
    if (exp_u, caps_u) != (exp_l, caps_l):  # undetermined: name what may take it away too
        neutralized = list(dict.fromkeys(neutralized + may_neutralize))
    basis = "rcp_applied"
    if context.tags is not None:
        spared, _ = apply(pieces, rcps, context, org, "tags_hold")
        if _reach(spared, owner, org) != (exp_u, caps_u):
            basis = "rcp_excluded_by_tag"
    return {
        "effective_exposure": exp_u if exp_u == exp_l else "undetermined",
        **{f"effective_{c}": caps_u[c] if caps_u[c] == caps_l[c] else None for c in _CAPS},
        "neutralized_by": neutralized,
        "effective_basis": basis,
    }


def _undetermined_row(base: dict) -> dict:
    return {
        **base,
        "grantee": "undetermined",
        "grantee_kind": "undetermined",
        "grantee_account_id": None,
        "exposure": "undetermined",
        "can_pull": None,
        "can_push": None,
        "can_delete": None,
        "can_manage": None,
        "actions": "",
        "is_confused_deputy": None,
        "is_network_restricted": None,
        "restricted_by": [],
        "conditions": "",
        "statement_ids": [],
        "severity": "high",
        "effective_exposure": "undetermined",
        **{f"effective_{c}": None for c in _CAPS},
        "neutralized_by": [],
        "effective_basis": "not_applicable",
    }


@dataclass
class _Resource:
    base: dict
    evaluation: Evaluation | None  # None: the policy could not be read
    problems: tuple


def _registry_context(inv):
    scopes = {}
    for r in inv.registries.itertuples(index=False):
        scopes[(r.account_id, r.region)] = (
            r.registry_policy_scope if isinstance(r.registry_policy_scope, str) else None
        )
    texts = {(r.account_id, r.region): r.policy_text for r in inv.registry_policies.itertuples(index=False)}
    return scopes, texts


@lru_cache(maxsize=131072)
def _evaluate_cached(text, org: OrgView, scope_actions, extra: tuple[DenyRule, ...], resource_arn):
    return evaluate(
        parse_policy(text), org, scope_actions=scope_actions, extra_denies=extra, resource_arn=resource_arn
    )


def evaluated_resources(inv) -> list[_Resource]:
    """Every registry policy, repository policy and creation-template policy, evaluated once
    per inventory (`base`: where; `evaluation`: its pieces, None when unreadable; `problems`).
    Shared by every caller: read it, never change it."""
    return inv.cached("access.evaluated_resources", lambda: _evaluate_resources(inv))


def _evaluate_resources(inv) -> list[_Resource]:
    org = org_view(inv)
    scopes, registry_texts = _registry_context(inv)
    out: list[_Resource] = []
    registry_denies: dict[tuple, tuple[DenyRule, ...]] = {}
    for (account, region), text in registry_texts.items():
        scope = scopes.get((account, region))
        base = {
            "account_id": account,
            "region": region,
            "repository_name": "",
            "scope": "registry",
            "template_prefix": None,
        }
        parsed = parse_policy(text)
        problems = parsed.problems
        if scope is None:
            problems = problems + (_scope_problem(),)
        if not parsed.ok:
            out.append(_Resource(base, None, problems))
            registry_denies[(account, region)] = ()
            continue
        scope_actions = registry_scope_actions(scope)
        ev = _evaluate_cached(text, org, scope_actions, (), None)
        out.append(_Resource(base, ev, problems + tuple(p for p in ev.problems if p not in parsed.problems)))
        registry_denies[(account, region)] = deny_rules(parsed, scope_actions)
    out.extend(_unreadable_policies(inv))
    partition = ecr.partition_of_snapshot(inv.meta)
    arns = {
        (r.account_id, r.region, r.repository_name): r.repository_arn
        for r in inv.repositories[["account_id", "region", "repository_name", "repository_arn"]].itertuples(
            index=False
        )
    }
    for r in inv.repository_policies.itertuples(index=False):
        base = {
            "account_id": r.account_id,
            "region": r.region,
            "repository_name": r.repository_name,
            "scope": "repository",
            "template_prefix": None,
        }
        parsed = parse_policy(r.policy_text)
        if not parsed.ok:
            out.append(_Resource(base, None, parsed.problems))
            continue
        extra = registry_denies.get((r.account_id, r.region), ())
        arn = arns.get((r.account_id, r.region, r.repository_name)) or ecr.repository_arn(
            partition, r.region, r.account_id, r.repository_name
        )
        needs_arn = any(d.resources is not None for d in extra) or any(
            st.effect == "Deny" and st.resources is not None for st in parsed.statements
        )
        ev = _evaluate_cached(r.policy_text, org, None, extra, arn if needs_arn else None)
        out.append(_Resource(base, ev, tuple(dict.fromkeys(parsed.problems + tuple(ev.problems)))))
    templates = inv.creation_templates
    for r in templates[templates["repository_policy_text"].notna()].itertuples(index=False):
        base = {
            "account_id": r.account_id,
            "region": r.region,
            "repository_name": "",
            "scope": "creation_template",
            "template_prefix": r.prefix,
        }
        parsed = parse_policy(r.repository_policy_text)
        if not parsed.ok:
            out.append(_Resource(base, None, parsed.problems))
            continue
        ev = _evaluate_cached(r.repository_policy_text, org, None, (), None)
        out.append(_Resource(base, ev, tuple(dict.fromkeys(parsed.problems + tuple(ev.problems)))))
    return out


def _unreadable_policies(inv) -> list[_Resource]:
    """Registries and repositories whose policy could not be read: `undetermined`, never "no grant"."""
    from .policy import Problem

    out = []
    regs = inv.registries
    for r in regs[regs["registry_policy_status"].isin(["unreadable", "unsupported"])].itertuples(index=False):
        base = {
            "account_id": r.account_id,
            "region": r.region,
            "repository_name": "",
            "scope": "registry",
            "template_prefix": None,
        }
        out.append(
            _Resource(
                base,
                None,
                (
                    Problem(
                        "unreadable",
                        f"the registry policy could not be read ({r.registry_policy_status}; see the "
                        "errors frame): who it grants is undetermined",
                    ),
                ),
            )
        )
    repos = inv.repositories
    for r in repos[repos["policy_status"].isin(["unreadable", "unsupported"])].itertuples(index=False):
        base = {
            "account_id": r.account_id,
            "region": r.region,
            "repository_name": r.repository_name,
            "scope": "repository",
            "template_prefix": None,
        }
        out.append(
            _Resource(
                base,
                None,
                (
                    Problem(
                        "unreadable",
                        f"the repository policy could not be read ({r.policy_status}; see the errors "
                        "frame): who it grants is undetermined",
                    ),
                ),
            )
        )
    return out


def _scope_problem():
    from .policy import Problem

    return Problem(
        "registry_scope_unknown",
        "REGISTRY_POLICY_SCOPE could not be read; the registry policy is evaluated as V2 "
        "(every action), the wider assumption",
    )


def repository_context(inv):
    """(account, region, repository) -> Context (ARN and tags as far as they were read)."""
    partition = ecr.partition_of_snapshot(inv.meta)
    tags: dict[tuple, list] = {}
    for a, r, n, k, v in inv.repository_tags[
        ["account_id", "region", "repository_name", "key", "value"]
    ].itertuples(index=False):
        tags.setdefault((a, r, n), []).append((k, v if isinstance(v, str) else ""))
    out = {}
    repos = inv.repositories[["account_id", "region", "repository_name", "repository_arn", "tags_status"]]
    for a, r, n, arn, status in repos.itertuples(index=False):
        known = status in ("present", "absent")
        out[(a, r, n)] = Context(
            arn if isinstance(arn, str) else ecr.repository_arn(partition, r, a, n),
            tuple(sorted(tags.get((a, r, n), ()))) if known else None,
        )
    return out


def _context(contexts: dict, base: dict, partition: str) -> Context:
    if base["scope"] != "repository":
        return Context(None, None)  # a registry policy or template: repositories with any tags
    key = (base["account_id"], base["region"], base["repository_name"])
    arn = ecr.repository_arn(partition, base["region"], base["account_id"], base["repository_name"])
    return contexts.get(key) or Context(arn, None)


def grants(inv) -> pd.DataFrame:
    """One row per resource × grantee after all statements are weighed (columns: GRANT_COLUMNS),
    with the effective columns after the organization's RCPs."""
    # the access checks, in-use reach and the consumer checks all ask: computed once per inventory
    return inv.cached("access.grants", lambda: _grants(inv)).copy()


def _grants(inv) -> pd.DataFrame:
    org = org_view(inv)
    orgs = organization(inv)
    contexts = repository_context(inv)
    partition = ecr.partition_of_snapshot(inv.meta)
    rows: list[dict] = []
    done: dict[tuple, list[tuple]] = {}  # identical evaluations (same policy text) for the same owner
    for res in evaluated_resources(inv):
        if res.evaluation is None:
            rows.append(_undetermined_row(res.base))
            continue
        owner = res.base["account_id"]
        key = (id(res.evaluation), owner)
        if key not in done:
            done[key] = _grant_rows_with_pieces(res.evaluation, owner, org, {})
        basis, rcps = orgs.rcps(owner)
        for core, pieces in done[key]:
            if basis != "rcp_applied":
                eff = _as_is(core, basis)
            else:
                eff = _effective(core, pieces, owner, org, rcps, _context(contexts, res.base, partition))
            rows.append({**res.base, **core, **eff})
    df = schema.from_records(rows, GRANT_COLUMNS)
    return df.sort_values(
        ["severity", "account_id", "region", "scope", "repository_name", "grantee"],
        kind="stable",
        ignore_index=True,
    )


GAP_REASONS = {
    "management_account_exempt": "the repository is in the management account, where RCPs do not apply",
    "rcp_excluded_by_tag": "a resource tag exempts the repository from the RCP",
    "no_rcp_on_path": "no RCP is attached on the account's path (root, OUs, account)",
}


def perimeter_gaps(inv, grants_df: pd.DataFrame | None = None) -> pd.DataFrame:
    """Repository grants still public or external after the RCPs because the perimeter does not
    reach them (`gap_reason`); empty when the organization attaches no custom RCP (no perimeter)."""
    g = grants(inv) if grants_df is None else grants_df
    keep = (
        (g["scope"] == "repository")
        & g["effective_exposure"].isin(["public", "external"])
        & g["effective_basis"].isin(list(GAP_REASONS))
    )
    if not organization(inv).has_perimeter:
        keep = keep & False
    out = g[keep].reset_index(drop=True)
    return out.assign(gap_reason=out["effective_basis"].map(GAP_REASONS))


def policy_findings(inv) -> pd.DataFrame:
    """Policy-quality findings: unreadable policies and statements, dangling principals,
    unknown operators/keys/actions, confused deputies, grantees outside (or gone from) the org."""
    org = org_view(inv)
    states = {}
    if "state" in inv.accounts:
        states = {
            a: s for a, s in zip(inv.accounts["account_id"], inv.accounts["state"]) if isinstance(s, str)
        }
    rows: list[dict] = []
    cross_account = False
    for res in evaluated_resources(inv):
        for p in res.problems:
            fid, sev = FINDINGS.get(p.code, (f"ecr_policy_{p.code}", "low"))
            if p.code == "registry_scope_unknown":
                fid, sev = "ecr_registry_policy_scope_unknown", "low"
            rows.append(
                {
                    **res.base,
                    "finding_id": fid,
                    "severity": sev,
                    "subject": p.subject,
                    "statement_id": p.statement,
                    "message": p.message,
                }
            )
        if res.evaluation is None:
            continue
        for uid, label in dict.fromkeys(res.evaluation.dangling):
            rows.append(
                {
                    **res.base,
                    "finding_id": "ecr_policy_dangling_principal",
                    "severity": "low",
                    "subject": uid,
                    "statement_id": label,
                    "message": f"principal {uid} is a unique id: the IAM identity was deleted and the "
                    "statement grants it nothing; remove it",
                }
            )
        for g in _grant_rows(res.evaluation, res.base["account_id"], org, res.base):
            sid = ", ".join(g["statement_ids"])
            if g["is_confused_deputy"]:
                rows.append(
                    {
                        **res.base,
                        "finding_id": "ecr_policy_confused_deputy",
                        "severity": g["severity"],
                        "subject": g["grantee"],
                        "statement_id": sid,
                        "message": f"service principal {g['grantee']} is allowed {g['actions']} without "
                        "aws:SourceAccount / aws:SourceArn tying it to an account or resource",
                    }
                )
            acct = g["grantee_account_id"]
            if g["exposure"] in ("external", "org") and acct:
                cross_account = True
            if g["exposure"] == "external" and acct and org.org_id and g["grantee_kind"] != "service":
                rows.append(
                    {
                        **res.base,
                        "finding_id": "ecr_policy_grantee_outside_org",
                        "severity": "medium",
                        "subject": acct,
                        "statement_id": sid,
                        "message": f"account {acct} is granted {g['actions']} but is not in organization "
                        f"{org.org_id}",
                    }
                )
            if g["exposure"] == "external" and g["grantee_kind"] == "org" and org.org_id:
                rows.append(
                    {
                        **res.base,
                        "finding_id": "ecr_policy_grantee_outside_org",
                        "severity": "medium",
                        "subject": g["grantee"],
                        "statement_id": sid,
                        "message": f"organization {g['grantee']} is not ours ({org.org_id})",
                    }
                )
            state = states.get(acct) if acct else None
            if state and state != "ACTIVE" and g["exposure"] in ("org", "external"):
                rows.append(
                    {
                        **res.base,
                        "finding_id": "ecr_policy_grantee_inactive_account",
                        "severity": "medium",
                        "subject": acct,
                        "statement_id": sid,
                        "message": f"account {acct} is {state} in the organization but still granted "
                        f"{g['actions']}",
                    }
                )
    if cross_account and not org.org_id:
        rows.append(
            {
                "account_id": None,
                "region": None,
                "repository_name": None,
                "scope": None,
                "template_prefix": None,
                "finding_id": "ecr_access_organization_unknown",
                "severity": "info",
                "subject": "",
                "statement_id": "",
                "message": "the snapshot has no organization: every other account is classed external",
            }
        )
    return schema.from_records(rows, FINDING_COLUMNS)


def matrix(grants_df: pd.DataFrame, *, include_account: bool = False) -> pd.DataFrame:
    """Owner account × grantee matrix: number of resources (repositories, registries, templates)
    granting anything to the grantee. Grantee label: account id, else the grantee itself
    (`*`, organization id, service)."""
    df = grants_df
    if not include_account:
        df = df[df["exposure"] != "account"]
    if df.empty:
        return pd.DataFrame(dtype="Int64")
    label = df["grantee_account_id"].where(
        df["grantee_account_id"].notna() & (df["grantee_kind"] != "service"), df["grantee"]
    )
    resource = (
        df["scope"]
        + ":"
        + df["region"]
        + ":"
        + df["repository_name"].fillna("")
        + ":"
        + df["template_prefix"].fillna("")
    )
    m = (
        pd.DataFrame({"account_id": df["account_id"], "grantee": label, "resource": resource})
        .drop_duplicates()
        .pivot_table(index="account_id", columns="grantee", values="resource", aggfunc="count", fill_value=0)
    )
    return m.astype("Int64")


def by_account(grants_df: pd.DataFrame) -> pd.DataFrame:
    """One row per owner account: grants to anyone but the owner by exposure, distinct grantees,
    grants that let someone push/delete/manage, and the worst severity; worst accounts first."""
    g = grants_df[grants_df["exposure"] != "account"]
    if g.empty:
        return pd.DataFrame(columns=["account_id", "worst_severity", "grants", "grantees", "write_grants"])
    write = (
        g["can_push"].fillna(False) | g["can_delete"].fillna(False) | g["can_manage"].fillna(False)
    ).astype(bool)
    rank = g["severity"].astype(ecr.SEVERITY).cat.codes
    out = (
        g.assign(write=write, rank=rank)
        .groupby("account_id", sort=True)
        .agg(
            rank=("rank", "min"),
            grants=("grantee", "size"),
            grantees=("grantee", "nunique"),
            write_grants=("write", "sum"),
        )
    )
    by_exp = g.groupby(["account_id", "exposure"]).size().unstack(fill_value=0)
    by_exp = by_exp.reindex(columns=[e for e in EXPOSURES if e in by_exp.columns])
    out = out.join(by_exp).sort_values(
        ["rank", "write_grants", "grants"], ascending=[True, False, False], kind="stable"
    )
    out.insert(0, "worst_severity", pd.Categorical.from_codes(out.pop("rank").to_numpy(), dtype=ecr.SEVERITY))
    return out.reset_index().astype(
        {c: "Int64" for c in ["grants", "grantees", "write_grants", *by_exp.columns]}
    )


def summary(grants_df: pd.DataFrame) -> pd.DataFrame:
    """Counts of grants by exposure × capability (a grant counts once per capability it has)."""
    caps = ["can_pull", "can_push", "can_delete", "can_manage"]
    out = grants_df.assign(grants=1).groupby("exposure", observed=True)[caps + ["grants"]].sum(min_count=0)
    out = out.reindex([e for e in EXPOSURES if e in out.index])
    return out.astype("Int64")


def critical(grants_df: pd.DataFrame, trusted_accounts=()) -> pd.DataFrame:
    """The critical list: public anything, and external push/delete/manage, plus policies that
    could not be read. Grantees in `trusted_accounts` (account ids or org ids the reader vouches
    for, e.g. a vendor) are left out of the external part, never out of the public part."""
    trusted = {str(t).strip() for t in trusted_accounts if str(t).strip()}
    g = grants_df
    write = g["can_push"].fillna(False) | g["can_delete"].fillna(False) | g["can_manage"].fillna(False)
    is_trusted = g["grantee_account_id"].isin(trusted) | g["grantee"].isin(trusted)
    keep = (
        (g["exposure"] == "public")
        | (g["exposure"] == "undetermined")
        | ((g["exposure"] == "external") & write.astype(bool) & ~is_trusted)
    )
    return g[keep.astype(bool)].reset_index(drop=True)


def coverage(inv) -> pd.DataFrame:
    """What the access analysis could look at: policy read status per scope (present, absent,
    unreadable, ...) and registry policy scope. Unreadable policies are not 'no access'."""
    repos = inv.repositories["policy_status"].fillna("unknown").value_counts()
    regs = inv.registries["registry_policy_status"].fillna("unknown").value_counts()
    scope = inv.registries["registry_policy_scope"].fillna("unreadable").value_counts()
    tmpl = inv.registries["creation_templates_status"].fillna("unknown").value_counts()
    rows = (
        [{"what": "repository policy", "status": k, "count": v} for k, v in repos.items()]
        + [{"what": "registry policy", "status": k, "count": v} for k, v in regs.items()]
        + [{"what": "registry policy scope", "status": k, "count": v} for k, v in scope.items()]
        + [{"what": "creation templates", "status": k, "count": v} for k, v in tmpl.items()]
    )
    return pd.DataFrame(rows, columns=["what", "status", "count"]).astype({"count": "Int64"})


__all__ = [
    "grants",
    "policy_findings",
    "matrix",
    "by_account",
    "summary",
    "severity",
    "exposure",
    "GRANT_COLUMNS",
    "FINDING_COLUMNS",
    "EFFECTIVE_ORDER",
    "evaluated_resources",
    "perimeter_gaps",
    "GAP_REASONS",
    "repository_context",
    "critical",
    "coverage",
]
