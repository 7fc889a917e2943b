"""The ECR evidence of findings (issue 17): what each finding rests on, as data, in OCSF
`resources[].data` and ASFF `Details.Other` — the grantee and exposures of access findings, the
digests of image findings, the consumers of an image lifecycle would remove."""

import json

import pandas as pd
import pytest

from ecr_audit import Inventory, access, exports, findings, images, lifecycle
from ecr_audit.findings_check import EVIDENCE, EVIDENCE_FIRST, Check, evidence_json
from tests.test_exports import check_asff, ocsf_errors

ACCT = "012345678901"


@pytest.fixture(scope="module")
def demo(demo_inventory):
    """(frame with evidence, OCSF events by finding uid, ASFF records by finding uid) of the demo."""
    df = exports.frame(demo_inventory)
    events = {e["finding_info"]["uid"]: e for e in exports.ocsf_events(df, demo_inventory.meta)}
    batches = exports.asff_batches(df, demo_inventory.meta)
    asff = {
        f["ProductFields"]["ecr-audit/finding_uid"]: f
        for bs in batches.values()
        for b in bs
        for f in b["Findings"]
    }
    return df, events, asff


def _data(demo, finding_id: str, repository: str | None = None) -> list[dict]:
    df, events, _ = demo
    rows = df[
        (df["finding_id"] == finding_id) & ((df["repository_name"] == repository) if repository else True)
    ]
    assert len(rows), (finding_id, repository)
    return [events[u]["resources"][0]["data"] for u in rows["finding_uid"]]


def test_public_pull_records_name_the_grantee_and_both_exposures(demo, demo_inventory):
    g = access.grants(demo_inventory)
    pulls = g[(g["scope"] == "repository") & (g["exposure"] == "public") & g["can_pull"].fillna(False)]
    for data in _data(demo, "ecr_repository_public_pull"):
        assert (data["grantee"], data["grantee_kind"], data["exposure"]) == ("*", "public", "public")
        grant = pulls[pulls["repository_name"] == data["repository_name"]].iloc[0]
        assert data["effective_exposure"] == grant["effective_exposure"]
        assert data["effective_basis"] == grant["effective_basis"]
        assert data["statement_ids"] == list(grant["statement_ids"]) and data["capability"] == "pull"
    # the demo's perimeter RCP narrows payments/charts: the record says to what, and by which RCP
    (charts,) = _data(demo, "ecr_repository_public_pull", "payments/charts")
    assert charts["effective_exposure"] == "external" and charts["neutralized_by"]
    # a wider grant names every capability it gives, beside the one the finding is about
    (push,) = _data(demo, "ecr_repository_public_push", "data/etl")
    assert push["capability"] == "push" and push["capabilities"] == ["pull", "push", "delete", "manage"]


def test_lifecycle_in_use_records_name_the_digest_rule_and_consumers(demo, demo_inventory):
    sim = lifecycle.simulate(demo_inventory)
    used = sim[sim["in_use"] == "yes"]
    consumers = demo_inventory.consumers
    records = _data(demo, "ecr_lifecycle_expires_in_use_image")
    assert len(records) == len(used) > 0
    for data in records:
        (digest,) = data["image_digests"]
        row = used[used["image_digest"] == digest].iloc[0]
        assert data["rule_priority"] == row["rule_priority"] and data["action"] == row["action"]
        assert digest in data["details"]
        arns, kinds, accounts = data["consumer_arns"], data["consumer_kinds"], data["consumer_account_ids"]
        assert 0 < len(arns) == len(kinds) == len(accounts) <= data["consumers"]
        for arn, kind, account in zip(
            arns, kinds, accounts
        ):  # parallel lists: consumer i is (arn, kind, account)
            ref = consumers[(consumers["consumer_arn"] == arn) & (consumers["consumer_kind"] == kind)]
            assert len(ref) and set(ref["consumer_account_id"]) == {account}
    # one image is used by an account other than the repository's: its consumers say so
    assert any(set(d["consumer_account_ids"]) - {ACCT} for d in records)


def test_orphan_and_stale_records_name_the_digests_first_ten_with_the_count(demo, demo_inventory):
    o = images.orphans(demo_inventory)
    o = o[~o["reason"].isin(["dangling_signature", "dangling_referrer"])]
    for data in _data(demo, "ecr_repository_orphaned_images"):
        mine = o[o["repository_name"] == data["repository_name"]]
        assert data["images"] == len(mine) and set(data["image_digests"]) == set(mine["image_digest"])
        assert data["reasons"] == sorted(set(mine["reason"]))
        if mine["reclaimable_bytes"].isna().any():
            assert "reclaimable_bytes" not in data  # undetermined: absent, never 0
        else:
            assert data["reclaimable_bytes"] == mine["reclaimable_bytes"].sum()
    s = images.stale(demo_inventory, days=90)
    s = s[s["is_stale"].fillna(False).astype(bool)]
    (api,) = _data(demo, "ecr_repository_stale_images", "payments/api")
    mine = s[s["repository_name"] == "payments/api"].set_index("image_digest")["idle_days"]
    assert api["images"] == len(mine) > EVIDENCE_FIRST  # the demo has more than ten here
    assert len(api["image_digests"]) == len(set(api["image_digests"])) == EVIDENCE_FIRST
    listed = mine[api["image_digests"]]
    assert listed.min() >= mine.drop(api["image_digests"]).max()  # the most idle first
    assert api["idle_days"] == mine.max()


def test_consumer_records_name_the_consumer_and_the_image(demo):
    (missing,) = _data(demo, "ecr_consumer_image_missing")
    assert missing["consumer_arns"] == ["arn:aws:batch:us-east-1:098765432109:job-definition/nightly-etl:1"]
    assert missing["consumer_account_ids"] == ["098765432109"] and missing["reference_role"] == "defined"
    assert missing["image_uri"].endswith("/data/etl:2025.12") and missing["resolution_reason"]
    (without,) = _data(demo, "ecr_consumer_without_grant")
    assert set(without["consumer_account_ids"]) == {"123456789012"} and without["image_digests"]


def test_perimeter_and_principal_records_name_who_and_what_narrows_it(demo):
    gaps = _data(demo, "ecr_perimeter_gap")
    assert {d["gap_reason"] for d in gaps} and all(d["grantee"] == "*" for d in gaps)
    admins = _data(demo, "ecr_principal_admin_all_repositories")
    assert all(d["principal_arn"].startswith("arn:aws:iam::") and d["allowed_by"] for d in admins)
    paths = _data(demo, "ecr_external_path_via_role")
    assert {d["external_principal"] for d in paths} == {"999988887777", "undetermined"}


def test_demo_records_with_evidence_validate_and_stay_within_asff_limits(demo):
    df, events, asff = demo
    # every access, principal, consumer, image, lifecycle-in-use and replication finding has evidence
    kinds = r"_public_|_external_|^ecr_(?:policy|principal|consumer|perimeter|grant|registry_replicates)_"
    kinds += r"|^ecr_lifecycle_expires|_(?:orphaned|stale)_images$|_dangling_|_reclaimable_"
    with_evidence = df[df["finding_id"].str.contains(kinds)]
    assert len(with_evidence) > 40 and (with_evidence["evidence"] != "").all()
    for uid, event in events.items():
        assert ocsf_errors(event) == [], event["finding_info"]["types"]
        record = asff[uid]
        check_asff(record)
        other = record["Resources"][0]["Details"]["Other"]
        assert len(other) <= exports.ASFF_OTHER_KEYS
        assert all(isinstance(v, str) and len(v) < 1024 and len(k) < 128 for k, v in other.items())
        for key, value in event["resources"][0]["data"].items():  # the same evidence, as ASFF strings
            assert other[key] == (value if isinstance(value, str) else json.dumps(value))


# -- without a sandbox ----------------------------------------------------------------------------


def _repo(name, **kw):
    return {
        "account_id": ACCT,
        "region": "us-east-1",
        "repository_name": name,
        "repository_arn": f"arn:aws:ecr:us-east-1:{ACCT}:repository/{name}",
        "image_tag_mutability": "MUTABLE",
        "has_scan_on_push": True,
        "encryption_type": "KMS",
        "lifecycle_policy_status": "present",
        "policy_status": "absent",
        **kw,
    }


def _unreadable_inventory():
    error = {
        "account_id": ACCT,
        "region": "us-east-1",
        "repository_name": "app",
        "error_kind": "access_denied",
        "error_code": "AccessDeniedException",
    }
    return Inventory.from_frames(
        meta={"collected_at": "2026-11-02T06:00:00+00:00", "regions": ["us-east-1"]},
        repositories=[_repo("app")],
        errors=[{**error, "operation": op} for op in ("GetRepositoryPolicy", "GetLifecyclePolicy")],
    )


def test_findings_frame_is_unchanged_without_evidence_and_gains_one_column_with_it():
    inv = _unreadable_inventory()
    plain, full = findings.findings(inv), findings.findings(inv, evidence=True)
    assert list(plain.columns) == findings.COLUMNS
    assert list(full.columns) == findings.COLUMNS + ["evidence"]
    pd.testing.assert_frame_equal(plain, full[findings.COLUMNS])  # same rows, same uids
    unread = json.loads(full.loc[full["finding_id"] == "ecr_audit_unreadable", "evidence"].item())
    assert unread == {
        "error_kind": "access_denied",
        "operations": ["GetLifecyclePolicy", "GetRepositoryPolicy"],
        "errors": 2,
    }
    assert full.loc[full["finding_id"] == "ecr_repository_tags_mutable", "evidence"].item() == ""
    empty = findings.findings(Inventory.from_frames(), checks=["ecr_audit_unreadable"], evidence=True)
    assert list(empty.columns) == findings.COLUMNS + ["evidence"] and empty.empty


def test_a_check_column_not_declared_as_evidence_is_refused(monkeypatch):
    def rows(inv, memo):
        return pd.DataFrame(
            {"resource_arn": ["arn:x"], "account_id": [ACCT], "region": [""], "repository_name": [""]}
            | {"details": ["d"], "grantee_name": ["typo of grantee"]}
        )

    monkeypatch.setattr(findings, "CHECKS", (Check("ecr_test_check", "low", "t", "r", rows),))
    with pytest.raises(ValueError, match="grantee_name"):
        findings.findings(Inventory.from_frames())


def test_evidence_json_keeps_declared_order_and_leaves_out_what_is_not_there():
    row = {
        "images": pd.array([3], dtype="Int64")[0],
        "image_digests": pd.Series(["sha256:" + "a" * 64, None]).to_numpy(),
        "grantee": "*",
        "reclaimable_bytes": pd.NA,
        "restricted_by": [],
        "capped_by": (),
        "has_read_cloudtrail": False,
        "idle_days": 12.0,
    }
    text = evidence_json(row)
    assert json.loads(text) == {
        "grantee": "*",
        "image_digests": ["sha256:" + "a" * 64],
        "images": 3,
        "idle_days": 12,
        "has_read_cloudtrail": False,
    }
    assert list(json.loads(text)) == [k for k in EVIDENCE if k in json.loads(text)]
    assert evidence_json({"grantee": None, "statement_ids": []}) == ""


def test_every_evidence_key_fits_asff_other_beside_the_export_own_keys():
    own = {"finding_id", "details", "repository_name"}
    assert len(own | set(EVIDENCE)) <= exports.ASFF_OTHER_KEYS
    assert all(len(k) < 128 for k in own | set(EVIDENCE))


def test_huge_evidence_is_cut_and_marked_in_asff_and_kept_whole_in_ocsf():
    inv = _unreadable_inventory()
    df = exports.frame(inv)
    row = df.index[df["finding_id"] == "ecr_audit_unreadable"][0]
    hostile = "\u202e<img src=x onerror=alert(1)>" + "o" * 2_000_000
    df.loc[row, "evidence"] = json.dumps({"error_kind": "access_denied", "operations": [hostile] * 3})
    record = exports.asff_finding(next(df.loc[[row]].itertuples(index=False)), inv.meta)
    check_asff(record)
    other = record["Resources"][0]["Details"]["Other"]
    assert other["operations"].endswith(exports.TRUNCATED) and other["error_kind"] == "access_denied"
    assert all(len(v) < 1024 for v in other.values())  # the Other object's values: fewer than 1024
    event = next(exports.ocsf_events(df.loc[[row]], inv.meta))
    assert event["resources"][0]["data"]["operations"] == [hostile] * 3  # text stays text, whole
    assert "\\u202e" in json.dumps(event) and "\u202e" not in json.dumps(event)


def test_resolved_findings_keep_the_evidence_the_history_gives_else_the_exposure_of_their_id():
    inv = _unreadable_inventory()
    now = exports.frame(inv)
    t = pd.Timestamp("2026-11-02T06:00", tz="UTC")
    gone = now.iloc[[0, 0]].assign(
        finding_uid=["feedfacefeedface", "deadbeefdeadbeef"],
        finding_id=["ecr_repository_public_pull", "ecr_repository_external_push"],
        evidence=[json.dumps({"grantee": "*", "exposure": "public"}), ""],
        state="resolved",
    )
    states = pd.concat([now.assign(state="persisting"), gone], ignore_index=True).assign(
        first_seen=t, last_seen=t, runs_seen=2
    )
    out = exports.frame(inv, states.drop(columns=["remediation"]))
    data = {e["finding_info"]["uid"]: e["resources"][0]["data"] for e in exports.ocsf_events(out, inv.meta)}
    assert data["feedfacefeedface"]["grantee"] == "*"
    assert data["deadbeefdeadbeef"]["exposure"] == "external"
    unread = now.loc[now["finding_id"] == "ecr_audit_unreadable", "finding_uid"].item()
    assert data[unread]["errors"] == 2  # this snapshot's finding: its own evidence
