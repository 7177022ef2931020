"""Two shops with their own TikTok apps and Shopify stores; signed deliveries for them."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from skubridge.config import load_shops

# Shop A uses the golden vector of TikTok's webhook overview page (app_key "abcdef",
# app_secret "123"), https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview.
GOLDEN_BODY = (
    b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
    b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
    b'"order_status":"UNPAID","update_time":1718305585}}'
)
GOLDEN_SIGNATURE = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
SECRETS = {
    "A_TT_KEY": "abcdef",
    "A_TT_SECRET": "123",
    "A_SHOPIFY_HOOKS": "shpss_secret_of_a",
    "B_TT_KEY": "fake_app_key",
    "B_TT_SECRET": "fake_app_secret",
    "B_SHOPIFY_HOOKS": "shpss_secret_of_b",
    "TOKEN": "not-used",
}
SHOPS = """
[[shops]]
id = "shop-a"
store = "shopify"
[shops.tiktok]
app_key = "env:A_TT_KEY"
app_secret = "env:A_TT_SECRET"
access_token = "env:TOKEN"
shop_id = "7495540735365777507"
[shops.shopify]
shop_domain = "a.myshopify.com"
access_token = "env:TOKEN"
webhook_secret = "env:A_SHOPIFY_HOOKS"

[[shops]]
id = "shop-b"
store = "shopify"
[shops.tiktok]
app_key = "env:B_TT_KEY"
app_secret = "env:B_TT_SECRET"
access_token = "env:TOKEN"
shop_id = "7494726673780148744"
[shops.shopify]
shop_domain = "b.myshopify.com"
access_token = "env:TOKEN"
webhook_secret = "env:B_SHOPIFY_HOOKS"
"""
TIKTOK_IDS = {"shop-a": "7495540735365777507", "shop-b": "7494726673780148744"}
APPS = {"shop-a": ("abcdef", "123"), "shop-b": ("fake_app_key", "fake_app_secret")}
DOMAINS = {"shop-a": "a.myshopify.com", "shop-b": "b.myshopify.com"}
HOOK_SECRETS = {"shop-a": "shpss_secret_of_a", "shop-b": "shpss_secret_of_b"}


def write_shops(path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Write the two-shop file to ``path`` and set the environment its references name."""
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    path.write_text(SHOPS, encoding="utf-8")
    load_shops(path)  # the file itself must be valid
    return path


def tiktok_delivery(
    shop: str, *, notification: str, order_id: str = "576600000000000001", sign_as: str = ""
) -> tuple[bytes, dict[str, str]]:
    """An ORDER_STATUS_CHANGE body for ``shop``, signed with the app of ``sign_as or shop``."""
    body = json.dumps(
        {
            "type": 1,
            "tts_notification_id": notification,
            "shop_id": TIKTOK_IDS[shop],
            "timestamp": 1718305585,
            "data": {"order_id": order_id, "order_status": "AWAITING_SHIPMENT"},
        },
        separators=(",", ":"),
    ).encode()
    key, secret = APPS[sign_as or shop]
    signature = hmac.new(secret.encode(), key.encode() + body, hashlib.sha256).hexdigest()
    return body, {"Authorization": signature, "Content-Type": "application/json"}


def shopify_delivery(
    shop: str,
    topic: str,
    payload: dict[str, Any],
    *,
    webhook_id: str,
    sign_as: str = "",
) -> tuple[bytes, dict[str, str]]:
    """A Shopify delivery of ``topic`` from ``shop``, signed with the secret of ``sign_as``."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    digest = hmac.new(HOOK_SECRETS[sign_as or shop].encode(), body, hashlib.sha256).digest()
    return body, {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
        "X-Shopify-Shop-Domain": DOMAINS[shop],
        "X-Shopify-API-Version": "2026-04",
        "X-Shopify-Webhook-Id": webhook_id,
        "X-Shopify-Event-Id": f"event-{webhook_id}",
        "X-Shopify-Triggered-At": "2026-12-08T01:00:00Z",
    }


class Captured(list):
    """Stands in for prefect.events.emit_event and keeps its keyword arguments."""

    def __call__(self, **kwargs: Any) -> None:
        self.append(kwargs)

    def names(self) -> list[tuple[str, str]]:
        return sorted((e["event"], e["resource"]["prefect.resource.name"]) for e in self)
