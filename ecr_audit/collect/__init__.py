"""Collect ECR from every account × region into an Inventory (`collect`).

Modules, in the order a run uses them:
  run            the run: the caller's identity, accounts prepared and units collected in
                 parallel, the Inventory and its provenance
  accounts       which accounts (caller, list, organization; OU paths), a session and the enabled
                 regions of each
  unit           one account × region: registry reads, repositories, images, manifests, and the
                 pull-time rule that decides whether manifests may be read
  reads          the table of every read (operation, service, IAM actions, scope, get, transform,
                 frame) and the step that runs one; permissions.py is generated from it
  reading        the read policy: statuses, errors rows, throttling rounds and the throttle budget
  paging         every paged listing (stops on a repeated page token or a page cap)
  fields         typed access to answer items: malformed items become `invalid_data` rows
  errors         failure classification, the credential scrubber, CredentialsError
  registry, repositories, images, organizations, regions: get_* (call, page) and transform_* (pure)
  pricing        ECR storage prices from the AWS Price List (GetProducts), once per collection
  manifests      manifest parsing (pure); calls: per-operation call counts; sink; progress

How to add a read (of ECR or of another service: ECS, Lambda, Organizations, IAM, Inspector2, ...):
  1. Write `get_x(client, *args)` — the call, with `paging.pages` for listings — and a pure
     `transform_x(account_id, region[, repository_name], answer, problems=None)` that returns the
     rows of one frame and reads items through `fields.Fields` (a malformed item goes to
     `problems`, never raises into the run). Put them beside their kind (registry.py, or a new
     module per service, e.g. `ecs.py`).
  2. Declare the frame (its grain and columns) in `ecr_audit/schema.py`.
  3. Add a `reads.Read(operation, service, scope, get, args=..., transform=..., frame=...,
     status=..., by_items=...)` to the table in `reads.py`, with the scope it is asked for: UNIT
     (each account × region: Inspector2 ListCoverage, ECS ListClusters), ACCOUNT (once per account:
     IAM GetAccountAuthorizationDetails), CALLER (once: Organizations ListPolicies), REPOSITORY.
     `service` is the boto3 client name: each service × region gets its own client in
     `aws.Clients`. The IAM action defaults to `<service>:<operation>`; give `actions=` where it
     differs or where one get makes several calls. A column named by `status=` or returned by
     `fields=` must exist in the scope's frame (registries, repositories, accounts).
  4. Regenerate the shipped policies (`ecr-audit permissions > ecr_audit/data/iam/audit-role-policy.json`,
     `--scope caller` for caller-policy.json) and the README block; tests/test_permissions.py checks them.
  The read then runs by itself, under the read policy, beside the others. A read whose answer
  drives further reads (DescribeServices for each cluster ListClusters lists, say) is
  `driven=True` and called from a step of the collector (as DescribeImages is in `unit.py`),
  still through its table entry.
"""

from .errors import CollectionError, CredentialsError
from .progress import StderrProgress
from .run import collect

__all__ = ["CollectionError", "CredentialsError", "StderrProgress", "collect"]
