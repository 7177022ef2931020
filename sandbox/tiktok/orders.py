"""Emulated TikTok orders: storage records, the API order object, masking, fake buyers.

The API shape follows Get Order Detail
(https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5) and the SDK model
``Order202309GetOrderDetailResponseDataOrders`` (github.com/tiananugerah/titktok-shop): one line
item per unit (no quantity field), decimal-string money, int Unix seconds, string ids, address by
``district_info`` levels. Masking follows :func:`is_masked`.

Sources cited by name below:

- Buyer data masking: https://partner.tiktokshop.com/docv2/page/682fda578992fb0499d40ed3
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

STATUSES = (
    "UNPAID",
    "ON_HOLD",
    "AWAITING_SHIPMENT",
    "PARTIALLY_SHIPPING",
    "AWAITING_COLLECTION",
    "IN_TRANSIT",
    "DELIVERED",
    "COMPLETED",
    "CANCELLED",
)

# Order lifecycle (https://partner.tiktokshop.com/docv2/page/650b1b4bbace3e02b76d1011; UNPAID ->
# AWAITING_SHIPMENT directly is allowed: some shops have no ON_HOLD window; a full refund can
# complete a shipped order).
TRANSITIONS: dict[str, frozenset[str]] = {
    "UNPAID": frozenset({"ON_HOLD", "AWAITING_SHIPMENT", "CANCELLED"}),
    "ON_HOLD": frozenset({"AWAITING_SHIPMENT", "CANCELLED"}),
    "AWAITING_SHIPMENT": frozenset({"PARTIALLY_SHIPPING", "AWAITING_COLLECTION", "CANCELLED"}),
    "PARTIALLY_SHIPPING": frozenset({"AWAITING_COLLECTION", "CANCELLED"}),
    "AWAITING_COLLECTION": frozenset({"IN_TRANSIT", "CANCELLED", "COMPLETED"}),
    "IN_TRANSIT": frozenset({"DELIVERED", "CANCELLED", "COMPLETED"}),
    "DELIVERED": frozenset({"COMPLETED"}),
    "COMPLETED": frozenset(),
    "CANCELLED": frozenset(),
}

# Statuses whose buyer data is masked for every shipping type (Buyer data masking, US rule of July
# 2025).
MASKED_STATUSES = frozenset({"UNPAID", "ON_HOLD", "CANCELLED"})
COMPLETED_UNMASKED_DAYS = 30
PACKAGE_STATUS = {
    "UNPAID": "TO_FULFILL",
    "ON_HOLD": "TO_FULFILL",
    "AWAITING_SHIPMENT": "TO_FULFILL",
    "PARTIALLY_SHIPPING": "PROCESSING",
    "AWAITING_COLLECTION": "PROCESSING",
    "IN_TRANSIT": "FULFILLING",
    "DELIVERED": "COMPLETED",
    "COMPLETED": "COMPLETED",
    "CANCELLED": "CANCELLED",
}


@dataclass
class LineUnit:
    """One unit of one SKU in an order (TikTok has one line item per unit)."""

    id: str
    sku_id: str
    product_id: str
    seller_sku: str
    product_name: str
    sku_name: str
    sale_price: Decimal
    original_price: Decimal
    # A unit cancelled on its own (US/UK): display_status CANCELLED with cancel_user, the
    # rest of the order goes on (Get Order Detail line_items[].display_status / cancel_user,
    # TikTok Shop SDK model Order202309GetOrderDetailResponseDataOrdersLineItems, copy at
    # https://github.com/yangyiqian0312/super-succotash/blob/ce365d3e8d883a20d2a290a81d1a0c6855840109/model/order/V202309/GetOrderDetailResponseDataOrdersLineItems.ts).
    cancel_user: str = ""  # BUYER | SELLER | OPERATOR | SYSTEM once cancelled
    cancel_reason: str = ""


@dataclass
class Recipient:
    """The unmasked buyer address the emulator keeps; masked when rendered."""

    first_name: str
    last_name: str
    phone: str
    address_line1: str
    address_line2: str
    city: str
    state: str
    county: str
    postal_code: str
    region_code: str = "US"
    country: str = "United States"

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class Order:
    """An emulated order."""

    id: str
    status: str
    shipping_type: str
    fulfillment_type: str
    create_time: int
    update_time: int
    currency: str
    lines: list[LineUnit]
    recipient: Recipient
    buyer_email: str
    user_id: str
    warehouse_id: str
    shipping_fee: Decimal = Decimal("0.00")
    buyer_message: str = ""
    paid_time: int = 0
    cancel_time: int = 0
    completed_time: int = 0
    history: list[tuple[str, int]] = field(default_factory=list)


_FIRST = (
    "Avery",
    "Jordan",
    "Riley",
    "Morgan",
    "Casey",
    "Quinn",
    "Harper",
    "Rowan",
    "Emerson",
    "Skyler",
    "Dakota",
    "Reese",
    "Parker",
    "Sawyer",
    "Finley",
    "Hayden",
)
_LAST = (
    "Lindqvist",
    "Okafor",
    "Brennan",
    "Castillo",
    "Nakamura",
    "Whitfield",
    "Delacroix",
    "Moreau",
    "Halvorsen",
    "Abernathy",
    "Ferreira",
    "Kowalski",
    "Ashdown",
    "Vance",
)
_STREETS = (
    "Maple Ave",
    "Cedar St",
    "Lakeview Dr",
    "Orchard Ln",
    "Harbor Blvd",
    "Pine Ridge Rd",
    "Willow Way",
    "Sunset Ter",
    "Juniper Ct",
    "Elm St",
)
_PLACES = (  # city, county, state, ZIP prefix (fake but plausible)
    ("Springfield", "Sangamon County", "Illinois", "627"),
    ("Fairview", "Williamson County", "Tennessee", "370"),
    ("Riverside", "Riverside County", "California", "925"),
    ("Franklin", "Norfolk County", "Massachusetts", "020"),
    ("Greenville", "Pitt County", "North Carolina", "278"),
    ("Madison", "Dane County", "Wisconsin", "537"),
    ("Salem", "Marion County", "Oregon", "973"),
    ("Georgetown", "Scott County", "Kentucky", "403"),
)


def fake_recipient(rng: random.Random) -> Recipient:
    """A realistic but fake US recipient (555 phone numbers are reserved for fiction)."""
    city, county, state, zip_prefix = rng.choice(_PLACES)
    unit = rng.random() < 0.3
    return Recipient(
        first_name=rng.choice(_FIRST),
        last_name=rng.choice(_LAST),
        phone=f"(+1)555-{rng.randint(100, 999)}-{rng.randint(1000, 9999)}",
        address_line1=f"{rng.randint(10, 9899)} {rng.choice(_STREETS)}",
        address_line2=f"Apt {rng.randint(1, 40)}" if unit else "",
        city=city,
        state=state,
        county=county,
        postal_code=f"{zip_prefix}{rng.randint(10, 99)}",
    )


def recipient_from_dict(data: dict[str, Any], fallback: Recipient) -> Recipient:
    """A recipient from a fixture dict (our field names or TikTok's), gaps from ``fallback``."""
    name = str(data.get("name") or "").strip()
    first, _, last = name.partition(" ")
    return Recipient(
        first_name=data.get("first_name") or first or fallback.first_name,
        last_name=data.get("last_name") or last or fallback.last_name,
        phone=data.get("phone") or data.get("phone_number") or fallback.phone,
        address_line1=data.get("address1") or data.get("address_line1") or fallback.address_line1,
        address_line2=data.get("address2") or data.get("address_line2") or "",
        city=data.get("city") or fallback.city,
        state=data.get("region") or data.get("state") or fallback.state,
        county=data.get("county") or fallback.county,
        postal_code=data.get("postal_code") or data.get("zip") or fallback.postal_code,
        region_code=data.get("country_code") or data.get("region_code") or "US",
        country=data.get("country") or fallback.country,
    )


def is_masked(order: Order, now: int, *, mask_platform_shipping: bool = True) -> bool:
    """Whether the buyer's name, phone and street are redacted
    (https://partner.tiktokshop.com/docv2/page/682fda578992fb0499d40ed3).

    FBT orders are always masked; UNPAID/ON_HOLD/CANCELLED orders and orders completed more
    than 30 days ago are masked; platform-shipped (``shipping_type=TIKTOK``) orders are
    masked under the general rule (``mask_platform_shipping``; the US unmasked them for
    shippable statuses from July 2025). Seller-shipped orders in a shippable status are not.
    """
    if order.fulfillment_type == "FULFILLMENT_BY_TIKTOK" or order.status in MASKED_STATUSES:
        return True
    completed_long_ago = now - order.completed_time > COMPLETED_UNMASKED_DAYS * 86400
    if order.status == "COMPLETED" and order.completed_time and completed_long_ago:
        return True
    return order.shipping_type == "TIKTOK" and mask_platform_shipping


def _mask_word(text: str) -> str:
    # Exact masking format is UNCONFIRMED (Buyer data masking): first and last letter kept, rest
    # '*'.
    if len(text) <= 2:
        return "*" * len(text)
    return text[0] + "*" * (len(text) - 2) + text[-1]


def _mask_phone(phone: str) -> str:
    # Example format from Buyer data masking: "(+1)213-***-1234".
    head, _, rest = phone.partition(")")
    parts = rest.split("-")
    if len(parts) == 3:
        return f"{head})" + f"{parts[0]}-***-{parts[2]}"
    return phone[:3] + "*" * max(0, len(phone) - 7) + phone[-4:]


def render_address(order: Order, masked: bool) -> dict[str, Any]:
    """``recipient_address`` as the API shows it; ON_HOLD carries no address at all (Buyer data
    masking)."""
    r = order.recipient
    if order.status == "ON_HOLD":
        return {
            "name": _mask_word(r.first_name) + " " + _mask_word(r.last_name),
            "first_name": _mask_word(r.first_name),
            "last_name": _mask_word(r.last_name),
            "phone_number": _mask_phone(r.phone),
            "full_address": "",
            "address_detail": "",
            "address_line1": "",
            "address_line2": "",
            "address_line3": "",
            "address_line4": "",
            "postal_code": "",
            "region_code": r.region_code,
            "post_town": "",
            "district_info": [],
        }
    districts = [
        {"address_level": "L0", "address_level_name": "Country", "address_name": r.country},
        {"address_level": "L1", "address_level_name": "State", "address_name": r.state},
        {"address_level": "L2", "address_level_name": "County", "address_name": r.county},
        {"address_level": "L3", "address_level_name": "City", "address_name": r.city},
    ]
    if masked:
        first, last = _mask_word(r.first_name), _mask_word(r.last_name)
        line1 = "*" * len(r.address_line1)
        line2 = "*" * len(r.address_line2)
        postal = r.postal_code[:2] + "***" if r.postal_code else ""
        phone = _mask_phone(r.phone)
        if order.status in MASKED_STATUSES or order.fulfillment_type == "FULFILLMENT_BY_TIKTOK":
            districts = districts[:3]  # L3 hidden while not shippable (Buyer data masking)
    else:
        first, last = r.first_name, r.last_name
        line1, line2, postal, phone = r.address_line1, r.address_line2, r.postal_code, r.phone
    street = ", ".join(x for x in (line1, line2) if x)
    place = ", ".join(d["address_name"] for d in reversed(districts[1:]))
    return {
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "phone_number": phone,
        "full_address": ", ".join(x for x in (street, place, postal, r.country) if x),
        "address_detail": street,
        "address_line1": line1,
        "address_line2": line2,
        "address_line3": "",
        "address_line4": "",
        "postal_code": postal,
        "region_code": r.region_code,
        "post_town": "",
        "district_info": districts,
        "delivery_preferences": {"drop_off_location": "" if masked else "Front Door"},
    }


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def render_order(order: Order, now: int, *, mask_platform_shipping: bool = True) -> dict[str, Any]:
    """The order object of Get Order Detail / Get Order List
    (https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5)."""
    masked = is_masked(order, now, mask_platform_shipping=mask_platform_shipping)
    sub_total = sum((u.sale_price for u in order.lines), Decimal("0"))
    original = sum((u.original_price for u in order.lines), Decimal("0"))
    discount = original - sub_total
    total = sub_total + order.shipping_fee
    package_status = PACKAGE_STATUS[order.status]
    line_status = order.status
    return {
        "id": order.id,
        "status": order.status,
        "order_type": "NORMAL",
        "create_time": order.create_time,
        "update_time": order.update_time,
        "paid_time": order.paid_time,
        "user_id": order.user_id,
        "buyer_email": order.buyer_email,
        "buyer_message": order.buyer_message,
        "is_on_hold_order": order.status == "ON_HOLD",
        "is_sample_order": False,
        "is_cod": False,
        "is_replacement_order": False,
        "fulfillment_type": order.fulfillment_type,
        "shipping_type": order.shipping_type,
        "delivery_option_id": "7091146663229654785",
        "delivery_option_name": "Standard Shipping",
        "delivery_type": "HOME_DELIVERY",
        "warehouse_id": order.warehouse_id,
        "cancel_reason": "",
        "cancellation_initiator": "BUYER" if order.status == "CANCELLED" else "",
        "cancel_time": order.cancel_time,
        "payment": {
            "currency": order.currency,
            "sub_total": _money(sub_total),
            "shipping_fee": _money(order.shipping_fee),
            "seller_discount": _money(discount),
            "platform_discount": "0.00",
            "tax": "0.00",
            "total_amount": _money(total),
            "original_total_product_price": _money(original),
            "original_shipping_fee": _money(order.shipping_fee),
            "shipping_fee_seller_discount": "0.00",
            "shipping_fee_platform_discount": "0.00",
            "product_tax": "0.00",
            "shipping_fee_tax": "0.00",
        },
        "recipient_address": render_address(order, masked),
        "line_items": [
            {
                "id": unit.id,
                "sku_id": unit.sku_id,
                "product_id": unit.product_id,
                "seller_sku": unit.seller_sku,
                "product_name": unit.product_name,
                "sku_name": unit.sku_name,
                "sku_image": "",
                "sale_price": _money(unit.sale_price),
                "original_price": _money(unit.original_price),
                "seller_discount": _money(unit.original_price - unit.sale_price),
                "platform_discount": "0.00",
                "currency": order.currency,
                "display_status": "CANCELLED" if unit.cancel_user else line_status,
                "is_gift": False,
                "package_status": "CANCELLED" if unit.cancel_user else package_status,
                "sku_type": "NORMAL",
                "cancel_reason": unit.cancel_reason,
                "cancel_user": unit.cancel_user,
                "tracking_number": "",
                "rts_time": 0,
            }
            for unit in order.lines
        ],
    }
