"""Manual product map (pairing, refusals, Shopify write-back and Amazon link end to end) and
CSV mapping with per-row results."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd
import pytest

from connectors.base import CatalogVariant
from connectors.factory import store_client
from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.manual_map import (
    ManualMapError,
    map_from_csv,
    map_product_by_hand,
    pair_variants,
    plan_product_map,
)
from tasks.mapping import auto_map, build_mapping_report
from tasks.warehouse import insert_frame, open_shop

T0 = datetime(2026, 1, 1, tzinfo=UTC)


# --- pairing ------------------------------------------------------------------------------
def test_pairs_by_sku_then_options_and_refuses_what_is_left():
    tiktok = [
        ("t1", "SAME", None),
        ("t2", "TT-RED", json.dumps({"Color": "Red"})),
        ("t3", "TT-X", None),
    ]
    store = [
        ("v1", "OLD-X", None),
        ("v2", "OLD-RED", json.dumps({"Colour": " red "})),
        ("v3", "SAME", None),
    ]
    with pytest.raises(ManualMapError, match="cannot pair 1 of 3 variants") as info:
        pair_variants(tiktok, store)
    assert "--pair TT-X=<store variant id>" in str(info.value)  # t3/v1 are never paired by position
    pairs = {
        p.tiktok_sku_id: (p.store_variant_id, p.paired_by)
        for p in pair_variants(tiktok, store, explicit=[("TT-X", "v1")])
    }
    assert pairs == {
        "t1": ("v3", "exact_sku"),
        "t2": ("v2", "options"),
        "t3": ("v1", "explicit"),
    }


def test_refuses_different_variant_counts():
    with pytest.raises(ManualMapError, match="2 variants and the store product 1"):
        pair_variants([("t1", "A", None), ("t2", "B", None)], [("v1", "A", None)])


# --- against the sandbox ------------------------------------------------------------------
FIXTURE = {
    "tiktok": {
        "products": [
            {
                "id": "1729000000000000001",
                "title": "Tee",
                "skus": [
                    {"id": "t-red", "seller_sku": "TT-RED", "sales_attributes": {"Color": "Red"}},
                    {
                        "id": "t-blue",
                        "seller_sku": "TT-BLUE",
                        "sales_attributes": {"Color": "Blue"},
                    },
                ],
            },
            {
                "id": "1729000000000000002",
                "title": "Hat",
                "skus": [{"id": "t-hat", "seller_sku": "HAT"}],
            },
        ]
    },
    "shopify": {
        "products": [
            {
                "title": "T-Shirt",
                "variants": [
                    {"sku": "OLD-BLUE", "options": {"Color": "Blue"}},
                    {"sku": "OLD-RED", "options": {"Color": "Red"}},
                ],
            },
            {"title": "Cap", "variants": [{"sku": "CAP-1"}, {"sku": "CAP-2"}]},
        ]
    },
    "amazon": {
        "listings": [
            {"sku": "AMZ-RED", "asin": "B0RED", "parent_asin": "B0PARENT"},
            {"sku": "AMZ-BLUE", "asin": "B0BLUE", "parent_asin": "B0PARENT"},
        ]
    },
}


def _tiktok_rows(fixture) -> list[CatalogVariant]:
    return [
        CatalogVariant(
            channel="tiktok",
            product_id=p.id,
            variant_id=s.id,
            seller_sku=s.seller_sku,
            title=p.title,
            options=s.sales_attributes,
        )
        for p in fixture.tiktok.products
        for s in p.skus
    ]


def _land(shop_id: str, variants: list[CatalogVariant]) -> None:
    frame = pd.DataFrame(
        [
            {
                "run_id": "r0",
                "channel": v.channel,
                "product_id": v.product_id,
                "variant_id": v.variant_id,
                "seller_sku": v.seller_sku,
                "title": v.title,
                "options": json.dumps(dict(v.options)),
                "parent_id": v.parent_id,
                "extracted_at": T0,
            }
            for v in variants
        ]
    )
    with open_shop(shop_id) as con:
        con.execute("DELETE FROM catalog_variants")
        insert_frame(con, "catalog_variants", frame)


@pytest.fixture
def stack_shop(point_at_stack, data_dirs):
    fixture = load_fixture(FIXTURE)
    with sandbox_stack(fixture, throttle=False) as stack:
        point_at_stack(stack, [("s-shopify", "shopify"), ("s-amazon", "amazon")])
        yield stack, fixture, load_shops()


async def _extract_store(shop) -> list[CatalogVariant]:
    fast = {"report_poll_initial": 0.05} if shop.store == "amazon" else {}
    client = store_client(shop, rate_scale=0, **fast)
    try:
        return [v async for page in client.iter_catalog() for v in page]
    finally:
        await client.aclose()


def _shopify_skus(stack) -> dict[str, str]:
    state = stack.emulator("shopify").state
    return {vid: state.items[v.inventory_item_id].sku for vid, v in state.variants.items()}


async def test_shopify_manual_map_writes_skus_reads_back_and_records_links(stack_shop):
    stack, fixture, shops = stack_shop
    shop = shops.get("s-shopify")
    _land(shop.id, _tiktok_rows(fixture) + await _extract_store(shop))
    tee, shirt = "1729000000000000001", "gid://shopify/Product/1"
    blue, red = "gid://shopify/ProductVariant/1001", "gid://shopify/ProductVariant/1002"

    dry = await map_product_by_hand(
        shop, tiktok_product_id=tee, store_product_id=shirt, dry_run=True
    )
    assert not dry.applied
    assert _shopify_skus(stack)[red] == "OLD-RED"
    assert any("Dry run" in line for line in dry.lines())
    with open_shop(shop.id) as con:
        assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] == 0

    stack.admin("shopify", "DELETE", "requests")
    done = await map_product_by_hand(shop, tiktok_product_id=tee, store_product_id=shirt)
    assert done.applied and done.report_path and done.report_path.exists()
    skus = _shopify_skus(stack)
    assert skus[red] == "TT-RED" and skus[blue] == "TT-BLUE"  # paired by option values
    with open_shop(shop.id) as con:
        links = con.execute(
            "SELECT tiktok_sku_id, store_variant_id, method, store_sku FROM mappings ORDER BY 1"
        ).fetchall()
        assert links == [
            ("t-blue", blue, "manual", "TT-BLUE"),
            ("t-red", red, "manual", "TT-RED"),
        ]
        events = con.execute("SELECT event, method FROM mapping_events").fetchall()
        assert events == [("linked", "manual"), ("linked", "manual")]
        # the next auto-map keeps the manual links and reports them
        out = auto_map(con, run_id="r2", store_channel="shopify")
        assert out.dropped == []
        report = build_mapping_report(con, run_id="r2", store_channel="shopify")
        tee_rows = report[report["tiktok_product_id"] == tee]
        assert set(tee_rows["method"]) == {"manual"} and set(tee_rows["status"]) == {"mapped"}
        run = con.execute("SELECT flow, status FROM runs").fetchall()
        assert run == [("map-product", "COMPLETED")]
    # the SKUs were written with one productVariantsBulkUpdate and read back once
    counts = stack.emulator("shopify").snapshot()["root_field_counts"]
    assert counts.get("productVariantsBulkUpdate") == 1
    assert counts.get("product") == 1

    # a rerun changes nothing on Shopify and logs no new events
    await map_product_by_hand(shop, tiktok_product_id=tee, store_product_id=shirt)
    with open_shop(shop.id) as con:
        assert con.execute("SELECT count(*) FROM mapping_events").fetchone()[0] == 2
    assert (
        stack.emulator("shopify").snapshot()["root_field_counts"]["productVariantsBulkUpdate"] == 1
    )


async def test_shopify_manual_map_refusals(stack_shop):
    _, fixture, shops = stack_shop
    shop = shops.get("s-shopify")
    _land(shop.id, _tiktok_rows(fixture) + await _extract_store(shop))
    with open_shop(shop.id) as con:
        with pytest.raises(ManualMapError, match="1 variants and the store product 2"):
            plan_product_map(
                con,
                store_channel="shopify",
                tiktok_product_id="1729000000000000002",
                store_product_id="gid://shopify/Product/2",
            )
        with pytest.raises(ManualMapError, match="no TikTok product 'nope'"):
            plan_product_map(
                con, store_channel="shopify", tiktok_product_id="nope", store_product_id="x"
            )
        con.execute(
            "INSERT INTO mappings VALUES ('t-hat', '1729000000000000002', 'HAT',"
            " 'gid://shopify/Product/1', 'gid://shopify/ProductVariant/1001', 'manual', ?,"
            " 'r', 'X')",
            [T0],
        )
        with pytest.raises(
            ManualMapError, match="already mapped to TikTok product 1729000000000000002"
        ):
            plan_product_map(
                con,
                store_channel="shopify",
                tiktok_product_id="1729000000000000001",
                store_product_id="gid://shopify/Product/1",
            )


async def test_amazon_manual_map_records_links_only(stack_shop):
    stack, fixture, shops = stack_shop
    shop = shops.get("s-amazon")
    _land(shop.id, _tiktok_rows(fixture) + await _extract_store(shop))
    stack.admin("amazon", "DELETE", "requests")
    with pytest.raises(ManualMapError, match="cannot pair 2 of 2 variants"):
        await map_product_by_hand(
            shop, tiktok_product_id="1729000000000000001", store_product_id="B0PARENT"
        )
    done = await map_product_by_hand(
        shop,
        tiktok_product_id="1729000000000000001",
        store_product_id="B0PARENT",
        pairs=["TT-RED=AMZ-RED", "t-blue=AMZ-BLUE"],
    )
    assert any("Amazon seller SKUs cannot be renamed" in line for line in done.lines())
    assert stack.admin("amazon", "GET", "requests") == {}  # no call at all: links only
    with open_shop(shop.id) as con:
        links = con.execute(
            "SELECT tiktok_sku_id, store_product_id, store_variant_id, method, store_sku"
            " FROM mappings ORDER BY 1"
        ).fetchall()
    # no SKU, barcode or option in common: paired only as the explicit pairs say
    assert links == [
        ("t-blue", "B0PARENT", "AMZ-BLUE", "manual", "AMZ-BLUE"),
        ("t-red", "B0PARENT", "AMZ-RED", "manual", "AMZ-RED"),
    ]
    report = pd.read_csv(done.report_path)
    assert set(report["action"]) == {"link recorded only (Amazon seller SKUs cannot be renamed)"}


# --- CSV ----------------------------------------------------------------------------------
def _catalog(con) -> None:
    rows = [
        ("tiktok", "T1", "t1a", "A-1"),
        ("tiktok", "T1", "t1b", "A-2"),
        ("tiktok", "T2", "t2a", "B-1"),
        ("tiktok", "T3", "t3a", "DUP"),
        ("tiktok", "T4", "t4a", "DUP"),
        ("tiktok", "T5", "t5a", "E-1"),
        ("shopify", "S1", "v1", "X-1"),
        ("shopify", "S1", "v2", "X-2"),
        ("shopify", "S2", "v3", "Y-1"),
        ("shopify", "S3", "v4", "Z-1"),
    ]
    frame = pd.DataFrame(rows, columns=["channel", "product_id", "variant_id", "seller_sku"])
    insert_frame(con, "catalog_variants", frame.assign(run_id="r0", extracted_at=T0))


def test_csv_map_per_row_results(tmp_path, data_dirs):
    shop = SimpleNamespace(id="csvshop", store="shopify")
    with open_shop(shop.id) as con:
        _catalog(con)
        con.execute(
            "INSERT INTO mappings VALUES ('t5a','T5','E-1','S3','v4','manual',?,'r','Z-1')", [T0]
        )
    source = tmp_path / "map.csv"
    source.write_text(
        "seller_sku,store_variant_id\n"
        "A-1,v1\n"  # 2 mapped
        "A-2,v2\n"  # 3 mapped
        ",v3\n"  # 4 blank
        "NOPE,v3\n"  # 5 unknown TikTok SKU
        "DUP,v3\n"  # 6 seller SKU on two TikTok SKUs
        " B-1,v3\n"  # 7 padded
        "Ｂ-1,v3\n"  # 8 fullwidth look-alike
        "B-1,v9\n"  # 9 unknown store variant
        "B-1,v4\n"  # 10 store variant linked elsewhere
        "A-1,v3\n",  # 11 TikTok SKU again (duplicate of row 2)
        encoding="utf-8",
    )
    dry = map_from_csv(shop, source, dry_run=True)
    assert dry.counts == {"would map": 1, "error": 9}
    with open_shop(shop.id) as con:
        assert con.execute("SELECT count(*) FROM mappings WHERE method='csv'").fetchone()[0] == 0

    result = map_from_csv(shop, source)
    by_row = {r.row: (r.result, r.reason) for r in result.results.itertuples()}
    assert by_row[3] == ("mapped", None)
    assert by_row[2][0] == "error" and "rows 2, 11" in by_row[2][1]
    assert by_row[4] == ("error", "seller_sku is blank")
    assert by_row[5] == ("error", "no TikTok SKU with seller_sku 'NOPE'")
    assert "is on 2 TikTok SKUs" in by_row[6][1]
    assert "leading or trailing spaces" in by_row[7][1]
    assert "Unicode look-alike" in by_row[8][1] and "'B-1'" in by_row[8][1]
    assert by_row[9] == ("error", "no shopify variant with store_variant_id 'v9'")
    assert by_row[10] == ("error", "store variant already linked to TikTok SKU t5a")
    assert "rows 2, 11" in by_row[11][1]
    assert result.result_path == tmp_path / "map.result.csv"
    written = pd.read_csv(result.result_path, dtype=str, keep_default_na=False)
    assert list(written.columns) == ["row", "tiktok_sku_id", "store_variant_id", "result", "reason"]
    assert len(written) == 10
    with open_shop(shop.id) as con:
        links = con.execute(
            "SELECT tiktok_sku_id, store_variant_id, store_product_id, store_sku FROM mappings"
            " WHERE method = 'csv'"
        ).fetchall()
    assert links == [("t1b", "v2", "S1", "X-2")]


def test_csv_map_product_spread_over_store_products_and_missing_columns(tmp_path, data_dirs):
    shop = SimpleNamespace(id="csvshop2", store="shopify")
    with open_shop(shop.id) as con:
        _catalog(con)
    source = tmp_path / "m.csv"
    source.write_text("tiktok_sku_id,store_sku\nt1a,X-1\nt1b,Y-1\nt2a,X-2\n", encoding="utf-8")
    result = map_from_csv(shop, source)
    by_row = {r.row: (r.result, r.reason) for r in result.results.itertuples()}
    assert by_row[2] == ("error", "TikTok product T1 would map to several store products")
    assert by_row[3][0] == "error"
    assert by_row[4] == ("mapped", None)
    bad = tmp_path / "bad.csv"
    bad.write_text("sku,variant\nA,B\n", encoding="utf-8")
    with pytest.raises(ManualMapError, match="needs a column"):
        map_from_csv(shop, bad)
