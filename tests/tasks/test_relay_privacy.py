"""No buyer name, phone or address from relayed orders anywhere skubridge writes or logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from test_relay_kit import add_orders, map_skus, order, scenario, shop_config

from sandbox.stack import sandbox_stack
from tasks.relay import summary_lines
from tasks.steps.orders import run_orders
from tasks.warehouse import open_shop


def buyer_data(stack) -> set[str]:
    """Names, phones and street lines of every order in the TikTok emulator (unmasked)."""
    found: set[str] = set()
    for o in stack.emulator("tiktok").snapshot()["orders"]:
        r = o["recipient"]
        name = f"{r['first_name']} {r['last_name']}"
        found |= {name, r["last_name"], r["phone"], r["address_line1"], o["buyer_email"]}
        if r["address_line2"]:
            found.add(r["address_line2"])
    return {v for v in found if v}


def warehouse_text(shop_id: str) -> str:
    """Every row of every table in the shop's DuckDB file, as text."""
    parts = []
    with open_shop(shop_id) as con:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()]
        for table in tables:
            parts.append(con.execute(f'SELECT * FROM "{table}"').df().to_csv())
    return "\n".join(parts)


@pytest.mark.parametrize("store", ["shopify", "amazon"])
def test_no_buyer_data_in_logs_reports_or_warehouse(
    store, tmp_path, monkeypatch, data_dirs, caplog, capsys
):
    caplog.set_level(logging.DEBUG)
    with sandbox_stack(scenario()) as stack:
        shop = shop_config(stack, tmp_path, store, monkeypatch)
        map_skus(shop, ["1001001", "1001002", "1002001"])
        add_orders(
            stack,
            order(("1001001", 2)),
            order(("1001002", 1), shipping_type="TIKTOK"),
            order(("1001001", 1), ("1002001", 1)),
            order(("1003001", 1)),
            order(("1001001", 1), status="ON_HOLD"),
        )
        stack.admin("tiktok", "POST", "orders", json={"generate": 6, "seed": 3})
        if store == "shopify":  # a rejection: the store's message goes into the report
            with open_shop(shop.id) as con:
                con.execute(
                    "UPDATE mappings SET store_variant_id = 'gid://shopify/ProductVariant/99'"
                    " WHERE tiktok_sku_id = '1002001'"
                )
        stack.admin(
            store,
            "PUT",
            "faults",
            json={"drop_after_commit_rate": 0.3, "error_rate": 0.2, "writes_only": True},
        )
        outcome = run_orders(shop, run_id="privacy-1", pending_grace_s=0)
        stack.admin(store, "PUT", "faults", json={})
        again = run_orders(shop, run_id="privacy-2", pending_grace_s=0)
        secrets = buyer_data(stack)

    assert outcome.counts().get("RELAYED", 0) >= 1
    print("\n".join(summary_lines(outcome) + summary_lines(again)))
    texts = {
        "logs": caplog.text,
        "output": "".join(capsys.readouterr()),
        "warehouse": warehouse_text(shop.id),
    }
    for report in (outcome.report, again.report):
        assert report is not None
        texts[str(report.csv)] = Path(report.csv).read_text()
        texts[str(report.parquet)] = pd.read_parquet(report.parquet).to_csv()
    assert len(secrets) > 10
    for where, text in texts.items():
        leaked = sorted(s for s in secrets if s.lower() in text.lower())
        assert not leaked, f"buyer data in {where}: {leaked}"
