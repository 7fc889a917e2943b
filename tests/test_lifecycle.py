import hashlib
import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecr_audit import Inventory, lifecycle
from ecr_audit.lifecycle.lint import shadowed_by
from ecr_audit.lifecycle.policy import Rule

ACCT, REGION, REPO = "012345678901", "us-east-1", "app"
R = {"account_id": ACCT, "region": REGION, "repository_name": REPO}
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
NOW = pd.Timestamp("2026-11-01", tz="UTC")


def d(name):
    return "sha256:" + hashlib.sha256(name.encode()).hexdigest()


def img(name, tags=(), age_days=1, repo=R, **kw):
    return {
        **repo,
        "image_digest": d(name),
        "tags": list(tags),
        "pushed_at": NOW - pd.Timedelta(days=age_days),
        "size_bytes": 10,
        "image_status": "ACTIVE",
        "manifest_status": "present",
        "manifest_media_type": "application/vnd.oci.image.manifest.v1+json",
        **kw,
    }


def rule(
    prio,
    status,
    count_type="imageCountMoreThan",
    n=1,
    prefixes=None,
    patterns=None,
    action="expire",
    storage=None,
    target=None,
):
    sel = {"tagStatus": status, "countType": count_type, "countNumber": n}
    if count_type != "imageCountMoreThan":
        sel["countUnit"] = "days"
    if prefixes:
        sel["tagPrefixList"] = prefixes
    if patterns:
        sel["tagPatternList"] = patterns
    if storage:
        sel["storageClass"] = storage
    act = {"type": action}
    if target:
        act["targetStorageClass"] = target
    return {"rulePriority": prio, "description": "a rule of the test policy", "selection": sel, "action": act}


def policy(*rules):
    return json.dumps({"rules": list(rules)})


def inv_of(imgs, refs=(), policies=None, layers=(), manifests_read=True):
    pols = [{**R, "policy_text": t} for t in ([policies] if isinstance(policies, str) else policies or [])]
    return Inventory.from_frames(
        meta={"collected_at": NOW.isoformat()},
        images=imgs,
        manifest_references=list(refs),
        lifecycle_policies=pols,
        layers=list(layers),
        coverage=[
            {"account_id": ACCT, "region": REGION, "status": "complete", "has_read_manifests": manifests_read}
        ],
        repositories=[
            {
                **R,
                "repository_arn": "arn:aws:ecr:us-east-1:012345678901:repository/app",
                "lifecycle_policy_status": "present" if pols else "absent",
            }
        ],
    )


def expired(sim):
    return {row.image_digest: row.rule_priority for row in sim.itertuples()}


def docs_abc():
    return [img("A", ["beta-1", "prod-1"], 10), img("B", ["beta-2", "prod-2"], 9), img("C", ["beta-3"], 8)]


# --- docs/lifecycle.md#worked-examples (docs lifecycle_policy_examples) ----------------------------


def test_docs_example_prod_rule_first_only_A_expires():
    p = policy(rule(1, "tagged", prefixes=["prod"]), rule(2, "tagged", prefixes=["beta"]))
    assert expired(lifecycle.simulate(inv_of(docs_abc(), policies=p))) == {d("A"): 1}


def test_docs_example_beta_rule_first_A_and_B_expire():
    p = policy(rule(1, "tagged", prefixes=["beta"]), rule(2, "tagged", prefixes=["prod"]))
    assert expired(lifecycle.simulate(inv_of(docs_abc(), policies=p))) == {d("A"): 1, d("B"): 1}


def test_docs_example_pattern_list_selects_only_images_with_all_patterns():
    imgs = [
        img("both", ["alpha-1", "beta-1"], 5),
        img("alpha", ["alpha-2"], 1),
        img("beta", ["beta-2"], 1),
        img("both2", ["alpha-3", "beta-3"], 3),
    ]
    p = policy(rule(1, "tagged", n=1, patterns=["alpha*", "beta*"]))
    assert expired(lifecycle.simulate(inv_of(imgs, policies=p))) == {d("both"): 1}


def test_docs_example_any_rule_ranks_all_images_but_acts_only_on_unclaimed_D():
    imgs = [
        img("A", ["alpha-1", "beta-1"], 4),
        img("B", [], 3),
        img("C", ["alpha-2"], 2),
        img("D", ["git hash"], 1),
        img("E", [], 1, pushed_at=NOW - pd.Timedelta(hours=12)),
    ]
    p = policy(
        rule(1, "tagged", patterns=["alpha*"]),
        rule(2, "untagged", "sinceImagePushed", 1),
        rule(3, "any", n=1),
    )
    assert expired(lifecycle.simulate(inv_of(imgs, policies=p))) == {d("A"): 1, d("B"): 2, d("D"): 3}


# --- documented evaluation rules -----------------------------------------------------------------


def test_pattern_wildcard_matches_the_whole_tag():
    imgs = [
        img("a", ["prod"], 3),
        img("b", ["production-team1"], 2),
        img("c", ["repo-prod"], 1),
        img("d", ["x"], 0),
    ]
    p = policy(rule(1, "tagged", n=1, patterns=["prod*"]))
    # prod* matches prod and production-team1, not repo-prod: only the older of the two goes.
    assert expired(lifecycle.simulate(inv_of(imgs, policies=p))) == {d("a"): 1}


def test_index_children_are_not_actionable_and_not_ranked():
    imgs = [
        img("idx", ["v1"], 5, manifest_media_type=OCI_INDEX),
        img("kid1", [], 5),
        img("kid2", [], 5),
        img("loose1", [], 4),
        img("loose2", [], 3),
    ]
    refs = [
        {**R, "source_digest": d("idx"), "target_digest": d(k), "kind": "index_child"}
        for k in ("kid1", "kid2")
    ]
    p = policy(rule(1, "untagged", n=1))
    assert expired(lifecycle.simulate(inv_of(imgs, refs, policies=p))) == {d("loose1"): 1}


def test_index_children_unknown_without_manifests_are_flagged_undecided():
    imgs = [
        img("idx", ["v1"], 5, manifest_media_type=OCI_INDEX, manifest_status="skipped"),
        img("kid", [], 5, manifest_status="skipped"),
    ]
    sim = lifecycle.simulate(
        inv_of(imgs, policies=policy(rule(1, "untagged", "sinceImagePushed", 1)), manifests_read=False)
    )
    assert sim["image_digest"].tolist() == [d("kid")]
    assert not sim["is_decided"].iloc[0]
    assert "index children unknown" in sim["undecided_reason"].iloc[0]


def test_restored_image_ranks_by_last_activated_at():
    imgs = [
        img("old-restored", ["v1"], 100, last_activated_at=NOW - pd.Timedelta(hours=1)),
        img("new", ["v2"], 2),
    ]
    sim = lifecycle.simulate(inv_of(imgs, policies=policy(rule(1, "tagged", prefixes=["v"]))))
    assert expired(sim) == {d("new"): 1}


def test_since_image_pulled_transitions_never_pulled_by_push_time():
    imgs = [img("cold", ["v1"], 40), img("warm", ["v2"], 40, last_pulled_at=NOW - pd.Timedelta(days=2))]
    p = policy(rule(1, "any", "sinceImagePulled", 30, action="transition", target="archive"))
    sim = lifecycle.simulate(inv_of(imgs, policies=p))
    assert sim[["image_digest", "action", "target_storage_class"]].values.tolist() == [
        [d("cold"), "transition", "archive"]
    ]


def test_since_image_transitioned_expires_only_archived_images_after_90_days():
    imgs = [
        img("arch-old", ["v1"], 400, image_status="ARCHIVED", last_archived_at=NOW - pd.Timedelta(days=95)),
        img("arch-new", ["v2"], 400, image_status="ARCHIVED", last_archived_at=NOW - pd.Timedelta(days=60)),
        img("active", ["v3"], 400),
    ]
    p = policy(rule(1, "any", "sinceImageTransitioned", 30, storage="archive"))
    sim = lifecycle.simulate(inv_of(imgs, policies=p))
    assert expired(sim) == {d("arch-old"): 1}
    assert sim["storage_class"].tolist() == ["archive"]


def test_referrer_follows_its_expired_subject():
    imgs = [img("old", ["v1"], 5), img("new", ["v2"], 1), img("sbom", [], 5, subject_digest=d("old"))]
    sim = lifecycle.simulate(inv_of(imgs, policies=policy(rule(1, "any", n=1))))
    assert expired(sim) == {d("old"): 1, d("sbom"): 1}
    assert "follows its subject" in sim.set_index("image_digest").loc[d("sbom"), "reason"]


def test_bytes_freed_are_blob_aware_and_add_up_per_repository():
    imgs = [img("old1", ["v1"], 5), img("old2", ["v2"], 4), img("new", ["v3"], 1)]
    layers = [
        {**R, "image_digest": d(i), "blob_digest": d(b), "size_bytes": s, "kind": "layer"}
        for i, b, s in [
            ("old1", "base", 100),
            ("old2", "base", 100),
            ("new", "base", 100),
            ("old1", "x", 7),
            ("old2", "x", 7),
            ("old2", "y", 3),
        ]
    ]
    sim = lifecycle.simulate(inv_of(imgs, policies=policy(rule(1, "any", n=1)), layers=layers))
    assert set(sim["image_digest"]) == {d("old1"), d("old2")}
    assert sim["freed_bytes"].sum() == 10


def test_what_if_policy_applies_to_repositories_without_one():
    inv = inv_of([img("a", ["v1"], 5), img("b", ["v2"], 1)])
    assert lifecycle.simulate(inv).empty
    sim = lifecycle.simulate(inv, policy={"rules": [rule(1, "any", n=1)]})
    assert expired(sim) == {d("a"): 1}
    assert set(sim["policy_source"]) == {"proposed"}


def test_invalid_policy_is_not_simulated():
    bad = policy(rule(1, "tagged"))  # tagged without prefixes or patterns
    assert lifecycle.simulate(inv_of(docs_abc(), policies=bad)).empty


# --- parse / validate ---------------------------------------------------------------------------


def test_valid_docs_policy_has_no_problems():
    assert lifecycle.validate(policy(rule(1, "tagged", prefixes=["prod"]), rule(2, "any", n=3))) == []


def test_any_rule_not_last_in_its_storage_class_is_an_error():
    probs = lifecycle.validate(policy(rule(1, "any", n=3), rule(2, "tagged", prefixes=["prod"])))
    assert any("highest rulePriority" in p.message for p in probs)


def test_docs_archive_example_with_any_rule_per_storage_class_is_valid():
    p = policy(
        rule(1, "any", "sinceImagePulled", 90, action="transition", target="archive"),
        rule(2, "any", "sinceImageTransitioned", 180, storage="archive"),
    )
    assert [x for x in lifecycle.validate(p) if x.severity == "error"] == []


def test_since_image_pulled_with_expire_is_rejected():
    probs = lifecycle.validate(policy(rule(1, "any", "sinceImagePulled", 30)))
    assert any(p.where.endswith("action.type") for p in probs)


def test_more_than_four_wildcards_is_rejected():
    probs = lifecycle.validate(policy(rule(1, "tagged", patterns=["test*1*2*3*4*5*6"])))
    assert any("wildcards" in p.message for p in probs)
    assert lifecycle.validate(policy(rule(1, "tagged", patterns=["*test*1*2*3", "test*1*2*3*"]))) == []


def test_duplicate_priorities_and_count_unit_misuse_are_errors():
    r = rule(1, "untagged")
    r["selection"]["countUnit"] = "days"
    probs = lifecycle.validate(policy(r, rule(1, "tagged", prefixes=["x"])))
    assert {p.where for p in probs} >= {"rules", "rules[0].selection.countUnit"}


def test_text_too_short_is_an_error():
    assert any("characters" in p.message for p in lifecycle.validate('{"rules": []}'))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "rules",
                    "rulePriority",
                    "selection",
                    "action",
                    "tagStatus",
                    "countType",
                    "countNumber",
                    "countUnit",
                    "tagPrefixList",
                    "tagPatternList",
                    "storageClass",
                    "type",
                    "targetStorageClass",
                    "x",
                ]
            ),
            inner,
            max_size=6,
        )
    ),
    max_leaves=30,
)


@pytest.mark.slow  # a property search over many generated inputs: seconds
@settings(max_examples=300, deadline=None)
@given(json_values)
def test_parser_never_raises_on_arbitrary_json_and_invalid_means_errors(doc):
    p = lifecycle.parse(json.dumps(doc))
    assert p.is_valid == (not p.errors)
    if not p.rules:
        assert p.errors


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300) | st.binary(max_size=64))
def test_parser_never_raises_on_arbitrary_text(text):
    p = lifecycle.parse(text)
    assert not p.is_valid or p.rules


# --- lint ---------------------------------------------------------------------------------------


def test_lint_reports_missing_policy():
    lint = lifecycle.lint(inv_of([img("a", ["v1"])]))
    assert lint["finding_id"].tolist() == ["ecr_repository_lifecycle_missing"]


def test_lint_finds_a_rule_shadowed_by_a_broader_higher_rule():
    p = policy(
        rule(1, "tagged", prefixes=["prod"]), rule(2, "tagged", prefixes=["prod-eu"]), rule(3, "any", n=5)
    )
    lint = lifecycle.lint(inv_of([img("a", ["prod-1"])], policies=p))
    never = lint[lint["finding_id"] == "ecr_lifecycle_rule_never_fires"]
    assert never["rule_priority"].tolist() == [2]


def test_shadowing_requires_the_same_storage_class_and_a_covering_selection():
    a = Rule(1, "tagged", "imageCountMoreThan", 1, tag_patterns=("v*",))
    b = Rule(2, "tagged", "imageCountMoreThan", 1, tag_patterns=("x*",))
    assert not shadowed_by(b, a)
    assert shadowed_by(Rule(2, "tagged", "imageCountMoreThan", 1, tag_prefixes=("v1",)), a)


def test_lint_untagged_rule_where_all_untagged_are_index_children():
    imgs = [img("idx", ["v1"], manifest_media_type=OCI_INDEX), img("kid")]
    refs = [{**R, "source_digest": d("idx"), "target_digest": d("kid"), "kind": "index_child"}]
    lint = lifecycle.lint(inv_of(imgs, refs, policies=policy(rule(1, "untagged", "sinceImagePushed", 7))))
    assert "ecr_lifecycle_untagged_rule_idle" in set(lint["finding_id"])


def test_lint_policy_that_strands_index_children():
    imgs = [img("idx", ["v1"], manifest_media_type=OCI_INDEX), img("kid")]
    lint = lifecycle.lint(inv_of(imgs, policies=policy(rule(1, "tagged", prefixes=["v"], n=5))))
    assert "ecr_lifecycle_strands_index_children" in set(lint["finding_id"])


def test_lint_invalid_policy_is_reported_not_raised():
    lint = lifecycle.lint(inv_of([img("a", ["v1"])], policies="{not json" + " " * 100))
    assert lint["finding_id"].tolist() == ["ecr_lifecycle_policy_invalid"]


def test_lint_pull_through_cache_without_creation_template():
    inv = inv_of([img("a", ["v1"])], policies=policy(rule(1, "any", n=5)))
    inv.frames["pull_through_cache_rules"] = Inventory.from_frames(
        pull_through_cache_rules=[
            {"account_id": ACCT, "region": REGION, "ecr_repository_prefix": "docker-hub"}
        ]
    ).pull_through_cache_rules
    lint = lifecycle.lint(inv)
    assert lint["finding_id"].tolist() == ["ecr_pull_through_cache_without_creation_template"]
    inv.frames["creation_templates"] = Inventory.from_frames(
        creation_templates=[
            {
                "account_id": ACCT,
                "region": REGION,
                "prefix": "ROOT",
                "applied_for": ["PULL_THROUGH_CACHE"],
                "lifecycle_policy_text": policy(rule(1, "any", n=5)),
            }
        ]
    ).creation_templates
    assert lifecycle.lint(inv).empty


def test_summary_reports_images_and_bytes_per_repository_and_action():
    imgs = [{**i, "manifest_status": "skipped"} for i in docs_abc()]
    sim = lifecycle.simulate(inv_of(imgs, policies=policy(rule(1, "any", n=1)), manifests_read=False))
    s = lifecycle.summary(sim)
    assert s[["action", "images"]].values.tolist() == [["expire", 2]]
    assert s["freed_bytes"].isna().all()  # blobs not read: unknown, not zero
