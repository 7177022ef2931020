"""sync-shop end to end against the sandbox: the whole cycle, and a failed step."""

from __future__ import annotations

import json
import time

import pytest

from sandbox.fixture import Fixture
from sandbox.generator import generate_fixture
from sandbox.stack import sandbox_stack
from tasks.warehouse import connect

pytestmark = [pytest.mark.usefixtures("prefect_api"), pytest.mark.slow]


@pytest.fixture
def shopify_shop(tmp_path, data_dirs, monkeypatch):
    scenario = generate_fixture(
        60, seed=3, store="shopify", orders=3, orders_start=int(time.time()) - 3600
    )
    with sandbox_stack(scenario.fixture) as stack:
        for key, value in stack.env().items():
            monkeypatch.setenv(key, value)
        shops = stack.write_shops_file(tmp_path / "shops.toml", [("shop-a", "shopify")])
        monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(shops))
        yield stack, data_dirs[0] / "shop-a.duckdb"


def _runs(db):
    con = connect(db, read_only=True)
    try:
        cur = con.execute(
            "SELECT run_id, flow, status, failed_step, error, summary FROM runs ORDER BY started_at"
        )
        return [
            dict(zip([d[0] for d in cur.description], row, strict=True)) for row in cur.fetchall()
        ]
    finally:
        con.close()


def test_whole_cycle_maps_pushes_and_relays(shopify_shop):
    from flows.sync_shop import sync_shop

    stack, db = shopify_shop
    sync_shop("shop-a", steps=["catalog"])  # products are mapped before the new orders
    time.sleep(1.1)  # TikTok times are whole seconds: new orders must be later than mapped_at
    stack.admin(
        "tiktok",
        "POST",
        "orders",
        json={
            "generate": 6,
            "seed": 1,
            "status": "AWAITING_SHIPMENT",
            "shipping_type_mix": {"SELLER": 1.0},
        },
    )
    result = sync_shop("shop-a")

    assert [s for s in result["steps"]] == ["catalog", "push", "relay"]
    assert all(o["status"] == "COMPLETED" for o in result["steps"].values())
    runs = _runs(db)
    flows = [r["flow"] for r in runs]
    assert flows[2:] == ["sync-shop", "sync-catalog", "push-prices-and-stock", "relay-orders"]
    assert runs[2]["status"] == "COMPLETED" and runs[2]["failed_step"] is None
    con = connect(db, read_only=True)
    try:
        mapped = con.execute("SELECT count(*) FROM mappings").fetchone()[0]
        relayed = con.execute(
            "SELECT count(*) FROM order_ledger WHERE state = 'RELAYED'"
        ).fetchone()[0]
    finally:
        con.close()
    assert mapped > 0
    # the store now holds exactly the relayed orders, one per TikTok order
    orders = stack.admin("shopify", "GET", "state")["orders"]
    assert relayed > 0 and len(orders) == relayed
    assert len({o["source_identifier"] for o in orders}) == len(orders)


def test_failed_catalog_skips_push_but_relays_and_records_the_step(shopify_shop):
    from flows.sync_shop import SyncShopFailed, sync_shop

    stack, db = shopify_shop
    sync_shop("shop-a", steps=["catalog"])  # an accepted catalog to compare against
    stack.load(Fixture())  # the store catalog collapses to nothing
    with pytest.raises(SyncShopFailed, match="catalog"):
        sync_shop("shop-a")
    last = [r for r in _runs(db) if r["flow"] == "sync-shop"][-1]
    assert last["status"] == "FAILED"
    assert last["failed_step"] == "catalog"
    assert "catalog" in last["error"]
    steps = json.loads(last["summary"])
    assert steps["push"]["status"] == "SKIPPED"
    assert steps["relay"]["status"] == "COMPLETED"
    # The sync-shop run page itself says which step failed, why, and links the child runs.
    page = _latest_artifact("sync-shop-shop-a")
    assert page.data.startswith("# sync-shop shop-a: FAILED at catalog")
    assert "**catalog failed**: " in page.data and "catalog checks failed" in page.data
    assert "[catalog run](" in page.data and "[relay run](" in page.data
    steps_table = _latest_artifact("sync-shop-steps-shop-a")
    assert _flow_of(steps_table.flow_run_id) == "sync-shop" == _flow_of(page.flow_run_id)
    rows = {r["step"]: r for r in json.loads(steps_table.data)}
    assert rows["catalog"]["status"] == "FAILED" and rows["catalog"]["reason"]
    assert (
        rows["relay"]["run"].startswith("[relay run](")
        and "/runs/flow-run/" in rows["relay"]["run"]
    )
    assert rows["relay"]["reports"]  # the relay's report folder
    con = connect(db, read_only=True)
    try:  # the previous catalog and mappings are kept
        assert con.execute("SELECT count(*) FROM catalog_variants").fetchone()[0] > 0
        assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] > 0
    finally:
        con.close()


def test_sync_command_runs_the_whole_cycle(shopify_shop):
    from typer.testing import CliRunner

    from skubridge.cli import app

    result = CliRunner().invoke(app, ["sync", "--shop", "shop-a", "--dry-run"])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "shop shop-a: catalog sync COMPLETED" in out
    assert "shop shop-a: push COMPLETED" in out
    assert "shop shop-a: relay COMPLETED" in out
    assert "mapping_report.csv" in out


def test_sync_command_prints_its_own_run_not_the_latest_started(shopify_shop):
    """Another sync-shop run of the shop that started later (another worker, a trigger)
    must not be what `skubridge sync` reports for its own run."""
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from skubridge.cli import app
    from tasks.warehouse import open_shop

    other = {"catalog": {"status": "FAILED", "error": "OTHER RUN'S ERROR"}}
    with open_shop("shop-a") as con:
        con.execute(
            "INSERT INTO runs (run_id, flow, shop_id, started_at, status, summary)"
            " VALUES ('someone-else', 'sync-shop', 'shop-a', ?, 'RUNNING', ?)",
            [datetime.now(UTC) + timedelta(minutes=5), json.dumps(other)],
        )

    result = CliRunner().invoke(app, ["sync", "--shop", "shop-a", "--dry-run"])

    assert result.exit_code == 0, result.output
    assert "OTHER RUN'S ERROR" not in result.stdout
    assert "shop shop-a: catalog sync COMPLETED" in result.stdout
    assert "shop shop-a: relay COMPLETED" in result.stdout


def _latest_artifact(key: str):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key}"
    return found[0]


def _flow_of(flow_run_id) -> str:
    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        return client.read_flow(client.read_flow_run(flow_run_id).flow_id).name
