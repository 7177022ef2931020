"""Verified webhook notices -> Prefect events, de-duplicated and collected per shop.

Both marketplaces deliver at least once and retry for hours (TikTok up to 12 h, Shopify 8
times over 4 h: https://shopify.dev/changelog/updates-to-webhook-retry-mechanism), so a
delivery id seen before is dropped (:class:`DeliveryLog`). Changes of one shop and one kind
are collected for ``window`` seconds (:class:`Coalescer`) and leave as ONE event at the end of
the window: a burst of stock changes becomes one push, and the event is always emitted
after the last change it covers, so a run it starts reads that change.

Events are named ``skubridge.<marketplace>.<object>.<change>`` and carry the resource
``skubridge.shop.<shop id>`` with ``prefect.resource.name`` = the shop id, which the deployment
triggers in prefect.yaml hand to the flow as ``shop: "{{ event.resource.name }}"``. Payloads
hold topics, counts and object ids only: no buyer data.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from connectors.webhooks import MAX_IDS, Notice

log = logging.getLogger(__name__)

# (marketplace, topic) -> event name. Topics not listed are acknowledged and not emitted.
EVENT_NAMES: dict[tuple[str, str], str] = {
    ("tiktok", "ORDER_STATUS_CHANGE"): "skubridge.tiktok.order.changed",
    ("tiktok", "CANCELLATION_STATUS_CHANGE"): "skubridge.tiktok.order.changed",
    ("tiktok", "RECIPIENT_ADDRESS_UPDATE"): "skubridge.tiktok.order.changed",
    ("tiktok", "PRODUCT_INFORMATION_CHANGE"): "skubridge.tiktok.product.changed",
    ("tiktok", "PRODUCT_CREATION"): "skubridge.tiktok.product.changed",
    ("tiktok", "PRODUCT_STATUS_CHANGE"): "skubridge.tiktok.product.changed",
    ("shopify", "inventory_levels/update"): "skubridge.shopify.inventory.changed",
    ("shopify", "products/update"): "skubridge.shopify.product.changed",
    ("shopify", "products/create"): "skubridge.shopify.product.changed",
    ("shopify", "products/delete"): "skubridge.shopify.product.changed",
    ("shopify", "fulfillments/create"): "skubridge.shopify.fulfillment.changed",
    ("shopify", "fulfillments/update"): "skubridge.shopify.fulfillment.changed",
    ("shopify", "orders/fulfilled"): "skubridge.shopify.fulfillment.changed",
    ("shopify", "orders/partially_fulfilled"): "skubridge.shopify.fulfillment.changed",
    ("shopify", "orders/cancelled"): "skubridge.shopify.order.cancelled",
}

Emitter = Callable[..., Any]
"""``prefect.events.emit_event`` or a stand-in with its keyword arguments."""


def event_name(notice: Notice) -> str | None:
    """The Prefect event a notice becomes, or None for a topic skubridge does not act on."""
    return EVENT_NAMES.get((notice.marketplace, notice.topic))


def shop_resource(shop_id: str, marketplace: str) -> dict[str, str]:
    """The event resource naming one shop (the trigger parameters read ``name``)."""
    return {
        "prefect.resource.id": f"skubridge.shop.{shop_id}",
        "prefect.resource.name": shop_id,
        "skubridge.shop": shop_id,
        "skubridge.marketplace": marketplace,
    }


class DeliveryLog:
    """Delivery ids seen in the last ``ttl`` seconds (at most ``capacity``, oldest dropped).

    In memory: a restarted receiver may act on a retried delivery once more, which only
    starts one more idempotent run (pushes and relays are checked against the ledger).
    """

    def __init__(
        self,
        ttl: float = 48 * 3600,
        capacity: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl = ttl
        self.capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[str, float] = OrderedDict()

    def first_time(self, key: str) -> bool:
        """Record ``key``; True when it was not seen within the ttl."""
        now = self._clock()
        while self._seen:
            _, at = next(iter(self._seen.items()))
            if now - at < self.ttl and len(self._seen) < self.capacity:
                break
            self._seen.popitem(last=False)
        if key in self._seen:
            return False
        self._seen[key] = now
        return True


@dataclass
class _Batch:
    event: str
    shop_id: str
    marketplace: str
    topics: dict[str, int] = field(default_factory=dict)
    object_ids: list[str] = field(default_factory=list)
    statuses: set[str] = field(default_factory=set)
    truncated: bool = False

    def add(self, notice: Notice) -> None:
        self.topics[notice.topic] = self.topics.get(notice.topic, 0) + 1
        for object_id in notice.object_ids:
            if object_id in self.object_ids:
                continue
            if len(self.object_ids) >= MAX_IDS:
                self.truncated = True
                break
            self.object_ids.append(object_id)
        if notice.status:
            self.statuses.add(notice.status)

    def payload(self) -> dict[str, Any]:
        return {
            "shop": self.shop_id,
            "deliveries": sum(self.topics.values()),
            "topics": dict(sorted(self.topics.items())),
            "object_ids": list(self.object_ids),
            "object_ids_truncated": self.truncated,
            "statuses": sorted(self.statuses),
        }


class Coalescer:
    """Collects notices per (shop, event) and emits one event per window.

    The window starts with the first notice of a key and is not extended by later ones,
    so a steady stream still produces an event every ``window`` seconds. ``window == 0``
    emits at the next turn of the event loop.
    """

    def __init__(self, emit: Emitter, window: float = 5.0) -> None:
        self.emit = emit
        self.window = window
        self._batches: dict[tuple[str, str], _Batch] = {}
        self._timers: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.emitted = 0

    def add(self, notice: Notice) -> bool:
        """Queue a verified notice; False when its topic is not one skubridge acts on."""
        name = event_name(notice)
        if name is None:
            return False
        key = (notice.shop_id, name)
        batch = self._batches.get(key)
        if batch is None:
            batch = self._batches[key] = _Batch(name, notice.shop_id, notice.marketplace)
            loop = asyncio.get_running_loop()
            self._timers[key] = loop.call_later(self.window, self._flush, key)
        batch.add(notice)
        return True

    @property
    def pending(self) -> int:
        return len(self._batches)

    def flush_all(self) -> None:
        """Emit everything collected so far (on shutdown, and in tests)."""
        for key in list(self._batches):
            self._flush(key)

    def _flush(self, key: tuple[str, str]) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        batch = self._batches.pop(key, None)
        if batch is None:
            return
        try:
            self.emit(
                event=batch.event,
                resource=shop_resource(batch.shop_id, batch.marketplace),
                payload=batch.payload(),
            )
            self.emitted += 1
            log.info(
                "emitted %s for shop '%s' (%d deliveries)",
                batch.event,
                batch.shop_id,
                sum(batch.topics.values()),
            )
        except Exception:  # the polling schedules catch up; never kill the receiver
            log.exception("could not emit %s for shop '%s'", batch.event, batch.shop_id)
