"""The caller's own credentials and first call (issue 12 #11): one line and the right exit code.

Credential problems (none found, an unknown profile, an expired SSO session, a token AWS refuses)
exit 2 with one line saying how to fix them; GetCallerIdentity throttled or failing is retried like
any call, then exits 4 with one line. Never "internal error", never a traceback. The cases outside
the sandbox fail before any request is sent (and HTTPS_PROXY points at a closed port, so a request
that did leave would fail, not reach AWS).
"""

import pytest
from botocore.retries.standard import ExponentialBackoff

from ecr_audit.cli import main
from tests.collect_helpers import cli_collect

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch):
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err and "internal error" not in err, err
    return lines[0]


@pytest.mark.parametrize(
    "code, status", [("ExpiredToken", 400), ("InvalidClientTokenId", 403), ("SignatureDoesNotMatch", 403)]
)
def test_expired_or_refused_token_on_get_caller_identity_exits_2_saying_how_to_refresh(
    monkeypatch, tmp_path, capsys, code, status
):
    rc, inv, out, err, _ = cli_collect(
        monkeypatch,
        tmp_path,
        capsys,
        lambda org: org.faults.add(
            "GetCallerIdentity",
            code,
            status,
            "The security token included in the request is expired",
            service="sts",
        ),
    )
    line = _one_line(err)
    assert rc == 2 and inv is None
    assert code in line and "aws sso login" in line and "refresh" in line


def test_throttling_on_get_caller_identity_is_retried_and_the_collection_goes_on(
    monkeypatch, tmp_path, capsys
):
    rc, inv, out, err, org = cli_collect(
        monkeypatch,
        tmp_path,
        capsys,
        lambda org: org.faults.add(
            "GetCallerIdentity", "Throttling", 400, "Rate exceeded", service="sts", times=3
        ),
    )
    assert rc == 0, err
    calls = inv.api_calls.set_index("operation").loc["GetCallerIdentity"]
    assert calls["calls"] == 4 and calls["retries"] == 3


@pytest.mark.parametrize("code, status", [("Throttling", 400), ("InternalFailure", 500)])
def test_get_caller_identity_failing_beyond_retries_exits_4_with_one_line(
    monkeypatch, tmp_path, capsys, code, status
):
    rc, inv, out, err, org = cli_collect(
        monkeypatch,
        tmp_path,
        capsys,
        lambda org: org.faults.add("GetCallerIdentity", code, status, "try later", service="sts"),
    )
    line = _one_line(err)
    assert rc == 4 and inv is None
    assert code in line and "after retries" in line and "nothing was collected" in line
    assert org.faults.faults[0].fired == 11  # botocore's standard retries ran in full


def test_no_credentials_exits_2_saying_how_to_configure(monkeypatch, tmp_path, capsys, offline):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    rc = main(["collect", "--quiet", "--out", str(tmp_path / "snap")])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "no AWS credentials" in line and "--profile" in line and "aws sso login" in line


def test_unknown_profile_exits_2_naming_the_fix(monkeypatch, tmp_path, capsys, offline):
    rc = main(["collect", "--quiet", "--profile", "no-such-profile", "--out", str(tmp_path / "snap")])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "no-such-profile" in line and "existing --profile" in line


def test_expired_sso_session_exits_2_saying_aws_sso_login(monkeypatch, tmp_path, capsys, offline):
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no SSO token cache
    config = tmp_path / "config"
    config.write_text(
        "[profile audit]\nsso_start_url = https://example.awsapps.com/start\n"
        "sso_region = us-east-1\nsso_account_id = 123456789012\nsso_role_name = ReadOnly\n"
        "region = us-east-1\n"
    )
    monkeypatch.setenv("AWS_CONFIG_FILE", str(config))
    rc = main(["collect", "--quiet", "--profile", "audit", "--out", str(tmp_path / "snap")])
    line = _one_line(capsys.readouterr().err)
    assert rc == 2 and "SSO session" in line and "aws sso login --profile audit" in line
