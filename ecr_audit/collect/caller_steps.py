"""Steps the collector runs once, as the caller: the organization's SCPs and RCPs.

The reads and their transforms live in `org_policies` (get_* and transform_*); this module drives
them through the table of reads (`reads`), which imports those get functions: keeping the driver
here keeps the import graph without a cycle (tests/test_house.py).
"""

from __future__ import annotations

from . import org_policies as orgpol
from . import reads
from .fields import Problems
from .reading import Reader


class _Caller(Reader):
    """The caller's reader for this step, remembering the codes of the reads that failed (a caller
    outside any organization is told apart from one that may not look)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.codes: list[str] = []

    def error(self, operation, code, kind, message, repository_name=None) -> None:
        self.codes.append(code)
        super().error(operation, code, kind, message, repository_name)


def collect_org_policies(sink, recorder, budget, clients, region: str) -> None:
    """Every SCP and RCP with its content and direct targets, and one coverage row per type."""
    caller = _Caller(sink, recorder, budget, calls_at=("", region))
    with clients.lease("organizations", region) as org:
        sink.add("org_policy_coverage", _read_all(caller, org))


def _read_all(caller: _Caller, org) -> list[dict]:
    listing = reads.LIST_ROOTS
    status, roots = caller.read(listing.operation, listing.get, org)
    if status != "present":
        if orgpol.NOT_IN_ORGANIZATION in caller.codes:
            why = "the caller's account is not in an organization (see errors)"
            return [orgpol.coverage(t, "not_an_organization", why) for t in orgpol.POLICY_TYPES]
        why = "ListRoots failed: which policy types are enabled is unknown (see errors)"
        return [orgpol.coverage(t, "unreadable", why) for t in orgpol.POLICY_TYPES]
    problems = Problems()
    types = orgpol.transform_policy_types(roots or [], problems)
    if problems:
        caller.invalid(listing.operation, problems)
        why = "the root's policy types could not be understood (see errors)"
        return [orgpol.coverage(t, "unreadable", why) for t in orgpol.POLICY_TYPES]
    out = []
    for policy_type in orgpol.POLICY_TYPES:
        state = types.get(policy_type)
        if state is None:
            out.append(
                orgpol.coverage(policy_type, "not_enabled", "the policy type is not enabled on the root")
            )
        else:
            out.append(_read_type(caller, org, policy_type, state))
    return out


def _read_type(caller: _Caller, org, policy_type: str, state: str) -> dict:
    """The policies of one enabled (or pending) type, their content and targets: its coverage row."""
    listing = reads.LIST_POLICIES
    status, listed = caller.read(listing.operation, listing.get, org, policy_type)
    if listed is None:
        return orgpol.coverage(policy_type, "unreadable", "ListPolicies failed (see errors)")
    problems = Problems()
    rows = orgpol.transform_policies(policy_type, listed, problems)
    if problems:
        caller.invalid(listing.operation, problems)
    gaps = [] if status == "present" and not problems else ["the policy list is incomplete"]
    no_text = no_targets = 0
    for row in rows:
        _, described = caller.read(
            reads.DESCRIBE_POLICY.operation, reads.DESCRIBE_POLICY.get, org, row["policy_id"]
        )
        found = Problems()
        row["policy_text"] = orgpol.transform_policy_text(described, found) if described is not None else None
        if found:
            caller.invalid(reads.DESCRIBE_POLICY.operation, found)
        no_text += row["policy_text"] is None
        target_status, targets = caller.read(
            reads.LIST_TARGETS_FOR_POLICY.operation, reads.LIST_TARGETS_FOR_POLICY.get, org, row["policy_id"]
        )
        found = Problems()
        caller.sink.add(
            "org_policy_targets", orgpol.transform_targets(row["policy_id"], targets or [], found)
        )
        if found:
            caller.invalid(reads.LIST_TARGETS_FOR_POLICY.operation, found)
        no_targets += target_status != "present" or bool(found)
    caller.sink.add("org_policies", rows)
    if no_text:
        gaps.append(f"the content of {no_text} of {len(rows)} policies could not be read")
    if no_targets:
        gaps.append(f"the targets of {no_targets} of {len(rows)} policies could not be read in full")
    if gaps:
        return orgpol.coverage(policy_type, "unreadable", "; ".join(gaps) + " (see errors)")
    if state != "ENABLED":
        return orgpol.coverage(policy_type, "pending", f"the policy type is {state} on the root")
    return orgpol.coverage(policy_type, "enabled")
