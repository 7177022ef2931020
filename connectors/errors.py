"""Typed failures of marketplace calls: every connector raises only these.

Each carries the marketplace, the operation, the HTTP status, the marketplace's own error
code and message, and its request id, so a report or a log line can say exactly what
failed. ``retriable`` tells the shared HTTP layer whether a retry may help.
"""

from __future__ import annotations


class ApiError(Exception):
    """A marketplace call failed. Message text is redacted before it is stored here."""

    retriable = False

    def __init__(
        self,
        message: str,
        *,
        marketplace: str,
        operation: str,
        status: int | None = None,
        code: str | None = None,
        request_id: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.marketplace = marketplace
        self.operation = operation
        self.status = status
        self.code = code
        self.message = message
        self.request_id = request_id
        self.retry_after = retry_after
        parts = [f"{marketplace} {operation} failed"]
        if status is not None:
            parts.append(f"HTTP {status}")
        if code is not None:
            parts.append(f"code {code}")
        text = ", ".join(parts) + f": {message}"
        if request_id:
            text += f" (request id {request_id})"
        super().__init__(text)


class TransientError(ApiError):
    """5xx, timeouts, dropped connections: retrying the same request may succeed."""

    retriable = True


class ThrottledError(TransientError):
    """The marketplace rate limit was hit (429, THROTTLED, QuotaExceeded)."""


class FatalError(ApiError):
    """A 4xx or a business error: retrying the same request will fail the same way."""


class AuthError(FatalError):
    """Credentials are missing, wrong, expired beyond refresh, or lack a scope."""


class OutcomeUnknownError(ApiError):
    """A non-idempotent write was sent but no answer came back (timeout, dropped connection).

    The change may or may not have been applied. The caller must look it up before
    trying again (e.g. find the store order by its TikTok order id); it is never retried
    blindly by the HTTP layer.
    """


class PagingError(FatalError):
    """Paging went wrong (a cursor repeated, too many pages): stopped to avoid looping forever."""


class MalformedResponseError(TransientError):
    """The body could not be parsed (truncated, not JSON, wrong shape)."""
