"""Consumer collection on the simulated organization (issue 14): every kind and named demo case,
the options (--consumers, --keep-task-definitions, --pull-days), and a consumer_coverage row with
its reason for every kind that could not be read — never an empty answer."""

from __future__ import annotations

import pandas as pd
import pytest

from ecr_audit import sandbox, schema
from ecr_audit.collect import collect, reads
from ecr_audit.collect import consumers as kinds
from ecr_audit.sandbox import demo
from ecr_audit.sandbox.world import Account, AppRunnerService, Consumers, Registry, World
from tests.consumer_helpers import CONSUMER_OPERATIONS

pytestmark = pytest.mark.slow
PAY, DATA, MGMT = demo.PAYMENTS, demo.DATA, demo.MANAGEMENT
ECR_FRAMES = ["repositories", "images", "image_tags", "registries", "coverage", "lifecycle_policies"]


def _collect(world=None, setup=None, **kwargs):
    with sandbox.running(world or sandbox.demo_world()) as org:
        if setup is not None:
            setup(org)
        return collect(org.session(), org=True, role_name=org.role_name, **kwargs)


@pytest.fixture(scope="module")
def everything():
    """The demo organization with every consumer kind, cloudtrail included, manifests read (so the
    audit's own BatchGetImage calls are in CloudTrail too)."""
    return _collect(consumers="all,cloudtrail", read_manifests="always")


def _rows(inv, case):
    c = inv.consumers
    return c[
        (c["consumer_account_id"] == case.consumer_account_id)
        & (c["consumer_region"] == case.consumer_region)
        & (c["consumer_kind"] == case.consumer_kind)
        & (c["consumer_name"] == case.consumer_name)
    ]


@pytest.mark.parametrize("name", sorted(demo.CONSUMER_CASES))
def test_every_named_demo_case_is_collected_with_its_reference_and_digest(everything, name):
    case = demo.CONSUMER_CASES[name]
    rows = _rows(everything, case)
    assert len(rows), f"{name}: no {case.consumer_kind} row for {case.consumer_name}"
    assert case.image in set(rows["image_uri"]) or case.digest in set(rows["image_digest"])
    pinned = rows[rows["digest_source"] != "none"]
    if case.digest is not None and len(pinned):
        assert case.digest in set(pinned["image_digest"]), name


def test_the_frames_conform_and_every_kind_of_every_unit_has_one_coverage_row(everything):
    schema.conform("consumers", everything.consumers)
    cov = everything.consumer_coverage
    units = everything.coverage[["account_id", "region"]].drop_duplicates()
    assert len(cov) == len(units) * len(kinds.KINDS)
    assert not cov.duplicated(["consumer_account_id", "consumer_region", "consumer_kind"]).any()
    status = cov.set_index(["consumer_account_id", "consumer_region", "consumer_kind"])["status"]
    assert status[(DATA, "eu-west-1", "inspector")] == "disabled"
    assert (status.drop((DATA, "eu-west-1", "inspector")) == "complete").all(), status[status != "complete"]
    counted = cov.groupby(["consumer_account_id", "consumer_region", "consumer_kind"])["consumers"].sum()
    actual = everything.consumers.groupby(["consumer_account_id", "consumer_region", "consumer_kind"]).size()
    assert counted.sum() == len(everything.consumers) and actual.sum() == len(everything.consumers)
    assert everything.errors.empty and everything.meta["completeness"] == "complete"
    assert everything.meta["options"]["consumers"] == list(kinds.KINDS)


def test_every_row_kind_is_present_and_the_hostile_image_is_kept_verbatim(everything):
    assert set(everything.consumers["consumer_kind"]) == set(schema.CONSUMER_KINDS) - {"inspector_in_use"}
    hostile = everything.consumers[everything.consumers["image_uri"] == demo.HOSTILE_IMAGE]
    assert len(hostile) == 1 and not hostile["is_ecr_private"].iloc[0] and hostile["account_id"].isna().all()


def test_the_service_pins_the_old_digest_of_a_tag_that_moved_while_the_task_definition_names_the_tag(
    everything,
):
    c = everything.consumers
    worker = c[(c["consumer_account_id"] == PAY) & (c["consumer_name"] == "prod/worker")]
    by_kind = {k: g for k, g in worker.groupby("consumer_kind")}
    deployed = by_kind["ecs_service_revision"]
    assert deployed.set_index("reference_role")["image_digest"].to_dict() == {
        "deployed": demo.WORKER_UNREFERENCED,
        "rollback": demo.WORKER_LIST["v1.2.1"],
    }
    (tag_only,) = by_kind["ecs_service_deployment"].itertuples()
    assert tag_only.image_tag == "v1.3.0" and tag_only.digest_source == "none" and tag_only.is_running
    images = everything.images
    now = images[
        (images["repository_name"] == "payments/worker") & images["tags"].map(lambda t: "v1.3.0" in t)
    ]
    assert demo.WORKER_UNREFERENCED not in set(now["image_digest"])  # the tag has moved on


def test_lambda_versions_behind_a_weighted_alias_carry_the_digest_lambda_resolved(everything):
    c = everything.consumers
    fn = c[c["consumer_kind"] == "lambda_version"].set_index("consumer_name")
    assert fn.loc["etl-runner:1", "image_digest"] == demo.ETL[8]  # deployed by tag 2026.08
    assert fn.loc["etl-runner:1", "digest_source"] == "resolved_by_service"
    assert fn.loc["etl-runner:2", "digest_source"] == "written"
    assert (
        fn.loc["etl-runner:1", "details"] == "alias live (10%)"
        and fn.loc["etl-runner:2", "details"] == "alias live (90%)"
    )
    assert fn.loc["etl-runner:$LATEST", "reference_role"] == "defined" and pd.isna(
        fn.loc["etl-runner:$LATEST", "is_running"]
    )


def test_cloudtrail_pulls_name_other_accounts_and_never_the_audit_itself(everything):
    c = everything.consumers
    pulls = c[c["consumer_kind"] == "cloudtrail_pull"]
    assert set(zip(pulls["consumer_account_id"], pulls["repository_name"], pulls["image_tag"])) == {
        (DATA, "payments/worker", "v1.2.1"),
        (demo.EXTERNAL, "payments/legacy-ui", "2.1.0"),
    }
    assert (pulls["reference_role"] == "observed").all() and pulls["last_in_use_at"].notna().all()
    # The collection read manifests with BatchGetImage: those calls were in the event history.
    assert "BatchGetImage" in set(everything.api_calls["operation"])
    assert not pulls["consumer_arn"].str.contains("ecr-audit|user/moto").any()


def test_inspector_finds_the_eks_workload_and_the_ecs_service(everything):
    c = everything.consumers
    seen = c[c["consumer_kind"].isin(["inspector_ecs", "inspector_eks"])]
    assert set(zip(seen["consumer_kind"], seen["consumer_name"], seen["image_digest"])) == {
        ("inspector_eks", "checkout/checkout-api", demo.API_123_AMD64),
        ("inspector_ecs", "prod/service:worker", demo.WORKER_UNREFERENCED),
    }


def test_consumers_none_reads_nothing_new_records_skipped_everywhere_and_changes_nothing_else():
    with sandbox.running(sandbox.demo_world()) as org:
        none = collect(org.session(), org=True, role_name=org.role_name, consumers="none")
        full = collect(org.session(), org=True, role_name=org.role_name)
    called = set(none.api_calls["operation"])
    assert not called & CONSUMER_OPERATIONS and none.consumers.empty
    assert set(none.consumer_coverage["status"]) == {"skipped"}
    assert set(none.consumer_coverage["reason"]) == {"left out by --consumers"}
    assert len(none.consumer_coverage) == len(none.coverage) * len(kinds.KINDS)
    for frame in ECR_FRAMES:
        key = [
            c
            for c in none.frames[frame].columns
            if c in ("account_id", "region", "repository_name", "image_digest", "tag")
        ]
        pd.testing.assert_frame_equal(
            none.frames[frame].sort_values(key, ignore_index=True),
            full.frames[frame].sort_values(key, ignore_index=True),
            obj=frame,
        )
    assert none.meta["options"]["consumers"] == [] and len(full.consumers)


def test_consumers_ecs_lambda_reads_only_ecs_and_lambda():
    inv = _collect(consumers="ecs,lambda")
    services = {o for o in inv.api_calls["operation"]} & CONSUMER_OPERATIONS
    ecs_lambda = {r.operation for r in reads.READS if r.service in ("ecs", "lambda")}
    assert services <= ecs_lambda and {"ListClusters", "ListFunctions", "GetFunction"} <= services
    status = inv.consumer_coverage.groupby("consumer_kind")["status"].agg(set)
    assert status["ecs"] == {"complete"} and status["lambda"] == {"complete"}
    assert all(status[k] == {"skipped"} for k in kinds.KINDS if k not in ("ecs", "lambda"))
    assert set(inv.consumers["consumer_kind"]) <= {
        "ecs_service_revision",
        "ecs_service_deployment",
        "ecs_task",
        "ecs_task_definition",
        "lambda_version",
    }


@pytest.mark.parametrize(
    "keep, window",
    [(6, {f"api:{n}" for n in range(1, 6)}), (5, {f"api:{n}" for n in range(2, 6)}), (0, set())],
)
def test_the_rollback_window_is_the_newest_n_active_revisions(keep, window):
    inv = _collect(consumers="ecs", keep_task_definitions=keep)
    c = inv.consumers
    defined = set(
        c.loc[
            (c["consumer_kind"] == "ecs_task_definition") & c["consumer_name"].str.startswith("api:"),
            "consumer_name",
        ]
    )
    assert defined == window  # api:6 is what the service deploys: an ecs_service_deployment row instead
    assert inv.meta["options"]["keep_task_definitions"] == keep


# -- what cannot be read is a coverage row with its reason --------------------------------------


def _coverage(inv, account, region, kind):
    cov = inv.consumer_coverage
    return cov[
        (cov["consumer_account_id"] == account)
        & (cov["consumer_region"] == region)
        & (cov["consumer_kind"] == kind)
    ].iloc[0]


def test_a_denied_kind_is_unreadable_with_its_reason_and_an_errors_row():
    inv = _collect(
        setup=lambda org: org.faults.add(
            "ListFunctions", "AccessDeniedException", http_status=403, account_id=DATA, region="us-east-1"
        )
    )
    row = _coverage(inv, DATA, "us-east-1", "lambda")
    assert (
        row["status"] == "unreadable"
        and "ListFunctions" in row["reason"]
        and "access_denied" in row["reason"]
    )
    e = inv.errors
    assert e[["account_id", "region", "operation", "error_kind"]].values.tolist() == [
        [DATA, "us-east-1", "ListFunctions", "access_denied"]
    ]
    assert inv.meta["completeness"] == "partial"
    assert _coverage(inv, DATA, "eu-west-1", "lambda")["status"] == "complete"


def test_an_operation_the_endpoint_does_not_know_is_asked_once_and_the_kind_is_partial():
    def setup(org):
        org.faults.add_not_implemented("ListServiceDeployments", account_id=PAY, region="us-east-1")
        org.faults.add_not_implemented("ListClusters", account_id=MGMT, region="us-east-1")

    inv = _collect(setup=setup, consumers="ecs")
    partial = _coverage(inv, PAY, "us-east-1", "ecs")
    assert partial["status"] == "partial"
    unknown = inv.errors[inv.errors["operation"] == "ListServiceDeployments"]
    assert len(unknown) == 1 and set(unknown["error_kind"]) == {"unsupported"}  # two services, asked once
    c = inv.consumers[inv.consumers["consumer_account_id"] == PAY]
    assert "ecs_service_revision" not in set(c["consumer_kind"]) and "ecs_service_deployment" in set(
        c["consumer_kind"]
    )
    gone = _coverage(inv, MGMT, "us-east-1", "ecs")
    assert gone["status"] == "unsupported" and "ListClusters" in gone["reason"]


def test_inspector_clusters_that_cannot_be_read_still_say_the_images_are_in_use():
    inv = _collect(
        consumers="inspector",
        setup=lambda org: org.faults.add("GetClustersForImage", "AccessDeniedException", http_status=403),
    )
    assert _coverage(inv, PAY, "us-east-1", "inspector")["status"] == "partial"
    rows = inv.consumers
    assert set(rows["consumer_kind"]) == {"inspector_in_use"}
    assert set(rows["image_digest"]) == {demo.WORKER_UNREFERENCED, demo.API_123_AMD64}
    assert rows["details"].str.contains("clusters unknown").all() and rows["is_running"].all()


def test_a_service_not_offered_in_a_region_is_not_asked_there():
    world = World(
        "offered",
        [
            Account(
                "123456789012",
                "management",
                registries=[
                    Registry(
                        "us-east-1",
                        consumers=Consumers(apprunner_services=[AppRunnerService("a", "nginx:1")]),
                    ),
                    Registry("eu-north-1"),  # App Runner has no endpoint in eu-north-1
                ],
            )
        ],
    )
    inv = _collect(world=world, consumers="apprunner")
    row = _coverage(inv, "123456789012", "eu-north-1", "apprunner")
    assert row["status"] == "not_offered" and "apprunner has no endpoint in eu-north-1" in row["reason"]
    calls = inv.api_calls
    assert not ((calls["region"] == "eu-north-1") & (calls["operation"] == "ListServices")).any()
    assert _coverage(inv, "123456789012", "us-east-1", "apprunner")["status"] == "complete"
    assert inv.errors.empty


def test_malformed_consumer_items_are_invalid_data_rows_and_the_rest_is_kept():
    def tasks_with_a_bad_container(params, real):
        answer = real()
        for task in answer["tasks"]:
            task["containers"].append({"name": "bad", "image": 12, "imageDigest": "sha256:" + "0" * 64})
        return answer

    def clusters_that_cycle(params, real):
        return {"clusterArns": [f"arn:aws:ecs:us-east-1:{DATA}:cluster/analytics"], "nextToken": "same"}

    def setup(org):
        org.faults.add_answer("DescribeTasks", tasks_with_a_bad_container, account_id=PAY, region="us-east-1")
        org.faults.add_answer("ListClusters", clusters_that_cycle, account_id=DATA, region="us-east-1")

    inv = _collect(setup=setup, consumers="ecs")
    e = inv.errors.set_index("operation")
    assert (
        e.loc["DescribeTasks", "error_kind"] == "invalid_data"
        and "image is not text" in e.loc["DescribeTasks", "message"]
    )
    assert e.loc["ListClusters", "error_code"] == "RepeatedPageToken"
    tasks = inv.consumers[
        (inv.consumers["consumer_account_id"] == PAY) & (inv.consumers["consumer_kind"] == "ecs_task")
    ]
    assert len(tasks) == 5 and "bad" not in set(tasks["container_name"])  # the good containers are kept
    assert _coverage(inv, PAY, "us-east-1", "ecs")["status"] == "partial"
    data_tasks = inv.consumers[
        (inv.consumers["consumer_account_id"] == DATA) & (inv.consumers["consumer_kind"] == "ecs_task")
    ]
    assert len(data_tasks) == 1  # the cluster listed before the cycle was read
    assert _coverage(inv, DATA, "us-east-1", "ecs")["status"] == "partial"


def test_a_running_task_of_another_account_image_is_cross_account(everything):
    case = demo.CONSUMER_CASES["cross_account_with_grant"]
    (row,) = _rows(everything, case).itertuples()
    assert row.account_id == PAY and row.consumer_account_id == DATA and row.is_running


def test_pull_days_bounds_the_cloudtrail_window():
    inv = _collect(consumers="cloudtrail", pull_days=1)
    pulls = inv.consumers
    assert set(zip(pulls["consumer_account_id"], pulls["details"])) == {
        (DATA, "1 BatchGetImage calls since 2026-10-31")
    }
    assert inv.meta["options"]["pull_days"] == 1


def test_no_collector_thread_compiles_moto_routes(monkeypatch):
    """moto builds a REST service's router with ast.parse on first use; two collector threads
    doing it at once failed on CPython 3.11.7 ("SystemError: AST constructor recursion depth
    mismatch", gh-106905). The sandbox builds them before any thread starts."""
    import ast
    import threading

    from moto.core.routing import get_service_router

    get_service_router.cache_clear()  # as in a fresh process
    parsed_in = set()
    real_parse = ast.parse

    def parse(*args, **kwargs):
        parsed_in.add(threading.current_thread().name)
        return real_parse(*args, **kwargs)

    monkeypatch.setattr(ast, "parse", parse)
    with sandbox.running(sandbox.demo_world()) as org:
        parsed_in.clear()
        inv = collect(org.session(), org=True, role_name=org.role_name)
    assert parsed_in <= {threading.main_thread().name}
    assert (inv.consumer_coverage["consumer_kind"] == "inspector").any()
