"""Exactly once under faults: server errors, throttling, answers lost after commit, and the
relay process killed with SIGKILL in the middle of a run; two reruns finish the job."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_relay_kit import SKUS, map_skus, scenario, shop_config, store_orders

from sandbox.stack import sandbox_stack
from tasks.steps.orders import run_orders
from tasks.warehouse import open_shop

REPO = Path(__file__).resolve().parents[2]
FAULTS = {
    "seed": 11,
    "error_rate": 0.05,
    "drop_after_commit_rate": 0.02,
    "latency_ms": 60,
    "jitter_ms": 40,
}
KILLED_RUN = (
    "import sys\n"
    "from skubridge.config import load_shops\n"
    "from tasks.steps.orders import run_orders\n"
    "shop = load_shops().get(sys.argv[1])\n"
    "run_orders(shop, run_id='killed', pending_grace_s=0,"
    " client_kwargs={'rate_scale': float(sys.argv[2])})\n"
)


def eligible(stack, store: str) -> set[str]:
    """Orders that must end up in the store: seller-shipped, shippable, every line relayable."""
    mfn = {sku for sku, (_, _, f) in SKUS.items() if f == "MFN"} if store == "amazon" else set()
    return {
        o["id"]
        for o in stack.emulator("tiktok").snapshot()["orders"]
        if o["status"] == "AWAITING_SHIPMENT" and not {li["sku_id"] for li in o["line_items"]} & mfn
    }


@pytest.mark.slow
@pytest.mark.parametrize("store", ["shopify", "amazon"])
def test_exactly_once_through_faults_and_sigkill(store, tmp_path, monkeypatch, data_dirs):
    # Amazon's server limit is scaled up to keep the test short; the client is allowed 1.5x
    # the server's rate so that it runs into 429 QuotaExceeded and has to back off.
    server_scale, client_scale = (5.0, 7.5) if store == "amazon" else (1.0, 1.0)
    with sandbox_stack(scenario(), rate_scale=server_scale) as stack:
        shop = shop_config(stack, tmp_path, store, monkeypatch)
        map_skus(shop, list(SKUS))
        stack.admin("tiktok", "POST", "orders", json={"generate": 60, "seed": 5, "max_lines": 2})
        wanted = eligible(stack, store)
        assert len(wanted) >= 30
        stack.admin(store, "PUT", "faults", json=FAULTS)
        if store == "shopify":
            stack.admin("shopify", "PUT", "throttle", json={"force": 4})

        proc = subprocess.Popen(
            [sys.executable, "-c", KILLED_RUN, shop.id, str(client_scale)],
            cwd=REPO,
            env=dict(os.environ),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 120
        while len(store_orders(stack, store)) < 8:
            assert proc.poll() is None, "the relay finished before it could be killed"
            assert time.monotonic() < deadline, "the relay created no orders"
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
        created_before_kill = store_orders(stack, store)
        assert 8 <= len(created_before_kill) < len(wanted)

        if store == "shopify":
            stack.admin("shopify", "PUT", "throttle", json={"force": 4})
        first = run_orders(
            shop, run_id="rerun-1", pending_grace_s=0, client_kwargs={"rate_scale": client_scale}
        )
        stack.admin(store, "PUT", "faults", json={})
        second = run_orders(
            shop, run_id="rerun-2", pending_grace_s=0, client_kwargs={"rate_scale": client_scale}
        )
        counts = store_orders(stack, store)

    assert set(counts) == wanted, "every eligible order is in the store, no other"
    assert set(counts.values()) == {1}, "and each exactly once"
    assert second.counts().get("RELAYED", 0) + second.counts()["ALREADY_RELAYED"] >= len(wanted)
    assert first.counts().get("RELAYED", 0) > 0
    with open_shop(shop.id) as con:
        relayed = dict(
            con.execute(
                "SELECT tiktok_order_id, store_order_id FROM order_ledger WHERE state = 'RELAYED'"
            ).fetchall()
        )
    assert set(relayed) == wanted
    assert all(relayed.values())
