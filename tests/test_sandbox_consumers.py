"""The sandbox's consumers (issue 14): moto corrected where it is not AWS, and what moto lacks
answered from the world — each correction of docs/sandbox.md#consumers held by a test here."""

import json
from datetime import timedelta

import pytest
from botocore.exceptions import ClientError

from ecr_audit import permissions
from ecr_audit.sandbox import demo
from tests.test_sandbox import client, org  # noqa: F401 (fixtures)

pytestmark = pytest.mark.slow
PAY, DATA, MGMT = demo.PAYMENTS, demo.DATA, demo.MANAGEMENT


def _digest(org, account, region, repository, tag):
    ecr = client(org, account, "ecr", region)
    return ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"][0][
        "imageDigest"
    ]


# -- Lambda ------------------------------------------------------------------------------------------


def test_lambda_resolved_image_uri_is_the_digest_the_tag_named_at_deploy_time(org):
    lam = client(org, DATA, "lambda")
    code = lam.get_function(FunctionName="etl-runner", Qualifier="1")["Code"]
    assert code["ImageUri"].endswith("data/etl:2026.08")
    assert code["ResolvedImageUri"] == demo._uri(DATA, "us-east-1", "data/etl", digest=demo.ETL[8])
    assert demo.ETL[8] == _digest(org, DATA, "us-east-1", "data/etl", "2026.08")


def test_lambda_published_versions_keep_their_code_when_latest_changes(org):
    lam = client(org, DATA, "lambda")
    uris = {
        q: lam.get_function(FunctionName="etl-runner", Qualifier=q)["Code"]["ImageUri"] for q in ("1", "2")
    }
    latest = lam.get_function(FunctionName="etl-runner")["Code"]["ImageUri"]
    assert (
        uris["1"].endswith(":2026.08")
        and uris["2"].endswith(f"@{demo.ETL[9]}")
        and latest.endswith(":2026.10")
    )


@pytest.mark.parametrize(
    "image, why",
    [
        (demo._uri(DATA, "us-east-1", "data/etl", "2025.12"), "does not exist"),
        ("docker.io/library/nginx:1.27", "is not valid"),
        (demo._uri(DATA, "eu-west-1", "data/archive", "2024.restored"), "is in eu-west-1"),
    ],
)
def test_lambda_refuses_an_image_that_is_missing_not_in_ecr_or_in_another_region(org, image, why):
    lam = client(org, DATA, "lambda")
    role = f"arn:aws:iam::{DATA}:role/consumer-exec"
    with pytest.raises(ClientError) as e:
        lam.create_function(FunctionName="refused", Role=role, Code={"ImageUri": image}, PackageType="Image")
    assert e.value.response["Error"]["Code"] == "InvalidParameterValueException" and why in str(e.value)


# -- ECS ------------------------------------------------------------------------------------------


def test_ecs_tasks_report_every_container_with_its_digest_and_stay_running(org):
    ecs = client(org, PAY, "ecs")
    arns = ecs.list_tasks(cluster="prod", desiredStatus="RUNNING")["taskArns"]
    for _ in range(3):  # moto moved a task towards STOPPED on every describe
        tasks = ecs.describe_tasks(cluster="prod", tasks=arns)["tasks"]
    assert {t["lastStatus"] for t in tasks} == {"RUNNING"} and len(tasks) == 4
    api = next(t for t in tasks if t["group"] == "service:api")
    assert [(c["name"], c.get("imageDigest")) for c in api["containers"]] == [
        ("web", demo.API_INDEX["1.2.3"]),
        ("otel", None),  # public.ecr.aws: not in the sandbox's ECR
    ]
    workers = [t for t in tasks if t["group"] == "service:worker"]
    assert {c["imageDigest"] for t in workers for c in t["containers"]} == {demo.WORKER_UNREFERENCED}
    assert all(t["startedAt"] for t in tasks)


def test_ecs_list_task_definitions_sorts_filters_the_family_and_pages(org):
    ecs = client(org, PAY, "ecs")
    newest = ecs.list_task_definitions(familyPrefix="api", sort="DESC", status="ACTIVE", maxResults=2)
    assert [a.rsplit("/", 1)[1] for a in newest["taskDefinitionArns"]] == ["api:6", "api:5"]
    rest = ecs.list_task_definitions(familyPrefix="api", sort="DESC", nextToken=newest["nextToken"])
    assert [a.rsplit("/", 1)[1] for a in rest["taskDefinitionArns"]] == ["api:4", "api:3", "api:2", "api:1"]
    oldest = ecs.list_task_definitions(familyPrefix="api", sort="ASC")["taskDefinitionArns"]
    assert oldest[0].endswith("api:1") and all("/api:" in a for a in oldest)
    inactive = ecs.list_task_definitions(familyPrefix="sidecar", status="INACTIVE")["taskDefinitionArns"]
    assert [a.rsplit("/", 1)[1] for a in inactive] == ["sidecar:2"]
    assert set(ecs.list_task_definition_families(status="ACTIVE")["families"]) == {"api", "sidecar", "worker"}


def test_ecs_service_deployments_and_revisions_carry_the_digest_ecs_resolved(org):
    ecs = client(org, PAY, "ecs")
    service = ecs.describe_services(cluster="prod", services=["worker"])["services"][0]
    assert service["runningCount"] == 2 and service["deployments"][0]["taskDefinition"].endswith("worker:3")
    listed = ecs.list_service_deployments(cluster="prod", service=service["serviceArn"])["serviceDeployments"]
    assert [d["status"] for d in listed] == ["SUCCESSFUL", "SUCCESSFUL"]
    assert listed[0]["createdAt"] > listed[1]["createdAt"]  # newest first
    answer = ecs.describe_service_revisions(
        serviceRevisionArns=[d["targetServiceRevisionArn"] for d in listed]
        + ["arn:aws:ecs:x:1:service-revision/n"]
    )
    digests = [r["containerImages"][0]["imageDigest"] for r in answer["serviceRevisions"]]
    assert digests == [demo.WORKER_UNREFERENCED, demo.WORKER_LIST["v1.2.1"]]
    # The tag has moved on since the deployment: the pinned digest is not the tag's digest now.
    assert _digest(org, PAY, "us-east-1", "payments/worker", "v1.3.0") != demo.WORKER_UNREFERENCED
    assert answer["failures"] == [{"arn": "arn:aws:ecs:x:1:service-revision/n", "reason": "MISSING"}]


# -- Batch, SageMaker, EMR Serverless ---------------------------------------------------------------


def test_batch_job_definitions_keep_node_and_ecs_properties(org):
    jds = {
        j["jobDefinitionName"]: j
        for j in client(org, DATA, "batch").describe_job_definitions(status="ACTIVE")["jobDefinitions"]
    }
    node = jds["shard-scan"]["nodeProperties"]["nodeRangeProperties"][0]
    assert node["targetNodes"] == "0:" and node["container"]["image"].endswith("data/etl:2026.10")
    containers = jds["reindex"]["ecsProperties"]["taskProperties"][0]["containers"]
    assert [c["name"] for c in containers] == ["indexer", "sidecar"] and "containerProperties" not in jds[
        "reindex"
    ]
    assert jds["nightly-etl"]["containerProperties"]["image"].endswith("data/etl:2025.12")


def test_sagemaker_endpoint_reports_the_images_it_deployed_resolved_to_digests(org):
    variant = client(org, DATA, "sagemaker").describe_endpoint(EndpointName="churn")["ProductionVariants"][0]
    (deployed,) = variant["DeployedImages"]
    assert deployed["SpecifiedImage"].endswith("data/etl:2026.07")
    assert deployed["ResolvedImage"] == demo._uri(DATA, "us-east-1", "data/etl", digest=demo.ETL[7])
    assert deployed["ResolutionTime"]


def test_emr_serverless_application_keeps_its_image_configuration_with_the_resolved_digest(org):
    emr = client(org, DATA, "emr-serverless", "eu-west-1")
    (summary,) = emr.list_applications()["applications"]
    app = emr.get_application(applicationId=summary["id"])["application"]
    assert app["imageConfiguration"] == {
        "imageUri": demo._uri(DATA, "eu-west-1", "data/archive", "2024.restored"),
        "resolvedImageDigest": demo.ARCHIVE_RESTORED,
    }
    assert set(app["workerTypeSpecifications"]) == {"Driver", "Executor"}


# -- App Runner, Inspector2, CloudTrail: answered from the world ------------------------------------


def test_apprunner_lists_and_describes_the_world_services(org):
    ar = client(org, PAY, "apprunner", "eu-west-1")
    (summary,) = ar.list_services()["ServiceSummaryList"]
    service = ar.describe_service(ServiceArn=summary["ServiceArn"])["Service"]
    assert service["Status"] == "RUNNING"
    assert service["SourceConfiguration"]["ImageRepository"]["ImageIdentifier"].endswith("legacy-ui:2.2.0")
    assert client(org, DATA, "apprunner").list_services()["ServiceSummaryList"] == []
    with pytest.raises(ClientError) as e:
        ar.describe_service(ServiceArn=summary["ServiceArn"] + "x")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"


def test_inspector_status_coverage_and_clusters_come_from_the_world(org):
    on = client(org, PAY, "inspector2")
    status = on.batch_get_account_status(accountIds=[PAY])["accounts"][0]
    assert status["resourceState"]["ecr"]["status"] == "ENABLED"
    off = client(org, DATA, "inspector2", "eu-west-1").batch_get_account_status(accountIds=[DATA])
    assert off["accounts"][0]["resourceState"]["ecr"]["status"] == "DISABLED"
    everything = on.list_coverage(maxResults=200)["coveredResources"]
    in_use = on.list_coverage(
        filterCriteria={
            "resourceType": [{"comparison": "EQUALS", "value": "AWS_ECR_CONTAINER_IMAGE"}],
            "ecrImageInUseCount": [{"lowerInclusive": 1}],
        }
    )["coveredResources"]
    assert len(everything) > len(in_use) == 2
    assert {r["resourceId"].rsplit("/", 1)[1] for r in in_use} == {
        demo.WORKER_UNREFERENCED,
        demo.API_123_AMD64,
    }
    eks = next(r for r in in_use if r["resourceId"].endswith(demo.API_123_AMD64))
    (cluster,) = on.get_clusters_for_image(filter={"resourceId": eks["resourceId"]})["cluster"]
    meta = cluster["clusterDetails"][0]["clusterMetadata"]["awsEksMetadataDetails"]
    assert meta["namespace"] == "checkout" and meta["workloadInfoList"] == [
        {"name": "checkout-api", "type": "DEPLOYMENT"}
    ]


def test_cloudtrail_lookup_events_gives_world_pulls_and_the_pulls_the_sandbox_served(org):
    ct = client(org, PAY, "cloudtrail")
    events = ct.lookup_events(
        LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "BatchGetImage"}]
    )
    docs = [json.loads(e["CloudTrailEvent"]) for e in events["Events"]]
    assert [e["EventTime"] for e in events["Events"]] == sorted(
        (e["EventTime"] for e in events["Events"]), reverse=True
    )
    data_pulls = [d for d in docs if d["userIdentity"]["accountId"] == DATA]
    assert len(data_pulls) == 3 and {
        d["requestParameters"]["imageIds"][0]["imageTag"] for d in data_pulls
    } == {"v1.2.1"}
    ecr = client(org, PAY, "ecr")
    ecr.batch_get_image(repositoryName="payments/api", imageIds=[{"imageTag": "1.2.3"}])
    newest = json.loads(ct.lookup_events()["Events"][0]["CloudTrailEvent"])
    assert newest["requestParameters"] == {
        "registryId": PAY,
        "repositoryName": "payments/api",
        "imageIds": [{"imageTag": "1.2.3"}],
    }
    assert newest["userIdentity"]["arn"].startswith(f"arn:aws:sts::{PAY}:assumed-role/{org.role_name}/")


def test_cloudtrail_times_are_read_on_the_sandbox_clock_and_pages_hold_50(org):
    from datetime import datetime, timezone

    ct = client(org, PAY, "cloudtrail")
    now = datetime.now(timezone.utc)  # the caller's clock; the world's pulls are 0.5, 2 and 9 days old
    recent = ct.lookup_events(StartTime=now - timedelta(days=3), EndTime=now)["Events"]
    ages = {json.loads(e["CloudTrailEvent"])["userIdentity"]["accountId"] for e in recent}
    assert DATA in ages
    data_recent = [e for e in recent if json.loads(e["CloudTrailEvent"])["userIdentity"]["accountId"] == DATA]
    assert len(data_recent) == 2
    ecr = client(org, PAY, "ecr")
    for _ in range(55):
        ecr.batch_get_image(repositoryName="payments/api", imageIds=[{"imageTag": "1.2.3"}])
    first = ct.lookup_events()
    assert len(first["Events"]) == 50 and first["NextToken"]
    assert ct.lookup_events(NextToken=first["NextToken"])["Events"]


# -- IAM enforcement ----------------------------------------------------------------------------------


def test_iam_enforcement_matches_action_names_case_insensitively_and_checks_get_signatures(org):
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["LAMBDA:listfunctions", "batch:DescribeJobDefinitions"],
                "Resource": "*",
            }
        ],
    }
    session = org.iam_user_session(policy, user_name="case-test")
    with org.enforce_iam():
        assert session.client("lambda").list_functions()["Functions"] == []  # a GET with a query
        session.client("batch").describe_job_definitions(status="ACTIVE")
        with pytest.raises(ClientError) as e:
            session.client("ecs").list_clusters()
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "lambda:ListFunctions" in permissions.MEMBER_ACTIONS
