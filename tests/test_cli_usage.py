"""The command line before it does anything: help, missing extras, input checked before any AWS call
or notebook run, the summary line, relative snapshot paths in notebooks (issue 15)."""

import contextlib
import importlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from ecr_audit import Inventory, cli, notebook, report, save
from ecr_audit.snapshot import SnapshotError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def tiny_snapshot(tmp_path):
    inv = Inventory.from_frames(
        meta={"completeness": "complete", "collected_at": "2026-11-01T00:00:00Z"},
        coverage=[{"account_id": "012345678901", "region": "us-east-1", "status": "complete"}],
    )
    return save(inv, tmp_path / "snap")


@pytest.fixture
def no_aws(monkeypatch):
    """Fails the test if the command starts a collection (the first AWS call happens there)."""

    def collect(*a, **kw):
        raise AssertionError("the collection started: an AWS call would have been made")

    monkeypatch.setattr(importlib.import_module("ecr_audit.collect"), "collect", collect)


@pytest.fixture
def no_notebook(monkeypatch):
    def run(*a, **kw):
        raise AssertionError("a notebook would have been run")

    monkeypatch.setattr(report, "run", run)


def one_line(capsys, rc, expected=cli.EXIT_INPUT) -> str:
    err = capsys.readouterr().err
    assert rc == expected, err
    assert "Traceback" not in err and "internal error" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err.strip()


# -- #2: a missing extra is a usage error with the line that installs it ---------------------------


@pytest.mark.parametrize(
    "argv, module, line",
    [
        (["report", "{snap}", "--out", "{tmp}/r"], "papermill", "pip install 'ecr-audit[reports]'"),
        (["report", "{snap}", "--out", "{tmp}/r"], "matplotlib", "pip install 'ecr-audit[reports]'"),
        (["report", "{snap}", "--out", "{tmp}/r"], "ipykernel", "pip install 'ecr-audit[reports]'"),
        (["demo", "--out", "{tmp}/d"], "moto", "pip install 'ecr-audit[sandbox]'"),
        (["demo", "--out", "{tmp}/d"], "nbconvert", "pip install 'ecr-audit[reports]'"),
        (["collect", "--sandbox", "--out", "{tmp}/s"], "moto", "pip install 'ecr-audit[sandbox]'"),
    ],
)
def test_a_command_whose_extra_is_not_installed_exits_2_with_the_pip_line(
    argv, module, line, tiny_snapshot, tmp_path, monkeypatch, capsys
):
    monkeypatch.setitem(sys.modules, module, None)  # `import module` now raises ModuleNotFoundError
    argv = [a.format(snap=tiny_snapshot, tmp=tmp_path) for a in argv]
    err = one_line(capsys, cli.main(argv))
    assert line in err and module in err and argv[0] in err


def test_demo_missing_both_extras_names_both_in_one_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "moto", None)
    monkeypatch.setitem(sys.modules, "papermill", None)
    err = one_line(capsys, cli.main(["demo", "--out", str(tmp_path / "d")]))
    assert "pip install 'ecr-audit[sandbox,reports]'" in err


def test_an_extra_found_missing_deeper_in_a_command_is_still_a_usage_error(monkeypatch, capsys):
    def needs_matplotlib(args):
        raise ModuleNotFoundError("No module named 'matplotlib.pyplot'", name="matplotlib.pyplot")

    monkeypatch.setattr(cli, "cmd_show", needs_matplotlib)
    err = one_line(capsys, cli.main(["show", "snap"]))
    assert "pip install 'ecr-audit[reports]'" in err

    def bug(args):
        raise ModuleNotFoundError("No module named 'nosuch'", name="nosuch")

    monkeypatch.setattr(cli, "cmd_show", bug)
    assert cli.main(["show", "snap"]) == cli.EXIT_BUG  # not an extra: a bug, said as one
    assert "internal error: ModuleNotFoundError" in capsys.readouterr().err


# -- #7: input checked before any AWS call or notebook run -----------------------------------------


def test_a_mistyped_region_exits_2_before_any_aws_call_suggesting_the_closest(no_aws, tmp_path, capsys):
    err = one_line(
        capsys, cli.main(["collect", "--regions", "us-east-1,us-est-1", "--out", str(tmp_path / "s")])
    )
    assert "'us-est-1'" in err and "did you mean us-east-1" in err
    err = one_line(capsys, cli.main(["collect", "--regions", "eu-wst-1", "--out", str(tmp_path / "s")]))
    assert "did you mean eu-west-1?" in err
    err = one_line(capsys, cli.main(["collect", "--regions", ",", "--out", str(tmp_path / "s")]))
    assert "--regions" in err
    assert not (tmp_path / "s").exists()


def test_regions_of_every_partition_botocore_knows_are_accepted(monkeypatch, tmp_path):
    started = []
    monkeypatch.setattr(
        importlib.import_module("ecr_audit.collect"),
        "collect",
        lambda *a, **kw: started.append(kw) or _raise(),
    )
    with contextlib.suppress(RuntimeError):
        cli.main(["collect", "--regions", "us-east-1,cn-north-1,us-gov-west-1", "--out", str(tmp_path / "s")])
    assert started and started[0]["regions"] == ["us-east-1", "cn-north-1", "us-gov-west-1"]


def _raise():
    raise RuntimeError("stop here")


def test_org_without_role_name_exits_2_before_any_aws_call(no_aws, tmp_path, capsys):
    err = one_line(capsys, cli.main(["collect", "--org", "--out", str(tmp_path / "s")]))
    assert "--org needs --role-name" in err


@pytest.mark.parametrize(
    "name, value, expected",
    [
        ("price_file", "no/such/prices.json", "parameter price_file: no such file"),
        ("billed_csv", "no/such/billed.csv", "parameter billed_csv: no such file"),
        ("whatif_policy", "{not json", "parameter whatif_policy: not a valid lifecycle policy"),
        (
            "whatif_policy",
            json.dumps({"rules": [{"rulePriority": 1, "selection": {"tagStatus": "any"}}]}),
            "parameter whatif_policy: not a valid lifecycle policy",
        ),
    ],
)
def test_report_parameters_that_name_files_or_policies_are_checked_before_any_notebook_runs(
    name, value, expected, tiny_snapshot, tmp_path, no_notebook, capsys
):
    err = one_line(
        capsys, cli.main(["report", str(tiny_snapshot), "--out", str(tmp_path / "r"), "-p", name, value])
    )
    assert expected in err
    if "no such file" in expected:
        assert str((Path.cwd() / value).resolve()) in err  # the absolute path that was tried


def test_report_parameter_files_that_exist_but_do_not_parse_are_refused(
    tiny_snapshot, tmp_path, no_notebook, capsys
):
    prices = tmp_path / "prices.csv"
    prices.write_text("zone,price\nus-east-1,0.1\n")
    err = one_line(capsys, cli.main(["report", str(tiny_snapshot), "-p", "price_file", str(prices)]))
    assert "parameter price_file" in err and "region" in err
    billed = tmp_path / "billed.csv"
    billed.write_text("a,b\n1,2\n")
    err = one_line(capsys, cli.main(["report", str(tiny_snapshot), "-p", "billed_csv", str(billed)]))
    assert "parameter billed_csv" in err and "account_id" in err


def test_a_parameter_of_the_wrong_type_is_named_in_the_error(tiny_snapshot, tmp_path, capsys):
    out = tmp_path / "r"
    err = one_line(capsys, cli.main(["report", str(tiny_snapshot), "--out", str(out), "-p", "top", "ten"]))
    assert "parameter top: 'ten' is not an integer" in err
    assert not list(out.glob("*.html"))  # nothing ran


# -- the summary line counts the accounts reached -------------------------------------------------


def _accounts_inventory(statuses):
    rows = [
        {
            "account_id": f"{i:012d}",
            "collection_status": s,
            "principal_arn": None if reached is False else f"arn:aws:sts::{i:012d}:assumed-role/a/b",
        }
        for i, (s, reached) in enumerate(statuses, start=1)
    ]
    return Inventory.from_frames(meta={"completeness": "empty"}, accounts=rows)


def test_summary_counts_accounts_reached_even_when_none_of_their_regions_could_be_read():
    inv = _accounts_inventory([("failed", True), ("failed", True), ("failed", True)])
    assert cli._summary(inv).startswith("3 accounts reached (0 collected, 3 failed)")
    inv = _accounts_inventory([("collected", True), ("partial", True), ("failed", False), ("skipped", False)])
    assert cli._summary(inv).startswith("2 of 3 accounts reached (1 collected, 1 partial, 1 failed)")


# -- --help ----------------------------------------------------------------------------------------


def _help(capsys, *argv) -> str:
    with contextlib.suppress(SystemExit):
        cli.main([*argv, "--help"])
    return capsys.readouterr().out


@pytest.mark.parametrize("command", ["collect", "report", "demo", "findings", "show", "permissions"])
def test_every_command_help_says_what_it_does_with_an_example_defaults_and_exit_codes(command, capsys):
    text = _help(capsys, command)
    description = text.split("\n\n")[1]
    assert len(description.splitlines()) == 1 and description.endswith(".")
    examples = text.split("examples:\n")[1]
    assert examples.startswith(f"  ecr-audit {command}")
    assert "exit codes: 0 " in text
    if command in ("collect", "demo", "findings", "permissions"):
        assert "(default: " in text


def test_collect_help_shows_every_default():
    parser = cli.build_parser()
    collect = parser._subparsers._group_actions[0].choices["collect"]
    text = collect.format_help()
    for action in collect._actions:
        if action.option_strings and action.default not in (None, False, "==SUPPRESS=="):
            assert f"default: {action.default}" in " ".join(text.split()), action.dest


def test_report_help_lists_every_notebook_and_its_parameters_with_defaults(capsys):
    pytest.importorskip("papermill")
    text = _help(capsys, "report")
    for name, path in report.notebooks().items():
        assert f"\n  {name}\n" in text
        for param, default in report.parameters(path).items():
            if param != "snapshot":
                assert f"    {param} [{default}]" in text


def test_top_level_help_lists_every_exit_code(capsys):
    text = _help(capsys)
    for code in (0, 1, 2, 3, 4, 5, 130, 141):
        assert f"\n  {code} " in text


# -- #6: relative snapshot paths in notebooks ------------------------------------------------------


def test_a_relative_snapshot_in_a_notebook_is_taken_from_where_lab_was_started(
    tiny_snapshot, tmp_path, monkeypatch
):
    # `make lab`: started in the project directory, the kernel runs in ecr_audit/notebooks/.
    kernel_dir = tmp_path / "ecr_audit" / "notebooks"
    kernel_dir.mkdir(parents=True)
    monkeypatch.chdir(kernel_dir)
    monkeypatch.setenv(notebook.WORKDIR_ENV, str(tmp_path))
    inv = notebook.open_snapshot("snap")  # the README's snapshot = "snapshots/..."
    assert inv.meta["collected_at"] == "2026-11-01T00:00:00Z"
    monkeypatch.delenv(notebook.WORKDIR_ENV)
    with pytest.raises(SnapshotError) as e:
        notebook.open_snapshot("snap")
    assert f"tried {kernel_dir / 'snap'}" in str(e.value)  # the absolute path, and where it came from
    monkeypatch.chdir(tmp_path)
    assert notebook.open_snapshot("snap").meta["completeness"] == "complete"  # no variable: the cwd


def test_make_lab_tells_the_kernel_where_it_was_started():
    out = subprocess.run(
        ["make", "-n", "lab", "STAMP=Makefile"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert f"{notebook.WORKDIR_ENV}={ROOT} " in out


def test_a_notebook_without_snapshot_and_without_the_sandbox_extra_says_what_to_do(monkeypatch):
    monkeypatch.setitem(sys.modules, "moto", None)
    with pytest.raises(SnapshotError, match=r"pip install 'ecr-audit\[sandbox\]'.*snapshot = "):
        notebook.open_snapshot("")
