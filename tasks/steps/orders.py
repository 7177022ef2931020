"""The orders step's runner: relay new TikTok orders into the store, then loop back.

:func:`run_orders` is the one runner of the step, called by the ``relay-orders`` flow (and
so by ``sync-shop``), ``skubridge relay`` / ``skubridge orders``, the cycle
(:mod:`tasks.steps.cycle`), the benchmarks and the chaos engine. It opens the shop's
warehouse (unless given a connection) and clients, records the run, and hands over to
:func:`tasks.relay.relay_shop` (per-order rules, relay ledger, order report), then to
:func:`tasks.loop_back.loop_back_shop` (store fulfilments to TikTok, TikTok cancellations
to the store, MFN stock; its ledger and the fulfilment report).
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

import duckdb

from skubridge.config import ShopConfig
from tasks.loop_back import LoopBackOutcome, loop_back_shop
from tasks.relay import RelayOutcome, relay_shop
from tasks.steps.common import open_clients, record_run, run_sync
from tasks.warehouse import open_shop

FLOW_NAME = "relay-orders"
STEP = "relay"


@dataclass
class OrdersOutcome(RelayOutcome):
    """The relay's outcome plus the loop back's (None when it was not run)."""

    loop_back: LoopBackOutcome | None = None

    def summary(self) -> dict[str, Any]:
        out = super().summary()
        if self.loop_back is not None:
            out["loop_back"] = self.loop_back.summary()
        return out


def run_orders(
    shop: ShopConfig,
    *,
    run_id: str,
    dry_run: bool = False,
    con: duckdb.DuckDBPyConnection | None = None,
    pending_grace_s: float | None = None,
    concurrency: int | None = None,
    client_kwargs: dict[str, object] | None = None,
    flow: str = FLOW_NAME,
    loop_back: bool = True,
) -> OrdersOutcome:
    """Relay one shop's orders with its run record (``runs`` table: started, finished or
    failed with the step and a buyer-data-free error); returns the outcome.

    ``con``: an open connection to the shop's warehouse (default: opened here). The
    warehouse stays open for the whole step, which also keeps a second process from
    relaying the same shop at the same time (DuckDB allows one writer per file).
    ``pending_grace_s`` and ``concurrency`` override the store's defaults
    (:data:`tasks.relay.PENDING_GRACE_S`, :data:`tasks.relay.CONCURRENCY`);
    ``client_kwargs`` go to both clients. ``loop_back``: also carry store fulfilments,
    TikTok cancellations and MFN sales over (:mod:`tasks.loop_back`), with the same
    clients, after the relay. Synchronous: it runs its own event loop.
    """

    async def relay(connection: duckdb.DuckDBPyConnection) -> OrdersOutcome:
        async with open_clients(shop, **(client_kwargs or {})) as clients:
            assert clients.store is not None  # opened with the store
            relayed = await relay_shop(
                shop,
                connection,
                clients.tiktok,
                clients.store,
                run_id=run_id,
                dry_run=dry_run,
                pending_grace_s=pending_grace_s,
                concurrency=concurrency,
            )
            outcome = OrdersOutcome(**vars(relayed))
            if loop_back:
                outcome.loop_back = await loop_back_shop(
                    shop,
                    connection,
                    clients.tiktok,
                    clients.store,
                    run_id=run_id,
                    dry_run=dry_run,
                )
            return outcome

    with (
        nullcontext(con) if con is not None else open_shop(shop.id) as connection,
        record_run(shop.id, run_id=run_id, flow=flow, step=STEP, con=connection) as record,
    ):
        outcome = run_sync(lambda: relay(connection))
        record.report_dir = str(outcome.report.csv.parent) if outcome.report else None
        record.summary = outcome.summary()
    return outcome
