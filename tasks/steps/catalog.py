"""The catalog step's runner: extract both catalogs, check them, promote, auto-map, report.

Steps 1-3 of the cycle in docs/architecture.md, for one shop, in four parts:

1. :func:`extract_catalogs`: TikTok and the store are read concurrently through the
   connectors (:func:`tasks.steps.common.open_clients`), then landed in ``staged_*`` in
   bulk.
2. :func:`check_catalogs`: the GX catalog suite on each side. A blocking failure records
   rejected snapshots and stops the step before anything is promoted: the accepted
   catalogs and the mappings stay as they were.
3. :func:`promote_catalogs`: both sides replace the accepted catalogs in one transaction.
4. :func:`map_and_report`: auto-map, then the mapping report as DuckDB rows, CSV/Parquet
   files and Prefect artifacts (report, unmapped products, counts per reason).

:func:`run_catalog` runs the four in order inside the step's run record. It is the one
runner of the step: the ``sync-catalog`` flow passes ``call`` to run each part as a
Prefect task (retries on transient errors); the chaos engine, the benchmarks and tests
call it directly, the parts then run as plain calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from connectors.redact import install_log_redaction
from skubridge.config import ShopConfig
from tasks import catalog
from tasks.attributes import load_cache, save_fetched
from tasks.extract import extract_both, land_staged
from tasks.incremental import (
    choose_kinds,
    fill_stock_only,
    incremental_channels,
    record_kinds,
)
from tasks.reports import (
    markdown_artifact,
    markdown_table,
    publish_report,
    run_report_dir,
    table_artifact,
)
from tasks.steps.common import open_clients, record_run, run_sync, step_logger
from tasks.warehouse import open_shop

FLOW_NAME = "sync-catalog"
LOGGER = "skubridge.steps.catalog"
STEP_EXTRACT = "extract"
STEP_CHECKS = "catalog_checks"
STEP_PROMOTE = "promote"
STEP_MAP = "map"

PartCall = Callable[..., Any]  # call(part, *args): how each part runs (plain or as a task)


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


def store_channel(shop: ShopConfig) -> str:
    return shop.store


# ----- the four parts ----------------------------------------------------------------------


def extract_catalogs(
    shop: ShopConfig,
    run_id: str,
    client_options: dict[str, Any] | None = None,
    full: bool = False,
    incremental_only: bool = False,
) -> dict[str, dict[str, Any]] | None:
    """Extract TikTok and the store concurrently, then land both in ``staged_*``.

    Each side is read in full or only for its changes (:func:`tasks.incremental.choose_kinds`;
    ``full`` forces a full read); the kind lands in each side's stats (``kind``, ``since``).
    With ``incremental_only`` nothing is read and None returned when a side would need a
    full read (a push of what changed then runs the whole catalog step instead).
    """
    logger = step_logger(LOGGER)
    channels = ["tiktok", store_channel(shop)]
    started = datetime.now(UTC)
    with open_shop(shop.id) as con:
        cache = load_cache(con)
        kinds = choose_kinds(con, shop, channels, full=full, now=started)
    if incremental_only and any(k.kind != "incremental" for k in kinds.values()):
        reasons = "; ".join(f"{k.channel}: {k.reason}" for k in kinds.values() if k.kind == "full")
        logger.info("no change-set read possible (%s)", reasons)
        return None
    for kind in kinds.values():
        logger.info("%s catalog: %s extract (%s)", kind.channel, kind.kind, kind.reason)

    async def both() -> tuple[Any, Any]:
        async with open_clients(shop, **dict(client_options or {})) as clients:
            return await extract_both(
                clients.tiktok,
                clients.store,
                run_id=run_id,
                store_channel=channels[1],
                logger=logger,
                tiktok_options={"attributes": cache, **kinds["tiktok"].iter_options()},
                store_options=kinds[channels[1]].iter_options(),
            )

    extracts = run_sync(both)
    with open_shop(shop.id) as con:
        for extract in extracts:
            land_staged(con, extract)
        fill_stock_only(con, run_id, kinds)
        save_fetched(con, cache, run_id)
        record_kinds(con, run_id, kinds, started)
    stats = {e.channel: e.stats.to_dict() for e in extracts}
    for channel, kind in kinds.items():
        stats[channel]["kind"] = kind.kind
        stats[channel]["since"] = kind.since.isoformat() if kind.since else None
    stats["tiktok"]["attributes"] = {"cached": cache.hits, "fetched": len(cache.fetched)}
    return stats


def check_catalogs(
    shop_id: str,
    run_id: str,
    channels: list[str],
    max_drop: float,
    max_bad_value_share: float = 0.0,
) -> dict[str, dict[str, Any]]:
    """Run the catalog suite on each staged side; on a blocking failure record rejections.

    A side read incrementally is checked as a change set (``tasks/catalog.py: check_staged``).
    """
    with open_shop(shop_id) as con:
        checks = catalog.check_staged(
            con,
            run_id=run_id,
            channels=channels,
            max_drop=max_drop,
            max_bad_value_share=max_bad_value_share,
            incremental=incremental_channels(con, run_id),
        )
        if not all(c.passed for c in checks.values()):
            catalog.reject(con, run_id=run_id, checks=checks)
    for check in checks.values():
        step_logger(LOGGER).info("%s", check.result.summary())
    return {channel: check.to_dict() for channel, check in checks.items()}


def promote_catalogs(shop_id: str, run_id: str, channels: list[str]) -> dict[str, int]:
    """Make the checked extracts the accepted catalogs (one transaction); a side read
    incrementally is merged into its accepted catalog instead of replacing it."""
    with open_shop(shop_id) as con:
        return catalog.promote(
            con, run_id=run_id, channels=channels, incremental=incremental_channels(con, run_id)
        )


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
                "read": stats.get("kind", "full")
                + (f" since {stats['since']}" if stats.get("since") else ""),
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
        for channel, stats in summary.extract.items():
            if stats.get("altered"):
                lines += ["", altered_text(channel, stats)]
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


def altered_text(channel: str, stats: dict[str, Any]) -> str:
    """One line on the SKUs a store's report delivered altered (left out of the catalog)."""
    shown = ", ".join(repr(sku) for sku in stats.get("altered_skus", [])[:5])
    return (
        f"{channel}: {stats['altered']} SKU(s) left out of the catalog, altered by the "
        f"listings report's Cp1252 encoding (e.g. {shown}); the mapping report's suggestion "
        "column names the TikTok SKUs concerned"
    )


def _observed_text(observed: Any) -> str:
    if isinstance(observed, dict) and "unexpected" in observed:
        sample = ", ".join(str(v) for v in observed.get("sample") or [])
        return f"{observed['unexpected']} rows" + (f" (e.g. {sample})" if sample else "")
    return str(observed)


def _plain(part: Callable[..., Any], *args: Any) -> Any:
    return part(*args)


def run_catalog(
    shop: ShopConfig,
    *,
    run_id: str,
    suggestions: bool = True,
    client_options: dict[str, Any] | None = None,
    flow: str = FLOW_NAME,
    call: PartCall = _plain,
    full: bool = False,
) -> CatalogSummary:
    """Extract, check, promote, map and report one shop's catalogs, with its run record.

    ``call(part, *args)`` runs each part (default: a plain call; the flow runs them as
    Prefect tasks). Returns the summary; raises :class:`CatalogStepError` (with the step
    and the summary so far) when a check blocks or a part fails, after writing the
    ``catalog-summary-<shop>`` markdown artifact and the FAILED run record. A blocked run
    promotes nothing. ``client_options`` go to both clients (rate_scale, transport...).
    ``full`` reads both catalogs whole (the reconciliation) even when a change set would do.
    """
    install_log_redaction()
    with record_run(shop.id, run_id=run_id, flow=flow, step=STEP_EXTRACT) as record:
        try:
            summary = _run_parts(shop, run_id, suggestions, client_options, call, full)
        except CatalogStepError as exc:
            record.fail(exc.step, str(exc))
            record.report_dir, record.summary = exc.summary.report_dir, exc.summary.to_dict()
            raise
        record.report_dir, record.summary = summary.report_dir, summary.to_dict()
    return summary


def _run_parts(
    shop: ShopConfig,
    run_id: str,
    suggestions: bool,
    client_options: dict[str, Any] | None,
    call: PartCall,
    full: bool = False,
) -> CatalogSummary:
    channels = ["tiktok", store_channel(shop)]
    summary = CatalogSummary(shop=shop.id, run_id=run_id, store_channel=channels[1])
    summary.report_dir = str(run_report_dir(shop.id, run_id))
    step = STEP_EXTRACT
    try:
        summary.extract = call(extract_catalogs, shop, run_id, client_options, full) or {}
        step = STEP_CHECKS
        summary.checks = call(
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
        summary.promoted = call(promote_catalogs, shop.id, run_id, channels)
        step = STEP_MAP
        mapped = call(map_and_report, shop.id, run_id, channels[1], suggestions, summary.report_dir)
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
