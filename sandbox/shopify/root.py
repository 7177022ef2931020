"""Root query and mutation resolvers of the Shopify emulator.

Each public method is named like the 2026-04 root field it emulates. Business validation
answers with ``userErrors`` (string indexes in ``field``); argument rules enforced by Shopify's
resolvers raise top-level errors with the codes captured in
github.com/airhorns/shopify-draft-proxy.

Sources cited by name below:

- captures: https://github.com/airhorns/shopify-draft-proxy (fixtures/conformance)
- schema: sandbox/shopify/schema/admin_2026-04.json.gz
- orderCreate description in the schema: sandbox/shopify/schema/admin_2026-04.json.gz
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, GraphQLResolveInfo, value_from_ast_untyped

from sandbox.shopify import bulk, fulfil, graph
from sandbox.shopify.graph import (
    FulfillmentNode,
    FulfillmentOrderNode,
    ItemNode,
    LevelNode,
    LocationNode,
    OrderNode,
    ProductNode,
    VariantNode,
    bad_request,
    by_gid,
    connection,
)
from sandbox.shopify.state import (
    LINE_ITEM_BASE,
    ORDER_BASE,
    BulkOperation,
    Claim,
    Order,
    OrderLine,
    WebhookSubscription,
    gid_number,
    now_iso,
)

if TYPE_CHECKING:
    from sandbox.shopify.emulator import ShopifyEmulator

# Captured list of accepted inventory reasons (github.com/airhorns/shopify-draft-proxy)
INVENTORY_REASONS = frozenset(
    [
        "correction",
        "cycle_count_available",
        "damaged",
        "movement_canceled",
        "movement_created",
        "movement_received",
        "movement_updated",
        "other",
        "promotion",
        "quality_control",
        "received",
        "reservation_created",
        "reservation_deleted",
        "reservation_updated",
        "restock",
        "safety_stock",
        "shrinkage",
    ]
)
MAX_INPUT = 250  # general array cap, https://shopify.dev/docs/api/usage/limits (UNCONFIRMED for
# inventorySetQuantities)
MAX_QUANTITY = 1_000_000_000
# ``available`` may be set below zero (oversold) down to this; on_hand may not
# (InventorySetQuantitiesUserErrorCode INVALID_QUANTITY_TOO_LOW, 2026-04 Admin schema,
# https://shopify.dev/docs/api/admin-graphql/2026-04/enums/InventorySetQuantitiesUserErrorCode).
MIN_AVAILABLE = -1_000_000_000


def user_error(field: list[str] | None, message: str, code: str | None) -> dict[str, Any]:
    return {"field": field, "message": message, "code": code}


class Root:
    """The root value: queries and mutations over the emulator state."""

    def __init__(self, emulator: ShopifyEmulator) -> None:
        self._e = emulator
        self._s = emulator.state

    # -- queries --------------------------------------------------------------------------

    def shop(self, info: GraphQLResolveInfo) -> dict[str, Any]:
        s = self._s
        return {
            "id": "gid://shopify/Shop/1",
            "name": s.shop_domain.split(".")[0],
            "myshopifyDomain": s.shop_domain,
            "currencyCode": s.currency,
            "email": f"owner@{s.shop_domain}",
            "ianaTimezone": "UTC",
            "enabledPresentmentCurrencies": [s.currency],
        }

    def productVariants(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        sortKey: str | None = None,
        savedSearchId: str | None = None,
        **page: Any,
    ) -> dict[str, Any]:
        items = graph.filtered(
            self._s, list(self._s.variants.values()), query, graph.variant_fields
        )
        return connection(info, items, lambda v: VariantNode(self._s, v), by_gid, **page)

    def productVariantsCount(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        limit: int | None = 10000,
        **_: Any,
    ) -> dict[str, Any]:
        n = len(
            graph.filtered(self._s, list(self._s.variants.values()), query, graph.variant_fields)
        )
        if limit is not None and n > limit:
            return {"count": limit, "precision": "AT_LEAST"}
        return {"count": n, "precision": "EXACT"}

    def productVariant(self, info: GraphQLResolveInfo, id: str) -> VariantNode | None:
        v = self._s.variants.get(id)
        return VariantNode(self._s, v) if v else None

    def products(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        sortKey: str | None = None,
        savedSearchId: str | None = None,
        **page: Any,
    ) -> dict[str, Any]:
        items = graph.filtered(
            self._s, list(self._s.products.values()), query, graph.product_fields
        )
        return connection(info, items, lambda p: ProductNode(self._s, p), by_gid, **page)

    def product(self, info: GraphQLResolveInfo, id: str) -> ProductNode | None:
        p = self._s.products.get(id)
        return ProductNode(self._s, p) if p else None

    def locations(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        includeInactive: bool = False,
        includeLegacy: bool = False,
        sortKey: str | None = None,
        **page: Any,
    ) -> dict[str, Any]:
        locs = [loc for loc in self._s.locations.values() if includeInactive or loc.active]
        return connection(info, locs, lambda loc: LocationNode(self._s, loc), by_gid, **page)

    def location(self, info: GraphQLResolveInfo, id: str | None = None) -> Any:
        loc = self._s.locations.get(id or "") if id else next(iter(self._s.locations.values()))
        return LocationNode(self._s, loc) if loc else None

    def inventoryItem(self, info: GraphQLResolveInfo, id: str) -> ItemNode | None:
        item = self._s.items.get(id)
        return ItemNode(self._s, item) if item else None

    def inventoryLevel(self, info: GraphQLResolveInfo, id: str) -> LevelNode | None:
        level_no = gid_number(id)
        item_part = id.partition("?inventory_item_id=")[2]
        item = self._s.items.get(f"gid://shopify/InventoryItem/{item_part}")
        if item is None:
            return None
        level = next((lv for lv in item.levels.values() if lv.id_number == level_no), None)
        return LevelNode(self._s, item, level) if level else None

    def orders(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        sortKey: str | None = None,
        savedSearchId: str | None = None,
        **page: Any,
    ) -> dict[str, Any]:
        items = graph.filtered(self._s, self._s.orders, query, graph.order_fields, "name")
        return connection(info, items, lambda o: OrderNode(self._s, o), by_gid, **page)

    def ordersCount(
        self,
        info: GraphQLResolveInfo,
        query: str | None = None,
        limit: int | None = 10000,
        **_: Any,
    ) -> dict[str, Any]:
        n = len(graph.filtered(self._s, self._s.orders, query, graph.order_fields, "name"))
        return {"count": n, "precision": "EXACT"}

    def order(self, info: GraphQLResolveInfo, id: str) -> OrderNode | None:
        o = next((o for o in self._s.orders if o.id == id), None)
        return OrderNode(self._s, o) if o else None

    def bulkOperation(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        op = self._s.bulk_operations.get(id)
        return self._bulk_view(info, op) if op else None

    def currentBulkOperation(
        self, info: GraphQLResolveInfo, type: str | None = "QUERY"
    ) -> dict[str, Any] | None:
        ops = list(self._s.bulk_operations.values())
        return self._bulk_view(info, ops[-1]) if ops else None

    def _bulk_view(self, info: GraphQLResolveInfo, op: BulkOperation) -> dict[str, Any]:
        if op.status in ("CREATED", "RUNNING"):
            op.polls += 1
            if op.polls > self._e.bulk_polls_until_complete:
                op.status, op.completed_at = "COMPLETED", now_iso()
            elif op.polls >= 1:
                op.status = "RUNNING"
        done = op.status == "COMPLETED"
        size = sum(len(line.encode()) + 1 for line in op.lines)
        base = info.context.get("base_url", "").rstrip("/")
        return {
            "id": op.id,
            "status": op.status,
            "errorCode": op.error_code,
            "type": "QUERY",
            "createdAt": op.created_at,
            "completedAt": op.completed_at,
            "query": op.query,
            # UnsignedInt64 values are strings on the wire
            # (sandbox/shopify/schema/admin_2026-04.json.gz)
            "objectCount": str(len(op.lines)) if done else "0",
            "rootObjectCount": str(op.root_object_count) if done else "0",
            "fileSize": str(size) if done and op.lines else None,
            # url for an empty result is UNCONFIRMED: null, like a failed-free no-file
            "url": f"{base}/_sandbox/bulk/{gid_number(op.id)}.jsonl" if done and op.lines else None,
            "partialDataUrl": None,
        }

    # -- mutations ------------------------------------------------------------------------

    def bulkOperationRunQuery(
        self, info: GraphQLResolveInfo, query: str, groupObjects: bool = False
    ) -> dict[str, Any]:
        schema = info.schema
        problems = bulk.query_rule_errors(schema, query)
        if problems:
            return {
                "bulkOperation": None,
                "userErrors": [user_error(["query"], p, "INVALID") for p in problems],
            }
        running = [
            o for o in self._s.bulk_operations.values() if o.status in ("CREATED", "RUNNING")
        ]
        if len(running) >= 5:  # five concurrent query operations from 2026-01 (captures)
            ids = ", ".join(o.id for o in running)
            return {
                "bulkOperation": None,
                "userErrors": [
                    user_error(
                        None,
                        f"A bulk query operation for this app and shop is already in progress: "
                        f"{ids}.",
                        "OPERATION_IN_PROGRESS",
                    )
                ],
            }
        lines, roots = bulk.run(schema, query, self, info.context, groupObjects)
        op = BulkOperation(
            id=f"gid://shopify/BulkOperation/{5_000_000 + self._s.next_number()}",
            query=query,
            created_at=now_iso(),
            lines=lines,
            root_object_count=roots,
        )
        self._s.bulk_operations[op.id] = op
        view = {
            "id": op.id,
            "status": "CREATED",
            "errorCode": None,
            "type": "QUERY",
            "createdAt": op.created_at,
            "completedAt": None,
            "query": query,
            "objectCount": "0",
            "rootObjectCount": "0",
            "fileSize": None,
            "url": None,
            "partialDataUrl": None,
        }
        return {"bulkOperation": view, "userErrors": []}

    def inventorySetQuantities(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        rows = input.get("quantities") or []
        return self._idempotent(
            info, input, rows, "InventoryQuantityInput", lambda: self._set_quantities(input, rows)
        )

    def inventoryAdjustQuantities(
        self, info: GraphQLResolveInfo, input: dict[str, Any]
    ) -> dict[str, Any]:
        rows = input.get("changes") or []
        return self._idempotent(
            info, input, rows, "InventoryChangeInput", lambda: self._adjust_quantities(input, rows)
        )

    def _idempotent(
        self,
        info: GraphQLResolveInfo,
        input: dict[str, Any],
        rows: list[dict[str, Any]],
        row_type: str,
        apply: Any,
    ) -> dict[str, Any]:
        """The 2026-04 inventory mutation contract (sandbox/shopify/schema/admin_2026-04.json.gz,
        https://shopify.dev/docs/api/usage/idempotent-requests): ``@idempotent`` required, at most
        250 rows, ``changeFromQuantity`` present on every row, and one execution per key (a replay
        answers the stored payload)."""
        key = _idempotency_key(info)
        if key is None:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation but was not provided.",
                extensions={"code": "BAD_REQUEST"},
            )
        if len(rows) > MAX_INPUT:
            raise GraphQLError(
                f"The input array size of {len(rows)} is greater than the maximum allowed of "
                f"{MAX_INPUT}.",
                extensions={"code": "MAX_INPUT_SIZE_EXCEEDED"},
            )
        if any("changeFromQuantity" not in row for row in rows):
            raise GraphQLError(
                f"{row_type} must include the following argument: changeFromQuantity.",
                extensions={"code": "INVALID_FIELD_ARGUMENTS"},
            )
        field = info.field_name
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        seen = self._s.idempotency.get(f"{field}:{key}")
        if seen is not None:
            if seen[0] != fingerprint:
                return {
                    "inventoryAdjustmentGroup": None,
                    "userErrors": [
                        user_error(
                            None,
                            "The same idempotency key was used with different parameters.",
                            "IDEMPOTENCY_KEY_PARAMETER_MISMATCH",
                        )
                    ],
                }
            return seen[1]  # a replay: same answer, nothing applied twice
        payload = apply()
        self._s.idempotency[f"{field}:{key}"] = (fingerprint, payload)
        return payload

    def _adjust_quantities(
        self, input: dict[str, Any], rows: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``available`` deltas (the only quantity the sandbox models, schema)."""
        s = self._s
        name = input.get("name")
        if name != "available":
            if name in ("damaged", "incoming", "quality_control", "reserved", "safety_stock"):
                raise GraphQLError(
                    f"The sandbox does not emulate adjusting '{name}'",
                    extensions={"code": "NOT_EMULATED"},
                )
            return {
                "inventoryAdjustmentGroup": None,
                "userErrors": [
                    user_error(
                        ["input", "name"],
                        "The quantity name is not valid for adjustments.",
                        "INVALID_QUANTITY_NAME",
                    )
                ],
            }
        errors = self._common_errors(input)
        for i, row in enumerate(rows):
            path = ["input", "changes", str(i)]
            item = s.items.get(row["inventoryItemId"])
            level = item.levels.get(row["locationId"]) if item else None
            if item is None:
                errors.append(
                    user_error(
                        [*path, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                        "INVALID_INVENTORY_ITEM",
                    )
                )
            elif level is None:
                errors.append(
                    user_error(
                        [*path, "locationId"],
                        "The specified location could not be found.",
                        "INVALID_LOCATION",
                    )
                )
            if row.get("ledgerDocumentUri") is not None:
                errors.append(
                    user_error(
                        [*path, "ledgerDocumentUri"],
                        "A ledger document URI is not allowed when adjusting available.",
                        "INVALID_AVAILABLE_DOCUMENT",
                    )
                )
            if level is not None:
                errors += self._stale(path, row.get("changeFromQuantity"), level.available)
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes: list[dict[str, Any]] = []
        stamp = now_iso()
        for row in rows:
            item = s.items[row["inventoryItemId"]]
            level = item.levels[row["locationId"]]
            # mirrored on_hand row (schema)
            changes += self._move(item, level, int(row["delta"]), ("available", "on_hand"), stamp)
        return {"inventoryAdjustmentGroup": self._group(input, changes, stamp), "userErrors": []}

    @staticmethod
    def _stale(path: list[str], expected: int | None, current: int) -> list[dict[str, Any]]:
        """The 2026-04 compare check: changeFromQuantity must equal the current quantity."""
        if expected is None or expected == current:
            return []
        return [
            user_error(
                [*path, "changeFromQuantity"],
                "The specified compare quantity does not match the current quantity.",
                "CHANGE_FROM_QUANTITY_STALE",
            )
        ]

    def _move(
        self, item: Any, level: Any, delta: int, names: tuple[str, str], stamp: str
    ) -> list[dict[str, Any]]:
        """Apply ``delta`` to available and on_hand; the change rows, webhook emitted."""
        level.available += delta
        level.on_hand += delta
        level.updated_at = stamp
        self._e.emit_inventory_level(item, level)
        return [self._change(changed, delta, item, level) for changed in names]

    def _change(self, name: str, delta: int, item: Any, level: Any) -> dict[str, Any]:
        return {
            "name": name,
            "delta": delta,
            "quantityAfterChange": None,
            "item": ItemNode(self._s, item),
            "location": LocationNode(self._s, self._s.locations[level.location_id]),
            "ledgerDocumentUri": None,
        }

    def _group(self, input: dict[str, Any], changes: list[Any], stamp: str) -> dict[str, Any]:
        return {
            "id": f"gid://shopify/InventoryAdjustmentGroup/{90_000_000 + self._s.next_number()}",
            "createdAt": stamp,
            "reason": input.get("reason"),
            "referenceDocumentUri": input.get("referenceDocumentUri"),
            "changes": changes,
            "app": None,
            "staffMember": None,
        }

    def _common_errors(self, input: dict[str, Any]) -> list[dict[str, Any]]:
        errors = []
        if input.get("reason") not in INVENTORY_REASONS:
            errors.append(
                user_error(
                    ["input", "reason"], "The specified reason is invalid.", "INVALID_REASON"
                )
            )
        uri = input.get("referenceDocumentUri")
        if uri is not None and ":" not in uri:
            errors.append(
                user_error(
                    ["input", "referenceDocumentUri"],
                    "The specified reference document is invalid.",
                    "INVALID_REFERENCE_DOCUMENT",
                )
            )
        return errors

    def inventoryItemUpdate(
        self, info: GraphQLResolveInfo, id: str, input: dict[str, Any]
    ) -> dict[str, Any]:
        """Single-item SKU/tracked write, the alternative to productVariantsBulkUpdate (schema)."""
        item = self._s.items.get(id)
        if item is None:
            return {
                "inventoryItem": None,
                "userErrors": [{"field": ["id"], "message": "Inventory item does not exist"}],
            }
        if "sku" in input:
            item.sku = input["sku"]
        if input.get("tracked") is not None:
            item.tracked = bool(input["tracked"])
        item.updated_at = now_iso()
        variant = self._s.variants[item.variant_id]
        self._e.emit_product(self._s.products[variant.product_id])
        return {"inventoryItem": ItemNode(self._s, item), "userErrors": []}

    def _set_quantities(self, input: dict[str, Any], rows: list[dict[str, Any]]) -> dict[str, Any]:
        s = self._s
        errors: list[dict[str, Any]] = []
        name = input.get("name")
        if name not in ("available", "on_hand"):
            errors.append(
                user_error(
                    ["input", "name"],
                    "The quantity name must be either 'available' or 'on_hand'.",
                    "INVALID_NAME",
                )
            )
        errors.extend(self._common_errors(input))
        pairs: dict[tuple[str, str], int] = {}
        for i, row in enumerate(rows):
            path = ["input", "quantities", str(i)]
            item = s.items.get(row["inventoryItemId"])
            loc = s.locations.get(row["locationId"])
            if item is None:
                errors.append(
                    user_error(
                        [*path, "inventoryItemId"],
                        "The specified inventory item could not be found.",
                        "INVALID_INVENTORY_ITEM",
                    )
                )
            if loc is None:
                errors.append(
                    user_error(
                        [*path, "locationId"],
                        "The specified location could not be found.",
                        "INVALID_LOCATION",
                    )
                )
            qty = row["quantity"]
            if name == "available" and qty < MIN_AVAILABLE:
                errors.append(
                    user_error(
                        [*path, "quantity"],
                        "The total quantity can't be lower than -1,000,000,000.",
                        "INVALID_QUANTITY_TOO_LOW",
                    )
                )
            elif name != "available" and qty < 0:
                errors.append(
                    user_error(
                        [*path, "quantity"],
                        "The quantity can't be negative.",
                        "INVALID_QUANTITY_NEGATIVE",
                    )
                )
            elif qty > MAX_QUANTITY:
                errors.append(
                    user_error(
                        [*path, "quantity"],
                        "The quantity can't be higher than 1,000,000,000.",
                        "INVALID_QUANTITY_TOO_HIGH",
                    )
                )
            pair = (row["inventoryItemId"], row["locationId"])
            if pair in pairs:
                errors.append(
                    user_error(
                        [*path, "locationId"],
                        "The combination of inventoryItemId and locationId must be unique.",
                        "NO_DUPLICATE_INVENTORY_ITEM_ID_GROUP_ID_PAIR",
                    )
                )
            pairs[pair] = i
            if item is None or loc is None:
                continue
            level = item.levels.get(loc.id)
            if level is None:
                # Behaviour at a location without a level is UNCONFIRMED; reject safely.
                errors.append(
                    user_error(
                        [*path, "locationId"],
                        "The item is not stocked at the location.",
                        "ITEM_NOT_STOCKED_AT_LOCATION",
                    )
                )
                continue
            current = level.available if name == "available" else level.on_hand
            errors += self._stale(path, row.get("changeFromQuantity"), current)
        if errors:
            return {"inventoryAdjustmentGroup": None, "userErrors": errors}
        changes: list[dict[str, Any]] = []
        stamp = now_iso()
        for row in rows:
            item = s.items[row["inventoryItemId"]]
            level = item.levels[row["locationId"]]
            before = level.available if name == "available" else level.on_hand
            delta = row["quantity"] - before
            if delta == 0:
                continue
            # Setting `available` also moves `on_hand`: two change rows, quantityAfterChange
            # null (captured in github.com/airhorns/shopify-draft-proxy).
            other = "on_hand" if name == "available" else "available"
            changes += self._move(item, level, delta, (name, other), stamp)
        return {"inventoryAdjustmentGroup": self._group(input, changes, stamp), "userErrors": []}

    def productVariantsBulkUpdate(
        self,
        info: GraphQLResolveInfo,
        productId: str,
        variants: list[dict[str, Any]],
        allowPartialUpdates: bool = False,
        media: Any = None,
    ) -> dict[str, Any]:
        s = self._s
        product = s.products.get(productId)
        if product is None:
            return {
                "product": None,
                "productVariants": None,
                "userErrors": [
                    user_error(["productId"], "Product does not exist", "PRODUCT_DOES_NOT_EXIST")
                ],
            }
        errors: list[dict[str, Any]] = []
        valid: list[tuple[int, dict[str, Any]]] = []
        for i, row in enumerate(variants):
            path = ["variants", str(i)]
            row_errors: list[dict[str, Any]] = []
            vid = row.get("id")
            if not vid:
                row_errors.append(
                    user_error(
                        [*path, "id"],
                        "Product variant is missing ID attribute",
                        "PRODUCT_VARIANT_ID_MISSING",
                    )
                )
            elif vid not in s.variants:
                row_errors.append(
                    user_error(
                        [*path, "id"],
                        "Product variant does not exist",
                        "PRODUCT_VARIANT_DOES_NOT_EXIST",
                    )
                )
            elif s.variants[vid].product_id != productId:
                row_errors.append(
                    user_error(
                        [*path, "id"],
                        "Product variant does not belong to the product",
                        "MUST_BE_FOR_THIS_PRODUCT",
                    )
                )
            for money_field in ("price", "compareAtPrice"):
                raw = row.get(money_field)
                if raw is None:
                    continue
                try:
                    amount = Decimal(str(raw))
                except InvalidOperation:
                    amount = Decimal(-1)
                if amount < 0:
                    row_errors.append(
                        user_error(
                            [*path, money_field],
                            f"{money_field[0].upper()}"
                            f"{money_field[1:]} must be greater than or "
                            "equal to 0",
                            "GREATER_THAN_OR_EQUAL_TO",
                        )
                    )
            if row.get("inventoryQuantities"):
                row_errors.append(
                    user_error(
                        [*path, "inventoryQuantities"],
                        "Inventory quantities can only be provided during create. To update "
                        "inventory for existing variants, use inventoryAdjustQuantities.",
                        "NO_INVENTORY_QUANTITIES_ON_VARIANTS_UPDATE",
                    )
                )
            errors.extend(row_errors)
            if not row_errors:
                valid.append((i, row))
        if errors and not allowPartialUpdates:
            # Atomic by default: nothing is saved (captured in
            # github.com/airhorns/shopify-draft-proxy)
            return {
                "product": ProductNode(s, product),
                "productVariants": None,
                "userErrors": errors,
            }
        updated = []
        stamp = now_iso()
        for _, row in valid:
            v = s.variants[row["id"]]
            if row.get("price") is not None:
                v.price = Decimal(str(row["price"]))
            if "compareAtPrice" in row:
                raw = row["compareAtPrice"]
                v.compare_at_price = None if raw is None else Decimal(str(raw))
            if "barcode" in row:
                v.barcode = row["barcode"]
            if row.get("inventoryPolicy"):
                v.inventory_policy = row["inventoryPolicy"]
            item_input = row.get("inventoryItem") or {}
            item = s.items[v.inventory_item_id]
            # the SKU lives on the inventory item (sandbox/shopify/schema/admin_2026-04.json.gz)
            if "sku" in item_input:
                item.sku = item_input["sku"]
            if item_input.get("tracked") is not None:
                item.tracked = bool(item_input["tracked"])
            v.updated_at = item.updated_at = stamp
            if s.search_lag_s:
                s.reindex_at[v.id] = time.monotonic() + s.search_lag_s
            updated.append(VariantNode(s, v))
        if updated:
            product.updated_at = stamp
            self._e.emit_product(product)
        return {
            "product": ProductNode(s, product),
            "productVariants": updated,
            "userErrors": errors,
        }

    def orderCreate(
        self, info: GraphQLResolveInfo, order: dict[str, Any], options: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        s = self._s
        options = options or {}
        behaviour = options.get("inventoryBehaviour") or "BYPASS"  # default BYPASS (schema)
        if not self._e.order_throttle_ok():
            # Dev-store order throttle (orderCreate description in the schema); the code is
            # UNCONFIRMED, message captured.
            return {
                "order": None,
                "userErrors": [
                    user_error(None, "Too many attempts. Please try again later.", None)
                ],
            }
        if _in_future(order.get("processedAt")):
            # Up to 2026-04 a future processedAt is refused (clamped from 2026-07:
            # OrderCreateOrderInput.processedAt in the 2026-04 Admin schema,
            # https://shopify.dev/docs/api/admin-graphql/2026-04/input-objects/OrderCreateOrderInput);
            # the message wording is UNCONFIRMED.
            return {
                "order": None,
                "userErrors": [
                    user_error(
                        ["order", "processedAt"],
                        "Processed at can't be in the future",
                        "PROCESSED_AT_INVALID",
                    )
                ],
            }
        lines_in = order.get("lineItems") or []
        if not lines_in:
            return {
                "order": None,
                "userErrors": [
                    user_error(
                        ["order", "lineItems"],
                        "Line items must have at least one line item",
                        "INVALID",
                    )
                ],
            }
        currency = order.get("currency") or s.currency
        lines: list[OrderLine] = []
        bad_variant = False
        for row in lines_in:
            vid = row.get("variantId")
            variant = s.variants.get(vid) if vid else None
            if vid and variant is None:
                bad_variant = True
                continue
            price_set = (row.get("priceSet") or {}).get("shopMoney") or {}
            price = (
                Decimal(str(price_set["amount"]))
                if price_set.get("amount") is not None
                else (variant.price if variant else Decimal(0))
            )
            title = row.get("title") or (s.products[variant.product_id].title if variant else None)
            if not title:
                bad_variant = True
                continue
            item = s.items[variant.inventory_item_id] if variant else None
            lines.append(
                OrderLine(
                    id=f"gid://shopify/LineItem/{LINE_ITEM_BASE + s.next_number()}",
                    variant_id=vid,
                    quantity=int(row["quantity"]),
                    price=price,
                    currency=price_set.get("currencyCode") or currency,
                    title=title,
                    sku=row.get("sku") or (item.sku if item else None) or None,
                    variant_title=variant.title if variant else row.get("variantTitle"),
                )
            )
        if bad_variant:
            # Captured triple for an unknown variantId (github.com/airhorns/shopify-draft-proxy)
            return {
                "order": None,
                "userErrors": [
                    user_error(["order"], "Order Line items is invalid", "INVALID"),
                    user_error(["order", "lineItems"], "Line items Name can't be blank", "INVALID"),
                    user_error(
                        ["order", "lineItems"], "Line items Title can't be blank", "INVALID"
                    ),
                ],
            }
        claims = []
        if behaviour != "BYPASS":
            for line in lines:
                if not line.variant_id:
                    continue
                variant = s.variants[line.variant_id]
                item = s.items[variant.inventory_item_id]
                if not item.tracked:
                    continue
                active = [lv for lv in item.levels.values() if s.locations[lv.location_id].active]
                level = next((lv for lv in active if lv.available >= line.quantity), None)
                if level is None:
                    if (
                        behaviour == "DECREMENT_OBEYING_POLICY"
                        and variant.inventory_policy == "DENY"
                    ):
                        return {
                            "order": None,
                            "userErrors": [
                                user_error(
                                    ["order", "lineItems"],
                                    "Unable to claim inventory for the line items.",
                                    "INVENTORY_CLAIM_FAILED",
                                )
                            ],
                        }
                    level = active[0] if active else None
                if level is not None:
                    claims.append((item, level, line.quantity, line.id))
        for _item, level, qty, _line in claims:
            # DECREMENT_* lowers `available` only, not `on_hand` (captured in
            # github.com/airhorns/shopify-draft-proxy)
            level.available -= qty
            level.committed += qty
            level.updated_at = now_iso()
        number = 1000 + len(s.orders) + 1
        created = Order(
            id=f"gid://shopify/Order/{ORDER_BASE + s.next_number()}",
            name=f"#{number}",
            created_at=now_iso(),
            currency=currency,
            lines=lines,
            email=order.get("email"),
            phone=order.get("phone"),
            source_name=order.get("sourceName"),
            source_identifier=order.get("sourceIdentifier"),
            tags=sorted(order.get("tags") or []),  # returned sorted (captured)
            note=order.get("note"),
            financial_status=order.get("financialStatus") or _status_from(order),
            shipping_address=order.get("shippingAddress"),
            custom_attributes=list(order.get("customAttributes") or []),
            inventory_behaviour=behaviour,
            test=bool(order.get("test")),
            claims=[Claim(ln, item.id, lvl.location_id, qty) for item, lvl, qty, ln in claims],
        )
        created.updated_at = created.created_at
        fulfil.open_fulfillment_orders(s, created)
        created.indexed_at = time.monotonic() + s.search_lag_s
        s.orders.append(created)
        self._e.emit_order(created)
        for item, level, _, _ in claims:
            self._e.emit_inventory_level(item, level)
        return {"order": OrderNode(s, created), "userErrors": []}

    # -- fulfilment and cancellation (the order loop back, see sandbox/shopify/fulfil.py) --

    def fulfillment(self, info: GraphQLResolveInfo, id: str) -> FulfillmentNode | None:
        found = fulfil.find_fulfillment(self._s, id)
        return FulfillmentNode(self._s, *found) if found else None

    def fulfillmentOrder(self, info: GraphQLResolveInfo, id: str) -> FulfillmentOrderNode | None:
        found = fulfil.find_fulfillment_order(self._s, id)
        return FulfillmentOrderNode(self._s, *found) if found else None

    def job(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any] | None:
        job = fulfil.poll_job(self._s, id)
        if job is None:
            return None
        return {"id": job.id, "done": job.done, "query": self}

    def fulfillmentCreate(
        self, info: GraphQLResolveInfo, fulfillment: dict[str, Any], message: str | None = None
    ) -> dict[str, Any]:
        created, errors = fulfil.create_fulfillment(self._e, fulfillment)
        return self._fulfillment_payload(created, errors)

    def fulfillmentTrackingInfoUpdate(
        self,
        info: GraphQLResolveInfo,
        fulfillmentId: str,
        trackingInfoInput: dict[str, Any],
        notifyCustomer: bool | None = None,
    ) -> dict[str, Any]:
        updated, errors = fulfil.update_tracking(self._e, fulfillmentId, trackingInfoInput)
        return self._fulfillment_payload(updated, errors)

    def fulfillmentCancel(self, info: GraphQLResolveInfo, id: str) -> dict[str, Any]:
        cancelled, errors = fulfil.cancel_fulfillment(self._e, id)
        return self._fulfillment_payload(cancelled, errors)

    def _fulfillment_payload(self, f: Any, errors: list[dict[str, Any]]) -> dict[str, Any]:
        if f is None:
            return {"fulfillment": None, "userErrors": errors}
        order = fulfil.find_order(self._s, f.order_id)
        assert order is not None
        return {"fulfillment": FulfillmentNode(self._s, order, f), "userErrors": errors}

    def tagsAdd(self, info: GraphQLResolveInfo, id: str, tags: list[str]) -> dict[str, Any]:
        answer = fulfil.add_tags(self._s, id, tags)
        order = answer["order"]
        return {
            "node": OrderNode(self._s, order) if order else None,
            "userErrors": answer["userErrors"],
        }

    def orderCancel(self, info: GraphQLResolveInfo, **args: Any) -> dict[str, Any]:
        return fulfil.cancel_order(self._e, args)

    def refundCreate(self, info: GraphQLResolveInfo, input: dict[str, Any]) -> dict[str, Any]:
        """Line cancellation through ``refundCreate`` (``@idempotent`` required from 2026-04,
        https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/refundCreate)."""
        key = _idempotency_key(info)
        if key is None:
            raise GraphQLError(
                "The @idempotent directive is required for this mutation but was not provided.",
                extensions={"code": "BAD_REQUEST"},
            )
        fingerprint = json.dumps(input, sort_keys=True, default=str)
        seen = self._s.idempotency.get(f"refundCreate:{key}")
        if seen is not None:
            if seen[0] != fingerprint:
                return {
                    "refund": None,
                    "order": None,
                    "userErrors": [
                        {
                            "field": None,
                            "message": "The same idempotency key was used with different "
                            "parameters.",
                        }
                    ],
                }
            answer = seen[1]
        else:
            answer = fulfil.cancel_lines(self._e, input)
            self._s.idempotency[f"refundCreate:{key}"] = (fingerprint, answer)
        order = fulfil.find_order(self._s, answer.get("order_id") or "")
        return {
            "refund": answer["refund"],
            "order": OrderNode(self._s, order) if order else None,
            "userErrors": answer["userErrors"],
        }

    def webhookSubscriptionCreate(
        self, info: GraphQLResolveInfo, topic: str, webhookSubscription: dict[str, Any]
    ) -> dict[str, Any]:
        uri = webhookSubscription.get("uri") or webhookSubscription.get("callbackUrl")
        if not uri:
            return {
                "webhookSubscription": None,
                "userErrors": [
                    {"field": ["webhookSubscription", "uri"], "message": "Address can't be blank"}
                ],
            }
        sub = WebhookSubscription(
            id=f"gid://shopify/WebhookSubscription/{7_000_000 + self._s.next_number()}",
            topic=_rest_topic(topic),
            uri=uri,
        )
        self._s.webhooks.append(sub)
        return {
            "webhookSubscription": {
                "id": sub.id,
                "topic": topic,
                "uri": uri,
                "format": "JSON",
                "includeFields": [],
                "createdAt": now_iso(),
                "updatedAt": now_iso(),
            },
            "userErrors": [],
        }


# Topics whose action has an underscore (the enum alone cannot say where the split is).
_REST_TOPICS = {"ORDERS_PARTIALLY_FULFILLED": "orders/partially_fulfilled"}


def _rest_topic(topic: str) -> str:
    """``INVENTORY_LEVELS_UPDATE`` -> ``inventory_levels/update``."""
    if topic in _REST_TOPICS:
        return _REST_TOPICS[topic]
    head, _, action = topic.lower().rpartition("_")
    return f"{head}/{action}"


def _status_from(order: dict[str, Any]) -> str:
    kinds = {
        (t.get("kind") or "SALE", t.get("status") or "SUCCESS")
        for t in order.get("transactions") or []
    }
    if ("SALE", "SUCCESS") in kinds or ("CAPTURE", "SUCCESS") in kinds:
        return "PAID"
    if ("AUTHORIZATION", "SUCCESS") in kinds:
        return "AUTHORIZED"
    return "PENDING"


def _idempotency_key(info: GraphQLResolveInfo) -> str | None:
    """The ``@idempotent(key:)`` value on this field, resolved through variables."""
    for directive in info.field_nodes[0].directives or ():
        if directive.name.value != "idempotent":
            continue
        for arg in directive.arguments or ():
            if arg.name.value == "key":
                # graphql-core 3.3 wraps variables in VariableValues(.coerced); 3.2 is a dict
                variables = getattr(info.variable_values, "coerced", info.variable_values)
                value = value_from_ast_untyped(arg.value, variables)
                return str(value) if value not in (None, "") else None
    return None


__all__ = ["Root", "bad_request"]


def _in_future(value: Any) -> bool:
    """Whether a DateTime input lies in the future (unparsable values are left to others)."""
    if not isinstance(value, str) or not value:
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment > datetime.now(UTC)
