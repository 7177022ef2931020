"""Inbound webhooks of both marketplaces: signature checks and the few fields we keep.

TikTok Shop signs ``Authorization: hex(HMAC-SHA256(app_secret, app_key + raw body))`` and
names the shop in the body (``shop_id``); the delivery id is ``tts_notification_id``
(https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview). Shopify signs
``X-Shopify-Hmac-Sha256: base64(HMAC-SHA256(client secret, raw body))`` and names the shop in
``X-Shopify-Shop-Domain``; the delivery id is ``X-Shopify-Webhook-Id``
(https://shopify.dev/docs/apps/build/webhooks/verify-deliveries). Both compare in constant time
(:func:`hmac.compare_digest`, inside the connectors' ``verify_webhook``).

:class:`Notice` is everything the receiver keeps of a delivery: marketplace, shop, topic,
delivery id and the ids of the changed objects. Buyer data (names, addresses, e-mails,
order lines) is never copied out of the body.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from connectors.shopify import verify_webhook as shopify_verify
from connectors.tiktok import verify_webhook as tiktok_verify

MAX_IDS = 500  # ids kept per notice; more than that and the run reads everything anyway

# TikTok's numeric ``type`` -> event_type, as printed on each topic page, e.g.
# https://partner.tiktokshop.com/docv2/page/650300b8a57708028b430b4a (ORDER_STATUS_CHANGE, 1).
TIKTOK_TYPES = {
    1: "ORDER_STATUS_CHANGE",
    3: "RECIPIENT_ADDRESS_UPDATE",
    4: "PACKAGE_UPDATE",
    5: "PRODUCT_STATUS_CHANGE",
    6: "SELLER_DEAUTHORIZATION",
    7: "UPCOMING_AUTHORIZATION_EXPIRATION",
    11: "CANCELLATION_STATUS_CHANGE",
    12: "RETURN_STATUS_CHANGE",
    15: "PRODUCT_INFORMATION_CHANGE",
    16: "PRODUCT_CREATION",
    27: "INVENTORY_STATUS_CHANGE",
}


class WebhookRejected(Exception):
    """A delivery that must not be acted on; ``status`` is the HTTP answer to give."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass(frozen=True)
class Notice:
    """One verified delivery, reduced to what the events need (no buyer data)."""

    marketplace: str  # "tiktok" | "shopify"
    shop_id: str  # the skubridge shop id (shops file)
    topic: str  # TikTok event_type, Shopify REST topic ("inventory_levels/update")
    delivery_id: str
    object_ids: tuple[str, ...] = field(default_factory=tuple)
    status: str | None = None  # TikTok order status, when the topic carries one


@dataclass(frozen=True)
class TikTokApp:
    """One TikTok app's credentials and the shops (TikTok shop id -> skubridge id) it serves."""

    app_key: str
    app_secret: str
    shops: dict[str, str]


def _json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise WebhookRejected(400, "body is not JSON") from None
    if not isinstance(data, dict):
        raise WebhookRejected(400, "body is not a JSON object")
    return data


def _ids(*values: Any) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        if value is None or value == "":
            continue
        text = str(value)  # ids may arrive as numbers beyond 2**53 (json keeps them exact)
        if text not in out:
            out.append(text)
    return tuple(out[:MAX_IDS])


def tiktok_notice(body: bytes, authorization: str | None, apps: list[TikTokApp]) -> Notice:
    """Verify a TikTok delivery against every configured app, then read it.

    The signature is checked before the body is parsed; a body that verifies but names a
    shop the signing app does not serve here is refused as an unknown shop (404).
    """
    if not authorization:
        raise WebhookRejected(401, "no Authorization header")
    signer = next(
        (app for app in apps if tiktok_verify(app.app_key, app.app_secret, body, authorization)),
        None,
    )
    if signer is None:
        raise WebhookRejected(401, "signature does not match any configured TikTok app")
    data = _json(body)
    tiktok_shop = str(data.get("shop_id") or "")
    shop_id = signer.shops.get(tiktok_shop)
    if shop_id is None:
        raise WebhookRejected(404, f"unknown TikTok shop_id {tiktok_shop!r}")
    kind = data.get("type")
    topic = TIKTOK_TYPES.get(kind, f"TYPE_{kind}") if isinstance(kind, int) else str(kind)
    payload = data.get("data") if isinstance(data.get("data"), dict) else {}
    # Older samples have no tts_notification_id (type 3): the body itself is the identity.
    delivery = str(data.get("tts_notification_id") or "") or hashlib.sha256(body).hexdigest()
    objects = _ids(payload.get("order_id"), payload.get("product_id"))
    status = payload.get("order_status") or payload.get("cancel_status")
    return Notice("tiktok", shop_id, topic, delivery, objects, str(status) if status else None)


def _header(headers: dict[str, str], name: str) -> str | None:
    return headers.get(name.lower())


def shopify_notice(
    body: bytes, headers: dict[str, str], shops: dict[str, tuple[str, str | None]]
) -> Notice:
    """Verify a Shopify delivery with the secret of the shop its domain header names.

    ``headers`` have lower-case names; ``shops`` maps shop domain -> (skubridge shop id,
    webhook secret or None when the shops file has none).
    """
    domain = (_header(headers, "X-Shopify-Shop-Domain") or "").lower()
    if domain not in shops:
        raise WebhookRejected(404, f"unknown Shopify shop domain {domain!r}")
    shop_id, secret = shops[domain]
    if not secret:
        raise WebhookRejected(401, f"shop '{shop_id}' has no shopify.webhook_secret configured")
    if not shopify_verify(body, _header(headers, "X-Shopify-Hmac-Sha256"), secret):
        raise WebhookRejected(401, f"signature does not match shop '{shop_id}'")
    topic = (_header(headers, "X-Shopify-Topic") or "").lower()
    delivery = _header(headers, "X-Shopify-Webhook-Id") or _header(headers, "X-Shopify-Event-Id")
    if not topic or not delivery:
        raise WebhookRejected(400, "X-Shopify-Topic or X-Shopify-Webhook-Id missing")
    data = _json(body)
    if topic.startswith("inventory_levels/"):
        objects = _ids(data.get("inventory_item_id"))
    elif topic.startswith("products/"):
        objects = _ids(data.get("id"))
    elif topic.startswith("fulfillments/"):
        objects = _ids(data.get("order_id"))
    else:
        objects = _ids(data.get("id"))
    return Notice("shopify", shop_id, topic, delivery, objects)
