"""Multi-Channel Fulfillment orders of the Amazon emulator: life cycle, shipments, tracking.

Shapes follow Amazon's Fulfillment Outbound model (``models/fulfillmentOutbound_2020-07-01.json``,
https://github.com/amzn/selling-partner-api-models/blob/main/models/fulfillment-outbound-api-model/fulfillmentOutbound_2020-07-01.json)
and Amazon's own test fixtures (``amzn/selling-partner-api-samples``,
``code-recipes/test/responses/mcf-v1-getFulfillmentOrder.json`` and
``mcf-v1-getPackageTrackingDetails.json``).

An order moves ``Received -> Planning -> Processing -> Complete`` (or
``CompletePartialled`` when packages cover only part of the units). How it moves is the
``progress`` setting:

- ``polls`` (default): every ``getFulfillmentOrder`` after the first moves one step;
- ``clock``: one step per ``step_s`` seconds of the emulator clock since the last change;
- ``manual``: only ``advance`` (admin route ``POST /_sandbox/mcf/{id}/advance``) moves it.

``Processing`` carries a ``PENDING`` shipment without packages (items on package 0, as in
the model's example); ``Complete`` a ``SHIPPED`` shipment with packages (``packageNumber``,
``carrierCode``, ``trackingNumber``). Cancelling is allowed in ``New``, ``Received`` and
``Planning`` only (the model's status table); the error for a later cancel is not
documented, so its code is a setting (``cancel_error_code``, default ``InvalidInput``).
"""

from __future__ import annotations

import base64
import hashlib
import itertools
from dataclasses import dataclass
from datetime import datetime
from typing import Any

STEPS = ("Received", "Planning", "Processing", "Complete")
CANCELLABLE = frozenset(["New", "Received", "Planning"])
TERMINAL = frozenset(["Complete", "CompletePartialled", "Cancelled", "Unfulfillable", "Invalid"])
LIST_PAGE = 50  # page size of listAllFulfillmentOrders (not documented; any size works)


@dataclass
class McfOptions:
    """Knobs of the MCF life cycle (``PUT /_sandbox/mcf``)."""

    progress: str = "polls"  # polls | clock | manual
    step_s: float = 60.0  # clock mode: seconds per status step
    carrier: str = "Amazon Logistics"  # carrierCode of generated packages
    cancel_error_code: str = "InvalidInput"  # UNCONFIRMED code for a too-late cancel


def parse_time(value: str) -> float | None:
    """An ISO 8601 date-time as epoch seconds, or None when it is not one."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.timestamp()


class McfBook:
    """The MCF side of one emulated account; the caller holds the emulator lock."""

    def __init__(self, iso: Any, clock: Any) -> None:
        self.iso = iso
        self.clock = clock
        self.options = McfOptions()
        self._packages = itertools.count(543_939_833)
        self.packages: dict[int, dict[str, Any]] = {}  # packageNumber -> tracking view

    # -- life cycle ------------------------------------------------------------------------

    def on_read(self, order: dict[str, Any], *, counted: bool) -> None:
        """Apply the configured progression before an order is shown."""
        status = order["fulfillmentOrderStatus"]
        if status not in STEPS[:-1]:
            return
        if self.options.progress == "polls" and counted:
            if order["polls"] > 0:
                self.move(order, STEPS[STEPS.index(status) + 1])
            order["polls"] += 1
        elif self.options.progress == "clock":
            changed = order.get("changedAt", self.clock())
            steps = int((self.clock() - changed) // max(self.options.step_s, 1e-9))
            for _ in range(steps):
                current = order["fulfillmentOrderStatus"]
                if current not in STEPS[:-1]:
                    break
                self.move(order, STEPS[STEPS.index(current) + 1])
        elif counted:
            order["polls"] += 1

    def move(
        self,
        order: dict[str, Any],
        to: str,
        packages: list[dict[str, Any]] | None = None,
    ) -> None:
        """Put an order in status ``to``, building the shipments that status implies."""
        now = self.clock()
        order["fulfillmentOrderStatus"] = to
        order["statusUpdatedDate"] = self.iso(now)
        order["changedAt"] = now
        if to == "Processing":
            order["shipments"] = [self._pending_shipment(order)]
        elif to in ("Complete", "CompletePartialled"):
            order["shipments"] = [self._shipped_shipment(order, packages)]
            shipped: dict[str, int] = {}
            for item in order["shipments"][0]["fulfillmentShipmentItem"]:
                key = item["sellerFulfillmentOrderItemId"]
                shipped[key] = shipped.get(key, 0) + item["quantity"]
            short = {
                i["sellerFulfillmentOrderItemId"]: i["quantity"]
                - shipped.get(i["sellerFulfillmentOrderItemId"], 0)
                for i in order["items"]
            }
            order["unfulfillable"] = {k: v for k, v in short.items() if v > 0}
            if order["unfulfillable"]:
                order["fulfillmentOrderStatus"] = "CompletePartialled"

    def _shipment_id(self, order: dict[str, Any]) -> str:
        digest = hashlib.sha256(order["sellerFulfillmentOrderId"].encode()).hexdigest()
        return "D" + digest[:8].upper()

    def _pending_shipment(self, order: dict[str, Any]) -> dict[str, Any]:
        return {
            "amazonShipmentId": self._shipment_id(order),
            "fulfillmentCenterId": "SEA8",
            "fulfillmentShipmentStatus": "PENDING",
            "shippingDate": self.iso(self.clock() + 86400),  # estimated while PENDING
            "fulfillmentShipmentItem": [
                {
                    "sellerSku": i["sellerSku"],
                    "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                    "quantity": i["quantity"],
                    "packageNumber": 0,
                }
                for i in order["items"]
            ],
        }

    def _shipped_shipment(
        self, order: dict[str, Any], packages: list[dict[str, Any]] | None
    ) -> dict[str, Any]:
        """A SHIPPED shipment; ``packages`` (admin) say which item units go in which box:
        ``[{"items": [{"sellerFulfillmentOrderItemId", "quantity"}], "carrierCode"?,
        "trackingNumber"?}]``; default one box with everything."""
        skus = {i["sellerFulfillmentOrderItemId"]: i["sellerSku"] for i in order["items"]}
        if not packages:
            packages = [
                {
                    "items": [
                        {
                            "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                            "quantity": i["quantity"],
                        }
                        for i in order["items"]
                    ]
                }
            ]
        now = self.clock()
        shipment_items: list[dict[str, Any]] = []
        boxes: list[dict[str, Any]] = []
        for box in packages:
            number = next(self._packages)
            carrier = box.get("carrierCode") or self.options.carrier
            tracking = box.get("trackingNumber") or self._tracking_number(carrier, number)
            boxes.append(
                {
                    "packageNumber": number,
                    "carrierCode": carrier,
                    "trackingNumber": tracking,
                    "estimatedArrivalDate": self.iso(now + 3 * 86400),
                }
            )
            for item in box["items"]:
                shipment_items.append(
                    {
                        "sellerSku": skus[item["sellerFulfillmentOrderItemId"]],
                        "sellerFulfillmentOrderItemId": item["sellerFulfillmentOrderItemId"],
                        "quantity": int(item["quantity"]),
                        "packageNumber": number,
                    }
                )
            self.packages[number] = {
                "packageNumber": number,
                "trackingNumber": tracking,
                "carrierCode": carrier,
                "shipDate": self.iso(now),
                "estimatedArrivalDate": self.iso(now + 3 * 86400),
                "address": order.get("destinationAddress") or {},
            }
        return {
            "amazonShipmentId": self._shipment_id(order),
            "fulfillmentCenterId": "SEA8",
            "fulfillmentShipmentStatus": "SHIPPED",
            "shippingDate": self.iso(now),
            "estimatedArrivalDate": self.iso(now + 3 * 86400),
            "fulfillmentShipmentItem": shipment_items,
            "fulfillmentShipmentPackage": boxes,
        }

    @staticmethod
    def _tracking_number(carrier: str, number: int) -> str:
        digest = hashlib.sha256(f"{carrier}:{number}".encode()).hexdigest()
        if carrier == "Amazon Logistics":
            return "TBA" + str(int(digest[:12], 16))[:12]
        if carrier == "UPS":
            return "1Z" + digest[:16].upper()
        return str(int(digest[:14], 16))[:16]

    def cancel(self, order: dict[str, Any]) -> str | None:
        """Cancel when the status allows; the refusal message otherwise."""
        status = order["fulfillmentOrderStatus"]
        if status not in CANCELLABLE:
            order_id = order["sellerFulfillmentOrderId"]
            return f"Fulfillment order {order_id} cannot be cancelled in status {status}."
        order["cancelled"] = True
        for shipment in order.get("shipments", []):
            shipment["fulfillmentShipmentStatus"] = "CANCELLED_BY_SELLER"
            shipment.pop("shippingDate", None)
        self.move(order, "Cancelled")
        return None

    # -- views -----------------------------------------------------------------------------

    def payload(self, order: dict[str, Any], head_keys: tuple[str, ...]) -> dict[str, Any]:
        """The ``GetFulfillmentOrderResult`` of an order."""
        status = order["fulfillmentOrderStatus"]
        unfulfillable = order.get("unfulfillable", {})
        items = [
            {
                "sellerSku": i["sellerSku"],
                "sellerFulfillmentOrderItemId": i["sellerFulfillmentOrderItemId"],
                "quantity": i["quantity"],
                "cancelledQuantity": i["quantity"] if order.get("cancelled") else 0,
                "unfulfillableQuantity": i["quantity"]
                if status == "Unfulfillable"
                else unfulfillable.get(i["sellerFulfillmentOrderItemId"], 0),
            }
            for i in order["items"]
        ]
        return {
            "fulfillmentOrder": self.head(order, head_keys),
            "fulfillmentOrderItems": items,
            "fulfillmentShipments": [dict(s) for s in order.get("shipments", [])],
            "returnItems": [],
            "returnAuthorizations": [],
        }

    @staticmethod
    def head(order: dict[str, Any], head_keys: tuple[str, ...]) -> dict[str, Any]:
        return {k: order[k] for k in head_keys if k in order}

    def list_page(
        self, orders: list[dict[str, Any]], start: float | None, token: str | None
    ) -> tuple[list[dict[str, Any]], str | None] | None:
        """One page of orders changed at or after ``start``; None for a bad token."""
        offset = 0
        if token:
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return None
        chosen = [
            o
            for o in orders
            if start is None or (parse_time(o["statusUpdatedDate"]) or 0.0) >= start
        ]
        chosen.sort(key=lambda o: (o["statusUpdatedDate"], o["sellerFulfillmentOrderId"]))
        page = chosen[offset : offset + LIST_PAGE]
        following = None
        if offset + LIST_PAGE < len(chosen):
            following = base64.urlsafe_b64encode(f"mcf:{offset + LIST_PAGE}".encode()).decode()
        return page, following

    def tracking(self, number: int) -> dict[str, Any] | None:
        """``PackageTrackingDetails`` of a shipped package (events like Amazon's fixture)."""
        package = self.packages.get(number)
        if package is None:
            return None
        address = package["address"]
        where = {
            "city": address.get("city") or "Seattle",
            "state": address.get("stateOrRegion") or "WA",
            "country": address.get("countryCode") or "US",
        }
        ship_date = package["shipDate"]
        return {
            "packageNumber": number,
            "trackingNumber": package["trackingNumber"],
            "carrierCode": package["carrierCode"],
            "shipDate": ship_date,
            "estimatedArrivalDate": package["estimatedArrivalDate"],
            "shipToAddress": where,
            "currentStatus": "IN_TRANSIT",
            "currentStatusDescription": "In transit",
            "trackingEvents": [
                {
                    "eventDate": ship_date,
                    "eventAddress": where,
                    "eventCode": "EVENT_101",
                    "eventDescription": "Carrier notified to pick up package.",
                },
                {
                    "eventDate": ship_date,
                    "eventAddress": where,
                    "eventCode": "EVENT_102",
                    "eventDescription": "Shipment picked up from seller's facility.",
                },
            ],
        }
