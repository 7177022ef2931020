"""`skubridge relay --shop S [--dry-run]` against the sandbox."""

from __future__ import annotations

import pytest
from test_relay_kit import add_orders, map_skus, order, scenario, shop_config, store_orders
from typer.testing import CliRunner

from sandbox.stack import sandbox_stack
from skubridge.cli import app


def test_cli_relays_and_prints_summary(tmp_path, monkeypatch, data_dirs):
    runner = CliRunner()
    with sandbox_stack(scenario()) as stack:
        shop = shop_config(stack, tmp_path, "shopify", monkeypatch)
        map_skus(shop, ["1001001"])
        [masked] = add_orders(stack, order(("1001001", 1), shipping_type="TIKTOK"))
        [unmapped] = add_orders(stack, order(("1003001", 1)))

        dry = runner.invoke(app, ["relay", "--shop", "sh", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "Dry run" in dry.output and store_orders(stack, "shopify") == {}

        result = runner.invoke(app, ["relay", "--shop", "sh"])
        assert result.exit_code == 0, result.output
        assert store_orders(stack, "shopify") == {masked: 1}
    assert "RELAYED: 1" in result.output
    assert "UNMAPPED_LINE: 1" in result.output
    assert "warning MASKED_BUYER (1)" in result.output and "Seller Shipping" in result.output
    assert "order_report.csv" in result.output
    assert unmapped


def test_cli_unknown_shop_exits_with_message(tmp_path, monkeypatch, data_dirs):
    (tmp_path / "shops.toml").write_text("")
    result = CliRunner().invoke(
        app, ["relay", "--shop", "nope", "--shops-file", str(tmp_path / "shops.toml")]
    )
    assert result.exit_code == 2
    assert "no [[shops]] table" in result.output


@pytest.mark.usefixtures("prefect_api")
def test_cli_relay_and_push_wait_for_the_shop_slot(tmp_path, monkeypatch, data_dirs):
    """A flow of the shop holds its slot: `relay` and `push` create nothing and say so."""

    from skubridge.commands import slot
    from tests.shop_slot import held_elsewhere

    monkeypatch.setattr(slot, "SLOT_WAIT_SECONDS", 1.0)
    runner = CliRunner()
    with sandbox_stack(scenario()) as stack:
        shop = shop_config(stack, tmp_path, "shopify", monkeypatch)
        map_skus(shop, ["1001001"])
        [oid] = add_orders(stack, order(("1001001", 1)))
        with held_elsewhere("sh"):
            relay = runner.invoke(app, ["relay", "--shop", "sh"])
            push = runner.invoke(app, ["push", "--shop", "sh"])
        assert store_orders(stack, "shopify") == {}
        after = runner.invoke(app, ["relay", "--shop", "sh"])
        assert after.exit_code == 0, after.output
        assert store_orders(stack, "shopify") == {oid: 1}
    for result, command in ((relay, "relay"), (push, "push")):
        assert result.exit_code == 3, result.output
        assert f"skubridge {command}: shop 'sh' is busy" in result.output
        assert "Nothing was written" in result.output
