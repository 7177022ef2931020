"""The one HTTP layer every marketplace connector sends through.

What it does, once for all marketplaces:

- explicit timeouts on an ``httpx.AsyncClient`` (a transport can be injected for tests);
- client-side rate limiting per operation (``aiolimiter`` leaky buckets at the documented
  rates, scaled by ``rate_scale`` so tests and benchmarks can speed them up or switch
  them off) and bounded concurrency (one semaphore per connector);
- retries with exponential backoff and jitter (``stamina``) for transient failures only:
  429/THROTTLED, 5xx, timeouts, dropped connections, truncated bodies; ``Retry-After`` is
  honoured where the marketplace sends it;
- one place that turns a response into success or a typed :mod:`connectors.errors`
  exception (the connector passes its marketplace-specific ``check``);
- non-idempotent writes (order creation) are never re-sent after the request may have
  reached the server: the caller gets :class:`OutcomeUnknownError` and must look the
  outcome up first;
- secrets are masked in every message it logs or raises (:mod:`connectors.redact`).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Self

import httpx
import stamina
from aiolimiter import AsyncLimiter

from connectors.errors import (
    ApiError,
    AuthError,
    FatalError,
    MalformedResponseError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from connectors.paging import MAX_PAGES
from connectors.redact import redact

log = logging.getLogger("skubridge.http")

Check = Callable[[httpx.Response, str], None]
RequestFactory = Callable[[], httpx.Request]


@dataclass(frozen=True)
class RateLimit:
    """A documented rate: ``rate`` requests per second with a bucket of ``burst``."""

    rate: float
    burst: int = 1


@dataclass(frozen=True)
class RetryPolicy:
    """How transient failures are retried (stamina parameters, seconds)."""

    attempts: int = 6
    timeout: float = 180.0
    wait_initial: float = 0.2
    wait_max: float = 10.0
    wait_jitter: float = 0.5


def default_check(response: httpx.Response, operation: str, *, marketplace: str) -> None:
    """Classify by HTTP status alone: 2xx passes, 429/5xx are transient, 4xx fatal."""
    status = response.status_code
    if status < 400:
        return
    request_id = response.headers.get("x-request-id") or response.headers.get("x-amzn-requestid")
    text = redact(response.text[:500])
    kwargs: dict[str, Any] = {
        "marketplace": marketplace,
        "operation": operation,
        "status": status,
        "request_id": request_id,
    }
    if status == 429:
        raise ThrottledError(text or "rate limited", retry_after=retry_after(response), **kwargs)
    if status >= 500:
        raise TransientError(text or "server error", retry_after=retry_after(response), **kwargs)
    if status in (401, 403):
        raise AuthError(text or "not authorised", **kwargs)
    raise FatalError(text or "request rejected", **kwargs)


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds form), else None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def json_bytes(payload: Any) -> bytes:
    """Compact JSON bytes: built once, sent as-is and (for TikTok) signed as-is."""
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False, default=str).encode()


def parse_json(response: httpx.Response, *, marketplace: str, operation: str) -> Any:
    """The response body as JSON; a truncated or non-JSON body raises MalformedResponseError."""
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise MalformedResponseError(
            f"response body is not valid JSON ({exc.__class__.__name__}: {redact(str(exc))[:120]})",
            marketplace=marketplace,
            operation=operation,
            status=response.status_code,
        ) from None


class HttpLayer:
    """Rate-limited, retrying, redacting sender shared by the marketplace connectors."""

    def __init__(
        self,
        *,
        marketplace: str,
        base_url: str,
        rates: Mapping[str, RateLimit] | None = None,
        default_rate: RateLimit | None = None,
        rate_scale: float = 1.0,
        max_concurrency: int = 8,
        timeout: float | httpx.Timeout = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.retry = retry or RetryPolicy()
        self.rate_scale = rate_scale
        self._rates = dict(rates or {})
        self._default_rate = default_rate
        self._limiters: dict[str, AsyncLimiter | None] = {}
        self._semaphore = asyncio.Semaphore(max_concurrency)
        self.client = httpx.AsyncClient(
            base_url=base_url,
            timeout=timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout),
            transport=transport,
            headers=dict(headers or {}),
            trust_env=False,
        )
        self.calls: dict[str, int] = {}

    async def __aenter__(self) -> HttpLayer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self.client.aclose()

    def limiter(self, operation: str) -> AsyncLimiter | None:
        """The leaky bucket of an operation (None when unlimited or rate_scale <= 0)."""
        if operation not in self._limiters:
            spec = self._rates.get(operation, self._default_rate)
            if spec is None or self.rate_scale <= 0:
                self._limiters[operation] = None
            else:
                rate = spec.rate * self.rate_scale
                self._limiters[operation] = AsyncLimiter(spec.burst, spec.burst / rate)
        return self._limiters[operation]

    def _backoff(self, exc: Exception) -> bool | float:
        if isinstance(exc, ApiError) and exc.retriable:
            if exc.retry_after is not None:
                return min(exc.retry_after, self.retry.wait_max * 6)
            return True
        return False

    async def send(
        self,
        operation: str,
        build: RequestFactory,
        *,
        check: Check | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send the request ``build()`` makes (rebuilt per attempt, so signatures stay fresh).

        ``check(response, operation)`` raises a typed error for a failed answer; the default
        classifies by status. Transient errors are retried; for ``idempotent=False`` any
        failure after the request may have reached the server raises OutcomeUnknownError.
        """
        check = check or self.status_check
        async for attempt in stamina.retry_context(
            on=self._backoff,
            attempts=self.retry.attempts,
            timeout=self.retry.timeout,
            wait_initial=self.retry.wait_initial,
            wait_max=self.retry.wait_max,
            wait_jitter=self.retry.wait_jitter,
        ):
            with attempt:
                try:
                    return await self._attempt(operation, build, check, idempotent)
                except ApiError as exc:
                    if exc.retriable:
                        log.warning("%s (attempt %d, will retry)", exc, attempt.num)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - stamina re-raises

    def status_check(self, response: httpx.Response, operation: str) -> None:
        default_check(response, operation, marketplace=self.marketplace)

    async def _attempt(
        self, operation: str, build: RequestFactory, check: Check, idempotent: bool
    ) -> httpx.Response:
        limiter = self.limiter(operation)
        if limiter is not None:
            await limiter.acquire()
        request = build()
        self.calls[operation] = self.calls.get(operation, 0) + 1
        async with self._semaphore:
            try:
                response = await self.client.send(request)
                await response.aread()
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                # Nothing reached the server: safe to retry even for non-idempotent writes.
                raise TransientError(
                    f"connection failed: {type(exc).__name__}",
                    marketplace=self.marketplace,
                    operation=operation,
                ) from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                self._unknown_if_write(operation, idempotent, f"{type(exc).__name__} after send")
                raise TransientError(
                    f"connection dropped or timed out: {type(exc).__name__}",
                    marketplace=self.marketplace,
                    operation=operation,
                ) from None
        log.debug("%s %s -> %s", operation, redact(str(request.url)), response.status_code)
        try:
            check(response, operation)
        except ThrottledError:
            raise  # a throttled request was not processed: retrying never duplicates
        except (TransientError, MalformedResponseError) as exc:
            self._unknown_if_write(operation, idempotent, str(exc))
            raise
        return response

    def _unknown_if_write(self, operation: str, idempotent: bool, why: str) -> None:
        if not idempotent:
            raise OutcomeUnknownError(
                f"outcome unknown ({redact(why)}); look the result up before sending again",
                marketplace=self.marketplace,
                operation=operation,
            )


class ClientBase:
    """What every marketplace client shares: its :class:`HttpLayer`, ``async with`` and the
    per-operation call counts (for run reports and benchmarks)."""

    http: HttpLayer
    max_pages: int = MAX_PAGES  # page budget of every paged read (connectors.paging)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    @property
    def calls(self) -> dict[str, int]:
        """Requests sent so far per operation (retries included)."""
        return dict(self.http.calls)
