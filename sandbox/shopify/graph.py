"""Resolver objects for the Shopify emulator's GraphQL execution.

graphql-core's default resolver reads an attribute named like the field and calls it with
``(info, **args)`` when it is callable, so each class below exposes the 2026-04 field names
it supports as attributes or methods. Fields a class does not define resolve to null (a
non-null one then fails loudly), which keeps "not emulated" visible.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from graphql import GraphQLError, GraphQLResolveInfo

from sandbox.shopify import fulfil, search
from sandbox.shopify.state import (
    Fulfillment,
    FulfillmentLine,
    FulfillmentOrder,
    FulfillmentOrderLine,
    InventoryItem,
    Level,
    Location,
    Order,
    OrderLine,
    Product,
    ShopifyState,
    Variant,
    gid_number,
)

MAX_PAGE = 250  # at most 250 nodes per page: https://shopify.dev/docs/api/usage/pagination-graphql


def money(value: Decimal | None) -> str | None:
    """``Money`` scalar: two decimals, e.g. "24.00" (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    return None if value is None else f"{value:.2f}"


def decimal_amount(value: Decimal) -> str:
    """``Decimal`` scalar (MoneyV2.amount): minimal decimals, e.g. "24.0" (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    text = format(value.normalize(), "f")
    return text if "." in text else text + ".0"


def money_v2(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"amount": decimal_amount(amount), "currencyCode": currency}


def money_bag(amount: Decimal, currency: str) -> dict[str, Any]:
    return {"shopMoney": money_v2(amount, currency), "presentmentMoney": money_v2(amount, currency)}


def bad_request(message: str, code: str = "BAD_REQUEST") -> GraphQLError:
    return GraphQLError(message, extensions={"code": code})


def encode_cursor(number: int) -> str:
    """Opaque base64 JSON cursor, shaped like Shopify's (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    raw = json.dumps({"last_id": number, "last_value": str(number)}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_cursor(cursor: str) -> int:
    try:
        return int(json.loads(base64.b64decode(cursor.encode()))["last_id"])
    except (ValueError, KeyError, TypeError):
        raise bad_request(f"Invalid cursor for current pagination sort: {cursor!r}") from None


def connection(
    info: GraphQLResolveInfo,
    items: Sequence[Any],
    wrap: Callable[[Any], Any],
    key: Callable[[Any], int],
    *,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    reverse: bool | None = False,
) -> dict[str, Any]:
    """A Relay connection over ``items`` (already filtered), ordered by ``key``.

    Outside bulk operations one of ``first``/``last`` is required and at most 250
    (https://shopify.dev/docs/api/usage/pagination-graphql; the error for a connection without
    first/last is captured in github.com/airhorns/shopify-draft-proxy).
    """
    bulk = bool(info.context.get("bulk"))
    if not bulk:
        if first is None and last is None:
            raise bad_request("you must provide one of first or last")
        size = first if first is not None else last
        if size is not None and (size < 0 or size > MAX_PAGE):
            # Exact wording for first > 250 is UNCONFIRMED.
            raise bad_request(f"The page size is too large. Max page size is {MAX_PAGE}.")
    ordered = sorted(items, key=key, reverse=bool(reverse))
    if after is not None:
        mark = decode_cursor(after)
        ordered = [i for i in ordered if (key(i) < mark if reverse else key(i) > mark)]
    if before is not None:
        mark = decode_cursor(before)
        ordered = [i for i in ordered if (key(i) > mark if reverse else key(i) < mark)]
    total = len(ordered)
    if bulk:
        page, has_next, has_prev = ordered, False, False
    elif first is not None:
        page = ordered[:first]
        has_next, has_prev = total > first, after is not None
    else:
        assert last is not None
        page = ordered[max(0, total - last) :]
        has_next, has_prev = before is not None, total > last
    nodes = [wrap(i) for i in page]
    cursors = [encode_cursor(key(i)) for i in page]
    return {
        "nodes": nodes,
        "edges": [{"node": n, "cursor": c} for n, c in zip(nodes, cursors, strict=True)],
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": cursors[0] if cursors else None,
            "endCursor": cursors[-1] if cursors else None,
        },
    }


def by_gid(obj: Any) -> int:
    return gid_number(obj.id)


class LocationNode:
    def __init__(self, state: ShopifyState, loc: Location) -> None:
        self._s, self._l = state, loc
        self.id = loc.id
        self.name = loc.name
        self.isActive = loc.active
        self.fulfillsOnlineOrders = True
        self.isFulfillmentService = False
        self.hasActiveInventory = True
        self.shipsInventory = True
        self.legacyResourceId = str(gid_number(loc.id))

    def inventoryLevel(self, info: GraphQLResolveInfo, inventoryItemId: str) -> Any:
        item = self._s.items.get(inventoryItemId)
        level = item.levels.get(self._l.id) if item else None
        return LevelNode(self._s, item, level) if item and level else None

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        """The location's levels, filtered by ``query`` (e.g. ``updated_at:>=...``)."""
        query = args.pop("query", None)
        args.pop("includeInactive", None)  # levels of this one location either way
        pairs = [
            (item, level)
            for item in self._s.items.values()
            if (level := item.levels.get(self._l.id)) is not None
        ]
        groups = search.parse(query)
        if groups:
            pairs = [p for p in pairs if search.matches(groups, p, self._level_field, "id")]
        return connection(
            info,
            pairs,
            lambda pair: LevelNode(self._s, pair[0], pair[1]),
            lambda pair: pair[1].id_number,
            **args,
        )

    def _level_field(self, pair: object, name: str) -> list[str] | None:
        item, level = pair  # type: ignore[misc]
        if name == "inventory_item_id":
            return [str(gid_number(item.id))]
        return level_fields(self._s, level, name)


class LevelNode:
    def __init__(self, state: ShopifyState, item: InventoryItem, level: Level) -> None:
        self._s, self._item, self._level = state, item, level
        # InventoryLevel GIDs carry ?inventory_item_id= (captured in
        # github.com/airhorns/shopify-draft-proxy)
        self.id = (
            f"gid://shopify/InventoryLevel/{level.id_number}"
            f"?inventory_item_id={gid_number(item.id)}"
        )
        self.isActive = True
        self.canDeactivate = True
        self.createdAt = level.updated_at
        self.updatedAt = level.updated_at

    def location(self, info: GraphQLResolveInfo) -> LocationNode:
        return LocationNode(self._s, self._s.locations[self._level.location_id])

    def item(self, info: GraphQLResolveInfo) -> ItemNode:
        return ItemNode(self._s, self._item)

    def quantities(self, info: GraphQLResolveInfo, names: list[str]) -> list[dict[str, Any]]:
        values = {
            "available": self._level.available,
            "on_hand": self._level.on_hand,
            "committed": self._level.committed,
        }
        return [
            {"name": n, "quantity": values.get(n, 0), "updatedAt": self._level.updated_at}
            for n in names
        ]


class ItemNode:
    def __init__(self, state: ShopifyState, item: InventoryItem) -> None:
        self._s, self._i = state, item
        self.id = item.id
        self.sku = item.sku or None  # an unset SKU reads null (captured)
        self.tracked = item.tracked
        self.requiresShipping = True
        self.legacyResourceId = str(gid_number(item.id))
        self.createdAt = item.updated_at
        self.updatedAt = item.updated_at

    def _levels(self, include_inactive: bool = False) -> list[Level]:
        return [
            lvl
            for lvl in self._i.levels.values()
            if include_inactive or self._s.locations[lvl.location_id].active
        ]

    def inventoryLevels(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        include_inactive = bool(args.pop("includeInactive", False))
        args.pop("query", None)
        return connection(
            info,
            self._levels(include_inactive),
            lambda lvl: LevelNode(self._s, self._i, lvl),
            lambda lvl: lvl.id_number,
            **args,
        )

    def inventoryLevel(self, info: GraphQLResolveInfo, locationId: str, **_: Any) -> Any:
        level = self._i.levels.get(locationId)
        return LevelNode(self._s, self._i, level) if level else None

    def variant(self, info: GraphQLResolveInfo) -> VariantNode:
        return VariantNode(self._s, self._s.variants[self._i.variant_id])

    def variants(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        v = self._s.variants[self._i.variant_id]
        return connection(info, [v], lambda x: VariantNode(self._s, x), by_gid, **args)


class VariantNode:
    def __init__(self, state: ShopifyState, variant: Variant) -> None:
        self._s, self._v = state, variant
        item = state.items[variant.inventory_item_id]
        self._item = item
        self.id = variant.id
        self.legacyResourceId = str(gid_number(variant.id))
        self.title = variant.title
        self.sku = item.sku or None
        self.price = money(variant.price)
        self.compareAtPrice = money(variant.compare_at_price)
        self.barcode = variant.barcode
        self.position = variant.position
        self.inventoryPolicy = variant.inventory_policy
        self.availableForSale = True
        self.taxable = True
        self.createdAt = variant.updated_at
        self.updatedAt = variant.updated_at

    def displayName(self, info: GraphQLResolveInfo) -> str:
        return f"{self._s.products[self._v.product_id].title} - {self._v.title}"

    def inventoryQuantity(self, info: GraphQLResolveInfo) -> int:
        # Sum of available over active locations (sandbox/shopify/schema/admin_2026-04.json.gz)
        return sum(
            lvl.available
            for lvl in self._item.levels.values()
            if self._s.locations[lvl.location_id].active
        )

    def selectedOptions(self, info: GraphQLResolveInfo) -> list[dict[str, str]]:
        return [{"name": n, "value": v} for n, v in self._v.options]

    def inventoryItem(self, info: GraphQLResolveInfo) -> ItemNode:
        return ItemNode(self._s, self._item)

    def product(self, info: GraphQLResolveInfo) -> ProductNode:
        return ProductNode(self._s, self._s.products[self._v.product_id])


class ProductNode:
    def __init__(self, state: ShopifyState, product: Product) -> None:
        self._s, self._p = state, product
        self.id = product.id
        self.legacyResourceId = str(gid_number(product.id))
        self.title = product.title
        self.status = product.status
        self.handle = product.title.lower().replace(" ", "-")
        self.vendor = "Sandbox"
        self.productType = ""
        self.tags: list[str] = []
        self.createdAt = product.updated_at
        self.updatedAt = product.updated_at

    def totalInventory(self, info: GraphQLResolveInfo) -> int:
        return sum(
            VariantNode(self._s, self._s.variants[v]).inventoryQuantity(info)
            for v in self._p.variant_ids
        )

    def variants(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        args.pop("sortKey", None)
        variants = [self._s.variants[v] for v in self._p.variant_ids]
        return connection(
            info, variants, lambda v: VariantNode(self._s, v), lambda v: v.position, **args
        )

    def variantsCount(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        return {"count": len(self._p.variant_ids), "precision": "EXACT"}

    def options(self, info: GraphQLResolveInfo, **_: Any) -> list[dict[str, Any]]:
        names: dict[str, list[str]] = {}
        for vid in self._p.variant_ids:
            for name, value in self._s.variants[vid].options:
                values = names.setdefault(name, [])
                if value not in values:
                    values.append(value)
        return [
            {
                "id": f"gid://shopify/ProductOption/{gid_number(self.id) * 10 + i}",
                "name": n,
                "position": i,
                "values": vals,
            }
            for i, (n, vals) in enumerate(names.items(), 1)
        ]


class LineItemNode:
    def __init__(self, state: ShopifyState, order: Order, line: OrderLine) -> None:
        self._s, self._line = state, line
        self.id = line.id
        self.quantity = line.quantity
        self.currentQuantity = line.current_quantity
        self.sku = line.sku
        self.title = line.title
        self.name = line.title if not line.variant_title else f"{line.title} - {line.variant_title}"
        self.variantTitle = line.variant_title
        self.originalUnitPriceSet = money_bag(line.price, line.currency)
        self.originalTotalSet = money_bag(line.price * line.quantity, line.currency)
        self.customAttributes: list[dict[str, str]] = []
        self.unfulfilledQuantity = line.current_quantity - fulfil.fulfilled_quantity(order, line.id)
        self.fulfillableQuantity = 0 if order.cancelled_at else self.unfulfilledQuantity

    def variant(self, info: GraphQLResolveInfo) -> VariantNode | None:
        v = self._s.variants.get(self._line.variant_id or "")
        return VariantNode(self._s, v) if v else None

    def product(self, info: GraphQLResolveInfo) -> ProductNode | None:
        v = self._s.variants.get(self._line.variant_id or "")
        return ProductNode(self._s, self._s.products[v.product_id]) if v else None


class OrderNode:
    # The concrete type where a field is the Node interface (tagsAdd.node); graphql-core's
    # default type resolver reads this (name-mangled) attribute.
    __typename = "Order"

    def __init__(self, state: ShopifyState, order: Order) -> None:
        self._s, self._o = state, order
        self.id = order.id
        self.legacyResourceId = str(gid_number(order.id))
        self.name = order.name
        self.createdAt = order.created_at
        self.processedAt = order.created_at
        self.updatedAt = order.created_at
        self.email = order.email
        self.phone = order.phone
        self.sourceName = order.source_name
        self.sourceIdentifier = order.source_identifier
        self.tags = list(order.tags)
        self.note = order.note
        self.test = order.test
        self.currencyCode = order.currency
        self.presentmentCurrencyCode = order.currency
        self.displayFinancialStatus = order.financial_status
        self.displayFulfillmentStatus = fulfil.display_fulfillment_status(order)
        self.updatedAt = order.updated_at or order.created_at
        self.cancelledAt = order.cancelled_at
        self.cancelReason = order.cancel_reason
        self.closedAt = order.closed_at
        self.closed = order.closed_at is not None
        self.cancellation = {"staffNote": order.staff_note} if order.cancelled_at else None
        self.customAttributes = list(order.custom_attributes)
        total = sum((ln.price * ln.quantity for ln in order.lines), Decimal(0))
        self.totalPriceSet = money_bag(total, order.currency)
        self.subtotalPriceSet = money_bag(total, order.currency)
        self.currentTotalPriceSet = money_bag(total, order.currency)

    def shippingAddress(self, info: GraphQLResolveInfo) -> dict[str, Any] | None:
        addr = self._o.shipping_address
        if addr is None:
            return None
        out = dict(addr)
        first, last = addr.get("firstName"), addr.get("lastName")
        out.setdefault("name", " ".join(p for p in (first, last) if p) or None)
        out.setdefault("countryCodeV2", addr.get("countryCode"))
        out.setdefault("province", addr.get("provinceCode"))
        out.setdefault("id", f"gid://shopify/MailingAddress/{gid_number(self.id)}")
        return out

    def lineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection(
            info, self._o.lines, lambda ln: LineItemNode(self._s, self._o, ln), by_gid, **args
        )

    def fulfillments(
        self, info: GraphQLResolveInfo, first: int | None = None, query: str | None = None
    ) -> list[FulfillmentNode]:
        """A plain list, not a connection (``Order.fulfillments(first:)``, 2026-04 schema)."""
        out = [FulfillmentNode(self._s, self._o, f) for f in self._o.fulfillments]
        return out if first is None else out[:first]

    def fulfillmentOrders(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        args.pop("displayable", None)
        args.pop("query", None)
        return connection(
            info,
            self._o.fulfillment_orders,
            lambda fo: FulfillmentOrderNode(self._s, self._o, fo),
            by_gid,
            **args,
        )


class FulfillmentOrderLineNode:
    def __init__(
        self, state: ShopifyState, order: Order, fo: FulfillmentOrder, line: FulfillmentOrderLine
    ) -> None:
        self._s, self._o, self._line = state, order, line
        self.id = line.id
        self.totalQuantity = line.total
        self.remainingQuantity = line.remaining
        self.requiresShipping = True
        ordered = next(ln for ln in order.lines if ln.id == line.line_item_id)
        self._ordered = ordered
        self.sku = ordered.sku
        self.productTitle = ordered.title
        self.variantTitle = ordered.variant_title

    def lineItem(self, info: GraphQLResolveInfo) -> LineItemNode:
        return LineItemNode(self._s, self._o, self._ordered)


class FulfillmentOrderNode:
    def __init__(self, state: ShopifyState, order: Order, fo: FulfillmentOrder) -> None:
        self._s, self._o, self._fo = state, order, fo
        self.id = fo.id
        self.status = fo.status
        self.requestStatus = "UNSUBMITTED"
        self.createdAt = fo.created_at
        self.updatedAt = fo.updated_at
        self.orderId = order.id
        self.orderName = order.name
        self.orderProcessedAt = order.created_at
        self.fulfillmentHolds: list[Any] = []

    def order(self, info: GraphQLResolveInfo) -> OrderNode:
        return OrderNode(self._s, self._o)

    def assignedLocation(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        loc = self._s.locations.get(self._fo.location_id)
        return {
            "name": loc.name if loc else None,
            "location": LocationNode(self._s, loc) if loc else None,
        }

    def supportedActions(self, info: GraphQLResolveInfo) -> list[dict[str, Any]]:
        if self._fo.status in ("OPEN", "IN_PROGRESS"):
            return [{"action": "CREATE_FULFILLMENT", "externalUrl": None}]
        return []

    def lineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection(
            info,
            self._fo.lines,
            lambda fl: FulfillmentOrderLineNode(self._s, self._o, self._fo, fl),
            by_gid,
            **args,
        )

    def fulfillments(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        args.pop("query", None)
        mine = [f for f in self._o.fulfillments if self._fo.id in f.fulfillment_order_ids]
        return connection(
            info, mine, lambda f: FulfillmentNode(self._s, self._o, f), by_gid, **args
        )


class FulfillmentNode:
    def __init__(self, state: ShopifyState, order: Order, f: Fulfillment) -> None:
        self._s, self._o, self._f = state, order, f
        self.id = f.id
        self.legacyResourceId = str(gid_number(f.id))
        self.name = f.name
        self.status = f.status
        # FulfillmentDisplayStatus spells it CANCELED (one L), captured
        self.displayStatus = "CANCELED" if f.status == "CANCELLED" else "FULFILLED"
        self.createdAt = f.created_at
        self.updatedAt = f.updated_at
        self.requiresShipping = True
        self.totalQuantity = sum(fl.quantity for fl in f.lines)
        self.deliveredAt = None
        self.inTransitAt = None
        self.estimatedDeliveryAt = None

    def trackingInfo(self, info: GraphQLResolveInfo, first: int | None = None) -> list[Any]:
        out = [{"number": t.number, "company": t.company, "url": t.url} for t in self._f.tracking]
        return out if first is None else out[:first]

    def fulfillmentLineItems(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return connection(info, self._f.lines, self._line, by_gid, **args)

    def _line(self, fl: FulfillmentLine) -> dict[str, Any]:
        ordered = next(ln for ln in self._o.lines if ln.id == fl.line_item_id)
        return {
            "id": fl.id,
            "quantity": fl.quantity,
            "lineItem": LineItemNode(self._s, self._o, ordered),
        }

    def order(self, info: GraphQLResolveInfo) -> OrderNode:
        return OrderNode(self._s, self._o)

    def location(self, info: GraphQLResolveInfo) -> LocationNode | None:
        loc = self._s.locations.get(self._f.location_id)
        return LocationNode(self._s, loc) if loc else None

    def fulfillmentOrders(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        args.pop("query", None)
        mine = [fo for fo in self._o.fulfillment_orders if fo.id in self._f.fulfillment_order_ids]
        return connection(
            info, mine, lambda fo: FulfillmentOrderNode(self._s, self._o, fo), by_gid, **args
        )


def variant_fields(state: ShopifyState, v: Variant, name: str) -> list[str] | None:
    """Searchable values of a variant per ``productVariants(query:)`` field
    (https://shopify.dev/docs/api/usage/search-syntax)."""
    item = state.items[v.inventory_item_id]
    product = state.products[v.product_id]
    match name:
        case "sku":
            return [item.sku or ""]
        case "barcode":
            return [v.barcode or ""]
        case "id":
            return [str(gid_number(v.id))]
        case "product_id":
            return [str(gid_number(product.id))]
        case "product_ids":
            return [str(gid_number(product.id))]
        case "product_status":
            return [product.status]
        case "title":
            return [v.title, product.title]
        case "location_id":
            return [str(gid_number(loc)) for loc in item.levels]
        case "updated_at":
            return [v.updated_at]
    return None


def level_fields(state: ShopifyState, level: Level, name: str) -> list[str] | None:
    """Searchable values of an inventory level per ``Location.inventoryLevels(query:)``
    field (admin schema: created_at, id, inventory_group_id, inventory_item_id,
    updated_at; https://shopify.dev/docs/api/admin-graphql/latest/objects/Location)."""
    match name:
        case "updated_at" | "created_at":
            return [level.updated_at]
        case "id":
            return [str(level.id_number)]
    return None


def product_fields(state: ShopifyState, p: Product, name: str) -> list[str] | None:
    """Searchable values of a product per ``products(query:)`` field."""
    match name:
        case "sku":
            return [
                state.items[state.variants[v].inventory_item_id].sku or "" for v in p.variant_ids
            ]
        case "barcode":
            return [state.variants[v].barcode or "" for v in p.variant_ids]
        case "status":
            return [p.status]
        case "title":
            return [p.title]
        case "id":
            return [str(gid_number(p.id))]
        case "variant_id":
            return [str(gid_number(v)) for v in p.variant_ids]
    return None


def order_fields(state: ShopifyState, o: Order, name: str) -> list[str] | None:
    """Searchable values of an order per ``orders(query:)`` field
    (https://shopify.dev/docs/api/usage/search-syntax)."""
    match name:
        case "source_identifier":
            return [o.source_identifier or ""]
        case "tag":
            return list(o.tags)
        case "name":
            return [o.name, o.name.lstrip("#")]
        case "email":
            return [o.email or ""]
        case "id":
            return [str(gid_number(o.id))]
        case "source_name":
            return [o.source_name or ""]
        case "updated_at":
            return [o.updated_at or o.created_at]
        case "created_at":
            return [o.created_at]
    return None


def filtered(
    state: ShopifyState,
    items: Sequence[Any],
    query: str | None,
    fields: Callable[[ShopifyState, Any, str], list[str] | None],
    default_field: str = "title",
) -> list[Any]:
    """Items matching a ``query:`` search. Items written within ``state.search_lag_s``
    are not searchable yet: Shopify's search index lags writes (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    groups = search.parse(query)
    if not groups:
        return list(items)
    now = time.monotonic()
    return [
        i
        for i in items
        if _indexed(state, i, now)
        and search.matches(groups, i, lambda o, f: fields(state, o, f), default_field)
    ]


def _indexed(state: ShopifyState, item: Any, now: float) -> bool:
    if isinstance(item, Order):
        return item.indexed_at <= now
    if isinstance(item, Variant):
        return state.reindex_at.get(item.id, 0.0) <= now
    if isinstance(item, Product):
        return all(state.reindex_at.get(v, 0.0) <= now for v in item.variant_ids)
    return True
