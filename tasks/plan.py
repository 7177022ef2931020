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
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

import duckdb

from connectors.base import InventoryUpdate, PriceUpdate, TikTokApi, Warehouse
from skubridge.config import ShopConfig, fixed_quantity
from tasks.rules import max_quantity
from tasks.warehouse import sql

Field = Literal["price", "inventory"]
SKIPPED = "skipped"
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
    stock_rule: str = "stock"
    price_rule: str = "price"
    targets: dict[str, int] = field(default_factory=dict)  # warehouse -> desired quantity
    missing_warehouses: tuple[str, ...] = ()  # target warehouses the TikTok SKU lacks

    def rule(self, which: Field) -> str:
        """The rule that produced ``which``'s desired value."""
        return self.price_rule if which == "price" else self.stock_rule

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
    rule: str = "stock"  # the rule that produced ``new`` (push report ``rule``)


@dataclass(frozen=True)
class Plan:
    """All mapped SKUs with their desired values; ``warehouse_id`` names the warehouse(s)
    receiving the stock (comma-separated with a location map)."""

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

    def skipped(self, which: Field) -> list[PlannedWrite]:
        """SKUs an override excludes from ``which``: listed in the report, never written."""
        out = []
        for s in self.skus:
            if s.rule(which) != SKIPPED:
                continue
            if which == "price":
                value = _money(s.current_price)
            else:
                value = None if s.current_stock is None else str(s.current_stock)
            out.append(
                PlannedWrite(
                    s.tiktok_product_id, s.tiktok_sku_id, which, value, value, rule=SKIPPED
                )
            )
        return out

    def currency_mismatches(self) -> list[SkuPlan]:
        """Mapped SKUs whose store currency differs from the TikTok SKU's (never converted)."""
        return [s for s in self.skus if not s.currency_ok and s.store_price is not None]

    def unchanged(self, which: Field) -> int:
        """Mapped SKUs with nothing to write for ``which`` (skipped ones not included)."""
        return self.mapped - len(self.writes(which)) - len(self.skipped(which))


def _write(sku: SkuPlan, which: Field, warehouse_id: str) -> PlannedWrite | None:
    write = _desired_write(sku, which, warehouse_id)
    if write is not None:
        write = replace(write, rule=sku.rule(which))
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
    if not sku.store_stock_known and sku.stock_rule == "stock":
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
        missing = ", ".join(sku.missing_warehouses) or warehouse_id
        which_wh = "warehouses" if len(sku.missing_warehouses) > 1 else "warehouse"
        return PlannedWrite(
            *ids,
            "inventory",
            old,
            str(sku.desired_stock),
            problem=f"receiving {which_wh} {missing} not assigned to this TikTok SKU",
        )
    # Every warehouse of the SKU: the ones the store feeds get the new stock, the others
    # keep their current quantity
    # (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858).
    targets = sku.targets or {warehouse_id: sku.desired_stock}
    quantities = dict(sku.warehouses) | targets
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
