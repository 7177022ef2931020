"""`skubridge unmap`: remove the links of one TikTok product or SKU (dry run first)."""

from __future__ import annotations

import typer

from skubridge.commands.options import SHOP
from skubridge.config import ConfigError, load_shops


def main(
    shop: str = SHOP,
    tiktok_product: str | None = typer.Option(
        None, "--tiktok-product", help="TikTok product id: unmap all its SKUs."
    ),
    tiktok_sku: str | None = typer.Option(None, "--tiktok-sku", help="One TikTok SKU id."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Show what would change; write nothing."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Unmap by hand: the SKUs are no longer pushed and auto-map leaves them alone."""
    from tasks.unmap import UnmapError, unmap_by_hand
    from tasks.warehouse import WarehouseError

    if (tiktok_product is None) == (tiktok_sku is None):
        raise typer.BadParameter("give exactly one of --tiktok-product or --tiktok-sku")
    try:
        config = load_shops().get(shop)
        if not dry_run and not yes:
            preview = unmap_by_hand(
                config, tiktok_product_id=tiktok_product, tiktok_sku_id=tiktok_sku, dry_run=True
            )
            typer.echo("\n".join(preview.lines()[:-1]))
            typer.confirm("Remove these links?", abort=True)
        result = unmap_by_hand(
            config, tiktok_product_id=tiktok_product, tiktok_sku_id=tiktok_sku, dry_run=dry_run
        )
        typer.echo("\n".join(result.lines()))
    except (ConfigError, UnmapError, WarehouseError) as exc:
        typer.echo(f"skubridge unmap: {exc}", err=True)
        raise typer.Exit(code=2) from None
