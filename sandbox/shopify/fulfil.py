"""Fulfilment and cancellation behaviour of the Shopify emulator (the order loop back).

What a merchant does in the Shopify admin (fulfil lines with tracking, edit tracking,
cancel a fulfilment) and what ``orderCancel`` does, over :mod:`sandbox.shopify.state`:

- every order gets one fulfillment order per location its units were taken from
  (``OPEN``; ``IN_PROGRESS`` once partly fulfilled; ``CLOSED`` when nothing remains or the
  order is cancelled);
- ``fulfillmentCreate`` checks the preconditions Shopify answers with (messages from
  Shopify captures published in ``airhorns/shopify-draft-proxy``,
  ``fixtures/conformance/.../orders/fulfillment-create-preconditions.json``) and moves
  ``committed``/``on_hand`` down at the fulfilment location;
- ``orderCancel`` answers with a ``Job`` (``done: false``) and applies the cancellation
  when the job completes; it is refused once a ``SUCCESS`` fulfilment exists
  (https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/orderCancel).

Webhook payloads are REST-shaped with integer ids
(https://shopify.dev/docs/api/webhooks?reference=toml, topics ``fulfillments/create``,
``fulfillments/update``, ``orders/fulfilled``, ``orders/partially_fulfilled``,
``orders/cancelled``).
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError

from sandbox.shopify.state import (
    FULFILLMENT_BASE,
    FULFILLMENT_LINE_BASE,
    FULFILLMENT_ORDER_BASE,
    FULFILLMENT_ORDER_LINE_BASE,
    REFUND_BASE,
    Claim,
    Fulfillment,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    Job,
    Order,
    ShopifyState,
    Tracking,
    gid_number,
    now_iso,
)

if TYPE_CHECKING:
    from sandbox.shopify.emulator import ShopifyEmulator

BAD_QUANTITY = "Invalid fulfillment order line item quantity requested."
ONE_REFUND_ARG = "Only one of the arguments `refund` or `refund_method` is allowed."
CANCEL_REASONS = frozenset(["CUSTOMER", "DECLINED", "FRAUD", "INVENTORY", "OTHER", "STAFF"])
STAFF_NOTE_MAX = 255


def _error(field: list[str] | None, message: str) -> dict[str, Any]:
    return {"field": field, "message": message}


# -- look-ups ------------------------------------------------------------------------------


def find_order(state: ShopifyState, order_id: str) -> Order | None:
    return next((o for o in state.orders if o.id == order_id), None)


def find_fulfillment_order(
    state: ShopifyState, fo_id: str
) -> tuple[Order, FulfillmentOrder] | None:
    for order in state.orders:
        for fo in order.fulfillment_orders:
            if fo.id == fo_id:
                return order, fo
    return None


def find_fulfillment(state: ShopifyState, fid: str) -> tuple[Order, Fulfillment] | None:
    for order in state.orders:
        for f in order.fulfillments:
            if f.id == fid:
                return order, f
    return None


def fulfilled_quantity(order: Order, line_id: str) -> int:
    """Units of a line in ``SUCCESS`` fulfilments."""
    return sum(
        fl.quantity
        for f in order.fulfillments
        if f.status == "SUCCESS"
        for fl in f.lines
        if fl.line_item_id == line_id
    )


def display_fulfillment_status(order: Order) -> str:
    """``Order.displayFulfillmentStatus`` from the fulfilled share of the order's units."""
    total = sum(ln.current_quantity for ln in order.lines)
    done = sum(fulfilled_quantity(order, ln.id) for ln in order.lines)
    if done == 0:
        return "UNFULFILLED"
    return "FULFILLED" if done >= total else "PARTIALLY_FULFILLED"


# -- order creation ------------------------------------------------------------------------


def open_fulfillment_orders(state: ShopifyState, order: Order) -> None:
    """One ``OPEN`` fulfillment order per location the order's units come from; lines with
    no claim (untracked, BYPASS) go to the first active location."""
    by_location: dict[str, list[tuple[str, int]]] = {}
    claimed: dict[str, int] = {}
    for claim in order.claims:
        by_location.setdefault(claim.location_id, []).append((claim.line_id, claim.quantity))
        claimed[claim.line_id] = claimed.get(claim.line_id, 0) + claim.quantity
    default = next(
        (loc.id for loc in state.locations.values() if loc.active),
        "gid://shopify/Location/1",
    )
    for line in order.lines:
        rest = line.quantity - claimed.get(line.id, 0)
        if rest > 0:
            by_location.setdefault(default, []).append((line.id, rest))
    for location_id, rows in by_location.items():
        fo = FulfillmentOrder(
            id=f"gid://shopify/FulfillmentOrder/{FULFILLMENT_ORDER_BASE + state.next_number()}",
            order_id=order.id,
            location_id=location_id,
            lines=[
                FulfillmentOrderLine(
                    id=f"gid://shopify/FulfillmentOrderLineItem/"
                    f"{FULFILLMENT_ORDER_LINE_BASE + state.next_number()}",
                    line_item_id=line_id,
                    total=qty,
                    remaining=qty,
                )
                for line_id, qty in rows
            ],
        )
        order.fulfillment_orders.append(fo)


# -- fulfilments ---------------------------------------------------------------------------


def _tracking(spec: dict[str, Any] | None) -> list[Tracking]:
    """``FulfillmentTrackingInput`` -> tracking entries; the company repeats per number
    (captured: a fulfilment with two numbers reads two ``trackingInfo`` entries)."""
    if not spec:
        return []
    numbers = [n for n in [spec.get("number"), *(spec.get("numbers") or [])] if n]
    urls = [u for u in [spec.get("url"), *(spec.get("urls") or [])] if u]
    company = spec.get("company")
    if not numbers:
        return [Tracking(None, company, urls[0])] if urls else []
    return [
        Tracking(number, company, urls[i] if i < len(urls) else None)
        for i, number in enumerate(numbers)
    ]


def create_fulfillment(
    emulator: ShopifyEmulator, spec: dict[str, Any]
) -> tuple[Fulfillment | None, list[dict[str, Any]]]:
    """``fulfillmentCreate(fulfillment:)``: validate everything, then apply (or nothing)."""
    s = emulator.state
    groups = spec.get("lineItemsByFulfillmentOrder") or []
    if not groups:
        # wording UNCONFIRMED: an empty list is not in the captures
        return None, [_error(["fulfillment"], "Line items by fulfillment order can't be blank")]
    plan: list[tuple[FulfillmentOrder, FulfillmentOrderLine, int]] = []
    order: Order | None = None
    for group in groups:
        found = find_fulfillment_order(s, group["fulfillmentOrderId"])
        if found is None:
            return None, [_error(["fulfillment"], "Fulfillment order does not exist.")]
        fo_order, fo = found
        if order is not None and fo_order.id != order.id:
            # wording UNCONFIRMED; Shopify fulfils one order per call
            return None, [
                _error(["fulfillment"], "All fulfillment orders must belong to the same order.")
            ]
        order = fo_order
        if fo.status in ("CLOSED", "CANCELLED", "INCOMPLETE"):
            return None, [
                _error(
                    ["fulfillment"],
                    f"Fulfillment order {gid_number(fo.id)} has an unfulfillable "
                    f"status= {fo.status.lower()}.",
                )
            ]
        items = group.get("fulfillmentOrderLineItems")
        if items is None:  # no line list: everything that remains
            plan += [(fo, fl, fl.remaining) for fl in fo.lines if fl.remaining > 0]
            continue
        for item in items:
            fl = next((x for x in fo.lines if x.id == item["id"]), None)
            quantity = int(item["quantity"])
            if quantity <= 0:
                return None, [_error(["fulfillment"], "Quantity must be greater than 0")]
            if fl is None or quantity > fl.remaining:
                return None, [_error(["fulfillment"], BAD_QUANTITY)]
            plan.append((fo, fl, quantity))
    if order is None or not plan:
        return None, [_error(["fulfillment"], BAD_QUANTITY)]
    stamp = now_iso()
    touched: list[FulfillmentOrder] = []
    lines: list[FulfillmentLine] = []
    for fo, fl, quantity in plan:
        fl.remaining -= quantity
        _ship_inventory(emulator, order, fl.line_item_id, fo.location_id, quantity)
        lines.append(
            FulfillmentLine(
                id=f"gid://shopify/FulfillmentLineItem/{FULFILLMENT_LINE_BASE + s.next_number()}",
                line_item_id=fl.line_item_id,
                fulfillment_order_line_id=fl.id,
                quantity=quantity,
            )
        )
        if fo not in touched:
            touched.append(fo)
    for fo in touched:
        fo.status = "CLOSED" if all(x.remaining == 0 for x in fo.lines) else "IN_PROGRESS"
        fo.updated_at = stamp
    fulfillment = Fulfillment(
        id=f"gid://shopify/Fulfillment/{FULFILLMENT_BASE + s.next_number()}",
        order_id=order.id,
        name=f"{order.name}.{len(order.fulfillments) + 1}",
        location_id=touched[0].location_id,
        lines=lines,
        tracking=_tracking(spec.get("trackingInfo")),
        fulfillment_order_ids=[fo.id for fo in touched],
        created_at=stamp,
        updated_at=stamp,
    )
    order.fulfillments.append(fulfillment)
    order.updated_at = stamp
    status = display_fulfillment_status(order)
    if status == "FULFILLED":
        order.closed_at = stamp  # captured: a fully fulfilled order reads closed: true
    emulator.emit_rest("fulfillments/create", fulfillment_payload(order, fulfillment))
    topic = "orders/fulfilled" if status == "FULFILLED" else "orders/partially_fulfilled"
    emulator.emit_rest(topic, order_payload(s, order))
    return fulfillment, []


def _ship_inventory(
    emulator: ShopifyEmulator, order: Order, line_id: str, location_id: str, quantity: int
) -> None:
    """Shipping committed units lowers ``committed`` and ``on_hand`` at the location."""
    claim = next(
        (c for c in order.claims if c.line_id == line_id and c.location_id == location_id),
        None,
    )
    if claim is None or claim.quantity <= 0:
        return
    moved = min(claim.quantity, quantity)
    claim.quantity -= moved
    item = emulator.state.items[claim.item_id]
    level = item.levels[location_id]
    level.committed -= moved
    level.on_hand -= moved
    level.updated_at = now_iso()


def update_tracking(
    emulator: ShopifyEmulator, fulfillment_id: str, spec: dict[str, Any]
) -> tuple[Fulfillment | None, list[dict[str, Any]]]:
    """``fulfillmentTrackingInfoUpdate``: replaces the whole tracking list (captured)."""
    found = find_fulfillment(emulator.state, fulfillment_id)
    if found is None:
        # wording UNCONFIRMED
        return None, [_error(["fulfillmentId"], "Fulfillment does not exist.")]
    order, fulfillment = found
    fulfillment.tracking = _tracking(spec)
    fulfillment.updated_at = order.updated_at = now_iso()
    emulator.emit_rest("fulfillments/update", fulfillment_payload(order, fulfillment))
    return fulfillment, []


def cancel_fulfillment(
    emulator: ShopifyEmulator, fulfillment_id: str
) -> tuple[Fulfillment | None, list[dict[str, Any]]]:
    """``fulfillmentCancel``: status ``CANCELLED``, tracking kept, units open again.
    Cancelling twice answers without userErrors (captured)."""
    found = find_fulfillment(emulator.state, fulfillment_id)
    if found is None:
        return None, [_error(["id"], "Fulfillment does not exist.")]  # wording UNCONFIRMED
    order, fulfillment = found
    if fulfillment.status == "CANCELLED":
        return fulfillment, []
    stamp = now_iso()
    fulfillment.status = "CANCELLED"
    fulfillment.updated_at = order.updated_at = stamp
    for fl in fulfillment.lines:
        for fo in order.fulfillment_orders:
            for line in fo.lines:
                if line.id == fl.fulfillment_order_line_id:
                    line.remaining += fl.quantity
                    fo.status = "OPEN" if line.remaining == line.total else "IN_PROGRESS"
                    fo.updated_at = stamp
    order.closed_at = None
    emulator.emit_rest("fulfillments/update", fulfillment_payload(order, fulfillment))
    return fulfillment, []


# -- tagsAdd -------------------------------------------------------------------------------


def add_tags(state: ShopifyState, order_id: str, tags: list[str]) -> dict[str, Any]:
    """``tagsAdd`` on an order: the tags join the order's (no duplicates, kept sorted as
    orderCreate returns them); ``tags`` may also be one comma-separated string
    (https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/tagsAdd)."""
    order = find_order(state, order_id)
    if order is None:
        return {"order": None, "userErrors": [_error(["id"], "Resource not found")]}
    wanted = {t.strip() for tag in tags for t in tag.split(",") if t.strip()}
    if not wanted <= set(order.tags):
        order.tags = sorted(set(order.tags) | wanted)
        order.updated_at = now_iso()
    return {"order": order, "userErrors": []}


# -- orderCancel ---------------------------------------------------------------------------


def cancel_order(emulator: ShopifyEmulator, args: dict[str, Any]) -> dict[str, Any]:
    """``orderCancel``: the captured refusals, else a job that cancels when it completes."""
    s = emulator.state

    def refused(field: list[str], message: str, code: str) -> dict[str, Any]:
        return {
            "job": None,
            "orderCancelUserErrors": [{"field": field, "message": message, "code": code}],
            "userErrors": [{"field": field, "message": message}],
        }

    if args.get("refund") is not None and args.get("refundMethod") is not None:
        return refused(["refund"], ONE_REFUND_ARG, "INVALID")
    note = args.get("staffNote")
    if note is not None and len(note) > STAFF_NOTE_MAX:
        return refused(
            ["staffNote"], "Staff note is too long. Maximum length is 255 characters.", "INVALID"
        )
    order = find_order(s, args["orderId"])
    if order is None:
        return refused(["orderId"], "Order does not exist", "NOT_FOUND")  # wording UNCONFIRMED
    if order.cancelled_at is not None:
        return refused(
            ["orderId"], "Cannot cancel an order that has already been canceled", "INVALID"
        )
    if any(f.status == "SUCCESS" for f in order.fulfillments):
        return refused(
            ["orderId"], "Cannot cancel an order that has outstanding fulfillments", "INVALID"
        )
    job = Job(
        id=f"gid://shopify/Job/{uuid.uuid4()}",
        polls_left=emulator.job_polls_until_done,
        apply=lambda: _apply_cancel(emulator, order, args),
    )
    s.jobs[job.id] = job
    return {"job": {"id": job.id, "done": False}, "orderCancelUserErrors": [], "userErrors": []}


def _apply_cancel(emulator: ShopifyEmulator, order: Order, args: dict[str, Any]) -> None:
    if order.cancelled_at is not None:
        return  # a second job for the same order changes nothing
    if any(f.status == "SUCCESS" for f in order.fulfillments):
        return  # fulfilled while the job waited: the cancellation does not happen
    stamp = now_iso()
    order.cancelled_at = order.closed_at = order.updated_at = stamp
    order.cancel_reason = args["reason"]
    order.staff_note = args.get("staffNote")
    for fo in order.fulfillment_orders:
        fo.status = "CLOSED"  # captured: CLOSED with totalQuantity 0
        fo.updated_at = stamp
        for line in fo.lines:
            line.total = line.remaining = 0
    if args.get("restock"):
        # restock gives the committed units back as available (exact quantity names
        # UNCONFIRMED: modelled as available += n, committed -= n)
        for claim in order.claims:
            if claim.quantity <= 0:
                continue
            item = emulator.state.items[claim.item_id]
            level = item.levels[claim.location_id]
            level.available += claim.quantity
            level.committed -= claim.quantity
            level.updated_at = stamp
            claim.quantity = 0
            emulator.emit_inventory_level(item, level)
    method = args.get("refundMethod") or {}
    if (
        args.get("refund")
        or method.get("originalPaymentMethodsRefund")
        or method.get("storeCreditRefund")
    ):
        order.financial_status = "REFUNDED"
    emulator.emit_rest("orders/cancelled", order_payload(emulator.state, order))


def poll_job(state: ShopifyState, job_id: str) -> Job | None:
    """A ``job(id:)`` read: counts down, completes (and applies) when nothing is left."""
    job = state.jobs.get(job_id)
    if job is None or job.done:
        return job
    if job.polls_left > 0:
        job.polls_left -= 1
        return job
    complete(job)
    return job


def complete(job: Job) -> None:
    if not job.done:
        job.done = True
        if job.apply is not None:
            job.apply()


def run_pending_jobs(state: ShopifyState) -> int:
    """Complete every pending job now (admin route); returns how many completed."""
    pending = [j for j in state.jobs.values() if not j.done]
    for job in pending:
        complete(job)
    return len(pending)


# -- line cancellation (refundCreate, restockType CANCEL) ----------------------------------


def cancel_lines(emulator: ShopifyEmulator, spec: dict[str, Any]) -> dict[str, Any]:
    """``refundCreate`` limited to cancelling unfulfilled units without moving money: each
    ``refundLineItems`` row with ``restockType`` CANCEL (units back to ``available``) or
    NO_RESTOCK. ``transactions``, ``shipping``, ``refundMethods`` and ``RETURN`` are not
    emulated. Messages for refusals are UNCONFIRMED."""
    s = emulator.state
    if spec.get("transactions") or spec.get("shipping") or spec.get("refundMethods"):
        raise GraphQLError(
            "The sandbox emulates refundCreate only for cancelling unfulfilled units "
            "(no transactions, shipping or refund methods)",
            extensions={"code": "NOT_EMULATED"},
        )

    def refused(field: list[str], message: str) -> dict[str, Any]:
        return {"refund": None, "order": None, "userErrors": [_error(field, message)]}

    order = find_order(s, spec["orderId"])
    if order is None:
        return refused(["orderId"], "Order does not exist")
    if order.cancelled_at is not None:
        return refused(["orderId"], "Order is cancelled")
    rows = spec.get("refundLineItems") or []
    if not rows:
        return refused(["refundLineItems"], "Refund line items can't be blank")
    plan: list[tuple[Any, int, str, str | None]] = []
    for i, row in enumerate(rows):
        path = ["refundLineItems", str(i)]
        line = next((ln for ln in order.lines if ln.id == row["lineItemId"]), None)
        restock = row.get("restockType") or "NO_RESTOCK"
        if line is None:
            return refused([*path, "lineItemId"], "Line item does not exist")
        if restock not in ("CANCEL", "NO_RESTOCK"):
            return refused([*path, "restockType"], f"Restock type {restock} is not supported")
        quantity = int(row["quantity"])
        unfulfilled = line.current_quantity - fulfilled_quantity(order, line.id)
        if quantity <= 0 or quantity > unfulfilled:
            return refused(
                [*path, "quantity"],
                f"Quantity cannot be cancelled: {unfulfilled} unfulfilled unit(s) left",
            )
        plan.append((line, quantity, restock, row.get("locationId")))
    stamp = now_iso()
    for line, quantity, restock, location_id in plan:
        line.cancelled += quantity
        left = quantity
        for fo in order.fulfillment_orders:
            for fl in fo.lines:
                if fl.line_item_id == line.id and left > 0:
                    moved = min(left, fl.remaining)
                    fl.remaining -= moved
                    fl.total -= moved
                    left -= moved
            if fo.status in ("OPEN", "IN_PROGRESS") and all(x.remaining == 0 for x in fo.lines):
                fo.status = "CLOSED"
            fo.updated_at = stamp
        if restock == "CANCEL":
            _restock_line(emulator, order, line.id, quantity, location_id, stamp)
    order.updated_at = stamp
    if display_fulfillment_status(order) == "FULFILLED":
        order.closed_at = stamp
    refund = {
        "id": f"gid://shopify/Refund/{REFUND_BASE + s.next_number()}",
        "createdAt": stamp,
        "updatedAt": stamp,
        "processedAt": stamp,
        "note": spec.get("note"),
    }
    return {"refund": refund, "order_id": order.id, "userErrors": []}


def _restock_line(
    emulator: ShopifyEmulator,
    order: Order,
    line_id: str,
    quantity: int,
    location_id: str | None,
    stamp: str,
) -> None:
    left = quantity
    for claim in order.claims:
        if claim.line_id != line_id or claim.quantity <= 0 or left <= 0:
            continue
        if location_id and claim.location_id != location_id:
            continue
        moved = min(left, claim.quantity)
        claim.quantity -= moved
        left -= moved
        item = emulator.state.items[claim.item_id]
        level = item.levels[claim.location_id]
        level.available += moved
        level.committed -= moved
        level.updated_at = stamp
        emulator.emit_inventory_level(item, level)


# -- merchant admin ------------------------------------------------------------------------


def merchant_fulfil(
    emulator: ShopifyEmulator, order: Order, body: dict[str, Any]
) -> tuple[Fulfillment | None, list[dict[str, Any]]]:
    """Fulfil like the Shopify admin's "Fulfill items" page: ``lines`` of
    ``{"line_item_id"|"sku", "quantity"}`` (default: everything remaining) with
    ``tracking`` ``{"number"|"numbers", "company", "url"}``; goes through the same checks
    as ``fulfillmentCreate``."""
    wanted = body.get("lines")
    groups: list[dict[str, Any]] = []
    for fo in order.fulfillment_orders:
        if wanted is None:
            if fo.status not in ("CLOSED", "CANCELLED"):
                groups.append({"fulfillmentOrderId": fo.id})
            continue
        items = []
        for row in wanted:
            line_id = row.get("line_item_id") or next(
                (ln.id for ln in order.lines if ln.sku == row.get("sku")), None
            )
            fl = next((x for x in fo.lines if x.line_item_id == line_id), None)
            if fl is not None:
                items.append({"id": fl.id, "quantity": int(row["quantity"])})
        if items:
            groups.append({"fulfillmentOrderId": fo.id, "fulfillmentOrderLineItems": items})
    if not groups and order.fulfillment_orders:
        fo = order.fulfillment_orders[0]
        groups = [{"fulfillmentOrderId": fo.id, "fulfillmentOrderLineItems": []}]
    return create_fulfillment(
        emulator, {"lineItemsByFulfillmentOrder": groups, "trackingInfo": body.get("tracking")}
    )


# -- REST payloads -------------------------------------------------------------------------


def fulfillment_payload(order: Order, f: Fulfillment) -> dict[str, Any]:
    """``fulfillments/create|update`` body (REST shape, integer ids)."""
    by_id = {ln.id: ln for ln in order.lines}
    first = f.tracking[0] if f.tracking else None
    return {
        "id": gid_number(f.id),
        "order_id": gid_number(order.id),
        "status": f.status.lower(),
        "created_at": f.created_at,
        "updated_at": f.updated_at,
        "service": "manual",
        "tracking_company": first.company if first else None,
        "tracking_number": first.number if first else None,
        "tracking_numbers": [t.number for t in f.tracking if t.number],
        "tracking_url": first.url if first else None,
        "tracking_urls": [t.url for t in f.tracking if t.url],
        "shipment_status": None,
        "location_id": gid_number(f.location_id),
        "name": f.name,
        "line_items": [
            {
                "id": gid_number(fl.line_item_id),
                "variant_id": gid_number(by_id[fl.line_item_id].variant_id or "") or None,
                "sku": by_id[fl.line_item_id].sku,
                "quantity": fl.quantity,
                "fulfillable_quantity": by_id[fl.line_item_id].current_quantity
                - fulfilled_quantity(order, fl.line_item_id),
                "fulfillment_status": "fulfilled",
                "admin_graphql_api_id": fl.line_item_id,
            }
            for fl in f.lines
        ],
        "admin_graphql_api_id": f.id,
    }


def order_payload(state: ShopifyState, order: Order) -> dict[str, Any]:
    """``orders/*`` body: the order in REST shape (``tags`` one comma-separated string)."""
    status = display_fulfillment_status(order)
    return {
        "id": gid_number(order.id),
        "admin_graphql_api_id": order.id,
        "name": order.name,
        "created_at": order.created_at,
        "updated_at": order.updated_at or order.created_at,
        "cancelled_at": order.cancelled_at,
        "cancel_reason": order.cancel_reason.lower() if order.cancel_reason else None,
        "closed_at": order.closed_at,
        "currency": order.currency,
        "financial_status": (order.financial_status or "pending").lower(),
        "fulfillment_status": {"FULFILLED": "fulfilled", "PARTIALLY_FULFILLED": "partial"}.get(
            status
        ),
        "source_name": order.source_name,
        "source_identifier": order.source_identifier,
        "tags": ", ".join(order.tags),
        "line_items": [
            {
                "id": gid_number(ln.id),
                "admin_graphql_api_id": ln.id,
                "sku": ln.sku,
                "quantity": ln.quantity,
                "fulfillable_quantity": ln.current_quantity - fulfilled_quantity(order, ln.id),
                "current_quantity": ln.current_quantity,
                "variant_id": gid_number(ln.variant_id) if ln.variant_id else None,
                "price": f"{ln.price:.2f}",
            }
            for ln in order.lines
        ],
        "fulfillments": [fulfillment_payload(order, f) for f in order.fulfillments],
        "refunds": [],
    }


__all__ = [
    "CANCEL_REASONS",
    "Claim",
    "cancel_fulfillment",
    "cancel_lines",
    "cancel_order",
    "create_fulfillment",
    "display_fulfillment_status",
    "find_order",
    "fulfillment_payload",
    "merchant_fulfil",
    "open_fulfillment_orders",
    "order_payload",
    "poll_job",
    "run_pending_jobs",
    "update_tracking",
]
