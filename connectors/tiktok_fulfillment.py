"""TikTok Shop fulfilment and cancellation calls for the order loop back (API family 202309).

Functions take a :class:`connectors.tiktok.TikTokClient` and go through its signed request
path (``sign``, ``x-tts-access-token``, ``shop_cipher``, token refresh, retries, rate
limits). They return frozen dataclasses and raise :mod:`connectors.errors` types; TikTok's
documented business codes become the subclasses below so a caller can tell "already
shipped" (compare with :func:`get_order_shipping` and treat a match as done) from "wrong
provider or tracking" (fix the carrier map, never retry) from "not seller-shipped" (a
``shipping_type: TIKTOK`` order: nothing to push).

Sources (Partner Center pages; SDK models in https://github.com/tiananugerah/titktok-shop
``tiktok_sdk/model/{fulfillment,logistics,returnRefund,order}/V202309``):

- https://partner.tiktokshop.com/docv2/page/get-shipping-providers-202309
- https://partner.tiktokshop.com/docv2/page/get-warehouse-delivery-options-202309
- https://partner.tiktokshop.com/docv2/page/mark-package-as-shipped-202309
- https://partner.tiktokshop.com/docv2/page/ship-package-202309 and batch-ship-packages-202309
- https://partner.tiktokshop.com/docv2/page/get-package-detail-202309, search-package-202309
- https://partner.tiktokshop.com/docv2/page/update-package-shipping-info-202309,
  update-shipping-info-202309
- https://partner.tiktokshop.com/docv2/page/search-cancellations-202309, cancel-order-202309,
  approve-cancellation-202309, reject-cancellation-202309
- https://partner.tiktokshop.com/docv2/page/get-order-detail-202507 (line items one per unit)
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from connectors.errors import (
    AuthError,
    FatalError,
    MalformedResponseError,
    PagingError,
    TransientError,
)
from connectors.paging import CursorPages
from connectors.shapes import object_list, wrong_shape
from connectors.tiktok import MARKETPLACE, TikTokClient

MAX_PAGES = 100_000
ORDER_DETAIL_BATCH = 50


# -- errors ------------------------------------------------------------------------------------
class FulfillmentError(FatalError):
    """A documented TikTok fulfilment / cancellation refusal (``code`` holds TikTok's code)."""


class AlreadyShippedError(FulfillmentError):
    """The lines or package are already shipped: re-read the order and compare tracking."""


class NotSellerShippedError(FulfillmentError):
    """The order is shipped by TikTok (``shipping_type: TIKTOK``, FBT): nothing to push."""


class InvalidTrackingError(FulfillmentError):
    """Tracking number or provider refused (charset, mismatch, unknown provider, reuse)."""


class WrongOrderStatusError(FulfillmentError):
    """The order is not in a status that allows the call (e.g. not AWAITING_SHIPMENT)."""


class AfterSaleInProgressError(FulfillmentError):
    """A buyer cancellation / after-sale request blocks shipping: answer it first."""


class WrongRegionError(FulfillmentError):
    """The call is not offered in the shop's market (use the other ship endpoint)."""


class SplitNotAllowedError(FulfillmentError):
    """The requested split of lines into packages is refused."""


class OrderCancelledError(FulfillmentError):
    """The order was cancelled: nothing can be shipped or corrected."""


class PackageDeliveredError(FulfillmentError):
    """The package is delivered: no more ship or tracking update."""


class NotShippedYetError(FulfillmentError):
    """A tracking update on a package that was never shipped."""


class CorrectionRefusedError(FulfillmentError):
    """The one allowed tracking correction is spent or its time window has passed."""


class PackageNotFoundError(FulfillmentError):
    """The package id is not one of this shop's packages."""


class TikTokShippingOptionError(FulfillmentError):
    """The delivery option is fulfilled by TikTok (no providers) or unknown."""


class CancellationClosedError(FulfillmentError):
    """The order is already cancelled, or the request was withdrawn / already decided."""


class CancelAfterShipmentError(FulfillmentError):
    """The order has already shipped: it can no longer be cancelled."""


class CancellationStateError(FulfillmentError):
    """The cancellation or order is in a state that does not allow this decision."""


class CancelReasonError(FulfillmentError):
    """The cancel / reject reason key is unknown or not valid for this order."""


class CancellationNotFoundError(FulfillmentError):
    """No cancellation with this id."""


class FulfillmentTransientError(TransientError):
    """A documented temporary fulfilment failure; the same call may succeed later."""


_CODES: dict[type[FulfillmentError], frozenset[int]] = {
    AlreadyShippedError: frozenset({21011006, 21011020, 21042056, 21008099, 21011040, 11006021}),
    NotSellerShippedError: frozenset({21008025, 21011004, 21008042, 21022025}),
    InvalidTrackingError: frozenset(
        {11028006, 21004012, 21004015, 21004016, 21011022, 21011025, 21011026, 21034012, 21022032}
    ),
    WrongOrderStatusError: frozenset(
        {21042057, 21011003, 21011029, 21011033, 21011046, 21032001, 10007002, 21021010}
    ),
    AfterSaleInProgressError: frozenset({21011007, 21008044}),
    WrongRegionError: frozenset({21008106}),
    SplitNotAllowedError: frozenset({21011036, 21011048, 21022028}),
    OrderCancelledError: frozenset({21011041, 21011042, 25001010}),
    PackageDeliveredError: frozenset({21011027, 21011030}),
    NotShippedYetError: frozenset({21011043}),
    CorrectionRefusedError: frozenset({21011049, 21011050, 21011051, 21011052}),
    PackageNotFoundError: frozenset({21011028}),
    TikTokShippingOptionError: frozenset({21008116, 21008117}),
    CancellationClosedError: frozenset({25001011, 25001051, 25020009}),
    CancelAfterShipmentError: frozenset({25001045}),
    CancellationStateError: frozenset(
        {25011012, 25011011, 25001003, 25020003, 25020004, 25005010, 25005011, 25020010}
    ),
    CancelReasonError: frozenset({25001014, 25001015, 25001020, 25001021, 25001016, 25001057}),
    CancellationNotFoundError: frozenset({25007006}),
}
ERROR_FOR_CODE: dict[int, type[FulfillmentError]] = {
    code: kind for kind, codes in _CODES.items() for code in codes
}
# Mark Package As Shipped's "transient" family (retry with backoff).
TRANSIENT_FULFILMENT_CODES = frozenset(
    {
        11001027,
        11001031,
        11006005,
        11006026,
        21001008,
        21001011,
        21001029,
        21001043,
        21001055,
        21008300,
        21022029,
        21022030,
    }
)


def _typed(exc: FatalError) -> FatalError | TransientError:
    """The documented subclass for a TikTok business error (others are returned unchanged)."""
    if isinstance(exc, AuthError | PagingError | FulfillmentError):
        return exc
    try:
        code = int(exc.code or "")
    except ValueError:
        return exc
    kwargs: dict[str, Any] = {
        "marketplace": exc.marketplace,
        "operation": exc.operation,
        "status": exc.status,
        "code": exc.code,
        "request_id": exc.request_id,
    }
    if code in TRANSIENT_FULFILMENT_CODES:
        return FulfillmentTransientError(exc.message, **kwargs)
    kind = ERROR_FOR_CODE.get(code)
    return kind(exc.message, **kwargs) if kind is not None else exc


async def _call(
    client: TikTokClient,
    operation: str,
    method: str,
    path: str,
    *,
    params: Mapping[str, str] | None = None,
    body: Any = None,
) -> dict[str, Any]:
    try:
        return await client._call(operation, method, path, params=params, body=body)
    except FatalError as exc:
        typed = _typed(exc)
        if typed is exc:
            raise
        raise typed from exc


# -- records -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ShippingProvider:
    """A carrier TikTok accepts for one delivery option (``id`` goes into ship calls)."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class DeliveryOption:
    """A delivery option of a warehouse (``type`` SEND_BY_SELLER = seller shipping)."""

    id: str
    name: str
    type: str


@dataclass(frozen=True, slots=True)
class ShipResult:
    """Answer of Mark Package As Shipped: the package TikTok created for these lines.

    ``warning`` is TikTok's tracking-verification warning (US), shown to the merchant; the
    package is shipped anyway.
    """

    order_id: str
    package_id: str
    line_item_ids: tuple[str, ...]
    warning: str | None = None


@dataclass(frozen=True, slots=True)
class PackageShipment:
    """One package of a Batch Ship Packages call (seller shipping with own tracking)."""

    package_id: str
    tracking_number: str
    shipping_provider_id: str


@dataclass(frozen=True, slots=True)
class BatchShipFailure:
    """A package Batch Ship Packages refused; ``error`` is the typed error for its code."""

    package_id: str
    code: str
    message: str
    error: FatalError | TransientError


@dataclass(frozen=True, slots=True)
class PackageView:
    """Get Package Detail / Search Package: one package as TikTok sees it."""

    package_id: str
    order_ids: tuple[str, ...]
    line_item_ids: tuple[str, ...]
    status: str  # PROCESSING | FULFILLING | COMPLETED | CANCELLED (TO_FULFILL before shipping)
    tracking_number: str | None
    shipping_provider_id: str | None
    shipping_provider_name: str | None
    shipping_type: str | None = None
    delivery_option_id: str | None = None
    create_time: datetime | None = None
    update_time: datetime | None = None


@dataclass(frozen=True, slots=True)
class LineShipping:
    """One TikTok order line (one unit) with its package, tracking and cancel state."""

    line_item_id: str
    sku_id: str
    seller_sku: str | None
    display_status: str | None
    package_id: str | None
    package_status: str | None
    tracking_number: str | None
    shipping_provider_id: str | None
    shipping_provider_name: str | None
    cancel_user: str | None  # BUYER | SELLER | OPERATOR | SYSTEM
    cancel_reason: str | None

    @property
    def cancelled(self) -> bool:
        return self.display_status == "CANCELLED"

    @property
    def shipped(self) -> bool:
        return bool(self.package_id and self.tracking_number)


@dataclass(frozen=True, slots=True)
class OrderShipping:
    """The shipping and cancellation view of one order (from Get Order Detail)."""

    order_id: str
    status: str
    shipping_type: str | None
    fulfillment_type: str | None
    delivery_option_id: str | None
    delivery_option_name: str | None
    package_ids: tuple[str, ...]
    tracking_number: str | None
    shipping_provider_id: str | None
    lines: tuple[LineShipping, ...]
    is_buyer_request_cancel: bool
    request_cancel_time: datetime | None
    cancellation_initiator: str | None
    cancel_reason: str | None
    cancel_time: datetime | None
    update_time: datetime | None
    rts_sla_time: datetime | None = None  # ship (AWAITING_COLLECTION) by then
    cancel_order_sla_time: datetime | None = None  # TikTok auto-cancels unshipped orders then

    @property
    def seller_ships(self) -> bool:
        """Whether the seller pushes tracking (``shipping_type: SELLER``, not FBT)."""
        return self.shipping_type == "SELLER" and self.fulfillment_type in (
            None,
            "",
            "FULFILLMENT_BY_SELLER",
        )

    @property
    def cancelled(self) -> bool:
        return self.status == "CANCELLED"

    def line_ids_for_sku(self, sku_id: str) -> tuple[str, ...]:
        """The line ids (one per unit) of a SKU, in TikTok's order."""
        return tuple(line.line_item_id for line in self.lines if line.sku_id == sku_id)

    def unshipped_line_ids(self) -> tuple[str, ...]:
        return tuple(
            line.line_item_id for line in self.lines if not line.shipped and not line.cancelled
        )

    def cancelled_line_ids(self) -> tuple[str, ...]:
        return tuple(line.line_item_id for line in self.lines if line.cancelled)

    def shipped_with(self, line_item_ids: Sequence[str], tracking_number: str) -> bool:
        """Whether every given line is shipped with this tracking number (an "already
        shipped" answer is then our own earlier success)."""
        by_id = {line.line_item_id: line for line in self.lines}
        return bool(line_item_ids) and all(
            i in by_id and by_id[i].shipped and by_id[i].tracking_number == tracking_number
            for i in line_item_ids
        )


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Search Cancellations: one cancellation or buyer request."""

    cancel_id: str
    order_id: str
    cancel_type: str  # CANCEL | BUYER_CANCEL
    cancel_status: str  # CANCELLATION_REQUEST_{PENDING,SUCCESS,CANCEL(LED),COMPLETE}
    role: str | None  # BUYER | SELLER | SYSTEM
    cancel_reason: str | None
    cancel_reason_text: str | None
    line_item_ids: tuple[str, ...]
    create_time: datetime | None
    update_time: datetime | None
    deadline: datetime | None  # seller_next_action_response SELLER_RESPOND_CANCEL

    @property
    def pending(self) -> bool:
        return self.cancel_status == "CANCELLATION_REQUEST_PENDING"

    @property
    def withdrawn(self) -> bool:
        # Cancel Order's response and the search filter spell it ..._CANCEL (search page).
        return self.cancel_status in (
            "CANCELLATION_REQUEST_CANCEL",
            "CANCELLATION_REQUEST_CANCELLED",
        )


@dataclass(frozen=True, slots=True)
class CancelEligibility:
    """Get Aftersale Eligibility: whether the lines of one SKU can be cancelled."""

    sku_id: str
    request_type: str
    line_item_ids: tuple[str, ...]
    eligible: bool
    ineligible_code: str | None = None
    ineligible_reason: str | None = None


@dataclass(frozen=True, slots=True)
class CancelResult:
    """Answer of the seller's Cancel Order."""

    cancel_id: str
    cancel_status: str


# -- parsing -----------------------------------------------------------------------------------
def _malformed(operation: str, why: str) -> MalformedResponseError:
    return wrong_shape(MARKETPLACE, operation, why)


def _list(value: Any, operation: str, name: str) -> list[dict[str, Any]]:
    return object_list(value, marketplace=MARKETPLACE, operation=operation, name=name)


def _str(value: Any) -> str | None:
    return None if value in (None, "") else str(value)


def _time(value: Any) -> datetime | None:
    if value in (None, "", 0):
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def _ids(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in value or ())


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("datetime must be timezone-aware")
    return int(value.timestamp())


def _check_tracking(tracking_number: str, shipping_provider_id: str) -> None:
    # Refused locally so nothing unchecked reaches TikTok (an empty value would be 21001001).
    if not tracking_number.strip() or not shipping_provider_id.strip():
        raise ValueError("tracking_number and shipping_provider_id must be non-empty")


def parse_order_shipping(raw: Mapping[str, Any]) -> OrderShipping:
    """The loop-back view of one Get Order Detail order object."""
    op = "order.detail"
    if not raw.get("id") or not raw.get("status"):
        raise _malformed(op, "order without id or status")
    lines = tuple(
        LineShipping(
            line_item_id=str(line["id"]),
            sku_id=str(line.get("sku_id") or ""),
            seller_sku=_str(line.get("seller_sku")),
            display_status=_str(line.get("display_status")),
            package_id=_str(line.get("package_id")),
            package_status=_str(line.get("package_status")),
            tracking_number=_str(line.get("tracking_number")),
            shipping_provider_id=_str(line.get("shipping_provider_id")),
            shipping_provider_name=_str(line.get("shipping_provider_name")),
            cancel_user=_str(line.get("cancel_user")),
            cancel_reason=_str(line.get("cancel_reason")),
        )
        for line in _list(raw.get("line_items"), op, "line_items")
        if line.get("id")
    )
    return OrderShipping(
        order_id=str(raw["id"]),
        status=str(raw["status"]),
        shipping_type=_str(raw.get("shipping_type")),
        fulfillment_type=_str(raw.get("fulfillment_type")),
        delivery_option_id=_str(raw.get("delivery_option_id")),
        delivery_option_name=_str(raw.get("delivery_option_name")),
        package_ids=tuple(
            str(p["id"]) for p in _list(raw.get("packages"), op, "packages") if p.get("id")
        ),
        tracking_number=_str(raw.get("tracking_number")),
        shipping_provider_id=_str(raw.get("shipping_provider_id")),
        lines=lines,
        is_buyer_request_cancel=bool(raw.get("is_buyer_request_cancel")),
        request_cancel_time=_time(raw.get("request_cancel_time")),
        cancellation_initiator=_str(raw.get("cancellation_initiator")),
        cancel_reason=_str(raw.get("cancel_reason")),
        cancel_time=_time(raw.get("cancel_time")),
        update_time=_time(raw.get("update_time")),
        rts_sla_time=_time(raw.get("rts_sla_time")),
        cancel_order_sla_time=_time(raw.get("cancel_order_sla_time")),
    )


def _package(raw: Mapping[str, Any], operation: str) -> PackageView:
    package_id = raw.get("package_id") or raw.get("id")  # detail vs search spelling
    if not package_id:
        raise _malformed(operation, "package without id")
    return PackageView(
        package_id=str(package_id),
        order_ids=tuple(
            str(o["id"]) for o in _list(raw.get("orders"), operation, "orders") if o.get("id")
        ),
        line_item_ids=_ids(raw.get("order_line_item_ids")),
        status=str(raw.get("package_status") or raw.get("status") or ""),
        tracking_number=_str(raw.get("tracking_number")),
        shipping_provider_id=_str(raw.get("shipping_provider_id")),
        shipping_provider_name=_str(raw.get("shipping_provider_name")),
        shipping_type=_str(raw.get("shipping_type")),
        delivery_option_id=_str(raw.get("delivery_option_id")),
        create_time=_time(raw.get("create_time")),
        update_time=_time(raw.get("update_time")),
    )


def _cancellation(raw: Mapping[str, Any]) -> Cancellation:
    op = "return_refund.search_cancellations"
    if not raw.get("cancel_id") or not raw.get("order_id"):
        raise _malformed(op, "cancellation without cancel_id or order_id")
    deadlines = [
        a.get("deadline")
        for a in _list(raw.get("seller_next_action_response"), op, "seller_next_action_response")
        if a.get("action") == "SELLER_RESPOND_CANCEL"
    ]
    return Cancellation(
        cancel_id=str(raw["cancel_id"]),
        order_id=str(raw["order_id"]),
        cancel_type=str(raw.get("cancel_type") or ""),
        cancel_status=str(raw.get("cancel_status") or ""),
        role=_str(raw.get("role")),
        cancel_reason=_str(raw.get("cancel_reason")),
        cancel_reason_text=_str(raw.get("cancel_reason_text")),
        line_item_ids=tuple(
            str(i["order_line_item_id"])
            for i in _list(raw.get("cancel_line_items"), op, "cancel_line_items")
            if i.get("order_line_item_id")
        ),
        create_time=_time(raw.get("create_time")),
        update_time=_time(raw.get("update_time")),
        deadline=_time(deadlines[0]) if deadlines else None,
    )


# -- logistics ---------------------------------------------------------------------------------
async def _search_pages(
    client: TikTokClient,
    op: str,
    path: str,
    body: Mapping[str, Any],
    page_size: int,
    key: str,
) -> AsyncIterator[list[Any]]:
    """The non-empty ``key`` lists of a ``*/search`` endpoint, oldest update first.

    Search Package and Search Cancellations page alike: ``page_token`` /
    ``next_page_token``, at most 50 a page, ``sort_field`` / ``sort_order`` in the query
    (https://partner.tiktokshop.com/docv2/page/search-package-202309,
    https://partner.tiktokshop.com/docv2/page/search-cancellations-202309).
    """

    async def fetch(token: str | None) -> tuple[list[Any], str | None]:
        params = {
            "page_size": str(max(1, min(50, page_size))),
            "sort_field": "update_time",
            "sort_order": "ASC",
        }
        if token:
            params["page_token"] = token
        data = await _call(client, op, "POST", path, params=params, body=dict(body))
        return _list(data.get(key), op, key), data.get("next_page_token") or None

    pages = CursorPages(fetch, marketplace=MARKETPLACE, endpoint=op, max_pages=MAX_PAGES)
    async for page in pages:
        if page:
            yield page


async def list_shipping_providers(
    client: TikTokClient, delivery_option_id: str
) -> tuple[ShippingProvider, ...]:
    """Get Shipping Providers for an order's ``delivery_option_id``.

    A TikTok-shipping option answers 21008117 -> :class:`TikTokShippingOptionError`.
    """
    op = "logistics.shipping_providers"
    data = await _call(
        client,
        op,
        "GET",
        f"/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
    )
    return tuple(
        ShippingProvider(str(p["id"]), str(p.get("name") or ""))
        for p in _list(data.get("shipping_providers"), op, "shipping_providers")
        if p.get("id")
    )


async def list_delivery_options(
    client: TikTokClient, warehouse_id: str
) -> tuple[DeliveryOption, ...]:
    """Get Warehouse Delivery Options (to pre-load providers per option)."""
    op = "logistics.delivery_options"
    data = await _call(
        client, op, "GET", f"/logistics/202309/warehouses/{warehouse_id}/delivery_options"
    )
    return tuple(
        DeliveryOption(str(o["id"]), str(o.get("name") or ""), str(o.get("type") or ""))
        for o in _list(data.get("delivery_options"), op, "delivery_options")
        if o.get("id")
    )


# -- reading what TikTok sees ------------------------------------------------------------------
async def get_order_shipping(client: TikTokClient, order_ids: Sequence[str]) -> list[OrderShipping]:
    """Get Order Detail (batches of 50) as shipping views: packages, line states, cancels."""
    ids = list(dict.fromkeys(str(i) for i in order_ids))
    out: list[OrderShipping] = []
    for start in range(0, len(ids), ORDER_DETAIL_BATCH):
        batch = ids[start : start + ORDER_DETAIL_BATCH]
        data = await _call(
            client, "order.detail", "GET", "/order/202309/orders", params={"ids": ",".join(batch)}
        )
        out.extend(
            parse_order_shipping(o) for o in _list(data.get("orders"), "order.detail", "orders")
        )
    return out


async def get_package(client: TikTokClient, package_id: str) -> PackageView:
    """Get Package Detail."""
    op = "fulfillment.package_detail"
    data = await _call(client, op, "GET", f"/fulfillment/202309/packages/{package_id}")
    return _package(data, op)


async def search_packages(
    client: TikTokClient,
    *,
    update_time_ge: datetime,
    update_time_lt: datetime,
    package_status: str | None = None,
    page_size: int = 50,
) -> AsyncIterator[list[PackageView]]:
    """Search Package for packages updated in ``[ge, lt)``, page by page (reconciliation)."""
    op = "fulfillment.search_packages"
    body: dict[str, Any] = {
        "update_time_ge": _epoch(update_time_ge),
        "update_time_lt": _epoch(update_time_lt),
    }
    if package_status:
        body["package_status"] = package_status
    async for page in _search_pages(
        client, op, "/fulfillment/202309/packages/search", body, page_size, "packages"
    ):
        yield [_package(p, op) for p in page]


# -- shipping ----------------------------------------------------------------------------------
async def mark_package_shipped(
    client: TikTokClient,
    order_id: str,
    *,
    line_item_ids: Sequence[str],
    tracking_number: str,
    shipping_provider_id: str,
) -> ShipResult:
    """Mark Package As Shipped (US, UK, ...): creates one package for these lines.

    One call = one package = one tracking number; always send the explicit line ids (one
    per unit). A retried call that already succeeded answers "already shipped"
    (:class:`AlreadyShippedError`): compare with :meth:`OrderShipping.shipped_with`.
    """
    _check_tracking(tracking_number, shipping_provider_id)
    if not line_item_ids:
        raise ValueError("line_item_ids must name the lines of this package")
    op = "fulfillment.mark_shipped"
    body = {
        "order_line_item_ids": [str(i) for i in line_item_ids],
        "tracking_number": tracking_number,
        "shipping_provider_id": shipping_provider_id,
    }
    data = await _call(
        client, op, "POST", f"/fulfillment/202309/orders/{order_id}/packages", body=body
    )
    if not data.get("package_id"):
        raise _malformed(op, "no package_id in the answer")
    warning = data.get("warning")
    detail = warning.get("detail") if isinstance(warning, dict) else None
    # The changelog example nests detail{order_id, Order_line_item_id}: parse both shapes.
    lines = data.get("order_line_item_ids")
    if lines is None and isinstance(detail, dict):
        lines = detail.get("Order_line_item_id") or detail.get("order_line_item_id")
    return ShipResult(
        order_id=str(data.get("order_id") or order_id),
        package_id=str(data["package_id"]),
        line_item_ids=_ids(lines if lines is not None else line_item_ids),
        warning=_str(warning.get("message")) if isinstance(warning, dict) else None,
    )


async def ship_package(
    client: TikTokClient, package_id: str, *, tracking_number: str, shipping_provider_id: str
) -> None:
    """Ship Package with ``self_shipment`` (markets where packages exist from payment)."""
    _check_tracking(tracking_number, shipping_provider_id)
    body = {
        "self_shipment": {
            "tracking_number": tracking_number,
            "shipping_provider_id": shipping_provider_id,
        }
    }
    await _call(
        client,
        "fulfillment.ship_package",
        "POST",
        f"/fulfillment/202309/packages/{package_id}/ship",
        body=body,
    )


async def batch_ship_packages(
    client: TikTokClient, shipments: Sequence[PackageShipment]
) -> tuple[BatchShipFailure, ...]:
    """Batch Ship Packages; returns the refused packages (the rest shipped)."""
    if not shipments:
        return ()
    for s in shipments:
        _check_tracking(s.tracking_number, s.shipping_provider_id)
    op = "fulfillment.batch_ship"
    body = {
        "packages": [
            {
                "id": s.package_id,
                "self_shipment": {
                    "tracking_number": s.tracking_number,
                    "shipping_provider_id": s.shipping_provider_id,
                },
            }
            for s in shipments
        ]
    }
    data = await _call(client, op, "POST", "/fulfillment/202309/packages/ship", body=body)
    out = []
    for e in _list(data.get("errors"), op, "errors"):
        detail = e.get("detail") if isinstance(e.get("detail"), dict) else {}
        code, message = str(e.get("code") or ""), str(e.get("message") or "")
        base = FatalError(message, marketplace=MARKETPLACE, operation=op, code=code)
        out.append(
            BatchShipFailure(str(detail.get("package_id") or ""), code, message, _typed(base))
        )
    return tuple(out)


async def update_package_tracking(
    client: TikTokClient, package_id: str, *, tracking_number: str, shipping_provider_id: str
) -> None:
    """Update Package Shipping Info: the one allowed correction (72 h in US/UK/SEA).

    A second correction or one outside the window -> :class:`CorrectionRefusedError`.
    """
    _check_tracking(tracking_number, shipping_provider_id)
    await _call(
        client,
        "fulfillment.update_package_shipping_info",
        "POST",
        f"/fulfillment/202309/packages/{package_id}/shipping_info/update",
        body={"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id},
    )


async def update_order_tracking(
    client: TikTokClient, order_id: str, *, tracking_number: str, shipping_provider_id: str
) -> None:
    """Update Shipping Info (order level; use the package call for split orders)."""
    _check_tracking(tracking_number, shipping_provider_id)
    await _call(
        client,
        "fulfillment.update_shipping_info",
        "POST",
        f"/fulfillment/202309/orders/{order_id}/shipping_info/update",
        body={"tracking_number": tracking_number, "shipping_provider_id": shipping_provider_id},
    )


# -- cancellations -----------------------------------------------------------------------------
async def search_cancellations(
    client: TikTokClient,
    *,
    order_ids: Sequence[str] = (),
    cancel_ids: Sequence[str] = (),
    cancel_status: Sequence[str] = (),
    cancel_types: Sequence[str] = (),
    update_time_ge: datetime | None = None,
    update_time_lt: datetime | None = None,
    page_size: int = 50,
) -> AsyncIterator[list[Cancellation]]:
    """Search Cancellations, oldest update first, page by page."""
    op = "return_refund.search_cancellations"
    body: dict[str, Any] = {}
    for key, values in (
        ("order_ids", order_ids),
        ("cancel_ids", cancel_ids),
        ("cancel_status", cancel_status),
        ("cancel_types", cancel_types),
    ):
        if values:
            body[key] = [str(v) for v in values]
    if update_time_ge is not None:
        body["update_time_ge"] = _epoch(update_time_ge)
    if update_time_lt is not None:
        body["update_time_lt"] = _epoch(update_time_lt)
    async for page in _search_pages(
        client,
        op,
        "/return_refund/202309/cancellations/search",
        body,
        page_size,
        "cancellations",
    ):
        yield [_cancellation(c) for c in page]


async def approve_cancellation(
    client: TikTokClient, cancel_id: str, *, idempotency_key: str
) -> None:
    """Approve Cancellation of a pending buyer request.

    Reuse one ``idempotency_key`` per decision so a retry is not a second decision.
    """
    if not idempotency_key or len(idempotency_key) > 255:
        raise ValueError("idempotency_key must be 1 to 255 characters")
    await _call(
        client,
        "return_refund.approve_cancellation",
        "POST",
        f"/return_refund/202309/cancellations/{cancel_id}/approve",
        params={"idempotency_key": idempotency_key},
        body={},
    )


async def reject_cancellation(
    client: TikTokClient,
    cancel_id: str,
    *,
    reject_reason: str,
    idempotency_key: str,
    comment: str | None = None,
) -> None:
    """Reject Cancellation (US: TikTok asks to ship instead, which rejects automatically)."""
    if not idempotency_key or len(idempotency_key) > 255:
        raise ValueError("idempotency_key must be 1 to 255 characters")
    body: dict[str, Any] = {"reject_reason": reject_reason}
    if comment:
        body["comment"] = comment
    await _call(
        client,
        "return_refund.reject_cancellation",
        "POST",
        f"/return_refund/202309/cancellations/{cancel_id}/reject",
        params={"idempotency_key": idempotency_key},
        body=body,
    )


async def get_cancel_eligibility(
    client: TikTokClient, order_id: str, *, initiator: str = "SELLER"
) -> tuple[CancelEligibility, ...]:
    """Get Aftersale Eligibility (pre-check before Cancel Order), one row per SKU and type.

    https://partner.tiktokshop.com/docv2/page/get-aftersale-eligibility-202309
    """
    op = "return_refund.aftersale_eligibility"
    data = await _call(
        client,
        op,
        "GET",
        f"/return_refund/202309/orders/{order_id}/aftersale_eligibility",
        params={"initiate_aftersale_user": initiator},
    )
    out = []
    for sku in _list(data.get("sku_eligibility"), op, "sku_eligibility"):
        for item in _list(sku.get("line_item_eligibility"), op, "line_item_eligibility"):
            out.append(
                CancelEligibility(
                    sku_id=str(sku.get("sku_id") or ""),
                    request_type=str(item.get("request_type") or ""),
                    line_item_ids=_ids(item.get("order_line_items_ids")),
                    eligible=bool(item.get("eligible")),
                    ineligible_code=_str(item.get("ineligible_code")),
                    ineligible_reason=_str(item.get("ineligible_reason")),
                )
            )
    return tuple(out)


async def cancel_order(
    client: TikTokClient,
    order_id: str,
    *,
    cancel_reason: str,
    line_item_ids: Sequence[str] = (),
) -> CancelResult:
    """Cancel Order (seller): whole order, or lines (US/UK, out of stock only)."""
    op = "return_refund.cancel_order"
    body: dict[str, Any] = {"order_id": order_id, "cancel_reason": cancel_reason}
    if line_item_ids:
        body["order_line_item_ids"] = [str(i) for i in line_item_ids]
    data = await _call(client, op, "POST", "/return_refund/202309/cancellations", body=body)
    if not data.get("cancel_id"):
        raise _malformed(op, "no cancel_id in the answer")
    return CancelResult(str(data["cancel_id"]), str(data.get("cancel_status") or ""))
