"""keys: integer ids equal a plain string join in every case the fast digest path could get wrong."""

import pandas as pd

from ecr_audit import Inventory, keys

R = {"account_id": "111111111111", "region": "us-east-1", "repository_name": "app"}


def dg(hex64: str) -> str:
    return "sha256:" + hex64


SAME_PREFIX_A = dg("0123456789abcdef" + "0" * 48)
SAME_PREFIX_B = dg("0123456789abcdef" + "1" * 48)  # shares the first 64 bits with A


def _naive_rows(images: pd.DataFrame, frame: pd.DataFrame, col: str) -> list[int]:
    pos = {tuple(r): i for i, r in enumerate(images[keys.IMAGE_KEY].itertuples(index=False))}
    return [
        pos.get((a, b, c, d), -1) if isinstance(d, str) else -1
        for a, b, c, d in frame[keys.REPO_KEY + [col]].itertuples(index=False)
    ]


def _check(image_digests, ref_targets):
    inv = Inventory.from_frames(
        images=[{**R, "image_digest": x, "tags": []} for x in image_digests]
        + [{**R, "repository_name": "other", "image_digest": image_digests[0], "tags": []}],
        manifest_references=[
            {**R, "source_digest": image_digests[0], "target_digest": t, "kind": "index_child"}
            for t in ref_targets
        ],
    )
    src, tgt = keys.reference_rows(inv)
    assert list(tgt) == _naive_rows(inv.images, inv.manifest_references, "target_digest")
    assert list(src) == _naive_rows(inv.images, inv.manifest_references, "source_digest")


def test_digests_sharing_their_first_64_bits_are_still_told_apart():
    _check([SAME_PREFIX_A, SAME_PREFIX_B], [SAME_PREFIX_B, SAME_PREFIX_A])


def test_a_digest_absent_from_the_images_but_sharing_a_prefix_finds_no_row():
    _check([SAME_PREFIX_A, dg("f" * 64)], [SAME_PREFIX_B, dg("e" * 64), SAME_PREFIX_A])


def test_non_canonical_digests_take_the_string_path_and_match_exactly():
    _check(
        [dg("a" * 64), "sha512:" + "b" * 128, "garbage", dg("A" * 64)],
        ["garbage", "sha512:" + "b" * 128, dg("A" * 64), dg("a" * 64), "missing"],
    )


def test_layers_of_one_blob_in_two_repositories_are_two_billed_pairs():
    inv = Inventory.from_frames(
        images=[
            {**R, "image_digest": dg("1" * 64), "tags": []},
            {**R, "repository_name": "other", "image_digest": dg("2" * 64), "tags": []},
        ],
        layers=[
            {
                **R,
                "image_digest": dg("1" * 64),
                "blob_digest": dg("9" * 64),
                "size_bytes": 5,
                "kind": "layer",
            },
            {
                **R,
                "repository_name": "other",
                "image_digest": dg("2" * 64),
                "blob_digest": dg("9" * 64),
                "kind": "layer",
                "size_bytes": 5,
            },
            {
                **R,
                "image_digest": dg("1" * 64),
                "blob_digest": dg("8" * 64),
                "size_bytes": 1,
                "kind": "layer",
            },
        ],
    )
    lk = keys.layer_keys(inv)
    assert list(lk.image_row) == [0, 1, 0]
    assert lk.n_pairs == 3 and lk.pair[0] != lk.pair[1]
    assert lk.blob[0] == lk.blob[1] != lk.blob[2]
