"""Hostile and malformed input: snapshots, the CLI, manifests, the image graph, policies, lifecycle.

Complements (does not repeat) test_snapshot.py, test_report.py, test_manifests.py,
test_images.py, test_access_semantics.py / test_access_properties.py and test_lifecycle.py.
"""

import hashlib
import json
import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ecr_audit import Inventory, access, images, lifecycle
from ecr_audit.cli import main
from ecr_audit.collect.manifests import (
    ACCEPTED_MEDIA_TYPES,
    INDEX_TYPES,
    MAX_DESCRIPTORS,
    OCI_INDEX,
    OCI_MANIFEST,
    parse_manifest,
)
from ecr_audit.snapshot import MANIFEST, SnapshotError, load, save
from tests.access_helpers import classified, inventory, time_limit
from tests.data.policy_corpus import ORG, OUTSIDER, OWNER, SIBLING
from tests.test_images import NOW, R, child, d, img, inv_of
from tests.test_wildcard import reference

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


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["collect", "--bogus"],
        ["collect", "--workers", "many"],
        ["collect", "--accounts", "12345"],
        ["collect", "--org", "--accounts", "012345678901"],
        ["collect", "--read-manifests", "sometimes"],
        ["report"],
        ["findings", "x", "--format", "xml"],
    ],
)
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
    err = one_line_error(
        capsys, main(["report", str(demo_snapshot), "--out", str(blocker / "report"), "--quiet"])
    )
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
descriptor = st.fixed_dictionaries(
    {},
    optional={
        "digest": hexes | scalars,
        "size": st.integers(-3, 2**40) | scalars,
        "mediaType": st.sampled_from(ACCEPTED_MEDIA_TYPES + ["application/x-evil", "<b>x</b>"]) | scalars,
        "annotations": st.dictionaries(
            st.sampled_from(["vnd.docker.reference.type", "vnd.docker.reference.digest", "x"]),
            st.sampled_from(["attestation-manifest"]) | hexes | scalars,
            max_size=2,
        )
        | scalars,
        "platform": st.fixed_dictionaries(
            {}, optional={"os": scalars, "architecture": scalars, "variant": scalars}
        )
        | scalars,
    },
)
manifest_docs = st.fixed_dictionaries(
    {},
    optional={
        "schemaVersion": st.integers(0, 3) | scalars,
        "mediaType": st.sampled_from(ACCEPTED_MEDIA_TYPES + ["application/x-unknown", ""]) | scalars,
        "config": descriptor | scalars,
        "layers": st.lists(descriptor, max_size=4) | scalars,
        "manifests": st.lists(descriptor, max_size=4) | scalars,
        "blobs": st.lists(descriptor, max_size=3),
        "subject": descriptor | scalars,
        "artifactType": st.text(max_size=10) | scalars,
    },
)


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
    doc = {
        "mediaType": OCI_INDEX,
        "manifests": [{"digest": d(str(i)), "size": 1} for i in range(MAX_DESCRIPTORS + 1)],
    }
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
        c = images.classify(inv_of([img("a", tags, media=OCI_INDEX)], [child("a", "a")])).set_index(
            "image_digest"
        )
        assert c.loc[d("a"), "liveness"] == expected


def test_cycle_of_indexes_is_finite_kept_alive_only_by_a_tag():
    untagged = images.classify(
        inv_of([img("a", media=OCI_INDEX), img("b", media=OCI_INDEX)], [child("a", "b"), child("b", "a")])
    )
    assert set(untagged["liveness"]) == {"orphan"}
    tagged = images.classify(
        inv_of(
            [img("a", ["v1"], media=OCI_INDEX), img("b", media=OCI_INDEX), img("c")],
            [child("a", "b"), child("b", "a"), child("b", "c")],
        )
    ).set_index("image_digest")
    assert set(tagged["liveness"]) == {"live"}


def test_referrers_that_are_each_others_subject_are_not_called_live():
    sub = [
        {**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"}
        for s, t in (("x", "y"), ("y", "x"))
    ]
    c = images.classify(inv_of([img("x"), img("y")], sub))
    assert not c["is_live"].fillna(False).any()


def test_referrers_that_are_each_others_subject_without_manifests_read_are_undetermined_not_orphans():
    # A subject cycle (a self subject, or two images naming each other, an index among them) decides
    # nothing: without manifests either image could be an index child we could not see.
    for pairs in ((("x", "y"), ("y", "x")), (("x", "x"),)):
        sub = [
            {**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"} for s, t in pairs
        ]
        c = images.classify(inv_of([img("x", media=OCI_INDEX), img("y")], sub, manifests_read=False))
        assert set(c["liveness"]) == {"undetermined"}, pairs
        assert images.orphans(inv_of([img("x", media=OCI_INDEX), img("y")], sub, manifests_read=False)).empty
    # With manifests read the graph is known: nothing tagged keeps them, so they are orphans.
    sub = [
        {**R, "source_digest": d(s), "target_digest": d(t), "kind": "referrer_subject"}
        for s, t in (("x", "y"), ("y", "x"))
    ]
    assert set(images.classify(inv_of([img("x"), img("y")], sub, manifests_read=True))["liveness"]) == {
        "orphan"
    }


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
@given(
    st.lists(
        st.tuples(
            st.integers(0, 7),
            st.integers(0, 7),
            st.sampled_from(["index_child", "referrer_subject", "attestation_subject"]),
        ),
        max_size=20,
    ),
    st.sets(st.integers(0, 7), max_size=3),
    st.sets(st.integers(0, 7), max_size=2),
    st.booleans(),
)
@pytest.mark.slow  # a property search over many generated inputs: seconds
def test_random_graphs_with_cycles_terminate_with_one_honest_row_per_image(edges, tagged, unreadable, read):
    imgs = [
        img(
            f"n{k}",
            ["t"] if k in tagged else [],
            media=OCI_INDEX if k % 2 else OCI_MANIFEST,
            manifest_status="unreadable" if k in unreadable else "present",
        )
        for k in range(8)
    ]
    refs = [
        {**R, "source_digest": d(f"n{s}"), "target_digest": d(f"n{t}"), "kind": kind} for s, t, kind in edges
    ]
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
            for x in untagged
            if live[x] == "orphan"
        )


# -- policies: the cases the access tests do not list ------------------------------------------

PUBLIC_PULL = {
    "Effect": "Allow",
    "Principal": "*",
    "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
}
DENY_ALL = {"Effect": "Deny", "Principal": "*", "Action": "ecr:*"}


def _nested(depth):
    v = "o-abc"
    for _ in range(depth):
        v = {"StringEquals": v} if depth % 2 else [v]
    return v


@pytest.mark.parametrize(
    "bad",
    [
        {**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": _nested(60)}}},
        {**DENY_ALL, "Condition": [{"StringEquals": {"aws:PrincipalOrgID": "o-x"}}]},
        {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", "Condition": "StringEquals"},
        {"Effect": "Deny", "Principal": "*", "Action": [None, 5, {"a": 1}]},
        {"Effect": "Deny", "Principal": ["*", 7], "Action": "ecr:*"},
        {**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalOrgID": {"deep": {"er": "o-x"}}}}},
        {
            "Sid": "<script>alert(1)</script>" * 2000,
            "Effect": "Deny",
            "Principal": "*",
            "Action": "x" * 100_000,
        },
    ],
)
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
@given(
    st.lists(
        st.dictionaries(
            st.sampled_from(
                ["Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Condition", "Resource", "Sid"]
            ),
            st.recursive(
                scalars,
                lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=6), c, max_size=3),
                max_leaves=8,
            ),
            max_size=6,
        ),
        max_size=4,
    )
)
@pytest.mark.slow  # a property search over many generated inputs: seconds
def test_garbage_statements_added_to_a_public_grant_never_narrow_it(garbage):
    g = access.grants(inventory({"Version": "2012-10-17", "Statement": [PUBLIC_PULL, *garbage]}))
    pulls = g[g["can_pull"].fillna(False).astype(bool)] if len(g) else g
    # Garbage can be read as a valid Deny (then narrowing is real); otherwise public must stay.
    valid_deny = any(isinstance(s, dict) and s.get("Effect") == "Deny" for s in garbage)
    if not valid_deny:
        assert "public" in set(pulls["exposure"]) or set(g["exposure"]) == {"undetermined"}


# -- lifecycle: parser-accepted random policies never crash the simulator ----------------------

rule = st.fixed_dictionaries(
    {
        "rulePriority": st.integers(1, 5),
        "selection": st.fixed_dictionaries(
            {
                "tagStatus": st.sampled_from(["tagged", "untagged", "any"]),
                "countType": st.sampled_from(["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled"]),
                "countNumber": st.integers(0, 5),
            },
            optional={
                "tagPatternList": st.lists(
                    st.sampled_from(["v*", "*", "**", "<b>*", "prod"]), min_size=1, max_size=2
                ),
                "tagPrefixList": st.lists(st.sampled_from(["v", "", "rel"]), min_size=1, max_size=2),
                "countUnit": st.sampled_from(["days", "hours"]),
            },
        ),
        "action": st.fixed_dictionaries(
            {"type": st.sampled_from(["expire", "transition", "delete"])},
            optional={"targetStorageClass": st.sampled_from(["archive", "standard"])},
        ),
    },
    optional={"description": st.text(max_size=20)},
)


@pytest.mark.slow  # a property search over many generated inputs: seconds
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
    assert (
        err.strip()
        == f"ecr-audit: error: {blocker}: is a file, so {blocker / 'deeper' / 'snap'} cannot be created"
    )


# -- issue 12: policies and lifecycle policies built to hang or mislead ------------------------


def _policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _public_pull_stays(policy_or_text):
    inv = inventory(policy_or_text)
    with time_limit(60, "access.grants"):
        g = access.grants(inv)
    return classified(g), set(access.policy_findings(inv)["finding_id"])


MANY = "*" * 24 + "q"  # issue 12 #4: 24 wildcards and a letter no action ends with


@pytest.mark.parametrize(
    "statements,expected",
    [
        ([{"Effect": "Allow", "Principal": "*", "Action": "ecr:" + MANY}], {}),
        (
            [{"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "NotAction": "ecr:" + MANY}],
            {OUTSIDER: ("external", "pull+push+delete+manage")},
        ),
        ([PUBLIC_PULL, {**DENY_ALL, "Resource": "arn:aws:ecr:" + MANY}], {"*": ("public", "pull")}),
        (
            [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:role/" + "a" * 60},
                    "Action": "ecr:*",
                    "Condition": {
                        "StringEquals": {
                            "aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/" + "*a" * 30 + "*q"
                        }
                    },
                }
            ],
            {},
        ),
    ],
    ids=["Action", "NotAction", "Deny Resource", "PrincipalArn pattern"],
)
def test_issue12_4_policy_globs_with_many_wildcards_are_evaluated_not_hung(statements, expected):
    got, _ = _public_pull_stays(_policy(*statements))
    assert got == expected


def test_issue12_4_lifecycle_tag_pattern_with_four_wildcards_on_long_tags_is_simulated_not_hung():
    text = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "four wildcards, the most ECR allows",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["*a*a*a*b"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    assert lifecycle.parse(text).is_valid
    # ECR caps tags at 128 characters; a snapshot is untrusted and may hold longer ones.
    imgs = [
        img("x", ["a" * 2000], age_days=1),
        img("y", ["a" * 2000 + "b"], age_days=2),
        img("z", ["a" * 1999 + "b"], age_days=3),
    ]
    with time_limit(60, "lifecycle.simulate"):
        sim = lifecycle.simulate(inv_of(imgs), policy=text)
    assert sim["image_digest"].tolist() == [d("z")]  # y and z match; the younger one is kept


def test_issue12_4_registry_scan_filters_match_star_only_case_sensitively_without_regex():
    from ecr_audit import findings

    def repo(name):
        arn = f"arn:aws:ecr:{R['region']}:{R['account_id']}:repository/{name}"
        return {**R, "repository_name": name, "repository_arn": arn, "has_scan_on_push": False}

    names = ["prod-a", "Prod-b", "a" * 200]
    rules = json.dumps(
        [
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [
                    {"filter": f, "filterType": "WILDCARD"}
                    for f in ("prod-?", "prod-[ab]", "Prod-*", "*a" * 40 + "*b")
                ],
            }
        ]
    )
    inv = Inventory.from_frames(
        repositories=[repo(n) for n in names],
        registries=[
            {
                "account_id": R["account_id"],
                "region": R["region"],
                "scan_type": "BASIC",
                "scanning_rules_text": rules,
            }
        ],
    )
    with time_limit(60, "findings"):
        f = findings.findings(inv, checks=["ecr_repository_scan_on_push_disabled"])
    # `?` and `[` are literal in an ECR filter (fnmatch read them as wildcards); `Prod-*` covers Prod-b.
    assert sorted(f["repository_name"]) == sorted(["prod-a", "a" * 200])


@pytest.mark.parametrize(
    "text",
    [
        '{"Version": "2012-10-17", "Statement": [PUB], "Statement": []}',
        '{"Version": "2012-10-17", "Version": "2008-10-17", "Statement": [PUB]}',
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:BatchGetImage"}]}',
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "OUTSIDER", '
        '"AWS": "*"}, "Action": "ecr:BatchGetImage"}]}',
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Principal": {"AWS": "OUTSIDER"}, "Action": "ecr:BatchGetImage"}]}',
        '{"Version": "2012-10-17", "Statement": [PUB, {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", '
        '"Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "ORG"}, '
        '"StringNotEquals": {"aws:PrincipalOrgID": "o-x"}}}]}',
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:BatchGetImage", '
        '"Condition": {"StringEquals": {"aws:PrincipalOrgID": "ORG", "aws:PrincipalOrgID": "o-x"}}}]}',
    ],
    ids=[
        "Statement",
        "Version",
        "Effect",
        "Principal.AWS",
        "Principal",
        "condition operator",
        "condition key",
    ],
)
def test_issue12_7_a_key_repeated_anywhere_makes_the_grants_undetermined_with_a_finding(text):
    text = (
        text.replace("PUB", json.dumps(PUBLIC_PULL))
        .replace("OUTSIDER", OUTSIDER)
        .replace('"ORG"', json.dumps(ORG))
    )
    inv = inventory(text)
    with time_limit(60, "access.grants"):
        g = access.grants(inv)
    assert g["exposure"].tolist() == ["undetermined"]
    f = access.policy_findings(inv)
    dup = f[f["finding_id"] == "ecr_policy_duplicate_key"]
    assert len(dup) >= 1 and (dup["severity"] == "high").all()
    assert dup["message"].str.contains("more than once").all()


def test_a_key_repeated_with_the_same_value_is_reported_but_reads_the_same():
    text = (
        '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Effect": "Allow", "Principal": "*", '
        '"Action": ["ecr:BatchGetImage"]}]}'
    )
    got, _ = _public_pull_stays(text)
    assert got == {"*": ("public", "pull")}
    f = access.policy_findings(inventory(text))
    assert f.loc[f["finding_id"] == "ecr_policy_duplicate_key", "severity"].tolist() == ["low"]


def test_issue12_7_lifecycle_policy_with_a_repeated_key_is_not_simulated_and_is_a_lint_finding():
    from tests.test_lifecycle import img as lifecycle_img
    from tests.test_lifecycle import inv_of as lifecycle_inv

    keep_all = '{"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1000}'
    expire_all = (
        '{"tagStatus": "any", "countType": "sinceImagePushed", "countUnit": "days", "countNumber": 1}'
    )
    text = (
        '{"rules": [{"rulePriority": 1, "description": "which selection does ECR use?", '
        f'"selection": {expire_all}, "selection": {keep_all}, "action": {{"type": "expire"}}}}]}}'
    )
    p = lifecycle.parse(text)
    assert not p.is_valid and [e.code for e in p.errors] == ["duplicate_key"]
    inv = lifecycle_inv([lifecycle_img("old", ["v1"], 30), lifecycle_img("new", ["v2"], 5)], policies=text)
    assert lifecycle.simulate(inv).empty  # not evaluated as if it were clean (keep_all, the last)
    lint = lifecycle.lint(inv)
    row = lint[lint["finding_id"] == "ecr_lifecycle_policy_duplicate_key"]
    assert row["severity"].tolist() == ["high"] and "rules[0].selection" in row["message"].item()
    same = text.replace(f'"selection": {keep_all}', f'"selection": {expire_all}')  # repeated, same value
    inv = lifecycle_inv([lifecycle_img("old", ["v1"], 30), lifecycle_img("new", ["v2"], 5)], policies=same)
    assert len(lifecycle.simulate(inv)) == 2
    lint = lifecycle.lint(inv)
    assert lint.loc[lint["finding_id"] == "ecr_lifecycle_policy_duplicate_key", "severity"].tolist() == [
        "low"
    ]


@pytest.mark.parametrize(
    "deny",
    [
        {"Effect": "Deny", "Principal": "*", "Action": "ecr:batchget\u0131mage"},  # dotless ı
        {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGet\u0130mage"},  # dotted İ
        {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage\n"},
        {"Effect": "Deny", "Principal": "*", "Action": " ecr:BatchGetImage"},
        {"Effect": "Deny", "Principal": "*", "Action": "ecr :BatchGetImage"},
        {"Effect": "Deny", "Principal": {"AWS": " * "}, "Action": "ecr:*"},
        {"Effect": "Deny", "Principal": {"AWS": "*\n"}, "Action": "ecr:*"},
        {"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::*:root"}, "Action": "ecr:*"},
        {**DENY_ALL, "Resource": " *"},
        {**DENY_ALL, "Resource": f"arn:aws:ecr:us-east-1:{OWNER}:repository/APP"},
        {**DENY_ALL, "Condition": {"StringNotEquals ": {"aws:PrincipalOrgID": ORG}}},
        {**DENY_ALL, "Condition": {"StringNotEquals": {"aws:PrincipalOrgID ": ORG}}},
    ],
    ids=[
        "dotless i",
        "dotted I",
        "trailing newline",
        "leading space",
        "space before colon",
        "padded star",
        "star newline",
        "partial wildcard principal",
        "padded resource star",
        "resource in other case",
        "padded operator",
        "padded key",
    ],
)
def test_issue12_8_deny_that_does_not_match_exactly_leaves_the_public_grant(deny):
    got, found = _public_pull_stays(_policy(PUBLIC_PULL, deny))
    assert got == {"*": ("public", "pull")}
    assert (
        found
        & {
            "ecr_policy_inexact_text",
            "ecr_policy_unrecognized_principal",
            "ecr_policy_unknown_condition_operator",
            "ecr_policy_unknown_condition_key",
        }
        or "Resource" in deny
    )


@pytest.mark.parametrize(
    "deny,allowed",
    [
        (
            {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:role/CI"}, "Action": "ecr:*"},
            f"arn:aws:iam::{SIBLING}:role/ci",
        ),
        (
            {**DENY_ALL, "Condition": {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/CI"}}},
            f"arn:aws:iam::{SIBLING}:role/ci",
        ),
        ({**DENY_ALL, "Condition": {"StringEquals": {"aws:PrincipalAccount": f" {SIBLING}"}}}, SIBLING),
        # SIBLING in fullwidth digits: whether IAM spares SIBLING is unproven, so the Deny is not counted
        (
            {
                **DENY_ALL,
                "Condition": {
                    "StringNotEquals": {
                        "aws:PrincipalAccount": "".join(chr(0xFF10 + int(c)) for c in SIBLING)
                    }
                },
            },
            SIBLING,
        ),
    ],
    ids=["principal ARN case", "PrincipalArn case", "padded account", "fullwidth exception"],
)
def test_issue12_8_deny_matching_a_grantee_only_loosely_does_not_remove_it(deny, allowed):
    allow = {
        "Effect": "Allow",
        "Principal": {"AWS": allowed},
        "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
    }
    got, _ = _public_pull_stays(_policy(allow, deny))
    assert got == {allowed: ("org", "pull")}


@pytest.mark.parametrize(
    "condition",
    [
        {" StringEquals": {"aws:PrincipalOrgID": ORG}},
        {"StringEquals\t": {"aws:PrincipalOrgID": ORG}},
        {"StringEquals": {"aws:PrincipalOrgID\n": ORG}},
        {"IpAddress": {"aws:SourceIp": " 192.0.2.0/24"}},
    ],
    ids=["padded operator", "tab after operator", "newline after key", "padded address"],
)
def test_issue12_8_allow_condition_iam_cannot_read_exactly_never_narrows_the_grant(condition):
    inv = inventory(_policy({**PUBLIC_PULL, "Condition": condition}))
    g = access.grants(inv)
    assert classified(g) == {"*": ("public", "pull")}
    assert g["is_network_restricted"].tolist() == [False] and g["severity"].tolist() == ["high"]


def test_issue12_8_an_allow_is_read_wider_and_said_so():
    # The lenient reading for an Allow: trimmed principal, look-alike letters in action names.
    got, found = _public_pull_stays(
        _policy(
            {
                "Effect": "Allow",
                "Principal": {"AWS": " * "},
                "Action": ["ecr:batchget\u0131mage", "ecr:GetDownloadUrlForLayer "],
            }
        )
    )
    assert got == {"*": ("public", "pull")}
    assert "ecr_policy_inexact_text" in found


def _since(count_type="sinceImagePushed", n=30, action="expire", **sel):
    act = {"type": action, **({"targetStorageClass": "archive"} if action == "transition" else {})}
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "an age rule of the test policy",
                    "selection": {
                        "tagStatus": "any",
                        "countType": count_type,
                        "countUnit": "days",
                        "countNumber": n,
                        **sel,
                    },
                    "action": act,
                }
            ]
        }
    )


AGES = [1, 10, 100, 1000, 3000, 10_000, 40_000]  # days before NOW (2026-11-01), back to 1917


@pytest.mark.parametrize(
    "count_type,action,status",
    [
        ("sinceImagePushed", "expire", "ACTIVE"),
        ("sinceImagePulled", "transition", "ACTIVE"),
        ("sinceImageTransitioned", "expire", "ARCHIVED"),
    ],
)
@pytest.mark.parametrize("days", [400_000, 213_503, 106_752, 10**30])
def test_issue12_9_age_rules_beyond_int64_nanoseconds_act_on_nothing(days, count_type, action, status):
    imgs = [
        img(f"i{a}", [f"v{a}"], age_days=a, image_status=status, last_archived_at=NOW - pd.Timedelta(days=a))
        for a in AGES
    ]
    extra = {"storageClass": "archive"} if status == "ARCHIVED" else {}
    text = _since(count_type, days, action, **extra)
    assert lifecycle.parse(text).is_valid
    sim = lifecycle.simulate(inv_of(imgs), policy=text)
    assert sim.empty, sim[["image_digest", "reason"]]


def test_issue12_9_as_of_far_in_the_future_or_past_saturates_instead_of_raising():
    imgs = [img(f"i{a}", [f"v{a}"], age_days=a) for a in AGES]
    inv = inv_of(imgs)
    text = _since(n=30)
    future = lifecycle.simulate(inv, policy=text, as_of="9999-12-31")
    assert sorted(future["image_digest"]) == sorted(d(f"i{a}") for a in AGES)
    assert future["reason"].str.contains("pushed 29").all()  # 9999 − 2026 ≈ 2.9 M days, exact
    assert lifecycle.simulate(inv, policy=text, as_of="1000-01-01").empty
    huge = lifecycle.simulate(inv, policy=_since(n=3_000_000), as_of="9999-12-31")
    assert huge.empty  # 3 M days from 9999 is before 1970


@pytest.mark.parametrize("n", [2**63, 10**30, 2**63 - 1])
def test_huge_image_count_keeps_everything(n):
    text = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "keep a huge number",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": n},
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    assert lifecycle.simulate(inv_of([img(f"i{a}", [], age_days=a) for a in AGES]), policy=text).empty


def test_issue12_9_priority_beyond_32_bits_is_invalid_not_a_crash():
    from tests.test_lifecycle import img as lifecycle_img
    from tests.test_lifecycle import inv_of as lifecycle_inv

    text = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 2**63,
                    "description": "priority 2**63",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                    "action": {"type": "expire"},
                }
            ]
        }
    )
    p = lifecycle.parse(text)
    assert not p.is_valid and "rulePriority" in p.errors[0].where
    inv = lifecycle_inv([lifecycle_img("a", ["v1"], 3), lifecycle_img("b", ["v2"], 2)], policies=text)
    assert lifecycle.simulate(inv).empty
    assert "ecr_lifecycle_policy_invalid" in set(lifecycle.lint(inv)["finding_id"])


@pytest.mark.parametrize(
    "n,severity,says",
    [
        (400_000, "medium", "can never act"),
        (106_752, "medium", "can never act"),
        (5_000, "low", "before 2029-05-30"),
    ],
)
def test_issue12_9_an_age_rule_that_cannot_fire_is_a_lint_finding(n, severity, says):
    from tests.test_lifecycle import img as lifecycle_img
    from tests.test_lifecycle import inv_of as lifecycle_inv

    inv = lifecycle_inv([lifecycle_img("a", ["v1"], 3)], policies=_since(n=n))
    lint = lifecycle.lint(inv)
    row = lint[lint["finding_id"] == "ecr_lifecycle_rule_age_unreachable"]
    assert row["severity"].tolist() == [severity] and says in row["message"].item()
    ok = lifecycle.lint(lifecycle_inv([lifecycle_img("a", ["v1"], 3)], policies=_since(n=3000)))
    assert "ecr_lifecycle_rule_age_unreachable" not in set(ok["finding_id"])


# -- issue 12 "Done means": random hostile policies through parse → grants → simulate → report table


def _rendered(*frames) -> str:
    """HTML of `notebook.table` for each frame, as a report page would show it."""
    from ecr_audit import notebook

    shown = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(notebook, "_display_html", shown.append)
        for f in frames:
            notebook.table(f)
    return "".join(shown)


def _object(pairs) -> str:
    """A JSON object from (key, value) pairs, repeated keys kept (json.dumps cannot write them)."""
    items = (f"{json.dumps(k)}: {v if isinstance(v, _Raw) else json.dumps(v)}" for k, v in pairs)
    return "{" + ", ".join(items) + "}"


class _Raw(str):
    """Already-rendered JSON."""


SOMETIMES = st.sampled_from([False] * 7 + [True])  # (st.integers(0, 7) == 0 is drawn far more often)


def _dotless(s: str) -> str:
    """`i`/`I` as the dotless `ı` (U+0131), or `ı` appended when there is none."""
    out = s.replace("I", "\u0131").replace("i", "\u0131")
    return out if out != s else out + "\u0131"


# Each turns clean text into text IAM cannot match exactly (padding, look-alikes, invisible marks).
LOOKALIKE = st.sampled_from(
    [
        lambda s: s + "\n",
        lambda s: " " + s,
        lambda s: s + "\u00a0",
        _dotless,
        lambda s: s.replace("e", "\u0435") + "\u200b",
        lambda s: "\t" + s + "\r",
    ]
)
CLEAN_ACTIONS = [
    "ecr:*",
    "*",
    "ecr:BatchGetImage",
    "ecr:Get*",
    "ecr:Batch*",
    "ecr:GetDownloadUrlForLayer",
    "ecr:PutImage",
    "s3:*",
    "ecr:" + "*" * 24,
]
CLEAN_PRINCIPALS = [
    "*",
    OUTSIDER,
    SIBLING,
    f"arn:aws:iam::{SIBLING}:role/ci",
    f"arn:aws:iam::{OUTSIDER}:root",
]
IDENTITY = ["aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:PrincipalArn", "aws:SourceAccount"]
VALUES = [
    ORG,
    SIBLING,
    OUTSIDER,
    f"arn:aws:iam::{SIBLING}:role/*",
    "o-*",
    "*",
    "arn:aws:iam::*:" + "*" * 30 + "q",
]
OPERATORS = [
    "StringEquals",
    "StringNotEquals",
    "StringLike",
    "ArnLike",
    "ArnNotLike",
    "ForAnyValue:StringLike",
    "StringEqualsIfExists",
    "NotIpAddress",
    "IpAddress",
]


@st.composite
def hostile_statement(draw, effect):
    """A statement for the fuzz. A Deny always carries one poison — every Action, every Principal,
    one condition or its Resource given in inexact text — so that IAM matching cannot be proven and
    the public grant must survive it; an Allow is anything."""
    poison = None
    if effect == "Deny":
        poison = draw(st.sampled_from(["action", "principal", "condition", "resource"]))
    bad = draw(LOOKALIKE)
    actions = draw(st.lists(st.sampled_from(CLEAN_ACTIONS), min_size=1, max_size=3))
    if poison == "action" or (effect == "Allow" and draw(st.booleans())):
        actions = [bad(a) for a in actions]
    principals = draw(st.lists(st.sampled_from(CLEAN_PRINCIPALS), min_size=1, max_size=2))
    if poison == "principal" or (effect == "Allow" and draw(st.booleans())):
        principals = [bad(p) for p in principals]
    pairs = [
        ("Sid", draw(st.sampled_from(["", "<script>alert(1)</script>", "a\u202eb", "ok"]))),
        ("Effect", effect),
        ("Principal", {"AWS": principals}),
        ("Action", actions),
    ]
    conditions = {}
    for _ in range(draw(st.integers(0, 2))):
        op, key = draw(st.sampled_from(OPERATORS)), draw(st.sampled_from(IDENTITY + ["aws:SourceIp"]))
        conditions.setdefault(op, {})[key] = draw(st.lists(st.sampled_from(VALUES), min_size=1, max_size=2))
    if poison == "condition":
        where = draw(st.sampled_from(["operator", "key", "value"]))
        op = draw(st.sampled_from(["StringEquals", "StringNotEquals", "ArnLike", "ArnNotEquals"]))
        key, value = draw(st.sampled_from(IDENTITY)), draw(st.sampled_from([ORG, SIBLING]))
        op, key, value = (
            bad(op) if where == "operator" else op,
            bad(key) if where == "key" else key,
            bad(value) if where == "value" else value,
        )
        conditions.setdefault(op, {})[key] = value
    if conditions:
        pairs.append(("Condition", conditions))
    if poison == "resource":
        pairs.append(
            (
                "Resource",
                draw(
                    st.sampled_from(
                        [
                            " *",
                            f"arn:aws:ecr:us-east-1:{OWNER}:repository/APP",
                            bad(f"arn:aws:ecr:us-east-1:{OWNER}:repository/app"),
                            "arn:aws:ecr:" + "*" * 30 + "q",
                        ]
                    )
                ),
            )
        )
    conflict = False
    if draw(SOMETIMES):  # a key given twice (issue 12 #7)
        key, value = draw(st.sampled_from(pairs[1:]))
        other = {
            "Effect": "Allow" if effect == "Deny" else "Deny",
            "Principal": {"AWS": OUTSIDER},
            "Action": ["ecr:DeleteRepository"],
            "Condition": {},
            "Resource": "*",
        }[key]
        conflict = draw(st.booleans())
        pairs.append((key, other if conflict else value))
    return _Raw(_object(pairs)), conflict


@pytest.mark.slow  # a property search over many generated inputs: seconds
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(hostile_statement("Allow"), hostile_statement("Deny")), max_size=4), SOMETIMES)
def test_issue12_fuzz_hostile_policies_never_crash_hang_or_drop_a_public_grant(statements, repeat_key):
    body = _Raw("[" + ", ".join([json.dumps(PUBLIC_PULL), *(s for s, _ in statements)]) + "]")
    pairs = [("Version", "2012-10-17"), ("Statement", body)]
    if repeat_key:
        pairs.append(("Statement", _Raw("[]")))
    text = _object(pairs)
    inv = inventory(text)
    with time_limit(30, "one fuzz example"):
        g = access.grants(inv)
        f = access.policy_findings(inv)
        html = _rendered(g, f, access.by_account(g), access.summary(g))
    event(f"undetermined={g['exposure'].tolist() == ['undetermined']}")
    if repeat_key or any(conflict for _, conflict in statements):
        assert g["exposure"].tolist() == ["undetermined"], text
        assert "ecr_policy_duplicate_key" in set(f["finding_id"])
    else:  # every Deny is poisoned: the public pull grant must survive, whatever the Allows add
        # (a key repeated with the same value reads the same either way)
        public = g[g["grantee"] == "*"]
        assert public["exposure"].tolist() == ["public"] and public["can_pull"].tolist() == [True], text
    assert "<script>" not in html


TAGS = [
    "v1",
    "v2",
    "prod-1",
    "prod-2",
    "beta",
    "latest",
    "a" * 300,
    "a" * 299 + "b",
    "\u0131mage",
    "x*y",
    "p?q",
]
PATTERNS = ["v*", "*", "prod-*", "*a*a*a*b", "*1", "x*y", "p?q", "\u0131*", "*-*-*-*"]
COUNTS = st.sampled_from([1, 2, 30] * 3 + [400_000, 213_503, 106_752, 2**63, 10**30])


@st.composite
def hostile_lifecycle_policy(draw):
    """Rule-shaped lifecycle policy text: many wildcards, huge counts and priorities, a repeated key."""
    rules = []
    n = draw(st.integers(1, 3))
    priorities = draw(st.lists(st.sampled_from([1, 2, 3, 7, 2**31 - 1]), min_size=n, max_size=n, unique=True))
    if draw(SOMETIMES):
        priorities[-1] = draw(st.sampled_from([2**31, 2**63]))  # beyond ECR's 32-bit priorities
    for priority in priorities:
        count_type = draw(
            st.sampled_from(
                ["imageCountMoreThan", "sinceImagePushed", "sinceImagePulled", "sinceImageTransitioned"]
            )
        )
        sel = [
            ("tagStatus", draw(st.sampled_from(["tagged", "untagged", "any", "any"]))),
            ("countType", count_type),
            ("countNumber", draw(COUNTS)),
        ]
        if count_type != "imageCountMoreThan":
            sel.append(("countUnit", "days"))
        if count_type == "sinceImageTransitioned":
            sel.append(("storageClass", "archive"))
        if sel[0][1] == "tagged":
            which = draw(st.sampled_from(["tagPatternList", "tagPrefixList"]))
            pool = PATTERNS if which == "tagPatternList" else ["v", "prod-", "a", "\u0131"]
            sel.append((which, draw(st.lists(st.sampled_from(pool), min_size=1, max_size=2))))
        action = {"sinceImagePulled": "transition"}.get(count_type, "expire")
        act = [("type", action)] + ([("targetStorageClass", "archive")] if action == "transition" else [])
        rule = [
            ("rulePriority", priority),
            ("description", "a rule of the fuzz"),
            ("selection", _Raw(_object(sel))),
            ("action", _Raw(_object(act))),
        ]
        if draw(SOMETIMES):
            rule.append(draw(st.sampled_from(rule)))  # a key given twice (issue 12 #7)
        rules.append(_object(rule))
    return _object([("rules", _Raw("[" + ", ".join(rules) + "]"))])


def _selected(rule, image) -> bool:
    """Does the rule's selection hold the image (reference semantics, independent of the simulator)?"""
    cls = "archive" if image["image_status"] == "ARCHIVED" else "standard"
    tags = image["tags"]
    if rule.storage_class != cls or (rule.tag_status == "untagged" and tags):
        return False
    if rule.tag_status == "tagged":
        return (
            bool(tags)
            and all(any(t.startswith(p) for t in tags) for p in rule.tag_prefixes)
            and all(any(reference(p, t, single=False) for t in tags) for p in rule.tag_patterns)
        )
    return True


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    hostile_lifecycle_policy(),
    st.lists(
        st.tuples(
            st.sampled_from(["app"] * 3 + ["other"]),
            st.lists(st.sampled_from(TAGS), max_size=2),
            st.sampled_from([1, 5, 40, 400, 4000, 40_000]),
            st.sampled_from([False] * 3 + [True]),
        ),
        min_size=3,
        max_size=8,
    ),
    st.sampled_from([None] * 4 + ["9999-12-31", "1000-01-01", "2262-04-11"]),
)
@pytest.mark.slow  # a property search over many generated inputs: seconds
def test_issue12_fuzz_hostile_lifecycle_policies_act_only_inside_their_repository_and_selection(
    text, images, as_of
):
    other = {**R, "repository_name": "other"}
    rows = [
        img(
            f"{i}",
            tags,
            age_days=age,
            repo=R if repo == "app" else other,
            image_status="ARCHIVED" if archived else "ACTIVE",
            last_archived_at=NOW - pd.Timedelta(days=age) if archived else None,
        )
        for i, (repo, tags, age, archived) in enumerate(images)
    ]
    inv = Inventory.from_frames(
        meta={"collected_at": NOW.isoformat()},
        images=rows,
        lifecycle_policies=[{**R, "policy_text": text}],
        coverage=[
            {
                "account_id": R["account_id"],
                "region": R["region"],
                "status": "complete",
                "has_read_manifests": True,
            }
        ],
        repositories=[
            {
                **r,
                "repository_arn": f"arn:aws:ecr:{r['region']}:{r['account_id']}:repository/"
                f"{r['repository_name']}",
                "lifecycle_policy_status": s,
            }
            for r, s in ((R, "present"), (other, "absent"))
        ],
    )
    with time_limit(30, "one fuzz example"):
        policy = lifecycle.parse(text)
        sim = lifecycle.simulate(inv, as_of=as_of)
        lint = lifecycle.lint(inv)
        html = _rendered(sim, lifecycle.summary(sim), lint)
    assert "<script>" not in html
    event(f"valid={policy.is_valid} acted={not sim.empty}")
    if not policy.is_valid:
        assert sim.empty and "high" in set(lint["severity"])
        return
    by_digest = {r["image_digest"]: r for r in rows}
    rules = {r.priority: r for r in policy.rules}
    for row in sim.itertuples():
        image = by_digest[row.image_digest]
        assert image["repository_name"] == "app"  # never outside its repository
        rule = rules[row.rule_priority]
        assert _selected(rule, image), (rule, image)  # never outside the rule's selection
        assert row.action == rule.action


OU_PATH = f"{ORG}/r-ab12/ou-ab12-11111111/*"
CODEBUILD_X = f"arn:aws:codebuild:us-east-1:{OWNER}:project/x"


@pytest.mark.parametrize(
    "allowed,condition,grantee",
    [
        ({"AWS": SIBLING}, {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": OU_PATH}}, SIBLING),
        ({"AWS": SIBLING}, {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/ci-*"}}, SIBLING),
        ({"AWS": SIBLING}, {"StringEquals": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:root"}}, SIBLING),
        (
            {"Service": "codebuild.amazonaws.com"},
            {"ArnLike": {"aws:SourceArn": CODEBUILD_X}},
            "codebuild.amazonaws.com",
        ),
    ],
    ids=["OU path", "role pattern", "root user", "one project"],
)
def test_issue12_8_deny_naming_part_of_a_grantee_does_not_remove_all_of_it(allowed, condition, grantee):
    # The Deny hits an OU, some roles, the root user, one project; the grant is to the whole account,
    # organization member or service tied to the account: the part the Deny spares keeps access.
    allow = {"Effect": "Allow", "Principal": allowed, "Action": ["ecr:BatchGetImage"]}
    if "Service" in allowed:
        allow["Condition"] = {"StringEquals": {"aws:SourceAccount": OWNER}}
    got, _ = _public_pull_stays(_policy(allow, {**DENY_ALL, "Condition": condition}))
    assert set(got) == {grantee} and got[grantee][1] == "pull"


@pytest.mark.parametrize(
    "allowed,condition",
    [
        ({"AWS": SIBLING}, {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": f"{ORG}/*"}}),
        (
            {"AWS": f"arn:aws:iam::{SIBLING}:role/ci-deploy"},
            {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/ci-*"}},
        ),
        ({"AWS": SIBLING}, {"StringEquals": {"aws:PrincipalAccount": SIBLING}}),
    ],
    ids=["whole organization path", "role pattern over a matching role", "account"],
)
def test_a_deny_that_provably_covers_the_grantee_still_removes_it(allowed, condition):
    allow = {"Effect": "Allow", "Principal": allowed, "Action": "ecr:BatchGetImage"}
    got, _ = _public_pull_stays(_policy(allow, {**DENY_ALL, "Condition": condition}))
    assert got == {}
