"""Get Order Detail answering fewer ids than asked (issue: trust, item 2), in the sandbox.

The TikTok emulator's fault switch (``PUT /_sandbox/settings {"detail_omit": ...}``)
leaves an order out of its next answers; the relay asks again, and an order still missing
is named in the report and read again next run, although the watermark moved on.
"""

from __future__ import annotations

from typing import Any

import pytest
from test_relay_kit import (
    add_orders,
    map_skus,
    order,
    report_by_id,
    reset_stack,
    scenario,
    shop_config,
    store_orders,
)

from sandbox.stack import SandboxStack
from tasks.relay import RelayOutcome
from tasks.steps.orders import run_orders
from tasks.warehouse import open_shop


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    reset_stack(stack, clear_requests=True)
    yield stack
    stack.admin("tiktok", "PUT", "settings", json={"detail_omit": {}, "detail_omit_rate": 0})


_runs = iter(range(1, 10_000))


def relay(shop: Any) -> RelayOutcome:
    """The relay alone: the loop back reads Get Order Detail too (TikTok's shipping view of
    the relayed orders), which would add to the detail calls these tests count."""
    return run_orders(shop, run_id=f"detail-{next(_runs)}", loop_back=False)


def detail_calls(stack: SandboxStack) -> int:
    return int(stack.admin("tiktok", "GET", "requests").get("order.detail", 0))


def test_an_order_left_out_once_is_asked_again_in_the_same_run(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    first, second = add_orders(sandbox, order(("1001001", 1)), order(("1001001", 2)))
    sandbox.admin("tiktok", "PUT", "settings", json={"detail_omit": {second: 1}})

    rows = report_by_id(relay(shop).frame())

    assert (rows[first]["reason"], rows[second]["reason"]) == ("RELAYED", "RELAYED")
    assert store_orders(sandbox, "shopify") == {first: 1, second: 1}
    assert detail_calls(sandbox) == 2  # the batch, then the one id it left out


def test_an_order_detail_never_returns_is_reported_and_read_next_run(
    sandbox, tmp_path, monkeypatch
):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    first, second = add_orders(sandbox, order(("1001001", 1)), order(("1001001", 2)))
    sandbox.admin("tiktok", "PUT", "settings", json={"detail_omit": {second: 2}})

    out = relay(shop)
    rows = report_by_id(out.frame())
    assert rows[first]["reason"] == "RELAYED"
    assert rows[second]["reason"] == "NOT_READY"
    assert rows[second]["warning"] == "DETAIL_MISSING"
    assert out.summary()["warnings"] == {"DETAIL_MISSING": 1}
    assert store_orders(sandbox, "shopify") == {first: 1}

    # The watermark moved past both orders: only the re-read list brings the missing one back.
    with open_shop(shop.id) as con:
        con.execute("UPDATE watermarks SET value = value + INTERVAL 2 HOUR")
    again = report_by_id(relay(shop).frame())
    assert again[second]["reason"] == "RELAYED"
    assert first not in again
    assert store_orders(sandbox, "shopify") == {first: 1, second: 1}
