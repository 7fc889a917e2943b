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
