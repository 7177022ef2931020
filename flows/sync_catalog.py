"""The ``sync-catalog`` flow: extract both catalogs, check them, promote, auto-map, report.

Steps (DESIGN.md data flow 1-3 and 8), each a Prefect task over plain functions in
``tasks/``:

1. ``extract-catalogs``: TikTok and the store are read concurrently through the
   connectors (``connectors.factory``), then landed in ``staged_*`` in bulk. Retried on
   transient errors only (5xx, timeouts, throttling; reference/prefect.md §7).
2. ``check-catalogs``: the GX catalog suite on each side. A blocking failure records
   rejected snapshots and stops the step before anything is promoted: the accepted
   catalogs and the mappings stay as they were.
3. ``promote-catalogs``: both sides replace the accepted catalogs in one transaction.
4. ``map-and-report``: auto-map, then the mapping report as DuckDB rows, CSV/Parquet
   files and Prefect artifacts (report, unmapped products, counts per reason).

:func:`run_catalog_step` runs the four in order and is what a larger flow (``sync-shop``)
calls as its catalog step; :func:`sync_catalog` adds the run record around it. Outside a
flow run (tests, scripts) the tasks run as plain function calls.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from connectors.factory import store_client, tiktok_client
from connectors.redact import install_log_redaction
from flows.retry import retry_on_transient
from flows.shop_lock import hold_shop
from skubridge.config import ShopConfig, load_shops
from tasks import catalog
from tasks.extract import extract_both, land_staged
from tasks.reports import (
    markdown_artifact,
    markdown_table,
    publish_report,
    run_report_dir,
    table_artifact,
)
from tasks.runs import current_run_id, finish_run, start_run
from tasks.warehouse import open_shop

log = logging.getLogger("skubridge.flows.sync_catalog")

FLOW_NAME = "sync-catalog"
STEP_EXTRACT = "extract"
STEP_CHECKS = "catalog_checks"
STEP_PROMOTE = "promote"
STEP_MAP = "map"
STEP_REPORT = "report"

T = TypeVar("T")


@dataclass
class CatalogSummary:
    """What the catalog step did; the flow's return value (as a dict) and run-record summary."""

    shop: str
    run_id: str
    store_channel: str
    status: str = "RUNNING"  # COMPLETED | FAILED
    failed_step: str | None = None
    error: str | None = None
    extract: dict[str, Any] = field(default_factory=dict)  # channel -> ExtractStats.to_dict()
    checks: dict[str, Any] = field(default_factory=dict)  # channel -> ChannelCheck.to_dict()
    promoted: dict[str, int] = field(default_factory=dict)  # channel -> variants promoted
    mapping: dict[str, Any] = field(default_factory=dict)  # MapOutcome.summary()
    reason_counts: list[dict[str, Any]] = field(default_factory=list)
    reports: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> files/rows
    report_dir: str | None = None
    artifacts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class CatalogStepError(Exception):
    """The catalog step stopped: ``step`` names where, ``summary`` says how far it got."""

    def __init__(self, step: str, message: str, summary: CatalogSummary) -> None:
        super().__init__(message)
        self.step = step
        self.summary = summary


# ----- helpers ------------------------------------------------------------------------------


def _in_flow_run() -> bool:
    from prefect.context import FlowRunContext

    return FlowRunContext.get() is not None


def _logger() -> logging.Logger | logging.LoggerAdapter[Any]:
    """The Prefect run logger inside a run (logs reach the UI), else the module logger."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        from prefect import get_run_logger

        return get_run_logger()
    return log


def _call(step: Any, *args: Any, **kwargs: Any) -> Any:
    """Run a task as a Prefect task inside a flow run, as a plain call outside one."""
    if _in_flow_run():
        return step(*args, **kwargs)
    return step.fn(*args, **kwargs)


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not a loop is running."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def store_channel(shop: ShopConfig) -> str:
    return shop.store


# ----- tasks --------------------------------------------------------------------------------


@task(
    name="extract-catalogs",
    task_run_name="extract-catalogs-{shop.id}",
    retries=3,
    retry_delay_seconds=exponential_backoff(backoff_factor=10),
    retry_jitter_factor=0.5,
    retry_condition_fn=retry_on_transient,
    cache_policy=NO_CACHE,
)
def extract_catalogs(
    shop: ShopConfig, run_id: str, client_options: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """Extract TikTok and the store concurrently, then land both in ``staged_*``."""
    logger = _logger()
    options = dict(client_options or {})

    async def both() -> tuple[Any, Any]:
        tiktok_api = tiktok_client(shop, **options)
        store_api = store_client(shop, **options)
        try:
            return await extract_both(
                tiktok_api,
                store_api,
                run_id=run_id,
                store_channel=store_channel(shop),
                logger=logger,
            )
        finally:
            await tiktok_api.aclose()
            await store_api.aclose()

    extracts = _run_coroutine(both)
    with open_shop(shop.id) as con:
        for extract in extracts:
            land_staged(con, extract)
    return {e.channel: e.stats.to_dict() for e in extracts}


@task(name="check-catalogs", task_run_name="check-catalogs-{shop_id}", cache_policy=NO_CACHE)
def check_catalogs(
    shop_id: str,
    run_id: str,
    channels: list[str],
    max_drop: float,
    max_bad_value_share: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """Run the catalog suite on each staged side; on a blocking failure record rejections."""
    with open_shop(shop_id) as con:
        checks = catalog.check_staged(
            con,
            run_id=run_id,
            channels=channels,
            max_drop=max_drop,
            max_bad_value_share=max_bad_value_share,
        )
        if not all(c.passed for c in checks.values()):
            catalog.reject(con, run_id=run_id, checks=checks)
    for check in checks.values():
        _logger().info("%s", check.result.summary())
    return {channel: check.to_dict() for channel, check in checks.items()}


@task(name="promote-catalogs", task_run_name="promote-catalogs-{shop_id}", cache_policy=NO_CACHE)
def promote_catalogs(shop_id: str, run_id: str, channels: list[str]) -> dict[str, int]:
    """Make the checked extracts the accepted catalogs (one transaction)."""
    with open_shop(shop_id) as con:
        return catalog.promote(con, run_id=run_id, channels=channels)


@task(name="map-and-report", task_run_name="map-and-report-{shop_id}", cache_policy=NO_CACHE)
def map_and_report(
    shop_id: str, run_id: str, store_channel: str, suggestions: bool, report_dir: str
) -> dict[str, Any]:
    """Auto-map, publish the mapping report and the unmapped/summary artifacts."""
    from tasks.mapping import auto_map, build_mapping_report

    folder = Path(report_dir)
    with open_shop(shop_id) as con:
        outcome = auto_map(con, run_id=run_id, store_channel=store_channel)
        report = build_mapping_report(
            con, run_id=run_id, store_channel=store_channel, suggestions=suggestions
        )
        files = publish_report(
            con,
            table="mapping_report",
            run_id=run_id,
            frame=report,
            folder=folder,
            name="mapping_report",
            artifact=f"mapping-report-{shop_id}",
            description=f"Mapping report of {shop_id}: one row per TikTok SKU.",
        )
        unmapped = catalog.unmapped_products(con, run_id=run_id)
        counts = catalog.reason_summary(con, run_id=run_id)
    artifacts = [f"mapping-report-{shop_id}"] if files.artifact_id else []
    if table_artifact(
        f"unmapped-products-{shop_id}",
        unmapped,
        description=(
            f"Unmapped products from TikTok Shop ({len(unmapped)}), with the reason each "
            "could not be auto-mapped."
        ),
        files=(files.csv, files.parquet),
    ):
        artifacts.append(f"unmapped-products-{shop_id}")
    if table_artifact(
        f"mapping-summary-{shop_id}",
        counts,
        description="TikTok products and SKUs per status and reason (mapped: per method).",
    ):
        artifacts.append(f"mapping-summary-{shop_id}")
    return {
        "mapping": outcome.summary(),
        "reason_counts": counts.to_dict("records"),
        "unmapped_products": len(unmapped),
        "reports": {
            "mapping_report": {
                "rows": files.rows,
                "csv": str(files.csv),
                "parquet": str(files.parquet),
            }
        },
        "artifacts": artifacts,
    }


# ----- the step -----------------------------------------------------------------------------


def summary_markdown(summary: CatalogSummary) -> str:
    """The catalog step's summary as Markdown (the ``catalog-summary-<shop>`` artifact)."""
    import pandas as pd

    status = summary.status
    lines = [f"# Catalog sync of `{summary.shop}`: {status}", "", f"Run `{summary.run_id}`."]
    if summary.failed_step:
        lines += [
            "",
            f"**Stopped at `{summary.failed_step}`**: {summary.error}",
            "",
            "Nothing was promoted: the previous catalogs and mappings are unchanged."
            if not summary.promoted
            else "The new catalogs were promoted; mapping or reporting did not finish.",
        ]
    if summary.extract:
        rows = [
            {
                "side": channel,
                "products": stats.get("products"),
                "variants": stats.get("rows"),
                "stock rows": stats.get("stock_rows"),
                "pages": stats.get("pages"),
                "skipped": stats.get("skipped"),
                "skipped by reason": ", ".join(
                    f"{k} x{v}" for k, v in stats.get("skipped_by_reason", {}).items()
                ),
            }
            for channel, stats in summary.extract.items()
        ]
        lines += ["", "## Extract", "", markdown_table(pd.DataFrame(rows))]
        skipped = [
            {"side": channel, **record}
            for channel, stats in summary.extract.items()
            for record in stats.get("skipped_records", [])
        ]
        if skipped:
            lines += ["", "Skipped malformed records:", "", markdown_table(pd.DataFrame(skipped))]
    if summary.checks:
        rows = [
            {
                "side": channel,
                "check": c["check"],
                "result": "passed" if c["passed"] else "FAILED",
                "observed": _observed_text(c["observed"]),
                "meaning": c["message"],
            }
            for channel, check in summary.checks.items()
            for c in check["checks"]
        ]
        lines += ["", "## Catalog checks", "", markdown_table(pd.DataFrame(rows))]
    if summary.mapping:
        m = summary.mapping
        lines += [
            "",
            "## Mapping",
            "",
            f"- TikTok products: {m.get('tiktok_products')} "
            f"({m.get('mapped_products')} mapped), SKUs: {m.get('tiktok_skus')} "
            f"({m.get('mapped_skus')} mapped, {m.get('unmapped_skus')} unmapped)",
            f"- links made this run: {m.get('linked')}, dropped: {m.get('dropped')}",
        ]
        if summary.reason_counts:
            lines += ["", markdown_table(pd.DataFrame(summary.reason_counts))]
        if m.get("dropped_links"):
            lines += ["", "Dropped links:", "", markdown_table(pd.DataFrame(m["dropped_links"]))]
    if summary.reports:
        lines += ["", "## Report files", ""]
        for name, files in summary.reports.items():
            lines.append(f"- {name} ({files['rows']} rows): `{files['csv']}`, `{files['parquet']}`")
    return "\n".join(lines) + "\n"


def _observed_text(observed: Any) -> str:
    if isinstance(observed, dict) and "unexpected" in observed:
        sample = ", ".join(str(v) for v in observed.get("sample") or [])
        return f"{observed['unexpected']} rows" + (f" (e.g. {sample})" if sample else "")
    return str(observed)


def run_catalog_step(
    shop: ShopConfig,
    *,
    run_id: str,
    suggestions: bool = True,
    client_options: dict[str, Any] | None = None,
) -> CatalogSummary:
    """Extract, check, promote, map and report one shop's catalogs.

    Inside a flow run each part is a Prefect task (retries on transient errors);
    elsewhere a plain call. Returns the summary; raises :class:`CatalogStepError` (with
    the step and the summary so far) when a check blocks or a step fails, after writing
    the ``catalog-summary-<shop>`` markdown artifact. A blocked run promotes nothing.
    """
    install_log_redaction()
    channels = ["tiktok", store_channel(shop)]
    summary = CatalogSummary(shop=shop.id, run_id=run_id, store_channel=channels[1])
    summary.report_dir = str(run_report_dir(shop.id, run_id))
    step = STEP_EXTRACT
    try:
        summary.extract = _call(extract_catalogs, shop, run_id, client_options)
        step = STEP_CHECKS
        summary.checks = _call(
            check_catalogs,
            shop.id,
            run_id,
            channels,
            shop.guards.max_catalog_drop,
            shop.guards.max_bad_value_share,
        )
        if not all(check["passed"] for check in summary.checks.values()):
            raise CatalogStepError(step, _check_failure_text(summary.checks), summary)
        step = STEP_PROMOTE
        summary.promoted = _call(promote_catalogs, shop.id, run_id, channels)
        step = STEP_MAP
        mapped = _call(
            map_and_report, shop.id, run_id, channels[1], suggestions, summary.report_dir
        )
        summary.mapping = mapped["mapping"]
        summary.reason_counts = mapped["reason_counts"]
        summary.reports = mapped["reports"]
        summary.artifacts = mapped["artifacts"]
    except Exception as exc:
        message = str(exc) if isinstance(exc, CatalogStepError) else f"{type(exc).__name__}: {exc}"
        summary.status, summary.failed_step, summary.error = "FAILED", step, message
        _summary_artifact(summary)
        if isinstance(exc, CatalogStepError):
            raise
        raise CatalogStepError(step, message, summary) from exc
    summary.status = "COMPLETED"
    _summary_artifact(summary)
    return summary


def _check_failure_text(checks: dict[str, dict[str, Any]]) -> str:
    parts = []
    for channel, check in checks.items():
        failed = [c for c in check["checks"] if not c["passed"] and c["blocking"]]
        if failed:
            parts.append(
                f"{channel}: "
                + "; ".join(f"{c['check']} (observed {c['observed']})" for c in failed)
            )
    return "catalog checks failed, nothing promoted: " + " | ".join(parts)


def _summary_artifact(summary: CatalogSummary) -> None:
    key = f"catalog-summary-{summary.shop}"
    if markdown_artifact(
        key, summary_markdown(summary), description=f"Catalog sync summary ({summary.status})"
    ):
        summary.artifacts.append(key)


# ----- the flow -----------------------------------------------------------------------------


def _flow_run_name() -> str:
    from prefect.runtime import flow_run

    shop = flow_run.parameters.get("shop", "shop")
    return f"{FLOW_NAME}-{shop}-{datetime.now(UTC):%Y%m%d-%H%M%S}"


@flow(name=FLOW_NAME, flow_run_name=_flow_run_name)
def sync_catalog(shop: str, suggestions: bool = True) -> dict[str, Any]:
    """Import both catalogs of ``shop``, check them, map by seller SKU and publish reports.

    Ends Failed when a catalog check blocks or a step fails; the run record (``runs``
    table) names the step and the reason.

    Args:
        shop: Shop id from the shops file.
        suggestions: Suggest a likely store variant for unmapped SKUs in the report (a
            hint for a person, never applied).
    """
    install_log_redaction()
    config = load_shops().get(shop)
    with hold_shop(config.id):
        return _run_recorded(config, suggestions)


def _run_recorded(config: ShopConfig, suggestions: bool) -> dict[str, Any]:
    """The catalog step with its run record (start, then COMPLETED or FAILED + step)."""
    shop = config.id
    run_id = current_run_id()
    with open_shop(shop) as con:
        start_run(con, run_id=run_id, flow=FLOW_NAME, shop_id=shop)
    try:
        summary = run_catalog_step(config, run_id=run_id, suggestions=suggestions)
    except CatalogStepError as exc:
        with open_shop(shop) as con:
            finish_run(
                con,
                run_id=run_id,
                status="FAILED",
                failed_step=exc.step,
                error=str(exc),
                report_dir=exc.summary.report_dir,
                summary=exc.summary.to_dict(),
            )
        raise
    with open_shop(shop) as con:
        finish_run(
            con,
            run_id=run_id,
            status="COMPLETED",
            report_dir=summary.report_dir,
            summary=summary.to_dict(),
        )
    return summary.to_dict()
