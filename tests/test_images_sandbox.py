"""Orphan detection on the demo organization, collected with and without manifests."""

import pytest

from ecr_audit import images

pytestmark = pytest.mark.slow
GRAPH_FREE = {"dangling_signature", "dangling_referrer"}  # decidable from tags and subjectManifestDigest


@pytest.fixture
def collected(demo_collection):
    """`collected(mode)`: the demo organization collected in that manifest mode (shared by the session)."""
    return lambda mode: demo_collection(mode)[0]


def test_with_manifests_never_nothing_is_called_an_orphan_that_needs_the_graph(collected):
    inv = collected("never")
    orphans = images.orphans(inv)
    assert set(orphans["reason"]) <= GRAPH_FREE
    untagged = inv.images[inv.images["tags"].map(len) == 0]
    roles = images.classify(inv).set_index(["repository_name", "image_digest"])
    decided = roles.loc[list(zip(untagged["repository_name"], untagged["image_digest"]))]
    # Roles can come from DescribeImages alone (an index by its media type, a referrer by its
    # subject), but whether an untagged image is reachable needs the graph: undetermined.
    assert set(decided["role"]) <= {"undetermined", "referrer", "index"}
    non_referrers = decided[decided["role"] != "referrer"]
    assert len(non_referrers) and set(non_referrers["liveness"]) == {"undetermined"}


def test_with_manifests_every_orphan_kind_appears_and_live_children_are_protected(collected):
    inv = collected("always")
    orphans = images.orphans(inv)
    assert {
        "untagged_unreferenced",
        "orphaned_index",
        "orphaned_index_child",
        "dangling_signature",
        "dangling_referrer",
    } <= set(orphans["reason"])
    refs = inv.manifest_references
    api = refs[(refs["repository_name"] == "payments/api") & (refs["kind"] == "index_child")]
    tagged = set(inv.images.loc[inv.images["tags"].map(len) > 0, "image_digest"])
    live_children = set(api.loc[api["source_digest"].isin(tagged), "target_digest"])
    assert live_children and not (live_children & set(orphans["image_digest"]))
