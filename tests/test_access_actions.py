"""The ECR action catalog: complete, classified once, matched like IAM does."""

from ecr_audit.access import actions


def test_every_botocore_operation_and_permission_only_action_is_classified():
    cls = actions.action_class()
    unclassified = sorted(a for a, c in cls.items() if c == "unclassified")
    assert unclassified == [], f"classify new ECR actions in access/actions.py: {unclassified}"


def test_catalog_includes_permission_only_actions():
    for name in ("ecr:ReplicateImage", "ecr:BatchImportUpstreamImage", "ecr:GetImageCopyStatus"):
        assert name in actions.all_actions()


def test_classification_table_names_no_action_missing_from_the_catalog():
    known = {a.split(":", 1)[1] for a in actions.all_actions()}
    listed = {n for names in actions._CLASSES.values() for n in names}
    assert listed - known == set()


def test_capability_mapping_matches_documented_classes():
    assert actions.capability_actions("pull") == {"ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"}
    assert {
        "ecr:PutImage",
        "ecr:ReplicateImage",
        "ecr:BatchImportUpstreamImage",
    } <= actions.capability_actions("push")
    assert actions.capability_actions("delete") == {"ecr:BatchDeleteImage", "ecr:DeleteRepository"}
    assert {
        "ecr:SetRepositoryPolicy",
        "ecr:PutLifecyclePolicy",
        "ecr:PutRegistryPolicy",
    } <= actions.capability_actions("manage")


def test_glob_treats_brackets_literally_like_iam():
    assert actions.match_actions("ecr:[B]atchGetImage") == frozenset()
    assert actions.match_actions("ecr:BatchGetImag?") == {"ecr:BatchGetImage"}


def test_compact_names_the_full_catalog_ecr_star():
    assert actions.compact(frozenset(actions.all_actions())) == "ecr:*"
    assert (
        actions.compact(frozenset({"ecr:PutImage", "ecr:BatchGetImage"})) == "ecr:BatchGetImage, ecr:PutImage"
    )
