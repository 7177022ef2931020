"""The sandbox fixture format: one JSON document describing a scenario for all emulators.

Written by hand or by :mod:`sandbox.generator`. Omitted fields get defaults and omitted
ids are generated deterministically (from the position in the file), so a hand-written
fixture can stay short::

    {"tiktok":  {"products": [{"title": "Tee", "skus": [{"seller_sku": "TEE-S", "price": "10"}]}]},
     "shopify": {"products": [{"title": "Tee", "variants": [{"sku": "TEE-S", "price": "10"}]}]},
     "amazon":  {"listings": [{"sku": "TEE-S", "price": "10", "fulfillment": "FBA"}]},
     "orders":  [{"status": "AWAITING_SHIPMENT", "lines": [{"seller_sku": "TEE-S"}]}]}

See sandbox/README.md for every field.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

DEFAULT_WAREHOUSE = "7000000000000000001"
DEFAULT_LOCATION = "gid://shopify/Location/1"


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TikTokSku(_M):
    id: str | None = None
    seller_sku: str | None = ""
    price: Decimal = Decimal("10.00")
    currency: str = "USD"
    inventory: dict[str, int] = Field(default_factory=dict)  # warehouse id -> quantity
    sales_attributes: dict[str, str] = Field(default_factory=dict)  # e.g. {"Color": "Red"}
    barcode: str | None = None  # UPC/EAN/GTIN; Get Product serves it as identifier_code


class TikTokProduct(_M):
    id: str | None = None
    title: str = "Product"
    status: str = "ACTIVATE"
    create_time: int | None = None
    update_time: int | None = None
    skus: list[TikTokSku] = Field(default_factory=list)


class TikTokWarehouse(_M):
    id: str
    name: str = "Warehouse"
    is_default: bool = False
    type: Literal["SALES_WAREHOUSE", "RETURN_WAREHOUSE"] = "SALES_WAREHOUSE"


class TikTokSide(_M):
    shop_id: str = "7495000000000000001"
    shop_cipher: str = "ROW_sandboxcipher0001"
    shop_name: str = "Sandbox TikTok Shop"
    region: str = "US"
    currency: str = "USD"
    warehouses: list[TikTokWarehouse] = Field(
        default_factory=lambda: [
            TikTokWarehouse(id=DEFAULT_WAREHOUSE, name="Main", is_default=True)
        ]
    )
    products: list[TikTokProduct] = Field(default_factory=list)


class ShopifyVariant(_M):
    id: str | None = None
    sku: str | None = ""
    price: Decimal = Decimal("10.00")
    barcode: str | None = None
    title: str | None = None
    options: dict[str, str] = Field(default_factory=dict)
    inventory: dict[str, int] = Field(default_factory=dict)  # location id -> available
    tracked: bool = True  # InventoryItem.tracked
    # ProductVariant.inventoryPolicy: CONTINUE keeps selling when out of stock
    # (https://shopify.dev/docs/api/admin-graphql/latest/enums/ProductVariantInventoryPolicy).
    inventory_policy: Literal["DENY", "CONTINUE"] = "DENY"


class ShopifyProduct(_M):
    id: str | None = None
    title: str = "Product"
    status: Literal["ACTIVE", "DRAFT", "ARCHIVED"] = "ACTIVE"
    variants: list[ShopifyVariant] = Field(default_factory=list)


class ShopifyLocation(_M):
    id: str
    name: str = "Location"
    active: bool = True


class ShopifySide(_M):
    shop_domain: str = "sandbox.myshopify.com"
    currency: str = "USD"
    locations: list[ShopifyLocation] = Field(
        default_factory=lambda: [ShopifyLocation(id=DEFAULT_LOCATION, name="Main")]
    )
    products: list[ShopifyProduct] = Field(default_factory=list)


class AmazonListing(_M):
    sku: str
    asin: str | None = None
    parent_asin: str | None = None
    title: str = "Listing"
    price: Decimal = Decimal("10.00")
    currency: str = "USD"
    quantity: int = 0
    fulfillment: Literal["FBA", "MFN"] = "MFN"
    barcode: str | None = None
    status: str = "Active"


class AmazonSide(_M):
    seller_id: str = "A2SANDBOXSELLER"
    marketplace_id: str = "ATVPDKIKX0DER"
    listings: list[AmazonListing] = Field(default_factory=list)


class OrderLineFixture(_M):
    sku_id: str | None = None
    seller_sku: str | None = None
    quantity: int = 1
    price: Decimal | None = None


class OrderFixture(_M):
    id: str | None = None
    status: Literal[
        "UNPAID",
        "ON_HOLD",
        "AWAITING_SHIPMENT",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
        "CANCELLED",
    ] = "AWAITING_SHIPMENT"
    shipping_type: Literal["SELLER", "TIKTOK"] = "SELLER"
    create_time: int | None = None
    lines: list[OrderLineFixture] = Field(default_factory=list)
    recipient: dict[str, Any] = Field(default_factory=dict)
    buyer_email: str | None = None


class Fixture(_M):
    tiktok: TikTokSide = Field(default_factory=TikTokSide)
    shopify: ShopifySide = Field(default_factory=ShopifySide)
    amazon: AmazonSide = Field(default_factory=AmazonSide)
    orders: list[OrderFixture] = Field(default_factory=list)

    @model_validator(mode="after")
    def _fill_ids(self) -> Fixture:
        """Give every product, SKU, variant and order without an id a deterministic one."""
        now = int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
        default_wh = next((w.id for w in self.tiktok.warehouses if w.is_default), None)
        default_wh = default_wh or self.tiktok.warehouses[0].id
        for p_index, product in enumerate(self.tiktok.products, 1):
            product.id = product.id or str(1729_0000_0000_0000_000 + p_index)
            product.create_time = product.create_time or now
            product.update_time = product.update_time or product.create_time
            for s_index, sku in enumerate(product.skus, 1):
                sku.id = sku.id or f"{product.id}{s_index:03d}"
                if not sku.inventory:
                    sku.inventory = {default_wh: 0}
        first_location = self.shopify.locations[0].id
        for p_index, sproduct in enumerate(self.shopify.products, 1):
            sproduct.id = sproduct.id or f"gid://shopify/Product/{p_index}"
            for v_index, variant in enumerate(sproduct.variants, 1):
                variant.id = (
                    variant.id or f"gid://shopify/ProductVariant/{p_index * 1000 + v_index}"
                )
                if not variant.inventory:
                    variant.inventory = {first_location: 0}
        for l_index, listing in enumerate(self.amazon.listings, 1):
            listing.asin = listing.asin or f"B0{l_index:08d}"
        sku_ids = {
            sku.seller_sku: sku.id
            for product in self.tiktok.products
            for sku in product.skus
            if sku.seller_sku
        }
        for o_index, order in enumerate(self.orders, 1):
            order.id = order.id or str(5770_0000_0000_0000_00 + o_index)
            order.create_time = order.create_time or now + o_index * 60
            for line in order.lines:
                if line.sku_id is None and line.seller_sku in sku_ids:
                    line.sku_id = sku_ids[line.seller_sku]
        return self

    def tiktok_sku(self, sku_id: str) -> tuple[TikTokProduct, TikTokSku] | None:
        for product in self.tiktok.products:
            for sku in product.skus:
                if sku.id == sku_id:
                    return product, sku
        return None


def load_fixture(source: str | Path | dict[str, Any]) -> Fixture:
    """Parse a fixture from a path, a JSON string or a dict."""
    if isinstance(source, dict):
        return Fixture.model_validate(source)
    text = (
        Path(source).read_text(encoding="utf-8")
        if isinstance(source, Path)
        or (isinstance(source, str) and not source.lstrip().startswith("{"))
        else source
    )
    return Fixture.model_validate(json.loads(text))


def dump_fixture(fixture: Fixture) -> str:
    """The fixture as JSON text (Decimals as strings)."""
    return fixture.model_dump_json(indent=1, exclude_none=True)
