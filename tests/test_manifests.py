import json

import pandas as pd
import pytest

from ecr_audit.collect.manifests import MAX_MANIFEST_BYTES, cosign_edges, parse_manifest
from tests.data.ecr_payloads import (
    ATTESTATION,
    DOCKER_LIST,
    DOCKER_V2,
    OCI_AMD64,
    OCI_ARM64,
    OCI_INDEX,
    REFERRER,
    digest_of,
    h,
)


def test_docker_v2_manifest_yields_config_and_each_layer_with_sizes():
    p = parse_manifest(digest_of(DOCKER_V2), DOCKER_V2)
    assert p.status == "present"
    assert p.config_media_type == "application/vnd.docker.container.image.v1+json"
    assert [(l["kind"], l["blob_digest"], l["size_bytes"]) for l in p.layers] == [
        ("config", h(1), 7023),
        ("layer", h(2), 32654),
        ("layer", h(3), 16724),
    ]
    assert p.edges == []
    assert p.size_bytes == len(DOCKER_V2.encode())


def test_oci_index_yields_platform_children_and_attestation_subject_edge():
    d = digest_of(OCI_INDEX)
    p = parse_manifest(d, OCI_INDEX)
    assert p.status == "present" and p.layers == []
    children = [
        (e["target_digest"], e["platform"], e["reference_type"])
        for e in p.edges
        if e["kind"] == "index_child"
    ]
    assert children == [
        (digest_of(OCI_AMD64), "linux/amd64", None),
        (digest_of(OCI_ARM64), "linux/arm64/v8", None),
        (digest_of(ATTESTATION), "unknown/unknown", "attestation-manifest"),
    ]
    att = [e for e in p.edges if e["kind"] == "attestation_subject"]
    assert [(e["source_digest"], e["target_digest"]) for e in att] == [
        (digest_of(ATTESTATION), digest_of(OCI_AMD64))
    ]


def test_docker_manifest_list_children_carry_docker_media_type():
    p = parse_manifest(digest_of(DOCKER_LIST), DOCKER_LIST)
    assert [(e["kind"], e["media_type"]) for e in p.edges] == [
        ("index_child", "application/vnd.docker.distribution.manifest.v2+json")
    ]


def test_oci_referrer_subject_and_artifact_type_are_read():
    p = parse_manifest(digest_of(REFERRER), REFERRER)
    assert p.artifact_type == "application/spdx+json"
    assert p.config_media_type == "application/vnd.oci.empty.v1+json"
    assert [(e["kind"], e["target_digest"]) for e in p.edges] == [("referrer_subject", digest_of(OCI_AMD64))]


def test_oci_manifest_without_media_type_field_uses_batch_get_image_media_type():
    doc = json.loads(OCI_AMD64)
    del doc["mediaType"]
    text = json.dumps(doc)
    p = parse_manifest(digest_of(text), text, "application/vnd.oci.image.manifest.v1+json")
    assert p.status == "present" and len(p.layers) == 2


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            json.dumps({"schemaVersion": 2, "mediaType": "application/x-unknown"}),
            "unknown manifest media type",
        ),
        (
            json.dumps(
                {"schemaVersion": 1, "mediaType": "application/vnd.docker.distribution.manifest.v1+prettyjws"}
            ),
            "unknown manifest media type",
        ),
        (json.dumps({"mediaType": "application/vnd.oci.image.manifest.v1+json", "layers": []}), "no config"),
        (
            json.dumps(
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"digest": "md5:abc", "size": 1},
                }
            ),
            "no valid sha256 digest",
        ),
        (
            json.dumps(
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "config": {"digest": h(1), "size": -5},
                }
            ),
            "invalid size",
        ),
        (
            json.dumps({"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": "nope"}),
            "not a list",
        ),
        (
            json.dumps(
                {
                    "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [
                        {"digest": h(5), "annotations": {"vnd.docker.reference.type": "attestation-manifest"}}
                    ],
                }
            ),
            "attestation without",
        ),
        ("[" * 100_000 + "]" * 100_000, "not JSON"),
    ],
)
def test_garbage_manifests_are_invalid_with_a_reason_never_a_crash(text, problem):
    p = parse_manifest(digest_of(text), text)
    assert p.status == "invalid"
    assert problem in p.problem
    assert p.layers == [] and p.edges == []


def test_manifest_whose_bytes_do_not_hash_to_the_digest_is_invalid():
    p = parse_manifest(h(999), DOCKER_V2)
    assert p.status == "invalid" and "hash to" in p.problem


def test_index_listing_itself_is_invalid():
    # A self reference cannot be built with a real digest; the digest check comes first, so we
    # check the self-reference rule through a subject pointing at its own (claimed) digest.
    doc = {"mediaType": "application/vnd.oci.image.index.v1+json", "manifests": []}
    text = json.dumps(doc)
    own = digest_of(text)
    doc2 = {**doc, "manifests": [{"digest": own, "mediaType": "application/vnd.oci.image.manifest.v1+json"}]}
    text2 = json.dumps(doc2)
    # text2 names `own`, not itself: valid. A document naming its own digest is only possible
    # through the parser's view of `digest`, so parse text2 while claiming it is `own`.
    assert parse_manifest(digest_of(text2), text2).status == "present"
    from ecr_audit.collect import manifests as m

    out = m.ParsedManifest(status="present", size_bytes=0)
    with pytest.raises(ValueError, match="lists itself"):
        m._parse_index(own, doc2, out)
    with pytest.raises(ValueError, match="own subject"):
        m._parse_subject(own, {"subject": {"digest": own}}, out)


def test_oversized_manifest_is_invalid_without_parsing():
    text = " " * (MAX_MANIFEST_BYTES + 1)
    p = parse_manifest(digest_of(text), text)
    assert p.status == "invalid" and "more than ECR" in p.problem


def test_non_text_manifest_is_invalid():
    assert parse_manifest(h(1), None).status == "invalid"


def test_cosign_tags_give_signature_edges_to_the_named_digest_only():
    hexd = "ab" * 32
    tags = pd.DataFrame(
        {
            "account_id": ["012345678901"] * 4,
            "region": ["us-east-1"] * 4,
            "repository_name": ["web"] * 4,
            "image_digest": [h(1), h(2), h(3), h(4)],
            "tag": [f"sha256-{hexd}.sig", f"sha256-{hexd}.att", "sha-1234.sig", f"sha256-{hexd}.sbom.old"],
        }
    )
    out = cosign_edges(tags)
    assert out[["source_digest", "target_digest", "kind", "reference_type"]].values.tolist() == [
        [h(1), f"sha256:{hexd}", "signature_subject", "cosign:sig"],
        [h(2), f"sha256:{hexd}", "signature_subject", "cosign:att"],
    ]


def test_cosign_edges_of_no_tags_is_empty():
    assert (
        len(
            cosign_edges(
                pd.DataFrame(columns=["account_id", "region", "repository_name", "image_digest", "tag"])
            )
        )
        == 0
    )
