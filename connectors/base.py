"""The small typed interface flows and tasks use to talk to marketplaces.

``TikTokApi`` is the TikTok Shop side; ``StoreApi`` is the store side, implemented for
Shopify and Amazon. Connectors return these records (money as ``Decimal``, times
timezone-aware UTC) and raise only :mod:`connectors.errors` exceptions. Tasks depend on
these protocols, never on a concrete connector, so they are tested with the sandbox or
with small fakes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, Protocol, runtime_checkable

from skubridge.model.updates import InventoryUpdate, PriceUpdate

Channel = Literal["tiktok", "shopify", "amazon"]
StoreKind = Literal["shopify", "amazon"]


@dataclass(frozen=True, slots=True)
class CatalogVariant:
    """One sellable variant (TikTok SKU, Shopify variant, Amazon listing) as extracted.

    ``stock`` maps a location id (TikTok warehouse id, Shopify location GID, or "FBA"/"MFN"
    for Amazon) to its available quantity. ``price`` is None where the side has no price.
    """

    channel: Channel
    product_id: str
    variant_id: str
    seller_sku: str | None
    title: str
    variant_title: str | None = None
    options: Mapping[str, str] = field(default_factory=dict)
    price: Decimal | None = None
    currency: str | None = None
    stock: Mapping[str, int] = field(default_factory=dict)
    barcode: str | None = None
    status: str | None = None
    fulfillment: Literal["FBA", "MFN"] | None = None
    parent_id: str | None = None
    # Shopify only: inventoryItem.tracked and inventoryPolicy (DENY | CONTINUE); the stock
    # rules give untracked and keep-selling variants their own TikTok quantity.
    tracked: bool | None = None
    inventory_policy: str | None = None

    @property
    def quantity(self) -> int:
        return sum(self.stock.values())


@dataclass(frozen=True, slots=True)
class Warehouse:
    """A TikTok warehouse (or a Shopify location)."""

    id: str
    name: str
    is_default: bool = False
    type: str | None = None  # TikTok: SALES_WAREHOUSE | RETURN_WAREHOUSE
    active: bool = True


@dataclass(frozen=True, slots=True)
class SkuError:
    """A per-SKU failure reported inside an otherwise successful answer."""

    sku_id: str
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class WriteResult:
    """Outcome of one per-product write: which SKUs were applied and which were rejected."""

    product_id: str
    applied: tuple[str, ...]
    errors: tuple[SkuError, ...] = ()
    request_id: str | None = None


@dataclass(frozen=True, slots=True)
class Address:
    """A shipping address as the marketplace gave it (possibly masked)."""

    name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    phone: str | None = None
    address1: str | None = None
    address2: str | None = None
    city: str | None = None
    region: str | None = None
    region_code: str | None = None
    postal_code: str | None = None
    country_code: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class OrderLine:
    """One TikTok order line grouped by SKU: ``quantity`` units at ``unit_price`` each."""

    sku_id: str
    product_id: str
    seller_sku: str | None
    quantity: int
    unit_price: Decimal
    title: str | None = None


@dataclass(frozen=True, slots=True)
class TikTokOrder:
    """A TikTok order with its lines grouped into quantities by ``sku_id``."""

    id: str
    status: str
    create_time: datetime
    update_time: datetime
    currency: str
    lines: tuple[OrderLine, ...]
    shipping_type: str | None = None  # SELLER | TIKTOK
    fulfillment_type: str | None = None  # FULFILLMENT_BY_SELLER | FULFILLMENT_BY_TIKTOK
    recipient: Address | None = None
    buyer_email: str | None = None
    buyer_message: str | None = None
    shipping_fee: Decimal | None = None
    total: Decimal | None = None
    masked: bool = False
    problem: str | None = None  # the order detail could not be read; such an order is never relayed


@dataclass(frozen=True, slots=True)
class StoreOrderLine:
    """A line of an order to create in the store."""

    store_variant_id: str
    seller_sku: str | None
    quantity: int
    unit_price: Decimal
    title: str | None = None


@dataclass(frozen=True, slots=True)
class StoreOrderRequest:
    """An order to create in the store for one TikTok order."""

    tiktok_order_id: str
    lines: tuple[StoreOrderLine, ...]
    currency: str
    created_at: datetime
    recipient: Address | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    note: str | None = None
    shipping_speed: str | None = None  # Amazon MCF


@dataclass(frozen=True, slots=True)
class StoreOrder:
    """A store order found or created (Shopify order GID or Amazon sellerFulfillmentOrderId)."""

    id: str
    tiktok_order_id: str
    name: str | None = None
    status: str | None = None


@dataclass(frozen=True, slots=True)
class StoreShipment:
    """One box the store shipped for a relayed order (a Shopify fulfilment, an MCF package).

    ``units`` maps the store's SKU to the units in this box; ``carrier`` is the store's
    free text (Shopify ``trackingInfo.company``, MCF ``carrierCode``).
    """

    id: str
    tracking_number: str | None
    carrier: str | None
    shipped_at: datetime | None
    units: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class StoreOrderState:
    """What the store says happened to a relayed order: boxes shipped, cancellation.

    ``cancellable``: a whole-order cancel would still be accepted (Shopify: nothing
    fulfilled; MCF: still Received/Planning). ``line_cancel``: the store can cancel single
    lines (Shopify yes, MCF no). ``truncated``: more boxes exist than were read.
    """

    id: str
    status: str | None
    cancelled: bool
    cancellable: bool
    shipments: tuple[StoreShipment, ...]
    line_cancel: bool = True
    truncated: bool = False


@dataclass(frozen=True, slots=True)
class StoreCancelResult:
    """Outcome of a store cancellation: ``status`` CANCELLED | ALREADY_CANCELLED | PENDING
    (accepted, still being applied) | TOO_LATE (already fulfilled: handle a return) |
    NOT_SUPPORTED (the store has no such cancellation)."""

    status: Literal["CANCELLED", "ALREADY_CANCELLED", "PENDING", "TOO_LATE", "NOT_SUPPORTED"]
    detail: str | None = None


@runtime_checkable
class TikTokApi(Protocol):
    """What flows need from TikTok Shop."""

    def iter_catalog(
        self, *, page_size: int = 100, **options: Any
    ) -> AsyncIterator[list[CatalogVariant]]:
        """Yield the shop's SKUs page by page (one record per SKU). ``options``: ``since``
        (changed since, incremental), ``attributes`` (a ``connectors.attributes`` cache)."""
        ...

    async def warehouses(self) -> list[Warehouse]: ...

    async def update_inventory(
        self, product_id: str, updates: Sequence[InventoryUpdate]
    ) -> WriteResult: ...

    async def update_price(
        self, product_id: str, updates: Sequence[PriceUpdate]
    ) -> WriteResult: ...

    def search_orders(
        self, *, update_time_ge: datetime, update_time_lt: datetime
    ) -> AsyncIterator[list[str]]:
        """Yield order ids updated in [ge, lt), page by page."""
        ...

    async def get_orders(self, order_ids: Sequence[str]) -> list[TikTokOrder]:
        """Order details, at most 50 ids per call (the connector batches)."""
        ...

    async def aclose(self) -> None: ...


@runtime_checkable
class StoreApi(Protocol):
    """What flows and tasks need from the store (Shopify or Amazon).

    Store-specific behaviour lives behind these members, so no task asks which store it
    talks to: how a relayed order is named and found again, how many orders may be in
    flight, how long a "not found" may lag a create, whether SKUs can be renamed.
    """

    kind: StoreKind
    relay_concurrency: int
    """Orders the relay may have in flight at once against this store."""
    order_lookup_grace_s: float
    """How long after a create :meth:`find_order` may still miss the order (search lag):
    a pending create younger than this is not retried on a "not found"."""

    def iter_catalog(self) -> AsyncIterator[list[CatalogVariant]]:
        """Yield the store's variants page by page, with stock per location/channel."""
        ...

    async def locations(self) -> list[Warehouse]: ...

    async def variant_skus(self, product_id: str) -> dict[str, str | None]:
        """Variant id -> SKU of one store product as the store holds it now.
        Raises NotSupportedError where SKUs are the variants' identity (Amazon)."""
        ...

    async def set_variant_skus(self, product_id: str, skus: Mapping[str, str]) -> None:
        """Set variant SKUs (variant id -> SKU). Raises NotSupportedError where seller SKUs
        cannot be renamed (Amazon): the caller records the link only and says so."""
        ...

    def order_key(self, tiktok_order_id: str) -> str:
        """The id the store order for a TikTok order is created under and found by
        (Shopify: the TikTok order id as ``sourceIdentifier``; Amazon: the MCF
        ``sellerFulfillmentOrderId`` derived from it)."""
        ...

    async def create_order(self, order: StoreOrderRequest) -> StoreOrder:
        """Create the store order; OutcomeUnknownError if the answer was lost."""
        ...

    async def find_order(self, tiktok_order_id: str) -> StoreOrder | None:
        """The store order relayed for a TikTok order (looked up by :meth:`order_key`),
        if one exists."""
        ...

    async def order_state(self, store_order_id: str) -> StoreOrderState | None:
        """What the store did with a relayed order (None when it does not exist)."""
        ...

    async def cancel_order(
        self, store_order_id: str, *, reason: str, note: str
    ) -> StoreCancelResult:
        """Cancel a whole relayed order where the store still allows it; ``reason`` is
        BUYER | SELLER | SYSTEM (who cancelled on TikTok). Repeating it is harmless."""
        ...

    async def cancel_order_units(
        self, store_order_id: str, units: Mapping[str, int], *, key: str, note: str
    ) -> StoreCancelResult:
        """Cancel ``units`` (store SKU -> units) of single lines; ``key`` makes a retry of
        the same cancellation a no-op."""
        ...

    async def changed_orders(self, since: datetime) -> set[str]:
        """Ids of the store's relayed orders (as :meth:`order_state` takes them) changed at
        or after ``since``: one paged list instead of one read per followed order."""
        ...

    async def tag_order(self, store_order_id: str, tags: Sequence[str]) -> None:
        """Add ``tags`` to a relayed order so the merchant sees them in the store's order
        list; repeating it is harmless. Raises NotSupportedError where orders have no tags
        (Amazon MCF)."""
        ...

    async def merchant_quantity(self, sku: str) -> int | None:
        """The store quantity of a merchant-fulfilled SKU (Amazon MFN), None when the SKU is
        not one. Raises NotSupportedError where the store's own orders keep stock (Shopify)."""
        ...

    async def set_merchant_quantity(self, sku: str, quantity: int) -> None:
        """Set the absolute quantity of a merchant-fulfilled SKU."""
        ...

    async def aclose(self) -> None: ...


class NotSupportedError(Exception):
    """The operation does not exist on this marketplace (e.g. renaming an Amazon SKU)."""
