"""The changes page on two demo snapshots of one history directory, and alone."""

import os
import re
import shutil

import pandas as pd
import pytest

from ecr_audit import changes, load, report, save, trends

pytestmark = pytest.mark.slow


def _earlier(inv, path):
    """The demo organization a week earlier: data/etl had no repository policy (so its public grants
    are new now) and every seventh image was not pushed yet."""
    frames = {name: inv.frames[name] for name in inv.frames}
    when = pd.Timestamp(inv.meta["collected_at"]) - pd.Timedelta(days=7)
    old = type(inv).from_frames(meta={**inv.meta, "collected_at": when.isoformat()}, **frames)
    rp = frames["repository_policies"]
    old.frames["repository_policies"] = rp[rp["repository_name"] != "data/etl"].reset_index(drop=True)
    images = frames["images"]
    old.frames["images"] = images[images.index % 7 != 0].reset_index(drop=True)
    return save(old, path / when.strftime("%Y%m%dT%H%M%SZ"))


@pytest.fixture(scope="module")
def history_page(demo_snapshot, tmp_path_factory):
    inv = load(demo_snapshot)
    history = tmp_path_factory.mktemp("history")
    earlier = _earlier(inv, history)
    now = history / pd.Timestamp(inv.meta["collected_at"]).strftime("%Y%m%dT%H%M%SZ")
    shutil.copytree(demo_snapshot, now)
    out = tmp_path_factory.mktemp("changes-report")
    before = os.environ.get(trends.CACHE_ENV)
    os.environ[trends.CACHE_ENV] = str(tmp_path_factory.mktemp("cache"))  # the notebook kernel inherits it
    try:
        results = report.run(now, out, only=["executive_summary", "changes"])
    finally:
        os.environ.pop(trends.CACHE_ENV) if before is None else os.environ.update({trends.CACHE_ENV: before})
    return {r.name: r for r in results}, out, changes.diff(earlier, now)


def _since(diff) -> str:
    """The headline the pages must show: the counts changes.diff gives for the same two snapshots."""
    s = diff.summary()
    return rf"since \d{{4}}-\d{{2}}-\d{{2}}: \+{s['new_critical']} critical, −{s['resolved']} resolved, cost \+\d+\.\d%"


def test_summary_and_index_say_what_changed_since_the_previous_audit(history_page):
    results, out, diff = history_page
    assert diff.summary()["new_critical"] >= 3  # data/etl's public push, delete and manage at least
    assert results["executive_summary"].ok, results["executive_summary"].error
    assert re.search(_since(diff), results["executive_summary"].html.read_text())
    assert re.search(_since(diff), (out / "index.html").read_text())


def test_changes_page_compares_with_the_previous_snapshot_of_the_history(history_page):
    results, out, diff = history_page
    result = results["changes"]
    assert result.ok, result.error
    page = result.html.read_text()
    text = re.sub(r"<[^>]+>", " ", page)
    worse, better, inventory = (
        text.index(s) for s in ("What got worse", "What got better", "Inventory and cost")
    )
    assert worse < better < inventory  # worse first
    assert re.search(_since(diff), text)
    new = pd.read_csv(out / "changes-new_critical_high.csv")
    # data/etl's new policy made it public; every new critical/high finding of the diff is listed
    etl = set(new.loc[new["repository_name"] == "data/etl", "finding_id"])
    assert {f"ecr_repository_public_{c}" for c in ("pull", "push", "delete", "manage")} <= etl
    f = diff.findings
    worse = f[f["state"].isin(["new", "reopened"]) & f["severity"].isin(["critical", "high"])]
    assert len(new) == len(worse) and set(new["state"]) == {"new"}
    assert list(pd.read_csv(out / "changes-new_public_repositories.csv")["repository_name"]) == ["data/etl"]
    assert (pd.read_csv(out / "changes-images.csv")["change"] == "pushed").sum() > 0
    assert page.count("data:image/png;base64") >= 4  # the four trend charts over the two snapshots


def test_changes_page_without_a_previous_snapshot_says_so_and_nothing_else(demo_report):
    results, out = demo_report
    result = next(r for r in results if r.name == "changes")
    assert result.ok, result.error
    page = result.html.read_text()
    assert "no earlier snapshot" in page
    assert not re.search(r"id=.(worse|better|inventory|trends)\b", page)  # no section but the message
    assert not list(out.glob("changes-*.csv"))
