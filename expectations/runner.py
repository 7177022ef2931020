"""Running a Great Expectations (GX Core 1.x) suite on a DataFrame, with a plain result.

Suites are built in code (``expectations/catalog.py``, ``expectations/guards.py``...) from
GX expectation classes. Each expectation carries ``meta={"check": <name>, "blocking":
bool, "message": <what it means>}``; :func:`run_suite` validates a frame in GX's ephemeral
context and returns :class:`SuiteResult`: one :class:`CheckOutcome` per expectation with
the observed value, so a flow can stop before writing and a report can say why.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")

import great_expectations as gx
import pandas as pd

_lock = threading.RLock()
_state: dict[str, Any] = {}

logging.getLogger("great_expectations").setLevel(logging.WARNING)


@dataclass(frozen=True)
class CheckOutcome:
    """The verdict of one check."""

    check: str
    passed: bool
    blocking: bool
    observed: Any
    message: str

    def describe(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        return f"{self.check} {verdict} (observed {self.observed}): {self.message}"


@dataclass(frozen=True)
class SuiteResult:
    """All checks of a suite on one frame; ``passed`` is False when a blocking check failed."""

    suite: str
    outcomes: tuple[CheckOutcome, ...]

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.outcomes if o.blocking)

    @property
    def failures(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed)

    @property
    def blocking_failures(self) -> tuple[CheckOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.passed and o.blocking)

    def summary(self) -> str:
        if not self.failures:
            return f"{self.suite}: all {len(self.outcomes)} checks passed"
        return f"{self.suite}: " + "; ".join(o.describe() for o in self.failures)


def _context() -> Any:
    """GX's ephemeral data context (one per process, made on first use)."""
    if "context" not in _state:
        _state["context"] = gx.get_context(mode="ephemeral")
    return _state["context"]


def new_suite(name: str, expectations: list[Any]) -> gx.ExpectationSuite:
    """An expectation suite holding ``expectations`` (GX needs its context to exist first)."""
    with _lock:
        _context()
        suite = gx.ExpectationSuite(name=name)
        for expectation in expectations:
            suite.add_expectation(expectation)
    return suite


def _batch_definition() -> Any:
    with _lock:
        if "bd" not in _state:
            context = _context()
            # Progress bars are cosmetic; an unknown config shape must not stop a check.
            with contextlib.suppress(Exception):
                context.variables.progress_bars = {"globally": False, "metric_calculations": False}
            source = context.data_sources.add_pandas("skubridge")
            asset = source.add_dataframe_asset("frame")
            _state["bd"] = asset.add_batch_definition_whole_dataframe("whole")
        return _state["bd"]


def _observed(result: Any) -> Any:
    data = result.result or {}
    if "observed_value" in data:
        return data["observed_value"]
    if "unexpected_count" in data:
        sample = data.get("partial_unexpected_list") or []
        return {"unexpected": data.get("unexpected_count"), "sample": [str(s) for s in sample[:5]]}
    return None


def run_suite(suite: gx.ExpectationSuite, frame: pd.DataFrame) -> SuiteResult:
    """Validate ``frame`` against ``suite``; one outcome per expectation, in suite order."""
    with _lock:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        result = batch.validate(suite)
    outcomes = []
    for item in result.results:
        meta = item.expectation_config.meta or {}
        outcomes.append(
            CheckOutcome(
                check=str(meta.get("check") or item.expectation_config.type),
                passed=bool(item.success),
                blocking=bool(meta.get("blocking", True)),
                observed=_observed(item),
                message=str(meta.get("message", "")),
            )
        )
    return SuiteResult(suite=suite.name, outcomes=tuple(outcomes))
