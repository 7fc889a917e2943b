"""Consumer collection without a sandbox (issue 14): every listing pages, every transform turns a
malformed item into a problem and keeps the rest, and each row names its digest honestly."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from types import SimpleNamespace

import pytest

from ecr_audit.collect import consumers, reading
from ecr_audit.collect.consumers import apprunner as c_apprunner
from ecr_audit.collect.consumers import batch as c_batch
from ecr_audit.collect.consumers import cloudtrail as c_cloudtrail
from ecr_audit.collect.consumers import codebuild as c_codebuild
from ecr_audit.collect.consumers import ecs as c_ecs
from ecr_audit.collect.consumers import emr_serverless as c_emr
from ecr_audit.collect.consumers import inspector as c_inspector
from ecr_audit.collect.consumers import lambda_ as c_lambda
from ecr_audit.collect.consumers import sagemaker as c_sagemaker
from ecr_audit.collect.consumers.rows import Place, digest_uri, reference
from ecr_audit.collect.fields import Problems
from ecr_audit.collect.paging import IncompleteListing

ACCOUNT, REGION = "012345678901", "us-east-1"
PLACE = Place(ACCOUNT, REGION, datetime(2026, 11, 1, tzinfo=timezone.utc))
REPO = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/payments/worker"
D1, D2 = "sha256:" + "1" * 64, "sha256:" + "2" * 64
NOW = datetime(2026, 11, 1, tzinfo=timezone.utc)

# (get, its arguments, client method, items key, request token, answer token)
LISTINGS = [
    (c_ecs.get_clusters, (), "list_clusters", "clusterArns", "nextToken", "nextToken"),
    (c_ecs.get_services, ("prod",), "list_services", "serviceArns", "nextToken", "nextToken"),
    (
        c_ecs.get_service_deployments,
        ("prod", "web"),
        "list_service_deployments",
        "serviceDeployments",
        "nextToken",
        "nextToken",
    ),
    (c_ecs.get_tasks, ("prod",), "list_tasks", "taskArns", "nextToken", "nextToken"),
    (c_ecs.get_families, (), "list_task_definition_families", "families", "nextToken", "nextToken"),
    (
        c_ecs.get_newest_task_definitions,
        ("web", 100),
        "list_task_definitions",
        "taskDefinitionArns",
        "nextToken",
        "nextToken",
    ),
    (c_lambda.get_functions, (), "list_functions", "Functions", "Marker", "NextMarker"),
    (c_lambda.get_aliases, ("fn",), "list_aliases", "Aliases", "Marker", "NextMarker"),
    (c_batch.get_job_definitions, (), "describe_job_definitions", "jobDefinitions", "nextToken", "nextToken"),
    (c_apprunner.get_services, (), "list_services", "ServiceSummaryList", "NextToken", "NextToken"),
    (c_sagemaker.get_endpoints, (), "list_endpoints", "Endpoints", "NextToken", "NextToken"),
    (c_sagemaker.get_models, (), "list_models", "Models", "NextToken", "NextToken"),
    (c_emr.get_applications, (), "list_applications", "applications", "nextToken", "nextToken"),
    (c_codebuild.get_projects, (), "list_projects", "projects", "nextToken", "nextToken"),
    (
        c_inspector.get_images_in_use,
        (ACCOUNT,),
        "list_coverage",
        "coveredResources",
        "nextToken",
        "nextToken",
    ),
    (c_inspector.get_clusters, ("arn:x",), "get_clusters_for_image", "cluster", "nextToken", "nextToken"),
    (c_cloudtrail.get_pull_events, (NOW, NOW), "lookup_events", "Events", "NextToken", "NextToken"),
]


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(reading, "sleep", slept.append)
    return slept


def _client(method, key, answer, pages=3, cycle=False):
    calls = []

    def call(**params):
        calls.append(params)
        n = len(calls)
        page = {key: [f"{key}-{n}-a", f"{key}-{n}-b"]}
        if cycle:
            page[answer] = "A" if n % 2 else "B"
        elif n < pages:
            page[answer] = f"t{n}"
        return page

    return SimpleNamespace(**{method: call}), calls


@pytest.mark.parametrize(
    "get, args, method, key, token, answer", LISTINGS, ids=lambda v: getattr(v, "__name__", None)
)
def test_every_consumer_listing_follows_its_pages_to_the_end(get, args, method, key, token, answer):
    client, calls = _client(method, key, answer)
    got = get(client, *args)
    assert got == [f"{key}-{n}-{x}" for n in (1, 2, 3) for x in "ab"]
    assert [c.get(token) for c in calls] == [None, "t1", "t2"]


@pytest.mark.parametrize(
    "get, args, method, key, token, answer", LISTINGS, ids=lambda v: getattr(v, "__name__", None)
)
def test_every_consumer_listing_stops_on_a_cycling_page_token(get, args, method, key, token, answer):
    client, calls = _client(method, key, answer, cycle=True)
    with pytest.raises(IncompleteListing) as e:
        get(client, *args)
    assert e.value.code == "RepeatedPageToken" and len(e.value.partial_items) == 2 * len(calls)


def test_newest_task_definitions_stop_after_n_even_when_pages_follow():
    client, calls = _client("list_task_definitions", "taskDefinitionArns", "nextToken", pages=10)
    got = c_ecs.get_newest_task_definitions(client, "web", 3)
    assert len(got) == 3 and len(calls) == 2
    assert calls[0] == {"familyPrefix": "web", "status": "ACTIVE", "sort": "DESC", "maxResults": 3}


def test_lookup_events_is_paced_to_two_requests_a_second(monkeypatch, no_sleep):
    clock = iter([0.0, 0.1, 0.5, 0.6, 1.0])  # each request is 0.1 s after the previous one was sent
    monkeypatch.setattr(reading, "clock", lambda: next(clock))
    client, calls = _client("lookup_events", "Events", "NextToken")
    c_cloudtrail.get_pull_events(client, NOW, NOW)
    assert len(calls) == 3
    assert no_sleep == pytest.approx([0.4, 0.4])  # 0.5 s after the previous request, minus the time since
    assert calls[0]["LookupAttributes"] == [{"AttributeKey": "EventName", "AttributeValue": "BatchGetImage"}]


def test_lookup_events_pages_each_get_the_whole_throttle_budget(monkeypatch):
    now = [100.0]
    monkeypatch.setattr(reading, "clock", lambda: now[0])
    budget = reading.ThrottleBudget(30)
    deadlines = []
    client, _ = _client("lookup_events", "Events", "NextToken")
    inner = client.lookup_events

    def page(**params):
        deadlines.append(budget._local.deadline)
        now[0] += 20  # each page (and its pacing) takes 20 s: the third would be past one deadline
        return inner(**params)

    client.lookup_events = page
    with budget.started():
        c_cloudtrail.get_pull_events(client, NOW, NOW, budget)
    assert deadlines == [130.0, 150.0, 170.0]


def test_lookup_events_stops_at_max_events_keeping_the_newest():
    client, calls = _client("lookup_events", "Events", "NextToken", pages=100)
    got = c_cloudtrail.get_pull_events(client, NOW, NOW, max_events=5)
    assert got == ["Events-1-a", "Events-1-b", "Events-2-a", "Events-2-b", "Events-3-a"] and len(calls) == 3


# -- the kinds the user may ask for ---------------------------------------------------------------


def test_consumer_kinds_all_none_lists_and_unknown():
    assert consumers.select("all") == consumers.DEFAULT_KINDS and "cloudtrail" not in consumers.DEFAULT_KINDS
    assert consumers.select("none") == ()
    assert consumers.select("lambda,ecs") == ("ecs", "lambda")
    assert consumers.select(["all", "cloudtrail"]) == consumers.KINDS
    with pytest.raises(ValueError, match="unknown consumer kind 'eks'"):
        consumers.select("ecs,eks")
    for keep, days in ((101, 30), (-1, 30), (5, 0), (5, 91), (True, 30), (5, 1.5)):
        with pytest.raises(ValueError):
            consumers.check_options(keep, days)
    consumers.check_options(0, 90)


# -- one row: the digest and where it came from ----------------------------------------------------


def test_a_written_digest_wins_a_resolved_one_is_marked_and_a_tag_alone_has_none():
    written = reference(PLACE, "ecs_task", image=f"{REPO}@{D1}", resolved=f"{REPO}@{D2}", role="running")
    assert (written["image_digest"], written["digest_source"], written["image_tag"]) == (D1, "written", None)
    resolved = reference(PLACE, "ecs_task", image=f"{REPO}:v1", resolved=f"{REPO}@{D2}", role="running")
    assert (resolved["image_digest"], resolved["digest_source"], resolved["image_tag"]) == (
        D2,
        "resolved_by_service",
        "v1",
    )
    tag = reference(PLACE, "ecs_task_definition", image=f"{REPO}:v1", role="rollback")
    assert (tag["image_digest"], tag["digest_source"], tag["is_ecr_private"]) == (None, "none", True)
    assert (tag["account_id"], tag["region"], tag["repository_name"]) == (ACCOUNT, REGION, "payments/worker")


def test_no_tag_and_no_digest_means_latest_and_says_so():
    row = reference(PLACE, "codebuild_project", image=REPO, role="defined")
    assert row["image_tag"] == "latest" and "no tag written: latest" in row["details"]


def test_a_digest_of_another_algorithm_is_kept_as_text_and_not_used():
    image = f"{REPO}@sha512:" + "a" * 128
    row = reference(PLACE, "ecs_task_definition", image=image, role="rollback")
    assert row["image_uri"] == image and row["image_digest"] is None and row["digest_source"] == "none"
    assert "not a sha256 digest" in row["details"]


def test_another_registry_and_any_text_are_kept_but_not_ecr_private():
    for image in ("docker.io/library/nginx:1.27", "<script>alert(1)</script>" + "x" * 10_000, ""):
        row = reference(PLACE, "ecs_task", image=image, role="running")
        assert row["image_uri"] == image and row["is_ecr_private"] is False and row["account_id"] is None


def test_digest_uri_pins_ecr_and_other_registries_keeping_a_port():
    assert digest_uri(f"{REPO}:v1", D1) == f"{REPO}@{D1}"
    assert digest_uri("registry.local:5000/app:1.0", D1) == f"registry.local:5000/app@{D1}"
    assert digest_uri("nginx", D1) == f"nginx@{D1}"


# -- transforms: malformed items are problems, the rest is kept -----------------------------------


def test_services_with_malformed_items_keep_the_good_ones():
    problems = Problems()
    answer = {
        "services": [
            {
                "serviceArn": "arn:aws:ecs:us-east-1:0:service/prod/web",
                "serviceName": "web",
                "runningCount": 2,
                "deployments": [{"status": "PRIMARY", "taskDefinition": "arn:td/web:3", "runningCount": 2}],
            },
            {"serviceArn": 7},
            "not an object",
            {
                "serviceArn": "arn:aws:ecs:us-east-1:0:service/prod/api",
                "deployments": [{"status": "PRIMARY"}],
            },
        ],
        "failures": [{"arn": "arn:gone", "reason": "MISSING"}],
    }
    services, failures = c_ecs.transform_services(answer, problems)
    assert [s["name"] for s in services] == ["web", "api"]
    assert services[1]["deployments"] == []  # its deployment without a task definition is a problem
    assert failures == [{"arn": "arn:gone", "reason": "MISSING", "detail": None}]
    assert len(problems) == 3


def test_revisions_to_read_deployed_and_the_rollback_target():
    deployments = c_ecs.transform_deployments(
        [
            {"status": "SUCCESSFUL", "targetServiceRevisionArn": "r1", "createdAt": datetime(2026, 1, 1)},
            {"status": "SUCCESSFUL", "targetServiceRevisionArn": "r2", "createdAt": datetime(2026, 2, 1)},
            {"status": "STOPPED", "targetServiceRevisionArn": "r3", "createdAt": datetime(2026, 3, 1)},
            {"status": "IN_PROGRESS", "targetServiceRevisionArn": "r4", "createdAt": datetime(2026, 4, 1)},
        ]
    )
    assert c_ecs.revisions_to_read(deployments) == {"r4": "deployed", "r2": "deployed", "r1": "rollback"}


def test_tasks_keep_every_container_with_its_runtime_digest():
    problems = Problems()
    answer = {
        "tasks": [
            {
                "taskArn": "arn:aws:ecs:us-east-1:0:task/prod/abc",
                "taskDefinitionArn": "arn:td/worker:3",
                "group": "service:worker",
                "lastStatus": "RUNNING",
                "startedAt": NOW,
                "containers": [
                    {"name": "app", "image": f"{REPO}:v1", "imageDigest": D1},
                    {"name": "log", "image": "fluent/fluent-bit:3", "imageDigest": D2},
                    {"name": "bad", "image": f"{REPO}:v1", "imageDigest": 7},
                ],
            },
            {"taskArn": None},
        ]
    }
    rows, task_definitions, _ = c_ecs.transform_tasks(
        PLACE, answer, "arn:aws:ecs:us-east-1:0:cluster/prod", problems
    )
    assert [(r["container_name"], r["image_digest"], r["resolved_uri"]) for r in rows] == [
        ("app", D1, f"{REPO}@{D1}"),
        ("log", None, f"fluent/fluent-bit@{D2}"),
    ]
    assert rows[0]["consumer_name"] == "prod/service:worker" and rows[0]["last_in_use_at"] == NOW
    assert task_definitions == ["arn:td/worker:3"] and len(problems) == 2


def test_lambda_aliases_give_each_version_its_share():
    reached = c_lambda.transform_aliases(
        [
            {
                "Name": "live",
                "FunctionVersion": "2",
                "RoutingConfig": {"AdditionalVersionWeights": {"1": 0.1}},
            },
            {"Name": "stable", "FunctionVersion": "1"},
            {
                "Name": "broken",
                "FunctionVersion": "3",
                "RoutingConfig": {"AdditionalVersionWeights": {"1": "x"}},
            },
        ],
        Problems(),
    )
    assert reached["2"] == ["alias live (90%)"]
    assert reached["1"] == ["alias live (10%)", "alias stable"]


def test_lambda_version_row_uses_resolved_image_uri_and_flags_a_deleted_image():
    answer = {
        "Configuration": {
            "FunctionArn": "arn:aws:lambda:us-east-1:0:function:f",
            "StateReasonCode": "ImageDeleted",
        },
        "Code": {"ImageUri": f"{REPO}:v1", "ResolvedImageUri": f"{REPO}@{D1}"},
    }
    (row,) = c_lambda.transform_function(PLACE, "f", "1", answer, ["alias live (90%)"])
    assert row["consumer_arn"].endswith(":function:f:1") and row["image_digest"] == D1
    assert row["reference_role"] == "deployed" and row["is_running"] is True
    assert "ImageDeleted" in row["details"]
    (latest,) = c_lambda.transform_function(PLACE, "f", "$LATEST", answer, [])
    assert latest["reference_role"] == "defined" and latest["is_running"] is None


def test_batch_reads_container_ecs_eks_and_node_properties():
    problems = Problems()
    items = [
        {
            "jobDefinitionArn": "arn:j/a:1",
            "jobDefinitionName": "a",
            "revision": 1,
            "status": "ACTIVE",
            "containerProperties": {"image": f"{REPO}:a"},
        },
        {
            "jobDefinitionArn": "arn:j/b:1",
            "jobDefinitionName": "b",
            "revision": 1,
            "ecsProperties": {"taskProperties": [{"containers": [{"name": "x", "image": f"{REPO}:b"}]}]},
        },
        {
            "jobDefinitionArn": "arn:j/c:1",
            "jobDefinitionName": "c",
            "revision": 1,
            "eksProperties": {
                "podProperties": {
                    "initContainers": [{"name": "i", "image": f"{REPO}:i"}],
                    "containers": [{"name": "y", "image": f"{REPO}:c"}],
                }
            },
        },
        {
            "jobDefinitionArn": "arn:j/d:1",
            "jobDefinitionName": "d",
            "revision": 1,
            "nodeProperties": {
                "nodeRangeProperties": [{"targetNodes": "0:", "container": {"image": f"{REPO}:d"}}]
            },
        },
        {"jobDefinitionArn": "arn:j/e:1", "jobDefinitionName": "e", "containerProperties": {"image": 3}},
    ]
    rows = c_batch.transform_job_definitions(PLACE, items, problems)
    assert [(r["consumer_name"], r["container_name"], r["image_tag"]) for r in rows] == [
        ("a:1", None, "a"),
        ("b:1", "x", "b"),
        ("c:1", "i", "i"),
        ("c:1", "y", "c"),
        ("d:1", "nodes 0:", "d"),
    ]
    assert len(problems) == 1


def test_apprunner_sagemaker_emr_codebuild_rows():
    (ar,) = c_apprunner.transform_service(
        PLACE,
        {
            "Service": {
                "ServiceArn": "arn:s",
                "ServiceName": "ui",
                "Status": "PAUSED",
                "SourceConfiguration": {
                    "ImageRepository": {"ImageIdentifier": f"{REPO}:2", "ImageRepositoryType": "ECR"}
                },
            }
        },
    )
    assert ar["is_running"] is False and ar["reference_role"] == "deployed"
    assert (
        c_apprunner.transform_service(PLACE, {"Service": {"ServiceArn": "arn:s", "SourceConfiguration": {}}})
        == []
    )
    endpoint = c_sagemaker.transform_endpoint(
        PLACE,
        {
            "EndpointArn": "arn:e",
            "EndpointName": "e",
            "EndpointStatus": "InService",
            "ProductionVariants": [
                {
                    "VariantName": "v",
                    "DeployedImages": [
                        {
                            "SpecifiedImage": f"{REPO}:m",
                            "ResolvedImage": f"{REPO}@{D1}",
                            "ResolutionTime": NOW,
                        }
                    ],
                }
            ],
        },
    )
    assert [(r["consumer_name"], r["image_digest"], r["digest_source"]) for r in endpoint] == [
        ("e/v", D1, "resolved_by_service")
    ]
    app = c_emr.transform_application(
        PLACE,
        {
            "application": {
                "arn": "arn:a",
                "name": "spark",
                "state": "STOPPED",
                "imageConfiguration": {"imageUri": f"{REPO}:s", "resolvedImageDigest": D2},
                "workerTypeSpecifications": {"Driver": {"imageConfiguration": {"imageUri": f"{REPO}:d"}}},
            }
        },
    )
    assert [(r["container_name"], r["image_digest"], r["is_running"]) for r in app] == [
        (None, D2, False),
        ("Driver", None, False),
    ]
    rows, missing = c_codebuild.transform_projects(
        PLACE,
        {
            "projects": [
                {"name": "ci", "arn": "arn:p", "environment": {"image": "aws/codebuild/standard:7.0"}}
            ],
            "projectsNotFound": ["gone"],
        },
    )
    assert rows[0]["is_ecr_private"] is False and missing == ["gone"]


def test_inspector_coverage_and_clusters():
    problems = Problems()
    resource = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/payments/api/{D1}"
    images = c_inspector.transform_coverage(
        [
            {"resourceId": resource, "resourceMetadata": {"ecrImage": {"inUseCount": 3, "lastInUseAt": NOW}}},
            {
                "resourceId": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/payments/api/{D2}",
                "resourceMetadata": {"ecrImage": {"inUseCount": 0}},
            },
            {"resourceId": "i-0123"},
        ],
        problems,
    )
    assert [i["digest"] for i in images] == [D1] and len(problems) == 1
    rows = c_inspector.transform_clusters(
        PLACE,
        images[0],
        [
            {
                "clusterArn": "arn:aws:eks:us-east-1:098765432109:cluster/platform",
                "clusterDetails": [
                    {
                        "lastInUse": NOW,
                        "runningUnitCount": 3,
                        "clusterMetadata": {
                            "awsEksMetadataDetails": {
                                "namespace": "checkout",
                                "workloadInfoList": [{"name": "api", "type": "DEPLOYMENT"}],
                            }
                        },
                    }
                ],
            },
            {
                "clusterArn": f"arn:aws:ecs:us-east-1:{ACCOUNT}:cluster/prod",
                "clusterDetails": [
                    {
                        "runningUnitCount": 0,
                        "clusterMetadata": {
                            "awsEcsMetadataDetails": {
                                "detailsGroup": "service:web",
                                "taskDefinitionArn": "arn:td/web:3",
                            }
                        },
                    }
                ],
            },
        ],
    )
    assert [
        (r["consumer_kind"], r["consumer_account_id"], r["consumer_name"], r["is_running"]) for r in rows
    ] == [
        ("inspector_eks", "098765432109", "checkout/api", True),
        ("inspector_ecs", ACCOUNT, "prod/service:web", False),
    ]
    assert {r["image_digest"] for r in rows} == {D1} and {r["digest_source"] for r in rows} == {
        "resolved_by_service"
    }
    fallback = c_inspector.in_use_row(PLACE, images[0], "GetClustersForImage unreadable")
    assert fallback["consumer_kind"] == "inspector_in_use" and fallback["image_digest"] == D1


def test_inspector_status_enabled_disabled_and_not_answered():
    def answer(status):
        return {"accounts": [{"accountId": ACCOUNT, "resourceState": {"ecr": {"status": status}}}]}

    assert c_inspector.ecr_status(answer("ENABLED"), ACCOUNT)[0] == "ENABLED"
    assert c_inspector.ecr_status(answer("DISABLED"), ACCOUNT)[0] == "DISABLED"
    status, why = c_inspector.ecr_status(
        {"failedAccounts": [{"accountId": ACCOUNT, "errorCode": "ACCESS_DENIED"}]}, ACCOUNT
    )
    assert status is None and "ACCESS_DENIED" in why


def _event(arn, account, repo, tag=None, digest=None, at=NOW, error=None, source="ecr.amazonaws.com"):
    doc = {
        "eventSource": source,
        "awsRegion": REGION,
        "userIdentity": {"type": "AssumedRole", "arn": arn, "accountId": account},
        "requestParameters": {
            "registryId": ACCOUNT,
            "repositoryName": repo,
            "imageIds": [{"imageTag": tag} if tag else {"imageDigest": digest}],
        },
    }
    if error:
        doc["errorCode"] = error
    return {"EventTime": at, "CloudTrailEvent": json.dumps(doc)}


def test_cloudtrail_pulls_group_by_caller_and_image_leave_the_audit_out_and_keep_failures():
    me = f"arn:aws:sts::{ACCOUNT}:assumed-role/ecr-audit/ecr-audit"
    other = "arn:aws:sts::098765432109:assumed-role/task/1"
    events = [
        _event(
            other, "098765432109", "payments/worker", tag="v1", at=datetime(2026, 10, 30, tzinfo=timezone.utc)
        ),
        _event(
            other, "098765432109", "payments/worker", tag="v1", at=datetime(2026, 10, 1, tzinfo=timezone.utc)
        ),
        _event(other, "098765432109", "payments/worker", tag="gone", error="ImageNotFoundException"),
        _event(f"arn:aws:iam::{ACCOUNT}:role/ecr-audit", ACCOUNT, "payments/worker", digest=D1),
        _event(me, ACCOUNT, "payments/worker", digest=D1),
        {"EventTime": NOW, "CloudTrailEvent": "{not json"},
    ]
    problems = Problems()
    rows = c_cloudtrail.transform_pulls(PLACE, events, me, problems)
    assert sorted((r["image_tag"], r["details"]) for r in rows) == [
        ("gone", "1 BatchGetImage calls since 2026-11-01; 1 failed (ImageNotFoundException)"),
        ("v1", "2 BatchGetImage calls since 2026-10-01"),
    ]
    assert {r["consumer_account_id"] for r in rows} == {"098765432109"} and len(problems) == 1
    assert max(r["last_in_use_at"] for r in rows) == NOW
