"""The push plan's values: each mapped SKU's current and desired values, the writes they need.

Built in DuckDB by ``tasks/plan.py: build_plan``; measured by the push guards
(``expectations/guards.py``) and written by the push step (``tasks/steps/push.py``). Here,
below both layers, so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Literal

from skubridge.model.updates import InventoryUpdate, PriceUpdate

Field = Literal["price", "inventory"]
SKIPPED = "skipped"  # the rule of a SKU an override leaves out of a field
WRITABLE_STATUS = "ACTIVATE"


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
