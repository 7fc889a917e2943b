"""Every named consumer case of the demo world classified right (sandbox.demo.CONSUMER_CASES), and
`--consumers none` changing nothing but in-use."""

import pandas as pd
import pytest

from ecr_audit import Inventory, consumers, cost, findings, images, lifecycle, schema
from ecr_audit.sandbox.demo import (
    API_123_AMD64,
    API_INDEX,
    CONSUMER_CASES,
    DATA,
    ETL,
    MANAGEMENT,
    PAYMENTS,
    WORKER_UNREFERENCED,
)

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def inv(demo_inventory):
    return demo_inventory


def _use(inv, digest) -> pd.Series:
    u = consumers.in_use(inv)
    return u.loc[u["image_digest"] == digest].iloc[0]


def _refs(inv, case) -> pd.DataFrame:
    c = CONSUMER_CASES[case]
    r = consumers.references(inv)
    return r[
        (r["consumer_account_id"] == c.consumer_account_id)
        & (r["consumer_kind"] == c.consumer_kind)
        & (r["consumer_name"] == c.consumer_name)
    ]


def _findings(inv, finding_id) -> pd.DataFrame:
    f = findings.findings(inv, checks=[finding_id])
    return f[f["finding_id"] == finding_id]


def test_every_case_has_its_rows(inv):
    for name in CONSUMER_CASES:
        if name != "cloudtrail_pulls":  # read only with --consumers ...,cloudtrail
            assert len(_refs(inv, name)), name


def test_ecs_service_pins_moved_tag(inv):
    refs = _refs(inv, "ecs_service_pins_moved_tag")
    deployed = refs[refs["reference_role"] == "deployed"]
    assert deployed["resolution"].tolist() == ["resolved_by_service"]
    assert deployed["resolved_digest"].tolist() == [WORKER_UNREFERENCED]
    u = _use(inv, WORKER_UNREFERENCED)
    assert u["in_use"] == "yes" and bool(u["is_running"])
    assert WORKER_UNREFERENCED not in set(images.orphans(inv)["image_digest"])
    sim = lifecycle.simulate(inv)
    hit = sim[sim["image_digest"] == WORKER_UNREFERENCED].iloc[0]
    assert hit["in_use"] == "yes" and "prod/worker" in hit["consumers"]
    crit = _findings(inv, "ecr_lifecycle_expires_in_use_image")
    mine = crit[crit["details"].str.contains(WORKER_UNREFERENCED, regex=False)]
    assert len(mine) == 1 and mine["severity"].iloc[0] == "critical"
    assert "prod/worker" in mine["details"].iloc[0] and PAYMENTS in mine["details"].iloc[0]
    # the same service's deployment row names the tag: resolved by its current digest
    dep = consumers.references(inv)
    dep = dep[(dep["consumer_kind"] == "ecs_service_deployment") & (dep["consumer_name"] == "prod/worker")]
    assert dep["resolution"].tolist() == ["tag_now"] and dep["resolved_digest"].iloc[0] != WORKER_UNREFERENCED


def test_ecs_running_task(inv):
    refs = _refs(inv, "ecs_running_task")
    assert len(refs) == 2 and set(refs["reference_role"]) == {"running"}
    assert set(refs["resolution"]) == {"resolved_by_service"}
    assert set(refs["resolved_digest"]) == {WORKER_UNREFERENCED}


def test_ecs_rollback_window(inv):
    refs = _refs(inv, "ecs_rollback_window")
    assert refs["resolution"].tolist() == ["tag_now"] and refs["reference_role"].tolist() == ["rollback"]
    assert _use(inv, API_INDEX["1.1.0"])["in_use"] == "yes"
    assert _use(inv, API_INDEX["1.0.0"])["in_use"] == "no"


def test_lambda_weighted_alias(inv):
    refs = _refs(inv, "lambda_weighted_alias")
    assert refs["resolution"].tolist() == ["resolved_by_service"]
    assert refs["resolved_digest"].tolist() == [ETL[8]]
    for digest in (ETL[8], ETL[9], ETL[10]):
        assert _use(inv, digest)["in_use"] == "yes"
    assert pd.isna(_use(inv, ETL[10])["is_running"]) or _use(inv, ETL[10])["is_running"]


def test_batch_deleted_tag(inv):
    refs = _refs(inv, "batch_deleted_tag")
    assert refs["resolution"].tolist() == ["not_found"]
    missing = _findings(inv, "ecr_consumer_image_missing")
    assert missing["details"].str.contains("nightly-etl:1", regex=False).sum() == 1


def test_cross_account_with_grant(inv):
    c = CONSUMER_CASES["cross_account_with_grant"]
    assert set(_refs(inv, "cross_account_with_grant")["resolved_digest"]) == {c.digest}
    u = _use(inv, c.digest)
    assert u["in_use"] == "yes" and bool(u["is_cross_account"]) and DATA in u["consumer_accounts"]
    w = consumers.without_grant(inv)
    assert not ((w["consumer_account_id"] == DATA) & (w["repository_name"] == "payments/worker")).any()


def test_cross_account_without_grant(inv):
    c = CONSUMER_CASES["cross_account_without_grant"]
    assert _use(inv, c.digest)["in_use"] == "yes"
    f = _findings(inv, "ecr_consumer_without_grant")
    assert f["repository_name"].tolist() == ["data/notebooks"] and MANAGEMENT in f["details"].iloc[0]
    assert f["severity"].tolist() == ["medium"]


def test_eks_via_inspector(inv):
    assert _refs(inv, "eks_via_inspector")["resolved_digest"].tolist() == [API_123_AMD64]
    assert _use(inv, API_123_AMD64)["in_use"] == "yes"
    assert _use(inv, API_INDEX["1.2.3"])["in_use"] == "yes"


def test_sagemaker_endpoint(inv):
    c = CONSUMER_CASES["sagemaker_endpoint"]
    refs = _refs(inv, "sagemaker_endpoint")
    assert refs["resolution"].tolist() == ["resolved_by_service"] and bool(refs["is_running"].iloc[0])
    assert _use(inv, c.digest)["in_use"] == "yes"
    r = consumers.references(inv)
    assert r.loc[r["consumer_name"] == "dlc-model", "resolution"].tolist() == ["outside_inventory"]


def test_emr_serverless_application(inv):
    c = CONSUMER_CASES["emr_serverless_application"]
    refs = _refs(inv, "emr_serverless_application")
    assert len(refs) == 3 and set(refs["resolved_digest"]) == {c.digest}
    assert _use(inv, c.digest)["in_use"] == "yes"


def test_codebuild_project(inv):
    c = CONSUMER_CASES["codebuild_project"]
    assert _refs(inv, "codebuild_project")["resolution"].tolist() == ["tag_now"]
    assert _use(inv, c.digest)["in_use"] == "yes"
    r = consumers.references(inv)
    assert r.loc[r["consumer_name"] == "api-ci", "resolution"].tolist() == ["outside_inventory"]


def test_apprunner_service(inv):
    c = CONSUMER_CASES["apprunner_service"]
    s = images.stale(inv, days=365)
    row = s[s["image_digest"] == c.digest].iloc[0]
    assert row["is_stale"] and row["in_use"] == "yes"  # stale by pull time, not unused


def test_non_ecr_image(inv):
    refs = _refs(inv, "non_ecr_image")
    assert set(refs["resolution"]) == {"outside_inventory"} and not refs["is_ecr_private"].any()


def test_hostile_image(inv):
    refs = _refs(inv, "hostile_image")
    assert refs["resolution"].tolist() == ["unparseable"]
    assert refs["image_uri"].tolist() == [CONSUMER_CASES["hostile_image"].image]  # kept verbatim


# -- --consumers none --------------------------------------------------------------------------------------


def _without_consumers(inv) -> Inventory:
    """The demo as `collect --consumers none` records it: no consumer rows, every kind skipped."""
    frames = {n: inv.frames[n] for n in schema.FRAMES}
    frames["consumers"] = frames["consumers"].iloc[:0]
    frames["consumer_coverage"] = frames["consumer_coverage"].assign(
        status="skipped", reason="left out by --consumers", consumers=0
    )
    return Inventory.from_frames(meta=inv.meta, **frames)


IN_USE_COLUMNS = {
    "in_use",
    "consumers",
    "images_in_use",
    "images_in_use_unknown",
    "candidates_in_use_unknown",
}


def test_consumers_none_changes_nothing_but_in_use(inv):
    none = _without_consumers(inv)
    assert set(consumers.in_use(none)["in_use"]) == {"unknown"}
    in_use_yes = set(consumers.in_use(inv).query("in_use == 'yes'")["image_digest"])
    # orphans: the same rows, plus the ones in use (consumers hid them), all unknown now
    with_c, without = images.orphans(inv), images.orphans(none)
    assert set(without["in_use"]) == {"unknown"}
    extra = set(without["image_digest"]) - set(with_c["image_digest"])
    assert extra <= in_use_yes and set(with_c["image_digest"]) <= set(without["image_digest"])
    common = without[~without["image_digest"].isin(extra)].reset_index(drop=True)
    cols = [c for c in with_c.columns if c not in IN_USE_COLUMNS | {"reclaimable_bytes"}]
    pd.testing.assert_frame_equal(with_c[cols], common[cols])
    # stale and lifecycle: identical but for the in-use columns
    for fn in (lambda i: images.stale(i), lambda i: lifecycle.simulate(i)):
        a, b = fn(inv), fn(none)
        cols = [c for c in a.columns if c not in IN_USE_COLUMNS]
        pd.testing.assert_frame_equal(a[cols], b[cols])
        assert set(b["in_use"]) == {"unknown"}
    # savings: every option selects the same images or more (in-use ones no longer excluded),
    # nothing is counted freed where in-use is unknown, and nothing is "in use"
    s = cost.savings(none)
    assert (s["images_in_use"] == 0).all()
    chosen = s["images_removed"].fillna(0) > 0
    assert (s.loc[chosen, "basis"] == "undetermined").all()
    # the other analyses do not look at consumers at all
    for fn in (images.classify, images.superseded, lifecycle.lint, cost.storage):
        pd.testing.assert_frame_equal(fn(inv), fn(none))


# -- the page and the summary's lead -------------------------------------------------------------------------


@pytest.mark.slow
def test_the_hostile_image_string_renders_as_text_on_the_consumers_page(demo_report):
    results, out = demo_report
    assert {r.name: r.ok for r in results}["consumers"]
    page = (out / "consumers.html").read_text()
    assert "<script>alert('image')" not in page and "\u202e" not in page
    assert "&lt;script&gt;alert(&#x27;image&#x27;)" in page or "&lt;script&gt;alert('image')" in page


def test_the_summary_leads_with_what_lifecycle_would_break(inv):
    from ecr_audit import summary

    sim = lifecycle.simulate(inv)
    h = summary.headlines(
        inv, findings.findings(inv), cost.rollup(cost.storage(inv), "total"), pd.DataFrame(), sim
    )
    assert h["label"].iloc[0] == "Lifecycle would break"
    n = consumers.lifecycle_impact(inv, sim)["running_workloads"]
    assert n > 0 and h["value"].iloc[0] == f"{n} running workloads"
    none = _without_consumers(inv)
    h = summary.headlines(
        none,
        findings.findings(none),
        cost.rollup(cost.storage(none), "total"),
        pd.DataFrame(),
        lifecycle.simulate(none),
    )
    assert h["value"].iloc[0] == "0 running workloads" and "unknown for" in h["note"].iloc[0]
