"""The webhook receiver: signatures, shops, replays, coalescing and the events it emits.

Requests go through Starlette's TestClient; events are captured by handing the app a
stand-in for ``prefect.events.emit_event``. The coalescing window is an hour so nothing is
emitted until the app shuts down (``flush_all`` in its lifespan): tests count events,
never time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from connectors.webhooks import TikTokApp, WebhookRejected, tiktok_notice
from skubridge.config import load_shops
from skubridge.webhooks import create_app, webhook_shops

from .deliveries import (
    GOLDEN_BODY,
    GOLDEN_SIGNATURE,
    Captured,
    shopify_delivery,
    tiktok_delivery,
)

HOUR = 3600.0


def receiver(shops_file: Path, events: Captured) -> TestClient:
    return TestClient(create_app(webhook_shops(load_shops(shops_file)), events, window=HOUR))


def test_tiktok_golden_vector_becomes_one_order_event_for_its_shop(shops_file: Path) -> None:
    events = Captured()
    with receiver(shops_file, events) as client:
        answer = client.post(
            "/webhooks/tiktok",
            content=GOLDEN_BODY,
            headers={"Authorization": GOLDEN_SIGNATURE, "Content-Type": "application/json"},
        )
        assert answer.status_code == 200 and answer.content == b""  # 200, empty body
        assert events == []  # collected, not yet emitted
    assert len(events) == 1
    (event,) = events
    assert event["event"] == "skubridge.tiktok.order.changed"
    assert event["resource"] == {
        "prefect.resource.id": "skubridge.shop.shop-a",
        "prefect.resource.name": "shop-a",
        "skubridge.shop": "shop-a",
        "skubridge.marketplace": "tiktok",
    }
    assert event["payload"]["object_ids"] == ["576653688135258178"]
    assert event["payload"]["statuses"] == ["UNPAID"]
    assert event["payload"]["topics"] == {"ORDER_STATUS_CHANGE": 1}


def test_bad_signature_is_401_logged_without_body_and_emits_nothing(
    shops_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    events = Captured()
    body, headers = tiktok_delivery("shop-a", notification="n-1", order_id="576611112222333344")
    tampered = body.replace(b"AWAITING_SHIPMENT", b"CANCELLED")
    shop_body, shop_headers = shopify_delivery(
        "shop-a", "orders/cancelled", {"id": 1, "email": "buyer@example.com"}, webhook_id="w-1"
    )
    shop_headers["X-Shopify-Hmac-Sha256"] = "AAAA" + shop_headers["X-Shopify-Hmac-Sha256"][4:]
    caplog.set_level(logging.INFO)
    with receiver(shops_file, events) as client:
        assert client.post("/webhooks/tiktok", content=tampered, headers=headers).status_code == 401
        assert client.post("/webhooks/tiktok", content=body).status_code == 401  # no header
        answer = client.post("/webhooks/shopify", content=shop_body, headers=shop_headers)
        assert answer.status_code == 401
        assert client.get("/healthz").json()["rejected_401"] == 3
    assert events == []
    logged = caplog.text
    assert "signature" in logged
    for secret in ("576611112222333344", "buyer@example.com", headers["Authorization"]):
        assert secret not in logged


def test_replayed_delivery_is_acknowledged_and_dropped(shops_file: Path) -> None:
    events = Captured()
    body, headers = tiktok_delivery("shop-b", notification="n-7", order_id="576600000000000007")
    shop_body, shop_headers = shopify_delivery(
        "shop-b", "inventory_levels/update", {"inventory_item_id": 42}, webhook_id="w-7"
    )
    with receiver(shops_file, events) as client:
        for _ in range(3):  # the marketplaces retry with the same delivery id
            assert client.post("/webhooks/tiktok", content=body, headers=headers).status_code == 200
            answer = client.post("/webhooks/shopify", content=shop_body, headers=shop_headers)
            assert answer.status_code == 200
        health = client.get("/healthz").json()
        assert health["accepted"] == 2 and health["duplicates"] == 4
    assert events.names() == [
        ("skubridge.shopify.inventory.changed", "shop-b"),
        ("skubridge.tiktok.order.changed", "shop-b"),
    ]
    assert all(e["payload"]["deliveries"] == 1 for e in events)


def test_same_delivery_id_from_another_shop_is_not_a_replay(shops_file: Path) -> None:
    events = Captured()
    with receiver(shops_file, events) as client:
        for shop in ("shop-a", "shop-b"):
            body, headers = shopify_delivery(
                shop, "products/update", {"id": 9}, webhook_id="same-id"
            )
            assert (
                client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
            )
    assert events.names() == [
        ("skubridge.shopify.product.changed", "shop-a"),
        ("skubridge.shopify.product.changed", "shop-b"),
    ]


def test_wrong_shop_and_unknown_shop_are_refused(shops_file: Path) -> None:
    events = Captured()
    # Shop B's TikTok app signing a body that names shop A: B's app does not serve shop A.
    cross_body, cross_headers = tiktok_delivery("shop-a", notification="n-x", sign_as="shop-b")
    # Shopify: the domain header says shop B, the HMAC is shop A's.
    sb, sh = shopify_delivery(
        "shop-b", "products/update", {"id": 1}, webhook_id="w-x", sign_as="shop-a"
    )
    # A store nobody configured.
    ub, uh = shopify_delivery("shop-a", "products/update", {"id": 1}, webhook_id="w-u")
    uh["X-Shopify-Shop-Domain"] = "stranger.myshopify.com"
    with receiver(shops_file, events) as client:
        answer = client.post("/webhooks/tiktok", content=cross_body, headers=cross_headers)
        assert answer.status_code == 404
        assert client.post("/webhooks/shopify", content=sb, headers=sh).status_code == 401
        assert client.post("/webhooks/shopify", content=ub, headers=uh).status_code == 404
    assert events == []
    # The same refusal straight from the verifier, with the reason.
    key, secret = "fake_app_key", "fake_app_secret"
    with pytest.raises(WebhookRejected, match="unknown TikTok shop_id '7495540735365777507'"):
        tiktok_notice(
            cross_body,
            cross_headers["Authorization"],
            [TikTokApp(key, secret, {"7494726673780148744": "shop-b"})],
        )


def test_changes_of_one_shop_are_collected_into_one_event_per_kind(shops_file: Path) -> None:
    events = Captured()
    with receiver(shops_file, events) as client:
        for n, item in enumerate((101, 102, 101)):
            body, headers = shopify_delivery(
                "shop-a",
                "inventory_levels/update",
                {"inventory_item_id": item, "location_id": 1, "available": n},
                webhook_id=f"inv-{n}",
            )
            assert (
                client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
            )
        body, headers = shopify_delivery(
            "shop-a",
            "fulfillments/create",
            {"id": 5, "order_id": 820982911946154500},
            webhook_id="ful-1",
        )
        assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
        body, headers = shopify_delivery(
            "shop-b", "inventory_levels/update", {"inventory_item_id": 900}, webhook_id="inv-b"
        )
        assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
        assert client.get("/healthz").json()["pending_events"] == 3
    assert events.names() == [
        ("skubridge.shopify.fulfillment.changed", "shop-a"),
        ("skubridge.shopify.inventory.changed", "shop-a"),
        ("skubridge.shopify.inventory.changed", "shop-b"),
    ]
    inventory = next(
        e
        for e in events
        if e["event"] == "skubridge.shopify.inventory.changed"
        and e["resource"]["skubridge.shop"] == "shop-a"
    )
    assert inventory["payload"]["deliveries"] == 3
    assert inventory["payload"]["object_ids"] == ["101", "102"]
    fulfilment = next(e for e in events if e["event"].endswith("fulfillment.changed"))
    assert fulfilment["payload"]["object_ids"] == ["820982911946154500"]  # exact, not a float


def test_buyer_data_never_reaches_the_event(shops_file: Path) -> None:
    events = Captured()
    order = {
        "id": 450789469,
        "email": "bob.norman@example.com",
        "customer": {"first_name": "Bob", "last_name": "Norman"},
        "shipping_address": {"address1": "Chestnut Street 92", "phone": "+1-555-0100"},
        "line_items": [{"sku": "TEE-S", "quantity": 1}],
        "cancel_reason": "customer",
    }
    body, headers = shopify_delivery("shop-a", "orders/cancelled", order, webhook_id="c-1")
    with receiver(shops_file, events) as client:
        assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
    (event,) = events
    assert event["event"] == "skubridge.shopify.order.cancelled"
    text = json.dumps(event)
    for private in ("bob.norman", "Norman", "Chestnut", "555-0100", "TEE-S"):
        assert private not in text
    assert event["payload"]["object_ids"] == ["450789469"]


def test_topics_skubridge_does_not_act_on_are_acknowledged_without_event(
    shops_file: Path,
) -> None:
    events = Captured()
    body, headers = shopify_delivery("shop-a", "orders/create", {"id": 1}, webhook_id="o-1")
    with receiver(shops_file, events) as client:
        assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 200
        assert client.get("/healthz").json()["ignored_topic"] == 1
    assert events == []


def test_oversized_and_non_json_bodies_are_refused(shops_file: Path) -> None:
    events = Captured()
    _, headers = tiktok_delivery("shop-a", notification="n-big")
    with receiver(shops_file, events) as client:
        big = b"x" * (2 * 1024 * 1024 + 1)
        assert client.post("/webhooks/tiktok", content=big, headers=headers).status_code == 413
        _, nh = shopify_delivery("shop-a", "products/update", {"id": 1}, webhook_id="j-1")
        junk = b"not json"
        nh["X-Shopify-Hmac-Sha256"] = base64.b64encode(
            hmac.new(b"shpss_secret_of_a", junk, hashlib.sha256).digest()
        ).decode()
        assert client.post("/webhooks/shopify", content=junk, headers=nh).status_code == 400
    assert events == []


def test_shop_without_secrets_is_warned_about_and_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, shops_file: Path
) -> None:
    text = shops_file.read_text(encoding="utf-8")
    text = text.replace('shop_id = "7494726673780148744"\n', "").replace(
        'webhook_secret = "env:B_SHOPIFY_HOOKS"\n', ""
    )
    path = tmp_path / "partial.toml"
    path.write_text(text, encoding="utf-8")
    served = webhook_shops(load_shops(path))
    assert any("shop 'shop-b': no tiktok.shop_id" in w for w in served.warnings)
    assert any("shop 'shop-b': no shopify.webhook_secret" in w for w in served.warnings)
    events = Captured()
    with TestClient(create_app(served, events, window=HOUR)) as client:
        body, headers = tiktok_delivery("shop-b", notification="n-b")
        assert client.post("/webhooks/tiktok", content=body, headers=headers).status_code == 401
        body, headers = shopify_delivery("shop-b", "products/update", {"id": 1}, webhook_id="p")
        assert client.post("/webhooks/shopify", content=body, headers=headers).status_code == 401
    assert events == []


def test_captured_events_are_valid_prefect_events(shops_file: Path) -> None:
    from prefect.events import Event

    events = Captured()
    with receiver(shops_file, events) as client:
        client.post("/webhooks/tiktok", content=GOLDEN_BODY, headers={
            "Authorization": GOLDEN_SIGNATURE})  # fmt: skip
    (kwargs,) = events
    event = Event(**kwargs)  # what emit_event builds from the same arguments
    assert event.resource.id == "skubridge.shop.shop-a"
    assert event.resource.name == "shop-a"


def test_delivery_log_forgets_after_its_ttl_and_beyond_its_capacity() -> None:
    from tasks.events import DeliveryLog

    now = [0.0]
    log = DeliveryLog(ttl=100, capacity=3, clock=lambda: now[0])
    assert log.first_time("a") and not log.first_time("a")
    now[0] = 99
    assert not log.first_time("a")  # still inside the ttl (seen at 0)
    now[0] = 100
    assert log.first_time("a")  # expired, seen again at 100
    for key in ("b", "c", "d"):  # a fourth key pushes out the oldest ("a")
        assert log.first_time(key)
    assert log.first_time("a")
    assert not log.first_time("d")
