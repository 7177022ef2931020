"""Hand mapping pairs variants by what they carry, never by id order (issue 13, item 3).

Through the public surface: the catalog step extracts both sandbox catalogs, then
``skubridge map`` (CLI) and the ``map-product`` runner pair the variants. Shopify: TikTok
Small/Medium/Large against store S/M/L listed in another id order. Amazon: 12 shades whose
seller SKUs share nothing with TikTok's but whose barcodes give the right pairs.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import app
from skubridge.config import load_shops
from tasks.manual_map import ManualMapError, pair_variants
from tasks.steps.catalog import run_catalog
from tasks.warehouse import open_shop

runner = CliRunner()
TEE = "1729000000000000001"
LIPS = "1729000000000000002"
SHADES = [f"Shade {n:02d}" for n in range(1, 13)]


def _barcode(n: int) -> str:
    return f"0{n:011d}"


FIXTURE = {
    "tiktok": {
        "products": [
            {
                "id": TEE,
                "title": "Tee",
                "skus": [
                    {"id": "t-1", "seller_sku": "TT-SMALL", "sales_attributes": {"Size": "Small"}},
                    {"id": "t-2", "seller_sku": "TT-MEDIUM", "sales_attributes": {"Size": "Med"}},
                    {"id": "t-3", "seller_sku": "TT-LARGE", "sales_attributes": {"Size": "Large"}},
                ],
            },
            {
                "id": LIPS,
                "title": "Lipstick",
                "skus": [
                    {
                        "id": f"t-shade-{n:02d}",
                        "seller_sku": f"LIP-{n:02d}",
                        "barcode": _barcode(n),
                        "sales_attributes": {"Shade": SHADES[n - 1]},
                    }
                    for n in range(1, 13)
                ],
            },
        ]
    },
    "shopify": {
        "products": [
            {
                "title": "T-Shirt",
                "variants": [  # ids 1001, 1002, 1003: L, M, S (the other order)
                    {"sku": "SHIRT-L", "options": {"Size": "L"}},
                    {"sku": "SHIRT-M", "options": {"Size": "M"}},
                    {"sku": "SHIRT-S", "options": {"Size": "S"}},
                ],
            }
        ]
    },
    "amazon": {
        "listings": [
            # Amazon SKUs sort in another order than the shades (Z.. for shade 1).
            {
                "sku": f"AMZ-{chr(ord('Z') - n + 1)}",
                "asin": f"B0SHADE{n:03d}",
                "parent_asin": "B0LIPPARENT",
                "barcode": _barcode(n),
                "title": f"Lipstick {SHADES[n - 1]}",
            }
            for n in range(1, 13)
        ]
    },
}


@pytest.fixture
def shops(point_at_stack, data_dirs):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        point_at_stack(stack, [("tee", "shopify"), ("lips", "amazon")])
        config = load_shops()
        for shop_id in ("tee", "lips"):
            run_catalog(config.get(shop_id), run_id=f"catalog-{shop_id}")
        yield stack, config


def _shopify_skus(stack) -> dict[str, str]:
    state = stack.emulator("shopify").state
    return {vid: state.items[v.inventory_item_id].sku for vid, v in state.variants.items()}


def _links(shop_id: str) -> dict[str, str]:
    with open_shop(shop_id, read_only=True) as con:
        return dict(con.execute("SELECT tiktok_sku_id, store_variant_id FROM mappings").fetchall())


V = "gid://shopify/ProductVariant/"


def test_shopify_sizes_pair_by_option_words_not_by_id_order(shops):
    stack, _ = shops
    args = ["map", "--shop", "tee", "--tiktok-product", TEE, "--store-product",
            "gid://shopify/Product/1"]  # fmt: skip
    dry = runner.invoke(app, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    # every pair with both sides' options and how it was decided
    assert "[paired by options]" in dry.output
    assert "Size: Small" in dry.output and "Size: S" in dry.output
    res = runner.invoke(app, [*args, "--yes"])
    assert res.exit_code == 0, res.output
    skus = _shopify_skus(stack)
    assert skus == {f"{V}1001": "TT-LARGE", f"{V}1002": "TT-MEDIUM", f"{V}1003": "TT-SMALL"}
    assert _links("tee") == {"t-1": f"{V}1003", "t-2": f"{V}1002", "t-3": f"{V}1001"}


def test_amazon_shades_pair_by_barcode(shops):
    res = runner.invoke(
        app, ["map", "--shop", "lips", "--tiktok-product", LIPS, "--store-product", "B0LIPPARENT",
              "--yes"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert res.output.count("[paired by barcode]") == 12
    expected = {f"t-shade-{n:02d}": f"AMZ-{chr(ord('Z') - n + 1)}" for n in range(1, 13)}
    assert _links("lips") == expected


def test_undecided_pairs_are_refused_with_both_sides_and_the_pair_syntax(shops):
    stack, _ = shops
    with open_shop("tee") as con:  # the store's size words mean nothing to the table
        con.execute(
            'UPDATE catalog_variants SET options = \'{"Size": "Tall"}\''
            " WHERE channel = 'shopify' AND variant_id = ?",
            [f"{V}1001"],
        )
        con.execute(
            'UPDATE catalog_variants SET options = \'{"Size": "Grande"}\''
            " WHERE channel = 'shopify' AND variant_id = ?",
            [f"{V}1003"],
        )
    args = ["map", "--shop", "tee", "--tiktok-product", TEE, "--store-product",
            "gid://shopify/Product/1"]  # fmt: skip
    res = runner.invoke(app, [*args, "--yes"])
    assert res.exit_code == 2
    out = res.output
    assert "cannot pair 2 of 3 variants" in out
    assert "TT-SMALL" in out and "Size: Small" in out and "Size: Grande" in out
    assert "T-Shirt" in out and "Tee" in out
    assert "--pair TIKTOK_SKU=STORE_VARIANT" in out
    assert _shopify_skus(stack)[f"{V}1003"] == "SHIRT-S"  # nothing written
    assert _links("tee") == {}

    res = runner.invoke(
        app, [*args, "--yes", "--pair", f"TT-SMALL={V}1003", "--pair", f"t-3={V}1001"]
    )
    assert res.exit_code == 0, res.output
    assert "[paired by explicit]" in res.output and "[paired by options]" in res.output
    assert _links("tee") == {"t-1": f"{V}1003", "t-2": f"{V}1002", "t-3": f"{V}1001"}


def test_explicit_pairs_are_checked():
    tiktok = [("t1", "A", None, None, "Tee"), ("t2", "B", None, None, "Tee")]
    store = [("v1", "X", None, None, "Shirt"), ("v2", "Y", None, None, "Shirt")]
    with pytest.raises(ManualMapError, match="'nope' is not a TikTok SKU of this product"):
        pair_variants(tiktok, store, explicit=[("nope", "v1")])
    with pytest.raises(ManualMapError, match="store variant v1 is given twice"):
        pair_variants(tiktok, store, explicit=[("t1", "v1"), ("t2", "v1")])
    pairs = pair_variants(tiktok, store, explicit=[("A", "v2"), ("t2", "X")])
    assert [(p.tiktok_sku_id, p.store_variant_id, p.paired_by) for p in pairs] == [
        ("t1", "v2", "explicit"),
        ("t2", "v1", "explicit"),
    ]


def test_normalised_sku_and_size_words():
    tiktok = [
        ("t1", "TT-Red 01", None, None),
        ("t2", "A", '{"Size": "X-Large", "Color": "Blue"}', None),
        ("t3", "B", '{"Size": "2XL"}', "0 12345-67890 5"),
    ]
    store = [
        ("v1", "xx", '{"Colour": " blue ", "Taille": "XL"}', None),
        ("v2", "tt_red01", None, None),
        ("v3", "yy", '{"Size": "XXL"}', "012345678905"),
    ]
    pairs = {
        p.tiktok_sku_id: (p.store_variant_id, p.paired_by) for p in pair_variants(tiktok, store)
    }
    assert pairs == {
        "t1": ("v2", "normalised_sku"),
        "t2": ("v1", "options"),
        "t3": ("v3", "barcode"),
    }


def test_ambiguous_option_values_are_not_paired():
    tiktok = [("t1", "A", '{"Size": "S"}'), ("t2", "B", '{"Size": "S"}')]
    store = [("v1", "X", '{"Size": "Small"}'), ("v2", "Y", '{"Size": "Small"}')]
    with pytest.raises(ManualMapError, match="cannot pair 2 of 2 variants"):
        pair_variants(tiktok, store)
