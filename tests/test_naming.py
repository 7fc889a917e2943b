"""Column names follow the rules of docs/conventions.md (issue 13): every column of every frame and
of the public analysis outputs, on the demo snapshot kept in tests/data/snapshot-v2. The rules are
checked by their ids; the exceptions are the table in docs/conventions.md#exceptions."""

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from ecr_audit import Inventory, access, cost, ecr, findings, images, lifecycle, load, schema, summary

ROOT = Path(__file__).resolve().parents[1]
V2_SNAPSHOT = ROOT / "tests" / "data" / "snapshot-v2"

UNITS = {"bytes", "usd", "gb", "tb", "days", "pct"}
PERIODS = {"month", "year"}
POSITIONS = ("_index", "_rank", "_priority")
DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
RULES = (
    "snake_case",
    "unit_last",
    "time_at",
    "boolean_prefix",
    "id_text",
    "account_id",
    "arn",
    "digest",
    "status",
    "count_plural",
    "text",
)


def unit_last(name: str) -> bool:
    """From the first unit word on, the name is `<unit>[_<period>]` then `_per_<unit or period>` parts."""
    words = name.split("_")
    first = next((i for i, w in enumerate(words) if w in UNITS), None)
    if first is None:
        return True
    tail = words[first:]

    def unit(i):  # index after a unit (with its period) starting at i, else None
        if i < len(tail) and tail[i] in UNITS:
            return i + 1 + (i + 1 < len(tail) and tail[i + 1] in PERIODS)
        return None

    i = unit(0)
    while i is not None and i < len(tail):
        if tail[i] != "per" or i + 1 >= len(tail):
            return False
        i = unit(i + 1) or (i + 2 if tail[i + 1] in PERIODS else None)
    return i is not None


def _kind(dtype) -> str:
    text = str(dtype)
    if text.startswith("datetime64"):
        return "time" if getattr(dtype, "tz", None) is not None or "UTC" in text else "naive time"
    if text in ("bool", "boolean"):
        return "boolean"
    if text.lower().startswith(("int", "uint")):
        return "int"
    if text in ("str", "string", "object", "category", schema.SEVERITY):
        return "text"
    return text


def _is_json_document(text: str) -> bool:
    try:
        return isinstance(json.loads(text), (dict, list))
    except ValueError:
        return False


def broken_rules(column: str, dtype, values: pd.Series | None) -> set[str]:
    """The rule ids `column` breaks, given its dtype and (optionally) its values."""
    out = set()
    kind = _kind(dtype)
    if not re.fullmatch(r"[a-z][a-z0-9_]*", column):
        out.add("snake_case")
    if not unit_last(column):
        out.add("unit_last")
    if (kind in ("time", "naive time")) != column.endswith("_at") or kind == "naive time":
        out.add("time_at")
    if (kind == "boolean") != column.startswith(("is_", "has_", "can_")):
        out.add("boolean_prefix")
    if column.endswith("_id") and kind != "text":
        out.add("id_text")
    words = column.split("_")
    if kind == "int" and not (
        words[0].endswith("s") or words[-1].endswith("s") or words[-1] in UNITS or column.endswith(POSITIONS)
    ):
        out.add("count_plural")
    texts = [] if values is None else values.dropna().tolist()
    if texts and all(isinstance(t, str) for t in texts):
        if all(t.startswith("arn:") for t in texts) != column.endswith("_arn"):
            out.add("arn")
        if all(DIGEST.fullmatch(t) for t in texts) != column.endswith("_digest"):
            out.add("digest")
        if set(texts) <= set(schema.STATUS) and column != "status" and not column.endswith("_status"):
            out.add("status")
        if all(_is_json_document(t) for t in texts) and not column.endswith("_text"):
            out.add("text")
        if (column == "account_id" or column.endswith("_account_id")) and not all(
            map(ecr.is_account_id, texts)
        ):
            out.add("account_id")
    return out


def exceptions() -> set[tuple[str, str]]:
    """(where.column, rule) pairs of the table under docs/conventions.md#exceptions."""
    text = (ROOT / "docs" / "conventions.md").read_text()
    section = text.split("\n## Exceptions\n", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(r"^\| `([^`]+)` \| `([a-z_]+)` \| [^|]+\|$", section, re.MULTILINE)
    assert rows, "no exception table found in docs/conventions.md"
    return set(rows)


@pytest.fixture(scope="module")
def inv():
    return load(V2_SNAPSHOT)


def _violations(where: str, frame: pd.DataFrame, dtypes=None) -> set[tuple[str, str]]:
    return {
        (f"{where}.{col}", rule)
        for col in frame.columns
        for rule in broken_rules(str(col), (dtypes or {}).get(col, frame[col].dtype), frame[col])
    }


def test_every_column_of_every_frame_follows_the_naming_rules(inv):
    found = set()
    for name, frame in schema.FRAMES.items():
        declared = {c.name: c.dtype for c in frame.columns}
        found |= _violations(name, inv.frames[name][list(declared)], declared)
    assert found <= exceptions(), sorted(found - exceptions())


def _manifests_unread(inv):
    frames = {n: inv.frames[n] for n in schema.FRAMES}
    frames["coverage"] = frames["coverage"].assign(has_read_manifests=False)
    return Inventory.from_frames(meta=inv.meta, **frames)


@pytest.fixture(scope="module")
def outputs(inv) -> dict[str, pd.DataFrame]:
    return _outputs(inv)


def _outputs(inv) -> dict[str, pd.DataFrame]:
    g, c, o, s = access.grants(inv), images.classify(inv), images.orphans(inv), images.stale(inv)
    sim, st, sv, f = lifecycle.simulate(inv), cost.storage(inv), cost.savings(inv), findings.findings(inv)
    return {
        "access.grants": g,
        "access.policy_findings": access.policy_findings(inv),
        "access.replication": access.replication(inv),
        "access.by_account": access.by_account(g),
        "images.classify": c,
        "images.graph_completeness": images.graph_completeness(inv),
        "images.orphans": o,
        "images.undetermined": images.undetermined(_manifests_unread(inv)),  # none in the demo
        "images.stale": s,
        "images.stale_by_repository": images.stale_by_repository(inv),
        "images.superseded": images.superseded(inv),
        "images.role_mix": images.role_mix(c),
        "images.orphan_summary": images.orphan_summary(o),
        "images.idle_histogram": images.idle_histogram(s),
        "lifecycle.simulate": sim,
        "lifecycle.summary": lifecycle.summary(sim),
        "lifecycle.lint": lifecycle.lint(inv),
        "cost.storage": st,
        "cost.savings": sv,
        "cost.savings_totals": cost.savings_totals(sv),
        "cost.archive_advice": cost.archive_advice(inv),
        "cost.archive_candidates": cost.archive_candidates(inv),
        "cost.rollup": cost.rollup(st, "account"),
        "cost.basis_summary": cost.basis_summary(st),
        "findings.findings": f,
        "findings.catalog": findings.catalog(),
        "summary.top_findings": summary.top_findings(f),
    }


def test_every_column_of_the_public_analysis_outputs_follows_the_naming_rules(outputs):
    assert all(len(df) for df in outputs.values()), [k for k, df in outputs.items() if not len(df)]
    found = set().union(*(_violations(where, df) for where, df in outputs.items()))
    assert found <= exceptions(), sorted(found - exceptions())


def test_the_exceptions_name_real_columns_and_rules(outputs):
    for where_column, rule in exceptions():
        where, column = where_column.rsplit(".", 1)
        columns = schema.FRAMES[where].names if where in schema.FRAMES else list(outputs[where].columns)
        assert column in columns, where_column
        assert rule in RULES, rule


@pytest.mark.parametrize(
    "name, ok",
    [
        ("size_bytes", True),
        ("cost_usd_per_month", True),
        ("standard_usd_per_gb_month", True),
        ("billed_gb_month", True),
        ("restore_usd_per_gb", True),
        ("archive_after_tb", True),
        ("archive_tb_after", False),
        ("bytes_freed", False),
        ("cost_usd_per_month_freed", False),
        ("freed_bytes_upper_bound", False),
    ],
)
def test_the_unit_ends_the_name(name, ok):
    assert unit_last(name) is ok


@pytest.mark.parametrize(
    "column, dtype, values, rule",
    [
        ("manifests_read", "boolean", None, "boolean_prefix"),
        ("is_read", "str", None, "boolean_prefix"),
        ("pushed", "datetime64[us, UTC]", None, "time_at"),
        ("pushed_at", "datetime64[us]", None, "time_at"),
        ("grantee_id", "Int64", None, "id_text"),
        ("family_size", "Int64", None, "count_plural"),
        ("kms_key", "str", pd.Series(["arn:aws:kms:us-east-1:012345678901:key/k", None]), "arn"),
        ("scanning_rules", "str", pd.Series(["[]", '[{"scanFrequency": "SCAN_ON_PUSH"}]']), "text"),
        ("destination_account_id", "str", pd.Series(["12345"]), "account_id"),
        ("policy", "str", pd.Series(["present", "absent"]), "status"),
        ("subject", "str", pd.Series(["sha256:" + "a" * 64]), "digest"),
        ("Repository", "str", None, "snake_case"),
    ],
)
def test_each_rule_flags_the_name_it_is_about(column, dtype, values, rule):
    assert rule in broken_rules(column, dtype, values)
