"""Incremental catalog extracts against the emulators: changes merged, deletions by the
full reconciliation, a change set that zeroes the stock held for review.

The emulators filter as the APIs document: TikTok Search Products ``update_time_ge``
(https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369), Shopify
``productVariants(query: "updated_at:>=...")`` and ``Location.inventoryLevels(query:
"updated_at:>=...")`` (https://shopify.dev/docs/api/usage/search-syntax).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.fixture import load_fixture
from sandbox.shopify.state import now_iso
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.steps.catalog import CatalogStepError, run_catalog
from tasks.warehouse import open_shop
from tests.sandbox_env import point_at

LONG_AGO = "2020-01-01T00:00:00Z"

FIXTURE = {
    "tiktok": {
        "products": [
            {"title": f"Item {i}", "skus": [{"seller_sku": f"SKU-{i}", "price": "10"}]}
            for i in range(10)
        ]
    },
    "shopify": {
        "products": [
            {
                "title": f"Item {i}",
                "variants": [
                    {
                        "sku": f"SKU-{i}",
                        "price": "10",
                        "inventory": {"gid://shopify/Location/1": 5},
                    }
                ],
            }
            for i in range(10)
        ]
    },
}


def _backdate(stack) -> None:
    """Everything loaded counts as changed long ago (the loader stamps 'now')."""
    state = stack.emulator("shopify").state
    for variant in state.variants.values():
        variant.updated_at = LONG_AGO
    for item in state.items.values():
        item.updated_at = LONG_AGO
        for level in item.levels.values():
            level.updated_at = LONG_AGO
    for product in stack.emulator("tiktok").products.values():
        product.update_time = 1_577_836_800  # 2020-01-01


@pytest.fixture
def sandbox(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        _backdate(stack)
        point_at(
            stack,
            [("acme", "shopify")],
            tmp_path=tmp_path,
            monkeypatch=monkeypatch,
            incremental=True,
        )
        yield stack


def _catalog(channel: str) -> dict[str, tuple[Decimal, int]]:
    """Seller SKU -> (price, quantity) of the accepted catalog of one side."""
    with open_shop("acme", read_only=True) as con:
        rows = con.execute(
            "SELECT seller_sku, price, quantity FROM catalog_variants WHERE channel = ?",
            [channel],
        ).fetchall()
    return {sku: (price, qty) for sku, price, qty in rows}


def _shopify_variant(stack, sku: str):
    state = stack.emulator("shopify").state
    item = next(i for i in state.items.values() if i.sku == sku)
    return state.variants[item.variant_id], item


def test_changed_and_new_items_are_merged_deletions_wait_for_the_full_read(sandbox):
    shop = load_shops().get("acme")
    first = run_catalog(shop, run_id="c1")
    assert first.extract["tiktok"]["kind"] == "full"
    assert first.extract["shopify"]["kind"] == "full"
    assert len(_catalog("shopify")) == 10

    shopify = sandbox.emulator("shopify").state
    tiktok = sandbox.emulator("tiktok")
    # Shopify: a price edit (moves the variant's updated_at), a stock change (moves only the
    # inventory level's updated_at), a new product; one product deleted.
    variant, _ = _shopify_variant(sandbox, "SKU-1")
    variant.price, variant.updated_at = Decimal("12.50"), now_iso()
    _, item = _shopify_variant(sandbox, "SKU-2")
    level = item.levels["gid://shopify/Location/1"]
    level.available, level.on_hand, level.updated_at = 42, 42, now_iso()
    victim, _ = _shopify_variant(sandbox, "SKU-9")
    del shopify.variants[victim.id]
    del shopify.items[victim.inventory_item_id]
    del shopify.products[victim.product_id]
    stack_fixture = load_fixture(
        {
            "shopify": {
                "products": [
                    {
                        "id": "gid://shopify/Product/900",
                        "title": "New",
                        "variants": [
                            {
                                "id": "gid://shopify/ProductVariant/900",
                                "sku": "SKU-NEW",
                                "price": "3",
                                "inventory": {"gid://shopify/Location/1": 7},
                            }
                        ],
                    }
                ]
            }
        }
    )
    shopify._add_product(stack_fixture.shopify.products[0])
    # TikTok: a price change on one product, one product deleted.
    product = next(p for p in tiktok.products.values() if p.title == "Item 3")
    product.skus[0].price, product.update_time = Decimal("11"), tiktok.now()
    gone = next(p for p in tiktok.products.values() if p.title == "Item 8")
    del tiktok.products[gone.id]

    second = run_catalog(shop, run_id="c2")
    assert second.extract["tiktok"]["kind"] == "incremental"
    assert second.extract["shopify"]["kind"] == "incremental"
    assert second.extract["tiktok"]["rows"] == 1  # only the changed product was read
    assert second.extract["shopify"]["rows"] == 3  # price edit, stock change, new product
    store = _catalog("shopify")
    assert store["SKU-1"][0] == Decimal("12.5")
    assert store["SKU-2"][1] == 42
    assert store["SKU-NEW"] == (Decimal("3"), 7)
    assert "SKU-9" in store  # an incremental read cannot see a deletion
    assert _catalog("tiktok")["SKU-3"][0] == Decimal("11")
    assert "SKU-8" in _catalog("tiktok")
    with open_shop("acme", read_only=True) as con:
        snapshot = con.execute(
            "SELECT variants FROM catalog_snapshots WHERE run_id = 'c2' AND channel = 'shopify'"
        ).fetchone()
    assert snapshot == (11,)  # the merged catalog's size

    third = run_catalog(shop, run_id="c3", full=True)
    assert third.extract["shopify"]["kind"] == "full"
    assert "SKU-9" not in _catalog("shopify")
    assert "SKU-8" not in _catalog("tiktok")
    assert len(_catalog("shopify")) == 10


def test_a_change_set_that_zeroes_most_stock_is_held(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    state = sandbox.emulator("shopify").state
    for item in state.items.values():
        for level in item.levels.values():
            level.available, level.on_hand, level.updated_at = 0, 0, now_iso()

    with pytest.raises(CatalogStepError) as failed:
        run_catalog(shop, run_id="c2")
    assert "change_set_not_zeroing_stock" in str(failed.value)
    assert all(qty == 5 for _, qty in _catalog("shopify").values())  # nothing merged

    # the full read of the same data is a catalog, not a change set: it is accepted
    run_catalog(shop, run_id="c3", full=True)
    assert all(qty == 0 for _, qty in _catalog("shopify").values())


def test_a_shop_can_turn_incremental_reads_off(sandbox, tmp_path, monkeypatch):
    path = tmp_path / "shops-full.toml"
    path.write_text(
        sandbox.shop_toml("acme", "shopify"),  # the sandbox's shops file reads in full
        encoding="utf-8",
    )
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    second = run_catalog(shop, run_id="c2")
    assert second.extract["tiktok"]["kind"] == "full"
    assert second.extract["shopify"]["kind"] == "full"
