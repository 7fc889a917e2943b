"""Trends over a history: one point per snapshot, only the frames a metric needs, cached points."""

import pandas as pd
import pytest

from ecr_audit import Inventory, save, trends

A = "111122223333"


def _snapshot(path, day: int, repos: int, mutable: int):
    rows = [
        {
            "account_id": A,
            "region": "us-east-1",
            "repository_name": f"r{i}",
            "repository_arn": f"arn:aws:ecr:us-east-1:{A}:repository/r{i}",
            "image_tag_mutability": "MUTABLE" if i < mutable else "IMMUTABLE",
            "has_scan_on_push": True,
            "encryption_type": "KMS",
        }
        for i in range(repos)
    ]
    meta = {"collected_at": f"2026-11-{day:02}T06:00:00+00:00", "completeness": "complete"}
    return save(Inventory.from_frames(meta=meta, repositories=rows), path / f"202611{day:02}T060000Z")


@pytest.fixture
def history(tmp_path):
    return [_snapshot(tmp_path, 3, 4, 1), _snapshot(tmp_path, 1, 2, 2), _snapshot(tmp_path, 2, 3, 0)]


def test_points_one_row_per_snapshot_oldest_first(history, tmp_path):
    pts = trends.points(history, ["inventory", "findings"], cache_dir=tmp_path / "cache")
    assert list(pts["name"]) == ["20261101T060000Z", "20261102T060000Z", "20261103T060000Z"]
    assert list(pts["repositories"]) == [2, 3, 4]
    assert list(pts["medium"]) == [2, 0, 1]  # mutable tags are medium findings
    assert list(pts["critical"]) == [0, 0, 0]
    assert "cost_usd_per_month" not in pts  # only the metrics asked for


def test_inventory_metric_reads_no_frame(history, monkeypatch):
    loaded = []
    real = trends.load

    def spy(path, verify=True):
        inv = real(path, verify=verify)
        loaded.append(inv)
        return inv

    monkeypatch.setattr(trends, "load", spy)
    trends.points(history, ["inventory"], cache_dir=False, workers=1)  # the spy sees this process only
    assert loaded and not any(inv.frames.is_loaded(n) for inv in loaded for n in inv.frames)


def test_points_are_cached_per_snapshot_and_recomputed_for_a_new_one(history, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = trends.points(history[:2], ["findings"], cache_dir=cache)
    computed = []
    real = trends._compute
    monkeypatch.setattr(trends, "_compute", lambda inv, m, d: computed.append(m) or real(inv, m, d))
    again = trends.points(history, ["findings"], cache_dir=cache, workers=1)
    assert computed == ["findings"]  # only the snapshot not seen before
    pd.testing.assert_frame_equal(again[again["name"].isin(first["name"])].reset_index(drop=True), first)


def test_an_unreadable_snapshot_is_a_gap_with_its_problem(history, tmp_path):
    (history[0] / "manifest.json").write_text("{not json")
    pts = trends.points([*history, tmp_path / "gone"], ["inventory"], cache_dir=False)
    bad = pts[pts["problem"] != ""]
    assert set(bad["name"]) == {"20261103T060000Z", "gone"}
    assert bad["repositories"].isna().all()  # a gap, never a zero
    assert pts.loc[pts["problem"] == "", "repositories"].tolist() == [2, 3]


def test_every_chart_draws_from_its_points(history, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = trends.points(history, cache_dir=False)
    for name, (_, columns, _, _) in trends.CHARTS.items():
        fig, ax = plt.subplots()
        trends.plot(pts, name, ax)
        assert len(ax.get_lines()) == len(columns), name
        plt.close(fig)


@pytest.fixture
def pools(monkeypatch):
    """The process pools `points` starts (their worker counts)."""
    started = []

    class Recorded(trends.ProcessPoolExecutor):
        def __init__(self, max_workers=None, **kw):
            started.append(max_workers)
            super().__init__(max_workers=max_workers, **kw)

    monkeypatch.setattr(trends, "ProcessPoolExecutor", Recorded)
    return started


@pytest.mark.parametrize(
    "method", ["fork", pytest.param("forkserver", marks=pytest.mark.slow, id="forkserver (a kernel's)")]
)
def test_points_computed_in_processes_equal_those_computed_here(
    history, tmp_path, pools, monkeypatch, method
):
    here = trends.points(history, cache_dir=False, workers=1)
    assert pools == []
    monkeypatch.setattr(trends, "_start_method", lambda: method)
    cache = tmp_path / "cache"
    parallel = trends.points(history, cache_dir=cache, workers=2)
    assert pools == [2]
    pd.testing.assert_frame_equal(parallel, here)
    # the workers cached their points: nothing is left to compute, so no pool
    pd.testing.assert_frame_equal(trends.points(history, cache_dir=cache, workers=2), here)
    assert pools == [2]


def test_workers_fork_only_a_single_threaded_process(monkeypatch):
    import sys
    import threading

    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert trends._start_method() == "fork"
    monkeypatch.setattr(threading, "active_count", lambda: 4)  # a kernel's, a web app's threads
    monkeypatch.setitem(sys.modules, "ipykernel", sys)
    assert trends._start_method() == "forkserver"
    monkeypatch.delitem(sys.modules, "ipykernel")
    assert trends._start_method() is None  # a threaded program: its points are computed in-process
    monkeypatch.setattr(sys, "platform", "darwin")
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert trends._start_method() is None


def test_no_start_method_computes_every_point_here(history, pools, monkeypatch):
    monkeypatch.setattr(trends, "_start_method", lambda: None)
    pts = trends.points(history, ["inventory"], cache_dir=False, workers=2)
    assert pools == [] and list(pts["repositories"]) == [2, 3, 4]


def test_large_snapshots_are_computed_one_at_a_time_in_this_process(history, monkeypatch, pools):
    monkeypatch.setattr(trends, "_start_method", lambda: "fork")
    monkeypatch.setattr(trends, "PARALLEL_MAX_IMAGES", -1)  # every snapshot counts as large
    pts = trends.points(history, ["inventory", "findings"], cache_dir=False, workers=2)
    assert pools == []
    assert list(pts["repositories"]) == [2, 3, 4]


def test_a_point_is_what_the_full_analyses_compute(demo_snapshot):
    from ecr_audit import cost, findings, images, load

    p = trends.point(demo_snapshot, stale_days=30, cache_dir=False)
    inv = load(demo_snapshot)
    counts = findings.findings(inv)["severity"].astype(str).value_counts()
    assert {s: p[s] for s in findings.SEVERITIES} == {s: int(counts.get(s, 0)) for s in findings.SEVERITIES}
    assert sum(p[s] for s in findings.SEVERITIES) > 0
    total = cost.rollup(cost.storage(inv), "total").iloc[0]
    assert p["cost_usd_per_month"] == float(total["cost_usd_per_month"]) > 0
    assert p["repositories_undetermined"] == int(total["repositories_undetermined"])
    assert p["repositories_upper_bound"] == int(total["repositories_upper_bound"])
    s = images.stale(inv, 30)
    stale = s[s["is_stale"].fillna(False).astype(bool) & ~s["is_index"].astype(bool)]
    assert p["stale_images"] == int(s["is_stale"].fillna(False).astype(bool).sum()) > 0
    assert p["stale_bytes"] == int(stale["size_bytes"].fillna(0).sum())
    assert (p["repositories"], p["images"]) == (len(inv.repositories), len(inv.images))


def test_a_changed_price_list_changes_the_cost_point(demo_snapshot, tmp_path):
    """Price tables are reused across snapshots with the same Price List, never across different ones."""
    from ecr_audit import load

    inv = load(demo_snapshot)
    frames = {name: inv.frames[name] for name in inv.frames}
    sp = frames["storage_prices"]
    frames["storage_prices"] = sp.assign(
        price=(pd.to_numeric(sp["price"]) * 2).astype(str).astype(sp["price"].dtype)
    )
    dearer = save(Inventory.from_frames(meta=inv.meta, **frames), tmp_path / "dearer")
    pts = trends.points([demo_snapshot, dearer, demo_snapshot], ["cost"], cache_dir=False, workers=1)
    cheap, dear, again = pts["cost_usd_per_month"]
    assert dear == pytest.approx(2 * cheap) and again == cheap > 0


def test_a_histories_points_are_cached_inside_it_and_never_listed(history, monkeypatch):
    from ecr_audit import history as hist

    monkeypatch.delenv(trends.CACHE_ENV, raising=False)
    directory = history[0].parent
    pts = trends.of_history(directory, ["inventory"], workers=1)
    cache = directory / trends.HISTORY_CACHE
    assert len(list(cache.glob("*.json"))) == 3  # one per snapshot: they travel with the history
    assert list(hist.snapshots(directory)["name"]) == list(pts["name"])  # the cache is no snapshot
    monkeypatch.setenv(trends.CACHE_ENV, str(directory.parent / "elsewhere"))
    assert trends.history_cache_dir(directory) == trends.default_cache_dir()  # the user's word first


@pytest.mark.parametrize("text", ["{not json", '{"repositories": 2}', '{"repositories": "2", "images": 0}'])
def test_a_damaged_cache_entry_is_recomputed_not_trusted(history, tmp_path, text):
    cache = tmp_path / "cache"
    first = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    for f in cache.glob("*.json"):
        f.write_text(text)
    again = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    pd.testing.assert_frame_equal(again, first)


def test_prune_cache_removes_only_entries_unused_for_days(history, tmp_path):
    import os
    import time

    cache = tmp_path / "cache"
    trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    old, *recent = sorted(cache.glob("*.json"))
    week_ago = time.time() - 8 * 86400
    os.utime(old, (week_ago, week_ago))
    assert trends.prune_cache(cache) == 1
    assert sorted(cache.glob("*.json")) == recent
    # a cache hit counts as use: an old entry read again is kept
    for f in recent:
        os.utime(f, (week_ago, week_ago))
    trends.points(history, ["inventory"], cache_dir=cache, workers=1)  # hits for those, a new one
    assert trends.prune_cache(cache) == 0 and len(list(cache.glob("*.json"))) == 3


def test_points_in_a_daemonic_process(history, tmp_path):
    """A daemonic process (a multiprocessing.Pool worker running a user's reports) may not start
    processes: its points are computed in it."""
    import json
    import multiprocessing

    result = tmp_path / "result.json"

    def run():
        try:
            pts = trends.points(history, ["inventory"], cache_dir=False, workers=2)
            result.write_text(json.dumps([int(n) for n in pts["repositories"]]))
        except BaseException as e:  # noqa: BLE001 - reported to the test
            result.write_text(json.dumps(repr(e)))

    proc = multiprocessing.get_context("fork").Process(target=run, daemon=True)
    proc.start()
    proc.join(120)
    assert json.loads(result.read_text()) == [2, 3, 4]


# -- a shared history directory: what another writer of it may have put there --------------------


def test_a_symlinked_history_cache_is_neither_written_nor_pruned_through(
    history, tmp_path_factory, monkeypatch
):
    """`DIR/.trends` as a link to elsewhere: the user's cache is used, the link's target untouched
    (pruning through it would delete the user's own old .json files there)."""
    import os
    import time

    monkeypatch.delenv(trends.CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    elsewhere = tmp_path_factory.mktemp("elsewhere")
    precious = elsewhere / "settings.json"
    precious.write_text("{}")
    week_ago = time.time() - 8 * 86400
    os.utime(precious, (week_ago, week_ago))
    directory = history[0].parent
    (directory / trends.HISTORY_CACHE).symlink_to(elsewhere, target_is_directory=True)
    assert trends.history_cache_dir(directory) == trends.default_cache_dir()
    pts = trends.of_history(directory, ["inventory"], workers=1)
    assert list(pts["repositories"]) == [2, 3, 4]
    assert list(elsewhere.iterdir()) == [precious]
    assert len(list(trends.default_cache_dir().glob("*.json"))) == 3


def _entries(cache):
    return sorted(cache.glob("*.json"))


def test_a_linked_cache_entry_is_not_trusted(history, tmp_path):
    cache = tmp_path / "cache"
    first = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    planted = tmp_path / "planted.json"
    planted.write_text('{"repositories": 99, "images": 99}')  # well-formed, wrong
    for f in _entries(cache):
        f.unlink()
        f.symlink_to(planted)
    again = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    pd.testing.assert_frame_equal(again, first)


def test_a_cache_entry_that_is_a_fifo_does_not_hang_the_point(history, tmp_path):
    import os
    import threading

    cache = tmp_path / "cache"
    first = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    for f in _entries(cache):
        f.unlink()
        os.mkfifo(f)
    out = []
    worker = threading.Thread(
        target=lambda: out.append(trends.points(history, ["inventory"], cache_dir=cache, workers=1)),
        daemon=True,
    )
    worker.start()
    worker.join(60)  # a guard against a hang, not a speed assertion: the points take milliseconds
    hung = worker.is_alive()
    while worker.is_alive():  # release a reader blocked on a FIFO (the unfixed code)
        for f in _entries(cache):
            try:
                os.close(os.open(f, os.O_WRONLY | os.O_NONBLOCK))
            except OSError:
                pass
        worker.join(1)
    assert not hung, "reading a FIFO cache entry blocked"
    pd.testing.assert_frame_equal(out[0], first)


def test_a_planted_temporary_file_link_is_not_written_through(history, tmp_path):
    """The cache file is written under a temporary name first: a link planted at that name (which
    was predictable) must not make ecr-audit overwrite the link's target."""
    import os

    cache = tmp_path / "cache"
    cache.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("the user's own file")
    for p in history:
        key = trends.cache_key(p, "inventory", 90)
        (cache / f"{key}.{os.getpid()}.tmp").symlink_to(victim)
    pts = trends.points(history, ["inventory"], cache_dir=cache, workers=1)
    assert list(pts["repositories"]) == [2, 3, 4]
    assert victim.read_text() == "the user's own file"
    assert not any(f.is_symlink() for f in _entries(cache))


def test_the_cache_key_changes_with_the_shipped_prices_not_only_the_code(tmp_path):
    """A release that changes only data/prices.json must not reuse cost points priced by the old table."""
    pkg = tmp_path / "pkg"
    (pkg / "data").mkdir(parents=True)
    (pkg / "trends.py").write_text("x = 1\n")
    (pkg / "data" / "prices.json").write_text('{"us-east-1": 0.10}')
    before = trends._code_fingerprint(pkg)
    (pkg / "data" / "prices.json").write_text('{"us-east-1": 0.11}')
    trends._code_fingerprint.cache_clear()
    assert trends._code_fingerprint(pkg) != before
