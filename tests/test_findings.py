"""Unified findings: stable ids, every kind present on the demo organization, CSV/JSON export."""

import csv
import io
import json

import pandas as pd
import pytest

from ecr_audit import Inventory, cli, findings

ACCT = "012345678901"
REPO = {"account_id": ACCT, "region": "us-east-1"}


def _repo(name, **kw):
    return {
        **REPO,
        "repository_name": name,
        "repository_arn": f"arn:aws:ecr:us-east-1:{ACCT}:repository/{name}",
        "image_tag_mutability": "IMMUTABLE",
        "has_scan_on_push": True,
        "encryption_type": "KMS",
        "lifecycle_policy_status": "present",
        "policy_status": "absent",
        **kw,
    }


def test_hygiene_checks_name_the_repository_and_pass_a_compliant_one():
    inv = Inventory.from_frames(
        repositories=[
            _repo("good"),
            _repo("mutable", image_tag_mutability="MUTABLE"),
            _repo("plain", encryption_type="AES256"),
            _repo("noscan", has_scan_on_push=False),
        ],
        registries=[{**REPO, "scan_type": "BASIC", "scanning_rules_text": "[]"}],
    )  # read: no registry rules
    f = findings.findings(
        inv,
        checks=[
            "ecr_repository_tags_mutable",
            "ecr_repository_not_kms_encrypted",
            "ecr_repository_scan_on_push_disabled",
        ],
    )
    got = set(zip(f["finding_id"], f["repository_name"]))
    assert got == {
        ("ecr_repository_tags_mutable", "mutable"),
        ("ecr_repository_not_kms_encrypted", "plain"),
        ("ecr_repository_scan_on_push_disabled", "noscan"),
    }
    assert (
        f.loc[f.repository_name == "plain", "resource_arn"].item()
        == f"arn:aws:ecr:us-east-1:{ACCT}:repository/plain"
    )


def test_registry_scanning_rule_matching_the_repository_counts_as_scan_on_push():
    rules = json.dumps(
        [
            {
                "scanFrequency": "SCAN_ON_PUSH",
                "repositoryFilters": [{"filter": "team-*", "filterType": "WILDCARD"}],
            }
        ]
    )
    inv = Inventory.from_frames(
        repositories=[_repo("team-a", has_scan_on_push=False), _repo("other", has_scan_on_push=False)],
        registries=[{**REPO, "scan_type": "BASIC", "scanning_rules_text": rules}],
    )
    f = findings.findings(inv, checks=["ecr_repository_scan_on_push_disabled"])
    assert f["repository_name"].tolist() == ["other"]


def test_unreadable_reads_are_findings_not_silence():
    inv = Inventory.from_frames(
        errors=[
            {
                **REPO,
                "repository_name": "app",
                "operation": "GetRepositoryPolicy",
                "error_code": "AccessDeniedException",
                "error_kind": "access_denied",
            }
        ]
    )
    f = findings.findings(inv, checks=["ecr_audit_unreadable"])
    assert f["details"].tolist() == ["access_denied: 1 failed call(s) (GetRepositoryPolicy)"]
    assert f["resource_arn"].item() == f"arn:aws:ecr:us-east-1:{ACCT}:repository/app"


@pytest.mark.slow
def test_demo_organization_yields_every_finding_kind(demo_inventory):
    f = findings.findings(demo_inventory)
    kinds = set(f["finding_id"])
    expected = {
        # access
        "ecr_repository_public_pull",
        "ecr_repository_public_push",
        "ecr_repository_external_pull",
        "ecr_creation_template_public_access",
        "ecr_registry_replicates_outside_org",
        "ecr_policy_confused_deputy",
        "ecr_policy_dangling_principal",
        "ecr_policy_grantee_outside_org",
        # images
        "ecr_repository_orphaned_images",
        "ecr_image_dangling_signature",
        "ecr_repository_stale_images",
        "ecr_audit_manifests_not_read",
        # lifecycle
        "ecr_lifecycle_policy_invalid",
        "ecr_repository_lifecycle_missing",
        # cost
        "ecr_repository_reclaimable_storage",
        # hygiene
        "ecr_repository_tags_mutable",
        "ecr_repository_not_kms_encrypted",
        "ecr_repository_scan_on_push_disabled",
        "ecr_registry_scanning_not_configured",
    }
    assert expected <= kinds, expected - kinds
    assert f["severity"].iloc[0] == "critical"  # most severe first
    assert f["finding_uid"].is_unique
    again = findings.findings(demo_inventory)
    pd.testing.assert_frame_equal(f, again)  # stable ids and order


@pytest.mark.slow
def test_findings_export_csv_and_json_keep_untrusted_text_as_data(demo_snapshot, tmp_path, capsys):
    out = tmp_path / "f.json"
    assert cli.main(["findings", str(demo_snapshot), "--format", "json", "--out", str(out)]) == 0
    rows = json.loads(out.read_text())
    assert rows and set(rows[0]) == set(findings.COLUMNS)
    assert capsys.readouterr().out.strip() == f"wrote {out} ({len(rows)} findings)"
    assert cli.main(["findings", str(demo_snapshot), "--format", "csv"]) == 0
    parsed = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(parsed) == len(rows)
    assert {r["finding_id"] for r in parsed} == {r["finding_id"] for r in rows}


def test_catalog_lists_every_registered_kind_with_remediation():
    cat = findings.catalog()
    assert cat["finding_id"].is_unique
    assert (cat["remediation"].str.len() > 20).all()
    assert {"ecr_repository_public_push", "ecr_policy_*", "ecr_lifecycle_*"} <= set(cat["finding_id"])


def test_unread_registry_scanning_configuration_is_not_reported_as_no_rule():
    inv = Inventory.from_frames(
        repositories=[_repo("noscan", has_scan_on_push=False)],
        registries=[{**REPO, "scan_type": None, "scanning_rules_text": None}],
    )  # GetRegistryScanningConfiguration failed
    assert findings.findings(inv, checks=["ecr_repository_scan_on_push_disabled"]).empty


@pytest.mark.slow
def test_finding_uids_stay_the_same_when_only_time_passes(demo_inventory):
    later = Inventory.from_frames(
        meta={**demo_inventory.meta, "collected_at": "2027-06-01T00:00:00+00:00"}, **demo_inventory.frames
    )
    now, then = findings.findings(demo_inventory), findings.findings(later)
    stale_now = now[now.finding_id == "ecr_repository_stale_images"]
    assert len(stale_now) and not stale_now["details"].isin(then["details"]).all()  # ages moved on...
    assert set(stale_now["finding_uid"]) <= set(then["finding_uid"])  # ...the uids did not


@pytest.mark.slow
def test_orphans_whose_bytes_are_unknown_are_not_reported_as_zero(demo_inventory):
    f = findings.findings(demo_inventory, checks=["ecr_repository_orphaned_images"])
    assert not f["details"].str.contains(r"\b0 reclaimable bytes").any()
