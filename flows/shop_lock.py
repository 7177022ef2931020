"""One flow at a time per shop: the Prefect global concurrency limit ``shop-<id>``.

Every flow that touches a shop's DuckDB file or its marketplaces holds the shop's limit
(limit 1, created on first use) for its whole body, so the hourly cycle, the 5-minute
relay and an ad-hoc rerun of the same shop queue behind each other instead of clashing
(DuckDB also allows only one writing process per file). A subflow of ``sync-shop`` runs
inside its parent's hold and does not take the slot again (that would deadlock).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from prefect.concurrency.sync import concurrency

HOLD_TIMEOUT_SECONDS = 3600

_held: ContextVar[frozenset[str]] = ContextVar("skubridge_held_shops", default=frozenset())


def shop_limit_name(shop: str) -> str:
    """Name of the global concurrency limit that keeps one shop to one flow at a time."""
    return f"shop-{shop}"


def ensure_shop_limit(shop: str) -> None:
    """Create the shop's global concurrency limit (limit 1) when it does not exist yet."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import GlobalConcurrencyLimitCreate
    from prefect.exceptions import ObjectAlreadyExists, ObjectNotFound

    name = shop_limit_name(shop)
    with get_client(sync_client=True) as client:
        try:
            client.read_global_concurrency_limit_by_name(name)
        except ObjectNotFound:
            # Created by a concurrent run in the meantime: fine.
            with contextlib.suppress(ObjectAlreadyExists):
                client.create_global_concurrency_limit(
                    GlobalConcurrencyLimitCreate(name=name, limit=1)
                )


def holds(shop: str) -> bool:
    """True inside a flow (or its subflows) that already holds ``shop``'s slot."""
    return shop in _held.get()


@contextmanager
def hold_shop(shop: str, *, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold the shop's slot for the block (waits while another flow of the shop runs).

    Raises TimeoutError after ``timeout_seconds`` (default HOLD_TIMEOUT_SECONDS) of waiting.
    """
    if timeout_seconds is None:
        timeout_seconds = HOLD_TIMEOUT_SECONDS
    if holds(shop):
        yield
        return
    ensure_shop_limit(shop)
    with concurrency(shop_limit_name(shop), occupy=1, timeout_seconds=timeout_seconds):
        token = _held.set(_held.get() | {shop})
        try:
            yield
        finally:
            _held.reset(token)
