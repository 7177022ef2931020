"""Command-line options that several commands share, declared once so their flag and help
read the same everywhere (a typer ``OptionInfo`` can be the default of many commands)."""

from __future__ import annotations

import typer

SHOP = typer.Option(..., "--shop", help="Shop id from the shops file.")

SHOPS_FILE = typer.Option(
    None, "--shops-file", help="Shops file (default $SKUBRIDGE_SHOPS_FILE or shops.toml)."
)
