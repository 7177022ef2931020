"""The loop-back ledger in the shop's DuckDB file: one row per TikTok line, one per order.

A line row says what the loop back did to one TikTok order line (one unit): the store box
it was shipped with (``store_shipment_id``), TikTok's package, the tracking number and
provider pushed, when, how many tracking corrections were used; whether its cancellation
reached the store; whether it lowered (and gave back) a merchant-fulfilled SKU's store
quantity. Decisions are taken from these rows and fresh reads of both sides, so a rerun,
or a webhook echoing the loop back's own write, changes nothing. Rows are written whole
(``INSERT OR REPLACE``) in autocommit mode: durable when the call returns. The step's
runner holds the file for the whole run, so there is one writer per shop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb

from tasks.warehouse import sql


@dataclass
class LineRow:
    """One TikTok line's loop-back state (see the module docstring)."""

    tiktok_order_id: str
    tiktok_line_id: str
    sku_id: str | None = None
    store_order_id: str | None = None
    ship_state: str | None = None  # IN_FLIGHT | SHIPPED | REJECTED
    store_shipment_id: str | None = None
    package_id: str | None = None
    tracking_number: str | None = None
    carrier: str | None = None
    shipping_provider_id: str | None = None
    shipped_at: datetime | None = None
    corrections_used: int = 0
    cancel_state: str | None = None
    mfn_sku: str | None = None
    mfn_state: str | None = None  # LOWERING | LOWERED | RESTORING | RESTORED
    mfn_target: int | None = None
    error: str | None = None
    run_id: str | None = None
    updated_at: datetime | None = None


@dataclass
class OrderRow:
    """One followed TikTok order: its store order, cancellation outcome, done flag."""

    tiktok_order_id: str
    store_order_id: str | None = None
    shipping_type: str | None = None
    cancel_state: str | None = None
    noted: str | None = None
    done: bool = False
    run_id: str | None = None
    updated_at: datetime | None = None
    store_retry: bool = False  # the last store read left a box not carried over: read again


_LINE_FIELDS = [f.name for f in dataclasses.fields(LineRow)]
_ORDER_FIELDS = [f.name for f in dataclasses.fields(OrderRow)]


def candidates(
    con: duckdb.DuckDBPyConnection, *, since: datetime, store: str
) -> list[tuple[str, str | None, str]]:
    """(TikTok order id, store order id, relay state) of every order still followed."""
    rows = con.execute(sql("loop_back/candidates"), [since, store]).fetchall()
    return [(str(r[0]), r[1], str(r[2])) for r in rows]


def lines_of(con: duckdb.DuckDBPyConnection, order_ids: Sequence[str]) -> dict[str, LineRow]:
    """Line rows of ``order_ids`` keyed by TikTok line id."""
    if not order_ids:
        return {}
    cols = ", ".join(_LINE_FIELDS)
    cur = con.execute(
        f"SELECT {cols} FROM loop_back_lines WHERE list_contains(?, tiktok_order_id)",
        [list(order_ids)],
    )
    return {str(r[1]): LineRow(*r) for r in cur.fetchall()}


def orders_of(con: duckdb.DuckDBPyConnection, order_ids: Sequence[str]) -> dict[str, OrderRow]:
    """Order rows of ``order_ids`` keyed by TikTok order id."""
    if not order_ids:
        return {}
    cols = ", ".join(_ORDER_FIELDS)
    cur = con.execute(
        f"SELECT {cols} FROM loop_back_orders WHERE list_contains(?, tiktok_order_id)",
        [list(order_ids)],
    )
    return {str(r[0]): OrderRow(*r) for r in cur.fetchall()}


class LedgerConflict(Exception):
    """Another run of the same shop wrote the same ledger row at the same moment: that run
    owns the order now; this one leaves it alone (its TikTok and store state are re-read
    next time, so nothing is lost)."""


def _write(con: duckdb.DuckDBPyConnection, name: str, values: list[Any]) -> None:
    try:
        con.execute(sql(name), values)
    except (duckdb.ConstraintException, duckdb.TransactionException) as exc:
        raise LedgerConflict(str(exc)) from exc


@dataclass(frozen=True)
class Watermark:
    """Where incremental store reads start: the last clean run's start and the last full
    re-read's."""

    read_from: datetime
    full_at: datetime
    runs_since_full: int


def watermark(con: duckdb.DuckDBPyConnection) -> Watermark | None:
    """The shop's loop-back watermark, None before the first clean run."""
    row = con.execute(
        "SELECT read_from, full_at, runs_since_full FROM loop_back_watermark WHERE id = 1"
    ).fetchone()
    return Watermark(row[0], row[1], int(row[2])) if row else None


def put_watermark(con: duckdb.DuckDBPyConnection, mark: Watermark) -> None:
    """Record a clean run's watermark (only after every store read of the run succeeded).

    Raises :class:`LedgerConflict` when another run of the shop wrote it at the same moment
    (DuckDB's optimistic concurrency rejects the second writer of the one row)."""
    try:
        con.execute(
            "INSERT OR REPLACE INTO loop_back_watermark VALUES (1, ?, ?, ?)",
            [mark.read_from, mark.full_at, mark.runs_since_full],
        )
    except (duckdb.ConstraintException, duckdb.TransactionException) as exc:
        raise LedgerConflict(str(exc)) from exc


def put_line(con: duckdb.DuckDBPyConnection, row: LineRow, *, run_id: str, now: datetime) -> None:
    """Write ``row`` (stamped with the run and time); committed when this returns."""
    row.run_id, row.updated_at = run_id, now
    _write(con, "loop_back/line_put", [getattr(row, f) for f in _LINE_FIELDS])


def put_order(con: duckdb.DuckDBPyConnection, row: OrderRow, *, run_id: str, now: datetime) -> None:
    """Write ``row`` (stamped with the run and time)."""
    row.run_id, row.updated_at = run_id, now
    _write(con, "loop_back/order_put", [getattr(row, f) for f in _ORDER_FIELDS])
