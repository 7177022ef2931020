"""One module per CLI subcommand; :mod:`skubridge.cli` registers them."""

from __future__ import annotations

import typer


def not_built(feature: str) -> None:
    """Exit non-zero saying plainly that a subcommand's feature does not exist yet."""
    typer.echo(
        f"skubridge {feature}: not built yet; this feature is not available in this version.",
        err=True,
    )
    raise typer.Exit(code=3)
