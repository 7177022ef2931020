"""Subscribing a shop's receiver address to the webhook topics skubridge acts on.

TikTok: Update Shop Webhook, ``PUT /event/202309/webhooks`` with ``{"address", "event_type"}``
per topic (https://partner.tiktokshop.com/docv2/page/650aa064defece02be6df919); the address
must be ``https://`` on a domain. Shopify: ``webhookSubscriptionCreate`` per topic with
``webhookSubscription: {uri, format: JSON}`` (``callbackUrl`` is deprecated; schema in
sandbox/shopify/schema/, https://shopify.dev/docs/api/admin-graphql/latest/mutations/webhookSubscriptionCreate).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

TIKTOK_EVENT_TYPES = ("ORDER_STATUS_CHANGE", "CANCELLATION_STATUS_CHANGE")
SHOPIFY_TOPICS = (
    "INVENTORY_LEVELS_UPDATE",
    "PRODUCTS_UPDATE",
    "FULFILLMENTS_CREATE",
    "FULFILLMENTS_UPDATE",
    "ORDERS_CANCELLED",
)

WEBHOOK_SUBSCRIPTION_CREATE = """
mutation webhookSubscriptionCreate($topic: WebhookSubscriptionTopic!, $uri: String!) {
  webhookSubscriptionCreate(
    topic: $topic
    webhookSubscription: {uri: $uri, format: JSON}
  ) {
    webhookSubscription { id topic uri }
    userErrors { field message }
  }
}
"""


@dataclass(frozen=True)
class Subscription:
    """One topic to subscribe, and what happened (``outcome`` None in a dry run)."""

    marketplace: str
    topic: str
    address: str
    outcome: str | None = None
    ok: bool = True


def receiver_address(base_url: str, marketplace: str) -> str:
    """``https://hooks.example.com`` -> ``https://hooks.example.com/webhooks/<marketplace>``."""
    return f"{base_url.rstrip('/')}/webhooks/{marketplace}"


def plan(base_url: str, *, shopify: bool) -> list[Subscription]:
    """Every subscription ``register`` would make for one shop."""
    out = [
        Subscription("tiktok", t, receiver_address(base_url, "tiktok")) for t in TIKTOK_EVENT_TYPES
    ]
    if shopify:
        address = receiver_address(base_url, "shopify")
        out += [Subscription("shopify", t, address) for t in SHOPIFY_TOPICS]
    return out


async def subscribe_tiktok(client: Any, wanted: list[Subscription]) -> list[Subscription]:
    """Subscribe each TikTok topic (an existing one for the same address is kept as is)."""
    existing = {(w.get("event_type"), w.get("address")) for w in await client.webhooks()}
    done = []
    for sub in wanted:
        if (sub.topic, sub.address) in existing:
            done.append(_with(sub, "already subscribed"))
            continue
        await client.update_webhook(sub.topic, sub.address)
        done.append(_with(sub, "subscribed"))
    return done


async def subscribe_shopify(client: Any, wanted: list[Subscription]) -> list[Subscription]:
    """``webhookSubscriptionCreate`` per topic; a userError is reported, not raised."""
    done = []
    for sub in wanted:
        data = await client.execute(
            "webhookSubscriptionCreate",
            WEBHOOK_SUBSCRIPTION_CREATE,
            {"topic": sub.topic, "uri": sub.address},
            idempotent=False,
        )
        result = data.get("webhookSubscriptionCreate") or {}
        errors = result.get("userErrors") or []
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors)
            done.append(_with(sub, f"refused: {message}", ok=False))
        else:
            created = (result.get("webhookSubscription") or {}).get("id")
            done.append(_with(sub, f"subscribed ({created})"))
    return done


def _with(sub: Subscription, outcome: str, *, ok: bool = True) -> Subscription:
    return Subscription(sub.marketplace, sub.topic, sub.address, outcome, ok)
