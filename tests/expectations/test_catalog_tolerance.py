"""A few oversold or free variants are tolerated by the catalog checks; many are not."""

from __future__ import annotations

import pandas as pd
import pytest

from expectations.catalog import check_catalog


def _frame(n: int, bad_quantity: int = 0, bad_price: int = 0) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "product_id": [f"p{i}" for i in range(n)],
            "variant_id": [f"v{i}" for i in range(n)],
            "seller_sku": [f"S{i}" for i in range(n)],
            "price": [0.0 if i < bad_price else 9.5 for i in range(n)],
            "quantity": [-2 if i < bad_quantity else 4 for i in range(n)],
            "min_location_quantity": [-2 if i < bad_quantity else 4 for i in range(n)],
        }
    )


@pytest.mark.parametrize(
    ("bad_quantity", "bad_price", "passes"),
    [(0, 0, True), (1, 0, True), (0, 2, True), (3, 0, True), (4, 0, False), (0, 5, False)],
)
def test_bad_value_share_is_tolerated_up_to_the_threshold(bad_quantity, bad_price, passes):
    result = check_catalog(
        _frame(100, bad_quantity, bad_price),
        channel="shopify",
        previous_variants=100,
        max_drop=0.5,
        max_bad_value_share=0.02,
    )
    assert result.passed is passes
    if not passes:
        failed = {o.check for o in result.blocking_failures}
        assert failed & {"quantities_not_negative", "prices_positive"}


def test_zero_tolerance_blocks_a_single_bad_variant():
    result = check_catalog(
        _frame(100, 1, 0), channel="shopify", previous_variants=None, max_drop=0.5
    )
    assert not result.passed


def test_small_shops_tolerate_a_few_bad_variants_however_small():
    # 2 oversold variants of 60 are 3.3 %, above the 2 % share, but within the floor of 3
    result = check_catalog(
        _frame(60, 2, 0),
        channel="shopify",
        previous_variants=60,
        max_drop=0.5,
        max_bad_value_share=0.02,
    )
    assert result.passed
    result = check_catalog(
        _frame(60, 4, 0),
        channel="shopify",
        previous_variants=60,
        max_drop=0.5,
        max_bad_value_share=0.02,
    )
    assert not result.passed
