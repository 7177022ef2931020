"""SP-API usage plans: one token bucket per operation
(https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits).

Rates are the per-seller-and-application defaults from the models' usage-plan tables; where
the docs page gives a lower burst than the model (getListingsItem) the lower one is used,
as the reference advises. ``scale`` multiplies the refill rate so tests can run fast.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# operation -> (rate per second, burst): each operation's "Usage Plan" table in the models
# (sandbox/amazon/models/).
RATES: dict[str, tuple[float, int]] = {
    "getListingsItem": (5.0, 5),  # model 5/10, docs page burst 5: plan for the lower
    "searchListingsItems": (5.0, 5),
    "patchListingsItem": (5.0, 5),
    "putListingsItem": (5.0, 5),
    "deleteListingsItem": (5.0, 5),
    "getInventorySummaries": (2.0, 2),
    "getFulfillmentPreview": (2.0, 30),
    "createFulfillmentOrder": (2.0, 30),
    "getFulfillmentOrder": (2.0, 30),
    "listAllFulfillmentOrders": (2.0, 30),
    "cancelFulfillmentOrder": (2.0, 30),
    "getPackageTrackingDetails": (2.0, 30),
    "createReport": (0.0167, 15),
    "getReport": (2.0, 15),
    "getReports": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
}


@dataclass
class TokenBucket:
    """``rate`` tokens per second into a bucket of ``burst``; each request takes one."""

    rate: float
    burst: int
    tokens: float
    updated: float

    def take(self, now: float, scale: float) -> bool:
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate * scale)
        self.updated = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


class Throttle:
    """The emulator's buckets, switchable and scalable at run time (``PUT /_sandbox/throttle``)."""

    def __init__(
        self,
        *,
        enabled: bool = True,
        scale: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.enabled = enabled
        self.scale = scale
        self.clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def configure(self, *, enabled: bool | None = None, scale: float | None = None) -> None:
        """Switch throttling on/off or change the rate multiplier; buckets start full again."""
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            if scale is not None:
                self.scale = scale
            self._buckets.clear()

    def allow(self, operation: str) -> bool:
        """Take a token for ``operation``; False means answer 429 QuotaExceeded."""
        if not self.enabled or self.scale <= 0 or operation not in RATES:
            return True
        rate, burst = RATES[operation]
        now = self.clock()
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = TokenBucket(rate, burst, float(burst), now)
            return bucket.take(now, self.scale)

    def limit_header(self, operation: str) -> str | None:
        """The ``x-amzn-RateLimit-Limit`` value for an operation (its effective rate)."""
        if operation not in RATES:
            return None
        rate = RATES[operation][0] * (self.scale if self.enabled and self.scale > 0 else 1.0)
        return f"{rate:g}"
