"""The ECR vocabulary (ecr.py), the collector's table of reads and the seams between them (issue 13)."""

import ast
import importlib
import json
import re
from pathlib import Path

import boto3
import pandas as pd
import pytest
from botocore.stub import Stubber
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import ecr_audit
from ecr_audit import Inventory, access, aws, ecr, findings, images, permissions, summary
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
    assert manifests.INDEX_TYPES is ecr.INDEX_TYPES
    assert manifests.ACCEPTED_MEDIA_TYPES == ecr.ACCEPTED_MEDIA_TYPES
    assert images.ROLES is ecr.IMAGE_ROLES


# The vocabulary's literals: written in ecr.py alone. The sandbox is left out on purpose: it
# simulates what registries and clients write, independently of the code it tests.
VOCABULARY = {
    "media type": re.compile(r"application/vnd\."),
    "cosign tag": re.compile(r"sha256-|\.sig\b"),
    "account id": re.compile(r"\\d\{12\}|\[0-9\]\{12\}|\\d\{1,12\}"),
    "hand-built ECR ARN": re.compile(r"arn:aws[-a-z]*:ecr:|arn:aws::|\"arn:aws\""),
    "severity list": re.compile(r"\(?\[?\"critical\", \"high\", \"medium\""),
}


def _string_literals(path: Path) -> str:
    """Every string constant of the module's code (f-string parts included), docstrings left out."""
    tree = ast.parse(path.read_text())
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return "\n".join(
        n.value
        for n in ast.walk(tree)
        if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs
    )


def test_the_ecr_vocabulary_is_written_only_in_ecr_py():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] == "sandbox" or rel.name == "ecr.py":
            continue
        code = _string_literals(path)
        found += [(str(rel), what) for what, pattern in VOCABULARY.items() if pattern.search(code)]
    assert not found, found


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


# -- partitions: every ARN a finding names is in the snapshot's partition ------------------------

PUBLIC_PULL_PUSH = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "pub",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:PutImage", "ecr:Foo"],
            }
        ],
    }
)


def _partitioned_inventory(partition: str, region: str) -> Inventory:
    """An organization in `partition` with something for every check that builds an ARN."""
    owner, outsider = "012345678901", "999988887777"
    where = {"account_id": owner, "region": region}
    repo = {
        **where,
        "repository_name": "app",
        "repository_arn": f"arn:{partition}:ecr:{region}:{owner}:repository/app",
        "image_tag_mutability": "MUTABLE",
        "policy_status": "present",
        "lifecycle_policy_status": "absent",
        "images_status": "present",
    }
    digest = "sha256:" + "ab" * 32
    return Inventory.from_frames(
        meta={
            "collected_at": "2026-11-27T00:00:00+00:00",
            "caller": {"arn": f"arn:{partition}:sts::{owner}:assumed-role/audit/s", "account_id": owner},
        },
        accounts=[{"account_id": owner, "collection_status": "collected"}],
        coverage=[{**where, "status": "complete"}],
        registries=[
            {**where, "scan_type": "BASIC", "scanning_rules_text": "[]", "registry_policy_status": "present"}
        ],
        repositories=[repo],
        repository_policies=[{**where, "repository_name": "app", "policy_text": PUBLIC_PULL_PUSH}],
        registry_policies=[{**where, "policy_text": PUBLIC_PULL_PUSH}],
        creation_templates=[{**where, "prefix": "team", "repository_policy_text": PUBLIC_PULL_PUSH}],
        replication_rules=[
            {**where, "rule_index": 0, "destination_region": region, "destination_account_id": outsider}
        ],
        images=[
            {
                **where,
                "repository_name": "app",
                "image_digest": digest,
                "tags": [],
                "pushed_at": "2020-01-01T00:00:00+00:00",
                "manifest_status": "skipped",
            }
        ],
        errors=[
            {
                **where,
                "repository_name": "app",
                "operation": "GetLifecyclePolicy",
                "error_code": "X",
                "error_kind": "error",
            },
            {**where, "operation": "DescribeRegistry", "error_code": "X", "error_kind": "error"},
            {"account_id": owner, "operation": "DescribeRegions", "error_code": "X", "error_kind": "error"},
        ],
    )


@pytest.mark.parametrize("partition, region", [("aws-us-gov", "us-gov-west-1"), ("aws-cn", "cn-north-1")])
def test_findings_of_a_snapshot_in_another_partition_name_resources_in_that_partition(partition, region):
    f = findings.findings(_partitioned_inventory(partition, region))
    built = {  # the checks whose ARNs the tool builds itself (the others quote the repository's)
        "ecr_repository_public_pull",
        "ecr_registry_public_access",
        "ecr_creation_template_public_access",
        "ecr_registry_replicates_outside_org",
        "ecr_registry_scanning_not_configured",
        "ecr_audit_unreadable",
        "ecr_audit_manifests_not_read",
        "ecr_policy_unknown_action",
        "ecr_repository_stale_images",
    }
    assert built <= set(f["finding_id"]), built - set(f["finding_id"])
    wrong = f[~f["resource_arn"].str.startswith(f"arn:{partition}:")]
    assert wrong.empty, wrong[["finding_id", "resource_arn"]].to_string()
    arns = set(f["resource_arn"])
    assert f"arn:{partition}:ecr:{region}:012345678901:registry" in arns
    assert f"arn:{partition}:ecr:{region}:012345678901:repository-creation-template/team" in arns
    assert f"arn:{partition}::012345678901:account" in arns


def test_a_snapshot_without_a_caller_arn_is_taken_to_be_in_the_commercial_partition():
    inv = _partitioned_inventory("aws", "us-east-1")
    inv.meta.pop("caller")
    assert ecr.partition_of_snapshot(inv.meta) == "aws"
    assert findings.findings(inv)["resource_arn"].str.startswith("arn:aws:").all()


# -- severities: one ordered vocabulary --------------------------------------------------------


def test_sorting_findings_grants_and_summaries_by_severity_puts_critical_first():
    f = findings.findings(_partitioned_inventory("aws", "us-east-1"))
    assert f["severity"].dtype == ecr.SEVERITY
    shuffled = f.sample(frac=1, random_state=1)
    order = shuffled.sort_values("severity")["severity"].astype(str).tolist()
    assert order == sorted(order, key=ecr.SEVERITIES.index) and order[0] == "critical"
    g = access.grants(_partitioned_inventory("aws", "us-east-1"))
    assert g["severity"].dtype == ecr.SEVERITY and g["severity"].is_monotonic_increasing
    # Findings read back from a CSV hold plain text: the summary still ranks critical first.
    as_text = f.astype({"severity": str}).iloc[::-1]
    assert summary.top_findings(as_text)["severity"].iloc[0] == "critical"
    assert summary.findings_by_severity(as_text).index.tolist() == list(ecr.SEVERITIES)


def test_a_severity_outside_the_vocabulary_is_refused_not_turned_into_a_null():
    with pytest.raises(ValueError, match="not a severity: 'severe'"):
        ecr.as_severity(pd.Series(["high", "severe"]))


def test_a_network_restriction_lowers_a_severity_one_step_but_never_below_low():
    assert [ecr.severity_below(s) for s in ecr.SEVERITIES] == ["high", "medium", "low", "low", "info"]


# -- image references (issue 14) ------------------------------------------------------------------

HEX = "0123456789abcdef"


@pytest.mark.parametrize(
    "text, expected",
    [
        (
            "012345678901.dkr.ecr.us-east-1.amazonaws.com/payments/worker:v1.3.0",
            ("012345678901", "us-east-1", "payments/worker", "v1.3.0", None, "aws"),
        ),
        (
            "012345678901.dkr.ecr.eu-west-1.amazonaws.com/a/b@sha256:" + "a" * 64,
            ("012345678901", "eu-west-1", "a/b", None, "sha256:" + "a" * 64, "aws"),
        ),
        (
            "012345678901.dkr.ecr.us-east-1.amazonaws.com/app:1.0@sha256:" + "b" * 64,
            ("012345678901", "us-east-1", "app", "1.0", "sha256:" + "b" * 64, "aws"),
        ),
        (
            "012345678901.dkr.ecr.cn-north-1.amazonaws.com.cn/x/y:1",
            ("012345678901", "cn-north-1", "x/y", "1", None, "aws-cn"),
        ),
        (
            "012345678901.dkr.ecr-fips.us-gov-west-1.amazonaws.com/svc:2",
            ("012345678901", "us-gov-west-1", "svc", "2", None, "aws-us-gov"),
        ),
        (
            "012345678901.dkr-ecr.eu-west-1.on.aws/app:3",
            ("012345678901", "eu-west-1", "app", "3", None, "aws"),
        ),
        (
            "012345678901.DKR.ECR.US-EAST-1.AMAZONAWS.COM/app",
            ("012345678901", "us-east-1", "app", None, None, "aws"),
        ),
        ("012345678901.dkr.ecr.cn-north-1.amazonaws.com/x/y:1", None),  # China lives under .com.cn
        ("012345678901.dkr.ecr.us-east-1.amazonaws.com/App:1", None),  # repository names are lower case
        ("012345678901.dkr.ecr.us-east-1.amazonaws.com/a", None),  # at least 2 characters
        ("012345678901.dkr.ecr.us-east-1.amazonaws.com/" + "a" * 257, None),  # at most 256
        ("01234567890.dkr.ecr.us-east-1.amazonaws.com/app:1", None),
        ("012345678901.dkr.ecr.us-east-1.amazonaws.com/app:" + "t" * 129, None),
        (" 012345678901.dkr.ecr.us-east-1.amazonaws.com/app:1", None),
        ("012345678901.dkr.ecr.us-east-1.amazonaws.com/app:1\n", None),
        ("public.ecr.aws/nginx/nginx:1", None),
        ("nginx:1.27", None),
        ("docker.io/library/nginx", None),
        ("", None),
        (None, None),
        (12, None),
    ],
)
def test_parse_image_uri_reads_private_ecr_references_and_nothing_else(text, expected):
    ref = ecr.parse_image_uri(text)
    if expected is None:
        assert ref is None
    else:
        assert (
            ref.account_id,
            ref.region,
            ref.repository_name,
            ref.tag,
            ref.digest,
            ref.partition,
        ) == expected


def test_parse_image_uri_keeps_a_digest_it_cannot_use_as_text_and_says_why():
    ref = ecr.parse_image_uri("012345678901.dkr.ecr.us-east-1.amazonaws.com/app@sha512:" + "c" * 128)
    assert ref.digest is None and ref.digest_text == "sha512:" + "c" * 128 and "sha256" in ref.problem
    upper = ecr.parse_image_uri("012345678901.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "C" * 64)
    assert upper.digest is None and upper.problem
    assert ecr.parse_image_uri("012345678901.dkr.ecr.us-east-1.amazonaws.com/app").effective_tag == "latest"
    pinned = ecr.parse_image_uri("012345678901.dkr.ecr.us-east-1.amazonaws.com/app@sha256:" + "c" * 64)
    assert pinned.effective_tag is None


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_parse_image_uri_accepts_any_text_without_raising(text):
    ref = ecr.parse_image_uri(text)
    assert ref is None or isinstance(ref, ecr.ImageRef)
    for wrapped in (f"012345678901.dkr.ecr.us-east-1.amazonaws.com/{text}", text + ":" + text):
        ecr.parse_image_uri(wrapped)


@settings(max_examples=200, deadline=None)
@given(
    account=st.text("0123456789", min_size=12, max_size=12),
    region=st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "cn-north-1", "us-gov-west-1"]),
    parts=st.lists(st.from_regex(r"[a-z0-9]+([._-][a-z0-9]+)*", fullmatch=True), min_size=1, max_size=3),
    tag=st.none() | st.from_regex(r"[A-Za-z0-9_.-]{1,128}", fullmatch=True),
    digest=st.none() | st.text(HEX, min_size=64, max_size=64).map(lambda h: "sha256:" + h),
)
def test_image_uri_and_parse_image_uri_round_trip(account, region, parts, tag, digest):
    repository = "/".join(parts)
    if len(repository) < 2:
        repository += "x"
    assume(len(repository) <= 256)  # ECR's limit: longer names are not references (tested above)
    partition = (
        "aws-cn" if region.startswith("cn-") else "aws-us-gov" if region.startswith("us-gov") else "aws"
    )
    ref = ecr.parse_image_uri(
        ecr.image_uri(account, region, repository, tag=tag, digest=digest, partition=partition)
    )
    assert (ref.account_id, ref.region, ref.repository_name, ref.tag, ref.digest, ref.partition) == (
        account,
        region,
        repository,
        tag,
        digest,
        partition,
    )
