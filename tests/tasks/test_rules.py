"""Stock and price rule arithmetic: one table of cases, checked in Python and in DuckDB."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from skubridge.config import PriceRule, StockRule, fixed_quantity
from tasks.plan import define_rule_macros
from tasks.rules import desired_price, desired_stock, rule_stock

D = Decimal

# (available, buffer_absolute, buffer_percent, zero_below, max_quantity, expected)
STOCK_CASES = [
    (10, 0, D(0), 0, 99_999, 10),
    (0, 0, D(0), 0, 99_999, 0),
    (-4, 0, D(0), 0, 99_999, 0),  # oversold store stock publishes 0
    (None, 0, D(0), 0, 99_999, 0),
    (10, 3, D(0), 0, 99_999, 7),
    (2, 3, D(0), 0, 99_999, 0),  # buffer larger than stock
    (10, 0, D(10), 0, 99_999, 9),
    (15, 0, D(10), 0, 99_999, 14),  # 1.5 held back -> 1 (rounded down)
    (19, 0, D(10), 0, 99_999, 18),
    (9, 0, D(10), 0, 99_999, 9),  # 0.9 held back -> 0
    (20, 5, D(10), 0, 99_999, 14),  # 20-5=15, 1.5 -> 1 held
    (100, 0, D("33.3"), 0, 99_999, 67),  # 33.3 -> 33 held
    (100, 0, D(100), 0, 99_999, 0),
    (4, 0, D(0), 5, 99_999, 0),  # below threshold
    (5, 0, D(0), 5, 99_999, 5),  # at threshold
    (8, 2, D(0), 7, 99_999, 0),  # threshold applies after buffers
    (500, 0, D(0), 0, 100, 100),  # shop clamp
    (250_000, 0, D(0), 0, 1_000_000, 99_999),  # TikTok's range [0, 99999]
    (250_000, 0, D(0), 0, 99_999, 99_999),
]

# (price, markup_percent, markup_fixed, rounding, expected)
PRICE_CASES = [
    (D("10.00"), D(0), D(0), "cent", D("10.00")),
    (D("10.005"), D(0), D(0), "cent", D("10.01")),  # half up
    (D("10.004"), D(0), D(0), "cent", D("10.00")),
    (D("10.00"), D(10), D(0), "cent", D("11.00")),
    (D("19.99"), D("12.5"), D(0), "cent", D("22.49")),  # 22.48875
    (D("10.00"), D(10), D("1.50"), "cent", D("12.50")),  # percent, then fixed
    (D("10.00"), D(-20), D(0), "cent", D("8.00")),
    (D("10.00"), D(0), D("-0.50"), "cent", D("9.50")),
    (D("10.49"), D(0), D(0), "whole", D("10.00")),
    (D("10.50"), D(0), D(0), "whole", D("11.00")),
    (D("10.00"), D(0), D(0), "end_99", D("9.99")),
    (D("10.40"), D(0), D(0), "end_99", D("9.99")),
    (D("10.49"), D(0), D(0), "end_99", D("10.99")),  # tie between 9.99 and 10.99 goes up
    (D("10.99"), D(0), D(0), "end_99", D("10.99")),
    (D("11.20"), D(0), D(0), "end_99", D("10.99")),
    (D("0.30"), D(0), D(0), "end_99", D("0.99")),  # never 0 or below
    (D("20.00"), D(10), D(0), "end_99", D("21.99")),  # 22.00 -> 21.99
    (D("10.00"), D(0), D(0), "end_95", D("9.95")),
    (D("10.60"), D(0), D(0), "end_95", D("10.95")),
    (D("0.10"), D(0), D(0), "end_95", D("0.95")),
]


def _stock_rule(case: tuple) -> StockRule:
    _, buffer_absolute, buffer_percent, zero_below, max_quantity, _ = case
    return StockRule(
        buffer_absolute=buffer_absolute,
        buffer_percent=buffer_percent,
        zero_below=zero_below,
        max_quantity=max_quantity,
    )


@pytest.mark.parametrize("case", STOCK_CASES)
def test_desired_stock_python(case: tuple) -> None:
    assert desired_stock(case[0], _stock_rule(case)) == case[-1]


@pytest.mark.parametrize("case", PRICE_CASES)
def test_desired_price_python(case: tuple) -> None:
    price, pct, fixed, rounding, expected = case
    rule = PriceRule(markup_percent=pct, markup_fixed=fixed, rounding=rounding)
    result = desired_price(price, rule)
    assert result == expected
    assert result.as_tuple().exponent == -2  # always two decimals


@pytest.fixture
def rules_con(tmp_path) -> duckdb.DuckDBPyConnection:
    connection = duckdb.connect(str(tmp_path / "rules.duckdb"))
    define_rule_macros(connection)
    yield connection
    connection.close()


def test_sql_stock_macro_agrees_with_python(rules_con: duckdb.DuckDBPyConnection) -> None:
    rules_con.execute(
        "CREATE TABLE cases (i INTEGER, available BIGINT, buffer_absolute BIGINT,"
        " buffer_percent DECIMAL(12, 6), zero_below BIGINT, max_quantity BIGINT)"
    )
    rules_con.executemany(
        "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?)",
        [[i, *c[:5]] for i, c in enumerate(STOCK_CASES)],
    )
    rows = rules_con.execute(
        "SELECT i, sb_desired_stock(available, buffer_absolute, buffer_percent, zero_below,"
        " max_quantity) FROM cases ORDER BY i"
    ).fetchall()
    assert [r[1] for r in rows] == [c[-1] for c in STOCK_CASES]
    assert [r[1] for r in rows] == [desired_stock(c[0], _stock_rule(c)) for c in STOCK_CASES]


def test_sql_price_macro_agrees_with_python(rules_con: duckdb.DuckDBPyConnection) -> None:
    rules_con.execute(
        "CREATE TABLE cases (i INTEGER, price DECIMAL(18, 4), markup_percent DECIMAL(12, 4),"
        " markup_fixed DECIMAL(18, 4), rounding VARCHAR)"
    )
    rules_con.executemany(
        "INSERT INTO cases VALUES (?, ?, ?, ?, ?)",
        [[i, *c[:4]] for i, c in enumerate(PRICE_CASES)],
    )
    rows = rules_con.execute(
        "SELECT i, sb_desired_price(price, markup_percent, markup_fixed, rounding)"
        " FROM cases ORDER BY i"
    ).fetchall()
    assert [r[1] for r in rows] == [c[-1] for c in PRICE_CASES]
    python = [
        desired_price(c[0], PriceRule(markup_percent=c[1], markup_fixed=c[2], rounding=c[3]))
        for c in PRICE_CASES
    ]
    assert [r[1] for r in rows] == python


# Which rule sets the stock, and the quantity, per warehouse:
# (available, untracked_quantity, continue_selling_quantity, buffer_absolute, override,
#  tracked, inventory_policy, expected rule, expected quantity)
RULE_CASES = [
    (7, "store", "store", 0, None, True, "DENY", "stock", 7),
    (7, "store", "store", 2, None, True, "DENY", "stock", 5),
    (0, "max", "store", 0, None, False, "DENY", "untracked", 99_999),
    (0, 40, "store", 5, None, False, "DENY", "untracked", 40),  # no buffer on a fixed value
    (3, "store", "max", 0, None, False, "DENY", "stock", 3),  # untracked "store": stock rule
    (0, "store", 25, 0, None, True, "CONTINUE", "continue_selling", 25),
    (0, "store", "max", 0, None, None, "CONTINUE", "continue_selling", 99_999),
    (9, "store", "store", 1, None, True, "CONTINUE", "stock", 8),  # "store": today's rule
    (0, 10, 25, 0, None, False, "CONTINUE", "untracked", 10),  # untracked wins
    (0, "store", 25, 0, None, False, "CONTINUE", "stock", 0),  # untracked, policy moot
    (12, "store", "store", 2, None, None, None, "stock", 10),  # Amazon / TikTok: no notion
    (12, "max", "max", 2, 5, False, "CONTINUE", "override", 5),  # override wins over all
    (12, "store", "store", 2, 0, True, "DENY", "override", 0),
    (12, "store", "store", 2, "skip", True, "DENY", "skipped", None),
    (0, "max", "max", 0, "skip", False, "CONTINUE", "skipped", None),
]


def _rule(case: tuple) -> StockRule:
    return StockRule(
        untracked_quantity=case[1], continue_selling_quantity=case[2], buffer_absolute=case[3]
    )


@pytest.mark.parametrize("case", RULE_CASES)
def test_stock_rule_python(case: tuple) -> None:
    available, *_, override, tracked, policy, rule, quantity = case
    assert rule_stock(
        available, _rule(case), override=override, tracked=tracked, inventory_policy=policy
    ) == (rule, quantity)


def test_sql_stock_rule_macros_agree_with_python(rules_con: duckdb.DuckDBPyConnection) -> None:
    rules_con.execute(
        "CREATE TABLE cases (i INTEGER, available BIGINT, untracked BIGINT, cont BIGINT,"
        " buffer_absolute BIGINT, override VARCHAR, tracked BOOLEAN, policy VARCHAR)"
    )
    rules_con.executemany(
        "INSERT INTO cases VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            [
                i,
                c[0],
                fixed_quantity(c[1]),
                fixed_quantity(c[2]),
                c[3],
                None if c[4] is None else str(c[4]),
                c[5],
                c[6],
            ]
            for i, c in enumerate(RULE_CASES)
        ],
    )
    rows = rules_con.execute(
        "SELECT i, r, sb_rule_stock(r, override, untracked, cont, available, buffer_absolute,"
        " 0, 0, 99999) FROM (SELECT *, sb_stock_rule(override, tracked, policy, untracked,"
        " cont) AS r FROM cases) ORDER BY i"
    ).fetchall()
    assert [(r[1], r[2]) for r in rows] == [(c[-2], c[-1]) for c in RULE_CASES]
