"""The push plan: desired TikTok price and stock per mapped SKU, and only what differs.

The plan of a push. The arithmetic runs set-based in DuckDB (``tasks/sql/plan/rules.sql``
macros, ``desired.sql``) over the accepted catalogs and the mappings; money stays DECIMAL
and comes back as ``Decimal``. A SKU is planned for a field only when the desired value
differs from TikTok's current one (stock compared on the receiving warehouse only), so an
unchanged shop plans nothing and costs zero write calls.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

import duckdb

from connectors.base import InventoryUpdate, PriceUpdate, TikTokApi, Warehouse
from skubridge.config import ShopConfig
from tasks.rules import max_quantity
from tasks.warehouse import sql

Field = Literal["price", "inventory"]
WRITABLE_STATUS = "ACTIVATE"


class PlanError(Exception):
    """The plan cannot be made (e.g. no TikTok warehouse to receive stock)."""


@dataclass(frozen=True)
class SkuPlan:
    """Current and desired values of one mapped TikTok SKU."""

    tiktok_product_id: str
    tiktok_sku_id: str
    store_variant_id: str
    current_price: Decimal | None
    tiktok_currency: str | None
    store_price: Decimal | None
    store_currency: str | None
    desired_price: Decimal | None
    current_stock: int | None
    store_stock: int
    desired_stock: int
    has_warehouse: bool
    warehouses: dict[str, int]
    currency_ok: bool
    price_changed: bool
    stock_changed: bool
    tiktok_status: str | None = None
    store_stock_known: bool = True

    @property
    def writable(self) -> bool:
        """Updates need an ACTIVATE product
        (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858); unknown = try."""
        return self.tiktok_status in (None, "", WRITABLE_STATUS)


@dataclass(frozen=True)
class PlannedWrite:
    """One field of one SKU to write: ``old`` -> ``new`` as text (the ledger's form)."""

    tiktok_product_id: str
    tiktok_sku_id: str
    field: Field
    old: str | None
    new: str | None  # None when the desired value is unknown (reported, never sent)
    price: PriceUpdate | None = None
    inventory: InventoryUpdate | None = None
    problem: str | None = None  # set when the write cannot be sent (reported REJECTED)
    blocked: str | None = None  # set when a guard always blocks it (currency mismatch)


@dataclass(frozen=True)
class Plan:
    """All mapped SKUs with their desired values, for one receiving warehouse."""

    warehouse_id: str
    skus: tuple[SkuPlan, ...] = ()
    _by_field: dict[str, list[PlannedWrite]] = field(default_factory=dict, repr=False)

    @property
    def mapped(self) -> int:
        """Mapped TikTok SKUs whose store variant is in the store catalog."""
        return len(self.skus)

    def writes(self, which: Field) -> list[PlannedWrite]:
        """The planned writes of one field (currency mismatches included, see ``blocked``)."""
        if which not in self._by_field:
            self._by_field[which] = [
                w for s in self.skus if (w := _write(s, which, self.warehouse_id)) is not None
            ]
        return self._by_field[which]

    def currency_mismatches(self) -> list[SkuPlan]:
        """Mapped SKUs whose store currency differs from the TikTok SKU's (never converted)."""
        return [s for s in self.skus if not s.currency_ok and s.store_price is not None]

    def unchanged(self, which: Field) -> int:
        """Mapped SKUs with nothing to write for ``which``."""
        return self.mapped - len(self.writes(which))

    def only(self, store_variant_ids: set[str], tiktok_sku_ids: set[str]) -> Plan:
        """The plan of the SKUs whose store variant or TikTok SKU is in the given sets (a
        push of what changed)."""
        kept = tuple(
            s
            for s in self.skus
            if s.store_variant_id in store_variant_ids or s.tiktok_sku_id in tiktok_sku_ids
        )
        return Plan(self.warehouse_id, kept)


def _write(sku: SkuPlan, which: Field, warehouse_id: str) -> PlannedWrite | None:
    write = _desired_write(sku, which, warehouse_id)
    if write is None or write.blocked or write.problem or sku.writable:
        return write
    # TikTok refuses updates to a product that is not ACTIVATE: reported, no call sent.
    return replace(
        write,
        price=None,
        inventory=None,
        problem=f"TikTok product status {sku.tiktok_status} does not take updates (needs "
        f"{WRITABLE_STATUS})",
    )


def _desired_write(sku: SkuPlan, which: Field, warehouse_id: str) -> PlannedWrite | None:
    ids = (sku.tiktok_product_id, sku.tiktok_sku_id)
    if which == "price":
        if sku.desired_price is None:
            return None
        if not sku.currency_ok:
            # Compared across currencies the values mean nothing: always reported.
            return PlannedWrite(
                *ids,
                "price",
                _money(sku.current_price),
                _money(sku.desired_price),
                blocked=(
                    f"currency: store {sku.store_currency or 'unknown'}, "
                    f"TikTok {sku.tiktok_currency or 'unknown'}; prices are never converted"
                ),
            )
        if not sku.price_changed:
            return None
        update = PriceUpdate(sku.tiktok_sku_id, sku.desired_price, str(sku.tiktok_currency))
        return PlannedWrite(
            *ids, "price", _money(sku.current_price), _money(sku.desired_price), price=update
        )
    old = None if sku.current_stock is None else str(sku.current_stock)
    if not sku.store_stock_known:
        return PlannedWrite(
            *ids,
            "inventory",
            old,
            None,
            problem="FBA stock unknown: getInventorySummaries did not return this SKU; "
            "not pushed (stock kept as it is on TikTok)",
        )
    if not sku.stock_changed:
        return None
    if not sku.has_warehouse:
        return PlannedWrite(
            *ids,
            "inventory",
            old,
            str(sku.desired_stock),
            problem=f"receiving warehouse {warehouse_id} is not assigned to this TikTok SKU",
        )
    # Every warehouse of the SKU: the receiving one gets the new stock, the others keep
    # their current quantity (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858).
    quantities = dict(sku.warehouses) | {warehouse_id: sku.desired_stock}
    update = InventoryUpdate(sku.tiktok_sku_id, quantities)
    return PlannedWrite(*ids, "inventory", old, str(sku.desired_stock), inventory=update)


def _money(value: Decimal | None) -> str | None:
    return None if value is None else format(value.quantize(Decimal("0.01")), "f")


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
    """The configured ``tiktok.warehouse_id``, else the default one from ``warehouses()``."""
    if shop.tiktok.warehouse_id:
        return shop.tiktok.warehouse_id
    return choose_warehouse(await api.warehouses())


def define_rule_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rule macros of ``plan/rules.sql`` on this connection."""
    con.execute(sql("plan/rules"))


def plan_parameters(shop: ShopConfig, warehouse_id: str) -> dict[str, object]:
    """The parameters of ``desired.sql`` for a shop."""
    stock, price = shop.stock_rule, shop.price_rule
    locations = list(shop.shopify.location_ids) if shop.shopify else []
    return {
        "store": shop.store,
        "locations": locations,
        "warehouse_id": warehouse_id,
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
