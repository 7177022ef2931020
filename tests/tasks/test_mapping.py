"""Auto-map: one test per reason code on tiny hand-built catalogs, persistence, Amazon families."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest

from tasks.mapping import REPORT_COLUMNS, auto_map, build_mapping_report, classify
from tasks.warehouse import insert_frame

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def tiktok(product: str, *skus: tuple[str, str | None]) -> list[dict]:
    """TikTok rows: (sku_id, seller_sku) per variant."""
    return [
        {"channel": "tiktok", "product_id": product, "variant_id": sid, "seller_sku": sku}
        for sid, sku in skus
    ]


def store(
    product: str, *variants: tuple[str, str | None], channel: str = "shopify", parent=None
) -> list[dict]:
    """Store rows: (variant_id, seller_sku) per variant."""
    return [
        {
            "channel": channel,
            "product_id": product,
            "variant_id": vid,
            "seller_sku": sku,
            "parent_id": parent,
            "title": f"title {product}",
            "options": json.dumps({"Size": vid}),
        }
        for vid, sku in variants
    ]


def load(con, *groups: list[dict]) -> None:
    """Replace the accepted catalogs with these rows."""
    con.execute("DELETE FROM catalog_variants")
    rows = [r for g in groups for r in g]
    frame = pd.DataFrame(rows).assign(run_id="r0", extracted_at=T0)
    insert_frame(con, "catalog_variants", frame)


def report(con, channel="shopify", run="r1", suggestions=False) -> pd.DataFrame:
    auto_map(con, run_id=run, store_channel=channel, now=T0)
    return build_mapping_report(con, run_id=run, store_channel=channel, suggestions=suggestions)


def by_sku(frame: pd.DataFrame) -> dict[str, tuple]:
    def val(v):
        return None if pd.isna(v) else v

    return {
        r.tiktok_sku_id: tuple(
            val(v) for v in (r.status, r.reason, r.method, r.store_product_id, r.store_variant_id)
        )
        for r in frame.itertuples()
    }


def test_exact_match_maps_every_sku(con):
    load(con, tiktok("T1", ("t1a", "A"), ("t1b", "B")), store("S1", ("v1", "B"), ("v2", "A")))
    rep = report(con)
    assert list(rep.columns) == REPORT_COLUMNS
    assert by_sku(rep) == {
        "t1a": ("mapped", None, "auto", "S1", "v2"),
        "t1b": ("mapped", None, "auto", "S1", "v1"),
    }
    rows = con.execute(
        "SELECT tiktok_sku_id, store_variant_id, method, mapped_at, store_sku FROM mappings"
        " ORDER BY 1"
    ).fetchall()
    assert rows == [("t1a", "v2", "auto", T0, "A"), ("t1b", "v1", "auto", T0, "B")]
    events = con.execute("SELECT event, count(*) FROM mapping_events GROUP BY ALL").fetchall()
    assert events == [("linked", 2)]


@pytest.mark.parametrize("blank", [None, "", "   ", "\u00a0\t", "\u200b"])
def test_missing_sku(con, blank):
    load(con, tiktok("T1", ("t1a", "A"), ("t1b", blank)), store("S1", ("v1", "A"), ("v2", "B")))
    got = by_sku(report(con))
    assert got["t1b"][:2] == ("unmapped", "MISSING_SKU")
    # the other SKU of the product carries the product's reason
    assert got["t1a"][:2] == ("unmapped", "MISSING_SKU")


def test_blank_store_sku_does_not_match_blank_tiktok_sku(con):
    load(con, tiktok("T1", ("t1a", " ")), store("S1", ("v1", " ")))
    assert by_sku(report(con))["t1a"][:2] == ("unmapped", "MISSING_SKU")


def test_duplicate_tiktok_sku(con):
    load(
        con,
        tiktok("T1", ("t1a", "A"), ("t1b", "B")),
        tiktok("T2", ("t2a", "A")),
        store("S1", ("v1", "A"), ("v2", "B")),
    )
    got = by_sku(report(con))
    assert got["t1a"][:2] == ("unmapped", "DUPLICATE_TIKTOK_SKU")
    assert got["t2a"][:2] == ("unmapped", "DUPLICATE_TIKTOK_SKU")
    assert got["t1b"][:2] == ("unmapped", "DUPLICATE_TIKTOK_SKU")


def test_sku_not_found_and_precedence_over_later_reasons(con):
    # t1b is not in the store and the store product has 3 variants: SKU_NOT_FOUND wins.
    load(
        con,
        tiktok("T1", ("t1a", "A"), ("t1b", "ZZ")),
        store("S1", ("v1", "A"), ("v2", "B"), ("v3", "C")),
    )
    got = by_sku(report(con))
    assert got["t1b"] == ("unmapped", "SKU_NOT_FOUND", None, None, None)
    assert got["t1a"] == ("unmapped", "SKU_NOT_FOUND", None, None, None)


def test_sku_match_is_byte_exact(con):
    load(con, tiktok("T1", ("t1a", "ab-1")), store("S1", ("v1", "AB-1")))
    assert by_sku(report(con))["t1a"][:2] == ("unmapped", "SKU_NOT_FOUND")


def test_duplicate_store_sku(con):
    load(
        con,
        tiktok("T1", ("t1a", "A"), ("t1b", "B")),
        store("S1", ("v1", "A"), ("v2", "B")),
        store("S2", ("v3", "A")),
    )
    got = by_sku(report(con))
    assert got["t1a"] == ("unmapped", "DUPLICATE_STORE_SKU", None, None, None)
    assert got["t1b"][:2] == ("unmapped", "DUPLICATE_STORE_SKU")


def test_missing_beats_duplicate_tiktok_in_product_reason(con):
    load(
        con,
        tiktok("T1", ("t1a", None), ("t1b", "D")),
        tiktok("T2", ("t2a", "D")),
        store("S1", ("v1", "D")),
    )
    got = by_sku(report(con))
    assert got["t1a"][1] == "MISSING_SKU"
    assert got["t1b"][1] == "DUPLICATE_TIKTOK_SKU"  # its own SKU-level reason
    assert got["t2a"][1] == "DUPLICATE_TIKTOK_SKU"


def test_split_across_products(con):
    load(
        con,
        tiktok("T1", ("t1a", "A"), ("t1b", "B")),
        store("S1", ("v1", "A")),
        store("S2", ("v2", "B")),
    )
    got = by_sku(report(con))
    assert got["t1a"] == ("unmapped", "SPLIT_ACROSS_PRODUCTS", None, None, None)
    assert got["t1b"] == ("unmapped", "SPLIT_ACROSS_PRODUCTS", None, None, None)


def test_report_carries_both_sides_and_suggestion_columns(con):
    """Titles and options of both sides; an unmapped row names the store variant with its
    SKU in the suggestion columns, never in the store ids (docs/reports.md)."""
    rows = tiktok("T1", ("t1a", "A"), ("t1b", "B")) + tiktok("T2", ("t2a", "C"))
    for row in rows:
        row.update(title=f"Blue {row['product_id']}", options=json.dumps({"Size": "M"}))
    load(
        con,
        rows,
        store("S1", ("v1", "A")),
        store("S2", ("v2", "B")),
        store("S3", ("v3", "C")),
    )
    rep = report(con).set_index("tiktok_sku_id")
    assert list(rep.columns[-7:]) == [
        "tiktok_title",
        "tiktok_options",
        "store_title",
        "store_options",
        "suggested_store_variant_id",
        "suggested_store_sku",
        "suggestion_basis",
    ]
    split = rep.loc["t1a"]
    assert split["status"] == "unmapped" and pd.isna(split["store_variant_id"])
    assert (split["tiktok_title"], split["tiktok_options"]) == ("Blue T1", "Size: M")
    assert (split["suggested_store_variant_id"], split["suggested_store_sku"]) == ("v1", "A")
    assert split["suggestion_basis"] == "same_sku"
    assert (split["store_title"], split["store_options"]) == ("title S1", "Size: v1")
    mapped = rep.loc["t2a"]
    assert (mapped["status"], mapped["store_variant_id"]) == ("mapped", "v3")
    assert (mapped["store_title"], mapped["store_options"]) == ("title S3", "Size: v3")
    assert mapped["suggested_store_variant_id"] is None and mapped["suggestion_basis"] is None


def test_variant_count_mismatch(con):
    load(con, tiktok("T1", ("t1a", "A")), store("S1", ("v1", "A"), ("v2", None)))
    got = by_sku(report(con))
    assert got["t1a"] == ("unmapped", "VARIANT_COUNT_MISMATCH", None, None, None)
    assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] == 0


def test_store_product_taken_by_manual_link(con):
    load(
        con,
        tiktok("T1", ("t1a", "A")),
        tiktok("T9", ("t9a", "OTHER")),
        store("S1", ("v1", "A")),
    )
    con.execute(
        "INSERT INTO mappings VALUES ('t9a', 'T9', 'OTHER', 'S1', 'v1', 'manual', ?, 'r0', 'A')",
        [T0],
    )
    got = by_sku(report(con))
    assert got["t1a"] == ("unmapped", "STORE_PRODUCT_TAKEN", None, None, None)
    assert got["t9a"] == ("mapped", None, "manual", "S1", "v1")


def test_manual_link_survives_auto_map(con):
    load(
        con,
        tiktok("T1", ("t1a", "TT-1"), ("t1b", "TT-2")),
        store("S1", ("v1", "ST-1"), ("v2", "ST-2"), ("v3", "ST-3")),
    )
    con.execute(
        "INSERT INTO mappings VALUES ('t1a', 'T1', 'TT-1', 'S1', 'v1', 'manual', ?, 'r0', 'ST-1'),"
        " ('t1b', 'T1', 'TT-2', 'S1', 'v2', 'csv', ?, 'r0', 'ST-2')",
        [T0, T0],
    )
    out = auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    assert out.dropped == [] and out.linked == 0
    got = by_sku(build_mapping_report(con, run_id="r1", store_channel="shopify"))
    assert got["t1a"] == ("mapped", None, "manual", "S1", "v1")
    assert got["t1b"] == ("mapped", None, "csv", "S1", "v2")
    assert con.execute("SELECT count(*) FROM mapping_events").fetchone()[0] == 0


def test_manual_product_new_variant_is_reported_not_auto_mapped(con):
    load(
        con,
        tiktok("T1", ("t1a", "TT-1"), ("t1b", "NEW")),
        store("S1", ("v1", "ST-1")),
        store("S2", ("v2", "NEW")),
    )
    con.execute(
        "INSERT INTO mappings VALUES ('t1a', 'T1', 'TT-1', 'S1', 'v1', 'manual', ?, 'r0', 'ST-1')",
        [T0],
    )
    got = by_sku(report(con))
    assert got["t1a"][:3] == ("mapped", None, "manual")
    assert got["t1b"][:2] == ("unmapped", "VARIANT_COUNT_MISMATCH")


def test_manual_link_dropped_when_store_sku_changes_or_sides_vanish(con):
    load(
        con,
        tiktok("T1", ("t1a", "A")),
        tiktok("T2", ("t2a", "B")),
        store("S1", ("v1", "A-renamed")),
    )
    con.execute(
        "INSERT INTO mappings VALUES"
        " ('t1a', 'T1', 'A', 'S1', 'v1', 'manual', ?, 'r0', 'A'),"
        " ('t2a', 'T2', 'B', 'S2', 'v2', 'manual', ?, 'r0', 'B'),"
        " ('t3a', 'T3', 'C', 'S1', 'v1', 'csv', ?, 'r0', 'A-renamed')",
        [T0, T0, T0],
    )
    out = auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    assert {(d.tiktok_sku_id, d.reason) for d in out.dropped} == {
        ("t1a", "SKU_CHANGED"),
        ("t2a", "STORE_VARIANT_GONE"),
        ("t3a", "TIKTOK_SKU_GONE"),
    }
    assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] == 0
    events = con.execute(
        "SELECT tiktok_sku_id, event, method, reason FROM mapping_events ORDER BY 1"
    ).fetchall()
    assert events == [
        ("t1a", "dropped", "manual", "SKU_CHANGED"),
        ("t2a", "dropped", "manual", "STORE_VARIANT_GONE"),
        ("t3a", "dropped", "csv", "TIKTOK_SKU_GONE"),
    ]


def test_auto_links_dropped_when_sku_vanishes_or_changes(con):
    load(
        con,
        tiktok("T1", ("t1a", "A")),
        tiktok("T2", ("t2a", "B")),
        tiktok("T3", ("t3a", "C")),
        store("S1", ("v1", "A")),
        store("S2", ("v2", "B")),
        store("S3", ("v3", "C")),
    )
    first = auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    assert first.linked == 3
    # t1a's TikTok SKU vanishes, v2's SKU is renamed, S3 gains a variant.
    load(
        con,
        tiktok("T2", ("t2a", "B")),
        tiktok("T3", ("t3a", "C")),
        store("S1", ("v1", "A")),
        store("S2", ("v2", "B2")),
        store("S3", ("v3", "C"), ("v4", "C2")),
    )
    later = datetime(2026, 2, 1, tzinfo=UTC)
    out = auto_map(con, run_id="r2", store_channel="shopify", now=later)
    assert {(d.tiktok_sku_id, d.reason) for d in out.dropped} == {
        ("t1a", "TIKTOK_SKU_GONE"),
        ("t2a", "SKU_CHANGED"),
        ("t3a", "VARIANT_COUNT_MISMATCH"),
    }
    assert out.summary()["dropped"] == 3
    assert con.execute("SELECT count(*) FROM mappings").fetchone()[0] == 0


def test_rerun_is_idempotent_and_keeps_first_mapped_at(con):
    load(con, tiktok("T1", ("t1a", "A"), ("t1b", "B")), store("S1", ("v1", "A"), ("v2", "B")))
    auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    before = con.execute("SELECT * FROM mappings ORDER BY 1").fetchall()
    later = datetime(2026, 3, 1, tzinfo=UTC)
    out = auto_map(con, run_id="r2", store_channel="shopify", now=later)
    assert out.linked == 0 and out.dropped == [] and out.mapped_skus == 2
    assert con.execute("SELECT * FROM mappings ORDER BY 1").fetchall() == before
    assert con.execute("SELECT count(*) FROM mapping_events").fetchone()[0] == 2


def test_outcome_counts(con):
    load(
        con,
        tiktok("T1", ("t1a", "A"), ("t1b", None)),
        tiktok("T2", ("t2a", "X")),
        store("S1", ("v1", "X")),
    )
    out = auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    assert out.tiktok_skus == 3 and out.tiktok_products == 2
    assert out.mapped_skus == 1 and out.mapped_products == 1
    assert out.by_reason == {"MISSING_SKU": 1, "SKU_NOT_FOUND": 1}  # t1a: its own reason
    assert out.products_by_reason == {"MISSING_SKU": 1}
    assert out.by_method == {"auto": 1}


AMAZON = "amazon"


def test_amazon_parent_family_maps_and_counts(con):
    load(
        con,
        tiktok("T1", ("t1a", "SH-S"), ("t1b", "SH-M")),
        tiktok("T2", ("t2a", "HAT-1")),
        store("PARENT1", ("SH-S", "SH-S"), ("SH-M", "SH-M"), channel=AMAZON, parent="PARENT1"),
        store("PARENT2", ("HAT-1", "HAT-1"), ("HAT-2", "HAT-2"), channel=AMAZON, parent="PARENT2"),
    )
    got = by_sku(report(con, channel=AMAZON))
    assert got["t1a"] == ("mapped", None, "auto", "PARENT1", "SH-S")
    assert got["t1b"] == ("mapped", None, "auto", "PARENT1", "SH-M")
    assert got["t2a"][:2] == ("unmapped", "VARIANT_COUNT_MISMATCH")


def test_amazon_standalone_listings_form_the_family(con):
    load(
        con,
        tiktok("T1", ("t1a", "MUG-R"), ("t1b", "MUG-B")),
        tiktok("T2", ("t2a", "CAP"), ("t2b", "SH-S")),
        store("B001", ("MUG-R", "MUG-R"), channel=AMAZON),
        store("B002", ("MUG-B", "MUG-B"), channel=AMAZON),
        store("B003", ("CAP", "CAP"), channel=AMAZON),
        store("PARENT1", ("SH-S", "SH-S"), channel=AMAZON, parent="PARENT1"),
    )
    got = by_sku(report(con, channel=AMAZON))
    assert got["t1a"] == ("mapped", None, "auto", "B001", "MUG-R")
    assert got["t1b"] == ("mapped", None, "auto", "B002", "MUG-B")
    # standalone + parented mixed is a split
    assert got["t2a"][:2] == ("unmapped", "SPLIT_ACROSS_PRODUCTS")
    assert got["t2b"][:2] == ("unmapped", "SPLIT_ACROSS_PRODUCTS")


def test_amazon_standalone_listing_taken_per_listing(con):
    load(
        con,
        tiktok("T1", ("t1a", "MUG-R"), ("t1b", "MUG-B")),
        tiktok("T9", ("t9a", "ELSE")),
        store("B001", ("MUG-R", "MUG-R"), channel=AMAZON),
        store("B002", ("MUG-B", "MUG-B"), channel=AMAZON),
    )
    con.execute(
        "INSERT INTO mappings VALUES ('t9a','T9','ELSE','B002','MUG-B','manual',?,'r0','MUG-B')",
        [T0],
    )
    got = by_sku(report(con, channel=AMAZON))
    assert got["t1a"][:2] == ("unmapped", "STORE_PRODUCT_TAKEN")
    assert got["t1b"][:2] == ("unmapped", "STORE_PRODUCT_TAKEN")


def test_rejects_unknown_store_channel(con):
    with pytest.raises(ValueError):
        auto_map(con, run_id="r1", store_channel="ebay")


def test_classify_previews_without_writing(con):
    load(
        con,
        tiktok("T1", ("t1a", "A")),
        tiktok("T2", ("t2a", None)),
        store("S1", ("v1", "A")),
    )
    preview = classify(con, store_channel="shopify")
    assert preview.mapped_skus == 1 and preview.by_reason == {"MISSING_SKU": 1}
    assert preview.linked == 0 and preview.dropped == []
    for table in ("mappings", "mapping_events", "mapping_state"):
        assert con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 0
    done = auto_map(con, run_id="r1", store_channel="shopify", now=T0)
    assert (done.mapped_skus, done.by_reason) == (preview.mapped_skus, preview.by_reason)
