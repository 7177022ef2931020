"""The TikTok attributes cache: Get Product only for products that are new or changed.

Counts Get Product calls through the TikTok emulator's request log
(``GET /_sandbox/requests``), never by timing.
"""

from __future__ import annotations

import json

import pytest

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.steps.catalog import run_catalog
from tasks.steps.push import run_push
from tasks.warehouse import open_shop
from tests.sandbox_env import point_at

FIXTURE = {
    "tiktok": {
        "products": [
            {  # mapped to the store's Tee
                "title": "Tee",
                "skus": [
                    {"seller_sku": "TEE-S", "price": "10", "sales_attributes": {"Size": "S"}},
                    {"seller_sku": "TEE-M", "price": "10", "sales_attributes": {"Size": "M"}},
                ],
            },
            {  # unmapped: the store has no such SKUs
                "title": "Hoodie",
                "skus": [
                    {"seller_sku": "HD-S", "price": "30", "sales_attributes": {"Size": "S"}},
                    {"seller_sku": "HD-L", "price": "30", "sales_attributes": {"Size": "L"}},
                ],
            },
            {"title": "Mug", "skus": [{"seller_sku": "MUG-1", "price": "7"}]},
        ]
    },
    "shopify": {
        "products": [
            {
                "title": "Tee",
                "variants": [
                    {"sku": "TEE-S", "price": "12", "options": {"Size": "S"}},
                    {"sku": "TEE-M", "price": "12", "options": {"Size": "M"}},
                ],
            },
        ]
    },
}


@pytest.fixture
def sandbox(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        point_at(
            stack,
            [("acme", "shopify")],
            tmp_path=tmp_path,
            monkeypatch=monkeypatch,
            incremental=True,
        )
        yield stack


def _get_product_calls(stack) -> int:
    return stack.admin("tiktok", "GET", "requests").get("product.get", 0)


def _reset(stack) -> None:
    stack.admin("tiktok", "DELETE", "requests")


def _product_id(stack, title: str) -> str:
    tiktok = stack.emulator("tiktok")
    return next(p.id for p in tiktok.products.values() if p.title == title)


def _options(shop_id: str) -> dict[str, str]:
    """Seller SKU -> options of the accepted TikTok catalog."""
    with open_shop(shop_id, read_only=True) as con:
        rows = con.execute(
            "SELECT seller_sku, CAST(options AS VARCHAR) FROM catalog_variants "
            "WHERE channel = 'tiktok'"
        ).fetchall()
    return {sku: json.loads(opts) for sku, opts in rows}


def test_unchanged_shop_makes_no_get_product_call(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    assert _get_product_calls(sandbox) == 2  # both multi-SKU products, read once
    assert _options("acme")["HD-L"] == {"Size": "L"}

    _reset(sandbox)
    summary = run_catalog(shop, run_id="c2")  # incremental: nothing changed, nothing read
    assert summary.extract["tiktok"]["kind"] == "incremental"
    assert _get_product_calls(sandbox) == 0

    _reset(sandbox)
    summary = run_catalog(shop, run_id="c3", full=True)  # every product, none read again
    assert summary.extract["tiktok"]["kind"] == "full"
    assert _get_product_calls(sandbox) == 0
    assert summary.extract["tiktok"]["attributes"] == {"cached": 2, "fetched": 0}
    # the options still reach the catalog, from the cache
    assert _options("acme")["HD-L"] == {"Size": "L"}
    assert _options("acme")["TEE-M"] == {"Size": "M"}


def test_changed_unmapped_product_is_read_again_mapped_one_after_a_push_is_not(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    # the push writes the Tee's price (12 in the store), which moves its update_time
    outcome = run_push(shop, run_id="p1")
    assert outcome.counts["updated"] == 2
    tiktok = sandbox.emulator("tiktok")
    hoodie = tiktok.products[_product_id(sandbox, "Hoodie")]
    hoodie.update_time = tiktok.now()
    hoodie.skus[1].sales_attributes = {"Size": "XL"}

    _reset(sandbox)
    summary = run_catalog(shop, run_id="c2")
    assert _get_product_calls(sandbox) == 1  # the Hoodie only
    assert summary.extract["tiktok"]["attributes"] == {"cached": 1, "fetched": 1}
    assert _options("acme")["HD-L"] == {"Size": "XL"}

    _reset(sandbox)
    run_catalog(shop, run_id="c3", full=True)
    assert _get_product_calls(sandbox) == 0


def test_a_product_with_a_new_sku_is_read_again_even_when_mapped(sandbox):
    shop = load_shops().get("acme")
    run_catalog(shop, run_id="c1")
    tiktok = sandbox.emulator("tiktok")
    tee = tiktok.products[_product_id(sandbox, "Tee")]
    extra = type(tee.skus[0])(
        "99000001", "TEE-L", tee.skus[0].price, tee.skus[0].currency, {}, {"Size": "L"}
    )
    tee.skus.append(extra)
    tiktok.sku_index[extra.id] = tee
    tee.update_time = tiktok.now()

    _reset(sandbox)
    run_catalog(shop, run_id="c2")
    assert _get_product_calls(sandbox) == 1
    assert _options("acme")["TEE-L"] == {"Size": "L"}
