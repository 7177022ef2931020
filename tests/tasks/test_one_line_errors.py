"""Bad local state and bad input end in one actionable line, never a traceback, and lose
nothing (issue 13, item 8). Through the CLI against the sandbox."""

from __future__ import annotations

import os

import pytest
from test_relay_kit import add_orders, map_skus, order, scenario, shop_config, store_orders
from typer.testing import CliRunner

from sandbox.stack import sandbox_stack
from skubridge.cli import app
from tasks.warehouse import open_shop, shop_db_path

runner = CliRunner()


def _one_line_failure(res, *needles: str) -> None:
    """Exit non-zero through typer (no exception escaped), message on one line."""
    assert res.exit_code != 0, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1, res.output
    for needle in needles:
        assert needle in lines[0], res.output


@pytest.fixture
def sandbox(tmp_path, monkeypatch, data_dirs):
    with sandbox_stack(scenario()) as stack:
        shop = shop_config(stack, tmp_path, "shopify", monkeypatch)
        yield stack, shop


def _truncate(path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


# Cut at a third, the smaller file still opens and fails when a block is first read (a raw
# duckdb.IOException before); the bigger one fails on open.
@pytest.mark.parametrize("rows", [100_000, 200_000])
def test_truncated_warehouse_on_relay_and_map(sandbox, rows):
    stack, shop = sandbox
    with open_shop(shop.id) as con:  # a file big enough to be cut in the middle of data
        con.execute(f"CREATE TABLE filler AS SELECT range AS i FROM range({rows})")
    _truncate(shop_db_path(shop.id))
    [placed] = add_orders(stack, order(("1001001", 1)))
    res = runner.invoke(app, ["relay", "--shop", shop.id])
    _one_line_failure(res, "damaged or truncated", str(shop_db_path(shop.id)))
    assert store_orders(stack, "shopify") == {} and placed
    res = runner.invoke(
        app, ["map", "--shop", shop.id, "--tiktok-product", "x", "--store-product", "y", "--yes"]
    )
    _one_line_failure(res, "damaged or truncated")


def test_reports_folder_that_is_a_file_stops_the_relay_before_any_store_write(sandbox, data_dirs):
    stack, shop = sandbox
    _, reports = data_dirs
    map_skus(shop, ["1001001"])
    add_orders(stack, order(("1001001", 1)))
    reports.write_text("not a folder")
    res = runner.invoke(app, ["relay", "--shop", shop.id])
    _one_line_failure(res, "is a file, not a folder", str(reports))
    assert store_orders(stack, "shopify") == {}  # checked before any marketplace write
    reports.unlink()
    res = runner.invoke(app, ["relay", "--shop", shop.id])
    assert res.exit_code == 0, res.output
    assert list(store_orders(stack, "shopify").values()) == [1]  # nothing lost


def test_data_folder_that_is_a_file(sandbox, data_dirs):
    _, shop = sandbox
    data, _ = data_dirs
    data.write_text("not a folder")
    res = runner.invoke(app, ["relay", "--shop", shop.id])
    _one_line_failure(res, "is a file, not a folder", str(data))


def test_warehouse_from_a_newer_schema_is_refused(sandbox):
    stack, shop = sandbox
    with open_shop(shop.id) as con:
        con.execute("INSERT INTO schema_version VALUES (999, 'from_the_future', now())")
    add_orders(stack, order(("1001001", 1)))
    res = runner.invoke(app, ["relay", "--shop", shop.id])
    _one_line_failure(res, "newer skubridge", "999")
    res = runner.invoke(app, ["report", "--shop", shop.id])
    _one_line_failure(res, "newer skubridge", "999")


def test_report_shop_id_must_be_a_configured_shop(sandbox, tmp_path):
    outside = tmp_path / "x.duckdb"
    with open_shop("x", folder=tmp_path):
        pass
    assert outside.exists()
    res = runner.invoke(app, ["report", "--shop", "../x"])
    _one_line_failure(res, "no shop '../x'")
    res = runner.invoke(app, ["report", "--shop", "ghost"])
    _one_line_failure(res, "no shop 'ghost'", "configured: sh, az")


def _csv_map(shop_id: str, path) -> object:
    return runner.invoke(app, ["map", "--shop", shop_id, "--csv", str(path)])


def test_csv_problems_are_refused_with_one_line(sandbox, tmp_path):
    _, shop = sandbox
    map_skus(shop, ["1001001"])
    folder = tmp_path / "a-folder"
    folder.mkdir()
    _one_line_failure(_csv_map(shop.id, folder), "is a folder, not a CSV file")

    wide = tmp_path / "wide.csv"
    wide.write_text("seller_sku,store_sku\nA,B\nC,D,E\n", encoding="utf-8")
    _one_line_failure(_csv_map(shop.id, wide), "line 3 has 3 fields", "header has 2")

    empty = tmp_path / "header-only.csv"
    empty.write_text("seller_sku,store_sku\n", encoding="utf-8")
    _one_line_failure(_csv_map(shop.id, empty), "no rows under the header")
    with open_shop(shop.id, read_only=True) as con:
        assert con.execute("SELECT count(*) FROM mappings WHERE method = 'csv'").fetchone() == (0,)
    assert os.listdir(tmp_path / "a-folder") == []
