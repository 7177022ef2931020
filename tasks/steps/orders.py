"""The orders step's runner: relay a shop's new TikTok orders into its store, exactly once.

:func:`run_orders` is the one runner of the step, called by the ``relay-orders`` flow (and
so by ``sync-shop``), ``skubridge relay``, the cycle (:mod:`tasks.steps.cycle`), the
benchmarks and the chaos engine. It leases the shop's warehouse (unless given a
connection: :class:`tasks.warehouse.ShopLease` holds the file only while statements run,
not while the relay waits on TikTok or the store, so analysts can read between) and opens
the clients, records the run, and hands over to :func:`tasks.relay.relay_shop`, where the
per-order rules, the ledger and the order report live.
"""

from __future__ import annotations

from typing import Any

import duckdb

from skubridge.config import ShopConfig
from tasks.relay import RelayOutcome, relay_shop
from tasks.steps.common import open_clients, record_run, run_sync
from tasks.warehouse import ShopLease

FLOW_NAME = "relay-orders"
STEP = "relay"


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
) -> RelayOutcome:
    """Relay one shop's orders with its run record (``runs`` table: started, finished or
    failed with the step and a buyer-data-free error); returns the outcome.

    ``con``: an open connection to the shop's warehouse (default: a
    :class:`tasks.warehouse.ShopLease`, released whenever the relay waits on the network;
    a second relay of the same shop is kept out by the shop's Prefect limit and the
    ledger's claim, not by holding the file).
    ``pending_grace_s`` and ``concurrency`` override the store's defaults
    (:data:`tasks.relay.PENDING_GRACE_S`, :data:`tasks.relay.CONCURRENCY`);
    ``client_kwargs`` go to both clients. Synchronous: it runs its own event loop.
    """

    async def relay(connection: duckdb.DuckDBPyConnection) -> RelayOutcome:
        async with open_clients(shop, **(client_kwargs or {})) as clients:
            assert clients.store is not None  # opened with the store
            return await relay_shop(
                shop,
                connection,
                clients.tiktok,
                clients.store,
                run_id=run_id,
                dry_run=dry_run,
                pending_grace_s=pending_grace_s,
                concurrency=concurrency,
            )

    lease = ShopLease(shop.id) if con is None else None
    connection: Any = con if con is not None else lease
    try:
        with record_run(shop.id, run_id=run_id, flow=flow, step=STEP, con=connection) as record:
            if lease is not None:
                lease.release()  # the run row is written: free the file until work needs it
            outcome = run_sync(lambda: relay(connection))
            record.report_dir = str(outcome.report.csv.parent) if outcome.report else None
            record.summary = outcome.summary()
    finally:
        if lease is not None:
            lease.close()
    return outcome
