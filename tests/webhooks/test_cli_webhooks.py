"""`skubridge webhooks serve|register`: the refusals that happen before anything listens."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, temporary_settings
from typer.testing import CliRunner

from skubridge.cli import app

runner = CliRunner()


def test_serve_refuses_to_start_without_a_prefect_server(
    shops_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    # The session's prefect_test_harness (tests/conftest.py) sets PREFECT_API_URL in the
    # settings context for every later test; drop it here so the refusal is what is tested.
    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        result = runner.invoke(app, ["webhooks", "serve", "--shops-file", str(shops_file)])
    assert result.exit_code == 2
    assert "PREFECT_API_URL is not set" in result.output


def test_serve_names_file_shop_and_field_of_a_missing_secret(
    shops_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:9/api")
    monkeypatch.delenv("B_SHOPIFY_HOOKS")
    result = runner.invoke(app, ["webhooks", "serve", "--shops-file", str(shops_file)])
    assert result.exit_code == 2
    assert str(shops_file) in result.output
    assert "shop 'shop-b', field 'shopify.webhook_secret'" in result.output
    assert "B_SHOPIFY_HOOKS is not set" in result.output
    unknown = runner.invoke(
        app, ["webhooks", "serve", "--shops-file", str(shops_file), "--shop", "nope"]
    )
    assert unknown.exit_code == 2 and "no shop 'nope'" in unknown.output


def test_register_refuses_a_url_that_is_not_http(shops_file: Path) -> None:
    result = runner.invoke(
        app,
        [
            "webhooks",
            "register",
            "--shop",
            "shop-a",
            "--url",
            "hooks.example.com",
            "--shops-file",
            str(shops_file),
        ],
    )
    assert result.exit_code == 2 and "https://" in result.output
