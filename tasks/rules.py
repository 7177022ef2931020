"""Stock and price rule arithmetic: how a store value becomes the value TikTok should show.

Pure functions, the reference for ``tasks/sql/plan/desired.sql`` (the plan computes the
same arithmetic set-based in DuckDB; ``tests/tasks/test_rules.py`` checks both on one
table). Money is ``Decimal`` throughout, never float.

Stock: ``available`` (negative store stock counts as 0) minus ``buffer_absolute``, minus
``buffer_percent`` of what is left (the held-back units rounded down), 0 when the result is
below ``zero_below``, clamped to ``[0, min(max_quantity, 99_999)]``.

Which rule sets a SKU's stock (:func:`stock_rule`, the first that applies): an override
(``"skip"``: nothing written; N: N on each warehouse), ``untracked`` (a Shopify variant whose
inventory is not tracked gets ``untracked_quantity``), ``continue_selling`` (one that keeps
selling when out of stock gets ``continue_selling_quantity``), else ``stock`` (the rule
above, on the store stock summed over the locations feeding the warehouse). A quantity of
``"store"`` turns its rule off.

Price: ``price * (1 + markup_percent / 100) + markup_fixed``, then rounded:
``cent`` to 0.01 and ``whole`` to 1 (half away from zero, like DuckDB's ``round``);
``end_99`` / ``end_95`` to the nearest price ending in .99 / .95 (ties go up), never below
0.99 / 0.95.
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from skubridge.config import TIKTOK_MAX_QUANTITY, PriceRule, StockRule, fixed_quantity

# Update Inventory accepts quantities in [0, 99,999]
# (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858; the newest doc page says [1,
# 99,999]: UNCONFIRMED, 0 is standard practice for "sold out"). TIKTOK_MAX_QUANTITY is that
# maximum (what "max" means in the shops file).
__all__ = ["TIKTOK_MAX_QUANTITY", "desired_price", "desired_stock", "rule_stock", "stock_rule"]

CENT = Decimal("0.01")
ONE = Decimal(1)
ENDINGS = {"end_99": Decimal("0.01"), "end_95": Decimal("0.05")}


def max_quantity(rule: StockRule) -> int:
    """The upper clamp: the rule's ``max_quantity`` within TikTok's allowed range."""
    return min(rule.max_quantity, TIKTOK_MAX_QUANTITY)


def desired_stock(available: int | None, rule: StockRule) -> int:
    """TikTok stock for ``available`` store units under ``rule`` (see module docstring)."""
    quantity = max(int(available or 0), 0)
    quantity = max(quantity - rule.buffer_absolute, 0)
    held = (Decimal(quantity) * rule.buffer_percent * CENT).to_integral_value(ROUND_FLOOR)
    quantity -= int(held)
    if quantity < rule.zero_below:
        quantity = 0
    return min(max(quantity, 0), max_quantity(rule))


def stock_rule(
    rule: StockRule,
    *,
    override: int | str | None = None,
    tracked: bool | None = None,
    inventory_policy: str | None = None,
) -> str:
    """Which rule sets the stock: skipped, override, untracked, continue_selling or stock."""
    if override == "skip":
        return "skipped"
    if override is not None:
        return "override"
    if tracked is False and fixed_quantity(rule.untracked_quantity) is not None:
        return "untracked"
    if (
        tracked is not False
        and inventory_policy == "CONTINUE"
        and fixed_quantity(rule.continue_selling_quantity) is not None
    ):
        return "continue_selling"
    return "stock"


def rule_stock(
    available: int | None,
    rule: StockRule,
    *,
    override: int | str | None = None,
    tracked: bool | None = None,
    inventory_policy: str | None = None,
) -> tuple[str, int | None]:
    """(rule, quantity) for one TikTok warehouse fed by ``available`` store units.

    The quantity is None for a skipped SKU (nothing is written).
    """
    which = stock_rule(rule, override=override, tracked=tracked, inventory_policy=inventory_policy)
    if which == "skipped":
        return which, None
    if which == "override":
        return which, min(max(int(override), 0), TIKTOK_MAX_QUANTITY)  # type: ignore[arg-type]
    if which == "untracked":
        return which, min(fixed_quantity(rule.untracked_quantity) or 0, TIKTOK_MAX_QUANTITY)
    if which == "continue_selling":
        quantity = fixed_quantity(rule.continue_selling_quantity) or 0
        return which, min(quantity, TIKTOK_MAX_QUANTITY)
    return which, desired_stock(available, rule)


def marked_up(price: Decimal, rule: PriceRule) -> Decimal:
    """``price`` with the percent markup, then the fixed markup, before rounding."""
    return price * (100 + rule.markup_percent) * CENT + rule.markup_fixed


def round_price(value: Decimal, rounding: str) -> Decimal:
    """``value`` rounded the way ``PriceRule.rounding`` says, as a 2-decimal Decimal."""
    if rounding == "cent":
        return value.quantize(CENT, ROUND_HALF_UP)
    if rounding == "whole":
        return value.quantize(ONE, ROUND_HALF_UP).quantize(CENT)
    if rounding in ENDINGS:
        gap = ENDINGS[rounding]
        rounded = (value + gap).quantize(ONE, ROUND_HALF_UP) - gap
        if rounded <= 0:
            rounded += ONE
        return rounded.quantize(CENT)
    raise ValueError(f"unknown rounding {rounding!r}")


def desired_price(price: Decimal, rule: PriceRule) -> Decimal:
    """TikTok price for store ``price`` under ``rule``: markups, then rounding."""
    return round_price(marked_up(price, rule), rule.rounding)
