"""`skubridge push`: push store price and stock to the mapped TikTok SKUs of one shop."""

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
        False, "--dry-run", help="Plan, check the guards and write the report; send nothing."
    ),
    force: bool = typer.Option(
        False, "--force", help="Write even if a pre-write guard failed (this run only)."
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Plan, guard and push price and stock once; print the counts and the report path.

    Exits 1 when a guard blocked writes or writes failed, 2 on a configuration error.
    """
    from connectors.errors import ApiError
    from tasks.plan import PlanError
    from tasks.runs import current_run_id
    from tasks.steps.push import run_push, summary_lines
    from tasks.warehouse import WarehouseError

    try:
        config = load_shops(shops_file).get(shop)
        with nullcontext() if dry_run else shop_slot("push", config.id):
            outcome = run_push(config, run_id=current_run_id(), dry_run=dry_run, force=force)
    except ConfigError as exc:
        typer.echo(f"skubridge push: {exc}", err=True)
        raise typer.Exit(code=2) from None
    except (ApiError, PlanError, WarehouseError) as exc:
        typer.echo(f"skubridge push: shop '{shop}': {exc}", err=True)
        raise typer.Exit(code=1) from None
    for line in summary_lines(outcome):
        typer.echo(line)
    if not outcome.ok:
        raise typer.Exit(code=1)
