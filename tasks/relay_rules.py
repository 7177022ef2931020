"""What to do with one TikTok order: the relay's rules, without any I/O.

:func:`classify` turns a :class:`connectors.base.TikTokOrder`, the shop's mappings and the
order's ledger row into a :class:`Verdict`: relay it (with the store request to send),
wait (look again next run) or skip it for good, with the reason code of docs/reports.md.

Decisions documented here (and in docs):

- Only ``AWAITING_SHIPMENT`` orders are relayed
  (https://partner.tiktokshop.com/docv2/page/650b1b4bbace3e02b76d1011). ``UNPAID``,
  ``ON_HOLD`` and unknown statuses wait (``NOT_READY``, re-read every run). An order
  cancelled before relay, or already past the shippable state without skubridge (shipped
  from Seller Center), is closed with reason ``NOT_READY``; the report's ``status`` column
  shows TikTok's status (``CANCELLED``...).
- Fulfilled-by-TikTok orders are shipped by TikTok and never relayed: closed with reason
  ``NOT_FBA`` and warning ``FULFILLED_BY_TIKTOK``.
- ``BEFORE_MAPPING`` (historical): the order was created before one of its lines was
  mapped. Exception: an order the report already listed as ``UNMAPPED_LINE`` is relayed
  once its SKUs are mapped, since the seller was told that mapping would relay it.
- Amazon: every line must be an FBA listing. A mixed FBA/MFN order is not relayed at all
  (``NOT_FBA``, the MFN SKUs named): relaying only the FBA part would leave the seller
  believing the order is handled while part of it still needs shipping, and the buyer
  would get split parcels. The seller ships such an order from TikTok Seller Center.
  A listing missing from the accepted catalog counts as not FBA (unknown is not FBA).
- Masked buyer data is relayed as given, with warning ``MASKED_BUYER``: the seller should
  switch the TikTok shop to Seller Shipping to get full names and addresses (Buyer data masking).

Sources cited by name below:

- Buyer data masking: https://partner.tiktokshop.com/docv2/page/682fda578992fb0499d40ed3
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from connectors.base import StoreKind, StoreOrderLine, StoreOrderRequest, TikTokOrder

# Reason codes (docs/reports.md, order report).
RELAYED = "RELAYED"
ALREADY_RELAYED = "ALREADY_RELAYED"
UNMAPPED_LINE = "UNMAPPED_LINE"
BEFORE_MAPPING = "BEFORE_MAPPING"
NOT_READY = "NOT_READY"
NOT_FBA = "NOT_FBA"
STORE_REJECTED = "STORE_REJECTED"
REASONS = (
    RELAYED,
    ALREADY_RELAYED,
    UNMAPPED_LINE,
    BEFORE_MAPPING,
    NOT_READY,
    NOT_FBA,
    STORE_REJECTED,
)

# Warnings (the report's ``warning`` column; several are joined with "; ").
MASKED_BUYER = "MASKED_BUYER"
OUTCOME_UNKNOWN = "OUTCOME_UNKNOWN"
FULFILLED_BY_TIKTOK = "FULFILLED_BY_TIKTOK"
IN_PROGRESS = "IN_PROGRESS"
DRY_RUN = "DRY_RUN"
CANCELLED_AFTER_RELAY = "CANCELLED_AFTER_RELAY"
REGION_UNCONVERTED = "REGION_UNCONVERTED"
ADVICE = {
    REGION_UNCONVERTED: (
        "The buyer's state/province name has no ISO 3166-2 code (connectors/subdivisions.py): "
        "the store order carries the name only; check the address before it ships."
    ),
    MASKED_BUYER: (
        "TikTok sent this order with the buyer's name/address masked (platform shipping). "
        "Switch the TikTok shop to Seller Shipping in Seller Center to receive full buyer "
        "details; the order was relayed as TikTok gave it."
    ),
    OUTCOME_UNKNOWN: (
        "The store's answer to the create was lost; the next run looks the order up in the "
        "store before any new create."
    ),
    FULFILLED_BY_TIKTOK: "Fulfilled by TikTok: TikTok ships it, so it is not relayed.",
    IN_PROGRESS: "Another run was relaying this order at the same time; it was left to it.",
    DRY_RUN: "Dry run: nothing was written to the store or the ledger.",
    CANCELLED_AFTER_RELAY: (
        "TikTok cancelled this order after it was relayed: cancel the store order (or stop "
        "the MCF shipment) by hand; skubridge never cancels store orders."
    ),
}

AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
CLOSED_STATUSES = frozenset(
    {
        "CANCELLED",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
    }
)
FBT = "FULFILLMENT_BY_TIKTOK"
# Store quantities are 32-bit integers (Shopify GraphQL Int; Amazon MCF quantity): a line
# outside 1..MAX_LINE_QUANTITY is malformed data, never sent.
MAX_LINE_QUANTITY = 2**31 - 1

Action = Literal["relay", "wait", "skip"]


@dataclass(frozen=True, slots=True)
class MappedSku:
    """A mapped TikTok SKU: its store variant, when it was mapped, store SKU and fulfilment."""

    tiktok_sku_id: str
    store_variant_id: str
    seller_sku: str | None
    mapped_at: datetime
    store_sku: str | None = None
    fulfillment: str | None = None  # Amazon: FBA | MFN; None when not in the catalog


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """What the ledger already says about an order (ids and statuses only)."""

    tiktok_order_id: str
    state: str  # WAITING | PENDING | RELAYED | FAILED | SKIPPED
    reason: str | None = None
    store_order_id: str | None = None
    store_request_id: str | None = None
    attempts: int = 0
    attempted_at: datetime | None = None


@dataclass(frozen=True)
class Verdict:
    """The decision for one order: relay (with ``request``), wait, or skip for good."""

    action: Action
    reason: str
    details: tuple[str, ...] = ()
    request: StoreOrderRequest | None = None
    warnings: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class RelaySettings:
    """The per-shop inputs of the rules: store kind, tags, Amazon shipping speed."""

    store: StoreKind
    tags: tuple[str, ...] = ()
    shipping_speed: str | None = None


def line_sku(sku_id: str, seller_sku: str | None) -> str:
    """How a line is named in reports: its seller SKU, else ``sku:<TikTok SKU id>``."""
    return seller_sku or f"sku:{sku_id}"


def lines_text(order: TikTokOrder) -> str:
    """Compact, data-free text of an order's lines: ``SKU-A x2; SKU-B x1``."""
    return "; ".join(f"{line_sku(ln.sku_id, ln.seller_sku)} x{ln.quantity}" for ln in order.lines)


def lines_json(order: TikTokOrder) -> str:
    """The ledger's ``lines`` JSON: ``[{sku_id, seller_sku, quantity}]``, nothing personal."""
    return json.dumps(
        [
            {"sku_id": ln.sku_id, "seller_sku": ln.seller_sku, "quantity": ln.quantity}
            for ln in order.lines
        ]
    )


def classify(
    order: TikTokOrder,
    mapped: Mapping[str, MappedSku],
    settings: RelaySettings,
    ledger: LedgerRow | None = None,
) -> Verdict:
    """Decide what to do with ``order`` (see the module docstring for the rules).

    The caller handles ledger states first (RELAYED -> ALREADY_RELAYED, PENDING -> look
    up in the store); this function decides everything else.
    """
    warnings = (MASKED_BUYER,) if order.masked else ()
    recipient = order.recipient
    if recipient and recipient.region and not recipient.region_code and not order.masked:
        warnings += (REGION_UNCONVERTED,)
    if order.problem:
        return Verdict("wait", NOT_READY, details=(f"malformed order: {order.problem}",))
    if order.fulfillment_type == FBT:
        return Verdict("skip", NOT_FBA, warnings=(FULFILLED_BY_TIKTOK,))
    if order.status != AWAITING_SHIPMENT:
        action: Action = "skip" if order.status in CLOSED_STATUSES else "wait"
        return Verdict(action, NOT_READY)
    if not order.lines:
        return Verdict("wait", NOT_READY, details=("order has no lines",))
    bad = [ln for ln in order.lines if not 1 <= ln.quantity <= MAX_LINE_QUANTITY]
    if bad:
        names = ", ".join(f"{line_sku(ln.sku_id, ln.seller_sku)} x{ln.quantity}" for ln in bad)
        return Verdict(
            "wait", NOT_READY, details=(f"malformed order: quantity out of range: {names}",)
        )
    if order.recipient is None or not order.recipient.address1:
        # Nothing to ship to (an AWAITING_SHIPMENT order always carries an address, masked
        # or not, https://partner.tiktokshop.com/docv2/page/682fda578992fb0499d40ed3): a store order
        # would be unshippable.
        return Verdict("wait", NOT_READY, details=("malformed order: no recipient address",))
    unmapped = [ln for ln in order.lines if ln.sku_id not in mapped]
    known_unmapped = ledger is not None and ledger.reason == UNMAPPED_LINE
    if not known_unmapped:
        late = [
            ln
            for ln in order.lines
            if ln.sku_id in mapped and order.create_time < mapped[ln.sku_id].mapped_at
        ]
        if late:
            names = ", ".join(line_sku(ln.sku_id, ln.seller_sku) for ln in late)
            return Verdict("skip", BEFORE_MAPPING, details=(f"mapped after the order: {names}",))
    if unmapped:
        names = ", ".join(line_sku(ln.sku_id, ln.seller_sku) for ln in unmapped)
        return Verdict("wait", UNMAPPED_LINE, details=(f"unmapped: {names}",))
    if settings.store == "amazon":
        not_fba = [ln for ln in order.lines if mapped[ln.sku_id].fulfillment != "FBA"]
        if not_fba:
            names = ", ".join(line_sku(ln.sku_id, ln.seller_sku) for ln in not_fba)
            return Verdict("skip", NOT_FBA, details=(f"not FBA: {names}",), warnings=warnings)
    return Verdict(
        "relay", RELAYED, request=store_request(order, mapped, settings), warnings=warnings
    )


def store_request(
    order: TikTokOrder, mapped: Mapping[str, MappedSku], settings: RelaySettings
) -> StoreOrderRequest:
    """The store order for a fully mapped TikTok order: mapped variants, TikTok's quantities,
    prices and currency, the recipient as TikTok gave it, TikTok order id as identity."""
    lines = []
    for ln in order.lines:
        m = mapped[ln.sku_id]
        # Amazon MCF items are named by the Amazon seller SKU (= the store variant id), which
        # may differ from TikTok's seller SKU after a manual map.
        sku = (m.store_sku or m.store_variant_id) if settings.store == "amazon" else m.seller_sku
        lines.append(
            StoreOrderLine(
                store_variant_id=m.store_variant_id,
                seller_sku=sku or ln.seller_sku,
                quantity=ln.quantity,
                unit_price=ln.unit_price,
                title=ln.title,
            )
        )
    return StoreOrderRequest(
        tiktok_order_id=order.id,
        lines=tuple(lines),
        currency=order.currency,
        created_at=order.create_time,
        recipient=order.recipient,
        email=order.buyer_email,
        tags=settings.tags,
        note=f"TikTok Shop order {order.id}",
        shipping_speed=settings.shipping_speed if settings.store == "amazon" else None,
    )


# -- privacy ---------------------------------------------------------------------------------

_MASK = "[buyer data]"


def personal_values(orders: Iterable[TikTokOrder]) -> list[str]:
    """Every buyer name, phone, address part and e-mail in ``orders`` (to scrub from text)."""
    values: set[str] = set()
    for order in orders:
        r = order.recipient
        parts = [order.buyer_email, order.buyer_message]
        if r is not None:
            parts += [
                r.name,
                r.first_name,
                r.last_name,
                r.phone,
                r.address1,
                r.address2,
                r.city,
                r.postal_code,
                r.email,
            ]
            digits = re.sub(r"\D", "", r.phone or "")
            parts += [digits, digits[-10:]] if len(digits) >= 10 else [digits]
        values.update(p.strip() for p in parts if p and len(p.strip()) >= 3)
    return sorted(values, key=len, reverse=True)


def scrub(text: str, values: Iterable[str]) -> str:
    """``text`` with every value of :func:`personal_values` replaced (case-insensitive)."""
    for value in values:
        if value.lower() in text.lower():
            text = re.sub(re.escape(value), _MASK, text, flags=re.IGNORECASE)
    return text
