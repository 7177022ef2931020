"""A push never writes stock older than ``stock_rule.max_age_minutes`` (issue: trust,
item 6): `sync --step catalog`, the store sells down, time passes, `skubridge push`."""

from __future__ import annotations

import pytest
from test_relay_kit import reset_stack, scenario, shop_config
from typer.testing import CliRunner

from sandbox.stack import SandboxStack
from skubridge.cli import app
from tasks.steps.catalog import run_catalog
from tasks.warehouse import open_shop

CAP_VARIANT = "gid://shopify/ProductVariant/31"


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    return reset_stack(stack)


def tiktok_stock(stack: SandboxStack, sku_id: str) -> int:
    for product in stack.emulator("tiktok").snapshot()["products"]:
        for sku in product["skus"]:
            if sku["id"] == sku_id:
                return sum(sku["inventory"].values())
    raise KeyError(sku_id)


@pytest.mark.usefixtures("prefect_api")
def test_push_from_an_old_catalog_reads_the_store_again(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    assert run_catalog(shop, run_id="cat-1").mapping["mapped_skus"] == 4
    with open_shop(shop.id) as con:  # the catalog was read 30 minutes ago
        con.execute("UPDATE catalog_variants SET extracted_at = extracted_at - INTERVAL 30 MINUTE")
    state = sandbox.emulator("shopify").state
    with state.lock:  # since then the cap sold down to 3
        item = state.items[state.variants[CAP_VARIANT].inventory_item_id]
        next(iter(item.levels.values())).available = 3

    result = CliRunner().invoke(app, ["push", "--shop", "sh"])

    assert result.exit_code == 0, result.output
    assert tiktok_stock(sandbox, "1003001") == 3  # not the 5000 of the old catalog
    with open_shop(shop.id) as con:
        rows = con.execute(
            "SELECT field, new, stock_age_seconds FROM push_report"
            " WHERE tiktok_sku_id = '1003001' AND field = 'inventory'"
        ).fetchall()
    assert [r[1] for r in rows] == ["3"]
    assert all(r[2] is not None and 0 <= r[2] < 600 for r in rows)
