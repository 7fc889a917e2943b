"""The sandbox reaches no endpoint but its in-process one, whatever the environment and the AWS
config files say (issue 12 #13).

Every route by which botocore can be pointed elsewhere is set to a listener on loopback that
records any connection: the listener must receive nothing and the collection must still be
complete. Routes that change only the host name (FIPS, dual-stack) are paired with a proxy on
the listener, so a request that escaped moto would be seen there instead of going to AWS.
"""

import os
import shutil
import socket
import threading

import pytest

from ecr_audit import cli, report, sandbox
from ecr_audit.collect import collect
from ecr_audit.sandbox.isolation import NetworkRefused
from tests.test_report import PROBE
from tests.test_sandbox_worlds import tiny_world

pytestmark = pytest.mark.slow


class Listener:
    """A TCP listener on loopback that records every connection (and the first bytes sent)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.received: list[bytes] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(2)
                try:
                    self.received.append(conn.recv(300) or b"<connected>")
                except OSError:
                    self.received.append(b"<connected>")

    def close(self):
        self.sock.close()


@pytest.fixture
def listener():
    lst = Listener()
    yield lst
    lst.close()


def _config(text):
    with open(os.environ["AWS_CONFIG_FILE"], "w") as f:  # conftest points it into tmp
        f.write(text)


def _proxy(monkeypatch, url):
    for name in ("HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "all_proxy"):
        monkeypatch.setenv(name, url)


def _server_mode(monkeypatch, url):
    from moto import settings

    monkeypatch.setattr(settings, "TEST_SERVER_MODE", True)
    monkeypatch.setenv("TEST_SERVER_MODE_ENDPOINT", url)


# route name -> fn(monkeypatch, url) that points botocore (or moto) at the listener
ROUTES = {
    "AWS_ENDPOINT_URL": lambda mp, url: mp.setenv("AWS_ENDPOINT_URL", url),
    "AWS_ENDPOINT_URL_<service>": lambda mp, url: [
        mp.setenv(f"AWS_ENDPOINT_URL_{s}", url) for s in ("ORGANIZATIONS", "STS", "ECR", "EC2")
    ],
    "config endpoint_url": lambda mp, url: _config(f"[default]\nendpoint_url = {url}\n"),
    "config services section": lambda mp, url: _config(
        "[default]\nservices = here\n[services here]\n"
        + "".join(f"{s} =\n  endpoint_url = {url}\n" for s in ("organizations", "sts", "ecr", "ec2"))
    ),
    "AWS_PROFILE": lambda mp, url: (
        _config(f"[profile evil]\nendpoint_url = {url}\n"),
        mp.setenv("AWS_PROFILE", "evil"),
    ),
    "AWS_DEFAULT_PROFILE": lambda mp, url: (
        _config(f"[profile evil]\nendpoint_url = {url}\n"),
        mp.setenv("AWS_DEFAULT_PROFILE", "evil"),
    ),
    "HTTP(S)_PROXY": _proxy,
    "AWS_USE_FIPS_ENDPOINT + proxy": lambda mp, url: (
        mp.setenv("AWS_USE_FIPS_ENDPOINT", "true"),
        _proxy(mp, url),
    ),
    "config use_fips_endpoint + proxy": lambda mp, url: (
        _config("[default]\nuse_fips_endpoint = true\n"),
        _proxy(mp, url),
    ),
    "AWS_USE_DUALSTACK_ENDPOINT + proxy": lambda mp, url: (
        mp.setenv("AWS_USE_DUALSTACK_ENDPOINT", "true"),
        _proxy(mp, url),
    ),
    "config use_dualstack_endpoint + proxy": lambda mp, url: (
        _config("[default]\nuse_dualstack_endpoint = true\n"),
        _proxy(mp, url),
    ),
    "AWS_CA_BUNDLE + proxy": lambda mp, url: (
        mp.setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem"),
        _proxy(mp, url),
    ),
    "moto server mode": _server_mode,
}


@pytest.mark.parametrize("route", list(ROUTES))
def test_sandbox_sends_nothing_to_an_endpoint_configured_in_the_environment_or_aws_config(
    route, listener, monkeypatch
):
    ROUTES[route](monkeypatch, listener.url)
    with sandbox.running(tiny_world(images=2)) as org:
        inv = collect(org.session(), org=True, role_name=org.role_name, max_workers=2)
    assert listener.received == []
    assert inv.meta["completeness"] == "complete" and len(inv.images) == 2, inv.errors


def test_collect_sandbox_and_demo_send_nothing_to_endpoints_in_the_aws_config_file(
    listener, monkeypatch, tmp_path, capsys
):
    """The reported case: `ecr-audit demo` honoured `endpoint_url` from the config file and sent
    organizations:CreateOrganization to it."""
    ROUTES["config services section"](monkeypatch, listener.url)
    _proxy(monkeypatch, listener.url)
    assert cli.main(["collect", "--sandbox", "--out", str(tmp_path / "snap"), "--quiet"]) == cli.EXIT_OK
    nbdir = tmp_path / "notebooks"
    nbdir.mkdir()
    shutil.copy(PROBE, nbdir / "probe.ipynb")
    monkeypatch.setattr(report, "NOTEBOOK_DIR", nbdir)  # the demo's sandbox is what is tested
    assert cli.main(["demo", "--out", str(tmp_path / "demo"), "--quiet"]) == cli.EXIT_OK, capsys.readouterr()
    assert listener.received == []


def test_while_the_sandbox_runs_sockets_lookups_and_unanswered_requests_are_refused(listener):
    """Second layer: whatever slips past the environment (here a client given an explicit
    endpoint_url) fails at once without reaching the network; after exit sockets work again."""
    port = int(listener.url.rsplit(":", 1)[1])
    with sandbox.running(tiny_world(images=1)) as org:
        client = org.session().client("ecr", endpoint_url=listener.url)
        with pytest.raises(NetworkRefused, match="did not answer"):
            client.describe_repositories()
        with pytest.raises(NetworkRefused):
            socket.create_connection(("127.0.0.1", port), timeout=5)
        with pytest.raises(NetworkRefused):
            socket.getaddrinfo("ecr-audit.invalid", 443)
        assert org.session().client("ecr").describe_repositories()["repositories"]  # moto still answers
    assert listener.received == []
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:  # the control: it does listen
        s.sendall(b"after")
    for _ in range(100):
        if listener.received:
            break
        threading.Event().wait(0.05)
    assert listener.received == [b"after"]
