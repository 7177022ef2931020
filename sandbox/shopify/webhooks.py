"""Signed webhook deliveries of the Shopify emulator
(https://shopify.dev/docs/apps/build/webhooks/verify-deliveries).

A delivery is a POST of REST-shaped JSON with ``X-Shopify-Topic``, ``X-Shopify-Hmac-Sha256``
(base64 HMAC-SHA256 of the raw body keyed with the app's client secret),
``X-Shopify-Shop-Domain``, ``X-Shopify-API-Version``, ``X-Shopify-Webhook-Id``,
``X-Shopify-Event-Id`` and ``X-Shopify-Triggered-At``.

Sources cited by name below:

- webhooks: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from sandbox.shopify.state import now_iso


def sign(body: bytes, secret: str) -> str:
    """The ``X-Shopify-Hmac-Sha256`` value for ``body``."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def verify(body: bytes, signature: str | None, secret: str) -> bool:
    """Whether ``signature`` is the HMAC of the raw ``body`` (constant-time compare, webhooks)."""
    if not signature:
        return False
    return hmac.compare_digest(sign(body, secret), signature)


@dataclass
class Delivery:
    topic: str
    url: str
    body: bytes
    headers: dict[str, str]
    status: int | None = None
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def build(
    topic: str,
    url: str,
    payload: dict[str, Any],
    *,
    secret: str,
    shop_domain: str,
    api_version: str,
) -> Delivery:
    """A signed delivery of ``payload`` for ``topic`` (not sent yet)."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": sign(body, secret),
        "X-Shopify-Shop-Domain": shop_domain,
        "X-Shopify-API-Version": api_version,
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": now_iso(),
    }
    return Delivery(topic, url, body, headers)


async def send(delivery: Delivery, timeout: float = 5.0, delay: float = 0.0) -> None:
    """POST one delivery (5 s budget like Shopify's webhooks) after ``delay`` seconds; the
    outcome is kept on it."""
    if delay > 0:
        await asyncio.sleep(delay)
    try:
        async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
            response = await client.post(
                delivery.url, content=delivery.body, headers=delivery.headers
            )
        delivery.status = response.status_code
    except httpx.HTTPError as exc:
        delivery.error = type(exc).__name__
