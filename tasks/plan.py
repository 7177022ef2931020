"""The push plan: desired TikTok price and stock per mapped SKU, and only what differs.

The plan of a push. The arithmetic runs set-based in DuckDB (``tasks/sql/plan/rules.sql``
macros, ``desired.sql``) over the accepted catalogs and the mappings; money stays DECIMAL
and comes back as ``Decimal``. A SKU is planned for a field only when the desired value
differs from TikTok's current one (stock compared on the receiving warehouse only), so an
unchanged shop plans nothing and costs zero write calls.

Stock goes to the warehouses the shop's ``location_map`` names (store locations summed per
TikTok warehouse, buffers after the sum), or without one to the receiving warehouse.
Which rule produced each value (``stock``, ``untracked``, ``continue_selling``,
``override``, ``skipped``; ``price`` for the price rule) travels with every write into the
push report's ``rule`` column. Overrides with ``skip`` write nothing: their SKUs are listed
(:meth:`Plan.skipped`) and the guards count them as neither zero nor moved.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import duckdb

from connectors.base import TikTokApi, Warehouse
from skubridge.config import ShopConfig, fixed_quantity
from skubridge.model.plan import SKIPPED, WRITABLE_STATUS, Field, Plan, PlannedWrite, SkuPlan
from tasks.rules import max_quantity
from tasks.warehouse import sql

# The plan's value types live in ``skubridge/model/plan.py`` (below the guards and the
# connectors); this module builds them and keeps their names importable from here.
__all__ = [
    "SKIPPED",
    "WRITABLE_STATUS",
    "Field",
    "Plan",
    "PlanError",
    "PlannedWrite",
    "SkuPlan",
    "build_plan",
    "by_product",
    "choose_warehouse",
    "define_rule_macros",
    "plan_parameters",
    "receiving_warehouse",
]


class PlanError(Exception):
    """The plan cannot be made (e.g. no TikTok warehouse to receive stock)."""


def choose_warehouse(warehouses: Iterable[Warehouse]) -> str:
    """The receiving warehouse when none is configured: TikTok's default sales warehouse."""
    sales = [w for w in warehouses if w.active and w.type in (None, "SALES_WAREHOUSE")]
    for candidate in sales:
        if candidate.is_default:
            return candidate.id
    if len(sales) == 1:
        return sales[0].id
    names = ", ".join(w.id for w in sales) or "none"
    raise PlanError(
        "no default TikTok sales warehouse; set tiktok.warehouse_id in the shops file "
        f"(sales warehouses: {names})"
    )


async def receiving_warehouse(shop: ShopConfig, api: TikTokApi) -> str:
    """The configured ``tiktok.warehouse_id``, else the default one from ``warehouses()``.

    With a ``location_map`` its warehouses, comma-separated (as the ledger records them).
    """
    if shop.location_map:
        return ",".join(dict.fromkeys(shop.location_map.values()))
    if shop.tiktok.warehouse_id:
        return shop.tiktok.warehouse_id
    return choose_warehouse(await api.warehouses())


def define_rule_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rule macros of ``plan/rules.sql`` on this connection."""
    con.execute(sql("plan/rules"))


def plan_parameters(shop: ShopConfig, warehouse_id: str) -> dict[str, object]:
    """The parameters of ``desired.sql`` for a shop (reads the overrides CSV, if any)."""
    stock, price = shop.stock_rule, shop.price_rule
    locations = list(shop.shopify.location_ids) if shop.shopify else []
    overrides = shop.all_overrides()
    return {
        "store": shop.store,
        "locations": locations,
        "warehouse_id": warehouse_id,
        "map_locations": list(shop.location_map),
        "map_warehouses": list(shop.location_map.values()),
        "untracked_quantity": fixed_quantity(stock.untracked_quantity),
        "continue_selling_quantity": fixed_quantity(stock.continue_selling_quantity),
        "ov_kind": [o.key[0] for o in overrides],
        "ov_key": [o.key[1] for o in overrides],
        "ov_stock": [None if o.stock is None else str(o.stock) for o in overrides],
        "ov_price": [None if o.price is None else str(o.price) for o in overrides],
        "tiktok_currency": shop.tiktok.currency,
        "buffer_absolute": stock.buffer_absolute,
        "buffer_percent": str(stock.buffer_percent),
        "zero_below": stock.zero_below,
        "max_quantity": max_quantity(stock),
        "markup_percent": str(price.markup_percent),
        "markup_fixed": str(price.markup_fixed),
        "rounding": price.rounding,
    }


def build_plan(con: duckdb.DuckDBPyConnection, shop: ShopConfig, warehouse_id: str) -> Plan:
    """Desired values of every mapped SKU of ``shop`` from the catalogs in DuckDB."""
    define_rule_macros(con)
    cur = con.execute(sql("plan/desired"), plan_parameters(shop, warehouse_id))
    names = [d[0] for d in cur.description]
    skus = []
    for row in cur.fetchall():
        r = dict(zip(names, row, strict=True))
        skus.append(
            SkuPlan(
                tiktok_product_id=str(r["tiktok_product_id"]),
                tiktok_sku_id=str(r["tiktok_sku_id"]),
                store_variant_id=str(r["store_variant_id"]),
                current_price=r["current_price"],
                tiktok_currency=r["tiktok_currency"],
                store_price=r["store_price"],
                store_currency=r["store_currency"],
                desired_price=r["desired_price"],
                current_stock=None if r["current_stock"] is None else int(r["current_stock"]),
                store_stock=int(r["store_stock"]),
                desired_stock=int(r["desired_stock"]),
                has_warehouse=bool(r["has_warehouse"]),
                warehouses={
                    str(w["warehouse_id"]): int(w["quantity"] or 0) for w in r["warehouses"]
                },
                currency_ok=bool(r["currency_ok"]),
                price_changed=bool(r["price_changed"]),
                stock_changed=bool(r["stock_changed"]),
                tiktok_status=r["tiktok_status"],
                stock_rule=str(r["stock_rule"]),
                price_rule=str(r["price_rule"]),
                targets={
                    str(w["warehouse_id"]): int(w["quantity"])
                    for w in r["targets"] or []
                    if w["quantity"] is not None
                },
                missing_warehouses=tuple(str(w) for w in r["missing_warehouses"] or []),
                store_stock_known=bool(r["store_stock_known"]),
            )
        )
    return Plan(warehouse_id=warehouse_id, skus=tuple(skus))


def by_product(writes: Iterable[PlannedWrite]) -> dict[str, list[PlannedWrite]]:
    """Writes grouped by TikTok product (one API call per product and field)."""
    grouped: dict[str, list[PlannedWrite]] = defaultdict(list)
    for write in writes:
        grouped[write.tiktok_product_id].append(write)
    return dict(grouped)
