"""The one HTTP layer every marketplace connector sends through.

What it does, once for all marketplaces:

- explicit timeouts on an ``httpx.AsyncClient`` (a transport can be injected for tests);
- client-side rate limiting per operation (``aiolimiter`` leaky buckets at the documented
  rates, scaled by ``rate_scale`` so tests and benchmarks can speed them up or switch
  them off) and bounded concurrency (one semaphore per connector);
- retries with exponential backoff and jitter (``stamina``) for transient failures only:
  429/THROTTLED, 5xx, timeouts, dropped connections, truncated bodies; ``Retry-After`` is
  honoured where the marketplace sends it;
- one error classification: the status ladder (:func:`status_class`) plus, per
  marketplace, an :class:`ErrorTable` from body error code to error class, applied by
  :func:`api_error`; each connector's ``check`` only finds the code and message in its
  answers and has no side effects (state learnt from answers goes through ``observe``);
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
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class ErrorTable:
    """One marketplace's body error codes and the error class each one means.

    ``default`` is the class of a failed answer whose code is not in ``codes`` (None: the
    HTTP status decides). Tables are data, so tests read them and nothing else changes
    state while an answer is classified.
    """

    codes: Mapping[str, type[ApiError]] = field(default_factory=dict)
    default: type[ApiError] | None = None


STATUS_ONLY = ErrorTable()

_DEFAULT_TEXT: dict[type[ApiError], str] = {
    ThrottledError: "rate limited",
    TransientError: "server error",
    AuthError: "not authorised",
}


def status_class(status: int) -> type[ApiError] | None:
    """The default ladder: 429 throttled, 5xx transient, 401/403 auth, other 4xx fatal;
    None below 400 (not a failure by status)."""
    if status < 400:
        return None
    if status == 429:
        return ThrottledError
    if status >= 500:
        return TransientError
    if status in (401, 403):
        return AuthError
    return FatalError


def error_class(status: int, code: str | None, table: ErrorTable = STATUS_ONLY) -> type[ApiError]:
    """The class of a failed answer from its HTTP status and body code.

    Retriable wins: a 429 or a throttle code is throttled, then a 5xx or a transient code
    is transient (retrying may help either way). Otherwise the code's class (or the
    table's default), else the status ladder; a failure nothing classifies is fatal.
    """
    by_status = status_class(status)
    by_code = table.codes.get(code) if code is not None else None
    by_code = by_code or table.default
    for retriable in (ThrottledError, TransientError):
        if retriable in (by_status, by_code):
            return retriable
    return by_code or by_status or FatalError


def api_error(
    response: httpx.Response,
    operation: str,
    *,
    marketplace: str,
    table: ErrorTable = STATUS_ONLY,
    code: str | None = None,
    message: str = "",
    request_id: str | None = None,
    retry_after: float | None = None,
) -> ApiError:
    """The typed error for a failed answer (returned, not raised; no side effects).

    ``message`` is redacted here; an empty one gets a short default per class. Retriable
    errors carry ``retry_after`` (else the ``Retry-After`` header).
    """
    cls = error_class(response.status_code, code, table)
    kwargs: dict[str, Any] = {
        "marketplace": marketplace,
        "operation": operation,
        "status": response.status_code,
        "code": code,
        "request_id": request_id,
    }
    if cls.retriable:
        kwargs["retry_after"] = retry_after if retry_after is not None else retry_after_of(response)
    text = redact(message) or _DEFAULT_TEXT.get(cls, "request rejected")
    return cls(text, **kwargs)


def default_check(response: httpx.Response, operation: str, *, marketplace: str) -> None:
    """Classify by HTTP status alone: below 400 passes, the rest per :func:`status_class`."""
    if response.status_code < 400:
        return
    request_id = response.headers.get("x-request-id") or response.headers.get("x-amzn-requestid")
    raise api_error(
        response,
        operation,
        marketplace=marketplace,
        message=response.text[:500],
        request_id=request_id,
    )


def retry_after_of(response: httpx.Response) -> float | None:
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
        # Operations whose 429s the connector retries itself (refills measured in minutes).
        self.own_throttle_retry: frozenset[str] = frozenset()

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
            if isinstance(exc, ThrottledError) and exc.operation in self.own_throttle_retry:
                return False  # the connector waits per the operation's refill itself
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
        observe: Check | None = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """Send the request ``build()`` makes (rebuilt per attempt, so signatures stay fresh).

        ``check(response, operation)`` raises a typed error for a failed answer; the default
        classifies by status and never changes state. ``observe(response, operation)`` sees
        every answer first, failed ones included: the place for state a connector learns
        from answers (e.g. Shopify's cost bucket). Transient errors are retried; for
        ``idempotent=False`` any failure after the request may have reached the server
        raises OutcomeUnknownError.
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
                    return await self._attempt(operation, build, check, observe, idempotent)
                except ApiError as exc:
                    if exc.retriable:
                        log.warning("%s (attempt %d, will retry)", exc, attempt.num)
                    raise
        raise AssertionError("unreachable")  # pragma: no cover - stamina re-raises

    def status_check(self, response: httpx.Response, operation: str) -> None:
        default_check(response, operation, marketplace=self.marketplace)

    async def _attempt(
        self,
        operation: str,
        build: RequestFactory,
        check: Check,
        observe: Check | None,
        idempotent: bool,
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
        if observe is not None:
            observe(response, operation)
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
