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
    trends.points(history, ["inventory"], cache_dir=False)
    assert loaded and not any(inv.frames.is_loaded(n) for inv in loaded for n in inv.frames)


def test_points_are_cached_per_snapshot_and_recomputed_for_a_new_one(history, tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = trends.points(history[:2], ["findings"], cache_dir=cache)
    computed = []
    real = trends._compute
    monkeypatch.setattr(trends, "_compute", lambda inv, m, d: computed.append(m) or real(inv, m, d))
    again = trends.points(history, ["findings"], cache_dir=cache)
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
