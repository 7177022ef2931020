"""Building connectors from a shop's configuration.

The only place credentials are resolved (env var or Prefect Secret block, through
:func:`skubridge.config.resolve_secret`) and handed to the connectors as values; the
connectors themselves never read the environment.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connectors.base import StoreApi, TikTokApi
from skubridge.config import ShopConfig, resolve_secret


def tiktok_client(shop: ShopConfig, **kwargs: Any) -> TikTokApi:
    """The shop's TikTok client (``kwargs`` go to ``TikTokClient``: rate_scale, transport...)."""
    from connectors.tiktok import TikTokClient

    tt = shop.tiktok

    def secret(field: str) -> str:
        return resolve_secret(
            getattr(tt, field), shop_id=shop.id, field=f"tiktok.{field}", file=shop.source_file
        )

    refresh = secret("refresh_token") if tt.refresh_token else None
    if tt.refresh_token and "on_token_refresh" not in kwargs:
        kwargs["on_token_refresh"] = _rotation_keeper(shop.id, tt.refresh_token, refresh)
    return TikTokClient(
        secret("app_key"),
        secret("app_secret"),
        secret("access_token"),
        refresh_token=refresh,
        shop_cipher=tt.shop_cipher,
        shop_id=tt.shop_id,
        base_url=tt.base_url,
        auth_base_url=tt.auth_base_url,
        **kwargs,
    )


def _rotation_keeper(
    shop_id: str, ref: str, current: str | None
) -> Callable[[dict[str, Any]], Awaitable[None]]:
    """``on_token_refresh`` for a shop: a rotated refresh token is persisted where the
    reference points (connectors/token_store.py), once per new token."""
    from connectors.token_store import store_rotated_refresh_token

    known = {"token": current}

    async def keep(answer: dict[str, Any]) -> None:
        token = answer.get("refresh_token")
        if not token or token == known["token"]:
            return
        known["token"] = str(token)
        await store_rotated_refresh_token(
            ref, str(token), shop_id=shop_id, expires_at=answer.get("refresh_token_expire_in")
        )

    return keep


def store_client(shop: ShopConfig, **kwargs: Any) -> StoreApi:
    """The shop's store client: Shopify or Amazon, per ``shop.store``."""
    if shop.store == "shopify":
        from connectors.shopify import ShopifyClient

        settings = shop.shopify
        assert settings is not None  # guaranteed by ShopConfig validation
        token = resolve_secret(
            settings.access_token,
            shop_id=shop.id,
            field="shopify.access_token",
            file=shop.source_file,
        )
        return ShopifyClient(
            settings.endpoint, token, location_ids=settings.location_ids or None, **kwargs
        )
    from connectors.amazon import client_from_settings

    assert shop.amazon is not None  # guaranteed by ShopConfig validation
    return client_from_settings(shop.amazon, shop_id=shop.id, file=shop.source_file, **kwargs)
