"""The push plan: desired values per mapped SKU from DuckDB catalogs, only differences."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.base import Warehouse
from sandbox.fixture import DEFAULT_LOCATION, DEFAULT_WAREHOUSE, Fixture, load_fixture
from sandbox.seed import seed_from_fixture
from skubridge.config import ShopConfig
from tasks.plan import PlanError, build_plan, choose_warehouse
from tasks.rules import desired_price, desired_stock

SECOND_WH = "7000000000000000002"
SECOND_LOC = "gid://shopify/Location/2"


def shop(store: str = "shopify", **extra: object) -> ShopConfig:
    data: dict[str, object] = {
        "id": "t1",
        "store": store,
        "tiktok": {
            "app_key": "env:K",
            "app_secret": "env:S",
            "access_token": "env:A",
        },
        **extra,
    }
    if store == "shopify":
        data.setdefault("shopify", {"shop_domain": "x.myshopify.com", "access_token": "env:T"})
    else:
        data["amazon"] = {
            "seller_id": "A1",
            "marketplace_id": "M",
            "lwa_client_id": "env:C",
            "lwa_client_secret": "env:D",
            "refresh_token": "env:R",
        }
    return ShopConfig.model_validate(data)


def fixture() -> Fixture:
    """Three mapped products and one unmapped TikTok product."""
    return load_fixture(
        {
            "tiktok": {
                "warehouses": [
                    {"id": DEFAULT_WAREHOUSE, "is_default": True},
                    {"id": SECOND_WH},
                ],
                "products": [
                    {
                        "id": "101",
                        "skus": [
                            {
                                "id": "101001",
                                "seller_sku": "A",
                                "price": "10.00",
                                "inventory": {DEFAULT_WAREHOUSE: 5},
                            },
                            {
                                "id": "101002",
                                "seller_sku": "B",
                                "price": "12.00",
                                "inventory": {DEFAULT_WAREHOUSE: 3, SECOND_WH: 9},
                            },
                        ],
                    },
                    {
                        "id": "102",
                        "skus": [
                            {
                                "id": "102001",
                                "seller_sku": "C",
                                "price": "20.00",
                                "inventory": {DEFAULT_WAREHOUSE: 7},
                            }
                        ],
                    },
                    {
                        "id": "103",
                        "skus": [{"id": "103001", "seller_sku": "ZZ", "price": "1.00"}],
                    },
                ],
            },
            "shopify": {
                "locations": [{"id": DEFAULT_LOCATION}, {"id": SECOND_LOC}],
                "products": [
                    {
                        "variants": [
                            {"sku": "A", "price": "10.00", "inventory": {DEFAULT_LOCATION: 5}},
                            {
                                "sku": "B",
                                "price": "13.50",
                                "inventory": {DEFAULT_LOCATION: 2, SECOND_LOC: 4},
                            },
                        ]
                    },
                    {
                        "variants": [
                            {"sku": "C", "price": "20.00", "inventory": {DEFAULT_LOCATION: 7}},
                        ]
                    },
                ],
            },
            "amazon": {
                "listings": [
                    {"sku": "A", "price": "10.00", "quantity": 8, "fulfillment": "FBA"},
                    {"sku": "B", "price": "12.00", "quantity": 4, "fulfillment": "MFN"},
                    {"sku": "C", "price": "20.00", "quantity": 7, "fulfillment": "MFN"},
                ],
            },
        }
    )


def test_plan_holds_only_differences(con) -> None:
    seed_from_fixture(con, fixture())
    plan = build_plan(con, shop(), DEFAULT_WAREHOUSE)
    assert plan.mapped == 3  # 103001 is unmapped
    prices = {(w.tiktok_sku_id, w.old, w.new) for w in plan.writes("price")}
    assert prices == {("101002", "12.00", "13.50")}
    stock = {(w.tiktok_sku_id, w.old, w.new) for w in plan.writes("inventory")}
    # B: store 2 + 4 over both locations = 6 vs TikTok 3 on the receiving warehouse.
    assert stock == {("101002", "3", "6")}
    (write,) = plan.writes("inventory")
    # Every warehouse listed: the receiving one gets the new stock, the other keeps 9.
    assert dict(write.inventory.quantities) == {DEFAULT_WAREHOUSE: 6, SECOND_WH: 9}
    assert plan.writes("price")[0].price.amount == Decimal("13.50")
    assert plan.writes("price")[0].price.currency == "USD"
    assert plan.unchanged("price") == 2 and plan.unchanged("inventory") == 2


def test_unchanged_shop_plans_nothing(con) -> None:
    fx = fixture()
    fx.shopify.products[0].variants[1].price = Decimal("12.0000")  # same value, other scale
    fx.shopify.products[0].variants[1].inventory = {DEFAULT_LOCATION: 3}
    seed_from_fixture(con, fx)
    plan = build_plan(con, shop(), DEFAULT_WAREHOUSE)
    assert plan.writes("price") == [] and plan.writes("inventory") == []


def test_location_filter_and_rules_match_python(con) -> None:
    seed_from_fixture(con, fixture())
    config = shop(
        shopify={
            "shop_domain": "x.myshopify.com",
            "access_token": "env:T",
            "location_ids": [SECOND_LOC],
        },
        stock_rule={"buffer_absolute": 1, "buffer_percent": "10"},
        price_rule={"markup_percent": "10", "rounding": "end_99"},
    )
    plan = build_plan(con, config, DEFAULT_WAREHOUSE)
    by_sku = {s.tiktok_sku_id: s for s in plan.skus}
    b = by_sku["101002"]
    assert b.store_stock == 4  # only the second location
    assert b.desired_stock == desired_stock(4, config.stock_rule) == 3
    assert b.desired_price == desired_price(Decimal("13.50"), config.price_rule)
    assert by_sku["101001"].store_stock == 0  # A has no stock at the second location


def test_amazon_stock_follows_fulfillment_channel(con) -> None:
    seed_from_fixture(con, fixture(), store="amazon")
    plan = build_plan(con, shop("amazon"), DEFAULT_WAREHOUSE)
    stock = {s.tiktok_sku_id: s.desired_stock for s in plan.skus}
    assert stock == {"101001": 8, "101002": 4, "102001": 7}


def test_amazon_fba_stock_unknown_is_reported_not_pushed(con) -> None:
    """An FBA SKU getInventorySummaries did not return has no FBA stock row: its stock is
    unknown, so nothing is pushed and the push report says why (not a push of 0)."""
    seed_from_fixture(con, fixture(), store="amazon")
    con.execute("DELETE FROM catalog_stock WHERE channel = 'amazon' AND variant_id = 'A'")
    plan = build_plan(con, shop("amazon"), DEFAULT_WAREHOUSE)
    writes = {w.tiktok_sku_id: w for w in plan.writes("inventory")}
    unknown = writes["101001"]
    assert unknown.inventory is None and unknown.new is None
    assert "FBA stock unknown" in (unknown.problem or "")
    assert "getInventorySummaries" in (unknown.problem or "")
    assert writes["101002"].inventory is not None  # a SKU with known stock is still pushed


def test_currency_mismatch_is_blocked_never_converted(con) -> None:
    fx = fixture()
    fx.shopify.currency = "EUR"
    seed_from_fixture(con, fx)
    plan = build_plan(con, shop(), DEFAULT_WAREHOUSE)
    writes = plan.writes("price")
    assert len(plan.currency_mismatches()) == 3
    assert all(w.price is None and w.blocked for w in writes)
    assert "EUR" in writes[0].blocked and "USD" in writes[0].blocked


def test_sku_without_receiving_warehouse_is_not_sendable(con) -> None:
    seed_from_fixture(con, fixture())
    plan = build_plan(con, shop(), SECOND_WH)
    problems = {w.tiktok_sku_id: w.problem for w in plan.writes("inventory") if w.problem}
    assert set(problems) == {"101001", "102001"}
    assert SECOND_WH in problems["101001"]


def test_choose_warehouse() -> None:
    whs = [
        Warehouse("r", "Returns", is_default=True, type="RETURN_WAREHOUSE"),
        Warehouse("a", "A", type="SALES_WAREHOUSE"),
        Warehouse("b", "B", is_default=True, type="SALES_WAREHOUSE"),
    ]
    assert choose_warehouse(whs) == "b"
    assert choose_warehouse(whs[:2]) == "a"
    with pytest.raises(PlanError, match="warehouse_id"):
        choose_warehouse([*whs[:2], Warehouse("c", "C", type="SALES_WAREHOUSE")])


def test_inactive_tiktok_product_is_reported_not_sent(con) -> None:
    fx = fixture()
    fx.tiktok.products[0].status = "SELLER_DEACTIVATED"
    seed_from_fixture(con, fx)
    plan = build_plan(con, shop(), DEFAULT_WAREHOUSE)
    writes = plan.writes("price") + plan.writes("inventory")
    assert {w.tiktok_sku_id for w in writes} == {"101002"}
    assert all(w.price is None and w.inventory is None for w in writes)
    assert all("SELLER_DEACTIVATED" in w.problem for w in writes)


def test_non_positive_store_price_is_never_pushed(con) -> None:
    fx = fixture()
    fx.shopify.products[0].variants[1].price = Decimal("0.00")  # a free gift, or a typo
    seed_from_fixture(con, fx)
    plan = build_plan(con, shop(), DEFAULT_WAREHOUSE)
    assert all(w.tiktok_sku_id != "101002" for w in plan.writes("price"))
    # stock of that SKU is still planned from the store's stock
    assert {w.tiktok_sku_id for w in plan.writes("inventory")} == {"101002"}
