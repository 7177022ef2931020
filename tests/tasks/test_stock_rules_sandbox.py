"""Stock rules end to end against the sandbox: catalog runner, then push runner.

Two Shopify locations into one TikTok warehouse and a third into another, an untracked and
a keep-selling variant, overrides from the shops file and from a CSV file; what TikTok ends
up holding is read back from the emulator.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops
from tasks.steps.catalog import run_catalog
from tasks.steps.push import run_push
from tasks.warehouse import open_shop

SHOP = "rules"
W1, W2 = "7000000000000000001", "7000000000000000002"
L1, L2, L3 = (f"gid://shopify/Location/{n}" for n in (1, 2, 3))
SKUS = ("TEE-S", "TEE-M", "TEE-L", "MUG", "CAP", "BAG")


def fixture():
    def tiktok(pid: str, skus: list[str]) -> dict:
        return {
            "id": pid,
            "title": pid,
            "skus": [
                {
                    "id": f"{pid}0{n}",
                    "seller_sku": s,
                    "price": "10.00",
                    "inventory": {W1: 1, W2: 1},
                }
                for n, s in enumerate(skus)
            ],
        }

    return load_fixture(
        {
            "tiktok": {
                "warehouses": [{"id": W1, "is_default": True}, {"id": W2}],
                "products": [
                    tiktok("1729000000000000100", ["TEE-S", "TEE-M", "TEE-L"]),
                    tiktok("1729000000000000200", ["MUG"]),
                    tiktok("1729000000000000300", ["CAP"]),
                    tiktok("1729000000000000400", ["BAG"]),
                ],
            },
            "shopify": {
                "locations": [{"id": L1}, {"id": L2}, {"id": L3}],
                "products": [
                    {
                        "title": "Tee",
                        "variants": [
                            {"sku": "TEE-S", "price": "12.00", "inventory": {L1: 4, L2: 3, L3: 5}},
                            {
                                "sku": "TEE-M",
                                "price": "12.00",
                                "inventory": {L1: 0},
                                "tracked": False,
                            },
                            {
                                "sku": "TEE-L",
                                "price": "12.00",
                                "inventory": {L1: 0},
                                "inventory_policy": "CONTINUE",
                            },
                        ],
                    },
                    {"variants": [{"sku": "MUG", "price": "8.00", "inventory": {L1: 6, L3: 1}}]},
                    {"variants": [{"sku": "CAP", "price": "12.00", "inventory": {L1: 9}}]},
                    {"variants": [{"sku": "BAG", "price": "11.00", "inventory": {L1: 9}}]},
                ],
            },
        }
    )


RULES = f"""
[shops.stock_rule]
buffer_absolute = 1
untracked_quantity = "max"
continue_selling_quantity = 30

[shops.location_map]
"{L1}" = "{W1}"
"{L2}" = "{W1}"
"{L3}" = "{W2}"

[[shops.overrides]]
seller_sku = "MUG"
price = "14.99"
"""
CSV = "tiktok_product_id,seller_sku,stock,price\n1729000000000000300,,skip,skip\n,BAG,2,\n"


@pytest.fixture
def rules_shop(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(fixture(), throttle=False) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        (tmp_path / "overrides.csv").write_text(CSV, encoding="utf-8")
        text = running.shop_toml(SHOP, "shopify", extra=RULES).replace(
            'store = "shopify"\n', 'store = "shopify"\noverrides_csv = "overrides.csv"\n', 1
        )
        (tmp_path / "shops.toml").write_text(text, encoding="utf-8")
        yield running, load_shops(tmp_path / "shops.toml").get(SHOP)


def tiktok_state(stack) -> dict[str, tuple[dict[str, int], Decimal]]:
    snapshot = stack.emulator("tiktok").snapshot()
    out = {}
    for product in snapshot["products"]:
        for sku in product["skus"]:
            inventory = dict(sku["inventory"])
            out[sku["seller_sku"]] = (inventory, Decimal(sku["price"]))
    return out


def report(run_id: str) -> list[tuple]:
    with open_shop(SHOP) as con:
        return con.execute(
            "SELECT v.seller_sku, r.field, r.old, r.new, r.status, r.rule FROM push_report AS r"
            " JOIN catalog_variants AS v ON v.channel = 'tiktok'"
            " AND v.variant_id = r.tiktok_sku_id WHERE r.run_id = ? ORDER BY 1, 2",
            [run_id],
        ).fetchall()


def test_locations_warehouses_untracked_continue_and_overrides(rules_shop) -> None:
    stack, shop = rules_shop
    run_catalog(shop, run_id="cat-1", suggestions=False)
    outcome = run_push(shop, run_id="push-1", client_kwargs={"rate_scale": 0})
    assert outcome.ok, outcome.message
    assert outcome.warehouse_id == f"{W1},{W2}"

    state = tiktok_state(stack)
    assert {sku: state[sku][0] for sku in SKUS} == {
        "TEE-S": {W1: 4 + 3 - 1, W2: 5 - 1},  # L1 + L2 -> W1, L3 -> W2, buffer after the sum
        "TEE-M": {W1: 99_999, W2: 99_999},  # untracked: TikTok's maximum
        "TEE-L": {W1: 30, W2: 30},  # keeps selling when out of stock
        "MUG": {W1: 5, W2: 0},
        "CAP": {W1: 1, W2: 1},  # stock skipped (CSV, by TikTok product id)
        "BAG": {W1: 2, W2: 2},  # stock pinned (CSV, by seller SKU)
    }
    assert {sku: state[sku][1] for sku in SKUS} == {
        "TEE-S": Decimal("12.00"),
        "TEE-M": Decimal("12.00"),
        "TEE-L": Decimal("12.00"),
        "MUG": Decimal("14.99"),  # price pinned (shops file)
        "CAP": Decimal("10.00"),  # price skipped (CSV)
        "BAG": Decimal("11.00"),
    }
    assert report("push-1") == [
        ("BAG", "inventory", "2", "4", "UPDATED", "override"),
        ("BAG", "price", "10.00", "11.00", "UPDATED", "price"),
        ("CAP", "inventory", "2", "2", "UNCHANGED", "skipped"),
        ("CAP", "price", "10.00", "10.00", "UNCHANGED", "skipped"),
        ("MUG", "inventory", "2", "5", "UPDATED", "stock"),
        ("MUG", "price", "10.00", "14.99", "UPDATED", "override"),
        ("TEE-L", "inventory", "2", "60", "UPDATED", "continue_selling"),
        ("TEE-L", "price", "10.00", "12.00", "UPDATED", "price"),
        ("TEE-M", "inventory", "2", "199998", "UPDATED", "untracked"),
        ("TEE-M", "price", "10.00", "12.00", "UPDATED", "price"),
        ("TEE-S", "inventory", "2", "10", "UPDATED", "stock"),
        ("TEE-S", "price", "10.00", "12.00", "UPDATED", "price"),
    ]
    with open_shop(SHOP) as con:
        ledger = con.execute(
            "SELECT DISTINCT warehouse_id FROM push_ledger WHERE field = 'inventory'"
        ).fetchall()
    assert ledger == [(f"{W1},{W2}",)]

    # Next cycle: TikTok holds what the rules want; only the skipped SKU is listed again.
    run_catalog(shop, run_id="cat-2", suggestions=False)
    again = run_push(shop, run_id="push-2", client_kwargs={"rate_scale": 0})
    assert again.ok and again.counts["updated"] == 0 and again.counts["skipped"] == 2
    assert [(r[0], r[1], r[5]) for r in report("push-2")] == [
        ("CAP", "inventory", "skipped"),
        ("CAP", "price", "skipped"),
    ]
