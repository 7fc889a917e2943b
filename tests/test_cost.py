"""Storage cost, rollups and prices on a small literal inventory whose numbers are known."""

import json

import pandas as pd
import pytest

from ecr_audit import Inventory, cost
from ecr_audit.cost.prices import BYTES_PER_GB
from ecr_audit.cost.storage import ROLES
from tests.consumer_helpers import coverage_read

A = "012345678901"
B = "000000000042"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
APP = {"account_id": A, "region": "us-east-1", "repository_name": "app"}
NOMAN = {"account_id": B, "region": "eu-west-1", "repository_name": "noman"}
PART = {"account_id": A, "region": "us-east-1", "repository_name": "part"}

# app: every manifest read. blob sizes chosen so every sum is recognisable.
APP_IMAGES = {  # digest: (tags, status, [(blob, size, kind)])
    "sha256:old": (["v1"], "ACTIVE", [("base", 100, "layer"), ("o1", 10, "layer"), ("cold", 1, "config")]),
    "sha256:new": (["v2"], "ACTIVE", [("base", 100, "layer"), ("n1", 20, "layer"), ("cnew", 2, "config")]),
    "sha256:amd": ([], "ACTIVE", [("base", 100, "layer"), ("a1", 30, "layer"), ("camd", 3, "config")]),
    "sha256:arm": ([], "ACTIVE", [("basearm", 90, "layer"), ("r1", 40, "layer"), ("carm", 4, "config")]),
    "sha256:arch": (["v0"], "ARCHIVED", [("base", 100, "layer"), ("x1", 50, "layer"), ("cx", 5, "config")]),
}
APP_UNIQUE = 100 + 10 + 1 + 20 + 2 + 30 + 3 + 90 + 40 + 4 + 50 + 5  # 355
APP_ARCHIVE = 50 + 5  # base is shared with active images
APP_REPORTED = 111 + 122 + 133 + 134 + 155 + 134  # the index reports its largest child


def _inventory(extra_images=(), extra_layers=(), repositories=None, tags=None):
    images, layers = [], []
    for digest, (tagl, status, blobs) in APP_IMAGES.items():
        images.append(
            {
                **APP,
                "image_digest": digest,
                "tags": tagl,
                "image_status": status,
                "size_bytes": sum(s for _, s, _ in blobs),
                "manifest_media_type": OCI_MANIFEST,
                "manifest_status": "present",
            }
        )
        layers += [
            {**APP, "image_digest": digest, "blob_digest": f"sha256:{b}", "size_bytes": s, "kind": k}
            for b, s, k in blobs
        ]
    images.append(
        {
            **APP,
            "image_digest": "sha256:idx",
            "tags": ["multi"],
            "image_status": "ACTIVE",
            "size_bytes": 134,
            "manifest_media_type": OCI_INDEX,
            "manifest_status": "present",
        }
    )
    refs = [
        {**APP, "source_digest": "sha256:idx", "target_digest": t, "kind": "index_child", "platform": p}
        for t, p in [("sha256:amd", "linux/amd64"), ("sha256:arm", "linux/arm64")]
    ]
    # noman: manifests not read; an index of two children and an archived single image.
    images += [
        {
            **NOMAN,
            "image_digest": "sha256:i2",
            "tags": ["latest"],
            "size_bytes": 500,
            "manifest_media_type": OCI_INDEX,
            "image_status": "ACTIVE",
            "manifest_status": "skipped",
        },
        {
            **NOMAN,
            "image_digest": "sha256:c1",
            "size_bytes": 480,
            "manifest_media_type": OCI_MANIFEST,
            "image_status": "ACTIVE",
            "manifest_status": "skipped",
        },
        {
            **NOMAN,
            "image_digest": "sha256:c2",
            "size_bytes": 500,
            "manifest_media_type": OCI_MANIFEST,
            "image_status": "ACTIVE",
            "manifest_status": "skipped",
        },
        {
            **NOMAN,
            "image_digest": "sha256:s",
            "tags": ["old"],
            "size_bytes": 300,
            "manifest_media_type": OCI_MANIFEST,
            "image_status": "ARCHIVED",
            "manifest_status": "skipped",
        },
        # part: one manifest read, one not.
        {
            **PART,
            "image_digest": "sha256:p1",
            "tags": ["a"],
            "size_bytes": 11,
            "manifest_media_type": OCI_MANIFEST,
            "image_status": "ACTIVE",
            "manifest_status": "present",
        },
        {
            **PART,
            "image_digest": "sha256:p2",
            "tags": ["b"],
            "size_bytes": 70,
            "manifest_media_type": OCI_MANIFEST,
            "image_status": "ACTIVE",
            "manifest_status": "unreadable",
        },
    ]
    layers += [
        {**PART, "image_digest": "sha256:p1", "blob_digest": "sha256:p", "size_bytes": 10, "kind": "layer"},
        {**PART, "image_digest": "sha256:p1", "blob_digest": "sha256:cp", "size_bytes": 1, "kind": "config"},
    ]
    if repositories is None:
        repositories = [
            {**APP, "images_status": "present", "tags_status": "present"},
            {**NOMAN, "images_status": "present", "tags_status": "absent"},
            {**PART, "images_status": "present", "tags_status": "unreadable"},
            {
                "account_id": A,
                "region": "us-east-1",
                "repository_name": "empty",
                "images_status": "absent",
                "tags_status": "absent",
            },
            {
                "account_id": A,
                "region": "us-east-1",
                "repository_name": "unread",
                "images_status": "unreadable",
                "tags_status": "absent",
            },
        ]
    repositories = [
        {
            **r,
            "repository_arn": f"arn:aws:ecr:{r['region']}:{r['account_id']}:repository/"
            f"{r['repository_name']}",
        }
        for r in repositories
    ]
    return Inventory.from_frames(
        meta={"collected_at": "2026-11-01T00:00:00+00:00"},
        images=images + list(extra_images),
        layers=layers + list(extra_layers),
        manifest_references=refs,
        repositories=repositories,
        repository_tags=tags if tags is not None else [{**APP, "key": "team", "value": "payments"}],
        accounts=[
            {"account_id": A, "ou_path": "r-1/ou-prod", "collection_status": "collected"},
            {"account_id": B, "ou_path": "r-1/ou-dev", "collection_status": "collected"},
        ],
        # every consumer kind read, none found: no image is in use (savings count every removal)
        consumer_coverage=coverage_read((A, "us-east-1"), (B, "eu-west-1")),
    )


@pytest.fixture
def inv():
    return _inventory()


def _row(df, name):
    rows = df[df["repository_name"] == name]
    assert len(rows) == 1
    return rows.iloc[0]


def test_unique_bytes_count_a_layer_shared_by_many_images_once(inv):
    app = _row(cost.storage(inv), "app")
    assert app["basis"] == "exact"
    assert app["unique_bytes"] == APP_UNIQUE
    assert app["billable_bytes"] == APP_UNIQUE
    assert not app["is_upper_bound"]


def test_reported_bytes_are_the_naive_sum_including_the_index(inv):
    app = _row(cost.storage(inv), "app")
    assert app["reported_bytes"] == APP_REPORTED
    assert app["reported_to_billable_ratio"] == pytest.approx(APP_REPORTED / APP_UNIQUE)


def test_blob_shared_by_an_active_and_an_archived_image_is_billed_as_standard(inv):
    app = _row(cost.storage(inv), "app")
    assert app["archive_bytes"] == APP_ARCHIVE
    assert app["standard_bytes"] == APP_UNIQUE - APP_ARCHIVE
    assert app["images_archived"] == 1


def test_image_counts_by_role_separate_index_and_children(inv):
    app = _row(cost.storage(inv), "app")
    assert app["images_total"] == 6
    assert app["images_index"] == 1
    assert app["images_index_child"] == 2
    assert sum(app[f"images_{r}"] for r in ROLES) == app["images_total"]


def test_without_manifests_the_estimate_skips_the_index_and_is_an_upper_bound(inv):
    noman = _row(cost.storage(inv), "noman")
    assert noman["basis"] == "estimate"
    assert noman["is_upper_bound"]
    assert pd.isna(noman["unique_bytes"])
    assert noman["billable_bytes"] == 480 + 500 + 300  # index (500) not added to its children
    assert noman["reported_bytes"] == 500 + 480 + 500 + 300
    assert noman["archive_bytes"] == 300


def test_some_manifests_missing_gives_partial_exact_plus_bound(inv):
    part = _row(cost.storage(inv), "part")
    assert part["basis"] == "partial"
    assert part["unique_bytes"] == 11
    assert part["estimated_bytes"] == 70
    assert part["billable_bytes"] == 81
    assert part["is_upper_bound"]


def test_empty_repository_is_exactly_zero_and_unreadable_one_is_undetermined(inv):
    st = cost.storage(inv)
    empty, unread = _row(st, "empty"), _row(st, "unread")
    assert (empty["basis"], empty["billable_bytes"], empty["cost_usd_per_month"]) == ("exact", 0, 0.0)
    assert unread["basis"] == "undetermined"
    assert pd.isna(unread["billable_bytes"]) and pd.isna(unread["cost_usd_per_month"])


def test_one_gib_at_ten_cents_costs_ten_cents_a_month():
    big = {**APP, "repository_name": "big"}
    inv = Inventory.from_frames(
        images=[
            {
                **big,
                "image_digest": "sha256:g",
                "size_bytes": BYTES_PER_GB,
                "manifest_status": "present",
                "image_status": "ACTIVE",
                "manifest_media_type": OCI_MANIFEST,
            }
        ],
        layers=[
            {
                **big,
                "image_digest": "sha256:g",
                "blob_digest": "sha256:l",
                "size_bytes": BYTES_PER_GB,
                "kind": "layer",
            }
        ],
        repositories=[{**big, "repository_arn": "arn:x", "images_status": "present"}],
    )
    row = cost.storage(inv, prices={"us-east-1": 0.10}).iloc[0]
    assert row["cost_usd_per_month"] == pytest.approx(0.10)
    assert row["price_basis"] == "user"


def test_region_missing_from_the_price_table_uses_us_east_1_and_says_so(inv):
    without = cost.load_prices().drop(index="eu-west-1")  # the shipped table covers every commercial region
    noman = _row(cost.storage(inv, prices=without), "noman")
    assert noman["price_basis"] == "assumed"
    assert "us-east-1" in noman["price_note"]
    assert (
        noman["standard_usd_per_gb_month"] == cost.load_prices().loc["us-east-1", "standard_usd_per_gb_month"]
    )


def test_price_override_changes_the_cost_of_that_region_only(inv):
    st = cost.storage(inv, prices={"eu-west-1": 0.20})
    noman, app = _row(st, "noman"), _row(st, "app")
    assert noman["price_basis"] == "user" and noman["standard_usd_per_gb_month"] == 0.20
    assert noman["cost_usd_per_month"] == pytest.approx((980 * 0.20 + 300 * 0.10) / BYTES_PER_GB)
    assert app["standard_usd_per_gb_month"] == 0.10


def test_shipped_price_table_names_its_source_date_and_assumptions():
    table = cost.load_prices()
    us = table.loc["us-east-1"]
    assert us["source"] and us["as_of"].startswith("2026")
    assert "restore_usd_per_gb" in us["assumed_fields"]
    assert us["archive_tier_limit_gb"] == 150 * 1024
    assert us["archive_above_limit_usd_per_gb_month"] < us["archive_usd_per_gb_month"]
    assert table.attrs["default_region"] == "us-east-1"


def test_price_file_csv_and_json_override_the_shipped_table(tmp_path):
    csv = tmp_path / "p.csv"
    csv.write_text(
        "region,standard_usd_per_gb_month,restore_usd_per_gb\nsa-east-1,0.15,0.05\nus-gov-west-1,0.2,0.04\n"
    )
    table = cost.load_prices(csv)
    assert table.loc["sa-east-1", "standard_usd_per_gb_month"] == 0.15
    assert table.loc["sa-east-1", "restore_usd_per_gb"] == 0.05
    assert table.loc["sa-east-1", "source"] == str(csv)
    assert table.loc["sa-east-1", "price_basis"] == "user"
    assert "taken from the shipped row of sa-east-1" in table.loc["sa-east-1", "note"]
    assert "taken from us-east-1" in table.loc["us-gov-west-1", "note"]  # a region the table lacks
    js = tmp_path / "p.json"
    js.write_text(json.dumps({"us-east-1": {"standard_usd_per_gb_month": 0.5}}))
    assert cost.load_prices(js).loc["us-east-1", "standard_usd_per_gb_month"] == 0.5


def test_price_override_with_an_unknown_field_is_refused():
    with pytest.raises(ValueError, match="unknown fields"):
        cost.load_prices(overrides={"us-east-1": {"standrd": 0.1}})


def test_rollup_by_account_region_and_ou_sums_determined_repositories(inv):
    st = cost.storage(inv, prices=cost.load_prices().drop(index="eu-west-1"))
    by_acc = cost.rollup(st, "account").set_index("account_id")
    assert by_acc.loc[A, "billable_bytes"] == APP_UNIQUE + 81
    assert by_acc.loc[A, "repositories"] == 4
    assert by_acc.loc[A, "repositories_undetermined"] == 1
    assert by_acc.loc[B, "repositories_upper_bound"] == 1
    by_region = cost.rollup(st, "region").set_index("region")
    assert by_region.loc["eu-west-1", "repositories_price_assumed"] == 1
    by_ou = cost.rollup(st, "ou").set_index("ou_path")
    assert by_ou.loc["r-1/ou-dev", "billable_bytes"] == 1280
    total = cost.rollup(st, "total").iloc[0]
    assert total["cost_usd_per_month"] == pytest.approx(st["cost_usd_per_month"].sum())


def test_rollup_by_tag_separates_untagged_from_unreadable_tags(inv):
    by_tag = cost.rollup(cost.storage(inv), "tag:team", inv=inv).set_index("tag:team")
    assert by_tag.loc["payments", "billable_bytes"] == APP_UNIQUE
    assert by_tag.loc["(untagged)", "repositories"] == 3  # noman, empty, unread
    assert by_tag.loc["(tags not readable)", "repositories"] == 1  # part


def test_rollup_by_tag_without_inventory_is_refused(inv):
    with pytest.raises(ValueError, match="needs inv"):
        cost.rollup(cost.storage(inv), "tag:team")


def test_top_orders_by_cost_and_puts_undetermined_last(inv):
    t = cost.top(cost.storage(inv), n=5)
    assert t["repository_name"].tolist()[0] == "noman"
    assert t["repository_name"].tolist()[-1] == "unread"
    assert len(cost.top(cost.storage(inv), n=2)) == 2


def test_basis_summary_accounts_for_every_repository_and_says_what_each_basis_means(inv):
    summary = cost.basis_summary(cost.storage(inv)).set_index(["basis", "price_basis"])
    assert summary["repositories"].sum() == 5
    assert summary.loc[("estimate", "shipped"), "billable_bytes"] == 1280
    assert "upper bound" in summary.loc[("partial", "shipped"), "meaning"]


def test_per_repository_sums_and_sizes_are_the_groupby_definition():
    """Random coded frames (no rows, one repository many times, repository id -1, bool / int /
    nullable / float columns, rows in any order): `_by_repo` is the pandas groupby it replaced,
    groups in order of first appearance, dtypes included."""
    import random

    import numpy as np

    from ecr_audit.cost.storage import _by_repo
    from ecr_audit.keys import REPOSITORY_ID

    repos = pd.DataFrame({"account_id": list("abcde"), "region": "r", "repository_name": list("vwxyz")})

    class Enc:  # decodes as keys.Coded does, against `repos`
        def decode(self, frame):
            out = frame.drop(columns=REPOSITORY_ID)
            strings = repos.iloc[frame[REPOSITORY_ID].to_numpy(dtype=np.int64)].set_axis(out.index)
            return pd.concat([strings, out], axis=1)

    rnd = random.Random(3)
    for _ in range(300):
        n = rnd.choice([0, 1, 2, 5, 30])
        frame = pd.DataFrame(
            {
                REPOSITORY_ID: np.array(
                    [rnd.randint(-1, 4) for _ in range(n)], dtype=rnd.choice(["i8", "i4"])
                ),
                "b": np.array([rnd.random() < 0.5 for _ in range(n)], dtype=bool),
                "i": np.array([rnd.randint(0, 10**12) for _ in range(n)], dtype=np.int64),
                "i32": np.array([rnd.randint(0, 100) for _ in range(n)], dtype=np.int32),
                "u8": np.array([rnd.randint(0, 255) for _ in range(n)], dtype=np.uint8),
                "f": np.array([rnd.random() for _ in range(n)]),
                "I": pd.array([rnd.choice([1, 2, None]) for _ in range(n)], dtype="Int64"),
            }
        )
        names = rnd.sample(["b", "i", "i32", "u8", "f", "I"], rnd.randint(1, 3))
        aggs = {f"sum_{c}": (c, "sum") for c in names}
        if rnd.random() < 0.5:
            aggs["size"] = (names[0], "size")
        want = Enc().decode(frame.groupby(REPOSITORY_ID, observed=True, sort=False).agg(**aggs).reset_index())
        pd.testing.assert_frame_equal(_by_repo(Enc(), frame, aggs), want)
