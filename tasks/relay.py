"""Relay TikTok orders of mapped products into the store (Shopify order / Amazon MCF), once.

One run for one shop (:func:`relay_shop`; the step's runner is
:func:`tasks.steps.orders.run_orders`):

1. search TikTok orders updated in ``[watermark - overlap, now)`` (first run: the last
   ``initial_lookback_hours``), plus every still-open ledger order by id (waiting for a
   mapping or a shippable status, a create whose answer was lost, a rejection to retry),
   whatever the watermark says;
2. read their details in batches of 50 and classify each (:mod:`tasks.relay_rules`); an
   id that Get Order Detail leaves out of its answer is asked once more, and if still
   missing it is kept on the re-read list (a WAITING ledger row, read by id next run
   whatever the watermark says) and named in the report (warning ``DETAIL_MISSING``);
3. relay the eligible ones exactly once: ledger row PENDING (committed) -> create ->
   RELAYED / FAILED. A PENDING row is looked up in the store (``find_order``) before any
   new create; where the store's order search lags writes (Shopify), a PENDING row
   younger than the store's ``order_lookup_grace_s`` is left alone rather than risk a
   second order;
4. advance the watermark to the end of the window only when every order of the window
   was recorded in the ledger (a failed run leaves it where it was);
5. publish the order report (its public columns: :data:`REPORT_COLUMNS`) as table,
   CSV/Parquet and artifact.

Buyer names, phones and addresses exist only in memory while an order is sent; they are
scrubbed from every message the relay stores, logs or raises.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pandas as pd

from connectors.base import StoreApi, StoreOrder, TikTokApi, TikTokOrder
from connectors.errors import ApiError, AuthError, OutcomeUnknownError
from skubridge.config import ShopConfig
from tasks import relay_ledger as ledger
from tasks import relay_rules as rules
from tasks.link_history import record_links
from tasks.relay_rules import LedgerRow, RelaySettings
from tasks.reports import (
    ReportFiles,
    markdown_artifact,
    markdown_table,
    publish_report,
    run_report_dir,
)

log = logging.getLogger("skubridge.tasks.relay")

# at most 50 ids per Get Order Detail
# (https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5)
DETAIL_BATCH = 50
MAX_STORE_ATTEMPTS = 5  # a rejected order is retried on later runs up to this many creates
OPEN_MAX_AGE_DAYS = 30  # open orders older than this (by TikTok create time) are let go
REPORT_COLUMNS = [
    "tiktok_order_id",
    "status",
    "reason",
    "store_order_id",
    "lines",
    "created_at",
    "warning",
]


class RelayError(Exception):
    """The relay run failed; the message never carries buyer data."""


@dataclass(frozen=True)
class ReportRow:
    """One order report row (the public columns, plus ``warning``)."""

    tiktok_order_id: str
    status: str | None  # None: TikTok did not return the order (DETAIL_MISSING)
    reason: str
    store_order_id: str | None
    lines: str
    created_at: datetime | None
    warning: str | None = None


@dataclass
class RelayOutcome:
    """What a relay run did: report rows, search window, watermark and report files."""

    run_id: str
    shop_id: str
    rows: list[ReportRow]
    window: tuple[datetime, datetime]
    watermark: datetime | None
    dry_run: bool = False
    report: ReportFiles | None = None
    store_calls: dict[str, int] = field(default_factory=dict)
    advance_to: datetime | None = None  # the watermark to store once the report is out

    def frame(self) -> pd.DataFrame:
        """The order report as a DataFrame with the public columns."""
        data = [
            {c: getattr(r, c) for c in REPORT_COLUMNS}
            for r in sorted(self.rows, key=lambda r: r.tiktok_order_id)
        ]
        frame = pd.DataFrame(data, columns=REPORT_COLUMNS)
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        return frame

    def counts(self) -> dict[str, int]:
        """Orders per reason code."""
        return dict(Counter(r.reason for r in self.rows))

    def warnings(self) -> dict[str, int]:
        """Orders per warning code (details such as 'unmapped: ...' are not counted)."""
        found: Counter[str] = Counter()
        for row in self.rows:
            for part in (row.warning or "").split("; "):
                if part in rules.ADVICE:
                    found[part] += 1
        return dict(found)

    def summary(self) -> dict[str, Any]:
        """A JSON-ready summary for the run record and the CLI."""
        return {
            "orders": len(self.rows),
            "reasons": self.counts(),
            "warnings": self.warnings(),
            "window": [self.window[0].isoformat(), self.window[1].isoformat()],
            "watermark": self.watermark.isoformat() if self.watermark else None,
            "dry_run": self.dry_run,
            "report": str(self.report.csv) if self.report else None,
        }


def relay_settings(shop: ShopConfig) -> RelaySettings:
    """The rule inputs of a shop: store kind, order tags, Amazon shipping speed."""
    return RelaySettings(
        store=shop.store,
        tags=tuple(shop.orders.tags),
        shipping_speed=shop.amazon.shipping_speed if shop.amazon else None,
    )


class _Run:
    """One relay run over one shop (state shared by the per-order steps)."""

    def __init__(
        self,
        shop: ShopConfig,
        con: duckdb.DuckDBPyConnection,
        tiktok: TikTokApi,
        store: StoreApi,
        *,
        run_id: str,
        dry_run: bool,
        pending_grace_s: float | None,
        concurrency: int,
    ) -> None:
        self.shop = shop
        self.con = con
        self.tiktok = tiktok
        self.store = store
        self.run_id = run_id
        self.dry_run = dry_run
        self.settings = relay_settings(shop)
        grace = store.order_lookup_grace_s if pending_grace_s is None else pending_grace_s
        self.grace = timedelta(seconds=max(0.0, grace))
        self.semaphore = asyncio.Semaphore(max(1, concurrency))
        if not dry_run:  # links made since the last mapping change (hand map, CSV, seed)
            record_links(con)
        self.mapped = ledger.mapped_skus(con, shop.store)
        self.rows: list[ReportRow] = []
        self.personal: list[str] = []

    # -- the run ------------------------------------------------------------------------
    async def run(self) -> RelayOutcome:
        start = datetime.now(UTC)
        mark = ledger.get_watermark(self.con)
        if mark is None:
            since = start - timedelta(hours=self.shop.orders.initial_lookback_hours)
        else:
            since = mark - timedelta(minutes=self.shop.orders.overlap_minutes)
        # update_time_lt is exclusive and whole seconds (Get Order List,
        # https://partner.tiktokshop.com/docv2/page/650aa8094a0bb702c06df242): include the
        # current second; the watermark is its start, so an order updated later in it is
        # read again.
        second = start.replace(microsecond=0)
        end = second + timedelta(seconds=1)
        ids: list[str] = []
        async for page in self.tiktok.search_orders(update_time_ge=since, update_time_lt=end):
            ids.extend(page)
        ids = list(dict.fromkeys(ids))
        found = set(ids)
        reopen = ledger.open_order_ids(
            self.con,
            since=start - timedelta(days=OPEN_MAX_AGE_DAYS),
            max_attempts=MAX_STORE_ATTEMPTS,
        )
        ids += [i for i in reopen if i not in found]
        log.info(
            "relay %s: %d orders updated since %s, %d open from earlier runs",
            self.shop.id,
            len(found),
            since.isoformat(),
            len(ids) - len(found),
        )
        for offset in range(0, len(ids), DETAIL_BATCH):
            batch = ids[offset : offset + DETAIL_BATCH]
            orders = await self._details(batch)
            self.personal = rules.personal_values(orders)
            known = ledger.ledger_rows(self.con, [o.id for o in orders])
            try:
                await asyncio.gather(*(self._guarded(o, known.get(o.id)) for o in orders))
            except AuthError as exc:
                raise RelayError(self._clean(str(exc))) from None
        watermark = mark
        if not self.dry_run:
            watermark = max(mark, second) if mark else second
        return RelayOutcome(
            run_id=self.run_id,
            shop_id=self.shop.id,
            rows=self.rows,
            window=(since, end),
            watermark=watermark,
            dry_run=self.dry_run,
            advance_to=None if self.dry_run else second,
        )

    async def _details(self, batch: list[str]) -> list[TikTokOrder]:
        """Details of ``batch``; ids the answer left out are asked once more, and those
        still missing are kept on the re-read list and reported (never silently dropped)."""
        orders = await self.tiktok.get_orders(batch)
        missing = [i for i in batch if i not in {o.id for o in orders}]
        if missing:
            orders += await self.tiktok.get_orders(missing)
            missing = [i for i in missing if i not in {o.id for o in orders}]
        if missing:
            log.warning(
                "relay %s: Get Order Detail left out %d order(s): %s; kept for the next run",
                self.shop.id,
                len(missing),
                ", ".join(missing[:20]),
            )
        now = datetime.now(UTC)
        for order_id in missing:
            if not self.dry_run:
                ledger.note_missing(
                    self.con,
                    order_id=order_id,
                    run_id=self.run_id,
                    now=now,
                    warning=rules.DETAIL_MISSING,
                )
            self.rows.append(
                ReportRow(order_id, None, rules.NOT_READY, None, "", None, rules.DETAIL_MISSING)
            )
        return orders

    async def _guarded(self, order: TikTokOrder, row: LedgerRow | None) -> None:
        async with self.semaphore:
            try:
                self.rows.append(await self._one(order, row))
            except (AuthError, RelayError):
                raise
            except Exception as exc:
                # Unexpected: the row stays as it was (PENDING stays PENDING: looked up next
                # run). The message is scrubbed; the original chain is dropped on purpose.
                raise RelayError(
                    f"order {order.id}: {type(exc).__name__}: {self._clean(str(exc))}"
                ) from None

    def _clean(self, text: str) -> str:
        return rules.scrub(text, self.personal)[:500]

    def _row(
        self,
        order: TikTokOrder,
        reason: str,
        *,
        store_order_id: str | None = None,
        warnings: Sequence[str] = (),
    ) -> ReportRow:
        warning = "; ".join(dict.fromkeys(w for w in warnings if w)) or None
        return ReportRow(
            tiktok_order_id=order.id,
            status=order.status,
            reason=reason,
            store_order_id=store_order_id,
            lines=rules.lines_text(order),
            created_at=order.create_time,
            warning=warning,
        )

    # -- one order ----------------------------------------------------------------------
    async def _one(self, order: TikTokOrder, row: LedgerRow | None) -> ReportRow:
        now = datetime.now(UTC)
        if row is not None and row.state == "RELAYED":
            late_cancel = [rules.CANCELLED_AFTER_RELAY] if order.status == "CANCELLED" else []
            return self._row(
                order,
                rules.ALREADY_RELAYED,
                store_order_id=row.store_order_id,
                warnings=late_cancel,
            )
        if row is not None and row.state == "PENDING":
            resolved = await self._resolve_pending(order, row, now)
            if resolved is not None:
                return resolved
            row = LedgerRow(order.id, "WAITING", row.reason, None, None, row.attempts)
        verdict = rules.classify(order, self.mapped, self.settings, row)
        warnings = list(verdict.warnings) + list(verdict.details)
        if verdict.action != "relay" or verdict.request is None:
            if not self.dry_run:
                ledger.upsert_seen(
                    self.con,
                    order_id=order.id,
                    state="WAITING" if verdict.action == "wait" else "SKIPPED",
                    reason=verdict.reason,
                    lines=rules.lines_json(order),
                    tiktok_status=order.status,
                    create_time=order.create_time,
                    run_id=self.run_id,
                    now=now,
                    warning="; ".join(verdict.warnings) or None,
                    error="; ".join(verdict.details) or None,
                )
            return self._row(order, verdict.reason, warnings=warnings)
        if self.dry_run:
            return self._row(order, rules.RELAYED, warnings=[*warnings, rules.DRY_RUN])
        claimed = ledger.claim(
            self.con,
            order_id=order.id,
            request_id=self.store.order_key(order.id),
            lines=rules.lines_json(order),
            tiktok_status=order.status,
            create_time=order.create_time,
            run_id=self.run_id,
            now=now,
            warning="; ".join(verdict.warnings) or None,
            read=row,
        )
        if not claimed:
            return self._row(order, rules.NOT_READY, warnings=[*warnings, rules.IN_PROGRESS])
        try:
            created = await self.store.create_order(verdict.request)
        except OutcomeUnknownError:
            return await self._after_lost_answer(order, warnings)
        except ApiError as exc:
            message = self._clean(str(exc))
            self._complete(order.id, "FAILED", rules.STORE_REJECTED, None, message)
            if isinstance(exc, AuthError):
                raise
            log.warning("relay %s: order %s rejected by the store", self.shop.id, order.id)
            return self._row(order, rules.STORE_REJECTED, warnings=[*warnings, message])
        self._complete(order.id, "RELAYED", rules.RELAYED, created.id, None)
        return self._row(order, rules.RELAYED, store_order_id=created.id, warnings=warnings)

    def _complete(
        self, order_id: str, state: str, reason: str, store_id: str | None, error: str | None
    ) -> None:
        ledger.complete(
            self.con,
            order_id=order_id,
            state=state,
            reason=reason,
            store_order_id=store_id,
            error=error,
            run_id=self.run_id,
            now=datetime.now(UTC),
        )

    async def _find(self, order_id: str) -> StoreOrder | Exception | None:
        try:
            return await self.store.find_order(order_id)
        except ApiError as exc:
            if isinstance(exc, AuthError):
                raise
            return exc

    async def _after_lost_answer(self, order: TikTokOrder, warnings: list[str]) -> ReportRow:
        """The create may or may not have happened: look once; else leave it PENDING."""
        found = await self._find(order.id)
        if isinstance(found, StoreOrder):
            self._complete(order.id, "RELAYED", rules.RELAYED, found.id, None)
            return self._row(order, rules.RELAYED, store_order_id=found.id, warnings=warnings)
        log.warning("relay %s: order %s outcome unknown; kept PENDING", self.shop.id, order.id)
        return self._row(order, rules.NOT_READY, warnings=[*warnings, rules.OUTCOME_UNKNOWN])

    async def _resolve_pending(
        self, order: TikTokOrder, row: LedgerRow, now: datetime
    ) -> ReportRow | None:
        """A PENDING row: the store order exists (RELAYED), is still unknown (stay PENDING),
        or is known absent (None: decide afresh, a create is safe)."""
        warnings = [rules.MASKED_BUYER] if order.masked else []
        found = await self._find(order.id)
        if isinstance(found, StoreOrder):
            if not self.dry_run:
                self._complete(order.id, "RELAYED", rules.RELAYED, found.id, None)
            return self._row(order, rules.RELAYED, store_order_id=found.id, warnings=warnings)
        young = row.attempted_at is not None and now - row.attempted_at < self.grace
        if isinstance(found, Exception) or young or self.dry_run:
            if not self.dry_run:
                ledger.note_pending(
                    self.con,
                    order_id=order.id,
                    tiktok_status=order.status,
                    run_id=self.run_id,
                    now=now,
                )
            return self._row(order, rules.NOT_READY, warnings=[*warnings, rules.OUTCOME_UNKNOWN])
        if not ledger.release_pending(self.con, order_id=order.id, attempts=row.attempts, now=now):
            return self._row(order, rules.NOT_READY, warnings=[*warnings, rules.IN_PROGRESS])
        return None


async def relay_shop(
    shop: ShopConfig,
    con: duckdb.DuckDBPyConnection,
    tiktok: TikTokApi,
    store: StoreApi,
    *,
    run_id: str,
    dry_run: bool = False,
    pending_grace_s: float | None = None,
    concurrency: int | None = None,
    publish: bool = True,
) -> RelayOutcome:
    """Relay one shop's TikTok orders with the given clients and open warehouse connection.

    ``dry_run`` classifies and reports without store writes, ledger writes or a watermark
    move. ``pending_grace_s`` overrides the store's ``order_lookup_grace_s`` (how long a
    PENDING create is trusted over a "not found"); ``concurrency`` (orders in flight)
    overrides its ``relay_concurrency``.
    """
    outcome = await _Run(
        shop,
        con,
        tiktok,
        store,
        run_id=run_id,
        dry_run=dry_run,
        pending_grace_s=pending_grace_s,
        concurrency=concurrency or store.relay_concurrency,
    ).run()
    calls = getattr(store, "calls", None)
    if isinstance(calls, dict):
        outcome.store_calls = dict(calls)
    if publish:
        outcome.report = publish_order_report(con, outcome)
    # Only now: a run killed before its report is out reads the same window again, so no
    # order it closed is missing from every report.
    if outcome.advance_to is not None:
        ledger.set_watermark(con, outcome.advance_to, datetime.now(UTC))
    return outcome


def publish_order_report(con: duckdb.DuckDBPyConnection, outcome: RelayOutcome) -> ReportFiles:
    """The order report as table rows, CSV/Parquet and Prefect artifacts (inside a run)."""
    folder = run_report_dir(outcome.shop_id, outcome.run_id)
    frame = outcome.frame()
    files = publish_report(
        con,
        table="order_report",
        run_id=outcome.run_id,
        frame=frame,
        folder=folder,
        name="order_report",
        artifact=f"order-report-{outcome.shop_id}",
        description=f"TikTok orders seen by relay run {outcome.run_id} of shop {outcome.shop_id}.",
    )
    markdown_artifact(
        f"order-summary-{outcome.shop_id}",
        summary_markdown(outcome),
        description=f"Order relay summary, shop {outcome.shop_id}",
    )
    return files


def summary_lines(outcome: RelayOutcome) -> list[str]:
    """Human-readable summary: counts per reason, warnings with their advice."""
    counts = outcome.counts()
    head = "Dry run: " if outcome.dry_run else ""
    out = [f"{head}{len(outcome.rows)} TikTok order(s) seen for shop {outcome.shop_id}."]
    for reason in rules.REASONS:
        if counts.get(reason):
            out.append(f"  {reason}: {counts[reason]}")
    for code, n in sorted(outcome.warnings().items()):
        out.append(f"  warning {code} ({n}): {rules.ADVICE[code]}")
    if outcome.report is not None:
        out.append(f"Order report: {outcome.report.csv} (and .parquet)")
    return out


def summary_markdown(outcome: RelayOutcome) -> str:
    """The summary as Markdown for the Prefect artifact."""
    counts = pd.DataFrame(
        [{"reason": r, "orders": n} for r, n in outcome.counts().items()],
        columns=["reason", "orders"],
    )
    text = [f"# Order relay, shop {outcome.shop_id}", "", markdown_table(counts)]
    for code, n in sorted(outcome.warnings().items()):
        text += ["", f"**{code}** ({n} orders): {rules.ADVICE[code]}"]
    return "\n".join(text)
