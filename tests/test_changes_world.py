"""A world collected, changed, and collected again: `changes.diff` gives exactly those changes.

The demo world is collected into a history directory, then changed — payments/worker's policy
made public, an image pushed and one deleted, a tag moved, its lifecycle policy edited, and the
data account made unreadable (AssumeRole refused, as the fault tests do) — and collected again.
"""

import json
from pathlib import Path

import pytest

from ecr_audit import changes, history, lifecycle, load, save
from ecr_audit.cli import main
from ecr_audit.sandbox import demo as demo_mod
from ecr_audit.sandbox import manifests as mf
from ecr_audit.sandbox.world import Image

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

PAYMENTS, DATA = demo_mod.PAYMENTS, demo_mod.DATA
WORKER = "payments/worker"
PUSHED = mf.single_image("worker:v1.4.0", [mf.blob("base:debian-12:rootfs", 29_150_000)])
UNREFERENCED = "worker:unreferenced"


def _collect(world, path, setup=None):
    from ecr_audit import sandbox
    from ecr_audit.collect import collect

    with sandbox.running(world) as org:
        if setup:
            setup(org)
        inv = collect(org.session(), org=True, role_name=org.role_name)
    inv.meta["source"] = "sandbox:demo"
    return save(inv, path)


def _changed_world():
    world = demo_mod.demo_world()
    reg = world.account(PAYMENTS).registry("us-east-1")
    worker = reg.repository(WORKER)
    doc = json.loads(worker.policy)
    doc["Statement"].append({"Sid": "Everyone", "Effect": "Allow", "Principal": "*", "Action": demo_mod.PULL})
    worker.policy = json.dumps(doc)
    unreferenced = mf.single_image(UNREFERENCED, [])
    gone = [im for im in worker.images if im.manifest.digest != unreferenced.digest]
    deleted = [im.digest for im in worker.images if im not in gone]
    moved_from = next(im for im in gone if "alpha-2" in im.tags)
    moved_from.tags = ()
    gone.append(Image(PUSHED, ("v1.4.0", "alpha-2"), world.now))
    worker.images = gone
    rules = json.loads(worker.lifecycle_policy)
    rules["rules"][2]["selection"]["countNumber"] = 100  # rule 3 now keeps 100 images, not 1
    worker.lifecycle_policy = json.dumps(rules)
    return world, deleted, moved_from.digest


@pytest.fixture(scope="module")
def world_history(tmp_path_factory, demo_snapshot):
    """(history dir, first snapshot, second snapshot, deleted digests, digest the tag moved from)."""
    root = tmp_path_factory.mktemp("history")
    first = _collect(demo_mod.demo_world(), history.new_path(root))
    world, deleted, moved_from = _changed_world()
    second = _collect(world, history.new_path(root), lambda org: org.faults.add_assume_role_failure(DATA))
    return root, first, second, deleted, moved_from


@pytest.fixture(scope="module")
def delta(world_history):
    _root, first, second, *_ = world_history
    return changes.diff(first, second)


def _worker(df):
    return df[(df["account_id"] == PAYMENTS) & (df["repository_name"] == WORKER)]


def test_grant_made_public(delta):
    g = delta.grants
    assert g[["change", "repository_name", "grantee", "exposure_after"]].values.tolist() == [
        ["added", WORKER, "*", "public"]
    ]
    assert delta.new_public_repositories.values.tolist() == [[PAYMENTS, "us-east-1", WORKER]]
    new = delta.findings[delta.findings["state"] == "new"]
    assert set(_worker(new)["finding_id"]) >= {"ecr_repository_public_pull"}
    assert delta.got_worse


def test_images_pushed_and_deleted(delta, world_history):
    *_, deleted, _moved = world_history
    im = delta.images
    assert im.loc[im["change"] == "pushed", ["repository_name", "image_digest"]].values.tolist() == [
        [WORKER, PUSHED.digest]
    ]
    assert im.loc[im["change"] == "deleted", ["repository_name", "image_digest"]].values.tolist() == [
        [WORKER, d] for d in deleted
    ]


def test_tag_moved(delta, world_history):
    *_, moved_from = world_history
    moved = delta.images[delta.images["change"] == "tag_moved"]
    assert moved[["repository_name", "tag", "old_digest", "new_digest"]].values.tolist() == [
        [WORKER, "alpha-2", moved_from, PUSHED.digest]
    ]


def test_lifecycle_policy_edited(delta, world_history):
    _root, _first, second, *_ = world_history
    p = delta.policies
    assert p[["kind", "change", "repository_name"]].values.tolist() == [
        ["lifecycle", "changed", WORKER],
        ["repository", "changed", WORKER],
    ]
    lc_diff = p.loc[p["kind"] == "lifecycle", "diff"].iloc[0]
    assert '-        "countNumber": 1' in lc_diff and '+        "countNumber": 100' in lc_diff
    # Rule 3 keeping 100 instead of 1 can only spare images: they are what the old rule 3
    # expired among today's images.
    lc = delta.lifecycle
    assert set(lc["change"]) == {"no_longer_acts"}
    assert set(lc["repository_name"]) == {WORKER}
    inv = load(second)
    before = lifecycle.simulate(
        inv, policy=p.loc[p["kind"] == "lifecycle", "policy_text_before"].iloc[0], repositories=[WORKER]
    )
    by_rule3 = before.loc[before["rule_priority"] == 3, "image_digest"]
    assert sorted(lc["image_digest"]) == sorted(by_rule3) and len(by_rule3)


def test_account_made_unreadable_is_unknown_not_resolved(delta):
    f = delta.findings
    data = f[f["account_id"] == DATA]
    said = data["finding_id"] == "ecr_audit_unreadable"
    assert len(data[~said]) > 10 and set(data.loc[~said, "state"]) == {"unknown"}
    # ... and the audit says it could not look, as a new finding
    assert data.loc[said, "state"].tolist() == ["new"]
    cov = delta.coverage
    assert set(cov["account_id"]) == {DATA} and set(cov["change"]) == {"no_longer_read"}
    assert len(cov) == 2  # both of its regions
    for frame in (delta.repositories, delta.images, delta.grants, delta.policies, delta.storage):
        assert not (frame["account_id"] == DATA).any()


def test_nothing_else_changed(delta):
    assert delta.repositories.empty
    assert set(delta.images["repository_name"]) == {WORKER}
    assert set(delta.grants["repository_name"]) == {WORKER}
    changed_cost = delta.storage[delta.storage["billable_bytes_delta"] != 0]
    assert changed_cost["repository_name"].tolist() == [WORKER]
    s = delta.summary()
    assert (s["images_pushed"], s["images_deleted"], s["tags_moved"]) == (1, len(_deleted(delta)), 1)
    assert s["units_no_longer_read"] == 2 and s["new_public_repositories"] == 1


def _deleted(delta):
    return delta.images[delta.images["change"] == "deleted"]


def test_history_lists_both_and_previous(world_history):
    root, first, second, *_ = world_history
    listed = history.snapshots(root)
    assert listed["path"].tolist() == [str(first), str(second)]
    assert listed["completeness"].tolist() == ["complete", "partial"]
    assert history.previous(second) == Path(first)
    assert history.previous(first) is None


def test_diff_cli_exit_6_when_worse_and_0_when_not(world_history, demo_snapshot, tmp_path, capsys):
    _root, first, second, *_ = world_history
    out = tmp_path / "changes.json"
    assert main(["diff", str(first), str(second), "--format", "json", "--out", str(out)]) == 6
    doc = json.loads(out.read_text())
    assert doc["got_worse"] is True and doc["summary"]["new_public_repositories"] == 1
    assert [g["grantee"] for g in doc["grants"]] == ["*"]
    assert main(["diff", str(demo_snapshot), str(first), "--format", "text"]) == 0
    text = capsys.readouterr().out
    assert "nothing got worse" in text


def test_diff_cli_refuses_newer_old(world_history, capsys):
    _root, first, second, *_ = world_history
    assert main(["diff", str(second), str(first)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "newer" in err


def test_run_collects_reports_and_compares_with_the_previous_snapshot(tmp_path, demo_snapshot, capsys):
    import shutil

    root = tmp_path / "history"
    root.mkdir()
    earlier = root / "20260101T000000Z"
    shutil.copytree(demo_snapshot, earlier)  # an earlier audit of the same organization
    report_dir = tmp_path / "report"
    args = ["run", "--history", str(root), "--sandbox", "--quiet", "--only", "storage_cost"]
    assert main([*args, "--report-out", str(report_dir)]) == 0
    out = capsys.readouterr().out
    snaps = history.snapshots(root)
    assert len(snaps) == 2 and snaps["is_loadable"].all()
    assert snaps["path"].iloc[0] == str(earlier)
    assert "nothing got worse" in out
    assert (report_dir / "storage_cost.html").exists() and (report_dir / "findings.csv").exists()
    doc = json.loads((report_dir / "changes.json").read_text())
    assert doc["old"]["collected_at"] == load(earlier).meta["collected_at"] and doc["got_worse"] is False


def test_the_older_snapshot_is_freed_before_the_newer_is_analysed(world_history, monkeypatch):
    """diff of two paths holds one snapshot's frames and analyses at a time (issue 17: 4.5 GiB at
    1M images with both alive): when the newer one's findings run, the older Inventory is gone."""
    import weakref

    from ecr_audit import findings

    _root, first, second, *_ = world_history
    loaded, others_alive = [], []
    real_load, real_findings = changes.load, findings.findings

    def load_spy(path):
        inv = real_load(path)
        loaded.append(weakref.ref(inv))
        return inv

    def findings_spy(inv, *args, **kwargs):
        others_alive.append([ref() is not None for ref in loaded if ref() is not inv])
        return real_findings(inv, *args, **kwargs)

    monkeypatch.setattr(changes, "load", load_spy)
    monkeypatch.setattr(findings, "findings", findings_spy)
    changes.diff(first, second)
    assert others_alive == [[True], [False]]


def test_inventories_given_are_left_whole_and_give_the_same_changes(world_history, delta):
    _root, first, second, *_ = world_history
    old, new = load(first), load(second)
    given = changes.diff(old, new)
    assert json.dumps(changes.to_json(given), default=str) == json.dumps(changes.to_json(delta), default=str)
    for inv in (old, new):  # the caller's Inventories still answer (diff drops only what it loaded)
        assert len(inv.images) and len(lifecycle.simulate(inv))
