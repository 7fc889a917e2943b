"""ECR storage prices: read from the AWS Price List at collection (pricing:GetProducts), kept in the
snapshot with their effective date, and used before a user's price file and the shipped table
(issue 15: Prices)."""

import json

import boto3
import pandas as pd
import pytest

from ecr_audit import cost, load, permissions, sandbox, save
from ecr_audit.collect import collect, pricing
from ecr_audit.collect.fields import Problems
from ecr_audit.sandbox import demo
from ecr_audit.sandbox.pricelist import products


def _item(region="eu-west-1", usage="EU-TimedStorage-ByteHrs", unit="GB-Mo", dims=None, effective=None):
    """One GetProducts item as AWS sends it: a JSON string."""
    doc = next(p for p in products() if p["product"]["attributes"]["regionCode"] == "us-east-1")
    doc = json.loads(json.dumps(doc))
    doc["product"]["attributes"].update(regionCode=region, usagetype=usage)
    (sku,) = doc["terms"]["OnDemand"]
    (term,) = doc["terms"]["OnDemand"][sku].values()
    (dim,) = term["priceDimensions"].values()
    dims = dims or [("0", "Inf", "0.1200000000")]
    term["priceDimensions"] = {
        f"r{i}": {**dim, "unit": unit, "beginRange": b, "endRange": e, "pricePerUnit": {"USD": usd}}
        for i, (b, e, usd) in enumerate(dims)
    }
    if effective:
        term["effectiveDate"] = effective
    return json.dumps(doc)


# -- reading the Price List answer ----------------------------------------------------------------


def test_storage_products_become_rows_with_tiers_and_effective_dates_and_the_rest_is_skipped():
    answer = [
        _item(effective="2026-06-01T00:00:00Z"),
        _item(
            usage="EU-TimedStorage-Archive-ByteHrs",
            dims=[("0", "153600", "0.1100000000"), ("153600", "Inf", "0.0800000000")],
        ),
        _item(usage="EU-Archive-Restore-Bytes", unit="GB", dims=[("0", "Inf", "0.0400000000")]),
        _item(usage="EU-DataTransfer-Out-Bytes", unit="GB"),  # not storage: skipped, not a problem
    ]
    problems = Problems()
    rows = pricing.transform_storage_prices(answer, problems)
    assert not problems
    keys = ["storage_class", "charge", "tier_begin_gb", "tier_end_gb", "price", "unit"]
    got = [[r[k] for k in keys] for r in rows]
    assert got == [
        ["standard", "storage", 0, None, "0.1200000000", "GB-Mo"],
        ["archive", "storage", 0, 153600, "0.1100000000", "GB-Mo"],
        ["archive", "storage", 153600, None, "0.0800000000", "GB-Mo"],
        ["archive", "restore", 0, None, "0.0400000000", "GB"],
    ]
    assert rows[0]["effective_at"] == pd.Timestamp("2026-06-01", tz="UTC")
    assert {r["region"] for r in rows} == {"eu-west-1"} and {r["currency"] for r in rows} == {"USD"}


@pytest.mark.sandbox
def test_malformed_price_list_items_are_problems_and_the_good_ones_are_kept():
    answer = [
        "{not json",
        json.dumps({"product": "nope"}),
        _item(dims=[("0", "Inf", "free")]),
        _item(dims=[("0", "Inf", "-1")]),
        _item(region="us-west-2", usage="USW2-TimedStorage-ByteHrs"),
    ]
    problems = Problems()
    rows = pricing.transform_storage_prices(answer, problems)
    assert [r["region"] for r in rows] == ["us-west-2"]
    assert [where for _, where in problems] == ["item 0", "item 1", "item 2", "item 3"]


# -- collecting it ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    """The demo organization collected once (tests using it are marked sandbox)."""
    with sandbox.running(sandbox.demo_world()) as org:
        inv = collect(org.session(), org=True, role_name=org.role_name)
        calls = {k: v for k, v in org.calls.items() if k[0] == "pricing"}
    return load(save(inv, tmp_path_factory.mktemp("prices") / "snap")), calls


@pytest.mark.sandbox
def test_a_collection_keeps_the_price_list_in_the_snapshot_with_effective_dates(collected):
    inv, calls = collected
    sp = inv.storage_prices
    assert {"us-east-1", "eu-west-1"} <= set(sp["region"])
    std = sp[(sp["region"] == "eu-west-1") & (sp["storage_class"] == "standard")].iloc[0]
    assert std["price"] == "0.1000000000" and std["unit"] == "GB-Mo" and std["currency"] == "USD"
    assert std["effective_at"] == pd.Timestamp("2025-11-01", tz="UTC") and "GetProducts" in std["source"]
    # asked once, of the Price List endpoint (us-east-1), whatever regions were collected
    assert [(op, region) for (_, op, _, region) in calls] == [("GetProducts", "us-east-1")]
    assert inv.errors.empty and inv.meta["completeness"] == "complete"


@pytest.mark.sandbox
def test_costs_are_priced_from_the_snapshot_and_say_so(collected):
    inv, _ = collected
    st = cost.storage(inv)
    assert set(st["price_basis"]) == {"price_list"}
    sources = cost.price_sources(inv).set_index("region")
    assert set(sources.index) == {"us-east-1", "eu-west-1"}
    assert (sources["price_basis"] == "price_list").all() and (sources["as_of"] == "2025-11-01").all()
    # the two regions priced before keep their figures: the Price List says the same
    shipped = cost.load_prices()
    for region in ("us-east-1", "ap-northeast-1"):
        assert shipped.loc[region, "standard_usd_per_gb_month"] == 0.10
        assert shipped.loc[region, "archive_above_limit_usd_per_gb_month"] == 0.07
    assert (st["standard_usd_per_gb_month"] == 0.10).all()


@pytest.mark.sandbox
def test_a_price_list_price_replaces_the_shipped_one_and_a_user_price_file_comes_first(tmp_path):
    def answer(params, real):
        return {
            "FormatVersion": "aws_v1",
            "PriceList": [
                _item(dims=[("0", "Inf", "0.1300000000")], effective="2026-05-01T00:00:00Z"),
                _item(region="us-east-1", usage="USE1-TimedStorage-ByteHrs"),
            ],
        }

    with sandbox.running(sandbox.demo_world()) as org:
        org.faults.add_answer("GetProducts", answer, service="pricing")
        inv = collect(org.session(), org=True, role_name=org.role_name)
    eu = cost.storage(inv).query("region == 'eu-west-1'")
    assert (eu["standard_usd_per_gb_month"] == 0.13).all() and (eu["price_basis"] == "price_list").all()
    table = cost.load_prices(inv=inv)
    assert table.loc["eu-west-1", "as_of"] == "2026-05-01"
    assert "restore_usd_per_gb" in table.loc["eu-west-1", "assumed_fields"]  # not in that answer: shipped
    assert (
        table.loc["eu-west-1", "restore_usd_per_gb"]
        == cost.load_prices().loc["eu-west-1", "restore_usd_per_gb"]
    )
    assert table.loc["sa-east-1", "price_basis"] == "shipped"  # not in the answer
    own = tmp_path / "prices.csv"
    own.write_text("region,standard_usd_per_gb_month\neu-west-1,0.09\n")
    mine = cost.storage(inv, prices=cost.load_prices(own)).query("region == 'eu-west-1'")
    assert (mine["standard_usd_per_gb_month"] == 0.09).all() and (mine["price_basis"] == "user").all()


@pytest.mark.sandbox
def test_when_the_price_list_cannot_be_read_an_errors_row_says_so_and_the_shipped_table_prices(tmp_path):
    with sandbox.running(sandbox.demo_world()) as org:
        org.faults.add(
            "GetProducts",
            "AccessDeniedException",
            400,
            "User is not authorized to perform: pricing:GetProducts",
            service="pricing",
        )
        inv = collect(org.session(), org=True, role_name=org.role_name)
    (err,) = inv.errors.query("operation == 'GetProducts'").to_dict("records")
    assert err["error_kind"] == "access_denied" and inv.meta["completeness"] == "partial"
    assert inv.storage_prices.empty
    st = cost.storage(inv)
    assert set(st["price_basis"]) == {"shipped"}
    sources = cost.price_sources(inv)
    assert set(sources["price_basis"]) == {"shipped"} and sources["source"].str.contains("pricing page").all()


def test_a_partition_without_a_price_list_endpoint_is_an_errors_row_not_a_crash():
    assert pricing.endpoint_region("aws") == "us-east-1"
    assert pricing.endpoint_region("aws-cn") == "cn-northwest-1"
    assert pricing.endpoint_region("aws-us-gov") is None


# -- the shipped table -----------------------------------------------------------------------------


def test_the_shipped_table_covers_every_commercial_region_with_a_source_and_date():
    table = cost.load_prices()
    commercial = set(boto3.session.Session().get_available_regions("ecr", partition_name="aws"))
    missing = commercial - set(table.index)
    assert not missing, f"add {sorted(missing)} to ecr_audit/data/prices.json (uniform_regions)"
    assert (table["source"] != "").all() and (table["as_of"] != "").all()
    assert (table["price_basis"] == "shipped").all()
    # a region outside it (GovCloud) is priced at us-east-1 and flagged
    priced = cost.prices.for_regions(pd.Series(["us-gov-west-1", "eu-west-1"]), None)
    assert priced["price_basis"].tolist() == ["assumed", "shipped"]


def test_the_price_list_read_is_declared_for_the_caller_only():
    assert "pricing:GetProducts" in permissions.CALLER_ACTIONS
    assert "pricing:GetProducts" not in permissions.MEMBER_ACTIONS
    caller = permissions.caller_policy()
    assert any("pricing:GetProducts" in s["Action"] for s in caller["Statement"])


@pytest.mark.sandbox
def test_a_caller_holding_only_the_generated_caller_policy_reads_the_price_list(tmp_path):
    with sandbox.running(sandbox.demo_world()) as org:
        with org.enforce_iam():
            session = org.iam_user_session(permissions.caller_policy(org.role_name))
            inv = collect(session, accounts=[demo.MANAGEMENT], role_name=org.role_name)
    assert not inv.storage_prices.empty
    assert inv.errors.query("operation == 'GetProducts'").empty
