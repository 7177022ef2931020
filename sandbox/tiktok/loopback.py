"""Emulated TikTok fulfilment and cancellation: packages, providers, shipping, corrections.

What a relayed order goes through after the relay, at wire level (API family 202309):

- shipping providers per delivery option (Get Shipping Providers, 21008117 for a
  TikTok-shipping option) and delivery options per warehouse;
- Mark Package As Shipped (markets where the ship call *creates* the package: US, UK, ...)
  and Ship Package / Batch Ship Packages (markets where packages exist from payment);
- Get Package Detail, Search Package; one tracking correction inside a configurable window
  (Update Package Shipping Info / Update Shipping Info);
- whole-order cancellations by seller or system, buyer cancellation requests (pending with a
  deadline, approved by the seller or automatically after the deadline, rejected by shipping
  in US mode), Search Cancellations, Approve / Reject Cancellation.

Wire shapes follow the official Node SDK models (``tiktok_sdk/model/fulfillment/V202309``,
``logistics/V202309``, ``returnRefund/V202309``) in
https://github.com/tiananugerah/titktok-shop and the Partner Center pages
https://partner.tiktokshop.com/docv2/page/mark-package-as-shipped-202309,
https://partner.tiktokshop.com/docv2/page/ship-package-202309,
https://partner.tiktokshop.com/docv2/page/get-package-detail-202309,
https://partner.tiktokshop.com/docv2/page/get-shipping-providers-202309,
https://partner.tiktokshop.com/docv2/page/update-package-shipping-info-202309,
https://partner.tiktokshop.com/docv2/page/search-cancellations-202309 and
https://partner.tiktokshop.com/docv2/page/approve-cancellation-202309.

State lives in :class:`LoopBack` (one per emulator, reset when a fixture is loaded); the
order object of Get Order Detail is decorated with it in :func:`decorate`.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sandbox.faults import ADMIN_PREFIX
from sandbox.tiktok.orders import Order, render_order
from sandbox.tiktok.state import ApiFailure, TikTokEmulator

# -- documented error codes (Partner Center pages cited in the module docstring) -------------
PARAM_ERROR = 21001001
REGION_NOT_SUPPORTED = 21008106  # "This interface cannot be used in this region."
PLATFORM_FULFILLED = 21008025  # "Seller cannot operate orders which are fulfilled by platform"
NOT_SELLER_SHIPPED = 21011004  # "...packages that are not shipped by sellers."
ORDERS_ALREADY_SHIPPED = 21011006  # "These orders are already shipped."
PACKAGE_ALREADY_SHIPPED = 21008099  # "Package has been shipped. Please not ship ... again."
PACKAGE_SHIPPED_SHIP = 21011040  # Ship Package: "Package has already been shipped."
PACKAGE_DELIVERED_SHIP = 21011027  # "Package has already been delivered."
PACKAGE_NOT_OWNED = 21011028  # "The package does not belong to the current shop."
ORDER_CANCELLED_SHIP = 21011041  # "Cannot complete the operation when order is cancelled."
AFTER_SALE_PENDING = 21011007  # "Package item has after-sale request, ..."
NOT_AWAITING_SHIPMENT = 21042057  # "These orders are not in the Awaiting shipment status"
TRACKING_CHARSET = 21004012  # "Tracking number has special characters, verify failed."
INVALID_TRACKING_OR_PROVIDER = 21011022  # "Invalid tracking number or provider ID..."
SPLIT_SAME_SKU = 21011036  # "split same sku in Multi Package not allow."
UPDATE_WINDOW = 21011049  # platform rule / time window passed
UPDATE_ONCE = 21011051  # "...can only be updated once."
UPDATE_DELIVERED = 21011030
UPDATE_NOT_SHIPPED = 21011043  # "The package has not been shipped yet."
NO_SUBSCRIPTION = 21008116  # "No Subscription without specified delivery option."
TIKTOK_DELIVERY_OPTION = 21008117  # "...fulfilled by TikTok. No shipping provider..."
# Return & refund family.
CANCEL_IN_PROCESS = 25001011  # "A return request is already in process, or ... cancelled."
CANCEL_UNKNOWN_REASON = 25001014
CANCEL_REASON_STATUS = 25001021  # "Reason not match order status"
CANCEL_ALREADY_SHIPPED = 25001045  # "The order has already been shipped..."
CANCEL_STATUS_CANNOT_APPROVE = 25011012
CANCEL_NOT_FOUND = 25007006
CANCEL_REVERSE_CANCELLED = 25020009  # "reverse already cancelled"
REJECT_REASON_INVALID = 25001016

SELLER_OPTION = "7091146663229654785"  # the id the emulator's orders carried before
TIKTOK_OPTION = "7091146663229654786"
DEFAULT_PROVIDERS = (
    ("7117858858072016686", "USPS"),
    ("7117859084333745966", "UPS"),
    ("7117858858072016687", "FedEx"),
    ("7129736029146269486", "Amazon Logistics"),
    ("7212608507307099950", "DHL eCommerce"),
)
TRACKING_RE = re.compile(r"^[A-Za-z0-9]{1,64}$")  # 21004012: "special characters"
SHIPPABLE = frozenset({"AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"})
PRE_SHIPMENT = frozenset({"UNPAID", "ON_HOLD", "AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"})
SELLER_CANCEL_REASONS = frozenset(
    {
        "seller_cancel_reason_out_of_stock",
        "seller_cancel_reason_wrong_price",
        "seller_cancel_paid_reason_address_not_deliver",
        "seller_cancel_paid_reason_buyer_requested_cancellation",
    }
)
REJECT_REASONS = frozenset(
    {
        "order_manage_list_action_respond_popup_reject_reason_invalid_cancellation_reason",
        "order_manage_list_action_respond_popup_reject_reason_delivered",
        "order_manage_list_action_respond_popup_reject_reason_buyer_agree",
        "seller_reject_apply_product_has_been_packed",
    }
)
BUYER_REQUEST_DEADLINE_S = 48 * 3600  # auto-approved after 48 h (return-refund overview)
CORRECTION_WINDOW_S = 72 * 3600  # US/UK/SEA: one update within 72 h of shipment


@dataclass
class Package:
    """One package: its lines (one per unit), tracking and status."""

    id: str
    order_id: str
    line_ids: list[str]
    create_time: int
    update_time: int
    status: str = "PROCESSING"  # PROCESSING -> FULFILLING -> COMPLETED (| CANCELLED)
    shipped: bool = False
    tracking_number: str = ""
    provider_id: str = ""
    provider_name: str = ""
    ship_time: int = 0
    updates_used: int = 0


@dataclass
class Cancellation:
    """One cancellation record of Search Cancellations."""

    id: str
    order_id: str
    cancel_type: str  # CANCEL | BUYER_CANCEL
    status: str
    role: str  # BUYER | SELLER | SYSTEM
    reason: str
    reason_text: str
    line_ids: list[str]
    create_time: int
    update_time: int
    deadline: int = 0


@dataclass
class OrderExtra:
    delivery_option_id: str
    cancel_initiator: str = ""
    cancel_reason_text: str = ""
    pending_request: str = ""  # cancel id of a pending buyer request
    request_cancel_time: int = 0


@dataclass
class LoopBack:
    """Fulfilment and cancellation state of one emulator."""

    emulator: TikTokEmulator
    market: str = "US"  # US: packages created by shipping; SEA: packages exist from payment
    correction_window_s: int = CORRECTION_WINDOW_S
    buyer_request_deadline_s: int = BUYER_REQUEST_DEADLINE_S
    refuse_split_same_sku: bool = False  # switch for 21011036
    warning_next: str = ""  # the next successful Mark Package As Shipped carries this warning
    offset_s: int = 0  # admin clock advance for windows and deadlines
    rts_sla_s: int = 2 * 86400  # emulator defaults (UNCONFIRMED: TikTok sets them per order)
    cancel_sla_s: int = 7 * 86400
    auto_cancel_overdue: bool = False  # switch: ``advance`` cancels orders past their SLA
    delivery_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    packages: dict[str, Package] = field(default_factory=dict)
    cancellations: dict[str, Cancellation] = field(default_factory=dict)
    extras: dict[str, OrderExtra] = field(default_factory=dict)
    # order id -> line id -> (cancel_user, cancel_reason): single-line cancellations (US/UK,
    # seller, out of stock; Return & Refund overview and changelog "UK item-level cancel")
    cancelled_lines: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)
    _package_ids: Any = field(default_factory=lambda: itertools.count(1_153_000_000_000_000_001))
    _cancel_ids: Any = field(default_factory=lambda: itertools.count(4_035_000_000_000_000_001))

    def __post_init__(self) -> None:
        self.delivery_options = {
            SELLER_OPTION: {
                "name": "Standard Shipping",
                "type": "SEND_BY_SELLER",
                "providers": [{"id": i, "name": n} for i, n in DEFAULT_PROVIDERS],
            },
            TIKTOK_OPTION: {"name": "TikTok Shipping", "type": "STANDARD", "providers": None},
        }

    # -- helpers ------------------------------------------------------------------------
    def now(self) -> int:
        return self.emulator.now() + self.offset_s

    def order(self, order_id: str) -> Order:
        order = self.emulator.orders.get(order_id)
        if order is None:
            raise ApiFailure(21008111, f"order {order_id} does not belong to the seller")
        return order

    def info_of(self, order: Order) -> OrderExtra:
        extra = self.extras.get(order.id)
        if extra is None:
            option = TIKTOK_OPTION if order.shipping_type == "TIKTOK" else SELLER_OPTION
            extra = self.extras[order.id] = OrderExtra(option)
        return extra

    def line_views(self, order: Order) -> dict[str, dict[str, Any]]:
        """The line items as Get Order Detail renders them (keeps other modules' states)."""
        em = self.emulator
        raw = render_order(order, em.now(), mask_platform_shipping=em.mask_platform_shipping)
        self.mark_cancelled_lines(order, raw)
        return {str(line["id"]): line for line in raw["line_items"]}

    def mark_cancelled_lines(self, order: Order, out: dict[str, Any]) -> None:
        """Render single cancelled lines: ``display_status`` CANCELLED with who and why."""
        cancelled = self.cancelled_lines.get(order.id) or {}
        for line in out.get("line_items") or []:
            if str(line["id"]) in cancelled:
                user, reason = cancelled[str(line["id"])]
                line["display_status"] = "CANCELLED"
                line["cancel_user"], line["cancel_reason"] = user, reason
                line.pop("package_id", None)
                line.pop("package_status", None)

    def cancel_lines(self, order_id: str, line_ids: list[str], reason_text: str) -> Cancellation:
        """A seller's out-of-stock cancellation of single lines (US/UK). The order stays in
        its status unless every line is cancelled, then it becomes CANCELLED."""
        order = self.order(order_id)
        if order.status not in ("AWAITING_SHIPMENT", "PARTIALLY_SHIPPING"):
            raise ValueError(f"order {order_id} is {order.status}: lines cannot be cancelled")
        known = {u.id for u in order.lines}
        shipped = {lid for p in self.packages_of(order.id) if p.shipped for lid in p.line_ids}
        bad = [i for i in line_ids if i not in known or i in shipped]
        if not line_ids or bad:
            raise ValueError(f"lines not cancellable: {bad or 'none given'}")
        done = self.cancelled_lines.setdefault(order.id, {})
        for lid in line_ids:
            done[lid] = ("SELLER", reason_text)
        rec = self._record(
            order,
            "CANCEL",
            "CANCELLATION_REQUEST_COMPLETE",
            "SELLER",
            "seller_cancel_reason_out_of_stock",
            reason_text,
        )
        rec.line_ids = list(line_ids)
        if known <= set(done):
            self._cancel_order(order, "SELLER", reason_text)
        else:
            order.update_time = max(self.emulator.now(), order.update_time + 1)
        self.notify(rec)
        return rec

    def packages_of(self, order_id: str) -> list[Package]:
        return [p for p in self.packages.values() if p.order_id == order_id]

    def ensure_packages(self, order: Order) -> list[Package]:
        """SEA-style markets: one unshipped package per paid seller order (from payment)."""
        found = self.packages_of(order.id)
        if (
            self.market != "US"
            and not found
            and order.status not in ("UNPAID", "ON_HOLD", "CANCELLED")
        ):
            pkg = Package(
                str(next(self._package_ids)),
                order.id,
                [u.id for u in order.lines],
                self.now(),
                self.now(),
                status="TO_FULFILL",
            )
            self.packages[pkg.id] = pkg
            found = [pkg]
        return found

    def provider(self, order: Order, provider_id: str, tracking: str) -> dict[str, str]:
        if not tracking or not provider_id:
            raise ApiFailure(PARAM_ERROR, "tracking_number and shipping_provider_id are required")
        if not TRACKING_RE.match(tracking):
            raise ApiFailure(
                TRACKING_CHARSET, "Tracking number has special characters, verify failed."
            )
        option = self.delivery_options.get(self.info_of(order).delivery_option_id) or {}
        for p in option.get("providers") or []:
            if p["id"] == provider_id:
                return p
        raise ApiFailure(
            INVALID_TRACKING_OR_PROVIDER,
            "Invalid tracking number or provider ID. Please check and try again.",
        )

    def check_seller_order(self, order: Order, code: int) -> None:
        if order.shipping_type != "SELLER" or order.fulfillment_type != "FULFILLMENT_BY_SELLER":
            message = {
                PLATFORM_FULFILLED: "Seller cannot operate orders which are fulfilled by platform",
                NOT_SELLER_SHIPPED: "Cannot operate packages that are not shipped by sellers.",
            }[code]
            raise ApiFailure(code, message)

    def check_shippable(self, order: Order) -> None:
        if order.status == "CANCELLED":
            raise ApiFailure(
                ORDER_CANCELLED_SHIP, "Cannot complete the operation when order is cancelled."
            )
        if order.status not in SHIPPABLE:
            raise ApiFailure(
                NOT_AWAITING_SHIPMENT, "These orders are not in the Awaiting shipment status."
            )
        extra = self.info_of(order)
        if extra.pending_request:
            if self.market != "US":
                raise ApiFailure(
                    AFTER_SALE_PENDING,
                    "Package item has after-sale request, please process the after-sale "
                    "request first.",
                )
            # US: shipping rejects a pending buyer request automatically (changelog "US
            # cancellation workflow", Partner Center).
            self._close_request(order, "CANCELLATION_REQUEST_CANCEL")

    def after_ship(self, order: Order) -> None:
        """Order status after a ship call: PARTIALLY_SHIPPING or AWAITING_COLLECTION."""
        views = self.line_views(order)
        shipped = {lid for p in self.packages_of(order.id) if p.shipped for lid in p.line_ids}
        open_lines = [lid for lid, v in views.items() if v.get("display_status") != "CANCELLED"]
        target = (
            "AWAITING_COLLECTION"
            if all(lid in shipped for lid in open_lines)
            else "PARTIALLY_SHIPPING"
        )
        if order.status != target:
            self.emulator.set_order_status(order.id, target)

    def _ship(self, pkg: Package, provider: dict[str, str], tracking: str) -> None:
        now = self.now()
        pkg.shipped, pkg.status = True, "PROCESSING"
        pkg.tracking_number, pkg.provider_id, pkg.provider_name = (
            tracking,
            provider["id"],
            provider["name"],
        )
        pkg.ship_time = pkg.update_time = now

    # -- Mark Package As Shipped ----------------------------------------------------------
    def mark_shipped(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if self.market != "US":
            raise ApiFailure(REGION_NOT_SUPPORTED, "This interface cannot be used in this region.")
        order = self.order(order_id)
        self.check_seller_order(order, PLATFORM_FULFILLED)
        if order.status == "CANCELLED":
            raise ApiFailure(
                ORDER_CANCELLED_SHIP, "Cannot complete the operation when order is cancelled."
            )
        line_ids = [str(i) for i in body.get("order_line_item_ids") or []]
        views = self.line_views(order)
        if not line_ids:
            raise ApiFailure(PARAM_ERROR, "order_line_item_ids is required")
        unknown = [i for i in line_ids if i not in views]
        if unknown or len(set(line_ids)) != len(line_ids):
            raise ApiFailure(PARAM_ERROR, f"order_line_item_ids not in order: {unknown}")
        shipped = {lid for p in self.packages_of(order.id) if p.shipped for lid in p.line_ids}
        if all(i in shipped for i in line_ids):
            raise ApiFailure(ORDERS_ALREADY_SHIPPED, "These orders are already shipped.")
        if any(i in shipped for i in line_ids):
            raise ApiFailure(
                PACKAGE_ALREADY_SHIPPED,
                "Package has been shipped. Please not ship the package again.",
            )
        if any(views[i].get("display_status") == "CANCELLED" for i in line_ids):
            raise ApiFailure(NOT_AWAITING_SHIPMENT, "Cancelled line items cannot be shipped.")
        self.check_shippable(order)
        tracking = str(body.get("tracking_number") or "")
        provider = self.provider(order, str(body.get("shipping_provider_id") or ""), tracking)
        if self.refuse_split_same_sku:
            chosen = {views[i]["sku_id"] for i in line_ids}
            left = [i for i, v in views.items() if v["sku_id"] in chosen and i not in line_ids]
            if any(i not in shipped for i in left):
                raise ApiFailure(SPLIT_SAME_SKU, "split same sku in Multi Package not allow.")
        pkg = Package(str(next(self._package_ids)), order.id, line_ids, self.now(), self.now())
        self.packages[pkg.id] = pkg
        self._ship(pkg, provider, tracking)
        self.after_ship(order)
        out: dict[str, Any] = {
            "order_id": order.id,
            "order_line_item_ids": line_ids,
            "package_id": pkg.id,
        }
        if self.warning_next:
            out["warning"] = {"message": self.warning_next}
            self.warning_next = ""
        return out

    # -- Ship Package / Batch Ship Packages -----------------------------------------------
    def package(self, package_id: str) -> Package:
        pkg = self.packages.get(package_id)
        if pkg is None:
            raise ApiFailure(PACKAGE_NOT_OWNED, "The package does not belong to the current shop.")
        return pkg

    def ship_package(self, package_id: str, body: dict[str, Any]) -> dict[str, Any]:
        pkg = self.package(package_id)
        order = self.order(pkg.order_id)
        self.check_seller_order(order, NOT_SELLER_SHIPPED)
        if pkg.status == "COMPLETED":
            raise ApiFailure(PACKAGE_DELIVERED_SHIP, "Package has already been delivered.")
        if pkg.shipped:
            raise ApiFailure(PACKAGE_SHIPPED_SHIP, "Package has already been shipped.")
        self.check_shippable(order)
        shipment = body.get("self_shipment")
        if not isinstance(shipment, dict):
            raise ApiFailure(PARAM_ERROR, "self_shipment is required for seller shipping")
        tracking = str(shipment.get("tracking_number") or "")
        provider = self.provider(order, str(shipment.get("shipping_provider_id") or ""), tracking)
        self._ship(pkg, provider, tracking)
        self.after_ship(order)
        return {}

    def batch_ship(self, body: dict[str, Any]) -> dict[str, Any]:
        items = body.get("packages")
        if not isinstance(items, list) or not items:
            raise ApiFailure(PARAM_ERROR, "packages is required")
        errors = []
        for item in items:
            package_id = str((item or {}).get("id") or "")
            try:
                self.ship_package(package_id, item)
            except ApiFailure as exc:
                errors.append(
                    {"code": exc.code, "message": exc.message, "detail": {"package_id": package_id}}
                )
        return {"errors": errors}

    # -- reading packages -----------------------------------------------------------------
    def package_detail(self, package_id: str) -> dict[str, Any]:
        pkg = self.package(package_id)
        order = self.order(pkg.order_id)
        extra = self.info_of(order)
        option = self.delivery_options.get(extra.delivery_option_id) or {}
        return {
            "package_id": pkg.id,
            "orders": [{"id": order.id}],
            "order_line_item_ids": list(pkg.line_ids),
            "package_status": pkg.status,
            "split_and_combine_tag": "DEFAULT",
            "has_multi_skus": len({u.sku_id for u in order.lines if u.id in pkg.line_ids}) > 1,
            "shipping_provider_id": pkg.provider_id,
            "shipping_provider_name": pkg.provider_name,
            "shipping_type": order.shipping_type,
            "delivery_option_id": extra.delivery_option_id,
            "delivery_option_name": option.get("name", ""),
            "tracking_number": pkg.tracking_number,
            "handover_method": "DROP_OFF",
            "create_time": pkg.create_time,
            "update_time": pkg.update_time,
        }

    def search_packages(self, filters: dict[str, Any]) -> list[Package]:
        for order in list(self.emulator.orders.values()):
            if order.shipping_type == "SELLER":
                self.ensure_packages(order)
        found = []
        for pkg in self.packages.values():
            if filters.get("package_status") and pkg.status != filters["package_status"]:
                continue
            if not _in_range(pkg.create_time, filters, "create_time"):
                continue
            if not _in_range(pkg.update_time, filters, "update_time"):
                continue
            found.append(pkg)
        return sorted(found, key=lambda p: (p.update_time, p.id))

    # -- tracking correction --------------------------------------------------------------
    def update_shipping_info(self, pkg: Package, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order(pkg.order_id)
        self.check_seller_order(order, NOT_SELLER_SHIPPED)
        if order.status == "CANCELLED":
            raise ApiFailure(ORDER_CANCELLED_SHIP, "The order has been cancelled.")
        if not pkg.shipped:
            raise ApiFailure(UPDATE_NOT_SHIPPED, "The package has not been shipped yet.")
        if pkg.status == "COMPLETED":
            raise ApiFailure(UPDATE_DELIVERED, "The package has already been delivered.")
        if pkg.updates_used >= 1:
            raise ApiFailure(UPDATE_ONCE, "The shipping information can only be updated once.")
        if self.now() - pkg.ship_time > self.correction_window_s:
            raise ApiFailure(
                UPDATE_WINDOW, "The time window for updating shipping information has passed."
            )
        tracking = str(body.get("tracking_number") or "")
        provider = self.provider(order, str(body.get("shipping_provider_id") or ""), tracking)
        pkg.tracking_number, pkg.provider_id, pkg.provider_name = (
            tracking,
            provider["id"],
            provider["name"],
        )
        pkg.updates_used += 1
        pkg.update_time = self.now()
        return {}

    def update_order_shipping_info(self, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order(order_id)
        shipped = [p for p in self.packages_of(order.id) if p.shipped]
        if not shipped:
            self.check_seller_order(order, NOT_SELLER_SHIPPED)
            raise ApiFailure(UPDATE_NOT_SHIPPED, "The package has not been shipped yet.")
        if len(shipped) > 1:
            raise ApiFailure(PARAM_ERROR, "the order has several packages: update per package")
        return self.update_shipping_info(shipped[0], body)

    # -- cancellations --------------------------------------------------------------------
    def _record(
        self, order: Order, cancel_type: str, status: str, role: str, reason: str, text: str
    ) -> Cancellation:
        now = self.now()
        rec = Cancellation(
            str(next(self._cancel_ids)),
            order.id,
            cancel_type,
            status,
            role,
            reason,
            text,
            [u.id for u in order.lines],
            now,
            now,
        )
        self.cancellations[rec.id] = rec
        return rec

    def _set_status(self, rec: Cancellation, status: str) -> None:
        rec.status, rec.update_time = status, self.now()
        self.notify(rec)

    def _cancel_order(self, order: Order, role: str, reason_text: str) -> None:
        extra = self.info_of(order)
        extra.cancel_initiator, extra.cancel_reason_text = role, reason_text
        for pkg in self.packages_of(order.id):
            pkg.status, pkg.update_time = "CANCELLED", self.now()
        self.emulator.set_order_status(order.id, "CANCELLED")

    def _close_request(self, order: Order, status: str) -> None:
        extra = self.info_of(order)
        rec = self.cancellations[extra.pending_request]
        extra.pending_request = ""
        self._set_status(rec, status)

    def seller_cancel(self, body: dict[str, Any]) -> dict[str, Any]:
        order = self.order(str(body.get("order_id") or ""))
        reason = str(body.get("cancel_reason") or "")
        if body.get("order_line_item_ids") or body.get("skus"):
            # Line-level cancellation is modelled on the order lines, not here.
            raise ApiFailure(
                25005010, "Unable to cancel individual line items within this request."
            )
        if reason not in SELLER_CANCEL_REASONS:
            raise ApiFailure(CANCEL_UNKNOWN_REASON, f"unknown cancel_reason {reason!r}")
        if order.status == "CANCELLED" or self.info_of(order).pending_request:
            raise ApiFailure(
                CANCEL_IN_PROCESS,
                "A return request is already in process, or the order has already been cancelled.",
            )
        if any(p.shipped for p in self.packages_of(order.id)) or order.status not in (
            "ON_HOLD",
            "AWAITING_SHIPMENT",
        ):
            if order.status in ("AWAITING_COLLECTION", "IN_TRANSIT", "PARTIALLY_SHIPPING"):
                raise ApiFailure(CANCEL_ALREADY_SHIPPED, "The order has already been shipped.")
            raise ApiFailure(CANCEL_REASON_STATUS, "Reason not match order status")
        rec = self._record(
            order, "CANCEL", "CANCELLATION_REQUEST_SUCCESS", "SELLER", reason, reason
        )
        self._cancel_order(order, "SELLER", reason)
        self.notify(rec)
        return {"cancel_id": rec.id, "cancel_status": rec.status}

    def system_cancel(self, order_id: str, role: str, reason_text: str) -> Cancellation:
        """A whole-order cancel by SYSTEM / SELLER (Seller Center) / BUYER (in remorse window)."""
        order = self.order(order_id)
        if order.status == "CANCELLED":
            raise ValueError(f"order {order_id} is already cancelled")
        if any(p.shipped for p in self.packages_of(order.id)):
            raise ValueError(f"order {order_id} has shipped packages")
        if self.info_of(order).pending_request:
            self._close_request(order, "CANCELLATION_REQUEST_CANCEL")
        rec = self._record(order, "CANCEL", "CANCELLATION_REQUEST_COMPLETE", role, "", reason_text)
        self._cancel_order(order, role, reason_text)
        self.notify(rec)
        return rec

    def buyer_request(self, order_id: str, reason_text: str) -> Cancellation:
        order = self.order(order_id)
        if order.status not in ("AWAITING_SHIPMENT",) or self.info_of(order).pending_request:
            raise ValueError(f"order {order_id} cannot take a buyer cancel request now")
        rec = self._record(
            order,
            "BUYER_CANCEL",
            "CANCELLATION_REQUEST_PENDING",
            "BUYER",
            "ecom_order_to_ship_canceled_reason_created_by_mistakes",
            reason_text,
        )
        rec.deadline = rec.create_time + self.buyer_request_deadline_s
        extra = self.info_of(order)
        extra.pending_request, extra.request_cancel_time = rec.id, rec.create_time
        order.update_time = max(self.emulator.now(), order.update_time + 1)
        self.notify(rec)
        return rec

    def approve(self, cancel_id: str, query: dict[str, str]) -> dict[str, Any]:
        key = query.get("idempotency_key", "")
        if not key or len(key) > 255:
            raise ApiFailure(PARAM_ERROR, "idempotency_key is required (at most 255 chars)")
        rec = self.cancellations.get(cancel_id)
        if rec is None:
            raise ApiFailure(CANCEL_NOT_FOUND, "order not found")
        if rec.status in ("CANCELLATION_REQUEST_CANCEL", "CANCELLATION_REQUEST_CANCELLED"):
            raise ApiFailure(CANCEL_REVERSE_CANCELLED, "reverse already cancelled")
        if rec.status != "CANCELLATION_REQUEST_PENDING":
            raise ApiFailure(CANCEL_STATUS_CANNOT_APPROVE, "status cannot approve")
        order = self.order(rec.order_id)
        if any(p.shipped for p in self.packages_of(order.id)):
            raise ApiFailure(CANCEL_ALREADY_SHIPPED, "The order has already been shipped.")
        self._grant(rec, order)
        return {}

    def _grant(self, rec: Cancellation, order: Order) -> None:
        extra = self.info_of(order)
        extra.pending_request = ""
        self._set_status(rec, "CANCELLATION_REQUEST_SUCCESS")
        self._cancel_order(order, "BUYER", rec.reason_text)
        self._set_status(rec, "CANCELLATION_REQUEST_COMPLETE")

    def reject(self, cancel_id: str, query: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
        if not query.get("idempotency_key"):
            raise ApiFailure(PARAM_ERROR, "idempotency_key is required")
        rec = self.cancellations.get(cancel_id)
        if rec is None:
            raise ApiFailure(CANCEL_NOT_FOUND, "order not found")
        if rec.status != "CANCELLATION_REQUEST_PENDING":
            raise ApiFailure(CANCEL_STATUS_CANNOT_APPROVE, "status cannot reject")
        if body.get("reject_reason") not in REJECT_REASONS:
            raise ApiFailure(REJECT_REASON_INVALID, "reject_reason does not match")
        self._close_request(self.order(rec.order_id), "CANCELLATION_REQUEST_CANCEL")
        return {}

    def search_cancellations(self, body: dict[str, Any]) -> list[Cancellation]:
        def wanted(rec: Cancellation) -> bool:
            for key, value in (
                ("cancel_ids", rec.id),
                ("order_ids", rec.order_id),
                ("cancel_types", rec.cancel_type),
            ):
                if body.get(key) and value not in body[key]:
                    return False
            statuses = set(body.get("cancel_status") or [])
            if "CANCELLATION_REQUEST_CANCEL" in statuses:  # both spellings (search page)
                statuses.add("CANCELLATION_REQUEST_CANCELLED")
            if statuses and rec.status not in statuses:
                return False
            return _in_range(rec.create_time, body, "create_time") and _in_range(
                rec.update_time, body, "update_time"
            )

        return [r for r in self.cancellations.values() if wanted(r)]

    def advance(self, seconds: int) -> dict[str, Any]:
        """Move the loop-back clock. Expired buyer requests are approved automatically;
        with ``auto_cancel_overdue`` on, seller orders with nothing shipped by
        ``cancel_order_sla_time`` are cancelled by the system (order API overview: no
        valid shipment before the SLA -> cancelled)."""
        self.offset_s += seconds
        approved, expired = [], []
        for rec in list(self.cancellations.values()):
            if rec.status == "CANCELLATION_REQUEST_PENDING" and rec.deadline <= self.now():
                self._grant(rec, self.order(rec.order_id))
                approved.append(rec.id)
        for order in list(self.emulator.orders.values()) if self.auto_cancel_overdue else []:
            due = self.sla(order).get("cancel_order_sla_time", 0)
            unshipped = not any(p.shipped for p in self.packages_of(order.id))
            seller = order.shipping_type == "SELLER"
            if seller and order.status == "AWAITING_SHIPMENT" and unshipped and due <= self.now():
                self.system_cancel(order.id, "SYSTEM", "Package not shipped in time")
                expired.append(order.id)
        return {"offset_s": self.offset_s, "auto_approved": approved, "auto_cancelled": expired}

    def sla(self, order: Order) -> dict[str, int]:
        """SLA timestamps of Get Order Detail (Unix s). The spans are emulator settings,
        not documented values: TikTok sets them per order and market."""
        if not order.paid_time:
            return {}
        start = order.paid_time
        return {
            "rts_sla_time": start + self.rts_sla_s,
            "tts_sla_time": start + self.rts_sla_s + 2 * 86400,
            "shipping_due_time": start + self.cancel_sla_s,
            "collection_due_time": start + self.cancel_sla_s + 2 * 86400,
            "cancel_order_sla_time": start + self.cancel_sla_s,
        }

    def eligibility(self, order_id: str, user: str) -> dict[str, Any]:
        """Get Aftersale Eligibility for a CANCEL request by ``user`` (SELLER | BUYER).

        The ineligible codes are UNCONFIRMED (the page documents the fields, not values):
        the emulator reuses the matching Cancel Order error codes.
        """
        if user not in ("SELLER", "BUYER"):
            raise ApiFailure(PARAM_ERROR, "initiate_aftersale_user must be SELLER or BUYER")
        order = self.order(order_id)
        views = self.line_views(order)
        shipped = {lid for p in self.packages_of(order.id) if p.shipped for lid in p.line_ids}
        allowed = ("ON_HOLD", "AWAITING_SHIPMENT") if user == "SELLER" else ("AWAITING_SHIPMENT",)
        by_sku: dict[str, list[str]] = {}
        for unit in order.lines:
            by_sku.setdefault(unit.sku_id, []).append(unit.id)
        out = []
        for sku_id, line_ids in by_sku.items():
            open_ids = [i for i in line_ids if views[i].get("display_status") != "CANCELLED"]
            code, reason = 0, ""
            if order.status == "CANCELLED" or not open_ids or self.info_of(order).pending_request:
                code, reason = CANCEL_IN_PROCESS, "The order is cancelled or in after-sale."
            elif shipped.intersection(line_ids) or order.status not in allowed:
                code, reason = CANCEL_ALREADY_SHIPPED, "The order has already been shipped."
            item: dict[str, Any] = {
                "request_type": "CANCEL",
                "order_line_items_ids": open_ids,
                "eligible": code == 0,
            }
            if code:
                item |= {"ineligible_code": code, "ineligible_reason": reason}
            out.append({"sku_id": sku_id, "line_item_eligibility": [item]})
        return {"sku_eligibility": out}

    def advance_package(self, package_id: str) -> Package:
        """Carrier progress: PROCESSING -> FULFILLING -> COMPLETED, order follows."""
        pkg = self.packages.get(package_id)
        if pkg is None or not pkg.shipped:
            raise ValueError(f"package {package_id} is unknown or not shipped")
        nxt = {"PROCESSING": "FULFILLING", "FULFILLING": "COMPLETED"}.get(pkg.status)
        if nxt is None:
            raise ValueError(f"package {package_id} is {pkg.status}")
        pkg.status, pkg.update_time = nxt, self.now()
        order = self.order(pkg.order_id)
        statuses = {p.status for p in self.packages_of(order.id) if p.shipped}
        if order.status == "AWAITING_COLLECTION" and statuses <= {"FULFILLING", "COMPLETED"}:
            self.emulator.set_order_status(order.id, "IN_TRANSIT")
        if order.status == "IN_TRANSIT" and statuses == {"COMPLETED"}:
            self.emulator.set_order_status(order.id, "DELIVERED")
        return pkg

    # -- webhooks -------------------------------------------------------------------------
    def notify(self, rec: Cancellation) -> None:
        """CANCELLATION_STATUS_CHANGE (type 11) on every status change."""
        em = self.emulator
        address = em.webhook_addresses.get("CANCELLATION_STATUS_CHANGE")
        if not address:
            return
        envelope = {
            "type": 11,
            "tts_notification_id": str(next(em._notification_ids)),
            "shop_id": em.shop["id"],
            "timestamp": em.now(),
            "data": {
                "order_id": rec.order_id,
                "cancellations_role": rec.role,
                "cancel_status": rec.status,
                "cancel_id": rec.id,
                "create_time": rec.create_time,
            },
        }
        c = em.credentials
        em.webhooks.send(
            "CANCELLATION_STATUS_CHANGE",
            address,
            envelope,
            app_key=c.app_key,
            app_secret=c.app_secret,
        )

    # -- rendering ------------------------------------------------------------------------
    def decorate(self, order: Order, out: dict[str, Any]) -> None:
        """Add packages, tracking, delivery option and cancel fields to a rendered order."""
        extra = self.info_of(order)
        option = self.delivery_options.get(extra.delivery_option_id) or {}
        out["delivery_option_id"] = extra.delivery_option_id
        out["delivery_option_name"] = option.get("name", "")
        self.mark_cancelled_lines(order, out)
        pkgs = (
            self.packages_of(order.id)
            if order.shipping_type != "SELLER"
            else (self.ensure_packages(order))
        )
        by_line = {lid: p for p in pkgs for lid in p.line_ids}
        shipped = [p for p in pkgs if p.shipped]
        out["packages"] = [{"id": p.id} for p in pkgs]
        out["is_buyer_request_cancel"] = bool(extra.pending_request)
        out |= self.sla(order)
        if extra.pending_request:
            rec = self.cancellations[extra.pending_request]
            out["request_cancel_time"] = extra.request_cancel_time
            out["seller_next_action_response"] = [
                {"action": "SELLER_RESPOND_CANCEL", "deadline": rec.deadline}
            ]
        if extra.cancel_initiator:
            out["cancellation_initiator"] = extra.cancel_initiator
            out["cancel_reason"] = extra.cancel_reason_text
        if shipped:
            out["tracking_number"] = shipped[0].tracking_number
            out["shipping_provider"] = shipped[0].provider_name
            out["shipping_provider_id"] = shipped[0].provider_id
            out["rts_time"] = min(p.ship_time for p in shipped)
        for line in out.get("line_items") or []:
            pkg = by_line.get(str(line["id"]))
            if line.get("display_status") == "CANCELLED":
                continue
            if pkg is None and order.status not in PRE_SHIPMENT:
                continue  # moved along by the admin status route: keep the plain rendering
            if pkg is None:
                # US/UK local sellers: no package before shipping (Get Order Detail page).
                line.pop("package_id", None)
                line.pop("package_status", None)
                if order.status == "PARTIALLY_SHIPPING":
                    line["display_status"] = "AWAITING_SHIPMENT"
                continue
            line["package_id"] = pkg.id
            line["package_status"] = pkg.status
            if pkg.shipped:
                line["tracking_number"] = pkg.tracking_number
                line["shipping_provider_id"] = pkg.provider_id
                line["shipping_provider_name"] = pkg.provider_name
                line["rts_time"] = pkg.ship_time
                if order.status == "PARTIALLY_SHIPPING":
                    line["display_status"] = "AWAITING_COLLECTION"

    def describe(self) -> dict[str, Any]:
        return {
            "market": self.market,
            "correction_window_s": self.correction_window_s,
            "buyer_request_deadline_s": self.buyer_request_deadline_s,
            "refuse_split_same_sku": self.refuse_split_same_sku,
            "rts_sla_s": self.rts_sla_s,
            "cancel_sla_s": self.cancel_sla_s,
            "auto_cancel_overdue": self.auto_cancel_overdue,
            "offset_s": self.offset_s,
            "packages": [vars(p) | {} for p in self.packages.values()],
            "cancellations": [vars(c) | {} for c in self.cancellations.values()],
        }


def _in_range(value: int, filters: dict[str, Any], name: str) -> bool:
    ge, lt = filters.get(f"{name}_ge"), filters.get(f"{name}_lt")
    for bound in (ge, lt):
        if bound is not None and not isinstance(bound, int):
            raise ApiFailure(PARAM_ERROR, f"{name} bounds must be integers")
    return (ge is None or value >= ge) and (lt is None or value < lt)


def loopback_of(emulator: TikTokEmulator) -> LoopBack:
    """The emulator's loop-back state (created on first use; ``load`` drops it)."""
    state = emulator.__dict__.get("loopback")
    if state is None:
        state = emulator.__dict__["loopback"] = LoopBack(emulator)
    return state


# -- Open API handlers (``call`` is :class:`sandbox.tiktok.app.Call`) -------------------------
def _locked(call: Any) -> Any:
    return call.emulator._lock


async def shipping_providers(call: Any) -> Any:
    lb = loopback_of(call.emulator)
    option = lb.delivery_options.get(call.match["delivery_option_id"])
    if option is None:
        raise ApiFailure(NO_SUBSCRIPTION, "No Subscription without specified delivery option.")
    if option["providers"] is None:
        raise ApiFailure(
            TIKTOK_DELIVERY_OPTION,
            "The delivery of the specified delivery_option_id is fulfilled by TikTok. No "
            "shipping provider will be returned.",
        )
    return {"shipping_providers": [dict(p) for p in option["providers"]]}


async def delivery_options(call: Any) -> Any:
    em = call.emulator
    if call.match["warehouse_id"] not in {str(w["id"]) for w in em.warehouses}:
        raise ApiFailure(PARAM_ERROR, "warehouse not found")
    return {
        "delivery_options": [
            {
                "id": i,
                "name": o["name"],
                "type": o["type"],
                "description": "",
                "platform": ["TIKTOK_SHOP"],
            }
            for i, o in loopback_of(em).delivery_options.items()
        ]
    }


async def mark_shipped(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).mark_shipped(call.match["order_id"], call.json())


async def ship_package(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).ship_package(call.match["package_id"], call.json())


async def batch_ship(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).batch_ship(call.json())


async def package_detail(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).package_detail(call.match["package_id"])


async def search_packages(call: Any) -> Any:
    from sandbox.tiktok.app import make_page_token, read_page_token

    raw = call.query.get("page_size", "")
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise ApiFailure(PARAM_ERROR, "page_size is required and must be between 1 and 50")
    size = int(raw)
    offset = read_page_token("packages", call.query.get("page_token"))
    with _locked(call):
        found = loopback_of(call.emulator).search_packages(call.json())
        if call.query.get("sort_order", "ASC") == "DESC":
            found.reverse()
        page = found[offset : offset + size]
        return {
            "total_count": len(found),
            "next_page_token": (
                make_page_token("packages", offset + size) if offset + size < len(found) else ""
            ),
            "packages": [
                {
                    "id": p.id,
                    "orders": [{"id": p.order_id}],
                    "create_time": p.create_time,
                    "update_time": p.update_time,
                    "status": p.status,
                    "tracking_number": p.tracking_number,
                    "shipping_provider_name": p.provider_name,
                    "shipping_provider_id": p.provider_id,
                    "order_line_item_ids": list(p.line_ids),
                }
                for p in page
            ],
        }


async def update_package_shipping(call: Any) -> Any:
    with _locked(call):
        lb = loopback_of(call.emulator)
        return lb.update_shipping_info(lb.package(call.match["package_id"]), call.json())


async def update_order_shipping(call: Any) -> Any:
    with _locked(call):
        lb = loopback_of(call.emulator)
        return lb.update_order_shipping_info(call.match["order_id"], call.json())


def _render_cancellation(rec: Cancellation, em: TikTokEmulator) -> dict[str, Any]:
    order = em.orders[rec.order_id]
    units = {u.id: u for u in order.lines}
    out: dict[str, Any] = {
        "cancel_id": rec.id,
        "order_id": rec.order_id,
        "cancel_type": rec.cancel_type,
        "cancel_status": rec.status,
        "role": rec.role,
        "cancel_reason": rec.reason,
        "cancel_reason_text": rec.reason_text,
        "create_time": rec.create_time,
        "update_time": rec.update_time,
        "cancel_line_items": [
            {
                "cancel_line_item_id": f"{rec.id}{n:02d}",
                "order_line_item_id": lid,
                "sku_id": units[lid].sku_id,
                "sku_name": units[lid].sku_name,
                "product_name": units[lid].product_name,
                "seller_sku": units[lid].seller_sku,
            }
            for n, lid in enumerate(rec.line_ids)
            if lid in units
        ],
    }
    total = sum((units[lid].sale_price for lid in rec.line_ids if lid in units), Decimal(0))
    out["refund_amount"] = {
        "currency": order.currency,
        "refund_total": f"{total:.2f}",
        "refund_subtotal": f"{total:.2f}",
        "refund_shipping_fee": "0.00",
        "refund_tax": "0.00",
    }
    if rec.status == "CANCELLATION_REQUEST_PENDING":
        out["seller_next_action_response"] = [
            {"action": "SELLER_RESPOND_CANCEL", "deadline": rec.deadline}
        ]
    return out


async def search_cancellations(call: Any) -> Any:
    from sandbox.tiktok.app import make_page_token, read_page_token

    raw = call.query.get("page_size", "10")
    if not raw.isdigit() or not 1 <= int(raw) <= 50:
        raise ApiFailure(PARAM_ERROR, "page_size must be between 1 and 50")
    size = int(raw)
    sort_field = call.query.get("sort_field", "create_time")
    if sort_field not in ("create_time", "update_time"):
        raise ApiFailure(PARAM_ERROR, "sort_field must be create_time or update_time")
    offset = read_page_token("cancellations", call.query.get("page_token"))
    with _locked(call):
        found = loopback_of(call.emulator).search_cancellations(call.json())
        found.sort(
            key=lambda r: (getattr(r, sort_field), r.id),
            reverse=call.query.get("sort_order", "ASC") == "DESC",
        )
        page = found[offset : offset + size]
        return {
            "total_count": len(found),
            "next_page_token": (
                make_page_token("cancellations", offset + size)
                if offset + size < len(found)
                else ""
            ),
            "cancellations": [_render_cancellation(r, call.emulator) for r in page],
        }


async def cancel_order(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).seller_cancel(call.json())


async def approve_cancellation(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).approve(call.match["cancel_id"], call.query)


async def aftersale_eligibility(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).eligibility(
            call.match["order_id"], call.query.get("initiate_aftersale_user", "")
        )


async def reject_cancellation(call: Any) -> Any:
    with _locked(call):
        return loopback_of(call.emulator).reject(call.match["cancel_id"], call.query, call.json())


ROUTES: tuple[tuple[str, str, str, Any], ...] = (
    (
        "GET",
        "/logistics/202309/delivery_options/{delivery_option_id}/shipping_providers",
        "logistics.shipping_providers",
        shipping_providers,
    ),
    (
        "GET",
        "/logistics/202309/warehouses/{warehouse_id}/delivery_options",
        "logistics.delivery_options",
        delivery_options,
    ),
    (
        "POST",
        "/fulfillment/202309/orders/{order_id}/packages",
        "fulfillment.mark_shipped",
        mark_shipped,
    ),
    (
        "POST",
        "/fulfillment/202309/packages/{package_id}/ship",
        "fulfillment.ship_package",
        ship_package,
    ),
    ("POST", "/fulfillment/202309/packages/ship", "fulfillment.batch_ship", batch_ship),
    (
        "GET",
        "/fulfillment/202309/packages/{package_id}",
        "fulfillment.package_detail",
        package_detail,
    ),
    ("POST", "/fulfillment/202309/packages/search", "fulfillment.search_packages", search_packages),
    (
        "POST",
        "/fulfillment/202309/packages/{package_id}/shipping_info/update",
        "fulfillment.update_package_shipping_info",
        update_package_shipping,
    ),
    (
        "POST",
        "/fulfillment/202309/orders/{order_id}/shipping_info/update",
        "fulfillment.update_shipping_info",
        update_order_shipping,
    ),
    (
        "POST",
        "/return_refund/202309/cancellations/search",
        "return_refund.search_cancellations",
        search_cancellations,
    ),
    ("POST", "/return_refund/202309/cancellations", "return_refund.cancel_order", cancel_order),
    (
        "GET",
        "/return_refund/202309/orders/{order_id}/aftersale_eligibility",
        "return_refund.aftersale_eligibility",
        aftersale_eligibility,
    ),
    (
        "POST",
        "/return_refund/202309/cancellations/{cancel_id}/approve",
        "return_refund.approve_cancellation",
        approve_cancellation,
    ),
    (
        "POST",
        "/return_refund/202309/cancellations/{cancel_id}/reject",
        "return_refund.reject_cancellation",
        reject_cancellation,
    ),
)


# -- admin routes -----------------------------------------------------------------------------
async def _body(request: Request) -> dict[str, Any]:
    data = json.loads(await request.body() or b"{}")
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def admin_settings(request: Request) -> Response:
    """``PUT /_sandbox/loopback`` ``{market, correction_window_s, buyer_request_deadline_s,
    rts_sla_s, cancel_sla_s, auto_cancel_overdue, refuse_split_same_sku, warning_next,
    delivery_options: {id: {name, type, providers}}}``."""
    em: TikTokEmulator = request.app.state.emulator
    with em._lock:
        lb = loopback_of(em)
        if request.method == "PUT":
            try:
                data = await _body(request)
                if data.get("market") is not None:
                    if data["market"] not in ("US", "SEA"):
                        raise ValueError("market must be US or SEA")
                    lb.market = data["market"]
                for key in (
                    "correction_window_s",
                    "buyer_request_deadline_s",
                    "rts_sla_s",
                    "cancel_sla_s",
                ):
                    if data.get(key) is not None:
                        setattr(lb, key, int(data[key]))
                if data.get("auto_cancel_overdue") is not None:
                    lb.auto_cancel_overdue = bool(data["auto_cancel_overdue"])
                if data.get("refuse_split_same_sku") is not None:
                    lb.refuse_split_same_sku = bool(data["refuse_split_same_sku"])
                if data.get("warning_next") is not None:
                    lb.warning_next = str(data["warning_next"])
                for option_id, option in (data.get("delivery_options") or {}).items():
                    lb.delivery_options[str(option_id)] = {
                        "name": str(option["name"]),
                        "type": str(option.get("type", "SEND_BY_SELLER")),
                        "providers": option.get("providers"),
                    }
            except (ValueError, TypeError, KeyError) as exc:
                return _error(str(exc))
        return JSONResponse(lb.describe())


async def admin_order(request: Request) -> Response:
    """``POST /_sandbox/orders/{id}/loopback`` with one ``action``:

    ``{"action": "cancel", "role": "SYSTEM"|"SELLER"|"BUYER", "reason": text}`` cancels the
    whole order; ``{"action": "request_cancel", "reason": text}`` files a buyer request;
    ``{"action": "delivery_option", "delivery_option_id": id}`` moves the order;
    ``{"action": "cancel_lines", "line_ids": [...], "reason": text}`` cancels single lines
    (seller, out of stock).
    """
    em: TikTokEmulator = request.app.state.emulator
    order_id = request.path_params["order_id"]
    try:
        data = await _body(request)
        with em._lock:
            lb = loopback_of(em)
            action = data.get("action")
            if action == "cancel":
                role = str(data.get("role") or "SYSTEM")
                if role not in ("SYSTEM", "SELLER", "BUYER"):
                    raise ValueError("role must be SYSTEM, SELLER or BUYER")
                rec = lb.system_cancel(order_id, role, str(data.get("reason") or ""))
                return JSONResponse({"cancel_id": rec.id, "cancel_status": rec.status})
            if action == "request_cancel":
                rec = lb.buyer_request(order_id, str(data.get("reason") or "No longer needed"))
                return JSONResponse(
                    {"cancel_id": rec.id, "cancel_status": rec.status, "deadline": rec.deadline}
                )
            if action == "cancel_lines":
                rec = lb.cancel_lines(
                    order_id,
                    [str(i) for i in data.get("line_ids") or []],
                    str(data.get("reason") or "Out of stock"),
                )
                return JSONResponse({"cancel_id": rec.id, "cancel_status": rec.status})
            if action == "delivery_option":
                option_id = str(data["delivery_option_id"])
                if option_id not in lb.delivery_options:
                    raise ValueError(f"unknown delivery option {option_id}")
                lb.info_of(lb.order(order_id)).delivery_option_id = option_id
                return JSONResponse({"delivery_option_id": option_id})
            raise ValueError(f"unknown action {action!r}")
    except ApiFailure as exc:
        return _error(exc.message, 404)
    except (ValueError, TypeError, KeyError) as exc:
        return _error(str(exc), 409)


async def admin_advance(request: Request) -> Response:
    """``POST /_sandbox/loopback/advance`` ``{"seconds": N}`` and/or ``{"package_id": id}``."""
    em: TikTokEmulator = request.app.state.emulator
    try:
        data = await _body(request)
        with em._lock:
            lb = loopback_of(em)
            out: dict[str, Any] = {}
            if data.get("package_id"):
                pkg = lb.advance_package(str(data["package_id"]))
                out["package_status"] = pkg.status
                out["order_status"] = em.orders[pkg.order_id].status
            if data.get("seconds"):
                out |= lb.advance(int(data["seconds"]))
            return JSONResponse(out)
    except (ValueError, TypeError) as exc:
        return _error(str(exc), 409)


def admin_routes() -> list[Route]:
    p = ADMIN_PREFIX
    return [
        Route(f"{p}/loopback", admin_settings, methods=["GET", "PUT"]),
        Route(f"{p}/loopback/advance", admin_advance, methods=["POST"]),
        Route(f"{p}/orders/{{order_id}}/loopback", admin_order, methods=["POST"]),
    ]
