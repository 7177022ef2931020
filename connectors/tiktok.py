"""TikTok Shop Open API connector (API family 202309): catalog, warehouses, stock and price
writes, orders. Implements :class:`connectors.base.TikTokApi` on :class:`HttpLayer`.

Wire rules that matter:

- every business call is signed [sign]: ``sign`` over path + sorted query + the exact body
  bytes; the body is serialised once and sent as those bytes; ``timestamp`` and ``sign``
  are recomputed per attempt because :meth:`HttpLayer.send` rebuilds the request;
- the access token travels in ``x-tts-access-token`` and is never signed [sign];
- success is ``code == 0`` in the body, whatever the HTTP status [errors]; see :func:`check`;
- 105002 (expired access token) triggers one refresh through the auth host, then the call
  is sent again [errors], [auth];
- price is read from ``tax_exclusive_price`` (falling back to ``sale_price``) and written as
  ``price.amount`` + ``price.currency`` [search-products], [update-price];
- order line items are one per unit: grouped by ``sku_id`` into quantities [order-detail].

Sources (TikTok Shop Partner Center pages; the bracketed names are cited below):

- [sign] https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf
- [errors] https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942
- [rate-limits] https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0
- [auth] https://partner.tiktokshop.com/docv2/page/678e3a3292b0f40314a92d75
- [authorized-shops] https://partner.tiktokshop.com/docv2/page/6507ead7b99d5302be949ba9
- [search-products] https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369
- [get-product] https://partner.tiktokshop.com/docv2/page/6509d85b4a0bb702c057fdda
- [update-inventory] https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858
- [warehouses] https://partner.tiktokshop.com/docv2/page/650aa418defece02be6e66b6
- [update-price] https://partner.tiktokshop.com/docv2/page/650307de5a12ff0294eac8b0
- [order-list] https://partner.tiktokshop.com/docv2/page/650aa8094a0bb702c06df242
- [order-detail] https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5
- [order-masking] https://partner.tiktokshop.com/docv2/page/682fda578992fb0499d40ed3
- [webhooks] https://partner.tiktokshop.com/docv2/page/tts-webhooks-overview
- the official Node SDK's signing (``utils/generate-sign.ts``), mirrored in
  https://github.com/tiananugerah/titktok-shop
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import inspect
import logging
import math
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from connectors.attributes import AttributeCache
from connectors.base import (
    Address,
    CatalogVariant,
    InventoryUpdate,
    OrderLine,
    PriceUpdate,
    SkuError,
    TikTokOrder,
    Warehouse,
    WriteResult,
)
from connectors.errors import (
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
    RateLimit,
    RetryPolicy,
    api_error,
    json_bytes,
    parse_json,
)
from connectors.paging import CursorPages
from connectors.redact import install_log_redaction, register_secret
from connectors.shapes import object_list, wrong_shape
from connectors.subdivisions import subdivision_code

log = logging.getLogger("skubridge.connectors.tiktok")

MARKETPLACE = "tiktok"
TIKTOK_API_BASE = "https://open-api.tiktokglobalshop.com"
TIKTOK_AUTH_BASE = "https://auth.tiktok-shops.com"

# Default 50 QPS per API per app x shop [rate-limits]; the live number is UNCONFIRMED and may be
# assigned dynamically, so the client also backs off on 429 / 36009002.
DEFAULT_QPS = 50.0
RATE_LIMITS: dict[str, RateLimit] = {
    op: RateLimit(DEFAULT_QPS, burst=10)
    for op in (
        "authorization.shops",
        "product.search",
        "product.get",
        "product.update_inventory",
        "product.update_price",
        "logistics.warehouses",
        "order.search",
        "order.detail",
    )
}
RATE_LIMITS["auth.token_refresh"] = RateLimit(1.0, burst=1)

SEARCH_WINDOW = 10_000  # [search-products]: page_token paging stops at 10,000 results (12052180)
MAX_PAGE_SIZE = 100
ORDER_DETAIL_BATCH = 50  # [order-detail]: at most 50 ids a call

# Business codes of the answer envelope and what they mean [errors]: throttled, transient
# (internal error, timeout), and credentials (106001 bad sign, 36009004 bad
# credentials/identifier/timestamp, 105002 expired token, 105005 missing scope, 101000
# token not for this shop, 106013 missing shop_cipher, 36004001 refresh token expired,
# 36004005 auth record not found). Any other non-zero code is a business rejection.
TOKEN_EXPIRED = 105002
THROTTLE_CODES = frozenset({36009002})
CHECK_FAILED = "12052990"  # per-SKU wrapper of Update Inventory errors [update-inventory]
TRANSIENT_CODES = frozenset({36009003, 36009007})
AUTH_CODES = frozenset({106001, 36009004, 105002, 105005, 101000, 106013, 36004001, 36004005})
ERRORS = ErrorTable(
    codes={
        **{str(c): ThrottledError for c in THROTTLE_CODES},
        **{str(c): TransientError for c in TRANSIENT_CODES},
        **{str(c): AuthError for c in AUTH_CODES},
    },
    default=FatalError,
)


def sign(secret: str, path: str, query: Mapping[str, str], body: bytes = b"") -> str:
    """The ``sign`` query value [sign].

    HMAC-SHA256 keyed with the app secret over ``secret + path + {k}{v}... + body + secret``
    where the query parameters (minus ``sign`` and ``access_token``) are sorted by name and
    ``body`` is the exact bytes sent (empty for GET); lowercase hex.
    """
    pairs = "".join(f"{key}{query[key]}" for key in sorted(query) if key not in _NOT_SIGNED)
    message = secret.encode() + path.encode() + pairs.encode() + body + secret.encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


_NOT_SIGNED = frozenset({"sign", "access_token"})


def verify_webhook(app_key: str, app_secret: str, body: bytes, authorization: str) -> bool:
    """Whether a webhook's ``Authorization`` header matches its raw body [webhooks]."""
    expected = hmac.new(app_secret.encode(), app_key.encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, authorization.strip().lower())


def check(response: httpx.Response, operation: str) -> None:
    """Turn a TikTok answer into success or a typed error (one place for all operations).

    TikTok answers many failures with HTTP 200 and ``code != 0`` [errors]: throttle codes ->
    ThrottledError, internal/timeout codes and 5xx -> TransientError, credential codes ->
    AuthError, anything else FatalError. Each error carries code, message and request_id.
    """
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or "code" not in body:
        if status < 400:
            raise MalformedResponseError(
                "answer is not a TikTok JSON envelope",
                marketplace=MARKETPLACE,
                operation=operation,
                status=status,
            )
        # no envelope (a gateway answered): the status decides, an unknown 4xx is fatal
        raise api_error(
            response, operation, marketplace=MARKETPLACE, table=ERRORS, message=response.text[:300]
        )
    code = body.get("code")
    if code == 0 and status < 400:
        return
    raise api_error(
        response,
        operation,
        marketplace=MARKETPLACE,
        table=ERRORS,
        code=str(code),
        message=str(body.get("message") or "no message"),
        request_id=body.get("request_id"),
    )


TokenCallback = Callable[[dict[str, Any]], object]  # may return an awaitable


class TikTokClient(ClientBase):
    """Async TikTok Shop client for one shop. Takes credential values, never reads env."""

    kind = MARKETPLACE
    search_window = SEARCH_WINDOW

    def __init__(
        self,
        *,
        app_key: str,
        app_secret: str,
        access_token: str,
        refresh_token: str | None = None,
        shop_cipher: str | None = None,
        shop_id: str | None = None,
        base_url: str = TIKTOK_API_BASE,
        auth_base_url: str = TIKTOK_AUTH_BASE,
        rate_scale: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 8,
        timeout: float = 30.0,
        catalog_options: bool = True,
        on_token_refresh: TokenCallback | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        register_secret(app_secret, access_token, refresh_token)
        # The token refresh URL carries app_secret and every URL a sign: keep them out of logs.
        install_log_redaction()
        self.app_key = app_key
        self._app_secret = app_secret
        self._access_token = access_token
        self._refresh_token = refresh_token
        self.shop_cipher = shop_cipher
        self.shop_id = shop_id
        self.auth_base_url = auth_base_url.rstrip("/")
        self.catalog_options = catalog_options
        self.on_token_refresh = on_token_refresh
        self._clock = clock
        self._refresh_lock = asyncio.Lock()
        self._cipher_lock = asyncio.Lock()
        self.http = HttpLayer(
            marketplace=MARKETPLACE,
            base_url=base_url,
            rates=RATE_LIMITS,
            default_rate=RateLimit(DEFAULT_QPS, burst=10),
            rate_scale=rate_scale,
            max_concurrency=max_concurrency,
            timeout=timeout,
            retry=retry,
            transport=transport,
        )

    # -- transport ----------------------------------------------------------------------
    def _build(
        self,
        method: str,
        path: str,
        params: Mapping[str, str],
        body: bytes | None,
        shop_scoped: bool,
    ) -> httpx.Request:
        """A freshly signed request (called once per attempt: new timestamp, new sign)."""
        query = {**params, "app_key": self.app_key, "timestamp": str(int(self._clock()))}
        if shop_scoped:
            query["shop_cipher"] = self.shop_cipher or ""
        query["sign"] = sign(self._app_secret, path, query, body or b"")
        headers = {"x-tts-access-token": self._access_token, "content-type": "application/json"}
        return self.http.client.build_request(
            method, path, params=query, content=body, headers=headers
        )

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        shop_scoped: bool = True,
    ) -> dict[str, Any]:
        """Send one API call and return its ``data``; refresh the token once on 105002."""
        if shop_scoped and not self.shop_cipher:
            await self.discover_shop_cipher()
        content = json_bytes(body) if body is not None else None
        for attempt in (1, 2):
            token_used = self._access_token
            try:
                response = await self.http.send(
                    operation,
                    lambda: self._build(method, path, params or {}, content, shop_scoped),
                    check=check,
                )
            except AuthError as exc:
                if exc.code != str(TOKEN_EXPIRED) or attempt == 2 or not self._refresh_token:
                    raise
                await self._refresh_once(token_used)
                continue
            payload = parse_json(response, marketplace=MARKETPLACE, operation=operation)
            data = payload.get("data")
            if data is None:
                return {}  # some writes answer code 0 without data
            if not isinstance(data, dict):
                raise _malformed(operation, f"data is a {type(data).__name__}, not an object")
            return data
        raise AssertionError("unreachable")  # pragma: no cover

    async def _refresh_once(self, expired_token: str) -> None:
        async with self._refresh_lock:
            if self._access_token != expired_token:
                return  # another task already refreshed
            await self.refresh_access_token()

    async def refresh_access_token(self) -> dict[str, Any]:
        """Get a new access token with the refresh token (auth host, [auth]); returns ``data``.

        The new pair is kept (and handed to ``on_token_refresh`` so the caller can store
        it: whether the old refresh token stays valid is UNCONFIRMED, [auth]).
        """
        if not self._refresh_token:
            raise AuthError(
                "access token expired and no refresh token configured",
                marketplace=MARKETPLACE,
                operation="auth.token_refresh",
            )
        url = f"{self.auth_base_url}/api/v2/token/refresh"
        query = {
            "app_key": self.app_key,
            "app_secret": self._app_secret,
            "refresh_token": self._refresh_token,
            "grant_type": "refresh_token",
        }
        response = await self.http.send(
            "auth.token_refresh",
            lambda: self.http.client.build_request("GET", url, params=query),
            check=check,
        )
        data = parse_json(response, marketplace=MARKETPLACE, operation="auth.token_refresh")["data"]
        register_secret(data.get("access_token"), data.get("refresh_token"))
        self._access_token = data["access_token"]
        self._refresh_token = data.get("refresh_token") or self._refresh_token
        log.info("TikTok access token refreshed")
        if self.on_token_refresh is not None:
            stored = self.on_token_refresh(dict(data))
            if inspect.isawaitable(stored):  # e.g. saving a rotated token in a Secret block
                await stored
        return data

    async def discover_shop_cipher(self) -> str:
        """Find ``shop_cipher`` with Get Authorized Shops [authorized-shops]; ``shop_id``
        picks one of many."""
        async with self._cipher_lock:
            if self.shop_cipher:
                return self.shop_cipher
            shops = (await self.authorized_shops()) or []
            if self.shop_id:
                shops = [s for s in shops if str(s.get("id")) == self.shop_id]
            if len(shops) != 1:
                raise FatalError(
                    f"cannot choose a shop: {len(shops)} authorized shop(s) match; "
                    "set shop_cipher or shop_id",
                    marketplace=MARKETPLACE,
                    operation="authorization.shops",
                )
            if not shops[0].get("cipher"):
                raise _malformed("authorization.shops", "the shop has no cipher")
            self.shop_cipher = str(shops[0]["cipher"])
            self.shop_id = str(shops[0].get("id") or "") or self.shop_id
            return self.shop_cipher

    async def authorized_shops(self) -> list[dict[str, Any]]:
        """The shops this token may act for (``id``, ``name``, ``region``, ``cipher``...)."""
        data = await self._call(
            "authorization.shops", "GET", "/authorization/202309/shops", shop_scoped=False
        )
        return _objects(data.get("shops"), "authorization.shops", "shops")

    async def webhooks(self) -> list[dict[str, Any]]:
        """The shop's webhook subscriptions (Get Shop Webhooks, ``event_type`` + ``address``)."""
        data = await self._call("event.webhooks", "GET", "/event/202309/webhooks")
        return _objects(data.get("webhooks"), "event.webhooks", "webhooks")

    async def update_webhook(self, event_type: str, address: str) -> None:
        """Subscribe ``address`` to ``event_type`` (Update Shop Webhook,
        https://partner.tiktokshop.com/docv2/page/650aa064defece02be6df919)."""
        body = {"address": address, "event_type": event_type}
        await self._call("event.update_webhook", "PUT", "/event/202309/webhooks", body=body)

    # -- catalog ------------------------------------------------------------------------
    async def iter_catalog(
        self,
        *,
        page_size: int = 100,
        since: datetime | None = None,
        attributes: AttributeCache | None = None,
    ) -> AsyncIterator[list[CatalogVariant]]:
        """Yield the shop's SKUs page by page, one :class:`CatalogVariant` per SKU.

        Pages Search Products with ``page_token``. When more products match than the
        10,000-result window allows, the catalog is split into ``update_time`` ranges that
        each fit. DELETED products are left out. ``since`` asks only for products updated at
        or after it (Search Products ``update_time_ge`` [search-products]). With
        ``catalog_options`` the sales attributes of multi-SKU products are read with
        Get Product (search has none); with ``attributes`` only where that cache lacks them.
        """
        page_size = max(1, min(MAX_PAGE_SIZE, page_size))
        seen: set[str] = set()
        start = None if since is None else _epoch(since)
        ranges: list[tuple[int | None, int | None]] = [(start, None)]
        while ranges:
            ge, le = ranges.pop()
            async for products, total in self._search_range(ge, le, page_size):
                if total is not None:  # range too big for the window: split it
                    ranges.extend(self._split(ge, le, total))
                    continue
                fresh = [p for p in products if str(p.get("id")) not in seen]
                seen.update(str(p.get("id")) for p in fresh)
                variants = await self._variants(fresh, attributes)
                if variants:
                    yield variants

    def _limit(self, page_size: int) -> int:
        return (self.search_window // page_size) * page_size

    def _split(
        self, ge: int | None, le: int | None, total: int
    ) -> list[tuple[int | None, int | None]]:
        """Two halves of an ``update_time`` range. The newest half stays open-ended: the API
        takes an omitted ``update_time_le`` as now and refuses search times in the future
        (https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369), and a
        product updated while the extract runs is still found."""
        low = 0 if ge is None else ge
        high = int(self._clock()) if le is None else le
        if high <= low:
            raise PagingError(
                f"{total} products share update_time {low}: more than the search window",
                marketplace=MARKETPLACE,
                operation="product.search",
            )
        mid = (low + high) // 2
        return [(mid + 1, le), (low, mid)]  # popped from the end: oldest range first

    async def _search_range(
        self, ge: int | None, le: int | None, page_size: int
    ) -> AsyncIterator[tuple[list[dict[str, Any]], int | None]]:
        """Pages of one ``update_time`` range; yields ``([], total)`` if it exceeds the window."""
        # a non-empty body: the SDKs sign a `{}` body as no body [sign]
        body: dict[str, Any] = {"status": "ALL"}
        if ge is not None:
            body["update_time_ge"] = ge
        if le is not None:
            body["update_time_le"] = le
        overflow: list[int] = []

        async def fetch(token: str | None) -> tuple[list[dict[str, Any]], str | None]:
            params = {"page_size": str(page_size)}
            if token:
                params["page_token"] = token
            data = await self._call(
                "product.search",
                "POST",
                "/product/202309/products/search",
                params=params,
                body=body,
            )
            total = _count(data.get("total_count"), "product.search")
            products = _objects(data.get("products"), "product.search", "products")
            next_token = data.get("next_page_token") or None
            if pager.pages == 0:
                if not products and total and not next_token:
                    raise _malformed("product.search", f"total_count is {total} but no products")
                if total > self._limit(page_size):
                    overflow.append(total)
                    return [], None
                pager.max_pages = min(pager.max_pages, math.ceil(total / page_size) + 5)
            return products, next_token

        pager = CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint="product.search", max_pages=self.max_pages
        )
        async for products in pager:
            if overflow:
                yield [], overflow[0]
                return
            yield products, None

    async def _variants(
        self, products: list[dict[str, Any]], attributes: AttributeCache | None = None
    ) -> list[CatalogVariant]:
        products = [p for p in products if p.get("status") != "DELETED"]
        details = await self._sku_details(products, attributes) if self.catalog_options else {}
        out = []
        for product in products:
            # A record without an id becomes a row with an empty id, which the extract skips
            # and counts (MISSING_PRODUCT_ID / MISSING_VARIANT_ID) instead of crashing.
            pid = str(product.get("id") or "")
            for sku in _objects(product.get("skus"), "product.search", "skus"):
                sid = str(sku.get("id") or "")
                extra = details.get(sid, {})
                opts = {
                    str(a.get("name")): str(a.get("value_name"))
                    for a in extra.get("sales_attributes") or []
                }
                barcode = (extra.get("identifier_code") or {}).get("code") or None
                price, currency = _read_price(sku.get("price"))
                out.append(
                    CatalogVariant(
                        channel="tiktok",
                        product_id=pid,
                        variant_id=sid,
                        seller_sku=(sku.get("seller_sku") or None),
                        title=str(product.get("title") or ""),
                        variant_title=" / ".join(opts.values()) or None,
                        options=opts,
                        price=price,
                        currency=currency,
                        stock={
                            str(i.get("warehouse_id")): int(i.get("quantity") or 0)
                            for i in sku.get("inventory") or []
                        },
                        barcode=barcode,
                        status=product.get("status"),
                    )
                )
        return out

    async def _sku_details(
        self, products: list[dict[str, Any]], attributes: AttributeCache | None = None
    ) -> dict[str, dict[str, Any]]:
        """SKU id -> Get Product SKU object, for multi-SKU products (search has no options).

        Get Product is unavailable for FREEZE/DELETED products [get-product]; a product it refuses
        keeps empty options rather than failing the whole import. With ``attributes`` a
        product is read only when the cache cannot answer for it (see :class:`AttributeCache`).
        """
        wanted: list[tuple[str, int]] = []
        found: dict[str, dict[str, Any]] = {}
        for p in products:
            if len(p.get("skus") or []) <= 1 or p.get("status") in ("FREEZE", "DELETED"):
                continue
            pid, update_time = str(p["id"]), _update_time(p.get("update_time"))
            sku_ids = {str(sku.get("id")) for sku in p.get("skus") or []}
            cached = None if attributes is None else attributes.lookup(pid, update_time, sku_ids)
            if cached is None:
                wanted.append((pid, update_time))
            else:
                found.update(cached)

        async def one(product_id: str) -> dict[str, Any]:
            try:
                return await self.get_product(product_id)
            except AuthError:
                raise
            except FatalError as exc:
                log.warning("no options for TikTok product %s: %s", product_id, exc)
                return {}

        details = await asyncio.gather(*(one(pid) for pid, _ in wanted))
        for (pid, update_time), detail in zip(wanted, details, strict=True):
            skus = {
                str(sku.get("id")): sku for sku in detail.get("skus") or [] if isinstance(sku, dict)
            }
            found.update(skus)
            if attributes is not None and detail:
                attributes.remember(pid, update_time, skus)
        return found

    async def get_product(self, product_id: str) -> dict[str, Any]:
        """Get Product [get-product]: the full product including SKU ``sales_attributes``."""
        return await self._call("product.get", "GET", f"/product/202309/products/{product_id}")

    async def warehouses(self) -> list[Warehouse]:
        """The shop's warehouses [warehouses]; inventory goes to ``SALES_WAREHOUSE`` ones."""
        data = await self._call("logistics.warehouses", "GET", "/logistics/202309/warehouses")
        found = _objects(data.get("warehouses"), "logistics.warehouses", "warehouses")
        if any(not w.get("id") for w in found):
            raise _malformed("logistics.warehouses", "a warehouse without an id")
        return [
            Warehouse(
                id=str(w["id"]),
                name=str(w.get("name") or ""),
                is_default=bool(w.get("is_default")),
                type=w.get("type"),
                active=w.get("effect_status", "ENABLED") == "ENABLED",
            )
            for w in found
        ]

    # -- writes -------------------------------------------------------------------------
    async def update_inventory(
        self, product_id: str, updates: Sequence[InventoryUpdate]
    ) -> WriteResult:
        """Set absolute stock of SKUs of one product, every warehouse of each SKU
        [update-inventory].

        Per-SKU rejections inside a ``code: 0`` answer come back in ``errors``; a whole-call
        business rejection (e.g. product not ACTIVATE) rejects every SKU of the call.
        """
        if not updates:
            return WriteResult(product_id=product_id, applied=())
        body = {
            "skus": [
                {
                    "id": u.sku_id,
                    "inventory": [
                        {"warehouse_id": wh, "quantity": int(qty)}
                        for wh, qty in u.quantities.items()
                    ],
                }
                for u in updates
            ]
        }
        return await self._write(
            "product.update_inventory",
            f"/product/202309/products/{product_id}/inventory/update",
            product_id,
            [u.sku_id for u in updates],
            body,
        )

    async def update_price(self, product_id: str, updates: Sequence[PriceUpdate]) -> WriteResult:
        """Set absolute prices of SKUs of one product: ``price.amount`` + ``currency``
        [update-price].

        TikTok reports price failures only as a non-zero code for the whole call, so a
        rejection marks every SKU of the call as failed (partial application UNCONFIRMED).
        """
        if not updates:
            return WriteResult(product_id=product_id, applied=())
        body = {
            "skus": [
                {"id": u.sku_id, "price": {"amount": _money(u.amount), "currency": u.currency}}
                for u in updates
            ]
        }
        return await self._write(
            "product.update_price",
            f"/product/202309/products/{product_id}/prices/update",
            product_id,
            [u.sku_id for u in updates],
            body,
        )

    async def _write(
        self, operation: str, path: str, product_id: str, sku_ids: list[str], body: Any
    ) -> WriteResult:
        try:
            data = await self._call(operation, "POST", path, body=body)
        except AuthError:
            raise
        except FatalError as exc:
            if isinstance(exc, PagingError):
                raise
            errors = tuple(SkuError(s, str(exc.code), exc.message) for s in sku_ids)
            return WriteResult(product_id, (), errors, exc.request_id)
        errors = tuple(_sku_errors(data.get("errors") or []))
        failed = {e.sku_id for e in errors}
        applied = tuple(s for s in sku_ids if s not in failed)
        return WriteResult(product_id=product_id, applied=applied, errors=errors)

    # -- orders -------------------------------------------------------------------------
    async def search_orders(
        self, *, update_time_ge: datetime, update_time_lt: datetime, page_size: int = 100
    ) -> AsyncIterator[list[str]]:
        """Yield ids of orders updated in ``[ge, lt)`` page by page, oldest update first."""
        body = {
            "update_time_ge": _epoch(update_time_ge),
            "update_time_lt": _epoch(update_time_lt),
        }
        size = str(max(1, min(MAX_PAGE_SIZE, page_size)))

        async def fetch(token: str | None) -> tuple[list[str], str | None]:
            params = {"page_size": size, "sort_field": "update_time", "sort_order": "ASC"}
            if token:
                params["page_token"] = token
            data = await self._call(
                "order.search", "POST", "/order/202309/orders/search", params=params, body=body
            )
            ids = [str(o["id"]) for o in data.get("orders") or []]
            return ids, data.get("next_page_token") or None

        pages = CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint="order.search", max_pages=self.max_pages
        )
        async for ids in pages:
            if ids:
                yield ids

    async def get_orders(self, order_ids: Sequence[str]) -> list[TikTokOrder]:
        """Order details in batches of 50 ids [order-detail], lines grouped by ``sku_id``."""
        ids = list(dict.fromkeys(str(i) for i in order_ids))
        out: list[TikTokOrder] = []
        for start in range(0, len(ids), ORDER_DETAIL_BATCH):
            batch = ids[start : start + ORDER_DETAIL_BATCH]
            data = await self._call(
                "order.detail", "GET", "/order/202309/orders", params={"ids": ",".join(batch)}
            )
            out.extend(
                _order_or_problem(o) for o in _objects(data.get("orders"), "order.detail", "orders")
            )
        return [o for o in out if o is not None]


# -- parsing helpers -------------------------------------------------------------------------
def _malformed(operation: str, why: str) -> MalformedResponseError:
    return wrong_shape(MARKETPLACE, operation, why)


def _objects(value: Any, operation: str, name: str) -> list[dict[str, Any]]:
    """A JSON array of objects (None reads as empty); anything else is a malformed answer."""
    return object_list(value, marketplace=MARKETPLACE, operation=operation, name=name)


def _count(value: Any, operation: str) -> int:
    if value in (None, ""):
        return 0
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _malformed(operation, f"total_count {str(value)[:40]!r} is not a number") from None


def _money(value: Decimal) -> str:
    return format(value.quantize(Decimal("0.01")), "f")


def _decimal(value: Any) -> Decimal | None:
    if value in (None, ""):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _read_price(price: Any) -> tuple[Decimal | None, str | None]:
    """Read side has no ``amount``: ``tax_exclusive_price``, else ``sale_price``
    [search-products]."""
    if not isinstance(price, dict):
        return None, None
    value = _decimal(price.get("tax_exclusive_price"))
    if value is None:
        value = _decimal(price.get("sale_price"))
    return value, price.get("currency")


def _sku_errors(items: list[dict[str, Any]]) -> list[SkuError]:
    out = []
    for item in items:
        detail = item.get("detail") or {}
        extra = detail.get("extra_errors") or []
        message = str(item.get("message") or "")
        if extra:
            message = (
                message.rstrip(".")
                + ": "
                + "; ".join(
                    f"warehouse {e.get('warehouse_id')}: {e.get('code')} {e.get('message')}"
                    for e in extra
                )
            )
        code = str(item.get("code"))
        inner = {str(e.get("code")) for e in extra if e.get("code") not in (None, "")}
        if code == CHECK_FAILED and len(inner) == 1:
            # 12052990 "Check failed" only wraps the per-warehouse reason (Update Inventory,
            # https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858): report that.
            code = inner.pop()
        out.append(SkuError(str(detail.get("sku_id") or ""), code, message))
    return out


def _update_time(value: Any) -> int:
    """A product's ``update_time`` (epoch seconds); 0 when missing or not a number."""
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def _epoch(value: datetime) -> int:
    if value.tzinfo is None:
        raise ValueError("order search times must be timezone-aware")
    return int(value.timestamp())


def _utc(seconds: Any) -> datetime:
    return datetime.fromtimestamp(int(seconds or 0), UTC)


def _is_masked(text: str | None) -> bool:
    return bool(text) and "*" in str(text)


def parse_address(raw: Mapping[str, Any] | None, email: str | None) -> tuple[Address | None, bool]:
    """The recipient as an :class:`Address` and whether TikTok masked it
    [order-detail], [order-masking]."""
    if not raw:
        return None, True
    levels = {d.get("address_level"): d.get("address_name") for d in raw.get("district_info") or []}
    region = levels.get("L1") or None  # a name ("Illinois"); see connectors/subdivisions.py
    address = Address(
        name=raw.get("name") or None,
        first_name=raw.get("first_name") or None,
        last_name=raw.get("last_name") or None,
        phone=raw.get("phone_number") or None,
        address1=raw.get("address_line1") or raw.get("address_detail") or None,
        address2=raw.get("address_line2") or None,
        city=levels.get("L3") or None,
        region=region,
        region_code=subdivision_code(raw.get("region_code"), region),
        postal_code=raw.get("postal_code") or None,
        country_code=raw.get("region_code") or None,
        email=email,
    )
    masked = (
        not address.name
        or not address.address1
        or any(_is_masked(v) for v in (address.name, address.phone, address.address1))
    )
    return address, masked


def _order_or_problem(raw: Mapping[str, Any]) -> TikTokOrder | None:
    """``parse_order``, or for an order whose detail has the wrong shape a TikTokOrder that
    only carries its id, status and ``problem`` (so the relay reports it and never sends it).
    The problem text names the failure only, never a value (it may hold buyer data)."""
    try:
        return parse_order(raw)
    except (KeyError, TypeError, ValueError, AttributeError, ArithmeticError) as exc:
        order_id = raw.get("id")
        if order_id in (None, ""):
            log.warning("TikTok order detail without an id left out (%s)", type(exc).__name__)
            return None
        now = datetime.now(UTC)
        status = raw.get("status")
        log.warning(
            "TikTok order %s: detail has the wrong shape (%s)", order_id, type(exc).__name__
        )
        return TikTokOrder(
            id=str(order_id),
            status=status if isinstance(status, str) else "",
            create_time=now,
            update_time=now,
            currency="",
            lines=(),
            problem=f"order detail has the wrong shape ({type(exc).__name__})",
        )


def parse_order(raw: Mapping[str, Any]) -> TikTokOrder:
    """A :class:`TikTokOrder` from the API order object; one line per ``sku_id`` [order-detail].

    Units cancelled on their own are left out while the order is live; a cancelled order
    keeps all its units (the report shows what was cancelled).
    """
    payment = raw.get("payment") or {}
    currency = payment.get("currency") or ""
    grouped: dict[str, list[Mapping[str, Any]]] = {}
    order_cancelled = str(raw.get("status") or "") == "CANCELLED"
    for item in raw.get("line_items") or []:
        if item.get("sku_id") in (None, ""):
            raise ValueError("line item without sku_id")
        if not order_cancelled and item.get("display_status") == "CANCELLED":
            # A unit cancelled on its own (US/UK; line_items[].display_status + cancel_user,
            # TikTok Shop SDK model GetOrderDetailResponseDataOrdersLineItems, copy at
            # https://github.com/yangyiqian0312/super-succotash/blob/ce365d3e8d883a20d2a290a81d1a0c6855840109/model/order/V202309/GetOrderDetailResponseDataOrdersLineItems.ts):
            # only live units are part of the order to fulfil.
            continue
        grouped.setdefault(str(item.get("sku_id")), []).append(item)
    lines = []
    for sku_id, items in grouped.items():
        first = items[0]
        # unit_price = mean sale_price of the units (whether it is net of line discounts is
        # UNCONFIRMED, [order-detail]); units of one SKU normally share one price.
        total = sum((_decimal(i.get("sale_price")) or Decimal(0) for i in items), Decimal(0))
        unit = (total / len(items)).quantize(Decimal("0.01"))
        currency = currency or first.get("currency") or ""
        lines.append(
            OrderLine(
                sku_id=sku_id,
                product_id=str(first.get("product_id") or ""),
                seller_sku=first.get("seller_sku") or None,
                quantity=len(items),
                unit_price=unit,
                title=first.get("product_name") or None,
            )
        )
    recipient, masked = parse_address(raw.get("recipient_address"), raw.get("buyer_email"))
    return TikTokOrder(
        id=str(raw["id"]),
        status=str(raw.get("status") or ""),
        create_time=_utc(raw.get("create_time")),
        update_time=_utc(raw.get("update_time")),
        currency=currency,
        lines=tuple(lines),
        shipping_type=raw.get("shipping_type"),
        fulfillment_type=raw.get("fulfillment_type"),
        recipient=recipient,
        buyer_email=raw.get("buyer_email") or None,
        buyer_message=raw.get("buyer_message") or None,
        shipping_fee=_decimal(payment.get("shipping_fee")),
        total=_decimal(payment.get("total_amount")),
        masked=masked,
    )


__all__ = [
    "TIKTOK_API_BASE",
    "TIKTOK_AUTH_BASE",
    "TikTokClient",
    "check",
    "parse_order",
    "sign",
    "verify_webhook",
]
