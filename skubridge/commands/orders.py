"""`skubridge orders`: both directions of the orders step for one shop.

Relays new TikTok orders of mapped products into the store, then loops back what happened
to relayed orders: store fulfilments (tracking) marked shipped on TikTok, TikTok
cancellations sent to the store, TikTok sales of Amazon merchant-fulfilled SKUs taken off
the Amazon quantity. Prints both summaries; the reports are the order report and the
fulfilment report (docs/reports.md).
"""

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
        False,
        "--dry-run",
        help="Read and report only: no store orders, no TikTok shipping, no cancellations.",
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Relay new TikTok orders into the store and loop fulfilments and cancellations back."""
    from connectors.errors import ApiError
    from tasks import loop_back
    from tasks.relay import RelayError, summary_lines
    from tasks.runs import current_run_id
    from tasks.steps.orders import run_orders
    from tasks.warehouse import WarehouseError

    try:
        config = load_shops(shops_file).get(shop)
        with nullcontext() if dry_run else shop_slot("orders", config.id):
            outcome = run_orders(config, run_id=current_run_id(), dry_run=dry_run)
    except ConfigError as exc:
        typer.echo(f"skubridge orders: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except (ApiError, RelayError, WarehouseError) as exc:
        typer.echo(f"skubridge orders: shop '{shop}': {exc}", err=True)
        raise typer.Exit(code=1) from None
    for line in summary_lines(outcome):
        typer.echo(line)
    if outcome.loop_back is not None:
        for line in loop_back.summary_lines(outcome.loop_back):
            typer.echo(line)
