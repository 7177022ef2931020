"""The cycle's rules (tasks/steps/cycle.py), with step runners that only say how they ended.

The same :func:`run_cycle` serves the ``sync-shop`` flow (subflows) and the chaos engine
(plain runners), so its policy is checked here once, and its run record with it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tasks.steps.cycle import run_cycle
from tasks.warehouse import open_shop

SHOP = "cycle-shop"


class Steps:
    """A step runner that records the calls and ends each step as told."""

    def __init__(self, **ends: str) -> None:
        self.ends = ends
        self.called: list[str] = []

    def __call__(self, name: str) -> dict[str, Any]:
        self.called.append(name)
        end = self.ends.get(name, "COMPLETED")
        if end == "RAISE":
            raise RuntimeError(f"{name} crashed")
        return {"status": end} | ({"error": f"{name} said no"} if end == "FAILED" else {})


def record(run_id: str) -> tuple[Any, ...]:
    with open_shop(SHOP) as con:
        return con.execute(
            "SELECT flow, status, failed_step, error, summary FROM runs WHERE run_id = ?",
            [run_id],
        ).fetchone()


def test_all_steps_complete(data_dirs):
    steps = Steps()
    outcome = run_cycle(SHOP, run_id="c1", run_step=steps)
    assert steps.called == ["catalog", "push", "relay"]
    assert outcome.ok and outcome.error is None
    flow, status, failed_step, error, summary = record("c1")
    assert (flow, status, failed_step, error) == ("sync-shop", "COMPLETED", None, None)
    assert json.loads(summary)["push"] == {"status": "COMPLETED"}


def test_failed_catalog_skips_the_push_and_still_relays(data_dirs):
    steps = Steps(catalog="FAILED")
    outcome = run_cycle(SHOP, run_id="c2", run_step=steps, flow="chaos-cycle")
    assert steps.called == ["catalog", "relay"]
    assert outcome.steps["push"] == {"status": "SKIPPED", "error": "catalog step failed"}
    assert outcome.failed == ["catalog"]
    assert record("c2")[:4] == ("chaos-cycle", "FAILED", "catalog", "catalog: catalog said no")


def test_a_crashing_step_is_a_failed_step_and_the_next_ones_run(data_dirs):
    steps = Steps(push="RAISE", relay="FAILED")
    outcome = run_cycle(SHOP, run_id="c3", run_step=steps)
    assert steps.called == ["catalog", "push", "relay"]
    assert outcome.steps["push"] == {"status": "FAILED", "error": "RuntimeError: push crashed"}
    assert record("c3")[1:3] == ("FAILED", "push,relay")


def test_only_the_chosen_steps_run_in_cycle_order(data_dirs):
    steps = Steps()
    run_cycle(SHOP, run_id="c4", run_step=steps, steps=["relay", "catalog"])
    assert steps.called == ["catalog", "relay"]


def test_the_hold_is_taken_around_the_steps_only(data_dirs):
    seen: list[str] = []

    class Hold:
        def __enter__(self) -> None:
            seen.append("hold")
            assert record("c5")[1] == "RUNNING"  # the run is recorded before waiting

        def __exit__(self, *exc: object) -> None:
            seen.append("release")

    def step(name: str) -> dict[str, Any]:
        seen.append(name)
        return {"status": "COMPLETED"}

    run_cycle(SHOP, run_id="c5", run_step=step, steps=["relay"], hold=Hold())
    assert seen == ["hold", "relay", "release"]
    assert record("c5")[1] == "COMPLETED"


def test_a_failing_hold_fails_the_recorded_run(data_dirs):
    class Timeout:
        def __enter__(self) -> None:
            raise TimeoutError("shop slot busy")

        def __exit__(self, *exc: object) -> None:
            return None

    with pytest.raises(TimeoutError):
        run_cycle(SHOP, run_id="c6", run_step=Steps(), hold=Timeout())
    assert record("c6")[1:4] == ("FAILED", "cycle", "TimeoutError: shop slot busy")
