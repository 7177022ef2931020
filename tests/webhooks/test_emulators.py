"""Register the receiver with both emulators, then let them deliver into it.

The emulators (sandbox/tiktok, sandbox/shopify) serve the real subscription endpoints
(TikTok Update Shop Webhook, Shopify ``webhookSubscriptionCreate`` checked against the
vendored 2026-04 Admin schema) and sign their deliveries as the marketplaces do. The
receiver runs on loopback with a zero collection window and a capturing emitter, so a
delivery shows up as one captured event; the test waits for it by polling the list.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from graphql import parse, validate
from typer.testing import CliRunner

from connectors.webhook_subscriptions import SHOPIFY_TOPICS, WEBHOOK_SUBSCRIPTION_CREATE
from sandbox.fixture import Fixture
from sandbox.server import ServerThread
from sandbox.shopify.emulator import DEFAULT_WEBHOOK_SECRET
from sandbox.shopify.schema import admin_schema
from sandbox.stack import SandboxStack
from skubridge.cli import app as cli
from skubridge.config import load_shops
from skubridge.webhooks import create_app, webhook_shops

from .deliveries import Captured

SHOP = "sb-shop"
LOCATION = "gid://shopify/Location/1"
ITEM = "gid://shopify/InventoryItem/40000000001001"
FIXTURE = Fixture.model_validate(
    {
        "tiktok": {
            "products": [
                {"id": "1731000000000000101", "title": "Tee", "skus": [{"seller_sku": "TEE-1"}]}
            ]
        },
        "shopify": {
            "products": [
                {
                    "title": "Tee",
                    "variants": [{"sku": "TEE-1", "price": "9.00", "inventory": {LOCATION: 5}}],
                }
            ]
        },
    }
)


@pytest.fixture
def stack() -> Iterator[SandboxStack]:
    stack = SandboxStack(FIXTURE, throttle=False).start()
    try:
        yield stack
    finally:
        stack.stop()


def shops_file(
    stack: SandboxStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, with_ids: bool
) -> Path:
    for name, value in stack.env().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SB_SHOPIFY_HOOKS", DEFAULT_WEBHOOK_SECRET)
    text = stack.shop_toml(SHOP, "shopify")
    if with_ids:
        shop_id = stack.emulator("tiktok").shop["id"]
        text = text.replace("[shops.tiktok]\n", f'[shops.tiktok]\nshop_id = "{shop_id}"\n')
        text = text.replace(
            "[shops.shopify]\n", '[shops.shopify]\nwebhook_secret = "env:SB_SHOPIFY_HOOKS"\n'
        )
    path = tmp_path / "shops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def register(path: Path, url: str, *extra: str):
    return CliRunner().invoke(
        cli,
        ["webhooks", "register", "--shop", SHOP, "--url", url, "--shops-file", str(path), *extra],
    )


def test_subscription_document_is_valid_against_the_admin_schema() -> None:
    schema = admin_schema()
    assert validate(schema, parse(WEBHOOK_SUBSCRIPTION_CREATE)) == []
    topics = set(schema.type_map["WebhookSubscriptionTopic"].values)
    assert set(SHOPIFY_TOPICS) <= topics


def test_register_is_a_dry_run_unless_applied(
    stack: SandboxStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shops_file(stack, tmp_path, monkeypatch, with_ids=False)
    stack.admin("tiktok", "DELETE", "requests")
    stack.admin("shopify", "DELETE", "requests")
    result = register(path, "https://hooks.example.com")
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert (
        "would subscribe tiktok ORDER_STATUS_CHANGE -> https://hooks.example.com/webhooks/tiktok"
        in lines
    )
    assert (
        "would subscribe shopify INVENTORY_LEVELS_UPDATE -> https://hooks.example.com/webhooks/shopify"
        in lines
    )
    assert sum(line.startswith("would subscribe") for line in lines) == 2 + len(SHOPIFY_TOPICS)
    assert "Dry run" in lines[-1]
    # Nothing reached either marketplace.
    assert stack.admin("tiktok", "GET", "requests") == {}
    assert stack.admin("shopify", "GET", "requests") == {}
    assert stack.emulator("tiktok").webhook_addresses == {}
    assert stack.emulator("shopify").state.webhooks == []


def test_register_subscribes_both_marketplaces_once(
    stack: SandboxStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shops_file(stack, tmp_path, monkeypatch, with_ids=False)
    base = "http://127.0.0.1:9/hooks"
    result = register(path, base, "--apply")
    assert result.exit_code == 0, result.output
    tiktok = stack.emulator("tiktok")
    assert tiktok.webhook_addresses == {
        "ORDER_STATUS_CHANGE": f"{base}/webhooks/tiktok",
        "CANCELLATION_STATUS_CHANGE": f"{base}/webhooks/tiktok",
    }
    subs = {(w.topic, w.uri) for w in stack.emulator("shopify").state.webhooks}
    assert subs == {
        (topic, f"{base}/webhooks/shopify")
        for topic in (
            "inventory_levels/update",
            "products/update",
            "fulfillments/create",
            "fulfillments/update",
            "orders/cancelled",
        )
    }
    counts = stack.admin("shopify", "GET", "requests")
    assert counts.get("webhookSubscriptionCreate") == len(SHOPIFY_TOPICS), counts
    # The TikTok shop id the receiver needs is printed (the shops file has none).
    assert f'tiktok.shop_id = "{tiktok.shop["id"]}"' in result.output
    # Again: TikTok keeps what is there; nothing is subscribed twice.
    stack.admin("tiktok", "DELETE", "requests")
    again = register(path, base, "--apply")
    assert again.exit_code == 0, again.output
    assert "tiktok ORDER_STATUS_CHANGE" in again.output and "already subscribed" in again.output
    puts = {k: v for k, v in stack.admin("tiktok", "GET", "requests").items() if "update" in k}
    assert puts == {}, puts


def _wait_for(events: Captured, count: int) -> None:
    deadline = time.monotonic() + 30
    while len(events) < count and time.monotonic() < deadline:
        time.sleep(0.05)


def test_emulator_deliveries_become_events_for_the_shop(
    stack: SandboxStack, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = shops_file(stack, tmp_path, monkeypatch, with_ids=True)
    events = Captured()
    receiver = ServerThread(create_app(webhook_shops(load_shops(path)), events, window=0))
    receiver.start()
    try:
        result = register(path, receiver.url, "--apply")
        assert result.exit_code == 0, result.output
        # A TikTok order is placed: ORDER_STATUS_CHANGE to the receiver.
        stack.admin(
            "tiktok",
            "POST",
            "orders",
            json={"generate": 1, "seed": 3, "status": "AWAITING_SHIPMENT"},
        )
        _wait_for(events, 1)
        assert events.names() == [("skubridge.tiktok.order.changed", SHOP)]
        (order_id,) = stack.emulator("tiktok").orders
        assert events[0]["payload"]["object_ids"] == [order_id]
        # Store stock changes: inventory_levels/update (and products/update) to the receiver.
        import asyncio

        from connectors.factory import store_client
        from connectors.shopify import InventorySet

        async def set_stock() -> None:
            async with store_client(load_shops(path).get(SHOP), rate_scale=0) as store:
                await store.set_inventory([InventorySet(ITEM, LOCATION, 2, change_from=5)])

        asyncio.run(set_stock())
        _wait_for(events, 2)
        assert ("skubridge.shopify.inventory.changed", SHOP) in events.names()
        inventory = next(e for e in events if e["event"].endswith("inventory.changed"))
        assert inventory["payload"]["object_ids"] == ["40000000001001"]
        deliveries = stack.emulator("shopify").deliveries
        assert deliveries and all(d.status == 200 for d in deliveries)
        tiktok_deliveries = stack.emulator("tiktok").webhooks.deliveries
        assert [d.attempts for d in tiktok_deliveries] == [[200]]
    finally:
        receiver.stop()
