"""Pure parts of the collector and get_* paging, with literal payloads and botocore's Stubber."""
import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from ecr_audit import aws
from ecr_audit.collect import images, organizations, registry, repositories
from ecr_audit.collect.errors import classify, is_absent, scrub
from ecr_audit.collect.unit import manifest_decision
from tests.data.ecr_payloads import IMAGE_DETAILS, ORG_ACCOUNT, SUSPENDED_ACCOUNT, T0, digest_of, OCI_AMD64


def _err(code, status=400, message="m"):
    return ClientError({"Error": {"Code": code, "Message": message},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "Op")


@pytest.mark.parametrize("exc, kind", [
    (_err("AccessDeniedException", 400), "access_denied"),
    (_err("403", 403), "access_denied"),                       # moto's XML denial on a JSON protocol
    (_err("SomethingElse", 403), "access_denied"),
    (_err("ThrottlingException"), "throttled"),
    (_err("UnknownOperationException"), "unsupported"),
    (_err("NotImplemented", 501), "unsupported"),
    (NotImplementedError("The x action has not been implemented"), "unsupported"),
    (_err("RepositoryNotFoundException"), "not_found"),
    (_err("InternalFailure", 500), "server_error"),
    (_err("500", 500), "server_error"),
    (ReadTimeoutError(endpoint_url="https://api.ecr"), "timeout"),
    (_err("ValidationException"), "error"),
])
def test_failures_are_classified_by_code_and_http_status(exc, kind):
    assert classify(exc)[1] == kind


def test_unexpected_exception_is_not_classified():
    with pytest.raises(TypeError):
        classify(KeyError("bug"))


def test_not_configured_answers_are_absences_not_errors():
    assert is_absent(_err("RepositoryPolicyNotFoundException"))
    assert is_absent(_err("LifecyclePolicyNotFoundException"))
    assert not is_absent(_err("RepositoryNotFoundException"))


def test_scrub_removes_keys_secrets_tokens_and_signatures_but_keeps_digests_and_arns():
    msg = ("User arn:aws:sts::012345678901:assumed-role/OrganizationAccountAccessRole/ecr-audit with key "
           "ASIAABCDEFGHIJKLMNOP secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY token=FwoGZXIvYXdzEJr//////"
           "wEaDO0 at https://x/?X-Amz-Signature=abcdef123&X-Amz-Credential=AKIA/2026 image sha256:" + "a" * 64)
    out = scrub(msg)
    for secret in ("ASIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI", "FwoGZXIvYXdzEJr", "abcdef123", "AKIA/2026"):
        assert secret not in out
    assert "sha256:" + "a" * 64 in out
    assert "assumed-role/OrganizationAccountAccessRole/ecr-audit" in out
    assert len(scrub("x" * 5000)) == 1000


@pytest.mark.parametrize("principal, exclusions, expected", [
    ("arn:aws:sts::012345678901:assumed-role/ecr-audit/ecr-audit", ["arn:aws:iam::012345678901:role/ecr-audit"], True),
    ("arn:aws:sts::012345678901:assumed-role/ecr-audit/s", ["arn:aws:iam::012345678901:role/audit/tools/ecr-audit"], True),
    ("arn:aws:sts::012345678901:assumed-role/ecr-audit/s", ["arn:aws:iam::098765432109:role/ecr-audit"], False),
    ("arn:aws:sts::012345678901:assumed-role/ecr-audit/s", ["arn:aws:iam::012345678901:user/ecr-audit"], False),
    ("arn:aws:sts::012345678901:assumed-role/ecr-audit/s", ["arn:aws:iam::012345678901:role/ecr-audit-2"], False),
    ("arn:aws:iam::012345678901:user/ops/alice", ["arn:aws:iam::012345678901:user/alice"], True),
    ("arn:aws:iam::012345678901:root", ["arn:aws:iam::012345678901:root"], False),
    ("arn:aws-cn:sts::012345678901:assumed-role/r/s", ["arn:aws:iam::012345678901:role/r"], False),
    # moto's form of an IAM user's caller identity
    ("arn:aws:sts::123456789012:user/moto", ["arn:aws:iam::123456789012:user/moto"], True),
    ("arn:aws:sts::123456789012:federated-user/bob", ["arn:aws:iam::123456789012:user/bob"], False),
])
def test_pull_time_exclusion_matches_the_role_behind_an_assumed_role_session(principal, exclusions, expected):
    assert aws.is_excluded(principal, exclusions) is expected


def test_assumed_role_arn_maps_to_iam_role_arn_without_path():
    assert aws.role_arn_of("arn:aws:sts::012345678901:assumed-role/ecr-audit/sess") == \
        "arn:aws:iam::012345678901:role/ecr-audit"


@pytest.mark.parametrize("mode, status, exclusions, read, excluded", [
    ("auto", "present", ["arn:aws:iam::012345678901:role/ecr-audit"], True, True),
    ("auto", "absent", [], False, False),
    ("auto", "unreadable", None, False, None),
    ("auto", "unsupported", None, False, None),
    ("always", "absent", [], True, False),
    ("never", "present", ["arn:aws:iam::012345678901:role/ecr-audit"], False, True),
])
def test_manifest_decision_reads_in_auto_mode_only_when_the_principal_is_excluded(
        mode, status, exclusions, read, excluded):
    got_read, got_excluded, reason = manifest_decision(
        mode, "arn:aws:sts::012345678901:assumed-role/ecr-audit/ecr-audit", status, exclusions)
    assert (got_read, got_excluded) == (read, excluded)
    assert reason
    if mode == "always" and not excluded:
        assert "may have moved" in reason


def test_ou_path_from_list_accounts_paths_keeps_root_and_ous():
    assert organizations.ou_path_from_paths(ORG_ACCOUNT["Paths"], "012345678901") == "r-ab12/ou-ab12-11111111"
    assert organizations.ou_path_from_paths(None, "012345678901") is None


def _stubbed(service):
    client = boto3.client(service, region_name="us-east-1")
    return client, Stubber(client)


def test_list_accounts_keeps_paging_through_empty_pages_with_a_next_token():
    org, stub = _stubbed("organizations")
    stub.add_response("list_accounts", {"Accounts": [ORG_ACCOUNT], "NextToken": "t1"}, {})
    stub.add_response("list_accounts", {"Accounts": [], "NextToken": "t2"}, {"NextToken": "t1"})
    stub.add_response("list_accounts", {"Accounts": [], "NextToken": "t3"}, {"NextToken": "t2"})
    stub.add_response("list_accounts", {"Accounts": [SUSPENDED_ACCOUNT]}, {"NextToken": "t3"})
    with stub:
        got = organizations.get_org_accounts(org)
    stub.assert_no_pending_responses()
    assert [a["Id"] for a in got] == ["012345678901", "000555666777"]


def test_ou_tree_walk_gives_nested_paths():
    org, stub = _stubbed("organizations")
    stub.add_response("list_roots", {"Roots": [{"Id": "r-ab12"}]}, {})
    stub.add_response("list_accounts_for_parent", {"Accounts": [{"Id": "123456789012"}]}, {"ParentId": "r-ab12"})
    stub.add_response("list_organizational_units_for_parent",
                      {"OrganizationalUnits": [{"Id": "ou-ab12-11111111"}]}, {"ParentId": "r-ab12"})
    stub.add_response("list_accounts_for_parent", {"Accounts": [{"Id": "012345678901"}]},
                      {"ParentId": "ou-ab12-11111111"})
    stub.add_response("list_organizational_units_for_parent", {"OrganizationalUnits": []},
                      {"ParentId": "ou-ab12-11111111"})
    with stub:
        paths = organizations.get_ou_paths(org)
    assert paths == {"123456789012": "r-ab12", "012345678901": "r-ab12/ou-ab12-11111111"}


def test_describe_images_pages_with_any_status_filter_and_max_page_size():
    ecr, stub = _stubbed("ecr")
    expected = {"repositoryName": "web", "filter": {"tagStatus": "ANY", "imageStatus": "ANY"}, "maxResults": 1000}
    stub.add_response("describe_images", {"imageDetails": IMAGE_DETAILS[:2], "nextToken": "n"}, expected)
    stub.add_response("describe_images", {"imageDetails": IMAGE_DETAILS[2:]}, {**expected, "nextToken": "n"})
    with stub:
        got = images.get_images(ecr, "web")
    assert [d["imageDigest"] for d in got] == [d["imageDigest"] for d in IMAGE_DETAILS]


def test_pull_time_exclusions_loop_on_next_token_without_a_paginator():
    ecr, stub = _stubbed("ecr")
    stub.add_response("list_pull_time_update_exclusions",
                      {"pullTimeUpdateExclusions": ["arn:aws:iam::012345678901:role/a"], "nextToken": "n"},
                      {"maxResults": 1000})
    stub.add_response("list_pull_time_update_exclusions",
                      {"pullTimeUpdateExclusions": ["arn:aws:iam::012345678901:role/b"]},
                      {"maxResults": 1000, "nextToken": "n"})
    with stub:
        assert registry.get_pull_time_exclusions(ecr) == ["arn:aws:iam::012345678901:role/a",
                                                          "arn:aws:iam::012345678901:role/b"]


def test_batch_get_image_refuses_more_than_100_ids():
    with pytest.raises(ValueError):
        images.get_manifests(None, "web", [digest_of(str(i)) for i in range(101)])


def test_transform_images_one_tag_row_per_tag_and_new_image_fields():
    rows, tags = images.transform_images("012345678901", "us-east-1", "web", IMAGE_DETAILS)
    assert [t["tag"] for t in tags] == ["1.0", "latest"]
    assert rows[1]["tags"] == [] and rows[0]["last_pulled_at"] == T0
    assert rows[2]["image_status"] == "ARCHIVED" and rows[2]["subject_digest"] == digest_of(OCI_AMD64)
    edges = images.subject_edges("012345678901", "us-east-1", "web", IMAGE_DETAILS)
    assert [(e["source_digest"], e["target_digest"], e["kind"]) for e in edges] == [
        (IMAGE_DETAILS[2]["imageDigest"], digest_of(OCI_AMD64), "referrer_subject")]


def test_transform_repository_and_replication_rules():
    repo = {"repositoryArn": "arn:aws:ecr:us-east-1:012345678901:repository/web", "registryId": "012345678901",
            "repositoryName": "web", "repositoryUri": "012345678901.dkr.ecr.us-east-1.amazonaws.com/web",
            "createdAt": T0, "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
            "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
            "imageScanningConfiguration": {"scanOnPush": True},
            "encryptionConfiguration": {"encryptionType": "KMS", "kmsKey": "arn:aws:kms:us-east-1:012345678901:key/k"}}
    row = repositories.transform_repository("012345678901", "us-east-1", repo)
    assert row["tag_mutability_exclusions"] == ["latest"] and row["scan_on_push"] is True
    assert row["encryption_type"] == "KMS"
    rules = registry.transform_replication_rules("012345678901", "us-east-1", {"replicationConfiguration": {"rules": [
        {"destinations": [{"region": "eu-west-1", "registryId": "012345678901"},
                          {"region": "us-west-2", "registryId": "098765432109"}],
         "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}]}]}})
    assert [(r["rule_index"], r["destination_region"], r["destination_registry_id"], r["repository_filters"])
            for r in rules] == [(0, "eu-west-1", "012345678901", ["prod/"]),
                                (0, "us-west-2", "098765432109", ["prod/"])]


def test_verbose_progress_writes_one_line_per_finished_unit_even_without_a_terminal():
    import io

    from ecr_audit.collect import StderrProgress
    out = io.StringIO()
    p = StderrProgress(stream=out, verbose=True)
    p({"event": "repository_done", "units_done": 0, "units_total": 2})
    p({"event": "unit_done", "units_done": 1, "units_total": 2, "repositories": 3, "images": 40, "errors": 1})
    assert out.getvalue() == "ecr-audit: unit_done units 1/2 repositories 3 images 40 errors 1\n"
    quiet = io.StringIO()
    StderrProgress(stream=quiet)({"event": "unit_done", "units_done": 1})
    assert quiet.getvalue() == ""  # not a terminal, not verbose: silent
