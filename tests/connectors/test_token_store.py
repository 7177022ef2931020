"""Rotated TikTok refresh tokens are kept where the shop's credentials live.

The emulator rotates the refresh token on every refresh (the answer carries a new
``refresh_token`` with its own expiry); the client built for a shop must persist it
(Prefect Secret block) or say exactly what to do (environment variable).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from connectors.factory import tiktok_client
from sandbox.server import serve_in_thread
from sandbox.tiktok import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
)
from skubridge.config import ShopConfig

CIPHER = "ROW_sandboxcipher0001"


@pytest.fixture
def tiktok() -> Iterator[tuple[Any, str]]:
    app = create_app(None)
    with serve_in_thread(app) as base:
        yield app, base


def shop(base: str, refresh_ref: str) -> ShopConfig:
    return ShopConfig.model_validate(
        {
            "id": "rot",
            "store": "shopify",
            "tiktok": {
                "app_key": "env:TT_KEY",
                "app_secret": "env:TT_SECRET",
                "access_token": "env:TT_ACCESS",
                "refresh_token": refresh_ref,
                "shop_cipher": CIPHER,
                "base_url": base,
                "auth_base_url": base,
            },
            "shopify": {"shop_domain": "x.myshopify.com", "access_token": "env:SHOPIFY_T"},
        }
    )


@pytest.fixture(autouse=True)
def env(monkeypatch) -> None:
    monkeypatch.setenv("TT_KEY", DEFAULT_APP_KEY)
    monkeypatch.setenv("TT_SECRET", DEFAULT_APP_SECRET)
    monkeypatch.setenv("TT_ACCESS", DEFAULT_ACCESS_TOKEN)
    monkeypatch.setenv("TT_REFRESH", DEFAULT_REFRESH_TOKEN)


async def refresh_once(app: Any, config: ShopConfig) -> str:
    """Force one token refresh through the shop's client; returns the new refresh token."""
    app.state.emulator.expire_access_tokens()
    client = tiktok_client(config, rate_scale=0)
    await client.warehouses()
    await client.aclose()
    rotated = app.state.emulator.credentials.current_refresh
    assert rotated != DEFAULT_REFRESH_TOKEN  # the emulator rotates (as TikTok may)
    return rotated


async def test_env_reference_gets_a_warning_with_the_exact_action(tiktok, caplog) -> None:
    app, base = tiktok
    caplog.set_level(logging.INFO, logger="skubridge")
    rotated = await refresh_once(app, shop(base, "env:TT_REFRESH"))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    [warning] = [w for w in warnings if "refresh token" in w]
    assert "shop rot" in warning and "env:TT_REFRESH" in warning
    assert "block:NAME" in warning and "set TT_REFRESH" in warning
    assert rotated not in caplog.text and DEFAULT_REFRESH_TOKEN not in caplog.text


async def test_block_reference_is_updated_in_place(tiktok, prefect_api) -> None:
    from prefect.blocks.system import Secret

    app, base = tiktok
    await Secret(value=DEFAULT_REFRESH_TOKEN).asave("tt-refresh-rot", overwrite=True)
    rotated = await refresh_once(app, shop(base, "block:tt-refresh-rot"))
    stored = await Secret.aload("tt-refresh-rot")
    assert stored.get() == rotated
