"""A webhook endpoint on loopback that keeps every delivery, for the emulator tests."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.server import serve_in_thread


@dataclass
class WebhookSink:
    """``url`` takes POSTs; ``received`` holds each delivery's headers and raw body."""

    url: str = ""
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def wait_for(self, count: int, seconds: float = 10) -> None:
        """Wait until ``count`` deliveries arrived (a safety net: tests assert the count)."""
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            self.arrived.wait(0.05)
            self.arrived.clear()


@contextmanager
def webhook_sink() -> Iterator[WebhookSink]:
    """A running :class:`WebhookSink` (its URL ends in ``/hook``), stopped on exit."""
    sink = WebhookSink()

    async def hook(request: Request) -> Response:
        sink.received.append((dict(request.headers), await request.body()))
        sink.arrived.set()
        return Response("ok")

    with serve_in_thread(Starlette(routes=[Route("/hook", hook, methods=["POST"])])) as base:
        sink.url = f"{base}/hook"
        yield sink
