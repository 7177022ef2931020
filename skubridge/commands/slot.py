"""The shop's slot for CLI commands that write to a marketplace (map, push, relay).

The flows hold the shop's Prefect global concurrency limit ``shop-<id>`` for their whole
body (flows/shop_lock.py); a CLI command that writes to the same shop's marketplaces
takes the same slot first, so it never runs beside the scheduled cycle or the relay of
that shop. Dry runs write nothing and take no slot. Without any Prefect API (no
``PREFECT_API_URL`` and the ephemeral API switched off) no flow can hold a slot either;
the command then runs as it is, kept apart from other runs of the shop only by the
warehouse file's single writer.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

SLOT_WAIT_SECONDS = 60.0  # how long a command waits for a running flow of the shop


@contextmanager
def shop_slot(command: str, shop: str, *, wait_seconds: float | None = None) -> Iterator[None]:
    """Hold ``shop``'s slot for the block; exit 3 with a plain message if it stays taken
    for ``wait_seconds`` (default :data:`SLOT_WAIT_SECONDS`)."""
    from flows.shop_lock import hold_shop, shop_limit_name

    if wait_seconds is None:
        wait_seconds = SLOT_WAIT_SECONDS
    if not prefect_api_available():
        yield
        return

    entered = False
    try:
        with hold_shop(shop, timeout_seconds=wait_seconds):
            entered = True
            yield
    except TimeoutError:
        if entered:  # a timeout inside the command itself, not the wait for the slot
            raise
        typer.echo(
            f"skubridge {command}: shop '{shop}' is busy: another run holds its slot "
            f"(Prefect concurrency limit {shop_limit_name(shop)}) for more than "
            f"{wait_seconds:g} s. Nothing was written; run the command again when it is done.",
            err=True,
        )
        raise typer.Exit(code=3) from None


def prefect_api_available() -> bool:
    """Whether a Prefect API is configured (a server URL, or the ephemeral API allowed)."""
    from prefect.settings import get_current_settings

    settings = get_current_settings()
    return bool(settings.api.url) or bool(settings.server.ephemeral.enabled)
