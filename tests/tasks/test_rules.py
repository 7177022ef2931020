"""Stock and price rule arithmetic: one table of cases, checked in Python and in DuckDB."""

from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from skubridge.config import PriceRule, StockRule
from tasks.plan import define_rule_macros
from tasks.rules import desired_price, desired_stock

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
