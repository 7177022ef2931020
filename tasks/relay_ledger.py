"""The order ledger and the relay watermark in the shop's DuckDB file.

The ledger is the relay's exactly-once record: a row is claimed ``PENDING`` (with the
store request id) and committed *before* the store create call, and completed
(``RELAYED`` + store order id, or ``FAILED``) right after. Claims are compare-and-set on
what the run read, so two overlapping runs never both create. Every statement runs in
DuckDB's autocommit mode: each write is durable when the call returns. Rows hold ids,
statuses and SKU quantities only, never buyer data.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from datetime import datetime

import duckdb

from tasks.link_history import link_spans
from tasks.relay_rules import LedgerRow, MappedSku
from tasks.warehouse import sql

WATERMARK = "relay_orders.update_time"


def mapped_skus(con: duckdb.DuckDBPyConnection, store: str) -> dict[str, MappedSku]:
    """Every mapped TikTok SKU id -> its store variant, mapped_at, store SKU, fulfilment
    and link history (:mod:`tasks.link_history`)."""
    rows = con.execute(sql("relay/mapped_lines"), [store]).fetchall()
    spans = link_spans(con)
    return {
        str(r[0]): MappedSku(
            tiktok_sku_id=str(r[0]),
            store_variant_id=str(r[1]),
            seller_sku=r[2],
            mapped_at=r[3],
            store_sku=r[4],
            fulfillment=r[5],
            spans=spans.get(str(r[0]), ()),
        )
        for r in rows
    }


def ledger_rows(con: duckdb.DuckDBPyConnection, order_ids: Sequence[str]) -> dict[str, LedgerRow]:
    """The ledger rows of ``order_ids`` (missing ids are absent from the result)."""
    if not order_ids:
        return {}
    rows = con.execute(sql("relay/ledger_rows"), [list(order_ids)]).fetchall()
    return {
        str(r[0]): LedgerRow(
            tiktok_order_id=str(r[0]),
            state=r[1],
            reason=r[2],
            store_order_id=r[3],
            store_request_id=r[4],
            attempts=int(r[5] or 0),
            attempted_at=r[6],
        )
        for r in rows
    }


def open_order_ids(
    con: duckdb.DuckDBPyConnection, *, since: datetime, max_attempts: int
) -> list[str]:
    """Orders to re-read by id whatever the watermark: waiting, pending, or to retry."""
    rows = con.execute(sql("relay/open_orders"), [since, max_attempts]).fetchall()
    return [str(r[0]) for r in rows]


def upsert_seen(
    con: duckdb.DuckDBPyConnection,
    *,
    order_id: str,
    state: str,
    reason: str,
    lines: str,
    tiktok_status: str,
    create_time: datetime,
    run_id: str,
    now: datetime,
    warning: str | None,
    error: str | None,
) -> None:
    """Record a classification that needs no store call (never overrides PENDING/RELAYED).

    A write conflict means an overlapping run is recording the same order: its record wins.
    """
    with contextlib.suppress(duckdb.TransactionException, duckdb.ConstraintException):
        con.execute(
            sql("relay/upsert_seen"),
            [
                order_id,
                state,
                reason,
                lines,
                tiktok_status,
                create_time,
                run_id,
                now,
                warning,
                error,
            ],
        )


def note_missing(
    con: duckdb.DuckDBPyConnection, *, order_id: str, run_id: str, now: datetime, warning: str
) -> None:
    """Keep an order that Get Order Detail left out on the re-read list (state WAITING)."""
    _retry_conflicts(
        lambda: con.execute(sql("relay/note_missing"), [order_id, run_id, now, warning])
    )


def claim(
    con: duckdb.DuckDBPyConnection,
    *,
    order_id: str,
    request_id: str,
    lines: str,
    tiktok_status: str,
    create_time: datetime,
    run_id: str,
    now: datetime,
    warning: str | None,
    read: LedgerRow | None,
) -> bool:
    """Mark the order PENDING before its create; False when another run claimed it first."""
    if read is None:
        try:
            con.execute(
                sql("relay/claim_new"),
                [order_id, request_id, lines, tiktok_status, create_time, run_id, now, warning],
            )
        except (duckdb.ConstraintException, duckdb.TransactionException):
            return False  # another run inserted (or is inserting) the same order
        return True
    try:
        changed = con.execute(
            sql("relay/claim_existing"),
            [
                order_id,
                request_id,
                lines,
                tiktok_status,
                run_id,
                now,
                warning,
                read.state,
                read.attempts,
            ],
        ).fetchone()
    except duckdb.TransactionException:
        return False  # a concurrent run is updating the same row
    return bool(changed and changed[0])


def complete(
    con: duckdb.DuckDBPyConnection,
    *,
    order_id: str,
    state: str,
    reason: str,
    store_order_id: str | None,
    error: str | None,
    run_id: str,
    now: datetime,
) -> None:
    """Record a create's outcome: RELAYED + store order id, or FAILED + scrubbed message.

    Retried on a write conflict (an overlapping run touching the same row): the outcome of
    a create must not be lost. If it still fails the row stays PENDING, which the next run
    resolves by looking the order up in the store.
    """
    _retry_conflicts(
        lambda: con.execute(
            sql("relay/complete"), [order_id, state, reason, store_order_id, error, run_id, now]
        )
    )


def _retry_conflicts(write: Callable[[], object], attempts: int = 50) -> None:
    for attempt in range(attempts):
        try:
            write()
            return
        except (duckdb.TransactionException, duckdb.ConstraintException):
            # a concurrent upsert of the same key: the retry takes the update path
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (1 + attempt % 5))


def note_pending(
    con: duckdb.DuckDBPyConnection, *, order_id: str, tiktok_status: str, run_id: str, now: datetime
) -> None:
    """Keep a PENDING row pending (outcome still unknown), noting this run saw it."""
    with contextlib.suppress(duckdb.TransactionException):  # an overlapping run has it
        con.execute(sql("relay/note_pending"), [order_id, tiktok_status, run_id, now])


def release_pending(
    con: duckdb.DuckDBPyConnection, *, order_id: str, attempts: int, now: datetime
) -> bool:
    """PENDING -> WAITING once the store is known to have no order for it."""
    try:
        changed = con.execute(sql("relay/release_pending"), [order_id, attempts, now]).fetchone()
    except duckdb.TransactionException:
        return False
    return bool(changed and changed[0])


def get_watermark(con: duckdb.DuckDBPyConnection, name: str = WATERMARK) -> datetime | None:
    """The stored watermark (TikTok order update time fully processed), or None."""
    row = con.execute(sql("relay/watermark_get"), [name]).fetchone()
    return row[0] if row else None


def set_watermark(
    con: duckdb.DuckDBPyConnection, value: datetime, now: datetime, name: str = WATERMARK
) -> None:
    """Advance the watermark to ``value`` (never backwards)."""
    _retry_conflicts(lambda: con.execute(sql("relay/watermark_set"), [name, value, now]))
