"""Storage cost end to end: the sandbox's demo organization, collected, against its ground truth."""

import pandas as pd
import pytest

from ecr_audit import Inventory, cost, schema
from ecr_audit.blobs import IMAGE_KEY, REPO_KEY


@pytest.fixture
def collected(demo_collection):
    """The demo organization collected with manifests (shared by the session), and its ground truth."""
    inv, images, blobs = demo_collection("always")
    return inv, blobs, images


def test_unique_bytes_equal_the_distinct_blobs_the_sandbox_put_in_each_repository(collected):
    inv, blobs, _ = collected
    st = cost.storage(inv)
    exact = st[st["basis"] == "exact"].set_index(REPO_KEY)
    assert len(exact) > 0
    truth = blobs.groupby(REPO_KEY)["size_bytes"].sum()
    for key, row in exact.iterrows():
        assert row["unique_bytes"] == truth.get(key, 0), key
    # Archived images' manifests cannot be read (restore first): their repositories are partial,
    # and the figure is an upper bound of the truth.
    partial = st[st["basis"] == "partial"].set_index(REPO_KEY)
    assert (partial["images_without_manifest"] <= partial["images_archived"]).all()
    for key, row in partial.iterrows():
        assert row["billable_bytes"] >= truth[key] and row["is_upper_bound"], key


def test_reported_bytes_equal_the_naive_sum_of_image_sizes(collected):
    inv, _, images = collected
    st = cost.storage(inv).set_index(REPO_KEY)
    naive = images.groupby(REPO_KEY)["size_bytes"].sum()
    seen = st[st["images_total"] > 0]
    for key, row in seen.iterrows():
        assert row["reported_bytes"] == naive[key], key
    assert (seen["reported_bytes"] >= seen["billable_bytes"]).all()


def _no_consumers(inv):
    """`inv` with every consumer kind read, none found, and no policy granting other accounts: the
    blob accounting alone (in-use is tested in test_consumers*.py)."""
    frames = {n: inv.frames[n] for n in schema.FRAMES}
    frames["consumers"] = frames["consumers"].iloc[:0]
    frames["consumer_coverage"] = frames["consumer_coverage"].assign(status="complete")
    for policies in ("repository_policies", "registry_policies"):
        frames[policies] = frames[policies].iloc[:0]
    return Inventory.from_frames(meta=inv.meta, **frames)


def test_removing_any_single_image_never_frees_a_blob_a_kept_image_uses(collected):
    inv = _no_consumers(collected[0])
    layers = inv.layers
    checked = 0
    for key, grp in inv.images.groupby(REPO_KEY):
        digest = grp["image_digest"].iloc[0]
        removed = pd.DataFrame([dict(zip(IMAGE_KEY, (*key, digest)))])
        got = cost.freed(inv, removed)
        if got.empty or got["basis"].iloc[0] != "exact" or got["images_blocked"].iloc[0]:
            continue
        repo_layers = layers[(layers[REPO_KEY] == pd.Series(dict(zip(REPO_KEY, key)))).all(axis=1)]
        mine = repo_layers[repo_layers["image_digest"] == digest]
        kept = set(repo_layers.loc[repo_layers["image_digest"] != digest, "blob_digest"])
        expected = mine[~mine["blob_digest"].isin(kept)].drop_duplicates("blob_digest")["size_bytes"].sum()
        assert got["freed_bytes"].iloc[0] == expected, key
        checked += 1
    assert checked > 3
