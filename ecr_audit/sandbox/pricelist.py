"""The AWS Price List in the sandbox: `pricing:GetProducts` answered from a recorded document.

moto has no Price List service (it answers 404 for its endpoint), so `fidelity.install` routes
requests to `api.pricing.<region>.amazonaws.com` here, through moto's own dispatch: the sandbox's
faults, call counts and IAM enforcement apply as to every other call (`faults.add("GetProducts",
..., service="pricing")`).

The answer has the documented shape (docs/sandbox.md#price-list): `FormatVersion` aws_v1,
`PriceList` a list of JSON *strings*, one product each, with `product.attributes` (servicecode,
location, locationType, usagetype, operation, regionCode, servicename), `terms.OnDemand.<sku>.
<sku>.<offer term>` with its `effectiveDate` and `priceDimensions` (unit, beginRange, endRange,
pricePerUnit.USD), `publicationDate`; `NextToken` pages by `MaxResults` (at most 100). The
values are the shipped table's (`ecr_audit/data/prices.json`), not a recording of AWS: standard
storage `<prefix>-TimedStorage-ByteHrs` (the usage type AWS bills, as Cost and Usage Reports show
it); the archive class's usage types are AWS's undocumented names, guessed here (inferred), which
is why the collector classifies by the words Archive and Restore (`collect.pricing.classify`).
"""

from __future__ import annotations

import hashlib
import json
import re

from moto.core.responses import BaseResponse

URL = re.compile(r"https://api\.pricing\.[a-z0-9-]+\.amazonaws\.com(\.cn)?/?$")
EFFECTIVE = "2025-11-01T00:00:00Z"  # the archive storage class's launch month
PUBLISHED = "2026-03-22T00:00:00Z"
OFFER_TERM = "JRTCKXETXF"  # the OnDemand offer term code of the Price List
RATE = "6YS6EN2CT7"
ARCHIVE_TIER_GB = 150 * 1024

# region → (Price List location, usage-type prefix)
REGIONS = {
    "us-east-1": ("US East (N. Virginia)", "USE1"),
    "us-east-2": ("US East (Ohio)", "USE2"),
    "us-west-2": ("US West (Oregon)", "USW2"),
    "eu-west-1": ("EU (Ireland)", "EU"),
    "eu-central-1": ("EU (Frankfurt)", "EUC1"),
    "ap-northeast-1": ("Asia Pacific (Tokyo)", "APN1"),
    "ap-southeast-2": ("Asia Pacific (Sydney)", "APS2"),
    "sa-east-1": ("South America (Sao Paulo)", "SAE1"),
}


def _sku(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()[:16].upper()


def _product(region: str, usage: str, family: str, dims: list[tuple[str, str, str, str, str]]) -> dict:
    """One Price List item; dims: (unit, beginRange, endRange, USD, description)."""
    location, _ = REGIONS[region]
    sku = _sku(region, usage)
    return {
        "product": {
            "productFamily": family,
            "attributes": {
                "servicecode": "AmazonECR",
                "location": location,
                "locationType": "AWS Region",
                "usagetype": usage,
                "operation": "",
                "regionCode": region,
                "servicename": "Amazon EC2 Container Registry (ECR)",
            },
            "sku": sku,
        },
        "serviceCode": "AmazonECR",
        "terms": {
            "OnDemand": {
                sku: {
                    f"{sku}.{OFFER_TERM}": {
                        "priceDimensions": {
                            f"{sku}.{OFFER_TERM}.{RATE}{i or ''}": {
                                "unit": unit,
                                "endRange": end,
                                "description": text,
                                "appliesTo": [],
                                "rateCode": f"{sku}.{OFFER_TERM}.{RATE}{i or ''}",
                                "beginRange": begin,
                                "pricePerUnit": {"USD": usd},
                            }
                            for i, (unit, begin, end, usd, text) in enumerate(dims)
                        },
                        "sku": sku,
                        "effectiveDate": EFFECTIVE,
                        "offerTermCode": OFFER_TERM,
                        "termAttributes": {},
                    }
                }
            }
        },
        "version": "20260322000000",
        "publicationDate": PUBLISHED,
    }


def products() -> list[dict]:
    """Every AmazonECR product of the recorded Price List, in a stable order."""
    out = []
    for region, (location, prefix) in REGIONS.items():
        limit = str(ARCHIVE_TIER_GB)
        out += [
            _product(
                region,
                f"{prefix}-TimedStorage-ByteHrs",
                "EC2 Container Registry",
                [("GB-Mo", "0", "Inf", "0.1000000000", f"$0.10 per GB-month of data storage - {location}")],
            ),
            _product(
                region,
                f"{prefix}-TimedStorage-Archive-ByteHrs",
                "EC2 Container Registry",
                [
                    (
                        "GB-Mo",
                        "0",
                        limit,
                        "0.1000000000",
                        "$0.10 per GB-month of archive storage, first 150 TB",
                    ),
                    (
                        "GB-Mo",
                        limit,
                        "Inf",
                        "0.0700000000",
                        "$0.07 per GB-month of archive storage over 150 TB",
                    ),
                ],
            ),
            _product(
                region,
                f"{prefix}-Archive-Restore-Bytes",
                "EC2 Container Registry",
                [("GB", "0", "Inf", "0.0300000000", "$0.03 per GB restored from archive storage")],
            ),
        ]
    return out


def _matches(item: dict, flt: dict) -> bool:
    field, value, kind = flt.get("Field", ""), str(flt.get("Value", "")), flt.get("Type", "TERM_MATCH")
    if field.lower() == "servicecode":
        have = item["serviceCode"]
    elif field == "productFamily":
        have = item["product"]["productFamily"]
    else:
        have = item["product"]["attributes"].get(field)
    if have is None:
        return kind == "NONE_OF"
    if kind in ("TERM_MATCH", "EQUALS"):
        return have == value
    if kind == "CONTAINS":
        return value in have
    values = [v.strip() for v in value.split(",")]
    return (have in values) if kind == "ANY_OF" else (have not in values)


class PricingResponse(BaseResponse):
    """moto's request handling for the Price List service (only GetProducts is answered)."""

    def __init__(self):
        super().__init__(service_name="pricing")

    def get_products(self) -> str:
        params = json.loads(self.body or "{}")
        items = [p for p in products() if p["serviceCode"] == params.get("ServiceCode")]
        items = [p for p in items if all(_matches(p, f) for f in params.get("Filters") or [])]
        size = max(1, min(int(params.get("MaxResults") or 100), 100))
        start = int(params.get("NextToken") or 0)
        page = items[start : start + size]
        body = {"FormatVersion": "aws_v1", "PriceList": [json.dumps(p) for p in page]}
        if start + size < len(items):
            body["NextToken"] = str(start + size)
        return json.dumps(body)


def dispatch(request):
    """moto's answer (status, headers, body) to a Price List request."""
    from moto.core.request import normalize_request

    return PricingResponse.dispatch(normalize_request(request))
