"""Reduced chaos run (the engine of `make chaos` with small sizes) and its invariant checks.

The slow tests share one run (``reduced_chaos`` in conftest.py): two shops, faults on every
emulator, one SIGKILL per shop, reruns, fault-free final runs. The fast tests show that each
invariant check fails when its invariant is broken.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from bench.chaos import checks
from connectors.amazon import fulfillment_order_id
from skubridge.config import ShopConfig
from tasks.warehouse import connect, insert_frame, open_shop

# ----- the reduced run ---------------------------------------------------------------------


@pytest.mark.slow
def test_reduced_chaos_run_keeps_every_invariant(reduced_chaos):
    report = reduced_chaos
    assert report.violations == []
    assert report.ok
    assert {s.store for s in report.shops} == {"shopify", "amazon"}


@pytest.mark.slow
def test_chaos_really_happened(reduced_chaos):
    for shop in reduced_chaos.shops:
        killed = [c for c in shop.cycles if c.killed]
        assert shop.kills == len(killed) == 1, shop.shop_id
        assert all(c.exitcode == -9 for c in killed)
        assert all(c.faults for c in killed), "kills happen in faulted runs"
        assert 0 < shop.orders_created <= 16
        assert shop.store_edits > 0
    assert reduced_chaos.faults_injected() > 0
    assert reduced_chaos.total("forced_throttles") > 0


@pytest.mark.slow
def test_every_eligible_order_in_the_store_exactly_once(reduced_chaos):
    for shop in reduced_chaos.shops:
        assert shop.eligible > 0, f"{shop.shop_id}: the scenario must relay something"
        assert shop.in_store == shop.eligible
        assert (shop.duplicates, shop.lost, shop.unexpected) == (0, 0, 0)


@pytest.mark.slow
def test_store_shipments_and_tiktok_cancellations_looped_back(reduced_chaos):
    for shop in reduced_chaos.shops:
        assert shop.store_shipments + shop.tiktok_cancels > 0, shop.shop_id
        # every store box of a seller-shipped order is on TikTok exactly once (violations
        # otherwise), and the cancellations reached the store or the report
        assert shop.boxes_on_tiktok > 0 or shop.store_shipments == 0, shop.shop_id
    assert sum(s.store_shipments for s in reduced_chaos.shops) > 0
    assert sum(s.cancelled_in_store + s.tiktok_cancels for s in reduced_chaos.shops) > 0


@pytest.mark.slow
def test_final_fault_free_run_completes_with_nothing_to_do(reduced_chaos):
    for shop in reduced_chaos.shops:
        final = shop.cycles[-1]
        assert final.phase == "final" and not final.faults
        assert final.ok, final.step_status()
        assert shop.final_writes == 0
        assert shop.final_relayed == 0
        assert shop.prices_checked > 0 and shop.stock_checked > 0


@pytest.mark.slow
def test_ledgers_settled_and_reported_orders_match_the_ledger(reduced_chaos):
    for shop in reduced_chaos.shops:
        con = connect(reduced_chaos.workdir / "data" / f"{shop.shop_id}.duckdb", read_only=True)
        try:
            pending = con.execute(
                "SELECT (SELECT count(*) FROM order_ledger WHERE state = 'PENDING'),"
                " (SELECT count(*) FROM push_ledger WHERE status = 'PENDING')"
            ).fetchone()
            relayed = {
                r[0]
                for r in con.execute(
                    "SELECT tiktok_order_id FROM order_ledger WHERE state = 'RELAYED'"
                ).fetchall()
            }
            reported = {
                r[0]
                for r in con.execute(
                    "SELECT tiktok_order_id FROM order_report"
                    " WHERE reason IN ('RELAYED', 'ALREADY_RELAYED')"
                ).fetchall()
            }
            historical = con.execute(
                "SELECT count(*) FROM order_ledger"
                " WHERE state = 'SKIPPED' AND reason = 'BEFORE_MAPPING'"
            ).fetchone()[0]
            relayed_before_mapping = con.execute(
                "SELECT count(*) FROM order_report WHERE reason IN ('RELAYED', 'ALREADY_RELAYED')"
                " AND created_at < (SELECT min(mapped_at) FROM mappings)"
            ).fetchone()[0]
        finally:
            con.close()
        assert pending == (0, 0)
        assert len(relayed) == shop.in_store
        assert reported == relayed
        # orders placed before the mapping are seen, closed as historical, never relayed
        assert historical == shop.historical_orders == 3
        assert relayed_before_mapping == 0


# ----- the checks can fail -----------------------------------------------------------------

MAPPED_AT = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _order(oid, *skus, status="AWAITING_SHIPMENT", created=MAPPED_AT, fulfillment=None):
    return {
        "id": oid,
        "status": status,
        "create_time": int((created + timedelta(seconds=5)).timestamp()),
        "fulfillment_type": fulfillment or "FULFILLMENT_BY_SELLER",
        "line_items": [{"sku_id": s} for s in skus],
    }


def test_eligible_orders_follow_the_relay_rules():
    mapped = {
        "A": checks.Mapped("A", "SKU-A", MAPPED_AT),
        "B": checks.Mapped("B", "SKU-B", MAPPED_AT),
    }
    state = {
        "orders": [
            _order("1", "A", "B"),
            _order("2", "A", status="ON_HOLD"),
            _order("3", "A", "Z"),  # unmapped line
            _order("4", "A", created=MAPPED_AT - timedelta(hours=1)),  # before the mapping
            _order("5", "B", fulfillment="FULFILLMENT_BY_TIKTOK"),
            _order("6", "B"),
        ]
    }
    assert checks.eligible_orders(state, mapped, store="shopify") == {"1", "6"}
    # Amazon: every line must be FBA
    assert checks.eligible_orders(state, mapped, store="amazon", fba_skus={"SKU-B"}) == {"6"}


def test_order_check_counts_duplicates_lost_and_unexpected():
    in_store = {"1": ["gid://shopify/Order/1", "gid://shopify/Order/2"], "9": ["x"]}
    result = checks.check_orders({"1", "2"}, in_store)
    assert (result.duplicates, result.lost, result.unexpected) == (1, 1, 1)
    assert len(result.violations) == 3
    assert checks.check_orders({"1"}, {"1": ["a"]}).violations == []


def test_amazon_orders_are_counted_by_seller_fulfillment_order_id():
    state = {
        "mcf_orders": [
            {"sellerFulfillmentOrderId": fulfillment_order_id("577001")},
            {"sellerFulfillmentOrderId": "SOMETHING-ELSE", "displayableOrderId": "577001"},
        ]
    }
    found = checks.store_orders("amazon", state, ["577001", "577002"])
    assert found == {
        "577001": [fulfillment_order_id("577001")],
        "unknown:SOMETHING-ELSE": ["SOMETHING-ELSE"],
    }
    shopify = {
        "orders": [{"id": "o1", "source_identifier": "5"}, {"id": "o2", "source_identifier": "5"}]
    }
    assert checks.store_orders("shopify", shopify, []) == {"5": ["o1", "o2"]}


def _shop() -> ShopConfig:
    return ShopConfig.model_validate(
        {
            "id": "s1",
            "store": "shopify",
            "tiktok": {"app_key": "env:K", "app_secret": "env:X", "access_token": "env:Y"},
            "shopify": {"shop_domain": "x.myshopify.com", "access_token": "env:Z"},
            "stock_rule": {"buffer_absolute": 2},
        }
    )


def test_price_and_stock_check_recomputes_desired_values_from_the_store():
    mapped = {
        "T1": checks.Mapped("T1", "V1", MAPPED_AT),
        "T2": checks.Mapped("T2", "V2", MAPPED_AT),
    }
    tiktok = {
        "warehouses": [{"id": "W", "is_default": True}],
        "products": [
            {
                "status": "ACTIVATE",
                "skus": [
                    {"id": "T1", "price": "10.00", "currency": "USD", "inventory": {"W": 8}},
                    {"id": "T2", "price": "5.00", "currency": "USD", "inventory": {"W": 3}},
                ],
            }
        ],
    }
    store = {
        "products": [
            {
                "variants": [
                    {"id": "V1", "price": "10.00", "inventory": {"L1": 6, "L2": 4}},
                    {"id": "V2", "price": "5.50", "inventory": {"L1": 5}},
                ]
            }
        ]
    }
    result = checks.check_prices_and_stock(_shop(), mapped, tiktok, store)
    assert (result.checked_prices, result.checked_stock) == (2, 2)
    assert len(result.violations) == 1
    text = result.violations[0]
    assert "T2 price 5.00 != 5.50" in text
    assert "T1" not in text  # 10 - buffer 2 = 8 units, same price
    assert "T2 stock" not in text  # 5 - 2 = 3


def test_ledger_check_finds_pending_rows_and_report_mismatches(tmp_path, monkeypatch):
    monkeypatch.setenv("SKUBRIDGE_DATA_DIR", str(tmp_path / "data"))
    now = datetime.now(UTC)
    with open_shop("s1") as con:
        insert_frame(
            con,
            "order_ledger",
            pd.DataFrame(
                [
                    {
                        "tiktok_order_id": "1",
                        "state": "RELAYED",
                        "store_order_id": "o1",
                        "first_seen_at": now,
                        "updated_at": now,
                    },
                    {
                        "tiktok_order_id": "2",
                        "state": "PENDING",
                        "store_order_id": None,
                        "first_seen_at": now,
                        "updated_at": now,
                    },
                ]
            ),
        )
        insert_frame(
            con,
            "order_report",
            pd.DataFrame(
                [
                    {
                        "run_id": "r1",
                        "tiktok_order_id": "1",
                        "reason": "RELAYED",
                        "store_order_id": "o-wrong",
                    },
                    {  # a SIGKILLed run may leave table rows without their files
                        "run_id": "c02-chaos-relay",
                        "tiktok_order_id": "1",
                        "reason": "ALREADY_RELAYED",
                        "store_order_id": "o1",
                    },
                ]
            ),
        )
    problems = checks.check_ledgers_and_reports(
        tmp_path / "data" / "s1.duckdb",
        "shopify",
        {"1": ["o1"]},
        tmp_path / "reports",
        "s1",
        killed_runs=["c02-chaos"],
    )
    text = "\n".join(problems)
    assert "1 order_ledger rows stuck PENDING" in text
    assert "wrong store order for 1" in text
    assert "order_report of run r1: report files missing" in text
    assert "push_ledger" not in text
    assert "c02-chaos" not in text
