"""End to end: collect the sandbox's demo organization and compare with its ground truth."""

import botocore.client
import pandas as pd
import pytest
from botocore.retries.standard import ExponentialBackoff

from ecr_audit import permissions
from ecr_audit.collect import collect, reading

KEY = ["account_id", "region", "repository_name", "image_digest"]


@pytest.fixture
def org(demo_org):
    """The demo organization, running once for this module (conftest clears faults after each test)."""
    return demo_org


@pytest.fixture
def instant_retries(monkeypatch):
    """Keep botocore's retry logic but not its sleeps (and no pause between throttle rounds)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(reading, "THROTTLE_PAUSE_SECONDS", 0)


def _collect(org, **kw):
    return collect(org.session(), org=True, role_name=org.role_name, **kw)


def _active_expected(org):
    exp = org.expected_images()
    active = [a.account_id for a in org.world.accounts if a.state == "ACTIVE"]
    return exp[exp["account_id"].isin(active)]


def test_demo_world_every_active_account_region_repository_and_image_is_collected_with_its_fields(org):
    before = org.pull_times()
    inv = _collect(org)
    exp = _active_expected(org)
    assert inv.meta["completeness"] == "complete", inv.errors
    got = inv.images.merge(exp, on=KEY, how="outer", suffixes=("", "_exp"), indicator=True)
    assert (got["_merge"] == "both").all(), got[got["_merge"] != "both"][KEY + ["_merge"]]
    for col in (
        "pushed_at",
        "last_pulled_at",
        "size_bytes",
        "manifest_media_type",
        "artifact_media_type",
        "image_status",
        "subject_digest",
        "last_archived_at",
    ):
        left, right = got[col], got[f"{col}_exp"]
        same = (left == right).fillna(False) | (left.isna() & right.isna())
        assert same.all(), (col, got.loc[~same, KEY + [col, f"{col}_exp"]])
    assert (got["tags"].map(sorted) == got["tags_exp"].map(sorted)).all()
    assert len(inv.image_tags) == exp["tags"].map(len).sum()
    # Accounts: every org account, any state; the suspended one skipped with a reason.
    accounts = inv.accounts.set_index("account_id")
    assert set(accounts.index) == set(org.account_ids) == set(inv.meta["organization"]["account_ids"])
    for a in org.world.accounts:
        status = accounts.loc[a.account_id, "collection_status"]
        assert status == ("collected" if a.state == "ACTIVE" else "skipped")
    assert inv.meta["organization"]["id"] == org.organization_id
    # Every repository of every active account × region.
    world_repos = {
        (a.account_id, r.region, repo.name)
        for a in org.world.accounts
        if a.state == "ACTIVE"
        for r in a.registries
        for repo in r.repositories
    }
    assert set(map(tuple, inv.repositories[KEY[:3]].values)) == world_repos
    # auto mode: pull times untouched everywhere (read only where the role is excluded).
    pd.testing.assert_frame_equal(before, org.pull_times())


def test_auto_mode_reads_manifests_only_where_the_principal_is_excluded_and_blobs_match(org):
    inv = _collect(org)
    cov = inv.coverage.set_index(["account_id", "region"])
    for (a, r), row in cov.iterrows():
        assert bool(row["has_read_manifests"]) == bool(row["is_pull_time_excluded"] and row["images"] > 0), (
            a,
            r,
        )
    read_units = cov.index[cov["has_read_manifests"].fillna(False).astype(bool)]
    assert len(read_units) > 0
    images = inv.images.set_index(["account_id", "region"])
    for unit in cov.index:
        st = set(images.loc[[unit], "manifest_status"]) if unit in images.index else set()
        if unit in read_units:
            assert st <= {"present", "skipped"} and "present" in st
        else:
            assert st <= {"skipped"}
    # Blobs from manifests equal the world's blobs in the repositories read.
    layers = inv.layers.drop_duplicates(KEY[:3] + ["blob_digest"])
    exp = org.expected_blobs()
    exp = exp.set_index(["account_id", "region"]).loc[lambda d: d.index.isin(read_units)].reset_index()
    # Archived images are not pulled (their manifests are skipped): compare only blobs reachable.
    got = set(map(tuple, layers[KEY[:3] + ["blob_digest"]].values))
    assert got <= set(map(tuple, exp[KEY[:3] + ["blob_digest"]].values))
    assert len(got) >= 0.9 * len(exp)


def test_always_mode_moves_pull_times_where_the_principal_is_not_excluded(org):
    before = org.pull_times()
    inv = _collect(org, read_manifests="always")
    after = org.pull_times()
    cov = inv.coverage
    not_excluded = cov.loc[
        ~cov["is_pull_time_excluded"].astype(bool) & (cov["images"] > 0), ["account_id", "region"]
    ]
    moved = before.merge(after, on=KEY, suffixes=("", "_after"))
    a, b = moved["last_pulled_at"], moved["last_pulled_at_after"]
    moved = moved[~((a == b).fillna(False) | (a.isna() & b.isna()))]
    assert set(map(tuple, moved[["account_id", "region"]].drop_duplicates().values)) == set(
        map(tuple, not_excluded.values)
    )
    assert (
        cov.loc[~cov["is_pull_time_excluded"].astype(bool), "manifests_reason"]
        .str.contains("may have moved")
        .all()
    )


def test_never_mode_sends_no_batch_get_image(org):
    inv = _collect(org, read_manifests="never")
    assert "BatchGetImage" not in set(inv.api_calls["operation"])
    assert set(inv.images["manifest_status"]) == {"skipped"}


def test_injected_access_denied_on_account_region_and_one_repository_policy_are_exact_errors_rows(org):
    payments, data = "012345678901", "098765432109"
    repo = org.world.account(data).registries[0].repositories[0].name
    region = org.world.account(data).registries[0].region
    org.faults.add(
        "GetRepositoryPolicy", "AccessDeniedException", account_id=data, region=region, repository_name=repo
    )
    org.faults.add(None, "AccessDeniedException", account_id=payments, region="eu-west-1", service="ecr")
    inv = _collect(org)
    assert inv.meta["completeness"] == "partial"
    e = inv.errors
    one = e[e["operation"] == "GetRepositoryPolicy"]
    assert one[["account_id", "region", "repository_name", "error_code", "error_kind"]].values.tolist() == [
        [data, region, repo, "AccessDeniedException", "access_denied"]
    ]
    repos = inv.repositories.set_index(KEY[:3])
    assert repos.loc[(data, region, repo), "policy_status"] == "unreadable"
    assert (repos.drop(index=(data, region, repo))["policy_status"] != "unreadable").all()
    region_rows = e[(e["account_id"] == payments) & (e["region"] == "eu-west-1")]
    assert set(region_rows["error_kind"]) == {"access_denied"}
    assert "DescribeRepositories" in set(region_rows["operation"])
    cov = inv.coverage.set_index(["account_id", "region"])
    assert cov.loc[(payments, "eu-west-1"), "status"] == "failed"
    assert cov.loc[(payments, "eu-west-1"), "has_read_manifests"] == False  # noqa: E712 (pandas boolean)
    assert cov.loc[(data, region), "status"] == "partial"
    acc = inv.accounts.set_index("account_id")["collection_status"]
    assert acc[payments] == "partial" and acc[data] == "partial"
    reg = inv.registries.set_index(["account_id", "region"])
    assert reg.loc[(payments, "eu-west-1"), "registry_policy_status"] == "unreadable"


def test_assume_role_failure_fails_one_account_and_the_run_goes_on(org):
    data = "098765432109"
    org.faults.add_assume_role_failure(data)
    inv = _collect(org)
    assert inv.meta["completeness"] == "partial"
    row = inv.errors[inv.errors["operation"] == "AssumeRole"]
    assert row[["account_id", "error_kind"]].values.tolist() == [[data, "access_denied"]]
    acc = inv.accounts.set_index("account_id")
    assert acc.loc[data, "collection_status"] == "failed"
    assert (inv.images["account_id"] != data).all()
    assert set(inv.images["account_id"]) == {
        a.account_id
        for a in org.world.accounts
        if a.state == "ACTIVE" and a.account_id != data and any(r.repositories for r in a.registries)
    }
    assert data not in inv.meta["accounts"]


def test_throttling_storm_on_describe_images_loses_nothing(org, instant_retries):
    storm = org.faults.add("DescribeImages", "ThrottlingException", times=30)
    inv = _collect(org, max_workers=2, repository_workers=1)
    assert storm.fired == 30
    assert inv.meta["completeness"] == "complete", inv.errors
    assert len(inv.images) == len(_active_expected(org))
    calls = inv.api_calls[inv.api_calls["operation"] == "DescribeImages"]
    assert calls["calls"].sum() == len(inv.repositories) + 30


def test_explicit_region_disabled_in_an_account_is_a_disabled_region_row(org):
    acct = next(a for a in org.world.accounts if a.disabled_regions)
    region = acct.disabled_regions[0]
    inv = collect(
        org.session(), accounts=[acct.account_id], role_name=org.role_name, regions=["us-east-1", region]
    )
    cov = inv.coverage.set_index("region")
    assert cov.loc[region, "status"] == "disabled"
    assert inv.errors[["account_id", "region", "error_kind"]].values.tolist() == [
        [acct.account_id, region, "disabled_region"]
    ]
    assert inv.meta["completeness"] == "partial"
    assert not ((inv.api_calls["region"] == region) & (inv.api_calls["account_id"] == acct.account_id)).any()


def test_default_collects_only_the_callers_account(org):
    import ecr_audit

    inv = ecr_audit.collect(org.session())  # the public entry point, after the subpackage is imported
    assert inv.accounts["account_id"].tolist() == [org.management_account_id]
    assert set(inv.repositories["account_id"]) <= {org.management_account_id}
    assert inv.meta["organization"] is None and inv.meta["options"]["account_source"] == "caller"


def test_full_collection_calls_only_declared_read_only_actions(org, monkeypatch):
    seen = set()
    orig = botocore.client.BaseClient._make_api_call

    def spy(self, operation_name, api_params):
        seen.add(f"{self.meta.service_model.signing_name}:{operation_name}")
        return orig(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", spy)
    _collect(org, read_manifests="always")
    assert seen, "nothing recorded"
    assert seen <= set(permissions.READ_ACTIONS), seen - set(permissions.READ_ACTIONS)
    assert "ecr:BatchGetImage" in seen and "ecr:DescribeImages" in seen


def test_a_read_of_another_service_is_one_table_entry_run_with_its_own_client(org):
    """How reads of other services are added (the collect package docstring): an entry of the
    table, here ECS ListClusters per account × region, runs through the same step as ECR's reads —
    a client of its own service, the read policy (its failure is an errors row), its call counts."""
    from ecr_audit import aws
    from ecr_audit.collect import reads
    from ecr_audit.collect.accounts import Account
    from ecr_audit.collect.calls import CallRecorder
    from ecr_audit.collect.reading import ThrottleBudget
    from ecr_audit.collect.sink import Sink
    from ecr_audit.collect.unit import Unit

    clusters = reads.Read(
        "ListClusters",
        "ecs",
        reads.UNIT,
        lambda ecs: ecs.list_clusters()["clusterArns"],
        status="clusters_status",
        fields=lambda arns, problems: {"clusters": len(arns)},
    )
    assert clusters.actions == ("ecs:ListClusters",)
    recorder, sink = CallRecorder(), Sink()
    account = Account(org.management_account_id)
    account.clients = aws.Clients(org.session(), account.account_id, recorder.instrument)
    org.session().client("ecs", region_name="us-east-1").create_cluster(clusterName="web")
    seeded = len(org.world.account(account.account_id).registry("us-east-1").consumers.clusters)
    org.faults.add("ListClusters", "AccessDeniedException", region="eu-west-1", service="ecs")
    rows = {}
    for region in ("us-east-1", "eu-west-1"):
        unit = Unit(account, region, sink, recorder, ThrottleBudget())
        rows[region] = {"account_id": account.account_id, "region": region}
        unit.run_group((clusters,), rows[region])
    assert rows["us-east-1"] == {**rows["us-east-1"], "clusters_status": "present", "clusters": 1 + seeded}
    assert rows["eu-west-1"]["clusters_status"] == "unreadable" and "clusters" not in rows["eu-west-1"]
    assert [(e["region"], e["operation"], e["error_kind"]) for e in sink.rows["errors"]] == [
        ("eu-west-1", "ListClusters", "access_denied")
    ]
    counted = {(r["region"], r["operation"]): r for r in recorder.records()}
    assert counted[("us-east-1", "ListClusters")]["calls"] == 1  # one client per region
    assert counted[("eu-west-1", "ListClusters")]["failures"] == 1
    assert "ecs:ListClusters" in recorder.operations


def test_account_and_caller_scope_reads_added_to_the_table_run_once_per_account_and_once(org, monkeypatch):
    """Reads of other scopes need no code either: an ACCOUNT read (IAM, a global service, asked in
    the caller's home region) runs once per collected account, a CALLER read once per collection."""
    from ecr_audit.collect import reads

    added = (
        reads.Read("ListRoles", "iam", reads.ACCOUNT, lambda iam: iam.list_roles()),
        reads.Read(
            "ListAWSServiceAccessForOrganization",
            "organizations",
            reads.CALLER,
            lambda o: o.list_aws_service_access_for_organization(),
        ),
    )
    monkeypatch.setattr(reads, "READS", reads.READS + added)
    inv = _collect(org)
    assert inv.meta["completeness"] == "complete", inv.errors
    calls = inv.api_calls
    roles = calls[calls["operation"] == "ListRoles"]
    assert sorted(roles["account_id"]) == sorted(inv.meta["accounts"]) and set(roles["calls"]) == {1}
    services = calls[calls["operation"] == "ListAWSServiceAccessForOrganization"]
    assert services["account_id"].tolist() == [""] and services["calls"].tolist() == [1]
