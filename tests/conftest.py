import os

import pytest


@pytest.fixture(autouse=True)
def _no_real_aws(monkeypatch, tmp_path_factory):
    """No test can reach a real account: real AWS settings are removed, dummy ones set."""
    for key in list(os.environ):
        if key.startswith("AWS_") or key in {"MOTO_ACCOUNT_ID"}:
            monkeypatch.delenv(key, raising=False)
    cfg = tmp_path_factory.mktemp("awscfg")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(cfg / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(cfg / "credentials"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def pytest_configure(config):
    """One demo snapshot per test session, also used by notebooks that nbval runs (they inherit
    the environment): no test ever reads a demo snapshot cached by an older version of the code."""
    import tempfile

    if not os.environ.get("ECR_AUDIT_DEMO_SNAPSHOT"):
        os.environ["ECR_AUDIT_DEMO_SNAPSHOT"] = os.path.join(
            tempfile.mkdtemp(prefix="ecr-audit-test-"), "demo"
        )


@pytest.fixture(scope="session")
def demo_snapshot():
    """Path of the demo organization's snapshot (sandbox → collect → save), built once."""
    from ecr_audit.demo import demo_snapshot as build

    return build()


@pytest.fixture(scope="session")
def demo_inventory(demo_snapshot):
    from ecr_audit import load

    return load(demo_snapshot)


@pytest.fixture(scope="session")
def demo_report(demo_snapshot, tmp_path_factory):
    """Every report notebook executed on the demo snapshot; returns (results, out_dir)."""
    from ecr_audit import report

    out = tmp_path_factory.mktemp("demo-report")
    return report.run(demo_snapshot, out), out
