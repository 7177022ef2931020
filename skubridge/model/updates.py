"""The absolute price and stock values a push sends for one TikTok SKU.

Built by the plan (``skubridge/model/plan.py``), sent by the TikTok client
(``connectors/tiktok.py``); re-exported by ``connectors/base.py`` for the connectors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class InventoryUpdate:
    """Absolute stock for one TikTok SKU: every warehouse of the SKU, each with its quantity."""

    sku_id: str
    quantities: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class PriceUpdate:
    """Absolute price for one TikTok SKU."""

    sku_id: str
    amount: Decimal
    currency: str
