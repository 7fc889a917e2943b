import pandas as pd

from ecr_audit import schema
from ecr_audit.blobs import freed_bytes, unique_blobs

R = {"account_id": "012345678901", "region": "us-east-1", "repository_name": "app"}


def _layers(rows):
    return schema.conform(
        "layers",
        [{**R, "image_digest": d, "blob_digest": b, "size_bytes": s, "kind": "layer"} for d, b, s in rows],
    )


def test_blob_shared_with_a_kept_image_is_not_freed():
    layers = _layers(
        [
            ("sha256:old", "sha256:base", 100),
            ("sha256:old", "sha256:o1", 10),
            ("sha256:new", "sha256:base", 100),
            ("sha256:new", "sha256:n1", 20),
        ]
    )
    out = freed_bytes(layers, pd.DataFrame([{**R, "image_digest": "sha256:old"}]))
    assert out["freed_bytes"].tolist() == [10]
    assert out["freed_blobs"].tolist() == [1]


def test_blob_shared_only_among_removed_images_is_freed_once():
    layers = _layers(
        [("sha256:a", "sha256:base", 100), ("sha256:b", "sha256:base", 100), ("sha256:keep", "sha256:k", 5)]
    )
    out = freed_bytes(
        layers, pd.DataFrame([{**R, "image_digest": "sha256:a"}, {**R, "image_digest": "sha256:b"}])
    )
    assert out["freed_bytes"].tolist() == [100]


def test_same_blob_in_another_repository_does_not_protect_it():
    other = {**R, "repository_name": "other"}
    layers = pd.concat(
        [
            _layers([("sha256:a", "sha256:base", 100)]),
            schema.conform(
                "layers",
                [
                    {
                        **other,
                        "image_digest": "sha256:x",
                        "blob_digest": "sha256:base",
                        "size_bytes": 100,
                        "kind": "layer",
                    }
                ],
            ),
        ]
    )
    out = freed_bytes(layers, pd.DataFrame([{**R, "image_digest": "sha256:a"}]))
    assert out[["repository_name", "freed_bytes"]].values.tolist() == [["app", 100]]


def test_unique_blobs_counts_each_blob_once_per_repository():
    layers = _layers(
        [("sha256:a", "sha256:base", 100), ("sha256:b", "sha256:base", 100), ("sha256:b", "sha256:b1", 7)]
    )
    assert unique_blobs(layers)["size_bytes"].sum() == 107
