"""Catalog checks: every blocking failure stops promotion; previous catalogs and mappings stay."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from connectors.base import CatalogVariant
from expectations.catalog import check_catalog, min_variants
from tasks import catalog
from tasks.extract import Extract, extract_catalog
from tasks.extract import land_staged as land
from tasks.mapping import auto_map
from tasks.warehouse import insert_frame


class Pages:
    def __init__(self, records):
        self.records = records

    async def iter_catalog(self):
        yield self.records


def tiktok(variant_id, product_id="p1", sku=None, price="10", stock=None):
    return CatalogVariant(
        channel="tiktok",
        product_id=product_id,
        variant_id=variant_id,
        seller_sku=sku or variant_id,
        title=f"TikTok {product_id}",
        price=None if price is None else Decimal(price),
        currency="USD",
        stock={"wh": 5} if stock is None else stock,
    )


def shopify(sku, product_id="sp1", price="10", stock=None):
    return CatalogVariant(
        channel="shopify",
        product_id=product_id,
        variant_id=f"v-{sku}",
        seller_sku=sku,
        title=f"Store {product_id}",
        price=Decimal(price),
        currency="USD",
        stock={"loc": 5} if stock is None else stock,
    )


GOOD_TIKTOK = [tiktok("A"), tiktok("B"), tiktok("C", "p2"), tiktok("D", "p2")]
GOOD_STORE = [shopify("A"), shopify("B"), shopify("C", "sp2"), shopify("D", "sp2")]


async def stage(con, run_id, channel, records):
    variants, stock, stats = await extract_catalog(Pages(records), run_id=run_id, channel=channel)
    land(con, Extract(channel, variants, stock, stats))


@pytest.fixture
async def shop_db(con):
    """A warehouse with an accepted, mapped catalog from run r1."""
    await stage(con, "r1", "tiktok", GOOD_TIKTOK)
    await stage(con, "r1", "shopify", GOOD_STORE)
    checks = catalog.check_staged(con, run_id="r1", channels=["tiktok", "shopify"], max_drop=0.5)
    assert all(c.passed for c in checks.values()), catalog.failure_message(checks)
    assert catalog.promote(con, run_id="r1", channels=["tiktok", "shopify"]) == {
        "tiktok": 4,
        "shopify": 4,
    }
    outcome = auto_map(con, run_id="r1", store_channel="shopify")
    assert outcome.mapped_skus == 4
    yield con


def snapshot_of(con, table):
    """All rows of a table, in a stable order, for before/after comparison."""
    return sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=str)


BAD_CASES = {
    "duplicate ids": (
        "tiktok",
        [*GOOD_TIKTOK, tiktok("A", "p3", sku="A2")],
        {"variant_ids_unique"},
    ),
    "negative quantity": (
        "tiktok",
        [tiktok("A", stock={"wh": -1}), *GOOD_TIKTOK[1:]],
        {"quantities_not_negative", "location_quantities_not_negative"},
    ),
    "negative location hidden by the sum": (
        "shopify",
        [shopify("A", stock={"loc": 5, "loc2": -2}), *GOOD_STORE[1:]],
        {"location_quantities_not_negative"},
    ),
    "zero price": (
        "shopify",
        [shopify("A", price="0"), *GOOD_STORE[1:]],
        {"prices_positive"},
    ),
    "collapsed catalog": ("tiktok", [tiktok("A")], {"catalog_not_collapsed"}),
    "empty catalog": ("shopify", [], {"catalog_not_collapsed", "catalog_not_empty"}),
}


@pytest.mark.parametrize("case", list(BAD_CASES))
async def test_blocking_failure_keeps_previous_catalog_and_mappings(shop_db, case):
    con = shop_db
    bad_channel, records, expected_failures = BAD_CASES[case]
    before = {t: snapshot_of(con, t) for t in ("catalog_variants", "catalog_stock", "mappings")}
    other = "shopify" if bad_channel == "tiktok" else "tiktok"
    await stage(con, "r2", bad_channel, records)
    await stage(con, "r2", other, GOOD_TIKTOK if other == "tiktok" else GOOD_STORE)

    checks = catalog.check_staged(con, run_id="r2", channels=["tiktok", "shopify"], max_drop=0.5)
    assert not checks[bad_channel].passed and checks[other].passed
    failed = {o.check for o in checks[bad_channel].result.blocking_failures}
    assert failed == expected_failures
    message = catalog.failure_message(checks)
    assert message.startswith(f"{bad_channel}: ") and all(f in message for f in failed)
    catalog.reject(con, run_id="r2", checks=checks)

    after = {t: snapshot_of(con, t) for t in ("catalog_variants", "catalog_stock", "mappings")}
    assert after == before
    snapshots = dict(
        con.execute(
            "SELECT channel, (accepted, reason) FROM catalog_snapshots WHERE run_id = 'r2'"
        ).fetchall()
    )
    assert snapshots[bad_channel][0] is False
    assert all(f in snapshots[bad_channel][1] for f in failed)
    assert snapshots[other] == (False, f"held back: {bad_channel} catalog failed its checks")
    # the previous accepted snapshot is still the yardstick for the next run
    assert catalog.previous_accepted(con, bad_channel).run_id == "r1"
    # the rejected extract stays staged for inspection
    staged = con.execute(
        "SELECT count(*) FROM staged_variants WHERE run_id = 'r2' AND channel = ?", [bad_channel]
    ).fetchone()[0]
    assert staged == len(records)


async def test_passing_extract_replaces_catalog_and_records_accepted_snapshot(shop_db):
    con = shop_db
    await stage(con, "r2", "tiktok", [*GOOD_TIKTOK[:3], tiktok("E", "p2")])
    await stage(con, "r2", "shopify", GOOD_STORE[:3])  # 3 of 4: within max_drop 0.5
    checks = catalog.check_staged(con, run_id="r2", channels=["tiktok", "shopify"], max_drop=0.5)
    assert all(c.passed for c in checks.values())
    assert checks["shopify"].previous.variants == 4
    assert catalog.promote(con, run_id="r2", channels=["tiktok", "shopify"]) == {
        "tiktok": 4,
        "shopify": 3,
    }
    ids = con.execute(
        "SELECT variant_id FROM catalog_variants WHERE channel = 'tiktok' ORDER BY 1"
    ).fetchall()
    assert [i[0] for i in ids] == ["A", "B", "C", "E"]
    assert con.execute("SELECT DISTINCT run_id FROM catalog_variants").fetchall() == [("r2",)]
    assert con.execute("SELECT count(*) FROM catalog_stock").fetchone()[0] == 7
    assert con.execute("SELECT count(*) FROM staged_variants").fetchone()[0] == 0
    assert con.execute("SELECT count(*) FROM staged_stock").fetchone()[0] == 0
    rows = con.execute(
        "SELECT channel, products, variants, accepted, reason FROM catalog_snapshots"
        " WHERE run_id = 'r2' ORDER BY channel"
    ).fetchall()
    assert rows == [("shopify", 2, 3, True, None), ("tiktok", 2, 4, True, None)]
    assert catalog.catalog_counts(con, "shopify") == (2, 3)


async def test_first_run_allows_an_empty_catalog(con):
    await stage(con, "r1", "tiktok", [])
    checks = catalog.check_staged(con, run_id="r1", channels=["tiktok"], max_drop=0.5)
    assert checks["tiktok"].passed
    assert "catalog_not_empty" not in {o.check for o in checks["tiktok"].result.outcomes}


def test_collapse_floor():
    assert min_variants(None, 0.5) == 0
    assert min_variants(0, 0.5) == 0
    assert min_variants(10, 0.2) == 8
    assert min_variants(3, 0.5) == 2
    assert min_variants(10, 1.0) == 0


def test_check_outcomes_carry_observed_values():
    frame = pd.DataFrame(
        {
            "product_id": ["p", "p"],
            "variant_id": ["a", "b"],
            "seller_sku": ["A", "B"],
            "price": [1.0, -3.0],
            "quantity": [1, 2],
            "min_location_quantity": [1, 2],
        }
    )
    result = check_catalog(frame, channel="tiktok", previous_variants=2, max_drop=0.5)
    assert not result.passed
    (failure,) = result.blocking_failures
    assert failure.check == "prices_positive"
    assert failure.observed["unexpected"] == 1 and failure.observed["sample"] == ["-3.0"]


def test_unmapped_products_and_reason_summary(con):
    report = pd.DataFrame(
        [
            ("p1", "s1", "A", "mapped", None, "auto", "sp1", "v1", None),
            ("p1", "s2", "B", "mapped", None, "auto", "sp1", "v2", None),
            ("p2", "s3", None, "unmapped", "MISSING_SKU", None, None, None, None),
            ("p2", "s4", "D", "unmapped", "SKU_NOT_FOUND", None, None, None, "v-d"),
            ("p3", "s5", "E", "unmapped", "VARIANT_COUNT_MISMATCH", None, "sp9", "v9", None),
        ],
        columns=[
            "tiktok_product_id",
            "tiktok_sku_id",
            "seller_sku",
            "status",
            "reason",
            "method",
            "store_product_id",
            "store_variant_id",
            "suggestion",
        ],
    )
    insert_frame(con, "mapping_report", report.assign(run_id="r1"))
    insert_frame(con, "mapping_report", report.head(1).assign(run_id="r0"))
    con.execute(
        "INSERT INTO catalog_variants (run_id, channel, product_id, variant_id, title,"
        " extracted_at) VALUES ('r1', 'tiktok', 'p2', 's3', 'Mug', now())"
    )
    products = catalog.unmapped_products(con, run_id="r1")
    assert products.to_dict("records") == [
        {
            "tiktok_product_id": "p2",
            "title": "Mug",
            "reason": "MISSING_SKU",
            "skus": 2,
            "sku_reasons": "MISSING_SKU x1, SKU_NOT_FOUND x1",
            "seller_skus": "D",
            "suggestions": 1,
        },
        {
            "tiktok_product_id": "p3",
            "title": "",
            "reason": "VARIANT_COUNT_MISMATCH",
            "skus": 1,
            "sku_reasons": "VARIANT_COUNT_MISMATCH x1",
            "seller_skus": "E",
            "suggestions": 0,
        },
    ]
    counts = catalog.reason_summary(con, run_id="r1")
    assert counts.to_dict("records") == [
        {"status": "mapped", "reason": "", "method": "auto", "products": 1, "skus": 2},
        {"status": "unmapped", "reason": "MISSING_SKU", "method": "", "products": 1, "skus": 1},
        {"status": "unmapped", "reason": "SKU_NOT_FOUND", "method": "", "products": 0, "skus": 1},
        {
            "status": "unmapped",
            "reason": "VARIANT_COUNT_MISMATCH",
            "method": "",
            "products": 1,
            "skus": 1,
        },
    ]
