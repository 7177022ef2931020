"""Extract: page through a marketplace catalog and land it in DuckDB in bulk.

:func:`extract_catalog` consumes ``api.iter_catalog()`` page by page and turns each page
into Arrow record batches with the columns of ``staged_variants`` and ``staged_stock``
(options as JSON text, price as DECIMAL(18, 4), quantity = sum of the stock per
location). A record that cannot be a row (no variant id, a quantity that is not a whole
number, a price that is not a number...) is skipped and counted with its reason in
:class:`ExtractStats`: a broken record never crashes the extract and is never dropped
silently. :func:`extract_both` runs the TikTok and the store extract concurrently;
:func:`land_staged` then writes them with :func:`tasks.warehouse.insert_frame` (one bulk
insert per table, never row by row).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import duckdb
import pyarrow as pa

from tasks.warehouse import insert_frame, sql

log = logging.getLogger("skubridge.extract")

PRICE_TYPE = pa.decimal128(18, 4)
_PRICE_STEP = Decimal("0.0001")
_PRICE_LIMIT = Decimal(10) ** 14  # DECIMAL(18, 4) holds 14 integer digits
_BIGINT_LIMIT = 2**63

VARIANT_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("channel", pa.string()),
        ("product_id", pa.string()),
        ("variant_id", pa.string()),
        ("seller_sku", pa.string()),
        ("title", pa.string()),
        ("variant_title", pa.string()),
        ("options", pa.string()),
        ("price", PRICE_TYPE),
        ("currency", pa.string()),
        ("quantity", pa.int64()),
        ("barcode", pa.string()),
        ("status", pa.string()),
        ("fulfillment", pa.string()),
        ("parent_id", pa.string()),
        ("extracted_at", pa.timestamp("us", tz="UTC")),
        # added by migration 202 (Shopify only; stock rules)
        ("tracked", pa.bool_()),
        ("inventory_policy", pa.string()),
    ]
)
STOCK_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("channel", pa.string()),
        ("variant_id", pa.string()),
        ("location_id", pa.string()),
        ("quantity", pa.int64()),
    ]
)

# Reasons a record is skipped (ExtractStats.skipped_by_reason keys).
NOT_A_VARIANT = "NOT_A_VARIANT"
WRONG_CHANNEL = "WRONG_CHANNEL"
MISSING_VARIANT_ID = "MISSING_VARIANT_ID"
MISSING_PRODUCT_ID = "MISSING_PRODUCT_ID"
BAD_PRICE = "BAD_PRICE"
BAD_QUANTITY = "BAD_QUANTITY"
BAD_OPTIONS = "BAD_OPTIONS"
BAD_TEXT = "BAD_TEXT"


class MalformedRecord(ValueError):
    """One catalog record cannot become a row; ``reason`` is one of the codes above."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class SkippedRecord:
    """A record left out of the extract, and why."""

    reason: str
    product_id: str | None
    variant_id: str | None
    detail: str


@dataclass
class ExtractStats:
    """What one catalog extract saw: pages, rows kept, records skipped with reasons."""

    channel: str
    run_id: str = ""
    pages: int = 0
    records: int = 0
    rows: int = 0
    stock_rows: int = 0
    products: int = 0
    seconds: float = 0.0
    skipped: list[SkippedRecord] = field(default_factory=list)
    # SKUs the store's report delivered altered (Amazon: "?" for characters outside
    # Cp1252, connectors/amazon_report.py), left out of the catalog by the connector.
    altered_skus: list[str] = field(default_factory=list)

    @property
    def skipped_by_reason(self) -> dict[str, int]:
        return dict(Counter(s.reason for s in self.skipped))

    def to_dict(self, max_skipped: int = 50) -> dict[str, Any]:
        """JSON-able summary (the first ``max_skipped`` skipped records listed in full)."""
        return {
            "channel": self.channel,
            "pages": self.pages,
            "records": self.records,
            "rows": self.rows,
            "stock_rows": self.stock_rows,
            "products": self.products,
            "seconds": round(self.seconds, 3),
            "skipped": len(self.skipped),
            "skipped_by_reason": self.skipped_by_reason,
            "skipped_records": [vars(s) for s in self.skipped[:max_skipped]],
            "altered": len(self.altered_skus),
            "altered_skus": self.altered_skus[:max_skipped],
        }


def _text(value: Any, name: str) -> str | None:
    """A text field as str; integers are accepted (ids often arrive as numbers)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise MalformedRecord(BAD_TEXT, f"{name} is a {type(value).__name__}, not text")
    return str(value)


def _required_id(value: Any, name: str, reason: str) -> str:
    text = _text(value, name)
    if text is None or not text.strip():
        raise MalformedRecord(reason, f"{name} is missing")
    return text


def _price(value: Any) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise MalformedRecord(BAD_PRICE, f"price {value!r} is not a number")
    try:
        amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise MalformedRecord(BAD_PRICE, f"price {value!r} is not a number") from None
    if not amount.is_finite() or abs(amount) >= _PRICE_LIMIT:
        raise MalformedRecord(BAD_PRICE, f"price {value!r} is out of range")
    return amount.quantize(_PRICE_STEP)


def _quantity(value: Any, location: str) -> int:
    """A whole number of units; '12' and 12.0 are accepted, 'n/a', 1.5 and True are not."""
    if isinstance(value, bool) or value is None:
        raise MalformedRecord(BAD_QUANTITY, f"quantity {value!r} at {location} is not a number")
    if isinstance(value, int):
        number = value
    else:
        try:
            exact = Decimal(str(value).strip())
        except (InvalidOperation, ValueError):
            raise MalformedRecord(
                BAD_QUANTITY, f"quantity {value!r} at {location} is not a number"
            ) from None
        if not exact.is_finite() or exact != exact.to_integral_value():
            raise MalformedRecord(
                BAD_QUANTITY, f"quantity {value!r} at {location} is not a whole number"
            )
        number = int(exact)
    if abs(number) >= _BIGINT_LIMIT:
        raise MalformedRecord(BAD_QUANTITY, f"quantity {value!r} at {location} is out of range")
    return number


def _tracked(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _options(value: Any) -> str:
    if value is None:
        return "{}"
    if not isinstance(value, Mapping):
        raise MalformedRecord(BAD_OPTIONS, f"options is a {type(value).__name__}, not a mapping")
    return json.dumps({str(k): str(v) for k, v in value.items()}, ensure_ascii=False)


def _row(record: Any, channel: str) -> tuple[list[Any], list[tuple[str, int]]]:
    """The staged_variants values (without run_id/channel/extracted_at) and stock of a record."""
    try:
        record_channel = record.channel
        raw_product, raw_variant = record.product_id, record.variant_id
        stock = record.stock
    except AttributeError as exc:
        raise MalformedRecord(NOT_A_VARIANT, f"not a catalog variant ({exc})") from None
    if record_channel != channel:
        raise MalformedRecord(WRONG_CHANNEL, f"channel {record_channel!r}, expected {channel!r}")
    variant_id = _required_id(raw_variant, "variant_id", MISSING_VARIANT_ID)
    product_id = _required_id(raw_product, "product_id", MISSING_PRODUCT_ID)
    if stock is None:
        stock = {}
    if not isinstance(stock, Mapping):
        raise MalformedRecord(BAD_QUANTITY, f"stock is a {type(stock).__name__}, not a mapping")
    locations = [(str(loc), _quantity(qty, str(loc))) for loc, qty in stock.items()]
    values = [
        product_id,
        variant_id,
        _text(getattr(record, "seller_sku", None), "seller_sku"),
        _text(getattr(record, "title", None), "title"),
        _text(getattr(record, "variant_title", None), "variant_title"),
        _options(getattr(record, "options", None)),
        _price(getattr(record, "price", None)),
        _text(getattr(record, "currency", None), "currency"),
        sum(q for _, q in locations),
        _text(getattr(record, "barcode", None), "barcode"),
        _text(getattr(record, "status", None), "status"),
        _text(getattr(record, "fulfillment", None), "fulfillment"),
        _text(getattr(record, "parent_id", None), "parent_id"),
        _tracked(getattr(record, "tracked", None)),
        _text(getattr(record, "inventory_policy", None), "inventory_policy"),
    ]
    return values, locations


_FIXED_COLUMNS = ("run_id", "channel", "extracted_at")
_VALUE_COLUMNS = [n for n in VARIANT_SCHEMA.names if n not in _FIXED_COLUMNS]


def _page_batches(
    page: list[Any], *, run_id: str, channel: str, at: datetime, stats: ExtractStats
) -> tuple[pa.RecordBatch, pa.RecordBatch]:
    """One page as a variants batch and a stock batch (columns built as Python lists)."""
    columns: list[list[Any]] = [[] for _ in _VALUE_COLUMNS]
    stock_variant: list[str] = []
    stock_location: list[str] = []
    stock_quantity: list[int] = []
    for record in page:
        stats.records += 1
        try:
            values, locations = _row(record, channel)
        except MalformedRecord as bad:
            stats.skipped.append(
                SkippedRecord(
                    bad.reason,
                    _safe_id(record, "product_id"),
                    _safe_id(record, "variant_id"),
                    bad.detail,
                )
            )
            continue
        for column, value in zip(columns, values, strict=True):
            column.append(value)
        for location, quantity in locations:
            stock_variant.append(values[1])
            stock_location.append(location)
            stock_quantity.append(quantity)
    n, m = len(columns[0]), len(stock_variant)
    arrays = {
        "run_id": pa.array([run_id] * n, pa.string()),
        "channel": pa.array([channel] * n, pa.string()),
        "extracted_at": pa.array([at] * n, VARIANT_SCHEMA.field("extracted_at").type),
    } | {
        name: pa.array(col, type=VARIANT_SCHEMA.field(name).type)
        for name, col in zip(_VALUE_COLUMNS, columns, strict=True)
    }
    variants = pa.record_batch(
        [arrays[name] for name in VARIANT_SCHEMA.names], schema=VARIANT_SCHEMA
    )
    stock = pa.record_batch(
        [
            pa.array([run_id] * m, pa.string()),
            pa.array([channel] * m, pa.string()),
            pa.array(stock_variant, pa.string()),
            pa.array(stock_location, pa.string()),
            pa.array(stock_quantity, pa.int64()),
        ],
        schema=STOCK_SCHEMA,
    )
    return variants, stock


def _safe_id(record: Any, name: str) -> str | None:
    value = getattr(record, name, None)
    return None if value is None else str(value)[:200]


async def extract_catalog(
    api: Any,
    *,
    run_id: str,
    channel: str,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    log_every_seconds: float = 10.0,
    extracted_at: datetime | None = None,
    options: Mapping[str, Any] | None = None,
) -> tuple[pa.Table, pa.Table, ExtractStats]:
    """Read one side's catalog through ``api.iter_catalog(**options)`` into Arrow tables.

    Returns ``(variants, stock, stats)``: ``variants`` has the ``staged_variants`` columns,
    ``stock`` the ``staged_stock`` columns, ``stats`` the pages, rows and skipped records.
    Connector errors (``connectors.errors``) propagate: a failed page fails the extract.
    """
    logger = logger or log
    at = extracted_at or datetime.now(UTC)
    stats = ExtractStats(channel=channel, run_id=run_id)
    variant_batches: list[pa.RecordBatch] = []
    stock_batches: list[pa.RecordBatch] = []
    started = last_log = time.monotonic()
    async for page in api.iter_catalog(**dict(options or {})):
        stats.pages += 1
        variants, stock = _page_batches(
            list(page), run_id=run_id, channel=channel, at=at, stats=stats
        )
        variant_batches.append(variants)
        stock_batches.append(stock)
        stats.rows += variants.num_rows
        stats.stock_rows += stock.num_rows
        now = time.monotonic()
        if now - last_log >= log_every_seconds:
            last_log = now
            logger.info(
                "%s catalog: %d pages, %d rows so far (%d skipped)",
                channel,
                stats.pages,
                stats.rows,
                len(stats.skipped),
            )
    variants_table = pa.Table.from_batches(variant_batches, schema=VARIANT_SCHEMA)
    stock_table = pa.Table.from_batches(stock_batches, schema=STOCK_SCHEMA)
    stats.products = len(variants_table.column("product_id").unique())
    stats.seconds = time.monotonic() - started
    report_stats = getattr(api, "last_report_stats", None)  # report-based stores (Amazon)
    stats.altered_skus = list(getattr(report_stats, "altered_skus", None) or [])
    if stats.altered_skus:
        logger.warning(
            "%s catalog: %d SKU(s) left out, altered by the report's Cp1252 encoding: %s",
            channel,
            len(stats.altered_skus),
            ", ".join(repr(s) for s in stats.altered_skus[:10]),
        )
    logger.info(
        "%s catalog extracted: %d pages, %d variants of %d products, %d stock rows, "
        "%d records skipped %s",
        channel,
        stats.pages,
        stats.rows,
        stats.products,
        stats.stock_rows,
        len(stats.skipped),
        stats.skipped_by_reason or "",
    )
    for skipped in stats.skipped[:20]:
        logger.warning(
            "%s record skipped (%s): product %s variant %s: %s",
            channel,
            skipped.reason,
            skipped.product_id,
            skipped.variant_id,
            skipped.detail,
        )
    return variants_table, stock_table, stats


@dataclass(frozen=True)
class Extract:
    """One side's extract, ready to land."""

    channel: str
    variants: pa.Table
    stock: pa.Table
    stats: ExtractStats


async def extract_both(
    tiktok_api: Any,
    store_api: Any,
    *,
    run_id: str,
    store_channel: str,
    logger: logging.Logger | logging.LoggerAdapter[Any] | None = None,
    tiktok_options: Mapping[str, Any] | None = None,
    store_options: Mapping[str, Any] | None = None,
) -> tuple[Extract, Extract]:
    """Extract the TikTok and the store catalog concurrently; (tiktok, store).

    ``tiktok_options``/``store_options`` go to each side's ``iter_catalog`` (e.g. the
    attributes cache, ``since`` for an incremental extract).
    """
    at = datetime.now(UTC)
    (tv, ts, tstats), (sv, ss, sstats) = await asyncio.gather(
        extract_catalog(
            tiktok_api,
            run_id=run_id,
            channel="tiktok",
            logger=logger,
            extracted_at=at,
            options=tiktok_options,
        ),
        extract_catalog(
            store_api,
            run_id=run_id,
            channel=store_channel,
            logger=logger,
            extracted_at=at,
            options=store_options,
        ),
    )
    return Extract("tiktok", tv, ts, tstats), Extract(store_channel, sv, ss, sstats)


def land_staged(con: duckdb.DuckDBPyConnection, extract: Extract) -> int:
    """Replace the channel's staged rows with this extract (bulk inserts, one transaction).

    Staged rows of earlier runs of the channel go too (a rejected extract's rows stay for
    inspection only until the next extract). Returns the variant rows landed.
    """
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql("catalog/clear_staged_variants"), [extract.channel])
        con.execute(sql("catalog/clear_staged_stock"), [extract.channel])
        rows = insert_frame(con, "staged_variants", extract.variants)
        insert_frame(con, "staged_stock", extract.stock)
        con.execute(sql("catalog/clear_altered_skus"), [extract.channel])
        if extract.stats.altered_skus:
            con.executemany(
                "INSERT INTO report_altered_skus VALUES (?, ?, ?)",
                [(extract.stats.run_id, extract.channel, s) for s in extract.stats.altered_skus],
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return rows
