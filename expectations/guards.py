"""Pre-write guards on the push plan (docs/reports.md, push report), as a Great Expectations suite.

Four guards, each measured on the plan and checked by GX against the shop's ``[guards]``:

- ``zero_stock_share``: share of mapped SKUs that would go from stock to zero
  (``max_zero_stock_share``); blocks inventory writes. A store extract that lost most of
  its stock must never zero a TikTok shop.
- ``price_move``: largest relative price move, ``|new - old| / old``
  (``max_price_move``); blocks price writes.
- ``currency``: SKUs whose store currency differs from TikTok's (must be 0); blocks price
  writes. Mismatched SKUs themselves are never written, even with ``force``.
- ``mapped_drop``: drop of the mapped-SKU count against the previous accepted push run
  (``max_mapped_drop``); blocks both (a collapsed mapping is not a basis for any write).

The suite runs on a one-row frame of these measures, so GX reports each measured value.
``force`` lets the writes through for one run; the verdicts are still reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import great_expectations as gx
import pandas as pd

from expectations.runner import SuiteResult, new_suite, run_suite
from skubridge.config import Guards
from tasks.plan import Field, Plan

SUITE = "push-guards"

GUARD_FIELDS: dict[str, frozenset[str]] = {
    "zero_stock_share": frozenset({"inventory"}),
    "price_move": frozenset({"price"}),
    "currency": frozenset({"price"}),
    "mapped_drop": frozenset({"price", "inventory"}),
}


@dataclass(frozen=True)
class GuardMetrics:
    """What the guards measure on one plan."""

    mapped_skus: int
    to_zero: int
    zero_stock_share: float
    price_move: float
    currency_mismatches: int
    previous_mapped: int | None
    mapped_drop: float

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "zero_stock_share": self.zero_stock_share,
                    "price_move": self.price_move,
                    "currency_mismatches": self.currency_mismatches,
                    "mapped_drop": self.mapped_drop,
                }
            ]
        )


@dataclass(frozen=True)
class GuardVerdict:
    """The guard suite's result and which fields it blocks (none when forced)."""

    result: SuiteResult
    metrics: GuardMetrics
    forced: bool = False

    @property
    def failed(self) -> tuple[str, ...]:
        return tuple(o.check for o in self.result.blocking_failures)

    @property
    def passed(self) -> bool:
        return not self.failed

    def blocks(self, which: Field) -> bool:
        """True when a failed guard covers writes of ``which`` and the run is not forced."""
        return not self.forced and any(which in GUARD_FIELDS[c] for c in self.failed)

    def message(self) -> str:
        """One line naming each failed guard with its measured value and limit."""
        if self.passed:
            return "all push guards passed"
        text = "; ".join(_describe(o.message, o.observed) for o in self.result.failures)
        suffix = " (overridden by force for this run)" if self.forced else ""
        return f"push blocked by guard: {text}{suffix}"


def _describe(message: str, observed: object) -> str:
    try:
        return message.format(observed=observed)
    except (TypeError, ValueError):
        return f"{message} (observed {observed})"


def measure(plan: Plan, previous_mapped: int | None) -> GuardMetrics:
    """The guard measures of ``plan``; ``previous_mapped`` is the last accepted run's count."""
    mapped = plan.mapped
    to_zero = sum(
        1
        for s in plan.skus
        if s.desired_stock == 0
        and s.store_stock_known
        and s.has_warehouse
        and (s.current_stock or 0) > 0
    )
    moves = [
        float(abs(s.desired_price - s.current_price) / s.current_price)
        for s in plan.skus
        if s.currency_ok
        and s.desired_price is not None
        and s.current_price is not None
        and s.current_price > 0
    ]
    drop = 0.0
    if previous_mapped:
        drop = max(0.0, (previous_mapped - mapped) / previous_mapped)
    return GuardMetrics(
        mapped_skus=mapped,
        to_zero=to_zero,
        zero_stock_share=to_zero / mapped if mapped else 0.0,
        price_move=max(moves, default=0.0),
        currency_mismatches=len(plan.currency_mismatches()),
        previous_mapped=previous_mapped,
        mapped_drop=drop,
    )


def guard_suite(guards: Guards) -> gx.ExpectationSuite:
    """The GX suite for a shop's thresholds (messages name the guard and its limit)."""

    def expect(check: str, column: str, limit: float, message: str) -> object:
        return gx.expectations.ExpectColumnMaxToBeBetween(
            column=column,
            max_value=limit,
            meta={"check": check, "blocking": True, "message": message},
        )

    return new_suite(
        SUITE,
        [
            expect(
                "zero_stock_share",
                "zero_stock_share",
                guards.max_zero_stock_share,
                "zero_stock_share: {observed:.3f} of mapped SKUs would go to zero stock "
                f"(max_zero_stock_share {guards.max_zero_stock_share})",
            ),
            expect(
                "price_move",
                "price_move",
                guards.max_price_move,
                "price_move: largest relative price move {observed:.3f} "
                f"(max_price_move {guards.max_price_move})",
            ),
            expect(
                "currency",
                "currency_mismatches",
                0,
                "currency: {observed} mapped SKUs have a store currency other than TikTok's",
            ),
            expect(
                "mapped_drop",
                "mapped_drop",
                guards.max_mapped_drop,
                "mapped_drop: mapped SKU count fell by {observed:.3f} against the previous "
                f"push run (max_mapped_drop {guards.max_mapped_drop})",
            ),
        ],
    )


def check_plan(
    plan: Plan, guards: Guards, *, previous_mapped: int | None, force: bool = False
) -> GuardVerdict:
    """Run the guard suite on ``plan``; the verdict says which writes are blocked."""
    metrics = measure(plan, previous_mapped)
    result = run_suite(guard_suite(guards), metrics.frame())
    return GuardVerdict(result=result, metrics=metrics, forced=force)
