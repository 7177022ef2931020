"""Catalog extract: sandbox catalogs land in staged tables in bulk; bad records are counted."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal

import pyarrow as pa
import pytest

from connectors.base import CatalogVariant
from connectors.errors import TransientError
from connectors.factory import store_client, tiktok_client
from sandbox.fixture import DEFAULT_LOCATION, DEFAULT_WAREHOUSE, load_fixture
from skubridge.config import load_shops
from tasks import extract
from tasks.extract import (
    STOCK_SCHEMA,
    VARIANT_SCHEMA,
    Extract,
    extract_both,
    extract_catalog,
    land_staged,
)

FIXTURE = {
    "tiktok": {
        "warehouses": [
            {"id": DEFAULT_WAREHOUSE, "name": "Main", "is_default": True},
            {"id": "7000000000000000002", "name": "East"},
        ],
        "products": [
            {
                "title": "Tee",
                "skus": [
                    {
                        "seller_sku": "TEE-S",
                        "price": "10.50",
                        "inventory": {DEFAULT_WAREHOUSE: 4, "7000000000000000002": 3},
                        "sales_attributes": {"Size": "S"},
                    },
                    {
                        "seller_sku": "TEE-M",
                        "price": "11",
                        "inventory": {DEFAULT_WAREHOUSE: 2},
                        "sales_attributes": {"Size": "M"},
                    },
                ],
            },
            {"title": "Mug", "skus": [{"seller_sku": "MUG", "price": "7.25"}]},
        ],
    },
    "shopify": {
        "products": [
            {
                "title": "Tee",
                "variants": [
                    {
                        "sku": "TEE-S",
                        "price": "10.5",
                        "barcode": "0001",
                        "options": {"Size": "S"},
                        "inventory": {DEFAULT_LOCATION: 5},
                        "inventory_policy": "CONTINUE",
                    },
                    {"sku": "TEE-M", "price": "11", "options": {"Size": "M"}, "tracked": False},
                ],
            }
        ]
    },
    "amazon": {
        "listings": [
            {"sku": "TEE-S", "price": "10", "fulfillment": "FBA", "quantity": 7},
            {"sku": "MUG", "price": "7.25", "quantity": 2, "barcode": "0002"},
        ]
    },
}


@pytest.fixture(scope="module")
def stack_fixture():
    return load_fixture(FIXTURE)


@pytest.fixture(scope="module")
def stack_throttle():
    return False


@pytest.fixture
def shops(stack, point_at_stack):
    return load_shops(point_at_stack(stack, [("s1", "shopify"), ("a1", "amazon")]))


def _rows(con, table, channel):
    cur = con.execute(f"SELECT * FROM {table} WHERE channel = ? ORDER BY variant_id", [channel])
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


async def test_extract_both_lands_tiktok_and_shopify_in_bulk(con, shops, monkeypatch):
    shop = shops.get("s1")
    tt, store = tiktok_client(shop, rate_scale=0), store_client(shop, rate_scale=0)
    try:
        tiktok, shopify = await extract_both(tt, store, run_id="run-1", store_channel="shopify")
    finally:
        await tt.aclose()
        await store.aclose()
    assert tiktok.variants.schema == VARIANT_SCHEMA and shopify.stock.schema == STOCK_SCHEMA
    assert (tiktok.stats.rows, tiktok.stats.products, tiktok.stats.stock_rows) == (3, 2, 4)
    assert (shopify.stats.rows, shopify.stats.products) == (2, 1)
    assert tiktok.stats.skipped == [] and shopify.stats.skipped == []

    inserts: list[str] = []
    real_insert = extract.insert_frame
    monkeypatch.setattr(
        extract,
        "insert_frame",
        lambda c, table, frame: inserts.append(table) or real_insert(c, table, frame),
    )
    assert land_staged(con, tiktok) == 3
    assert land_staged(con, shopify) == 2
    # one bulk insert per table and side, never one per row
    assert inserts == ["staged_variants", "staged_stock"] * 2

    rows = _rows(con, "staged_variants", "tiktok")
    tee_s = next(r for r in rows if r["seller_sku"] == "TEE-S")
    assert tee_s["run_id"] == "run-1"
    assert tee_s["product_id"] == "1729000000000000001"
    assert tee_s["variant_id"] == "1729000000000000001001"
    assert tee_s["price"] == Decimal("10.5000")
    assert tee_s["currency"] == "USD"
    assert tee_s["quantity"] == 7
    assert json.loads(tee_s["options"]) == {"Size": "S"}
    assert tee_s["title"] == "Tee" and tee_s["status"] == "ACTIVATE"
    assert tee_s["extracted_at"].tzinfo is not None
    stock = _rows(con, "staged_stock", "tiktok")
    assert {
        (r["variant_id"], r["location_id"], r["quantity"])
        for r in stock
        if r["variant_id"] == tee_s["variant_id"]
    } == {
        (tee_s["variant_id"], DEFAULT_WAREHOUSE, 4),
        (tee_s["variant_id"], "7000000000000000002", 3),
    }

    rows = _rows(con, "staged_variants", "shopify")
    assert [(r["variant_id"], r["seller_sku"], r["price"], r["quantity"]) for r in rows] == [
        ("gid://shopify/ProductVariant/1001", "TEE-S", Decimal("10.5000"), 5),
        ("gid://shopify/ProductVariant/1002", "TEE-M", Decimal("11.0000"), 0),
    ]
    assert rows[0]["barcode"] == "0001"
    assert rows[0]["product_id"] == "gid://shopify/Product/1"
    # the stock rules' inputs: inventoryItem.tracked and inventoryPolicy
    assert [(r["tracked"], r["inventory_policy"]) for r in rows] == [
        (True, "CONTINUE"),
        (False, "DENY"),
    ]
    assert {r["tracked"] for r in _rows(con, "staged_variants", "tiktok")} == {None}


async def test_extract_amazon_lands_fba_and_mfn(con, shops):
    shop = shops.get("a1")
    store = store_client(shop, rate_scale=0, report_poll_initial=0.05, report_poll_max=0.1)
    try:
        variants, stock, stats = await extract_catalog(store, run_id="run-a", channel="amazon")
    finally:
        await store.aclose()
    land_staged(con, Extract("amazon", variants, stock, stats))
    rows = _rows(con, "staged_variants", "amazon")
    assert [(r["variant_id"], r["fulfillment"], r["quantity"], r["price"]) for r in rows] == [
        ("MUG", "MFN", 2, Decimal("7.2500")),
        ("TEE-S", "FBA", 7, Decimal("10.0000")),
    ]
    assert rows[0]["barcode"] == "0002"
    assert {(r["variant_id"], r["location_id"]) for r in _rows(con, "staged_stock", "amazon")} == {
        ("MUG", "MFN"),
        ("TEE-S", "FBA"),
    }


class FakeApi:
    """Yields the given pages, optionally failing after them."""

    def __init__(self, *pages, fail: Exception | None = None):
        self.pages = pages
        self.fail = fail

    async def iter_catalog(self):
        for page in self.pages:
            yield page
        if self.fail:
            raise self.fail


def _variant(variant_id, **kw):
    base = {"channel": "tiktok", "product_id": "p1", "variant_id": variant_id, "seller_sku": "S"}
    base.update(kw)
    base.setdefault("title", "T")
    return CatalogVariant(**base)


class Loose:
    """A record with arbitrary attribute values (what a buggy connector might hand over)."""

    def __init__(self, **kw):
        self.channel = "tiktok"
        self.product_id = "p9"
        self.variant_id = "v9"
        self.stock = {}
        self.__dict__.update(kw)


async def test_malformed_records_are_skipped_and_counted_never_crash():
    api = FakeApi(
        [
            _variant("ok-1", price=Decimal("5"), stock={"w1": 1, "w2": "2"}),
            _variant(None),
            _variant("  "),
            _variant("bad-qty", stock={"w1": "n/a"}),
        ],
        [
            _variant("half-qty", stock={"w1": 1.5}),
            Loose(variant_id="bad-price", price="abc"),
            Loose(variant_id="no-product", product_id=None),
            Loose(variant_id="other-side", channel="shopify"),
            object(),
            _variant("ok-2", price=None, stock={}),
        ],
    )
    variants, stock, stats = await extract_catalog(api, run_id="r", channel="tiktok")
    assert variants.column("variant_id").to_pylist() == ["ok-1", "ok-2"]
    assert variants.column("quantity").to_pylist() == [3, 0]
    assert variants.column("price").to_pylist() == [Decimal("5.0000"), None]
    assert stock.column("quantity").to_pylist() == [1, 2]
    assert stats.pages == 2 and stats.records == 10 and stats.rows == 2
    assert stats.skipped_by_reason == {
        "MISSING_VARIANT_ID": 2,
        "BAD_QUANTITY": 2,
        "BAD_PRICE": 1,
        "MISSING_PRODUCT_ID": 1,
        "WRONG_CHANNEL": 1,
        "NOT_A_VARIANT": 1,
    }
    bad_qty = next(s for s in stats.skipped if s.variant_id == "bad-qty")
    assert bad_qty.reason == "BAD_QUANTITY" and "n/a" in bad_qty.detail
    summary = stats.to_dict()
    assert summary["skipped"] == 8
    assert {r["variant_id"] for r in summary["skipped_records"]} >= {"bad-qty", "bad-price"}


async def test_negative_quantity_and_zero_price_are_kept_for_the_checks():
    """Not malformed: they are real values the catalog checks must see (and block on)."""
    api = FakeApi([_variant("neg", stock={"w": -2}), _variant("zero", price=Decimal(0))])
    variants, _, stats = await extract_catalog(api, run_id="r", channel="tiktok")
    assert variants.column("quantity").to_pylist() == [-2, 0]
    assert variants.column("price").to_pylist() == [None, Decimal("0.0000")]
    assert stats.skipped == []


async def test_empty_catalog_gives_empty_typed_tables(con):
    variants, stock, stats = await extract_catalog(FakeApi(), run_id="r", channel="tiktok")
    assert variants.num_rows == 0 and variants.schema == VARIANT_SCHEMA
    assert stock.num_rows == 0 and stats.pages == 0
    assert land_staged(con, Extract("tiktok", variants, stock, stats)) == 0


async def test_connector_error_propagates():
    api = FakeApi([_variant("a")], fail=TransientError("boom", marketplace="x", operation="y"))
    with pytest.raises(TransientError):
        await extract_catalog(api, run_id="r", channel="tiktok")


async def test_landing_again_replaces_the_channels_staged_rows(con):
    first = await extract_catalog(
        FakeApi([_variant("a"), _variant("b")]), run_id="r1", channel="tiktok"
    )
    land_staged(con, Extract("tiktok", *first))
    second = await extract_catalog(FakeApi([_variant("c")]), run_id="r2", channel="tiktok")
    land_staged(con, Extract("tiktok", *second))
    rows = con.execute("SELECT run_id, variant_id FROM staged_variants").fetchall()
    assert rows == [("r2", "c")]


def test_schemas_match_the_staged_tables(con):
    for table, schema in (("staged_variants", VARIANT_SCHEMA), ("staged_stock", STOCK_SCHEMA)):
        columns = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()]
        assert columns == schema.names
    assert VARIANT_SCHEMA.field("price").type == pa.decimal128(18, 4)


async def test_extract_both_reads_the_two_sides_concurrently():
    started: set[str] = set()

    class Side:
        def __init__(self, channel, other):
            self.channel, self.other = channel, other

        async def iter_catalog(self):
            started.add(self.channel)
            await asyncio.sleep(0)
            yield [_variant(f"{self.channel}-1", channel=self.channel)]
            await asyncio.sleep(0)
            # Run one after the other, the second side would not have started by now.
            assert self.other in started, f"{self.other} had not started"
            yield [_variant(f"{self.channel}-2", channel=self.channel)]

    tiktok, store = await extract_both(
        Side("tiktok", "shopify"), Side("shopify", "tiktok"), run_id="r", store_channel="shopify"
    )
    assert tiktok.variants.column("variant_id").to_pylist() == ["tiktok-1", "tiktok-2"]
    assert store.variants.column("variant_id").to_pylist() == ["shopify-1", "shopify-2"]
    assert (tiktok.channel, store.channel) == ("tiktok", "shopify")
