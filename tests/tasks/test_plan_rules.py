"""Stock rules in the plan: locations into warehouses, untracked and continue-selling
variants, overrides; one table of shop configurations, checked on the plan from DuckDB."""

from __future__ import annotations

import pytest

from expectations.guards import check_plan, measure
from sandbox.fixture import Fixture, load_fixture
from sandbox.seed import seed_from_fixture
from skubridge.config import Guards, Override, ShopConfig
from tasks.load import report_frame, settle_stale
from tasks.plan import build_plan

W1, W2, W3 = "7000000000000000001", "7000000000000000002", "7000000000000000003"
L1, L2, L3 = (f"gid://shopify/Location/{n}" for n in (1, 2, 3))


def shop(**extra: object) -> ShopConfig:
    return ShopConfig.model_validate(
        {
            "id": "t1",
            "store": "shopify",
            "tiktok": {"app_key": "env:K", "app_secret": "env:S", "access_token": "env:A"},
            "shopify": {"shop_domain": "x.myshopify.com", "access_token": "env:T"},
            **extra,
        }
    )


def fixture() -> Fixture:
    """P1: A (tracked), B (untracked), C (keeps selling); P2: D. Three TikTok warehouses,
    three Shopify locations."""
    tiktok_sku = {
        "A": {W1: 1, W2: 1, W3: 6},
        "B": {W1: 0, W2: 0, W3: 0},
        "C": {W1: 0, W2: 0, W3: 0},
        "D": {W1: 10, W2: 0, W3: 0},
    }
    return load_fixture(
        {
            "tiktok": {
                "warehouses": [
                    {"id": W1, "is_default": True},
                    {"id": W2},
                    {"id": W3},
                ],
                "products": [
                    {
                        "id": "1",
                        "skus": [
                            {
                                "id": f"1{n}",
                                "seller_sku": s,
                                "price": "10.00",
                                "inventory": tiktok_sku[s],
                            }
                            for n, s in enumerate("ABC")
                        ],
                    },
                    {
                        "id": "2",
                        "skus": [
                            {
                                "id": "20",
                                "seller_sku": "D",
                                "price": "20.00",
                                "inventory": tiktok_sku["D"],
                            }
                        ],
                    },
                ],
            },
            "shopify": {
                "locations": [{"id": L1}, {"id": L2}, {"id": L3}],
                "products": [
                    {
                        "variants": [
                            {"sku": "A", "price": "10.00", "inventory": {L1: 5, L2: 3, L3: 4}},
                            {"sku": "B", "price": "10.00", "inventory": {L1: 0}, "tracked": False},
                            {
                                "sku": "C",
                                "price": "10.00",
                                "inventory": {L1: 0, L3: 2},
                                "inventory_policy": "CONTINUE",
                            },
                        ]
                    },
                    {"variants": [{"sku": "D", "price": "20.00", "inventory": {L1: 10}}]},
                ],
            },
        }
    )


SPLIT = {"location_map": {L1: W1, L2: W1, L3: W2}}  # A+B -> W1, C -> W2
FIXED = {"stock_rule": {"untracked_quantity": "max", "continue_selling_quantity": 25}}

# (id, shop config, expected {seller SKU: (stock rule, {warehouse: desired})}; a skipped
#  SKU expects None)
STOCK_TABLE = [
    (
        "today",
        {},
        {
            "A": ("stock", {W1: 12}),
            "B": ("stock", {W1: 0}),
            "C": ("stock", {W1: 2}),
            "D": ("stock", {W1: 10}),
        },
    ),
    (
        "locations_into_two_warehouses_buffer_after_sum",
        SPLIT | {"stock_rule": {"buffer_absolute": 1}},
        {
            "A": ("stock", {W1: 7, W2: 3}),
            "B": ("stock", {W1: 0, W2: 0}),
            "C": ("stock", {W1: 0, W2: 1}),
            "D": ("stock", {W1: 9, W2: 0}),
        },
    ),
    (
        "percent_buffer_after_sum",
        SPLIT | {"stock_rule": {"buffer_percent": 50}},
        # A on W1: 8 - 4 held; per location it would have been 3 + 2 = 5
        {
            "A": ("stock", {W1: 4, W2: 2}),
            "B": ("stock", {W1: 0, W2: 0}),
            "C": ("stock", {W1: 0, W2: 1}),
            "D": ("stock", {W1: 5, W2: 0}),
        },
    ),
    (
        "unmapped_location_ignored",
        {"location_map": {L3: W2}},
        {
            "A": ("stock", {W2: 4}),
            "B": ("stock", {W2: 0}),
            "C": ("stock", {W2: 2}),
            "D": ("stock", {W2: 0}),
        },
    ),
    (
        "untracked_and_continue_selling",
        FIXED,
        {
            "A": ("stock", {W1: 12}),
            "B": ("untracked", {W1: 99_999}),
            "C": ("continue_selling", {W1: 25}),
            "D": ("stock", {W1: 10}),
        },
    ),
    (
        "fixed_quantities_on_every_mapped_warehouse",
        SPLIT | FIXED,
        {
            "A": ("stock", {W1: 8, W2: 4}),
            "B": ("untracked", {W1: 99_999, W2: 99_999}),
            "C": ("continue_selling", {W1: 25, W2: 25}),
            "D": ("stock", {W1: 10, W2: 0}),
        },
    ),
    (
        "overrides_most_specific_wins",
        FIXED
        | {
            "overrides": [
                {"tiktok_product_id": "1", "stock": 3},
                {"seller_sku": "B", "stock": 7},
                {"tiktok_sku_id": "10", "stock": 8},
                {"tiktok_sku_id": "20", "stock": "skip"},
            ]
        },
        {
            "A": ("override", {W1: 8}),
            "B": ("override", {W1: 7}),
            "C": ("override", {W1: 3}),
            "D": ("skipped", None),
        },
    ),
    (
        "override_quantity_on_each_warehouse",
        SPLIT | {"overrides": [{"seller_sku": "A", "stock": 2}]},
        {
            "A": ("override", {W1: 2, W2: 2}),
            "B": ("stock", {W1: 0, W2: 0}),
            "C": ("stock", {W1: 0, W2: 2}),
            "D": ("stock", {W1: 10, W2: 0}),
        },
    ),
]


@pytest.mark.parametrize(
    ("config", "expected"), [c[1:] for c in STOCK_TABLE], ids=[c[0] for c in STOCK_TABLE]
)
def test_stock_rules_table(con, config: dict, expected: dict) -> None:
    seed_from_fixture(con, fixture())
    plan = build_plan(con, shop(**config), W1)
    skus = {s.tiktok_sku_id: s for s in plan.skus}
    by_seller = {"A": "10", "B": "11", "C": "12", "D": "20"}
    got = {sku: (skus[i].stock_rule, skus[i].targets or None) for sku, i in by_seller.items()}
    assert got == expected
    writes = {w.tiktok_sku_id: w for w in plan.writes("inventory")}
    for sku, (rule, targets) in expected.items():
        s = skus[by_seller[sku]]
        if targets is None:
            assert by_seller[sku] not in writes and s.stock_changed is False
            continue
        current = {w: q for w, q in s.warehouses.items() if w in targets}
        if current == targets:
            assert by_seller[sku] not in writes
            continue
        w = writes[by_seller[sku]]
        assert w.rule == rule and w.new == str(sum(targets.values()))
        # every warehouse of the SKU is listed: fed ones get the new stock, others keep theirs
        assert dict(w.inventory.quantities) == s.warehouses | targets
        assert set(w.inventory.quantities) == {W1, W2, W3}


def test_warehouse_missing_on_the_tiktok_sku_is_named(con) -> None:
    fx = fixture()
    del fx.tiktok.products[1].skus[0].inventory[W2]  # D has no W2
    seed_from_fixture(con, fx)
    plan = build_plan(con, shop(**SPLIT), W1)
    d = next(w for w in plan.writes("inventory") if w.tiktok_sku_id == "20")
    assert d.inventory is None and W2 in d.problem and "not assigned" in d.problem


def test_price_overrides_and_skips(con) -> None:
    seed_from_fixture(con, fixture())
    fx_shop = shop(
        price_rule={"markup_percent": 10},
        overrides=[
            {"tiktok_product_id": "1", "price": "skip"},
            {"seller_sku": "D", "price": "19.99"},
        ],
    )
    plan = build_plan(con, fx_shop, W1)
    prices = {w.tiktok_sku_id: (w.rule, w.new) for w in plan.writes("price")}
    assert prices == {"20": ("override", "19.99")}  # not marked up, not rounded
    skipped = {(w.tiktok_sku_id, w.rule, w.old) for w in plan.skipped("price")}
    assert skipped == {
        ("10", "skipped", "10.00"),
        ("11", "skipped", "10.00"),
        ("12", "skipped", "10.00"),
    }
    assert plan.unchanged("price") == 0
    # store currency is not used by an override: never a currency block
    assert plan.currency_mismatches() == []


def test_overrides_from_csv_file(con, tmp_path) -> None:
    (tmp_path / "ov.csv").write_text("seller_sku,stock,price\nA,skip,\nD,4,21.50\n")
    seed_from_fixture(con, fixture())
    plan = build_plan(con, shop(overrides_csv=str(tmp_path / "ov.csv")), W1)
    rules = {s.tiktok_sku_id: (s.stock_rule, s.price_rule) for s in plan.skus}
    assert rules["10"] == ("skipped", "price") and rules["20"] == ("override", "override")
    assert {w.tiktok_sku_id: w.new for w in plan.writes("inventory")}["20"] == "4"
    assert {w.tiktok_sku_id: w.new for w in plan.writes("price")}["20"] == "21.50"


def test_overrides_apply_before_the_guards(con) -> None:
    """A store that lost its stock would zero A and D and trip the zero-stock guard; the
    SKUs an override skips count as neither zero nor moved, so the rest goes through."""
    fx = fixture()
    for variant in (fx.shopify.products[0].variants[0], fx.shopify.products[1].variants[0]):
        variant.inventory = {L1: 0}
    seed_from_fixture(con, fx)
    guards = Guards(max_zero_stock_share=0.3, max_price_move=0.1)
    plain = build_plan(con, shop(), W1)
    assert measure(plain, None).to_zero == 2
    assert check_plan(plain, guards, previous_mapped=None).blocks("inventory")

    config = shop(
        overrides=[
            {"seller_sku": "A", "stock": "skip"},
            {"tiktok_product_id": "2", "stock": "skip", "price": "skip"},
        ]
    )
    plan = build_plan(con, config, W1)
    metrics = measure(plan, None)
    assert metrics.to_zero == 0 and metrics.mapped_skus == 4
    verdict = check_plan(plan, guards, previous_mapped=None)
    assert verdict.passed, verdict.message()
    # a skipped price that would move a lot does not count either
    assert metrics.price_move == 0.0

    frame = report_frame(
        sent=plan.writes("inventory"),
        outcomes=[],
        blocked=[],
        unsendable=[],
        skipped=plan.skipped("inventory") + plan.skipped("price"),
        dry_run=True,
    )
    # the rule column closes the report columns; the stale-stock push appends the age after it
    assert list(frame.columns)[-2:] == ["rule", "stock_age_seconds"]
    skipped = frame[frame["rule"] == "skipped"]
    assert sorted(
        zip(skipped["tiktok_sku_id"], skipped["field"], skipped["status"], strict=True)
    ) == [
        ("10", "inventory", "UNCHANGED"),
        ("20", "inventory", "UNCHANGED"),
        ("20", "price", "UNCHANGED"),
    ]


def test_crashed_multi_warehouse_rows_are_settled_on_their_warehouses(con) -> None:
    seed_from_fixture(con, fixture())
    con.execute(
        "INSERT INTO push_ledger (run_id, tiktok_product_id, tiktok_sku_id, field, old, new,"
        " status, created_at, updated_at, warehouse_id) VALUES"
        " ('crashed', '1', '10', 'inventory', '0', '2', 'PENDING', now(), now(), ?),"
        " ('crashed', '1', '11', 'inventory', '0', '5', 'PENDING', now(), now(), ?)",
        [f"{W1},{W2}", f"{W1},{W2}"],
    )
    assert settle_stale(con, "next") == 2
    rows = dict(
        con.execute(
            "SELECT tiktok_sku_id, status FROM push_ledger WHERE run_id = 'crashed'"
        ).fetchall()
    )
    # A holds 1 + 1 on W1 and W2 (its 6 on W3 is not the store's): confirmed; B holds 0.
    assert rows == {"10": "UPDATED", "11": "FAILED"}


def test_amazon_fba_and_mfn_into_two_warehouses_no_untracked_notion(con) -> None:
    fx = load_fixture(
        {
            "tiktok": {
                "warehouses": [{"id": W1, "is_default": True}, {"id": W2}],
                "products": [
                    {
                        "id": "5",
                        "skus": [
                            {"id": "50", "seller_sku": "X", "inventory": {W1: 1, W2: 1}},
                            {"id": "51", "seller_sku": "Y", "inventory": {W1: 1, W2: 1}},
                        ],
                    }
                ],
            },
            "amazon": {
                "listings": [
                    {"sku": "X", "quantity": 8, "fulfillment": "FBA"},
                    {"sku": "Y", "quantity": 4, "fulfillment": "MFN"},
                ]
            },
        }
    )
    seed_from_fixture(con, fx, store="amazon")
    config = ShopConfig.model_validate(
        {
            "id": "t1",
            "store": "amazon",
            "tiktok": {"app_key": "env:K", "app_secret": "env:S", "access_token": "env:A"},
            "amazon": {
                "seller_id": "A1",
                "marketplace_id": "ATVPDKIKX0DER",
                "lwa_client_id": "env:C",
                "lwa_client_secret": "env:D",
                "refresh_token": "env:R",
            },
            "location_map": {"FBA": W1, "MFN": W2},
            "stock_rule": FIXED["stock_rule"],
        }
    )
    plan = build_plan(con, config, W1)
    assert {s.tiktok_sku_id: (s.stock_rule, s.targets) for s in plan.skus} == {
        "50": ("stock", {W1: 8, W2: 0}),
        "51": ("stock", {W1: 0, W2: 4}),
    }
    # FBA stock unknown (getInventorySummaries left X out): not pushed by the stock rule,
    # but an override needs no store stock
    con.execute("DELETE FROM catalog_stock WHERE channel = 'amazon' AND variant_id = 'X'")
    unknown = {w.tiktok_sku_id: w for w in build_plan(con, config, W1).writes("inventory")}
    assert unknown["50"].inventory is None and "FBA stock unknown" in unknown["50"].problem
    pinned = config.model_copy(update={"overrides": [Override(seller_sku="X", stock=3)]})
    writes = {w.tiktok_sku_id: w for w in build_plan(con, pinned, W1).writes("inventory")}
    assert writes["50"].rule == "override" and dict(writes["50"].inventory.quantities) == {
        W1: 3,
        W2: 3,
    }
    with pytest.raises(ValueError, match="'FBA' and 'MFN'"):
        ShopConfig.model_validate(
            config.model_dump(exclude_none=True) | {"location_map": {"gid://x": W1}}
        )
