"""The sandbox: moto corrected where it differs from ECR, faults, and the demo world's cases."""

import hashlib
import json
import time
from datetime import timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from ecr_audit import sandbox
from ecr_audit.sandbox import demo
from ecr_audit.sandbox import manifests as mf

ANY = {"tagStatus": "ANY", "imageStatus": "ANY"}
NO_RETRY = Config(retries={"total_max_attempts": 1, "mode": "standard"})  # max_attempts counts retries


_CLIENTS = {}


def client(org, account_id, service="ecr", region="us-east-1", role=None, config=None):
    """A client in `account_id` through the audit role (cached: creating clients is slow)."""
    key = (id(org), account_id, service, region, role, id(config))
    if key not in _CLIENTS:
        _CLIENTS[key] = member_session(org, account_id, region, role).client(service, config=config)
    return _CLIENTS[key]


def member_session(org, account_id, region="us-east-1", role=None):
    sts = org.session().client("sts")
    c = sts.assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{role or org.role_name}", RoleSessionName="test"
    )["Credentials"]
    return boto3.Session(
        aws_access_key_id=c["AccessKeyId"],
        aws_secret_access_key=c["SecretAccessKey"],
        aws_session_token=c["SessionToken"],
        region_name=region,
    )


def all_images(ecr, repo, **filters):
    pages = ecr.get_paginator("describe_images").paginate(repositoryName=repo, **filters)
    return [d for p in pages for d in p["imageDetails"]]


@pytest.fixture(scope="module")
def org():
    with sandbox.running(sandbox.demo_world()) as o:
        yield o


@pytest.fixture(autouse=True)
def _clear_faults(request):
    yield
    if "org" in request.fixturenames:
        request.getfixturevalue("org").faults.clear()


# ---- digests, sizes, fields -------------------------------------------------------------------


def test_digest_is_sha256_of_manifest_bytes(org):
    ecr = client(org, demo.PAYMENTS)
    details = all_images(ecr, "payments/api", filter=ANY)
    got = ecr.batch_get_image(
        repositoryName="payments/api",
        imageIds=[{"imageDigest": d["imageDigest"]} for d in details[:50]],
        acceptedMediaTypes=[mf.OCI_MANIFEST, mf.OCI_INDEX],
    )
    assert len(got["images"]) == min(50, len(details))
    for im in got["images"]:
        digest = "sha256:" + hashlib.sha256(im["imageManifest"].encode()).hexdigest()
        assert digest == im["imageId"]["imageDigest"]


def test_image_size_is_layers_plus_config_and_index_size_is_largest_child(org):
    ecr = client(org, demo.PAYMENTS)
    details = {d["imageDigest"]: d for d in all_images(ecr, "payments/api", filter=ANY)}
    latest = next(d for d in details.values() if "latest" in d.get("imageTags", []))
    index = json.loads(
        ecr.batch_get_image(repositoryName="payments/api", imageIds=[{"imageTag": "latest"}])["images"][0][
            "imageManifest"
        ]
    )
    children = [details[m["digest"]] for m in index["manifests"]]
    assert latest["imageSizeInBytes"] == max(c["imageSizeInBytes"] for c in children)
    child = json.loads(
        ecr.batch_get_image(
            repositoryName="payments/api", imageIds=[{"imageDigest": children[0]["imageDigest"]}]
        )["images"][0]["imageManifest"]
    )
    assert children[0]["imageSizeInBytes"] == child["config"]["size"] + sum(
        l["size"] for l in child["layers"]
    )


def test_describe_images_returns_new_fields_and_omits_pull_time_when_never_pulled(org):
    ecr = org.session().client("ecr")
    details = {tuple(d.get("imageTags", [])): d for d in all_images(ecr, "shared/base", filter=ANY)}
    never = details[("bullseye",)]
    assert "lastRecordedPullTime" not in never
    assert never["imageStatus"] == "ACTIVE"
    assert never["artifactMediaType"] == mf.DOCKER_CONFIG
    archived = details[("buster",)]
    assert archived["imageStatus"] == "ARCHIVED" and "lastArchivedAt" in archived
    pulled = details[("bookworm-2024",)]
    assert pulled["lastRecordedPullTime"].year == 2025


def test_referrer_reports_subject_manifest_digest_live_and_dangling(org):
    ecr = client(org, demo.PAYMENTS)
    details = all_images(ecr, "payments/api", filter=ANY)
    digests = {d["imageDigest"] for d in details}
    subjects = [d["subjectManifestDigest"] for d in details if "subjectManifestDigest" in d]
    assert len(subjects) == 2
    assert sum(s in digests for s in subjects) == 1  # one live, one dangling


def test_describe_images_defaults_to_active_and_honours_filters(org):
    ecr = org.session().client("ecr")
    default = all_images(ecr, "shared/base")
    everything = all_images(ecr, "shared/base", filter=ANY)
    archived = all_images(ecr, "shared/base", filter={"imageStatus": "ARCHIVED"})
    untagged = all_images(ecr, "shared/base", filter={"tagStatus": "UNTAGGED", "imageStatus": "ANY"})
    assert {d["imageStatus"] for d in default} == {"ACTIVE"}
    assert len(everything) == len(default) + len(archived) == 5
    assert len(archived) == 2
    assert [d.get("imageTags") for d in untagged] == [None]
    listed = ecr.list_images(repositoryName="shared/base", filter={"tagStatus": "TAGGED"})["imageIds"]
    assert {i["imageTag"] for i in listed} == {"bookworm-2024", "bullseye", "bookworm", "latest"}


# ---- pagination -------------------------------------------------------------------------------

# ---- push and pull ----------------------------------------------------------------------------


def test_batch_get_image_moves_pull_time_unless_the_role_is_excluded(org):
    before = org.pull_times().set_index(["account_id", "repository_name", "image_digest"])["last_pulled_at"]
    excluded = client(org, demo.PAYMENTS)  # audit role excluded here
    excluded.batch_get_image(repositoryName="payments/worker", imageIds=[{"imageTag": "v1.2.0"}])
    counted = client(org, demo.DATA)  # ... but not here
    counted.batch_get_image(repositoryName="data/etl", imageIds=[{"imageTag": "2026.03"}])
    after = org.pull_times().set_index(["account_id", "repository_name", "image_digest"])["last_pulled_at"]
    changed = after[after.ne(before) & ~(after.isna() & before.isna())]
    assert list(changed.index.get_level_values("repository_name")) == ["data/etl"]
    assert changed.iloc[0] >= org.world.now
    assert before[changed.index].isna().all()  # 2026.03 had never been pulled


def test_batch_get_image_by_another_role_in_an_excluding_account_moves_pull_time(org):
    ecr = client(org, demo.PAYMENTS, role="deployer")
    digest = ecr.describe_images(repositoryName="payments/worker", imageIds=[{"imageTag": "v1.3.0"}])[
        "imageDetails"
    ][0]["imageDigest"]
    ecr.batch_get_image(repositoryName="payments/worker", imageIds=[{"imageDigest": digest}])
    pt = org.pull_times().set_index("image_digest")["last_pulled_at"]
    assert pt[digest] >= org.world.now


def test_batch_get_image_refuses_archived_images(org):
    ecr = org.session().client("ecr")
    got = ecr.batch_get_image(repositoryName="shared/base", imageIds=[{"imageTag": "buster"}])
    assert got["images"] == [] and got["failures"][0]["failureCode"] == "ImageInaccessible"


# ---- faults -----------------------------------------------------------------------------------


def test_throttling_fault_with_times_fires_exactly_that_many_times(org):
    ecr = client(org, demo.PAYMENTS, config=NO_RETRY)
    fault = org.faults.add("DescribeImages", "ThrottlingException", message="Rate exceeded", times=3)
    codes = []
    for _ in range(5):
        try:
            ecr.describe_images(repositoryName="payments/api")
            codes.append("ok")
        except ClientError as e:
            codes.append(e.response["Error"]["Code"])
    assert codes == ["ThrottlingException"] * 3 + ["ok", "ok"]
    assert fault.fired == 3


def test_standard_retries_ride_out_a_short_throttling_storm(org):
    ecr = client(org, demo.PAYMENTS, config=Config(retries={"max_attempts": 5, "mode": "standard"}))
    org.faults.add("ListImages", "ThrottlingException", message="Rate exceeded", times=2)
    resp = ecr.list_images(repositoryName="payments/api")
    assert resp["ResponseMetadata"]["RetryAttempts"] == 2


def test_fault_scoped_to_account_region_and_repository(org):
    org.faults.add(
        "GetRepositoryPolicy",
        "AccessDeniedException",
        http_status=400,
        account_id=demo.DATA,
        region="us-east-1",
        repository_name="data/etl",
    )
    ecr = client(org, demo.DATA, config=NO_RETRY)
    with pytest.raises(ClientError) as e:
        ecr.get_repository_policy(repositoryName="data/etl")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "policyText" in ecr.get_repository_policy(repositoryName="data/notebooks")


def test_assume_role_failure_for_one_account(org):
    org.faults.add_assume_role_failure(demo.DATA)
    with pytest.raises(ClientError) as e:
        member_session(org, demo.DATA)
    assert e.value.response["Error"]["Code"] == "AccessDenied"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    member_session(org, demo.PAYMENTS).client("ecr").describe_repositories()


def test_assume_role_into_suspended_account_is_denied(org):
    with pytest.raises(ClientError) as e:
        member_session(org, demo.LEGACY)
    assert e.value.response["Error"]["Code"] == "AccessDenied"


def test_not_implemented_fault_answers_unknown_operation_or_501(org):
    ecr = org.session().client("ecr", config=NO_RETRY)
    org.faults.add_not_implemented("DescribePullThroughCacheRules")
    with pytest.raises(ClientError) as e:
        ecr.describe_pull_through_cache_rules()
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    org.faults.clear()
    org.faults.add_not_implemented("GetAccountSetting", http_status=501)
    with pytest.raises(ClientError) as e:
        ecr.get_account_setting(name="BLOB_MOUNTING")
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 501


def test_operation_moto_lacks_answers_unknown_operation_not_a_python_error(org):
    ecr = org.session().client("ecr", config=NO_RETRY)
    with pytest.raises(ClientError) as e:
        ecr.start_lifecycle_policy_preview(repositoryName="shared/base")
    assert e.value.response["Error"]["Code"] == "UnknownOperationException"


def test_latency_is_added_to_every_call(org):
    ecr = org.session().client("ecr")
    org.faults.latency(0.1)
    t = time.perf_counter()
    ecr.describe_repositories()
    assert time.perf_counter() - t >= 0.1
    org.faults.clear()
    assert org.faults.latency_seconds == 0


# ---- registry settings and the read operations moto lacks -------------------------------------


def test_account_settings_registry_policy_scope_v2_and_v1(org):
    pay = client(org, demo.PAYMENTS)
    data = client(org, demo.DATA)
    assert pay.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V2"
    assert data.get_account_setting(name="REGISTRY_POLICY_SCOPE")["value"] == "V1"
    eu = client(org, demo.PAYMENTS, region="eu-west-1")
    assert eu.get_account_setting(name="BLOB_MOUNTING")["value"] == "ENABLED"


def test_registry_policy_with_any_ecr_action_and_replication_with_several_rules(org):
    ecr = client(org, demo.PAYMENTS)
    actions = {
        a for s in json.loads(ecr.get_registry_policy()["policyText"])["Statement"] for a in s["Action"]
    }
    assert "ecr:BatchGetImage" in actions
    rules = ecr.describe_registry()["replicationConfiguration"]["rules"]
    dests = {d["registryId"] for r in rules for d in r["destinations"]}
    assert len(rules) == 3 and {demo.MANAGEMENT, demo.EXTERNAL} <= dests


def test_pull_time_exclusions_list_the_audit_role_except_in_one_member(org):
    ecr = client(org, demo.PAYMENTS, region="us-east-1")
    assert ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == [
        f"arn:aws:iam::{demo.PAYMENTS}:role/ecr-audit"
    ]
    # The management account is read with the caller's own credentials: the caller is excluded too.
    ecr = client(org, demo.MANAGEMENT, region="eu-west-1")
    assert sorted(ecr.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"]) == sorted(
        [f"arn:aws:iam::{demo.MANAGEMENT}:role/ecr-audit", demo.CALLER_ARN]
    )
    data = client(org, demo.DATA)
    assert data.list_pull_time_update_exclusions()["pullTimeUpdateExclusions"] == []


def test_pull_through_cache_rules_and_creation_templates(org):
    ecr = org.session().client("ecr")
    rules = ecr.describe_pull_through_cache_rules()["pullThroughCacheRules"]
    assert {r["ecrRepositoryPrefix"] for r in rules} == {"docker-hub", "ecr-public"}
    templates = ecr.describe_repository_creation_templates()["repositoryCreationTemplates"]
    assert {t["prefix"] for t in templates} == {"docker-hub", "ROOT"}
    empty = client(org, demo.DATA)
    assert empty.describe_pull_through_cache_rules()["pullThroughCacheRules"] == []


def test_lifecycle_policy_reports_world_evaluation_time(org):
    ecr = client(org, demo.PAYMENTS)
    got = ecr.get_lifecycle_policy(repositoryName="payments/api")
    assert got["lastEvaluatedAt"] == org.world.now - timedelta(days=1)


# ---- organization and regions -----------------------------------------------------------------


def test_organization_has_ous_a_suspended_account_and_string_ids(org):
    o = org.session().client("organizations")
    accounts = {a["Id"]: a for a in o.list_accounts()["Accounts"]}
    assert set(accounts) == set(org.account_ids)
    assert accounts[demo.LEGACY]["State"] == "SUSPENDED"
    assert demo.LEGACY.startswith("0") and demo.LEGACY in accounts
    assert o.describe_organization()["Organization"]["Id"] == org.organization_id
    root = o.list_roots()["Roots"][0]["Id"]
    ous = {
        u["Name"]: u["Id"]
        for u in o.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]
    }
    prod = [a["Id"] for a in o.list_accounts_for_parent(ParentId=ous["prod"])["Accounts"]]
    assert prod == [demo.PAYMENTS]


def test_describe_regions_shows_world_regions_and_disabled_opt_in_region(org):
    ec2 = client(org, demo.PAYMENTS, "ec2")
    enabled = {r["RegionName"] for r in ec2.describe_regions()["Regions"]}
    assert enabled == {"us-east-1", "eu-west-1"}
    every = {r["RegionName"]: r["OptInStatus"] for r in ec2.describe_regions(AllRegions=True)["Regions"]}
    assert every["ap-east-1"] == "not-opted-in" and len(every) == 3


def test_ecr_call_into_a_disabled_region_fails_like_aws(org):
    ecr = client(org, demo.PAYMENTS, region="ap-east-1", config=NO_RETRY)
    with pytest.raises(ClientError) as e:
        ecr.describe_repositories()
    assert e.value.response["Error"]["Code"] == "UnrecognizedClientException"


# ---- environment hygiene ----------------------------------------------------------------------

# ---- the demo world's named cases -------------------------------------------------------------


def test_demo_world_holds_attestations_signatures_orphans_and_shared_layers(org):
    imgs = org.expected_images()
    api = imgs[imgs.repository_name == "payments/api"]
    digests = set(api.image_digest)
    ecr = client(org, demo.PAYMENTS)
    indexes = [
        json.loads(i["imageManifest"])
        for i in ecr.batch_get_image(
            repositoryName="payments/api",
            imageIds=[{"imageDigest": d} for d in api[api.manifest_media_type == mf.OCI_INDEX].image_digest],
        )["images"]
    ]
    att = [
        m
        for ix in indexes
        for m in ix["manifests"]
        if m.get("annotations", {}).get("vnd.docker.reference.type") == "attestation-manifest"
    ]
    assert att and all(m["platform"] == {"architecture": "unknown", "os": "unknown"} for m in att)
    assert all(m["annotations"]["vnd.docker.reference.digest"] in digests for m in att)
    untagged_indexes = api[(api.manifest_media_type == mf.OCI_INDEX) & (api.tags.map(len) == 0)]
    assert len(untagged_indexes) == 1  # the orphaned index
    sigs = [t for ts in api.tags for t in ts if t.endswith(".sig")]
    subjects = {"sha256:" + t[len("sha256-") : -len(".sig")] for t in sigs}
    assert len(sigs) == 2 and len(subjects & digests) == 1  # live and dangling
    # a child referenced by a live index and by the orphaned index
    refs = {}
    for ix in indexes:
        for m in ix["manifests"]:
            refs.setdefault(m["digest"], 0)
            refs[m["digest"]] += 1
    assert max(refs.values()) == 2
    blobs = org.expected_blobs()
    per_repo = blobs.groupby("blob_digest").repository_name.nunique()
    assert (per_repo > 1).any()  # same layer in two repos


def test_demo_world_holds_untrusted_text_canaries(org):
    ecr = org.session().client("ecr")
    arn = ecr.describe_repositories(repositoryNames=["shared/base"])["repositories"][0]["repositoryArn"]
    tags = ecr.list_tags_for_resource(resourceArn=arn)["tags"]
    assert {"Key": "description", "Value": demo.XSS_TAG} in tags
    data = client(org, demo.DATA)
    sids = [
        s["Sid"]
        for s in json.loads(data.get_repository_policy(repositoryName="data/etl")["policyText"])["Statement"]
    ]
    assert demo.XSS_SID in sids


def test_expected_images_match_what_describe_images_returns(org):
    truth = org.expected_images()
    ecr = client(org, demo.PAYMENTS)
    got = {
        d["imageDigest"]: d
        for r in ("payments/api", "payments/worker")
        for d in all_images(ecr, r, filter=ANY)
    }
    mine = truth[truth.account_id == demo.PAYMENTS]
    mine = mine[mine.region == "us-east-1"]
    assert set(mine.image_digest) == set(got)
    for row in mine.itertuples():
        assert got[row.image_digest]["imageSizeInBytes"] == row.size_bytes
        assert sorted(got[row.image_digest].get("imageTags", [])) == sorted(row.tags)


def test_list_image_referrers_returns_referrers_of_a_subject(org):
    ecr = client(org, demo.PAYMENTS)
    latest = ecr.describe_images(repositoryName="payments/api", imageIds=[{"imageTag": "latest"}])[
        "imageDetails"
    ][0]["imageDigest"]
    refs = ecr.list_image_referrers(repositoryName="payments/api", subjectId={"imageDigest": latest})[
        "referrers"
    ]
    assert [r["artifactType"] for r in refs] == ["application/vnd.cncf.notary.signature"]
    assert refs[0]["artifactStatus"] == "ACTIVE"
