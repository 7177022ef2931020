"""Keeping a rotated TikTok refresh token where the shop's credentials live.

TikTok's token refresh answers with a new ``refresh_token`` and its own
``refresh_token_expire_in`` (Refresh access token,
https://partner.tiktokshop.com/docv2/page/678e3a3292b0f40314a92d75). Kept only in memory,
the new token is lost when the run ends, and once the configured one expires the shop can
no longer be reached. So:

- ``block:NAME``: the Prefect Secret block is overwritten with the new token
  (https://docs.prefect.io/v3/develop/blocks);
- ``env:NAME``: skubridge cannot change the environment; it logs a warning with the exact
  action (never the token itself).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime

log = logging.getLogger("skubridge.connectors.token_store")


def _when(expires_at: object) -> str:
    try:
        return datetime.fromtimestamp(int(expires_at), UTC).strftime("%Y-%m-%d %H:%M UTC")  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError, OSError):
        return "an unknown date"


async def store_rotated_refresh_token(
    ref: str, token: str, *, shop_id: str, expires_at: object = None
) -> str:
    """Persist ``token`` behind the secret reference ``ref``; returns what was done:
    ``"stored"`` (Secret block updated) or ``"warned"`` (env reference: warning logged)."""
    kind, _, name = ref.partition(":")
    if kind == "block":
        from prefect.blocks.system import Secret

        await Secret(value=token).asave(name, overwrite=True)
        log.info(
            "shop %s: TikTok rotated the refresh token; stored in Prefect Secret block %r "
            "(valid until %s)",
            shop_id,
            name,
            _when(expires_at),
        )
        return "stored"
    log.warning(
        "shop %s: TikTok issued a new refresh token (valid until %s) but tiktok.refresh_token "
        "is env:%s, which skubridge cannot update. Before the configured token expires, "
        "either point tiktok.refresh_token at a Prefect Secret block (block:NAME) so rotated "
        "tokens are stored automatically, or re-authorize the shop and set %s to the new "
        "refresh token.",
        shop_id,
        _when(expires_at),
        name,
        name,
    )
    return "warned"
