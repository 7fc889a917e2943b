"""The command line end to end on the simulated organization (error paths: test_reliability_*)."""

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from ecr_audit import cli, load
from ecr_audit.sandbox import demo

pytestmark = pytest.mark.slow


def test_collect_sandbox_writes_a_complete_snapshot_and_says_where(tmp_path, capsys):
    out = tmp_path / "snap"
    assert cli.main(["collect", "--sandbox", "--out", str(out), "--quiet"]) == cli.EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"wrote {out}"
    assert re.fullmatch(
        r"3 accounts reached \(3 collected\), 2 regions, \d+ repositories, \d+ images, 0 errors \(complete\)",
        lines[1],
    )
    inv = load(out)
    active = {demo.MANAGEMENT, demo.PAYMENTS, demo.DATA}
    assert set(inv.accounts.loc[inv.accounts.collection_status == "collected", "account_id"]) == active
    assert inv.accounts.set_index("account_id").loc[demo.LEGACY, "collection_status"] == "skipped"
    assert inv.meta["source"] == "sandbox:demo" and inv.meta["completeness"] == "complete"
    assert inv.meta["options"]["read_manifests"] == "auto"


def test_collect_sandbox_with_account_list_and_never_mode(tmp_path, capsys):
    out = tmp_path / "snap"
    rc = cli.main(
        [
            "collect",
            "--sandbox",
            "--accounts",
            demo.PAYMENTS,
            "--regions",
            "us-east-1",
            "--read-manifests",
            "never",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert rc == cli.EXIT_OK
    inv = load(out)
    assert inv.coverage[["account_id", "region"]].values.tolist() == [[demo.PAYMENTS, "us-east-1"]]
    assert not inv.coverage["has_read_manifests"].any() and inv.layers.empty
    assert "BatchGetImage" not in set(inv.api_calls["operation"])


def test_show_summarizes_a_snapshot(tmp_path, capsys):
    cli.main(["collect", "--sandbox", "--out", str(tmp_path / "s"), "--quiet"])
    capsys.readouterr()
    assert cli.main(["show", str(tmp_path / "s")]) == 0
    out = capsys.readouterr().out
    assert "completeness: complete" in out and re.search(r"images: \d+", out)


def test_demo_command_ends_by_printing_the_index_path(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "ecr_audit.cli", "demo", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    last = proc.stdout.strip().splitlines()[-1]
    index = tmp_path / "d" / "report" / "index.html"
    assert last == f"open {index.resolve()}"
    assert index.exists()
    assert "Traceback" not in proc.stderr and "WARNING" not in proc.stderr


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.skipif(
    shutil.which("jupyter", path=os.path.dirname(sys.executable)) is None,
    reason="JupyterLab is not installed (pip install -e '.[lab]')",
)
def test_jupyterlab_starts_and_serves_the_notebooks(tmp_path):
    port = _free_port()
    jupyter = os.path.join(os.path.dirname(sys.executable), "jupyter")
    root = os.path.join(os.path.dirname(__file__), "..", "ecr_audit", "notebooks")
    proc = subprocess.Popen(
        [
            jupyter,
            "lab",
            "--no-browser",
            "--allow-root",
            "--ip",
            "127.0.0.1",
            f"--port={port}",
            "--IdentityProvider.token=",
            f"--ServerApp.root_dir={root}",
            f"--ServerApp.runtime_dir={tmp_path}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = urllib.request.urlopen(f"http://127.0.0.1:{port}/lab", timeout=5).read().decode()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.5)
        assert "<title>JupyterLab</title>" in page
        listing = json.loads(
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/contents/", timeout=5).read()
        )
        names = {item["name"] for item in listing["content"]}
        assert {"executive_summary.ipynb", "cross_account_access.ipynb", "storage_cost.ipynb"} <= names
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("command", [["show"], ["findings", "--format", "csv"]])
def test_output_into_a_pipe_its_reader_closed_ends_quietly_not_in_an_internal_error(demo_snapshot, command):
    """`ecr-audit show SNAP | head`: the reader goes away; the tool exits like other Unix tools."""
    import subprocess

    argv = [sys.executable, "-m", "ecr_audit.cli", command[0], str(demo_snapshot), *command[1:]]
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    p.stdout.close()  # closed before the tool writes anything
    err = p.stderr.read().decode()
    assert p.wait() == 141 and err == "", err


def test_debug_traceback_is_a_real_option_that_reraises_internal_errors(monkeypatch, capsys):
    from ecr_audit import cli

    def bug(args):
        raise RuntimeError("a bug")

    monkeypatch.setattr(cli, "cmd_show", bug)
    with pytest.raises(RuntimeError, match="a bug"):
        cli.main(["--debug-traceback", "show", "anything"])
    assert cli.main(["show", "anything"]) == 1
    err = capsys.readouterr().err
    assert "internal error: RuntimeError: a bug" in err and "--debug-traceback" in err


def test_throttle_budget_must_be_a_positive_number_of_seconds(capsys):
    from ecr_audit.cli import main

    for value in ("0", "-5", "nan", "soon"):
        assert main(["collect", "--sandbox", "--throttle-budget", value]) == 2
        err = capsys.readouterr().err
        assert "throttle-budget" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "args, said",
    [
        (["--consumers", "eks"], "--consumers: unknown consumer kind 'eks'"),
        (["--consumers", "ecs,,lambda,<b>"], "unknown consumer kind '<b>'"),
        (["--keep-task-definitions", "101"], "--keep-task-definitions must be 0 to 100"),
        (["--keep-task-definitions", "-1"], "--keep-task-definitions must be 0 to 100"),
        (["--keep-task-definitions", "five"], "'five' is not a whole number"),
        (["--pull-days", "0"], "--pull-days must be 1 to 90"),
        (["--pull-days", "91"], "--pull-days must be 1 to 90"),
        (["--pull-days", "1.5"], "'1.5' is not a whole number"),
    ],
)
def test_consumer_options_out_of_range_exit_2_with_one_line_before_any_call(tmp_path, capsys, args, said):
    out = tmp_path / "snap"
    assert cli.main(["collect", "--sandbox", "--quiet", "--out", str(out), *args]) == cli.EXIT_INPUT
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not out.exists()


def test_consumer_options_reach_the_collection_and_its_provenance(tmp_path, capsys):
    out = tmp_path / "snap"
    args = ["--consumers", "ecs,cloudtrail", "--keep-task-definitions", "2", "--pull-days", "7"]
    assert cli.main(["collect", "--sandbox", "--quiet", "--out", str(out), *args]) == cli.EXIT_OK
    inv = load(out)
    assert {k: inv.meta["options"][k] for k in ("consumers", "keep_task_definitions", "pull_days")} == {
        "consumers": ["ecs", "cloudtrail"],
        "keep_task_definitions": 2,
        "pull_days": 7,
    }
    read = inv.consumer_coverage.groupby("consumer_kind")["status"].agg(set)
    assert (
        read["ecs"] == {"complete"} and read["cloudtrail"] == {"complete"} and read["lambda"] == {"skipped"}
    )
    names = inv.consumers.loc[inv.consumers["consumer_kind"] == "ecs_task_definition", "consumer_name"]
    # The newest 2: api:6 (the service deploys it: an ecs_service_deployment row) and api:5.
    assert {n for n in names if n.startswith("api:")} == {"api:5"}
    assert (
        "cloudtrail"
        in subprocess.run(
            [sys.executable, "-m", "ecr_audit.cli", "collect", "--help"], capture_output=True, text=True
        ).stdout
    )
