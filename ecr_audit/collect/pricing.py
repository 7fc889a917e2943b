"""ECR storage prices from the AWS Price List API (`pricing:GetProducts`), read once per collection.

The Price List Query API answers in a few regions only (us-east-1, eu-central-1 and ap-south-1
for the aws partition; botocore's endpoint data lists them per partition: `endpoint_region`),
whatever the regions collected. GetProducts answers `PriceList`: a list of JSON *strings*, each
one product with its attributes (`usagetype`, `regionCode`, `location`, ...) and its terms
(`terms.OnDemand.<sku>.<offer>.priceDimensions.<rate>` with `pricePerUnit`, `unit`,
`beginRange`/`endRange` tiers and the term's `effectiveDate`):
https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html,
format: https://docs.aws.amazon.com/awsaccountbilling/latest/aboutv2/reading-service-price-list-file-for-services.html

Every AmazonECR product is read (a few per region: one or two pages) and classified here by its
usage type (docs/ecr.md#storage-prices): standard storage is `<REGION>-TimedStorage-ByteHrs`, billed
per GB-month; the archive storage class and its restore fee are told by the words Archive and
Restore in the usage type, whose exact names AWS does not document (inferred), so no usage-type
filter is sent that could miss them. Other products (anything not storage) are ignored. What
cannot be read is an errors row and the shipped table prices those regions (`cost.prices`).
"""

from __future__ import annotations

import json
from decimal import Decimal, InvalidOperation

import pandas as pd

from .fields import Fields, Problems, is_text, problems_or_strict
from .paging import pages

SERVICE_CODE = "AmazonECR"
SOURCE = "AWS Price List API (pricing:GetProducts)"
PAGE = 100  # GetProducts' largest MaxResults


def endpoint_region(partition: str) -> str | None:
    """The region whose Price List endpoint a caller in `partition` asks (us-east-1 for aws), None
    where botocore knows none (GovCloud)."""
    import boto3

    regions = boto3.session.Session().get_available_regions("pricing", partition_name=partition)
    return "us-east-1" if "us-east-1" in regions else (sorted(regions)[0] if regions else None)


def get_products(pricing) -> list:
    """Every AmazonECR product of the Price List (items are JSON text, parsed by the transform)."""
    return pages(
        pricing.get_products,
        "PriceList",
        token="NextToken",
        ServiceCode=SERVICE_CODE,
        FormatVersion="aws_v1",
        MaxResults=PAGE,
    )


def classify(usage_type: str, unit: str) -> tuple[str, str] | None:
    """(storage_class, charge) of a product: ("standard" | "archive", "storage" | "restore"), or
    None for products that are not storage (docs/ecr.md#storage-prices)."""
    u = usage_type.lower()
    if "restore" in u or "retriev" in u:
        return ("archive", "restore") if unit.upper() == "GB" else None
    if unit != "GB-Mo":
        return None
    if "archive" in u:
        return "archive", "storage"
    if u.endswith("timedstorage-bytehrs"):
        return "standard", "storage"
    return None


def _decimal(text) -> Decimal | None:
    if not is_text(text):
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() and value >= 0 else None


def _gb(text) -> tuple[bool, int | None]:
    """(ok, whole GB) of a tier bound: "Inf" is no bound (None)."""
    if text == "Inf":
        return True, None
    value = _decimal(text)
    if value is None or value != value.to_integral_value():
        return False, None
    return True, int(value)


def _product_rows(item, problems: Problems, where: str) -> list[dict]:
    if is_text(item):
        try:
            item = json.loads(item)
        except ValueError:
            problems.add("a Price List item that is not JSON", where)
            return []
    doc = Fields(item, "a Price List item")
    product = Fields(doc.obj("product"), "a product")
    attrs = Fields(product.obj("attributes"), "a product's attributes")
    usage, region = attrs.text("usagetype"), attrs.text("regionCode")
    terms = Fields(doc.obj("terms"), "a product's terms").obj("OnDemand")
    problem = doc.problem or product.problem or attrs.problem
    if problem:
        problems.add(problem, where)
        return []
    if not usage or not region:  # not a regional product (global data transfer, ...): not ours
        return []
    rows = []
    for sku, offers in terms.items():
        for offer in offers.values() if isinstance(offers, dict) else [None]:
            term = Fields(offer, "an OnDemand term")
            effective = term.text("effectiveDate")
            for dim in term.obj("priceDimensions").values() or [None]:
                d = Fields(dim, "a price dimension")
                unit = d.text("unit") or ""
                kind = classify(usage, unit)
                if kind is None or term.problem or d.problem:
                    if term.problem or d.problem:
                        problems.add(term.problem or d.problem, where)
                    continue
                prices = Fields(d.obj("pricePerUnit"), "pricePerUnit")
                currency = "USD" if "USD" in prices.item else next(iter(prices.item), None)
                price = _decimal(prices.item.get(currency)) if currency else None
                ok_begin, begin = _gb(d.item.get("beginRange", "0"))
                ok_end, end = _gb(d.item.get("endRange", "Inf"))
                when = pd.to_datetime(effective, utc=True, errors="coerce") if effective else pd.NaT
                if price is None or not ok_begin or begin is None or not ok_end or pd.isna(when):
                    problems.add(
                        "a price dimension without a price, tier or effective date it can use", where
                    )
                    continue
                rows.append(
                    {
                        "region": region,
                        "storage_class": kind[0],
                        "charge": kind[1],
                        "tier_begin_gb": begin,
                        "tier_end_gb": end,
                        "price": format(price, "f"),
                        "currency": currency,
                        "unit": unit,
                        "usage_type": usage,
                        "effective_at": when,
                        "sku": str(sku),
                        "source": SOURCE,
                    }
                )
    return rows


def transform_storage_prices(answer: list, problems: Problems | None = None) -> list[dict]:
    """GetProducts items → `storage_prices` rows (one per region × class × charge × tier); items
    that are not JSON or lack their structure are problems, products that are not storage skipped."""
    problems = problems_or_strict(problems)
    rows = []
    for i, item in enumerate(answer):
        rows += _product_rows(item, problems, f"item {i}")
    return rows
