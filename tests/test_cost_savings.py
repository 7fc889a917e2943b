"""Savings, archive advice and bill reconciliation on the literal inventory of test_cost."""

import pandas as pd
import pytest

from ecr_audit import cost
from ecr_audit.cost.prices import BYTES_PER_GB
from tests.test_cost import APP, APP_ARCHIVE, NOMAN, A, B, _inventory


@pytest.fixture
def inv():
    return _inventory()


def _removed(where, *digests):
    return pd.DataFrame([{**where, "image_digest": d} for d in digests])


def _one(df, name="app"):
    rows = df[df["repository_name"] == name]
    assert len(rows) == 1
    return rows.iloc[0]


def test_removing_an_image_frees_only_blobs_no_kept_image_uses(inv):
    row = _one(cost.freed(inv, _removed(APP, "sha256:old")))
    assert row["basis"] == "exact"
    assert row["freed_bytes"] == 10 + 1  # o1 + its config; base stays (new, amd, arch use it)
    assert row["freed_blobs"] == 2


def test_removing_an_index_with_its_children_keeps_the_layer_another_image_shares(inv):
    row = _one(cost.freed(inv, _removed(APP, "sha256:idx", "sha256:amd", "sha256:arm")))
    assert row["images_blocked"] == 0
    assert row["freed_bytes"] == 30 + 3 + 90 + 40 + 4  # not base (100): old/new/arch still use it


def test_child_of_a_kept_index_is_blocked_and_frees_nothing(inv):
    row = _one(cost.freed(inv, _removed(APP, "sha256:arm")))
    assert row["images_removed"] == 1 and row["images_blocked"] == 1
    assert row["freed_bytes"] == 0


def test_removing_an_archived_image_frees_archive_bytes_at_the_archive_price(inv):
    row = _one(
        cost.freed(
            inv,
            _removed(APP, "sha256:arch"),
            prices={"us-east-1": {"standard_usd_per_gb_month": 0.10, "archive_usd_per_gb_month": 0.04}},
        )
    )
    assert row["freed_archive_bytes"] == APP_ARCHIVE and row["freed_standard_bytes"] == 0
    assert row["freed_cost_usd_per_month"] == pytest.approx(APP_ARCHIVE * 0.04 / BYTES_PER_GB)


def test_savings_without_manifests_are_undetermined_with_a_bound_not_zero(inv):
    row = _one(cost.freed(inv, _removed(NOMAN, "sha256:s")), "noman")
    assert row["basis"] == "undetermined"
    assert pd.isna(row["freed_bytes"]) and pd.isna(row["freed_cost_usd_per_month"])
    assert row["freed_upper_bound_bytes"] == 300
    assert "manifests" in row["reason"]


def test_savings_per_option_and_totals(inv):
    sav = cost.savings(
        inv,
        removals={
            "old_tags": pd.concat([_removed(APP, "sha256:old"), _removed(NOMAN, "sha256:s")]),
            "everything_in_app": _removed(
                APP, *[d for d in inv.images.query("repository_name == 'app'")["image_digest"]]
            ),
        },
    )
    assert set(sav["option"]) == {"old_tags", "everything_in_app"}
    totals = cost.savings_totals(sav).set_index("option")
    assert totals.loc["old_tags", "freed_bytes"] == 11
    assert totals.loc["old_tags", "repositories_undetermined"] == 1
    assert totals.loc["old_tags", "undetermined_upper_bound_bytes"] == 300
    assert (
        totals.loc["everything_in_app", "freed_bytes"]
        == cost.storage(inv).query("repository_name == 'app'")["unique_bytes"].iloc[0]
    )


def test_removal_frame_without_image_digest_is_refused(inv):
    with pytest.raises(ValueError, match="image_digest"):
        cost.savings(inv, removals={"bad": pd.DataFrame([APP])})


def test_default_options_either_compute_or_say_why_not(inv):
    sav = cost.savings(inv)
    assert {"orphans", "stale_90d", "lifecycle_current"} <= set(sav["option"])
    for _option, rows in sav.groupby("option"):
        if rows["basis"].isin(["unavailable", "nothing_to_remove"]).any():
            assert len(rows) == 1 and rows["reason"].iloc[0]
        else:
            assert set(rows["basis"]) <= {"exact", "undetermined"}


def test_archiving_below_the_150_tb_tier_does_not_pay(inv):
    cands = _removed(APP, "sha256:old")
    adv = cost.archive_advice(inv, candidates=cands).set_index(["account_id", "region"])
    row = adv.loc[(A, "us-east-1")]
    assert row["moved_bytes"] == 11
    assert row["verdict"].startswith("does not pay: archive volume stays below the tier")
    assert row["net_saving_usd_per_month"] < 0  # same price, plus restore fees
    assert row["tier_limit_tb"] == 150 and row["tier_scope"] == "account_region"


def test_archiving_above_the_tier_pays_unless_restores_eat_the_discount(inv):
    tiny_tier = {
        "us-east-1": {
            "archive_tier_limit_gb": 0.0,
            "standard_usd_per_gb_month": 0.10,
            "archive_usd_per_gb_month": 0.10,
            "archive_above_limit_usd_per_gb_month": 0.07,
            "restore_usd_per_gb": 0.03,
        }
    }
    cands = _removed(APP, "sha256:old")
    pays = cost.archive_advice(inv, prices=tiny_tier, candidates=cands, restored_fraction_per_year=0.0)
    row = pays.set_index(["account_id", "region"]).loc[(A, "us-east-1")]
    assert row["verdict"] == "pays"
    assert row["net_saving_usd_per_month"] == pytest.approx(11 * 0.03 / BYTES_PER_GB)
    assert row["minimum_charge_usd"] == pytest.approx(11 * 0.07 / BYTES_PER_GB * 3)
    heavy = cost.archive_advice(inv, prices=tiny_tier, candidates=cands, restored_fraction_per_year=24.0)
    assert (
        heavy.set_index(["account_id", "region"])
        .loc[(A, "us-east-1"), "verdict"]
        .startswith("does not pay: restore fees")
    )


def test_archive_candidates_default_to_images_unused_for_the_given_days(inv):
    adv = cost.archive_advice(inv, unused_days=90)  # no pull or push times: nothing qualifies
    assert set(adv["verdict"]) == {"nothing to archive"}


def test_archive_advice_without_manifests_uses_an_upper_bound(inv):
    adv = cost.archive_advice(inv, candidates=_removed(NOMAN, "sha256:c1"), scope="region").set_index(
        "region"
    )
    assert adv.loc["eu-west-1", "moved_bytes"] == 480
    assert adv.loc["eu-west-1", "is_moved_upper_bound"]


CUR_LEGACY = """lineItem/UsageAccountId,product/region,lineItem/ProductCode,lineItem/UsageType,lineItem/UsageAmount,lineItem/UnblendedCost
012345678901,us-east-1,AmazonECR,USE1-TimedStorage-ByteHrs,0.000002,0.0000002
012345678901,us-east-1,AmazonECR,USE1-DataTransfer-Out-Bytes,5,0.45
012345678901,us-east-1,AmazonS3,USE1-TimedStorage-ByteHrs,100,2.3
000000000042,eu-west-1,AmazonECR,EU-TimedStorage-ByteHrs,0.000001,0.0000001
000000000042,eu-west-1,AmazonECR,EU-TimedStorage-ByteHrs,0.000001,0.0000001
999999999999,us-west-2,AmazonECR,USW2-TimedStorage-ByteHrs,3,0.3
"""  # noqa: E501 (a CUR header line)


def test_reconcile_compares_estimate_with_cur_storage_lines_only(inv, tmp_path):
    path = tmp_path / "cur.csv"
    path.write_text(CUR_LEGACY)
    rec = cost.reconcile(cost.storage(inv), path).set_index(["account_id", "region"])
    a = rec.loc[(A, "us-east-1")]
    assert a["status"] == "matched"
    assert a["billed_usd"] == pytest.approx(0.0000002)  # transfer and S3 lines excluded
    assert a["difference_usd"] == pytest.approx(a["estimated_usd_per_month"] - 0.0000002)
    b = rec.loc[(B, "eu-west-1")]  # leading zeros kept; two lines summed
    assert b["billed_usd"] == pytest.approx(0.0000002) and b["billed_gb_month"] == pytest.approx(0.000002)
    assert rec.loc[("999999999999", "us-west-2"), "status"] == "not_collected"


def test_reconcile_reads_cur2_names_and_flags_accounts_missing_from_the_bill(inv):
    billed = pd.DataFrame(
        {
            "line_item_usage_account_id": ["12345678901"],
            "product_region_code": ["us-east-1"],
            "line_item_usage_type": ["USE1-TimedStorage-ByteHrs"],
            "line_item_unblended_cost": ["1.5"],
            "line_item_usage_amount": ["15"],
        }
    )
    rec = cost.reconcile(cost.storage(inv), billed).set_index(["account_id", "region"])
    assert rec.loc[(A, "us-east-1"), "billed_usd"] == 1.5  # "12345678901" read back as 012345678901
    assert rec.loc[(B, "eu-west-1"), "status"] == "not_in_bill"
    assert pd.isna(rec.loc[(B, "eu-west-1"), "billed_usd"])


def test_reconcile_refuses_an_export_without_a_cost_column(inv):
    with pytest.raises(ValueError, match="cost"):
        cost.reconcile(cost.storage(inv), pd.DataFrame({"account_id": [A], "region": ["us-east-1"]}))


def test_empty_inventory_gives_empty_frames_and_an_explicit_nothing_to_remove_row():
    from ecr_audit import Inventory

    empty = Inventory.from_frames(meta={"collected_at": "2026-11-01T00:00:00+00:00"})
    assert cost.storage(empty).empty and cost.rollup(cost.storage(empty), "account").empty
    sav = cost.savings(
        empty,
        removals={"none": pd.DataFrame(columns=["account_id", "region", "repository_name", "image_digest"])},
    )
    assert sav["basis"].tolist() == ["nothing_to_remove"]
    totals = cost.savings_totals(sav).iloc[0]
    assert (totals["repositories"], totals["freed_bytes"]) == (0, 0)


def test_a_price_table_with_only_standard_prices_archives_at_the_same_price(inv):
    table = pd.DataFrame({"region": ["us-east-1", "eu-west-1"], "standard_usd_per_gb_month": [0.2, 0.3]})
    noman = _one(cost.storage(inv, prices=table), "noman")
    assert noman["archive_usd_per_gb_month"] == 0.3
    assert noman["cost_usd_per_month"] == pytest.approx(1280 * 0.3 / BYTES_PER_GB)
