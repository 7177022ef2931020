"""`skubridge sync`: the whole cycle (or just the catalog step) of one shop, locally.

``--step all`` (default) runs the ``sync-shop`` flow: catalog -> push -> relay orders;
``--step catalog`` runs only ``sync-catalog`` (extract, check, map, report). Flows run on
Prefect's ephemeral API unless PREFECT_API_URL points at a server, so this is also the
local equivalent of ``prefect deployment run 'sync-shop/sync-shop' --param shop=<id>``
for rerunning one failed shop.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import typer

from skubridge.commands.options import SHOP, SHOPS_FILE
from skubridge.config import SHOPS_FILE_ENV, ConfigError, load_shops

STEPS = ("all", "catalog")


def catalog_summary_lines(summary: dict[str, Any]) -> list[str]:
    """The catalog step's summary for a terminal: sides, checks, mapping counts, report paths."""
    lines = [f"shop {summary['shop']}: catalog sync {summary['status']} (run {summary['run_id']})"]
    if summary.get("failed_step"):
        lines.append(f"  stopped at {summary['failed_step']}: {summary.get('error')}")
        if summary.get("promoted"):
            lines.append("  the new catalogs were promoted; mapping or reporting did not finish")
        else:
            lines.append("  nothing was promoted: previous catalogs and mappings are unchanged")
    for channel, stats in (summary.get("extract") or {}).items():
        skipped = stats.get("skipped_by_reason") or {}
        skipped_text = (
            " (" + ", ".join(f"{k} x{v}" for k, v in skipped.items()) + ")" if skipped else ""
        )
        changed = f"changed since {stats['since']}: " if stats.get("kind") == "incremental" else ""
        lines.append(
            f"  {channel}: {changed}{stats.get('rows')} variants of {stats.get('products')} "
            f"products, {stats.get('skipped')} malformed records skipped{skipped_text}"
        )
        if stats.get("altered"):
            from tasks.steps.catalog import altered_text

            lines.append(f"    {altered_text(channel, stats)}")
    for channel, check in (summary.get("checks") or {}).items():
        failed = [c["check"] for c in check["checks"] if not c["passed"]]
        verdict = "passed" if not failed else "FAILED: " + ", ".join(failed)
        lines.append(f"  {channel} catalog checks {verdict}")
    mapping = summary.get("mapping") or {}
    if mapping:
        lines.append(
            f"  mapping: {mapping.get('mapped_products')} of {mapping.get('tiktok_products')} "
            f"TikTok products mapped; {mapping.get('mapped_skus')} SKUs mapped, "
            f"{mapping.get('unmapped_skus')} unmapped; links made {mapping.get('linked')}, "
            f"dropped {mapping.get('dropped')}"
        )
        for dropped in mapping.get("dropped_links") or []:
            lines.append(
                f"    dropped link: TikTok SKU {dropped.get('tiktok_sku_id')} "
                f"({dropped.get('method')}): {dropped.get('reason')}"
            )
    counts = summary.get("reason_counts") or []
    if counts:
        lines.append("  status     reason                   method   products  skus")
        for row in counts:
            lines.append(
                f"  {row['status']:<10} {row['reason'] or '-':<24} {row['method'] or '-':<8} "
                f"{row['products']:>8}  {row['skus']:>4}"
            )
    for name, files in (summary.get("reports") or {}).items():
        lines.append(f"  {name} ({files['rows']} rows): {files['csv']}")
        lines.append(f"  {' ' * len(name)}  {files['parquet']}")
    return lines


def _catalog_flow(
    shop: str, *, suggestions: bool = True, shops_file: Path | None = None, full: bool = False
) -> tuple[bool, dict[str, Any]]:
    """Run the ``sync-catalog`` flow for ``shop``; (completed, summary dict).

    Raises ConfigError for a bad shops file or unknown shop (checked before Prefect starts).
    """
    load_shops(shops_file).get(shop)
    if shops_file is not None:
        os.environ[SHOPS_FILE_ENV] = str(shops_file)  # the flow reads the shops file itself
    from flows.sync_catalog import sync_catalog
    from tasks.steps.catalog import CatalogStepError

    state = sync_catalog(shop=shop, suggestions=suggestions, full=full, return_state=True)
    result = state.result(raise_on_failure=False)
    if isinstance(result, dict):
        return state.is_completed(), result
    if isinstance(result, CatalogStepError):
        return False, result.summary.to_dict()
    if isinstance(result, ConfigError):
        raise result
    message = str(result) if isinstance(result, BaseException) else (state.message or "")
    return False, {
        "shop": shop,
        "run_id": "-",
        "status": state.type.value if state.type else "FAILED",
        "failed_step": "flow",
        "error": message,
    }


def _cycle_flow(
    shop: str,
    *,
    dry_run: bool = False,
    force: bool = False,
    shops_file: Path | None = None,
    full: bool = False,
) -> tuple[bool, dict[str, Any]]:
    """Run the ``sync-shop`` flow for ``shop``; (completed, step outcomes from its run record).

    Raises ConfigError for a bad shops file or unknown shop (checked before Prefect starts).
    """
    import json

    load_shops(shops_file).get(shop)
    if shops_file is not None:
        os.environ[SHOPS_FILE_ENV] = str(shops_file)
    from flows.sync_shop import sync_shop
    from tasks.runs import run_record
    from tasks.warehouse import open_shop

    state = sync_shop(shop=shop, dry_run=dry_run, force=force, full=full, return_state=True)
    # This run's own record (its id is the flow-run id, tasks/runs.py: current_run_id),
    # never "the latest started": another run of the shop may have started since.
    own = str(state.state_details.flow_run_id)
    with open_shop(shop) as con:
        record = run_record(con, own) or {}
    steps = json.loads(record.get("summary") or "{}") if record else {}
    if not steps and not state.is_completed():
        error = state.result(raise_on_failure=False)
        if isinstance(error, ConfigError):
            raise error
        steps = {"flow": {"status": "FAILED", "error": str(error)}}
    return state.is_completed(), steps


def cycle_summary_lines(shop: str, steps: dict[str, Any]) -> list[str]:
    """Per-step lines of a whole-cycle run (catalog details, push and order counts)."""
    lines: list[str] = []
    for name, outcome in steps.items():
        status = outcome.get("status")
        result = outcome.get("result") or {}
        if name == "catalog" and result:
            lines += catalog_summary_lines(result)
            continue
        head = f"shop {shop}: {name} {status}"
        if outcome.get("error"):
            head += f": {outcome['error']}"
        lines.append(head)
        counts = result.get("counts") or {}
        if counts:
            lines.append("  " + ", ".join(f"{k}: {v}" for k, v in counts.items()))
        if result.get("report_dir"):
            lines.append(f"  report: {result['report_dir']}")
        for warning in result.get("warnings") or []:
            lines.append(f"  warning: {warning}")
    return lines


def main(
    shop: str = SHOP,
    step: str = typer.Option(
        "all",
        "--step",
        help="all: the whole cycle (catalog, push, relay orders); "
        "catalog: extract both catalogs, check, map, reports.",
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Push and relay compute and report but write nothing."
    ),
    force: bool = typer.Option(
        False, "--force", help="Let the push through a failed guard for this run only."
    ),
    full: bool = typer.Option(
        False,
        "--full",
        help="Read both catalogs whole (catches deletions), not only what changed since the "
        "last accepted extract.",
    ),
    suggestions: bool = typer.Option(
        True,
        "--suggestions/--no-suggestions",
        help="Suggest a likely store variant for unmapped SKUs in the report (never applied).",
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Run one shop's cycle (or catalog step) and print its summary and where reports are.

    Exits 1 when a check or guard blocked the run or a step failed, 2 on a configuration
    error.
    """
    if step not in STEPS:
        typer.echo(
            f"skubridge sync: unknown step {step!r} (choose from {', '.join(STEPS)})", err=True
        )
        raise typer.Exit(code=2)
    try:
        if step == "catalog":
            ok, summary = _catalog_flow(
                shop, suggestions=suggestions, shops_file=shops_file, full=full
            )
            lines = catalog_summary_lines(summary)
        else:
            ok, steps = _cycle_flow(
                shop, dry_run=dry_run, force=force, shops_file=shops_file, full=full
            )
            lines = cycle_summary_lines(shop, steps)
    except ConfigError as exc:
        typer.echo(f"skubridge sync: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for line in lines:
        typer.echo(line)
    if not ok:
        raise typer.Exit(code=1)
