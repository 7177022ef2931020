"""Flow ``sync-all``: fan one run per shop out to a deployment (``sync-shop`` by default).

Each shop gets its own flow run of ``deployment`` through ``run_deployment``, so runs
spread over every worker of the work pool. A failed shop does not stop the others: the
parent waits for all of them, publishes a summary artifact with each shop's outcome, and
ends Failed (naming the shops) only after every child has finished. One shop never runs
twice at once: every per-shop flow holds the limit ``shop-<id>`` (:mod:`flows.shop_lock`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from prefect import flow, get_run_logger
from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from flows.naming import run_name
from flows.shop_lock import ensure_shop_limit
from skubridge.config import ConfigError, load_shops
from tasks.reports import markdown_artifact, markdown_table, table_artifact

POLL_SECONDS = 5.0


class SyncAllFailed(Exception):
    """One or more shops ended in a state other than Completed."""


def _target(params: Mapping[str, Any]) -> str:
    """The fanned-out flow's name (a run's subject): ``sync-shop`` of ``sync-shop/sync-shop``."""
    return str(params.get("deployment", "sync-shop")).split("/")[0]


def choose_shops(requested: list[str] | None) -> list[str]:
    """The shops to fan out to: ``requested`` (each must be configured) or all configured."""
    configured = [shop.id for shop in load_shops().shops]
    if not requested:
        return configured
    unknown = sorted(set(requested) - set(configured))
    if unknown:
        raise ConfigError(f"unknown shop(s) {unknown}; configured: {configured}")
    return list(dict.fromkeys(requested))


@flow(name="sync-all", flow_run_name=run_name("sync-all", _target), log_prints=True)
def sync_all(
    shops: list[str] | None = None,
    deployment: str = "sync-shop/sync-shop",
    parameters: dict[str, Any] | None = None,
    timeout_minutes: int = 180,
) -> dict[str, str]:
    """Start one run of ``deployment`` per shop (all configured shops unless ``shops``).

    ``parameters`` are passed to every child run besides ``shop`` (e.g. ``{"dry_run":
    true}``). Waits up to ``timeout_minutes`` for the children; returns shop -> final state.
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
    outcomes = _wait(started, timeout_minutes * 60)
    rows = [
        {"shop": shop, "state": state, "flow_run_id": str(started[shop])}
        for shop, state in outcomes.items()
    ]
    import pandas as pd

    frame = pd.DataFrame(rows, columns=["shop", "state", "flow_run_id"])
    table_artifact("sync-all-outcomes", frame, description=f"Outcome per shop of {deployment}")
    markdown_artifact(
        "sync-all-summary", f"# {deployment} for {len(rows)} shop(s)\n\n" + markdown_table(frame)
    )
    failed = [shop for shop, state in outcomes.items() if state != "COMPLETED"]
    if failed:
        raise SyncAllFailed(
            f"{len(failed)} of {len(outcomes)} shop(s) not completed: {', '.join(failed)}"
        )
    return outcomes


def _wait(started: dict[str, Any], timeout_s: float) -> dict[str, str]:
    """Poll the child runs until each is final (or the timeout passes); shop -> state type."""
    deadline = time.monotonic() + timeout_s
    outcomes: dict[str, str] = {}
    with get_client(sync_client=True) as client:
        while len(outcomes) < len(started):
            for shop, run_id in started.items():
                if shop in outcomes:
                    continue
                state = client.read_flow_run(run_id).state
                if state is not None and state.is_final():
                    outcomes[shop] = state.type.value
            if len(outcomes) < len(started):
                if time.monotonic() > deadline:
                    for shop in started:
                        outcomes.setdefault(shop, "TIMED_OUT")
                    break
                time.sleep(POLL_SECONDS)
    return outcomes
