"""Local emulator of the TikTok Shop Open API (202309 family), for tests and demos.

Serve it with :func:`sandbox.server.serve_in_thread` and point a client at the base URL for
both the business host and the auth host (``/api/v2/token/get|refresh`` are served too).

Sandbox credentials (change them with ``PUT /_sandbox/credentials``)::

    app_key        6sandboxappkey
    app_secret     sandbox-app-secret-0000
    access_token   TTP_sandbox_access_token_0001   (valid 7 days from start)
    refresh_token  TTP_sandbox_refresh_token_0001
    auth_code      sandbox-auth-code               (single use, for /api/v2/token/get)
    shop_cipher    from the fixture (default ROW_sandboxcipher0001)

Admin endpoints (not part of the real API), all under ``/_sandbox/``:

- ``PUT load`` (a :class:`sandbox.fixture.Fixture` JSON; its ``tiktok`` and ``orders`` parts),
  ``GET state`` (shop, warehouses, products with SKU price and stock per warehouse, orders
  unmasked with their status history, webhook deliveries);
- ``GET|PUT faults``, ``GET|DELETE requests`` (shared, :mod:`sandbox.faults`);
- ``PUT throttle`` ``{"enabled": bool, "scale": float, "qps": float, "throttle_next": N}``;
- ``POST orders``: a list of OrderFixture-like dicts (extra keys ``fulfillment_type``,
  ``update_time``) or ``{"generate": N, "seed": S, "shipping_type_mix": {"SELLER": .7,
  "TIKTOK": .3}, "status_mix": {...} | "status": ..., "fbt_rate": f, "max_lines": n,
  "max_quantity": n, "line_cancel_rate": f}``; ``POST orders/{id}/status``
  ``{"status": "AWAITING_SHIPMENT"}``; ``POST orders/{id}/lines/cancel`` ``{"line_ids": [...]}``
  or ``{"sku_id": id, "count": n}`` (single units cancelled, US/UK; ``cancel_user``);
- ``GET|PUT webhooks`` ``{"address": url, "event_types": [...]}`` (deliveries are listed);
- ``PUT credentials`` (``app_key``, ``app_secret``, ``access_token``, ``refresh_token``,
  ``auth_code``, ``expire_access_tokens: true``);
- ``PUT settings`` ``{"mask_platform_shipping": bool, "search_window": int,
  "webhook_cancel_status": "CANCELLED" | "CANCEL"}``;
- loop back (:mod:`sandbox.tiktok.loopback`): ``GET|PUT loopback`` (market US|SEA,
  correction window, buyer-request deadline, SLA spans, ``auto_cancel_overdue``, split and
  warning switches, delivery options; lists packages and cancellations),
  ``POST loopback/advance`` ``{"seconds": N}`` / ``{"package_id": id}``, and
  ``POST orders/{id}/loopback`` ``{"action": "cancel" | "request_cancel" |
  "delivery_option", ...}``.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.routing import Route

from sandbox.faults import FaultInjector, admin_routes
from sandbox.fixture import Fixture
from sandbox.tiktok import app as api
from sandbox.tiktok.signing import request_sign, webhook_sign
from sandbox.tiktok.state import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_AUTH_CODE,
    DEFAULT_REFRESH_TOKEN,
    TikTokEmulator,
)
from sandbox.tiktok.throttle import Throttle

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_APP_KEY",
    "DEFAULT_APP_SECRET",
    "DEFAULT_AUTH_CODE",
    "DEFAULT_REFRESH_TOKEN",
    "TikTokEmulator",
    "create_app",
    "request_sign",
    "webhook_sign",
]

_METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH"]


def create_app(
    fixture: Fixture | None = None, *, throttle: bool = True, rate_scale: float = 1.0
) -> FaultInjector:
    """The emulator as an ASGI app wrapped in :class:`sandbox.faults.FaultInjector`.

    ``app.state.emulator`` is the :class:`TikTokEmulator`, ``app.state.faults`` the injector,
    ``app.state.throttle`` the server-side rate limiter (``throttle`` on/off, ``rate_scale``
    multiplies the documented QPS).
    """
    emulator = TikTokEmulator(fixture)
    limiter = Throttle(enabled=throttle, scale=rate_scale)
    inner = Starlette(
        routes=[
            *api.admin_routes(),
            *(Route(path, api.token_api, methods=["GET", "POST"]) for path in api.TOKEN_PATHS),
            Route("/{path:path}", api.business_api, methods=_METHODS),
        ]
    )
    injector = FaultInjector(inner, operation_of=api.operation_of, error_body=api.error_body)
    inner.router.routes[0:0] = admin_routes(injector)
    inner.state.emulator = emulator
    inner.state.throttle = limiter
    inner.state.faults = injector
    injector.state = inner.state  # type: ignore[attr-defined]
    return injector
