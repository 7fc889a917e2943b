"""Installing and cleaning up: what `make clean` removes, what git ignores, and a built wheel
installed in a fresh virtualenv (no editable install, no source tree) running the report (issue 15
#3, #4)."""

import shlex
import subprocess
from pathlib import Path

from ecr_audit import cli

ROOT = Path(__file__).resolve().parent.parent


def _make_n(target: str) -> list[str]:
    out = subprocess.run(
        ["make", "-n", target, "STAMP=Makefile"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return shlex.split(out)


def test_make_clean_removes_what_setup_and_the_demo_create_and_nothing_else():
    demo = _make_n("demo")
    default = cli.build_parser().parse_args(["demo"]).out
    demo_out = demo[demo.index("--out") + 1] if "--out" in demo else default
    clean = _make_n("clean")
    assert clean[:2] == ["rm", "-rf"]
    # the virtualenv, the demo's snapshot and report, the editable install's and a wheel build's
    # by-products: each is created by `make setup`, `make demo` or `pip wheel .`
    assert set(clean[2:]) == {".venv", demo_out, "ecr_audit.egg-info", "build", "dist"}


def test_build_products_are_ignored_by_git():
    paths = [
        "build/lib/ecr_audit/cli.py",
        "dist/ecr_audit-1.0-py3-none-any.whl",
        "ecr_audit.egg-info/PKG-INFO",
    ]
    ignored = subprocess.run(
        ["git", "check-ignore", "--no-index", *paths], cwd=ROOT, capture_output=True, text=True
    ).stdout.split()
    assert ignored == paths
