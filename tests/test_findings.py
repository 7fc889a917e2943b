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


# --------------------------------------------------------------------------------------------
# Per-group evidence lists: the one-pass helpers answer as the pandas definitions they replaced
# --------------------------------------------------------------------------------------------


def _consumer_lists_by_definition(refs, by, index):
    """Distinct consumers (nulls as "") per group of `by` (a group with a null key is no group),
    the first EVIDENCE_FIRST by ARN as parallel lists, and how many (null: none)."""
    from ecr_audit import findings_analyses as fa

    cols = list(fa._CONSUMER.values())
    r = refs[by + [c for c in cols if c not in by]].astype({c: object for c in cols})
    r = r.fillna({c: "" for c in cols}).drop_duplicates()
    first = r.sort_values(by + ["consumer_arn"]).groupby(by, sort=True).head(fa.EVIDENCE_FIRST)
    key = by if len(by) > 1 else by[0]
    g = first.groupby(key, sort=True)
    out = {
        k: g[col].agg(list).reindex(index).map(lambda v: v if isinstance(v, list) else [])
        for k, col in fa._CONSUMER.items()
    }
    out["consumers"] = r.groupby(key, sort=True).size().reindex(index).astype("Int64")
    return out


def _maybe(rnd, values, nulls):
    return None if nulls and rnd.random() < 0.15 else rnd.choice(values)


def test_consumer_lists_answer_each_group_as_the_groupby_definition():
    """Random references (null keys and consumers, text/object/categorical columns, one key or
    several): the one-pass lists and counts are those of the groupby they replaced."""
    import random

    from ecr_audit import findings_analyses as fa

    rnd = random.Random(5)
    key_cols = ["account_id", "region", "repository_name", "consumer_account_id"]
    for _ in range(300):
        nulls = rnd.random() < 0.5
        pools = {
            "account_id": ["a", "b"],
            "region": ["r1", "r2"],
            "repository_name": ["x", "y"],
            "consumer_arn": [f"arn{i}" for i in range(15)],
            "consumer_kind": ["k1", "k2"],
            "consumer_account_id": ["c1", "c2", "a"],
        }
        refs = pd.DataFrame(
            [
                {"_row": rnd.randint(0, 5), **{c: _maybe(rnd, v, nulls) for c, v in pools.items()}}
                for _ in range(rnd.randint(0, 40))
            ],
            columns=["_row", *pools],
        )
        refs = refs.astype({c: rnd.choice(["str", "object", "category"]) for c in pools})
        by = rnd.choice([["_row"], ["account_id"], key_cols])
        if by == ["_row"]:
            index = pd.RangeIndex(rnd.randint(0, 7))
        elif len(by) == 1:
            index = pd.Index(refs[by[0]].drop_duplicates().tolist() + ["not a key"], dtype=object)
        else:
            groups = refs[by].drop_duplicates()
            index = pd.MultiIndex.from_frame(groups) if len(groups) else pd.MultiIndex.from_arrays([[]] * 4)
        got = fa._consumer_lists(refs, by, index)
        want = _consumer_lists_by_definition(refs, by, index)
        assert list(got) == list(want)
        for k in want:
            assert got[k].tolist() == want[k].tolist(), (k, by, refs, index)


def test_first_digests_per_repository_are_the_groupby_definition():
    """Random image rows (null keys, digests and `by` values, ties, categorical keys): the images
    counted and the first digests of each repository are those of the groupby they replaced:
    largest `by` first (nulls last, ties in row order), else in digest order."""
    import random

    from ecr_audit import findings_analyses as fa

    repo = ["account_id", "region", "repository_name"]
    rnd = random.Random(11)
    for _ in range(200):
        nulls = rnd.random() < 0.5
        n = rnd.randint(0, 40)
        pools = {
            "account_id": ["a", "b"],
            "region": ["r1"],
            "repository_name": ["x", "y"],
            "image_digest": [f"sha256:{i}" for i in range(30)],
        }
        df = pd.DataFrame({c: [_maybe(rnd, v, nulls) for _ in range(n)] for c, v in pools.items()})
        df = df.astype({c: rnd.choice(["str", "object", "category"]) for c in pools})
        df["size"] = pd.Series([_maybe(rnd, [1, 2, 2.5, 3], nulls) for _ in range(n)], dtype=float)
        by = rnd.choice([None, "size"])
        got = fa._per_repository(Inventory({}), df, lambda g: g["image_digest"].agg("count"), by)
        ordered = df.sort_values(by, ascending=False, kind="stable") if by else df.sort_values("image_digest")
        first = ordered.groupby(repo, observed=True, sort=False).head(fa.EVIDENCE_FIRST)
        want = first.groupby(repo, observed=True, sort=True)["image_digest"].agg(list)
        sizes = df.groupby(repo, observed=True, sort=True).size()
        assert got["images"].tolist() == sizes.tolist()

        def texts(lists):
            return [[None if pd.isna(d) else str(d) for d in digests] for digests in lists]

        assert texts(got["image_digests"]) == texts(want), (df, by)


def test_severity_counts_are_the_findings_counted_for_every_production_choice(demo_inventory):
    for production in (None, "prod", "env=prod", "no-such-prefix"):
        counts = findings.findings(demo_inventory, production=production)["severity"].value_counts()
        want = {s: int(counts.get(s, 0)) for s in findings.SEVERITIES}
        assert findings.severity_counts(demo_inventory, production=production) == want
    assert sum(findings.severity_counts(demo_inventory).values()) > 0


@pytest.mark.parametrize("severity", ["severe", "HIGH", ""])
def test_severity_counts_refuse_a_check_severity_as_findings_does(monkeypatch, severity):
    """A check giving a severity outside the scale is a bug: both the findings and their counts
    raise (a count would otherwise drop it, or count it under another name)."""
    from ecr_audit.findings_check import Check

    def run(inv, memo):
        return pd.DataFrame({"resource_arn": ["arn"], "details": ["d"], "severity": [severity]})

    bad = Check("ecr_test_bad_severity", "low", "t", "r", run)
    monkeypatch.setattr(findings, "CHECKS", (*findings.CHECKS, bad))
    inv = Inventory({}, {"collected_at": "2026-06-01T00:00:00+00:00"})
    with pytest.raises(ValueError, match="not a severity"):
        findings.findings(inv)
    with pytest.raises(ValueError, match="not a severity"):
        findings.severity_counts(inv)
