"""Flow ``relay-orders``: the orders step of one shop, both directions, exactly once.

Relays new TikTok orders into the store, then loops back store fulfilments (tracking to
TikTok), TikTok cancellations (to the store) and Amazon MFN sales (store quantity).
Wiring only: the step's runner is :func:`tasks.steps.orders.run_orders`; one task runs it
(retried only on transient marketplace errors: the ledgers make a retry safe, a PENDING
order is looked up before any new create, a line in flight is compared with TikTok before
it is shipped again), the order and fulfilment reports land as table, files and artifacts.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.naming import run_name
from flows.retry import retry_on_transient
from flows.shop_lock import hold_shop
from skubridge.config import load_shops
from tasks import loop_back
from tasks.relay import summary_lines
from tasks.runs import current_run_id
from tasks.steps.orders import FLOW_NAME, run_orders


@task(
    name="relay-orders-step",
    retries=2,
    retry_delay_seconds=[10, 60],
    retry_condition_fn=retry_on_transient,
    cache_policy=NO_CACHE,
)
def relay_orders_step(shop: str, run_id: str, dry_run: bool = False) -> dict[str, Any]:
    """Relay and loop back the shop's orders; returns the run summary (counts per reason,
    warnings, the loop back's counts)."""
    config = load_shops().get(shop)
    outcome = run_orders(config, run_id=run_id, dry_run=dry_run)
    logger = get_run_logger()
    for line in summary_lines(outcome):
        logger.info(line)
    if outcome.loop_back is not None:
        for line in loop_back.summary_lines(outcome.loop_back):
            logger.info(line)
    return outcome.summary()


@flow(name=FLOW_NAME, flow_run_name=run_name(FLOW_NAME))
def relay_orders(shop: str, dry_run: bool = False) -> dict[str, Any]:
    """Relay new TikTok orders of mapped products of ``shop`` into its store, and loop
    store fulfilments, TikTok cancellations and MFN sales back.

    ``dry_run``: classify and report only (no marketplace writes, ledger or watermark
    changes).
    """
    with hold_shop(shop):
        return relay_orders_step(shop, current_run_id(), dry_run)
