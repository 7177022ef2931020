"""Catalog checks, promotion and the snapshot history of each channel's catalog.

An extract lands in ``staged_variants``/``staged_stock``. :func:`check_staged` runs the
catalog suite (:mod:`expectations.catalog`) on every side against that side's previous
accepted snapshot. Only when every side passes does :func:`promote` replace the accepted
catalogs (``catalog_variants``/``catalog_stock``) in one transaction and record accepted
snapshots; otherwise :func:`reject` records rejected snapshots with the reason and leaves
the accepted catalogs (and so the mappings built on them) as they were. A rejected run's
staged rows stay for inspection until the next extract of that channel.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from expectations.catalog import check_catalog
from expectations.runner import CheckOutcome, SuiteResult
from tasks.incremental import started_at, zeroed_stock_check
from tasks.warehouse import sql


@dataclass(frozen=True)
class Snapshot:
    """An accepted catalog's size."""

    run_id: str
    products: int
    variants: int
    extracted_at: datetime


@dataclass(frozen=True)
class ChannelCheck:
    """The catalog suite's verdict on one side's staged extract."""

    channel: str
    products: int
    variants: int
    previous: Snapshot | None
    result: SuiteResult

    @property
    def passed(self) -> bool:
        return self.result.passed

    def failure_text(self) -> str:
        """'<channel>: check (observed ...): meaning; ...' for the blocking failures."""
        return f"{self.channel}: " + "; ".join(_describe(o) for o in self.result.blocking_failures)

    def to_dict(self) -> dict[str, Any]:
        return {
            "channel": self.channel,
            "products": self.products,
            "variants": self.variants,
            "previous_variants": self.previous.variants if self.previous else None,
            "passed": self.passed,
            "checks": [
                {
                    "check": o.check,
                    "passed": o.passed,
                    "blocking": o.blocking,
                    "observed": _jsonable(o.observed),
                    "message": o.message,
                }
                for o in self.result.outcomes
            ],
        }


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def _describe(outcome: CheckOutcome) -> str:
    return f"{outcome.check} failed (observed {outcome.observed}): {outcome.message}"


def previous_accepted(
    con: duckdb.DuckDBPyConnection, channel: str, *, exclude_run: str = ""
) -> Snapshot | None:
    """The channel's latest accepted snapshot (other than ``exclude_run``), if any."""
    row = con.execute(sql("catalog/previous_accepted"), [channel, exclude_run]).fetchone()
    return Snapshot(str(row[0]), int(row[1]), int(row[2]), row[3]) if row else None


def staged_frame(con: duckdb.DuckDBPyConnection, *, run_id: str, channel: str) -> pd.DataFrame:
    """One side's staged extract in the shape the catalog suite checks."""
    return con.execute(sql("catalog/staged_frame"), [run_id, channel]).df()


def staged_counts(
    con: duckdb.DuckDBPyConnection, *, run_id: str, channel: str
) -> tuple[int, int, datetime | None]:
    """(products, variants, extracted_at) of one side's staged extract."""
    row = con.execute(sql("catalog/staged_counts"), [run_id, channel]).fetchone()
    assert row is not None  # an aggregate always answers one row
    return int(row[0]), int(row[1]), row[2]


def check_staged(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    channels: Iterable[str],
    max_drop: float,
    max_bad_value_share: float = 0.0,
    incremental: Iterable[str] = (),
) -> dict[str, ChannelCheck]:
    """Run the catalog suite on each side's staged extract; nothing is written.

    A side in ``incremental`` holds a change set, not a catalog: its rows get the value
    checks, and instead of the size checks (not empty, not shrunk) the change set must not
    zero too much stock (:func:`tasks.incremental.zeroed_stock_check`).
    """
    changes_only = set(incremental)
    checks: dict[str, ChannelCheck] = {}
    for channel in channels:
        previous = previous_accepted(con, channel, exclude_run=run_id)
        frame = staged_frame(con, run_id=run_id, channel=channel)
        products, variants, _ = staged_counts(con, run_id=run_id, channel=channel)
        is_change_set = channel in changes_only
        result = check_catalog(
            frame,
            channel=channel,
            previous_variants=previous.variants if previous and not is_change_set else None,
            max_drop=max_drop,
            max_bad_value_share=max_bad_value_share,
        )
        if is_change_set:
            zeroed = zeroed_stock_check(con, run_id=run_id, channel=channel, max_share=max_drop)
            result = SuiteResult(
                result.suite,
                (*(o for o in result.outcomes if o.check != "catalog_not_collapsed"), zeroed),
            )
        checks[channel] = ChannelCheck(channel, products, variants, previous, result)
    return checks


def failure_message(checks: Mapping[str, ChannelCheck]) -> str:
    """The blocking failures of all sides as one line (empty when everything passed)."""
    return " | ".join(c.failure_text() for c in checks.values() if not c.passed)


def _record_snapshot(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    channel: str,
    accepted: bool,
    reason: str | None,
    merged: bool = False,
) -> None:
    products, variants, extracted_at = staged_counts(con, run_id=run_id, channel=channel)
    extracted_at = started_at(con, run_id, channel) or extracted_at
    if merged:  # an accepted change set: the snapshot is the merged catalog's size
        products, variants = catalog_counts(con, channel)
    con.execute(
        sql("catalog/record_snapshot"),
        [
            run_id,
            channel,
            products,
            variants,
            accepted,
            reason,
            extracted_at or datetime.now(UTC),
        ],
    )


def promote(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    channels: Iterable[str],
    incremental: Iterable[str] = (),
) -> dict[str, int]:
    """Make the run's staged extracts the accepted catalogs, all sides in one transaction.

    Per side: replace its ``catalog_variants``/``catalog_stock`` rows with the staged ones
    (a side in ``incremental``: merge them, replacing only the rows of the staged variant
    ids), record an accepted snapshot, clear the run's staged rows. Returns variants
    promoted (staged rows) per side.
    """
    changes_only = set(incremental)
    promoted: dict[str, int] = {}
    con.execute("BEGIN TRANSACTION")
    try:
        for channel in channels:
            merged = channel in changes_only
            if merged:
                con.execute(sql("incremental/merge_variants"), [run_id, channel])
                con.execute(sql("incremental/merge_stock"), [run_id, channel])
            else:
                _record_snapshot(con, run_id=run_id, channel=channel, accepted=True, reason=None)
                con.execute(sql("catalog/delete_catalog_variants"), [channel])
                con.execute(sql("catalog/delete_catalog_stock"), [channel])
            row = con.execute(sql("catalog/insert_catalog_variants"), [run_id, channel]).fetchone()
            promoted[channel] = int(row[0]) if row else 0
            con.execute(sql("catalog/insert_catalog_stock"), [run_id, channel])
            if merged:
                _record_snapshot(
                    con, run_id=run_id, channel=channel, accepted=True, reason=None, merged=True
                )
            con.execute(sql("catalog/clear_staged_run_variants"), [run_id, channel])
            con.execute(sql("catalog/clear_staged_run_stock"), [run_id, channel])
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    return promoted


def reject(
    con: duckdb.DuckDBPyConnection, *, run_id: str, checks: Mapping[str, ChannelCheck]
) -> None:
    """Record rejected snapshots: failing sides with their failures, passing sides as held back.

    The accepted catalogs are not touched. A side that passed is not promoted either,
    because the catalogs are only ever replaced together.
    """
    failed = [c.channel for c in checks.values() if not c.passed]
    con.execute("BEGIN TRANSACTION")
    try:
        for check in checks.values():
            reason = (
                check.failure_text()
                if not check.passed
                else f"held back: {', '.join(failed)} catalog failed its checks"
            )
            _record_snapshot(
                con, run_id=run_id, channel=check.channel, accepted=False, reason=reason
            )
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise


def catalog_counts(con: duckdb.DuckDBPyConnection, channel: str) -> tuple[int, int]:
    """(products, variants) of a channel's accepted catalog."""
    row = con.execute(sql("catalog/accepted_counts"), [channel]).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


# ----- mapping report views (artifacts of the catalog step) ---------------------------------


def unmapped_products(con: duckdb.DuckDBPyConnection, *, run_id: str) -> pd.DataFrame:
    """One row per unmapped TikTok product of the run's mapping report (set-based SQL).

    Columns: tiktok_product_id, title, reason (the product's: first of its SKUs' reasons
    in the order tasks/sql/mapping/classify.sql applies them), skus, sku_reasons,
    seller_skus (up to 10), suggestions.
    """
    return con.execute(sql("catalog/unmapped_products"), [run_id]).df()


def reason_summary(con: duckdb.DuckDBPyConnection, *, run_id: str) -> pd.DataFrame:
    """Counts per status/reason/method of the run's mapping report: products and SKUs."""
    return con.execute(sql("catalog/reason_summary"), [run_id]).df()
