"""`skubridge sandbox ...`: the local marketplace emulators."""

from __future__ import annotations

import typer

from skubridge.commands import not_built

app = typer.Typer(
    help="Local emulators of the TikTok Shop, Shopify and Amazon APIs.", no_args_is_help=True
)


@app.command("serve")
def serve() -> None:
    """Serve the three emulators on loopback (not built yet)."""
    not_built("sandbox serve")
