"""Amazon incremental reads: FBA inventory changed since (``getInventorySummaries``
``startDateTime``, https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference),
the listings report only on full reads."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.steps.catalog import run_catalog
from tasks.warehouse import open_shop
from tests.sandbox_env import point_at

FIXTURE = {
    "tiktok": {
        "products": [
            {"title": f"Item {i}", "skus": [{"seller_sku": f"SKU-{i}", "price": "10"}]}
            for i in range(6)
        ]
    },
    "amazon": {
        "listings": [
            {
                "sku": f"SKU-{i}",
                "price": "10",
                "quantity": 5,
                "fulfillment": "FBA" if i < 4 else "MFN",
            }
            for i in range(6)
        ]
    },
}


@pytest.fixture
def sandbox(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        day_ago = time.time() - 86_400
        for listing in stack.emulator("amazon").listings.values():
            listing.updated = day_ago
        for product in stack.emulator("tiktok").products.values():
            product.update_time = int(day_ago)
        point_at(
            stack,
            [("acme", "amazon")],
            tmp_path=tmp_path,
            monkeypatch=monkeypatch,
            incremental=True,
        )
        yield stack


def _catalog() -> dict[str, tuple[str, Decimal, int]]:
    with open_shop("acme", read_only=True) as con:
        rows = con.execute(
            "SELECT seller_sku, product_id, price, quantity FROM catalog_variants "
            "WHERE channel = 'amazon'"
        ).fetchall()
    return {sku: (pid, price, qty) for sku, pid, price, qty in rows}


def test_fba_stock_changes_are_read_incrementally_listings_on_the_full_read(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    before = _catalog()
    listings = sandbox.emulator("amazon").listings
    listings["SKU-1"].quantity, listings["SKU-1"].updated = 9, time.time()  # FBA stock
    listings["SKU-5"].price, listings["SKU-5"].updated = Decimal("12"), time.time()  # MFN
    sandbox.admin("amazon", "DELETE", "requests")

    second = run_catalog(shop, run_id="c2")
    assert second.extract["amazon"]["kind"] == "incremental"
    assert second.extract["amazon"]["rows"] == 1  # only the FBA SKU whose stock changed
    calls = sandbox.admin("amazon", "GET", "requests")
    calls.pop("lwaToken", None)  # the new client's access token
    assert calls == {"getInventorySummaries": 1}  # no listings report, no families search
    after = _catalog()
    assert after["SKU-1"] == (before["SKU-1"][0], before["SKU-1"][1], 9)  # listing data kept
    assert after["SKU-5"] == before["SKU-5"]  # a listing change waits for the full read
    with open_shop("acme", read_only=True) as con:
        mapped = con.execute("SELECT count(*) FROM mappings").fetchone()
    assert mapped == (6,)

    run_catalog(shop, run_id="c3", full=True)
    assert _catalog()["SKU-5"][1] == Decimal("12")
