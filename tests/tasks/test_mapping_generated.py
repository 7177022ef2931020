"""Auto-map on generated catalogs holding every anomaly kind: exactly the expected outcome."""

from __future__ import annotations

import pandas as pd
import pytest

from sandbox.generator import generate_tables_with_expected
from tasks.mapping import auto_map, build_mapping_report
from tasks.warehouse import insert_frame


@pytest.mark.parametrize("store", ["shopify", "amazon"])
@pytest.mark.parametrize("seed", [1, 7])
def test_every_tiktok_sku_gets_the_expected_status_and_reason(con, store, seed):
    tiktok, store_side, expected = generate_tables_with_expected(3000, seed=seed, store=store)
    for table in (tiktok, store_side):
        insert_frame(
            con, "catalog_variants", table.append_column("run_id", [["r0"] * table.num_rows])
        )
    outcome = auto_map(con, run_id="r1", store_channel=store)
    report = build_mapping_report(con, run_id="r1", store_channel=store, suggestions=True)
    assert set(expected["anomaly"]) >= {
        "none",
        "blank_sku",
        "duplicate_tiktok_sku",
        "sku_case_punct",
        "split_across_products",
        "variant_count_mismatch",
        "tiktok_only",
        "barcode_only",
    }
    merged = expected.merge(
        report, on="tiktok_sku_id", suffixes=("_exp", ""), how="outer", indicator=True
    )
    assert (merged["_merge"] == "both").all()
    bad = merged[
        (merged["status_exp"] != merged["status"])
        | (merged["reason_exp"].fillna("") != merged["reason"].fillna(""))
    ]
    assert bad.empty, (
        bad[["tiktok_sku_id", "anomaly", "status_exp", "status", "reason_exp", "reason"]]
        .head(20)
        .to_string()
    )
    mapped = merged[merged["status"] == "mapped"]
    assert (mapped["store_product_id_exp"] == mapped["store_product_id"]).all()
    assert (mapped["store_variant_id_exp"] == mapped["store_variant_id"]).all()
    assert set(mapped["method"]) == {"auto"}
    assert outcome.mapped_skus == len(mapped)
    # suggestions name the expected store variant where the generator expects one
    hinted = merged[merged["suggestion_exp"].notna()]
    assert len(hinted) > 0
    named = [
        isinstance(s, str) and s.startswith(f"{v} (")
        for s, v in zip(hinted["suggestion"], hinted["suggestion_exp"], strict=True)
    ]
    assert all(named), (
        hinted.loc[
            [not n for n in named], ["tiktok_sku_id", "anomaly", "suggestion_exp", "suggestion"]
        ]
        .head(10)
        .to_string()
    )
    # a second run changes nothing
    again = auto_map(con, run_id="r2", store_channel=store)
    assert again.linked == 0 and again.dropped == []
    rerun = build_mapping_report(con, run_id="r2", store_channel=store, suggestions=False)
    # Without suggestions the hint columns differ (and the store side of a hinted row).
    hints = ["suggestion", "suggested_store_variant_id", "suggested_store_sku"]
    hints += ["suggestion_basis", "store_title", "store_options"]
    pd.testing.assert_frame_equal(rerun.drop(columns=hints), report.drop(columns=hints))
