"""HTTP face of the Amazon SP-API emulator: routing, LWA auth, usage plans, headers.

Routing works on the raw request path so that every path parameter is percent-decoded
exactly once; a path that matches no route (e.g. a SKU with an unencoded ``/``) gets
403 Unauthorized like Amazon (observed: github.com/amzn/selling-partner-api-models/issues/1100).
Every SP-API route needs a valid ``x-amz-access-token``; a SigV4 ``Authorization`` header is ignored
(https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4).

Sources cited by name below:

- models: sandbox/amazon/models/
- usage plans: https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits
- error envelope: ``ErrorList`` in sandbox/amazon/models/; unknown route:
  https://github.com/amzn/selling-partner-api-models/issues/1100
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import asdict
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sandbox.amazon.state import AmazonEmulator, ReportOptions, dumps, error
from sandbox.amazon.throttle import Throttle
from sandbox.faults import ADMIN_PREFIX, FaultInjector, admin_routes
from sandbox.fixture import Fixture

# (method, path pattern, operation, needs SP-API auth); {x} = one decoded path segment.
ROUTES: list[tuple[str, str, str, bool]] = [
    ("POST", "/auth/o2/token", "lwaToken", False),
    ("GET", "/listings/2021-08-01/items/{sellerId}", "searchListingsItems", True),
    ("GET", "/listings/2021-08-01/items/{sellerId}/{sku}", "getListingsItem", True),
    ("PATCH", "/listings/2021-08-01/items/{sellerId}/{sku}", "patchListingsItem", True),
    ("GET", "/fba/inventory/v1/summaries", "getInventorySummaries", True),
    ("POST", "/reports/2021-06-30/reports", "createReport", True),
    ("GET", "/reports/2021-06-30/reports/{reportId}", "getReport", True),
    ("GET", "/reports/2021-06-30/documents/{reportDocumentId}", "getReportDocument", True),
    ("GET", "/_s3/report-documents/{documentId}", "downloadReportDocument", False),
    ("POST", "/fba/outbound/2020-07-01/fulfillmentOrders", "createFulfillmentOrder", True),
    ("GET", "/fba/outbound/2020-07-01/fulfillmentOrders", "listAllFulfillmentOrders", True),
    ("GET", "/fba/outbound/2020-07-01/tracking", "getPackageTrackingDetails", True),
    (
        "GET",
        "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}",
        "getFulfillmentOrder",
        True,
    ),
    (
        "PUT",
        "/fba/outbound/2020-07-01/fulfillmentOrders/{sellerFulfillmentOrderId}/cancel",
        "cancelFulfillmentOrder",
        True,
    ),
]
_COMPILED = [
    (method, re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$"), op, auth)
    for method, pattern, op, auth in ROUTES
]
DENIED = error("Unauthorized", "Access to requested resource is denied.")
# observed body: https://github.com/saleweaver/python-amazon-sp-api/issues/1042
THROTTLED = error("QuotaExceeded", "You exceeded your quota for the requested resource.", "")


def raw_path(scope: Scope) -> str:
    """The path as sent on the wire (still percent-encoded)."""
    raw = scope.get("raw_path")
    if raw:
        return raw.split(b"?", 1)[0].decode("latin-1")
    return quote(scope["path"])


def match(scope: Scope) -> tuple[str, dict[str, str], bool] | None:
    """``(operation, decoded path params, needs auth)`` for a request, or None (no route)."""
    path = raw_path(scope)
    for method, regex, op, auth in _COMPILED:
        m = regex.match(path)
        if m and scope["method"] == method:
            return op, {k: unquote(v) for k, v in m.groupdict().items()}, auth
    return None


def operation_of(scope: Scope) -> str | None:
    """The SP-API operation name of a request (for FaultInjector counting and faults)."""
    found = match(scope)
    return found[0] if found else None


def fault_body(status: int) -> tuple[int, dict[str, Any]]:
    if status == 503:
        return status, error("ServiceUnavailable", "Service temporarily unavailable. Please retry.")
    return status, error("InternalFailure", "We encountered an internal error. Please try again.")


class RequestIdMiddleware:
    """Adds ``x-amzn-RequestId`` to every response that lacks one (models)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if not any(k.lower() == b"x-amzn-requestid" for k, _ in headers):
                    headers.append((b"x-amzn-RequestId", str(uuid.uuid4()).encode()))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, with_id)


def create_app(
    fixture: Fixture | None = None, *, throttle: bool = True, rate_scale: float = 1.0
) -> FaultInjector:
    """The emulator app: SP-API routes, LWA, pre-signed downloads and ``/_sandbox`` admin."""
    emulator = AmazonEmulator(fixture)
    limits = Throttle(enabled=throttle, scale=rate_scale)

    def reply(status: int, body: Any, operation: str | None = None) -> Response:
        headers = {}
        limit = limits.limit_header(operation) if operation else None
        if limit is not None and (status < 300 or status in (400, 404)):
            headers["x-amzn-RateLimit-Limit"] = limit  # only on 2xx/400/404 (usage plans)
        return Response(
            dumps(body), status_code=status, headers=headers, media_type="application/json"
        )

    async def json_body(request: Request) -> Any:
        try:
            return json.loads(await request.body() or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            return None

    async def dispatch(request: Request) -> Response:
        found = match(request.scope)
        if found is None:
            return reply(403, DENIED)  # unknown route -> 403, not 404 (error envelope)
        op, params, needs_auth = found
        query = parse_qs(request.url.query, keep_blank_values=True)
        if op == "lwaToken":
            form = parse_qs((await request.body()).decode("utf-8", "replace"))
            status, body = emulator.issue_token({k: v[0] for k, v in form.items()})
            return JSONResponse(body, status_code=status)
        if op == "downloadReportDocument":
            status, data, content_type = emulator.download(params["documentId"], query)
            return Response(data, status_code=status, media_type=content_type)
        if needs_auth:
            problem = emulator.token_problem(request.headers.get("x-amz-access-token"))
            if problem is not None:
                return reply(403, error("Unauthorized", DENIED["errors"][0]["message"], problem))
        if not limits.allow(op):
            return reply(429, THROTTLED)  # no x-amzn-RateLimit-Limit on 429 (usage plans)
        body: Any = None
        if request.method in ("POST", "PUT", "PATCH") and op != "cancelFulfillmentOrder":
            body = await json_body(request)
            if body is None or not isinstance(body, dict):
                return reply(
                    400, error("InvalidInput", "The request body is not a JSON object."), op
                )
        emulator.apply_due_patches()
        status, out = handle(op, params, query, body, str(request.base_url))
        return reply(status, out, op)

    def handle(
        op: str, p: dict[str, str], q: dict[str, list[str]], body: Any, base: str
    ) -> tuple[int, Any]:
        if op == "getListingsItem":
            return emulator.get_listing(p["sellerId"], p["sku"], q)
        if op == "searchListingsItems":
            return emulator.search_listings(p["sellerId"], q)
        if op == "patchListingsItem":
            return emulator.patch_listing(p["sellerId"], p["sku"], q, body)
        if op == "getInventorySummaries":
            return emulator.inventory_summaries(q)
        if op == "createReport":
            return emulator.create_report(body)
        if op == "getReport":
            return emulator.get_report(p["reportId"])
        if op == "getReportDocument":
            return emulator.report_document(p["reportDocumentId"], base)
        if op == "createFulfillmentOrder":
            return emulator.create_order(body)
        if op == "getFulfillmentOrder":
            return emulator.get_order(p["sellerFulfillmentOrderId"])
        if op == "cancelFulfillmentOrder":
            return emulator.cancel_order(p["sellerFulfillmentOrderId"])
        if op == "listAllFulfillmentOrders":
            return emulator.list_orders(q)
        if op == "getPackageTrackingDetails":
            return emulator.package_tracking(q)
        return 403, DENIED  # pragma: no cover - every routed operation is handled above

    # ----- admin ------------------------------------------------------------------------
    async def load(request: Request) -> JSONResponse:
        try:
            emulator.load(Fixture.model_validate_json(await request.body()))
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"ok": True, "listings": len(emulator.listings)})

    async def state(_: Request) -> JSONResponse:
        return JSONResponse(json.loads(dumps(emulator.snapshot())))

    async def fixture_out(_: Request) -> JSONResponse:
        return JSONResponse(json.loads(emulator.export_side().model_dump_json()))

    async def put_throttle(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        limits.configure(enabled=data.get("enabled"), scale=data.get("scale"))
        return JSONResponse({"enabled": limits.enabled, "scale": limits.scale})

    async def expire_tokens(_: Request) -> JSONResponse:
        return JSONResponse({"expired": emulator.expire_tokens()})

    async def put_reports(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        try:
            options = ReportOptions(
                **{k: tuple(v) if k == "statuses" else v for k, v in data.items()}
            )
        except TypeError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        emulator.report_options = options
        return JSONResponse(asdict(options))

    async def put_mcf(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        options = emulator.mcf.options
        for key in ("progress", "step_s", "carrier", "cancel_error_code"):
            if key in data:
                setattr(options, key, data[key])
        if options.progress not in ("polls", "clock", "manual"):
            return JSONResponse({"error": "progress is polls, clock or manual"}, status_code=400)
        return JSONResponse(asdict(options))

    async def advance_mcf(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        status, body = emulator.advance_order(request.path_params["order_id"], data)
        return JSONResponse(json.loads(dumps(body)), status_code=status)

    async def put_listings(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        if "apply_delay_s" in data:
            emulator.listing_apply_delay_s = float(data["apply_delay_s"])
        return JSONResponse({"apply_delay_s": emulator.listing_apply_delay_s})

    async def put_missing(request: Request) -> JSONResponse:
        data = json.loads(await request.body() or b"{}")
        with emulator.lock:
            emulator.summaries_missing = {str(sku) for sku in data.get("skus") or []}
        return JSONResponse({"skus": sorted(emulator.summaries_missing)})

    admin = [
        Route(f"{ADMIN_PREFIX}/mcf", put_mcf, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/mcf/{{order_id}}/advance", advance_mcf, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/listings", put_listings, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/inventory/missing", put_missing, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/load", load, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/state", state, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/fixture", fixture_out, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/throttle", put_throttle, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/tokens/expire", expire_tokens, methods=["POST"]),
        Route(f"{ADMIN_PREFIX}/reports", put_reports, methods=["PUT"]),
    ]
    methods = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    app = Starlette(routes=[*admin, Route("/{path:path}", dispatch, methods=methods)])
    injector = FaultInjector(
        RequestIdMiddleware(app), operation_of=operation_of, error_body=fault_body
    )
    for route in admin_routes(injector):
        app.router.routes.insert(0, route)
    app.state.emulator = emulator
    app.state.faults = injector
    app.state.throttle = limits
    injector.state = app.state  # type: ignore[attr-defined]
    return injector
