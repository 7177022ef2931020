"""Amazon MCF shipments, cancellation and MFN listing quantity for the order loop back.

Calls (on :class:`connectors.amazon.AmazonClient`, so auth, usage plans, retries and typed
errors are the client's), per Amazon's models
(https://github.com/amzn/selling-partner-api-models/tree/main/models/fulfillment-outbound-api-model,
https://github.com/amzn/selling-partner-api-models/tree/main/models/listings-items-api-model):

- ``getFulfillmentOrder``: status, items, shipments with packages, carrier and tracking;
- ``listAllFulfillmentOrders?queryStartDate=``: orders whose status changed since (MCF
  status notifications only go to AWS SQS, so this poll is how changes are found);
- ``getPackageTrackingDetails?packageNumber=``: carrier tracking of one package;
- ``cancelFulfillmentOrder``: allowed only while ``New``/``Received``/``Planning``; a later
  cancel raises :class:`McfTooLateToCancelError` (Amazon's error code for it is not
  documented, so the order is re-read to decide);
- ``patchListingsItem`` on ``fulfillment_availability``: the absolute quantity of a
  merchant-fulfilled (``DEFAULT`` channel) listing; FBA listings are never patched.

Statuses are compared case-insensitively (the model's own example says ``PROCESSING``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from connectors.errors import AuthError, FatalError, MalformedResponseError
from connectors.paging import CursorPages
from connectors.shapes import parsed, wrong_shape

if TYPE_CHECKING:
    from connectors.amazon import AmazonClient

MARKETPLACE = "amazon"
OUTBOUND = "/fba/outbound/2020-07-01"
CANCELLABLE = frozenset(["new", "received", "planning"])
TERMINAL = frozenset(["complete", "completepartialled", "cancelled", "unfulfillable", "invalid"])
MAX_LIST_PAGES = 1000
_E = TypeVar("_E", bound=FatalError)


def _path(*segments: str) -> str:
    """A path whose segments are percent-encoded exactly once (no character safe)."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


def _iso(moment: datetime) -> str:
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class McfPackage:
    """One box: ``carrier_code`` e.g. "Amazon Logistics", "UPS"; ``amazon_tracking_number``
    is the early AFTN when Amazon issued one."""

    package_number: int
    carrier_code: str
    tracking_number: str | None
    amazon_tracking_number: str | None = None
    estimated_arrival: datetime | None = None


@dataclass(frozen=True, slots=True)
class McfShipmentItem:
    """Units of one order item in one package (``package_number`` None = not packed yet)."""

    seller_sku: str
    order_item_id: str
    quantity: int
    package_number: int | None


@dataclass(frozen=True, slots=True)
class McfShipment:
    """``status`` PENDING | SHIPPED | CANCELLED_BY_FULFILLER | CANCELLED_BY_SELLER."""

    shipment_id: str
    status: str
    shipped_at: datetime | None
    items: tuple[McfShipmentItem, ...]
    packages: tuple[McfPackage, ...]

    @property
    def shipped(self) -> bool:
        return self.status.upper() == "SHIPPED"

    def items_in(self, package_number: int) -> tuple[McfShipmentItem, ...]:
        return tuple(i for i in self.items if i.package_number == package_number)


@dataclass(frozen=True, slots=True)
class McfOrderItem:
    seller_sku: str
    order_item_id: str
    quantity: int
    cancelled_quantity: int
    unfulfillable_quantity: int


@dataclass(frozen=True, slots=True)
class McfOrder:
    """A fulfillment order as ``getFulfillmentOrder`` returns it."""

    order_id: str
    displayable_order_id: str | None
    status: str
    status_updated_at: datetime | None
    received_at: datetime | None
    items: tuple[McfOrderItem, ...]
    shipments: tuple[McfShipment, ...]

    @property
    def cancellable(self) -> bool:
        return self.status.lower() in CANCELLABLE

    @property
    def cancelled(self) -> bool:
        return self.status.lower() == "cancelled"

    @property
    def terminal(self) -> bool:
        return self.status.lower() in TERMINAL

    def shipped_packages(self) -> list[tuple[McfPackage, tuple[McfShipmentItem, ...]]]:
        """Every package of a SHIPPED shipment with the item units inside it."""
        out = []
        for shipment in self.shipments:
            if shipment.shipped:
                for package in shipment.packages:
                    if package.package_number:  # 0 is the model's "not packed" placeholder
                        out.append((package, shipment.items_in(package.package_number)))
        return out


@dataclass(frozen=True, slots=True)
class McfOrderChange:
    """One entry of ``listAllFulfillmentOrders`` (no shipments: read the order for those)."""

    order_id: str
    status: str
    status_updated_at: datetime | None


@dataclass(frozen=True, slots=True)
class TrackingEvent:
    at: datetime | None
    code: str
    description: str | None


@dataclass(frozen=True, slots=True)
class PackageTracking:
    package_number: int
    tracking_number: str | None
    carrier_code: str | None
    current_status: str | None
    ship_date: datetime | None
    estimated_arrival: datetime | None
    events: tuple[TrackingEvent, ...]


@dataclass(frozen=True, slots=True)
class ListingQuantityResult:
    """``patchListingsItem`` outcome: ``status`` ACCEPTED (applied asynchronously: a read
    right after may still show the old quantity) or VALID (validation preview)."""

    sku: str
    quantity: int
    status: str
    submission_id: str | None


class McfTooLateToCancelError(FatalError):
    """The MCF order is past ``Planning`` (picking started or shipped): it cannot be
    cancelled any more. ``order_status`` says where it is."""

    order_status: str | None = None


class McfOrderNotFoundError(FatalError):
    """No fulfillment order with this ``sellerFulfillmentOrderId``."""


class NotMerchantFulfilledError(FatalError):
    """The listing is not merchant-fulfilled (``DEFAULT`` channel): Amazon owns its quantity."""


class ListingRejectedError(FatalError):
    """``patchListingsItem`` answered ``INVALID``; ``issues`` holds Amazon's issue list."""

    issues: tuple[Mapping[str, Any], ...] = ()


# -- calls ---------------------------------------------------------------------------------


async def get_mcf_order(client: AmazonClient, order_id: str) -> McfOrder | None:
    """``getFulfillmentOrder``; None for an unknown id (404, or a 400 saying not found)."""
    path = _path("fba", "outbound", "2020-07-01", "fulfillmentOrders", order_id)
    try:
        body = await client._json("getFulfillmentOrder", "GET", path)
    except FatalError as exc:
        if isinstance(exc, AuthError):
            raise
        if exc.status == 404 or (exc.status == 400 and "not found" in exc.message.lower()):
            return None
        raise
    payload = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(payload, dict):
        raise _malformed("getFulfillmentOrder", "no payload")
    return parsed(_order, payload, marketplace=MARKETPLACE, operation="getFulfillmentOrder")


async def list_mcf_orders_changed_since(
    client: AmazonClient, since: datetime, *, id_prefix: str | None = None
) -> list[McfOrderChange]:
    """Orders whose status changed at or after ``since`` (creation included), every page;
    ``id_prefix`` keeps only ids starting with it (e.g. ``"TTS-"`` for relayed orders)."""
    op = "listAllFulfillmentOrders"

    async def fetch(token: str | None) -> tuple[list[Any], str | None]:
        params = {"queryStartDate": _iso(since)} | ({"nextToken": token} if token else {})
        body = await client._json(op, "GET", f"{OUTBOUND}/fulfillmentOrders", params=params)
        payload = body.get("payload") if isinstance(body, dict) else None
        if not isinstance(payload, dict):
            raise _malformed(op, "no payload")
        token = payload.get("nextToken")
        return payload.get("fulfillmentOrders") or [], str(token) if token else None

    out: list[McfOrderChange] = []
    pages = CursorPages(fetch, marketplace=MARKETPLACE, endpoint=op, max_pages=MAX_LIST_PAGES)
    async for heads in pages:
        for head in heads:
            order_id = str(head.get("sellerFulfillmentOrderId") or "")
            if not order_id or (id_prefix and not order_id.startswith(id_prefix)):
                continue
            out.append(
                McfOrderChange(
                    order_id=order_id,
                    status=str(head.get("fulfillmentOrderStatus") or ""),
                    status_updated_at=_time(head.get("statusUpdatedDate")),
                )
            )
    return out


async def get_package_tracking(client: AmazonClient, package_number: int) -> PackageTracking | None:
    """``getPackageTrackingDetails`` of one package; None when Amazon does not know it."""
    try:
        body = await client._json(
            "getPackageTrackingDetails",
            "GET",
            f"{OUTBOUND}/tracking",
            params={"packageNumber": str(int(package_number))},
        )
    except FatalError as exc:
        if exc.status == 404 and not isinstance(exc, AuthError):
            return None
        raise
    p = body.get("payload") if isinstance(body, dict) else None
    if not isinstance(p, dict):
        raise _malformed("getPackageTrackingDetails", "no payload")
    return PackageTracking(
        package_number=int(p.get("packageNumber") or package_number),
        tracking_number=p.get("trackingNumber"),
        carrier_code=p.get("carrierCode"),
        current_status=p.get("currentStatus"),
        ship_date=_time(p.get("shipDate")),
        estimated_arrival=_time(p.get("estimatedArrivalDate")),
        events=tuple(
            TrackingEvent(
                _time(e.get("eventDate")), str(e.get("eventCode")), e.get("eventDescription")
            )
            for e in p.get("trackingEvents") or []
        ),
    )


async def cancel_mcf_order(client: AmazonClient, order_id: str) -> McfOrder:
    """Cancel an MCF order and return it as re-read (status ``Cancelled``).

    Repeatable: an order that already reads ``Cancelled`` is returned as it is. Raises
    :class:`McfTooLateToCancelError` once it is ``Processing`` or later and
    :class:`McfOrderNotFoundError` for an unknown id.
    """
    path = _path("fba", "outbound", "2020-07-01", "fulfillmentOrders", order_id, "cancel")
    try:
        # The model has no request body; an empty PUT is what Amazon's samples send.
        await client._call("cancelFulfillmentOrder", "PUT", path)
    except FatalError as exc:
        if isinstance(exc, AuthError) or exc.status not in (400, 404):
            raise
        order = await get_mcf_order(client, order_id)
        if order is None:
            raise _cancel_error(McfOrderNotFoundError, f"no MCF order {order_id}", exc) from None
        if order.cancelled:
            return order
        if not order.cancellable:
            error = _cancel_error(
                McfTooLateToCancelError,
                f"MCF order {order_id} is {order.status}: too late to cancel ({exc.message})",
                exc,
            )
            error.order_status = order.status
            raise error from None
        raise
    order = await get_mcf_order(client, order_id)
    if order is None:
        raise _malformed("cancelFulfillmentOrder", f"order {order_id} vanished after cancel")
    return order


async def read_mfn_quantity(client: AmazonClient, sku: str) -> int | None:
    """The ``DEFAULT``-channel quantity of a listing (None: unknown SKU or not MFN)."""
    item = await client.get_listing(sku, ("summaries", "fulfillmentAvailability"))
    if item is None:
        return None
    return _default_quantity(item)


async def set_mfn_quantity(
    client: AmazonClient, sku: str, quantity: int, *, product_type: str | None = None
) -> ListingQuantityResult:
    """Set the absolute quantity of a merchant-fulfilled listing with ``patchListingsItem``
    (``replace /attributes/fulfillment_availability``). There is no relative decrement: the
    caller computes ``quantity`` from its own stock record.

    Without ``product_type`` the listing is read first (``getListingsItem``), which also
    checks it is merchant-fulfilled (:class:`NotMerchantFulfilledError` otherwise).
    """
    if quantity < 0:
        raise ValueError(f"quantity must be >= 0, not {quantity}")
    if product_type is None:
        item = await client.get_listing(sku, ("summaries", "fulfillmentAvailability"))
        if item is None:
            raise FatalError(
                f"no Amazon listing {sku}",
                marketplace=MARKETPLACE,
                operation="getListingsItem",
                status=404,
                code="NOT_FOUND",
            )
        channels = [
            str(a.get("fulfillmentChannelCode"))
            for a in item.get("fulfillmentAvailability") or []
            if isinstance(a, dict)
        ]
        if "DEFAULT" not in channels:
            raise NotMerchantFulfilledError(
                f"listing {sku} is fulfilled by Amazon ({', '.join(channels) or 'no channel'}); "
                "its quantity is Amazon's",
                marketplace=MARKETPLACE,
                operation="patchListingsItem",
                code="NOT_MFN",
            )
        summaries = item.get("summaries") or [{}]
        product_type = str(summaries[0].get("productType") or "PRODUCT")
    body = {
        "productType": product_type,
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": quantity}],
            }
        ],
    }
    path = _path("listings", "2021-08-01", "items", client.seller_id, sku)
    answer = await client._json(
        "patchListingsItem",
        "PATCH",
        path,
        params={"marketplaceIds": client.marketplace_id},
        body=body,
    )
    if not isinstance(answer, dict):
        raise _malformed("patchListingsItem", "answer is not an object")
    status = str(answer.get("status") or "")
    if status not in ("ACCEPTED", "VALID"):
        issues = tuple(i for i in answer.get("issues") or [] if isinstance(i, dict))
        text = "; ".join(f"{i.get('code')}: {i.get('message')}" for i in issues) or status
        error = ListingRejectedError(
            f"listing {sku} quantity {quantity} rejected: {text}",
            marketplace=MARKETPLACE,
            operation="patchListingsItem",
            code=status or None,
        )
        error.issues = issues
        raise error
    return ListingQuantityResult(sku, quantity, status, answer.get("submissionId"))


# -- parsing -------------------------------------------------------------------------------


def _default_quantity(item: Mapping[str, Any]) -> int | None:
    for entry in item.get("fulfillmentAvailability") or []:
        if isinstance(entry, dict) and entry.get("fulfillmentChannelCode") == "DEFAULT":
            quantity = entry.get("quantity")
            return int(quantity) if isinstance(quantity, int) else None
    return None


def _order(payload: Mapping[str, Any]) -> McfOrder:
    head = payload["fulfillmentOrder"]
    return McfOrder(
        order_id=str(head["sellerFulfillmentOrderId"]),
        displayable_order_id=head.get("displayableOrderId"),
        status=str(head["fulfillmentOrderStatus"]),
        status_updated_at=_time(head.get("statusUpdatedDate")),
        received_at=_time(head.get("receivedDate")),
        items=tuple(
            McfOrderItem(
                seller_sku=str(i["sellerSku"]),
                order_item_id=str(i["sellerFulfillmentOrderItemId"]),
                quantity=int(i["quantity"]),
                cancelled_quantity=int(i.get("cancelledQuantity") or 0),
                unfulfillable_quantity=int(i.get("unfulfillableQuantity") or 0),
            )
            for i in payload.get("fulfillmentOrderItems") or []
        ),
        shipments=tuple(_shipment(s) for s in payload.get("fulfillmentShipments") or []),
    )


def _shipment(s: Mapping[str, Any]) -> McfShipment:
    shipped = str(s["fulfillmentShipmentStatus"]).upper() == "SHIPPED"
    return McfShipment(
        shipment_id=str(s["amazonShipmentId"]),
        status=str(s["fulfillmentShipmentStatus"]).upper(),
        # shippingDate is an estimate while PENDING: only a SHIPPED one is a ship time
        shipped_at=_time(s.get("shippingDate")) if shipped else None,
        items=tuple(
            McfShipmentItem(
                seller_sku=str(i["sellerSku"]),
                order_item_id=str(i["sellerFulfillmentOrderItemId"]),
                quantity=int(i["quantity"]),
                package_number=int(i["packageNumber"]) if i.get("packageNumber") else None,
            )
            for i in s.get("fulfillmentShipmentItem") or []
        ),
        packages=tuple(
            McfPackage(
                package_number=int(p["packageNumber"]),
                carrier_code=str(p["carrierCode"]),
                tracking_number=p.get("trackingNumber"),
                amazon_tracking_number=p.get("amazonFulfillmentTrackingNumber"),
                estimated_arrival=_time(p.get("estimatedArrivalDate")),
            )
            for p in s.get("fulfillmentShipmentPackage") or []
        ),
    )


def _cancel_error(kind: type[_E], message: str, exc: FatalError) -> _E:
    """``kind`` for a refused ``cancelFulfillmentOrder``, keeping Amazon's status and ids."""
    return kind(
        message,
        marketplace=MARKETPLACE,
        operation="cancelFulfillmentOrder",
        status=exc.status,
        code=exc.code,
        request_id=exc.request_id,
    )


def _malformed(operation: str, why: str) -> MalformedResponseError:
    return wrong_shape(MARKETPLACE, operation, why)


__all__ = [
    "ListingQuantityResult",
    "ListingRejectedError",
    "McfOrder",
    "McfOrderChange",
    "McfOrderItem",
    "McfOrderNotFoundError",
    "McfPackage",
    "McfShipment",
    "McfShipmentItem",
    "McfTooLateToCancelError",
    "NotMerchantFulfilledError",
    "PackageTracking",
    "TrackingEvent",
    "cancel_mcf_order",
    "get_mcf_order",
    "get_package_tracking",
    "list_mcf_orders_changed_since",
    "read_mfn_quantity",
    "set_mfn_quantity",
]
