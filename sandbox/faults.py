"""Deterministic fault injection and request counting for the sandbox emulators.

``FaultInjector`` wraps an emulator's ASGI app. Every request is named by the emulator's
``operation_of(scope)`` (e.g. ``product.update_inventory``) and counted; then, drawn from a
seeded RNG so a run can be replayed, one of these may happen:

- latency: ``latency_ms`` + uniform jitter ``jitter_ms`` before the request is handled;
- error: a 5xx answer in the marketplace's own error shape (``error_body``), not applied;
- timeout: the request hangs ``timeout_s`` seconds before it is handled (clients time out);
- drop_after_commit: the request is applied, then the connection is cut before the body
  is sent (the client sees an error although the change happened);
- malformed: the request is applied and answered 200 with a truncated body.

Throttling is not here: each emulator implements its marketplace's documented limits.
Knobs are set in code or through ``PUT /_sandbox/faults`` (see :func:`admin_routes`).
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ADMIN_PREFIX = "/_sandbox"


@dataclass
class FaultConfig:
    """Fault knobs; rates are probabilities per request (0..1)."""

    seed: int = 0
    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    timeout_rate: float = 0.0
    timeout_s: float = 30.0
    drop_after_commit_rate: float = 0.0
    malformed_rate: float = 0.0
    operations: list[str] | None = None  # None = every operation
    writes_only: bool = False  # error/drop/malformed only on non-GET requests

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault knob(s): {sorted(unknown)}; known: {sorted(known)}")
        return cls(**data)


@dataclass
class FaultStats:
    requests: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)


class FaultInjector:
    """ASGI middleware: counts requests per operation and injects configured faults."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        operation_of: Callable[[Scope], str | None],
        error_body: Callable[[int], tuple[int, dict[str, Any]]],
        config: FaultConfig | None = None,
    ) -> None:
        self.app = app
        self.operation_of = operation_of
        self.error_body = error_body
        self.stats = FaultStats()
        self._lock = threading.Lock()
        self.configure(config or FaultConfig())

    def configure(self, config: FaultConfig) -> None:
        with self._lock:
            self.config = config
            self.rng = random.Random(config.seed)

    def reset_counts(self) -> None:
        with self._lock:
            self.stats = FaultStats()

    def _draw(self) -> tuple[float, float, float, float, float]:
        with self._lock:
            return tuple(self.rng.random() for _ in range(5))  # type: ignore[return-value]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        op = self.operation_of(scope) or f"{scope['method']} {scope['path']}"
        cfg = self.config
        with self._lock:
            self.stats.requests[op] += 1
        targeted = cfg.operations is None or op in cfg.operations
        is_write = scope["method"] != "GET"
        r_lat, r_err, r_timeout, r_drop, r_bad = self._draw()
        if targeted and (cfg.latency_ms or cfg.jitter_ms):
            await asyncio.sleep((cfg.latency_ms + r_lat * cfg.jitter_ms) / 1000)
        if not targeted or (cfg.writes_only and not is_write):
            await self.app(scope, receive, send)
            return
        if r_timeout < cfg.timeout_rate:
            self._count("timeout")
            await asyncio.sleep(cfg.timeout_s)
        if r_err < cfg.error_rate:
            self._count("error")
            status, body = self.error_body(503 if r_err < cfg.error_rate / 2 else 500)
            await JSONResponse(body, status_code=status)(scope, receive, send)
            return
        if r_drop < cfg.drop_after_commit_rate:
            self._count("drop_after_commit")
            await self._applied_then(scope, receive, send, drop=True)
            return
        if r_bad < cfg.malformed_rate:
            self._count("malformed")
            await self._applied_then(scope, receive, send, drop=False)
            return
        await self.app(scope, receive, send)

    def _count(self, kind: str) -> None:
        with self._lock:
            self.stats.faults[kind] += 1

    async def _applied_then(
        self, scope: Scope, receive: Receive, send: Send, *, drop: bool
    ) -> None:
        """Run the app (the change is applied), then cut or truncate what goes back."""
        messages: list[Message] = []

        async def capture(message: Message) -> None:
            messages.append(message)

        await self.app(scope, receive, capture)
        body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
        start = next(m for m in messages if m["type"] == "http.response.start")
        cut = body[: max(1, len(body) // 2)]
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        if drop:
            # Promise the full body, send part of it, then abort: the client sees a
            # dropped connection after the server applied the change.
            headers.append((b"content-length", str(len(body) + 10).encode()))
            await send(
                {"type": "http.response.start", "status": start["status"], "headers": headers}
            )
            await send({"type": "http.response.body", "body": cut, "more_body": True})
            raise ConnectionAbortedError("sandbox fault: connection dropped after commit")
        headers.append((b"content-length", str(len(cut)).encode()))
        await send({"type": "http.response.start", "status": start["status"], "headers": headers})
        await send({"type": "http.response.body", "body": cut})


def admin_routes(injector: FaultInjector) -> list[Route]:
    """The shared admin endpoints: ``/_sandbox/faults`` (GET, PUT) and ``/_sandbox/requests``."""

    async def get_faults(_: Request) -> JSONResponse:
        return JSONResponse(
            {"config": asdict(injector.config), "injected": dict(injector.stats.faults)}
        )

    async def put_faults(request: Request) -> JSONResponse:
        try:
            injector.configure(FaultConfig.from_dict(json.loads(await request.body() or b"{}")))
        except (ValueError, TypeError) as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse({"config": asdict(injector.config)})

    async def get_requests(_: Request) -> JSONResponse:
        return JSONResponse(dict(injector.stats.requests))

    async def reset_requests(_: Request) -> JSONResponse:
        injector.reset_counts()
        return JSONResponse({"ok": True})

    return [
        Route(f"{ADMIN_PREFIX}/faults", get_faults, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/faults", put_faults, methods=["PUT"]),
        Route(f"{ADMIN_PREFIX}/requests", get_requests, methods=["GET"]),
        Route(f"{ADMIN_PREFIX}/requests", reset_requests, methods=["DELETE"]),
    ]
