"""The CloudTrail pull case of the demo organization (CONSUMER_CASES["cloudtrail_pulls"]) through the
analysis: the demo collected with `--consumers all,cloudtrail` against the same demo collected with
the default kinds (the session's demo snapshot). A pull puts its image in use and dates its use; it
is the evidence `ecr_grant_unused` reports; without CloudTrail every answer is what it was."""

import pandas as pd
import pytest

from ecr_audit import consumers, cost, findings, images, sandbox
from ecr_audit.collect import collect
from ecr_audit.sandbox.demo import CONSUMER_CASES, DATA, EXTERNAL, LEGACY_UI, PARTNER, PAYMENTS
from ecr_audit.sandbox.world import DEFAULT_NOW
from ecr_audit.schema import IMAGE_KEY

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

NOW = pd.Timestamp(DEFAULT_NOW)
WORKER_PULLED = CONSUMER_CASES["cloudtrail_pulls"].digest  # payments/worker:v1.2.1, a manifest list
VENDOR_PULLED = LEGACY_UI["2.1.0"]  # pulled by the external vendor, run by nothing the audit reads


@pytest.fixture(scope="module")
def trail():
    with sandbox.running(sandbox.demo_world()) as org:
        return collect(org.session(), org=True, role_name=org.role_name, consumers="all,cloudtrail")


@pytest.fixture(scope="module")
def no_trail(demo_inventory):
    return demo_inventory


def _use(inv, digest) -> pd.Series:
    u = consumers.in_use(inv)
    (row,) = u[u["image_digest"] == digest].itertuples(index=False)
    return pd.Series(row._asdict())


def _unit(inv, digest) -> set[str]:
    """The images in use through `digest` (its children): they share its answer."""
    u = consumers.in_use(inv)
    return {digest} | set(u.loc[u["in_use_via_digest"] == digest, "image_digest"])


def test_cloudtrail_was_read_in_every_unit_and_only_when_named(trail, no_trail):
    for inv, status in ((trail, "complete"), (no_trail, "skipped")):
        cc = inv.consumer_coverage
        assert set(cc.loc[cc["consumer_kind"] == "cloudtrail", "status"]) == {status}


def test_a_pull_is_the_only_use_of_an_image_it_puts_in_use(trail, no_trail):
    u = _use(trail, VENDOR_PULLED)
    assert u["in_use"] == "yes" and u["consumer_kinds"] == ["cloudtrail_pull"]
    assert u["consumer_accounts"] == [EXTERNAL] and bool(u["is_cross_account"])
    assert "vendor-deploy" in u["consumer_names"] and u["unknown_reason"] == ""
    assert u["last_in_use_at"] == NOW - pd.Timedelta(days=5)  # the pull's time
    assert pd.isna(u["is_running"])  # a pull says nothing about what runs now
    # Without CloudTrail: unknown, because the vendor's grant reaches an account the audit cannot read.
    before = _use(no_trail, VENDOR_PULLED)
    assert before["in_use"] == "unknown" and EXTERNAL in before["unknown_reason"]
    assert before["consumers"] == 0 and pd.isna(before["last_in_use_at"])


def test_a_pull_of_an_image_in_use_dates_its_last_use_newer(trail, no_trail):
    unit = _unit(trail, WORKER_PULLED)
    assert len(unit) == 3 and unit == _unit(no_trail, WORKER_PULLED)  # the list and its two platforms
    for digest in unit:
        u, before = _use(trail, digest), _use(no_trail, digest)
        assert u["in_use"] == before["in_use"] == "yes"
        assert "cloudtrail_pull" in u["consumer_kinds"] and "cloudtrail_pull" not in before["consumer_kinds"]
        assert DATA in u["consumer_accounts"]
        assert u["last_in_use_at"] == NOW - pd.Timedelta(days=0.5)  # the newest of three pulls
        assert before["last_in_use_at"] == NOW - pd.Timedelta(days=2)  # data's task, started then
        assert bool(u["is_running"]) and bool(before["is_running"])


def test_the_cleanup_answers_count_the_pulled_image_in_use(trail, no_trail):
    """legacy-ui 2.1.0 was last pulled 500 days ago by ECR's pull time: stale, but in use beside it
    once CloudTrail shows the vendor's pull, so the stale cleanup no longer counts it removable."""
    for inv, state in ((trail, "yes"), (no_trail, "unknown")):
        s = images.stale(inv)
        (row,) = s[s["image_digest"] == VENDOR_PULLED].itertuples(index=False)
        assert bool(row.is_stale) and row.in_use == state
        assert VENDOR_PULLED not in set(images.orphans(inv)["image_digest"])
    sav = {
        name: cost.savings(inv)
        .set_index(["repository_name", "option"])
        .loc[("payments/legacy-ui", "stale_90d")]
        for name, inv in (("trail", trail), ("no_trail", no_trail))
    }
    assert sav["trail"]["images_in_use"] == sav["no_trail"]["images_in_use"] + 1
    assert sav["trail"]["images_in_use_unknown"] == sav["no_trail"]["images_in_use_unknown"] - 1


def test_without_cloudtrail_every_other_answer_is_the_same(trail, no_trail):
    cols = ["in_use", "consumers", "consumer_kinds", "is_running", "last_in_use_at", "unknown_reason"]
    with_pulls = consumers.in_use(trail).set_index(IMAGE_KEY)[cols]
    without = consumers.in_use(no_trail).set_index(IMAGE_KEY)[cols]
    assert with_pulls.index.sort_values().equals(without.index.sort_values())
    pulled = _unit(trail, WORKER_PULLED) | {VENDOR_PULLED}
    changed = [
        key[-1] for key, row in with_pulls.iterrows() if str(row.to_dict()) != str(without.loc[key].to_dict())
    ]
    assert sorted(changed) == sorted(pulled)


def _unused(inv) -> pd.DataFrame:
    return consumers.unused_grants(inv).set_index(["account_id", "region", "repository_name", "grantee"])


def test_grant_unused_says_cloudtrail_was_read(trail, no_trail):
    # data/notebooks' AllowPayments: no consumer in payments names its images, and no pull by payments.
    key = (DATA, "us-east-1", "data/notebooks", PAYMENTS)
    u, before = _unused(trail).loc[key], _unused(no_trail).loc[key]
    assert (
        bool(u["has_read_cloudtrail"])
        and "CloudTrail read: no pull by them in the last 30 days" in u["evidence"]
    )
    assert not bool(before["has_read_cloudtrail"]) and "CloudTrail not read" in before["evidence"]
    f = findings.findings(trail, checks=["ecr_grant_unused"])
    mine = f[(f["repository_name"] == "data/notebooks") & f["details"].str.contains(PAYMENTS)]
    assert mine["severity"].tolist() == ["low"] and "CloudTrail read" in mine["details"].iloc[0]


def test_a_pulled_grant_is_used_and_an_unpulled_external_grant_is_unused_only_with_cloudtrail(
    trail, no_trail
):
    grantees = {(r, g) for _a, _reg, r, g in _unused(trail).index}
    # VendorPull: the vendor pulled legacy-ui 2.1.0; the grant is in use, with or without CloudTrail.
    assert ("payments/legacy-ui", EXTERNAL) not in grantees
    assert ("payments/legacy-ui", EXTERNAL) not in {(r, g) for _a, _reg, r, g in _unused(no_trail).index}
    # The partner's grant: its consumers cannot be read (outside the organization); only CloudTrail
    # can show it unused, and it shows no pull.
    assert ("payments/partner-feed", PARTNER) in grantees
    assert ("payments/partner-feed", PARTNER) not in {(r, g) for _a, _reg, r, g in _unused(no_trail).index}


def test_the_lifecycle_finding_names_the_puller(trail):
    f = findings.findings(trail, checks=["ecr_lifecycle_expires_in_use_image"])
    mine = f[f["details"].str.contains(WORKER_PULLED, regex=False)]
    assert len(mine) == 1 and "analytics-task-execution" in mine["details"].iloc[0]
