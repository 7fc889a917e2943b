"""Policy shapes from AWS documentation and public write-ups, with the classification we expect.

Each case: `name` (what it shows), `source` (where the shape comes from; account ids and org
ids replaced by the placeholders below), `policy` (dict, or str for raw text), optional `scope`
("repository" default, "registry_v1", "registry_v2"), and `expected`: grantee -> (exposure,
capabilities) where capabilities is a "+"-joined subset of pull/push/delete/manage ("" for
metadata only). A grantee absent from `expected` must not appear. `undetermined=True` means the
policy cannot be read and the only row is the undetermined one. `findings`: finding ids the policy
must produce (default for undetermined cases: ecr_policy_unparseable).

The `hostile_*` cases are issue 12's shapes (#4 many wildcards, #7 duplicate keys, #8 look-alike and
padded text): each must leave a grant at least as wide as the clean policy's, and say why.

Organization used by every case: ORG (accounts OWNER, SIBLING); OUTSIDER is not in it.
"""

OWNER = "111122223333"
SIBLING = "444455556666"
OUTSIDER = "777788889999"
ORG = "o-a1b2c3d4e5"
OTHER_ORG = "o-zzzzzzzzzz"

PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]
PUSH = [
    "ecr:BatchCheckLayerAvailability",
    "ecr:CompleteLayerUpload",
    "ecr:InitiateLayerUpload",
    "ecr:PutImage",
    "ecr:UploadLayerPart",
]


def _doc(*statements, version="2012-10-17"):
    return {"Version": version, "Statement": list(statements)}


CASES = [
    dict(
        name="doc_allow_users_push_pull_same_account",
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policy-examples.html (Allow one or more users)",  # noqa: E501
        policy=_doc(
            {
                "Sid": "AllowPushPull",
                "Effect": "Allow",
                "Principal": {
                    "AWS": [
                        f"arn:aws:iam::{OWNER}:user/push-pull-user-1",
                        f"arn:aws:iam::{OWNER}:user/push-pull-user-2",
                    ]
                },
                "Action": PULL + PUSH,
                "Resource": "*",
            }
        ),
        expected={
            f"arn:aws:iam::{OWNER}:user/push-pull-user-1": ("account", "pull+push"),
            f"arn:aws:iam::{OWNER}:user/push-pull-user-2": ("account", "pull+push"),
        },
    ),
    dict(
        name="doc_allow_other_account_push_root_arn",
        source="repository-policy-examples.html (Allow another account: AllowCrossAccountPush)",
        policy=_doc(
            {
                "Sid": "AllowCrossAccountPush",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                "Action": PUSH,
            }
        ),
        expected={OUTSIDER: ("external", "push")},
    ),
    dict(
        name="doc_public_pull_all_aws_accounts",
        source="repository-policy-examples.html (Allow all AWS accounts to pull images)",
        policy=_doc(
            {
                "Sid": "AllowPull",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="doc_deny_unless_ip_range_is_not_an_allow",
        source="repository-policy-examples.html (IP restriction; the Sid 'IPAllow' is a Deny)",
        policy=_doc(
            {
                "Sid": "IPAllow",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}},
            }
        ),
        expected={},
    ),
    dict(
        name="doc_service_codebuild_with_source_arn_and_account",
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/cross-service-confused-deputy-prevention.html",
        policy=_doc(
            {
                "Sid": "CodeBuildAccess",
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:aws:codebuild:us-east-1:{OWNER}:project/p"},
                    "StringEquals": {"aws:SourceAccount": OWNER},
                },
            }
        ),
        expected={"codebuild.amazonaws.com": ("service", "pull")},
    ),
    dict(
        name="knowledge_center_lambda_same_account_service_untied",
        source="https://repost.aws/knowledge-center/lambda-ecr-image (LambdaECRImageRetrievalPolicy)",
        policy=_doc(
            {
                "Sid": "LambdaECRImageRetrievalPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ),
        expected={"lambda.amazonaws.com": ("service", "pull")},
    ),
    dict(
        name="knowledge_center_lambda_cross_account_lowercase_sourcearn",
        source="repost.aws lambda-ecr-image (CrossAccountPermission + LambdaECRImageCrossAccountRetrievalPolicy with aws:sourceARN)",  # noqa: E501
        policy=_doc(
            {
                "Sid": "CrossAccountPermission",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:root"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            },
            {
                "Sid": "LambdaECRImageCrossAccountRetrievalPolicy",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {
                    "StringLike": {"aws:sourceARN": f"arn:aws:lambda:us-east-1:{SIBLING}:function:*"}
                },
            },
        ),
        expected={SIBLING: ("org", "pull"), "lambda.amazonaws.com": ("service", "pull")},
    ),
    dict(
        name="gist_org_readonly_wildcard_principal_principalorgid",
        source="gist guilhermef/f432c379 'Read only ECR policy for organization' (fixed to valid grammar); AWS blog pattern",  # noqa: E501
        policy=_doc(
            {
                "Sid": "ECR Read Only",
                "Effect": "Allow",
                "Principal": "*",
                "Action": [
                    "ecr:GetAuthorizationToken",
                    "ecr:BatchCheckLayerAvailability",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:GetRepositoryPolicy",
                    "ecr:DescribeRepositories",
                    "ecr:ListImages",
                    "ecr:DescribeImages",
                    "ecr:BatchGetImage",
                    "ecr:DescribeImageScanFindings",
                ],
                "Condition": {"StringLike": {"aws:PrincipalOrgID": ORG}},
            },
            version="2008-10-17",
        ),
        expected={ORG: ("org", "pull")},
    ),
    dict(
        name="gist_several_org_ids_one_foreign",
        source="gist mmiranda/2617657b 'ECR Access from different organizations'",
        policy=_doc(
            {
                "Sid": "ReadonlyAccess",
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
                "Condition": {"StringLike": {"aws:PrincipalOrgID": [ORG, OTHER_ORG]}},
            }
        ),
        expected={ORG: ("org", "pull"), OTHER_ORG: ("external", "pull")},
    ),
    dict(
        name="gist_hub_spoke_2008_version_root_arn",
        source="gist KyMidd/b7d17f95 hub_ecr_repository_policy (Version 2008-10-17)",
        policy=_doc(
            {
                "Sid": "AllowSpokeAccountsToPull",
                "Effect": "Allow",
                "Principal": {"AWS": [f"arn:aws:iam::{SIBLING}:root"]},
                "Action": [
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchGetImage",
                    "ecr:BatchCheckLayerAvailability",
                ],
            },
            version="2008-10-17",
        ),
        expected={SIBLING: ("org", "pull")},
    ),
    dict(
        name="statement_as_single_object_bare_account_id",
        source="IAM grammar: Statement may be one object; Principal AWS may be a bare account id",
        policy={
            "Version": "2012-10-17",
            "Statement": {"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ecr:Batch*"},
        },
        expected={OUTSIDER: ("external", "pull+push+delete")},
    ),
    dict(
        name="allow_all_deny_outside_org_is_org_only",
        source="data-perimeter pattern (aws-samples/data-perimeter-policy-examples): Allow * + Deny StringNotEquals aws:PrincipalOrgID",  # noqa: E501
        policy=_doc(
            {"Sid": "AllowAll", "Effect": "Allow", "Principal": "*", "Action": "ecr:*"},
            {
                "Sid": "DenyOutsideOrg",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": ORG}},
            },
        ),
        expected={ORG: ("org", "pull+push+delete+manage")},
    ),
    dict(
        name="wildcard_principal_with_sourcevpce_stays_public_but_restricted",
        source="ECR VPC endpoints guide; policyuniverse/steampipe treat SourceVpce as not internet accessible — we keep public, restricted_by lists it",  # noqa: E501
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}},
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="wildcard_principal_principalaccount_list",
        source="turbot steampipe-plugin-aws public_access.md: * limited with aws:PrincipalAccount",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": ["*"]},
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:PrincipalAccount": [SIBLING, OUTSIDER]}},
            }
        ),
        expected={SIBLING: ("org", "pull"), OUTSIDER: ("external", "pull")},
    ),
    dict(
        name="principalarn_wildcard_account_is_public",
        source="steampipe public_access.md: PrincipalArn with * in the account field is public",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/ci-*"}},
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="principalarn_role_pattern_in_sibling_account",
        source="common CI pattern: ArnLike aws:PrincipalArn arn:aws:iam::<acct>:role/ci-*",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PUSH,
                "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{SIBLING}:role/ci-*"}},
            }
        ),
        expected={SIBLING: ("org", "push")},
    ),
    dict(
        name="orgpaths_foranyvalue_stringlike",
        source="IAM aws:PrincipalOrgPaths docs (ForAnyValue:StringLike o-id/r-id/ou-id/*)",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {
                    "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG}/r-ab12/ou-ab12-11111111/*"]}
                },
            }
        ),
        expected={ORG: ("org", "pull")},
    ),
    dict(
        name="orgpaths_forallvalues_confines_nothing",
        source="IAM docs: ForAllValues is true when the key is absent (anonymous callers have no org path)",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"ForAllValues:StringLike": {"aws:PrincipalOrgPaths": [f"{ORG}/*"]}},
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="principalorgid_ifexists_confines_nothing",
        source="IAM docs: ...IfExists passes when the key is absent",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEqualsIfExists": {"aws:PrincipalOrgID": ORG}},
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="notprincipal_allow_is_public",
        source="IAM NotPrincipal docs: Allow with NotPrincipal grants everyone except those named",
        policy=_doc(
            {"Effect": "Allow", "NotPrincipal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"}, "Action": "ecr:*"}
        ),
        expected={"*": ("public", "pull+push+delete+manage")},
    ),
    dict(
        name="deny_notprincipal_lockdown_to_one_account",
        source="IAM NotPrincipal docs: Deny + NotPrincipal",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": PULL},
            {"Effect": "Deny", "NotPrincipal": {"AWS": f"arn:aws:iam::{SIBLING}:root"}, "Action": "ecr:*"},
        ),
        expected={SIBLING: ("org", "pull")},
    ),
    dict(
        name="notaction_allow_everything_but_delete",
        source="IAM NotAction docs applied to ECR",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": OUTSIDER},
                "NotAction": ["ecr:BatchDeleteImage", "ecr:DeleteRepository"],
            }
        ),
        expected={OUTSIDER: ("external", "pull+push+manage")},
    ),
    dict(
        name="action_case_insensitive_get_star",
        source="IAM action names are case-insensitive: ecr:get* covers GetDownloadUrlForLayer",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ECR:get*"}),
        expected={OUTSIDER: ("external", "pull")},
    ),
    dict(
        name="tag_conditioned_deny_does_not_narrow",
        source="ecr-supported-iam-actions-tagging.html: Allow ecr:* + Deny on ecr:ResourceTag/environment=prod",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:*",
                "Resource": "*",
                "Condition": {"StringEquals": {"ecr:ResourceTag/environment": "prod"}},
            },
        ),
        expected={"*": ("public", "pull+push+delete+manage")},
    ),
    dict(
        name="unique_id_principal_is_dangling",
        source="docs/access.md#principals: deleted IAM identities appear as unique ids",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": ["AROAEXAMPLEID1234567"]}, "Action": PULL}),
        expected={},
    ),
    dict(
        name="assumed_role_session_arn",
        source="IAM principal docs: assumed-role session ARNs are valid principals",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:sts::{OUTSIDER}:assumed-role/deploy/session"},
                "Action": PUSH,
            }
        ),
        expected={f"arn:aws:sts::{OUTSIDER}:assumed-role/deploy/session": ("external", "push")},
    ),
    dict(
        name="registry_v2_replication_grant",
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/registry-permissions-examples.html",
        scope="registry_v2",
        policy=_doc(
            {
                "Sid": "ReplicationAccessCrossAccount",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:root"},
                "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
                "Resource": [f"arn:aws:ecr:us-west-2:{OWNER}:repository/*"],
            }
        ),
        expected={SIBLING: ("org", "push")},
    ),
    dict(
        name="registry_v1_ignores_pull_actions",
        source="registry-permissions.html: V1 enforces only ReplicateImage, BatchImportUpstreamImage, CreateRepository",
        scope="registry_v1",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ecr:*"}),
        expected={OUTSIDER: ("external", "push")},
    ),
    dict(
        name="registry_v2_star_grants_everything",
        source="registry-permissions.html: V2 'allows all ECR actions in the policy'",
        scope="registry_v2",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OUTSIDER}, "Action": "ecr:*"}),
        expected={OUTSIDER: ("external", "pull+push+delete+manage")},
    ),
    dict(
        name="ptc_upstream_grants_downstream_account",
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/pull-through-cache-private.html",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:root"},
                "Action": [
                    "ecr:BatchGetImage",
                    "ecr:GetDownloadUrlForLayer",
                    "ecr:BatchImportUpstreamImage",
                    "ecr:GetImageCopyStatus",
                ],
            }
        ),
        expected={SIBLING: ("org", "pull+push")},
    ),
    dict(
        name="invalid_json_is_undetermined",
        source="hostile input",
        policy='{"Version": "2012-10-17", "Statement": [',
        expected={},
        undetermined=True,
    ),
    dict(
        name="action_as_number_is_undetermined",
        source="hostile input",
        policy=_doc({"Effect": "Allow", "Principal": "*", "Action": 5}),
        expected={},
        undetermined=True,
    ),
    dict(
        name="unknown_operator_does_not_narrow",
        source="hostile input: a made-up operator must not confine",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEqualsMaybe": {"aws:PrincipalOrgID": ORG}},
            }
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="unknown_key_in_deny_does_not_narrow",
        source="hostile input: a Deny guarded by an unknown key cannot be shown to apply",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": PULL},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgIdentifier": ORG}},
            },
        ),
        expected={"*": ("public", "pull")},
    ),
    dict(
        name="foreign_org_deny_guard_keeps_foreign_org",
        source="Allow * + Deny unless aws:PrincipalOrgID is another organization's id",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": PULL},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": OTHER_ORG}},
            },
        ),
        expected={OTHER_ORG: ("external", "pull")},
    ),
    # -- issue 12: hostile shapes ------------------------------------------------------------------
    dict(
        name="hostile_duplicate_statement_key_hides_a_public_allow",
        source="issue 12 #7: json.loads keeps the last of repeated keys",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:BatchGetImage"}], "Statement": []}',
        expected={},
        undetermined=True,
        findings={"ecr_policy_duplicate_key"},
    ),
    dict(
        name="hostile_duplicate_effect_key",
        source="issue 12 #7: Effect given twice in one statement",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:BatchGetImage", "Effect": "Deny"}]}',
        expected={},
        undetermined=True,
        findings={"ecr_policy_duplicate_key"},
    ),
    dict(
        name="hostile_duplicate_condition_key_in_a_deny",
        source="issue 12 #7: the Deny's exception list given twice (which one IAM reads is undocumented)",
        policy='{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", '
        '"Action": "ecr:BatchGetImage"}, {"Effect": "Deny", "Principal": "*", "Action": "ecr:*", '
        f'"Condition": {{"StringNotEquals": {{"aws:PrincipalOrgID": "{ORG}", '
        f'"aws:PrincipalOrgID": "{OTHER_ORG}"}}}}}}]}}',
        expected={},
        undetermined=True,
        findings={"ecr_policy_duplicate_key"},
    ),
    dict(
        name="hostile_many_wildcards_action_is_evaluated_not_hung",
        source="issue 12 #4: 157-byte Action with 24 wildcards (a backtracking regex never returns)",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": ["ecr:" + "*" * 24 + "q", "ecr:BatchGetImage"]}
        ),
        expected={"*": ("public", "pull")},
        findings={"ecr_policy_unknown_action"},
    ),
    dict(
        name="hostile_dotless_i_deny_action_keeps_public",
        source="issue 12 #8: `ı` (U+0131) equals `I` only under Unicode case folding, not IAM's",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
            {"Effect": "Deny", "Principal": "*", "Action": "ecr:batchgetımage"},
        ),
        expected={"*": ("public", "pull")},
        findings={"ecr_policy_inexact_text"},
    ),
    dict(
        name="hostile_newline_and_space_padded_deny_actions_keep_public",
        source="issue 12 #8: IAM does not trim action names",
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": ["ecr:BatchGetImage", "ecr:PutImage"]},
            {"Effect": "Deny", "Principal": "*", "Action": ["ecr:BatchGetImage\n", " ecr:PutImage"]},
        ),
        expected={"*": ("public", "pull+push")},
        findings={"ecr_policy_inexact_text"},
    ),
    dict(
        name="hostile_padded_star_deny_principal_keeps_public",
        source='issue 12 #8: Principal " * " is not "*" to IAM',
        policy=_doc(
            {"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"},
            {"Effect": "Deny", "Principal": {"AWS": " * "}, "Action": "ecr:*"},
        ),
        expected={"*": ("public", "pull")},
        findings={"ecr_policy_inexact_text"},
    ),
    dict(
        name="hostile_padded_operator_neither_confines_an_allow_nor_applies_a_deny",
        source="issue 12 #8: condition operators are not trimmed by IAM",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "ecr:BatchGetImage",
                "Condition": {" StringEquals": {"aws:PrincipalOrgID": ORG}},
            },
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:*",
                "Condition": {"StringNotEquals ": {"aws:PrincipalOrgID": ORG}},
            },
        ),
        expected={"*": ("public", "pull")},
        findings={"ecr_policy_unknown_condition_operator"},
    ),
    dict(
        name="hostile_deny_role_arn_in_other_case_does_not_remove_the_grant",
        source="issue 12 #8: principal ARNs match case-sensitively (IAM ArnLike); an Allow may read wider",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:role/ci"},
                "Action": "ecr:BatchGetImage",
            },
            {"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:role/CI"}, "Action": "ecr:*"},
        ),
        expected={f"arn:aws:iam::{SIBLING}:role/ci": ("org", "pull")},
    ),
    dict(
        name="hostile_fullwidth_digit_account_is_an_unknown_external_principal",
        source="issue 12 #8: \\d matches any Unicode digit; an account id is ASCII 0-9",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": "\uff14" * 12}, "Action": "ecr:BatchGetImage"}),
        expected={"\uff14" * 12: ("external", "pull")},
        findings={"ecr_policy_inexact_text", "ecr_policy_unrecognized_principal"},
    ),
    dict(
        name="literal_star_in_string_equals_org_id_grants_nobody",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
        " (StringEquals: exact matching; wildcards only with StringLike); found by hypothesis "
        "(tests/test_reliability_inputs.py)",
        policy=_doc(
            {"Sid": "PublicPull", "Effect": "Allow", "Principal": "*", "Action": PULL},
            {
                "Sid": "OrgStar",
                "Effect": "Allow",
                "Principal": "*",
                "Action": "ecr:*",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ["*"]}},
            },
        ),
        expected={"*": ("public", "pull")},
        findings={"ecr_policy_unmatchable_condition_value"},
    ),
    dict(
        name="literal_star_in_string_not_equals_spares_nobody",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"
        " (StringNotEquals: exact; no organization id is `*`, so the test is true for everyone)",
        policy=_doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SIBLING}:root"}, "Action": PULL},
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "ecr:*",
                "Condition": {"StringNotEquals": {"aws:PrincipalOrgID": "*"}},
            },
        ),
        expected={},
        findings={"ecr_policy_unmatchable_condition_value"},
    ),
    dict(
        name="literal_star_in_string_equals_account_grants_nobody",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html"
        "#condition-keys-principalaccount (a 12-digit account id; StringEquals compares literally)",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:PrincipalAccount": ["*", SIBLING]}},
            },
        ),
        expected={SIBLING: ("org", "pull")},
        findings={"ecr_policy_unmatchable_condition_value"},
    ),
]
