"""Lifecycle policy text → `Policy`, checked against ECR's documented constraints.

Grammar and constraints: docs/lifecycle.md#policy-grammar (AWS docs lifecycle_policy_parameters, LifecyclePolicies,
lifecycle_policy_examples; service quotas). Policy text is untrusted: `parse` never raises; it
returns the policy it could read and a list of `Problem`s. A policy with any `error` problem is
one ECR would reject (PutLifecyclePolicy fails), or one whose meaning the simulator cannot know,
and the simulator does not evaluate it. Constraints marked "inferred" are our reading of the
documentation, not a documented rule.

A key repeated within one JSON object with different values (issue 12 #7) is such an error: ECR
does not document which value it uses, json.loads would silently keep the last, and evaluating
either reading as if the policy were clean could hide what ECR expires. Repeated with the same
value it is a warning. `lint` reports both as their own finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .. import jsondoc

TAG_STATUSES = ("tagged", "untagged", "any")
COUNT_TYPES = ("imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned")
SINCE_TYPES = COUNT_TYPES[1:]
STORAGE_CLASSES = ("standard", "archive")
ACTIONS = ("expire", "transition")
MAX_RULES = 50
MIN_TEXT, MAX_TEXT = 100, 30_720
MAX_WILDCARDS = 4
ARCHIVE_MINIMUM_DAYS = 90
# ECR reports a rule's priority as LifecyclePolicyRulePriority, a 32-bit integer in its API model
# (appliedRulePriority of GetLifecyclePolicyPreview): a larger one cannot be a rule ECR runs (inferred).
MAX_PRIORITY = 2**31 - 1


@dataclass(frozen=True)
class Problem:
    severity: str  # error (ECR would reject it, or its meaning is unknown) | warning
    where: str  # e.g. "rules[2].selection.countUnit"
    message: str
    rule_priority: int | None = None
    code: str = ""  # "duplicate_key" for a repeated JSON key, else ""


@dataclass(frozen=True)
class Rule:
    priority: int
    tag_status: str
    count_type: str
    count_number: int
    action: str = "expire"
    tag_prefixes: tuple[str, ...] = ()
    tag_patterns: tuple[str, ...] = ()
    storage_class: str = "standard"
    count_unit: str | None = None
    target_storage_class: str | None = None
    description: str = ""

    @property
    def selects_untagged(self) -> bool:
        return self.tag_status in ("untagged", "any")

    def summary(self) -> str:
        sel = self.tag_status
        if self.tag_prefixes:
            sel += " prefix " + "+".join(self.tag_prefixes)
        if self.tag_patterns:
            sel += " pattern " + "+".join(self.tag_patterns)
        count = f"{self.count_type} {self.count_number}" + (f" {self.count_unit}" if self.count_unit else "")
        return f"rule {self.priority}: {sel} ({self.storage_class}), {count} → {self.action}"


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]  # sorted by priority, ascending
    problems: tuple[Problem, ...] = field(default=())

    @property
    def is_valid(self) -> bool:
        return not any(p.severity == "error" for p in self.problems)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _string_list(value, where, problems, prio) -> tuple[str, ...] | None:
    if not isinstance(value, list) or not value:
        problems.append(Problem("error", where, "must be a non-empty list of strings", prio))
        return None
    if not all(isinstance(v, str) and v for v in value):
        problems.append(Problem("error", where, "every entry must be a non-empty string", prio))
        return None
    return tuple(value)


def _rule(i: int, raw, problems: list[Problem]) -> Rule | None:
    w = f"rules[{i}]"
    if not isinstance(raw, dict):
        problems.append(Problem("error", w, "a rule must be a JSON object"))
        return None
    prio = raw.get("rulePriority")
    if not _is_int(prio) or not 1 <= prio <= MAX_PRIORITY:
        problems.append(
            Problem("error", f"{w}.rulePriority", f"required: an integer from 1 to {MAX_PRIORITY}")
        )
        prio = None
    n_before = len(problems)
    for key in set(raw) - {"rulePriority", "description", "selection", "action"}:
        problems.append(
            Problem("warning", f"{w}.{key[:80]}", "unknown field (ignored by this simulator)", prio)
        )
    desc = raw.get("description", "")
    if not isinstance(desc, str):
        problems.append(Problem("error", f"{w}.description", "must be a string", prio))
        desc = ""
    sel = raw.get("selection")
    act = raw.get("action")
    if not isinstance(sel, dict):
        problems.append(Problem("error", f"{w}.selection", "required: an object", prio))
        sel = {}
    if not isinstance(act, dict):
        problems.append(Problem("error", f"{w}.action", "required: an object", prio))
        act = {}
    for key in set(sel) - {
        "tagStatus",
        "tagPatternList",
        "tagPrefixList",
        "storageClass",
        "countType",
        "countUnit",
        "countNumber",
    }:
        problems.append(Problem("warning", f"{w}.selection.{key[:80]}", "unknown field (ignored)", prio))

    status = sel.get("tagStatus")
    if status not in TAG_STATUSES:
        problems.append(
            Problem("error", f"{w}.selection.tagStatus", "required: tagged, untagged or any", prio)
        )
    prefixes = patterns = ()
    has_prefix, has_pattern = "tagPrefixList" in sel, "tagPatternList" in sel
    if has_prefix:
        prefixes = _string_list(sel["tagPrefixList"], f"{w}.selection.tagPrefixList", problems, prio) or ()
    if has_pattern:
        patterns = _string_list(sel["tagPatternList"], f"{w}.selection.tagPatternList", problems, prio) or ()
        for p in patterns:
            if p.count("*") > MAX_WILDCARDS:
                problems.append(
                    Problem(
                        "error",
                        f"{w}.selection.tagPatternList",
                        f"at most {MAX_WILDCARDS} wildcards per pattern: {p[:80]!r}",
                        prio,
                    )
                )
    if status == "tagged" and not (has_prefix or has_pattern):
        problems.append(
            Problem(
                "error", f"{w}.selection", "tagStatus tagged requires tagPrefixList or tagPatternList", prio
            )
        )
    if has_prefix and has_pattern:
        problems.append(
            Problem(
                "error",
                f"{w}.selection",
                "tagPrefixList and tagPatternList cannot both be used in one rule",
                prio,
            )
        )
    if status in ("untagged", "any") and (has_prefix or has_pattern):
        problems.append(
            Problem(
                "error",
                f"{w}.selection",
                f"tagStatus {status} must omit tagPrefixList and tagPatternList",
                prio,
            )
        )

    count_type = sel.get("countType")
    if count_type not in COUNT_TYPES:
        problems.append(
            Problem("error", f"{w}.selection.countType", "required: one of " + ", ".join(COUNT_TYPES), prio)
        )
    number = sel.get("countNumber")
    if not _is_int(number) or number < 1:
        problems.append(
            Problem("error", f"{w}.selection.countNumber", "required: an integer greater than 0", prio)
        )
        number = None
    unit = sel.get("countUnit")
    if count_type in SINCE_TYPES and unit != "days":
        problems.append(
            Problem("error", f"{w}.selection.countUnit", f'{count_type} requires countUnit "days"', prio)
        )
    if count_type == "imageCountMoreThan" and "countUnit" in sel:
        problems.append(
            Problem(
                "error", f"{w}.selection.countUnit", "countUnit is not allowed with imageCountMoreThan", prio
            )
        )

    storage = sel.get("storageClass", "standard")
    if storage not in STORAGE_CLASSES:
        problems.append(Problem("error", f"{w}.selection.storageClass", "must be standard or archive", prio))
    if count_type == "sinceImageTransitioned":
        if sel.get("storageClass") != "archive":
            problems.append(
                Problem(
                    "error",
                    f"{w}.selection.storageClass",
                    "sinceImageTransitioned requires storageClass archive",
                    prio,
                )
            )
        if _is_int(number) and number < ARCHIVE_MINIMUM_DAYS:
            problems.append(
                Problem(
                    "warning",
                    f"{w}.selection.countNumber",
                    f"archived images are kept at least {ARCHIVE_MINIMUM_DAYS} days; "
                    f"this rule acts as if countNumber were {ARCHIVE_MINIMUM_DAYS}",
                    prio,
                )
            )
    elif count_type in COUNT_TYPES and storage == "archive":
        problems.append(
            Problem(
                "error",
                f"{w}.selection.storageClass",
                f"{count_type} only works on storageClass standard",
                prio,
            )
        )

    action = act.get("type")
    target = act.get("targetStorageClass")
    if action not in ACTIONS:
        problems.append(Problem("error", f"{w}.action.type", "required: expire or transition", prio))
    if action == "transition" and target != "archive":
        problems.append(
            Problem(
                "error",
                f"{w}.action.targetStorageClass",
                "transition requires targetStorageClass archive",
                prio,
            )
        )
    if action == "expire" and "targetStorageClass" in act:
        problems.append(
            Problem(
                "error",
                f"{w}.action.targetStorageClass",
                "targetStorageClass is only used with transition (inferred)",
                prio,
            )
        )
    if count_type == "sinceImagePulled" and action == "expire":
        problems.append(
            Problem(
                "error",
                f"{w}.action.type",
                "sinceImagePulled can only transition (to delete by pull age, transition then "
                "expire with sinceImageTransitioned)",
                prio,
            )
        )
    if count_type == "sinceImageTransitioned" and action == "transition":
        problems.append(Problem("error", f"{w}.action.type", "sinceImageTransitioned can only expire", prio))

    if any(p.severity == "error" for p in problems[n_before:]) or prio is None:
        return None
    return Rule(
        priority=prio,
        tag_status=status,
        count_type=count_type,
        count_number=number,
        action=action,
        tag_prefixes=prefixes,
        tag_patterns=patterns,
        storage_class=storage,
        count_unit=unit if count_type in SINCE_TYPES else None,
        target_storage_class=target if action == "transition" else None,
        description=desc,
    )


def _policy_checks(rules: list[Rule], priorities: list[int], problems: list[Problem]) -> None:
    seen: dict[int, int] = {}
    for prio in priorities:
        seen[prio] = seen.get(prio, 0) + 1
    for prio, n in seen.items():
        if n > 1:
            problems.append(
                Problem(
                    "error",
                    "rules",
                    f"rulePriority {prio} is used by {n} rules; priorities must be unique",
                    prio,
                )
            )
    for cls in STORAGE_CLASSES:
        in_cls = [r for r in rules if r.storage_class == cls]
        if not in_cls:
            continue
        last = max(r.priority for r in in_cls)
        for r in in_cls:
            # Documented: "a rule with tagStatus any must have the highest rulePriority". The docs'
            # own archive example has an `any` rule per storage class, so we check it per class
            # (inferred); lint also reports an `any` rule that is not last overall.
            if r.tag_status == "any" and r.priority != last:
                problems.append(
                    Problem(
                        "error",
                        "rules",
                        f"the tagStatus any rule (priority {r.priority}) must have the "
                        f"highest rulePriority among {cls} rules",
                        r.priority,
                    )
                )
        untagged = [r.priority for r in in_cls if r.tag_status == "untagged"]
        if len(untagged) > 1:
            # Docs: "Only one rule selecting a specific storage class is allowed to select untagged
            # images"; the worked example pairs an untagged rule with an `any` rule, so we read it
            # as one tagStatus untagged rule per class (inferred) and warn rather than reject.
            problems.append(
                Problem(
                    "warning",
                    "rules",
                    f"several tagStatus untagged rules select {cls} images "
                    f"(priorities {untagged}); ECR allows one",
                    untagged[0],
                )
            )


def parse(text) -> Policy:
    """Parse lifecycle policy text (or an already-decoded dict). Never raises on bad input."""
    problems: list[Problem] = []
    if isinstance(text, (bytes, bytearray)):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return Policy((), (Problem("error", "policy", "policy text is not UTF-8"),))
    if isinstance(text, str):
        if not MIN_TEXT <= len(text) <= MAX_TEXT:
            problems.append(
                Problem(
                    "error",
                    "policy",
                    f"policy text must be {MIN_TEXT}–{MAX_TEXT} characters (it has {len(text)})",
                )
            )
        try:
            doc, repeated = jsondoc.loads(text)
        except (ValueError, RecursionError) as e:
            return Policy(
                (), tuple(problems) + (Problem("error", "policy", f"not valid JSON: {str(e)[:200]}"),)
            )
        for path, key, same in repeated:
            where = f"{path}.{key}"[:120] if path else str(key)[:80]
            if same:
                problems.append(
                    Problem(
                        "warning",
                        where,
                        "this key appears more than once in one object, with the same value each time",
                        code="duplicate_key",
                    )
                )
            else:
                problems.append(
                    Problem(
                        "error",
                        where,
                        "this key appears more than once in one object with "
                        "different values; ECR does not document which one it uses, so the "
                        "policy is not simulated",
                        code="duplicate_key",
                    )
                )
    elif isinstance(text, dict):
        doc = text
    else:
        return Policy(
            (), (Problem("error", "policy", f"expected policy text or a dict, got {type(text).__name__}"),)
        )
    if not isinstance(doc, dict):
        return Policy((), tuple(problems) + (Problem("error", "policy", "the policy must be a JSON object"),))
    for key in set(doc) - {"rules"}:
        problems.append(Problem("warning", str(key)[:80], "unknown top-level field (ignored)"))
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        problems.append(Problem("error", "rules", "required: a non-empty list of rules"))
        return Policy((), tuple(problems))
    if len(raw_rules) > MAX_RULES:
        problems.append(Problem("error", "rules", f"at most {MAX_RULES} rules (it has {len(raw_rules)})"))
    rules = [r for i, raw in enumerate(raw_rules) if (r := _rule(i, raw, problems)) is not None]
    priorities = [
        r["rulePriority"] for r in raw_rules if isinstance(r, dict) and _is_int(r.get("rulePriority"))
    ]
    _policy_checks(rules, priorities, problems)
    return Policy(tuple(sorted(rules, key=lambda r: r.priority)), tuple(problems))


def validate(text) -> list[Problem]:
    """Every problem with the policy (empty: ECR would accept it, as far as documented)."""
    return list(parse(text).problems)
