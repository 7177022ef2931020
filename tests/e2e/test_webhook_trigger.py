"""End to end on a real Prefect server: webhooks start the triggered relay and push runs.

`prefect server start` (SQLite, temporary PREFECT_HOME), the `skubridge` process pool,
`prefect deploy -n relay-orders` (which creates the deployment trigger of prefect.yaml),
a process worker, and `skubridge webhooks serve` as its own process pointed at the server.
The shop's catalog is mapped first (`skubridge sync --step catalog`), the receiver is
subscribed with `skubridge webhooks register --apply`, then the TikTok emulator places an
order: its ORDER_STATUS_CHANGE webhook reaches the receiver, which emits
`skubridge.tiktok.order.changed`; the trigger starts `relay-orders` for the shop and the
worker relays the order into the Shopify emulator. The store order takes stock, and a
stock edit follows: each ``inventory_levels/update`` starts ``sync-shop`` with a push of what
changed (``steps: [push]``, ``changed_only``), and TikTok's stock follows the store's. No
`deployment run` anywhere.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from bench.scale_infra import wait_answering
from sandbox.fixture import Fixture
from sandbox.shopify.emulator import DEFAULT_WEBHOOK_SECRET
from sandbox.stack import sandbox_stack
from skubridge.cli import app as cli

from .prefect_processes import PrefectEnv, free_port
from .test_prefect_server import _client, _wait_for_final_state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SHOP = "e2e-hooks"
RUN_TIMEOUT = 480
LOCATION = "gid://shopify/Location/1"
ITEM = "gid://shopify/InventoryItem/40000000001001"
FIXTURE = Fixture.model_validate(
    {
        "tiktok": {
            "products": [
                {
                    "id": "1731000000000000201",
                    "title": "Hook Tee",
                    "skus": [{"seller_sku": "HOOK-TEE", "price": "19.00", "inventory": {}}],
                }
            ]
        },
        "shopify": {
            "products": [
                {
                    "title": "Hook Tee",
                    "variants": [
                        {"sku": "HOOK-TEE", "price": "21.00", "inventory": {LOCATION: 50}}
                    ],
                }
            ]
        },
    }
)


def _triggered_runs(client: Any, deployment_id: Any) -> list[Any]:
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId

    return client.read_flow_runs(
        deployment_filter=DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    )


def _wait_for_runs(client: Any, deployment_id: Any, count: int) -> list[Any]:
    deadline = time.monotonic() + RUN_TIMEOUT
    runs = _triggered_runs(client, deployment_id)
    while len(runs) < count and time.monotonic() < deadline:
        time.sleep(2)
        runs = _triggered_runs(client, deployment_id)
    assert len(runs) >= count, f"{len(runs)} triggered run(s), expected {count}"
    return sorted(runs, key=lambda r: r.created)


def _store_stock(stack: Any) -> int:
    (item,) = stack.emulator("shopify").state.items.values()
    return sum(level.available for level in item.levels.values())


def _tiktok_stock(stack: Any) -> int:
    (product,) = stack.emulator("tiktok").snapshot()["products"]
    return sum(product["skus"][0]["inventory"].values())


async def _set_store_stock(shops_file: Path, quantity: int, *, change_from: int) -> None:
    from connectors.factory import store_client
    from connectors.shopify import InventorySet
    from skubridge.config import load_shops

    config = load_shops(shops_file).get(SHOP)
    async with store_client(config, rate_scale=0) as store:
        await store.set_inventory([InventorySet(ITEM, LOCATION, quantity, change_from)])


def test_order_and_stock_webhooks_start_relay_and_push_for_the_shop(
    prefect_server: PrefectEnv, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefect = prefect_server
    with sandbox_stack(FIXTURE, throttle=False) as stack:
        tiktok = stack.emulator("tiktok")
        text = stack.shop_toml(SHOP, "shopify", incremental=True)
        text = text.replace(
            "[shops.tiktok]\n", f'[shops.tiktok]\nshop_id = "{tiktok.shop["id"]}"\n'
        )
        text = text.replace(
            "[shops.shopify]\n", '[shops.shopify]\nwebhook_secret = "env:E2E_SHOPIFY_HOOKS"\n'
        )
        shops_file = tmp_path / "shops.toml"
        shops_file.write_text(text, encoding="utf-8")
        env = {
            **stack.env(),
            "E2E_SHOPIFY_HOOKS": DEFAULT_WEBHOOK_SECRET,
            "SKUBRIDGE_SHOPS_FILE": str(shops_file),
            "SKUBRIDGE_DATA_DIR": str(tmp_path / "data"),
            "SKUBRIDGE_REPORTS_DIR": str(tmp_path / "reports"),
            "SKUBRIDGE_PROJECT_DIR": str(ROOT),
            "PYTHONPATH": str(ROOT),
        }
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        try:
            # Map the catalog first: orders placed before the mapping are historical.
            catalog = subprocess.run(
                [sys.executable, "-m", "skubridge.cli", "sync", "--shop", SHOP, "--step",
                 "catalog"],
                cwd=tmp_path, env=prefect.env(env), capture_output=True, text=True,
                timeout=300, check=False,
            )  # fmt: skip
            assert catalog.returncode == 0, catalog.stdout + catalog.stderr

            for name in ("relay-orders", "sync-shop"):
                prefect.run("--no-prompt", "deploy", "-n", name, cwd=ROOT)
            prefect.start("worker", "worker", "start", "--pool", "skubridge", cwd=tmp_path,
                          more=env)  # fmt: skip
            port = free_port()
            receiver = prefect.spawn(
                "receiver",
                [sys.executable, "-m", "skubridge.cli", "webhooks", "serve", "--port", str(port),
                 "--window", "0.5"],
                cwd=tmp_path, more=env,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            wait_answering(f"{url}/healthz", receiver, 120, what="receiver", interval=0.5)
            registered = CliRunner().invoke(
                cli, ["webhooks", "register", "--shop", SHOP, "--url", url, "--apply"]
            )
            assert registered.exit_code == 0, registered.output

            with _client(prefect.api_url) as client:
                deployment = client.read_deployment_by_name("relay-orders/relay-orders")
                automations = client.read_automations_by_name("relay-orders-on-order-webhook")
                assert automations and automations[0].enabled
                assert _triggered_runs(client, deployment.id) == []

                placed = {"generate": 1, "seed": 5, "status": "AWAITING_SHIPMENT"}
                stack.admin("tiktok", "POST", "orders", json=placed)
                (order_id,) = tiktok.orders
                deadline = time.monotonic() + RUN_TIMEOUT
                runs: list[Any] = []
                while not runs and time.monotonic() < deadline:
                    time.sleep(2)
                    runs = _triggered_runs(client, deployment.id)
                assert runs, "no relay-orders run was triggered by the webhook"
                run = _wait_for_final_state(client, str(runs[0].id), RUN_TIMEOUT)
                assert run.state.is_completed(), f"flow run ended {run.state_name}"
                assert run.parameters == {"shop": SHOP, "dry_run": False}

                delivered = [d.attempts for d in tiktok.webhooks.deliveries]
                assert delivered == [[200]], delivered
                orders = stack.emulator("shopify").state.orders
                assert [o.source_identifier for o in orders] == [order_id]

                # The store order took stock: inventory_levels/update -> push of what changed.
                push = client.read_deployment_by_name("sync-shop/sync-shop")
                first = _wait_for_runs(client, push.id, 1)
                run = _wait_for_final_state(client, str(first[0].id), RUN_TIMEOUT)
                assert run.state.is_completed(), f"push run ended {run.state_name}"
                assert run.parameters["shop"] == SHOP
                assert run.parameters["steps"] == ["push"]
                assert run.parameters["changed_only"] is True
                store_stock = _store_stock(stack)
                assert store_stock < 50 and _tiktok_stock(stack) == store_stock

                # The seller edits the stock in Shopify: the next push carries it to TikTok.
                asyncio.run(_set_store_stock(shops_file, 7, change_from=store_stock))
                _wait_for_runs(client, push.id, 2)
                deadline = time.monotonic() + RUN_TIMEOUT
                while _tiktok_stock(stack) != 7 and time.monotonic() < deadline:
                    time.sleep(1)
                assert _tiktok_stock(stack) == 7
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n\nprocess logs:\n{prefect.logs_text()}") from exc
