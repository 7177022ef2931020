"""Analysts read while runs go on: bounded waits, holders named, the relay lets readers in,
and every report is also ``reports/<shop>/latest/<report>.parquet``, replaced atomically."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from test_relay_kit import add_orders, map_skus, order, report_by_id, scenario, shop_config

from connectors.shopify import ShopifyClient
from sandbox.stack import SandboxStack
from tasks import reports, warehouse
from tasks.steps.orders import run_orders
from tasks.warehouse import WarehouseLockedError


def _holder(path: Path, *, read_only: bool, skubridge: bool = False) -> subprocess.Popen[str]:
    """Another process holding ``path``: prints ready, closes on a line on stdin, says
    closed, then waits for stdin to end."""
    opener = (
        f"from tasks.warehouse import connect; con = connect({str(path)!r})"
        if skubridge
        else f"import duckdb; con = duckdb.connect({str(path)!r}, read_only={read_only})"
    )
    code = textwrap.dedent(
        f"""
        import sys
        {opener}
        con.execute("SELECT count(*) FROM runs").fetchall()
        print("ready", flush=True)
        sys.stdin.readline()
        con.close()
        print("closed", flush=True)
        sys.stdin.read()
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])},
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    return proc


def _release(proc: subprocess.Popen[str]) -> None:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("close\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip() == "closed"


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "acme.duckdb"
    warehouse.connect(path).close()
    return path


def test_open_waits_for_an_analysts_reader_then_runs(db: Path) -> None:
    analyst = _holder(db, read_only=True)
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        if len(waits) == 3:  # the analyst closes the notebook while the run waits
            _release(analyst)

    try:
        con = warehouse.connect(db, wait_seconds=60, sleep=sleep)
        con.execute("INSERT INTO watermarks VALUES ('x', now(), now())")
        con.close()
    finally:
        analyst.communicate("", timeout=30)
    assert len(waits) == 3  # tried, waited, tried again: no failure


def test_busy_file_names_a_reader_and_points_to_parquet(db: Path) -> None:
    analyst = _holder(db, read_only=True)
    waits: list[float] = []
    try:
        with pytest.raises(WarehouseLockedError) as caught:
            warehouse.connect(db, wait_seconds=0.2, sleep=waits.append)
    finally:
        analyst.communicate("", timeout=30)
    message = str(caught.value)
    assert f"process {analyst.pid}" in message and "open for reading" in message
    assert "reports/<shop>/latest/" in message and "skubridge run" not in message
    assert waits and sum(waits) == pytest.approx(0.2)  # bounded: waited the budget, no more


def test_busy_file_names_a_skubridge_run(db: Path) -> None:
    run = _holder(db, read_only=False, skubridge=True)
    try:
        with pytest.raises(WarehouseLockedError) as caught:
            warehouse.connect(db, read_only=True, wait_seconds=0)
    finally:
        run.communicate("", timeout=30)
    message = str(caught.value)
    assert f"a skubridge run (process {run.pid}" in message


def test_busy_file_names_another_writer(db: Path) -> None:
    other = _holder(db, read_only=False)
    try:
        with pytest.raises(WarehouseLockedError) as caught:
            warehouse.connect(db, wait_seconds=0)
    finally:
        other.communicate("", timeout=30)
    message = str(caught.value)
    assert f"process {other.pid}" in message and "not a skubridge run" in message


# ----- the relay lets a reader in while it waits on the store -----------------------------


@pytest.fixture(scope="module")
def stack_fixture():
    return scenario()


def test_relay_does_not_hold_the_file_during_store_calls(
    stack: SandboxStack, data_dirs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack.load(scenario())
    shop = shop_config(stack, tmp_path, "shopify", monkeypatch)
    map_skus(shop, ["1001001", "1001002"])
    [oid] = add_orders(stack, order(("1001001", 1)))
    path = warehouse.shop_db_path(shop.id)
    seen: list[int] = []
    create = ShopifyClient.create_order

    async def create_order(self: ShopifyClient, request: Any) -> Any:
        import asyncio

        await asyncio.sleep(0)  # the loop turns once, as any network wait does
        # An analyst's process opens the file read-only while the run waits on the store.
        out = subprocess.run(
            [
                sys.executable,
                "-c",
                "import duckdb,sys; c = duckdb.connect(sys.argv[1], read_only=True); "
                "print(c.execute('SELECT count(*) FROM order_ledger').fetchone()[0])",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        seen.append(int(out.stdout))
        return await create(self, request)

    monkeypatch.setattr(ShopifyClient, "create_order", create_order)
    monkeypatch.setattr(warehouse.ShopLease, "__init__", _lease_init_idle_zero)
    outcome = run_orders(shop, run_id="reader-run")
    assert report_by_id(outcome.frame())[oid]["reason"] == "RELAYED"
    assert seen == [1]  # the reader saw the claimed (PENDING) ledger row
    latest = data_dirs[1] / shop.id / "latest" / "order_report.parquet"
    assert pd.read_parquet(latest)["tiktok_order_id"].tolist() == [oid]


_original_init = warehouse.ShopLease.__init__


def _lease_init_idle_zero(self: warehouse.ShopLease, shop_id: str, **kwargs: Any) -> None:
    _original_init(self, shop_id, **{**kwargs, "idle_seconds": 0.0})


# ----- latest Parquet files ----------------------------------------------------------------


def test_latest_parquet_is_replaced_atomically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "reports"
    con = warehouse.connect(tmp_path / "s.duckdb")
    replaced: list[tuple[str, str]] = []
    real_replace = reports.os.replace

    def spy(src: Any, dst: Any) -> None:
        if Path(dst).parent.name == "latest":
            assert Path(src).parent == Path(dst).parent  # same folder: a rename, not a copy
            assert len(pd.read_parquet(src)) > 0  # complete before it is renamed
            replaced.append((Path(src).name, Path(dst).name))
        real_replace(src, dst)

    monkeypatch.setattr(reports.os, "replace", spy)
    for run, rows in (("20261208T030100-aaaa", 2), ("20261208T040100-bbbb", 3)):
        frame = pd.DataFrame(
            {
                "tiktok_product_id": ["p"] * rows,
                "tiktok_sku_id": [f"s{i}" for i in range(rows)],
                "field": "price",
                "old": "1",
                "new": "2",
                "status": "UPDATED",
                "error": None,
            }
        )
        folder = reports.run_report_dir("s", run, root=root)
        reports.publish_report(
            con, table="push_report", run_id=run, frame=frame, folder=folder, name="push_report"
        )
    latest = root / "s" / "latest" / "push_report.parquet"
    assert len(pd.read_parquet(latest)) == 3  # the newer run's rows
    assert [target for _, target in replaced] == ["push_report.parquet"] * 2
    assert all(
        source.startswith(".push_report.parquet.") and source.endswith(".partial")
        for source, _ in replaced
    )
    assert sorted(p.name for p in latest.parent.iterdir()) == ["push_report.parquet"]
    # A dry run leaves the latest file alone.
    folder = reports.run_report_dir("s", "20261208T050100-cccc", root=root)
    reports.publish_report(
        con,
        table="push_report",
        run_id="dry",
        frame=frame.head(1),
        folder=folder,
        name="push_report",
        latest=False,
    )
    assert len(pd.read_parquet(latest)) == 3
    con.close()


def test_run_folders_sort_by_time(tmp_path: Path) -> None:
    root = tmp_path / "reports"
    uuid = "1f2e3d4c-aaaa-bbbb-cccc-0123456789ab"
    first = reports.run_report_dir("s", uuid, root=root)
    assert first.name.endswith("Z-1f2e3d4c") and first.name[:8].isdigit()
    assert reports.run_report_dir("s", uuid, root=root) == first  # found again
    assert reports.run_report_dir("s", uuid + "-push", root=root).name.endswith("-1f2e3d4c-push")
    stamped = reports.run_report_dir("s", "20261208T030100-abcd1234", root=root)
    assert stamped.name == "20261208T030100-abcd1234"
