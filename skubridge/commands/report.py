"""`skubridge report`: print the latest mapping, push or order report of a shop.

Reads the shop's DuckDB file read-only (waiting briefly while a run writes it) and
prints the report rows of the newest run that produced that kind of report, as a table,
CSV or JSON, plus the paths of the run's report files. The push report is the newest real
push unless ``--dry-runs``. ``--as-map-csv`` turns the unmapped rows of the mapping report
into a CSV map file prefilled from the suggestions (what ``skubridge map --csv`` reads).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import typer

from skubridge.commands.options import SHOPS_FILE

KINDS = {
    "mapping": ("mapping_report", "mapping_report"),
    "push": ("push_report", "push_report"),
    "orders": ("order_report", "order_report"),
}
"""kind -> (DuckDB table, report file name) as written by tasks.reports.publish_report."""

FORMATS = ("table", "csv", "json")

LATEST_RUN_SQL = """
SELECT t.run_id, r.report_dir, r.started_at
FROM (SELECT DISTINCT run_id FROM {table}) AS t
LEFT JOIN runs AS r USING (run_id)
{where}
ORDER BY r.started_at DESC NULLS LAST, t.run_id DESC
LIMIT 1
"""
"""The newest run that has rows in a report table (runs without a run record last)."""
REAL_PUSHES = "WHERE t.run_id NOT IN (SELECT run_id FROM push_runs WHERE dry_run)"

MAP_CSV_COLUMNS = [
    "tiktok_sku_id",
    "store_variant_id",
    "seller_sku",
    "reason",
    "tiktok_title",
    "tiktok_options",
    "suggested_store_sku",
    "suggestion_basis",
    "store_title",
    "store_options",
    "suggestion",
]
"""A CSV map file (tasks/manual_map.py reads tiktok_sku_id and store_variant_id; the rest
is there to judge each row by)."""


@dataclass(frozen=True)
class LatestReport:
    """One run's report rows and where its files are."""

    kind: str
    run_id: str
    rows: list[dict[str, Any]]
    columns: list[str]
    files: list[Path]


def latest_report(
    shop: str, kind: str, *, unmapped_only: bool = False, dry_runs: bool = False
) -> LatestReport | None:
    """The newest ``kind`` report of ``shop`` from its DuckDB file (read-only), or None.

    Push: the newest real push, or with ``dry_runs`` the newest push of either kind."""
    from skubridge.config import reports_dir
    from tasks.warehouse import open_shop

    table, file_name = KINDS[kind]
    with open_shop(shop, read_only=True) as con:
        where = REAL_PUSHES if kind == "push" and not dry_runs else ""
        found = con.execute(LATEST_RUN_SQL.format(table=table, where=where)).fetchone()
        if found is None:
            return None
        run_id, report_dir, _ = found
        query = f"SELECT * EXCLUDE (run_id) FROM {table} WHERE run_id = ?"
        if unmapped_only:
            query += " AND status = 'unmapped'"
        cur = con.execute(query + " ORDER BY ALL", [run_id])
        columns = [d[0] for d in cur.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    folder = Path(report_dir) if report_dir else Path(reports_dir()) / shop / run_id
    files = [folder / f"{file_name}.{ext}" for ext in ("csv", "parquet")]
    return LatestReport(kind, run_id, rows, columns, [f for f in files if f.exists()])


def map_csv(report: LatestReport) -> str:
    """The unmapped rows as a CSV map file, store_variant_id prefilled from the suggestion
    (empty where there is none: fill it in or delete the row)."""
    import csv
    import io

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(MAP_CSV_COLUMNS)
    for row in report.rows:
        if row.get("status") != "unmapped":
            continue
        values = {**row, "store_variant_id": row.get("suggested_store_variant_id")}
        writer.writerow([_text(values.get(c)) for c in MAP_CSV_COLUMNS])
    return out.getvalue()


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def render(report: LatestReport, fmt: str) -> str:
    """The rows as an aligned text table, CSV or a JSON array."""
    if fmt == "json":
        return json.dumps(report.rows, indent=1, default=str, ensure_ascii=False)
    if fmt == "csv":
        import csv
        import io

        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(report.columns)
        writer.writerows([_text(row[c]) for c in report.columns] for row in report.rows)
        return out.getvalue().rstrip("\n")
    cells = [[_text(row[c]) for c in report.columns] for row in report.rows]
    widths = [max([len(c), *(len(r[i]) for r in cells)]) for i, c in enumerate(report.columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(report.columns, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def main(
    shop: str = typer.Option(..., "--shop", help="Shop id (its DuckDB file is read)."),
    kind: str = typer.Option("mapping", "--kind", help="mapping, push or orders."),
    fmt: str = typer.Option("table", "--format", help="table, csv or json (rows to stdout)."),
    unmapped_only: bool = typer.Option(
        False, "--unmapped-only", help="Mapping report: only the unmapped TikTok SKUs."
    ),
    shops_file: Path | None = SHOPS_FILE,
    as_map_csv: bool = typer.Option(
        False,
        "--as-map-csv",
        help="Mapping report: the unmapped SKUs as a CSV map file for `skubridge map --csv`, "
        "store_variant_id prefilled from the suggestions (to stdout, or --output).",
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="With --as-map-csv: write the file here instead of stdout."
    ),
    dry_runs: bool = typer.Option(
        False, "--dry-runs", help="Push report: include dry runs (default: the latest real push)."
    ),
) -> None:
    """Print the latest report of a kind for a shop, and the paths of its CSV/Parquet files.

    With --format csv or json the rows go to stdout and everything else to stderr, so the
    output can be piped. Exits 1 when there is no such report yet, 2 on bad options.
    """
    import duckdb

    from skubridge.config import ConfigError, check_shop_id
    from tasks.warehouse import WarehouseError

    if kind not in KINDS:
        typer.echo(f"skubridge report: --kind must be one of {', '.join(KINDS)}", err=True)
        raise typer.Exit(code=2)
    if fmt not in FORMATS:
        typer.echo(f"skubridge report: --format must be one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(code=2)
    if unmapped_only and kind != "mapping":
        typer.echo("skubridge report: --unmapped-only applies to --kind mapping", err=True)
        raise typer.Exit(code=2)
    if as_map_csv and kind != "mapping":
        typer.echo("skubridge report: --as-map-csv applies to --kind mapping", err=True)
        raise typer.Exit(code=2)
    if output is not None and not as_map_csv:
        typer.echo("skubridge report: --output goes with --as-map-csv", err=True)
        raise typer.Exit(code=2)
    if dry_runs and kind != "push":
        typer.echo("skubridge report: --dry-runs applies to --kind push", err=True)
        raise typer.Exit(code=2)
    try:
        check_shop_id(shop, shops_file)
    except ConfigError as exc:
        typer.echo(f"skubridge report: {exc}", err=True)
        raise typer.Exit(code=2) from None
    try:
        report = latest_report(
            shop, kind, unmapped_only=unmapped_only or as_map_csv, dry_runs=dry_runs
        )
    except (WarehouseError, duckdb.Error) as exc:
        typer.echo(f"skubridge report: shop '{shop}': {exc}", err=True)
        raise typer.Exit(code=1) from None
    if report is None:
        typer.echo(f"skubridge report: shop '{shop}' has no {kind} report yet", err=True)
        raise typer.Exit(code=1)
    if as_map_csv:
        text = map_csv(report)
        prefilled = sum(1 for r in report.rows if r.get("suggested_store_variant_id"))
        if output is not None:
            output.write_text(text, encoding="utf-8")
        else:
            typer.echo(text, nl=False)
        typer.echo(
            f"{len(report.rows)} unmapped SKUs of shop {shop} (run {report.run_id}), "
            f"{prefilled} prefilled from suggestions"
            + (f", written to {output}" if output else "")
            + f". Check the store_variant_id column, then: skubridge map --shop {shop} --csv "
            + (str(output) if output else "FILE"),
            err=True,
        )
        return
    notes = fmt != "table"
    typer.echo(
        f"{kind} report of shop {shop}, run {report.run_id}: {len(report.rows)} rows"
        + (" (unmapped only)" if unmapped_only else ""),
        err=notes,
    )
    typer.echo(render(report, fmt))
    if report.files:
        typer.echo("files:", err=notes)
        for path in report.files:
            typer.echo(f"  {path}", err=notes)
    else:
        typer.echo("files: none found for this run", err=notes)
