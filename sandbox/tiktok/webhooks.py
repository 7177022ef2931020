"""Webhook delivery of the emulator
(https://partner.tiktokshop.com/docv2/page/650512b42f024f02be19755f).

Events are POSTed from a background thread to the registered address with the header
``Authorization: hex(HMAC-SHA256(app_secret, app_key + body))``. A non-200 answer is retried
4 times on the documented schedule (+2 min, +30 min, +3 h, +12 h) multiplied by
``retry_scale`` (default 1e-4: 12 ms, 0.18 s, 1.1 s, 4.3 s) so tests see retries quickly.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.tiktok.signing import webhook_sign

RETRY_DELAYS_S = (120.0, 1800.0, 10800.0, 43200.0)
EVENT_TYPES = {
    "ORDER_STATUS_CHANGE": 1,
    "RECIPIENT_ADDRESS_UPDATE": 3,
    "PACKAGE_UPDATE": 4,
    "PRODUCT_STATUS_CHANGE": 5,
    "SELLER_DEAUTHORIZATION": 6,
    "UPCOMING_AUTHORIZATION_EXPIRATION": 7,
    "CANCELLATION_STATUS_CHANGE": 11,
    "RETURN_STATUS_CHANGE": 12,
    "PRODUCT_INFORMATION_CHANGE": 15,
    "PRODUCT_CREATION": 16,
    "INVENTORY_STATUS_CHANGE": 27,
}


@dataclass
class Delivery:
    """One webhook event and what happened to it."""

    event_type: str
    address: str
    body: bytes
    signature: str
    attempts: list[int | str] = field(default_factory=list)
    delivered: bool = False

    def describe(self) -> dict[str, Any]:
        return {
            "event_type": self.event_type,
            "address": self.address,
            "body": json.loads(self.body),
            "attempts": list(self.attempts),
            "delivered": self.delivered,
        }


class WebhookSender:
    """Queue + worker thread that POSTs signed webhook bodies and retries non-200 answers."""

    def __init__(self, *, retry_scale: float = 1e-4, timeout: float = 3.0) -> None:
        self.retry_scale = retry_scale
        self.timeout = timeout
        self.deliveries: list[Delivery] = []
        self._queue: queue.Queue[Delivery] = queue.Queue()
        self._lock = threading.Condition()
        self._pending = 0
        self._thread: threading.Thread | None = None

    def send(
        self,
        event_type: str,
        address: str,
        envelope: dict[str, Any],
        *,
        app_key: str,
        app_secret: str,
    ) -> Delivery:
        """Queue one event for delivery; returns its delivery record."""
        body = json.dumps(envelope, separators=(",", ":")).encode()
        delivery = Delivery(event_type, address, body, webhook_sign(app_key, app_secret, body))
        with self._lock:
            self.deliveries.append(delivery)
            self._pending += 1
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="tiktok-webhooks", daemon=True
                )
                self._thread.start()
        self._queue.put(delivery)
        return delivery

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued event is delivered or given up (tests use this)."""
        with self._lock:
            return self._lock.wait_for(lambda: self._pending == 0, timeout)

    def _run(self) -> None:
        with httpx.Client(timeout=self.timeout, trust_env=False) as client:
            while True:
                delivery = self._queue.get()
                try:
                    self._deliver(client, delivery)
                finally:
                    with self._lock:
                        self._pending -= 1
                        self._lock.notify_all()

    def _deliver(self, client: httpx.Client, delivery: Delivery) -> None:
        for delay in (0.0, *RETRY_DELAYS_S):
            if delay:
                time.sleep(delay * self.retry_scale)
            try:
                response = client.post(
                    delivery.address,
                    content=delivery.body,
                    headers={
                        "Authorization": delivery.signature,
                        "Content-Type": "application/json",
                    },
                )
                delivery.attempts.append(response.status_code)
                if response.status_code == 200:
                    delivery.delivered = True
                    return
            except httpx.HTTPError as exc:
                delivery.attempts.append(type(exc).__name__)
