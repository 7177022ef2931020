"""A push of what changed (store-change events): reads both sides' changes, writes only
those SKUs, through the guards and the ledger. Calls are counted through the emulators'
request logs (``GET /_sandbox/requests``)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.fixture import DEFAULT_WAREHOUSE, load_fixture
from sandbox.shopify.state import now_iso
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.changes import ChangeSetRefused
from tasks.steps.catalog import run_catalog
from tasks.steps.push import run_push
from tasks.warehouse import open_shop
from tests.sandbox_env import point_at

FIXTURE = {
    "tiktok": {
        "products": [
            {
                "title": f"Item {i}",
                "skus": [
                    {
                        "seller_sku": f"SKU-{i}",
                        "price": "10",
                        "inventory": {DEFAULT_WAREHOUSE: 5},
                    }
                ],
            }
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
LONG_AGO = "2020-01-01T00:00:00Z"


@pytest.fixture
def sandbox(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        state = stack.emulator("shopify").state
        for variant in state.variants.values():
            variant.updated_at = LONG_AGO
        for item in state.items.values():
            for level in item.levels.values():
                level.updated_at = LONG_AGO
        for product in stack.emulator("tiktok").products.values():
            product.update_time = 1_577_836_800
        point_at(
            stack,
            [("acme", "shopify")],
            tmp_path=tmp_path,
            monkeypatch=monkeypatch,
            incremental=True,
        )
        yield stack


def _store(stack, sku: str):
    state = stack.emulator("shopify").state
    item = next(i for i in state.items.values() if i.sku == sku)
    return state.variants[item.variant_id], item.levels["gid://shopify/Location/1"]


def _tiktok_sku(stack, seller_sku: str):
    tiktok = stack.emulator("tiktok")
    return next(s for p in tiktok.products.values() for s in p.skus if s.seller_sku == seller_sku)


def _requests(stack, name: str) -> dict[str, int]:
    return stack.admin(name, "GET", "requests")


def test_push_of_what_changed_writes_only_the_changed_skus(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    assert run_push(shop, run_id="p1").counts["updated"] == 0  # in step already

    variant, _ = _store(sandbox, "SKU-5")
    variant.price, variant.updated_at = Decimal("12"), now_iso()  # a product edit
    _, level = _store(sandbox, "SKU-2")
    level.available, level.on_hand, level.updated_at = 3, 3, now_iso()  # a stock change
    hidden, _ = _store(sandbox, "SKU-7")
    hidden.price = Decimal("15")  # not stamped: no change query can see it
    for name in ("tiktok", "shopify"):
        sandbox.admin(name, "DELETE", "requests")

    outcome = run_push(shop, run_id="p2", changed_only=True)
    assert outcome.ok, outcome.message
    assert outcome.changed_skus == 2
    assert outcome.mapped == 10  # the guards judged the whole mapped catalog
    assert outcome.counts["updated"] == 2
    assert _tiktok_sku(sandbox, "SKU-5").price == Decimal("12")
    assert _tiktok_sku(sandbox, "SKU-2").inventory[DEFAULT_WAREHOUSE] == 3
    assert _tiktok_sku(sandbox, "SKU-7").price == Decimal("10")  # not in the change set
    tiktok = _requests(sandbox, "tiktok")
    assert tiktok.get("product.update_price") == 1
    assert tiktok.get("product.update_inventory") == 1
    assert "product.get" not in tiktok
    with open_shop("acme", read_only=True) as con:
        written = con.execute(
            "SELECT count(*) FROM push_report WHERE run_id = 'p2' AND status = 'UPDATED'"
        ).fetchone()
        store_price = con.execute(
            "SELECT price FROM catalog_variants WHERE channel = 'shopify' AND seller_sku = 'SKU-5'"
        ).fetchone()
    assert written == (2,)
    assert store_price == (Decimal("12"),)  # the fresh store value was merged


def test_a_change_set_zeroing_the_store_is_refused_and_nothing_is_written(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    state = sandbox.emulator("shopify").state
    for item in state.items.values():
        for level in item.levels.values():
            level.available, level.on_hand, level.updated_at = 0, 0, now_iso()
    sandbox.admin("tiktok", "DELETE", "requests")

    with pytest.raises(ChangeSetRefused, match="change_set_not_zeroing_stock"):
        run_push(shop, run_id="p2", changed_only=True)
    tiktok = _requests(sandbox, "tiktok")
    assert "product.update_inventory" not in tiktok
    assert _tiktok_sku(sandbox, "SKU-1").inventory[DEFAULT_WAREHOUSE] == 5


def test_a_shop_without_change_reads_runs_the_catalog_step_first(sandbox, tmp_path, monkeypatch):
    path = sandbox.write_shops_file(tmp_path / "full.toml", [("acme", "shopify")])
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    variant, _ = _store(sandbox, "SKU-7")
    variant.price = Decimal("15")  # unstamped, but a full read sees it

    outcome = run_push(shop, run_id="p2", changed_only=True)
    assert outcome.changed_skus is None  # everything mapped was planned
    assert outcome.counts["updated"] == 1
    assert _tiktok_sku(sandbox, "SKU-7").price == Decimal("15")
    with open_shop("acme", read_only=True) as con:
        ran = con.execute("SELECT status FROM runs WHERE run_id = 'p2-catalog'").fetchone()
    assert ran == ("COMPLETED",)
