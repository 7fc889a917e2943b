"""Faults survived, nothing lost: `ecr-audit collect --sandbox` with server-side fault injection.

Each case asserts the errors rows, the statuses the reports read (coverage, repositories,
accounts), `meta["completeness"]`, the provenance header the pages print, and the exit code
(cli docstring: 0 complete, 3 partial, 4 nothing collected). Cases already covered on the
library call in tests/test_collect_sandbox.py (AccessDenied on account/region/one repository
policy, assume-role failure, a 30-throttle storm, disabled region) are repeated here only
through the CLI, for the exit code and the header.
"""

import dataclasses

import pytest
from botocore.retries.standard import ExponentialBackoff

from ecr_audit.collect import reading, reads
from tests.collect_helpers import (
    ATTEMPTS,
    DATA,
    LEGACY,
    MGMT,
    PAYMENTS,
    assert_header_counts_errors,
    cli_collect,
    first_repo,
    rows,
    world_images,
)

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def instant_retries(monkeypatch):
    """botocore's retry logic runs in full, without its sleeps (nor the pause between rounds)."""
    monkeypatch.setattr(ExponentialBackoff, "delay_amount", lambda self, context: 0)
    monkeypatch.setattr(reading, "THROTTLE_PAUSE_SECONDS", 0)


def test_access_denied_on_account_region_and_one_repository_policy_exits_3(monkeypatch, tmp_path, capsys):
    def setup(org):
        region, repo = first_repo(org, DATA)
        org.faults.add(
            "GetRepositoryPolicy",
            "AccessDeniedException",
            http_status=400,
            account_id=DATA,
            region=region,
            repository_name=repo,
        )
        org.faults.add(None, "AccessDeniedException", account_id=PAYMENTS, region="eu-west-1", service="ecr")
        org.faults.add_assume_role_failure(LEGACY)  # suspended: skipped before AssumeRole anyway

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = first_repo(org, DATA)
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert (DATA, region, repo, "GetRepositoryPolicy", "AccessDeniedException", "access_denied") in rows(inv)
    eu = inv.errors[(inv.errors["account_id"] == PAYMENTS) & (inv.errors["region"] == "eu-west-1")]
    # Every read of the unit was attempted and refused; nothing under it was guessed.
    assert set(eu["error_kind"]) == {"access_denied"}
    assert {"DescribeRegistry", "GetRegistryPolicy", "DescribeRepositories"} <= set(eu["operation"])
    assert len(inv.errors) == 1 + len(eu)
    cov = inv.coverage.set_index(["account_id", "region"])["status"]
    assert cov[(PAYMENTS, "eu-west-1")] == "failed" and cov[(DATA, region)] == "partial"
    assert (inv.images["account_id"] + inv.images["region"] != PAYMENTS + "eu-west-1").all()
    assert_header_counts_errors(inv)
    assert f"{len(inv.errors)} errors (partial)" in out


def test_assume_role_failing_for_one_account_of_many_exits_3_and_collects_the_others(
    monkeypatch, tmp_path, capsys
):
    rc, inv, out, err, org = cli_collect(
        monkeypatch, tmp_path, capsys, lambda org: org.faults.add_assume_role_failure(PAYMENTS)
    )
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert rows(inv) == [(PAYMENTS, None, None, "AssumeRole", "AccessDenied", "access_denied")]
    acc = inv.accounts.set_index("account_id")
    assert acc.loc[PAYMENTS, "collection_status"] == "failed"
    assert acc.loc[PAYMENTS, "skip_reason"] == "could not assume the audit role"
    assert (
        acc.loc[DATA, "collection_status"] == "collected"
        and acc.loc[MGMT, "collection_status"] == "collected"
    )
    assert PAYMENTS not in set(inv.coverage["account_id"]) and PAYMENTS not in inv.meta["accounts"]
    assert set(inv.images["account_id"]) == {MGMT, DATA}
    assert_header_counts_errors(inv)


def test_every_account_unreachable_collects_nothing_and_exits_4(monkeypatch, tmp_path, capsys):
    def setup(org):
        org.faults.add(None, "AccessDeniedException", service="ecr")
        for a in (PAYMENTS, DATA):
            org.faults.add_assume_role_failure(a)

    rc, inv, out, err, _ = cli_collect(monkeypatch, tmp_path, capsys, setup)
    assert rc == 4 and inv.meta["completeness"] == "empty"
    assert inv.images.empty and inv.repositories.empty
    assert set(inv.coverage["status"]) == {"failed"}
    assert set(inv.accounts.set_index("account_id").loc[[PAYMENTS, DATA, MGMT], "collection_status"]) == {
        "failed"
    }
    assert set(inv.errors["error_kind"]) == {"access_denied"}
    assert_header_counts_errors(inv)


def test_organization_listing_denied_collects_nothing_and_exits_4(monkeypatch, tmp_path, capsys):
    rc, inv, out, err, _ = cli_collect(
        monkeypatch,
        tmp_path,
        capsys,
        lambda org: org.faults.add(
            "ListAccounts", "AccessDeniedException", http_status=400, service="organizations"
        ),
    )
    assert rc == 4 and inv.meta["completeness"] == "empty"
    assert rows(inv) == [("", None, None, "ListAccounts", "AccessDeniedException", "access_denied")]
    assert inv.accounts.empty and inv.coverage.empty


def test_opt_in_region_disabled_in_one_account_is_a_disabled_row_and_exits_3(monkeypatch, tmp_path, capsys):
    rc, inv, out, err, _ = cli_collect(
        monkeypatch, tmp_path, capsys, args=["--regions", "us-east-1,ap-east-1"]
    )
    assert rc == 3 and inv.meta["completeness"] == "partial"
    # ap-east-1 is enabled nowhere in the demo world; PAYMENTS lists it as not opted in.
    disabled = inv.coverage[inv.coverage["status"] == "disabled"].set_index("account_id")["reason"]
    assert disabled[PAYMENTS] == "region is not enabled in this account"
    assert set(inv.errors["error_kind"]) == {"disabled_region"}
    assert set(inv.errors["operation"]) == {"DescribeRegions"}
    assert not (
        (inv.api_calls["region"] == "ap-east-1") & (inv.api_calls["operation"] != "DescribeRegions")
    ).any()
    assert set(inv.coverage.loc[inv.coverage["region"] == "us-east-1", "status"]) == {"complete"}


def test_endpoint_without_an_operation_is_unsupported_and_the_run_goes_on(monkeypatch, tmp_path, capsys):
    def setup(org):
        org.faults.add_not_implemented("DescribePullThroughCacheRules", account_id=DATA)
        org.faults.add_not_implemented(
            "ListPullTimeUpdateExclusions", account_id=PAYMENTS, region="us-east-1", http_status=501
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    assert rc == 3 and inv.meta["completeness"] == "partial"
    data_regions = org.world.account(DATA).regions
    assert sorted(rows(inv)) == sorted(
        [
            (DATA, r, None, "DescribePullThroughCacheRules", "UnknownOperationException", "unsupported")
            for r in data_regions
        ]
        + [(PAYMENTS, "us-east-1", None, "ListPullTimeUpdateExclusions", "NotImplemented", "unsupported")]
    )
    reg = inv.registries.set_index(["account_id", "region"])
    assert set(reg.loc[[(DATA, r) for r in data_regions], "pull_through_cache_status"]) == {"unsupported"}
    assert reg.loc[(PAYMENTS, "us-east-1"), "pull_time_exclusions_status"] == "unsupported"
    # The run went on: every repository and image of those units was still read.
    cov = inv.coverage.set_index(["account_id", "region"])
    assert cov.loc[(PAYMENTS, "us-east-1"), "status"] == "partial"
    # Without the exclusion list, auto mode cannot tell whether reads move pull times: not read.
    assert cov.loc[(PAYMENTS, "us-east-1"), "has_read_manifests"] == False  # noqa: E712
    assert (
        "could not" in cov.loc[(PAYMENTS, "us-east-1"), "manifests_reason"]
        or "unsupported" in cov.loc[(PAYMENTS, "us-east-1"), "manifests_reason"]
    )
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA)


def test_throttling_storm_of_32_in_a_row_on_one_repository_is_ridden_out(monkeypatch, tmp_path, capsys):
    def setup(org):
        region, repo = first_repo(org, DATA)
        org.faults.add(
            "DescribeImages",
            "ThrottlingException",
            account_id=DATA,
            region=region,
            repository_name=repo,
            times=ATTEMPTS * reading.THROTTLE_ROUNDS - 1,
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = first_repo(org, DATA)
    assert org.faults.faults[0].fired == 32
    assert rc == 0 and inv.meta["completeness"] == "complete" and inv.errors.empty
    n_world = len(org.world.account(DATA).registry(region).repository(repo).images)
    got = inv.images[
        (inv.images["account_id"] == DATA)
        & (inv.images["repository_name"] == repo)
        & (inv.images["region"] == region)
    ]
    assert len(got) == n_world  # ACTIVE and archived alike
    calls = inv.api_calls.set_index(["account_id", "region", "operation"])
    # 32 throttled sends: botocore retried 30 of them, the collector's 2 extra rounds the others.
    assert calls.loc[(DATA, region, "DescribeImages"), "retries"] == 32 - (reading.THROTTLE_ROUNDS - 1)


def test_throttling_beyond_three_rounds_of_retries_is_a_throttled_row_not_silence(
    monkeypatch, tmp_path, capsys
):
    def setup(org):
        region, repo = first_repo(org, DATA)
        org.faults.add(
            "DescribeImages", "ThrottlingException", account_id=DATA, region=region, repository_name=repo
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = first_repo(org, DATA)
    assert org.faults.faults[0].fired == reading.THROTTLE_ROUNDS * ATTEMPTS == 33
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert rows(inv) == [(DATA, region, repo, "DescribeImages", "ThrottlingException", "throttled")]
    r = inv.repositories.set_index(["account_id", "region", "repository_name"]).loc[(DATA, region, repo)]
    assert r["images_status"] == "unreadable" and r["manifests_status"] == "unreadable"
    assert not (
        (inv.images["account_id"] == DATA)
        & (inv.images["repository_name"] == repo)
        & (inv.images["region"] == region)
    ).any()


def test_http_500_persisting_beyond_retries_is_a_server_error_row(monkeypatch, tmp_path, capsys):
    def setup(org):
        region, repo = first_repo(org, PAYMENTS)
        org.faults.add(
            "ListTagsForResource", "InternalServerError", http_status=500, account_id=PAYMENTS, region=region
        )
        # A transient 500 on another call is retried away.
        org.faults.add("DescribeRepositories", "ServiceUnavailableException", http_status=503, times=3)

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, _ = first_repo(org, PAYMENTS)
    repos = inv.repositories
    repos_there = repos[(repos["account_id"] == PAYMENTS) & (repos["region"] == region)]
    assert org.faults.faults[1].fired == 3
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert sorted(rows(inv)) == sorted(
        (PAYMENTS, region, n, "ListTagsForResource", "InternalServerError", "server_error")
        for n in repos_there["repository_name"]
    )
    assert set(repos_there["tags_status"]) == {"unreadable"}
    # 11 attempts each (botocore standard mode), none silently dropped.
    calls = inv.api_calls.set_index(["account_id", "region", "operation"])
    calls = calls.loc[(PAYMENTS, region, "ListTagsForResource")]
    assert calls["calls"] == ATTEMPTS * len(repos_there) and calls["failures"] == len(repos_there)
    assert inv.coverage.set_index(["account_id", "region"]).loc[(PAYMENTS, region), "status"] == "partial"


def test_read_timeouts_persisting_beyond_retries_are_timeout_rows(monkeypatch, tmp_path, capsys):
    def setup(org):
        region, repo = first_repo(org, DATA)
        org.faults.add_timeout("GetLifecyclePolicy", account_id=DATA, region=region, repository_name=repo)
        org.faults.add_timeout("DescribeImages", times=2)  # transient: retried away

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = first_repo(org, DATA)
    assert org.faults.faults[1].fired == 2
    assert rc == 3 and inv.meta["completeness"] == "partial"
    assert rows(inv) == [(DATA, region, repo, "GetLifecyclePolicy", "ReadTimeoutError", "timeout")]
    r = inv.repositories.set_index(["account_id", "region", "repository_name"]).loc[(DATA, region, repo)]
    assert r["lifecycle_policy_status"] == "unreadable"
    assert r["images_status"] == "present"


def test_repository_deleted_between_listing_and_reading_is_recorded_not_a_crash(
    monkeypatch, tmp_path, capsys
):
    from moto.ecr.models import ecr_backends

    listed = reads.DESCRIBE_REPOSITORIES.get
    gone = {}

    def list_then_delete(ecr):
        out = listed(ecr)
        region = ecr.meta.region_name
        if (
            gone
            and (DATA, region) == gone["unit"]
            and any(r["registryId"] == DATA and r["repositoryName"] == gone["repo"] for r in out)
        ):
            del ecr_backends[DATA][region].repositories[gone["repo"]]  # deleted by someone else, now
        return out

    def setup(org):
        region, repo = first_repo(org, DATA)
        gone.update(unit=(DATA, region), repo=repo)

    monkeypatch.setattr(
        reads, "DESCRIBE_REPOSITORIES", dataclasses.replace(reads.DESCRIBE_REPOSITORIES, get=list_then_delete)
    )
    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = gone["unit"][1], gone["repo"]
    assert rc == 3 and inv.meta["completeness"] == "partial"
    e = inv.errors
    assert set(e["repository_name"]) == {repo} and set(e["account_id"]) == {DATA}
    assert set(e["error_kind"]) == {"not_found"}
    assert {"DescribeImages"} <= set(e["operation"])
    r = inv.repositories.set_index(["account_id", "region", "repository_name"]).loc[(DATA, region, repo)]
    assert r["images_status"] == "unreadable"
    # It is still listed as seen (it existed when listed), with nothing invented under it.
    assert not (
        (inv.images["repository_name"] == repo)
        & (inv.images["account_id"] == DATA)
        & (inv.images["region"] == region)
    ).any()
    assert_header_counts_errors(inv)


class FakeClock:
    """The read policy's clock and pauses, and botocore's backoff, on one fake timeline: each
    botocore wait is its longest possible one (min(2^n, 20) s), taken instantly."""

    def __init__(self, monkeypatch):
        self.now = 0.0
        monkeypatch.setattr(reading, "clock", lambda: self.now)
        monkeypatch.setattr(reading, "sleep", self.sleep)
        monkeypatch.setattr(reading, "THROTTLE_PAUSE_SECONDS", 10.0)
        monkeypatch.setattr(
            ExponentialBackoff, "delay_amount", lambda backoff, context: self.backoff(context)
        )

    def sleep(self, seconds):
        self.now += seconds

    def backoff(self, context):
        self.now += min(2 ** (context.attempt_number - 1), 20)
        return 0


@pytest.mark.parametrize(
    "budget, sends, seconds",
    [
        # 30 s: retries at +1, +2, +4, +8 s; the next wait (16 s) would pass the budget. Round 2 after a
        # 10 s pause: +1, +2; the next (4 s) would pass it. No third round: its 20 s pause would.
        (30, 5 + 3, 28),
        # No effective budget: the old cost, 3 rounds of 11 requests and their waits, + 10 + 20 s pauses.
        (10_000, 33, 3 * (1 + 2 + 4 + 8 + 16 + 5 * 20) + 30),
    ],
)
def test_persistently_throttled_read_stops_at_the_throttle_budget_and_is_a_throttled_row(
    monkeypatch, tmp_path, capsys, budget, sends, seconds
):
    clock = FakeClock(monkeypatch)

    def setup(org):
        region, repo = first_repo(org, DATA)
        org.faults.add(
            "DescribeImages", "ThrottlingException", account_id=DATA, region=region, repository_name=repo
        )

    rc, inv, out, err, org = cli_collect(
        monkeypatch, tmp_path, capsys, setup, args=["--throttle-budget", str(budget)]
    )
    region, repo = first_repo(org, DATA)
    assert org.faults.faults[0].fired == sends and clock.now == seconds
    assert rc == 3
    assert rows(inv) == [(DATA, region, repo, "DescribeImages", "ThrottlingException", "throttled")]
    r = inv.repositories.set_index(["account_id", "region", "repository_name"]).loc[(DATA, region, repo)]
    assert r["images_status"] == "unreadable"
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA) - len(
        org.world.account(DATA).registry(region).repository(repo).images
    )
