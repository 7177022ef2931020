"""`skubridge report`: the latest report of a kind, read-only, as table/CSV/JSON with file paths."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from typer.testing import CliRunner

from skubridge.cli import app
from tasks.reports import publish_report, run_report_dir
from tasks.runs import finish_run, start_run
from tasks.warehouse import open_shop

runner = CliRunner()

COLUMNS = [
    "tiktok_product_id",
    "tiktok_sku_id",
    "seller_sku",
    "status",
    "reason",
    "method",
    "store_product_id",
    "store_variant_id",
    "suggestion",
]


def mapping_frame(rows):
    return pd.DataFrame(rows, columns=COLUMNS)


OLD = mapping_frame([("p0", "s0", "OLD", "unmapped", "SKU_NOT_FOUND", None, None, None, None)])
NEW = mapping_frame(
    [
        ("p1", "s1", "TEE-S", "mapped", None, "auto", "sp1", "v1", None),
        ("p1", "s2", "TEE-M", "mapped", None, "auto", "sp1", "v2", None),
        ("p2", "s3", "MUG-1", "unmapped", "SKU_NOT_FOUND", None, None, None, "gid://v/9 (mug 1)"),
    ]
)


@pytest.fixture
def shop(data_dirs):
    """Shop 'acme' with two catalog runs; the newer one's report has files."""
    with open_shop("acme") as con:
        for run_id, frame, started in (
            ("run-old", OLD, datetime.now(UTC) - timedelta(hours=1)),
            ("run-new", NEW, datetime.now(UTC)),
        ):
            start_run(con, run_id=run_id, flow="sync-catalog", shop_id="acme")
            con.execute("UPDATE runs SET started_at = ? WHERE run_id = ?", [started, run_id])
            folder = run_report_dir("acme", run_id)
            publish_report(
                con,
                table="mapping_report",
                run_id=run_id,
                frame=frame,
                folder=folder,
                name="mapping_report",
            )
            finish_run(con, run_id=run_id, status="COMPLETED", report_dir=str(folder))
    return run_report_dir("acme", "run-new")  # found again: folders are named by time


def test_table_shows_latest_mapping_report_and_its_files(shop):
    result = runner.invoke(app, ["report", "--shop", "acme"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "mapping report of shop acme, run run-new: 3 rows" in out
    header = next(line for line in out.splitlines() if line.startswith("tiktok_product_id"))
    assert header.split() == COLUMNS
    assert "TEE-S" in out and "MUG-1" in out and "gid://v/9 (mug 1)" in out
    assert "OLD" not in out
    assert str(shop / "mapping_report.csv") in out
    assert str(shop / "mapping_report.parquet") in out


def test_csv_goes_to_stdout_alone(shop):
    result = runner.invoke(app, ["report", "--shop", "acme", "--format", "csv"])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [r["seller_sku"] for r in rows] == ["TEE-S", "TEE-M", "MUG-1"]
    assert rows[0]["reason"] == "" and rows[0]["method"] == "auto"
    assert str(shop / "mapping_report.csv") in result.stderr
    assert "run-new" in result.stderr


def test_json_unmapped_only(shop):
    result = runner.invoke(app, ["report", "--shop", "acme", "--format", "json", "--unmapped-only"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert rows == [
        {
            "tiktok_product_id": "p2",
            "tiktok_sku_id": "s3",
            "seller_sku": "MUG-1",
            "status": "unmapped",
            "reason": "SKU_NOT_FOUND",
            "method": None,
            "store_product_id": None,
            "store_variant_id": None,
            "suggestion": "gid://v/9 (mug 1)",
        }
    ]


def test_no_report_of_that_kind_yet(shop):
    result = runner.invoke(app, ["report", "--shop", "acme", "--kind", "push"])
    assert result.exit_code == 1
    assert "has no push report yet" in result.stderr


def test_unknown_shop_has_no_warehouse(data_dirs):
    result = runner.invoke(app, ["report", "--shop", "nobody"])
    assert result.exit_code == 1
    assert "no such warehouse file" in result.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["--kind", "stock"], "--kind must be one of mapping, push, orders"),
        (["--format", "xml"], "--format must be one of table, csv, json"),
        (["--kind", "orders", "--unmapped-only"], "--unmapped-only applies to --kind mapping"),
    ],
)
def test_bad_options_exit_2(shop, args, message):
    result = runner.invoke(app, ["report", "--shop", "acme", *args])
    assert result.exit_code == 2
    assert message in result.stderr


def test_report_reads_while_the_file_stays_unchanged(shop, data_dirs):
    path = data_dirs[0] / "acme.duckdb"
    before = path.stat().st_mtime_ns
    assert runner.invoke(app, ["report", "--shop", "acme"]).exit_code == 0
    assert path.stat().st_mtime_ns == before
