"""Flow ``sync-shop``: the whole cycle for one shop.

catalog (extract -> checks -> map -> reports) -> push (plan -> guards -> writes) -> relay
orders. Each step is a subflow (its own run record, reports and artifacts, its own
retries on transient errors only). A failed step never leaves the shop inconsistent (each
keeps a ledger; the next run repairs what is left) and does not hide the others:

- catalog failed -> push is skipped (it would push from a stale catalog), relay still runs
  (mappings of the last accepted catalog stay valid);
- push failed (a guard blocked, writes failed) -> relay still runs.

The ``runs`` row of this flow names the failed step(s) and why; the run ends Failed then.
One shop never runs twice at once: the cycle holds the shop's slot
(:mod:`flows.shop_lock`); its subflows run inside that hold.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any, Literal

from prefect import flow, get_run_logger

from connectors.redact import install_log_redaction
from flows.push_prices_and_stock import push_prices_and_stock
from flows.relay_orders import relay_orders
from flows.shop_lock import hold_shop
from flows.sync_catalog import sync_catalog
from skubridge.config import load_shops
from tasks.reports import markdown_artifact, markdown_table
from tasks.runs import current_run_id, finish_run, start_run
from tasks.warehouse import open_shop

FLOW_NAME = "sync-shop"
Step = Literal["catalog", "push", "relay"]
ALL_STEPS: list[Step] = ["catalog", "push", "relay"]

log = logging.getLogger("skubridge.flows.sync_shop")


class SyncShopFailed(Exception):
    """At least one step of the cycle failed; the message names the steps and reasons."""


def _run_name() -> str:
    from prefect.runtime import flow_run

    shop = flow_run.parameters.get("shop", "shop")
    return f"{FLOW_NAME}-{shop}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


def _error_of(state: Any) -> str:
    try:
        state.result()
    except Exception as exc:  # the subflow's own exception, already redacted by it
        return f"{type(exc).__name__}: {exc}"
    return state.message or state.name


@flow(name=FLOW_NAME, flow_run_name=_run_name, log_prints=True)
def sync_shop(
    shop: str,
    steps: list[Step] = ALL_STEPS,
    dry_run: bool = False,
    force: bool = False,
) -> dict[str, Any]:
    """Run the whole cycle for one shop: catalog -> push -> relay orders.

    ``steps``: which steps to run (all by default). ``dry_run``: push and relay compute and
    report but write nothing to any marketplace. ``force``: let the push through a failed
    guard for this run only.
    """
    install_log_redaction()
    logger = get_run_logger()
    config = load_shops().get(shop)  # fail early on a bad shops file or unknown shop
    run_id = current_run_id()
    with open_shop(config.id) as con:
        start_run(con, run_id=run_id, flow=FLOW_NAME, shop_id=config.id)
    outcomes: dict[str, dict[str, Any]] = {}
    with hold_shop(config.id):
        if "catalog" in steps:
            state = sync_catalog(shop, return_state=True)
            outcomes["catalog"] = _outcome(state)
        if "push" in steps:
            if outcomes.get("catalog", {}).get("status") == "FAILED":
                outcomes["push"] = {"status": "SKIPPED", "error": "catalog step failed"}
            else:
                state = push_prices_and_stock(shop, dry_run=dry_run, force=force, return_state=True)
                outcomes["push"] = _outcome(state)
        if "relay" in steps:
            state = relay_orders(shop, dry_run=dry_run, return_state=True)
            outcomes["relay"] = _outcome(state)
    failed = {name: o for name, o in outcomes.items() if o["status"] == "FAILED"}
    error = "; ".join(f"{name}: {o['error']}" for name, o in failed.items()) or None
    with open_shop(config.id) as con:
        finish_run(
            con,
            run_id=run_id,
            status="FAILED" if failed else "COMPLETED",
            failed_step=",".join(failed) or None,
            error=error,
            summary=outcomes,
        )
    markdown_artifact(
        f"sync-shop-{config.id}",
        _summary_markdown(config.id, outcomes),
        description=f"sync-shop {config.id}: {'FAILED' if failed else 'COMPLETED'}",
    )
    for name, o in outcomes.items():
        logger.info("%s: %s%s", name, o["status"], f" ({o['error']})" if o.get("error") else "")
    if failed:
        raise SyncShopFailed(f"shop {config.id}: {error}")
    return {"shop": config.id, "run_id": run_id, "steps": outcomes}


def _outcome(state: Any) -> dict[str, Any]:
    if state.is_completed():
        result = state.result()
        return {"status": "COMPLETED", "result": result}
    return {"status": "FAILED", "error": _error_of(state)}


def _summary_markdown(shop: str, outcomes: dict[str, dict[str, Any]]) -> str:
    import pandas as pd

    rows = [
        {"step": name, "status": o["status"], "detail": o.get("error") or _detail(name, o)}
        for name, o in outcomes.items()
    ]
    return f"# sync-shop {shop}\n\n" + markdown_table(pd.DataFrame(rows))


def _detail(name: str, outcome: dict[str, Any]) -> str:
    result = outcome.get("result") or {}
    counts = result.get("reason_counts" if name == "catalog" else "counts") or {}
    if isinstance(counts, list):  # catalog: [{"status":..., "reason":..., "skus": n}, ...]
        return ", ".join(" ".join(str(v) for v in row.values() if v is not None) for row in counts)
    return ", ".join(f"{k}: {v}" for k, v in counts.items())
