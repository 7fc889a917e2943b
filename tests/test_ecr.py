"""The ECR vocabulary (ecr.py), the collector's table of reads and the seams between them (issue 13)."""

import ast
import importlib
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

import ecr_audit
from ecr_audit import aws, ecr, images, permissions
from ecr_audit.collect import manifests, reads, repositories

PACKAGE = Path(ecr_audit.__file__).parent


@pytest.mark.parametrize(
    "value, ok",
    [
        ("012345678901", True),
        ("123456789012", True),
        ("12345678901", False),
        ("1234567890123", False),
        ("123456789012\n", False),
        (" 123456789012", False),
        ("١٢٣٤٥٦٧٨٩٠١٢", False),  # Arabic-Indic digits
        ("12345678901²", False),
        (123456789012, False),
        (None, False),
    ],
)
def test_account_id_check_accepts_only_twelve_ascii_digits_as_text(value, ok):
    assert ecr.is_account_id(value) is ok


@pytest.mark.parametrize(
    "arn, partition",
    [
        ("arn:aws:sts::123456789012:assumed-role/admin/me", "aws"),
        ("arn:aws-cn:iam::123456789012:user/ops", "aws-cn"),
        ("arn:aws-us-gov:sts::123456789012:assumed-role/audit/s", "aws-us-gov"),
        ("arn:aws-iso-b:iam::123456789012:role/r", "aws-iso-b"),
        ("not an arn", "aws"),
        (None, "aws"),
        ("arn:<script>:iam::1:role/x", "aws"),
    ],
)
def test_partition_comes_from_the_callers_arn(arn, partition):
    assert ecr.partition_of(arn) == partition


def test_arn_builders_take_the_partition():
    assert (
        ecr.repository_arn("aws-cn", "cn-north-1", "012345678901", "team/app")
        == "arn:aws-cn:ecr:cn-north-1:012345678901:repository/team/app"
    )
    assert (
        ecr.registry_arn("aws-us-gov", "us-gov-west-1", "012345678901")
        == "arn:aws-us-gov:ecr:us-gov-west-1:012345678901:registry"
    )
    assert (
        ecr.role_arn("aws-us-gov", "012345678901", "ecr-audit")
        == "arn:aws-us-gov:iam::012345678901:role/ecr-audit"
    )
    assert (
        aws.role_arn_of("arn:aws-cn:sts::012345678901:assumed-role/ecr-audit/s")
        == "arn:aws-cn:iam::012345678901:role/ecr-audit"
    )


def test_assume_role_in_govcloud_asks_for_the_govcloud_role_arn(monkeypatch):
    """The collector derives the partition from the caller's ARN: a GovCloud organization's audit
    role is arn:aws-us-gov:iam::…, never arn:aws:iam::…."""
    session = boto3.Session(
        aws_access_key_id="AKIAEXAMPLE000000000", aws_secret_access_key="x" * 40, region_name="us-gov-west-1"
    )
    sts = session.client("sts", region_name="us-gov-west-1")
    stub = Stubber(sts)
    stub.add_response(
        "assume_role",
        {
            "Credentials": {
                "AccessKeyId": "ASIAEXAMPLE000000000",
                "SecretAccessKey": "y" * 40,
                "SessionToken": "z" * 64,
                "Expiration": "2099-01-01T00:00:00Z",
            },
            "AssumedRoleUser": {
                "AssumedRoleId": "AROAEXAMPLE:ecr-audit",
                "Arn": "arn:aws-us-gov:sts::012345678901:assumed-role/ecr-audit/ecr-audit",
            },
        },
        {"RoleArn": "arn:aws-us-gov:iam::012345678901:role/ecr-audit", "RoleSessionName": "ecr-audit"},
    )
    monkeypatch.setattr(session, "client", lambda *a, **k: sts)
    with stub:
        caller_arn = "arn:aws-us-gov:iam::123456789012:user/ops"
        _, principal = aws.assume_role(
            session, "012345678901", "ecr-audit", partition=ecr.partition_of(caller_arn)
        )
    stub.assert_no_pending_responses()
    assert principal.startswith("arn:aws-us-gov:sts::")


def test_a_repository_listed_without_its_arn_gets_the_one_ecr_would_give_in_its_partition():
    row = repositories.transform_repository(
        "012345678901", "cn-north-1", {"repositoryName": "team/app"}, "aws-cn"
    )
    assert row["repository_arn"] == "arn:aws-cn:ecr:cn-north-1:012345678901:repository/team/app"


def test_the_vocabulary_is_declared_once_and_the_old_names_still_import():
    assert images.COSIGN_TAG is ecr.COSIGN_TAG and manifests.COSIGN_TAG is ecr.COSIGN_TAG
    assert images.INDEX_MEDIA_TYPES == ecr.INDEX_TYPES == manifests.INDEX_TYPES
    assert manifests.ACCEPTED_MEDIA_TYPES == ecr.ACCEPTED_MEDIA_TYPES


def _imports(path: Path) -> set[str]:
    """Modules `path` imports, resolved to ecr_audit.<name> for relative imports."""
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level else ""
            module = ".".join(p for p in (base, node.module) if p)
            out.add(module)
            out |= {f"{module}.{a.name}" for a in node.names}
    return out


def test_the_collector_imports_no_analysis_module():
    analyses = (
        "ecr_audit.images",
        "ecr_audit.cost",
        "ecr_audit.findings",
        "ecr_audit.access",
        "ecr_audit.lifecycle",
        "ecr_audit.blobs",
        "ecr_audit.summary",
        "ecr_audit.findings_analyses",
    )
    files = [*(PACKAGE / "collect").glob("*.py"), PACKAGE / "aws.py", PACKAGE / "ecr.py"]
    bad = {(f.name, m) for f in files for m in _imports(f) if m.startswith(analyses)}
    assert not bad, bad


def test_permissions_are_generated_from_the_table_of_reads(monkeypatch):
    """A read added to the table (here of another service, at unit scope) is in the member policy."""
    added = reads.Read(
        "ListContainerInstances", "ecs", reads.UNIT, lambda ecs: ecs.list_container_instances()
    )
    monkeypatch.setattr(reads, "READS", reads.READS + (added,))
    try:
        fresh = importlib.reload(permissions)
        assert "ecs:ListContainerInstances" in fresh.MEMBER_ACTIONS
        assert "ecs:ListContainerInstances" in fresh.audit_role_policy()["Statement"][0]["Action"]
        assert "ecs:ListContainerInstances" in fresh.READ_ACTIONS
    finally:
        monkeypatch.undo()
        importlib.reload(permissions)
    assert "ecs:ListContainerInstances" not in permissions.READ_ACTIONS


def test_every_read_of_the_table_has_an_action_and_a_known_scope():
    for r in reads.READS:
        assert r.scope in reads.SCOPES and r.actions and all(":" in a for a in r.actions), r
        assert (r.transform is None) == (r.frame is None), r
    member = {a for r in reads.READS if r.scope != reads.CALLER for a in r.actions}
    assert set(permissions.MEMBER_ACTIONS) == member
