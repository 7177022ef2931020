"""Incremental catalog extracts: which kind of extract each side gets, and their checks.

A side is read *incrementally* (only what changed since the start of its last accepted
extract, minus ``[shops.catalog] overlap_minutes``) when its connector can ask for changes
and a full extract was accepted within ``full_every_hours``; otherwise *fully*. An
incremental extract is merged into the accepted catalog (changed rows replaced, new rows
added, nothing removed); a full one replaces it, which is how deletions and anything an
incremental read missed are caught (the periodic full reconciliation, also
``skubridge sync --full`` and the ``reconcile-all`` deployment).

How each connector asks for changes (each marketplace's own filter):

- TikTok: Search Products ``update_time_ge``
  (https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369);
- Shopify: ``productVariants(query: "updated_at:>='...'")`` plus the inventory levels whose
  ``updated_at`` moved (https://shopify.dev/docs/api/usage/search-syntax);
- Amazon: the FBA SKUs whose inventory changed (``getInventorySummaries``
  ``startDateTime``, https://developer-docs.amazon.com/sp-api/docs/fba-inventory-api-v1-reference);
  a *stock-only* change set: the rest of each row comes from the accepted catalog
  (:func:`fill_stock_only`), and listing changes (price, MFN quantity, new SKUs) wait for
  the next full read of the listings report, i.e. the slower schedule.

The full catalog checks (not empty, not shrunk) say nothing about a change set, so an
incremental side gets its own: the change set must not zero the stock of more than
``max_catalog_drop`` of the accepted variants that have stock (a broken read that returns
every variant at 0 is held for review, never merged).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import duckdb

from expectations.runner import CheckOutcome
from skubridge.config import ShopConfig
from tasks.warehouse import sql

Kind = Literal["full", "incremental"]
INCREMENTAL_CHANNELS = frozenset({"tiktok", "shopify", "amazon"})
STOCK_ONLY_CHANNELS = frozenset({"amazon"})


@dataclass(frozen=True)
class ExtractKind:
    """How one side is read this run, and why."""

    channel: str
    kind: Kind
    since: datetime | None
    reason: str

    def iter_options(self) -> dict[str, Any]:
        """The connector's ``iter_catalog`` options for this kind."""
        return {"since": self.since} if self.kind == "incremental" else {}


def choose_kinds(
    con: duckdb.DuckDBPyConnection,
    shop: ShopConfig,
    channels: list[str],
    *,
    full: bool = False,
    now: datetime | None = None,
) -> dict[str, ExtractKind]:
    """The kind of extract of each side (see the module docstring for the rules)."""
    now = now or datetime.now(UTC)
    settings = shop.catalog
    kinds: dict[str, ExtractKind] = {}
    for channel in channels:
        last_any, last_full = con.execute(
            sql("incremental/last_accepted"), [channel]
        ).fetchone() or (
            None,
            None,
        )
        if full:
            reason = "full extract asked for"
        elif not settings.incremental:
            reason = "incremental extracts are off for this shop"
        elif channel not in INCREMENTAL_CHANNELS:
            reason = f"{channel} catalogs are always read in full"
        elif last_full is None or last_any is None:
            reason = "no accepted full extract yet"
        elif now - last_full >= timedelta(hours=settings.full_every_hours):
            reason = f"last full extract older than {settings.full_every_hours:g} h"
        else:
            since = last_any - timedelta(minutes=settings.overlap_minutes)
            kinds[channel] = ExtractKind(
                channel, "incremental", since, f"changes since {since.isoformat()}"
            )
            continue
        kinds[channel] = ExtractKind(channel, "full", None, reason)
    return kinds


def record_kinds(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    kinds: dict[str, ExtractKind],
    started_at: datetime,
) -> None:
    """Remember how each side of the run was read (the next run's ``since`` comes from it)."""
    for k in kinds.values():
        con.execute(
            sql("incremental/record_extract"),
            [run_id, k.channel, k.kind, k.since, started_at, k.reason],
        )


def fill_stock_only(
    con: duckdb.DuckDBPyConnection, run_id: str, kinds: dict[str, ExtractKind]
) -> None:
    """Complete the staged rows of stock-only change sets from the accepted catalog."""
    for k in kinds.values():
        if k.kind == "incremental" and k.channel in STOCK_ONLY_CHANNELS:
            for name in ("fill_stock_only", "drop_unknown_stock", "drop_unknown_variants"):
                con.execute(sql(f"incremental/{name}"), [run_id, k.channel])


def incremental_channels(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    """The sides of a run that were read incrementally."""
    rows = con.execute(sql("incremental/run_kinds"), [run_id]).fetchall()
    return {str(channel) for channel, kind, _ in rows if kind == "incremental"}


def started_at(con: duckdb.DuckDBPyConnection, run_id: str, channel: str) -> datetime | None:
    """When the run's extract of ``channel`` began (None for runs without a kind row)."""
    for ch, _, at in con.execute(sql("incremental/run_kinds"), [run_id]).fetchall():
        if ch == channel:
            return at
    return None


def zeroed_stock_check(
    con: duckdb.DuckDBPyConnection, *, run_id: str, channel: str, max_share: float
) -> CheckOutcome:
    """The incremental counterpart of the shrink check: how much stock the change set zeroes."""
    row = con.execute(sql("incremental/zeroed"), [run_id, channel]).fetchone()
    stocked, zeroed = (int(row[0]), int(row[1])) if row else (0, 0)
    share = zeroed / stocked if stocked else 0.0
    # However small the shop, three variants selling out between two reads are normal.
    passed = zeroed <= 3 or share <= max_share
    return CheckOutcome(
        check="change_set_not_zeroing_stock",
        passed=passed,
        blocking=True,
        observed=f"{zeroed} of {stocked} stocked variants set to 0",
        message=(
            f"an incremental change set zeroes at most {max_share:.0%} of the accepted "
            f"{channel} variants with stock (more is held for review; a full extract or "
            "`skubridge sync --full` reads the whole catalog)"
        ),
    )
