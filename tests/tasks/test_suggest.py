"""Suggestions for failed SKUs: normalised SKU, barcode, fuzzy title; never applied."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pyarrow as pa
import pytest

from tasks.mapping import auto_map, build_mapping_report
from tasks.suggest import describe_sku_difference, normalise_sku
from tasks.warehouse import insert_frame

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(channel, product, variant, sku, title="Thing", options=None, barcode=None):
    return {
        "channel": channel,
        "product_id": product,
        "variant_id": variant,
        "seller_sku": sku,
        "title": title,
        "options": json.dumps(options or {}),
        "barcode": barcode,
    }


def run(con, rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows).assign(run_id="r0", extracted_at=T0)
    insert_frame(con, "catalog_variants", frame)
    auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    rep = build_mapping_report(con, run_id="r1", store_channel="shopify", suggestions=True)
    return rep.set_index("tiktok_sku_id")


def test_normalise_sku_vectorised():
    got = normalise_sku(pa.array(["AB-1", " ab 1 ", "ＡＢ－１", None, "--"])).to_pylist()
    assert got == ["ab1", "ab1", "ab1", "", ""]


@pytest.mark.parametrize(
    ("a", "b", "why"),
    [
        ("ab-1", "AB-1", "differs by case"),
        ("AB 1", "AB-1", "differs by spaces or punctuation"),
        ("ＡＢ-1", "AB-1", "differs by look-alike characters"),
    ],
)
def test_describe_sku_difference(a, b, why):
    assert describe_sku_difference(a, b) == why


def test_suggestions_by_sku_barcode_and_title(con):
    rep = run(
        con,
        [
            row("tiktok", "T1", "t1", "ab-1"),
            row("tiktok", "T2", "t2", "ＣＤ－２"),
            row("tiktok", "T3", "t3", None, barcode="0012345"),
            row("tiktok", "T4", "t4", "NOPE", title="Organic Cotton Hoodie", options={"Size": "L"}),
            row("tiktok", "T5", "t5", "ZZZ", title="Completely different"),
            row("shopify", "gid://shopify/Product/1", "gid://shopify/ProductVariant/12", "AB-1"),
            row("shopify", "gid://shopify/Product/2", "gid://shopify/ProductVariant/22", "CD-2"),
            row(
                "shopify",
                "gid://shopify/Product/3",
                "gid://shopify/ProductVariant/32",
                "X",
                barcode="0012345",
            ),
            row(
                "shopify",
                "gid://shopify/Product/4",
                "gid://shopify/ProductVariant/42",
                "Y",
                title="Organic Cotton Hoodie",
                options={"Size": "L"},
            ),
        ],
    )
    assert rep.loc["t1", "suggestion"] == (
        "gid://shopify/ProductVariant/12 (sku 'AB-1' differs by case)"
    )
    assert rep.loc["t2", "suggestion"] == (
        "gid://shopify/ProductVariant/22 (sku 'CD-2' differs by look-alike characters)"
    )
    assert rep.loc["t3", "suggestion"] == "gid://shopify/ProductVariant/32 (same barcode '0012345')"
    assert rep.loc["t4", "suggestion"].startswith(
        "gid://shopify/ProductVariant/42 (similar title and options 'Organic Cotton Hoodie L'"
    )
    assert rep.loc["t5", "suggestion"] is None
    # the same hints as columns a CSV map file is made from
    cols = ["suggested_store_variant_id", "suggested_store_sku", "suggestion_basis"]
    assert rep.loc["t1", cols].tolist() == [
        "gid://shopify/ProductVariant/12",
        "AB-1",
        "same_sku_normalised",
    ]
    assert rep.loc["t3", cols].tolist()[0::2] == ["gid://shopify/ProductVariant/32", "same_barcode"]
    assert rep.loc["t4", "suggestion_basis"] == "similar_title_options"
    assert rep.loc["t5", cols].tolist() == [None, None, None]
    assert pd.isna(rep.loc["t1", "store_variant_id"])  # a hint is not a mapping
    # a hint only: nothing was linked
    assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] == 0
    assert set(rep["status"]) == {"unmapped"}


def test_duplicate_store_sku_names_the_candidates(con):
    rep = run(
        con,
        [
            row("tiktok", "T1", "t1", "DUP"),
            row("shopify", "P1", "v1", "DUP"),
            row("shopify", "P2", "v2", "DUP"),
        ],
    )
    assert rep.loc["t1", "reason"] == "DUPLICATE_STORE_SKU"
    assert rep.loc["t1", "suggestion"] == "2 store variants carry this SKU: v1, v2; keep one"


def test_mapped_rows_and_product_level_failures_get_no_suggestion(con):
    rep = run(
        con,
        [
            row("tiktok", "T1", "t1", "A"),
            row("tiktok", "T2", "t2", "B"),
            row("shopify", "P1", "v1", "A"),
            row("shopify", "P2", "v2", "B"),
            row("shopify", "P2", "v3", "b"),
        ],
    )
    assert rep.loc["t1", "status"] == "mapped" and rep.loc["t1", "suggestion"] is None
    assert rep.loc["t2", "reason"] == "VARIANT_COUNT_MISMATCH"
    assert rep.loc["t2", "suggestion"] is None


def test_a_sku_found_once_names_its_store_variant_and_blames_the_siblings(con):
    rep = run(
        con,
        [
            row("tiktok", "T1", "t1", "TEE-S"),
            row("tiktok", "T1", "t2", "TEE-GONE"),
            row("shopify", "gid://shopify/Product/1", "gid://shopify/ProductVariant/11", "TEE-S"),
        ],
    )
    assert rep.loc["t1", "suggestion"] == (
        "gid://shopify/ProductVariant/11 carries this SKU (exact match); the product failed"
        " for its other SKUs (SKU_NOT_FOUND): fix those, or map the product by hand"
    )
    assert "keep one" not in rep.loc["t1", "suggestion"]
