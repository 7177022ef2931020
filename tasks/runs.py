"""The run record: one row per flow run in the shop's ``runs`` table.

It says which flow ran, when, how it ended, which step failed and why, and where its
reports are; the orchestration summary and ``skubridge report`` read it back.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import duckdb


def current_run_id() -> str:
    """The Prefect flow-run id when inside a flow run, else a fresh time-ordered id."""
    try:
        from prefect.context import FlowRunContext

        ctx = FlowRunContext.get()
        if ctx is not None and ctx.flow_run is not None:
            return str(ctx.flow_run.id)
    except ImportError:  # pragma: no cover
        pass
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def start_run(con: duckdb.DuckDBPyConnection, *, run_id: str, flow: str, shop_id: str) -> None:
    """Record that ``flow`` started for ``shop_id`` (a rerun of the same id restarts the row)."""
    con.execute(
        "INSERT OR REPLACE INTO runs (run_id, flow, shop_id, started_at, status)"
        " VALUES (?, ?, ?, ?, 'RUNNING')",
        [run_id, flow, shop_id, datetime.now(UTC)],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    status: str,
    failed_step: str | None = None,
    error: str | None = None,
    report_dir: str | None = None,
    summary: dict[str, Any] | None = None,
) -> None:
    """Record how the run ended: COMPLETED or FAILED, with the failed step and the reason."""
    con.execute(
        "UPDATE runs SET finished_at = ?, status = ?, failed_step = ?, error = ?,"
        " report_dir = coalesce(?, report_dir), summary = ? WHERE run_id = ?",
        [
            datetime.now(UTC),
            status,
            failed_step,
            error,
            report_dir,
            json.dumps(summary or {}, default=str),
            run_id,
        ],
    )


def last_run(con: duckdb.DuckDBPyConnection, flow: str | None = None) -> dict[str, Any] | None:
    """The most recent run (of ``flow`` if given) as a dict, or None."""
    query = (
        "SELECT * FROM runs"
        + (" WHERE flow = ?" if flow else "")
        + " ORDER BY started_at DESC LIMIT 1"
    )
    cur = con.execute(query, [flow] if flow else [])
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))


def run_record(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any] | None:
    """The run with id ``run_id`` as a dict, or None."""
    cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
    row = cur.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in cur.description], row, strict=True))
