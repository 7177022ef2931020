"""Shared pieces of the relay tests: a sandbox scenario, mapping rows, order helpers.

(Named test_relay_* so it sits with the relay tests; it holds no tests itself.)
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from sandbox.fixture import Fixture
from sandbox.stack import SandboxStack
from skubridge.config import ShopConfig, load_shops
from tasks.warehouse import insert_frame, open_shop
from tests.sandbox_env import point_at

LOC = "gid://shopify/Location/1"
# TikTok SKU id -> (seller SKU, Shopify variant GID, Amazon fulfilment)
SKUS: dict[str, tuple[str, str, str]] = {
    "1001001": ("TEE-S", "gid://shopify/ProductVariant/11", "FBA"),
    "1001002": ("TEE-M", "gid://shopify/ProductVariant/12", "FBA"),
    "1002001": ("MUG-1", "gid://shopify/ProductVariant/21", "MFN"),
    "1003001": ("CAP-1", "gid://shopify/ProductVariant/31", "FBA"),
}
PRODUCT_OF = {"1001001": "1001", "1001002": "1001", "1002001": "1002", "1003001": "1003"}
SHOPIFY_PRODUCT_OF = {"1001": "gid://shopify/Product/1", "1002": "gid://shopify/Product/2"}
SHOPIFY_PRODUCT_OF["1003"] = "gid://shopify/Product/3"


def scenario() -> Fixture:
    """Three TikTok products, the same three in Shopify and on Amazon (the mug is MFN)."""
    return Fixture.model_validate(
        {
            "tiktok": {
                "products": [
                    {
                        "id": "1001",
                        "title": "Tee",
                        "skus": [
                            {"id": "1001001", "seller_sku": "TEE-S", "price": "10.00"},
                            {"id": "1001002", "seller_sku": "TEE-M", "price": "12.50"},
                        ],
                    },
                    {
                        "id": "1002",
                        "title": "Mug",
                        "skus": [{"id": "1002001", "seller_sku": "MUG-1", "price": "8.00"}],
                    },
                    {
                        "id": "1003",
                        "title": "Cap",
                        "skus": [{"id": "1003001", "seller_sku": "CAP-1", "price": "15.00"}],
                    },
                ]
            },
            "shopify": {
                "products": [
                    {
                        "id": "gid://shopify/Product/1",
                        "title": "Tee",
                        "variants": [
                            {
                                "id": "gid://shopify/ProductVariant/11",
                                "sku": "TEE-S",
                                "inventory": {LOC: 5000},
                            },
                            {
                                "id": "gid://shopify/ProductVariant/12",
                                "sku": "TEE-M",
                                "inventory": {LOC: 5000},
                            },
                        ],
                    },
                    {
                        "id": "gid://shopify/Product/2",
                        "title": "Mug",
                        "variants": [
                            {
                                "id": "gid://shopify/ProductVariant/21",
                                "sku": "MUG-1",
                                "inventory": {LOC: 5000},
                            }
                        ],
                    },
                    {
                        "id": "gid://shopify/Product/3",
                        "title": "Cap",
                        "variants": [
                            {
                                "id": "gid://shopify/ProductVariant/31",
                                "sku": "CAP-1",
                                "inventory": {LOC: 5000},
                            }
                        ],
                    },
                ]
            },
            "amazon": {
                "listings": [
                    {"sku": "TEE-S", "fulfillment": "FBA", "quantity": 5000},
                    {"sku": "TEE-M", "fulfillment": "FBA", "quantity": 5000},
                    {"sku": "MUG-1", "fulfillment": "MFN", "quantity": 5000},
                    {"sku": "CAP-1", "fulfillment": "FBA", "quantity": 5000},
                ]
            },
        }
    )


def shop_config(stack: SandboxStack, tmp_path: Path, store: str, monkeypatch: Any) -> ShopConfig:
    """The sandbox shop ('sh' for Shopify, 'az' for Amazon) with credentials in the env."""
    path = point_at(
        stack, [("sh", "shopify"), ("az", "amazon")], tmp_path=tmp_path, monkeypatch=monkeypatch
    )
    return load_shops(path).get("sh" if store == "shopify" else "az")


def map_skus(shop: ShopConfig, sku_ids: list[str], *, mapped_at: datetime | None = None) -> None:
    """Insert mapping rows (and the store's catalog rows) straight into the shop's DuckDB."""
    when = mapped_at or datetime.now(UTC) - timedelta(days=1)
    amazon = shop.store == "amazon"
    rows = []
    for sku_id in sku_ids:
        seller_sku, gid, _ = SKUS[sku_id]
        rows.append(
            {
                "tiktok_sku_id": sku_id,
                "tiktok_product_id": PRODUCT_OF[sku_id],
                "seller_sku": seller_sku,
                "store_product_id": seller_sku
                if amazon
                else SHOPIFY_PRODUCT_OF[PRODUCT_OF[sku_id]],
                "store_variant_id": seller_sku if amazon else gid,
                "method": "auto",
                "mapped_at": when,
                "run_id": "test",
            }
        )
    catalog = [
        {
            "run_id": "test",
            "channel": shop.store,
            "product_id": seller_sku if amazon else SHOPIFY_PRODUCT_OF[PRODUCT_OF[sku_id]],
            "variant_id": seller_sku if amazon else gid,
            "seller_sku": seller_sku,
            "fulfillment": fulfillment if amazon else None,
            "extracted_at": datetime.now(UTC),
        }
        for sku_id, (seller_sku, gid, fulfillment) in SKUS.items()
    ]
    with open_shop(shop.id) as con:
        con.execute("DELETE FROM mappings WHERE list_contains(?, tiktok_sku_id)", [list(sku_ids)])
        insert_frame(con, "mappings", pd.DataFrame(rows))
        con.execute("DELETE FROM catalog_variants WHERE channel = ?", [shop.store])
        insert_frame(con, "catalog_variants", pd.DataFrame(catalog))


def reset_stack(stack: SandboxStack, *, clear_requests: bool = False) -> SandboxStack:
    """The shared stack back at :func:`scenario`: catalogs reloaded, every fault cleared,
    and with ``clear_requests`` the emulators' request counters too."""
    stack.load(scenario())
    for name in ("tiktok", "shopify", "amazon"):
        stack.admin(name, "PUT", "faults", json={})
        if clear_requests:
            stack.admin(name, "DELETE", "requests")
    return stack


def add_orders(stack: SandboxStack, *orders: dict[str, Any]) -> list[str]:
    """Create TikTok orders through the emulator admin API; returns their ids."""
    return stack.admin("tiktok", "POST", "orders", json=list(orders))["ids"]


def order(*lines: tuple[str, int], **extra: Any) -> dict[str, Any]:
    """An order dict for :func:`add_orders`: lines as (TikTok SKU id, quantity)."""
    body: dict[str, Any] = {
        "status": "AWAITING_SHIPMENT",
        "lines": [{"sku_id": s, "quantity": q} for s, q in lines],
    }
    body.update(extra)
    return body


def set_status(stack: SandboxStack, order_id: str, status: str) -> None:
    """Move a TikTok order (emulator admin); waits a second so update_time moves on."""
    time.sleep(1.05)
    stack.admin("tiktok", "POST", f"orders/{order_id}/status", json={"status": status})


def store_orders(stack: SandboxStack, store: str) -> dict[str, int]:
    """How many store orders exist per TikTok order id (from the emulator's state)."""
    snap = stack.emulator(store).snapshot()
    counts: dict[str, int] = {}
    if store == "shopify":
        for o in snap["orders"]:
            counts[o["source_identifier"]] = counts.get(o["source_identifier"], 0) + 1
    else:
        for o in snap["mcf_orders"]:
            key = o["displayableOrderId"]
            counts[key] = counts.get(key, 0) + 1
    return counts


def report_by_id(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Order report rows keyed by TikTok order id."""
    return {r["tiktok_order_id"]: r for r in frame.to_dict("records")}
