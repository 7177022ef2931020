"""Order loop back against the sandbox emulators: one test per case (tasks/loop_back.py).

Every test relays an order first (``run_orders`` runs relay + loop back), acts like the
merchant or TikTok through the emulators' admin routes, runs the step again and checks
what reached the other side, the ledger and the fulfilment report; reruns must not send a
single write (counted in the emulators' request logs).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from test_relay_kit import add_orders, map_skus, order, reset_stack, scenario, shop_config

from sandbox.stack import SandboxStack
from skubridge.config import ShopConfig
from tasks.loop_back import REPORT_COLUMNS, TIKTOK_SHIPPING_TAG
from tasks.steps.orders import OrdersOutcome, run_orders
from tasks.warehouse import open_shop

UPS_ID = "7117859084333745966"  # the emulator's default provider list (sandbox/tiktok/loopback.py)
AMAZON_ID = "7129736029146269486"
TIKTOK_WRITES = {
    "fulfillment.mark_shipped",
    "fulfillment.ship_package",
    "fulfillment.batch_ship",
    "fulfillment.update_package_shipping_info",
    "fulfillment.update_shipping_info",
    "return_refund.cancel_order",
    "return_refund.approve_cancellation",
    "return_refund.reject_cancellation",
}
SHOPIFY_WRITES = {"orderCreate", "orderCancel", "refundCreate", "fulfillmentCreate", "tagsAdd"}
TAG_FAULTS = {"error_rate": 1.0, "operations": ["tagsAdd"]}
AMAZON_WRITES = {"createFulfillmentOrder", "cancelFulfillmentOrder", "patchListingsItem"}


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    reset_stack(stack, clear_requests=True)
    stack.admin("amazon", "PUT", "mcf", json={"progress": "manual"})
    return stack


_runs = iter(range(1, 10_000))


def run(shop: ShopConfig) -> OrdersOutcome:
    return run_orders(shop, run_id=f"lb-{next(_runs)}")


def rows(out: OrdersOutcome) -> list[dict[str, Any]]:
    assert out.loop_back is not None
    frame = out.loop_back.frame()
    assert list(frame.columns) == REPORT_COLUMNS
    return frame.to_dict("records")


def writes(stack: SandboxStack) -> dict[str, int]:
    """Write calls per operation since the last reset, over the three emulators."""
    out: dict[str, int] = {}
    for name, ops in (("tiktok", TIKTOK_WRITES), ("shopify", SHOPIFY_WRITES)):
        for op, n in stack.admin(name, "GET", "requests").items():
            if op in ops:
                out[op] = n
    for op, n in stack.admin("amazon", "GET", "requests").items():
        if op in AMAZON_WRITES:
            out[op] = n
    return out


def reset_counts(stack: SandboxStack) -> None:
    for name in ("tiktok", "shopify", "amazon"):
        stack.admin(name, "DELETE", "requests")


def store_order_id(shop: ShopConfig, oid: str) -> str:
    with open_shop(shop.id) as con:
        row = con.execute(
            "SELECT store_order_id FROM order_ledger WHERE tiktok_order_id = ?", [oid]
        ).fetchone()
    assert row and row[0], f"order {oid} was not relayed"
    return str(row[0])


def fulfil(
    stack: SandboxStack, gid: str, *, tracking: str | None, company: str = "UPS", lines=None
) -> int:
    """Fulfil a Shopify order like the merchant does in the admin; returns the fulfilment
    number."""
    body: dict[str, Any] = {}
    if tracking is not None:
        body["tracking"] = {"number": tracking, "company": company}
    if lines is not None:
        body["lines"] = [{"sku": sku, "quantity": q} for sku, q in lines]
    answer = stack.admin("shopify", "POST", f"orders/{gid.rsplit('/', 1)[1]}/fulfill", json=body)
    return int(answer["id"])


def shopify_order(stack: SandboxStack, gid: str) -> Any:
    [found] = [o for o in stack.emulator("shopify").state.orders if o.id == gid]
    return found


def tiktok_order(stack: SandboxStack, oid: str) -> dict[str, Any]:
    emulator = stack.emulator("tiktok")
    return emulator.render_orders([emulator.orders[oid]])[0]


def packages(stack: SandboxStack, oid: str) -> list[dict[str, Any]]:
    return [p for p in stack.admin("tiktok", "GET", "loopback")["packages"] if p["order_id"] == oid]


def ledger_lines(shop: ShopConfig, oid: str) -> list[dict[str, Any]]:
    with open_shop(shop.id) as con:
        cur = con.execute(
            "SELECT * FROM loop_back_lines WHERE tiktok_order_id = ? ORDER BY tiktok_line_id", [oid]
        )
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def with_carriers(shop: ShopConfig, carriers: dict[str, str]) -> ShopConfig:
    return shop.model_copy(update={"orders": shop.orders.model_copy(update={"carriers": carriers})})


# -- store fulfilment -> TikTok shipped ----------------------------------------------------------
def test_full_fulfilment_of_multi_unit_lines_ships_every_unit_once(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 2), ("1001002", 1)))
    assert rows(run(shop)) == []  # relayed; nothing shipped yet
    gid = store_order_id(shop, oid)
    fulfil(sandbox, gid, tracking="1Z999AA10123456784", company="UPS")

    out = run(shop)

    [row] = rows(out)
    assert (row["action"], row["status"], row["reason"]) == ("SHIP", "DONE", "SHIPPED")
    assert row["lines"] == "TEE-S x2; TEE-M x1"
    assert row["tracking_number"] == "1Z999AA10123456784"
    assert (row["carrier"], row["tiktok_shipping_provider_id"]) == ("UPS", UPS_ID)
    assert row["store_order_id"] == gid
    [pkg] = packages(sandbox, oid)
    line_ids = [ln["id"] for ln in tiktok_order(sandbox, oid)["line_items"]]
    assert sorted(pkg["line_ids"]) == sorted(line_ids) and len(line_ids) == 3
    assert (pkg["tracking_number"], pkg["provider_id"]) == ("1Z999AA10123456784", UPS_ID)
    assert tiktok_order(sandbox, oid)["status"] == "AWAITING_COLLECTION"
    ledger = ledger_lines(shop, oid)
    assert {r["ship_state"] for r in ledger} == {"SHIPPED"} and len(ledger) == 3
    assert {r["package_id"] for r in ledger} == {pkg["id"]}
    assert writes(sandbox)["fulfillment.mark_shipped"] == 1

    # echo: TikTok's status change and the store's state read back change nothing
    reset_counts(sandbox)
    again = run(shop)
    assert rows(again) == []
    assert writes(sandbox) == {}


def test_partial_fulfilments_ship_each_box_as_its_own_package(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 3), ("1001002", 1)))
    run(shop)
    gid = store_order_id(shop, oid)
    fulfil(sandbox, gid, tracking="1ZFIRSTBOX0001", lines=[("TEE-S", 2)])

    first = rows(run(shop))

    assert [(r["reason"], r["lines"]) for r in first] == [("SHIPPED", "TEE-S x2")]
    assert tiktok_order(sandbox, oid)["status"] == "PARTIALLY_SHIPPING"
    fulfil(sandbox, gid, tracking="1ZSECONDBOX002", lines=None)  # everything left

    second = rows(run(shop))

    assert [(r["reason"], r["lines"], r["tracking_number"]) for r in second] == [
        ("SHIPPED", "TEE-S x1; TEE-M x1", "1ZSECONDBOX002")
    ]
    pkgs = sorted(packages(sandbox, oid), key=lambda p: p["tracking_number"])
    assert [(p["tracking_number"], len(p["line_ids"])) for p in pkgs] == [
        ("1ZFIRSTBOX0001", 2),
        ("1ZSECONDBOX002", 2),
    ]
    assert not set(pkgs[0]["line_ids"]) & set(pkgs[1]["line_ids"])
    assert tiktok_order(sandbox, oid)["status"] == "AWAITING_COLLECTION"
    assert writes(sandbox)["fulfillment.mark_shipped"] == 2


def test_packages_from_payment_are_shipped_with_ship_package(sandbox, tmp_path, monkeypatch):
    # SEA/LATAM: the package exists from payment; Mark Package As Shipped is refused there.
    sandbox.admin("tiktok", "PUT", "loopback", json={"market": "SEA"})
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 2), ("1001002", 1)))
    run(shop)
    gid = store_order_id(shop, oid)
    fulfil(sandbox, gid, tracking="1ZSEAPART00001", lines=[("TEE-S", 1)])

    [partial] = rows(run(shop))

    assert (partial["status"], partial["reason"]) == ("WAITING", "PARTIAL_PACKAGE")
    assert not packages(sandbox, oid)[0]["shipped"]
    fulfil(sandbox, gid, tracking="1ZSEAREST00002")  # the rest: the package is complete

    out = rows(run(shop))

    assert [(r["reason"], r["tracking_number"]) for r in out] == [("SHIPPED", "1ZSEAPART00001")]
    [pkg] = packages(sandbox, oid)
    assert pkg["shipped"] and pkg["tracking_number"] == "1ZSEAPART00001"
    calls = writes(sandbox)
    assert calls["fulfillment.ship_package"] == 1 and "fulfillment.mark_shipped" not in calls


def test_unknown_carrier_is_parked_until_mapped(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    run(shop)
    fulfil(sandbox, store_order_id(shop, oid), tracking="H1234567890", company="Hermes")

    [row] = rows(run(shop))

    assert (row["status"], row["reason"]) == ("PARKED", "UNKNOWN_CARRIER")
    assert row["tiktok_shipping_provider_id"] is None
    assert "shops.orders.carriers" in row["detail"]
    assert "fulfillment.mark_shipped" not in writes(sandbox)
    assert packages(sandbox, oid) == []

    mapped = with_carriers(shop, {"hermes": "UPS"})
    [row] = rows(run(mapped))
    assert (row["reason"], row["tiktok_shipping_provider_id"]) == ("SHIPPED", UPS_ID)


def test_one_tracking_correction_then_correction_used(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    run(shop)
    number = fulfil(sandbox, store_order_id(shop, oid), tracking="1ZWRONG0000001")
    run(shop)
    sandbox.admin(
        "shopify",
        "PUT",
        f"fulfillments/{number}/tracking",
        json={"number": "1ZRIGHT0000002", "company": "UPS"},
    )

    [fixed] = rows(run(shop))

    assert (fixed["action"], fixed["reason"]) == ("UPDATE_TRACKING", "TRACKING_UPDATED")
    [pkg] = packages(sandbox, oid)
    assert (pkg["tracking_number"], pkg["updates_used"]) == ("1ZRIGHT0000002", 1)
    sandbox.admin(
        "shopify",
        "PUT",
        f"fulfillments/{number}/tracking",
        json={"number": "1ZTHIRD0000003", "company": "UPS"},
    )
    reset_counts(sandbox)

    [used] = rows(run(shop))

    assert (used["action"], used["status"], used["reason"]) == (
        "UPDATE_TRACKING",
        "PARKED",
        "CORRECTION_USED",
    )
    assert writes(sandbox) == {}  # the second correction is never sent
    assert packages(sandbox, oid)[0]["tracking_number"] == "1ZRIGHT0000002"
    assert rows(run(shop)) == []  # reported once


def test_tiktok_shipped_order_pushes_nothing(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1), shipping_type="TIKTOK"))
    first = rows(run(shop))
    assert [(r["action"], r["status"], r["reason"]) for r in first] == [
        ("SHIP", "SKIPPED", "TIKTOK_SHIPPING")
    ]
    gid = store_order_id(shop, oid)
    assert writes(sandbox)["tagsAdd"] == 1
    assert TIKTOK_SHIPPING_TAG in shopify_order(sandbox, gid).tags
    assert TIKTOK_SHIPPING_TAG in first[0]["detail"]
    fulfil(sandbox, gid, tracking="1Z999AA10123456784")
    reset_counts(sandbox)

    assert rows(run(shop)) == []  # said once
    assert writes(sandbox) == {}  # tagged once: no tagsAdd on the rerun
    assert shopify_order(sandbox, gid).tags.count(TIKTOK_SHIPPING_TAG) == 1
    calls = sandbox.admin("tiktok", "GET", "requests")
    assert "fulfillment.mark_shipped" not in calls
    assert "logistics.shipping_providers" not in calls
    assert packages(sandbox, oid) == []


def test_tiktok_shipped_order_tag_failure_is_retried_next_run(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1), shipping_type="TIKTOK"))
    sandbox.admin("shopify", "PUT", "faults", json=TAG_FAULTS)
    first = rows(run(shop))
    assert [(r["status"], r["reason"]) for r in first] == [("FAILED", "RETRY")]
    gid = store_order_id(shop, oid)
    assert TIKTOK_SHIPPING_TAG not in shopify_order(sandbox, gid).tags
    sandbox.admin("shopify", "PUT", "faults", json={})

    [row] = rows(run(shop))

    assert (row["status"], row["reason"]) == ("SKIPPED", "TIKTOK_SHIPPING")
    assert TIKTOK_SHIPPING_TAG in shopify_order(sandbox, gid).tags


def test_tiktok_shipped_mcf_order_is_reported_without_a_tag(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001"])
    add_orders(sandbox, order(("1001001", 1), shipping_type="TIKTOK"))
    [row] = [r for r in rows(run(shop)) if r["reason"] == "TIKTOK_SHIPPING"]
    assert "MCF orders have no tags" in row["detail"]
    reset_counts(sandbox)
    assert [r for r in rows(run(shop)) if r["reason"] == "TIKTOK_SHIPPING"] == []
    assert writes(sandbox) == {}


def test_mcf_shipment_marks_tiktok_shipped_with_amazon_tracking(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 2), ("1001002", 1)))
    run(shop)
    mcf_id = store_order_id(shop, oid)
    assert rows(run(shop)) == []  # Received: nothing shipped
    sandbox.admin("amazon", "POST", f"mcf/{mcf_id}/advance", json={"to": "Complete"})

    [row] = rows(run(shop))

    assert (row["reason"], row["carrier"], row["tiktok_shipping_provider_id"]) == (
        "SHIPPED",
        "Amazon Logistics",
        AMAZON_ID,
    )
    assert row["tracking_number"].startswith("TBA")
    [pkg] = packages(sandbox, oid)
    assert pkg["tracking_number"] == row["tracking_number"] and len(pkg["line_ids"]) == 3
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert writes(sandbox) == {}


# -- TikTok cancellation -> store --------------------------------------------------------------
def test_cancel_before_fulfilment_cancels_the_shopify_order_once(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 2)))
    run(shop)
    gid = store_order_id(shop, oid)
    sandbox.admin(
        "tiktok", "POST", f"orders/{oid}/loopback", json={"action": "cancel", "role": "BUYER"}
    )

    [row] = rows(run(shop))

    assert (row["action"], row["status"], row["reason"]) == (
        "CANCEL_STORE",
        "DONE",
        "CANCELLED_IN_STORE",
    )
    [store] = [o for o in sandbox.emulator("shopify").snapshot()["orders"] if o["id"] == gid]
    assert store["cancelled_at"]
    assert writes(sandbox)["orderCancel"] == 1
    reset_counts(sandbox)  # orders/cancelled echo and rerun: nothing sent again
    assert rows(run(shop)) == []
    assert writes(sandbox) == {}


def test_cancel_after_store_fulfilment_reports_store_already_fulfilled(
    sandbox, tmp_path, monkeypatch
):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    run(shop)
    gid = store_order_id(shop, oid)
    fulfil(sandbox, gid, tracking="1Z999AA10123456784")
    sandbox.admin("tiktok", "POST", f"orders/{oid}/loopback", json={"action": "cancel"})

    [row] = rows(run(shop))

    assert (row["action"], row["status"], row["reason"]) == (
        "CANCEL_STORE",
        "PARKED",
        "STORE_ALREADY_FULFILLED",
    )
    assert "return" in row["detail"]
    assert "fulfillment.mark_shipped" not in writes(sandbox)
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert writes(sandbox) == {}


def test_mcf_cancel_while_received_and_too_late_once_processing(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001"])
    early, late = add_orders(sandbox, order(("1001001", 1)), order(("1001001", 1)))
    run(shop)
    sandbox.admin(
        "amazon", "POST", f"mcf/{store_order_id(shop, late)}/advance", json={"to": "Processing"}
    )
    for oid in (early, late):
        sandbox.admin("tiktok", "POST", f"orders/{oid}/loopback", json={"action": "cancel"})

    out = {r["tiktok_order_id"]: r for r in rows(run(shop))}

    assert out[early]["reason"] == "CANCELLED_IN_STORE"
    assert out[late]["reason"] == "STORE_ALREADY_FULFILLED"
    mcf = {
        o["sellerFulfillmentOrderId"]: o
        for o in sandbox.emulator("amazon").snapshot()["mcf_orders"]
    }
    assert mcf[store_order_id(shop, early)]["fulfillmentOrderStatus"] == "Cancelled"
    assert mcf[store_order_id(shop, late)]["fulfillmentOrderStatus"] == "Processing"
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert writes(sandbox) == {}


def test_single_line_cancel_cancels_those_units_in_shopify(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(sandbox, order(("1001001", 2), ("1001002", 1)))
    run(shop)
    gid = store_order_id(shop, oid)
    tee_s = [
        ln["id"] for ln in tiktok_order(sandbox, oid)["line_items"] if ln["sku_id"] == "1001001"
    ]
    sandbox.admin(
        "tiktok",
        "POST",
        f"orders/{oid}/loopback",
        json={"action": "cancel_lines", "line_ids": tee_s[:1]},
    )

    [row] = rows(run(shop))

    assert (row["action"], row["reason"], row["lines"]) == (
        "CANCEL_STORE",
        "CANCELLED_IN_STORE",
        "TEE-S x1",
    )
    assert writes(sandbox)["refundCreate"] == 1
    assert "orderCancel" not in writes(sandbox)
    # the merchant ships what is left: the two remaining TikTok lines are shipped
    fulfil(sandbox, gid, tracking="1ZREST00000001")
    [ship] = rows(run(shop))
    assert (ship["reason"], ship["lines"]) == ("SHIPPED", "TEE-S x1; TEE-M x1")
    assert tiktok_order(sandbox, oid)["status"] == "AWAITING_COLLECTION"


# -- Amazon MFN stock --------------------------------------------------------------------------
def test_mfn_sale_lowers_amazon_quantity_once_and_cancel_gives_it_back(
    sandbox, tmp_path, monkeypatch
):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1002001"])  # MUG-1 is merchant-fulfilled
    [oid] = add_orders(sandbox, order(("1002001", 2)))

    out = run(shop)

    assert out.frame().set_index("tiktok_order_id").loc[oid, "reason"] == "NOT_FBA"  # not relayed
    [row] = rows(out)
    assert (row["action"], row["reason"], row["lines"]) == (
        "LOWER_MFN_STOCK",
        "MFN_STOCK_LOWERED",
        "MUG-1 x2",
    )
    listings = sandbox.emulator("amazon").listings
    assert listings["MUG-1"].quantity == 4998
    assert writes(sandbox)["patchListingsItem"] == 1
    reset_counts(sandbox)
    assert rows(run(shop)) == []  # never lowered twice
    assert writes(sandbox) == {} and listings["MUG-1"].quantity == 4998

    sandbox.admin("tiktok", "POST", f"orders/{oid}/loopback", json={"action": "cancel"})
    [back] = rows(run(shop))
    assert (back["reason"], back["lines"]) == ("MFN_STOCK_RESTORED", "MUG-1 x2")
    assert listings["MUG-1"].quantity == 5000
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert writes(sandbox) == {}


# -- CLI ---------------------------------------------------------------------------------------
def test_cli_orders_relays_and_loops_back_dry_run_writes_nothing(sandbox, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from skubridge.cli import app

    runner = CliRunner()
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    [oid] = add_orders(sandbox, order(("1001001", 1)))
    relayed = runner.invoke(app, ["relay", "--shop", "sh"])
    assert relayed.exit_code == 0, relayed.output
    assert "loop back" not in relayed.output  # `relay` stays relay-only
    fulfil(sandbox, store_order_id(shop, oid), tracking="1ZCLI000000001")
    reset_counts(sandbox)

    dry = runner.invoke(app, ["orders", "--shop", "sh", "--dry-run"])

    assert dry.exit_code == 0, dry.output
    assert "Dry run: loop back followed 1 order(s)" in dry.output and "SHIPPED: 1" in dry.output
    assert writes(sandbox) == {} and packages(sandbox, oid) == []
    assert ledger_lines(shop, oid) == []

    real = runner.invoke(app, ["orders", "--shop", "sh"])

    assert real.exit_code == 0, real.output
    assert "SHIPPED: 1" in real.output and "fulfilment_report.csv" in real.output
    assert packages(sandbox, oid)[0]["tracking_number"] == "1ZCLI000000001"


# -- incremental store reads -------------------------------------------------------------------
def store_reads(stack: SandboxStack, name: str) -> dict[str, int]:
    ops = {"shopify": ("order", "orders"), "amazon": ("getFulfillmentOrder",)}[name]
    ops += ("listAllFulfillmentOrders",) if name == "amazon" else ()
    calls = stack.admin(name, "GET", "requests")
    return {op: calls.get(op, 0) for op in ops}


def age_watermark(shop: ShopConfig, **delta: float) -> None:
    with open_shop(shop.id) as con:
        con.execute(
            "UPDATE loop_back_watermark SET read_from = read_from - ?", [timedelta(**delta)]
        )


def age_store_orders(stack: SandboxStack, name: str) -> None:
    """Move every store order's last change an hour back (older than the overlap)."""
    old = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    if name == "shopify":
        for o in stack.emulator("shopify").state.orders:
            o.updated_at = o.created_at = old
    else:
        for o in stack.emulator("amazon").orders.values():
            o["statusUpdatedDate"] = old


def test_loop_back_reads_only_store_orders_changed_since_the_last_run(
    sandbox, tmp_path, monkeypatch
):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001"])
    oids = add_orders(sandbox, *(order(("1001001", 1)) for _ in range(3)))
    run(shop)  # relay; the first loop back is a full read
    age_store_orders(sandbox, "shopify")
    fulfil(sandbox, store_order_id(shop, oids[0]), tracking="1Z999AA10123456784")
    reset_counts(sandbox)

    [row] = rows(run(shop))

    assert (row["tiktok_order_id"], row["reason"]) == (oids[0], "SHIPPED")
    assert store_reads(sandbox, "shopify") == {"order": 1, "orders": 1}
    age_store_orders(sandbox, "shopify")
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert store_reads(sandbox, "shopify") == {"order": 0, "orders": 1}
    age_watermark(shop, days=2)  # backstop: a watermark older than a day reads them all
    reset_counts(sandbox)
    assert rows(run(shop)) == []
    assert store_reads(sandbox, "shopify") == {"order": 3, "orders": 0}  # shipped one too


def test_mcf_loop_back_reads_only_orders_listed_as_changed(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "amazon", monkeypatch)
    map_skus(shop, ["1001001"])
    oids = add_orders(sandbox, *(order(("1001001", 1)) for _ in range(3)))
    run(shop)
    age_store_orders(sandbox, "amazon")
    mcf_id = store_order_id(shop, oids[1])
    sandbox.admin("amazon", "POST", f"mcf/{mcf_id}/advance", json={"to": "Complete"})
    reset_counts(sandbox)

    [row] = rows(run(shop))

    assert (row["tiktok_order_id"], row["reason"]) == (oids[1], "SHIPPED")
    reads = store_reads(sandbox, "amazon")
    assert reads == {"getFulfillmentOrder": 1, "listAllFulfillmentOrders": 1}
