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
    "tiktok_title",
    "tiktok_options",
    "store_title",
    "store_options",
    "suggested_store_variant_id",
    "suggested_store_sku",
    "suggestion_basis",
]
"""docs/reports.md, in this order (new columns only at the end)."""


def mapping_frame(rows):
    return pd.DataFrame(rows, columns=COLUMNS[:9]).reindex(columns=COLUMNS)


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
            **{c: None for c in COLUMNS[9:]},
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
        (["--kind", "push", "--as-map-csv"], "--as-map-csv applies to --kind mapping"),
        (["--dry-runs"], "--dry-runs applies to --kind push"),
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


def test_report_columns_are_the_documented_ones(data_dirs):
    """The mapping_report table and docs/reports.md list the same columns, in order."""
    import re
    from pathlib import Path

    from tasks.mapping import REPORT_COLUMNS

    assert REPORT_COLUMNS == COLUMNS
    with open_shop("cols") as con:
        table = [r[0] for r in con.execute("DESCRIBE mapping_report").fetchall()]
    assert table == ["run_id", *COLUMNS]
    docs = (Path(__file__).parents[1] / "docs" / "reports.md").read_text(encoding="utf-8")
    section = docs.split("## Mapping report", 1)[1].split("One row per TikTok SKU:", 1)[1]
    listed = section.split(".\n", 1)[0].replace("then", "")
    assert re.findall(r"[a-z_]+", listed) == COLUMNS


def test_as_map_csv_is_a_map_file_prefilled_from_suggestions(data_dirs, tmp_path):
    """The unmapped list becomes a CSV that `skubridge map --csv` maps as it stands."""
    from types import SimpleNamespace

    from tasks.manual_map import map_from_csv
    from tasks.mapping import auto_map, build_mapping_report
    from tasks.warehouse import insert_frame

    now = datetime.now(UTC)
    variants = pd.DataFrame(
        [
            ("tiktok", "T1", "t1", "TEE-BLUE-M", "Blue T-Shirt", '{"Size": "M"}'),
            ("tiktok", "T2", "t2", "NOPE-1", "Green Cap", '{"Size": "One"}'),
            ("shopify", "S1", "v1", "tee blue m", "Blue T-Shirt", '{"Size": "M"}'),
        ],
        columns=["channel", "product_id", "variant_id", "seller_sku", "title", "options"],
    ).assign(run_id="r0", extracted_at=now)
    with open_shop("acme") as con:
        insert_frame(con, "catalog_variants", variants)
        start_run(con, run_id="map-1", flow="sync-catalog", shop_id="acme")
        auto_map(con, run_id="map-1", store_channel="shopify")
        frame = build_mapping_report(con, run_id="map-1", store_channel="shopify")
        publish_report(
            con,
            table="mapping_report",
            run_id="map-1",
            frame=frame,
            folder=run_report_dir("acme", "map-1"),
            name="mapping_report",
        )
    target = tmp_path / "fix.csv"
    args = ["report", "--shop", "acme", "--kind", "mapping", "--unmapped-only", "--as-map-csv"]
    result = runner.invoke(app, [*args, "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert "2 unmapped SKUs" in result.stderr and "1 prefilled from suggestions" in result.stderr
    rows = {r["tiktok_sku_id"]: r for r in csv.DictReader(target.open(encoding="utf-8"))}
    assert rows["t1"]["store_variant_id"] == "v1"
    assert rows["t1"]["suggestion_basis"] == "same_sku_normalised"
    assert (rows["t1"]["tiktok_title"], rows["t1"]["store_title"]) == ("Blue T-Shirt",) * 2
    assert rows["t2"]["store_variant_id"] == "" and rows["t2"]["reason"] == "SKU_NOT_FOUND"
    # stdout alone is the same file
    piped = runner.invoke(app, args)
    assert piped.stdout == target.read_text(encoding="utf-8")

    result = map_from_csv(SimpleNamespace(id="acme", store="shopify"), target)
    assert result.counts == {"mapped": 1, "error": 1}
    with open_shop("acme", read_only=True) as con:
        links = con.execute(
            "SELECT tiktok_sku_id, store_variant_id, method FROM mappings"
        ).fetchall()
    assert links == [("t1", "v1", "csv")]


def test_push_report_is_the_latest_real_push_unless_dry_runs(data_dirs):
    frame = pd.DataFrame(
        [("p1", "s1", "price", "1.00", "2.00", "UPDATED", None)],
        columns=["tiktok_product_id", "tiktok_sku_id", "field", "old", "new", "status", "error"],
    )
    with open_shop("acme") as con:
        for n, (run_id, dry) in enumerate((("push-real", False), ("push-dry", True))):
            start_run(con, run_id=run_id, flow="push-prices-and-stock", shop_id="acme")
            started = datetime.now(UTC) - timedelta(minutes=10 - n)
            con.execute("UPDATE runs SET started_at = ? WHERE run_id = ?", [started, run_id])
            con.execute(
                "INSERT INTO push_runs VALUES (?, 'acme', 'w', 1, 1, 0, ?, false, true, true,"
                " NULL, ?)",
                [run_id, dry, started],
            )
            publish_report(
                con,
                table="push_report",
                run_id=run_id,
                frame=frame.assign(status="UNCHANGED" if dry else "UPDATED"),
                folder=run_report_dir("acme", run_id),
                name="push_report",
                latest=not dry,
            )
        latest_view = con.execute("SELECT DISTINCT run_id FROM push_report_latest").fetchall()
    assert latest_view == [("push-real",)]
    real = runner.invoke(app, ["report", "--shop", "acme", "--kind", "push"])
    assert "run push-real" in real.stdout and "UPDATED" in real.stdout
    dry = runner.invoke(app, ["report", "--shop", "acme", "--kind", "push", "--dry-runs"])
    assert "run push-dry" in dry.stdout and "UNCHANGED" in dry.stdout
