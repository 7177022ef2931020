"""Test helpers: connectors wired to an in-process emulator, with chosen answers replaced.

:class:`Wire` is an ``httpx`` transport that hands every request to an emulator's ASGI
app, except those an ``override`` callback answers itself (a broken body, a repeated
cursor...). No sockets, no servers: each test builds its own emulator and client.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx

from connectors.amazon import AmazonClient
from connectors.http import RetryPolicy
from connectors.shopify import ShopifyClient
from connectors.tiktok import TikTokClient
from sandbox import amazon as amazon_sandbox
from sandbox import shopify as shopify_sandbox
from sandbox import tiktok as tiktok_sandbox
from sandbox.fixture import load_fixture

Override = Callable[[httpx.Request, str], httpx.Response | None]

# Two attempts: enough to show a transient answer is retried, fast enough for a unit test.
FAST = RetryPolicy(attempts=2, timeout=20, wait_initial=0.001, wait_max=0.01, wait_jitter=0.0)


def operation_of(request: httpx.Request) -> str:
    """A short name for the call: the GraphQL root field (Shopify) or the URL path."""
    if request.url.path.endswith("graphql.json"):
        query = json.loads(request.content or b"{}").get("query", "")
        for name in ("productVariantsCount", "productVariants", "locations", "shop"):
            if f"{name}(" in query or f"{name} {{" in query:
                return name
        return "graphql"
    return request.url.path


class Wire(httpx.AsyncBaseTransport):
    """Forward to ``app`` (in process; real loopback HTTP when ``app`` is None, e.g. to a
    ``sandbox_stack``) unless ``override(request, operation)`` returns a response."""

    def __init__(self, app: Any = None, override: Override | None = None) -> None:
        self.inner: httpx.AsyncBaseTransport = (
            httpx.ASGITransport(app=app) if app is not None else httpx.AsyncHTTPTransport()
        )
        self.override = override
        self.calls: Counter[str] = Counter()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        operation = operation_of(request)
        self.calls[operation] += 1
        if self.override is not None:
            answer = self.override(request, operation)
            if answer is not None:
                return answer
        return await self.inner.handle_async_request(request)


def tiktok(fixture: dict[str, Any], override: Override | None = None) -> tuple[TikTokClient, Wire]:
    """A TikTok client on an in-process emulator loaded with ``fixture``."""
    app = tiktok_sandbox.create_app(load_fixture(fixture), throttle=False)
    wire = Wire(app, override)
    side = load_fixture(fixture).tiktok
    client = TikTokClient(
        app_key=tiktok_sandbox.DEFAULT_APP_KEY,
        app_secret=tiktok_sandbox.DEFAULT_APP_SECRET,
        access_token=tiktok_sandbox.DEFAULT_ACCESS_TOKEN,
        shop_cipher=side.shop_cipher,
        base_url="http://tiktok.test",
        rate_scale=0,
        retry=FAST,
        transport=wire,
        catalog_options=False,
    )
    return client, wire


def shopify(
    fixture: dict[str, Any], override: Override | None = None, **kwargs: Any
) -> tuple[ShopifyClient, Wire]:
    """A Shopify client on an in-process emulator loaded with ``fixture``."""
    app = shopify_sandbox.create_app(load_fixture(fixture), throttle=False)
    wire = Wire(app, override)
    client = ShopifyClient(
        endpoint_url="http://shop.test/admin/api/2026-04/graphql.json",
        access_token=shopify_sandbox.DEFAULT_ACCESS_TOKEN,
        **{"rate_scale": 0, "retry": FAST, "transport": wire, **kwargs},
    )
    return client, wire


def amazon(
    fixture: dict[str, Any], override: Override | None = None, **kwargs: Any
) -> tuple[AmazonClient, Wire]:
    """An Amazon client on an in-process emulator loaded with ``fixture``."""
    loaded = load_fixture(fixture)
    app = amazon_sandbox.create_app(loaded, throttle=False)
    wire = Wire(app, override)
    options: dict[str, Any] = {
        "rate_scale": 0,
        "retry": FAST,
        "report_poll_initial": 0.001,
        "report_poll_max": 0.01,
        "report_timeout": 20,
        "transport": wire,
        **kwargs,
    }
    client = AmazonClient(
        endpoint="http://amazon.test",
        lwa_url="http://amazon.test/auth/o2/token",
        client_id=amazon_sandbox.SANDBOX_CLIENT_ID,
        client_secret=amazon_sandbox.SANDBOX_CLIENT_SECRET,
        refresh_token=amazon_sandbox.SANDBOX_REFRESH_TOKEN,
        seller_id=loaded.amazon.seller_id,
        marketplace_id=loaded.amazon.marketplace_id,
        **options,
    )
    return client, wire


async def catalog(client: Any) -> list[Any]:
    """Every variant ``client.iter_catalog()`` yields."""
    return [variant async for page in client.iter_catalog() for variant in page]
