"""Starlette app of the Shopify emulator (the sandbox emulator contract, see sandbox/).

Routes:

- ``POST /admin/api/{version}/graphql.json`` — the Admin GraphQL endpoint; any ``YYYY-MM`` or
  ``unstable`` behaves as 2026-04 (https://shopify.dev/docs/api/usage/versioning). Auth:
  ``X-Shopify-Access-Token``.
- ``GET /_sandbox/bulk/{n}.jsonl`` — bulk operation results (a signed storage URL in real
  life: no token needed).
- admin: ``PUT /_sandbox/load``, ``GET /_sandbox/state``, ``GET|PUT /_sandbox/faults``,
  ``GET|DELETE /_sandbox/requests`` (counts per GraphQL root field, e.g. ``orderCreate``),
  ``PUT /_sandbox/throttle`` (``{"enabled", "scale", "maximum", "available",
  "force": n}``), ``GET|PUT /_sandbox/webhooks`` (``{"url", "topics"?, "secret"?, "delay_s"?,
  "duplicates"?}``: each delivery is sent ``1 + duplicates`` times, ``delay_s`` apart).
- merchant (what a person does in the Shopify admin, see :mod:`sandbox.shopify.fulfil`):
  ``POST /_sandbox/orders/{n}/fulfill`` (``{"lines"?: [{"line_item_id"|"sku",
  "quantity"}], "tracking"?: {"number"|"numbers", "company", "url"}}``; no ``lines`` =
  everything remaining), ``PUT /_sandbox/fulfillments/{n}/tracking`` (same ``tracking``
  shape; replaces the list), ``POST /_sandbox/fulfillments/{n}/cancel``,
  ``POST /_sandbox/jobs/run`` (complete every pending job, e.g. ``orderCancel``) and
  ``PUT /_sandbox/jobs`` (``{"polls_until_done": n}``). ``{n}`` is the numeric id.

Sources cited by name below:

- orderCreate description in the schema: sandbox/shopify/schema/admin_2026-04.json.gz
- search syntax: https://shopify.dev/docs/api/usage/search-syntax
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from graphql import GraphQLError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Receive, Scope, Send

from sandbox.faults import FaultInjector, admin_routes
from sandbox.fixture import Fixture
from sandbox.shopify import fulfil, webhooks
from sandbox.shopify.emulator import UNAUTHORIZED, ShopifyEmulator, root_fields
from sandbox.shopify.state import gid_number

GRAPHQL_PATH = "/admin/api/{version}/graphql.json"
OPERATION_KEY = "sandbox.shopify.operation"


def _error_body(status: int) -> tuple[int, dict[str, Any]]:
    # Shopify 5xx bodies are not GraphQL-shaped; a plain errors string is the safe guess.
    return status, {"errors": "Internal Server Error" if status == 500 else "Service Unavailable"}


def _operation_of(scope: Scope) -> str | None:
    return scope.get(OPERATION_KEY)


class RootFieldNamer:
    """Outermost ASGI layer: reads a GraphQL body once, names the request by its root
    field(s) (``orderCreate``, ``productVariants``, ``a+b`` for several) for the
    FaultInjector's per-operation counts and faults, and replays the body downstream."""

    def __init__(self, app: FaultInjector, starlette_app: Starlette) -> None:
        self.app = app
        self.state = starlette_app.state  # the contract: app.state.emulator / .faults
        self.inner = starlette_app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/graphql.json"):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        scope = {**scope, OPERATION_KEY: _name(body)}
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _name(body: bytes) -> str:
    from sandbox.shopify.emulator import _checked

    try:
        payload = json.loads(body)
        doc, _ = _checked(payload["query"])
        names = root_fields(doc, payload.get("operationName"))
    except (ValueError, KeyError, TypeError, GraphQLError):
        return "graphql"
    return "+".join(names) or "graphql"


def create_app(
    fixture: Fixture | None = None,
    *,
    throttle: bool = True,
    rate_scale: float = 1.0,
    access_token: str | None = None,
    webhook_secret: str | None = None,
    bulk_polls_until_complete: int = 1,
    order_limit_per_minute: int | None = None,
    search_lag_s: float = 0.0,
    job_polls_until_done: int = 1,
) -> RootFieldNamer:
    """The Shopify Admin GraphQL emulator as an ASGI app (see the module docstring).

    ``access_token`` defaults to ``emulator.DEFAULT_ACCESS_TOKEN``
    (``shpat_sandbox0000000000000000000000``), ``webhook_secret`` (the app client secret
    used for webhook HMACs) to ``emulator.DEFAULT_WEBHOOK_SECRET``. Optional realism:
    ``order_limit_per_minute`` (dev-store orderCreate limit: the orderCreate description in
    the schema), ``search_lag_s`` (new orders and changed variants stay invisible to
    ``query:`` searches that long; see search syntax).
    """
    kwargs: dict[str, Any] = {
        "throttle": throttle,
        "rate_scale": rate_scale,
        "bulk_polls_until_complete": bulk_polls_until_complete,
        "order_limit_per_minute": order_limit_per_minute,
        "search_lag_s": search_lag_s,
        "job_polls_until_done": job_polls_until_done,
    }
    if access_token is not None:
        kwargs["access_token"] = access_token
    if webhook_secret is not None:
        kwargs["webhook_secret"] = webhook_secret
    emulator = ShopifyEmulator(**kwargs)
    emulator.load(fixture)
    tasks: set[asyncio.Task[None]] = set()

    async def graphql(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not emulator.authorised(headers):
            return JSONResponse(UNAUTHORIZED, status_code=401)
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse(
                {
                    "errors": [
                        {
                            "message": "Invalid JSON in request body",
                            "extensions": {"code": "BAD_REQUEST"},
                        }
                    ]
                },
                status_code=400,
            )
        answer = emulator.execute(body, base_url=str(request.base_url))
        flush()
        return JSONResponse(answer)

    def flush() -> None:
        # Shopify delivers at least once and not in order: optional delay and duplicates
        # (same X-Shopify-Webhook-Id) let receivers prove they de-duplicate.
        for delivery in emulator.take_pending():
            for copy in range(1 + emulator.webhook_duplicates):
                delay = emulator.webhook_delay_s * (copy + 1)
                task = asyncio.create_task(webhooks.send(delivery, delay=delay))
                tasks.add(task)
                task.add_done_callback(tasks.discard)

    def _merchant(request: Request, action: Any) -> Response:
        number = request.path_params["number"]
        with emulator._lock, emulator.state.lock:
            found, errors = action(number)
        flush()
        if found is None and not errors:
            return JSONResponse({"errors": ["not found"]}, status_code=404)
        if errors:
            return JSONResponse({"userErrors": errors}, status_code=422)
        return JSONResponse(found)

    async def fulfil_order(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")

        def action(number: int) -> tuple[Any, list[Any]]:
            order = next((o for o in emulator.state.orders if gid_number(o.id) == number), None)
            if order is None:
                return None, []
            created, errors = fulfil.merchant_fulfil(emulator, order, data)
            return (fulfil.fulfillment_payload(order, created) if created else None), errors

        return _merchant(request, action)

    async def fulfillment_tracking(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")

        def action(number: int) -> tuple[Any, list[Any]]:
            fid = f"gid://shopify/Fulfillment/{number}"
            if fulfil.find_fulfillment(emulator.state, fid) is None:
                return None, []
            done, errors = fulfil.update_tracking(emulator, fid, data)
            order = fulfil.find_order(emulator.state, done.order_id) if done else None
            return (fulfil.fulfillment_payload(order, done) if done and order else None), errors

        return _merchant(request, action)

    async def fulfillment_cancel(request: Request) -> Response:
        def action(number: int) -> tuple[Any, list[Any]]:
            fid = f"gid://shopify/Fulfillment/{number}"
            if fulfil.find_fulfillment(emulator.state, fid) is None:
                return None, []
            done, errors = fulfil.cancel_fulfillment(emulator, fid)
            order = fulfil.find_order(emulator.state, done.order_id) if done else None
            return (fulfil.fulfillment_payload(order, done) if done and order else None), errors

        return _merchant(request, action)

    async def run_jobs(_: Request) -> Response:
        with emulator._lock, emulator.state.lock:
            completed = fulfil.run_pending_jobs(emulator.state)
        flush()
        return JSONResponse({"completed": completed})

    async def put_jobs(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        if "polls_until_done" in data:
            emulator.job_polls_until_done = int(data["polls_until_done"])
        return JSONResponse({"polls_until_done": emulator.job_polls_until_done})

    async def bulk_result(request: Request) -> Response:
        number = request.path_params["number"]
        op = next(
            (
                o
                for o in emulator.state.bulk_operations.values()
                if gid_number(o.id) == number and o.status == "COMPLETED"
            ),
            None,
        )
        if op is None:
            return Response("NoSuchKey", status_code=404)
        text = "".join(line + "\n" for line in op.lines)
        return Response(text, media_type="application/jsonl")

    async def load(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        emulator.load(Fixture.model_validate(data))
        return JSONResponse({"ok": True})

    async def state(_: Request) -> Response:
        return JSONResponse(emulator.snapshot())

    async def throttle_route(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        emulator.bucket.configure(
            enabled=data.get("enabled"),
            scale=data.get("scale"),
            maximum=data.get("maximum"),
            available=data.get("available"),
        )
        if "force" in data:
            emulator.force_throttle = int(data["force"])
        return JSONResponse(
            {
                "throttleStatus": emulator.bucket.status(),
                "enabled": emulator.bucket.enabled,
                "scale": emulator.bucket.scale,
            }
        )

    async def get_webhooks(_: Request) -> Response:
        return JSONResponse(
            {
                "url": emulator.webhook_url,
                "topics": sorted(emulator.webhook_topics or []) or None,
                "deliveries": emulator.snapshot()["webhook_deliveries"],
            }
        )

    async def put_webhooks(request: Request) -> Response:
        data = json.loads(await request.body() or b"{}")
        emulator.webhook_url = data.get("url")
        emulator.webhook_topics = set(data["topics"]) if data.get("topics") else None
        if data.get("secret"):
            emulator.webhook_secret = data["secret"]
        emulator.webhook_delay_s = float(data.get("delay_s") or 0.0)
        emulator.webhook_duplicates = int(data.get("duplicates") or 0)
        return JSONResponse({"ok": True})

    routes = [
        Route(GRAPHQL_PATH, graphql, methods=["POST"]),
        Route("/_sandbox/bulk/{number:int}.jsonl", bulk_result, methods=["GET"]),
        Route("/_sandbox/load", load, methods=["PUT"]),
        Route("/_sandbox/state", state, methods=["GET"]),
        Route("/_sandbox/throttle", throttle_route, methods=["PUT"]),
        Route("/_sandbox/webhooks", get_webhooks, methods=["GET"]),
        Route("/_sandbox/webhooks", put_webhooks, methods=["PUT"]),
        Route("/_sandbox/orders/{number:int}/fulfill", fulfil_order, methods=["POST"]),
        Route(
            "/_sandbox/fulfillments/{number:int}/tracking", fulfillment_tracking, methods=["PUT"]
        ),
        Route("/_sandbox/fulfillments/{number:int}/cancel", fulfillment_cancel, methods=["POST"]),
        Route("/_sandbox/jobs/run", run_jobs, methods=["POST"]),
        Route("/_sandbox/jobs", put_jobs, methods=["PUT"]),
    ]
    inner = Starlette(routes=routes)
    injector = FaultInjector(inner, operation_of=_operation_of, error_body=_error_body)
    inner.router.routes.extend(admin_routes(injector))
    inner.state.emulator = emulator
    inner.state.faults = injector
    return RootFieldNamer(injector, inner)
