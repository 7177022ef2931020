"""Shopify Admin GraphQL connector (API 2026-04), the ``StoreApi`` of a Shopify store.

Everything goes through :class:`connectors.http.HttpLayer`: one ``check`` turns HTTP errors
and GraphQL ``errors`` into typed exceptions (THROTTLED -> ThrottledError with the wait the
cost bucket implies), and requests are paced from ``extensions.cost.throttleStatus`` so the
client waits for the bucket to refill instead of running into THROTTLED [rate-limits].

Every GraphQL document this module can send is a module-level constant listed in
:data:`DOCUMENTS`, so tests validate them all against Shopify's published schema (vendored
in ``sandbox/shopify/schema/``).

Sources (the bracketed names are cited below):

- [admin] the Admin GraphQL reference, one page per field, e.g.
  https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/inventorySetQuantities
- [rate-limits] https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits and
  https://shopify.dev/docs/api/usage/limits
- [response-codes] https://shopify.dev/docs/api/usage/response-codes
- [search] https://shopify.dev/docs/api/usage/search-syntax
- [bulk] https://shopify.dev/changelog/posts/new-queries-for-bulk-operations and
  https://shopify.dev/changelog/posts/optional-groupobjects-argument-in-bulk-operations-mutations-that-offers-faster-and-more-reliable-job-execution
- [idempotency] https://shopify.dev/docs/api/usage/idempotent-requests
- [attribution] https://shopify.dev/docs/apps/build/sales-channels/order-attribution
- [webhooks] https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
- [captures] answers captured from live stores in
  https://github.com/airhorns/shopify-draft-proxy (``fixtures/conformance/``,
  ``docs/hard-and-weird-notes.md``): search lag, untracked items, bucket costs
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import httpx

from connectors import shopify_fulfillment as fulfil
from connectors.base import (
    Address,
    CatalogVariant,
    NotSupportedError,
    StoreCancelResult,
    StoreOrder,
    StoreOrderRequest,
    StoreOrderState,
    StoreShipment,
    Warehouse,
)
from connectors.errors import (
    ApiError,
    AuthError,
    FatalError,
    MalformedResponseError,
    PagingError,
    ThrottledError,
    TransientError,
)
from connectors.http import (
    ClientBase,
    ErrorTable,
    HttpLayer,
    RetryPolicy,
    api_error,
    json_bytes,
    parse_json,
)
from connectors.paging import CursorPages
from connectors.redact import redact, register_secret

log = logging.getLogger("skubridge.connectors.shopify")

MARKETPLACE = "shopify"
MAX_QUERY_COST = 1000  # [rate-limits]
MAX_PAGE = 250  # [rate-limits]: nodes per page
# Ids per ``id:1 OR id:2 ...`` search: a short query string (no documented cap found).
ID_SEARCH_BATCH = 50
MAX_ROWS = 250  # array inputs [rate-limits]; UNCONFIRMED for inventorySetQuantities: stay at 250
TAG_PREFIX = "tiktok-"

# -- GraphQL documents (validated against the 2026-04 schema by the tests) -----------------

SHOP_QUERY = """
query SkubridgeShop {
  shop { name myshopifyDomain currencyCode }
}
"""

LOCATIONS_QUERY = """
query SkubridgeLocations($first: Int!, $after: String) {
  locations(first: $first, after: $after) {
    nodes { id name isActive fulfillsOnlineOrders }
    pageInfo { hasNextPage endCursor }
  }
}
"""

VARIANTS_COUNT_QUERY = """
query SkubridgeVariantCount($limit: Int) {
  productVariantsCount(limit: $limit) { count precision }
}
"""

# The fields read of each variant, by a full read and by an incremental one alike [admin].
_VARIANT_NODES = """
    nodes {
      id title sku price barcode inventoryPolicy
      selectedOptions { name value }
      inventoryItem {
        id tracked
        inventoryLevels(first: $levels) {
          nodes { location { id } quantities(names: ["available"]) { name quantity } }
        }
      }
      product { id title status }
    }
    pageInfo { hasNextPage endCursor }"""

VARIANTS_QUERY = (
    """
query SkubridgeVariants($first: Int!, $after: String, $levels: Int!) {
  productVariants(first: $first, after: $after) {"""
    + _VARIANT_NODES
    + """
  }
}
"""
)

# VARIANTS_QUERY with a search filter: the variants updated since a time
# (``updated_at:>='...'``) or a list of ids (``id:1 OR id:2``) [search], [admin] productVariants.
VARIANTS_SEARCH_QUERY = (
    """
query SkubridgeVariantsSearch($first: Int!, $after: String, $levels: Int!, $query: String!) {
  productVariants(first: $first, after: $after, query: $query) {"""
    + _VARIANT_NODES
    + """
  }
}
"""
)

# A stock change moves the inventory level's ``updatedAt``, not the variant's: the levels of
# one location changed since a time (``Location.inventoryLevels(query: "updated_at:...")``,
# [admin] Location).
CHANGED_LEVELS_QUERY = """
query SkubridgeChangedLevels($id: ID!, $first: Int!, $after: String, $query: String!) {
  location(id: $id) {
    inventoryLevels(first: $first, after: $after, query: $query) {
      nodes { item { variant { id } } }
      pageInfo { hasNextPage endCursor }
    }
  }
}
"""

# The bulk form of VARIANTS_QUERY: edges/node and no page sizes [bulk].
BULK_VARIANTS_QUERY = """
{
  productVariants {
    edges {
      node {
        id title sku price barcode inventoryPolicy
        selectedOptions { name value }
        inventoryItem {
          id tracked
          inventoryLevels {
            edges { node { location { id } quantities(names: ["available"]) { name quantity } } }
          }
        }
        product { id title status }
      }
    }
  }
}
"""

BULK_RUN_MUTATION = """
mutation SkubridgeBulkRun($query: String!) {
  bulkOperationRunQuery(query: $query, groupObjects: false) {
    bulkOperation { id status }
    userErrors { field message code }
  }
}
"""

BULK_STATUS_QUERY = """
query SkubridgeBulkStatus($id: ID!) {
  bulkOperation(id: $id) { id status errorCode objectCount rootObjectCount url partialDataUrl }
}
"""

VARIANTS_BULK_UPDATE_MUTATION = """
mutation SkubridgeSetSkus($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    productVariants { id sku }
    userErrors { field message code }
  }
}
"""

INVENTORY_SET_MUTATION = """
mutation SkubridgeSetInventory($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id }
    userErrors { field message code }
  }
}
"""

PRODUCT_SKUS_QUERY = """
query SkubridgeProductSkus($id: ID!) {
  product(id: $id) { id variants(first: 250) { nodes { id sku } } }
}
"""

ORDER_CREATE_MUTATION = """
mutation SkubridgeOrderCreate($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name sourceIdentifier tags displayFinancialStatus }
    userErrors { field message code }
  }
}
"""

ORDERS_SEARCH_QUERY = """
query SkubridgeFindOrder($query: String!) {
  orders(first: 10, query: $query) {
    nodes {
      id name sourceIdentifier tags displayFinancialStatus
      customAttributes { key value }
    }
  }
}
"""

DOCUMENTS: dict[str, str] = {
    "shop": SHOP_QUERY,
    "locations": LOCATIONS_QUERY,
    "productVariantsCount": VARIANTS_COUNT_QUERY,
    "productVariants": VARIANTS_QUERY,
    "productVariantsSearch": VARIANTS_SEARCH_QUERY,
    "location": CHANGED_LEVELS_QUERY,
    "bulkQuery": BULK_VARIANTS_QUERY,
    "bulkOperationRunQuery": BULK_RUN_MUTATION,
    "bulkOperation": BULK_STATUS_QUERY,
    "product": PRODUCT_SKUS_QUERY,
    "productVariantsBulkUpdate": VARIANTS_BULK_UPDATE_MUTATION,
    "inventorySetQuantities": INVENTORY_SET_MUTATION,
    "orderCreate": ORDER_CREATE_MUTATION,
    "orders": ORDERS_SEARCH_QUERY,
}


@dataclass(frozen=True, slots=True)
class InventorySet:
    """Absolute ``available`` for one inventory item at one location.

    ``change_from`` is the quantity the caller last read (compare-and-swap); ``None`` sends
    an explicit null, which opts out of the comparison [admin] (inventorySetQuantities).
    """

    inventory_item_id: str
    location_id: str
    quantity: int
    change_from: int | None


def verify_webhook(body: bytes, hmac_header: str | None, secret: str) -> bool:
    """Whether a webhook's ``X-Shopify-Hmac-Sha256`` matches its raw body [webhooks].

    Verify before parsing the JSON; the comparison is constant-time.
    """
    if not hmac_header:
        return False
    digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
    return hmac.compare_digest(base64.b64encode(digest).decode(), hmac_header)


class _CostPacer:
    """Client-side view of the cost bucket, refreshed from every answer's throttleStatus."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.maximum: float | None = None
        self.available = 0.0
        self.restore = 0.0
        self.at = 0.0
        self.lock = asyncio.Lock()

    def update(self, status: Mapping[str, Any] | None) -> None:
        if not status:
            return
        try:
            self.maximum = float(status["maximumAvailable"])
            self.available = float(status["currentlyAvailable"])
            self.restore = float(status["restoreRate"])
        except (KeyError, TypeError, ValueError):
            return
        self.at = time.monotonic()

    def wait_for(self, cost: int) -> float:
        """Seconds until ``cost`` points should be available (0 when unknown or enough)."""
        if not self.enabled or self.maximum is None or self.restore <= 0:
            return 0.0
        cost = min(cost, int(self.maximum))
        now_available = self.available + (time.monotonic() - self.at) * self.restore
        if now_available >= cost:
            return 0.0
        return (cost - now_available) / self.restore

    def spend(self, cost: int) -> None:
        if self.maximum is not None:
            elapsed = time.monotonic() - self.at
            self.available = min(self.maximum, self.available + elapsed * self.restore) - cost
            self.at = time.monotonic()


# GraphQL ``errors[].extensions.code`` values and their class (https://shopify.dev/docs/api/usage/response-codes,
# https://shopify.dev/docs/api/usage/limits); any other code is a rejection of the request.
ERRORS = ErrorTable(
    codes={
        "THROTTLED": ThrottledError,
        "ACCESS_DENIED": AuthError,
        "INTERNAL_SERVER_ERROR": TransientError,
    }
)


def check(response: httpx.Response, operation: str) -> None:
    """HTTP status first, then the GraphQL ``errors`` array (https://shopify.dev/docs/api/usage/response-codes).

    Classification only (:data:`ERRORS` and the shared status ladder); the cost bucket is
    learnt separately (``ShopifyClient._observe_cost``).
    """
    status = response.status_code
    request_id = response.headers.get("x-request-id")
    if status >= 300:
        if status < 400:
            location = redact(response.headers.get("location", ""))
            message = f"unexpected redirect to {location!r}"
        else:
            message = _error_text(response)
        raise api_error(
            response, operation, marketplace=MARKETPLACE, message=message, request_id=request_id
        )
    body = parse_json(response, marketplace=MARKETPLACE, operation=operation)
    if not isinstance(body, dict):
        raise MalformedResponseError(
            "GraphQL answer is not an object",
            marketplace=MARKETPLACE,
            operation=operation,
            status=status,
            request_id=request_id,
        )
    errors = body.get("errors")
    if not errors:
        if "data" not in body:
            raise MalformedResponseError(
                "GraphQL answer has neither data nor errors",
                marketplace=MARKETPLACE,
                operation=operation,
                status=status,
                request_id=request_id,
            )
        return
    if isinstance(errors, str):
        raise api_error(
            response, operation, marketplace=MARKETPLACE, message=errors, request_id=request_id
        )
    codes = [((e.get("extensions") or {}).get("code")) for e in errors]
    code = "THROTTLED" if "THROTTLED" in codes else next((c for c in codes if c), None)
    raise api_error(
        response,
        operation,
        marketplace=MARKETPLACE,
        table=ERRORS,
        code=code,
        message="; ".join(str(e.get("message")) for e in errors)[:1000],
        request_id=request_id,
        retry_after=throttle_wait(_cost(response)) if code == "THROTTLED" else None,
    )


def _cost(response: httpx.Response) -> dict[str, Any] | None:
    """``extensions.cost`` of a GraphQL answer (None when absent or not JSON)."""
    try:
        body = response.json()
    except ValueError:
        return None
    extensions = body.get("extensions") if isinstance(body, dict) else None
    cost = extensions.get("cost") if isinstance(extensions, dict) else None
    return cost if isinstance(cost, dict) and cost else None


def throttle_wait(cost: Mapping[str, Any] | None) -> float | None:
    """Seconds until a THROTTLED request fits: (requested - available) / restoreRate
    [rate-limits]."""
    if not cost:
        return None
    try:
        status = cost["throttleStatus"]
        needed = float(cost["requestedQueryCost"]) - float(status["currentlyAvailable"])
        return max(0.0, needed / float(status["restoreRate"]))
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None


# Paging costs query points (a 250-variant page with stock per location measured ~720 of
# the 100 points/s the bucket restores, [rate-limits]), so past a few thousand variants
# one bulk operation (cheap in points, [bulk]) is much faster than paging.
BULK_THRESHOLD = 2_000


class ShopifyClient(ClientBase):
    """Async client of one Shopify store (``StoreApi`` with ``kind == "shopify"``)."""

    kind: Literal["shopify"] = "shopify"
    # One order in flight: the cost pacer learns the bucket level from each answer, so it
    # stays exact and orderCreate is never THROTTLED; one create per ~100 ms already meets
    # Shopify's order creation rate (https://shopify.dev/docs/api/usage/limits).
    relay_concurrency = 1
    # Order search is eventually consistent: a create may stay unfound for a while (lag
    # length unknown; captured in https://github.com/airhorns/shopify-draft-proxy).
    order_lookup_grace_s = 300.0

    def __init__(
        self,
        *,
        endpoint_url: str,
        access_token: str,
        location_ids: Sequence[str] | None = None,
        rate_scale: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        bulk_threshold: int = BULK_THRESHOLD,
        bulk_poll_interval: float = 2.0,
        bulk_timeout: float = 3600.0,
        timeout: float = 30.0,
    ) -> None:
        """``endpoint_url`` is the full ``.../admin/api/2026-04/graphql.json`` URL
        (``ShopifySettings.endpoint``); catalogs with at least ``bulk_threshold`` variants are
        read with a bulk operation instead of paging. ``rate_scale <= 0`` turns pacing off."""
        register_secret(access_token)
        self.endpoint_url = endpoint_url
        self._token = access_token
        self.location_ids = list(location_ids) if location_ids else None
        self.bulk_threshold = bulk_threshold
        self.bulk_poll_interval = bulk_poll_interval
        self.bulk_timeout = bulk_timeout
        self.http = HttpLayer(
            marketplace=MARKETPLACE,
            base_url=endpoint_url,
            rate_scale=rate_scale,
            retry=retry,
            transport=transport,
            timeout=timeout,
        )
        self._pacer = _CostPacer(enabled=rate_scale > 0)
        self._expected: dict[str, int] = {}
        self._currency: str | None = None
        self._locations: list[Warehouse] | None = None
        self.inventory_items: dict[str, str] = {}  # variant GID -> inventory item GID
        self.untracked_items: set[str] = set()  # inventory items with tracked == false
        self.last_cost: dict[str, Any] | None = None

    # -- transport -------------------------------------------------------------------------

    def _observe_cost(self, response: httpx.Response, operation: str) -> None:
        """Learn the cost bucket from an answer's ``extensions.cost`` (errors included):
        the pacer's level and what this operation costs. The only place pacer state
        changes from an answer; :func:`check` only classifies."""
        cost = _cost(response)
        if not cost:
            return
        self.last_cost = cost
        self._pacer.update(cost.get("throttleStatus"))
        if cost.get("requestedQueryCost") is not None:
            self._expected[operation] = int(cost["requestedQueryCost"])

    async def execute(
        self,
        operation: str,
        document: str,
        variables: Mapping[str, Any] | None = None,
        *,
        idempotent: bool = True,
        expected_cost: int | None = None,
    ) -> dict[str, Any]:
        """Send one GraphQL document and return its ``data`` (errors raise, see ``_check``).

        Waits first until the cost bucket (as last reported) can take the request.
        """
        body = json_bytes({"query": document, "variables": dict(variables or {})})
        # what Shopify charged last time for this operation beats our own estimate
        cost = self._expected.get(operation) or expected_cost or 10
        async with self._pacer.lock:
            wait = self._pacer.wait_for(cost)
            if wait > 0:
                log.debug("shopify %s: waiting %.2fs for the cost bucket", operation, wait)
                await asyncio.sleep(wait)
            self._pacer.spend(cost)

        def build() -> httpx.Request:
            return self.http.client.build_request(
                "POST",
                self.endpoint_url,
                content=body,
                headers={
                    "Content-Type": "application/json",
                    "Accept": "application/json",
                    "X-Shopify-Access-Token": self._token,
                },
            )

        response = await self.http.send(
            operation, build, check=check, observe=self._observe_cost, idempotent=idempotent
        )
        data = response.json().get("data")
        if not isinstance(data, dict):
            raise MalformedResponseError(
                "GraphQL answer without data",
                marketplace=MARKETPLACE,
                operation=operation,
                status=response.status_code,
            )
        return data

    # -- reads -----------------------------------------------------------------------------

    async def currency(self) -> str:
        """The shop's currency code (read once)."""
        if self._currency is None:
            data = await self.execute("shop", SHOP_QUERY)
            shop = data.get("shop")
            code = shop.get("currencyCode") if isinstance(shop, dict) else None
            if not isinstance(code, str) or not code:
                raise _wrong_shape("shop", "no shop.currencyCode")
            self._currency = code
        return self._currency

    async def locations(self) -> list[Warehouse]:
        """Active locations (Shopify hides inactive and legacy ones by default,
        [admin] locations)."""
        if self._locations is not None:
            return list(self._locations)
        out: list[Warehouse] = []
        async for nodes in self._pages("locations", LOCATIONS_QUERY, {"first": MAX_PAGE}):
            for node in nodes:
                if not node.get("id"):
                    raise _wrong_shape("locations", "a location without an id")
                out.append(
                    Warehouse(
                        id=node["id"],
                        name=node.get("name") or node["id"],
                        type="LOCATION",
                        active=bool(node.get("isActive", True)),
                    )
                )
        self._locations = out
        return list(out)

    async def variant_count(self, limit: int) -> tuple[int, str]:
        """``productVariantsCount`` capped at ``limit`` (count, EXACT|AT_LEAST)."""
        data = await self.execute("productVariantsCount", VARIANTS_COUNT_QUERY, {"limit": limit})
        info = data.get("productVariantsCount")
        count = info.get("count") if isinstance(info, dict) else None
        if isinstance(count, bool) or not isinstance(count, int):
            raise _wrong_shape("productVariantsCount", "no whole-number count")
        return count, str(info.get("precision") or "EXACT")

    async def iter_catalog(
        self, *, since: datetime | None = None, **_: Any
    ) -> AsyncIterator[list[CatalogVariant]]:
        """Every variant with its stock per location, page by page.

        Catalogs of ``bulk_threshold`` variants or more are read with one bulk operation
        (JSONL, [bulk]); smaller ones by ``productVariants`` cursor paging. With ``since``
        only what changed since then: the variants updated since (``updated_at:>=``) and
        the variants whose stock changed since at any stock location (their inventory
        levels' ``updated_at``), each read once [search].
        """
        locations = await self.locations()
        currency = await self.currency()
        if since is not None:
            async for page in self._changed_catalog(locations, currency, since):
                yield page
            return
        count, _ = await self.variant_count(self.bulk_threshold)
        if count >= self.bulk_threshold:
            async for page in self._bulk_catalog(locations, currency):
                yield page
            return
        async for page in self._paged_catalog(locations, currency):
            yield page

    async def _changed_catalog(
        self, locations: Sequence[Warehouse], currency: str, since: datetime
    ) -> AsyncIterator[list[CatalogVariant]]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        seen: set[str] = set()
        async for page in self._paged_catalog(locations, currency, f"updated_at:>='{stamp}'"):
            seen.update(v.variant_id for v in page)
            yield page
        stocked: list[str] = []
        for location in self._stock_locations(locations):
            async for variant_id in self._changed_level_variants(location, stamp):
                if variant_id not in seen:
                    seen.add(variant_id)
                    stocked.append(variant_id)
        for start in range(0, len(stocked), ID_SEARCH_BATCH):
            ids = " OR ".join(
                f"id:{_gid_number(v)}" for v in stocked[start : start + ID_SEARCH_BATCH]
            )
            async for page in self._paged_catalog(locations, currency, ids):
                yield page

    async def _changed_level_variants(self, location_id: str, stamp: str) -> AsyncIterator[str]:
        """Variant ids of the inventory levels at one location updated since ``stamp``."""

        async def fetch(after: str | None) -> tuple[list[str], str | None]:
            data = await self.execute(
                "location",
                CHANGED_LEVELS_QUERY,
                {
                    "id": location_id,
                    "first": MAX_PAGE,
                    "after": after,
                    "query": f"updated_at:>='{stamp}'",
                },
            )
            location = data.get("location")
            if not isinstance(location, dict):
                raise _wrong_shape("location", f"no location {location_id}")
            nodes, cursor = _connection(location, "inventoryLevels")
            ids = [str(((n.get("item") or {}).get("variant") or {}).get("id") or "") for n in nodes]
            return [i for i in ids if i], cursor

        async for ids in CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint="location", max_pages=self.max_pages
        ):
            for variant_id in ids:
                yield variant_id

    def _stock_locations(self, locations: Sequence[Warehouse]) -> list[str]:
        return list(self.location_ids) if self.location_ids else [w.id for w in locations]

    async def _paged_catalog(
        self, locations: Sequence[Warehouse], currency: str, query: str | None = None
    ) -> AsyncIterator[list[CatalogVariant]]:
        wanted = self._stock_locations(locations)
        levels = max(1, min(MAX_PAGE, len(locations)))
        # Estimated cost of one variant node (objects 1, inventoryLevels 2 + levels * 3) for
        # the first page only; later pages are sized from the requestedQueryCost Shopify
        # reported (its pricing of nested objects is not fully published, and live accepts
        # larger pages than this estimate), and halved whenever Shopify says too expensive.
        per_node = 7 + 3 * levels
        first = max(1, min(MAX_PAGE, (MAX_QUERY_COST - 2) // per_node))

        async def fetch(after: str | None) -> tuple[list[CatalogVariant], str | None]:
            nonlocal first, per_node
            while True:
                variables: dict[str, Any] = {"first": first, "after": after, "levels": levels}
                document = VARIANTS_QUERY
                if query is not None:
                    variables["query"], document = query, VARIANTS_SEARCH_QUERY
                try:
                    data = await self.execute(
                        "productVariants",
                        document,
                        variables,
                        expected_cost=2 + first * per_node,
                    )
                except FatalError as exc:
                    if exc.code == "MAX_COST_EXCEEDED" and first > 1:
                        first = max(1, first // 2)
                        self._expected.pop("productVariants", None)  # that cost is not ours now
                        continue
                    raise
                nodes, cursor = _connection(data, "productVariants")
                sized = _page_size_from_cost(self.last_cost, first)
                if sized is not None and sized != (first, per_node):
                    first, per_node = sized
                    self._expected.pop("productVariants", None)  # priced for the old size
                return [self._variant(node, currency, wanted) for node in nodes], cursor

        async for page in CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint="productVariants", max_pages=self.max_pages
        ):
            yield page

    def _variant(
        self,
        node: Mapping[str, Any],
        currency: str,
        wanted: Sequence[str],
        levels: Sequence[Mapping[str, Any]] | None = None,
    ) -> CatalogVariant:
        item = node.get("inventoryItem") or {}
        if levels is None:
            levels = ((item.get("inventoryLevels") or {}).get("nodes")) or []
        stock = dict.fromkeys(wanted, 0)
        for level in levels:
            loc = (level.get("location") or {}).get("id")
            if loc not in stock:
                continue
            for q in level.get("quantities") or []:
                if q.get("name") == "available":
                    stock[loc] = int(q.get("quantity") or 0)
        product = node.get("product") or {}
        # A node without an id becomes a row with an empty id: the extract skips and counts it.
        variant_id = str(node.get("id") or "")
        if item.get("id") and variant_id:
            self.inventory_items[variant_id] = item["id"]
            if item.get("tracked") is False:
                self.untracked_items.add(item["id"])
            else:
                self.untracked_items.discard(item["id"])
        return CatalogVariant(
            channel="shopify",
            product_id=product.get("id") or "",
            variant_id=variant_id,
            seller_sku=node.get("sku") or None,  # an unset SKU reads null [admin]
            title=product.get("title") or "",
            variant_title=node.get("title"),
            options={o["name"]: o["value"] for o in node.get("selectedOptions") or []},
            price=_decimal(node.get("price")),
            currency=currency,
            stock=stock,
            barcode=node.get("barcode") or None,
            status=product.get("status"),
            tracked=item.get("tracked") if isinstance(item.get("tracked"), bool) else None,
            inventory_policy=node.get("inventoryPolicy") or None,
        )

    async def _bulk_catalog(
        self, locations: Sequence[Warehouse], currency: str, page_size: int = MAX_PAGE
    ) -> AsyncIterator[list[CatalogVariant]]:
        wanted = self._stock_locations(locations)
        url = await self.run_bulk_query(BULK_VARIANTS_QUERY)
        if url is None:  # an empty result has no file (UNCONFIRMED, [bulk])
            return
        variants: dict[str, dict[str, Any]] = {}
        item_owner: dict[str, str] = {}
        levels: dict[str, list[dict[str, Any]]] = {}
        async for row in self._jsonl(url):
            parent = row.pop("__parentId", None)
            if parent is None:
                if not row.get("id"):  # a top-level node always carries its id [bulk]
                    raise MalformedResponseError(
                        "bulk result variant line has no id",
                        marketplace=MARKETPLACE,
                        operation="bulkResult",
                    )
                variants[row["id"]] = row
                item_id = (row.get("inventoryItem") or {}).get("id")
                if item_id:
                    item_owner[item_id] = row["id"]
            else:
                levels.setdefault(parent, []).append(row)
        # Children need not follow their parent directly (groupObjects false, [bulk]); the
        # parent id may name the variant or its inventory item, so both are mapped.
        for parent, rows in list(levels.items()):
            owner = item_owner.get(parent)
            if owner and owner != parent:
                levels.setdefault(owner, []).extend(rows)
        page: list[CatalogVariant] = []
        for vid, node in variants.items():
            page.append(self._variant(node, currency, wanted, levels.get(vid, [])))
            if len(page) >= page_size:
                yield page
                page = []
        if page:
            yield page

    async def run_bulk_query(self, query: str) -> str | None:
        """Start a bulk query, poll ``bulkOperation(id:)`` until it ends; the result URL."""
        data = await self.execute("bulkOperationRunQuery", BULK_RUN_MUTATION, {"query": query})
        payload = data["bulkOperationRunQuery"]
        _raise_user_errors(payload.get("userErrors"), "bulkOperationRunQuery")
        op_id = payload["bulkOperation"]["id"]
        deadline = time.monotonic() + self.bulk_timeout
        while True:
            data = await self.execute("bulkOperation", BULK_STATUS_QUERY, {"id": op_id})
            op = data.get("bulkOperation") or {}
            status = op.get("status")
            if status == "COMPLETED":
                return op.get("url")
            if status in ("FAILED", "CANCELED", "CANCELING", "EXPIRED"):
                raise FatalError(
                    f"bulk operation {op_id} ended {status} (errorCode {op.get('errorCode')})",
                    marketplace=MARKETPLACE,
                    operation="bulkOperation",
                    code=op.get("errorCode"),
                )
            if time.monotonic() > deadline:
                raise TransientError(
                    f"bulk operation {op_id} still {status} after {self.bulk_timeout:.0f}s",
                    marketplace=MARKETPLACE,
                    operation="bulkOperation",
                )
            await asyncio.sleep(self.bulk_poll_interval)

    async def _jsonl(self, url: str) -> AsyncIterator[dict[str, Any]]:
        """Stream a bulk result file line by line (a signed URL: no Shopify token sent)."""
        try:
            async with self.http.client.stream("GET", url) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise TransientError(
                        f"bulk result download answered {response.status_code}",
                        marketplace=MARKETPLACE,
                        operation="bulkResult",
                        status=response.status_code,
                    )
                async for line in response.aiter_lines():
                    if not line.strip():
                        continue
                    try:
                        row = json.loads(line)
                    except json.JSONDecodeError:
                        raise MalformedResponseError(
                            "bulk result line is not JSON",
                            marketplace=MARKETPLACE,
                            operation="bulkResult",
                        ) from None
                    if not isinstance(row, dict):
                        raise MalformedResponseError(
                            "bulk result line is not a JSON object",
                            marketplace=MARKETPLACE,
                            operation="bulkResult",
                        )
                    yield row
        except httpx.HTTPError as exc:
            raise TransientError(
                f"bulk result download failed: {type(exc).__name__}",
                marketplace=MARKETPLACE,
                operation="bulkResult",
            ) from None

    async def _pages(
        self, operation: str, document: str, variables: dict[str, Any]
    ) -> AsyncIterator[list[dict[str, Any]]]:

        async def fetch(after: str | None) -> tuple[list[dict[str, Any]], str | None]:
            data = await self.execute(operation, document, {**variables, "after": after})
            return _connection(data, operation)

        async for nodes in CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint=operation, max_pages=self.max_pages
        ):
            yield nodes

    # -- writes ----------------------------------------------------------------------------

    async def set_variant_skus(self, product_id: str, skus: Mapping[str, str]) -> None:
        """Set variant SKUs of one product (variant GID -> SKU) via
        ``productVariantsBulkUpdate`` with ``inventoryItem.sku`` [admin].

        Atomic per call (``allowPartialUpdates`` false); userErrors raise FatalError.
        Setting a value is repeatable, so retries are safe.
        """
        rows = [{"id": vid, "inventoryItem": {"sku": sku}} for vid, sku in skus.items()]
        for start in range(0, len(rows), MAX_ROWS):
            data = await self.execute(
                "productVariantsBulkUpdate",
                VARIANTS_BULK_UPDATE_MUTATION,
                {"productId": product_id, "variants": rows[start : start + MAX_ROWS]},
            )
            _raise_user_errors(
                data["productVariantsBulkUpdate"].get("userErrors"), "productVariantsBulkUpdate"
            )

    async def variant_skus(self, product_id: str) -> dict[str, str | None]:
        """Variant GID -> SKU of one product as Shopify holds it now (its first 250
        variants; empty for an unknown product), read with a targeted ``product(id:)``
        query rather than the search, which lags writes."""
        data = await self.execute("product", PRODUCT_SKUS_QUERY, {"id": product_id})
        product = data.get("product")
        variants = product.get("variants") if isinstance(product, dict) else None
        nodes = variants.get("nodes") if isinstance(variants, dict) else None
        if product is None:
            return {}  # no such product (any more): nothing holds a SKU
        if not isinstance(nodes, list) or not all(
            isinstance(n, dict) and n.get("id") for n in nodes
        ):
            raise _wrong_shape("product", "product.variants.nodes is not a list of variants")
        return {str(n["id"]): n.get("sku") for n in nodes}

    async def set_inventory(
        self,
        rows: Sequence[InventorySet],
        *,
        reason: str = "correction",
        reference_uri: str | None = None,
        name: str = "available",
    ) -> int:
        """Set absolute quantities with ``inventorySetQuantities`` in batches of 250.

        Each batch carries its own ``@idempotent`` key, reused on retries so a lost answer
        cannot apply twice, and ``changeFromQuantity`` on every row (mandatory in 2026-04,
        [admin]). userErrors (e.g. CHANGE_FROM_QUANTITY_STALE) raise FatalError;
        batches sent before stay applied. Returns the number of batches sent.

        What a set does on an untracked item is UNCONFIRMED [captures], so items the
        last catalog read saw with ``tracked: false`` are refused before anything is sent.
        """
        untracked = sorted({r.inventory_item_id for r in rows} & self.untracked_items)
        if untracked:
            raise FatalError(
                f"inventory not tracked in Shopify for {len(untracked)} item(s), e.g. "
                f"{untracked[0]}; enable tracking before setting quantities",
                marketplace=MARKETPLACE,
                operation="inventorySetQuantities",
                code="UNTRACKED",
            )
        batches = 0
        for start in range(0, len(rows), MAX_ROWS):
            chunk = rows[start : start + MAX_ROWS]
            variables = {
                "key": str(uuid.uuid4()),
                "input": {
                    "name": name,
                    "reason": reason,
                    "referenceDocumentUri": reference_uri,
                    "quantities": [
                        {
                            "inventoryItemId": r.inventory_item_id,
                            "locationId": r.location_id,
                            "quantity": r.quantity,
                            "changeFromQuantity": r.change_from,
                        }
                        for r in chunk
                    ],
                },
            }
            data = await self.execute("inventorySetQuantities", INVENTORY_SET_MUTATION, variables)
            _raise_user_errors(
                data["inventorySetQuantities"].get("userErrors"), "inventorySetQuantities"
            )
            batches += 1
        return batches

    def order_key(self, tiktok_order_id: str) -> str:
        """The TikTok order id itself: sent as ``sourceIdentifier`` (and tag ``tiktok-<id>``)."""
        return tiktok_order_id

    async def create_order(self, order: StoreOrderRequest) -> StoreOrder:
        """Create the Shopify order for a TikTok order with ``orderCreate``.

        Not idempotent (no ``@idempotent`` on orderCreate, [idempotency]): a lost answer raises
        OutcomeUnknownError and the caller must :meth:`find_order` before trying again.
        Stock is decremented (``DECREMENT_IGNORING_POLICY``; the default BYPASS would
        leave Shopify stock untouched, [admin] orderCreate).
        """
        variables = {
            "order": order_input(order),
            "options": {
                "inventoryBehaviour": "DECREMENT_IGNORING_POLICY",
                "sendReceipt": False,
                "sendFulfillmentReceipt": False,
            },
        }
        data = await self.execute("orderCreate", ORDER_CREATE_MUTATION, variables, idempotent=False)
        payload = data["orderCreate"]
        _raise_user_errors(payload.get("userErrors"), "orderCreate")
        created = payload.get("order")
        if not created:
            raise FatalError(
                "orderCreate returned no order and no userErrors",
                marketplace=MARKETPLACE,
                operation="orderCreate",
            )
        return StoreOrder(
            id=created["id"],
            tiktok_order_id=order.tiktok_order_id,
            name=created.get("name"),
            status=created.get("displayFinancialStatus"),
        )

    async def find_order(self, tiktok_order_id: str) -> StoreOrder | None:
        """The order created for a TikTok order: search by ``source_identifier:``, then by
        tag; matches are confirmed by exact comparison (search semantics UNCONFIRMED, [search]).

        Shopify's search index lags writes, so None right after a create does not prove
        the order is absent: the relay's ledger stays the primary record [captures].
        """
        tag = TAG_PREFIX + tiktok_order_id
        for query in (f'source_identifier:"{_escape(tiktok_order_id)}"', f'tag:"{_escape(tag)}"'):
            data = await self.execute("orders", ORDERS_SEARCH_QUERY, {"query": query})
            for node in data["orders"]["nodes"]:
                attrs = {a.get("key"): a.get("value") for a in node.get("customAttributes") or []}
                if (
                    node.get("sourceIdentifier") == tiktok_order_id
                    or tag in (node.get("tags") or [])
                    or attrs.get("tiktok_order_id") == tiktok_order_id
                ):
                    return StoreOrder(
                        id=node["id"],
                        tiktok_order_id=tiktok_order_id,
                        name=node.get("name"),
                        status=node.get("displayFinancialStatus"),
                    )
        return None

    # -- order loop back (connectors/shopify_fulfillment.py holds the calls) ----------------
    async def order_state(self, store_order_id: str) -> StoreOrderState | None:
        """The order's ``SUCCESS`` fulfilments as boxes (first tracking number and company
        of each, units per line SKU) and its cancellation state."""
        state = await fulfil.read_order_fulfillments(self, store_order_id)
        if state is None:
            return None
        shipments = []
        for f in state.fulfillments:
            if not f.active:
                continue
            units: dict[str, int] = {}
            for line in f.lines:
                key = line.sku or line.line_item_id
                units[key] = units.get(key, 0) + line.quantity
            shipments.append(StoreShipment(f.id, f.tracking_number, f.carrier, f.created_at, units))
        return StoreOrderState(
            id=state.order_id,
            status=state.display_fulfillment_status,
            cancelled=state.cancelled,
            cancellable=not state.cancelled and not shipments,
            shipments=tuple(shipments),
            line_cancel=True,
            truncated=state.truncated,
        )

    async def changed_orders(self, since: datetime) -> set[str]:
        """Order GIDs updated at or after ``since`` (``orders(query: "updated_at:>=…")``)."""
        return await fulfil.changed_order_ids(self, since)

    async def tag_order(self, store_order_id: str, tags: Sequence[str]) -> None:
        """``tagsAdd`` on the order (a tag it already has is not added twice)."""
        await fulfil.add_order_tags(self, store_order_id, tags)

    async def cancel_order(
        self, store_order_id: str, *, reason: str, note: str
    ) -> StoreCancelResult:
        """``orderCancel`` (restock, customer not notified: TikTok tells the buyer).

        Who cancelled on TikTok becomes Shopify's reason: BUYER -> CUSTOMER, others ->
        OTHER (orderCancel reasons and the mapping: reference notes in
        connectors/shopify_fulfillment.py).
        """
        shopify_reason: fulfil.CancelReason = "CUSTOMER" if reason == "BUYER" else "OTHER"
        try:
            result = await fulfil.cancel_order(
                self, store_order_id, reason=shopify_reason, restock=True, staff_note=note
            )
        except fulfil.StoreAlreadyFulfilledError as exc:
            return StoreCancelResult("TOO_LATE", exc.message)
        return StoreCancelResult(result.status)

    async def cancel_order_units(
        self, store_order_id: str, units: Mapping[str, int], *, key: str, note: str
    ) -> StoreCancelResult:
        """Cancel unfulfilled units of lines (by SKU) with ``refundCreate`` (restock CANCEL,
        no money moved), idempotent under ``key``."""
        state = await fulfil.read_order_fulfillments(self, store_order_id)
        if state is None:
            raise fulfil.OrderNotFoundError(
                f"no order {store_order_id}", marketplace=MARKETPLACE, operation="refundCreate"
            )
        if state.cancelled:
            return StoreCancelResult("ALREADY_CANCELLED")
        remaining: dict[str, tuple[str, int]] = {}
        for fo in state.fulfillment_orders:
            for line in fo.lines:
                if line.sku:
                    _, left = remaining.get(line.sku, (line.line_item_id, 0))
                    remaining[line.sku] = (line.line_item_id, left + line.remaining_quantity)
        wanted: dict[str, int] = {}
        for sku, n in units.items():
            line_id, left = remaining.get(sku, ("", 0))
            if left < n:
                return StoreCancelResult(
                    "TOO_LATE", f"{sku}: {left} unit(s) left unfulfilled, {n} to cancel"
                )
            wanted[line_id] = wanted.get(line_id, 0) + n
        try:
            await fulfil.cancel_order_lines(
                self, store_order_id, wanted, idempotency_key=key, note=note
            )
        except fulfil.StoreAlreadyFulfilledError as exc:
            return StoreCancelResult("TOO_LATE", exc.message)
        return StoreCancelResult("CANCELLED")

    async def merchant_quantity(self, sku: str) -> int | None:
        raise NotSupportedError("Shopify orders keep Shopify stock themselves")

    async def set_merchant_quantity(self, sku: str, quantity: int) -> None:
        raise NotSupportedError("Shopify orders keep Shopify stock themselves")


def order_input(order: StoreOrderRequest) -> dict[str, Any]:
    """``OrderCreateOrderInput`` for a TikTok order (field names per [admin] orderCreate)."""
    currency = order.currency
    total = sum((line.unit_price * line.quantity for line in order.lines), Decimal(0))
    tags = ["tiktok", TAG_PREFIX + order.tiktok_order_id]
    tags += [t for t in order.tags if t not in tags]
    out: dict[str, Any] = {
        "currency": currency,
        "sourceName": "tiktok",
        # sourceName may be replaced by the app id [attribution]: identify by sourceIdentifier + tag
        "sourceIdentifier": order.tiktok_order_id,
        "tags": tags,
        "customAttributes": [{"key": "tiktok_order_id", "value": order.tiktok_order_id}],
        "financialStatus": "PAID",
        # never in the future: 2026-04 refuses it with PROCESSED_AT_INVALID (clamped only from
        # 2026-07, OrderCreateOrderInput.processedAt,
        # https://shopify.dev/docs/api/admin-graphql/2026-04/input-objects/OrderCreateOrderInput)
        # and TikTok's clock may run ahead of Shopify's
        "processedAt": _iso(min(_aware(order.created_at), datetime.now(UTC))),
        "lineItems": [
            {
                "variantId": line.store_variant_id,
                "quantity": line.quantity,
                # priceSet is always sent: a variant line without it is UNCONFIRMED [admin]
                "priceSet": {
                    "shopMoney": {"amount": _amount(line.unit_price), "currencyCode": currency}
                },
            }
            for line in order.lines
        ],
        "transactions": [
            {
                "kind": "SALE",
                "status": "SUCCESS",
                "gateway": "TikTok Shop",
                "amountSet": {"shopMoney": {"amount": _amount(total), "currencyCode": currency}},
            }
        ],
    }
    email = order.email or (order.recipient.email if order.recipient else None)
    if email:
        out["email"] = email
    if order.note:
        out["note"] = order.note
    if order.recipient is not None:
        out["shippingAddress"] = _address(order.recipient)
    return out


def _address(addr: Address) -> dict[str, Any]:
    first, last = addr.first_name, addr.last_name
    if not first and not last and addr.name:
        first, _, last = addr.name.partition(" ")
    fields = {
        "firstName": first or None,
        "lastName": last or None,
        "phone": addr.phone,
        "address1": addr.address1,
        "address2": addr.address2,
        "city": addr.city,
        "provinceCode": addr.region_code,
        # the name too: kept when no ISO 3166-2 code was found (``province`` is deprecated
        # in favour of provinceCode but still accepted, MailingAddressInput 2026-04)
        "province": addr.region,
        "zip": addr.postal_code,
        "countryCode": addr.country_code.upper() if addr.country_code else None,
    }
    return {k: v for k, v in fields.items() if v}


def _page_size_from_cost(cost: Mapping[str, Any] | None, first: int) -> tuple[int, int] | None:
    """``(page size, cost per node)`` that fits the single-query limit, from the
    ``requestedQueryCost`` Shopify reported for a page of ``first`` nodes (None if absent).

    Shopify checks the requested cost against the limit before running a query and charges
    the actual cost afterwards
    (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits), so the reported
    requested cost of one page tells what the next page may ask for.
    """
    try:
        requested = int((cost or {})["requestedQueryCost"])
    except (KeyError, TypeError, ValueError):
        return None
    per_node = max(1, -(-(requested - 2) // max(1, first)))  # ceil: never over the limit
    return max(1, min(MAX_PAGE, (MAX_QUERY_COST - 2) // per_node)), per_node


def _aware(moment: datetime) -> datetime:
    """Naive values are taken as UTC (as in :func:`_iso`)."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    """DateTime wire format, UTC [admin]; naive values are taken as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _wrong_shape(operation: str, why: str) -> MalformedResponseError:
    return MalformedResponseError(
        f"answer has the wrong shape: {why}", marketplace=MARKETPLACE, operation=operation
    )


def _gid_number(gid: str) -> str:
    """The numeric tail of a GID (``gid://shopify/ProductVariant/12`` -> ``12``): search
    filters take the number [search]."""
    return gid.rsplit("/", 1)[-1]


def _connection(data: Mapping[str, Any], operation: str) -> tuple[list[dict[str, Any]], str | None]:
    """``nodes`` of a connection field and the cursor of the next page (None on the last).

    A wrong shape is malformed; ``hasNextPage`` without an ``endCursor`` cannot be followed
    and stops paging."""
    conn = data.get(operation)
    nodes = conn.get("nodes") if isinstance(conn, dict) else None
    info = conn.get("pageInfo") if isinstance(conn, dict) else None
    if (
        not isinstance(nodes, list)
        or not all(isinstance(n, dict) for n in nodes)
        or not isinstance(info, dict)
    ):
        raise MalformedResponseError(
            f"answer has the wrong shape: {operation} is not a connection with nodes and pageInfo",
            marketplace=MARKETPLACE,
            operation=operation,
        )
    if not info.get("hasNextPage"):
        return nodes, None
    cursor = info.get("endCursor")
    if not cursor:
        raise PagingError(
            "hasNextPage without an endCursor", marketplace=MARKETPLACE, operation=operation
        )
    return nodes, str(cursor)


def _escape(value: str) -> str:
    """Escape a search value for use inside double quotes [search]."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _amount(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))  # Money is "24.00", Decimal "24.0": compare as numbers
    except InvalidOperation:
        return None


def _error_text(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, str):  # 401 answers carry a string [response-codes]
        return errors
    if isinstance(errors, list):
        return "; ".join(
            str(e.get("message", e)) if isinstance(e, dict) else str(e) for e in errors
        )
    return response.text[:300]


def _raise_user_errors(errors: Any, operation: str) -> None:
    """Raise FatalError naming every userError (field path, message, code)."""
    if not errors:
        return
    parts = []
    for e in errors:
        where = ".".join(e.get("field") or []) or "-"
        parts.append(f"{where}: {e.get('message')} ({e.get('code')})")
    code = next((e.get("code") for e in errors if e.get("code")), None)
    raise FatalError(
        redact("; ".join(parts)), marketplace=MARKETPLACE, operation=operation, code=code
    )


__all__ = [
    "DOCUMENTS",
    "ApiError",
    "InventorySet",
    "ShopifyClient",
    "order_input",
    "throttle_wait",
    "verify_webhook",
]
