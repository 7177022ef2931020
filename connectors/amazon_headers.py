"""Header spellings of Amazon's All Listings report and which of them skubridge needs.

Real GET_MERCHANT_LISTINGS_ALL_DATA files do not always use the documented column names:
reports have been seen with ``fulfilment-channel`` (one "l") and with several columns all
titled ``Deprecated column``
(https://github.com/amzn/selling-partner-api-models/issues/3999,
https://github.com/amzn/selling-partner-api-models/issues/4140), and reports for
non-English marketplaces can carry translated column names
(https://github.com/jlevers/selling-partner-api/issues/525). A column the catalog depends on
(seller SKU, price, quantity, fulfilment channel, status) is therefore looked up under every
known spelling, and a report that has none of them fails the extract loudly: defaulting a
missing ``fulfillment-channel`` to merchant-fulfilled would read every FBA listing as MFN
with stock 0 and push zero stock to TikTok.
"""

from __future__ import annotations

# Canonical (documented) name -> every spelling seen for it, lower case. The client asks for
# English headers (reportOptions.preferredReportDocumentLocale); the Chinese names are the
# fallback for a report that comes translated anyway, as in
# https://github.com/jlevers/selling-partner-api/issues/525 (there "商品编码" titles both
# listing-id and product-id, so product-id is not read from a Chinese header).
ALIASES: dict[str, tuple[str, ...]] = {
    "seller-sku": ("seller-sku", "sku", "seller sku", "seller_sku", "卖家 sku", "卖家sku"),
    "price": ("price", "价格"),
    "quantity": ("quantity", "数量"),
    "fulfillment-channel": (
        "fulfillment-channel",
        "fulfilment-channel",
        "fulfillment channel",
        "fulfilment channel",
        "配送渠道",
    ),
    "status": ("status", "状态"),
    "item-name": ("item-name", "item name", "商品名称"),
    "asin1": ("asin1",),
    "product-id": ("product-id",),
    "product-id-type": ("product-id-type", "商品编码类型"),
    "parent-asin": ("parent-asin",),
}

# Columns without which a row cannot become a catalog variant safely.
ESSENTIAL = ("seller-sku", "price", "quantity", "fulfillment-channel", "status")


class ReportHeaderError(ValueError):
    """The report's header lacks a column the catalog depends on; names what was found."""


def column_index(header: list[str]) -> dict[str, int]:
    """Canonical column name -> position in ``header`` (names compared case-insensitively).

    Raises :class:`ReportHeaderError` naming the missing essential columns and the header
    found when a column the catalog depends on is absent under every known spelling.
    Columns titled ``Deprecated column`` (several per file) and unknown columns are ignored.
    """
    names = [name.strip().lower() for name in header]
    index: dict[str, int] = {}
    for canonical, spellings in ALIASES.items():
        for position, name in enumerate(names):
            if name in spellings:
                index[canonical] = position
                break
    missing = [name for name in ESSENTIAL if name not in index]
    if missing:
        shown = [name for name in header if name.strip().lower() != "deprecated column"]
        raise ReportHeaderError(
            f"All Listings report has no {', '.join(missing)} column "
            f"(header found: {shown[:12]}); refusing to guess"
        )
    return index
