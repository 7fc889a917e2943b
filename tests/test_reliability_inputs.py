"""Hostile and malformed input: snapshots, the CLI, manifests, the image graph, policies, lifecycle.

Complements (does not repeat) test_snapshot.py, test_report.py, test_manifests.py,
test_images.py, test_access_semantics.py / test_access_properties.py and test_lifecycle.py.
"""
import hashlib
import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecr_audit import Inventory, access, images, lifecycle
from ecr_audit.cli import main
from ecr_audit.collect.manifests import (ACCEPTED_MEDIA_TYPES, INDEX_TYPES, MAX_DESCRIPTORS, OCI_INDEX,
                                         OCI_MANIFEST, parse_manifest)
from ecr_audit.snapshot import MANIFEST, SnapshotError, load, save
from tests.access_helpers import classified, inventory
from tests.test_images import R, child, d, img, inv_of

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def one_line_error(capsys, rc, expected_rc=2):
    err = capsys.readouterr().err
    assert rc == expected_rc
    assert "Traceback" not in err
    assert len(err.strip().splitlines()) == 1, err
    return err


# -- snapshots ---------------------------------------------------------------------------------

def _tiny_snapshot(tmp_path):
    inv = Inventory.from_frames(meta={"completeness": "complete"}, images=[img("a", ["v1"])])
    return save(inv, tmp_path / "snap")


def _edit_manifest(path, frame, **entry):
    m = json.loads((path / MANIFEST).read_text())
    m["frames"][frame].update(entry)
    (path / MANIFEST).write_text(json.dumps(m))


@pytest.mark.parametrize("listed", ["../outside.parquet", "/etc/passwd", "sub/../images.parquet", ""])
def test_manifest_listing_a_file_outside_the_snapshot_is_refused(tmp_path, listed):
    snap = _tiny_snapshot(tmp_path)
    (tmp_path / "outside.parquet").write_bytes((snap / "images.parquet").read_bytes())
    _edit_manifest(snap, "images", file=listed)
    with pytest.raises(SnapshotError, match="images"):
        load(snap)


def test_frame_file_symlinked_outside_the_snapshot_is_refused(tmp_path):
    snap = _tiny_snapshot(tmp_path)
    outside = tmp_path / "elsewhere.parquet"
    os.replace(snap / "images.parquet", outside)
    os.symlink(outside, snap / "images.parquet")  # the checksum still matches: only the location is wrong
    with pytest.raises(SnapshotError, match="outside the snapshot"):
        load(snap)


def test_manifest_that_is_not_an_object_or_lists_frames_wrongly_is_one_clear_error(tmp_path, capsys):
    snap = _tiny_snapshot(tmp_path)
    for text in ("[]", '{"frames": []}', "\x00\x01", '{"schema_version": 1, "frames": {"images": 5}}'):
        (snap / MANIFEST).write_text(text)
        with pytest.raises(SnapshotError, match="manifest.json|images"):
            load(snap)
        err = one_line_error(capsys, main(["show", str(snap)]))
        assert str(snap) in err


# -- the CLI -----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv", [
    [], ["frobnicate"], ["collect", "--bogus"], ["collect", "--workers", "many"],
    ["collect", "--accounts", "12345"], ["collect", "--org", "--accounts", "012345678901"],
    ["collect", "--read-manifests", "sometimes"], ["report"], ["findings", "x", "--format", "xml"],
])
def test_bad_arguments_are_one_line_exit_2(capsys, argv):
    one_line_error(capsys, main(argv))


@pytest.mark.parametrize("command", [["report"], ["show"], ["findings"]])
def test_missing_snapshot_path_is_one_line_exit_2(tmp_path, capsys, command):
    err = one_line_error(capsys, main([*command, str(tmp_path / "nope")]))
    assert "no such snapshot" in err


def test_unwritable_findings_and_report_outputs_are_one_line_exit_2(tmp_path, capsys, demo_snapshot):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    err = one_line_error(capsys, main(["findings", str(demo_snapshot), "--out", str(blocker / "f.csv")]))
    assert str(blocker) in err
    err = one_line_error(capsys, main(["report", str(demo_snapshot), "--out", str(blocker / "report"),
                                       "--quiet"]))
    assert str(blocker) in err


@pytest.mark.slow
def test_unwritable_collect_output_is_one_line_exit_2(tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    err = one_line_error(capsys, main(["collect", "--sandbox", "--quiet", "--out", str(blocker / "snap")]))
    assert str(blocker) in err
    existing = tmp_path / "not-a-snapshot"
    existing.mkdir()
    (existing / "precious.txt").write_text("keep me")
    err = one_line_error(capsys, main(["collect", "--sandbox", "--quiet", "--out", str(existing)]))
    assert "not a snapshot" in err and (existing / "precious.txt").read_text() == "keep me"


# -- manifests (hypothesis) --------------------------------------------------------------------

hexes = st.text("0123456789abcdef", min_size=64, max_size=64).map(lambda h: "sha256:" + h)
scalars = st.none() | st.booleans() | st.integers(-2, 2**70) | st.floats() | st.text(max_size=12)
descriptor = st.fixed_dictionaries({}, optional={
    "digest": hexes | scalars, "size": st.integers(-3, 2**40) | scalars,
    "mediaType": st.sampled_from(ACCEPTED_MEDIA_TYPES + ["application/x-evil", "<b>x</b>"]) | scalars,
    "annotations": st.dictionaries(st.sampled_from(["vnd.docker.reference.type", "vnd.docker.reference.digest",
                                                    "x"]), st.sampled_from(["attestation-manifest"]) | hexes
                                   | scalars, max_size=2) | scalars,
    "platform": st.fixed_dictionaries({}, optional={"os": scalars, "architecture": scalars,
                                                    "variant": scalars}) | scalars,
})
manifest_docs = st.fixed_dictionaries({}, optional={
    "schemaVersion": st.integers(0, 3) | scalars,
    "mediaType": st.sampled_from(ACCEPTED_MEDIA_TYPES + ["application/x-unknown", ""]) | scalars,
    "config": descriptor | scalars, "layers": st.lists(descriptor, max_size=4) | scalars,
    "manifests": st.lists(descriptor, max_size=4) | scalars, "blobs": st.lists(descriptor, max_size=3),
    "subject": descriptor | scalars, "artifactType": st.text(max_size=10) | scalars,
})


def _sha(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


@FAST
@given(manifest_docs, st.sampled_from([None] + ACCEPTED_MEDIA_TYPES))
def test_manifest_parser_never_raises_and_valid_output_is_well_formed(doc, media_type):
    text = json.dumps(doc)
    p = parse_manifest(_sha(text), text, media_type)
    assert p.status in ("present", "invalid")
    if p.status == "invalid":
        assert p.problem and p.layers == [] and p.edges == []
        return
    digest = _sha(text)
    for e in p.edges:
        assert e["target_digest"].startswith("sha256:") and len(e["target_digest"]) == 71
        assert not (e["source_digest"] == e["target_digest"])
    for layer in p.layers:
        assert layer["image_digest"] == digest
        assert layer["size_bytes"] is None or layer["size_bytes"] >= 0
    if p.media_type not in INDEX_TYPES:
        assert not any(e["kind"] == "index_child" for e in p.edges)


@FAST
@given(st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")))
def test_manifest_parser_never_raises_on_garbage_text(text):
    p = parse_manifest(_sha(text), text)
    assert p.status in ("present", "invalid")
    assert p.status == "invalid" or text.strip().startswith("{")


def test_huge_index_beyond_the_descriptor_limit_is_invalid_not_parsed():
    doc = {"mediaType": OCI_INDEX, "manifests": [{"digest": d(str(i)), "size": 1} for i in range(MAX_DESCRIPTORS + 1)]}
    text = json.dumps(doc)
    p = parse_manifest(_sha(text), text)
    assert p.status == "invalid" and "more than" in p.problem and p.edges == []


def test_index_referencing_digests_missing_from_the_repository_is_parsed_with_its_edges():
    doc = {"mediaType": OCI_INDEX, "manifests": [{"digest": d("ghost-1")}, {"digest": d("ghost-2")}]}
    text = json.dumps(doc)
    p = parse_manifest(_sha(text), text)
    assert p.status == "present" and [e["target_digest"] for e in p.edges] == [d("ghost-1"), d("ghost-2")]


# -- the image graph: self references, cycles, missing targets ---------------------------------

def test_index_listing_itself_terminates_untagged_is_orphan_tagged_is_live():
    for tags, expected in (((), "orphan"), (("v1",), "live")):
        c = images.classify(inv_of([img("a", tags, media=OCI_INDEX)], [child("a", "a")])).set_index("image_digest")
        assert c.loc[d("a"), "liveness"] == expected


def test_cycle_of_indexes_is_finite_kept_alive_only_by_a_tag():
    untagged = images.classify(inv_of([img("a", media=OCI_INDEX), img("b", media=OCI_INDEX)],
                                      [child("a", "b"), child("b", "a")]))
    assert set(untagged["liveness"]) == {"orphan"}
    tagged = images.classify(inv_of([img("a", ["v1"], media=OCI_INDEX), img("b", media=OCI_INDEX), img("c")],
                                    [child("a", "b"), child("b", "a"), child("b", "c")])).set_index("image_digest")
    assert set(tagged["liveness"]) == {"live"}


def test_referrers_that_are_each_others_subject_are_not_called_live():
    sub = [{**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"}
           for s, t in (("x", "y"), ("y", "x"))]
    c = images.classify(inv_of([img("x"), img("y")], sub))
    assert not c["is_live"].fillna(False).any()


def test_referrers_that_are_each_others_subject_without_manifests_read_are_undetermined_not_orphans():
    # A subject cycle (a self subject, or two images naming each other, an index among them) decides
    # nothing: without manifests either image could be an index child we could not see.
    for pairs in ((("x", "y"), ("y", "x")), (("x", "x"),)):
        sub = [{**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"} for s, t in pairs]
        c = images.classify(inv_of([img("x", media=OCI_INDEX), img("y")], sub, manifests_read=False))
        assert set(c["liveness"]) == {"undetermined"}, pairs
        assert images.orphans(inv_of([img("x", media=OCI_INDEX), img("y")], sub, manifests_read=False)).empty
    # With manifests read the graph is known: nothing tagged keeps them, so they are orphans.
    sub = [{**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"}
           for s, t in (("x", "y"), ("y", "x"))]
    assert set(images.classify(inv_of([img("x"), img("y")], sub, manifests_read=True))["liveness"]) == {"orphan"}


def test_index_whose_children_are_missing_stays_live_and_adds_no_rows():
    c = images.classify(inv_of([img("a", ["v1"], media=OCI_INDEX)], [child("a", "ghost")]))
    assert c["image_digest"].tolist() == [d("a")] and c["liveness"].tolist() == ["live"]


def test_unreadable_or_invalid_index_makes_untagged_neighbours_undetermined_not_orphans():
    for status in ("unreadable", "invalid"):
        c = images.classify(inv_of([img("a", ["v1"], media=OCI_INDEX, manifest_status=status), img("b")], []))
        c = c.set_index("image_digest")
        assert c.loc[d("b"), "liveness"] == "undetermined", status


def test_deep_index_chain_of_3000_is_classified_live_quickly():
    n = 3000
    imgs = [img(f"i{k}", ["v1"] if k == 0 else [], media=OCI_INDEX) for k in range(n)]
    c = images.classify(inv_of(imgs, [child(f"i{k}", f"i{k + 1}") for k in range(n - 1)]))
    assert (c["liveness"] == "live").all() and len(c) == n


def _acyclic(edges) -> bool:
    graph = {}
    for s, t, _ in edges:
        graph.setdefault(s, set()).add(t)
    state = {}

    def visit(n):
        if state.get(n) == 1:
            return False
        if state.get(n) == 2:
            return True
        state[n] = 1
        ok = all(visit(m) for m in graph.get(n, ()))
        state[n] = 2
        return ok
    return all(visit(n) for n in list(graph))


@FAST
@given(st.lists(st.tuples(st.integers(0, 7), st.integers(0, 7),
                          st.sampled_from(["index_child", "referrer_subject", "attestation_subject"])), max_size=20),
       st.sets(st.integers(0, 7), max_size=3), st.sets(st.integers(0, 7), max_size=2), st.booleans())
def test_random_graphs_with_cycles_terminate_with_one_honest_row_per_image(edges, tagged, unreadable, read):
    imgs = [img(f"n{k}", ["t"] if k in tagged else [], media=OCI_INDEX if k % 2 else OCI_MANIFEST,
                manifest_status="unreadable" if k in unreadable else "present") for k in range(8)]
    refs = [{**R, "source_digest": d(f"n{s}"), "target_digest": d(f"n{t}"), "kind": kind} for s, t, kind in edges]
    c = images.classify(inv_of(imgs, refs, manifests_read=read))
    assert sorted(c["image_digest"]) == sorted(d(f"n{k}") for k in range(8))
    assert set(c["role"]) <= set(images.ROLES)
    assert set(c["liveness"]) <= {"live", "orphan", "undetermined"}
    live = c.set_index("image_digest")["liveness"]
    assert all(live[d(f"n{k}")] == "live" for k in tagged)
    # Cycles (self edges included) cannot come from ECR: digests are hashes of the manifests that
    # name them. Only the termination checks above apply to them.
    if not read and _acyclic(edges):
        # without manifests no untagged image may be called an orphan on graph grounds
        untagged = [d(f"n{k}") for k in range(8) if k not in tagged]
        assert "orphan" not in set(live[untagged]) or all(
            c.set_index("image_digest").loc[x, "role"] in ("signature", "referrer", "attestation")
            for x in untagged if live[x] == "orphan")


# -- policies: the cases the access tests do not list ------------------------------------------

PUBLIC_PULL = {"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]}
DENY_ALL = {"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}


def _nested(depth):
    v = "o-abc"
    for _ in range(depth):
        v = {"StringEquals": v} if depth % 2 else [v]
    return v


@pytest.mark.parametrize("bad", [
    {**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": _nested(60)}}},
    {**DENY_ALL, "Condition": [{"StringEquals": {"aws:PrincipalOrgID": "o-x"}}]},
    {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": "StringEquals"},
    {"Effect": "Deny", "Principal": "*", "Action": [None, 5, {"a": 1}]},
    {"Effect": "Deny", "Principal": ["*", 7], "Action": "ecr:*"},
    {**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"deep": {"er": "o-x"}}}}},
    {"Sid": "<script>alert(1)</script>" * 2000, "Effect": "Deny", "Principal": "*", "Action": "x" * 100_000},
])
def test_malformed_deny_next_to_a_public_grant_never_narrows_it(bad):
    g = access.grants(inventory({"Version": "2012-10-17", "Statement": [PUBLIC_PULL, bad]}))
    got = classified(g)
    # Either the public grant survives, or the whole policy is undetermined — never narrower.
    assert got.get("*", ("", ""))[0] == "public" or set(g["exposure"]) == {"undetermined"}, got


def test_deeply_nested_condition_on_an_allow_never_crashes_and_is_reported():
    st_ = {**PUBLIC_PULL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": _nested(500)}}}
    inv = inventory({"Version": "2012-10-17", "Statement": [st_]})
    g = access.grants(inv)
    f = access.policy_findings(inv)
    assert len(g) >= 1 and set(g["exposure"]) <= {"public", "undetermined"}
    assert len(f) >= 1


@FAST
@given(st.lists(st.dictionaries(st.sampled_from(["Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                                                 "Condition", "Resource", "Sid"]),
                                st.recursive(scalars, lambda c: st.lists(c, max_size=3)
                                             | st.dictionaries(st.text(max_size=6), c, max_size=3), max_leaves=8),
                                max_size=6), max_size=4))
def test_garbage_statements_added_to_a_public_grant_never_narrow_it(garbage):
    g = access.grants(inventory({"Version": "2012-10-17", "Statement": [PUBLIC_PULL, *garbage]}))
    pulls = g[g["can_pull"].fillna(False).astype(bool)] if len(g) else g
    # Garbage can be read as a valid Deny (then narrowing is real); otherwise public must stay.
    valid_deny = any(isinstance(s, dict) and s.get("Effect") == "Deny" for s in garbage)
    if not valid_deny:
        assert "public" in set(pulls["exposure"]) or set(g["exposure"]) == {"undetermined"}


# -- lifecycle: parser-accepted random policies never crash the simulator ----------------------

rule = st.fixed_dictionaries({
    "rulePriority": st.integers(1, 5),
    "selection": st.fixed_dictionaries({
        "tagStatus": st.sampled_from(["tagged", "untagged", "any"]),
        "countType": st.sampled_from(["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"]),
        "countNumber": st.integers(0, 5)},
        optional={"tagPatternList": st.lists(st.sampled_from(["v*", "*", "**", "<b>*", "prod"]), min_size=1,
                                             max_size=2),
                  "tagPrefixList": st.lists(st.sampled_from(["v", "", "rel"]), min_size=1, max_size=2),
                  "countUnit": st.sampled_from(["days", "hours"])}),
    "action": st.fixed_dictionaries({"type": st.sampled_from(["expire", "transition", "delete"])},
                                    optional={"targetStorageClass": st.sampled_from(["archive", "standard"])}),
}, optional={"description": st.text(max_size=20)})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rule, min_size=1, max_size=3))
def test_random_lifecycle_policies_give_findings_or_simulations_never_crashes(rules):
    text = json.dumps({"rules": rules})
    p = lifecycle.parse(text)
    inv = inv_of([img("a", ["v1"], age_days=400), img("b", ["v2"], age_days=5), img("c", age_days=200)])
    if p.is_valid:
        sim = lifecycle.simulate(inv, policy=text, as_of=pd.Timestamp("2026-11-01", tz="UTC"))
        assert set(sim["image_digest"]) <= {d("a"), d("b"), d("c")}
    else:
        assert p.errors and all(e.message for e in p.errors)


def test_unusable_collect_output_is_refused_before_anything_is_collected(tmp_path, capsys, monkeypatch):
    import sys
    collect_pkg = sys.modules["ecr_audit.collect"]  # the attribute ecr_audit.collect is the function

    def must_not_run(*a, **k):
        raise AssertionError("collection started although the output cannot be written")
    monkeypatch.setattr(collect_pkg, "collect", must_not_run)
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    err = one_line_error(capsys, main(["collect", "--quiet", "--out", str(blocker / "deeper" / "snap")]))
    assert err.strip() == f"ecr-audit: error: {blocker}: is a file, so {blocker / 'deeper' / 'snap'} cannot be created"
