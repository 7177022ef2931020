"""Building connectors from a shop's configuration: every client is built here.

The only place credentials are resolved (env var or Prefect Secret block, through
:func:`skubridge.config.resolve_secret`) and handed to the connectors as values; the
connectors themselves never read the environment. Errors name the shops file, the shop
and the field (e.g. ``amazon.refresh_token``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from connectors.base import StoreApi, TikTokApi
from skubridge.config import ShopConfig, resolve_secret


def _secret(shop: ShopConfig, section: str, settings: Any, name: str) -> str:
    return resolve_secret(
        getattr(settings, name), shop_id=shop.id, field=f"{section}.{name}", file=shop.source_file
    )


def tiktok_client(shop: ShopConfig, **kwargs: Any) -> TikTokApi:
    """The shop's TikTok client (``kwargs`` go to ``TikTokClient``: rate_scale, transport...)."""
    from connectors.tiktok import TikTokClient

    tt = shop.tiktok
    refresh = _secret(shop, "tiktok", tt, "refresh_token") if tt.refresh_token else None
    if tt.refresh_token and "on_token_refresh" not in kwargs:
        kwargs["on_token_refresh"] = _rotation_keeper(shop.id, tt.refresh_token, refresh)
    return TikTokClient(
        app_key=_secret(shop, "tiktok", tt, "app_key"),
        app_secret=_secret(shop, "tiktok", tt, "app_secret"),
        access_token=_secret(shop, "tiktok", tt, "access_token"),
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
    """The shop's store client: Shopify or Amazon, per ``shop.store`` (``kwargs`` go to the
    client's constructor and win over the shop's settings)."""
    if shop.store == "shopify":
        from connectors.shopify import ShopifyClient

        settings = shop.shopify
        assert settings is not None  # guaranteed by ShopConfig validation
        return ShopifyClient(
            endpoint_url=settings.endpoint,
            access_token=_secret(shop, "shopify", settings, "access_token"),
            **{"location_ids": settings.location_ids or None, **kwargs},
        )
    from connectors.amazon import AmazonClient

    amazon = shop.amazon
    assert amazon is not None  # guaranteed by ShopConfig validation
    return AmazonClient(
        endpoint=amazon.endpoint,
        lwa_url=amazon.lwa_url,
        client_id=_secret(shop, "amazon", amazon, "lwa_client_id"),
        client_secret=_secret(shop, "amazon", amazon, "lwa_client_secret"),
        refresh_token=_secret(shop, "amazon", amazon, "refresh_token"),
        seller_id=amazon.seller_id,
        marketplace_id=amazon.marketplace_id,
        **{"shipping_speed": amazon.shipping_speed, "families": amazon.families, **kwargs},
    )
