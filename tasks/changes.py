"""What changed since the last accepted extracts, read for a push of what changed.

A store-change event (Shopify ``inventory_levels/update``, ``products/update``) needs the
new store values of the SKUs it concerns, not a whole catalog cycle. :func:`refresh_changes`
reads both sides' change sets (TikTok Search Products ``update_time_ge``, Shopify
``updated_at`` filters; see :mod:`tasks.incremental`), checks them as change sets, merges
them into the accepted catalogs and returns the ids that changed, so the push plans and
writes only those SKUs. When a side cannot be read as a change set (no accepted full
extract yet, incremental reads off, a full read due, or a store without change queries)
it answers None: the caller then runs the whole catalog step first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from skubridge.config import ShopConfig
from tasks import catalog
from tasks.warehouse import open_shop, sql


@dataclass(frozen=True)
class ChangeSet:
    """The variant ids each side's change set held (merged into the accepted catalogs)."""

    store_variant_ids: frozenset[str]
    tiktok_sku_ids: frozenset[str]
    extract: dict[str, dict[str, Any]]


class ChangeSetRefused(Exception):
    """A change set failed its checks: nothing was merged, nothing may be written."""


def refresh_changes(
    shop: ShopConfig, run_id: str, client_options: dict[str, Any] | None = None
) -> ChangeSet | None:
    """Read, check and merge both sides' change sets; None when a side needs a full read."""
    from tasks.steps.catalog import extract_catalogs, store_channel

    channels = ["tiktok", store_channel(shop)]
    extract = extract_catalogs(shop, run_id, client_options, incremental_only=True)
    if extract is None:
        return None
    with open_shop(shop.id) as con:
        checks = catalog.check_staged(
            con,
            run_id=run_id,
            channels=channels,
            max_drop=shop.guards.max_catalog_drop,
            max_bad_value_share=shop.guards.max_bad_value_share,
            incremental=channels,
        )
        if not all(c.passed for c in checks.values()):
            catalog.reject(con, run_id=run_id, checks=checks)
            raise ChangeSetRefused(
                "change set refused, nothing merged or written: " + catalog.failure_message(checks)
            )
        ids = {
            channel: frozenset(
                str(r[0])
                for r in con.execute(sql("incremental/staged_ids"), [run_id, channel]).fetchall()
            )
            for channel in channels
        }
        catalog.promote(con, run_id=run_id, channels=channels, incremental=channels)
    return ChangeSet(ids[channels[1]], ids["tiktok"], extract)
