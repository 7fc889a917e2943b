"""Analyses reused across snapshots whose inputs did not change (`ecr_audit.reuse`): a reused
answer must be exactly the answer computed afresh, whatever changed between the snapshots."""

import json

import pandas as pd
import pytest

from ecr_audit import Inventory, findings, load, reuse, save, trends

PUBLIC = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "Everyone",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }
)


def _day(base: Inventory, directory, day: int, **changes):
    """`base` saved as the snapshot of 2026-11-`day` with `changes` (frame name → frame, or meta
    key → value for the names of meta)."""
    frames = {name: base.frames[name] for name in base.frames}
    meta = dict(base.meta, collected_at=f"2026-11-{day:02}T06:00:00+00:00")
    for key, value in changes.items():
        (frames if key in frames else meta)[key] = value
    return save(Inventory.from_frames(meta=meta, **frames), directory / f"202611{day:02}T060000Z")


@pytest.fixture(scope="module")
def history(demo_snapshot, tmp_path_factory):
    """Seven snapshots, each changing one thing a trace must see."""
    base = load(demo_snapshot)
    d = tmp_path_factory.mktemp("reuse-history")
    images = base.images
    policies = base.repository_policies.copy()
    policies.loc[policies["repository_name"] == "payments/api", "policy_text"] = PUBLIC  # made public
    org = dict(base.meta["organization"])
    org["account_ids"] = [a for a in org["account_ids"] if a != "012345678901"]  # an account leaves
    return [
        _day(base, d, 1),
        _day(base, d, 2),  # nothing but the time changed
        _day(base, d, 3, images=images[images.index % 10 != 3].reset_index(drop=True)),
        _day(base, d, 4, images=images[images.index % 10 != 3].reset_index(drop=True)),  # same again
        _day(base, d, 5, repository_policies=policies),
        _day(base, d, 6, repository_policies=policies, organization=org),
        _day(base, d, 7),  # back to day 1's frames
    ]


def _fresh(path) -> pd.DataFrame:
    return findings.findings(load(path, verify=False), evidence=True)


def test_findings_reused_across_a_changing_history_equal_findings_computed_afresh(history):
    store = reuse.Store()
    for path in history:
        inv = load(path, verify=False)
        reuse.attach(inv, store)
        fresh = _fresh(path)
        pd.testing.assert_frame_equal(findings.findings(inv, evidence=True), fresh)
        counts = fresh["severity"].astype(str).value_counts()
        assert findings.severity_counts(inv) == {s: int(counts.get(s, 0)) for s in findings.SEVERITIES}
    assert store.hits > 0 and not store.conflict


def _analysed(paths, store: reuse.Store):
    """The findings of each snapshot in turn, reusing through `store`; the last inventory."""
    for path in paths:
        inv = load(path, verify=False)
        reuse.attach(inv, store)
        findings.findings(inv)
    return inv


def test_what_a_change_touches_is_computed_again_and_the_rest_reused(history):
    store = reuse.Store()
    _analysed(history[:4], store)
    public = "findings.ecr_repository_public_pull|None|False"
    stale = "findings.ecr_repository_stale_images|None|False"
    seen = []
    real = store.get
    store.get = lambda key, inv: seen.append((key, real(key, inv) is not None)) or real(key, inv)
    inv = load(history[4], verify=False)  # day 5: a repository policy made public
    reuse.attach(inv, store)
    out = findings.findings(inv)
    hits = dict(seen)
    assert hits[public] is False  # reads repository_policies: computed again
    assert "payments/api" in set(
        out.loc[out["finding_id"] == "ecr_repository_public_pull", "repository_name"]
    )
    assert hits["findings.ecr_repository_tags_mutable|None|False"] is True  # reads repositories only
    assert hits[stale] is False  # reads the time, which changed


def test_a_snapshot_identical_but_for_its_time_reuses_only_what_ignores_the_time(history):
    store = reuse.Store()
    inv = _analysed(history[:2], store)
    assert store.hits > 0
    frames_read_again = [n for n in inv.frames if inv.frames.is_loaded(n)]
    # Day 2 has day 1's files: what was read is the very frame read for day 1.
    day1 = load(history[0], verify=False)
    reuse.attach(day1, store)
    assert frames_read_again and all(
        day1.frames[n] is inv.frames[n] for n in frames_read_again if n != "images"
    )


def test_inventories_built_in_memory_are_never_reused():
    a = Inventory.from_frames(repositories=[_repo("r1", "MUTABLE")])
    b = Inventory.from_frames(repositories=[_repo("r1", "IMMUTABLE")])
    store = reuse.Store()
    for inv in (a, b):
        reuse.attach(inv, store)
    assert len(findings.findings(a, ["ecr_repository_tags_mutable"])) == 1
    assert len(findings.findings(b, ["ecr_repository_tags_mutable"])) == 0
    assert store.hits == 0 and not store._entries


def _repo(name, mutability):
    return {
        "account_id": "111122223333",
        "region": "us-east-1",
        "repository_name": name,
        "repository_arn": f"arn:aws:ecr:us-east-1:111122223333:repository/{name}",
        "image_tag_mutability": mutability,
    }


def test_a_replaced_frame_has_no_identity_and_is_never_reused(history):
    inv = load(history[0], verify=False)
    assert inv.frames.content_id("repositories")
    inv.frames["repositories"] = inv.repositories.iloc[:1]
    assert inv.frames.content_id("repositories") is None
    assert inv.frames.content_id("images") is None  # compact frames decode against images


def test_meta_read_whole_is_read_key_by_key(history):
    inv = load(history[0], verify=False)
    store = reuse.Store()
    reuse.attach(inv, store)
    reuse.call(inv, "whole", lambda: json.dumps(inv.meta) + str(dict(inv.meta)) + str({**inv.meta}))
    reuse.call(inv, "one", lambda: inv.meta.get("caller"))
    assert set(store._entries["whole"][0].meta) == {reuse.ALL_KEYS, *inv.meta}
    assert set(store._entries["one"][0].meta) == {"caller"}


def test_reads_of_a_failed_computation_still_count_for_its_caller(history):
    inv = load(history[0], verify=False)
    store = reuse.Store()
    reuse.attach(inv, store)

    def inner():
        inv.repositories  # noqa: B018
        raise ValueError("an analysis that gives up")

    def outer():
        try:
            reuse.call(inv, "inner", inner)
        except ValueError:
            return "recovered"

    assert reuse.call(inv, "outer", outer) == "recovered"
    assert "repositories" in store._entries["outer"][0].frames
    assert "inner" not in store._entries


def test_a_reused_answer_that_reads_its_own_snapshot_later_is_a_conflict(history):
    """A cached closure over the snapshot it was computed for, reused for another: its reads of the
    other snapshot's images are caught, and the store stops reusing."""
    store = reuse.Store()
    first = load(history[0], verify=False)
    reuse.attach(first, store)
    reuse.call(first, "count", lambda: first.cached("lazy", lambda: lambda: len(first.images))())
    other = load(history[2], verify=False)  # other images
    reuse.attach(other, store)
    with pytest.raises(reuse.ReuseConflict):
        reuse.call(other, "count", lambda: other.cached("lazy", lambda: lambda: len(other.images))())
    assert store.conflict and store.get("lazy", other) is None


def test_trends_computes_a_conflicted_point_again_without_reuse(history, monkeypatch):
    def lazy_count(inv, metric, days):
        if metric != "inventory":
            return real(inv, metric, days)
        count = inv.cached("lazy", lambda: lambda: inv.frames.rows("images"))()
        return {"repositories": inv.frames.rows("repositories"), "images": count}

    real = trends._compute
    monkeypatch.setattr(trends, "_compute", lazy_count)
    pts = trends.points(history[1:4], ["inventory"], cache_dir=False, workers=1)
    expected = [load(p, verify=False).frames.rows("images") for p in history[1:4]]
    assert sorted(pts["images"]) == sorted(expected)
    assert len(set(expected)) == 2  # the conflict was there to be caught


def test_points_with_reuse_equal_points_without(history, monkeypatch):
    reused = trends.points(history, cache_dir=False, workers=1)
    monkeypatch.setattr(trends.reuse, "attach", lambda inv, store: None)
    fresh = trends.points(history, cache_dir=False, workers=1)
    pd.testing.assert_frame_equal(reused, fresh)
    assert reused["high"].nunique() > 1 or reused["critical"].nunique() > 1  # the changes show


def test_the_store_keeps_what_recent_snapshots_used_not_an_answer_per_snapshot(history):
    """A key that names one snapshot's time (`images.stale:<days>:<time>`) is asked by that snapshot
    only: the store drops what none of its last `keep` snapshots used, or a long history would keep
    one stale-images frame per snapshot alive until the end."""
    store = reuse.Store()
    for path in history:
        trends.point(path, ["stale"], cache_dir=False, reuse_store=store)
    per_time = [k for k in store._entries if k.startswith("images.stale:")]
    assert 0 < len(per_time) <= store.keep + 1 < len(history)


def test_a_snapshot_too_big_to_reuse_for_is_analysed_without_what_the_store_kept(history, monkeypatch):
    """Above REUSE_MAX_IMAGES a point's analyses need the memory (the reason nothing is kept for
    it): what the store holds of earlier snapshots, their frames and answers, is let go first."""
    small, big = history[2], history[0]  # day 3 lacks a tenth of day 1's images
    monkeypatch.setattr(trends, "REUSE_MAX_IMAGES", load(small, verify=False).frames.rows("images"))
    store = reuse.Store()
    trends.point(small, ["stale"], cache_dir=False, reuse_store=store)
    assert store._entries and store._frames
    held = []
    real = trends._compute

    def compute(inv, metric, days):
        held.append(len(store._entries) + len(store._frames))
        return real(inv, metric, days)

    monkeypatch.setattr(trends, "_compute", compute)
    row = trends.point(big, ["stale"], cache_dir=False, reuse_store=store)
    assert held == [0] and row["stale_images"] == trends._stale(load(big, verify=False), 90)["stale_images"]


def _changed(base: Inventory, rnd) -> dict:
    """A random change of what the access, consumer and lifecycle analyses cached apart from the
    images read (some rows of one or two frames left out, consumers moved to other accounts)."""
    changes = {}
    for name in rnd.sample(
        ["consumers", "consumer_coverage", "repository_policies", "registry_policies"]
        + ["lifecycle_policies", "images", "accounts", "storage_prices"],
        rnd.randint(1, 2),
    ):
        df = base.frames[name]
        changes[name] = df.sample(frac=rnd.uniform(0.5, 1), random_state=rnd.randrange(10**6))
        changes[name] = changes[name].sort_index().reset_index(drop=True)
    if "consumers" in changes and rnd.random() < 0.5:
        c = changes["consumers"].copy()
        others = sorted(set(base.accounts["account_id"])) + ["999999999999"]
        c["consumer_account_id"] = [
            rnd.choice(others) if rnd.random() < 0.3 else a for a in c["consumer_account_id"]
        ]
        changes["consumers"] = c
    return changes


@pytest.mark.slow  # eight snapshots saved and analysed twice: about 20 s
def test_analyses_reused_across_random_changes_equal_them_computed_afresh(demo_snapshot, tmp_path):
    """Random histories (each day changes one or two frames, or goes back to the first day's):
    the findings with evidence, their counts, the consumer analyses, storage and lifecycle lint,
    reused where a store allows, are the answers computed afresh."""
    import random

    from ecr_audit import consumers, cost, lifecycle

    def answers(inv):
        return {
            "findings": findings.findings(inv, evidence=True),
            "counts": findings.severity_counts(inv),
            "without_grant": consumers.without_grant(inv),
            "unused_grants": consumers.unused_grants(inv),
            "in_use": consumers.in_use(inv),
            "storage": cost.storage(inv),
            "lint": lifecycle.lint(inv),
        }

    base = load(demo_snapshot)
    rnd = random.Random(23)
    store = reuse.Store()
    for day in range(1, 9):
        path = _day(base, tmp_path / f"h{day}", day, **({} if day in (1, 5) else _changed(base, rnd)))
        inv = load(path, verify=False)
        reuse.attach(inv, store)
        got = answers(inv)
        for name, fresh in answers(load(path, verify=False)).items():
            if isinstance(fresh, pd.DataFrame):
                pd.testing.assert_frame_equal(got[name], fresh, obj=f"day {day} {name}")
            else:
                assert got[name] == fresh, (day, name)
    assert store.hits > 0 and not store.conflict


def test_meta_that_cannot_be_compared_is_never_reused_and_breaks_nothing():
    """Meta built in memory may hold what JSON cannot sort (mixed key types): such a read is
    equal to nothing, so the answer is computed for each inventory."""
    store = reuse.Store()
    seen = []
    for n in (1, 2):
        inv = Inventory.from_frames(meta={"odd": {1: "a", "b": n}})
        reuse.attach(inv, store)
        seen.append(reuse.call(inv, "odd", lambda inv=inv: inv.meta["odd"]["b"]))
    assert seen == [1, 2] and store.hits == 0
