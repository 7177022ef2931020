"""The per-shop DuckDB warehouse: opening, schema migrations, bulk inserts, SQL files.

One DuckDB file per shop (``<data_dir>/<shop_id>.duckdb``). DuckDB allows one writing
process per file; a second one gets :class:`WarehouseLockedError` naming the file and
the holder instead of a raw IOException. Files are created readable by the owner only.

Migrations are the ``tasks/sql/migrations/NNN_name.sql`` files, applied once each in
number order and recorded in ``schema_version``. Number ranges by owner: 001-099 core,
100-199 mapping, 200-299 push, 300-399 orders, 400-499 orchestration.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

import duckdb

from skubridge.config import data_dir
from tasks.placement import check_placement

SQL_DIR = Path(__file__).parent / "sql"
MIGRATIONS_DIR = SQL_DIR / "migrations"
_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(Exception):
    """A warehouse file could not be opened or migrated."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the DuckDB file open for writing."""


def shop_db_path(shop_id: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Path of a shop's DuckDB file: ``<folder or $SKUBRIDGE_DATA_DIR or ./data>/<shop>.duckdb``."""
    return Path(folder or data_dir()) / f"{shop_id}.duckdb"


def migrations() -> list[tuple[int, str, Path]]:
    """The migration files in apply order as (version, name, path)."""
    found = []
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        match = _MIGRATION_NAME.match(path.name)
        if not match:
            raise WarehouseError(f"{path}: migration files are named NNN_name.sql")
        found.append((int(match.group(1)), match.group(2), path))
    versions = [v for v, _, _ in found]
    if len(versions) != len(set(versions)):
        raise WarehouseError(f"{MIGRATIONS_DIR}: two migrations share a version number")
    return found


def migrate(con: duckdb.DuckDBPyConnection) -> list[int]:
    """Apply the migrations not yet recorded in ``schema_version``; return the versions applied.

    Idempotent: a second call applies nothing.
    """
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_version ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL)"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_version").fetchall()}
    applied = []
    for version, name, path in migrations():
        if version in done:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(path.read_text(encoding="utf-8"))
            con.execute(
                "INSERT INTO schema_version VALUES (?, ?, ?)", [version, name, datetime.now(UTC)]
            )
            con.execute("COMMIT")
        except Exception as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {path.name} failed: {exc}") from exc
        applied.append(version)
    return applied


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The highest applied migration version (0 for an empty file)."""
    row = con.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0]) if row else 0


def connect(path: str | os.PathLike[str], *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating when writable) the DuckDB file at ``path``.

    Raises WarehouseLockedError when another process holds the file, naming it.
    """
    path = Path(path)
    if not read_only:
        # A folder we create is owner-only too: DuckDB creates the WAL on a later write
        # under the process umask (0644), so the folder is what keeps it private.
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    elif not path.exists():
        raise WarehouseError(f"{path}: no such warehouse file (run a catalog sync first)")
    # Owner-only from the first byte: DuckDB creates the file (and its WAL) under this
    # umask; it rejects a pre-created empty file, so umask is the way in.
    old_umask = os.umask(0o077)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            holder = re.search(r"PID (\d+)", text)
            who = f" by process {holder.group(1)}" if holder else ""
            raise WarehouseLockedError(
                f"{path} is open for writing{who}; another skubridge run for this shop is "
                "still going. Wait for it to finish (or stop it) and run again."
            ) from None
        raise WarehouseError(f"{path}: cannot open: {text}") from None
    finally:
        os.umask(old_umask)
    _restrict(path)
    if not read_only:
        migrate(con)
    return con


def _restrict(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            candidate.chmod(0o600)


@contextmanager
def open_shop(
    shop_id: str, *, read_only: bool = False, folder: str | os.PathLike[str] | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager: the shop's migrated warehouse connection, closed on exit.

    On a worker that declares its queues, a shop placed elsewhere raises
    :class:`tasks.placement.ShopNotHereError` before anything is opened or created.
    """
    path = shop_db_path(shop_id, folder)
    check_placement(shop_id, path)
    con = connect(path, read_only=read_only)
    try:
        yield con
    finally:
        con.close()


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: Any) -> int:
    """Bulk-insert a pandas DataFrame or Arrow table into ``table`` by column name.

    Columns of the table missing from the frame get their defaults/NULL. Returns rows.
    """
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", table):
        raise ValueError(f"bad table name {table!r}")
    columns = list(frame.column_names if hasattr(frame, "column_names") else frame.columns)
    if not columns:
        return 0
    con.register("_skubridge_frame", frame)
    try:
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f"INSERT INTO {table} ({cols}) SELECT {cols} FROM _skubridge_frame")
    finally:
        con.unregister("_skubridge_frame")
    return len(frame)


@cache
def sql(name: str) -> str:
    """The text of ``tasks/sql/<name>.sql`` (SQL lives in files, not in Python strings)."""
    path = SQL_DIR / f"{name}.sql"
    if not path.exists():
        raise FileNotFoundError(f"no SQL file {path}")
    return path.read_text(encoding="utf-8")
