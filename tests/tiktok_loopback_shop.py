"""The small TikTok shop the loop-back tests ship from: one warehouse, a tee and a mug, a
seller-shipped order and a TikTok-shipped one (connector and emulator tests alike)."""

from __future__ import annotations

from typing import Any

from sandbox.fixture import Fixture
from sandbox.tiktok.loopback import DEFAULT_PROVIDERS

WH1 = "7000000000000000001"
SELLER_ORDER, TIKTOK_ORDER = "5760000000000000001", "5760000000000000002"
TEE, MUG = "1729000000000000011", "1729000000000000021"
USPS, UPS = DEFAULT_PROVIDERS[0][0], DEFAULT_PROVIDERS[1][0]


def loopback_shop(*more_orders: dict[str, Any]) -> Fixture:
    """The shop, with ``more_orders`` (fixture order entries) after the two orders."""
    return Fixture.model_validate(
        {
            "tiktok": {
                "warehouses": [{"id": WH1, "name": "Main", "is_default": True}],
                "products": [
                    {
                        "id": "1729000000000000001",
                        "title": "Tee",
                        "skus": [{"id": TEE, "seller_sku": "TEE-S", "inventory": {WH1: 9}}],
                    },
                    {
                        "id": "1729000000000000002",
                        "title": "Mug",
                        "skus": [{"id": MUG, "seller_sku": "MUG", "inventory": {WH1: 9}}],
                    },
                ],
            },
            "orders": [
                {
                    "id": SELLER_ORDER,
                    "lines": [{"seller_sku": "TEE-S", "quantity": 3}, {"seller_sku": "MUG"}],
                },
                {
                    "id": TIKTOK_ORDER,
                    "shipping_type": "TIKTOK",
                    "lines": [{"seller_sku": "MUG", "quantity": 2}],
                },
                *more_orders,
            ],
        }
    )
