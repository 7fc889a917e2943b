"""RCP, SCP, boundary and identity-policy shapes with the effective answer we expect.

RCP_CASES (repository `app` of OWNER, in OU prod, unless `owner`): `policy` (the repository
policy), `rcps` [(document, target)], `tags` (None: unreadable), `rcp_status`; `expected`:
grantee -> (effective_exposure, effective capabilities "+"-joined, effective_basis).

PRINCIPAL_CASES: `principal` (see tests.access_helpers.org_inventory), `policy`, `scps`, `rcps`;
`expected`: capability -> can (True / False / None for undetermined; "absent" for no row) on `app`
(or the registry for get_authorization_token); `capped_by`: substrings that must be listed.

Sources: the AWS policy-evaluation docs and aws-samples/data-perimeter-policy-examples
(resource_control_policies/identity_perimeter_rcp.json; service_control_policies/).
"""

from tests.access_helpers import MANAGEMENT, PROD_OU, ROOT
from tests.data.policy_corpus import ORG, OUTSIDER, OWNER, PULL, PUSH, SIBLING

PARTNER = "123412341234"
PERIMETER_REPO = "https://github.com/aws-samples/data-perimeter-policy-examples/blob/main/resource_control_policies/identity_perimeter_rcp.json"  # noqa: E501
RCP_EVAL = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html"
)
SCP_EVAL = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html"
)
EVAL_LOGIC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"
CROSS = (
    "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html"
)
BOUNDARIES = "https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html"
ECR_POLICIES = "https://docs.aws.amazon.com/AmazonECR/latest/userguide/repository-policies.html"


def _doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


PUBLIC_PULL = _doc({"Sid": "PublicPull", "Effect": "Allow", "Principal": "*", "Action": PULL})

# EnforceOrgIdentities of the identity-perimeter RCP, for ECR, with a partner account.
ENFORCE_ORG_IDENTITIES = _doc(
    {
        "Sid": "EnforceOrgIdentities",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "ecr:*",
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": {
                "aws:PrincipalOrgID": ORG,
                "aws:PrincipalAccount": [PARTNER],
                "aws:ResourceTag/dp:exclude:identity": "true",
            },
            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
        },
    }
)
# EnforceConfusedDeputyProtection of the same file.
ENFORCE_CONFUSED_DEPUTY = _doc(
    {
        "Sid": "EnforceConfusedDeputyProtection",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "ecr:*",
        "Resource": "*",
        "Condition": {
            "StringNotEqualsIfExists": {
                "aws:SourceOrgID": ORG,
                "aws:ResourceTag/dp:exclude:confused-deputy": "true",
            },
            "Null": {"aws:SourceAccount": "false"},
            "Bool": {"aws:PrincipalIsAWSService": "true"},
        },
    }
)

RCP_CASES = [
    dict(
        name="perimeter_turns_public_into_org_and_partner",
        source=PERIMETER_REPO,
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags={},
        expected={"*": ("external", "pull", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="perimeter_without_partner_leaves_the_organization",
        source=PERIMETER_REPO + " (without the aws:PrincipalAccount exception)",
        policy=PUBLIC_PULL,
        rcps=[
            (
                _doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "ecr:*",
                        "Resource": "*",
                        "Condition": {
                            "StringNotEqualsIfExists": {"aws:PrincipalOrgID": ORG},
                            "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
                        },
                    }
                ),
                ROOT,
            )
        ],
        tags={},
        expected={"*": ("org", "pull", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="perimeter_denies_an_outside_account",
        source=PERIMETER_REPO,
        policy=_doc(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"}, "Action": PULL}
        ),
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags={},
        expected={OUTSIDER: ("none", "", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="perimeter_spares_the_partner_account",
        source=PERIMETER_REPO,
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": PARTNER}, "Action": PULL}),
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags={},
        expected={PARTNER: ("external", "pull", "rcp_applied")},
    ),
    dict(
        name="perimeter_exclusion_tag_keeps_the_repository_public",
        source=PERIMETER_REPO + " (dp:exclude:identity)",
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags={"dp:exclude:identity": "true"},
        expected={"*": ("public", "pull", "rcp_excluded_by_tag")},
    ),
    dict(
        name="perimeter_exclusion_tag_other_value_does_not_exclude",
        source=PERIMETER_REPO + " (StringNotEqualsIfExists: only the value true exempts)",
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags={"dp:exclude:identity": "false"},
        expected={"*": ("external", "pull", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="perimeter_with_unreadable_tags_is_undetermined",
        source=PERIMETER_REPO + " (the exclusion tag decides; the tags could not be read)",
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        tags=None,
        expected={"*": ("undetermined", "pull", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="rcp_does_not_apply_in_the_management_account",
        source="https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html",
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, ROOT)],
        owner=MANAGEMENT,
        tags={},
        expected={"*": ("public", "pull", "management_account_exempt")},
    ),
    dict(
        name="rcp_on_another_ou_is_not_on_the_path",
        source=RCP_EVAL,
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, "ou-ab12-dev00001")],
        tags={},
        expected={"*": ("public", "pull", "no_rcp_on_path")},
    ),
    dict(
        name="rcp_attached_to_the_account_applies",
        source=RCP_EVAL,
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, OWNER)],
        tags={},
        expected={"*": ("external", "pull", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="rcps_unreadable_keep_the_policy_exposure",
        source="issue 16: a policy type that was not read is rcp_unknown",
        policy=PUBLIC_PULL,
        rcps=[(ENFORCE_ORG_IDENTITIES, PROD_OU)],
        rcp_status="unreadable",
        tags={},
        expected={"*": ("public", "pull", "rcp_unknown")},
    ),
    dict(
        name="rcp_text_unreadable_keeps_the_policy_exposure",
        source="issue 16 contract: a null policy_text is undetermined, never 'no policy'",
        policy=PUBLIC_PULL,
        rcps=[(None, PROD_OU)],
        tags={},
        expected={"*": ("public", "pull", "rcp_unknown")},
    ),
    dict(
        name="rcps_not_enabled_apply_nowhere",
        source="https://docs.aws.amazon.com/organizations/latest/userguide/enable-policy-type.html",
        policy=PUBLIC_PULL,
        rcps=[],
        rcp_status="not_enabled",
        tags={},
        expected={"*": ("public", "pull", "no_rcp_on_path")},
    ),
    dict(
        name="rcp_full_aws_access_alone_allows_everything",
        source=RCP_EVAL + " (RCPFullAWSAccess)",
        policy=PUBLIC_PULL,
        rcps=[],
        tags={},
        expected={"*": ("public", "pull", "no_rcp_on_path")},
    ),
    dict(
        name="confused_deputy_rcp_leaves_an_untied_service_its_organization_calls",
        source=PERIMETER_REPO + " (EnforceConfusedDeputyProtection)",
        policy=_doc(
            {"Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": PULL},
        ),
        rcps=[(ENFORCE_CONFUSED_DEPUTY, PROD_OU)],
        tags={},
        # Calls for the organization's own resources (aws:SourceOrgID = ORG) stay: still a service grant.
        expected={"codebuild.amazonaws.com": ("service", "pull", "rcp_applied")},
    ),
    dict(
        name="confused_deputy_rcp_denies_a_service_tied_outside_the_organization",
        source=PERIMETER_REPO + " (EnforceConfusedDeputyProtection)",
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:SourceAccount": OUTSIDER}},
            },
        ),
        rcps=[(ENFORCE_CONFUSED_DEPUTY, PROD_OU)],
        tags={},
        expected={"codebuild.amazonaws.com": ("none", "", "rcp_applied")},
        neutralized=True,
    ),
    dict(
        name="confused_deputy_rcp_leaves_people_alone",
        source=PERIMETER_REPO + " (aws:PrincipalIsAWSService true: only service principals)",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": PULL}),
        rcps=[(ENFORCE_CONFUSED_DEPUTY, PROD_OU)],
        tags={},
        expected={SIBLING: ("org", "pull", "rcp_applied")},
    ),
    dict(
        name="rcp_deny_by_resource_tag_denies_tagged_repositories",
        source=RCP_EVAL
        + "; https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourcetag",  # noqa: E501
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": PULL + PUSH}),
        rcps=[
            (
                _doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "ecr:PutImage",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:ResourceTag/frozen": "yes"}},
                    }
                ),
                ROOT,
            )
        ],
        tags={"Frozen": "yes"},  # tag keys in condition keys are case-insensitive
        expected={SIBLING: ("org", "pull+push", "rcp_applied")},  # layer uploads remain push actions
        neutralized=True,
    ),
    dict(
        name="rcp_deny_with_an_undecidable_condition_is_undetermined_not_dropped",
        source=RCP_EVAL + " (aws:CurrentTime cannot be decided from a snapshot)",
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": PULL}),
        rcps=[
            (
                _doc(
                    {
                        "Effect": "Deny",
                        "Principal": "*",
                        "Action": "ecr:*",
                        "Resource": "*",
                        "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
                    }
                ),
                ROOT,
            )
        ],
        tags={},
        expected={SIBLING: ("undetermined", "", "rcp_applied")},
        neutralized=True,
    ),
]

ADMIN = _doc({"Effect": "Allow", "Action": "ecr:*", "Resource": "*"})
TOKEN = {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}
OWN_ROLE = f"arn:aws:iam::{OWNER}:role/ci"
SIBLING_ROLE = f"arn:aws:iam::{SIBLING}:role/ci"
APP = f"arn:aws:ecr:us-east-1:{OWNER}:repository/app"

PRINCIPAL_CASES = [
    dict(
        name="same_account_identity_allow_suffices",
        source=EVAL_LOGIC,
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[ADMIN]),
        expected={"push": True, "delete": True, "manage": True, "get_authorization_token": True},
        via="identity",
    ),
    dict(
        name="same_account_resource_allow_to_the_role_suffices",
        source=EVAL_LOGIC + "; " + ECR_POLICIES,
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[]),
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OWN_ROLE}, "Action": PULL}),
        expected={"pull": True, "push": "absent", "get_authorization_token": "absent"},
        via="resource",
        docker=False,
    ),
    dict(
        name="same_account_resource_allow_to_the_account_only_delegates",
        source=EVAL_LOGIC + " (the account principal delegates to identity policies)",
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[]),
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OWNER}, "Action": PULL}),
        expected={"pull": "absent"},
    ),
    dict(
        name="cross_account_needs_both_identity_and_resource",
        source=CROSS,
        principal=dict(account_id=SIBLING, arn=SIBLING_ROLE, policies=[ADMIN]),
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": PULL}),
        expected={"pull": True, "push": "absent", "manage": "absent"},
        via="both",
    ),
    dict(
        name="cross_account_resource_allow_without_identity_allow_is_nothing",
        source=CROSS,
        principal=dict(account_id=SIBLING, arn=SIBLING_ROLE, policies=[]),
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": SIBLING}, "Action": PULL}),
        expected={"pull": "absent"},
    ),
    dict(
        name="resource_deny_wins_over_identity_allow",
        source=EVAL_LOGIC + " (an explicit deny in any policy overrides)",
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[ADMIN]),
        policy=_doc({"Effect": "Deny", "Principal": {"AWS": OWN_ROLE}, "Action": "ecr:PutImage"}),
        expected={"push": False, "pull": True},
        capped_by=["repository policy"],
    ),
    dict(
        name="identity_deny_wins",
        source=EVAL_LOGIC,
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[ADMIN, _doc({"Effect": "Deny", "Action": "ecr:Batch*", "Resource": APP})],
        ),
        expected={"pull": True, "delete": True},  # GetDownloadUrlForLayer stays; DeleteRepository stays
        capped_by=["policy-1"],
    ),
    dict(
        name="boundary_caps_identity_grants",
        source=BOUNDARIES,
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[ADMIN],
            boundary=_doc(
                {"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", *PULL], "Resource": "*"}
            ),
        ),
        expected={
            "pull": True,
            "push": False,
            "delete": False,
            "manage": False,
            "get_authorization_token": True,
        },
        capped_by=["boundary"],
    ),
    dict(
        name="boundary_caps_same_account_resource_grants_to_the_role",
        source=BOUNDARIES + " (resource-based policy naming the role ARN: limited by the boundary)",
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[],
            boundary=_doc({"Effect": "Allow", "Action": PULL, "Resource": "*"}),
        ),
        policy=_doc({"Effect": "Allow", "Principal": {"AWS": OWN_ROLE}, "Action": PULL + PUSH}),
        expected={"pull": True, "push": False},
    ),
    dict(
        name="scp_deny_caps_member_principals",
        source=SCP_EVAL,
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[ADMIN]),
        scps=[
            (
                _doc(
                    {
                        "Effect": "Deny",
                        "Action": ["ecr:DeleteRepository", "ecr:BatchDeleteImage"],
                        "Resource": "*",
                    }
                ),
                PROD_OU,
            )
        ],
        expected={"delete": False, "push": True},
        capped_by=["scp-0"],
    ),
    dict(
        name="scp_allow_list_without_full_access_caps",
        source=SCP_EVAL + " (every level must allow the action)",
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[ADMIN]),
        scps=[
            (_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}), ROOT),
            (
                _doc({"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken", *PULL], "Resource": "*"}),
                PROD_OU,
            ),
            (_doc({"Effect": "Allow", "Action": "*", "Resource": "*"}), OWNER),
        ],
        full_access=False,
        expected={"pull": True, "push": False, "manage": False},
        capped_by=["allow list"],
    ),
    dict(
        name="scp_does_not_cap_the_management_account",
        source="https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html",
        principal=dict(account_id=MANAGEMENT, arn=f"arn:aws:iam::{MANAGEMENT}:role/admin", policies=[ADMIN]),
        scps=[(_doc({"Effect": "Deny", "Action": "ecr:*", "Resource": "*"}), ROOT)],
        owner=MANAGEMENT,
        expected={"push": True, "manage": True},
        scp_basis="management_account_exempt",
    ),
    dict(
        name="scp_does_not_cap_service_linked_roles",
        source="https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html",
        principal=dict(
            account_id=OWNER,
            arn=f"arn:aws:iam::{OWNER}:role/aws-service-role/replication.ecr.amazonaws.com/AWSServiceRoleForECRReplication",
            policies=[
                _doc(
                    {
                        "Effect": "Allow",
                        "Action": ["ecr:ReplicateImage", "ecr:CreateRepository"],
                        "Resource": "*",
                    }
                )
            ],
            service_linked=True,
        ),
        scps=[(_doc({"Effect": "Deny", "Action": "ecr:*", "Resource": "*"}), ROOT)],
        expected={"push": True},
        scp_basis="service_linked_role",
    ),
    dict(
        name="rcp_caps_principals_acting_on_the_resource",
        source=RCP_EVAL,
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[ADMIN]),
        rcps=[
            (
                _doc(
                    {"Effect": "Deny", "Principal": "*", "Action": "ecr:SetRepositoryPolicy", "Resource": "*"}
                ),
                ROOT,
            )
        ],
        expected={"manage": True},  # other manage actions remain
        capped_by=["RCP p-rcp00000"],
    ),
    dict(
        name="no_authorization_token_no_docker",
        source=ECR_POLICIES + " (GetAuthorizationToken comes only from identity policies)",
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[_doc({"Effect": "Allow", "Action": PULL, "Resource": APP})],
        ),
        expected={"pull": True, "get_authorization_token": "absent"},
        docker=False,
    ),
    dict(
        name="token_in_a_resource_policy_has_no_effect",
        source=ECR_POLICIES,
        principal=dict(account_id=OWNER, arn=OWN_ROLE, policies=[]),
        policy=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": OWN_ROLE},
                "Action": ["ecr:GetAuthorizationToken", *PULL],
            }
        ),
        expected={"pull": True, "get_authorization_token": "absent"},
        docker=False,
    ),
    dict(
        name="identity_allow_with_an_undecidable_condition_is_undetermined",
        source=EVAL_LOGIC + " (aws:SourceIp cannot be decided from a snapshot)",
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[
                _doc(
                    TOKEN,
                    {
                        "Effect": "Allow",
                        "Action": "ecr:PutImage",
                        "Resource": "*",
                        "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                    },
                )
            ],
        ),
        expected={"push": None, "get_authorization_token": True},
    ),
    dict(
        name="identity_allow_by_resource_tag_is_decided",
        source="https://docs.aws.amazon.com/AmazonECR/latest/userguide/ecr-supported-iam-actions-tagging.html",
        principal=dict(
            account_id=OWNER,
            arn=OWN_ROLE,
            policies=[
                _doc(
                    {
                        "Effect": "Allow",
                        "Action": "ecr:PutImage",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"ecr:ResourceTag/team": "web"}},
                    }
                )
            ],
        ),
        tags={"team": "data"},
        expected={"push": "absent"},
    ),
]

TRUST_CASES = [
    dict(
        name="trusted_outside_account_with_external_id",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_common-scenarios_third-party.html",
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "x"}},
            }
        ),
        expected=[OUTSIDER],
    ),
    dict(
        name="trusted_star_confined_to_the_organization_is_not_external",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid",  # noqa: E501
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": "*"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
            }
        ),
        expected=[],
    ),
    dict(
        name="trusted_star_without_conditions_is_public",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html",
        trust=_doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}),
        expected=["*"],
    ),
    dict(
        name="trusted_sibling_and_service_are_not_external",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-service.html",
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {"AWS": SIBLING, "Service": "codebuild.amazonaws.com"},
                "Action": "sts:AssumeRole",
            }
        ),
        expected=[],
    ),
    dict(
        name="trusted_web_identity_provider_is_external",
        source="https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_create_for-idp_oidc.html",
        trust=_doc(
            {
                "Effect": "Allow",
                "Principal": {
                    "Federated": f"arn:aws:iam::{OWNER}:oidc-provider/token.actions.githubusercontent.com"
                },
                "Action": "sts:AssumeRoleWithWebIdentity",
            }
        ),
        expected=[f"arn:aws:iam::{OWNER}:oidc-provider/token.actions.githubusercontent.com"],
    ),
]
