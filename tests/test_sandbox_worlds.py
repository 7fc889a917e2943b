"""The sandbox in worlds of its own: pagination, pushes, environment hygiene, start time."""

import os

import pytest
from botocore.exceptions import ClientError

from ecr_audit import sandbox
from ecr_audit.sandbox import demo
from ecr_audit.sandbox import manifests as mf
from ecr_audit.sandbox.world import Account, Image, Registry, Repository, World

ANY = {"tagStatus": "ANY", "imageStatus": "ANY"}


def all_images(ecr, repo, **filters):
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repo, **filters)
    return [d for p in pages for d in p["imageDetails"]]


def tiny_world(images=3, repos=1, name="tiny") -> World:
    base = [mf.blob("tiny:base", 1000)]
    repositories = [
        Repository(
            f"r{j}",
            [
                Image(mf.single_image(f"tiny:{j}:{i}", base), (f"t{i}",), demo.DEFAULT_NOW)
                for i in range(images)
            ],
        )
        for j in range(repos)
    ]
    return World(
        name,
        [
            Account("123456789012", "mgmt", registries=[Registry("us-east-1", repositories)]),
            Account("012345678901", "member", registries=[Registry("us-east-1", [])]),
        ],
    )


def test_describe_images_and_list_images_paginate_like_ecr():
    with sandbox.running(tiny_world(images=230)) as o:
        ecr = o.session().client("ecr")
        pages = [
            len(p["imageDetails"]) for p in ecr.get_paginator("describe_images").paginate(repositoryName="r0")
        ]
        assert pages == [100, 100, 30]
        big = [
            len(p["imageDetails"])
            for p in ecr.get_paginator("describe_images").paginate(
                repositoryName="r0", PaginationConfig={"PageSize": 1000}
            )
        ]
        assert big == [230]
        ids = [len(p["imageIds"]) for p in ecr.get_paginator("list_images").paginate(repositoryName="r0")]
        assert ids == [100, 100, 30]
        with pytest.raises(ClientError) as e:
            ecr.describe_images(repositoryName="r0", maxResults=1001)
        assert e.value.response["Error"]["Code"] == "InvalidParameterException"


def test_describe_repositories_paginates():
    with sandbox.running(tiny_world(images=0, repos=130)) as o:
        ecr = o.session().client("ecr")
        pages = [
            len(p["repositories"])
            for p in ecr.get_paginator("describe_repositories").paginate(PaginationConfig={"PageSize": 50})
        ]
        assert pages == [50, 50, 30]


def test_moving_a_tag_leaves_the_old_image_untagged():
    with sandbox.running(tiny_world()) as o:
        ecr = o.session().client("ecr")
        old = ecr.describe_images(repositoryName="r0", imageIds=[{"imageTag": "t0"}])["imageDetails"][0]
        new = mf.single_image("moved", [])
        ecr.put_image(
            repositoryName="r0",
            imageManifest=new.text,
            imageTag="t0",
            imageManifestMediaType=new.media_type,
            imageDigest=new.digest,
        )
        by_digest = {d["imageDigest"]: d for d in all_images(ecr, "r0", filter=ANY)}
        assert "imageTags" not in by_digest[old["imageDigest"]]
        assert by_digest[new.digest]["imageTags"] == ["t0"]
        assert by_digest[new.digest]["imageSizeInBytes"] == new.size_bytes
        assert len(by_digest) == 4


def test_put_image_refuses_a_digest_that_is_not_the_manifest_hash():
    with sandbox.running(tiny_world()) as o:
        ecr = o.session().client("ecr")
        m = mf.single_image("x", [])
        with pytest.raises(ClientError) as e:
            ecr.put_image(
                repositoryName="r0", imageManifest=m.text, imageTag="x", imageDigest="sha256:" + "0" * 64
            )
        assert e.value.response["Error"]["Code"] == "InvalidParameterException"
        with pytest.raises(ClientError) as e:
            ecr.put_image(repositoryName="missing", imageManifest=m.text, imageTag="x")
        assert e.value.response["Error"]["Code"] == "RepositoryNotFoundException"


def test_running_unsets_endpoint_url_and_restores_it(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
    with sandbox.running(tiny_world(images=1)) as o:
        assert "AWS_ENDPOINT_URL" not in os.environ
        assert o.session().client("ecr").describe_repositories()["repositories"]
    assert os.environ["AWS_ENDPOINT_URL"] == "http://127.0.0.1:9"


def test_running_refuses_moto_account_id(monkeypatch):
    monkeypatch.setenv("MOTO_ACCOUNT_ID", "111111111111")
    with pytest.raises(RuntimeError, match="MOTO_ACCOUNT_ID"):
        with sandbox.running(tiny_world()):
            pass


def test_running_sets_dummy_credentials_only_while_running(monkeypatch):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    with sandbox.running(tiny_world(images=1)):
        assert os.environ["AWS_ACCESS_KEY_ID"]  # dummy (moto's mock sets its own too)
    assert "AWS_ACCESS_KEY_ID" not in os.environ


def test_scaled_world_is_seeded_directly_and_visible_through_the_api():
    from ecr_audit.sandbox.scale import scaled_world

    world = scaled_world(accounts=2, regions=2, repositories_per_region=3, images_per_repository=7, seed=1)
    assert world.image_count() == 2 * 2 * 3 * 7
    with sandbox.running(world) as o:
        assert o.images_seeded == 84
        ecr = o.session().client("ecr", region_name="eu-west-1")
        repos = ecr.describe_repositories()["repositories"]
        assert len(repos) == 3
        details = all_images(ecr, repos[0]["repositoryName"], filter=ANY)
        assert len(details) == 7
        truth = o.expected_images()
        assert len(truth) == 84 and truth.account_id.str.len().eq(12).all()


def test_a_second_sandbox_is_refused_without_disturbing_the_first():
    with sandbox.running(tiny_world(images=2)) as o:
        with pytest.raises(RuntimeError, match="already running"):
            with sandbox.running(tiny_world(images=1, name="other")):
                pass
        assert len(all_images(o.session().client("ecr"), "r0")) == 2
