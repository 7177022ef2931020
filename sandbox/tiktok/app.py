"""HTTP surface of the TikTok Shop emulator: the Open API routes and the admin routes.

Each business request goes through the gateway checks of TikTok's common parameters
(https://partner.tiktokshop.com/docv2/page/678e3a4278f4c20311b8b57e), signing
(https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf), errors
(https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942) and rate limits
(https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0) in this order: route and
method, rate limit (429/36009002), ``app_key``, ``timestamp`` window, ``sign`` (106001 on mismatch),
``x-tts-access-token`` (36009004 / 105002), ``shop_cipher`` (106013 missing on shop-scoped paths,
36009004 present on Get Authorized Shops, 101000 not this token's shop), content type for bodies
(36009022). Then the handler runs.

Sources cited by name below:

- Common parameters: https://partner.tiktokshop.com/docv2/page/678e3a4278f4c20311b8b57e
- Sign your API request: https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf
- Search Products: https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369
- Webhook configuration: https://partner.tiktokshop.com/docv2/page/650512b42f024f02be19755f
- Authorization guide: https://partner.tiktokshop.com/docv2/page/678e3a2dbd083702fd17455c
"""

from __future__ import annotations

import base64
import json
import re
import struct
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Scope

from sandbox.faults import ADMIN_PREFIX
from sandbox.fixture import Fixture
from sandbox.tiktok import codes, loopback
from sandbox.tiktok.signing import accepted_signs
from sandbox.tiktok.state import ApiFailure, TikTokEmulator
from sandbox.tiktok.throttle import Throttle

TIMESTAMP_PAST_S = 300  # Common parameters: now - 5 min ... now + 30 s
TIMESTAMP_FUTURE_S = 30
MAX_PAGE_SIZE = 100
MAX_ORDER_IDS = 50

Handler = Callable[["Call"], Awaitable[Any]]


@dataclass
class Call:
    """A request that passed the gateway checks."""

    request: Request
    emulator: TikTokEmulator
    query: dict[str, str]
    body: bytes
    match: re.Match[str]

    def json(self) -> Any:
        if not self.body:
            return {}
        try:
            return json.loads(self.body)
        except ValueError:
            raise ApiFailure(codes.INVALID_PARAMETER, "request body is not valid JSON") from None


@dataclass(frozen=True)
class Endpoint:
    method: str
    pattern: re.Pattern[str]
    operation: str
    handler: Handler
    shop_scoped: bool = True


def request_id() -> str:
    return uuid.uuid4().hex.upper()[:32]


def envelope(
    data: Any, *, code: int = 0, message: str = "Success", status: int = 200
) -> JSONResponse:
    return JSONResponse(
        {"code": code, "message": message, "request_id": request_id(), "data": data},
        status_code=status,
    )


def failure(exc: ApiFailure) -> JSONResponse:
    return envelope(None, code=exc.code, message=exc.message, status=exc.status)


# -- page tokens ---------------------------------------------------------------------------
# Opaque standard-base64 tokens; the fixed prefix makes them contain '+' and '/' like real
# order page tokens do (Sign your API request), so a client that does not percent-encode them fails
# here.
_TOKEN_PREFIX = b"\xfb\xef\xff"


def make_page_token(kind: str, offset: int) -> str:
    return base64.b64encode(_TOKEN_PREFIX + kind.encode() + struct.pack(">I", offset)).decode()


def read_page_token(kind: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.b64decode(token, validate=True)
    except ValueError:
        raw = b""
    head = _TOKEN_PREFIX + kind.encode()
    if not raw.startswith(head) or len(raw) != len(head) + 4:
        # Code for a bad page token is UNCONFIRMED; the generic invalid-parameter one is used.
        raise ApiFailure(codes.INVALID_PARAMETER, "page_token is invalid")
    return struct.unpack(">I", raw[len(head) :])[0]


def page_size_of(query: dict[str, str]) -> int:
    raw = query.get("page_size", "")
    if not raw.isdigit() or not 1 <= int(raw) <= MAX_PAGE_SIZE:
        raise ApiFailure(
            codes.PAGE_SIZE_INVALID,
            f"page_size is required and must be between 1 and {MAX_PAGE_SIZE}",
        )
    return int(raw)


# -- business handlers ---------------------------------------------------------------------
async def authorized_shops(call: Call) -> Any:
    return {"shops": [dict(call.emulator.shop)]}


def _product_summary(product: Any) -> dict[str, Any]:
    return {
        "id": product.id,
        "title": product.title,
        "status": product.status,
        "create_time": product.create_time,
        "update_time": product.update_time,
        "sales_regions": ["US"],
        "skus": [
            {
                "id": s.id,
                "seller_sku": s.seller_sku,
                # Local seller read side: currency + tax_exclusive_price, no amount (Search
                # Products).
                "price": {"currency": s.currency, "tax_exclusive_price": f"{s.price:.2f}"},
                "inventory": [{"warehouse_id": w, "quantity": q} for w, q in s.inventory.items()],
            }
            for s in product.skus
        ],
    }


async def search_products(call: Call) -> Any:
    size = page_size_of(call.query)
    offset = read_page_token("products", call.query.get("page_token"))
    found = call.emulator.search_products(call.json())
    if offset + size > call.emulator.search_window:
        raise ApiFailure(
            codes.SEARCH_WINDOW_EXCEEDED,
            f"The search result window cannot exceed {call.emulator.search_window}.",
        )
    page = found[offset : offset + size]
    more = offset + size < len(found)
    return {
        "total_count": len(found),
        "next_page_token": make_page_token("products", offset + size) if more else "",
        "products": [_product_summary(p) for p in page],
    }


async def get_product(call: Call) -> Any:
    product = call.emulator.product(call.match["product_id"])
    data = _product_summary(product)
    for sku_out, sku in zip(data["skus"], product.skus, strict=True):
        sku_out["price"] = {
            "currency": sku.currency,
            "sale_price": f"{sku.price:.2f}",
            "tax_exclusive_price": f"{sku.price:.2f}",
        }
        sku_out["sales_attributes"] = [
            {
                "id": str(7_000_000_000 + i),
                "name": name,
                "value_id": str(8_000_000_000 + i),
                "value_name": value,
            }
            for i, (name, value) in enumerate(sku.sales_attributes.items())
        ]
        sku_out["external_sku_id"] = ""
        if sku.barcode:  # identifier_code{code, type}: https://partner.tiktokshop.com/docv2/page/6509d85b4a0bb702c057fdda
            kind = {12: "UPC", 13: "EAN"}.get(len(sku.barcode), "GTIN")
            sku_out["identifier_code"] = {"code": sku.barcode, "type": kind}
    data |= {
        "description": f"<p>{product.title}</p>",
        "product_status": product.status,
        "is_cod_allowed": False,
    }
    return data


async def update_inventory(call: Call) -> Any:
    return call.emulator.update_inventory(call.match["product_id"], call.json())


async def update_price(call: Call) -> Any:
    return call.emulator.update_price(call.match["product_id"], call.json())


async def inventory_search(call: Call) -> Any:
    body = call.json()
    em = call.emulator
    sku_ids = body.get("sku_ids") or []
    product_ids = body.get("product_ids") or []
    if (sku_ids and len(sku_ids) > 600) or (product_ids and len(product_ids) > 100):
        raise ApiFailure(codes.INVALID_PARAMETER, "too many ids")
    out = []
    for product in em.search_products({}):
        if sku_ids:
            skus = [s for s in product.skus if s.id in sku_ids]
        elif product.id in product_ids:
            skus = product.skus
        else:
            skus = []
        if skus:
            out.append(
                {
                    "product_id": product.id,
                    "skus": [
                        {
                            "id": s.id,
                            "seller_sku": s.seller_sku,
                            "total_available_quantity": sum(s.inventory.values()),
                            "total_committed_quantity": 0,
                            "warehouse_inventory": [
                                {
                                    "warehouse_id": w,
                                    "available_quantity": q,
                                    "committed_quantity": 0,
                                }
                                for w, q in s.inventory.items()
                            ],
                        }
                        for s in skus
                    ],
                }
            )
    return {"inventory": out}


async def warehouses(call: Call) -> Any:
    return {
        "warehouses": [
            {
                "id": w["id"],
                "name": w["name"],
                "effect_status": "ENABLED",
                "type": w["type"],
                "sub_type": "DOMESTIC_WAREHOUSE",
                "is_default": w["is_default"],
                "address": {
                    "region": "United States",
                    "region_code": "US",
                    "state": "California",
                    "city": "Los Angeles",
                    "postal_code": "90001",
                    "full_address": "100 Sandbox Way, Los Angeles, CA 90001",
                    "contact_person": "Warehouse",
                    "phone_number": "555****0100",
                },
            }
            for w in call.emulator.warehouses
        ]
    }


async def search_orders(call: Call) -> Any:
    size = page_size_of(call.query)
    sort_field = call.query.get("sort_field", "create_time")
    sort_order = call.query.get("sort_order", "DESC")
    if sort_field not in ("create_time", "update_time") or sort_order not in ("ASC", "DESC"):
        raise ApiFailure(codes.INVALID_PARAMETER, "sort_field/sort_order invalid")
    offset = read_page_token("orders", call.query.get("page_token"))
    found = call.emulator.search_orders(call.json(), sort_field, sort_order)
    page = found[offset : offset + size]
    more = offset + size < len(found)
    return {
        "total_count": len(found),
        "next_page_token": make_page_token("orders", offset + size) if more else "",
        "orders": call.emulator.render_orders(page),
    }


async def order_detail(call: Call) -> Any:
    ids = [i for i in call.query.get("ids", "").split(",") if i]
    if not ids or len(ids) > MAX_ORDER_IDS:
        raise ApiFailure(codes.INVALID_PARAMETER, f"ids must hold 1 to {MAX_ORDER_IDS} order ids")
    em = call.emulator
    orders = []
    for order_id in ids:
        order = em.orders.get(order_id)
        if order is None:
            raise ApiFailure(
                codes.ORDER_NOT_OWNED, f"order {order_id} does not belong to the seller"
            )
        orders.append(order)
    return {"orders": em.render_orders(orders)}


async def get_webhooks(call: Call) -> Any:
    hooks = call.emulator.webhook_addresses
    return {
        "total_count": len(hooks),
        "webhooks": [
            {"event_type": k, "address": v, "create_time": 0, "update_time": 0}
            for k, v in hooks.items()
        ],
    }


async def put_webhook(call: Call) -> Any:
    body = call.json()
    address = str(body.get("address") or "")
    # The live API wants https on a domain (Webhook configuration); the emulator accepts http
    # loopback too.
    if not address.startswith(("http://", "https://")) or len(address) > 255:
        raise ApiFailure(codes.INVALID_PARAMETER, "address must be a URL of at most 255 chars")
    call.emulator.set_webhook(str(body.get("event_type") or ""), address)
    return {}


async def delete_webhook(call: Call) -> Any:
    call.emulator.set_webhook(str(call.json().get("event_type") or ""), None)
    return {}


def _ep(method: str, path: str, operation: str, handler: Handler, *, shop: bool = True) -> Endpoint:
    regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[0-9]+)", path)
    return Endpoint(method, re.compile(f"^{regex}$"), operation, handler, shop)


ENDPOINTS: tuple[Endpoint, ...] = (
    _ep("GET", "/authorization/202309/shops", "authorization.shops", authorized_shops, shop=False),
    *(
        _ep("POST", f"/product/{v}/products/search", "product.search", search_products)
        for v in ("202309", "202312", "202502")
    ),
    _ep("GET", "/product/202309/products/{product_id}", "product.get", get_product),
    _ep(
        "POST",
        "/product/202309/products/{product_id}/inventory/update",
        "product.update_inventory",
        update_inventory,
    ),
    _ep(
        "POST",
        "/product/202309/products/{product_id}/prices/update",
        "product.update_price",
        update_price,
    ),
    _ep("POST", "/product/202309/inventory/search", "product.inventory_search", inventory_search),
    _ep("GET", "/logistics/202309/warehouses", "logistics.warehouses", warehouses),
    _ep("POST", "/order/202309/orders/search", "order.search", search_orders),
    *(_ep("GET", f"/order/{v}/orders", "order.detail", order_detail) for v in ("202309", "202507")),
    _ep("GET", "/event/202309/webhooks", "event.webhooks", get_webhooks),
    _ep("PUT", "/event/202309/webhooks", "event.update_webhook", put_webhook),
    _ep("DELETE", "/event/202309/webhooks", "event.delete_webhook", delete_webhook),
    *(_ep(m, path, op, handler) for m, path, op, handler in loopback.ROUTES),
)
TOKEN_PATHS = {"/api/v2/token/get": "auth.token_get", "/api/v2/token/refresh": "auth.token_refresh"}
_ANY_VERSION = tuple(
    re.compile(re.sub(r"/\d{6}/", "/\\\\d{6}/", e.pattern.pattern, count=1)) for e in ENDPOINTS
)


def find_endpoint(method: str, path: str) -> Endpoint:
    """The endpoint of a request, or the documented path / method / version error."""
    same_path = [e for e in ENDPOINTS if e.pattern.match(path)]
    for endpoint in same_path:
        if endpoint.method == method:
            return endpoint
    if same_path:
        raise ApiFailure(codes.INVALID_METHOD, "Invalid method.", 405)
    if any(pattern.match(path) for pattern in _ANY_VERSION):
        raise ApiFailure(
            codes.INVALID_VERSION, "The version name is invalid, please check and retry."
        )
    raise ApiFailure(codes.INVALID_PATH, "Invalid path.", 404)


def operation_of(scope: Scope) -> str | None:
    """Operation name of a request (for fault targeting and request counts)."""
    path = scope["path"]
    if path in TOKEN_PATHS:
        return TOKEN_PATHS[path]
    try:
        return find_endpoint(scope["method"], path).operation
    except ApiFailure:
        return None


def error_body(status: int) -> tuple[int, dict[str, Any]]:
    """Body of an injected 5xx: TikTok's envelope with the internal-error code."""
    return status, {
        "code": codes.INTERNAL_ERROR,
        "message": "Internal error, please retry.",
        "request_id": request_id(),
        "data": None,
    }


# -- gateway -------------------------------------------------------------------------------
async def business_api(request: Request) -> Response:
    """Entry point of every Open API path: gateway checks, then the endpoint handler."""
    emulator: TikTokEmulator = request.app.state.emulator
    throttle: Throttle = request.app.state.throttle
    try:
        endpoint = find_endpoint(request.method, request.url.path)
        # decoded values ('+' becomes a space): Sign your API request
        query = dict(request.query_params)
        if not throttle.allow(endpoint.operation, query.get("shop_cipher", "")):
            return envelope(
                None,
                code=codes.TOO_MANY_REQUESTS,
                message="Too many requests. Please retry later.",
                status=429,
            )
        body = await request.body()
        _gateway(emulator, request, endpoint, query, body)
        match = endpoint.pattern.match(request.url.path)
        assert match is not None
        data = await endpoint.handler(Call(request, emulator, query, body, match))
    except ApiFailure as exc:
        return failure(exc)
    return envelope(data)


def _gateway(
    emulator: TikTokEmulator,
    request: Request,
    endpoint: Endpoint,
    query: dict[str, str],
    body: bytes,
) -> None:
    creds = emulator.credentials
    bad = codes.INVALID_CREDENTIALS
    if query.get("app_key") != creds.app_key:
        raise ApiFailure(bad, "Invalid credentials. The 'app_key' is invalid.", 401)
    stamp = query.get("timestamp", "")
    if not stamp.isdigit():
        raise ApiFailure(bad, "Invalid credentials. The 'timestamp' is missing or invalid.", 401)
    now = emulator.now()
    if int(stamp) < now - TIMESTAMP_PAST_S:
        raise ApiFailure(bad, "Invalid credentials. The 'timestamp' is expired.", 401)
    if int(stamp) > now + TIMESTAMP_FUTURE_S:
        raise ApiFailure(bad, "Invalid credentials. The 'timestamp' is in the future.", 401)
    sign = query.get("sign")
    if not sign:
        raise ApiFailure(bad, "Invalid credentials. The 'sign' query parameter is missing.", 401)
    if sign not in accepted_signs(creds.app_secret, request.url.path, query, body):
        raise ApiFailure(
            codes.INVALID_SIGN, "Invalid credentials. The 'sign' query parameter is invalid.", 401
        )
    emulator.check_access_token(request.headers.get("x-tts-access-token"))
    cipher = query.get("shop_cipher")
    if endpoint.shop_scoped:
        if not cipher:
            raise ApiFailure(codes.CIPHER_REQUIRED, "shop_cipher is required.", 400)
        emulator.check_cipher(cipher)
    elif cipher is not None:
        raise ApiFailure(bad, "Unexpected identifier: shop_cipher.", 400)
    if body and request.method in ("POST", "PUT", "DELETE"):
        ctype = request.headers.get("content-type", "")
        if not ctype.startswith("application/json"):
            raise ApiFailure(codes.CONTENT_TYPE, "Content-Type must be application/json.")


async def token_api(request: Request) -> Response:
    """``/api/v2/token/get`` and ``/refresh`` (no sign; app_secret in the query: Authorization
    guide)."""
    emulator: TikTokEmulator = request.app.state.emulator
    q = request.query_params
    try:
        if request.url.path.endswith("/get"):
            data = emulator.token_get(
                q.get("app_key", ""),
                q.get("app_secret", ""),
                q.get("auth_code", ""),
                q.get("grant_type", ""),
            )
        else:
            data = emulator.token_refresh(
                q.get("app_key", ""),
                q.get("app_secret", ""),
                q.get("refresh_token", ""),
                q.get("grant_type", ""),
            )
    except ApiFailure as exc:
        return failure(exc)
    return envelope(data, message="success")


# -- admin ---------------------------------------------------------------------------------
def _admin_error(message: str, status: int = 400) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def admin_load(request: Request) -> Response:
    try:
        fixture = Fixture.model_validate_json(await request.body())
    except ValueError as exc:
        return _admin_error(str(exc))
    request.app.state.emulator.load(fixture)
    return JSONResponse({"ok": True})


async def admin_state(request: Request) -> Response:
    return JSONResponse(request.app.state.emulator.snapshot())


async def admin_throttle(request: Request) -> Response:
    throttle: Throttle = request.app.state.throttle
    if request.method == "PUT":
        try:
            data = json.loads(await request.body() or b"{}")
            throttle.configure(
                enabled=data.get("enabled"),
                scale=None if data.get("scale") is None else float(data["scale"]),
                qps=None if data.get("qps") is None else float(data["qps"]),
                force=None if data.get("throttle_next") is None else int(data["throttle_next"]),
            )
        except (ValueError, TypeError, AttributeError) as exc:
            return _admin_error(str(exc))
    return JSONResponse(throttle.describe())


async def admin_orders(request: Request) -> Response:
    emulator: TikTokEmulator = request.app.state.emulator
    try:
        data = json.loads(await request.body() or b"{}")
        if isinstance(data, dict) and "generate" in data:
            ids = emulator.generate_orders(data)
        else:
            items = data.get("orders", []) if isinstance(data, dict) else data
            ids = emulator.add_orders(items)
    except (ValueError, TypeError, KeyError) as exc:
        return _admin_error(str(exc))
    return JSONResponse({"ids": ids})


async def admin_order_status(request: Request) -> Response:
    emulator: TikTokEmulator = request.app.state.emulator
    try:
        data = json.loads(await request.body() or b"{}")
        order = emulator.set_order_status(request.path_params["order_id"], str(data["status"]))
    except KeyError as exc:
        return _admin_error(f"unknown order or missing status: {exc}", 404)
    except ValueError as exc:
        return _admin_error(str(exc), 409)
    return JSONResponse({"id": order.id, "status": order.status, "update_time": order.update_time})


async def admin_cancel_lines(request: Request) -> Response:
    """Cancel single line items: ``{"line_ids": [...]}`` or ``{"sku_id": ..., "count": n}``,
    optional ``cancel_user`` (default BUYER)."""
    emulator: TikTokEmulator = request.app.state.emulator
    try:
        data = json.loads(await request.body() or b"{}")
        order = emulator.cancel_lines(
            request.path_params["order_id"],
            [str(i) for i in data["line_ids"]] if "line_ids" in data else None,
            sku_id=data.get("sku_id"),
            count=int(data.get("count", 1)),
            user=str(data.get("cancel_user", "BUYER")),
        )
    except KeyError as exc:
        return _admin_error(f"unknown order: {exc}", 404)
    except ValueError as exc:
        return _admin_error(str(exc), 409)
    cancelled = [u.id for u in order.lines if u.cancel_user]
    return JSONResponse({"id": order.id, "status": order.status, "cancelled_lines": cancelled})


async def admin_webhooks(request: Request) -> Response:
    emulator: TikTokEmulator = request.app.state.emulator
    if request.method == "PUT":
        data = json.loads(await request.body() or b"{}")
        address = data.get("address")
        try:
            for event_type in data.get("event_types") or ["ORDER_STATUS_CHANGE"]:
                emulator.set_webhook(event_type, address)
        except ApiFailure as exc:
            return _admin_error(exc.message)
    return JSONResponse(
        {
            "addresses": dict(emulator.webhook_addresses),
            "deliveries": [d.describe() for d in emulator.webhooks.deliveries],
        }
    )


async def admin_credentials(request: Request) -> Response:
    emulator: TikTokEmulator = request.app.state.emulator
    data = json.loads(await request.body() or b"{}")
    if data.pop("expire_access_tokens", False):
        emulator.expire_access_tokens()
    emulator.configure_credentials(**data)
    return JSONResponse({"ok": True})


async def admin_settings(request: Request) -> Response:
    emulator: TikTokEmulator = request.app.state.emulator
    data = json.loads(await request.body() or b"{}")
    if "mask_platform_shipping" in data:
        emulator.mask_platform_shipping = bool(data["mask_platform_shipping"])
    if "search_window" in data:
        emulator.search_window = int(data["search_window"])
    if data.get("webhook_cancel_status") in ("CANCELLED", "CANCEL"):
        emulator.webhook_cancel_status = data["webhook_cancel_status"]
    return JSONResponse(
        {
            "mask_platform_shipping": emulator.mask_platform_shipping,
            "search_window": emulator.search_window,
            "webhook_cancel_status": emulator.webhook_cancel_status,
        }
    )


def admin_routes() -> list[Route]:
    """TikTok-specific admin endpoints (the shared faults/requests ones are added too)."""
    p = ADMIN_PREFIX
    return [
        Route(f"{p}/load", admin_load, methods=["PUT"]),
        Route(f"{p}/state", admin_state, methods=["GET"]),
        Route(f"{p}/throttle", admin_throttle, methods=["GET", "PUT"]),
        Route(f"{p}/orders", admin_orders, methods=["POST"]),
        Route(f"{p}/orders/{{order_id}}/status", admin_order_status, methods=["POST"]),
        Route(f"{p}/orders/{{order_id}}/lines/cancel", admin_cancel_lines, methods=["POST"]),
        Route(f"{p}/webhooks", admin_webhooks, methods=["GET", "PUT"]),
        Route(f"{p}/credentials", admin_credentials, methods=["PUT"]),
        Route(f"{p}/settings", admin_settings, methods=["PUT"]),
        *loopback.admin_routes(),
    ]
