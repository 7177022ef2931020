"""Relinked SKUs keep their orders (issue: trust, item 1), against the sandbox.

The store product is re-created with new ids (``sandbox.shopify.state.recreate_product``),
the catalog step relinks its SKUs by seller SKU, and orders placed while the SKUs were
linked (to the old ids) are still relayed: ``BEFORE_MAPPING`` means no link at all.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from test_relay_kit import (
    add_orders,
    order,
    report_by_id,
    reset_stack,
    scenario,
    set_status,
    shop_config,
)

from sandbox.stack import SandboxStack
from tasks.relay import RelayOutcome
from tasks.steps.catalog import run_catalog
from tasks.steps.orders import run_orders
from tasks.warehouse import open_shop

TEE = "gid://shopify/Product/1"


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    return reset_stack(stack)


_runs = iter(range(1, 10_000))


def relay(shop: Any) -> RelayOutcome:
    return run_orders(shop, run_id=f"relay-{next(_runs)}")


def catalog(shop: Any) -> None:
    outcome = run_catalog(shop, run_id=f"catalog-{next(_runs)}")
    assert outcome.mapping is not None and outcome.mapping["mapped_skus"] == 4


def shopify_orders(stack: SandboxStack) -> dict[str, list[str]]:
    """TikTok order id -> the variant GIDs of its store order lines."""
    snap = stack.emulator("shopify").snapshot()
    return {o["source_identifier"]: [ln["variant_id"] for ln in o["lines"]] for o in snap["orders"]}


def mapped_variant(shop: Any, sku_id: str) -> str:
    with open_shop(shop.id) as con:
        row = con.execute(
            "SELECT store_variant_id FROM mappings WHERE tiktok_sku_id = ?", [sku_id]
        ).fetchone()
    assert row is not None
    return str(row[0])


def test_on_hold_order_survives_a_relink(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    catalog(shop)
    time.sleep(1.1)  # TikTok times are whole seconds: the order comes after the link
    [oid] = add_orders(sandbox, order(("1001001", 1), status="ON_HOLD"))
    assert report_by_id(relay(shop).frame())[oid]["reason"] == "NOT_READY"

    renamed = sandbox.emulator("shopify").state.recreate_product(TEE)
    time.sleep(1.1)
    catalog(shop)  # relinked to the new variant ids: mapped_at is now later than the order
    new_variant = renamed["gid://shopify/ProductVariant/11"]
    assert mapped_variant(shop, "1001001") == new_variant

    set_status(sandbox, oid, "AWAITING_SHIPMENT")
    row = report_by_id(relay(shop).frame())[oid]
    assert row["reason"] == "RELAYED", row
    assert shopify_orders(sandbox) == {oid: [new_variant]}


def test_store_rejected_order_is_retried_after_the_product_is_re_created(
    sandbox, tmp_path, monkeypatch
):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    catalog(shop)
    time.sleep(1.1)
    [oid] = add_orders(sandbox, order(("1001002", 2)))
    renamed = sandbox.emulator("shopify").state.recreate_product(TEE)  # old variant gone

    first = report_by_id(relay(shop).frame())[oid]
    assert first["reason"] == "STORE_REJECTED", first
    assert shopify_orders(sandbox) == {}

    time.sleep(1.1)
    catalog(shop)
    second = report_by_id(relay(shop).frame())[oid]
    assert second["reason"] == "RELAYED", second
    assert shopify_orders(sandbox) == {oid: [renamed["gid://shopify/ProductVariant/12"]]}


def test_an_order_placed_in_a_gap_between_links_is_historical(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    catalog(shop)
    with open_shop(shop.id) as con:  # the cap loses its link (as unmap would), then gets it back
        con.execute("DELETE FROM mappings WHERE tiktok_sku_id = '1003001'")
        from tasks.link_history import record_links

        record_links(con)
    time.sleep(1.1)
    [gap] = add_orders(sandbox, order(("1003001", 1)))
    time.sleep(1.1)
    catalog(shop)
    time.sleep(1.1)
    [after] = add_orders(sandbox, order(("1003001", 1)))
    rows = report_by_id(relay(shop).frame())
    assert (rows[gap]["reason"], rows[after]["reason"]) == ("BEFORE_MAPPING", "RELAYED")
