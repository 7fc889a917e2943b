"""Standard exports: OCSF validated against the OCSF 1.5.0 schema, ASFF's required attributes and
limits, Parquet partitions, activity from change states."""

import json
from pathlib import Path

import jsonschema
import pandas as pd
import pyarrow.dataset as ds
import pytest

from ecr_audit import Inventory, exports

SCHEMA = json.loads((Path(__file__).parent / "data" / "ocsf" / "detection_finding-1.5.0.json").read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
A1, A2 = "111122223333", "444455556666"
META = {
    "collected_at": "2026-11-02T06:00:00+00:00",
    "regions": ["us-east-1"],
    "caller": {"arn": f"arn:aws:sts::{A1}:assumed-role/audit/x"},
    "organization": {"id": "o-abc123def4"},
}


def _repo(account, name, **kw):
    return {
        "account_id": account,
        "region": "us-east-1",
        "repository_name": name,
        "repository_arn": f"arn:aws:ecr:us-east-1:{account}:repository/{name}",
        "image_tag_mutability": "MUTABLE",
        "has_scan_on_push": True,
        "encryption_type": "KMS",
        "lifecycle_policy_status": "present",
        "policy_status": "absent",
        **kw,
    }


def _inventory(repos=None, meta=META):
    repos = repos or [_repo(A1, "app"), _repo(A1, "web", encryption_type="AES256"), _repo(A2, "data")]
    return Inventory.from_frames(meta=dict(meta), repositories=repos)


def ocsf_errors(event) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message[:160]}" for e in VALIDATOR.iter_errors(event)]


def _states(df: pd.DataFrame, state_of: dict) -> pd.DataFrame:
    """A finding_states frame (the history core's contract) for `df`'s findings, plus resolved ones."""
    t0, t1 = pd.Timestamp("2026-10-01", tz="UTC"), pd.Timestamp("2026-11-02T06:00", tz="UTC")
    rows = df.drop(columns=["remediation"]).assign(
        state=[state_of.get(r, "persisting") for r in df["repository_name"]],
        first_seen=t0,
        last_seen=t1,
        runs_seen=3,
    )
    gone = rows.iloc[[0]].assign(
        finding_uid="feedfacefeedface", repository_name="old", state="resolved", last_seen=t0, runs_seen=1
    )
    return pd.concat([rows, gone], ignore_index=True)


# -- OCSF ------------------------------------------------------------------------------------------


def test_ocsf_events_validate_against_the_ocsf_1_5_detection_finding_schema():
    inv = _inventory()
    events = list(exports.ocsf_events(exports.frame(inv), inv.meta))
    assert len(events) == 4  # three mutable repositories, one without KMS
    for e in events:
        assert ocsf_errors(e) == []
        assert (e["class_uid"], e["category_uid"], e["type_uid"], e["activity_name"]) == (
            2004,
            2,
            200401,
            "Create",
        )
    web = next(e for e in events if e["finding_info"]["types"] == ["ecr_repository_not_kms_encrypted"])
    assert web["resources"][0]["uid"] == f"arn:aws:ecr:us-east-1:{A1}:repository/web"
    assert web["cloud"]["account"]["uid"] == A1 and web["cloud"]["org"]["uid"] == "o-abc123def4"
    assert web["severity_id"] == 2 and web["severity"] == "Low"
    assert web["finding_info"]["first_seen_time"] == 1_793_599_200_000  # 2026-11-02T06:00Z in ms


@pytest.mark.parametrize(
    "mutate, what",
    [
        (lambda e: e.update(severity="Severe"), "severity caption that is not severity_id's"),
        (lambda e: e.pop("cloud"), "the cloud profile's required cloud"),
        (lambda e: e["finding_info"].pop("uid"), "finding_info.uid"),
        (lambda e: e.update(ecr_extra="x"), "an attribute the class does not define"),
        (lambda e: e.update(type_uid=200404), "a type_uid that is not class_uid*100+activity"),
        (lambda e: e["resources"][0].update(uid=None, name=None), "a resource with neither name nor uid"),
        (lambda e: e["metadata"]["product"].update(vendor=1), "an attribute product does not define"),
    ],
)
def test_the_ocsf_schema_of_the_test_rejects_what_ocsf_forbids(mutate, what):
    inv = _inventory()
    event = next(exports.ocsf_events(exports.frame(inv), inv.meta))
    assert ocsf_errors(event) == []
    mutate(event)
    assert ocsf_errors(event), what


def test_ocsf_activity_and_status_follow_the_change_states():
    inv = _inventory()
    df = exports.frame(inv)
    states = _states(df, {"app": "new", "web": "reopened", "data": "unknown"})
    events = list(exports.ocsf_events(exports.frame(inv, states), inv.meta))
    for e in events:
        assert ocsf_errors(e) == []
    got = {(e["resources"][0]["name"], e["finding_info"]["types"][0]): e for e in events}
    app = got[("app", "ecr_repository_tags_mutable")]
    assert (app["activity_id"], app["status"]) == (1, "New")
    web = got[("web", "ecr_repository_tags_mutable")]
    assert (web["activity_id"], web["status"], web["type_uid"]) == (2, "New", 200402)
    data = got[("data", "ecr_repository_tags_mutable")]
    assert (data["activity_id"], data["status_id"]) == (2, 0)  # not read: never closed
    gone = got[("old", "ecr_repository_tags_mutable")]
    assert (gone["activity_id"], gone["status"], gone["is_alert"], gone["type_uid"]) == (
        3,
        "Resolved",
        False,
        200403,
    )
    assert gone["finding_info"]["first_seen_time"] < gone["time"]
    assert gone["remediation"]["desc"]  # from the catalog: the finding is not in this snapshot


def test_frame_refuses_states_that_are_not_the_contracts():
    inv = _inventory()
    states = _states(exports.frame(inv), {"app": "fixed"})
    with pytest.raises(ValueError, match="unknown finding state.*fixed"):
        exports.frame(inv, states)
    with pytest.raises(ValueError, match="lack runs_seen"):
        exports.frame(inv, states.drop(columns=["runs_seen"]))


def test_ocsf_keeps_untrusted_text_as_escaped_json_text(tmp_path):
    inv = _inventory([_repo(A1, "x", image_tag_mutability="MUTABLE\u202e<script>=1")])
    path = tmp_path / "f.jsonl"
    assert exports.write_ocsf(exports.frame(inv), inv.meta, path) == 1
    raw = path.read_text()
    assert "\u202e" not in raw and "\\u202e" in raw  # a bidi control is escaped, not obeyed
    events = [json.loads(line) for line in raw.splitlines()]
    assert any("\u202e<script>=1" in e["finding_info"]["desc"] for e in events)  # and kept intact


def test_ocsf_demo_findings_all_validate(demo_inventory):
    df = exports.frame(demo_inventory)
    events = list(exports.ocsf_events(df, demo_inventory.meta))
    assert len(events) == len(df) > 20
    assert {e["finding_info"]["uid"] for e in events} == set(df["finding_uid"])
    for e in events:
        assert ocsf_errors(e) == [], e["finding_info"]["types"]


# -- ASFF ------------------------------------------------------------------------------------------
ASFF_REQUIRED = {
    "AwsAccountId": str,
    "CreatedAt": str,
    "Description": str,
    "GeneratorId": str,
    "Id": str,
    "ProductArn": str,
    "Resources": list,
    "SchemaVersion": str,
    "Severity": dict,
    "Title": str,
    "Types": list,
    "UpdatedAt": str,
}


def check_asff(finding: dict) -> None:
    for name, kind in ASFF_REQUIRED.items():
        assert isinstance(finding.get(name), kind) and finding[name], name
    assert finding["SchemaVersion"] == "2018-10-08"
    assert finding["Severity"]["Label"] in {"INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"}
    assert all(r["Type"] and r["Id"] for r in finding["Resources"])
    assert finding["ProductArn"].endswith(
        f":{finding['AwsAccountId']}:product/{finding['AwsAccountId']}/default"
    )
    for t in ("CreatedAt", "UpdatedAt", "FirstObservedAt", "LastObservedAt"):
        pd.Timestamp(finding[t])  # ISO 8601
        assert finding[t].endswith("Z")
    assert all(t.count("/") in (1, 2) for t in finding["Types"])  # namespace/category[/classifier]
    assert len(finding["Title"]) <= 256 and len(finding["Description"]) <= 1024
    assert len(json.dumps(finding).encode()) < exports.ASFF_MAX_BYTES


def test_asff_one_file_per_account_batches_of_at_most_100(tmp_path):
    repos = [_repo(A1, f"r{i:03}") for i in range(230)] + [_repo(A2, "one")]
    inv = _inventory(repos)
    paths = exports.write_asff(exports.frame(inv), inv.meta, tmp_path)
    assert sorted(p.name for p in paths) == [f"{A1}.jsonl", f"{A2}.jsonl"]
    batches = [json.loads(line) for line in (tmp_path / f"{A1}.jsonl").read_text().splitlines()]
    assert [len(b["Findings"]) for b in batches] == [100, 100, 30]
    for path in paths:
        for line in path.read_text().splitlines():
            for f in json.loads(line)["Findings"]:
                check_asff(f)
                assert f["AwsAccountId"] == path.stem  # BatchImportFindings: caller's account only
    ids = [f["Id"] for b in batches for f in b["Findings"]]
    assert len(ids) == len(set(ids)) == 230


def test_asff_huge_details_are_truncated_with_a_marker_never_dropped():
    inv = _inventory()
    df = exports.frame(inv)
    df.loc[0, "details"] = "x" * 1_000_000
    df.loc[1, "repository_name"] = "n" * 600_000
    batches = exports.asff_batches(df, inv.meta)
    found = [f for bs in batches.values() for b in bs for f in b["Findings"]]
    assert len(found) == len(df)
    for f in found:
        check_asff(f)
    big = next(f for f in found if f["ProductFields"]["ecr-audit/finding_uid"] == df.loc[0, "finding_uid"])
    assert big["Description"].endswith(exports.TRUNCATED)
    assert big["Resources"][0]["Details"]["Other"]["details"].endswith(exports.TRUNCATED)


def test_asff_size_guard_cuts_details_until_the_finding_fits(monkeypatch):
    monkeypatch.setitem(exports.ASFF_LIMITS, "Other", 10_000_000)  # field limits alone would not do
    inv = _inventory()
    df = exports.frame(inv)
    df.loc[0, "details"] = "y" * 1_000_000
    f = exports.asff_finding(next(df.itertuples(index=False)), inv.meta)
    check_asff(f)
    assert f["Resources"][0]["Details"]["Other"]["details"].endswith(exports.TRUNCATED)


def test_asff_resolved_findings_are_archived():
    inv = _inventory()
    df = exports.frame(inv, _states(exports.frame(inv), {}))
    found = [f for bs in exports.asff_batches(df, inv.meta).values() for b in bs for f in b["Findings"]]
    record = {f["ProductFields"]["ecr-audit/finding_uid"]: f["RecordState"] for f in found}
    assert record.pop("feedfacefeedface") == "ARCHIVED"
    assert set(record.values()) == {"ACTIVE"}


# -- Parquet ---------------------------------------------------------------------------------------


def test_parquet_partitioned_by_account_and_date_with_change_state(tmp_path):
    inv = _inventory()
    df = exports.frame(inv, _states(exports.frame(inv), {"app": "new"}))
    exports.write_parquet(df, tmp_path, "20261102T060000Z")
    exports.write_parquet(df, tmp_path, "20261102T060000Z")  # again: replaced, not doubled
    dirs = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.glob("*/*"))
    assert dirs == [f"account_id={A1}/date=2026-11-02", f"account_id={A2}/date=2026-11-02"]
    back = ds.dataset(tmp_path, format="parquet", partitioning="hive").to_table().to_pandas()
    assert len(back) == len(df)
    assert set(back["state"]) == {"new", "persisting", "resolved"}
    assert set(back["account_id"].astype(str)) == {A1, A2}
    assert back["first_seen"].dt.tz is not None


# -- the findings command --------------------------------------------------------------------------


@pytest.fixture
def saved(tmp_path):
    from ecr_audit import save

    return save(_inventory(), tmp_path / "20261102T060000Z")


def test_cli_findings_ocsf_to_stdout_validates(saved, capsys):
    from ecr_audit import cli

    assert cli.main(["findings", str(saved), "--format", "ocsf"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    for line in lines:
        assert ocsf_errors(json.loads(line)) == []


def test_cli_findings_asff_and_parquet_write_directories(saved, tmp_path, capsys):
    from ecr_audit import cli

    assert cli.main(["findings", str(saved), "--format", "asff", "--out", str(tmp_path / "asff")]) == 0
    assert sorted(p.name for p in (tmp_path / "asff").iterdir()) == [f"{A1}.jsonl", f"{A2}.jsonl"]
    assert cli.main(["findings", str(saved), "--format", "parquet", "--out", str(tmp_path / "lake")]) == 0
    files = sorted(
        p.relative_to(tmp_path / "lake").as_posix() for p in (tmp_path / "lake").rglob("*.parquet")
    )
    assert files == [
        f"account_id={A1}/date=2026-11-02/20261102T060000Z-0.parquet",
        f"account_id={A2}/date=2026-11-02/20261102T060000Z-0.parquet",
    ]
    assert "4 findings, partitioned by account_id and date" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--format", "asff"], "--format asff writes a directory: give --out DIR"),
        (["--format", "parquet", "--out", "{file}"], "exists and is not a directory"),
        (["--format", "ocsf", "--previous", "{missing}"], "missing"),
    ],
)
def test_cli_findings_bad_input_is_one_line_and_exit_2(saved, tmp_path, capsys, argv, message):
    from ecr_audit import cli

    (tmp_path / "file").write_text("x")
    argv = [a.format(file=tmp_path / "file", missing=tmp_path / "missing") for a in argv]
    assert cli.main(["findings", str(saved), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_cli_findings_previous_gives_activity_from_the_change_states(tmp_path, capsys):
    from ecr_audit import cli, save

    coverage = [{"account_id": a, "region": "us-east-1", "status": "complete"} for a in (A1, A2)]
    old_meta = {**META, "collected_at": "2026-11-01T06:00:00+00:00"}
    old = Inventory.from_frames(
        meta=old_meta, repositories=[_repo(A1, "app"), _repo(A1, "gone")], coverage=coverage
    )
    new = Inventory.from_frames(
        meta=dict(META), repositories=[_repo(A1, "app"), _repo(A2, "data")], coverage=coverage
    )
    old_path, new_path = save(old, tmp_path / "old"), save(new, tmp_path / "new")
    assert cli.main(["findings", str(new_path), "--previous", str(old_path), "--format", "ocsf"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for e in events:
        assert ocsf_errors(e) == []
    repos = [e for e in events if e["resources"][0]["type"] == "AWS::ECR::Repository"]
    got = {e["resources"][0]["name"]: (e["activity_name"], e["status"]) for e in repos}
    assert got == {"app": ("Update", "New"), "data": ("Create", "New"), "gone": ("Close", "Resolved")}
    # the older snapshot given as the newer one: refused, not silently reversed
    assert cli.main(["findings", str(old_path), "--previous", str(new_path), "--format", "ocsf"]) == 2
    assert "give the older snapshot as --previous" in capsys.readouterr().err


def test_a_resolved_finding_keeps_the_evidence_it_was_last_seen_with(tmp_path, capsys):
    """`findings NEW --previous OLD --format ocsf`: a public grant removed since OLD closes with the
    grantee and exposure OLD showed, not with an empty evidence object."""
    from ecr_audit import cli, save

    coverage = [{"account_id": A1, "region": "us-east-1", "status": "complete"}]
    public = json.dumps({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:BatchGetImage"}]})
    policy = [{"account_id": A1, "region": "us-east-1", "repository_name": "app", "policy_text": public}]
    old = Inventory.from_frames(
        meta={**META, "collected_at": "2026-11-01T06:00:00+00:00"},
        repositories=[_repo(A1, "app", policy_status="present")],
        repository_policies=policy,
        coverage=coverage,
    )
    new = Inventory.from_frames(meta=dict(META), repositories=[_repo(A1, "app")], coverage=coverage)
    old_path, new_path = save(old, tmp_path / "old"), save(new, tmp_path / "new")
    assert cli.main(["findings", str(new_path), "--previous", str(old_path), "--format", "ocsf"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    closed = [e for e in events if e["finding_info"]["title"] and e["activity_name"] == "Close"]
    pulls = [e for e in closed if e["resources"][0]["data"]["finding_id"] == "ecr_repository_public_pull"]
    assert len(pulls) == 1 and ocsf_errors(pulls[0]) == []
    data = pulls[0]["resources"][0]["data"]
    assert (data["grantee"], data["exposure"], data["capability"]) == ("*", "public", "pull")
