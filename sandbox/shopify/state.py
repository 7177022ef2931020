"""In-memory state of the Shopify emulator: locations, products, variants, inventory items
with per-location quantities, orders, bulk operations and webhook subscriptions.

Ids are Shopify global ids (``gid://shopify/<Type>/<n>``). Variant and inventory-item ids are
independent numbers (captured in github.com/airhorns/shopify-draft-proxy), so nothing can derive one
from the other.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sandbox.fixture import (
    Fixture,
    ShopifyLocation,
    ShopifyProduct,
    ShopifySide,
    ShopifyVariant,
)

INVENTORY_ITEM_BASE = 40_000_000_000_000
LEVEL_BASE = 140_000_000_000
ORDER_BASE = 8_800_000_000_000
LINE_ITEM_BASE = 16_000_000_000_000
FULFILLMENT_ORDER_BASE = 6_100_000_000_000
FULFILLMENT_ORDER_LINE_BASE = 14_300_000_000_000
FULFILLMENT_BASE = 5_200_000_000_000
FULFILLMENT_LINE_BASE = 11_800_000_000_000
REFUND_BASE = 9_900_000_000_000
RECREATED_BASE = 70_000_000_000  # ids of products re-created by recreate_product


def now_iso() -> str:
    """Current time in Shopify's DateTime wire format (ISO-8601 UTC, seconds)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def gid_number(gid: str) -> int:
    """The numeric part of a GID (``gid://shopify/Product/12?x=y`` -> 12); -1 if none."""
    tail = gid.rsplit("/", 1)[-1].split("?", 1)[0]
    return int(tail) if tail.isdigit() else -1


def gid_type(gid: str) -> str | None:
    """The type part of a Shopify GID, or None when the value is not a Shopify GID."""
    if not gid.startswith("gid://shopify/"):
        return None
    parts = gid[len("gid://shopify/") :].split("/")
    return parts[0] if len(parts) == 2 else None


@dataclass
class Location:
    id: str
    name: str
    active: bool = True


@dataclass
class Level:
    """The quantities of one inventory item at one location."""

    id_number: int
    location_id: str
    available: int = 0
    on_hand: int = 0
    committed: int = 0
    updated_at: str = field(default_factory=now_iso)


@dataclass
class InventoryItem:
    id: str
    sku: str | None
    tracked: bool
    variant_id: str
    levels: dict[str, Level] = field(default_factory=dict)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Variant:
    id: str
    product_id: str
    title: str
    price: Decimal
    barcode: str | None
    options: list[tuple[str, str]]
    inventory_item_id: str
    position: int
    compare_at_price: Decimal | None = None
    inventory_policy: str = "DENY"
    updated_at: str = field(default_factory=now_iso)
    fixture_title: str | None = None


@dataclass
class Product:
    id: str
    title: str
    status: str
    variant_ids: list[str] = field(default_factory=list)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class OrderLine:
    id: str
    variant_id: str | None
    quantity: int
    price: Decimal
    currency: str
    title: str
    sku: str | None
    variant_title: str | None
    cancelled: int = 0  # units removed by a line cancellation (refundCreate restockType CANCEL)

    @property
    def current_quantity(self) -> int:
        return self.quantity - self.cancelled


@dataclass
class Claim:
    """Units of one order line taken from one inventory level at order creation."""

    line_id: str
    item_id: str
    location_id: str
    quantity: int


@dataclass
class FulfillmentOrderLine:
    id: str
    line_item_id: str
    total: int
    remaining: int


@dataclass
class FulfillmentOrder:
    """What one location has to ship of an order (``OPEN`` -> ``IN_PROGRESS`` -> ``CLOSED``)."""

    id: str
    order_id: str
    location_id: str
    lines: list[FulfillmentOrderLine]
    status: str = "OPEN"
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Tracking:
    number: str | None
    company: str | None
    url: str | None


@dataclass
class FulfillmentLine:
    id: str
    line_item_id: str
    fulfillment_order_line_id: str
    quantity: int


@dataclass
class Fulfillment:
    id: str
    order_id: str
    name: str
    location_id: str
    lines: list[FulfillmentLine]
    tracking: list[Tracking]
    fulfillment_order_ids: list[str]
    status: str = "SUCCESS"  # SUCCESS | CANCELLED
    created_at: str = field(default_factory=now_iso)
    updated_at: str = field(default_factory=now_iso)


@dataclass
class Job:
    """An asynchronous Admin job (``orderCancel``): ``done`` after ``polls_left`` reads."""

    id: str
    polls_left: int
    apply: Any = None  # called once when the job completes
    done: bool = False


@dataclass
class Order:
    id: str
    name: str
    created_at: str
    currency: str
    lines: list[OrderLine]
    email: str | None = None
    phone: str | None = None
    source_name: str | None = None
    source_identifier: str | None = None
    tags: list[str] = field(default_factory=list)
    note: str | None = None
    financial_status: str | None = None
    shipping_address: dict[str, Any] | None = None
    custom_attributes: list[dict[str, str]] = field(default_factory=list)
    inventory_behaviour: str = "BYPASS"
    test: bool = False
    indexed_at: float = 0.0  # monotonic time from which searches can see it
    claims: list[Claim] = field(default_factory=list)
    fulfillment_orders: list[FulfillmentOrder] = field(default_factory=list)
    fulfillments: list[Fulfillment] = field(default_factory=list)
    updated_at: str = ""
    cancelled_at: str | None = None
    cancel_reason: str | None = None
    staff_note: str | None = None
    closed_at: str | None = None


@dataclass
class BulkOperation:
    id: str
    query: str
    created_at: str
    status: str = "CREATED"
    lines: list[str] = field(default_factory=list)
    root_object_count: int = 0
    completed_at: str | None = None
    polls: int = 0
    error_code: str | None = None


@dataclass
class WebhookSubscription:
    id: str
    topic: str  # REST-style, e.g. "inventory_levels/update"
    uri: str


class ShopifyState:
    """Everything the emulator knows; mutated only under ``lock``."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.search_lag_s = 0.0  # seconds before a write is visible to searches (kept on load)
        self.reset()

    def reset(self) -> None:
        self.shop_domain = "sandbox.myshopify.com"
        self.currency = "USD"
        self.locations: dict[str, Location] = {}
        self.products: dict[str, Product] = {}
        self.variants: dict[str, Variant] = {}
        self.items: dict[str, InventoryItem] = {}
        self.orders: list[Order] = []
        self.bulk_operations: dict[str, BulkOperation] = {}
        self.webhooks: list[WebhookSubscription] = []
        self.idempotency: dict[str, tuple[str, Any]] = {}
        self.jobs: dict[str, Job] = {}
        self._counter = 0
        self.reindex_at: dict[str, float] = {}  # variant GID -> searchable again from

    def next_number(self) -> int:
        self._counter += 1
        return self._counter

    # -- fixture --------------------------------------------------------------------------

    def load(self, fixture: Fixture | None) -> None:
        """Replace the state with the ``shopify`` part of a sandbox fixture."""
        with self.lock:
            self.reset()
            if fixture is None:
                return
            side = fixture.shopify
            self.shop_domain, self.currency = side.shop_domain, side.currency
            for loc in side.locations:
                self.locations[loc.id] = Location(loc.id, loc.name, loc.active)
            for product in side.products:
                self._add_product(product)

    def _add_product(self, fx: ShopifyProduct) -> None:
        assert fx.id is not None
        product = Product(fx.id, fx.title, fx.status)
        self.products[fx.id] = product
        for position, fv in enumerate(fx.variants, 1):
            assert fv.id is not None
            item_id = f"gid://shopify/InventoryItem/{INVENTORY_ITEM_BASE + gid_number(fv.id)}"
            item = InventoryItem(item_id, fv.sku, fv.tracked, fv.id)
            for loc_id, qty in fv.inventory.items():
                if loc_id not in self.locations:  # a fixture may name a location implicitly
                    self.locations[loc_id] = Location(loc_id, f"Location {gid_number(loc_id)}")
                item.levels[loc_id] = Level(LEVEL_BASE + self.next_number(), loc_id, qty, qty)
            self.items[item_id] = item
            options = list(fv.options.items())
            title = fv.title or (" / ".join(v for _, v in options) or "Default Title")
            self.variants[fv.id] = Variant(
                fv.id,
                fx.id,
                title,
                fv.price,
                fv.barcode,
                options,
                item_id,
                position,
                inventory_policy=fv.inventory_policy,
                fixture_title=fv.title,
            )
            product.variant_ids.append(fv.id)

    def recreate_product(self, product_id: str) -> dict[str, str]:
        """Delete a product and create it again with new product/variant GIDs, same SKUs,
        prices, options and stock (what a seller does when re-importing a product; Shopify
        never reuses ids). Returns old GID -> new GID for the product and each variant."""
        with self.lock:
            side = self.to_fixture()
            fx = next(p for p in side.products if p.id == product_id)
            renamed: dict[str, str] = {}
            new_pid = f"gid://shopify/Product/{RECREATED_BASE + self.next_number()}"
            renamed[product_id] = new_pid
            variants = []
            for v in fx.variants:
                assert v.id is not None
                new_vid = f"gid://shopify/ProductVariant/{RECREATED_BASE + self.next_number()}"
                renamed[v.id] = new_vid
                variants.append(v.model_copy(update={"id": new_vid}))
                old = self.variants.pop(v.id)
                self.items.pop(old.inventory_item_id, None)
            del self.products[product_id]
            self._add_product(fx.model_copy(update={"id": new_pid, "variants": variants}))
            return renamed

    def to_fixture(self) -> ShopifySide:
        """The current catalog as the ``shopify`` part of a fixture (round-trips ``load``)."""
        with self.lock:
            products = []
            for product in self.products.values():
                variants = []
                for vid in product.variant_ids:
                    v = self.variants[vid]
                    item = self.items[v.inventory_item_id]
                    variants.append(
                        ShopifyVariant(
                            id=v.id,
                            sku=item.sku,
                            price=v.price,
                            barcode=v.barcode,
                            title=v.fixture_title,
                            options=dict(v.options),
                            inventory={loc: lvl.available for loc, lvl in item.levels.items()},
                            tracked=item.tracked,
                            inventory_policy=v.inventory_policy,  # type: ignore[arg-type]
                        )
                    )
                products.append(
                    ShopifyProduct(
                        id=product.id,
                        title=product.title,
                        status=product.status,  # type: ignore[arg-type]
                        variants=variants,
                    )
                )
            return ShopifySide(
                shop_domain=self.shop_domain,
                currency=self.currency,
                locations=[
                    ShopifyLocation(id=loc.id, name=loc.name, active=loc.active)
                    for loc in self.locations.values()
                ],
                products=products,
            )

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready state for assertions: catalog with stock per location, orders, bulk ops."""
        with self.lock:
            products = []
            for product in self.products.values():
                variants = []
                for vid in product.variant_ids:
                    v = self.variants[vid]
                    item = self.items[v.inventory_item_id]
                    variants.append(
                        {
                            "id": v.id,
                            "title": v.title,
                            "sku": item.sku,
                            "price": str(v.price),
                            "compare_at_price": None
                            if v.compare_at_price is None
                            else str(v.compare_at_price),
                            "barcode": v.barcode,
                            "options": dict(v.options),
                            "inventory_item_id": item.id,
                            "tracked": item.tracked,
                            "inventory_policy": v.inventory_policy,
                            "inventory": {loc: lvl.available for loc, lvl in item.levels.items()},
                            "on_hand": {loc: lvl.on_hand for loc, lvl in item.levels.items()},
                        }
                    )
                products.append(
                    {
                        "id": product.id,
                        "title": product.title,
                        "status": product.status,
                        "variants": variants,
                    }
                )
            orders = [
                {
                    "id": o.id,
                    "name": o.name,
                    "created_at": o.created_at,
                    "email": o.email,
                    "source_name": o.source_name,
                    "source_identifier": o.source_identifier,
                    "tags": list(o.tags),
                    "note": o.note,
                    "currency": o.currency,
                    "financial_status": o.financial_status,
                    "shipping_address": o.shipping_address,
                    "custom_attributes": o.custom_attributes,
                    "inventory_behaviour": o.inventory_behaviour,
                    "cancelled_at": o.cancelled_at,
                    "cancel_reason": o.cancel_reason,
                    "closed_at": o.closed_at,
                    "fulfillment_orders": [
                        {
                            "id": fo.id,
                            "status": fo.status,
                            "location_id": fo.location_id,
                            "lines": [
                                {
                                    "id": fl.id,
                                    "line_item_id": fl.line_item_id,
                                    "total": fl.total,
                                    "remaining": fl.remaining,
                                }
                                for fl in fo.lines
                            ],
                        }
                        for fo in o.fulfillment_orders
                    ],
                    "fulfillments": [
                        {
                            "id": f.id,
                            "name": f.name,
                            "status": f.status,
                            "tracking": [
                                {"number": t.number, "company": t.company, "url": t.url}
                                for t in f.tracking
                            ],
                            "lines": [
                                {"line_item_id": fl.line_item_id, "quantity": fl.quantity}
                                for fl in f.lines
                            ],
                        }
                        for f in o.fulfillments
                    ],
                    "lines": [
                        {
                            "id": ln.id,
                            "variant_id": ln.variant_id,
                            "quantity": ln.quantity,
                            "price": str(ln.price),
                            "sku": ln.sku,
                            "title": ln.title,
                        }
                        for ln in o.lines
                    ],
                }
                for o in self.orders
            ]
            return {
                "shop": {"domain": self.shop_domain, "currency": self.currency},
                "locations": [
                    {"id": loc.id, "name": loc.name, "active": loc.active}
                    for loc in self.locations.values()
                ],
                "products": products,
                "orders": orders,
                "bulk_operations": [
                    {"id": b.id, "status": b.status, "object_count": len(b.lines)}
                    for b in self.bulk_operations.values()
                ],
                "webhooks": [{"id": w.id, "topic": w.topic, "uri": w.uri} for w in self.webhooks],
            }
