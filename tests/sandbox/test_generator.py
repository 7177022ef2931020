"""The seeded catalog generator: determinism, anomaly shares, expectations, emulator loading."""

from __future__ import annotations

import json

import pandas as pd
import pyarrow as pa
import pytest
from typer.testing import CliRunner

from sandbox import amazon as amazon_sandbox
from sandbox import shopify as shopify_sandbox
from sandbox import tiktok as tiktok_sandbox
from sandbox.fixture import dump_fixture, load_fixture
from sandbox.generator import (
    EXPECTED_REASON,
    KINDS,
    STAGED_COLUMNS,
    AnomalyMix,
    generate_fixture,
    generate_tables,
    generate_tables_with_expected,
)
from skubridge.cli import app as cli
from tasks import warehouse

REASON_ORDER = [
    "MISSING_SKU",
    "DUPLICATE_TIKTOK_SKU",
    "SKU_NOT_FOUND",
    "DUPLICATE_STORE_SKU",
    "SPLIT_ACROSS_PRODUCTS",
    "VARIANT_COUNT_MISMATCH",
]


def reference_outcome(tiktok: pa.Table, store: pa.Table, amazon: bool) -> pd.DataFrame:
    """An independent, deliberately plain reading of the mapping rules of docs/reports.md."""
    t = tiktok.select(["product_id", "variant_id", "seller_sku"]).to_pandas()
    s = store.select(["product_id", "variant_id", "seller_sku", "parent_id"]).to_pandas()
    t["blank"] = t["seller_sku"].isna() | (t["seller_sku"].fillna("").str.strip() == "")
    tt_count = t[~t["blank"]]["seller_sku"].value_counts()
    st_count = s["seller_sku"].value_counts()
    store_product = dict(zip(s["seller_sku"], s["product_id"], strict=True))
    store_parent = dict(zip(s["seller_sku"], s["parent_id"], strict=True))
    store_size = s["product_id"].value_counts()
    rows = []
    for _pid, group in t.groupby("product_id", sort=False):
        sku_reason = {}
        for vid, sku, blank in zip(group["variant_id"], group["seller_sku"], group["blank"],
                                   strict=True):  # fmt: skip
            if blank:
                sku_reason[vid] = "MISSING_SKU"
            elif tt_count.get(sku, 0) > 1:
                sku_reason[vid] = "DUPLICATE_TIKTOK_SKU"
            elif st_count.get(sku, 0) == 0:
                sku_reason[vid] = "SKU_NOT_FOUND"
            elif st_count.get(sku, 0) > 1:
                sku_reason[vid] = "DUPLICATE_STORE_SKU"
        product_reason = next((r for r in REASON_ORDER if r in sku_reason.values()), None)
        skus = list(group["seller_sku"])
        if product_reason is None:
            targets = {store_product[x] for x in skus}
            standalone = amazon and all(pd.isna(store_parent[x]) for x in skus)
            if standalone:
                pass  # the TikTok product defines the family (amazon)
            elif len(targets) > 1:
                product_reason = "SPLIT_ACROSS_PRODUCTS"
            elif store_size[targets.pop()] != len(skus):
                product_reason = "VARIANT_COUNT_MISMATCH"
        for vid, sku in zip(group["variant_id"], skus, strict=True):
            reason = sku_reason.get(vid, product_reason)
            rows.append(
                {
                    "tiktok_sku_id": vid,
                    "status": "unmapped" if reason else "mapped",
                    "reason": reason,
                    "store_product_id": None if reason else store_product[sku],
                }
            )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("store", ["shopify", "amazon"])
def test_expected_outcome_follows_the_design_rules(store):
    tiktok, store_table, expected = generate_tables_with_expected(3000, seed=11, store=store)
    reference = reference_outcome(tiktok, store_table, amazon=store == "amazon")
    merged = expected.merge(reference, on="tiktok_sku_id", suffixes=("", "_ref"))
    assert len(merged) == len(expected) == tiktok.num_rows == 3000
    assert (merged["status"] == merged["status_ref"]).all()
    assert (merged["reason"].fillna("") == merged["reason_ref"].fillna("")).all()
    mapped = merged[merged["status"] == "mapped"]
    assert (mapped["store_product_id"] == mapped["store_product_id_ref"]).all()
    # every kind is present, and the product-level reason is the one of the table
    kinds = set(expected["anomaly"])
    wanted = set(KINDS) - ({"duplicate_store_sku"} if store == "amazon" else set())
    assert kinds == wanted
    for kind in kinds - {"none"}:
        assert EXPECTED_REASON[kind] in set(expected[expected["anomaly"] == kind]["reason"])


def test_same_seed_same_output_other_seed_differs():
    first = generate_tables(2000, seed=5)
    again = generate_tables(2000, seed=5)
    other = generate_tables(2000, seed=6)
    assert first[0].equals(again[0]) and first[1].equals(again[1])
    assert not first[0].equals(other[0])
    assert not first[1].equals(other[1])
    a = generate_fixture(300, seed=5, orders=10)
    b = generate_fixture(300, seed=5, orders=10)
    c = generate_fixture(300, seed=6, orders=10)
    assert dump_fixture(a.fixture) == dump_fixture(b.fixture)
    assert dump_fixture(a.fixture) != dump_fixture(c.fixture)
    pd.testing.assert_frame_equal(a.manifest.expected, b.manifest.expected)


def test_anomaly_shares_match_the_mix():
    mix = AnomalyMix(
        blank_sku=0.05,
        duplicate_tiktok_sku=0.03,
        duplicate_store_sku=0.04,
        sku_case_punct=0.06,
        split_across_products=0.02,
        variant_count_mismatch=0.05,
        tiktok_only=0.1,
        barcode_only=0.03,
        store_only=0.08,
    )
    scenario = generate_fixture(20_000, seed=2, mix=mix)
    counts = scenario.manifest.anomaly_counts()
    products = len(scenario.manifest.products)
    for kind in [*KINDS[1:], "store_only"]:
        assert counts[kind] / products == pytest.approx(getattr(mix, kind), abs=0.002), kind
    assert counts["none"] == products - sum(counts[k] for k in KINDS[1:])


def test_clean_mix_maps_everything_and_mix_is_validated():
    _, _, expected = generate_tables_with_expected(500, seed=1, mix=AnomalyMix.clean())
    assert set(expected["status"]) == {"mapped"}
    with pytest.raises(ValueError, match="more than 1"):
        AnomalyMix(blank_sku=0.6, tiktok_only=0.6)
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        AnomalyMix(fba_share=1.5)


def test_tables_have_the_staged_variants_columns_and_insert(tmp_path):
    tiktok, store = generate_tables(5000, seed=3, store="amazon")
    assert tuple(tiktok.column_names) == STAGED_COLUMNS == tuple(store.column_names)
    assert tiktok.schema.field("price").type == pa.decimal128(18, 4)
    assert tiktok.num_rows == 5000
    assert 4500 < store.num_rows < 5500
    assert set(store.column("fulfillment").to_pylist()) == {"FBA", "MFN"}
    assert set(tiktok.column("channel").to_pylist()) == {"tiktok"}
    fba = store.column("fulfillment").to_pylist().count("FBA") / store.num_rows
    assert fba == pytest.approx(0.6, abs=0.08)
    options = json.loads(next(o for o in tiktok.column("options").to_pylist() if o != "{}"))
    assert set(options) in ({"Color", "Size"}, {"Shade", "Size"})
    with warehouse.open_shop("gen", folder=tmp_path) as con:
        for table in (tiktok, store):
            run = pa.array(["run-1"] * table.num_rows)
            warehouse.insert_frame(con, "staged_variants", table.append_column("run_id", run))
        rows = con.execute(
            "SELECT channel, count(*), sum(price) > 0 FROM staged_variants GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert rows == [("amazon", store.num_rows, True), ("tiktok", 5000, True)]


def test_fixture_loads_into_the_three_emulators():
    shopify = generate_fixture(400, seed=9, store="shopify", orders=25)
    amazon = generate_fixture(400, seed=9, store="amazon")
    # the JSON form round-trips through the validating model
    assert load_fixture(dump_fixture(shopify.fixture)) == shopify.fixture

    tt = tiktok_sandbox.create_app(shopify.fixture).state.emulator.snapshot()
    assert sum(len(p["skus"]) for p in tt["products"]) == 400
    assert len(tt["orders"]) == 25
    assert any(len(s["inventory"]) == 2 for p in tt["products"] for s in p["skus"])

    sh = shopify_sandbox.create_app(shopify.fixture).state.emulator.snapshot()
    fixture_variants = sum(len(p.variants) for p in shopify.fixture.shopify.products)
    assert sum(len(p["variants"]) for p in sh["products"]) == fixture_variants
    assert any(len(v["inventory"]) == 2 for p in sh["products"] for v in p["variants"])
    skus = [v["sku"] for p in sh["products"] for v in p["variants"]]
    assert len(skus) > len(set(skus))  # duplicate store SKUs made it in

    am = amazon_sandbox.create_app(amazon.fixture).state.emulator.snapshot()
    assert len(am["listings"]) == len(amazon.fixture.amazon.listings)
    parents = {x.parent_asin for x in amazon.fixture.amazon.listings if x.parent_asin}
    assert parents and len(am["families"]) == len(parents)
    assert am["fba"]  # some FBA listings


def test_manifest_ids_match_the_fixture():
    scenario = generate_fixture(300, seed=4)
    fx, expected = scenario.fixture, scenario.manifest.expected
    sku_ids = [s.id for p in fx.tiktok.products for s in p.skus]
    assert sku_ids == list(expected["tiktok_sku_id"])
    variant_ids = {v.id for p in fx.shopify.products for v in p.variants}
    mapped = expected[expected["status"] == "mapped"]
    assert set(mapped["store_variant_id"]) <= variant_ids
    suggested = expected[expected["anomaly"].isin(["sku_case_punct", "barcode_only"])]
    assert suggested["suggestion"].notna().all() and set(suggested["suggestion"]) <= variant_ids
    store_only = set(scenario.manifest.store_only)
    assert store_only and store_only <= {p.id for p in fx.shopify.products}
    # barcode-only SKUs share the barcode of the variant the suggestion names
    by_id = {v.id: v for p in fx.shopify.products for v in p.variants}
    tables = generate_tables(300, seed=4)[0].to_pandas().set_index("variant_id")
    for row in suggested[suggested["anomaly"] == "barcode_only"].itertuples():
        assert tables.loc[row.tiktok_sku_id, "barcode"] == by_id[row.suggestion].barcode


def test_orders_mix_and_unmapped_lines():
    scenario = generate_fixture(2000, seed=8, orders=200, orders_start=1_800_000_000)
    orders = scenario.fixture.orders
    frame = scenario.manifest.orders
    assert len(orders) == 200 == len(frame)
    assert set(frame["status"]) == {"AWAITING_SHIPMENT", "UNPAID", "ON_HOLD", "CANCELLED"}
    assert set(frame["shipping_type"]) == {"SELLER", "TIKTOK"}
    assert any(line.quantity > 1 for o in orders for line in o.lines)
    assert orders[0].create_time == 1_800_000_000 and orders[1].create_time == 1_800_000_060
    status = dict(zip(scenario.manifest.expected["tiktok_sku_id"],
                      scenario.manifest.expected["status"], strict=True))  # fmt: skip
    for order, row in zip(orders, frame.itertuples(), strict=True):
        unmapped = any(status[line.sku_id] == "unmapped" for line in order.lines)
        assert unmapped == row.has_unmapped_line
        assert order.recipient["phone"].startswith("(+1)555-")
    assert 0.05 < frame["has_unmapped_line"].mean() < 0.3


def test_cli_generate_writes_fixture_and_manifest(tmp_path):
    out, manifest = tmp_path / "fx.json", tmp_path / "manifest.json"
    result = CliRunner().invoke(
        cli,
        ["sandbox", "generate", "150", "--seed", "2", "--store", "amazon", "--out", str(out),
         "--manifest", str(manifest)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    fixture = load_fixture(out)
    assert sum(len(p.skus) for p in fixture.tiktok.products) == 150
    assert fixture.amazon.listings and not fixture.shopify.products
    data = json.loads(manifest.read_text())
    assert len(data["expected"]) == 150 and data["store"] == "amazon"


async def test_tiktok_barcodes_reach_the_connector():
    """barcode-only SKUs carry their barcode through the emulator's Get Product."""
    from connectors.tiktok import TikTokClient
    from sandbox.stack import sandbox_stack

    scenario = generate_fixture(120, seed=2)  # its barcode-only product has 5 variants
    expected = scenario.manifest.expected
    barcode_skus = set(expected[expected["anomaly"] == "barcode_only"]["tiktok_sku_id"])
    tables = generate_tables(120, seed=2)[0].to_pandas().set_index("variant_id")
    with sandbox_stack(scenario.fixture, throttle=False) as stack:
        client = TikTokClient(
            app_key=tiktok_sandbox.DEFAULT_APP_KEY,
            app_secret=tiktok_sandbox.DEFAULT_APP_SECRET,
            access_token=tiktok_sandbox.DEFAULT_ACCESS_TOKEN,
            shop_cipher=scenario.fixture.tiktok.shop_cipher,
            base_url=stack.urls["tiktok"],
            auth_base_url=stack.urls["tiktok"],
            rate_scale=0,
        )
        try:
            variants = [v async for page in client.iter_catalog() for v in page]
        finally:
            await client.aclose()
    barcodes = {v.variant_id: v.barcode for v in variants}
    assert len(barcodes) == 120
    got = {
        (v.product_id, v.variant_id, v.seller_sku or None, sum(v.stock.values()), v.price,
         v.variant_title)
        for v in variants
    }  # fmt: skip
    want = {
        (r["product_id"], r["variant_id"], r["seller_sku"] or None, r["quantity"], r["price"],
         r["variant_title"])
        for r in generate_tables(120, seed=2)[0].to_pylist()
    }  # fmt: skip
    assert got == want
    multi = {v.variant_id for v in variants if v.options}
    checked = barcode_skus & multi  # the connector reads Get Product for multi-SKU products
    assert checked
    for sku_id in checked:
        assert barcodes[sku_id] is not None
        assert barcodes[sku_id] == tables.loc[sku_id, "barcode"]


@pytest.mark.parametrize("store", ["shopify", "amazon"])
async def test_fixture_extracts_to_the_tables_through_the_connectors(store, point_at_stack):
    """Same arguments, same catalog: what the store connector extracts from the emulator
    loaded with the fixture equals the generated table (ids, SKUs, barcodes, stock)."""
    from connectors.factory import store_client
    from sandbox.stack import sandbox_stack
    from skubridge.config import load_shops

    scenario = generate_fixture(300, seed=5, store=store)
    _, table = generate_tables(300, seed=5, store=store)
    with sandbox_stack(scenario.fixture, throttle=False) as stack:
        shops = load_shops(point_at_stack(stack, [("gen", store)]))
        extra = {"report_poll_initial": 0.01, "report_poll_max": 0.05} if store == "amazon" else {}
        client = store_client(shops.get("gen"), rate_scale=0, **extra)
        try:
            variants = [v async for page in client.iter_catalog() for v in page]
        finally:
            await client.aclose()
    got = {
        (v.product_id, v.variant_id, v.seller_sku, v.barcode, sum(v.stock.values()), v.parent_id)
        for v in variants
    }
    want = {
        (r["product_id"], r["variant_id"], r["seller_sku"], r["barcode"], r["quantity"],
         r["parent_id"])
        for r in table.to_pylist()
    }  # fmt: skip
    assert got == want


def test_tiktok_products_have_distinct_update_times():
    # TikTok's product search is paged by update time beyond 10,000 results: a catalog
    # whose products share one update time could not be read past that window.
    from sandbox.generator import generate_fixture

    products = generate_fixture(400, seed=5).fixture.tiktok.products
    times = [p.update_time for p in products]
    assert len(set(times)) == len(times)


def test_untracked_continue_selling_and_multi_warehouse_knobs():
    plain = generate_fixture(400, seed=5)
    variants = [v for p in plain.fixture.shopify.products for v in p.variants]
    assert all(v.tracked and v.inventory_policy == "DENY" for v in variants)  # default: none

    mix = AnomalyMix(untracked_share=0.05, continue_selling_share=0.05, multi_warehouse_share=1)
    scenario = generate_fixture(400, seed=5, mix=mix)
    variants = [v for p in scenario.fixture.shopify.products for v in p.variants]
    untracked = [v for v in variants if not v.tracked]
    keep_selling = [v for v in variants if v.inventory_policy == "CONTINUE"]
    assert 0.02 < len(untracked) / len(variants) < 0.1
    assert 0.02 < len(keep_selling) / len(variants) < 0.1
    assert not {v.id for v in untracked} & {v.id for v in keep_selling}
    # every TikTok SKU lists both warehouses (several warehouses per SKU)
    skus = [s for p in scenario.fixture.tiktok.products for s in p.skus]
    assert all(len(s.inventory) == 2 for s in skus)
    # the other draws of the seed are unchanged by the new knobs
    assert [v.sku for v in variants] == [
        v.sku for p in plain.fixture.shopify.products for v in p.variants
    ]
    # the emulator serves them (ProductVariant.inventoryPolicy, InventoryItem.tracked)
    sh = shopify_sandbox.create_app(scenario.fixture).state.emulator.snapshot()
    served = {v["id"]: v for p in sh["products"] for v in p["variants"]}
    assert all(served[v.id]["tracked"] is False for v in untracked)
    assert all(served[v.id]["inventory_policy"] == "CONTINUE" for v in keep_selling)

    tiny = generate_fixture(
        60, seed=3, mix=AnomalyMix(untracked_share=0.001, continue_selling_share=0.001)
    )
    tiny_variants = [v for p in tiny.fixture.shopify.products for v in p.variants]
    mapped = set(tiny.manifest.expected["store_variant_id"].dropna())
    assert any(not v.tracked and v.id in mapped for v in tiny_variants)  # at_least_one
    assert any(v.inventory_policy == "CONTINUE" and v.id in mapped for v in tiny_variants)
