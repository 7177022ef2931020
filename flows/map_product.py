"""Flow ``map-product``: map one TikTok product to one store product by hand.

Thin wiring over :func:`tasks.manual_map.map_product_by_hand` (the same function
``skubridge map --tiktok-product ... --store-product ...`` runs): pair the variants, write
the TikTok seller SKUs onto the Shopify variants and read them back (Amazon: record the
links only), record the links with method ``manual``. Variants are paired by SKU, barcode
or option values, never by position (:mod:`tasks.variant_pairing`); the ``pairs``
parameter gives the rest explicitly. A dry run writes nothing. The
outcome is a markdown artifact on the run.
"""

from __future__ import annotations

import asyncio
from typing import Any

from prefect import flow, task

from flows.naming import run_name
from flows.retry import retry_on_transient
from flows.shop_lock import hold_shop
from skubridge.config import load_shops
from tasks.manual_map import map_product_by_hand
from tasks.reports import artifact_key, table_artifact
from tasks.unmap import unmap_by_hand

FLOW_NAME = "map-product"


@task(retries=3, retry_delay_seconds=[2, 8, 30], retry_condition_fn=retry_on_transient)
def map_product_task(
    shop: str,
    tiktok_product_id: str,
    store_product_id: str,
    dry_run: bool,
    pairs: list[str] | None = None,
) -> dict[str, Any]:
    """Run the product map for ``shop`` (an id); returns the printable lines and status."""
    config = load_shops().get(shop)
    result = asyncio.run(
        map_product_by_hand(
            config,
            tiktok_product_id=tiktok_product_id,
            store_product_id=store_product_id,
            dry_run=dry_run,
            pairs=pairs,
        )
    )
    pairs = result.plan.frame(applied=result.applied)
    return {
        "applied": result.applied,
        "lines": result.lines(),
        "run_id": result.run_id,
        "pairs": pairs.astype(object).where(pairs.notna(), None).to_dict("records"),
    }


@task
def unmap_task(
    shop: str, tiktok_product_id: str | None, tiktok_sku_id: str | None, dry_run: bool
) -> dict[str, Any]:
    """Unmap a TikTok product (or one SKU) of ``shop`` (tasks/unmap.py); DuckDB only."""
    config = load_shops().get(shop)
    result = unmap_by_hand(
        config, tiktok_product_id=tiktok_product_id, tiktok_sku_id=tiktok_sku_id, dry_run=dry_run
    )
    return {"applied": result.applied, "lines": result.lines(), "run_id": result.run_id}


@flow(
    name=FLOW_NAME,
    flow_run_name=run_name(FLOW_NAME, lambda p: f"{p['shop']}-{p['tiktok_product_id']}"),
    log_prints=True,
)
def map_product(
    shop: str,
    tiktok_product_id: str,
    store_product_id: str = "",
    dry_run: bool = False,
    unmap: bool = False,
    tiktok_sku_id: str | None = None,
    pairs: list[str] | None = None,
) -> dict[str, Any]:
    """Map one TikTok product to one store product by hand (or unmap it); the pairs are the
    run's table artifact ``map-product-<shop>``.

    Args:
        shop: Shop id from the shops file.
        tiktok_product_id: The TikTok product id (see `skubridge search`).
        store_product_id: The store product id: Shopify product GID, or the Amazon parent
            ASIN or listing (not needed with unmap).
        dry_run: Pair the variants and show the plan without writing or recording anything.
        unmap: Remove the product's links instead (only tiktok_sku_id's when given); the SKUs
            are no longer pushed and auto-map leaves them alone.
        tiktok_sku_id: With unmap: the one TikTok SKU id to unmap.
        pairs: Explicit TIKTOK_SKU=STORE_VARIANT pairs (the CLI's --pair) for variants that
            cannot be paired by SKU, barcode or option values.
    """
    load_shops().get(shop)  # an unknown shop fails at once, naming the configured ones
    with hold_shop(shop):
        if unmap:
            outcome = unmap_task(
                shop, None if tiktok_sku_id else tiktok_product_id, tiktok_sku_id, dry_run
            )
        elif not store_product_id:
            raise ValueError("store_product_id is required to map (or set unmap: true)")
        else:
            outcome = map_product_task(shop, tiktok_product_id, store_product_id, dry_run, pairs)
    text = "\n".join(outcome["lines"])
    print(text)
    import pandas as pd

    table_artifact(
        artifact_key("map-product", shop),
        pd.DataFrame(outcome.get("pairs") or []),
        description=(
            f"Manual {'unmap' if unmap else 'map'} of TikTok product {tiktok_product_id}"
            + (f" to store product {store_product_id}" if not unmap else "")
            + (" (dry run: nothing written)" if dry_run else "")
            + ":\n\n"
            + "\n".join(f"- {line}" for line in outcome["lines"][:8])
        ),
    )
    return outcome
