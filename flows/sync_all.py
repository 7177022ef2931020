"""Flow ``sync-all``: fan one run per shop out to a deployment (``sync-shop`` by default).

Each shop gets its own flow run of ``deployment`` through ``run_deployment``, so runs
spread over every worker of the work pool. A failed shop does not stop the others: the
parent waits for all of them, publishes a summary artifact with each shop's outcome, and
ends Failed (naming the shops) only after every child has finished. One shop never runs
twice at once: every per-shop flow holds the limit ``shop-<id>`` (:mod:`flows.shop_lock`).
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from flows.links import run_link
from flows.naming import fan_out_subject, run_name
from flows.shop_lock import ensure_shop_limit
from skubridge.config import ConfigError, load_shops
from tasks.reports import markdown_artifact, markdown_table, table_artifact

POLL_SECONDS = 5.0


class SyncAllFailed(Exception):
    """One or more shops ended in a state other than Completed."""


def choose_shops(requested: list[str] | None) -> list[str]:
    """The shops to fan out to: ``requested`` (each must be configured) or all configured."""
    configured = [shop.id for shop in load_shops().shops]
    if not requested:
        return configured
    unknown = sorted(set(requested) - set(configured))
    if unknown:
        raise ConfigError(f"unknown shop(s) {unknown}; configured: {configured}")
    return list(dict.fromkeys(requested))


@flow(name="sync-all", flow_run_name=run_name("sync-all", fan_out_subject), log_prints=True)
def sync_all(
    shops: list[str] | None = None,
    deployment: str = "sync-shop/sync-shop",
    parameters: dict[str, Any] | None = None,
    timeout_minutes: int = 180,
) -> dict[str, str]:
    """Start one run of ``deployment`` per shop (all configured shops unless ``shops``).

    Waits for the children; returns shop -> final state.

    Args:
        shops: Shop ids to run (empty: every shop in the shops file).
        deployment: The per-shop deployment to start, e.g. sync-shop/sync-shop (full
            cycle) or relay-orders/relay-orders (orders only).
        parameters: Extra parameters for every child run besides shop, e.g.
            {"dry_run": true}.
        timeout_minutes: How long to wait for the children before marking them TIMED_OUT.
    """
    logger = get_run_logger()
    chosen = choose_shops(shops)
    queues = {s.id: s.queue for s in load_shops().shops}  # shop -> queue holding its file
    started: dict[str, Any] = {}
    for shop in chosen:
        ensure_shop_limit(shop)
        run = run_deployment(
            name=deployment,
            parameters={**(parameters or {}), "shop": shop},
            timeout=0,  # fire and forget; we poll below so all shops run side by side
            as_subflow=True,
            work_queue_name=queues[shop],  # None: the deployment's own queue
        )
        started[shop] = run.id
        logger.info("started %s for shop %s (flow run %s)", deployment, shop, run.id)
    finals = _wait(started, timeout_minutes * 60)
    outcomes = {shop: state for shop, (state, _) in finals.items()}
    rows = [
        {
            "shop": shop,
            "state": state,
            "run": run_link(started[shop], f"{shop} run"),
            "reason": _short(reason, shop),
            "flow_run_id": str(started[shop]),
        }
        for shop, (state, reason) in finals.items()
    ]
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["shop", "state", "run", "reason", "flow_run_id"])
    table_artifact("sync-all-outcomes", frame, description=f"Outcome per shop of {deployment}")
    failed = [shop for shop, state in outcomes.items() if state != "COMPLETED"]
    head = f"# {deployment} for {len(rows)} shop(s): " + (
        f"{len(failed)} not completed ({', '.join(failed)})" if failed else "all completed"
    )
    markdown_artifact(
        "sync-all-summary",
        head + "\n\n" + markdown_table(frame.drop(columns=["flow_run_id"])),
        description=f"{deployment}: state, reason and run of each shop",
    )
    if failed:
        raise SyncAllFailed(
            f"{len(failed)} of {len(outcomes)} shop(s) not completed: {', '.join(failed)}"
        )
    return outcomes


def _short(reason: str, shop: str) -> str:
    """A child's failure message without the wrapping every one of them carries."""
    for prefix in ("Flow run encountered an exception: ", "SyncShopFailed: ", f"shop {shop}: "):
        reason = reason.removeprefix(prefix)
    return reason


def _wait(started: dict[str, Any], timeout_s: float) -> dict[str, tuple[str, str]]:
    """Poll the child runs until each is final (or the timeout passes); shop -> (state
    type, the state's message: why a run failed, e.g. "SyncShopFailed: shop acme: ...")."""
    deadline = time.monotonic() + timeout_s
    outcomes: dict[str, tuple[str, str]] = {}
    with get_client(sync_client=True) as client:
        while len(outcomes) < len(started):
            for shop, run_id in started.items():
                if shop in outcomes:
                    continue
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    reason = "" if state.is_completed() else (state.message or state.name)
                    outcomes[shop] = (state.type.value, reason or "")
            if len(outcomes) < len(started):
                if time.monotonic() > deadline:
                    for shop in started:
                        outcomes.setdefault(shop, ("TIMED_OUT", "still running at the timeout"))
                    break
                time.sleep(POLL_SECONDS)
    return outcomes
