"""What the connector tests share: a recording HTTP transport and query parsing.

The connectors talk real HTTP to the emulators on loopback; :class:`Recorder` sits in
between (``transport=``) so a test can assert on what was sent: paths, query, signatures,
bodies.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx


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
