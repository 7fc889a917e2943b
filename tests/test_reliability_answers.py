"""Hostile answers: listings that never end and items AWS should never send (issue 12 #5, #10).

Each end-to-end case runs `ecr-audit collect --sandbox` with the sandbox answering one operation
as no endpoint should (`Faults.add_answer`: botocore parses the answer as a real one). The
collection ends; the answer becomes `invalid_data` rows for its repository or unit; what was read
is kept but not reported complete; everything else is saved (exit 3, never 1 or a hang). Answers
that page forever stop themselves after 100 calls with an error, so a regression fails instead of
hanging the suite.
"""

import signal
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_audit import schema
from ecr_audit.collect import images as collect_images
from ecr_audit.collect.fields import Problems
from tests.collect_helpers import DATA, MGMT, PAYMENTS, cli_collect, first_repo, rows, world_images

KEY = ["account_id", "region", "repository_name"]


def _guard(calls):
    calls.append(1)
    if len(calls) > 100:
        raise RuntimeError("the collector is still paging after 100 pages")


def _repo_images(inv, account_id, region, repo):
    im = inv.images
    return im[(im["account_id"] == account_id) & (im["region"] == region) & (im["repository_name"] == repo)]


def _repo_row(inv, account_id, region, repo):
    return inv.repositories.set_index(KEY).loc[(account_id, region, repo)]


# -- issue 12 #5: page tokens that repeat or cycle ------------------------------------------------


@pytest.mark.slow
def test_describe_images_tokens_cycling_a_b_a_end_in_an_invalid_data_row_and_keep_the_images_read(
    monkeypatch, tmp_path, capsys
):
    calls, cache = [], {}

    def cycling(params, real):  # page 1 → A, A → B, B → A: botocore's own check passes this
        _guard(calls)
        token = params.get("nextToken")
        if token is None:
            cache["items"] = real()["imageDetails"]
        page = {None: 0, "A": 1, "B": 2}[token]
        return {"imageDetails": cache["items"][page : page + 1], "nextToken": "B" if token == "A" else "A"}

    def setup(org):
        region, repo = first_repo(org, PAYMENTS)
        org.faults.add_answer(
            "DescribeImages", cycling, account_id=PAYMENTS, region=region, repository_name=repo
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    region, repo = first_repo(org, PAYMENTS)
    assert len(calls) == 3
    assert rc == 3 and inv.meta["completeness"] == "partial", err
    assert rows(inv) == [(PAYMENTS, region, repo, "DescribeImages", "RepeatedPageToken", "invalid_data")]
    # The three pages read are real images: kept, with their manifests; the listing is not complete.
    got = _repo_images(inv, PAYMENTS, region, repo)
    assert sorted(got["image_digest"]) == sorted(d["imageDigest"] for d in cache["items"][:3])
    assert _repo_row(inv, PAYMENTS, region, repo)["images_status"] == "unreadable"
    assert set(got["manifest_status"]) <= {"present", "skipped"}
    n_repo = len(org.world.account(PAYMENTS).registry(region).repository(repo).images)
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA) - (n_repo - 3)
    cov = inv.coverage.set_index(["account_id", "region"])["status"]
    assert cov[(PAYMENTS, region)] == "partial" and (cov.drop((PAYMENTS, region)) == "complete").all()


@pytest.mark.slow
def test_pull_time_exclusions_token_repeating_ends_in_an_invalid_data_row_and_the_decision_stays_honest(
    monkeypatch, tmp_path, capsys
):
    calls = []

    def repeating(params, real):  # page 1 → A, A → A
        _guard(calls)
        if params.get("nextToken") is None:
            return {**real(), "nextToken": "A"}
        return {"pullTimeUpdateExclusions": [], "nextToken": "A"}

    def setup(org):
        org.faults.add_answer(
            "ListPullTimeUpdateExclusions", repeating, account_id=PAYMENTS, region="us-east-1"
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    assert len(calls) == 2
    assert rc == 3 and rows(inv) == [
        (PAYMENTS, "us-east-1", None, "ListPullTimeUpdateExclusions", "RepeatedPageToken", "invalid_data")
    ]
    reg = inv.registries.set_index(["account_id", "region"])
    assert reg.loc[(PAYMENTS, "us-east-1"), "pull_time_exclusions_status"] == "unreadable"
    # The first page listed the audit role: proven excluded, so auto mode still reads manifests there.
    cov = inv.coverage.set_index(["account_id", "region"])
    assert cov.loc[(PAYMENTS, "us-east-1"), "is_pull_time_excluded"] == True  # noqa: E712
    assert cov.loc[(PAYMENTS, "us-east-1"), "has_read_manifests"] == True  # noqa: E712
    excl = inv.pull_time_exclusions
    assert len(excl[(excl["account_id"] == PAYMENTS) & (excl["region"] == "us-east-1")]) == 1
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA)


@pytest.mark.slow
def test_list_accounts_token_cycle_keeps_the_accounts_listed_and_collects_them(monkeypatch, tmp_path, capsys):
    calls, cache = [], {}

    def cycling(params, real):  # two accounts, then A → B → A with nothing more
        _guard(calls)
        token = params.get("NextToken")
        if token is None:
            cache["accounts"] = sorted(real()["Accounts"], key=lambda a: a["Id"] != MGMT)
            return {"Accounts": cache["accounts"][:1], "NextToken": "A"}
        if token == "A":
            return {"Accounts": cache["accounts"][1:2], "NextToken": "B"}
        return {"Accounts": [], "NextToken": "A"}

    def setup(org):
        org.faults.add_answer("ListAccounts", cycling, service="organizations")

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    listed = [a["Id"] for a in cache["accounts"][:2]]
    assert len(calls) == 3
    assert rc == 3 and rows(inv) == [("", None, None, "ListAccounts", "RepeatedPageToken", "invalid_data")]
    assert sorted(inv.accounts["account_id"]) == sorted(listed)
    assert sorted(inv.meta["organization"]["account_ids"]) == sorted(listed)
    active = [a for a in listed if org.world.account(a).state == "ACTIVE"]
    assert set(inv.images["account_id"]) == {a for a in active if world_images(org, a)}
    assert len(inv.images) == world_images(org, *active)


@pytest.mark.slow
def test_ou_walk_token_cycle_ends_in_an_invalid_data_row_and_the_collection_goes_on(
    monkeypatch, tmp_path, capsys
):
    calls = []

    def repeating(params, real):
        _guard(calls)
        if params.get("NextToken") is None:
            return {**real(), "NextToken": "A"}
        return {"OrganizationalUnits": [], "NextToken": "A"}

    def setup(org):
        org.faults.add_answer("ListOrganizationalUnitsForParent", repeating, service="organizations")

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    assert len(calls) == 2
    assert rc == 3 and rows(inv) == [
        ("", None, None, "ListOrganizationalUnitsForParent", "RepeatedPageToken", "invalid_data")
    ]
    paths = inv.accounts.set_index("account_id")["ou_path"]
    assert paths[MGMT].startswith("r-")  # listed under the root before the cycle
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA)


# -- issue 12 #10: items AWS should never send ----------------------------------------------------


@pytest.mark.slow
def test_image_without_digest_and_a_digest_listed_twice_while_manifests_are_read_are_rows_not_exit_1(
    monkeypatch, tmp_path, capsys
):
    def broken(params, real):
        doc = real()
        details = doc["imageDetails"]
        del details[0]["imageDigest"]
        details.append(dict(details[1]))
        return doc

    def setup(org):
        region, repo = first_repo(org, PAYMENTS)
        org.faults.add_answer(
            "DescribeImages", broken, account_id=PAYMENTS, region=region, repository_name=repo
        )

    rc, inv, out, err, org = cli_collect(
        monkeypatch, tmp_path, capsys, setup, args=["--read-manifests", "always"]
    )
    region, repo = first_repo(org, PAYMENTS)
    assert rc == 3 and "internal error" not in err, err
    assert rows(inv) == [(PAYMENTS, region, repo, "DescribeImages", "MalformedItem", "invalid_data")] * 2
    assert {m.split(" (")[0] for m in inv.errors["message"]} == {
        "an image without imageDigest",
        "an image digest listed twice",
    }
    n_repo = len(org.world.account(PAYMENTS).registry(region).repository(repo).images)
    got = _repo_images(inv, PAYMENTS, region, repo)
    assert len(got) == n_repo - 1 and got["image_digest"].is_unique
    assert _repo_row(inv, PAYMENTS, region, repo)["images_status"] == "unreadable"
    assert "unreadable" not in set(got["manifest_status"])  # the listed twice image was read once
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA) - 1


@pytest.mark.slow
def test_malformed_items_in_every_kind_of_answer_are_invalid_data_rows_and_the_rest_is_saved(
    monkeypatch, tmp_path, capsys
):
    def edit(change):
        def answer(params, real):
            doc = real()
            change(doc)
            return doc

        return answer

    def setup(org):
        f = org.faults
        f.add_answer(
            "DescribeRepositories",
            edit(lambda d: d["repositories"].append({"repositoryUri": "x"})),
            account_id=DATA,
            region="us-east-1",
        )
        f.add_answer(
            "ListPullTimeUpdateExclusions",
            edit(lambda d: d["pullTimeUpdateExclusions"].append(42)),
            account_id=PAYMENTS,
            region="eu-west-1",
        )
        rule = lambda d: d["replicationConfiguration"]["rules"][0]  # noqa: E731
        f.add_answer(
            "DescribeRegistry",
            edit(lambda d: rule(d)["destinations"][0].pop("region")),
            account_id=PAYMENTS,
            region="us-east-1",
        )
        f.add_answer(
            "ListTagsForResource",
            edit(lambda d: d["tags"].append({"Value": "no key"})),
            account_id=MGMT,
            region="us-east-1",
        )
        f.add_answer(
            "BatchGetImage",
            edit(lambda d: d["images"].append(dict(d["images"][0]))),
            account_id=PAYMENTS,
            region="eu-west-1",
        )
        f.add_answer(
            "DescribeImages",
            edit(lambda d: d["imageDetails"][0].update(imagePushedAt="garbage")),
            account_id=DATA,
            region="eu-west-1",
        )

    rc, inv, out, err, org = cli_collect(monkeypatch, tmp_path, capsys, setup)
    assert rc == 3 and "internal error" not in err, err
    assert sorted(rows(inv), key=repr) == sorted(
        [
            (DATA, "us-east-1", None, "DescribeRepositories", "MalformedItem", "invalid_data"),
            (PAYMENTS, "eu-west-1", None, "ListPullTimeUpdateExclusions", "MalformedItem", "invalid_data"),
            (PAYMENTS, "us-east-1", None, "DescribeRegistry", "MalformedItem", "invalid_data"),
            (MGMT, "us-east-1", "shared/base", "ListTagsForResource", "MalformedItem", "invalid_data"),
            (
                MGMT,
                "us-east-1",
                "docker-hub/library/nginx",
                "ListTagsForResource",
                "MalformedItem",
                "invalid_data",
            ),
            (PAYMENTS, "eu-west-1", "payments/legacy-ui", "BatchGetImage", "MalformedItem", "invalid_data"),
            (DATA, "eu-west-1", "data/archive", "DescribeImages", "MalformedAnswer", "invalid_data"),
        ],
        key=repr,
    )
    reg = inv.registries.set_index(["account_id", "region"])
    assert reg.loc[(PAYMENTS, "eu-west-1"), "pull_time_exclusions_status"] == "unreadable"
    assert reg.loc[(PAYMENTS, "us-east-1"), "replication_status"] == "unreadable"
    rules = inv.replication_rules
    assert sorted(rules.loc[rules["account_id"] == PAYMENTS, "rule_index"]) == [1, 2]  # the others kept
    repos = inv.repositories.set_index(KEY)
    assert repos.loc[(MGMT, "us-east-1", "shared/base"), "tags_status"] == "unreadable"
    tags = inv.repository_tags
    assert (tags.loc[tags["account_id"] == MGMT, "key"].notna()).all() and (tags["account_id"] == MGMT).any()
    assert repos.loc[(DATA, "eu-west-1", "data/archive"), "images_status"] == "unreadable"
    assert len(inv.repositories) == sum(
        len(r.repositories) for a in (MGMT, PAYMENTS, DATA) for r in org.world.account(a).registries
    )
    n_archive = len(org.world.account(DATA).registry("eu-west-1").repository("data/archive").images)
    assert len(inv.images) == world_images(org, MGMT, PAYMENTS, DATA) - n_archive
    cov = inv.coverage.set_index(["account_id", "region"])["status"]
    assert cov[(DATA, "us-east-1")] == "partial" and cov[(MGMT, "eu-west-1")] == "complete"


# -- hypothesis: random DescribeImages pages ------------------------------------------------------

_DIGESTS = st.binary(min_size=1, max_size=2).map(lambda b: "sha256:" + b.hex().rjust(64, "0"))
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=st.just(timezone.utc)
)
_GOOD = {
    "imageTags": st.lists(st.text(min_size=1, max_size=12), max_size=4),
    "imagePushedAt": _TIMES,
    "lastRecordedPullTime": _TIMES,
    "lastArchivedAt": _TIMES,
    "imageSizeInBytes": st.integers(0, 2**53 - 1),
    "imageManifestMediaType": st.text(max_size=40),
    "artifactMediaType": st.text(max_size=40),
    "imageStatus": st.sampled_from(["ACTIVE", "ARCHIVED", "ACTIVATING"]),
    "subjectManifestDigest": _DIGESTS,
    "imageScanStatus": st.fixed_dictionaries({"status": st.text(max_size=10)}),
}
_ODD = st.one_of(
    st.integers(-(2**80), 2**80),
    st.floats(),
    st.booleans(),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.text(max_size=5),
    st.text(alphabet=st.characters(min_codepoint=0xD800, max_codepoint=0xDFFF), min_size=1, max_size=3),
    st.lists(st.one_of(st.none(), st.integers(), st.text(max_size=3)), min_size=1, max_size=3),
    st.datetimes(
        min_value=datetime(1, 1, 1),
        max_value=datetime(9999, 12, 31),
        timezones=st.sampled_from([timezone(timedelta(hours=14)), timezone(timedelta(hours=-12))]),
    ),
)


@st.composite
def _image(draw):
    """(item, well_formed): a well-formed ImageDetail, or one with odd fields, or not an object."""
    item = {"imageDigest": draw(_DIGESTS)}
    for name, good in _GOOD.items():
        if draw(st.booleans()):
            item[name] = draw(good)
    kind = draw(st.sampled_from(["good", "good", "odd", "no digest", "not an object"]))
    if kind == "odd":
        for name in draw(st.lists(st.sampled_from(["imageDigest", *_GOOD]), min_size=1, max_size=3)):
            item[name] = draw(_ODD)
    elif kind == "no digest":
        del item["imageDigest"]
    elif kind == "not an object":
        item = draw(
            st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2))
        )
    return item, kind == "good"


@contextmanager
def _hard_limit(seconds: int):
    """Fail an example that runs longer than `seconds` (a hang would never reach hypothesis' deadline)."""

    def stop(*_):
        raise TimeoutError(f"an example ran longer than {seconds} s")

    old = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@settings(max_examples=300, deadline=timedelta(seconds=2), suppress_health_check=[HealthCheck.too_slow])
@given(pages=st.lists(st.lists(_image(), max_size=12), max_size=4))
def test_random_describe_images_pages_never_crash_or_hang_and_keep_every_well_formed_image(pages):
    items = [item for page in pages for item, _ in page]
    well_formed = {item["imageDigest"] for page in pages for item, good in page if good}
    with _hard_limit(10):
        problems = Problems()
        images, tags = collect_images.transform_images("012345678901", "us-east-1", "web", items, problems)
        frame = schema.conform("images", images)
        schema.conform("image_tags", tags)
        schema.conform("manifest_references", collect_images.subject_edges_of(images))
        pa.Table.from_pandas(frame.drop(columns=["tags"]))  # every text can be stored
    assert well_formed <= set(frame["image_digest"])
    assert frame["image_digest"].is_unique
    assert len(images) + len(problems) == len(items)  # every item kept or reported
