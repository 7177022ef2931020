"""The ``sync-catalog`` flow: extract both catalogs, check them, promote, auto-map, report.

Wiring only: the step's runner is :func:`tasks.steps.catalog.run_catalog`; this flow
holds the shop's slot and runs each of the runner's four parts as a Prefect task
(``extract-catalogs`` retried on transient errors only: 5xx, timeouts, throttling, see
:mod:`flows.retry`).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.redact import install_log_redaction
from flows.naming import run_name
from flows.retry import retry_on_transient
from flows.shop_lock import hold_shop
from skubridge.config import load_shops
from tasks.runs import current_run_id
from tasks.steps import catalog as step
from tasks.steps.catalog import FLOW_NAME, run_catalog


def _part(fn: Any, run: str = "{shop_id}", **retries: Any) -> Any:
    """``fn`` as a Prefect task named after it (``extract_catalogs`` -> ``extract-catalogs``),
    its runs named for the shop, never cached (each run reads the marketplaces afresh)."""
    name = fn.__name__.replace("_", "-")
    return task(fn, name=name, task_run_name=f"{name}-{run}", cache_policy=NO_CACHE, **retries)


PARTS = {
    part.__name__: part
    for part in (
        _part(
            step.extract_catalogs,
            run="{shop.id}",
            retries=3,
            retry_delay_seconds=exponential_backoff(backoff_factor=10),
            retry_jitter_factor=0.5,
            retry_condition_fn=retry_on_transient,
        ),
        _part(step.check_catalogs),
        _part(step.promote_catalogs),
        _part(step.map_and_report),
    )
}


def as_task(part: Any, *args: Any) -> Any:
    """Run one part of the catalog step as its Prefect task."""
    return PARTS[part.__name__](*args)


@flow(name=FLOW_NAME, flow_run_name=run_name(FLOW_NAME))
def sync_catalog(shop: str, suggestions: bool = True, full: bool = False) -> dict[str, Any]:
    """Import both catalogs of ``shop``, check them, map by seller SKU and publish reports.

    Ends Failed when a catalog check blocks or a step fails; the run record (``runs``
    table) names the step and the reason.

    Args:
        shop: Shop id from the shops file.
        suggestions: Suggest a likely store variant for unmapped SKUs in the report (a
            hint for a person, never applied).
        full: Read both catalogs whole (the reconciliation: catches deletions and anything
            an incremental read missed) even when only changes would be read.
    """
    install_log_redaction()
    config = load_shops().get(shop)
    with hold_shop(config.id):
        summary = run_catalog(
            config, run_id=current_run_id(), suggestions=suggestions, call=as_task, full=full
        )
    return summary.to_dict()
