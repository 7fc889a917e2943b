"""Helpers for the collector's fault tests: `ecr-audit collect --sandbox` with a setup hook, and
readers of its results (shared by tests/test_reliability_*.py)."""

from contextlib import contextmanager

import ecr_audit.sandbox as sandbox_pkg
from ecr_audit import aws, load
from ecr_audit.cli import main
from ecr_audit.notebook import provenance

MGMT, PAYMENTS, DATA, LEGACY = "123456789012", "012345678901", "098765432109", "000011112222"
# botocore's retries.max_attempts counts retries: one call is 1 + aws.MAX_ATTEMPTS requests.
ATTEMPTS = aws.MAX_ATTEMPTS + 1
ERR = ["account_id", "region", "repository_name", "operation", "error_code", "error_kind"]


def cli_collect(monkeypatch, tmp_path, capsys, setup=None, args=()):
    """Run `ecr-audit collect --sandbox` with `setup(org)` applied first; (rc, inv, out, err, org)."""
    original = sandbox_pkg.running
    seen = {}

    @contextmanager
    def running(world):
        with original(world) as org:
            seen["org"] = org
            if setup is not None:
                setup(org)
            yield org

    monkeypatch.setattr(sandbox_pkg, "running", running)
    out = tmp_path / "snap"
    rc = main(["collect", "--sandbox", "--quiet", "--out", str(out), *args])
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    inv = load(out) if (out / "manifest.json").exists() else None
    return rc, inv, captured.out, captured.err, seen.get("org")


def first_repo(org, account_id):
    reg = org.world.account(account_id).registries[0]
    return reg.region, reg.repositories[0].name


def world_images(org, *account_ids):
    return sum(
        len(repo.images)
        for a in account_ids
        for reg in org.world.account(a).registries
        for repo in reg.repositories
    )


def rows(inv):
    return [tuple(None if v != v else v for v in r) for r in inv.errors[ERR].itertuples(index=False)]


def assert_header_counts_errors(inv):
    p = provenance(inv)
    assert p["errors"] == len(inv.errors)
    assert p["completeness"] == inv.meta["completeness"]
