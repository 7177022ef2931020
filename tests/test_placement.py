"""Shop placement: the `queue` field, the worker's declaration, the fan-out and reruns.

A run that lands on a worker without the shop's DuckDB file must fail at once, naming the
shop, its queue and the worker, and create nothing (tasks/placement.py); `sync-all` and
`skubridge rerun` send each shop's run to its queue (``run_deployment(...,
work_queue_name=...)``).
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from skubridge.cli import app
from skubridge.config import ConfigError, load_shops
from tasks.placement import ShopNotHereError
from tasks.warehouse import open_shop

SHOP = """
[[shops]]
id = "{id}"
store = "shopify"
{queue}
[shops.tiktok]
app_key = "env:K"
app_secret = "env:S"
access_token = "env:T"

[shops.shopify]
shop_domain = "{id}.myshopify.com"
access_token = "env:X"
"""


@pytest.fixture
def shops(tmp_path, data_dirs, monkeypatch):
    """Three shops: `north` on queue node-a, `south` on node-b, `loose` unpinned."""
    text = (
        SHOP.format(id="north", queue='queue = "node-a"')
        + SHOP.format(id="south", queue='queue = "node-b"')
        + SHOP.format(id="loose", queue="")
    )
    path = tmp_path / "shops.toml"
    path.write_text(text, encoding="utf-8")
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
    monkeypatch.delenv("SKUBRIDGE_WORKER_QUEUES", raising=False)
    return data_dirs[0]


def test_queue_field_is_read_and_checked(shops, tmp_path):
    assert {s.id: s.queue for s in load_shops().shops} == {
        "north": "node-a",
        "south": "node-b",
        "loose": None,
    }
    bad = tmp_path / "bad.toml"
    bad.write_text(SHOP.format(id="x", queue='queue = "no spaces"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"shop 'x', field 'queue'"):
        load_shops(bad)


def test_run_on_a_worker_of_another_queue_fails_and_creates_nothing(shops, monkeypatch):
    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-b")
    monkeypatch.setenv("SKUBRIDGE_WORKER_NAME", "worker-b")
    with pytest.raises(ShopNotHereError) as caught, open_shop("north"):
        pass
    message = str(caught.value)
    assert "shop 'north'" in message
    assert "work queue 'node-a'" in message
    assert "worker 'worker-b'" in message
    assert "skubridge rerun --shop north" in message
    assert not (shops / "north.duckdb").exists()
    assert not shops.exists() or not any(shops.iterdir())


def test_a_stale_copy_on_the_wrong_worker_is_refused_too(shops, monkeypatch):
    with open_shop("north"):  # no declaration: a single machine creates the file
        pass
    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-b")
    refused = pytest.raises(ShopNotHereError, match="shop 'north' belongs to work queue 'node-a'")
    with refused, open_shop("north", read_only=True):
        pass


def test_worker_of_the_shops_queue_opens_and_creates_the_file(shops, monkeypatch):
    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-x, node-a")
    with open_shop("north") as con:
        assert con.execute("SELECT 1").fetchone() == (1,)
    assert (shops / "north.duckdb").exists()


def test_unpinned_shop_runs_on_a_pinned_worker_only_where_its_file_is(shops, monkeypatch):
    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-a")
    with pytest.raises(ShopNotHereError, match="shop 'loose' has no queue"), open_shop("loose"):
        pass
    assert not (shops / "loose.duckdb").exists()
    monkeypatch.delenv("SKUBRIDGE_WORKER_QUEUES")
    with open_shop("loose"):
        pass
    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-a")
    with open_shop("loose", read_only=True):
        pass


def test_sync_all_sends_each_shop_to_its_queue(shops, monkeypatch):
    from prefect.logging import disable_run_logger

    import flows.sync_all as sync_all_module

    calls: list[dict] = []

    class Run:
        def __init__(self, n: int) -> None:
            self.id = f"run-{n}"

    def fake_run_deployment(**kwargs):
        calls.append(kwargs)
        return Run(len(calls))

    monkeypatch.setattr(sync_all_module, "run_deployment", fake_run_deployment)
    monkeypatch.setattr(sync_all_module, "ensure_shop_limit", lambda shop: None)
    monkeypatch.setattr(
        sync_all_module,
        "_wait",
        lambda started, timeout: dict.fromkeys(started, ("COMPLETED", "")),
    )
    monkeypatch.setattr(sync_all_module, "table_artifact", lambda *a, **k: None)
    monkeypatch.setattr(sync_all_module, "markdown_artifact", lambda *a, **k: None)
    with disable_run_logger():
        outcome = sync_all_module.sync_all.fn(parameters={"dry_run": True})
    assert outcome == {"north": "COMPLETED", "south": "COMPLETED", "loose": "COMPLETED"}
    sent = {c["parameters"]["shop"]: (c["work_queue_name"], c["parameters"]) for c in calls}
    assert sent == {
        "north": ("node-a", {"dry_run": True, "shop": "north"}),
        "south": ("node-b", {"dry_run": True, "shop": "south"}),
        "loose": (None, {"dry_run": True, "shop": "loose"}),
    }
    assert {c["name"] for c in calls} == {"sync-shop/sync-shop"}


def test_rerun_command_starts_the_shops_run_on_its_queue(shops, monkeypatch):
    import prefect.deployments

    calls: list[dict] = []

    class Run:
        id = "0000"
        name = "quiet-fox"

    def fake_run_deployment(**kwargs):
        calls.append(kwargs)
        return Run()

    monkeypatch.setattr(prefect.deployments, "run_deployment", fake_run_deployment)
    result = CliRunner().invoke(
        app, ["rerun", "--shop", "south", "--param", 'steps=["relay"]', "-p", "dry_run=true"]
    )
    assert result.exit_code == 0, result.output
    assert "on work queue 'node-b'" in result.output
    assert calls == [
        {
            "name": "sync-shop/sync-shop",
            "parameters": {"steps": ["relay"], "dry_run": True, "shop": "south"},
            "timeout": 0,
            "as_subflow": False,
            "work_queue_name": "node-b",
        }
    ]
    unknown = CliRunner().invoke(app, ["rerun", "--shop", "nowhere"])
    assert unknown.exit_code == 2
    assert "no shop 'nowhere'" in unknown.output
    assert len(calls) == 1


@pytest.mark.usefixtures("prefect_api")
@pytest.mark.slow
def test_sync_shop_flow_on_the_wrong_worker_fails_naming_shop_queue_and_worker(shops, monkeypatch):
    from flows.sync_shop import sync_shop

    monkeypatch.setenv("SKUBRIDGE_WORKER_QUEUES", "node-b")
    monkeypatch.setenv("SKUBRIDGE_WORKER_NAME", "worker-b")
    state = sync_shop("north", return_state=True)
    assert state.is_failed()
    with pytest.raises(ShopNotHereError) as caught:
        state.result()
    assert "shop 'north'" in str(caught.value) and "'node-a'" in str(caught.value)
    assert "worker 'worker-b'" in str(caught.value)
    assert not (shops / "north.duckdb").exists()
