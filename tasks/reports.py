"""Publishing a report in its three forms: DuckDB table, CSV/Parquet files, Prefect artifacts.

Every report (mapping, push, order) goes through :func:`publish_report`, so they all land
the same way: rows for the run in the shop's DuckDB table (replacing that run's earlier
rows, so a retried task does not double them), ``<reports>/<shop>/<run folder>/<name>.csv``
and ``.parquet`` readable by the owner only, the same Parquet file as
``<reports>/<shop>/latest/<name>.parquet`` (replaced atomically, so a reader sees the
previous run's file or this one, never half of one), and a Prefect table artifact when
called inside a flow or task run (keys are slugified; tables over ``max_artifact_rows``
are cut, with the file path given in the description).

Run folders sort by time: ``20261208T0301Z-1f2e3d4c`` (UTC start, then the first block
of the run id), or the run id itself when it already starts with a time stamp.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from skubridge.config import reports_dir
from tasks.warehouse import insert_frame

log = logging.getLogger("skubridge.reports")

MAX_ARTIFACT_ROWS = 500


@dataclass(frozen=True)
class ReportFiles:
    """Where one report landed."""

    name: str
    rows: int
    csv: Path
    parquet: Path
    artifact_id: str | None = None


def artifact_key(*parts: str) -> str:
    """A valid Prefect artifact key: lowercase letters, digits and dashes."""
    key = re.sub(r"[^a-z0-9-]+", "-", "-".join(parts).lower()).strip("-")
    return re.sub(r"-{2,}", "-", key)[:100] or "report"


LATEST = "latest"
_UUID = re.compile(r"^([0-9a-f]{8})-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(.*)$")
_STAMPED = re.compile(r"^\d{8}T\d{4}")


def run_folder_tail(run_id: str) -> str:
    """What names a run in its folder: a UUID's first block (plus any suffix, e.g. the
    cycle's ``-push``), else the run id made safe for a file name."""
    found = _UUID.match(run_id.lower())
    tail = found.group(1) + found.group(2) if found else run_id
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", tail)[:60] or "run"


def run_report_dir(shop_id: str, run_id: str, root: str | os.PathLike[str] | None = None) -> Path:
    """``<root or $SKUBRIDGE_REPORTS_DIR or ./reports>/<shop>/<run folder>``, created
    owner-only. The folder name starts with the run's UTC start so folders sort by time; a
    second call for the same run finds the folder the first one made."""
    base = Path(root or reports_dir())
    # A reports folder created here is owner-only too (an existing one is left as it is).
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    shop_folder = base / shop_id
    if _STAMPED.match(run_id):
        name = run_folder_tail(run_id)
    else:
        tail = run_folder_tail(run_id)
        earlier = sorted(shop_folder.glob(f"*T*Z-{tail}")) if shop_folder.is_dir() else []
        name = earlier[-1].name if earlier else f"{datetime.now(UTC):%Y%m%dT%H%MZ}-{tail}"
    folder = shop_folder / name
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    for path in (folder, folder.parent):
        path.chmod(0o700)
    return folder


def _in_prefect_run() -> bool:
    try:
        from prefect.context import FlowRunContext, TaskRunContext
    except ImportError:  # pragma: no cover
        return False
    return FlowRunContext.get() is not None or TaskRunContext.get() is not None


def _write_owner_only(path: Path, write: Any) -> None:
    """Write through a temporary file renamed into place: a run killed mid-write leaves
    the previous file or none, never half a report; owner-only from the first byte. The
    temporary name is the writer's own (process and thread): two runs publishing the same
    ``latest`` file at once must not rename each other's temporary file away."""
    partial = path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.partial")
    old = os.umask(0o077)
    try:
        write(partial)
        partial.chmod(0o600)
        os.replace(partial, path)
    finally:
        os.umask(old)
        partial.unlink(missing_ok=True)


def publish_latest(source: Path, target: Path) -> None:
    """Copy a run's Parquet file to ``target`` through a temporary file and ``os.replace``
    (atomic on one file system): readers of ``target`` never see a partial file."""
    import shutil

    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    _write_owner_only(target, lambda p: shutil.copyfile(source, p))


def publish_report(
    con: duckdb.DuckDBPyConnection,
    *,
    table: str,
    run_id: str,
    frame: pd.DataFrame,
    folder: Path,
    name: str,
    artifact: str | None = None,
    description: str = "",
    max_artifact_rows: int = MAX_ARTIFACT_ROWS,
    latest: bool = True,
) -> ReportFiles:
    """Store ``frame`` (the report's public columns) as table rows, files and an artifact.

    ``latest``: also replace ``<shop folder>/latest/<name>.parquet`` (a dry run passes
    False, so the latest file is what the last real run did).
    """
    con.execute(f"DELETE FROM {table} WHERE run_id = ?", [run_id])
    insert_frame(con, table, frame.assign(run_id=run_id))
    csv_path, parquet_path = folder / f"{name}.csv", folder / f"{name}.parquet"
    _write_owner_only(csv_path, lambda p: frame.to_csv(p, index=False))
    _write_owner_only(parquet_path, lambda p: frame.to_parquet(p, index=False))
    if latest:
        publish_latest(parquet_path, folder.parent / LATEST / f"{name}.parquet")
    artifact_id = None
    if artifact and _in_prefect_run():
        artifact_id = table_artifact(
            artifact,
            frame,
            description=description,
            files=(csv_path, parquet_path),
            max_rows=max_artifact_rows,
        )
    return ReportFiles(name, len(frame), csv_path, parquet_path, artifact_id)


def table_artifact(
    key: str,
    frame: pd.DataFrame,
    *,
    description: str = "",
    files: tuple[Path, ...] = (),
    max_rows: int = MAX_ARTIFACT_ROWS,
) -> str | None:
    """A Prefect table artifact of ``frame`` (cut to ``max_rows``); no-op outside a run."""
    if not _in_prefect_run():
        return None
    from prefect.artifacts import create_table_artifact

    shown = frame.head(max_rows)
    note = description
    if len(frame) > max_rows:
        note += f"\n\nShowing {max_rows} of {len(frame)} rows."
    if files:
        note += "\n\nFull report:\n" + "\n".join(f"- `{f}`" for f in files)
    records = (
        shown.astype(object)
        .where(shown.notna(), None)
        .astype(str)
        .replace("None", "")
        .to_dict("records")
    )
    artifact_id = create_table_artifact(
        table=records, key=artifact_key(key), description=note.strip()
    )
    return str(artifact_id)


def markdown_artifact(key: str, markdown: str, description: str = "") -> str | None:
    """A Prefect markdown artifact; no-op outside a run."""
    if not _in_prefect_run():
        return None
    from prefect.artifacts import create_markdown_artifact

    return str(
        create_markdown_artifact(markdown=markdown, key=artifact_key(key), description=description)
    )


def markdown_table(frame: pd.DataFrame, max_rows: int = 50) -> str:
    """A small frame as a Markdown table (for summaries and artifacts)."""
    if frame.empty:
        return "_none_"
    shown = frame.head(max_rows).astype(str)
    head = "| " + " | ".join(shown.columns) + " |"
    sep = "| " + " | ".join("---" for _ in shown.columns) + " |"
    body = [
        "| " + " | ".join(v.replace("|", "\\|") for v in row) + " |" for row in shown.to_numpy()
    ]
    more = [f"\n_{len(frame) - max_rows} more rows_"] if len(frame) > max_rows else []
    return "\n".join([head, sep, *body, *more])
