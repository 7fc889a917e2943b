import os
from pathlib import Path

import pytest

# Markers are applied here, by fixture and by module, so that test files need not repeat them
# (`make test-fast` deselects both):
#   sandbox  the test builds or runs the simulated organization (moto), or reads the demo snapshot
#            built from it (a few seconds, once per session)
#   slow     the test runs notebooks (papermill, nbconvert, nbval), a browser, or the CLI end to end
SANDBOX_FIXTURES = {"demo_org", "demo_collection", "demo_snapshot", "demo_inventory", "demo_report"}
# Modules whose tests start a sandbox themselves (a world of their own, `collect --sandbox`).
SANDBOX_MODULES = {
    "test_cli",
    "test_collect_access_sources",
    "test_collect_concurrency",
    "test_collect_sandbox",
    "test_consumers_collect",
    "test_sandbox",
    "test_sandbox_worlds",
    "test_sandbox_isolation",
    "test_reliability_answers",
    "test_reliability_credentials",
    "test_reliability_faults",
    "test_reliability_readonly",
    "test_reliability_secrets",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb":  # nbval runs the notebook, on the demo snapshot
            item.add_marker(pytest.mark.slow)
            item.add_marker(pytest.mark.sandbox)
        elif path.stem in SANDBOX_MODULES or SANDBOX_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.sandbox)


@pytest.fixture(autouse=True)
def _sandbox_only_when_marked(request, monkeypatch):
    """A test that starts a sandbox must be marked `sandbox` (by SANDBOX_MODULES or a fixture of
    SANDBOX_FIXTURES): `make test-fast` leaves those out and stays a run of unit tests."""
    if request.node.get_closest_marker("sandbox"):
        yield
        return
    try:
        from ecr_audit.sandbox import fidelity
    except ImportError:  # without the [sandbox] extra nothing can start one
        yield
        return
    started, install = [], fidelity.install

    def recording(rt):
        started.append(rt)
        return install(rt)

    monkeypatch.setattr(fidelity, "install", recording)
    yield
    if started:
        pytest.fail(f"{request.node.nodeid} starts a sandbox: mark it (SANDBOX_MODULES in tests/conftest.py)")


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


@pytest.fixture(scope="module")
def demo_org():
    """The demo organization running in the sandbox, shared by the tests of one module; faults a
    test adds are cleared after it. moto's state is global, so only one sandbox runs at a time: a
    module using this fixture starts no other sandbox."""
    from ecr_audit import sandbox

    with sandbox.running(sandbox.demo_world()) as org:
        yield org


@pytest.fixture(autouse=True)
def _clear_demo_org_faults(request):
    yield
    if "demo_org" in request.fixturenames:
        request.getfixturevalue("demo_org").faults.clear()


@pytest.fixture(scope="session")
def demo_collection():
    """`demo_collection(mode)` → (inventory, expected images, expected blobs): the demo organization
    collected with `--read-manifests mode`, and the sandbox's ground truth; once per mode and session
    (the sandbox stops after each collection)."""
    from ecr_audit import sandbox
    from ecr_audit.collect import collect

    done = {}

    def get(mode: str):
        if mode not in done:
            with sandbox.running(sandbox.demo_world()) as org:
                inv = collect(org.session(), org=True, role_name=org.role_name, read_manifests=mode)
                done[mode] = (inv, org.expected_images(), org.expected_blobs())
        return done[mode]

    return get


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
