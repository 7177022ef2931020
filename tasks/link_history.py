"""Link history: when each TikTok SKU was linked to a store variant (``link_history``).

``mappings`` holds only the current link, and its ``mapped_at`` starts again whenever a
SKU is relinked (the store product was re-created with new ids, a manual/CSV link was
corrected). The relay needs more: an order is historical (``BEFORE_MAPPING``) only if one
of its SKUs had *no link at all* when the order was placed. So every SKU keeps spans:
opened when it first gets a link, continued through relinks, ended when it loses its link
(unmap, a dropped link not replaced), and a new span when it is linked again.

:func:`record_links` brings the history in line with ``mappings``; it is called right
after every change of links (auto-map, unmap) and at the start of every relay run, so a
link made any other way is picked up before an order is judged.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb

from tasks.warehouse import sql


@dataclass(frozen=True, slots=True)
class Span:
    """One unbroken time a SKU was linked (``until`` None: linked now)."""

    since: datetime
    until: datetime | None = None

    def covers(self, when: datetime) -> bool:
        return self.since <= when and (self.until is None or when < self.until)


def record_links(con: duckdb.DuckDBPyConnection, now: datetime | None = None) -> None:
    """Open spans for new links and close the spans of SKUs that have no link any more."""
    con.execute("SET VARIABLE links_now = ?", [now or datetime.now(UTC)])
    con.execute(sql("links/sync"))


def link_spans(con: duckdb.DuckDBPyConnection) -> dict[str, tuple[Span, ...]]:
    """Every TikTok SKU id -> its link spans, oldest first."""
    spans: dict[str, list[Span]] = {}
    for sku_id, since, until in con.execute(sql("links/spans")).fetchall():
        spans.setdefault(str(sku_id), []).append(Span(since, until))
    return {k: tuple(v) for k, v in spans.items()}


def linked_when(spans: Iterable[Span], when: datetime) -> bool:
    """Whether any of ``spans`` covers the time ``when``."""
    return any(s.covers(when) for s in spans)
