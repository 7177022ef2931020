"""Hostile SKUs and titles through extract -> DuckDB -> auto-map -> reports -> search -> map.

Quotes, semicolons, SQL fragments, control characters, emoji, right-to-left text, NUL bytes
and 10,000-character values go through the real pipeline against the sandbox. They must
come back byte-exact, map only when exactly equal, never be run as SQL, and leave the
CSV/Parquet reports parseable.
"""

from __future__ import annotations

import csv
import gzip
from typing import Any

import pandas as pd
import pytest

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.manual_map import map_from_csv, map_product_by_hand
from tasks.search import search_products
from tasks.steps.catalog import run_catalog
from tasks.warehouse import open_shop

DROP = "'; DROP TABLE mappings; --"
QUOTES = "q\"uo'te`s\\"
SEMI = "semi;colon,comma|pipe"
CONTROL = "ctrl\x01\x07\x1b[31m\x1f\x7f"
EMOJI_RTL = "👕🔥-שלום-مرحبا-\u200f\u202e"
NUL = "nul\x00byte"
LONG = "L" * 9_990 + "-long-tail"
NEWLINES = "line\nbreak\r\ntab\there\u2028sep\x85nel"

HOSTILE = [DROP, QUOTES, SEMI, CONTROL, EMOJI_RTL, NUL, LONG, NEWLINES]
TITLES = {
    DROP: "Robert'); DROP TABLE catalog_variants;--",
    QUOTES: "He said \"hi\" & 'bye'",
    SEMI: "a;b;c",
    CONTROL: "bell\x07 escape\x1b[0m",
    EMOJI_RTL: "قميص 👕 חולצה",
    NUL: "null\x00title",
    LONG: "T" * 10_000,
    NEWLINES: "multi\nline\r\ntitle",
}
TO_MAP = "map;me'\"--\x00👕"  # the TikTok SKU a person maps by hand onto a store product


def fixture() -> dict[str, Any]:
    tiktok = [
        {"title": TITLES[sku], "skus": [{"seller_sku": sku, "price": "10"}]} for sku in HOSTILE
    ]
    shopify = [{"title": TITLES[sku], "variants": [{"sku": sku, "price": "10"}]} for sku in HOSTILE]
    tiktok += [
        {"title": "Case", "skus": [{"seller_sku": "Case-SKU'", "price": "10"}]},
        {"title": "Manual", "skus": [{"seller_sku": TO_MAP, "price": "10"}]},
    ]
    shopify += [
        {"title": "Case", "variants": [{"sku": "case-sku'", "price": "10"}]},
        {"title": "Manual store", "variants": [{"sku": "OLD-1", "price": "10"}]},
    ]
    return {"tiktok": {"products": tiktok}, "shopify": {"products": shopify}}


@pytest.fixture
def shop(data_dirs, point_at_stack):
    with sandbox_stack(load_fixture(fixture()), throttle=False) as stack:
        point_at_stack(stack, [("hostile", "shopify")])
        yield stack, load_shops().get("hostile")


def _tables(con) -> set[str]:
    return {
        row[0] for row in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


async def test_hostile_strings_round_trip_and_map_exactly(shop, tmp_path):
    stack, config = shop
    options = {"rate_scale": 0}
    summary = run_catalog(config, run_id="run-1", client_options=options)
    assert summary.status == "COMPLETED"
    assert summary.extract["tiktok"]["skipped"] == 0 and summary.extract["shopify"]["skipped"] == 0

    with open_shop(config.id, read_only=True) as con:
        tables = _tables(con)
        assert {"mappings", "catalog_variants", "mapping_report"} <= tables
        stored = dict(
            con.execute(
                "SELECT seller_sku, title FROM catalog_variants WHERE channel = 'tiktok'"
            ).fetchall()
        )
        store_stored = dict(
            con.execute(
                "SELECT seller_sku, title FROM catalog_variants WHERE channel = 'shopify'"
            ).fetchall()
        )
        report = con.execute(
            "SELECT seller_sku, status, reason, method, suggestion FROM mapping_report "
            "WHERE run_id = 'run-1'"
        ).df()
    # byte-exact in DuckDB, both sides
    for sku in HOSTILE:
        assert stored[sku] == TITLES[sku], repr(sku[:30])
        assert store_stored[sku] == TITLES[sku], repr(sku[:30])
    assert stored[TO_MAP] == "Manual"

    # mapped exactly when equal, never when only similar
    by_sku = report.set_index("seller_sku")
    for sku in HOSTILE:
        assert by_sku.loc[sku, "status"] == "mapped" and by_sku.loc[sku, "method"] == "auto"
    assert by_sku.loc["Case-SKU'", "status"] == "unmapped"
    assert by_sku.loc["Case-SKU'", "reason"] == "SKU_NOT_FOUND"
    assert by_sku.loc[TO_MAP, "reason"] == "SKU_NOT_FOUND"
    assert summary.mapping["mapped_skus"] == len(HOSTILE)

    # report files: Parquet byte-exact, CSV parseable by pandas and by the csv module
    files = summary.reports["mapping_report"]
    parquet = pd.read_parquet(files["parquet"])
    assert sorted(s for s in parquet["seller_sku"] if s is not None) == sorted(by_sku.index)
    from_csv = pd.read_csv(files["csv"], dtype=str, keep_default_na=False)
    assert len(from_csv) == len(parquet)
    assert sorted(from_csv["seller_sku"]) == sorted(by_sku.index)
    with open(files["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert sorted(r["seller_sku"] for r in rows) == sorted(by_sku.index)

    # search finds them, treating the text as text
    with open_shop(config.id, read_only=True) as con:
        for sku in (DROP, QUOTES, SEMI, EMOJI_RTL, NUL, LONG, "%", "_", "'"):
            found = search_products(con, sku, store_channel="shopify", limit=50)
            if sku in HOSTILE:
                assert set(found["side"]) == {"tiktok", "store"}, repr(sku[:30])
                assert set(found["match"]) == {"sku"}
                assert all(state.startswith("mapped") for state in found["state"])
        table = search_products(con, "Robert');", store_channel="shopify")
        assert len(table) == 2 and set(table["match"]) == {"title"}
        assert _tables(con) == tables  # nothing was dropped

    # map by hand: the TikTok SKU is written to Shopify byte-exact and read back
    ids = stack.emulator("shopify").state
    with open_shop(config.id, read_only=True) as con:
        tiktok_product, store_product = con.execute(
            "SELECT t.product_id, s.product_id FROM catalog_variants t, catalog_variants s "
            "WHERE t.seller_sku = ? AND s.seller_sku = 'OLD-1'",
            [TO_MAP],
        ).fetchone()
    result = await map_product_by_hand(
        config,
        tiktok_product_id=tiktok_product,
        store_product_id=store_product,
        client_kwargs=options,
    )
    assert result.applied
    written = {item.sku for item in ids.items.values()}
    assert TO_MAP in written and "OLD-1" not in written
    with open_shop(config.id, read_only=True) as con:
        link = con.execute(
            "SELECT store_sku, method FROM mappings WHERE store_product_id = ?", [store_product]
        ).fetchall()
        assert link == [(TO_MAP, "manual")]
        assert _tables(con) == tables
    manual_csv = pd.read_csv(result.report_path, dtype=str, keep_default_na=False)
    assert len(manual_csv) == 1

    # map from a CSV: the near-miss pair by its exact SKUs, an SQL fragment that names nothing
    sheet = tmp_path / "map.csv"
    pd.DataFrame(
        {
            "seller_sku": ["Case-SKU'", "x'; DELETE FROM mappings; --", NUL],
            "store_sku": ["case-sku'", "case-sku'", NUL],
        }
    ).to_csv(sheet, index=False)
    done = map_from_csv(config, sheet, run_id="csv-1")
    results = done.results.set_index("row")
    assert results.loc[2, "result"] == "mapped"
    assert results.loc[3, "result"] != "mapped" and "no TikTok SKU" in results.loc[3, "reason"]
    assert results.loc[4, "result"] == "mapped"  # the same pair again: still one link
    with open_shop(config.id, read_only=True) as con:
        assert _tables(con) == tables
        count = con.execute("SELECT count(*) FROM mappings").fetchone()[0]
    assert count == len(HOSTILE) + 2

    # the next catalog run keeps every link (the written SKU now matches exactly)
    second = run_catalog(config, run_id="run-2", client_options=options)
    assert second.mapping["mapped_skus"] == len(HOSTILE) + 2
    with open_shop(config.id, read_only=True) as con:
        methods = dict(
            con.execute(
                "SELECT seller_sku, method FROM mapping_report WHERE run_id = 'run-2' "
                "AND status = 'mapped'"
            ).fetchall()
        )
    assert methods[TO_MAP] == "manual" and methods[DROP] == "auto"
    assert methods["Case-SKU'"] == "csv"


AMAZON_TITLES = {
    "q\"uo'te;--": "line\u2028separator and para\u2029graph",
    "DROP';--": "next\x85line and file\x1cgroup\x1drecord\x1eseparators",
    "👕-שלום": "vertical\x0btab form\x0cfeed 🔥 مرحبا",
    "NUL": "nul\x00inside",
}


async def test_amazon_report_rows_keep_unicode_line_separators_in_titles():
    """The All Listings report is split into rows at LF/CRLF only: U+2028, NEL or a file
    separator inside a title is text, not a row break (a lost row would look unlisted)."""
    from sandbox.amazon.state import REPORT_COLUMNS

    from . import wire

    lines = ["\t".join(REPORT_COLUMNS)]
    for sku, title in AMAZON_TITLES.items():
        row = dict.fromkeys(REPORT_COLUMNS, "")
        row.update(
            {
                "item-name": title,
                "seller-sku": sku,
                "price": "9.99",
                "quantity": "4",
                "fulfillment-channel": "DEFAULT",
                "status": "Active",
            }
        )
        lines.append("\t".join(row[c] for c in REPORT_COLUMNS))
    # gzip: the report document says GZIP (the emulator's default, as real reports do)
    body = gzip.compress(("\r\n".join(lines) + "\r\n").encode())

    def override(request, operation):
        if operation.startswith("/_s3/"):
            import httpx

            return httpx.Response(200, content=body, headers={"content-type": "text/plain"})
        return None

    client, _ = wire.amazon({"amazon": {"listings": [{"sku": "X"}]}}, override, families="off")
    async with client:
        variants = await wire.catalog(client)
    assert {v.seller_sku: v.title for v in variants} == AMAZON_TITLES
    assert client.last_report_stats is not None and client.last_report_stats.skipped == 0
