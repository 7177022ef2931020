"""`skubridge unmap` against the sandbox (issue: trust, item 4): dry run first, then the
links go, auto-map leaves the SKUs alone, the push no longer touches them, and the link
history has a gap (orders placed while unmapped are historical once relinked)."""

from __future__ import annotations

import time

import pytest
from test_relay_kit import reset_stack, scenario, shop_config
from typer.testing import CliRunner

from sandbox.stack import SandboxStack
from skubridge.cli import app
from tasks.steps.catalog import run_catalog
from tasks.steps.push import run_push
from tasks.warehouse import open_shop


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


@pytest.fixture
def sandbox(stack: SandboxStack, data_dirs) -> SandboxStack:
    return reset_stack(stack)


def links(shop_id: str) -> dict[str, str]:
    with open_shop(shop_id) as con:
        return dict(con.execute("SELECT tiktok_sku_id, method FROM mappings").fetchall())


def test_unmap_a_product_dry_run_then_apply(sandbox, tmp_path, monkeypatch):
    shop = shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    assert run_catalog(shop, run_id="cat-1").mapping["mapped_skus"] == 4
    runner = CliRunner()

    dry = runner.invoke(app, ["unmap", "--shop", "sh", "--tiktok-product", "1001", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "Would unmap 2 link(s):" in dry.stdout
    assert "SKU 1001001 -x- store variant gid://shopify/ProductVariant/11 (auto)" in dry.stdout
    assert set(links("sh")) == {"1001001", "1001002", "1002001", "1003001"}

    refused = runner.invoke(app, ["unmap", "--shop", "sh", "--tiktok-product", "1001"], input="n\n")
    assert refused.exit_code != 0
    assert set(links("sh")) == {"1001001", "1001002", "1002001", "1003001"}

    done = runner.invoke(app, ["unmap", "--shop", "sh", "--tiktok-product", "1001"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "Unmapped 2 link(s):" in done.stdout
    assert set(links("sh")) == {"1002001", "1003001"}

    # The next catalog run does not link them again by SKU, and says why.
    time.sleep(1.1)
    summary = run_catalog(shop, run_id="cat-2")
    assert summary.mapping["mapped_skus"] == 2
    with open_shop("sh") as con:
        reasons = dict(
            con.execute(
                "SELECT tiktok_sku_id, reason FROM mapping_report WHERE run_id = 'cat-2'"
            ).fetchall()
        )
        spans = con.execute(
            "SELECT linked_until IS NOT NULL, end_reason FROM link_history"
            " WHERE tiktok_sku_id = '1001001'"
        ).fetchall()
    assert reasons["1001001"] == reasons["1001002"] == "UNMAPPED_BY_HAND"
    assert spans == [(True, "UNMAPPED_BY_HAND")]

    # Store stock of the tee changes: the push does not write the unmapped SKUs.
    state = sandbox.emulator("shopify").state
    with state.lock:
        for vid in ("gid://shopify/ProductVariant/11", "gid://shopify/ProductVariant/31"):
            level = next(iter(state.items[state.variants[vid].inventory_item_id].levels.values()))
            level.available = 7
    run_catalog(shop, run_id="cat-3")
    pushed = run_push(shop, run_id="push-1")
    with open_shop("sh") as con:
        skus = {
            r[0]
            for r in con.execute(
                "SELECT tiktok_sku_id FROM push_report WHERE run_id = ?", [pushed.run_id]
            ).fetchall()
        }
    assert "1003001" in skus
    assert not skus & {"1001001", "1001002"}


def test_unmap_needs_one_target_and_an_existing_link(sandbox, tmp_path, monkeypatch):
    shop_config(sandbox, tmp_path, "shopify", monkeypatch)
    runner = CliRunner()
    both = runner.invoke(
        app, ["unmap", "--shop", "sh", "--tiktok-product", "1", "--tiktok-sku", "2", "-y"]
    )
    assert both.exit_code == 2
    none = runner.invoke(app, ["unmap", "--shop", "sh", "--tiktok-sku", "999", "-y"])
    assert none.exit_code == 2
    assert "TikTok SKU '999' has no link" in none.output
