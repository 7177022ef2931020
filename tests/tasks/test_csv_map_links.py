"""CSV map never links one store variant/listing to two TikTok SKUs, accepts the standalone
Amazon layout, and says what it does not do on Shopify (issue 13, item 5).

Through the public surface: the catalog step auto-maps the sandbox catalogs, then
``skubridge map --csv`` (CLI) runs on them.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import app
from skubridge.config import load_shops
from tasks.steps.catalog import run_catalog
from tasks.warehouse import open_shop

runner = CliRunner()

FIXTURE = {
    "tiktok": {
        "products": [
            {
                "id": "1729000000000000001",
                "title": "Bag",
                "skus": [{"id": "t-b", "seller_sku": "B-1"}],
            },
            {
                "id": "1729000000000000002",
                "title": "Box",
                "skus": [{"id": "t-x", "seller_sku": "X-1"}],
            },
            {
                "id": "1729000000000000003",
                "title": "Cup",
                "skus": [{"id": "t-c", "seller_sku": "C-1"}],
            },
            {
                "id": "1729000000000000004",
                "title": "Pen set",
                "skus": [
                    {"id": "t-q1", "seller_sku": "Q-1", "sales_attributes": {"Colour": "Red"}},
                    {"id": "t-q2", "seller_sku": "Q-2", "sales_attributes": {"Colour": "Blue"}},
                ],
            },
        ]
    },
    "amazon": {
        "listings": [
            {"sku": "B-1", "asin": "B0BAG00001", "title": "Bag"},
            {"sku": "X-1", "asin": "B0BOX00001", "title": "Box"},
            # standalone listings (no parent ASIN) for the two pens
            {"sku": "PEN-RED", "asin": "B0PENRED01", "title": "Pen red"},
            {"sku": "PEN-BLUE", "asin": "B0PENBLU01", "title": "Pen blue"},
        ]
    },
    "shopify": {
        "products": [
            {"title": "Cup", "variants": [{"sku": "CUP-OLD"}]},
        ]
    },
}


@pytest.fixture
def shops(point_at_stack, data_dirs):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        point_at_stack(stack, [("amz", "amazon"), ("shop", "shopify")])
        config = load_shops()
        for shop_id in ("amz", "shop"):
            run_catalog(config.get(shop_id), run_id=f"catalog-{shop_id}")
        yield stack, config


def _links(shop_id: str) -> list[tuple[str, str, str]]:
    with open_shop(shop_id, read_only=True) as con:
        return con.execute(
            "SELECT tiktok_sku_id, store_variant_id, method FROM mappings ORDER BY 1"
        ).fetchall()


def test_csv_never_links_a_listing_twice(shops, tmp_path):
    assert _links("amz") == [("t-b", "B-1", "auto"), ("t-x", "X-1", "auto")]
    source = tmp_path / "pairs.csv"
    # row 2 moves listing B-1 to C-1 only if row 3 moves TikTok B-1 away; row 3 is refused
    # (X-1 stays with TikTok X-1), so row 2 must be refused too.
    source.write_text("seller_sku,store_sku\nC-1,B-1\nB-1,X-1\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "--shop", "amz", "--csv", str(source)])
    assert res.exit_code == 1, res.output
    assert "row 3: error (store variant already linked to TikTok SKU t-x)" in res.output
    assert "row 2: error (store variant already linked to TikTok SKU t-b" in res.output
    assert _links("amz") == [("t-b", "B-1", "auto"), ("t-x", "X-1", "auto")]
    with open_shop("amz", read_only=True) as con:
        twice = con.execute(
            "SELECT store_variant_id FROM mappings GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
    assert twice == []


def test_csv_swap_of_two_linked_listings_is_allowed(shops, tmp_path):
    source = tmp_path / "swap.csv"
    source.write_text("seller_sku,store_sku\nB-1,X-1\nX-1,B-1\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "--shop", "amz", "--csv", str(source)])
    assert res.exit_code == 0, res.output
    assert _links("amz") == [("t-b", "X-1", "csv"), ("t-x", "B-1", "csv")]


def test_csv_accepts_the_standalone_amazon_layout(shops, tmp_path):
    source = tmp_path / "pens.csv"
    source.write_text("seller_sku,store_sku\nQ-1,PEN-RED\nQ-2,PEN-BLUE\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "--shop", "amz", "--csv", str(source)])
    assert res.exit_code == 0, res.output
    assert "row 2: mapped" in res.output and "row 3: mapped" in res.output
    links = dict((t, s) for t, s, _ in _links("amz"))
    assert links["t-q1"] == "PEN-RED" and links["t-q2"] == "PEN-BLUE"


def test_csv_on_shopify_says_the_store_skus_are_not_changed(shops, tmp_path):
    stack, _ = shops
    source = tmp_path / "cup.csv"
    source.write_text("seller_sku,store_sku\nC-1,CUP-OLD\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "--shop", "shop", "--csv", str(source), "--dry-run"])
    assert res.exit_code == 0, res.output
    assert "row 2: would map" in res.output
    assert "Shopify SKUs are not changed" in res.output
    res = runner.invoke(app, ["map", "--shop", "shop", "--csv", str(source)])
    assert res.exit_code == 0, res.output
    assert "Shopify SKUs are not changed" in res.output
    state = stack.emulator("shopify").state
    assert [state.items[v.inventory_item_id].sku for v in state.variants.values()] == ["CUP-OLD"]
    assert _links("shop") == [("t-c", "gid://shopify/ProductVariant/1001", "csv")]


def test_record_links_refuses_a_second_link_to_one_variant(data_dirs):
    import pandas as pd

    from tasks.manual_map import ManualMapError, record_links

    row = {"tiktok_product_id": "P", "seller_sku": "S", "store_product_id": "SP",
           "store_variant_id": "v1", "store_sku": "S"}  # fmt: skip
    with open_shop("guard") as con:
        record_links(con, pd.DataFrame([{**row, "tiktok_sku_id": "t1"}]), method="csv", run_id="r")
        with pytest.raises(ManualMapError, match="v1 would be linked to TikTok SKUs t1, t2"):
            record_links(
                con, pd.DataFrame([{**row, "tiktok_sku_id": "t2"}]), method="csv", run_id="r2"
            )
        links = con.execute("SELECT tiktok_sku_id, store_variant_id FROM mappings").fetchall()
    assert links == [("t1", "v1")]
