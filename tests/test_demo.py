"""`skubridge demo` end to end, small: two sandbox shops through sync-shop twice, then an
orders-only run that loops a store shipment and a TikTok cancellation back."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from skubridge.cli import app

pytestmark = [pytest.mark.usefixtures("prefect_api"), pytest.mark.slow]


def test_demo_runs_the_whole_cycle_for_both_shops(tmp_path, monkeypatch):
    for var in ("SKUBRIDGE_SHOPS_FILE", "SKUBRIDGE_DATA_DIR", "SKUBRIDGE_REPORTS_DIR"):
        monkeypatch.delenv(var, raising=False)  # the demo sets them; restored after the test
    result = CliRunner().invoke(
        app,
        ["demo", "--variants", "60", "--orders", "6", "--seed", "3", "--workdir", str(tmp_path)],
    )
    out = result.stdout
    assert result.exit_code == 0, out
    assert out.count("sync-shop demo-shopify: COMPLETED") == 3
    assert out.count("sync-shop demo-amazon: COMPLETED") == 3
    for shop in ("demo-shopify", "demo-amazon"):
        assert (tmp_path / "data" / f"{shop}.duckdb").exists()
        assert list((tmp_path / "reports" / shop).glob("*/mapping_report.csv"))
    assert "mapping (TikTok SKUs): mapped auto:" in out
    # orders placed before the mapping stay in TikTok Seller Center
    assert re.search(r"orders: cycle 1: [^|\n]*BEFORE_MAPPING", out), out
    relayed = [int(n) for n in re.findall(r"orders now in the sandbox \w+: (\d+)", out)]
    assert len(relayed) == 2 and relayed[0] > 0
    # loop back: the store's shipment reaches TikTok with its tracking, a TikTok
    # cancellation reaches the store
    loop_back = dict(re.findall(r"== (demo-\w+) .*?loop back \(cycle 3\): ([^\n]*)", out, re.S))
    assert "SHIPPED: 1" in loop_back["demo-shopify"], out
    assert "CANCELLED_IN_STORE: 1" in loop_back["demo-shopify"], out
    assert re.search(r"TikTok order \d+: AWAITING_COLLECTION, tracking 1ZDEMO\d+ \(UPS\)", out)
    assert "CANCELLED on TikTok -> store: CANCELLED_IN_STORE" in out
    # the small Amazon shop may have no relayed order; when it has, MCF's shipment is pushed
    assert "SHIPPED: 1" in loop_back["demo-amazon"] or "demo-amazon: no relayed" in out
    # the Shopify shop uses every stock rule; its first push shows each of them
    rules = re.search(r"push rules, cycle 1 \(report rows\): ([^\n]*)", out)
    assert rules, out
    counts = dict(re.findall(r"(\w+): (\d+)", rules.group(1)))
    for rule in ("stock", "untracked", "continue_selling", "override", "skipped"):
        assert int(counts[rule]) > 0, rules.group(0)
