"""`skubridge search`: find products on either side by title, SKU or id."""

from __future__ import annotations

import json

import typer

from skubridge.commands.options import SHOP
from skubridge.config import ConfigError, load_shops


def main(
    text: str = typer.Argument(..., help="Title words, a seller SKU or an id."),
    shop: str = SHOP,
    side: str = typer.Option("both", "--side", help="tiktok, store or both."),
    limit: int = typer.Option(20, "--limit", min=1, help="Most products to show."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records instead of a table."),
) -> None:
    """Search the imported catalogs and show each product's mapping state."""
    from tasks.search import format_table, search_products
    from tasks.warehouse import WarehouseError, open_shop

    if side not in ("tiktok", "store", "both"):
        raise typer.BadParameter("--side must be tiktok, store or both")
    try:
        config = load_shops().get(shop)
        with open_shop(config.id, read_only=True) as con:
            found = search_products(
                con,
                text,
                store_channel=config.store,
                side=side,
                limit=limit,  # type: ignore[arg-type]
            )
    except (ConfigError, WarehouseError, ValueError) as exc:
        typer.echo(f"skubridge search: {exc}", err=True)
        raise typer.Exit(code=2) from None
    if as_json:
        typer.echo(json.dumps(found.to_dict("records"), indent=1, default=str))
    else:
        typer.echo(format_table(found))
