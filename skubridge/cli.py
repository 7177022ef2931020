"""The ``skubridge`` command line: one subcommand per job, each in skubridge/commands/."""

from __future__ import annotations

import typer

from skubridge import __version__
from skubridge.commands import (
    demo,
    map,
    push,
    relay,
    report,
    rerun,
    sandbox,
    search,
    sync,
    webhooks,
)

app = typer.Typer(
    name="skubridge",
    help=(
        "Keep a TikTok Shop in step with a Shopify store or an Amazon seller account: import "
        "both catalogs, map products by seller SKU, push price and stock to TikTok, relay "
        "TikTok orders into the store. Shops are configured in shops.toml "
        "($SKUBRIDGE_SHOPS_FILE)."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

app.command("demo", help="Run the whole cycle against the bundled sandbox marketplaces.")(demo.main)
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(webhooks.app, name="webhooks")
app.command("sync", help="Run the whole cycle (or the catalog step) for one shop.")(sync.main)
app.command("search", help="Find products on either side by title, SKU or id.")(search.main)
app.command("map", help="Map a TikTok product to a store product by hand, or from a CSV.")(map.main)
app.command("push", help="Push store price and stock to the mapped TikTok SKUs.")(push.main)
app.command("relay", help="Relay new TikTok orders of mapped products into the store.")(relay.main)
app.command("rerun", help="Rerun one shop on the Prefect server, on its shop's work queue.")(
    rerun.main
)
app.command("report", help="Show or export the latest mapping, push or order report.")(report.main)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"skubridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Show the version."
    ),
) -> None:
    """skubridge."""


if __name__ == "__main__":  # pragma: no cover
    app()
