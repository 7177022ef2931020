"""Flow ``push-prices-and-stock``: the store's price and stock to the mapped TikTok SKUs.

Wiring only: the step's runner is :func:`tasks.steps.push.run_push` (plan, guards,
writes with a ledger, push report); this flow holds the shop's slot, runs the runner as
one task and ends Failed when a guard blocked writes or writes failed after retries.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task

from flows.naming import run_name
from flows.retry import retry_on_transient
from flows.shop_lock import hold_shop
from skubridge.config import load_shops
from tasks.runs import current_run_id
from tasks.steps.push import FLOW_NAME, run_push


class PushFailed(Exception):
    """The push run ended Failed (a guard blocked writes, or writes failed after retries)."""


# Writes never raise (their failures are ledger rows); a transient error can only come
# from reading the warehouses, so a retry re-plans and rewrites the same absolute values.
@task(
    name="push-plan-guard-write",
    task_run_name="push-{shop_id}",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=retry_on_transient,
)
def push_task(
    shop_id: str, run_id: str, dry_run: bool, force: bool, changed_only: bool = False
) -> dict[str, Any]:
    """The push step as a task, retried twice when reading a marketplace failed transiently
    (the writes' own transient errors are retried by the connector, never here)."""
    shop = load_shops().get(shop_id)
    return run_push(
        shop, run_id=run_id, dry_run=dry_run, force=force, changed_only=changed_only
    ).summary()


@flow(name=FLOW_NAME, flow_run_name=run_name(FLOW_NAME), log_prints=True)
def push_prices_and_stock(
    shop: str, dry_run: bool = False, force: bool = False, changed_only: bool = False
) -> dict[str, Any]:
    """Push the store's price and stock to the mapped TikTok SKUs of one shop.

    Ends Failed when a guard blocked writes or writes failed after retries, naming the
    guard and its value.

    Args:
        shop: Shop id from the shops file.
        dry_run: Plan, check the guards and report, but send no write to TikTok.
        force: Let writes through a failed guard for this run only (a currency mismatch is
            never written).
        changed_only: Store-change events: read what changed on both sides since the last
            accepted extracts, merge it, and plan and write only those SKUs.
    """
    config = load_shops().get(shop)
    with hold_shop(config.id):
        summary = push_task(config.id, current_run_id(), dry_run, force, changed_only)
    print(
        f"push {shop}: "
        + ", ".join(f"{k} {v}" for k, v in summary["counts"].items())
        + f"; report in {summary['report_dir']}"
    )
    if not summary["ok"]:
        raise PushFailed(summary["message"])
    return summary
