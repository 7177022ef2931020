"""The push step's runner: the store's price and stock to the mapped TikTok SKUs.

Steps 4-6 of the cycle in docs/architecture.md, for one shop, from the catalogs already
in DuckDB (the catalog step refreshes them): plan (only differences), guards (GX; a
failed guard blocks the writes it covers and fails the run unless ``force``), push
through the TikTok connector with a ledger, push report (DuckDB table, CSV/Parquet,
Prefect table artifact).

Push report rows (the public columns in docs/architecture.md): one per planned SKU and field. Mapped
SKUs with nothing to write are counted (``counts["unchanged"]``, CLI, artifact
description), not listed. A dry run lists the writes it would send as UNCHANGED with
error "dry run: would update". A write whose call still failed after the connector's
retries is listed REJECTED with "not confirmed, retried next run: ..." (ledger FAILED).
SKUs an override skips are listed UNCHANGED with rule ``skipped`` (``counts["skipped"]``);
every row's ``rule`` says which rule produced its value (docs/operations.md).

:func:`run_push` is the one runner of the step, called by the ``push-prices-and-stock``
flow, ``skubridge push``, the cycle (:mod:`tasks.steps.cycle`), the benchmarks and the
chaos engine. It never raises for a guard: the returned :class:`PushOutcome` says whether
the run should end Failed (``ok``) and why (``message``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import duckdb

from connectors.base import TikTokApi
from expectations.guards import GuardVerdict, check_plan
from skubridge.config import ShopConfig
from tasks.changes import ChangeSet, refresh_changes
from tasks.load import (
    DEFAULT_CONCURRENCY,
    WriteOutcome,
    push_writes,
    record_outcomes,
    record_pending,
    report_frame,
    settle_stale,
)
from tasks.plan import Plan, PlanError, PlannedWrite, build_plan, receiving_warehouse
from tasks.reports import artifact_key, publish_report, run_report_dir
from tasks.steps.catalog import run_catalog
from tasks.steps.common import in_run, open_clients, record_run, run_sync
from tasks.warehouse import WarehouseLockedError, open_shop, sql

log = logging.getLogger("skubridge.tasks.push")

FLOW_NAME = "push-prices-and-stock"
STEP = "push"

FLUSH_CALLS = 200  # ledger outcomes are written in batches of this many calls...
FLUSH_SECONDS = 2.0  # ...or at least this often
LOCK_RETRIES = 20  # the last batch waits up to ~10 s for another writer of the shop file


@dataclass(frozen=True)
class PushOutcome:
    """What one push run did; ``counts`` are rows (SKU x field) of the push report."""

    run_id: str
    shop_id: str
    dry_run: bool
    forced: bool
    warehouse_id: str
    mapped: int
    counts: dict[str, int]
    guards_passed: bool
    guard_failures: tuple[str, ...]
    message: str
    report_dir: str
    report_rows: int
    guard_metrics: dict[str, Any] = field(default_factory=dict)
    changed_skus: int | None = None  # a push of what changed: mapped SKUs it planned

    @property
    def ok(self) -> bool:
        """False when the run should end Failed: a guard blocked writes or writes failed."""
        return (self.guards_passed or self.forced) and self.counts.get("failed", 0) == 0

    def summary(self) -> dict[str, Any]:
        """JSON-able summary for the run record."""
        data = asdict(self)
        data["ok"] = self.ok
        return data


class _Progress:
    """Writes outcomes to the ledger in batches and moves the progress artifact (in a run)."""

    def __init__(self, shop_id: str, run_id: str) -> None:
        self.shop_id, self.run_id = shop_id, run_id
        self.buffer: list[WriteOutcome] = []
        self.calls_since = 0
        self.last = time.monotonic()
        self.artifact_id: UUID | None = None

    async def start(self, total: int) -> None:
        if in_run():
            from prefect.artifacts import acreate_progress_artifact

            self.artifact_id = await acreate_progress_artifact(
                progress=0.0,
                key=artifact_key("push-progress", self.shop_id),
                description=f"Price and stock push: {total} calls",
            )

    async def __call__(self, outcomes: list[WriteOutcome], done: int, total: int) -> None:
        self.buffer.extend(outcomes)
        self.calls_since += 1
        if done == total or self.calls_since >= FLUSH_CALLS or self._due():
            await self.flush(100.0 * done / max(total, 1))

    def _due(self) -> bool:
        return time.monotonic() - self.last >= FLUSH_SECONDS

    async def flush(self, progress: float | None = None, *, final: bool = False) -> None:
        if self.buffer:
            for attempt in range(LOCK_RETRIES if final else 1):
                try:
                    # Not waiting here: the calls go on and the next batch tries again.
                    with open_shop(self.shop_id, wait_seconds=None if final else 0) as con:
                        record_outcomes(con, self.run_id, self.buffer)
                    self.buffer = []
                    break
                except WarehouseLockedError:
                    # Another writer holds the shop file for a moment: keep the outcomes
                    # and write them with the next batch (the last batch waits for it).
                    if final and attempt == LOCK_RETRIES - 1:
                        raise
                    if final:
                        await asyncio.sleep(0.5)
        self.calls_since, self.last = 0, time.monotonic()
        if self.artifact_id is not None and progress is not None:
            from prefect.artifacts import aupdate_progress_artifact

            await aupdate_progress_artifact(artifact_id=self.artifact_id, progress=progress)


def _previous_mapped(con: duckdb.DuckDBPyConnection, run_id: str) -> int | None:
    rows = con.execute(sql("plan/previous_mapped"), {"run_id": run_id}).fetchall()
    return int(rows[0][0]) if rows else None


def _split(
    plan: Plan, verdict: GuardVerdict
) -> tuple[list[PlannedWrite], list[tuple[PlannedWrite, str]], list[PlannedWrite]]:
    """Planned writes as (to send, blocked with the reason, not sendable)."""
    send: list[PlannedWrite] = []
    blocked: list[tuple[PlannedWrite, str]] = []
    unsendable: list[PlannedWrite] = []
    for which in ("inventory", "price"):
        guard_reason = verdict.message() if verdict.blocks(which) else None
        for w in plan.writes(which):
            if w.blocked:
                blocked.append((w, w.blocked))
            elif w.problem:
                unsendable.append(w)
            elif guard_reason:
                blocked.append((w, guard_reason))
            else:
                send.append(w)
    return send, blocked, unsendable


def _record_push_run(
    con: duckdb.DuckDBPyConnection,
    shop: ShopConfig,
    run_id: str,
    plan: Plan,
    verdict: GuardVerdict,
    *,
    dry_run: bool,
) -> None:
    con.execute("DELETE FROM push_runs WHERE run_id = ?", [run_id])
    con.execute(
        "INSERT INTO push_runs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            run_id,
            shop.id,
            plan.warehouse_id,
            plan.mapped,
            len(plan.writes("price")),
            len(plan.writes("inventory")),
            dry_run,
            verdict.forced,
            verdict.passed,
            verdict.forced or "mapped_drop" not in verdict.failed,
            ", ".join(verdict.failed) or None,
            datetime.now(UTC),
        ],
    )


def run_push(
    shop: ShopConfig,
    *,
    run_id: str,
    dry_run: bool = False,
    force: bool = False,
    concurrency: int = DEFAULT_CONCURRENCY,
    client_kwargs: dict[str, Any] | None = None,
    api: TikTokApi | None = None,
    flow: str = FLOW_NAME,
    changed_only: bool = False,
) -> PushOutcome:
    """Plan, guard, push and report one shop, with its run record (``runs`` table).

    Uses the catalogs and mappings in the shop's DuckDB; opens the shop's TikTok client
    (``client_kwargs`` go to it: rate_scale, transport, retry...) unless ``api`` is given.
    The run is recorded FAILED (step ``guard`` or ``push``) when the outcome is not ok, or
    when the step raised (the exception propagates). Synchronous: it runs its own loop.

    ``changed_only`` (a push started by a store-change event): first read what changed on
    both sides since the last accepted extracts and merge it (:func:`tasks.changes.
    refresh_changes`, checked as change sets), then plan and write only the mapped SKUs
    whose store variant or TikTok SKU changed. The guards still judge the whole mapped
    catalog, so a change set cannot dodge them by being small. When a side needs a full
    read, the whole catalog step runs first (run id ``<run_id>-catalog``) and every mapped
    SKU is planned.
    """
    # A push of what changed reads both sides' changes itself (fresh by construction).
    refreshed = None if changed_only else ensure_fresh_stock(shop, run_id)
    with record_run(shop.id, run_id=run_id, flow=flow, step=STEP, error_text=str) as record:
        if refreshed is not None:
            raise PlanError(refreshed)
        changes = None
        if changed_only:
            changes = refresh_changes(shop, run_id, client_kwargs)
            if changes is None:
                run_catalog(shop, run_id=f"{run_id}-catalog", client_options=client_kwargs)
        outcome = run_sync(
            lambda: _push_with_client(
                shop, run_id, dry_run, force, concurrency, client_kwargs or {}, api, changes
            )
        )
        if not outcome.ok:
            record.fail("guard" if not outcome.guards_passed else STEP, outcome.message)
        record.report_dir, record.summary = outcome.report_dir, outcome.summary()
    return outcome


async def _push_with_client(
    shop: ShopConfig,
    run_id: str,
    dry_run: bool,
    force: bool,
    concurrency: int,
    client_kwargs: dict[str, Any],
    api: TikTokApi | None,
    changes: ChangeSet | None = None,
) -> PushOutcome:
    options = {"max_concurrency": 2 * concurrency} | client_kwargs
    async with open_clients(shop, with_store=False, tiktok=api, **options) as clients:
        return await _push(shop, clients.tiktok, run_id, dry_run, force, concurrency, changes)


async def _push(
    shop: ShopConfig,
    api: TikTokApi,
    run_id: str,
    dry_run: bool,
    force: bool,
    concurrency: int,
    changes: ChangeSet | None = None,
) -> PushOutcome:
    warehouse_id = await receiving_warehouse(shop, api)
    with open_shop(shop.id) as con:
        if not dry_run:
            settle_stale(con, run_id)
        plan = build_plan(con, shop, warehouse_id)
        stock_age = store_catalog_age(con, shop.store)
        verdict = check_plan(
            plan, shop.guards, previous_mapped=_previous_mapped(con, run_id), force=force
        )
        planned = plan
        if changes is not None:
            planned = plan.only(set(changes.store_variant_ids), set(changes.tiktok_sku_ids))
        send, blocked, unsendable = _split(planned, verdict)
        if not dry_run:
            record_pending(con, run_id, send, warehouse_id)
        _record_push_run(con, shop, run_id, plan, verdict, dry_run=dry_run)

    outcomes: list[WriteOutcome] = []
    if send and not dry_run:
        progress = _Progress(shop.id, run_id)
        calls = len({(w.field, w.tiktok_product_id) for w in send})
        await progress.start(calls)
        try:
            outcomes = await push_writes(api, send, concurrency=concurrency, on_progress=progress)
        finally:
            await progress.flush(100.0, final=True)

    skipped = plan.skipped("inventory") + plan.skipped("price")
    frame = report_frame(
        sent=send,
        outcomes=outcomes,
        blocked=blocked,
        unsendable=unsendable,
        skipped=skipped,
        dry_run=dry_run,
        stock_age_seconds=stock_age,
    )
    counts = {
        "updated": int((frame["status"] == "UPDATED").sum()),
        "unchanged": planned.unchanged("price") + planned.unchanged("inventory"),
        "rejected": int((frame["status"] == "REJECTED").sum()),
        "blocked": int((frame["status"] == "BLOCKED_BY_GUARD").sum()),
        "failed": sum(1 for o in outcomes if o.status == "FAILED"),
        "would_update": len(send) if dry_run else 0,
        "skipped": len(skipped),
    }
    folder = run_report_dir(shop.id, run_id)
    description = (
        f"Push {'(dry run) ' if dry_run else ''}for shop {shop.id}: "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
        + f". {verdict.message()}. Mapped SKUs with nothing to write are counted, not listed."
    )
    with open_shop(shop.id) as con:
        files = publish_report(
            con,
            table="push_report",
            run_id=run_id,
            frame=frame,
            folder=folder,
            name="push_report",
            artifact=f"push-report-{shop.id}",
            description=description,
            latest=not dry_run,
        )
    metrics = asdict(verdict.metrics)
    return PushOutcome(
        run_id=run_id,
        shop_id=shop.id,
        dry_run=dry_run,
        forced=force,
        warehouse_id=warehouse_id,
        mapped=plan.mapped,
        counts=counts,
        guards_passed=verdict.passed,
        guard_failures=verdict.failed,
        message=_message(verdict, counts),
        report_dir=str(folder),
        report_rows=files.rows,
        guard_metrics=metrics,
        changed_skus=planned.mapped if changes is not None else None,
    )


def store_catalog_age(con: Any, store: str) -> float | None:
    """Seconds since the accepted store catalog was extracted (None: there is none)."""
    row = con.execute(
        "SELECT max(extracted_at) FROM catalog_variants WHERE channel = ?", [store]
    ).fetchone()
    if row is None or row[0] is None:
        return None
    return max(0.0, (datetime.now(UTC) - row[0]).total_seconds())


def ensure_fresh_stock(shop: ShopConfig, run_id: str) -> str | None:
    """Run the catalog step first when the store catalog is older than
    ``stock_rule.max_age_minutes``, so a push never writes old stock (a sell-out since the
    last extract would be oversold). Returns None when the stock is fresh (now), else the
    reason nothing may be pushed."""
    from tasks.steps.catalog import CatalogStepError, run_catalog

    limit = shop.stock_rule.max_age_minutes * 60
    with open_shop(shop.id) as con:
        age = store_catalog_age(con, shop.store)
    if age is not None and age <= limit:
        return None
    what = "no store catalog" if age is None else f"the store catalog is {age / 60:.0f} min old"
    log.info("push %s: %s (limit %g min): reading the catalogs first", shop.id, what, limit / 60)
    try:
        run_catalog(shop, run_id=f"{run_id}-catalog", suggestions=False)
    except CatalogStepError as exc:
        return (
            f"{what} (stock_rule.max_age_minutes = {limit / 60:g}) and reading it again "
            f"failed at {exc.step}: {exc}; nothing was pushed"
        )
    return None


def _message(verdict: GuardVerdict, counts: dict[str, int]) -> str:
    parts = [] if verdict.passed else [verdict.message()]
    if counts["failed"]:
        parts.append(
            f"{counts['failed']} writes failed after retries (ledger FAILED; the next run "
            "redoes them)"
        )
    return "; ".join(parts) or "push completed"


def summary_lines(outcome: PushOutcome) -> list[str]:
    """Human-readable lines: counts, guard verdict, where the report is."""
    c = outcome.counts
    head = "Dry run (nothing written): " if outcome.dry_run else ""
    lines = [
        f"{head}shop {outcome.shop_id}, {outcome.mapped} mapped SKUs, receiving warehouse "
        f"{outcome.warehouse_id}",
        f"updated: {c['updated']}, unchanged: {c['unchanged']}, rejected: {c['rejected']}, "
        f"blocked: {c['blocked']}"
        + (f", would update: {c['would_update']}" if outcome.dry_run else "")
        + (f", failed after retries: {c['failed']}" if c["failed"] else "")
        + (f", skipped by override: {c['skipped']}" if c.get("skipped") else ""),
    ]
    if not outcome.guards_passed or c["failed"]:
        lines.append(outcome.message)
    lines.append(f"Report: {outcome.report_dir}/push_report.csv")
    return lines
