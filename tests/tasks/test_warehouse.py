"""The per-shop DuckDB warehouse: migrations, the one-writer lock, file mode, bulk insert."""

from __future__ import annotations

import stat
import subprocess
import sys
import textwrap
from datetime import UTC, datetime

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from tasks import warehouse
from tasks.warehouse import WarehouseError, WarehouseLockedError


def tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()
    ]


def test_migrations_apply_once(tmp_path):
    path = tmp_path / "shop.duckdb"
    con = warehouse.connect(path)
    try:
        versions = [v for v, _, _ in warehouse.migrations()]
        assert warehouse.schema_version(con) == max(versions)
        recorded = con.execute("SELECT version FROM schema_version ORDER BY 1").fetchall()
        assert [r[0] for r in recorded] == versions
        before = tables(con)
        assert {"runs", "staged_variants", "mappings", "push_ledger", "order_ledger"} <= set(before)
        assert warehouse.migrate(con) == []  # second run: nothing to do
        assert tables(con) == before
        assert con.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(versions)
    finally:
        con.close()
    with warehouse.open_shop("shop", folder=tmp_path) as again:  # reopening migrates nothing
        assert warehouse.schema_version(again) == max(versions)
        assert again.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(versions)


def test_second_writer_process_gets_locked_error(tmp_path):
    path = tmp_path / "acme.duckdb"
    warehouse.connect(path).close()
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(
                f"""
                import sys, duckdb
                con = duckdb.connect({str(path)!r})
                print("ready", flush=True)
                sys.stdin.read()
                """
            ),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        with pytest.raises(WarehouseLockedError) as caught:
            warehouse.connect(path, wait_seconds=0)
        message = str(caught.value)
        assert str(path) in message and "not a skubridge run" in message
        assert f"process {holder.pid}" in message
    finally:
        holder.communicate("", timeout=30)
    warehouse.connect(path).close()  # free again once the holder is gone


def test_files_are_owner_only(tmp_path):
    folder = tmp_path / "new-data-dir"
    with warehouse.open_shop("private", folder=folder) as con:
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        path = folder / "private.duckdb"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        # DuckDB writes the WAL later under the process umask; the folder skubridge created
        # is owner-only, so others cannot reach it either way.
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        wal = folder / "private.duckdb.wal"
        assert wal.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_read_only_needs_an_existing_file(tmp_path):
    with pytest.raises(WarehouseError, match="no such warehouse file"):
        warehouse.connect(tmp_path / "absent.duckdb", read_only=True)
    assert not (tmp_path / "absent.duckdb").exists()


def test_insert_frame_bulk_by_column_name(tmp_path):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    frame = pd.DataFrame(
        {
            # columns in another order than the table, run_id last; others default to NULL
            "seller_sku": [f"SKU-{i}" for i in range(5000)],
            "channel": "tiktok",
            "quantity": range(5000),
            "extracted_at": now,
            "run_id": "run-1",
        }
    )
    arrow = pa.table(
        {
            "run_id": ["run-1"],
            "channel": ["shopify"],
            "price": pa.array([12.5]).cast(pa.decimal128(18, 4)),
            "extracted_at": pa.array([now]),
        }
    )
    with warehouse.open_shop("bulk", folder=tmp_path) as con:
        assert warehouse.insert_frame(con, "staged_variants", frame) == 5000
        assert warehouse.insert_frame(con, "staged_variants", arrow) == 1
        assert warehouse.insert_frame(con, "staged_variants", pd.DataFrame()) == 0
        rows = con.execute(
            "SELECT channel, count(*), sum(quantity), max(seller_sku), count(title), "
            "sum(price)::VARCHAR FROM staged_variants GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert rows == [("shopify", 1, None, None, 0, "12.5000"),
                        ("tiktok", 5000, sum(range(5000)), "SKU-999", 0, None)]  # fmt: skip
        with pytest.raises(ValueError, match="bad table name"):
            warehouse.insert_frame(con, "staged_variants; DROP TABLE runs", frame)


def test_sql_files_load(tmp_path):
    with pytest.raises(FileNotFoundError):
        warehouse.sql("no/such/file")
    migration = warehouse.sql("migrations/001_core")
    assert "CREATE TABLE IF NOT EXISTS runs" in migration
