"""What every step runner shares: its run record, the shop's clients, a loop, a logger.

:func:`record_run` writes the ``runs`` row of one step run (started, then COMPLETED or
FAILED with the failed step and why) around the step's body; :func:`open_clients` opens
the shop's TikTok and store clients (built in :mod:`connectors.factory`, the one place
secrets are resolved) and closes them. The runners are plain functions: a flow wraps them
with its decorators, the CLI, the benchmarks and the chaos engine call them directly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, nullcontext
from dataclasses import dataclass
from typing import Any, TypeVar

import duckdb

from connectors.base import StoreApi, TikTokApi
from connectors.factory import store_client, tiktok_client
from skubridge.config import ShopConfig
from tasks.runs import finish_run, start_run
from tasks.warehouse import check_output_dirs, open_shop

T = TypeVar("T")
ERROR_CHARS = 1000  # the run record keeps at most this much of an error message


def describe(exc: BaseException) -> str:
    """An exception as the run record shows it: its type and message, cut to length."""
    return f"{type(exc).__name__}: {exc}"[:ERROR_CHARS]


@dataclass
class RunRecord:
    """How a step run ended; the body of :func:`record_run` fills it in."""

    run_id: str
    status: str = "COMPLETED"
    failed_step: str | None = None
    error: str | None = None
    report_dir: str | None = None
    summary: dict[str, Any] | None = None

    def fail(self, step: str, error: str | None) -> None:
        """Mark the run FAILED at ``step`` (the body may go on and return normally)."""
        self.status, self.failed_step, self.error = "FAILED", step, error


@contextmanager
def record_run(
    shop_id: str,
    *,
    run_id: str,
    flow: str,
    step: str,
    con: duckdb.DuckDBPyConnection | None = None,
    error_text: Callable[[Exception], str] = describe,
) -> Iterator[RunRecord]:
    """Record one run of ``flow`` for ``shop_id`` in the ``runs`` table around the block.

    The row is written RUNNING on entry and finished from the yielded :class:`RunRecord`
    on exit. An exception from the block finishes the row FAILED (at the step the block
    named with :meth:`RunRecord.fail`, else at ``step``, with ``error_text(exc)``) and
    propagates. ``con``: write through this open connection instead of opening the
    shop's warehouse for each write (a runner that holds the file for its whole run).
    """

    def write(action: Callable[[duckdb.DuckDBPyConnection], None]) -> None:
        with nullcontext(con) if con is not None else open_shop(shop_id) as connection:
            action(connection)

    check_output_dirs()  # before the step can write anything to a marketplace
    write(lambda c: start_run(c, run_id=run_id, flow=flow, shop_id=shop_id))
    record = RunRecord(run_id=run_id)

    def finish(c: duckdb.DuckDBPyConnection) -> None:
        finish_run(
            c,
            run_id=run_id,
            status=record.status,
            failed_step=record.failed_step,
            error=record.error,
            report_dir=record.report_dir,
            summary=record.summary,
        )

    try:
        yield record
    except Exception as exc:
        if record.status != "FAILED":
            record.fail(step, error_text(exc))
        write(finish)
        raise
    write(finish)


@dataclass(frozen=True)
class ShopClients:
    """A shop's two marketplace clients (``store`` is None when it was not asked for)."""

    tiktok: TikTokApi
    store: StoreApi | None


@asynccontextmanager
async def open_clients(
    shop: ShopConfig,
    *,
    with_store: bool = True,
    tiktok: TikTokApi | None = None,
    **options: Any,
) -> AsyncIterator[ShopClients]:
    """The shop's TikTok client (and store client unless ``with_store`` is False), closed
    on exit. ``options`` go to both constructors (rate_scale, transport, retry, timeout...).
    A ``tiktok`` client given by the caller is used as is and left open."""
    opened: list[Any] = []
    try:
        if tiktok is None:
            tiktok = tiktok_client(shop, **options)
            opened.append(tiktok)
        store = None
        if with_store:
            store = store_client(shop, **options)
            opened.append(store)
        yield ShopClients(tiktok=tiktok, store=store)
    finally:
        for client in reversed(opened):
            await client.aclose()


def run_sync(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine to completion from sync code, whether or not a loop is running
    (inside one, e.g. an async test or notebook, it runs on a fresh loop in a thread)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def step_logger(name: str) -> logging.Logger | logging.LoggerAdapter[Any]:
    """The Prefect run logger inside a flow or task run (logs reach the UI), else ``name``."""
    from prefect.context import FlowRunContext, TaskRunContext

    if FlowRunContext.get() is not None or TaskRunContext.get() is not None:
        from prefect import get_run_logger

        return get_run_logger()
    return logging.getLogger(name)


def in_run() -> bool:
    """True inside a Prefect flow or task run (artifacts are published only then)."""
    from prefect.context import FlowRunContext, TaskRunContext

    return FlowRunContext.get() is not None or TaskRunContext.get() is not None
