"""What TikTok Get Product said about a product's SKUs, kept between extracts.

Search Products has no ``sales_attributes`` or ``identifier_code``
(https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369); only Get Product
has them (https://partner.tiktokshop.com/docv2/page/6509d85b4a0bb702c057fdda), one call per
product. The TikTok connector asks an :class:`AttributeCache` before each such call; the
catalog step fills it from DuckDB and stores what was read anew (``tasks/attributes.py``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class AttributeCache:
    """Sales attributes and barcodes of multi-SKU products already read with Get Product.

    Search Products has no ``sales_attributes`` or ``identifier_code``; only Get Product
    (see above) has them, one call per product. A product's ``update_time`` changes
    whenever the product is edited, so an entry read at the same ``update_time`` is still
    true. ``known`` maps product id -> (update_time, SKU id -> SKU object) as read before;
    ``keep`` names products whose entry is good enough even when the product changed since
    (mapped products: a push of price or stock moves ``update_time`` but not their options,
    and a mapped product needs no suggestion), unless its SKUs changed. What is read anew
    lands in ``fetched`` for the caller to store.
    """

    def __init__(
        self,
        known: Mapping[str, tuple[int, Mapping[str, dict[str, Any]]]] | None = None,
        keep: set[str] | frozenset[str] = frozenset(),
    ) -> None:
        self.known = dict(known or {})
        self.keep = keep
        self.fetched: dict[str, tuple[int, dict[str, dict[str, Any]]]] = {}
        self.hits = 0

    def lookup(
        self, product_id: str, update_time: int, sku_ids: set[str]
    ) -> dict[str, dict[str, Any]] | None:
        """The cached SKU objects of a product, or None when it must be read again."""
        entry = self.known.get(product_id)
        if entry is None or set(entry[1]) != sku_ids:
            return None
        if entry[0] != update_time and product_id not in self.keep:
            return None
        self.hits += 1
        return dict(entry[1])

    def remember(
        self, product_id: str, update_time: int, skus: Mapping[str, dict[str, Any]]
    ) -> None:
        """Keep what Get Product said (only the options and the barcode of each SKU)."""
        kept = {
            sid: {
                "sales_attributes": sku.get("sales_attributes") or [],
                "identifier_code": sku.get("identifier_code") or {},
            }
            for sid, sku in skus.items()
        }
        self.fetched[product_id] = (update_time, kept)
        self.known[product_id] = (update_time, kept)
