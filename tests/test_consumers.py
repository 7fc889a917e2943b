"""consumers.references / in_use on hand-built frames, and the cleanup answers made in-use aware."""

import hashlib
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_audit import Inventory, consumers, cost, ecr, images, lifecycle
from tests.consumer_helpers import coverage_read

A, B, C = "012345678901", "098765432109", "123456789012"
EXTERNAL = "999988887777"
REGION, OTHER_REGION = "us-east-1", "eu-west-1"
R = {"account_id": A, "region": REGION, "repository_name": "app"}
NOW = pd.Timestamp("2026-11-01", tz="UTC")


def d(name: str) -> str:
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def img(name, tags=(), media=ecr.OCI_MANIFEST, age_days=10, repo=R):
    return {
        **repo,
        "image_digest": d(name),
        "tags": list(tags),
        "manifest_media_type": media,
        "pushed_at": NOW - pd.Timedelta(days=age_days),
        "size_bytes": 100,
        "image_status": "ACTIVE",
        "manifest_status": "present",
    }


def child(index, target, repo=R):
    return {**repo, "source_digest": d(index), "target_digest": d(target), "kind": "index_child"}


def uri(tag=None, digest=None, account=A, region=REGION, repo="app"):
    return ecr.image_uri(account, region, repo, tag=tag, digest=digest)


def ref(
    image_uri, consumer_account=A, kind="ecs_task", name="svc", role="running", resolved=None, running=True
):
    """A consumers row as the collector writes it (parsed with ecr.parse_image_uri)."""
    p = ecr.parse_image_uri(image_uri)
    row = {
        "consumer_account_id": consumer_account,
        "consumer_region": REGION,
        "consumer_kind": kind,
        "consumer_name": name,
        "reference_role": role,
        "image_uri": image_uri,
        "is_ecr_private": p is not None,
        "is_running": running,
        "digest_source": "none",
    }
    if p is not None:
        row.update(
            account_id=p.account_id,
            region=p.region,
            repository_name=p.repository_name,
            image_tag=p.effective_tag,
        )
        if p.digest:
            row.update(image_digest=p.digest, digest_source="written")
        elif resolved:
            row.update(image_digest=resolved, digest_source="resolved_by_service")
    return row


def repository(repo=R, policy_status="absent", images_status="present"):
    return {
        **repo,
        "repository_arn": ecr.repository_arn(
            "aws", repo["region"], repo["account_id"], repo["repository_name"]
        ),
        "images_status": images_status,
        "policy_status": policy_status,
    }


def inv_of(
    imgs,
    refs=(),
    edges=(),
    read=((A, REGION),),
    coverage=None,
    repositories=None,
    policies=(),
    accounts=None,
    manifests_read=True,
    org=None,
):
    regs = {(i["account_id"], i["region"]) for i in imgs} | {(A, REGION)}
    meta = {"collected_at": NOW.isoformat()}
    if org:
        meta["organization"] = {"id": "o-abc123def4", "account_ids": org}
    return Inventory.from_frames(
        meta=meta,
        images=list(imgs),
        manifest_references=list(edges),
        coverage=[
            {"account_id": a, "region": r, "status": "complete", "has_read_manifests": manifests_read}
            for a, r in sorted(regs)
        ],
        repositories=repositories if repositories is not None else [repository()],
        repository_policies=list(policies),
        consumers=list(refs),
        consumer_coverage=coverage_read(*read) if coverage is None else coverage,
        accounts=accounts
        or [
            {"account_id": a, "collection_status": "collected", "state": "ACTIVE"} for a in sorted({A, B, C})
        ],
    )


def state(inv, name) -> str:
    u = consumers.in_use(inv)
    return u.loc[u["image_digest"] == d(name), "in_use"].item()


def row_of(inv, name) -> pd.Series:
    u = consumers.in_use(inv)
    return u.loc[u["image_digest"] == d(name)].iloc[0]


# -- references ---------------------------------------------------------------------------------------


def test_tag_now_resolves_by_the_tags_current_digest_after_the_tag_moved():
    # v1 moved from `old` to `new`; ECS pinned `old` (resolved_by_service), the task definition says v1.
    inv = inv_of(
        [img("old"), img("new", ["v1"])],
        [
            ref(uri("v1"), resolved=d("old"), kind="ecs_service_revision"),
            ref(uri("v1"), kind="ecs_task_definition"),
        ],
    )
    r = consumers.references(inv)
    assert r["resolution"].tolist() == ["resolved_by_service", "tag_now"]
    assert r["resolved_digest"].tolist() == [d("old"), d("new")]
    assert state(inv, "old") == "yes" and state(inv, "new") == "yes"


def test_not_found_outside_inventory_and_unparseable_are_told_apart():
    other_repo = {**R, "repository_name": "unread"}
    inv = inv_of(
        [img("a", ["v1"])],
        [
            ref(uri("gone")),  # the repository was read: the tag is not there
            ref(uri(digest=d("deleted"))),  # nor the digest
            ref(uri("v1", repo="no-such-repo")),  # the registry was read in full: no such repository
            ref(uri("v1", account=EXTERNAL)),  # a registry that was not collected
            ref(uri("v1", repo="unread")),  # the repository's images could not be read
            ref("docker.io/library/nginx:1.27"),
            ref("<script>alert(1)</script> $(rm -rf /)"),
        ],
        repositories=[repository(), repository(other_repo, images_status="unreadable")],
    )
    r = consumers.references(inv)
    assert r["resolution"].tolist() == [
        "not_found",
        "not_found",
        "not_found",
        "outside_inventory",
        "outside_inventory",
        "outside_inventory",
        "unparseable",
    ]
    assert r["resolved_digest"].isna().all()


@pytest.mark.slow  # a property search: about 20 s
@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_a_hostile_image_string_never_crashes_the_resolution(text):
    inv = inv_of([img("a", ["v1"])], [ref(text), ref(uri("v1") + text)])
    assert set(consumers.references(inv)["resolution"]) <= set(consumers.RESOLUTIONS)


# -- the unit: index and child --------------------------------------------------------------------------


def _multiarch():
    imgs = [img("idx", ["v1"], media=ecr.OCI_INDEX), img("amd"), img("arm"), img("other", ["v2"])]
    return imgs, [child("idx", "amd"), child("idx", "arm")]


def test_an_index_in_use_puts_its_children_in_use():
    imgs, edges = _multiarch()
    inv = inv_of(imgs, [ref(uri("v1"), kind="ecs_task_definition", role="rollback", running=False)], edges)
    assert [state(inv, n) for n in ("idx", "amd", "arm", "other")] == ["yes", "yes", "yes", "no"]
    assert row_of(inv, "arm")["in_use_via_digest"] == d("idx")
    assert not row_of(inv, "arm")["is_running"]


def test_a_child_in_use_keeps_its_index_and_so_its_sibling_in_use():
    imgs, edges = _multiarch()
    inv = inv_of(imgs, [ref(uri(digest=d("amd")), kind="inspector_eks", role="observed")], edges)
    assert [state(inv, n) for n in ("idx", "amd", "arm")] == ["yes", "yes", "yes"]
    assert bool(row_of(inv, "idx")["is_running"])


def test_an_untagged_index_sharing_a_child_in_use_with_a_live_index_is_unknown_not_in_use_nor_free():
    imgs, edges = _multiarch()
    imgs += [img("old-idx", media=ecr.OCI_INDEX), img("old-arm")]
    edges += [child("old-idx", "amd"), child("old-idx", "old-arm")]
    inv = inv_of(imgs, [ref(uri(digest=d("amd")), kind="inspector_eks", role="observed")], edges)
    assert state(inv, "idx") == "yes"
    assert state(inv, "old-idx") == "unknown" and state(inv, "old-arm") == "unknown"
    assert set(images.orphans(inv)["in_use"]) == {"unknown"}


def test_a_tag_now_index_with_unread_children_is_in_use_and_its_untagged_neighbours_unknown():
    imgs, _ = _multiarch()
    imgs = [{**i, "manifest_status": "skipped"} for i in imgs]
    inv = inv_of(imgs, [ref(uri("v1"), kind="ecs_task_definition")], manifests_read=False)
    assert state(inv, "idx") == "yes"
    assert state(inv, "amd") == "unknown" and "index" in row_of(inv, "amd")["unknown_reason"]
    assert state(inv, "other") == "no"  # tagged: not a child of the index


# -- reach and coverage ---------------------------------------------------------------------------------


def _grant(principal):
    return {
        **R,
        "policy_text": json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": ["ecr:BatchGetImage"]}
                ],
            }
        ),
    }


def test_a_grant_to_another_account_puts_its_consumer_kinds_in_reach():
    imgs = [img("a", ["v1"])]
    grant = [_grant(f"arn:aws:iam::{B}:root")]
    org = [A, B, C]
    only_owner = inv_of(imgs, policies=grant, read=[(A, REGION)], org=org)
    assert state(only_owner, "a") == "unknown"
    assert B in row_of(only_owner, "a")["unknown_reason"]
    both = inv_of(imgs, policies=grant, read=[(A, REGION), (B, REGION)], org=org)
    assert state(both, "a") == "no"


def test_an_external_grant_makes_no_impossible_but_a_consumer_still_makes_yes():
    imgs = [img("a", ["v1"]), img("b", ["v2"])]
    inv = inv_of(imgs, [ref(uri("v2"))], policies=[_grant(f"arn:aws:iam::{EXTERNAL}:root")], org=[A, B, C])
    assert state(inv, "a") == "unknown" and EXTERNAL in row_of(inv, "a")["unknown_reason"]
    assert state(inv, "b") == "yes"


def test_a_suspended_account_of_an_organization_grant_runs_nothing():
    imgs = [img("a", ["v1"])]
    org_grant = {
        **R,
        "policy_text": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*",'
        '"Action":"ecr:BatchGetImage","Condition":{"StringEquals":{"aws:PrincipalOrgID":"o-abc123def4"}}}]}',
    }
    accounts = [
        {"account_id": A, "collection_status": "collected", "state": "ACTIVE"},
        {"account_id": B, "collection_status": "collected", "state": "ACTIVE"},
        {"account_id": C, "collection_status": "skipped", "state": "SUSPENDED"},
    ]
    inv = inv_of(
        imgs, policies=[org_grant], read=[(A, REGION), (B, REGION)], accounts=accounts, org=[A, B, C]
    )
    assert state(inv, "a") == "no"
    accounts[2] = {**accounts[2], "state": "ACTIVE"}
    inv = inv_of(
        imgs, policies=[org_grant], read=[(A, REGION), (B, REGION)], accounts=accounts, org=[A, B, C]
    )
    assert state(inv, "a") == "unknown" and C in row_of(inv, "a")["unknown_reason"]


def test_lambda_counts_only_in_the_images_region_other_kinds_in_every_region():
    imgs = [img("a", ["v1"])]
    everything_but_lambda_elsewhere = coverage_read((A, REGION)) + coverage_read(
        (A, OTHER_REGION), kinds=[k for k in consumers.REQUIRED_KINDS if k != "lambda"]
    )
    assert state(inv_of(imgs, coverage=everything_but_lambda_elsewhere), "a") == "no"
    no_ecs_elsewhere = coverage_read((A, REGION)) + coverage_read(
        (A, OTHER_REGION), kinds=[k for k in consumers.REQUIRED_KINDS if k != "ecs"]
    )
    u = row_of(inv_of(imgs, coverage=no_ecs_elsewhere), "a")
    assert u["in_use"] == "unknown" and "ecs in eu-west-1" in u["unknown_reason"]


@pytest.mark.parametrize("status", ["partial", "unreadable", "unsupported", "skipped"])
def test_a_kind_not_read_makes_in_use_unknown(status):
    cov = coverage_read((A, REGION), kinds=[k for k in consumers.REQUIRED_KINDS if k != "batch"])
    cov += coverage_read((A, REGION), kinds=["batch"], status=status)
    assert state(inv_of([img("a", ["v1"])], coverage=cov), "a") == "unknown"


@pytest.mark.parametrize("status", ["not_offered", "complete"])
def test_a_kind_the_region_does_not_offer_counts_as_read(status):
    cov = coverage_read((A, REGION), kinds=[k for k in consumers.REQUIRED_KINDS if k != "apprunner"])
    cov += coverage_read((A, REGION), kinds=["apprunner"], status=status)
    assert state(inv_of([img("a", ["v1"])], coverage=cov), "a") == "no"


def test_inspector_disabled_counts_as_read_but_skipped_does_not():
    base = coverage_read((A, REGION), kinds=[k for k in consumers.REQUIRED_KINDS if k != "inspector"])
    disabled = base + coverage_read((A, REGION), kinds=["inspector"], status="disabled")
    skipped = base + coverage_read((A, REGION), kinds=["inspector"], status="skipped")
    assert state(inv_of([img("a", ["v1"])], coverage=disabled), "a") == "no"
    assert state(inv_of([img("a", ["v1"])], coverage=skipped), "a") == "unknown"


def test_without_consumer_coverage_every_image_is_unknown():
    inv = inv_of([img("a", ["v1"]), img("b")], coverage=[])
    u = consumers.in_use(inv)
    assert set(u["in_use"]) == {"unknown"}
    assert u["unknown_reason"].str.contains("consumers were not read").all()
    assert u["is_running"].isna().all()


# -- cleanup answers --------------------------------------------------------------------------------------


def _cleanup_world():
    imgs = [img("tagged", ["v1"]), img("pinned", age_days=400), img("free", age_days=400)]
    refs = [ref(uri("v1"), resolved=d("pinned"), kind="ecs_service_revision", name="web", role="deployed")]
    return imgs, refs


def test_orphans_never_list_an_image_in_use_and_keep_the_unknown_ones_listed_as_unknown():
    imgs, refs = _cleanup_world()
    o = images.orphans(inv_of(imgs, refs))
    assert o["image_digest"].tolist() == [d("free")] and o["in_use"].tolist() == ["no"]
    unknown = images.orphans(inv_of(imgs, coverage=[]))  # consumers not read
    assert set(unknown["image_digest"]) == {d("free"), d("pinned")}
    assert set(unknown["in_use"]) == {"unknown"}


def test_stale_says_in_use_beside_idle_days():
    imgs, refs = _cleanup_world()
    s = images.stale(inv_of(imgs, refs), days=90).set_index("image_digest")
    assert s.loc[d("pinned"), "is_stale"] and s.loc[d("pinned"), "in_use"] == "yes"
    assert s.loc[d("free"), "in_use"] == "no"


def test_simulate_names_the_consumer_of_an_image_lifecycle_would_expire():
    imgs, refs = _cleanup_world()
    policy = {
        "rules": [
            {
                "rulePriority": 1,
                "selection": {
                    "tagStatus": "untagged",
                    "countType": "sinceImagePushed",
                    "countUnit": "days",
                    "countNumber": 30,
                },
                "action": {"type": "expire"},
            }
        ]
    }
    sim = lifecycle.simulate(inv_of(imgs, refs), policy=policy).set_index("image_digest")
    assert (
        sim.loc[d("pinned"), "in_use"] == "yes" and "web (012345678901" in sim.loc[d("pinned"), "consumers"]
    )
    assert sim.loc[d("free"), "in_use"] == "no" and sim.loc[d("free"), "consumers"] == ""


def test_savings_never_count_an_image_in_use_and_unknown_in_use_is_undetermined_with_a_bound():
    imgs, refs = _cleanup_world()
    removed = pd.DataFrame([{**R, "image_digest": d("pinned")}, {**R, "image_digest": d("free")}])
    row = cost.freed(inv_of(imgs, refs), removed).iloc[0]
    assert (row["images_removed"], row["images_in_use"], row["images_in_use_unknown"]) == (1, 1, 0)
    assert row["freed_upper_bound_bytes"] == 100  # the free image alone
    unknown = cost.freed(inv_of(imgs, coverage=[]), removed).iloc[0]  # consumers not read
    assert unknown["basis"] == "undetermined" and pd.isna(unknown["freed_bytes"])
    assert unknown["images_in_use_unknown"] == 2 and unknown["freed_upper_bound_bytes"] == 200


def test_the_archive_advisor_never_proposes_an_image_in_use():
    imgs, refs = _cleanup_world()
    cand = cost.archive_candidates(inv_of(imgs, refs), unused_days=90)
    assert cand["image_digest"].tolist() == [d("free")]


def _without_grant_by_pair(refs: pd.DataFrame, grants: pd.DataFrame, org: set) -> set:
    """The definition, one owner repository × consumer account at a time: kept unless a grant of
    the registry is undetermined for it, or a pull grant of the repository or registry lets the
    consumer's account pull (named, public, or the organization's with the account in it)."""
    kept = set()
    pulls = grants[grants["can_pull"] & grants["scope"].isin(["repository", "registry"])]
    for acc, reg, repo, consumer in set(
        zip(refs["account_id"], refs["region"], refs["repository_name"], refs["consumer_account_id"])
    ):
        same = (grants["account_id"] == acc) & (grants["region"] == reg)
        if (same & (grants["exposure"] == "undetermined") & grants["repository_name"].isin([repo, ""])).any():
            continue
        p = pulls[(pulls["account_id"] == acc) & (pulls["region"] == reg)]
        p = p[(p["repository_name"] == repo) | ((p["scope"] == "registry") & (p["repository_name"] == ""))]
        lets = (
            (p["grantee_account_id"].fillna("") == consumer)
            | (p["exposure"] == "public")
            | ((p["grantee_kind"] == "org") & (p["exposure"] == "org") & (consumer in org))
        )
        if not lets.any():
            kept.add((acc, reg, repo, consumer))
    return kept


GRANTEES = [  # grantee_kind, exposure and account of a grant, given a random account
    lambda a: {
        "grantee_kind": "account",
        "exposure": "org" if a < "000000000005" else "external",
        "grantee_account_id": a,
    },
    lambda a: {"grantee_kind": "org", "exposure": "org", "grantee_account_id": None},
    lambda a: {"grantee_kind": "public", "exposure": "public", "grantee_account_id": None},
    lambda a: {"grantee_kind": "unknown", "exposure": "undetermined", "grantee_account_id": None},
    lambda a: {"grantee_kind": "service", "exposure": "service", "grantee_account_id": None},
]


def test_without_grant_answers_each_repository_and_consumer_account_by_the_definition(monkeypatch):
    """Random registries, grants and references: the vectorized answer is the per-pair definition."""
    import random

    rnd = random.Random(17)
    accounts = [f"{i:012d}" for i in range(1, 7)]
    org = set(accounts[:4])
    for _ in range(150):
        refs = pd.DataFrame(
            [
                {
                    "account_id": rnd.choice(accounts[:3]),
                    "region": rnd.choice(["us-east-1", "eu-west-1"]),
                    "repository_name": rnd.choice(["a", "b", "c"]),
                    "consumer_account_id": rnd.choice(accounts),
                    "resolution": rnd.choice(["digest", "tag_now", "not_found", "outside_inventory"]),
                }
                for _ in range(rnd.randint(1, 25))
            ]
        )
        grants = pd.DataFrame(
            [
                {
                    "account_id": rnd.choice(accounts[:3]),
                    "region": rnd.choice(["us-east-1", "eu-west-1"]),
                    "scope": (
                        scope := rnd.choice(["repository", "repository", "registry", "creation_template"])
                    ),
                    "repository_name": rnd.choice(["a", "b", "c"]) if scope == "repository" else "",
                    **rnd.choice(GRANTEES)(rnd.choice(accounts)),
                    "can_pull": rnd.random() < 0.8,
                }
                for _ in range(rnd.randint(0, 8))
            ],
            columns=["account_id", "region", "scope", "repository_name", "grantee_account_id"]
            + ["grantee_kind", "exposure", "can_pull"],
        )
        monkeypatch.setattr(consumers, "references", lambda inv, refs=refs: refs)
        monkeypatch.setattr(consumers.access, "grants", lambda inv, grants=grants: grants)
        attrs = {"org_account_ids": sorted(org), "consumers": refs, "cached": lambda self, name, f: f()}
        fake = type("Inv", (), attrs)()
        got = consumers.without_grant(fake)
        considered = refs[
            refs["resolution"].isin(["digest", "resolved_by_service", "tag_now", "not_found"])
            & (refs["consumer_account_id"] != refs["account_id"])
        ]
        want = _without_grant_by_pair(considered, grants, org)
        assert (
            set(zip(got["account_id"], got["region"], got["repository_name"], got["consumer_account_id"]))
            == want
        )
        # every reference of a kept pair is listed, in the pair order
        assert len(got) == considered.apply(lambda r: tuple(r[:4]) in want, axis=1).sum()


def _repository_unknown_by_merges(repos, gr, reach):
    """Why each repository's in-use is unknowable: its own registry's unread consumers, else the
    first unreadable grant of the repository, else of its registry ("" when none)."""
    import numpy as np

    key = consumers.REPO_KEY
    reason = np.array([reach.account(a, r, own=True) for a, r in zip(repos["account_id"], repos["region"])])
    reason = reason.astype(object)
    if not len(gr):
        return reason
    gr = gr.assign(
        reason=[
            w or reach.grantee(a, r, g)
            for a, r, g, w in gr[key[:2] + ["reach_account_id", "reason"]].itertuples(index=False)
        ]
    )
    gr = gr[gr["reason"] != ""].drop_duplicates(key)
    on_repo = repos.merge(gr, on=key, how="left")["reason"]
    registry = gr[gr["repository_name"] == ""].drop(columns="repository_name")
    on_registry = repos[key[:2]].merge(registry, on=key[:2], how="left")["reason"]
    return np.where(reason == "", on_repo.fillna(on_registry).fillna("").to_numpy(dtype=object), reason)


def test_repository_unknown_reasons_are_the_merge_definition(monkeypatch):
    """Random registries, grants and reads: the reasons looked up by repository, else registry,
    are those the merges gave (a repository's grant before its registry's, its own reads first)."""
    import random

    rnd = random.Random(29)
    accounts = [f"{i:012d}" for i in range(1, 7)]

    class Reach:
        any_read = True

        def __init__(self):
            self.unread = {a for a in accounts if rnd.random() < 0.3}

        def account(self, account, region, own):
            return f"{account} {region} not read" if account in self.unread and region == "eu-west-1" else ""

        def grantee(self, owner, region, grantee):
            return "" if grantee in (owner, consumers.ORGANIZATION) else self.account(grantee, region, False)

    for _ in range(150):
        repos = pd.DataFrame(
            [
                (a, r, n)
                for a in accounts[:3]
                for r in ["us-east-1", "eu-west-1"]
                for n in "abc"
                if rnd.random() < 0.6
            ],
            columns=consumers.REPO_KEY,
        )
        grants = pd.DataFrame(
            [
                {
                    "account_id": rnd.choice(accounts[:3]),
                    "region": rnd.choice(["us-east-1", "eu-west-1"]),
                    "scope": (scope := rnd.choice(["repository", "repository", "registry"])),
                    "repository_name": rnd.choice("abc") if scope == "repository" else "",
                    **rnd.choice(GRANTEES)(rnd.choice(accounts)),
                    "grantee": "*",
                    "can_pull": rnd.random() < 0.8,
                }
                for _ in range(rnd.randint(0, 8))
            ],
            columns=["account_id", "region", "scope", "repository_name", "grantee_account_id"]
            + ["grantee_kind", "exposure", "grantee", "can_pull"],
        )
        reach = Reach()
        monkeypatch.setattr(consumers, "keys", lambda inv, repos=repos: type("K", (), {"repos": repos})())
        monkeypatch.setattr(consumers, "_reach", lambda inv, reach=reach: reach)
        monkeypatch.setattr(consumers.access, "grants", lambda inv, grants=grants: grants)
        fake = type("Inv", (), {"cached": lambda self, name, f: f()})()
        got = consumers._repository_unknown(fake)
        want = _repository_unknown_by_merges(repos, consumers._grant_reach(grants), reach)
        assert got["unknown_reason"].tolist() == list(want), (repos, grants)
