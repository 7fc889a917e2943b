import hashlib

import pandas as pd
import pytest

from ecr_audit import Inventory, images

ACCT, REGION, REPO = "012345678901", "us-east-1", "app"
R = {"account_id": ACCT, "region": REGION, "repository_name": REPO}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
NOW = pd.Timestamp("2026-11-01", tz="UTC")


def d(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def cosign_tag(subject: str, suffix: str = "sig") -> str:
    return subject.replace("sha256:", "sha256-") + "." + suffix


def img(name, tags=(), media=OCI_MANIFEST, age_days=10, pulled_days=None, size=100, repo=R, **kw):
    row = {
        **repo,
        "image_digest": d(name),
        "tags": list(tags),
        "manifest_media_type": media,
        "pushed_at": NOW - pd.Timedelta(days=age_days),
        "size_bytes": size,
        "image_status": "ACTIVE",
        "manifest_status": "present",
    }
    if pulled_days is not None:
        row["last_pulled_at"] = NOW - pd.Timedelta(days=pulled_days)
    row.update(kw)
    return row


def child(index, target, platform="linux/amd64", reference_type=None, repo=R):
    return {
        **repo,
        "source_digest": d(index),
        "target_digest": d(target),
        "kind": "index_child",
        "platform": platform,
        "reference_type": reference_type,
    }


def inv_of(imgs, refs=(), layers=(), manifests_read=True, regions=((ACCT, REGION),)):
    cov = [
        {"account_id": a, "region": r, "status": "complete", "has_read_manifests": manifests_read}
        for a, r in regions
    ]
    if not manifests_read:
        imgs = [{**i, "manifest_status": "skipped"} for i in imgs]
    return Inventory.from_frames(
        meta={"collected_at": NOW.isoformat()},
        images=list(imgs),
        manifest_references=list(refs),
        layers=list(layers),
        coverage=cov,
    )


def layer(image, blob, size, repo=R):
    return {**repo, "image_digest": d(image), "blob_digest": d(blob), "size_bytes": size, "kind": "layer"}


def multiarch(prefix, tags=("v1",), age_days=10):
    """A buildx push: tagged index, amd64 + arm64 children, one attestation manifest."""
    imgs = [
        img(f"{prefix}-idx", tags, media=OCI_INDEX, age_days=age_days),
        img(f"{prefix}-amd64", age_days=age_days),
        img(f"{prefix}-arm64", age_days=age_days),
        img(f"{prefix}-att", age_days=age_days, size=2),
    ]
    refs = [
        child(f"{prefix}-idx", f"{prefix}-amd64"),
        child(f"{prefix}-idx", f"{prefix}-arm64", "linux/arm64"),
        child(f"{prefix}-idx", f"{prefix}-att", "unknown/unknown", "attestation-manifest"),
        {
            **R,
            "source_digest": d(f"{prefix}-att"),
            "target_digest": d(f"{prefix}-amd64"),
            "kind": "attestation_subject",
            "reference_type": "attestation-manifest",
        },
    ]
    return imgs, refs


def by_digest(df):
    return {row.image_digest: row for row in df.itertuples()}


# --- classify ---------------------------------------------------------------------------------


def test_multiarch_children_and_attestation_of_a_tagged_index_are_live_with_their_roles():
    imgs, refs = multiarch("a")
    c = by_digest(images.classify(inv_of(imgs, refs)))
    assert c[d("a-idx")].role == "index" and c[d("a-idx")].liveness == "live"
    assert c[d("a-amd64")].role == "index_child" and c[d("a-amd64")].platform == "linux/amd64"
    assert c[d("a-amd64")].parent_index_digest == d("a-idx") and c[d("a-amd64")].parent_index_count == 1
    assert c[d("a-att")].role == "attestation" and c[d("a-att")].subject_digest == d("a-amd64")
    assert all(c[x].is_live for x in map(d, ["a-idx", "a-amd64", "a-arm64", "a-att"]))


def test_cosign_signature_is_classified_from_its_tag_and_lives_with_its_subject():
    inv = inv_of([img("app", ["v1"]), img("sig", [cosign_tag(d("app"))], size=1)])
    c = by_digest(images.classify(inv))
    assert c[d("sig")].role == "signature"
    assert c[d("sig")].subject_digest == d("app")
    assert c[d("sig")].liveness == "live"


def test_referrer_from_subject_manifest_digest_follows_its_subject():
    inv = inv_of([img("app", ["v1"]), img("sbom", subject_digest=d("app"))])
    c = by_digest(images.classify(inv))
    assert c[d("sbom")].role == "referrer" and c[d("sbom")].liveness == "live"


def test_untagged_image_without_manifests_is_undetermined_not_an_image():
    inv = inv_of([img("app", ["v1"]), img("loose")], manifests_read=False)
    c = by_digest(images.classify(inv))
    assert c[d("loose")].role == "undetermined"
    assert pd.isna(c[d("loose")].is_live)
    assert c[d("app")].role == "image" and c[d("app")].liveness == "live"


def test_cosign_signature_without_manifests_is_still_a_signature():
    inv = inv_of([img("app", ["v1"]), img("sig", [cosign_tag(d("app"))])], manifests_read=False)
    assert by_digest(images.classify(inv))[d("sig")].role == "signature"


def test_an_unreadable_index_manifest_makes_untagged_images_of_its_repository_undetermined():
    imgs, refs = multiarch("a")
    imgs[0]["manifest_status"] = "unreadable"
    refs = []  # the index could not be read, so its edges are unknown
    c = by_digest(images.classify(inv_of(imgs + [img("loose")], refs)))
    assert c[d("a-amd64")].liveness == "undetermined"
    assert c[d("loose")].liveness == "undetermined"


# --- orphans ------------------------------------------------------------------------------------


def test_untagged_unreferenced_image_is_an_orphan():
    o = images.orphans(inv_of([img("app", ["v1"]), img("old")]))
    assert o[["image_digest", "reason"]].values.tolist() == [[d("old"), "untagged_unreferenced"]]


def test_untagged_index_is_orphaned_and_its_children_are_orphaned_index_children():
    imgs, refs = multiarch("old", tags=())
    o = by_digest(images.orphans(inv_of(imgs, refs)))
    assert o[d("old-idx")].reason == "orphaned_index"
    assert o[d("old-amd64")].reason == "orphaned_index_child"
    assert o[d("old-arm64")].reason == "orphaned_index_child"
    assert o[d("old-att")].reason == "orphaned_index_child"


def test_child_shared_with_a_live_index_is_never_an_orphan():
    live_imgs, live_refs = multiarch("new", tags=("latest",))
    old_idx = img("old-idx", media=OCI_INDEX)
    refs = live_refs + [child("old-idx", "new-amd64"), child("old-idx", "old-only")]
    o = by_digest(images.orphans(inv_of(live_imgs + [old_idx, img("old-only")], refs)))
    assert set(o) == {d("old-idx"), d("old-only")}
    assert o[d("old-only")].reason == "orphaned_index_child"


def test_signature_whose_subject_is_gone_is_dangling():
    o = images.orphans(inv_of([img("app", ["v1"]), img("sig", [cosign_tag(d("deleted"))])]))
    assert o[["image_digest", "reason"]].values.tolist() == [[d("sig"), "dangling_signature"]]


def test_dangling_signature_is_decided_without_manifests():
    o = images.orphans(
        inv_of([img("app", ["v1"]), img("sig", [cosign_tag(d("deleted"))])], manifests_read=False)
    )
    assert o["reason"].tolist() == ["dangling_signature"]


def test_referrer_whose_subject_is_gone_is_dangling():
    o = images.orphans(inv_of([img("app", ["v1"]), img("sbom", subject_digest=d("gone"))]))
    assert o["reason"].tolist() == ["dangling_referrer"]


def test_signature_of_a_live_image_and_attachments_of_live_images_are_not_orphans():
    imgs, refs = multiarch("a")
    extra = [img("sig", [cosign_tag(d("a-idx"))]), img("ref", subject_digest=d("a-amd64"))]
    assert images.orphans(inv_of(imgs + extra, refs)).empty


def test_signature_of_an_orphaned_image_is_an_orphaned_attachment():
    o = by_digest(images.orphans(inv_of([img("old"), img("sig", [cosign_tag(d("old"))])])))
    assert o[d("old")].reason == "untagged_unreferenced"
    assert o[d("sig")].reason == "orphaned_attachment"


def test_without_manifests_no_untagged_image_is_called_an_orphan():
    imgs, refs = multiarch("old", tags=())
    inv = inv_of(imgs + [img("loose")], [], manifests_read=False)
    assert images.orphans(inv).empty
    u = images.undetermined(inv)
    assert set(u["image_digest"]) == {d(x) for x in ["old-idx", "old-amd64", "old-arm64", "old-att", "loose"]}
    assert u["how_to_decide"].str.contains("register-pull-time-update-exclusion").all()


def test_reclaimable_bytes_count_only_blobs_no_remaining_image_uses():
    inv = inv_of(
        [img("app", ["v1"]), img("old1"), img("old2")],
        layers=[
            layer("app", "base", 1000),
            layer("app", "a", 10),
            layer("old1", "base", 1000),
            layer("old1", "shared-old", 50),
            layer("old1", "o1", 7),
            layer("old2", "shared-old", 50),
            layer("old2", "o2", 3),
        ],
    )
    o = images.orphans(inv)
    assert o["reclaimable_bytes"].sum() == 50 + 7 + 3
    assert len(o) == 2


def test_reclaimable_bytes_unknown_when_some_image_of_the_repository_has_unknown_blobs():
    inv = inv_of(
        [img("app", ["v1"], manifest_status="unreadable"), img("old")], layers=[layer("old", "x", 5)]
    )
    o = images.orphans(inv)
    assert o["reclaimable_bytes"].isna().all()


def test_orphans_in_another_repository_do_not_mix_graphs():
    other = {**R, "repository_name": "other"}
    # The same digest in another repository is a different node: the live index here does not keep it.
    imgs, refs = multiarch("a")
    o = images.orphans(inv_of(imgs + [img("a-amd64", repo=other)], refs))
    assert o[["repository_name", "reason"]].values.tolist() == [["other", "untagged_unreferenced"]]


# --- stale --------------------------------------------------------------------------------------


def test_never_pulled_image_is_judged_by_push_time():
    s = images.stale(inv_of([img("a", ["v1"], age_days=100), img("b", ["v2"], age_days=10)]), days=90)
    assert dict(zip(s["image_digest"], s["is_stale"])) == {d("a"): True, d("b"): False}
    assert set(s["activity_basis"]) == {"pushed (never pulled)"}


def test_recent_pull_makes_an_old_image_fresh():
    s = images.stale(inv_of([img("a", ["v1"], age_days=400, pulled_days=3)]), days=90)
    assert not s["is_stale"].iloc[0] and s["idle_days"].iloc[0] == 3


def test_children_follow_their_index():
    imgs, refs = multiarch("a", age_days=300)
    imgs[0]["last_pulled_at"] = NOW - pd.Timedelta(days=1)
    s = images.stale(inv_of(imgs, refs), days=90)
    assert not s["is_stale"].any()
    assert (s.set_index("image_digest").loc[d("a-amd64"), "activity_basis"]) == "unit (parent or subject)"


def test_stale_by_repository_excludes_index_sizes():
    imgs, refs = multiarch("a", age_days=300)
    r = images.stale_by_repository(inv_of(imgs, refs), days=90)
    assert r["stale_images"].iloc[0] == 4
    assert r["stale_size_bytes"].iloc[0] == 100 + 100 + 2  # not the index's max-of-children size


# --- superseded ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "tag,family",
    [
        ("1.2.3", "#"),
        ("v1.2.3-alpine", "#-alpine"),
        ("build-123", "build-#"),
        ("latest", "latest"),
        ("0a1b2c3d", "<hash>"),
    ],
)
def test_tag_family_strips_the_version_part(tag, family):
    assert images.tag_family(pd.Series([tag])).iloc[0] == family


def test_superseded_keeps_newest_k_per_family_and_a_latest_tag_protects():
    imgs = [img(f"v{i}", [f"v1.{i}.0"], age_days=50 - i) for i in range(6)]
    imgs[0]["tags"] = ["v1.0.0", "latest"]
    imgs.append(img("alp", ["v1.0.0-alpine"], age_days=60))
    s = images.superseded(inv_of(imgs), keep=3)
    assert sorted(s["image_digest"]) == sorted([d("v1"), d("v2")])
    assert set(s["family"]) == {"#"}


def test_superseded_ranks_ties_by_digest_restores_by_activation_and_never_pushed_last():
    # Same push time: the lower digest counts as newer. A restored image ranks by lastActivatedAt.
    imgs = [img(n, [f"1.{i}"], age_days=5) for i, n in enumerate(["b", "a", "c"])]
    imgs.append(img("old", ["1.9"], age_days=400, last_activated_at=NOW - pd.Timedelta(days=1)))
    imgs.append(img("unknown", ["1.8"], pushed_at=None))
    imgs.append(img("sig", ["sha256-" + "ab" * 32 + ".sig"], age_days=900))
    other = {**R, "repository_name": "other"}
    imgs.append(img("x", ["1.0"], age_days=900, repo=other))
    s = images.superseded(inv_of(imgs), keep=2)
    ranked = dict(zip(s["image_digest"], s["family_rank"]))
    tied = sorted([d("a"), d("b"), d("c")])  # digest order breaks the tie
    assert ranked == {tied[1]: 3, tied[2]: 4, d("unknown"): 5}  # "old" (restored) and tied[0] kept
    assert s["family_images"].unique().tolist() == [5]
    assert s["family_rank"].tolist() == [3, 4, 5]  # sorted by repository, family, rank


# --- report summaries ---------------------------------------------------------------------------


def test_role_mix_shows_untagged_children_of_live_indexes_as_live():
    imgs, refs = multiarch("a")
    mix = images.role_mix(images.classify(inv_of(imgs + [img("old")], refs)))
    rows = {(r.role, r.liveness): r for r in mix.itertuples()}
    assert rows[("index_child", "live")].untagged_images == 2
    assert rows[("attestation", "live")].untagged_images == 1
    assert rows[("image", "orphan")].untagged_images == 1
    assert rows[("index", "live")].size_bytes == 0


def test_orphan_summary_sums_reclaimable_bytes_by_reason():
    inv = inv_of(
        [img("app", ["v1"]), img("o1"), img("o2")],
        layers=[layer("app", "b", 1), layer("o1", "x", 5), layer("o2", "y", 7)],
    )
    s = images.orphan_summary(images.orphans(inv))
    assert s[["reason", "images", "reclaimable_bytes"]].values.tolist() == [["untagged_unreferenced", 2, 12]]


def test_idle_histogram_buckets_by_days_since_last_activity():
    s = images.stale(
        inv_of(
            [img("a", ["v1"], age_days=10), img("b", ["v2"], age_days=100), img("c", ["v3"], age_days=1000)]
        )
    )
    h = images.idle_histogram(s)
    assert h.set_index("bucket")["images"].loc[["0–29 days", "90–179 days", "730+ days"]].tolist() == [
        1,
        1,
        1,
    ]


def test_orphans_undetermined_and_stale_of_an_empty_inventory_are_empty_frames():
    inv = inv_of([])
    assert images.orphans(inv).empty and "reason" in images.orphans(inv).columns
    assert images.undetermined(inv).empty
    assert list(images.classify(inv).columns) == images.CLASSIFY_COLUMNS


def test_classify_is_computed_once_per_inventory_and_callers_get_copies():
    inv = inv_of([img("a", ["v1"]), img("b")])
    first = images.classify(inv)
    first.loc[0, "liveness"] = "tampered"
    again = images.classify(inv)
    assert "tampered" not in set(again["liveness"])
    assert images._classify(inv) is images._classify(inv)
