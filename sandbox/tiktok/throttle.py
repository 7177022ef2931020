"""Server-side rate limiting as TikTok documents it
(https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0).

A token bucket per API (operation) and shop, ``qps`` requests per second (default 50 per
API per app x shop; the live number is UNCONFIRMED and said to be dynamic, hence
configurable), scaled by ``scale``; ``force`` answers the next N calls with 429 whatever the
rate, so a client's backoff can be tested deterministically.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

DEFAULT_QPS = 50.0


@dataclass
class Throttle:
    """Token buckets keyed by (operation, shop)."""

    enabled: bool = True
    scale: float = 1.0
    qps: float = DEFAULT_QPS
    force: int = 0
    rejected: int = 0
    _buckets: dict[tuple[str, str], tuple[float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def configure(
        self,
        *,
        enabled: bool | None = None,
        scale: float | None = None,
        qps: float | None = None,
        force: int | None = None,
    ) -> None:
        """Change the knobs; buckets restart full."""
        with self._lock:
            if enabled is not None:
                self.enabled = enabled
            if scale is not None:
                self.scale = scale
            if qps is not None:
                self.qps = qps
            if force is not None:
                self.force = force
            self._buckets.clear()

    def allow(self, operation: str, shop: str) -> bool:
        """Take one token for this call; False means answer 429 / 36009002."""
        with self._lock:
            if self.force > 0:
                self.force -= 1
                self.rejected += 1
                return False
            if not self.enabled or self.scale <= 0:
                return True
            rate = self.qps * self.scale
            capacity = max(1.0, rate)
            now = time.monotonic()
            tokens, last = self._buckets.get((operation, shop), (capacity, now))
            tokens = min(capacity, tokens + (now - last) * rate)
            if tokens < 1.0:
                self._buckets[(operation, shop)] = (tokens, now)
                self.rejected += 1
                return False
            self._buckets[(operation, shop)] = (tokens - 1.0, now)
            return True

    def describe(self) -> dict[str, object]:
        return {
            "enabled": self.enabled,
            "scale": self.scale,
            "qps": self.qps,
            "force": self.force,
            "rejected": self.rejected,
        }
