"""The cycle's runner: catalog -> push -> orders for one shop, and the rules between them.

:func:`run_cycle` is the one place of the cycle's policy, used by the ``sync-shop`` flow
(each step a subflow), ``skubridge sync`` (through that flow) and the chaos engine (each
step a plain runner call, :func:`plain_steps`):

- catalog failed -> push is skipped (it would push from a stale catalog), the orders step
  still runs (mappings of the last accepted catalog stay valid);
- push failed (a guard blocked, writes failed) -> the orders step still runs;
- a step that raises is a failed step; it never stops the steps after it.

The cycle's own run record names the failed step(s) and why. Each step keeps its own run
record, reports and ledger, so a failed step leaves nothing inconsistent: the next run
repairs what is left.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any

from skubridge.config import ShopConfig
from tasks.steps.catalog import CatalogStepError, run_catalog
from tasks.steps.common import describe, record_run
from tasks.steps.orders import run_orders
from tasks.steps.push import run_push

FLOW_NAME = "sync-shop"
# Step names as the ``sync-shop`` flow's ``steps`` parameter spells them ("relay" is the
# orders step; the name is public: deployments and schedules pass it).
STEPS = ("catalog", "push", "relay")
SKIPPED_PUSH = {"status": "SKIPPED", "error": "catalog step failed"}

StepRunner = Callable[[str], dict[str, Any]]  # step name -> {"status": ..., "error": ...}


@dataclass(frozen=True)
class CycleOutcome:
    """What each step of one cycle did (step name -> outcome with at least ``status``)."""

    shop_id: str
    run_id: str
    steps: dict[str, dict[str, Any]]

    @property
    def failed(self) -> list[str]:
        """The steps that ended FAILED, in cycle order."""
        return [name for name, o in self.steps.items() if o["status"] == "FAILED"]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def error(self) -> str | None:
        """``step: reason`` of every failed step, or None."""
        return "; ".join(f"{name}: {self.steps[name].get('error')}" for name in self.failed) or None


def run_cycle(
    shop_id: str,
    *,
    run_id: str,
    run_step: StepRunner,
    steps: Collection[str] = STEPS,
    flow: str = FLOW_NAME,
    hold: AbstractContextManager[Any] | None = None,
) -> CycleOutcome:
    """Run ``steps`` of the cycle for ``shop_id`` in cycle order, inside a run record.

    ``run_step(name)`` runs one step and returns its outcome dict (``status`` COMPLETED or
    FAILED, ``error`` when failed); an exception from it is a FAILED step. ``hold`` is held
    around the steps (the flow holds the shop's concurrency slot there).
    """
    outcomes: dict[str, dict[str, Any]] = {}
    with record_run(shop_id, run_id=run_id, flow=flow, step="cycle") as record:
        with hold if hold is not None else nullcontext():
            for name in STEPS:
                if name not in steps:
                    continue
                if name == "push" and outcomes.get("catalog", {}).get("status") == "FAILED":
                    outcomes[name] = dict(SKIPPED_PUSH)
                    continue
                try:
                    outcomes[name] = run_step(name)
                except Exception as exc:
                    outcomes[name] = {"status": "FAILED", "error": describe(exc)}
        outcome = CycleOutcome(shop_id=shop_id, run_id=run_id, steps=outcomes)
        if not outcome.ok:
            record.fail(",".join(outcome.failed), outcome.error)
        record.summary = outcomes
    return outcome


def plain_steps(
    shop: ShopConfig,
    *,
    run_tag: str,
    dry_run: bool = False,
    force: bool = False,
    client_options: dict[str, Any] | None = None,
    pending_grace_s: float | None = None,
    full: bool = False,
) -> StepRunner:
    """A :data:`StepRunner` calling the step runners directly (no Prefect).

    Each step gets its own run id ``<run_tag>-<step>`` and so its own report folder and run
    record. The outcome of a step: ``status``, ``run_id``, ``counts``, ``seconds`` and,
    when it failed, ``error`` (catalog: also the failed part, ``step``).
    """
    options = dict(client_options or {})

    def catalog(run_id: str) -> dict[str, Any]:
        try:
            summary = run_catalog(shop, run_id=run_id, client_options=options, full=full)
        except CatalogStepError as exc:
            return {"status": "FAILED", "step": exc.step, "error": str(exc)}
        mapping = summary.mapping
        keys = ("linked", "dropped", "mapped_skus", "unmapped_skus")
        return {"status": "COMPLETED", "counts": {k: mapping.get(k) for k in keys}}

    def push(run_id: str) -> dict[str, Any]:
        outcome = run_push(shop, run_id=run_id, dry_run=dry_run, force=force, client_kwargs=options)
        return {
            "status": "COMPLETED" if outcome.ok else "FAILED",
            "counts": outcome.counts,
            "error": None if outcome.ok else outcome.message,
        }

    def orders(run_id: str) -> dict[str, Any]:
        outcome = run_orders(
            shop,
            run_id=run_id,
            dry_run=dry_run,
            pending_grace_s=pending_grace_s,
            client_kwargs=options,
        )
        return {"status": "COMPLETED", "counts": outcome.counts()}

    runners = {"catalog": catalog, "push": push, "relay": orders}

    def run_step(name: str) -> dict[str, Any]:
        run_id = f"{run_tag}-{name}"
        started = time.monotonic()
        try:
            outcome = runners[name](run_id)
        except Exception as exc:
            outcome = {"status": "FAILED", "error": describe(exc)}
        return {"run_id": run_id, **outcome, "seconds": round(time.monotonic() - started, 2)}

    return run_step
