"""Numbers for people (`formats`) and the tables a page shows (`pages.table`)."""

import html
import re

import numpy as np
import pandas as pd
import pytest

from ecr_audit import Inventory, formats, pages
from ecr_audit.formats import Names


@pytest.mark.parametrize(
    "name, dtype, kind",
    [
        ("billable_bytes", "Int64", "bytes"),
        ("freed_bytes", "Int64", "bytes"),
        ("freed_upper_bound_bytes", "Int64", "bytes"),
        ("cost_usd_per_month", "float64", "money"),
        ("freed_cost_usd_per_month", "float64", "money"),
        ("minimum_charge_usd", "float64", "money"),
        ("standard_usd_per_gb_month", "float64", "price"),
        ("restore_usd_per_gb", "float64", "price"),
        ("pushed_at", "datetime64[us, UTC]", "date"),
        ("is_live", "boolean", "bool"),
        ("is_graph_known", "bool", "bool"),
        ("can_pull", "Int64", "count"),  # access.summary counts grants per capability
        ("image_digest", "str", "digest"),
        ("account_id", "str", "account"),
        ("grantee_account_id", "str", "account"),
        ("ou_path", "str", "ou"),
        ("archive_after_tb", "float64", "tb"),
        ("reported_to_billable_ratio", "float64", "ratio"),
        ("images", "Int64", "count"),
        ("repository_arn", "str", "arn"),
        ("repository_name", "str", "text"),
    ],
)
def test_the_kind_of_a_column_follows_the_schema_naming_rules(name, dtype, kind):
    assert formats.kind(name, pd.Series([], dtype=dtype).dtype) == kind


def test_values_read_as_people_write_them():
    assert [formats.size(v) for v in (0, 512, 1536, 296355641, 5363175696, 3 * 2**40)] == [
        "0 B",
        "512 B",
        "1.50 KiB",
        "282.6 MiB",
        "4.99 GiB",
        "3.00 TiB",
    ]
    assert [formats.money(v) for v in (1234.5, 0.0276, 0, 0.0004, -0.000018, -12.3)] == [
        "$1,234.50",
        "$0.03",
        "$0.00",
        "<$0.01",  # never a false "$0.00" for a real amount
        "-<$0.01",
        "-$12.30",
    ]
    assert [formats.price(v) for v in (0.1, 0.0114, 0.07)] == ["$0.10", "$0.0114", "$0.07"]
    assert formats.date(pd.Timestamp("2026-11-27T15:59:42Z")) == "2026-11-27"
    assert formats.when("2026-11-27T15:59:42+00:00") == "2026-11-27 15:59 UTC"
    assert formats.digest("sha256:" + "1a42b3c4" + "0" * 56) == "sha256:1a42b3c4…"
    assert [formats.boolean(v) for v in (True, False, pd.NA)] == ["✓", "", "?"]
    assert formats.count(1234567) == "1,234,567" and formats.ratio(2.676958) == "2.68×"
    assert formats.value(["a", "b", "c", "d", "e"], "text") == "a, b, c (+2)"
    for missing in (None, np.nan, pd.NA, pd.NaT):
        assert formats.value(missing, "money") == formats.value(missing, "date") == ""


def test_headers_drop_the_unit_their_cells_now_carry():
    assert [
        formats.label(c)
        for c in ("billable_bytes", "cost_usd_per_month", "pushed_at", "can_push", "account_id", "finding_id")
    ] == ["billable", "cost / month", "pushed", "push", "account", "finding id"]


def test_long_text_is_cut_with_a_count_of_what_was_left_out():
    actions = ", ".join(f"ecr:Action{i:02d}" for i in range(41))
    short = formats.shorten(actions, 60)
    assert len(short) <= 60 and short.endswith("(+37)") and short.startswith("ecr:Action00, ecr:Action01")
    assert formats.shorten("x" * 500, 100) == "x" * 99 + "…"
    assert (
        formats.humanize("204290567 bytes (USD 0.019 per month) freed") == "194.8 MiB ($0.02 per month) freed"
    )


def test_accounts_and_ous_are_named_with_their_id_beside_them():
    inv = Inventory.from_frames(
        meta={"organization": {"id": "o-abc"}},
        accounts=[
            {"account_id": "012345678901", "account_name": "payments", "collection_status": "collected"},
            {"account_id": "098765432109", "account_name": None, "collection_status": "collected"},
        ],
    )
    names = Names.of(inv)
    assert names.account("012345678901") == "payments (012345678901)"
    assert names.account("098765432109") == "098765432109"  # no name: the id alone
    assert names.principal("o-abc") == "o-abc (this organization)" and names.principal("*") == "*"
    assert names.ou("r-ab12/ou-ab12-x") == "r-ab12 / ou-ab12-x"  # no OU names in this snapshot: ids
    named = Names({}, {"r-ab12": "Root", "ou-ab12-x": "Payments"})
    assert named.ou("r-ab12/ou-ab12-x") == "Root / Payments (ou-ab12-x)"
    assert named.ou("ou-ab12-x") == "Payments (ou-ab12-x)"


def _cells(markup: str) -> list[list[str]]:
    rows = re.findall(r"<tr>(.*?)</tr>", markup, re.S)
    return [
        [
            html.unescape(re.sub(r"<[^>]+>", " ", c)).split()
            for c in re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", r, re.S)
        ]
        for r in rows
    ]


def test_a_table_shows_the_deciding_columns_first_and_at_most_eight():
    remediation = "Remove or narrow the repository policy statement (Principal, or a condition)"
    df = pd.DataFrame(
        {
            "account_id": ["012345678901", "098765432109"],
            "repository_name": ["app", "web"],
            "image_digest": ["sha256:" + "ab" * 32, "sha256:" + "cd" * 32],
            "size_bytes": pd.array([1536, None], dtype="Int64"),
            "cost_usd_per_month": [1234.5, 0.0001],
            "pushed_at": pd.to_datetime(["2026-01-02T03:04:05Z", None], utc=True),
            "is_live": pd.array([True, None], dtype="boolean"),
            "remediation": [remediation, remediation],
            "severity": ["high", "critical"],
            **{f"extra_{i}": [i, i] for i in range(5)},
            "empty": [None, None],
        }
    )
    names = Names({"012345678901": "payments"})
    markup = pages.table(df, names=names, sort="severity", csv_href="t.csv")
    head, first, second = _cells(markup)
    assert head[:2] == [["severity"], ["cost", "/", "month"]] and len(head) == 8
    assert f"<strong>Remediation</strong>: {html.escape(remediation, quote=True)}" in markup  # once, above
    assert second[:3] == [["high"], ["$1,234.50"], ["payments", "012345678901"]]
    assert first[:3] == [["critical"], ["<$0.01"], ["098765432109"]]
    assert ["sha256:abababab…"] in second and ["1.50", "KiB"] in second and ["2026-01-02"] in second
    assert "title='sha256:" + "ab" * 32 + "'" in markup  # the full digest in a tooltip
    assert ["✓"] in second and ["?"] in first  # a null boolean is "could not tell", not "no"
    assert "all rows and columns as CSV</a> (6 more columns there)" in markup  # 5 extra + the empty one


def test_a_table_escapes_text_from_aws_and_cuts_long_cells():
    evil = "<img src=x onerror=alert(1)>\u202e" + "x" * 2000
    markup = pages.table(pd.DataFrame({"message": [evil], "statement_ids": [[f"S{i}" for i in range(80)]]}))
    assert "<img" not in markup and "\u202e" not in markup and "\\u202e" in markup
    cells = [html.unescape(c) for c in re.findall(r"<div class=c[^>]*>(.*?)</div>", markup)]
    assert all(len(c) < 500 for c in cells), [len(c) for c in cells]
    listed = re.fullmatch(r"((?:S\d+, )*S\d+) \(\+(\d+)\)", cells[1])
    assert listed and len(listed.group(1).split(", ")) + int(listed.group(2)) == 80, cells[1]


def test_ous_are_named_from_the_snapshots_organizational_units_when_it_has_them():
    from types import SimpleNamespace

    accounts = pd.DataFrame({"account_id": ["012345678901"], "account_name": ["payments"]})
    ous = pd.DataFrame(
        {
            "ou_id": ["r-ab12", "ou-ab12-x"],
            "parent_id": [None, "r-ab12"],
            "name": ["Root", "Payments"],
            "ou_path": ["r-ab12", "r-ab12/ou-ab12-x"],
        }
    )
    inv = SimpleNamespace(accounts=accounts, frames={"organizational_units": ous}, organization_id="o-abc")
    names = Names.of(inv)
    assert names.ou("r-ab12/ou-ab12-x") == "Root / Payments (ou-ab12-x)"
    assert names.of_kind("account", "012345678901") == "payments (012345678901)"


def test_what_to_fix_first_renders_aws_text_as_text_with_the_account_by_name():
    from ecr_audit import summary

    evil = "<script>alert(1)</script>"
    rows = summary.fix_first(
        pd.DataFrame(
            [
                {
                    "finding_id": "ecr_repository_public_push",
                    "severity": "critical",
                    "resource_arn": f"arn:aws:ecr:us-east-1:012345678901:repository/{evil}",
                    "account_id": "012345678901",
                    "region": "us-east-1",
                    "repository_name": evil,
                    "title": "t",
                    "details": f"grantee * via statement(s) {evil}\u202e",
                    "remediation": "r",
                    "finding_uid": "u",
                }
            ]
        )
    )
    markup = pages.fix_first(rows, Names({"012345678901": "payments"}))
    assert "<script>" not in markup and "\u202e" not in markup and "&lt;script&gt;" in markup
    assert "payments (012345678901) · us-east-1" in markup
    assert "href='cross_account_access.html#critical-list'" in markup
