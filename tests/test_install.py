"""Installing and cleaning up: what `make clean` removes, what git ignores, and a built wheel
installed in a fresh virtualenv (no editable install, no source tree) running the report (issue 15
#3, #4)."""

import os
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from ecr_audit import cli

ROOT = Path(__file__).resolve().parent.parent


def _make_n(target: str) -> list[str]:
    out = subprocess.run(
        ["make", "--no-print-directory", "-n", target, "STAMP=Makefile"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        # under `make test` the outer make's MAKEFLAGS/MAKELEVEL would make this one print
        # "make[1]: Entering directory" (that is how CI failed)
        env={k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS")},
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


# -- #3: a built wheel in a fresh virtualenv ------------------------------------------------------


def _run(argv, cwd, env, timeout=900):
    p = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout + p.stderr


def _clean_env(tmp_path) -> dict:
    """The environment without anything that would import this source tree or its settings."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith("ECR_AUDIT_")
    }
    env["JUPYTER_DATA_DIR"] = str(tmp_path / "jupyter")  # no kernelspec of this machine's user
    env["JUPYTER_CONFIG_DIR"] = str(tmp_path / "jupyter-config")
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


@pytest.mark.slow
def test_a_wheel_installed_in_a_fresh_venv_runs_the_demo_and_says_which_extra_is_missing(tmp_path):
    """Build the wheel from a copy of the tree (`pip wheel --no-deps`), install it in a new venv:
    first alone (every command needing an extra exits 2 with its pip line), then with
    [reports,sandbox] (dependencies from the package index, through pip's cache, which `make setup`
    has filled), and run `ecr-audit demo` from another directory: every page is written."""
    src = tmp_path / "src"
    files = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\0")
    for name in filter(None, files):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    env = _clean_env(tmp_path)
    dist = tmp_path / "dist"
    rc, out = _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(src)], tmp_path, env
    )
    assert rc == 0, out[-3000:]
    (wheel,) = dist.glob("ecr_audit-*.whl")
    with zipfile.ZipFile(wheel) as z:
        shipped = set(z.namelist())
    assert {
        f"ecr_audit/notebooks/{p.name}" for p in (ROOT / "ecr_audit" / "notebooks").glob("*.ipynb")
    } <= shipped
    assert "ecr_audit/data/prices.json" in shipped

    venv = tmp_path / "venv"
    rc, out = _run([sys.executable, "-m", "venv", str(venv)], tmp_path, env)
    assert rc == 0, out
    py, tool = venv / "bin" / "python", venv / "bin" / "ecr-audit"
    rc, out = _run([str(py), "-m", "pip", "install", "-q", str(wheel)], tmp_path, env)
    assert rc == 0, out[-3000:]
    work = tmp_path / "work"  # not the source tree: nothing can come from there
    work.mkdir()
    rc, out = _run([str(py), "-c", "import ecr_audit; print(ecr_audit.__file__)"], work, env)
    assert rc == 0 and out.startswith(str(venv)), out

    # the base package alone
    for argv, line in [
        (["report", "snap"], "pip install 'ecr-audit[reports]'"),
        (["demo", "--out", "d"], "pip install 'ecr-audit[sandbox,reports]'"),
        (["collect", "--sandbox", "--out", "s"], "pip install 'ecr-audit[sandbox]'"),
    ]:
        rc, out = _run([str(tool), *argv], work, env)
        assert rc == 2 and line in out and "internal error" not in out, out
    rc, out = _run([str(tool), "report", "--help"], work, env)  # help lists the shipped notebooks
    assert rc == 0 and "storage_cost" in out and "price_file" in out, out

    rc, out = _run([str(py), "-m", "pip", "install", "-q", f"{wheel}[reports,sandbox]"], tmp_path, env)
    assert rc == 0, out[-3000:]
    rc, out = _run([str(tool), "demo", "--out", "demo", "--quiet"], work, env)
    assert rc == 0, out[-5000:]  # 5 if any notebook had failed
    pages = {p.stem for p in (work / "demo" / "report").glob("*.html")}
    assert pages == {"index"} | {p.stem for p in (ROOT / "ecr_audit" / "notebooks").glob("*.ipynb")}
