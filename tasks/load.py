"""Pushing the plan to TikTok, with a ledger of every write.

- one Update Inventory and one Update Price call per product
  (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858,
  https://partner.tiktokshop.com/docv2/page/650307de5a12ff0294eac8b0), launched concurrently
  so the connector's rate limiter (TikTok's documented QPS per API,
  https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0) is the only brake;
  transient errors are retried by the connector;
- per-SKU rejections inside an accepted call are REJECTED with TikTok's code and message
  while the product's other SKUs are applied; a call that still fails after the
  connector's retries leaves its SKUs FAILED (redone by the next run's plan);
- the ledger (``push_ledger``) gets a PENDING row per SKU and field before any call and the
  outcome after, all in bulk statements; PENDING rows a crashed run left behind are
  settled by the next run (:func:`settle_stale`);
- the push report (public contract, docs/reports.md) is built by :func:`report_frame`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

import duckdb
import pandas as pd

from connectors.base import TikTokApi, WriteResult
from connectors.errors import ApiError
from tasks.plan import PlannedWrite, by_product
from tasks.warehouse import insert_frame, sql

REPORT_COLUMNS = [
    "tiktok_product_id",
    "tiktok_sku_id",
    "field",
    "old",
    "new",
    "status",
    "error",
    "rule",
]
SKIPPED_ERROR = "skipped by an override in the shops file: not synced"
DEFAULT_CONCURRENCY = 16  # calls in flight per API; the connector's limiter sets the pace

Status = Literal["UPDATED", "REJECTED", "FAILED"]


@dataclass(frozen=True)
class WriteOutcome:
    """What happened to one planned write."""

    tiktok_product_id: str
    tiktok_sku_id: str
    field: str
    status: Status
    error: str | None = None


ProgressCallback = Callable[[list[WriteOutcome], int, int], Awaitable[None]]
"""Awaited after each API call with (its outcomes, calls done, calls total)."""


# -- ledger ------------------------------------------------------------------------------
def settle_stale(con: duckdb.DuckDBPyConnection, run_id: str) -> int:
    """Settle PENDING rows left by earlier runs (confirmed UPDATED or FAILED); return count.

    Also clears this run id's own rows first: a retried run starts its ledger afresh.
    """
    con.execute("DELETE FROM push_ledger WHERE run_id = ?", [run_id])
    before = _count_pending(con)
    if before:
        con.execute(sql("plan/resolve_stale"), {"run_id": run_id})
    return before


def _count_pending(con: duckdb.DuckDBPyConnection) -> int:
    rows = con.execute("SELECT count(*) FROM push_ledger WHERE status = 'PENDING'").fetchall()
    return int(rows[0][0])


def record_pending(
    con: duckdb.DuckDBPyConnection, run_id: str, writes: Sequence[PlannedWrite], warehouse_id: str
) -> int:
    """Insert a PENDING ledger row for each write about to be sent (one bulk insert)."""
    if not writes:
        return 0
    now = datetime.now(UTC)
    frame = pd.DataFrame(
        {
            "run_id": run_id,
            "tiktok_product_id": [w.tiktok_product_id for w in writes],
            "tiktok_sku_id": [w.tiktok_sku_id for w in writes],
            "field": [w.field for w in writes],
            "old": [w.old for w in writes],
            "new": [w.new for w in writes],
            "status": "PENDING",
            "error": [None] * len(writes),
            "created_at": now,
            "updated_at": now,
            "warehouse_id": [warehouse_id if w.field == "inventory" else None for w in writes],
        }
    )
    return insert_frame(con, "push_ledger", frame)


def record_outcomes(
    con: duckdb.DuckDBPyConnection, run_id: str, outcomes: Sequence[WriteOutcome]
) -> int:
    """Write call outcomes onto this run's PENDING ledger rows (one bulk update)."""
    if not outcomes:
        return 0
    frame = pd.DataFrame(
        {
            "tiktok_sku_id": [o.tiktok_sku_id for o in outcomes],
            "field": [o.field for o in outcomes],
            "status": [o.status for o in outcomes],
            "error": [o.error for o in outcomes],
        }
    )
    con.register("push_outcomes", frame)
    try:
        con.execute(sql("plan/ledger_outcomes"), {"run_id": run_id})
    finally:
        con.unregister("push_outcomes")
    return len(outcomes)


# -- push --------------------------------------------------------------------------------
async def push_writes(
    api: TikTokApi,
    writes: Sequence[PlannedWrite],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    on_progress: ProgressCallback | None = None,
) -> list[WriteOutcome]:
    """Send ``writes`` (one call per product and field) and return one outcome per write.

    Inventory and price calls draw on separate pools of ``concurrency`` slots, so each API
    runs up to its own rate limit at the same time.
    """
    calls = [
        (which, product_id, group)
        for which in ("inventory", "price")
        for product_id, group in by_product(w for w in writes if w.field == which).items()
    ]
    pools = {"inventory": asyncio.Semaphore(concurrency), "price": asyncio.Semaphore(concurrency)}
    outcomes: list[WriteOutcome] = []
    done = 0

    async def one(which: str, product_id: str, group: list[PlannedWrite]) -> None:
        nonlocal done
        async with pools[which]:
            result = await _call(api, which, product_id, group)
        outcomes.extend(result)
        done += 1
        if on_progress is not None:
            await on_progress(result, done, len(calls))

    async with asyncio.TaskGroup() as group:
        for which, product_id, items in calls:
            group.create_task(one(which, product_id, items))
    return outcomes


async def _call(
    api: TikTokApi, which: str, product_id: str, group: list[PlannedWrite]
) -> list[WriteOutcome]:
    try:
        if which == "inventory":
            result = await api.update_inventory(
                product_id, [w.inventory for w in group if w.inventory is not None]
            )
        else:
            result = await api.update_price(
                product_id, [w.price for w in group if w.price is not None]
            )
    except ApiError as exc:
        # Still failing after the connector's retries (or not retriable at all): the
        # outcome is not confirmed; the next run's plan redoes what is still different.
        return [
            WriteOutcome(w.tiktok_product_id, w.tiktok_sku_id, w.field, "FAILED", str(exc))
            for w in group
        ]
    return _outcomes(result, group)


def _outcomes(result: WriteResult, group: list[PlannedWrite]) -> list[WriteOutcome]:
    errors = {e.sku_id: f"{e.code} {e.message}".strip() for e in result.errors}
    applied = set(result.applied)
    out = []
    for w in group:
        if w.tiktok_sku_id in errors:
            status: Status = "REJECTED"
            error: str | None = errors[w.tiktok_sku_id]
        elif w.tiktok_sku_id in applied:
            status, error = "UPDATED", None
        else:
            status, error = "FAILED", "not in TikTok's answer (neither applied nor rejected)"
        out.append(WriteOutcome(w.tiktok_product_id, w.tiktok_sku_id, w.field, status, error))
    return out


# -- report ------------------------------------------------------------------------------
def report_frame(
    *,
    sent: Sequence[PlannedWrite],
    outcomes: Sequence[WriteOutcome],
    blocked: Sequence[tuple[PlannedWrite, str]],
    unsendable: Sequence[PlannedWrite],
    skipped: Sequence[PlannedWrite] = (),
    dry_run: bool = False,
    stock_age_seconds: float | None = None,
) -> pd.DataFrame:
    """The push report: one row per planned SKU and field, columns ``REPORT_COLUMNS``
    plus ``stock_age_seconds`` (how old the store catalog behind the values was).

    UNCHANGED mapped SKUs are not listed (counted in the run summary). In a dry run the
    writes that would be sent are listed UNCHANGED with ``error`` "dry run: would update".
    A write whose call failed after retries (ledger FAILED) is reported REJECTED with an
    error saying it was not confirmed and will be redone by the next run. SKUs an override
    skips are listed UNCHANGED with rule ``skipped``. ``rule`` says which rule produced
    ``new``.
    """
    by_key = {(o.tiktok_sku_id, o.field): o for o in outcomes}
    rows = []
    for w in sent:
        if dry_run:
            rows.append(_row(w, "UNCHANGED", "dry run: would update"))
            continue
        o = by_key.get((w.tiktok_sku_id, w.field))
        if o is None:
            rows.append(_row(w, "REJECTED", "not confirmed: no outcome recorded"))
        elif o.status == "FAILED":
            rows.append(_row(w, "REJECTED", f"not confirmed, retried next run: {o.error}"))
        else:
            rows.append(_row(w, o.status, o.error))
    rows += [_row(w, "BLOCKED_BY_GUARD", why) for w, why in blocked]
    rows += [_row(w, "REJECTED", w.problem) for w in unsendable]
    rows += [_row(w, "UNCHANGED", SKIPPED_ERROR) for w in skipped]
    frame = pd.DataFrame(rows, columns=REPORT_COLUMNS)
    frame["stock_age_seconds"] = stock_age_seconds
    return frame.sort_values(["tiktok_product_id", "tiktok_sku_id", "field"], ignore_index=True)


def _row(w: PlannedWrite, status: str, error: str | None) -> dict[str, str | None]:
    return {
        "tiktok_product_id": w.tiktok_product_id,
        "tiktok_sku_id": w.tiktok_sku_id,
        "field": w.field,
        "old": w.old,
        "new": w.new,
        "status": status,
        "error": error,
        "rule": w.rule,
    }
