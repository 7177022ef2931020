"""Order relay against the sandbox emulators: one test per case of the relay rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from test_relay_kit import (
    add_orders,
    map_skus,
    order,
    report_by_id,
    reset_stack,
    scenario,
    set_status,
    shop_config,
    store_orders,
)

from connectors.errors import TransientError
from sandbox.stack import SandboxStack
from tasks.relay import RelayOutcome, summary_lines
from tasks.relay_ledger import get_watermark
from tasks.steps.orders import run_orders
from tasks.warehouse import open_shop


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    reset_stack(stack, clear_requests=True)
    return stack


_runs = iter(range(1, 10_000))


def relay(shop, **kwargs: Any) -> RelayOutcome:
    return run_orders(shop, run_id=f"run-{next(_runs)}", **kwargs)


def ledger(shop) -> dict[str, dict[str, Any]]:
    with open_shop(shop.id) as con:
        cur = con.execute("SELECT * FROM order_ledger")
        cols = [d[0] for d in cur.description]
        return {r[0]: dict(zip(cols, r, strict=True)) for r in cur.fetchall()}


def test_shopify_order_with_multi_unit_lines(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 2), ("1001002", 1)))

    out = relay(shop)

    row = report_by_id(out.frame())[oid]
    assert row["reason"] == "RELAYED"
    assert row["status"] == "AWAITING_SHIPMENT"
    assert row["lines"] == "TEE-S x2; TEE-M x1"
    assert row["store_order_id"].startswith("gid://shopify/Order/")
    snap = sandbox.emulator("shopify").snapshot()
    [created] = snap["orders"]
    assert created["source_identifier"] == oid
    assert {"TikTok Shop", "skubridge", f"tiktok-{oid}"} <= set(created["tags"])
    assert created["inventory_behaviour"] == "DECREMENT_IGNORING_POLICY"
    lines = {(ln["variant_id"], ln["quantity"], Decimal(ln["price"])) for ln in created["lines"]}
    assert lines == {
        ("gid://shopify/ProductVariant/11", 2, Decimal("10.00")),
        ("gid://shopify/ProductVariant/12", 1, Decimal("12.50")),
    }
    assert created["currency"] == "USD"
    tiktok = next(o for o in sandbox.emulator("tiktok").snapshot()["orders"] if o["id"] == oid)
    assert created["shipping_address"]["firstName"] == tiktok["recipient"]["first_name"]
    stock = {
        v["id"]: v
        for p in snap["products"]
        for v in p["variants"]
        if v["id"].endswith(("/11", "/12"))
    }
    assert "4998" in json.dumps(stock["gid://shopify/ProductVariant/11"])

    ledger_row = ledger(shop)[oid]
    assert ledger_row["state"] == "RELAYED"
    assert ledger_row["store_request_id"] == oid
    assert json.loads(ledger_row["lines"]) == [
        {"sku_id": "1001001", "seller_sku": "TEE-S", "quantity": 2},
        {"sku_id": "1001002", "seller_sku": "TEE-M", "quantity": 1},
    ]

    again = relay(shop)
    assert report_by_id(again.frame())[oid]["reason"] == "ALREADY_RELAYED"
    assert store_orders(sandbox, "shopify") == {oid: 1}
    assert sandbox.admin("shopify", "GET", "requests")["orderCreate"] == 1


def test_single_cancelled_line_items_are_not_relayed(sandbox, tmp_path, monkeypatch):
    """US/UK orders can lose single units (line_items[].display_status CANCELLED with
    cancel_user, TikTok SDK model GetOrderDetailResponseDataOrdersLineItems): only live
    units are relayed; a SKU whose every unit was cancelled is not in the store order."""
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 3), ("1001002", 1)))
    sandbox.admin("tiktok", "POST", f"orders/{oid}/lines/cancel", json={"sku_id": "1001001"})
    sandbox.admin("tiktok", "POST", f"orders/{oid}/lines/cancel", json={"sku_id": "1001002"})

    out = relay(shop)

    row = report_by_id(out.frame())[oid]
    assert (row["reason"], row["lines"]) == ("RELAYED", "TEE-S x2")
    [created] = sandbox.emulator("shopify").snapshot()["orders"]
    assert [(ln["variant_id"], ln["quantity"]) for ln in created["lines"]] == [
        ("gid://shopify/ProductVariant/11", 2)
    ]


def test_state_name_reaches_the_store_as_iso_code(sandbox, tmp_path, monkeypatch):
    """TikTok names the state in district_info (L1, e.g. "Illinois"); Shopify's
    MailingAddressInput takes ``provinceCode`` (ISO 3166-2 part, "IL"). A name that does not
    convert is still sent as the name and the order report says so."""
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [good] = add_orders(sandbox, order(("1001001", 1), recipient={"state": "Illinois"}))
    [odd] = add_orders(sandbox, order(("1001001", 1), recipient={"state": "Atlantis"}))

    out = relay(shop)

    rows = report_by_id(out.frame())
    assert rows[good]["reason"] == "RELAYED"
    assert not isinstance(rows[good]["warning"], str)  # no warning (NaN in the frame)
    assert rows[odd]["reason"] == "RELAYED" and "REGION_UNCONVERTED" in rows[odd]["warning"]
    created = {o["source_identifier"]: o for o in sandbox.emulator("shopify").snapshot()["orders"]}
    assert created[good]["shipping_address"]["provinceCode"] == "IL"
    assert created[good]["shipping_address"]["countryCode"] == "US"
    assert "provinceCode" not in created[odd]["shipping_address"]
    assert created[odd]["shipping_address"]["province"] == "Atlantis"


def test_amazon_fba_order_becomes_mcf_order(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 3), ("1001002", 1)))

    out = relay(shop)

    row = report_by_id(out.frame())[oid]
    assert row["reason"] == "RELAYED"
    assert row["store_order_id"] == f"TTS-{oid}"
    [mcf] = sandbox.emulator("amazon").snapshot()["mcf_orders"]
    assert mcf["sellerFulfillmentOrderId"] == f"TTS-{oid}"
    assert mcf["displayableOrderId"] == oid
    assert mcf["shippingSpeedCategory"] == "Standard"
    assert sorted((i["sellerSku"], i["quantity"]) for i in mcf["items"]) == [
        ("TEE-M", 1),
        ("TEE-S", 3),
    ]
    tiktok = next(o for o in sandbox.emulator("tiktok").snapshot()["orders"] if o["id"] == oid)
    assert mcf["destinationAddress"]["name"] == (
        f"{tiktok['recipient']['first_name']} {tiktok['recipient']['last_name']}"
    )
    assert ledger(shop)[oid]["store_request_id"] == f"TTS-{oid}"
    relay(shop)
    assert store_orders(sandbox, "amazon") == {oid: 1}


def test_masked_buyer_is_relayed_with_warning_and_advice(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1), shipping_type="TIKTOK"))

    out = relay(shop)

    row = report_by_id(out.frame())[oid]
    assert (row["reason"], row["warning"]) == ("RELAYED", "MASKED_BUYER")
    assert out.warnings() == {"MASKED_BUYER": 1}
    assert any("Seller Shipping" in line for line in summary_lines(out))
    assert store_orders(sandbox, "shopify") == {oid: 1}
    assert ledger(shop)[oid]["warning"] == "MASKED_BUYER"


def test_unmapped_line_waits_then_relays_once_mapped(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1), ("1003001", 2)))

    first = report_by_id(relay(shop).frame())[oid]
    assert first["reason"] == "UNMAPPED_LINE"
    assert first["warning"] == "unmapped: CAP-1"
    assert store_orders(sandbox, "shopify") == {}
    assert ledger(shop)[oid]["state"] == "WAITING"

    # Mapped after the order was placed: still relayed, the seller was told it would be.
    map_skus(shop, ["1003001"], mapped_at=datetime.now(UTC))
    with open_shop(shop.id) as con:  # push the watermark past the order: re-read by id
        con.execute("UPDATE watermarks SET value = value + INTERVAL 2 HOUR")
    second = report_by_id(relay(shop).frame())[oid]
    assert second["reason"] == "RELAYED"
    assert store_orders(sandbox, "shopify") == {oid: 1}


def test_order_before_mapping_is_historical(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"], mapped_at=datetime.now(UTC) - timedelta(hours=1))
    placed = int((datetime.now(UTC) - timedelta(hours=3)).timestamp())
    [old] = add_orders(sandbox, order(("1001001", 1), create_time=placed))
    [new] = add_orders(sandbox, order(("1001001", 1)))

    rows = report_by_id(relay(shop).frame())

    assert rows[old]["reason"] == "BEFORE_MAPPING"
    assert rows[new]["reason"] == "RELAYED"
    assert store_orders(sandbox, "shopify") == {new: 1}
    assert ledger(shop)[old]["state"] == "SKIPPED"
    # closed: not read again once the watermark has passed its last update
    assert old not in report_by_id(relay(shop).frame())
    assert store_orders(sandbox, "shopify") == {new: 1}


def test_on_hold_order_relayed_after_release(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1), status="ON_HOLD"))

    first = report_by_id(relay(shop).frame())[oid]
    assert (first["status"], first["reason"]) == ("ON_HOLD", "NOT_READY")
    assert store_orders(sandbox, "shopify") == {}

    set_status(sandbox, oid, "AWAITING_SHIPMENT")
    second = report_by_id(relay(shop).frame())[oid]
    assert (second["status"], second["reason"]) == ("AWAITING_SHIPMENT", "RELAYED")
    assert store_orders(sandbox, "shopify") == {oid: 1}


def test_cancelled_orders_are_not_relayed(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    held, ready = add_orders(sandbox, order(("1001001", 1), status="UNPAID"), order(("1001001", 1)))
    set_status(sandbox, ready, "CANCELLED")  # cancelled before the relay ever saw it

    first = report_by_id(relay(shop).frame())
    assert (first[held]["reason"], first[ready]["status"]) == ("NOT_READY", "CANCELLED")
    assert first[ready]["reason"] == "CANCELLED"

    set_status(sandbox, held, "CANCELLED")
    second = report_by_id(relay(shop).frame())
    assert (second[held]["status"], second[held]["reason"]) == ("CANCELLED", "CANCELLED")
    assert store_orders(sandbox, "shopify") == {}
    assert {r["state"] for r in ledger(shop).values()} == {"SKIPPED"}


def test_cancelled_after_relay_is_flagged_not_undone(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    assert report_by_id(relay(shop).frame())[oid]["reason"] == "RELAYED"

    set_status(sandbox, oid, "CANCELLED")
    out = relay(shop)
    row = report_by_id(out.frame())[oid]
    assert (row["status"], row["reason"]) == ("CANCELLED", "ALREADY_RELAYED")
    assert row["warning"] == "CANCELLED_AFTER_RELAY"
    assert any("cancel the store order" in line for line in summary_lines(out))
    assert store_orders(sandbox, "shopify") == {oid: 1}


def test_mixed_fba_mfn_order_is_not_relayed_to_amazon(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001", "1002001"])
    mixed, mfn, fba = add_orders(
        sandbox,
        order(("1001001", 1), ("1002001", 1)),
        order(("1002001", 2)),
        order(("1001001", 1)),
    )

    rows = report_by_id(relay(shop).frame())

    assert rows[mixed]["reason"] == "NOT_FBA"
    assert rows[mixed]["warning"] == "not FBA: MUG-1"
    assert rows[mfn]["reason"] == "NOT_FBA"
    assert rows[fba]["reason"] == "RELAYED"
    assert store_orders(sandbox, "amazon") == {fba: 1}
    assert ledger(shop)[mixed]["state"] == "SKIPPED"


def test_store_rejection_is_reported_and_retried(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    with open_shop(shop.id) as con:  # a stale mapping: the variant no longer exists
        con.execute("UPDATE mappings SET store_variant_id = 'gid://shopify/ProductVariant/999'")
    [oid] = add_orders(sandbox, order(("1001001", 1)))

    row = report_by_id(relay(shop).frame())[oid]
    assert row["reason"] == "STORE_REJECTED"
    assert "orderCreate" in row["warning"] and "invalid" in row["warning"].lower()
    entry = ledger(shop)[oid]
    assert (entry["state"], entry["attempts"]) == ("FAILED", 1)

    map_skus(shop, ["1001001"])
    assert report_by_id(relay(shop).frame())[oid]["reason"] == "RELAYED"
    assert ledger(shop)[oid]["attempts"] == 2
    assert store_orders(sandbox, "shopify") == {oid: 1}


def test_lost_answer_is_looked_up_not_recreated(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    sandbox.admin(
        "shopify",
        "PUT",
        "faults",
        json={"drop_after_commit_rate": 1.0, "writes_only": True, "operations": ["orderCreate"]},
    )

    row = report_by_id(relay(shop).frame())[oid]

    assert row["reason"] == "RELAYED"  # found by find_order right after the lost answer
    assert store_orders(sandbox, "shopify") == {oid: 1}
    assert sandbox.admin("shopify", "GET", "requests")["orderCreate"] == 1


def test_young_pending_row_is_not_recreated_while_search_may_lag(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    now = datetime.now(UTC)
    with open_shop(shop.id) as con:  # a run died between its PENDING claim and the create
        con.execute(
            "INSERT INTO order_ledger (tiktok_order_id, state, store_request_id, attempts,"
            " first_seen_at, updated_at, attempted_at) VALUES (?, 'PENDING', ?, 1, ?, ?, ?)",
            [oid, oid, now, now, now],
        )

    row = report_by_id(relay(shop, pending_grace_s=300).frame())[oid]
    assert (row["reason"], row["warning"]) == ("NOT_READY", "OUTCOME_UNKNOWN")
    assert store_orders(sandbox, "shopify") == {}
    assert ledger(shop)[oid]["state"] == "PENDING"

    row = report_by_id(relay(shop, pending_grace_s=0).frame())[oid]
    assert row["reason"] == "RELAYED"
    assert store_orders(sandbox, "shopify") == {oid: 1}
    assert ledger(shop)[oid]["attempts"] == 2


def test_dry_run_writes_nothing(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))

    out = relay(shop, dry_run=True)

    row = report_by_id(out.frame())[oid]
    assert (row["reason"], row["warning"]) == ("RELAYED", "DRY_RUN")
    assert store_orders(sandbox, "amazon") == {}
    assert ledger(shop) == {}
    with open_shop(shop.id) as con:
        assert get_watermark(con) is None


def test_watermark_advances_only_after_a_complete_run(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    add_orders(sandbox, order(("1001001", 1)))
    first = relay(shop)
    with open_shop(shop.id) as con:
        mark = get_watermark(con)
    assert mark is not None and mark == first.watermark
    assert first.window[1] - mark == timedelta(seconds=1)
    assert (
        timedelta(hours=72) <= first.window[1] - first.window[0] <= timedelta(hours=72, seconds=1)
    )

    sandbox.admin(
        "tiktok", "PUT", "faults", json={"error_rate": 1.0, "operations": ["order.detail"]}
    )
    add_orders(sandbox, order(("1001001", 1)))
    with pytest.raises(TransientError):
        run_orders(
            shop,
            run_id="failing",
            client_kwargs={"retry": _quick_retry()},
        )
    with open_shop(shop.id) as con:
        assert get_watermark(con) == mark
    sandbox.admin("tiktok", "PUT", "faults", json={})
    second = relay(shop)
    assert second.window[0] == mark - timedelta(minutes=shop.orders.overlap_minutes)
    assert second.counts() == {"ALREADY_RELAYED": 1, "RELAYED": 1}


def _quick_retry():
    from connectors.http import RetryPolicy

    return RetryPolicy(attempts=2, wait_initial=0.01, wait_max=0.02, wait_jitter=0.0)


def test_overlapping_runs_create_each_order_once(sandbox, tmp_path, monkeypatch):
    from concurrent.futures import ThreadPoolExecutor

    from tasks.warehouse import connect, shop_db_path

    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002", "1002001", "1003001"])
    sandbox.admin("tiktok", "POST", "orders", json={"generate": 12, "seed": 2, "max_lines": 1})
    sandbox.admin("shopify", "PUT", "faults", json={"latency_ms": 30})
    path = shop_db_path(shop.id)
    cons = [connect(path), connect(path)]  # two runs at once in one process, one file
    try:
        with ThreadPoolExecutor(2) as pool:
            outcomes = list(
                pool.map(lambda n: run_orders(shop, run_id=f"overlap-{n}", con=cons[n]), [0, 1])
            )
    finally:
        for con in cons:
            con.close()

    counts = store_orders(sandbox, "shopify")
    assert len(counts) == 12 and set(counts.values()) == {1}
    relayed = {r.tiktok_order_id for o in outcomes for r in o.rows if r.reason == "RELAYED"}
    assert relayed == set(counts)  # a run that found the other's order reports it too
    assert {r["state"] for r in ledger(shop).values()} == {"RELAYED"}


def test_watermark_waits_for_the_order_report(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    add_orders(sandbox, order(("1001001", 1)))

    def broken_publish(*args, **kwargs):
        raise OSError("disk full while writing the order report")

    monkeypatch.setattr("tasks.relay.publish_order_report", broken_publish)
    with pytest.raises(OSError, match="disk full"):
        relay(shop)
    with open_shop(shop.id) as con:  # the window will be read again: nothing falls out
        assert get_watermark(con) is None
