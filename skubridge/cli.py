"""The ``skubridge`` command line: one subcommand per job, each in skubridge/commands/.

:func:`main` is the installed entry point: it sets Prefect's CLI-friendly defaults (no
telemetry, a start-up timeout for the ephemeral API that a busy laptop meets, as
``skubridge demo`` and ``make demo`` use) and turns configuration and busy-file errors
that reach it into one line on stderr instead of a traceback.
"""

from __future__ import annotations

import os
import sys

import typer

from skubridge import __version__
from skubridge.commands import (
    demo,
    map,
    orders,
    push,
    relay,
    report,
    rerun,
    sandbox,
    search,
    sync,
    unmap,
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
app.command("unmap", help="Remove the links of a TikTok product or SKU (dry run first).")(
    unmap.main
)
app.command("push", help="Push store price and stock to the mapped TikTok SKUs.")(push.main)
app.command("relay", help="Relay new TikTok orders of mapped products into the store.")(relay.main)
app.command(
    "orders",
    help="Relay new TikTok orders into the store and loop store fulfilments (tracking), "
    "TikTok cancellations and Amazon MFN sales back.",
)(orders.main)
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


PREFECT_DEFAULTS = {
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
}
"""Set unless the environment already says otherwise (a user's own values win)."""


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; a bad shops file, a busy DuckDB file or an ephemeral Prefect API that
    does not start end in one clear line (exit 2, 1, 1), not a traceback."""
    for name, value in PREFECT_DEFAULTS.items():
        os.environ.setdefault(name, value)
    from skubridge.config import ConfigError

    command = "skubridge" + (f" {sys.argv[1]}" if len(sys.argv) > 1 and argv is None else "")
    try:
        app(args=argv)
    except ConfigError as exc:
        typer.echo(f"{command}: {exc}", err=True)
        raise SystemExit(2) from None
    except Exception as exc:
        from tasks.warehouse import WarehouseError

        if isinstance(exc, WarehouseError):
            typer.echo(f"{command}: {exc}", err=True)
            raise SystemExit(1) from None
        if "ephemeral Prefect API" in str(exc):
            typer.echo(
                f"{command}: Prefect's embedded API did not start in time ({exc}). Raise "
                "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or start a server "
                "(`prefect server start`) and set PREFECT_API_URL.",
                err=True,
            )
            raise SystemExit(1) from None
        raise


if __name__ == "__main__":  # pragma: no cover
    main()
