"""Flow ``push-prices-and-stock`` and ``skubridge push`` end to end against the sandbox."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from uuid import UUID

import pytest
from typer.testing import CliRunner

from sandbox.fixture import DEFAULT_LOCATION, DEFAULT_WAREHOUSE, Fixture, load_fixture
from sandbox.seed import seed_from_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import app
from tasks.runs import last_run
from tasks.warehouse import open_shop

SHOP = "flowshop"


def make_fixture(products: int = 4, *, zero_stock: int = 0) -> Fixture:
    tiktok = [
        {"skus": [{"seller_sku": f"F{i}", "price": "10.00", "inventory": {DEFAULT_WAREHOUSE: 5}}]}
        for i in range(products)
    ]
    store = [
        {
            "variants": [
                {
                    "sku": f"F{i}",
                    "price": "11.00",
                    "inventory": {DEFAULT_LOCATION: 0 if i < zero_stock else 9},
                }
            ]
        }
        for i in range(products)
    ]
    return load_fixture({"tiktok": {"products": tiktok}, "shopify": {"products": store}})


@pytest.fixture
def stack(data_dirs, tmp_path, monkeypatch):
    fx = make_fixture()
    with sandbox_stack(fx) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        path = running.write_shops_file(tmp_path / "shops.toml", [(SHOP, "shopify")])
        monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
        yield running


def seed(stack, fx: Fixture) -> None:
    stack.emulator("tiktok").load(fx)
    with open_shop(SHOP) as con:
        seed_from_fixture(con, fx)


def prices(stack) -> set[Decimal]:
    snapshot = stack.emulator("tiktok").snapshot()
    return {Decimal(s["price"]) for p in snapshot["products"] for s in p["skus"]}


@pytest.mark.usefixtures("prefect_api")
def test_flow_pushes_and_publishes_artifacts(stack) -> None:
    from prefect.client.orchestration import get_client

    from flows.push_prices_and_stock import push_prices_and_stock

    seed(stack, make_fixture())
    summary = push_prices_and_stock(shop=SHOP)
    assert summary["ok"] and summary["counts"]["updated"] == 8
    assert prices(stack) == {Decimal("11.00")}
    with open_shop(SHOP) as con:
        run = last_run(con, "push-prices-and-stock")
    assert run["status"] == "COMPLETED" and run["run_id"] == summary["run_id"]

    async def artifacts() -> tuple[dict[str, str], str]:
        async with get_client() as client:
            found = await client.read_artifacts()
            run = await client.read_flow_run(UUID(summary["run_id"]))
        return {a.key: a.type for a in found if a.key}, run.name

    keys, name = asyncio.run(artifacts())
    assert name.startswith(f"push-prices-and-stock-{SHOP}-")
    assert keys.get(f"push-report-{SHOP}") == "table"
    assert keys.get(f"push-progress-{SHOP}") == "progress"


@pytest.mark.usefixtures("prefect_api")
def test_flow_fails_naming_the_guard(stack) -> None:
    from flows.push_prices_and_stock import push_prices_and_stock

    seed(stack, make_fixture(products=5, zero_stock=3))
    state = push_prices_and_stock(shop=SHOP, return_state=True)
    assert state.is_failed()
    assert "zero_stock_share" in state.message and "0.600" in state.message
    with open_shop(SHOP) as con:
        run = last_run(con, "push-prices-and-stock")
    assert run["status"] == "FAILED" and run["failed_step"] == "guard"
    # Prices were not guarded: they went through; stock stayed.
    assert prices(stack) == {Decimal("11.00")}
    snapshot = stack.emulator("tiktok").snapshot()
    assert {s["inventory"][DEFAULT_WAREHOUSE] for p in snapshot["products"] for s in p["skus"]} == {
        5
    }


def test_cli_dry_run_then_force(stack) -> None:
    seed(stack, make_fixture(products=5, zero_stock=3))
    runner = CliRunner()
    dry = runner.invoke(app, ["push", "--shop", SHOP, "--dry-run"])
    assert dry.exit_code == 1, dry.output  # the guard fails, even in a dry run
    assert "Dry run" in dry.output
    # All 5 stock writes are blocked by the guard; the 5 price writes would go.
    assert "blocked: 5, would update: 5" in dry.output
    assert "zero_stock_share" in dry.output and "push_report.csv" in dry.output
    assert prices(stack) == {Decimal("10.00")}

    forced = runner.invoke(app, ["push", "--shop", SHOP, "--force"])
    assert forced.exit_code == 0, forced.output
    assert "updated: 10, unchanged: 0, rejected: 0, blocked: 0" in forced.output
    assert prices(stack) == {Decimal("11.00")}

    again = runner.invoke(app, ["push", "--shop", SHOP, "--shops-file", "/nonexistent.toml"])
    assert again.exit_code == 2 and "shops file not found" in again.output
