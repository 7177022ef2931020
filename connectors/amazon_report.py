"""Parsing Amazon's "All Listings" report (GET_MERCHANT_LISTINGS_ALL_DATA) robustly.

The report is a tab-separated flat file with a header row
(https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory). Columns
are read by header name, never by position, because Amazon adds columns without notice. A
row that cannot be trusted (wrong number of fields, no seller SKU, a price or quantity that
is not a number, a repeated SKU) is skipped and counted, never guessed at: a half-read
row must not become a wrong price or a zero stock.
"""

from __future__ import annotations

import csv
import gzip
import logging
import zlib
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from connectors.amazon_headers import column_index

log = logging.getLogger("skubridge.connectors.amazon")

csv.field_size_limit(1 << 24)

# product-id-type codes (Seller Central help page 200385890, Active Listings Report)
BARCODE_TYPES = {"2": "ISBN", "3": "UPC", "4": "EAN"}


@dataclass(frozen=True, slots=True)
class ReportRow:
    """The columns of one All Listings row that skubridge uses."""

    sku: str
    title: str
    asin: str | None
    price: Decimal | None
    quantity: int | None  # None for FBA rows: the report has no FBA stock
    fulfillment: str  # "FBA" or "MFN"
    channel: str  # raw fulfillment-channel value, e.g. DEFAULT or AMAZON_NA
    status: str | None
    barcode: str | None
    parent_asin: str | None


@dataclass
class ParseStats:
    """What the parser read: rows kept, rows skipped, and why (first few, by line number)."""

    rows: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)
    # Seller SKUs that arrived with "?": Amazon writes the report in Cp1252 and replaces
    # characters outside it by "?" before download
    # (https://github.com/amzn/selling-partner-api-models/issues/4888,
    # https://github.com/amzn/selling-partner-api-models/issues/4955), so such a SKU names
    # no real listing; it is left out of the catalog and reported, never used in a call.
    altered_skus: list[str] = field(default_factory=list)

    def skip(self, line: int, why: str) -> None:
        self.skipped += 1
        if len(self.reasons) < 20:
            self.reasons.append(f"line {line}: {why}")


def decode_document(data: bytes, *, compression: str | None, content_type: str | None) -> str:
    """The report text: gunzipped when marked GZIP (or when it plainly is gzip), decoded by
    the charset of the download's Content-Type, else UTF-8, else Windows-1252."""
    if (compression or "").upper() == "GZIP" or data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError
            raise ValueError(f"report document marked GZIP is not gzip data ({exc})") from None
    charset = None
    for part in (content_type or "").split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip().strip('"').lower()
    if charset in ("windows-31j", "shift_jis", "x-sjis"):
        charset = "cp932"
    if charset:
        try:
            return data.decode(charset)
        except (LookupError, UnicodeDecodeError):
            log.warning("report charset %s did not decode; falling back", charset)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def parse_listings_report(text: str) -> tuple[list[ReportRow], ParseStats]:
    """Rows of an All Listings report; malformed rows are skipped and counted in the stats.

    Raises ValueError (:class:`connectors.amazon_headers.ReportHeaderError`) when the header
    lacks a column the catalog depends on under every known spelling (seller SKU, price,
    quantity, fulfilment channel, status): treating it as an empty catalog, or an absent
    channel as merchant-fulfilled, would be wrong.
    """
    stats = ParseStats()
    # Rows end at LF or CRLF only: str.splitlines() would also break a row at U+2028, NEL,
    # \x1c-\x1e, VT or FF inside a title, cutting the row in two.
    newline = "\n" if "\n" in text or "\r" not in text else "\r"  # CR-only files too
    lines = [line.removesuffix("\r") for line in text.split(newline)]
    if not lines or not lines[0].strip():
        return [], stats
    header = lines[0].split("\t")
    index = column_index(header)  # known spellings; a missing essential column raises
    rows: list[ReportRow] = []
    seen: set[str] = set()
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != len(header):
            stats.skip(number, f"{len(fields)} fields, header has {len(header)}")
            continue
        row = {name: fields[i].strip() for name, i in index.items()}
        sku = row.get("seller-sku", "")
        if not sku:
            stats.skip(number, "no seller-sku")
            continue
        if sku in seen:
            stats.skip(number, f"seller-sku {sku!r} repeated")
            continue
        if "?" in sku:
            stats.altered_skus.append(sku)
            stats.skip(number, f"seller-sku {sku!r} has '?': altered by the Cp1252 report")
            continue
        channel = row["fulfillment-channel"] or "DEFAULT"
        fba = channel.upper() != "DEFAULT"  # AMAZON_NA / AMAZON_EU / ...
        try:
            price = parse_price(row.get("price", ""))
            quantity = None if fba else parse_quantity(row.get("quantity", ""))
        except ValueError as exc:
            stats.skip(number, f"seller-sku {sku!r}: {exc}")
            continue
        seen.add(sku)
        id_type = row.get("product-id-type", "")
        rows.append(
            ReportRow(
                sku=sku,
                title=row.get("item-name", ""),
                asin=row.get("asin1") or None,
                price=price,
                quantity=quantity,
                fulfillment="FBA" if fba else "MFN",
                channel=channel,
                status=row.get("status") or None,
                barcode=(row.get("product-id") or None) if id_type in BARCODE_TYPES else None,
                # Not among the documented columns; read if a report variant carries it.
                parent_asin=row.get("parent-asin") or None,
            )
        )
    stats.rows = len(rows)
    if stats.skipped:
        log.warning(
            "All Listings report: skipped %d malformed row(s) of %d; first: %s",
            stats.skipped,
            stats.rows + stats.skipped,
            "; ".join(stats.reasons[:5]),
        )
    return rows, stats


def parse_price(value: str) -> Decimal | None:
    """A report price ("12.50"); empty means no price. Negative or non-numeric is an error."""
    if not value:
        return None
    text = value
    if "," in text and "." not in text and text.count(",") == 1:
        # decimal comma: how EU reports write prices is UNCONFIRMED; accept both
        text = text.replace(",", ".")
    elif "," in text and text.count(".") == 1:
        text = text.replace(",", "")  # thousands separators
    try:
        price = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"price {value!r} is not a number") from None
    if not price.is_finite() or price < 0:
        raise ValueError(f"price {value!r} is not a valid amount")
    return price


def parse_quantity(value: str) -> int:
    """A merchant-fulfilled quantity; empty means 0 (e.g. inactive listings)."""
    if not value:
        return 0
    try:
        quantity = int(value)
    except ValueError:
        raise ValueError(f"quantity {value!r} is not a whole number") from None
    if quantity < 0:
        raise ValueError(f"quantity {value!r} is negative")
    return quantity
