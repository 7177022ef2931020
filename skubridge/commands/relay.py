"""`skubridge relay`: relay new TikTok orders of mapped products into the store."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path

import typer

from skubridge.commands.options import SHOP, SHOPS_FILE
from skubridge.commands.slot import shop_slot
from skubridge.config import ConfigError, load_shops


def main(
    shop: str = SHOP,
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Classify and report only; create no store orders."
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Relay TikTok orders once into the shop's store and print the order report summary
    (relay only; `skubridge orders` also loops store fulfilments and cancellations back)."""
    from connectors.errors import ApiError
    from tasks.relay import RelayError, summary_lines
    from tasks.runs import current_run_id
    from tasks.steps.orders import run_orders
    from tasks.warehouse import WarehouseError

    try:
        config = load_shops(shops_file).get(shop)
        with nullcontext() if dry_run else shop_slot("relay", config.id):
            outcome = run_orders(config, run_id=current_run_id(), dry_run=dry_run, loop_back=False)
    except ConfigError as exc:
        typer.echo(f"skubridge relay: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except (ApiError, RelayError, WarehouseError) as exc:
        typer.echo(f"skubridge relay: shop '{shop}': {exc}", err=True)
        raise typer.Exit(code=1) from None
    for line in summary_lines(outcome):
        typer.echo(line)
