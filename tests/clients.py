"""What the connector tests share: a recording HTTP transport, query parsing, and the
three connectors' clients pointed at an emulator with the sandbox credentials.

The connectors talk real HTTP to the emulators on loopback; :class:`Recorder` sits in
between (``transport=``) so a test can assert on what was sent: paths, query, signatures,
bodies. The builders turn pacing off (``rate_scale=0``) and retry fast; any option can be
overridden per test.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

from connectors.amazon import AmazonClient
from connectors.http import RetryPolicy
from connectors.tiktok import TikTokClient
from sandbox.amazon import SANDBOX_CLIENT_ID, SANDBOX_CLIENT_SECRET, SANDBOX_REFRESH_TOKEN
from sandbox.tiktok import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
)

CIPHER = "ROW_sandboxcipher0001"  # the TikTok emulator's shop cipher
SELLER = "A2SANDBOXSELLER"  # the Amazon emulator's seller
US = "ATVPDKIKX0DER"  # Amazon's US marketplace id
FAST = RetryPolicy(attempts=8, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to real HTTP and keeps every request sent, its body read.

    With ``keep_answers`` it also keeps each response body (``answers``, in request order)
    and hands the caller a response built from those bytes.
    """

    def __init__(self, *, keep_answers: bool = False) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []
        self.keep_answers = keep_answers
        self.answers: list[bytes] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        response = await self.inner.handle_async_request(request)
        if not self.keep_answers:
            return response
        body = await response.aread()
        self.answers.append(body)
        return httpx.Response(
            response.status_code, headers=response.headers, content=body, request=request
        )

    async def aclose(self) -> None:
        await self.inner.aclose()

    def last(self) -> httpx.Request:
        return self.requests[-1]

    def to(self, path_part: str) -> list[httpx.Request]:
        """The requests whose (raw) path contains ``path_part``, in order."""
        return [r for r in self.requests if path_part in r.url.raw_path.decode()]

    def posted(self) -> list[dict[str, Any]]:
        """The JSON bodies of every POST (for Shopify: each GraphQL document and variables)."""
        return [json.loads(r.content) for r in self.requests if r.method == "POST"]


def query_of(request: httpx.Request) -> dict[str, str]:
    """The request's query string as a dict (blank values kept)."""
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


def tiktok_client(base: str, **options: Any) -> TikTokClient:
    """A TikTok client for the emulator at ``base`` (API and auth), sandbox app and tokens."""
    defaults: dict[str, Any] = {
        "shop_cipher": CIPHER,
        "base_url": base,
        "auth_base_url": base,
        "rate_scale": 0,
        "retry": FAST,
    }
    return TikTokClient(
        app_key=DEFAULT_APP_KEY,
        app_secret=DEFAULT_APP_SECRET,
        access_token=DEFAULT_ACCESS_TOKEN,
        refresh_token=DEFAULT_REFRESH_TOKEN,
        **{**defaults, **options},
    )


def amazon_client(url: str, transport: Recorder | None = None, **options: Any) -> AmazonClient:
    """An Amazon client for the emulator at ``url`` (SP-API and LWA), sandbox seller, US
    marketplace, reports polled quickly."""
    defaults: dict[str, Any] = {
        "rate_scale": 0,
        "retry": FAST,
        "report_poll_initial": 0.01,
        "report_poll_max": 0.05,
        "report_timeout": 30,
    }
    return AmazonClient(
        endpoint=url,
        lwa_url=f"{url}/auth/o2/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        refresh_token=SANDBOX_REFRESH_TOKEN,
        seller_id=SELLER,
        marketplace_id=US,
        transport=transport,
        **{**defaults, **options},
    )
