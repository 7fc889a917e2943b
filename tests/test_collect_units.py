"""Pure parts of the collector and get_* paging, with literal payloads and botocore's Stubber."""

import boto3
import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.stub import Stubber

from ecr_audit import aws
from ecr_audit.collect import images, organizations, registry, repositories
from ecr_audit.collect.errors import classify, is_absent, scrub
from ecr_audit.collect.unit import manifest_decision
from tests.data.ecr_payloads import IMAGE_DETAILS, OCI_AMD64, ORG_ACCOUNT, SUSPENDED_ACCOUNT, T0, digest_of


def _err(code, status=400, message="m"):
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, "Op"
    )


@pytest.mark.parametrize(
    "exc, kind",
    [
        (_err("AccessDeniedException", 400), "access_denied"),
        (_err("403", 403), "access_denied"),  # moto's XML denial on a JSON protocol
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
    ],
)
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
    msg = (
        "User arn:aws:sts::012345678901:assumed-role/OrganizationAccountAccessRole/ecr-audit with key "
        "ASIAABCDEFGHIJKLMNOP secret wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY token=FwoGZXIvYXdzEJr//////"
        "wEaDO0 at https://x/?X-Amz-Signature=abcdef123&X-Amz-Credential=AKIA/2026 image sha256:" + "a" * 64
    )
    out = scrub(msg)
    for secret in ("ASIAABCDEFGHIJKLMNOP", "wJalrXUtnFEMI", "FwoGZXIvYXdzEJr", "abcdef123", "AKIA/2026"):
        assert secret not in out
    assert "sha256:" + "a" * 64 in out
    assert "assumed-role/OrganizationAccountAccessRole/ecr-audit" in out
    assert len(scrub("x" * 5000)) == 1000


@pytest.mark.parametrize(
    "principal, exclusions, expected",
    [
        (
            "arn:aws:sts::012345678901:assumed-role/ecr-audit/ecr-audit",
            ["arn:aws:iam::012345678901:role/ecr-audit"],
            True,
        ),
        (
            "arn:aws:sts::012345678901:assumed-role/ecr-audit/s",
            ["arn:aws:iam::012345678901:role/audit/tools/ecr-audit"],
            True,
        ),
        (
            "arn:aws:sts::012345678901:assumed-role/ecr-audit/s",
            ["arn:aws:iam::098765432109:role/ecr-audit"],
            False,
        ),
        (
            "arn:aws:sts::012345678901:assumed-role/ecr-audit/s",
            ["arn:aws:iam::012345678901:user/ecr-audit"],
            False,
        ),
        (
            "arn:aws:sts::012345678901:assumed-role/ecr-audit/s",
            ["arn:aws:iam::012345678901:role/ecr-audit-2"],
            False,
        ),
        ("arn:aws:iam::012345678901:user/ops/alice", ["arn:aws:iam::012345678901:user/alice"], True),
        ("arn:aws:iam::012345678901:root", ["arn:aws:iam::012345678901:root"], False),
        ("arn:aws-cn:sts::012345678901:assumed-role/r/s", ["arn:aws:iam::012345678901:role/r"], False),
        # moto's form of an IAM user's caller identity
        ("arn:aws:sts::123456789012:user/moto", ["arn:aws:iam::123456789012:user/moto"], True),
        ("arn:aws:sts::123456789012:federated-user/bob", ["arn:aws:iam::123456789012:user/bob"], False),
    ],
)
def test_pull_time_exclusion_matches_the_role_behind_an_assumed_role_session(principal, exclusions, expected):
    assert aws.is_excluded(principal, exclusions) is expected


def test_assumed_role_arn_maps_to_iam_role_arn_without_path():
    assert (
        aws.role_arn_of("arn:aws:sts::012345678901:assumed-role/ecr-audit/sess")
        == "arn:aws:iam::012345678901:role/ecr-audit"
    )


@pytest.mark.parametrize(
    "mode, status, exclusions, read, excluded",
    [
        ("auto", "present", ["arn:aws:iam::012345678901:role/ecr-audit"], True, True),
        ("auto", "absent", [], False, False),
        ("auto", "unreadable", None, False, None),
        ("auto", "unsupported", None, False, None),
        ("always", "absent", [], True, False),
        ("never", "present", ["arn:aws:iam::012345678901:role/ecr-audit"], False, True),
    ],
)
def test_manifest_decision_reads_in_auto_mode_only_when_the_principal_is_excluded(
    mode, status, exclusions, read, excluded
):
    got_read, got_excluded, reason = manifest_decision(
        mode, "arn:aws:sts::012345678901:assumed-role/ecr-audit/ecr-audit", status, exclusions
    )
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
    stub.add_response(
        "list_accounts_for_parent", {"Accounts": [{"Id": "123456789012"}]}, {"ParentId": "r-ab12"}
    )
    stub.add_response(
        "list_organizational_units_for_parent",
        {"OrganizationalUnits": [{"Id": "ou-ab12-11111111"}]},
        {"ParentId": "r-ab12"},
    )
    stub.add_response(
        "list_accounts_for_parent", {"Accounts": [{"Id": "012345678901"}]}, {"ParentId": "ou-ab12-11111111"}
    )
    stub.add_response(
        "list_organizational_units_for_parent", {"OrganizationalUnits": []}, {"ParentId": "ou-ab12-11111111"}
    )
    with stub:
        paths = organizations.get_ou_paths(org)
    assert paths == {"123456789012": "r-ab12", "012345678901": "r-ab12/ou-ab12-11111111"}


def test_describe_images_pages_with_any_status_filter_and_max_page_size():
    ecr, stub = _stubbed("ecr")
    expected = {
        "repositoryName": "web",
        "filter": {"tagStatus": "ANY", "imageStatus": "ANY"},
        "maxResults": 1000,
    }
    stub.add_response("describe_images", {"imageDetails": IMAGE_DETAILS[:2], "nextToken": "n"}, expected)
    stub.add_response("describe_images", {"imageDetails": IMAGE_DETAILS[2:]}, {**expected, "nextToken": "n"})
    with stub:
        got = images.get_images(ecr, "web")
    assert [d["imageDigest"] for d in got] == [d["imageDigest"] for d in IMAGE_DETAILS]


def test_pull_time_exclusions_loop_on_next_token_without_a_paginator():
    ecr, stub = _stubbed("ecr")
    stub.add_response(
        "list_pull_time_update_exclusions",
        {"pullTimeUpdateExclusions": ["arn:aws:iam::012345678901:role/a"], "nextToken": "n"},
        {"maxResults": 1000},
    )
    stub.add_response(
        "list_pull_time_update_exclusions",
        {"pullTimeUpdateExclusions": ["arn:aws:iam::012345678901:role/b"]},
        {"maxResults": 1000, "nextToken": "n"},
    )
    with stub:
        assert registry.get_pull_time_exclusions(ecr) == [
            "arn:aws:iam::012345678901:role/a",
            "arn:aws:iam::012345678901:role/b",
        ]


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
        (IMAGE_DETAILS[2]["imageDigest"], digest_of(OCI_AMD64), "referrer_subject")
    ]


def test_transform_repository_and_replication_rules():
    repo = {
        "repositoryArn": "arn:aws:ecr:us-east-1:012345678901:repository/web",
        "registryId": "012345678901",
        "repositoryName": "web",
        "repositoryUri": "012345678901.dkr.ecr.us-east-1.amazonaws.com/web",
        "createdAt": T0,
        "imageTagMutability": "IMMUTABLE_WITH_EXCLUSION",
        "imageTagMutabilityExclusionFilters": [{"filterType": "WILDCARD", "filter": "latest"}],
        "imageScanningConfiguration": {"scanOnPush": True},
        "encryptionConfiguration": {
            "encryptionType": "KMS",
            "kmsKey": "arn:aws:kms:us-east-1:012345678901:key/k",
        },
    }
    row = repositories.transform_repository("012345678901", "us-east-1", repo)
    assert row["tag_mutability_exclusions"] == ["latest"] and row["has_scan_on_push"] is True
    assert row["encryption_type"] == "KMS"
    rules = registry.transform_replication_rules(
        "012345678901",
        "us-east-1",
        {
            "replicationConfiguration": {
                "rules": [
                    {
                        "destinations": [
                            {"region": "eu-west-1", "registryId": "012345678901"},
                            {"region": "us-west-2", "registryId": "098765432109"},
                        ],
                        "repositoryFilters": [{"filter": "prod/", "filterType": "PREFIX_MATCH"}],
                    }
                ]
            }
        },
    )
    assert [
        (r["rule_index"], r["destination_region"], r["destination_account_id"], r["repository_filters"])
        for r in rules
    ] == [(0, "eu-west-1", "012345678901", ["prod/"]), (0, "us-west-2", "098765432109", ["prod/"])]


def test_verbose_progress_writes_one_line_per_finished_unit_naming_account_and_region():
    import io

    from ecr_audit.collect import StderrProgress

    out = io.StringIO()
    p = StderrProgress(stream=out, verbose=True)
    p({"event": "repository_done", "units_done": 0, "units_total": 2})
    unit = {
        "account_id": "111122223333",
        "region": "eu-west-1",
        "status": "partial",
        "reason": "1 failed reads (see errors)",
        "repositories": 3,
        "images": 40,
        "errors": 1,
    }
    p({"event": "unit_done", "about": unit, "units_done": 1, "units_total": 2, "errors": 1})
    account = {"account_id": "444455556666", "collection_status": "failed", "skip_reason": "could not assume"}
    p({"event": "account_done", "about": account, "units_done": 1, "units_total": 2})
    p({"event": "done", "units_done": 2, "units_total": 2, "repositories": 5, "images": 50, "errors": 1})
    assert out.getvalue().splitlines() == [
        "ecr-audit: 111122223333 eu-west-1: partial (1 failed reads (see errors)), 3 repositories, "
        "40 images, 1 errors (units 1/2)",
        "ecr-audit: 444455556666: failed (could not assume)",
        "ecr-audit: done: units 2/2, repositories 5, images 50, errors 1",
    ]
    quiet = io.StringIO()
    StderrProgress(stream=quiet)({"event": "unit_done", "units_done": 1})
    assert quiet.getvalue() == ""  # not a terminal, not verbose: silent


# -- issue 12 #5: every paged listing ends, whatever the endpoint's tokens do ---------------------

from ecr_audit.collect import paging  # noqa: E402
from ecr_audit.collect.fields import Problems  # noqa: E402


def _cycling(stub, operation, items_key, token_key, items, tokens, extra=None):
    """Queue answers whose tokens go tokens[0] → tokens[1] → ... (a token may repeat)."""
    sent = None
    for i, nxt in enumerate(tokens):
        answer = {items_key: [items[i % len(items)]], token_key: nxt}
        stub.add_response(operation, answer, {**(extra or {}), **({token_key: sent} if sent else {})})
        sent = nxt


def test_describe_images_token_cycle_a_b_a_stops_and_keeps_the_three_pages_read():
    """botocore's paginator compares a token with the previous one only: A→B→A went on forever."""
    ecr, stub = _stubbed("ecr")
    expected = {
        "repositoryName": "web",
        "filter": {"tagStatus": "ANY", "imageStatus": "ANY"},
        "maxResults": 1000,
    }
    _cycling(stub, "describe_images", "imageDetails", "nextToken", IMAGE_DETAILS, ["A", "B", "A"], expected)
    with stub, pytest.raises(paging.IncompleteListing) as e:
        images.get_images(ecr, "web")
    assert e.value.code == "RepeatedPageToken"
    assert [d["imageDigest"] for d in e.value.partial_items] == [d["imageDigest"] for d in IMAGE_DETAILS]
    assert classify(e.value) == ("RepeatedPageToken", "invalid_data")


def test_pull_time_exclusions_token_repeated_stops_with_the_exclusions_read():
    ecr, stub = _stubbed("ecr")
    arns = ["arn:aws:iam::012345678901:role/a", "arn:aws:iam::012345678901:role/b"]
    _cycling(
        stub,
        "list_pull_time_update_exclusions",
        "pullTimeUpdateExclusions",
        "nextToken",
        arns,
        ["A", "A"],
        {"maxResults": 1000},
    )
    with stub, pytest.raises(paging.IncompleteListing) as e:
        registry.get_pull_time_exclusions(ecr)
    assert e.value.partial_items == arns


def test_list_accounts_token_cycle_stops_with_the_accounts_listed():
    org, stub = _stubbed("organizations")
    _cycling(
        stub, "list_accounts", "Accounts", "NextToken", [ORG_ACCOUNT, SUSPENDED_ACCOUNT], ["A", "B", "A"]
    )
    with stub, pytest.raises(paging.IncompleteListing) as e:
        organizations.get_org_accounts(org)
    assert [a["Id"] for a in e.value.partial_items] == ["012345678901", "000555666777", "012345678901"]


@pytest.mark.parametrize(
    "cycling", ["list_roots", "list_accounts_for_parent", "list_organizational_units_for_parent"]
)
def test_ou_walk_token_cycles_stop_and_keep_the_paths_found(cycling):
    org, stub = _stubbed("organizations")
    root = {"ParentId": "r-ab12"}
    if cycling == "list_roots":
        _cycling(stub, "list_roots", "Roots", "NextToken", [{"Id": "r-ab12"}], ["A", "B", "A"])
    else:
        stub.add_response("list_roots", {"Roots": [{"Id": "r-ab12"}]}, {})
        if cycling == "list_accounts_for_parent":
            _cycling(stub, cycling, "Accounts", "NextToken", [{"Id": "123456789012"}], ["A", "B", "A"], root)
        else:
            stub.add_response("list_accounts_for_parent", {"Accounts": [{"Id": "123456789012"}]}, root)
            _cycling(
                stub, cycling, "OrganizationalUnits", "NextToken", [{"Id": "ou-ab12-1"}], ["A", "A"], root
            )
    with stub, pytest.raises(paging.IncompleteListing) as e:
        organizations.get_ou_paths(org, Problems())
    assert e.value.code == "RepeatedPageToken"
    assert e.value.partial_items == (
        {} if cycling != "list_organizational_units_for_parent" else {"123456789012": "r-ab12"}
    )


def test_ou_tree_answered_as_a_cycle_is_walked_once_and_reported():
    org, stub = _stubbed("organizations")
    stub.add_response("list_roots", {"Roots": [{"Id": "r-ab12"}]}, {})
    stub.add_response("list_accounts_for_parent", {"Accounts": []}, {"ParentId": "r-ab12"})
    stub.add_response(
        "list_organizational_units_for_parent",
        {"OrganizationalUnits": [{"Id": "ou-ab12-1"}]},
        {"ParentId": "r-ab12"},
    )
    stub.add_response(
        "list_accounts_for_parent", {"Accounts": [{"Id": "012345678901"}]}, {"ParentId": "ou-ab12-1"}
    )
    # The OU lists the root as its child: a cycle.
    stub.add_response(
        "list_organizational_units_for_parent",
        {"OrganizationalUnits": [{"Id": "r-ab12"}]},
        {"ParentId": "ou-ab12-1"},
    )
    problems = Problems()
    with stub:
        paths = organizations.get_ou_paths(org, problems)
    stub.assert_no_pending_responses()
    assert paths == {"012345678901": "r-ab12/ou-ab12-1"}
    assert [what for what, _ in problems] == ["an organizational unit listed under two parents (a cycle)"]


def test_listing_that_never_ends_stops_at_the_page_cap():
    calls = []

    def endless(**params):
        calls.append(params.get("nextToken"))
        return {"items": [len(calls)], "nextToken": f"t{len(calls)}"}  # always a new token

    with pytest.raises(paging.IncompleteListing) as e:
        paging.pages(endless, "items", max_pages=50)
    assert len(calls) == 50 and e.value.code == "PageLimit" and e.value.partial_items == list(range(1, 51))


def test_a_failure_on_a_later_page_keeps_the_pages_read_before():
    def flaky(**params):
        if params.get("nextToken"):
            raise _err("ThrottlingException")
        return {"items": [1, 2], "nextToken": "n"}

    with pytest.raises(ClientError) as e:
        paging.pages(flaky, "items")
    assert e.value.partial_items == [1, 2]


def _reads_a_token(node) -> bool:
    """`x.get("nextToken")` or `x["NextToken"]`: an answer's page token read by hand."""
    import ast

    def is_token(n):
        return isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.lower() == "nexttoken"

    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and is_token(node.args[0])
    return isinstance(node, ast.Subscript) and is_token(node.slice)


def test_no_paging_loop_of_the_package_bypasses_the_paging_helper():
    """botocore paginators do not catch A→B→A cycles, and a hand-written token loop is how the
    unbounded ones crept in: the package pages only through collect.paging.pages."""
    import ast
    from pathlib import Path

    import ecr_audit

    root = Path(ecr_audit.__file__).parent
    offenders = []
    for path in root.rglob("*.py"):
        if "sandbox" in path.parts or path.name == "paging.py":
            continue
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and node.attr == "get_paginator":
                offenders.append(f"{path.name}:{node.lineno} get_paginator")
            if isinstance(node, (ast.While, ast.For)) and any(_reads_a_token(n) for n in ast.walk(node)):
                offenders.append(f"{path.name}:{node.lineno} token loop")
    assert not offenders, offenders


# -- issue 12 #10: malformed items are problems, never KeyError -----------------------------------


def test_image_without_digest_and_a_digest_listed_twice_are_problems_and_the_rest_is_kept():
    good = IMAGE_DETAILS[0]
    twice = {**good, "imageTags": ["other"]}
    no_digest = {k: v for k, v in IMAGE_DETAILS[1].items() if k != "imageDigest"}
    details = [
        no_digest,
        good,
        twice,
        IMAGE_DETAILS[2],
        {**IMAGE_DETAILS[2], "imageDigest": 7},
        "not an object",
        None,
    ]
    problems = Problems()
    rows, tags = images.transform_images("012345678901", "us-east-1", "web", details, problems)
    assert [r["image_digest"] for r in rows] == [good["imageDigest"], IMAGE_DETAILS[2]["imageDigest"]]
    assert rows[0]["tags"] == ["1.0", "latest", "other"]  # the duplicate's tags are not lost
    assert [t["tag"] for t in tags] == ["1.0", "latest", "other"]
    assert sorted(what for what, _ in problems) == sorted(
        [
            "an image without imageDigest",
            "an image digest listed twice",
            "an image whose imageDigest is not text",
            "an image that is not an object",
            "an image that is not an object",
        ]
    )
    with pytest.raises(ValueError):  # without a Problems to report to, a bad item stops the caller
        images.transform_images("012345678901", "us-east-1", "web", details)
