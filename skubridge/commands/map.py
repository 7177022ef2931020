"""`skubridge map`: map a TikTok product to a store product by hand, or many SKUs from a CSV."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from pathlib import Path

import typer

from skubridge.commands.options import SHOP
from skubridge.commands.slot import shop_slot
from skubridge.config import ConfigError, load_shops


def main(
    shop: str = SHOP,
    tiktok_product: str | None = typer.Option(
        None, "--tiktok-product", help="TikTok product id to map."
    ),
    store_product: str | None = typer.Option(
        None, "--store-product", help="Store product id (Shopify product GID, Amazon parent ASIN)."
    ),
    csv: Path | None = typer.Option(
        None,
        "--csv",
        help="CSV with columns tiktok_sku_id|seller_sku and store_variant_id|store_sku.",
    ),
    pair: list[str] | None = typer.Option(
        None,
        "--pair",
        help="TIKTOK_SKU=STORE_VARIANT: pair these two variants explicitly (repeatable); "
        "TikTok SKU id or seller SKU, store variant id or SKU. For variants skubridge cannot "
        "pair by SKU, barcode or option values.",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
    replace: bool = typer.Option(
        False,
        "--replace",
        help="The store product is linked to another TikTok product: unmap that one first.",
    ),
) -> None:
    """Map by hand: one product pair, or a CSV of SKU pairs."""
    from connectors.errors import ApiError
    from tasks.manual_map import (
        CSV_SHOPIFY_NOTE,
        ManualMapError,
        map_from_csv,
        map_product_by_hand,
    )
    from tasks.warehouse import WarehouseError

    if (csv is None) == (tiktok_product is None and store_product is None):
        raise typer.BadParameter("give either --csv FILE, or --tiktok-product and --store-product")
    if csv is None and (tiktok_product is None or store_product is None):
        raise typer.BadParameter("--tiktok-product and --store-product go together")
    if csv is not None and pair:
        raise typer.BadParameter("--pair goes with --tiktok-product/--store-product, not --csv")
    try:
        config = load_shops().get(shop)
        if csv is not None:
            result = map_from_csv(config, csv, dry_run=dry_run)
            for row in result.results.itertuples(index=False):
                detail = f" ({row.reason})" if row.reason else ""
                pair = f"{row.tiktok_sku_id or '-'} -> {row.store_variant_id or '-'}"
                typer.echo(f"row {row.row}: {row.result}{detail}  {pair}")
            counts = ", ".join(f"{k}: {v}" for k, v in sorted(result.counts.items()))
            typer.echo(f"{counts}. Results: {result.result_path}")
            if config.store == "shopify":
                typer.echo(CSV_SHOPIFY_NOTE)
            if dry_run:
                typer.echo("Dry run: nothing was recorded.")
            if result.counts.get("error"):
                raise typer.Exit(code=1)
            return
        assert tiktok_product is not None and store_product is not None
        if not dry_run and not yes:
            preview = asyncio.run(
                map_product_by_hand(
                    config,
                    tiktok_product_id=tiktok_product,
                    store_product_id=store_product,
                    dry_run=True,
                    replace=replace,
                    pairs=pair,
                )
            )
            typer.echo("\n".join(preview.plan.lines(applied=False)[:-1]))
            typer.confirm("Apply this mapping?", abort=True)
        with nullcontext() if dry_run else shop_slot("map", config.id):
            result = asyncio.run(
                map_product_by_hand(
                    config,
                    tiktok_product_id=tiktok_product,
                    store_product_id=store_product,
                    dry_run=dry_run,
                    replace=replace,
                    pairs=pair,
                )
            )
        typer.echo("\n".join(result.lines()))
    except (ConfigError, ManualMapError, WarehouseError, ApiError) as exc:
        typer.echo(f"skubridge map: {exc}", err=True)
        raise typer.Exit(code=2) from None
