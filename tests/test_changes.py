"""Findings across runs and diffs of small hand-built snapshots (no sandbox)."""

import json

import pytest

from ecr_audit import Inventory, changes, save
from ecr_audit.cli import main

A, B = "111111111111", "222222222222"
MUTABLE = "ecr_repository_tags_mutable"


def inv(repos, units=((A, "us-east-1"),), when="2026-11-01T00:00:00+00:00", errors=(), org="o-aaaaaaaaaa"):
    """An inventory holding `repos` ((account, region, name, mutability)), having read `units`."""
    return Inventory.from_frames(
        meta={
            "collected_at": when,
            "completeness": "complete",
            "caller": {"arn": f"arn:aws:iam::{A}:user/audit", "account_id": A},
            "organization": {"id": org},
        },
        repositories=[
            {
                "account_id": a,
                "region": r,
                "repository_name": n,
                "repository_arn": f"arn:aws:ecr:{r}:{a}:repository/{n}",
                "image_tag_mutability": m,
                "encryption_type": "KMS",
                "has_scan_on_push": True,
            }
            for a, r, n, m in repos
        ],
        coverage=[{"account_id": a, "region": r, "status": "complete"} for a, r in units],
        errors=list(errors),
    )


def states(*invs):
    f = changes.finding_states(list(invs))
    f = f[f["finding_id"] == MUTABLE]
    return dict(zip(f["repository_name"], f["state"].astype(str)))


def test_new_persisting_resolved():
    one = inv([(A, "us-east-1", "app", "MUTABLE"), (A, "us-east-1", "old", "MUTABLE")])
    two = inv(
        [
            (A, "us-east-1", "app", "MUTABLE"),
            (A, "us-east-1", "old", "IMMUTABLE"),
            (A, "us-east-1", "web", "MUTABLE"),
        ],
        when="2026-11-02T00:00:00+00:00",
    )
    assert states(one, two) == {"app": "persisting", "old": "resolved", "web": "new"}


def test_reopened_across_three_snapshots():
    days = [f"2026-11-0{d}T00:00:00+00:00" for d in (1, 2, 3)]
    one = inv([(A, "us-east-1", "app", "MUTABLE")], when=days[0])
    two = inv([(A, "us-east-1", "app", "IMMUTABLE")], when=days[1])
    three = inv([(A, "us-east-1", "app", "MUTABLE")], when=days[2])
    f = changes.finding_states([one, two, three])
    row = f[f["finding_id"] == MUTABLE].iloc[0]
    assert row["state"] == "reopened"
    assert (str(row["first_seen"].date()), str(row["last_seen"].date()), row["runs_seen"]) == (
        "2026-11-01",
        "2026-11-03",
        2,
    )
    # Seen, not looked at, seen again: the unknown run does not make it reopened.
    blind = inv([], units=(), when=days[1])
    assert states(one, blind, three) == {"app": "persisting"}


def test_unread_unit_is_unknown_not_resolved():
    one = inv(
        [(A, "us-east-1", "app", "MUTABLE"), (B, "eu-west-1", "etl", "MUTABLE")],
        units=[(A, "us-east-1"), (B, "eu-west-1")],
    )
    two = inv(
        [(A, "us-east-1", "app", "MUTABLE")], units=[(A, "us-east-1")], when="2026-11-02T00:00:00+00:00"
    )
    assert states(one, two) == {"app": "persisting", "etl": "unknown"}
    d = changes.diff(one, two)
    assert d.repositories.empty  # etl was not looked at: not deleted
    assert d.coverage[["change", "account_id", "region"]].values.tolist() == [
        ["no_longer_read", B, "eu-west-1"]
    ]


def test_repository_with_a_failed_read_is_unknown():
    one = inv([(A, "us-east-1", "app", "MUTABLE")])
    err = {
        "account_id": A,
        "region": "us-east-1",
        "repository_name": "app",
        "operation": "DescribeRepositories",
        "error_code": "AccessDeniedException",
        "error_kind": "access_denied",
    }
    two = inv([], errors=[err], when="2026-11-02T00:00:00+00:00")
    assert states(one, two) == {"app": "unknown"}


def test_rename_is_two_events():
    one = inv([(A, "us-east-1", "app", "MUTABLE")])
    two = inv([(A, "us-east-1", "app-v2", "MUTABLE")], when="2026-11-02T00:00:00+00:00")
    d = changes.diff(one, two)
    assert d.repositories[["change", "repository_name"]].values.tolist() == [
        ["created", "app-v2"],
        ["deleted", "app"],
    ]
    assert states(one, two) == {"app": "resolved", "app-v2": "new"}


def test_other_organization_is_refused():
    with pytest.raises(changes.ChangesError, match="different organizations"):
        changes.diff(inv([]), inv([], org="o-bbbbbbbbbb"))


def test_medium_findings_do_not_make_it_worse():
    d = changes.diff(inv([]), inv([(A, "us-east-1", "app", "MUTABLE")], when="2026-11-02T00:00:00+00:00"))
    new = d.findings[d.findings["state"] == "new"]
    assert MUTABLE in set(new["finding_id"]) and set(new["severity"]) <= {"medium", "low", "info"}
    assert not d.got_worse


def _public_policy(actions):
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": actions}]}
    )


def with_policy(base, text):
    return Inventory.from_frames(
        meta=base.meta,
        repositories=base.repositories.assign(policy_status="present"),
        coverage=base.coverage,
        repository_policies=[
            {"account_id": A, "region": "us-east-1", "repository_name": "app", "policy_text": text}
        ],
    )


def public_repo(actions, day):
    return with_policy(
        inv([(A, "us-east-1", "app", "IMMUTABLE")], when=f"2026-11-0{day}T00:00:00+00:00"),
        _public_policy(actions),
    )


def test_widened_grant_is_worse_and_narrowed_is_not():
    pull, push = ["ecr:BatchGetImage"], ["ecr:BatchGetImage", "ecr:PutImage"]
    wider = changes.diff(public_repo(pull, 1), public_repo(push, 2))
    assert wider.grants[
        ["change", "grantee", "capabilities_before", "capabilities_after"]
    ].values.tolist() == [["widened", "*", "pull", "pull, push"]]
    assert wider.got_worse and wider.policies["change"].tolist() == ["changed"]
    narrower = changes.diff(public_repo(push, 1), public_repo(pull, 2))
    assert narrower.grants["change"].tolist() == ["narrowed"] and not narrower.got_worse


def test_text_output_is_terminal_safe():
    one = inv([])
    two = inv([(A, "us-east-1", "app\n\u202eevil", "MUTABLE")], when="2026-11-02T00:00:00+00:00")
    text = changes.to_text(changes.diff(one, two))
    assert "\u202e" not in text and "app\\n\\u202eevil" in text


@pytest.fixture
def two_snapshots(tmp_path):
    old = save(inv([(A, "us-east-1", "app", "IMMUTABLE")]), tmp_path / "old")
    new = save(public_repo(["ecr:*"], 2), tmp_path / "new")
    return old, new


def test_diff_cli_gates_on_worse(two_snapshots, tmp_path, capsys):
    old, new = two_snapshots
    assert main(["diff", str(old), str(new)]) == 6
    out = capsys.readouterr().out
    assert "GOT WORSE" in out and "ecr_repository_public_push" in out
    csv = tmp_path / "changes.csv"
    assert main(["diff", str(old), str(new), "--format", "csv", "--out", str(csv)]) == 6
    import pandas as pd

    table = pd.read_csv(csv)
    assert table.columns.tolist() == changes.TABLE_COLUMNS
    assert ("grants", "added") in set(zip(table["section"], table["change"]))


@pytest.mark.parametrize(
    "args, message",
    [
        (["OLD", "OLD"], "same snapshot"),
        (["OLD", "missing"], "no such snapshot"),
        (["NEW", "OLD"], "newer than NEW"),
        (["OLD", "notsnap"], "not a complete snapshot"),
    ],
)
def test_diff_cli_bad_input_is_one_line_exit_2(two_snapshots, tmp_path, capsys, args, message):
    old, new = two_snapshots
    (tmp_path / "notsnap").mkdir()
    paths = {
        "OLD": str(old),
        "NEW": str(new),
        "missing": str(tmp_path / "missing"),
        "notsnap": str(tmp_path / "notsnap"),
    }
    assert main(["diff", *(paths[a] for a in args)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_diff_cli_other_organization_exit_2(tmp_path, capsys):
    old = save(inv([]), tmp_path / "old")
    new = save(inv([], org="o-bbbbbbbbbb", when="2026-11-02T00:00:00+00:00"), tmp_path / "new")
    assert main(["diff", str(old), str(new)]) == 2
    assert "different organizations" in capsys.readouterr().err
