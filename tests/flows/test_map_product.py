"""Flow ``map-product`` end to end against the sandbox (one Prefect run), and the CLI."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime

import pandas as pd
import pytest
from typer.testing import CliRunner

from connectors.factory import store_client
from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import app
from skubridge.config import load_shops
from tasks.warehouse import insert_frame, open_shop

T0 = datetime(2026, 1, 1, tzinfo=UTC)
TEE, SHIRT = "1729000000000000001", "gid://shopify/Product/1"
FIXTURE = {
    "tiktok": {
        "products": [
            {
                "id": TEE,
                "skus": [
                    {"id": "t-s", "seller_sku": "TT-S", "sales_attributes": {"Size": "S"}},
                    {"id": "t-m", "seller_sku": "TT-M", "sales_attributes": {"Size": "M"}},
                ],
            }
        ]
    },
    "shopify": {
        "products": [
            {
                "title": "Shirt",
                "variants": [
                    {"sku": "OLD-S", "options": {"Size": "S"}},
                    {"sku": "OLD-M", "options": {"Size": "M"}},
                ],
            }
        ]
    },
}


@pytest.fixture
def shop(tmp_path, monkeypatch, data_dirs):
    fixture = load_fixture(FIXTURE)
    with sandbox_stack(fixture, throttle=False) as stack:
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        path = stack.write_shops_file(tmp_path / "shops.toml", [("flowshop", "shopify")])
        monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
        config = load_shops().get("flowshop")

        async def extract():
            client = store_client(config, rate_scale=0)
            try:
                return [v async for page in client.iter_catalog() for v in page]
            finally:
                await client.aclose()

        rows = [
            {"channel": "tiktok", "product_id": TEE, "variant_id": s.id,
             "seller_sku": s.seller_sku, "options": json.dumps(s.sales_attributes)}
            for s in fixture.tiktok.products[0].skus
        ] + [
            {"channel": "shopify", "product_id": v.product_id, "variant_id": v.variant_id,
             "seller_sku": v.seller_sku, "options": json.dumps(dict(v.options))}
            for v in asyncio.run(extract())
        ]  # fmt: skip
        with open_shop(config.id) as con:
            frame = pd.DataFrame(rows).assign(run_id="r0", extracted_at=T0)
            insert_frame(con, "catalog_variants", frame)
        yield stack, config


def _skus(stack) -> list[str]:
    state = stack.emulator("shopify").state
    return sorted(state.items[v.inventory_item_id].sku for v in state.variants.values())


@pytest.mark.usefixtures("prefect_api")
def test_map_product_flow_writes_skus_and_records_links(shop):
    from flows.map_product import map_product

    stack, config = shop
    dry = map_product(config.id, TEE, SHIRT, dry_run=True)
    assert dry["applied"] is False and _skus(stack) == ["OLD-M", "OLD-S"]
    explicit = map_product(config.id, TEE, SHIRT, dry_run=True, pairs=["TT-S=OLD-S"])
    assert any("TT-S" in line and "[paired by explicit]" in line for line in explicit["lines"])
    assert any("TT-M" in line and "[paired by options]" in line for line in explicit["lines"])
    out = map_product(config.id, TEE, SHIRT)
    assert out["applied"] is True
    assert _skus(stack) == ["TT-M", "TT-S"]
    with open_shop(config.id) as con:
        assert con.execute("SELECT tiktok_sku_id, method FROM mappings ORDER BY 1").fetchall() == [
            ("t-m", "manual"),
            ("t-s", "manual"),
        ]
    # The run's result is a table of the SKU pairs (not a code block cut at the right edge).
    import json

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    with get_client(sync_client=True) as client:
        [artifact] = client.read_artifacts(
            artifact_filter=ArtifactFilter(
                key=ArtifactFilterKey(any_=[f"map-product-{config.id}"])
            ),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert artifact.type == "table"
    pairs = json.loads(artifact.data)
    assert len(pairs) == 2 and len(out["pairs"]) == 2
    assert {row["tiktok_sku_id"] for row in pairs} == {"t-m", "t-s"}


def test_cli_map_dry_run_then_apply_and_csv(shop, tmp_path):
    stack, config = shop
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", SHIRT,
         "--dry-run"],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "store SKU 'OLD-S' -> 'TT-S'" in res.output and "Dry run" in res.output
    assert _skus(stack) == ["OLD-M", "OLD-S"]
    # without --yes the command asks; answering no writes nothing
    res = runner.invoke(
        app, ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", SHIRT],
        input="n\n",
    )  # fmt: skip
    assert res.exit_code != 0 and _skus(stack) == ["OLD-M", "OLD-S"]
    res = runner.invoke(
        app,
        ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", SHIRT, "--yes"],
    )
    assert res.exit_code == 0, res.output
    assert "Applied." in res.output and _skus(stack) == ["TT-M", "TT-S"]
    res = runner.invoke(
        app, ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", "nope"]
    )
    assert res.exit_code == 2 and "no shopify product 'nope'" in res.output

    source = tmp_path / "pairs.csv"
    source.write_text("tiktok_sku_id,store_sku\nt-s,TT-S\nghost,TT-M\n", encoding="utf-8")
    res = runner.invoke(app, ["map", "--shop", config.id, "--csv", str(source)])
    assert res.exit_code == 1  # one row failed
    assert "row 2: mapped" in res.output
    assert "row 3: error (no TikTok SKU with tiktok_sku_id 'ghost')" in res.output
    assert (tmp_path / "pairs.result.csv").exists()
    res = runner.invoke(app, ["map", "--shop", config.id])
    assert res.exit_code != 0


@pytest.mark.usefixtures("prefect_api")
def test_map_product_flow_unmap_path(shop):
    """The map-product deployment's unmap path: dry run first, then the links go."""
    from flows.map_product import map_product

    _stack, config = shop
    map_product(config.id, TEE, SHIRT)
    dry = map_product(config.id, TEE, unmap=True, dry_run=True)
    assert dry["applied"] is False and "Would unmap 2 link(s):" in dry["lines"]
    out = map_product(config.id, TEE, unmap=True, tiktok_sku_id="t-s")
    assert out["applied"] is True
    with open_shop(config.id) as con:
        assert con.execute("SELECT tiktok_sku_id FROM mappings").fetchall() == [("t-m",)]
        assert con.execute("SELECT tiktok_sku_id FROM hand_unmapped").fetchall() == [("t-s",)]


def _link_wrong_product(config) -> None:
    """A wrong manual link: another TikTok product holds the shirt."""
    with open_shop(config.id) as con:
        con.execute(
            "INSERT INTO mappings (tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id,"
            " store_variant_id, method, mapped_at, run_id) SELECT 'w-1', 'WRONG', 'W-1', ?,"
            " min(variant_id), 'manual', now(), 'old' FROM catalog_variants WHERE product_id = ?",
            [SHIRT, SHIRT],
        )


@pytest.mark.usefixtures("prefect_api")
def test_cli_map_replace_moves_a_wrong_link_in_one_step(shop):
    stack, config = shop
    _link_wrong_product(config)
    runner = CliRunner()
    base = ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", SHIRT]
    refused = runner.invoke(app, [*base, "--yes"])
    assert refused.exit_code == 2
    assert "already mapped to TikTok product WRONG" in refused.output
    assert "--replace" in refused.output
    dry = runner.invoke(app, [*base, "--replace", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "unmaps TikTok product WRONG SKU w-1" in dry.output
    done = runner.invoke(app, [*base, "--replace", "--yes"])
    assert done.exit_code == 0, done.output
    assert _skus(stack) == ["TT-M", "TT-S"]
    with open_shop(config.id) as con:
        assert con.execute("SELECT tiktok_sku_id FROM mappings ORDER BY 1").fetchall() == [
            ("t-m",),
            ("t-s",),
        ]


@pytest.mark.usefixtures("prefect_api")
def test_cli_map_waits_for_the_shop_slot_and_writes_nothing_while_busy(shop, monkeypatch):
    from skubridge.commands import slot
    from tests.shop_slot import held_elsewhere

    stack, config = shop
    monkeypatch.setattr(slot, "SLOT_WAIT_SECONDS", 1.0)
    base = ["map", "--shop", config.id, "--tiktok-product", TEE, "--store-product", SHIRT]
    with held_elsewhere(config.id):
        busy = CliRunner().invoke(app, [*base, "--yes"])
    assert busy.exit_code == 3, busy.output
    assert f"shop '{config.id}' is busy" in busy.output
    assert _skus(stack) == ["OLD-M", "OLD-S"]  # nothing written to the store
