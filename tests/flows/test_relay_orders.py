"""Flow ``relay-orders`` end to end on the sandbox, with a Prefect API (artifacts, run name)."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tasks"))
from test_relay_kit import add_orders, map_skus, order, scenario, shop_config

from sandbox.stack import sandbox_stack
from tasks.warehouse import open_shop


async def _artifacts(keys: list[str]) -> dict[str, str]:
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
        )
    return {a.key: str(a.data) for a in found}


@pytest.mark.usefixtures("prefect_api")
def test_relay_orders_flow_publishes_report_and_artifacts(tmp_path, monkeypatch, data_dirs):
    from flows.relay_orders import relay_orders

    with sandbox_stack(scenario()) as stack:
        shop = shop_config(stack, tmp_path, "amazon", monkeypatch)
        map_skus(shop, ["1001001", "1002001"])
        [fba] = add_orders(stack, order(("1001001", 2)))
        [mfn] = add_orders(stack, order(("1002001", 1), shipping_type="TIKTOK"))
        state = relay_orders(shop="az", return_state=True)
        recipients = [o["recipient"] for o in stack.emulator("tiktok").snapshot()["orders"]]

    summary = state.result()
    assert summary["reasons"] == {"RELAYED": 1, "NOT_FBA": 1}
    assert Path(summary["report"]).exists()
    with open_shop("az") as con:
        runs = con.execute("SELECT flow, status FROM runs").fetchall()
        rows = con.execute("SELECT tiktok_order_id, reason FROM order_report").fetchall()
    assert runs == [("relay-orders", "COMPLETED")]
    assert sorted(rows) == sorted([(fba, "RELAYED"), (mfn, "NOT_FBA")])

    artifacts = asyncio.run(_artifacts(["order-report-az", "order-summary-az"]))
    assert set(artifacts) == {"order-report-az", "order-summary-az"}
    assert fba in artifacts["order-report-az"]
    text = " ".join(artifacts.values())
    for r in recipients:
        for value in (r["last_name"], r["phone"], r["address_line1"]):
            assert value not in text
