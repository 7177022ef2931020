"""Pre-write guards: measured values, GX verdicts, which writes each guard blocks."""

from __future__ import annotations

from decimal import Decimal

from expectations.guards import GUARD_FIELDS, check_plan, measure
from skubridge.config import Guards
from tasks.plan import Plan, SkuPlan

D = Decimal


def sku(
    n: int,
    *,
    price: str = "10.00",
    new_price: str = "10.00",
    stock: int = 5,
    new_stock: int = 5,
    currency_ok: bool = True,
) -> SkuPlan:
    return SkuPlan(
        tiktok_product_id=f"p{n}",
        tiktok_sku_id=f"s{n}",
        store_variant_id=f"v{n}",
        current_price=D(price),
        tiktok_currency="USD",
        store_price=D(new_price),
        store_currency="USD" if currency_ok else "EUR",
        desired_price=D(new_price),
        current_stock=stock,
        store_stock=new_stock,
        desired_stock=new_stock,
        has_warehouse=True,
        warehouses={"w": stock},
        currency_ok=currency_ok,
        price_changed=price != new_price,
        stock_changed=stock != new_stock,
    )


def plan(*skus: SkuPlan) -> Plan:
    return Plan(warehouse_id="w", skus=skus)


def test_all_pass_on_small_changes() -> None:
    p = plan(*(sku(i, new_price="10.50", new_stock=4) for i in range(10)))
    verdict = check_plan(p, Guards(), previous_mapped=10)
    assert verdict.passed and not verdict.blocks("price") and not verdict.blocks("inventory")
    assert verdict.metrics.price_move == 0.05


def test_zero_stock_share_blocks_inventory_only() -> None:
    # 6 of 10 SKUs lose all stock: 0.6 > 0.25.
    p = plan(*(sku(i, new_stock=0 if i < 6 else 5) for i in range(10)))
    verdict = check_plan(p, Guards(max_zero_stock_share=0.25), previous_mapped=None)
    assert verdict.failed == ("zero_stock_share",)
    assert verdict.blocks("inventory") and not verdict.blocks("price")
    assert verdict.metrics.zero_stock_share == 0.6
    assert "zero_stock_share: 0.600" in verdict.message()


def test_already_zero_is_not_going_to_zero() -> None:
    p = plan(*(sku(i, stock=0, new_stock=0) for i in range(10)))
    assert measure(p, None).to_zero == 0


def test_price_move_blocks_price_only() -> None:
    p = plan(sku(1, new_price="10.20"), sku(2, price="10.00", new_price="30.00"))
    verdict = check_plan(p, Guards(max_price_move=0.5), previous_mapped=None)
    assert verdict.failed == ("price_move",)
    assert verdict.blocks("price") and not verdict.blocks("inventory")
    assert "2.000" in verdict.message() and "max_price_move 0.5" in verdict.message()


def test_currency_mismatch_blocks_price() -> None:
    p = plan(sku(1), sku(2, currency_ok=False, new_price="99.00"))
    verdict = check_plan(p, Guards(), previous_mapped=None)
    assert verdict.failed == ("currency",)
    assert verdict.metrics.price_move == 0.0  # mismatched SKUs are not compared
    assert verdict.blocks("price") and not verdict.blocks("inventory")


def test_mapped_drop_blocks_everything() -> None:
    p = plan(*(sku(i) for i in range(7)))
    verdict = check_plan(p, Guards(max_mapped_drop=0.2), previous_mapped=10)
    assert verdict.failed == ("mapped_drop",)
    assert verdict.metrics.mapped_drop == 0.3
    assert verdict.blocks("price") and verdict.blocks("inventory")
    assert GUARD_FIELDS["mapped_drop"] == {"price", "inventory"}
    ok = check_plan(p, Guards(max_mapped_drop=0.2), previous_mapped=8)
    assert ok.passed


def test_force_unblocks_but_keeps_the_verdict() -> None:
    p = plan(*(sku(i, new_stock=0) for i in range(4)))
    verdict = check_plan(p, Guards(), previous_mapped=None, force=True)
    assert not verdict.passed and verdict.failed == ("zero_stock_share",)
    assert not verdict.blocks("inventory")
    assert "overridden by force" in verdict.message()


def test_empty_plan_passes_without_history() -> None:
    verdict = check_plan(plan(), Guards(), previous_mapped=None)
    assert verdict.passed
