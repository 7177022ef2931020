"""Shopify fulfilments and order cancellation (Admin GraphQL 2026-04) for the order loop back.

Reads what the merchant shipped (fulfilments with tracking and per-line quantities, the
fulfillment orders' remaining quantities) and cancels an order with ``orderCancel``
(asynchronous: a ``Job`` is polled until done, then the order is re-read), or single lines
with ``refundCreate`` (restockType CANCEL, no money moved). Built on
:meth:`connectors.shopify.ShopifyClient.execute`, so pacing, retries and typed errors are the
client's. Every document is in :data:`DOCUMENTS` and validated against the published schema
by the tests.

Sources: https://shopify.dev/docs/api/admin-graphql/2026-04/objects/Fulfillment,
https://shopify.dev/docs/api/admin-graphql/2026-04/objects/FulfillmentOrder,
https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/orderCancel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from connectors.errors import FatalError, MalformedResponseError
from connectors.redact import redact
from connectors.shapes import parsed, wrong_shape

if TYPE_CHECKING:
    from connectors.shopify import ShopifyClient

MARKETPLACE = "shopify"

# Page sizes keep the requested cost near 320 points: 20 fulfilments x 50 lines would cost
# ~1,140, over the 1,000-point single-query limit
# (https://shopify.dev/docs/api/usage/limits#graphql-admin-api-rate-limits). A page that is
# full (hasNextPage) marks the answer ``truncated`` instead of being silently cut.
MAX_FULFILLMENTS = 10
ORDER_FULFILLMENTS_QUERY = """
query SkubridgeOrderFulfillments($id: ID!) {
  order(id: $id) {
    id name sourceIdentifier displayFulfillmentStatus closed cancelledAt cancelReason updatedAt
    fulfillments(first: 10) {
      id name status displayStatus createdAt updatedAt
      trackingInfo(first: 10) { number company url }
      fulfillmentLineItems(first: 25) {
        nodes { quantity lineItem { id sku } }
        pageInfo { hasNextPage }
      }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        id status
        lineItems(first: 25) {
          nodes { totalQuantity remainingQuantity lineItem { id sku } }
          pageInfo { hasNextPage }
        }
      }
      pageInfo { hasNextPage }
    }
  }
}
"""

ORDER_CANCEL_MUTATION = """
mutation SkubridgeOrderCancel(
  $orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!, $staffNote: String
) {
  orderCancel(
    orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: false,
    staffNote: $staffNote
  ) {
    job { id done }
    orderCancelUserErrors { field message code }
  }
}
"""

JOB_QUERY = """
query SkubridgeJob($id: ID!) {
  job(id: $id) { id done }
}
"""

# Single-line cancellation: refundCreate with restockType CANCEL ("use this when restocking
# unfulfilled line items") and no transactions; @idempotent is required from 2026-04
# (https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/refundCreate).
CANCEL_LINES_MUTATION = """
mutation SkubridgeCancelLines($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id }
    userErrors { field message }
  }
}
"""

# Order tags: tagsAdd adds to the tags an order has (existing ones stay, a tag already there
# is not doubled), so repeating it is harmless
# (https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/tagsAdd).
TAGS_ADD_MUTATION = """
mutation SkubridgeTagsAdd($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) {
    userErrors { field message }
  }
}
"""

# Orders changed since a time: one paged search instead of one order(id:) per followed order
# (filter syntax: https://shopify.dev/docs/api/usage/search-syntax, updated_at range filter of
# https://shopify.dev/docs/api/admin-graphql/2026-04/queries/orders). 250 ids cost about 252
# points, under the 1,000-point single-query limit.
CHANGED_ORDERS_PAGE = 250
CHANGED_ORDERS_MAX_PAGES = 400
CHANGED_ORDERS_QUERY = """
query SkubridgeChangedOrders($query: String!, $after: String) {
  orders(first: 250, after: $after, query: $query, sortKey: UPDATED_AT) {
    nodes { id }
    pageInfo { hasNextPage endCursor }
  }
}
"""

DOCUMENTS: dict[str, str] = {
    "orderFulfillments": ORDER_FULFILLMENTS_QUERY,
    "orderCancel": ORDER_CANCEL_MUTATION,
    "job": JOB_QUERY,
    "refundCreate": CANCEL_LINES_MUTATION,
    "tagsAdd": TAGS_ADD_MUTATION,
    "orders": CHANGED_ORDERS_QUERY,
}

CancelReason = Literal["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"]
STAFF_NOTE_MAX = 255  # orderCancel refuses a longer staffNote


# -- results -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackingInfo:
    """One ``FulfillmentTrackingInfo``: ``company`` is free text (e.g. "UPS", "Hermes")."""

    number: str | None
    company: str | None
    url: str | None


@dataclass(frozen=True, slots=True)
class FulfilledLine:
    """Units of one order line (``LineItem`` GID) inside one fulfilment."""

    line_item_id: str
    sku: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class ShopifyFulfillment:
    """A fulfilment: ``status`` SUCCESS | CANCELLED | ERROR | FAILURE; tracking may be empty
    (a fulfilment without tracking gets it later through an update)."""

    id: str
    name: str | None
    status: str
    display_status: str | None
    created_at: datetime | None
    updated_at: datetime | None
    tracking: tuple[TrackingInfo, ...]
    lines: tuple[FulfilledLine, ...]

    @property
    def active(self) -> bool:
        """Counts as shipped (``SUCCESS``)."""
        return self.status == "SUCCESS"

    @property
    def tracking_number(self) -> str | None:
        """The first tracking number (several numbers in one box set are not split)."""
        return next((t.number for t in self.tracking if t.number), None)

    @property
    def carrier(self) -> str | None:
        """The company of the first tracking entry."""
        return next((t.company for t in self.tracking if t.company), None)


@dataclass(frozen=True, slots=True)
class FulfillmentOrderLine:
    line_item_id: str
    total_quantity: int
    remaining_quantity: int
    sku: str | None = None


@dataclass(frozen=True, slots=True)
class ShopifyFulfillmentOrder:
    """A fulfillment order: ``status`` OPEN | IN_PROGRESS | ON_HOLD | SCHEDULED | INCOMPLETE |
    CLOSED | CANCELLED."""

    id: str
    status: str
    lines: tuple[FulfillmentOrderLine, ...]


@dataclass(frozen=True, slots=True)
class OrderFulfillments:
    """What Shopify says happened to an order: fulfilments, fulfillment orders, cancellation."""

    order_id: str
    name: str | None
    source_identifier: str | None
    display_fulfillment_status: str | None
    closed: bool
    cancelled_at: datetime | None
    cancel_reason: str | None
    updated_at: datetime | None
    fulfillments: tuple[ShopifyFulfillment, ...]
    fulfillment_orders: tuple[ShopifyFulfillmentOrder, ...]
    truncated: bool = False  # a page was full: more fulfilments or lines exist than were read

    @property
    def cancelled(self) -> bool:
        return self.cancelled_at is not None

    def shipped_quantities(self) -> dict[str, int]:
        """Units shipped per ``LineItem`` GID, over ``SUCCESS`` fulfilments only."""
        out: dict[str, int] = {}
        for f in self.fulfillments:
            if f.active:
                for line in f.lines:
                    out[line.line_item_id] = out.get(line.line_item_id, 0) + line.quantity
        return out


@dataclass(frozen=True, slots=True)
class OrderCancelResult:
    """``status``: CANCELLED (this call's job completed and the order reads cancelled),
    ALREADY_CANCELLED (it was cancelled before), PENDING (the job was not done within the
    polls; read the order later)."""

    order_id: str
    status: Literal["CANCELLED", "ALREADY_CANCELLED", "PENDING"]
    job_id: str | None
    cancelled_at: datetime | None


@dataclass(frozen=True, slots=True)
class LineCancelResult:
    """Units cancelled per ``LineItem`` GID by one ``refundCreate`` (``refund_id``)."""

    order_id: str
    refund_id: str
    lines: tuple[tuple[str, int], ...]


class StoreAlreadyFulfilledError(FatalError):
    """Too late to cancel: the order has a fulfilment (Shopify: "Cannot cancel an order that
    has outstanding fulfillments"). Advise a return instead."""


class OrderNotFoundError(FatalError):
    """The store order does not exist (anymore)."""


# -- calls ---------------------------------------------------------------------------------


async def read_order_fulfillments(client: ShopifyClient, order_id: str) -> OrderFulfillments | None:
    """An order's fulfilments with tracking and per-line quantities, its fulfillment orders
    and its cancellation state; None when the order does not exist."""
    data = await client.execute("orderFulfillments", ORDER_FULFILLMENTS_QUERY, {"id": order_id})
    node = data.get("order")
    if node is None:
        return None
    if not isinstance(node, dict):
        raise _malformed("orderFulfillments", "order is not an object")
    return parsed(_order, node, marketplace=MARKETPLACE, operation="orderFulfillments")


async def changed_order_ids(client: ShopifyClient, since: datetime) -> set[str]:
    """Ids of the orders updated at or after ``since`` (every page)."""
    search = f"updated_at:>='{since.astimezone(UTC).strftime('%Y-%m-%dT%H:%M:%SZ')}'"
    out: set[str] = set()
    after: str | None = None
    for _ in range(CHANGED_ORDERS_MAX_PAGES):
        data = await client.execute(
            "orders", CHANGED_ORDERS_QUERY, {"query": search, "after": after}
        )
        conn = data.get("orders")
        if not isinstance(conn, dict):
            raise _malformed("orders", "orders is not an object")
        out.update(str(n["id"]) for n in _nodes(conn) if n.get("id"))
        info = conn.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return out
        cursor = info.get("endCursor")
        if not cursor or cursor == after:
            raise _malformed("orders", "hasNextPage without a new endCursor")
        after = str(cursor)
    raise _malformed("orders", f"more than {CHANGED_ORDERS_MAX_PAGES} pages of changed orders")


async def add_order_tags(client: ShopifyClient, order_id: str, tags: Sequence[str]) -> None:
    """Add ``tags`` to an order (``tagsAdd``); a user error (e.g. no such order) is fatal."""
    data = await client.execute("tagsAdd", TAGS_ADD_MUTATION, {"id": order_id, "tags": list(tags)})
    payload = data.get("tagsAdd")
    if not isinstance(payload, dict):
        raise _malformed("tagsAdd", "tagsAdd is not an object")
    errors = payload.get("userErrors") or []
    if errors:
        message = "; ".join(str(e.get("message")) for e in errors if isinstance(e, dict))
        raise FatalError(
            f"tagsAdd on {order_id}: {message}"[:300],
            marketplace=MARKETPLACE,
            operation="tagsAdd",
            code="USER_ERROR",
        )


async def cancel_order(
    client: ShopifyClient,
    order_id: str,
    *,
    reason: CancelReason = "OTHER",
    restock: bool = True,
    staff_note: str | None = None,
    poll_interval: float = 0.5,
    max_polls: int = 20,
) -> OrderCancelResult:
    """Cancel a whole order (``orderCancel``, no refund recorded, customer not notified:
    TikTok notifies the buyer) and wait for its job.

    Safe to repeat: a second call answers "already been canceled" -> ALREADY_CANCELLED.
    Raises :class:`StoreAlreadyFulfilledError` when the order has a fulfilment,
    :class:`OrderNotFoundError` for an unknown order, FatalError for other refusals.
    """
    if staff_note is not None and len(staff_note) > STAFF_NOTE_MAX:
        staff_note = staff_note[: STAFF_NOTE_MAX - 1] + "…"
    variables = {
        "orderId": order_id,
        "reason": reason,
        "restock": restock,
        "staffNote": staff_note,
    }
    data = await client.execute("orderCancel", ORDER_CANCEL_MUTATION, variables)
    payload = data.get("orderCancel")
    if not isinstance(payload, dict):
        raise _malformed("orderCancel", "no orderCancel payload")
    errors = payload.get("orderCancelUserErrors") or []
    if errors:
        return await _refused(client, order_id, errors)
    job = payload.get("job") or {}
    job_id = job.get("id")
    done = bool(job.get("done"))
    polls = 0
    while job_id and not done and polls < max_polls:
        if polls:
            await asyncio.sleep(poll_interval)
        done = await job_done(client, job_id)
        polls += 1
    state = await read_order_fulfillments(client, order_id)
    if state is None:
        raise OrderNotFoundError(
            f"order {order_id} vanished after orderCancel",
            marketplace=MARKETPLACE,
            operation="orderCancel",
            code="NOT_FOUND",
        )
    if state.cancelled:
        return OrderCancelResult(order_id, "CANCELLED", job_id, state.cancelled_at)
    if done and state.fulfillments and any(f.active for f in state.fulfillments):
        raise StoreAlreadyFulfilledError(
            f"order {order_id} was fulfilled before its cancellation job ran",
            marketplace=MARKETPLACE,
            operation="orderCancel",
            code="STORE_ALREADY_FULFILLED",
        )
    return OrderCancelResult(order_id, "PENDING", job_id, None)


async def cancel_order_lines(
    client: ShopifyClient,
    order_id: str,
    lines: Mapping[str, int],
    *,
    idempotency_key: str,
    restock: bool = True,
    note: str | None = None,
) -> LineCancelResult:
    """Cancel unfulfilled units of single lines (``LineItem`` GID -> units) without moving
    money: ``refundCreate`` with ``restockType`` CANCEL (NO_RESTOCK when ``restock`` is
    false) and no transactions.

    ``idempotency_key`` must be stable for the same cancellation (e.g. derived from the
    TikTok cancellation id): a retry with it is answered from Shopify's record, never
    applied twice. A refusal where the units are already shipped raises
    :class:`StoreAlreadyFulfilledError`; others raise FatalError.
    """
    rows = [
        {
            "lineItemId": line_id,
            "quantity": int(quantity),
            "restockType": "CANCEL" if restock else "NO_RESTOCK",
        }
        for line_id, quantity in lines.items()
        if quantity > 0
    ]
    if not rows:
        raise ValueError("no units to cancel")
    refund_input: dict[str, Any] = {"orderId": order_id, "notify": False, "refundLineItems": rows}
    if note:
        refund_input["note"] = note
    data = await client.execute(
        "refundCreate", CANCEL_LINES_MUTATION, {"input": refund_input, "key": idempotency_key}
    )
    payload = data.get("refundCreate")
    if not isinstance(payload, dict):
        raise _malformed("refundCreate", "no refundCreate payload")
    errors = payload.get("userErrors") or []
    kwargs: dict[str, Any] = {"marketplace": MARKETPLACE, "operation": "refundCreate"}
    if errors:
        text = redact("; ".join(str(e.get("message") or "") for e in errors))
        state = await read_order_fulfillments(client, order_id)
        if state is None:
            raise OrderNotFoundError(text, code="NOT_FOUND", **kwargs)
        shipped = state.shipped_quantities()
        if any(shipped.get(line_id, 0) > 0 for line_id in lines):
            raise StoreAlreadyFulfilledError(text, code="STORE_ALREADY_FULFILLED", **kwargs)
        raise FatalError(text, **kwargs)
    refund = payload.get("refund") or {}
    if not refund.get("id"):
        raise _malformed("refundCreate", "no refund and no userErrors")
    return LineCancelResult(
        order_id=order_id,
        refund_id=str(refund["id"]),
        lines=tuple((r["lineItemId"], r["quantity"]) for r in rows),
    )


async def job_done(client: ShopifyClient, job_id: str) -> bool:
    """Whether an asynchronous job (e.g. of ``orderCancel``) has completed."""
    data = await client.execute("job", JOB_QUERY, {"id": job_id})
    job = data.get("job")
    if not isinstance(job, dict):
        raise _malformed("job", f"no job {job_id}")
    return bool(job.get("done"))


async def _refused(
    client: ShopifyClient, order_id: str, errors: list[Mapping[str, Any]]
) -> OrderCancelResult:
    messages = [str(e.get("message") or "") for e in errors]
    codes = [e.get("code") for e in errors]
    text = redact("; ".join(m for m in messages if m))
    lowered = text.lower()
    if "already been canceled" in lowered or "already been cancelled" in lowered:
        state = await read_order_fulfillments(client, order_id)
        return OrderCancelResult(
            order_id, "ALREADY_CANCELLED", None, state.cancelled_at if state else None
        )
    kwargs: dict[str, Any] = {"marketplace": MARKETPLACE, "operation": "orderCancel"}
    if "outstanding fulfillments" in lowered:
        raise StoreAlreadyFulfilledError(text, code="STORE_ALREADY_FULFILLED", **kwargs)
    if "NOT_FOUND" in codes:
        raise OrderNotFoundError(text, code="NOT_FOUND", **kwargs)
    raise FatalError(text, code=next((c for c in codes if c), None), **kwargs)


# -- parsing -------------------------------------------------------------------------------


def _time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def _nodes(conn: Any) -> list[dict[str, Any]]:
    nodes = conn.get("nodes") if isinstance(conn, dict) else None
    if not isinstance(nodes, list):
        raise TypeError("connection without nodes")
    return [n for n in nodes if isinstance(n, dict)]


def _fulfillment(node: Mapping[str, Any]) -> ShopifyFulfillment:
    return ShopifyFulfillment(
        id=str(node["id"]),
        name=node.get("name"),
        status=str(node["status"]),
        display_status=node.get("displayStatus"),
        created_at=_time(node.get("createdAt")),
        updated_at=_time(node.get("updatedAt")),
        tracking=tuple(
            TrackingInfo(t.get("number"), t.get("company"), t.get("url"))
            for t in node.get("trackingInfo") or []
        ),
        lines=tuple(
            FulfilledLine(
                line_item_id=str(n["lineItem"]["id"]),
                sku=n["lineItem"].get("sku"),
                # FulfillmentLineItem.quantity is nullable in the schema: null counts as 0
                quantity=int(n.get("quantity") or 0),
            )
            for n in _nodes(node.get("fulfillmentLineItems"))
        ),
    )


def _more(conn: Any) -> bool:
    info = conn.get("pageInfo") if isinstance(conn, dict) else None
    return bool(info.get("hasNextPage")) if isinstance(info, dict) else False


def _truncated(node: Mapping[str, Any]) -> bool:
    fulfillments = node.get("fulfillments") or []
    if len(fulfillments) >= MAX_FULFILLMENTS:
        return True
    if any(_more(f.get("fulfillmentLineItems")) for f in fulfillments):
        return True
    orders = node.get("fulfillmentOrders")
    return _more(orders) or any(_more(fo.get("lineItems")) for fo in _nodes(orders))


def _order(node: Mapping[str, Any]) -> OrderFulfillments:
    return OrderFulfillments(
        order_id=str(node["id"]),
        name=node.get("name"),
        source_identifier=node.get("sourceIdentifier"),
        display_fulfillment_status=node.get("displayFulfillmentStatus"),
        closed=bool(node.get("closed")),
        cancelled_at=_time(node.get("cancelledAt")),
        cancel_reason=node.get("cancelReason"),
        updated_at=_time(node.get("updatedAt")),
        fulfillments=tuple(_fulfillment(f) for f in node.get("fulfillments") or []),
        fulfillment_orders=tuple(
            ShopifyFulfillmentOrder(
                id=str(fo["id"]),
                status=str(fo["status"]),
                lines=tuple(
                    FulfillmentOrderLine(
                        line_item_id=str(li["lineItem"]["id"]),
                        total_quantity=int(li["totalQuantity"]),
                        remaining_quantity=int(li["remainingQuantity"]),
                        sku=li["lineItem"].get("sku"),
                    )
                    for li in _nodes(fo.get("lineItems"))
                ),
            )
            for fo in _nodes(node.get("fulfillmentOrders"))
        ),
        truncated=_truncated(node),
    )


def _malformed(operation: str, why: str) -> MalformedResponseError:
    return wrong_shape(MARKETPLACE, operation, why)


__all__ = [
    "DOCUMENTS",
    "FulfilledLine",
    "FulfillmentOrderLine",
    "LineCancelResult",
    "OrderCancelResult",
    "OrderFulfillments",
    "OrderNotFoundError",
    "ShopifyFulfillment",
    "ShopifyFulfillmentOrder",
    "StoreAlreadyFulfilledError",
    "TrackingInfo",
    "cancel_order",
    "cancel_order_lines",
    "job_done",
    "read_order_fulfillments",
]
