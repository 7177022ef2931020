"""What the Prefect pages show: parameter descriptions on every deployment's run form, run
names that tell cycles, relay fan-outs and dry runs apart, unknown shops failing at once."""

from __future__ import annotations

import importlib
from pathlib import Path
from unittest import mock

import pytest
import yaml
from prefect.utilities.callables import parameter_schema

from flows import naming
from skubridge.config import ConfigError

ROOT = Path(__file__).parents[2]


def _deployment_flows():
    spec = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    for deployment in spec["deployments"]:
        path, name = deployment["entrypoint"].split(":")
        module = importlib.import_module(path.removesuffix(".py").replace("/", "."))
        yield deployment["name"], getattr(module, name)


@pytest.mark.parametrize("name, flow", list(_deployment_flows()))
def test_every_deployment_parameter_has_a_description(name, flow):
    """Prefect renders the flow docstring's Args as the run form's field descriptions."""
    properties = parameter_schema(flow.fn).model_dump()["properties"]
    assert properties, name
    missing = [p for p, spec in properties.items() if not spec.get("description")]
    assert missing == [], f"{name}: no description for {missing}"


def _name(flow: str, params: dict, subject=None) -> str:
    with mock.patch("prefect.runtime.flow_run.parameters", params):
        made = naming.run_name(flow, subject) if subject else naming.run_name(flow)
        return made().rsplit("-", 2)[0]  # without the time stamp


def test_run_names_tell_cycles_relay_fan_outs_and_dry_runs_apart():
    fan = naming.fan_out_subject
    assert _name("sync-all", {}, fan) == "sync-all-cycle"
    relay = {"deployment": "relay-orders/relay-orders"}
    assert _name("sync-all", relay, fan) == "sync-all-relay"
    dry = {"deployment": "sync-shop/sync-shop", "parameters": {"dry_run": True}}
    assert _name("sync-all", dry, fan) == "sync-all-cycle-dry-run"
    steps = naming.shop_and_steps
    assert _name("sync-shop", {"shop": "acme"}, steps) == "sync-shop-acme"
    only = {"shop": "acme", "steps": ["relay"]}
    assert _name("sync-shop", only, steps) == "sync-shop-acme-relay"
    assert _name("sync-shop", {"shop": "acme", "dry_run": True}, steps) == "sync-shop-acme-dry-run"


@pytest.mark.parametrize(
    "module, name, args",
    [
        ("flows.relay_orders", "relay_orders", {}),
        ("flows.push_prices_and_stock", "push_prices_and_stock", {}),
        ("flows.sync_catalog", "sync_catalog", {}),
        ("flows.sync_shop", "sync_shop", {}),
        ("flows.map_product", "map_product", {"tiktok_product_id": "1", "store_product_id": "2"}),
    ],
)
def test_unknown_shop_fails_at_once_listing_the_configured_ones(
    module, name, args, tmp_path, monkeypatch
):
    shops = tmp_path / "shops.toml"
    shops.write_text(
        '[[shops]]\nid = "acme"\nstore = "shopify"\n[shops.tiktok]\napp_key = "env:K"\n'
        'app_secret = "env:S"\naccess_token = "env:A"\n[shops.shopify]\n'
        'shop_domain = "x.myshopify.com"\naccess_token = "env:T"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(shops))
    flow = getattr(importlib.import_module(module), name)
    held = mock.MagicMock()
    # .fn: the flow body without a Prefect run; nothing may be held or started first
    with (
        mock.patch(f"{module}.hold_shop", held, create=True),
        pytest.raises(ConfigError, match=r"no shop 'nope' \(configured: acme\)"),
    ):
        flow.fn(shop="nope", **args)
    held.assert_not_called()


def test_sync_all_summary_has_state_reason_and_link_per_shop(monkeypatch):
    """The fan-out's own page: per shop the final state, why it failed and its run."""
    from types import SimpleNamespace

    from prefect.client.schemas.objects import State, StateType

    from flows import sync_all

    states = {
        "run-a": State(type=StateType.COMPLETED, message="All states completed."),
        "run-b": State(
            type=StateType.FAILED,
            message="Flow run encountered an exception: SyncShopFailed: shop b: catalog failed",
        ),
    }

    class Client:
        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read_flow_run(self, run_id):
            return SimpleNamespace(state=states[run_id])

    monkeypatch.setattr(sync_all, "get_client", lambda sync_client: Client())
    shops = [SimpleNamespace(id=shop, queue=None) for shop in ("a", "b")]
    monkeypatch.setattr(sync_all, "load_shops", lambda: SimpleNamespace(shops=shops))
    monkeypatch.setattr(sync_all, "ensure_shop_limit", lambda shop: None)
    monkeypatch.setattr(sync_all, "choose_shops", lambda shops: ["a", "b"])
    runs = iter(["run-a", "run-b"])
    monkeypatch.setattr(sync_all, "run_deployment", lambda **kw: SimpleNamespace(id=next(runs)))
    published: dict[str, object] = {}
    monkeypatch.setattr(
        sync_all, "table_artifact", lambda key, frame, **kw: published.setdefault(key, frame)
    )
    monkeypatch.setattr(
        sync_all, "markdown_artifact", lambda key, text, **kw: published.setdefault(key, text)
    )
    monkeypatch.setattr(sync_all, "get_run_logger", lambda: mock.MagicMock())
    with pytest.raises(sync_all.SyncAllFailed, match="1 of 2 shop"):
        sync_all.sync_all.fn()
    text = str(published["sync-all-summary"])
    assert "1 not completed (b)" in text
    # the child's reason without its wrapping, the link before it (kept on screen)
    assert "| b | FAILED | [b run](" in text and "/runs/flow-run/run-b) | catalog failed |" in text
    frame = published["sync-all-outcomes"]
    assert frame.set_index("shop").loc["a", "reason"] == ""  # type: ignore[union-attr]
