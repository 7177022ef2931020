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
# DuckDB's words for a file it cannot read back (truncated, overwritten, not DuckDB).
_DAMAGED = re.compile(
    r"read enough bytes|not a valid DuckDB|corrupt|checksum|invalid (database|block|magic)",
    re.IGNORECASE,
)


class WarehouseError(Exception):
    """A warehouse file could not be opened or migrated."""


class WarehouseLockedError(WarehouseError):
    """Another process holds the DuckDB file open for writing."""


class WarehouseDamagedError(WarehouseError):
    """The DuckDB file cannot be read back (truncated, overwritten, not a DuckDB file)."""


class NewerWarehouseError(WarehouseError):
    """The file was migrated by a newer skubridge (schema versions this one does not know)."""


def damaged(path: str | os.PathLike[str], exc: BaseException) -> WarehouseDamagedError:
    """The one-line error for a warehouse file DuckDB cannot read."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return WarehouseDamagedError(
        f"{path} is damaged or truncated ({first}); nothing was written. Move it aside and "
        "restore it from a backup (a new file from `skubridge sync --step catalog` starts "
        "without the mappings and ledgers it held)."
    )


def check_output_dirs() -> None:
    """Refuse (one line) when the data or reports folder cannot hold files: called before
    any marketplace write, so a store order is never created by a run that cannot then
    record it. A folder that does not exist yet is fine if it can be created."""
    from skubridge.config import DATA_DIR_ENV, REPORTS_DIR_ENV, reports_dir

    for folder, env in ((Path(data_dir()), DATA_DIR_ENV), (Path(reports_dir()), REPORTS_DIR_ENV)):
        probe = folder
        while not probe.exists() and probe != probe.parent:
            probe = probe.parent
        if probe.exists() and not probe.is_dir():
            raise WarehouseError(
                f"{probe} is a file, not a folder; move it away or point {env} at a folder "
                "(nothing was written)"
            )
        if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
            raise WarehouseError(
                f"folder {probe} is not writable; fix its permissions or point {env} at "
                "another folder (nothing was written)"
            )


def shop_db_path(shop_id: str, folder: str | os.PathLike[str] | None = None) -> Path:
    """Path of a shop's DuckDB file: ``<folder or $SKUBRIDGE_DATA_DIR or ./data>/<shop>.duckdb``."""
    if not shop_id or shop_id in (".", "..") or any(c in shop_id for c in "/\\\0"):
        raise WarehouseError(f"shop id {shop_id!r} cannot name a file")
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
    known = migrations()
    _refuse_newer(con, done, known)
    applied = []
    for version, name, path in known:
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


def _refuse_newer(
    con: duckdb.DuckDBPyConnection, done: set[int], known: list[tuple[int, str, Path]]
) -> None:
    """Raise NewerWarehouseError when the file holds migrations this code does not know:
    a newer skubridge wrote it, and this one would misread or damage its tables."""
    unknown = sorted(done - {v for v, _, _ in known})
    if unknown:
        where = _file_of(con)
        raise NewerWarehouseError(
            f"{where} was written by a newer skubridge (schema versions "
            f"{', '.join(map(str, unknown))}; this one knows up to {max(v for v, _, _ in known)}"
            "); upgrade skubridge, or use another data folder (nothing was written)"
        )


def _file_of(con: duckdb.DuckDBPyConnection) -> str:
    row = con.execute(
        "SELECT path FROM duckdb_databases() WHERE database_name = current_database()"
    ).fetchone()
    return str(row[0]) if row and row[0] else "the warehouse file"


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
        try:
            path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        except (FileExistsError, NotADirectoryError):
            check_output_dirs()  # names the file standing where a folder should be
            raise WarehouseError(f"{path.parent} is a file, not a folder") from None
        except PermissionError:
            raise WarehouseError(f"cannot create folder {path.parent}: permission denied") from None
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
        if _DAMAGED.search(text):
            raise damaged(path, exc) from None
        raise WarehouseError(f"{path}: cannot open: {text}") from None
    finally:
        os.umask(old_umask)
    _restrict(path)
    try:
        if not read_only:
            migrate(con)
        elif con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE table_name = 'schema_version'"
        ).fetchone() != (0,):
            done = {r[0] for r in con.execute("SELECT version FROM schema_version").fetchall()}
            _refuse_newer(con, done, migrations())
    except WarehouseError:
        con.close()
        raise
    except duckdb.Error as exc:
        con.close()
        raise damaged(path, exc) from None
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
    except duckdb.IOException as exc:
        # A file cut short opens fine and fails when a damaged block is first read.
        if _DAMAGED.search(str(exc)):
            raise damaged(path, exc) from None
        raise
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
