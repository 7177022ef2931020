"""Search by title, SKU, id and fuzzy title, with mapping states; the CLI's table and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from skubridge.cli import app
from tasks.mapping import auto_map
from tasks.search import format_table, search_products
from tasks.warehouse import insert_frame, open_shop

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ROWS = [
    ("tiktok", "T1", "t1a", "TEE-S", "Organic Cotton Tee"),
    ("tiktok", "T1", "t1b", "TEE-M", "Organic Cotton Tee"),
    ("tiktok", "T2", "t2a", "MUG-1", "Ceramic Mug"),
    ("tiktok", "T3", "t3a", "CAP-1", "Baseball Cap"),
    ("shopify", "S1", "v1", "TEE-S", "Organic Cotton T-Shirt"),
    ("shopify", "S1", "v2", "TEE-M", "Organic Cotton T-Shirt"),
    ("shopify", "S2", "v3", "MUG-1", "Ceramic Coffee Mug"),
    ("shopify", "S2", "v4", "MUG-2", "Ceramic Coffee Mug"),
    ("shopify", "S9", "v9", "LONE", "Wool Scarf"),
]


@pytest.fixture
def shop_db(data_dirs):
    with open_shop("srch") as con:
        frame = pd.DataFrame(
            ROWS, columns=["channel", "product_id", "variant_id", "seller_sku", "title"]
        )
        insert_frame(con, "catalog_variants", frame.assign(run_id="r0", extracted_at=T0))
        auto_map(con, run_id="r1", store_channel="shopify", now=T0)
        yield con


def states(frame):
    return {(r.side, r.product_id): (r.match, r.state) for r in frame.itertuples()}


def test_search_by_sku_shows_both_sides_and_mapping(shop_db):
    got = states(search_products(shop_db, "tee-m", store_channel="shopify"))
    assert got == {
        ("tiktok", "T1"): ("sku", "mapped to S1 (auto)"),
        ("store", "S1"): ("sku", "mapped from TikTok T1 (auto)"),
    }


def test_search_unmapped_reason_and_side_filter(shop_db):
    got = states(search_products(shop_db, "mug", store_channel="shopify"))
    assert got[("tiktok", "T2")] == ("sku", "unmapped: VARIANT_COUNT_MISMATCH")
    assert got[("store", "S2")] == ("sku", "unmapped; TikTok T2 failed: VARIANT_COUNT_MISMATCH")
    only = search_products(shop_db, "mug", store_channel="shopify", side="store")
    assert set(only["side"]) == {"store"}
    assert states(search_products(shop_db, "T3", store_channel="shopify"))[("tiktok", "T3")] == (
        "id",
        "unmapped: SKU_NOT_FOUND",
    )


def test_fuzzy_title_and_limit(shop_db):
    got = search_products(shop_db, "wol scarff", store_channel="shopify")
    assert list(got["product_id"]) == ["S9"]
    assert got.loc[0, "match"] == "fuzzy words" and got.loc[0, "state"] == "unmapped"
    assert len(search_products(shop_db, "o", store_channel="shopify", limit=2)) == 2
    assert format_table(got).splitlines()[0].split()[:3] == ["SIDE", "PRODUCT_ID", "TITLE"]
    with pytest.raises(ValueError):
        search_products(shop_db, "  ", store_channel="shopify")


def test_cli_search_json_and_table(shop_db, tmp_path, monkeypatch):
    shop_db.close()
    shops = tmp_path / "shops.toml"
    shops.write_text(
        '[[shops]]\nid = "srch"\nstore = "shopify"\n[shops.tiktok]\napp_key = "env:K"\n'
        'app_secret = "env:S"\naccess_token = "env:A"\n[shops.shopify]\n'
        'shop_domain = "x.myshopify.com"\naccess_token = "env:T"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(shops))
    runner = CliRunner()
    res = runner.invoke(app, ["search", "--shop", "srch", "--json", "cotton", "--side", "tiktok"])
    assert res.exit_code == 0, res.output
    records = json.loads(res.output)
    assert [(r["product_id"], r["state"]) for r in records] == [("T1", "mapped to S1 (auto)")]
    res = runner.invoke(app, ["search", "--shop", "srch", "scarf"])
    assert res.exit_code == 0 and "Wool Scarf" in res.output and "S9" in res.output
    res = runner.invoke(app, ["search", "--shop", "nope", "x"])
    assert res.exit_code == 2 and "no shop 'nope'" in res.output


def test_blue_tee_finds_blue_t_shirt_on_both_sides(data_dirs):
    """Word matching: "tee" is a T-shirt, words in any order, options and SKUs count."""
    rows = [
        ("tiktok", "T1", "t1", "BT-M", "Blue T-Shirt", '{"Color": "Blue", "Size": "M"}'),
        ("tiktok", "T2", "t2", "TP-1", "Tee Pee Tent", '{"Color": "Green"}'),
        ("tiktok", "T3", "t3", "BM-1", "Blue Mug", "{}"),
        ("shopify", "S1", "v1", "BT-M", "T-Shirt Classic", '{"Color": "Blue", "Size": "M"}'),
        ("shopify", "S2", "v2", "HD-1", "Zip Hoodie", '{"Color": "Navy"}'),
        ("shopify", "S3", "v3", "PS-1", "Polo Shirt", '{"Color": "Sky Blue"}'),  # no tee
    ]
    with open_shop("tee") as con:
        frame = pd.DataFrame(
            rows, columns=["channel", "product_id", "variant_id", "seller_sku", "title", "options"]
        )
        insert_frame(con, "catalog_variants", frame.assign(run_id="r0", extracted_at=T0))
        auto_map(con, run_id="r1", store_channel="shopify", now=T0)
        got = search_products(con, "blue tee", store_channel="shopify")
        assert sorted(zip(got["side"], got["product_id"], strict=True)) == [
            ("store", "S1"),  # "Blue" is an option value there
            ("tiktok", "T1"),
        ]
        assert set(got["match"]) == {"words"}
        assert got.set_index("product_id").loc["T1", "state"] == "mapped to S1 (auto)"
        navy = search_products(con, "navy hoody", store_channel="shopify")
        assert navy["product_id"].tolist() == ["S2"]
        typo = search_products(con, "blu t-shirt", store_channel="shopify")
        assert set(typo["product_id"]) == {"T1", "S1"}


def test_table_keeps_columns_apart_and_the_state_whole():
    frame = pd.DataFrame(
        [
            {
                "side": "tiktok",
                "product_id": "1729999999999999999",
                "title": "A very long product title that goes on and on and on",
                "variants": 3,
                "skus": "SKU-1, SKU-2, SKU-3",
                "match": "words",
                "score": 95.0,
                "state": "mapped to gid://shopify/Product/8123456789012 (auto, manual)",
            }
        ]
    )
    header, rule, row = format_table(frame, width=20).splitlines()
    assert header.split() == ["SIDE", "PRODUCT_ID", "TITLE", "VARIANTS", "SKUS", "MATCH", "STATE"]
    assert row.endswith("mapped to gid://shopify/Product/8123456789012 (auto, manual)")
    assert "1729999999999999999  A very long product…" in row
    starts = [i for i, c in enumerate(rule) if c == "-" and (i == 0 or rule[i - 1] == " ")]
    assert all(row[i - 2 : i] == "  " for i in starts[1:])  # two spaces before every column


def test_readme_search_example_finds_products_in_the_sandbox_catalog(data_dirs):
    """The README's sandbox walkthrough: its search finds something in the catalog its
    `sandbox serve --generate` line serves."""
    import re
    from pathlib import Path

    from sandbox.generator import generate_fixture

    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    serve = re.search(r"sandbox serve --generate (\d+) --seed (\d+) --store (\w+)", readme)
    query = re.search(r'skubridge search --shop sandbox-shopify "([^"]+)"', readme)
    assert serve and query
    n, seed, store = int(serve.group(1)), int(serve.group(2)), serve.group(3)
    fixture = generate_fixture(n, seed=seed, store=store).fixture
    rows = [
        ("tiktok", p.id, s.id, s.seller_sku, p.title, json.dumps(s.sales_attributes))
        for p in fixture.tiktok.products
        for s in p.skus
    ] + [
        ("shopify", p.id, v.id, v.sku, p.title, json.dumps(v.options or {}))
        for p in fixture.shopify.products
        for v in p.variants
    ]
    with open_shop("readme") as con:
        frame = pd.DataFrame(
            rows, columns=["channel", "product_id", "variant_id", "seller_sku", "title", "options"]
        )
        insert_frame(con, "catalog_variants", frame.assign(run_id="r0", extracted_at=T0))
        found = search_products(con, query.group(1), store_channel=store)
    assert {"tiktok", "store"} <= set(found["side"])
    assert found["title"].str.contains("T-Shirt").all()
