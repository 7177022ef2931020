"""The catalog sanity suite: is a freshly extracted catalog fit to replace the last one?

Run on each side's staged extract (:func:`tasks.catalog.staged_frame`) before anything is
promoted. Every check is blocking: a catalog with duplicate ids, rows without ids, one
that shrank far below (or to nothing from) the previous accepted catalog, or one where
more than ``max_bad_value_share`` of the variants have a non-positive price or negative
stock never replaces that catalog, so it can never zero a shop's stock or unmap its
products. A few such variants are tolerated (a Shopify variant oversold to -2, a free gift
at 0.00 are real): the plan never pushes a non-positive price and clamps stock at 0.

The frame has the columns ``product_id, variant_id, seller_sku, price, quantity,
min_location_quantity`` (price as float, quantity = sum over locations).
"""

from __future__ import annotations

import math

import great_expectations as gx
import great_expectations.expectations as gxe
import pandas as pd

from expectations.runner import SuiteResult, new_suite, run_suite

FRAME_COLUMNS = (
    "product_id",
    "variant_id",
    "seller_sku",
    "price",
    "quantity",
    "min_location_quantity",
)


def _meta(check: str, message: str) -> dict[str, object]:
    return {"check": check, "blocking": True, "message": message}


def min_variants(previous: int | None, max_drop: float) -> int:
    """The smallest variant count that is not a collapse of ``previous`` (0 = no floor)."""
    if not previous:
        return 0
    # round() first: (1 - 0.2) * 10 is 8.000000000000002, which must not demand 9.
    return math.ceil(round((1 - max_drop) * previous, 9))


# However small the shop, this many oversold / zero-price variants are tolerated when any
# share is (a 60-variant shop with two oversold variants must not stop syncing).
MIN_TOLERATED_BAD_VALUES = 3


def tolerated_bad_share(max_bad_value_share: float, rows: int) -> float:
    """The share of bad values the range checks allow on a catalog of ``rows`` variants."""
    if max_bad_value_share <= 0:
        return 0.0
    return min(0.5, max(max_bad_value_share, MIN_TOLERATED_BAD_VALUES / max(rows, 1)))


def catalog_suite(
    channel: str,
    *,
    previous_variants: int | None,
    max_drop: float,
    max_bad_value_share: float = 0.0,
    rows: int = 0,
) -> gx.ExpectationSuite:
    """The suite for one side; ``previous_variants`` = variants of the last accepted snapshot."""
    floor = min_variants(previous_variants, max_drop)
    mostly = 1 - tolerated_bad_share(max_bad_value_share, rows)
    expectations = [
        gxe.ExpectColumnValuesToBeUnique(
            column="variant_id",
            meta=_meta("variant_ids_unique", "each variant/SKU id appears once"),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="product_id",
            meta=_meta("product_id_not_null", "every variant names its product"),
        ),
        gxe.ExpectColumnValuesToNotBeNull(
            column="variant_id",
            meta=_meta("variant_id_not_null", "every variant has an id"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="price",
            mostly=mostly,
            min_value=0,
            strict_min=True,
            meta=_meta("prices_positive", "prices, where present, are above zero"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="quantity",
            mostly=mostly,
            min_value=0,
            meta=_meta("quantities_not_negative", "summed stock of a variant is >= 0"),
        ),
        gxe.ExpectColumnValuesToBeBetween(
            column="min_location_quantity",
            mostly=mostly,
            min_value=0,
            meta=_meta(
                "location_quantities_not_negative", "stock at every location/warehouse is >= 0"
            ),
        ),
        gxe.ExpectTableRowCountToBeBetween(
            min_value=floor,
            meta=_meta(
                "catalog_not_collapsed",
                f"at least {floor} variants: no more than {max_drop:.0%} fewer than the "
                f"{previous_variants} of the previous accepted {channel} catalog"
                if previous_variants
                else f"no previous accepted {channel} catalog to compare with",
            ),
        ),
    ]
    if previous_variants:
        # Only meaningful against a non-empty previous catalog (a new shop may be empty).
        expectations.append(
            gxe.ExpectTableRowCountToBeBetween(
                min_value=1,
                meta=_meta(
                    "catalog_not_empty",
                    f"not empty when the previous accepted {channel} catalog had "
                    f"{previous_variants} variants",
                ),
            )
        )
    return new_suite(f"catalog-{channel}", expectations)


def check_catalog(
    frame: pd.DataFrame,
    *,
    channel: str,
    previous_variants: int | None,
    max_drop: float,
    max_bad_value_share: float = 0.0,
) -> SuiteResult:
    """Run the catalog suite on one side's staged frame."""
    missing = [c for c in FRAME_COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"catalog check frame lacks columns {missing}")
    frame = frame.copy()
    # GX's range checks want numbers, not pandas' nullable/object dtypes.
    for column in ("price", "quantity", "min_location_quantity"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    for column in ("product_id", "variant_id", "seller_sku"):
        frame[column] = frame[column].astype(object)
    suite = catalog_suite(
        channel,
        previous_variants=previous_variants,
        max_drop=max_drop,
        max_bad_value_share=max_bad_value_share,
        rows=len(frame),
    )
    return run_suite(suite, frame)
