"""BatchGetImage handling inside a unit: batching, per-image failures, invalid manifests."""

import io

import boto3
from botocore.stub import ANY, Stubber

from ecr_audit.collect import images as img
from ecr_audit.collect.accounts import Account
from ecr_audit.collect.calls import CallRecorder
from ecr_audit.collect.progress import StderrProgress
from ecr_audit.collect.reading import ThrottleBudget
from ecr_audit.collect.sink import Sink
from ecr_audit.collect.unit import Unit, read_manifests_of
from tests.data.ecr_payloads import DOCKER_V2, digest_of, h


def _unit():
    return Unit(Account("012345678901"), "us-east-1", Sink(), CallRecorder(), ThrottleBudget())


def test_150_images_take_two_batch_get_image_calls_and_failures_and_garbage_are_recorded():
    ecr = boto3.client("ecr", region_name="us-east-1")
    good = digest_of(DOCKER_V2)
    digests = [good, h(1), h(2)] + [h(100 + i) for i in range(147)]
    details = [{"imageDigest": d} for d in digests] + [{"imageDigest": h(999), "imageStatus": "ARCHIVED"}]
    rows, _ = img.transform_images("012345678901", "us-east-1", "web", details)
    stub = Stubber(ecr)
    stub.add_response(
        "batch_get_image",
        {
            "images": [
                {
                    "imageId": {"imageDigest": good},
                    "imageManifest": DOCKER_V2,
                    "imageManifestMediaType": "application/vnd.docker.distribution.manifest.v2+json",
                },
                {"imageId": {"imageDigest": h(1)}, "imageManifest": "{garbage"},
            ]
            + [{"imageId": {"imageDigest": h(100 + i)}, "imageManifest": "x"} for i in range(97)],
            "failures": [
                {
                    "imageId": {"imageDigest": h(2)},
                    "failureCode": "ImageNotFound",
                    "failureReason": "Requested image not found",
                }
            ],
        },
        {
            "repositoryName": "web",
            "imageIds": [{"imageDigest": d} for d in digests[:100]],
            "acceptedMediaTypes": ANY,
        },
    )
    stub.add_response(
        "batch_get_image",
        {"images": [], "failures": []},
        {
            "repositoryName": "web",
            "imageIds": [{"imageDigest": d} for d in digests[100:]],
            "acceptedMediaTypes": ANY,
        },
    )
    u = _unit()
    with stub:
        sent, layers, edges = read_manifests_of(u, ecr, "web", rows)
    stub.assert_no_pending_responses()
    status = {r["image_digest"]: r["manifest_status"] for r in rows}
    assert sent and status[good] == "present" and status[h(1)] == "invalid" and status[h(2)] == "unreadable"
    assert status[h(999)] == "skipped"  # archived: not pullable, not asked for
    assert status[h(246)] == "unreadable"  # second batch answered nothing
    assert len(layers) == 3 and edges == []
    errors = u.sink.rows["errors"]
    kinds = {(e["error_code"], e["error_kind"]) for e in errors}
    assert ("ImageNotFound", "not_found") in kinds and ("InvalidManifest", "invalid_data") in kinds
    assert ("MissingFromAnswer", "error") in kinds
    assert u.errors == len(errors) == 1 + 1 + 97 + 50


def test_stderr_progress_writes_only_to_a_tty():
    class Tty(io.StringIO):
        def isatty(self):
            return True

    quiet, loud = io.StringIO(), Tty()
    for stream in (quiet, loud):
        StderrProgress(stream)(
            {
                "event": "unit_done",
                "units_done": 1,
                "units_total": 4,
                "repositories": 3,
                "images": 10,
                "errors": 0,
            }
        )
    assert quiet.getvalue() == ""
    assert "units 1/4" in loud.getvalue() and "images 10" in loud.getvalue()
