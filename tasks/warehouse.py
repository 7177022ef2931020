"""The per-shop DuckDB warehouse: opening, schema migrations, bulk inserts, SQL files.

One DuckDB file per shop (``<data_dir>/<shop_id>.duckdb``). DuckDB allows one writing
process per file, and no writer while another process reads it
(https://duckdb.org/docs/stable/connect/concurrency). So runs hold the file only for
database work (:func:`open_shop` per part; :class:`ShopLease` for a runner that
interleaves database work with marketplace calls), and an open that finds the file busy
waits up to ``SKUBRIDGE_LOCK_WAIT_SECONDS`` (default 30) before it gives up with
:class:`WarehouseLockedError`, which says who holds the file: a skubridge run (named by the
``<file>.writer`` note every skubridge writer leaves while it holds the file) or another
process, e.g. an analyst's notebook reading it. Files are created readable by the owner only.

Migrations are the ``tasks/sql/migrations/NNN_name.sql`` files, applied once each in
number order and recorded in ``schema_version``. Number ranges by owner: 001-099 core,
100-199 mapping, 200-299 push, 300-399 orders, 400-499 orchestration.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
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
LOCK_WAIT_SECONDS = 30.0  # default bounded wait for a busy file ($SKUBRIDGE_LOCK_WAIT_SECONDS)
# DuckDB's lock error adds this when the holder has the file open read-only.
_READER_HINT = "would be able to open this database in read-only mode"


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


def lock_wait_seconds() -> float:
    """How long an open waits for a busy file: ``$SKUBRIDGE_LOCK_WAIT_SECONDS`` or 30."""
    raw = os.environ.get("SKUBRIDGE_LOCK_WAIT_SECONDS", "").strip()
    try:
        return max(0.0, float(raw)) if raw else LOCK_WAIT_SECONDS
    except ValueError:
        raise WarehouseError(
            f"SKUBRIDGE_LOCK_WAIT_SECONDS must be a number of seconds, not {raw!r}"
        ) from None


def writer_note_path(path: Path) -> Path:
    """The note a skubridge writer keeps next to the file while it holds it."""
    return path.with_name(path.name + ".writer")


def _write_note(path: Path) -> None:
    note = {"pid": os.getpid(), "since": datetime.now(UTC).isoformat(timespec="seconds")}
    writer_note_path(path).write_text(json.dumps(note), encoding="utf-8")


def _drop_note(path: Path) -> None:
    note = writer_note_path(path)
    try:
        if json.loads(note.read_text(encoding="utf-8")).get("pid") == os.getpid():
            note.unlink()
    except (OSError, ValueError):
        pass


def _command_of(pid: str) -> str:
    """The holder's command line (Linux /proc), cut short; '' when unknown."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()[:120]


def holder_text(path: Path, error: str) -> str:
    """Who holds ``path``, from DuckDB's lock error (it names the process) and our note."""
    found = re.search(r"PID (\d+)", error)
    pid = found.group(1) if found else None
    if _READER_HINT in error:
        cmd = _command_of(pid) if pid else ""
        who = f"process {pid}" + (f" ({cmd})" if cmd else "") if pid else "another process"
        return (
            f"{who} has it open for reading (an analyst's notebook or the duckdb CLI?). "
            "Close that connection; to read while runs go on, query the Parquet files "
            f"under reports/<shop>/latest/ instead"
        )
    note: dict[str, Any] = {}
    with suppress(OSError, ValueError):
        note = json.loads(writer_note_path(path).read_text(encoding="utf-8"))
    if pid is not None and str(note.get("pid")) == pid:
        return (
            f"a skubridge run (process {pid}, writing since {note.get('since')}) holds it; "
            "wait for it to finish (or stop it) and run again"
        )
    cmd = _command_of(pid) if pid else ""
    who = f"process {pid}" + (f" ({cmd})" if cmd else "") if pid else "another process"
    return f"{who} has it open for writing; it is not a skubridge run. Close it and run again"


def connect(
    path: str | os.PathLike[str],
    *,
    read_only: bool = False,
    wait_seconds: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> duckdb.DuckDBPyConnection:
    """Open (creating and migrating when writable) the DuckDB file at ``path``.

    A busy file is tried again for up to ``wait_seconds`` (default
    :func:`lock_wait_seconds`); then WarehouseLockedError says who holds it.
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
    budget = lock_wait_seconds() if wait_seconds is None else wait_seconds
    waited, pause = 0.0, 0.05
    while True:
        try:
            con = _open(path, read_only)
            break
        except WarehouseLockedError as exc:
            if waited >= budget:
                mode = "read" if read_only else "write"
                raise WarehouseLockedError(
                    f"{path} is busy (cannot open it to {mode}"
                    + (f" after waiting {waited:.0f} s" if waited else "")
                    + f"): {holder_text(path, str(exc))}."
                ) from None
            step = min(pause, budget - waited)
            sleep(step)
            waited, pause = waited + step, min(pause * 2, 1.0)
    _restrict(path)
    try:
        if not read_only:
            _write_note(path)
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


def _open(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    # Owner-only from the first byte: DuckDB creates the file (and its WAL) under this
    # umask; it rejects a pre-created empty file, so umask is the way in.
    old_umask = os.umask(0o077)
    try:
        return duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        text = str(exc)
        if "lock" in text.lower():
            raise WarehouseLockedError(text) from None
        if _DAMAGED.search(text):
            raise damaged(path, exc) from None
        raise WarehouseError(f"{path}: cannot open: {text}") from None
    finally:
        os.umask(old_umask)


def _restrict(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        if candidate.exists():
            candidate.chmod(0o600)


@contextmanager
def open_shop(
    shop_id: str,
    *,
    read_only: bool = False,
    folder: str | os.PathLike[str] | None = None,
    wait_seconds: float | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Context manager: the shop's migrated warehouse connection, closed on exit.

    Keep the block to database work: while it is open no other process can write the
    file, nor read it when this connection writes. On a worker that declares its queues,
    a shop placed elsewhere raises :class:`tasks.placement.ShopNotHereError` before
    anything is opened or created.
    """
    path = shop_db_path(shop_id, folder)
    check_placement(shop_id, path)
    con = connect(path, read_only=read_only, wait_seconds=wait_seconds)
    try:
        yield con
    except duckdb.IOException as exc:
        # A file cut short opens fine and fails when a damaged block is first read.
        if _DAMAGED.search(str(exc)):
            raise damaged(path, exc) from None
        raise
    finally:
        con.close()
        if not read_only:
            _drop_note(path)


LEASE_IDLE_SECONDS = 0.25


class ShopLease:
    """A shop connection opened on first use and closed once the event loop has had
    nothing for it for ``idle_seconds``, for a runner that interleaves database work with
    marketplace calls (the relay): the file is held while statements run, not while the
    runner awaits the network, so a reader or another writer can get in between.

    Attribute access is delegated to an open connection (opened, waiting boundedly, when
    needed). Work that must be atomic has to run without an ``await`` in between (the
    release only happens when the loop runs other callbacks). Outside a running loop the
    connection stays open until :meth:`close`.
    """

    def __init__(
        self,
        shop_id: str,
        *,
        folder: str | os.PathLike[str] | None = None,
        idle_seconds: float = LEASE_IDLE_SECONDS,
    ) -> None:
        self.shop_id, self.folder, self.idle_seconds = shop_id, folder, idle_seconds
        self.opened = 0  # how many times the file was opened (tests and logs)
        self._con: duckdb.DuckDBPyConnection | None = None
        self._handle: asyncio.Handle | None = None

    def connection(self) -> duckdb.DuckDBPyConnection:
        """The open connection (opening it when released), released again when idle."""
        if self._con is None:
            path = shop_db_path(self.shop_id, self.folder)
            check_placement(self.shop_id, path)
            self._con = connect(path)
            self.opened += 1
        self._schedule_release()
        return self._con

    def __getattr__(self, name: str) -> Any:
        return getattr(self.connection(), name)

    def _schedule_release(self) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        if self._handle is not None:
            self._handle.cancel()
        if self.idle_seconds > 0:
            self._handle = loop.call_later(self.idle_seconds, self.release)
        else:  # released at the loop's next turn: as soon as the runner awaits anything
            self._handle = loop.call_soon(self.release)

    def release(self) -> None:
        """Close the connection now (the next use opens it again)."""
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        if self._con is not None:
            self._con.close()
            self._con = None
            _drop_note(shop_db_path(self.shop_id, self.folder))

    def close(self) -> None:
        self.release()

    @property
    def held(self) -> bool:
        """True while the file is open."""
        return self._con is not None


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
