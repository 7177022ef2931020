"""Auto-map: link TikTok products to store products by exact seller SKU, in DuckDB SQL.

The work is set-based SQL over the accepted catalogs in ``catalog_variants`` (the
``tasks/sql/mapping/*.sql`` files: prepare, stale_fixed_links, classify, apply); no Python
loop touches a row. ``catalog_variants`` is taken to hold the current accepted catalog of
each channel (the catalog step replaces a channel's rows when it promotes an extract).

Matching rule (docs/reports.md): seller SKUs compare byte for byte; a SKU that is NULL, empty or
whitespace only is missing. A TikTok product maps to one store product when its SKUs are exactly
that store product's SKUs: every SKU found in that one product, none ambiguous, the variant counts
equal, and the store product not held by another TikTok product.

Reasons (docs/reports.md table, first that applies in table order): a product's reason is the first
of MISSING_SKU, DUPLICATE_TIKTOK_SKU, SKU_NOT_FOUND, DUPLICATE_STORE_SKU, SPLIT_ACROSS_PRODUCTS,
VARIANT_COUNT_MISMATCH, STORE_PRODUCT_TAKEN that applies. A SKU that has its own SKU-level reason
(the first four) carries it; the other SKUs of the unmapped product carry the product's reason.

Amazon: the variant family is the parent ASIN (``parent_id``). A TikTok product maps to
one family when the set/count rules hold against it. When all of its SKUs match standalone
listings (no parent), the TikTok product itself defines the family: it maps when every SKU
matches exactly one standalone listing (SPLIT_ACROSS_PRODUCTS and VARIANT_COUNT_MISMATCH do
not apply among standalone listings; parented and standalone mixed is SPLIT). The report's
store_product_id is the parent ASIN, or for a standalone listing the listing's product_id;
STORE_PRODUCT_TAKEN is then judged per listing.

STORE_PRODUCT_TAKEN: the store product (or, for standalone Amazon listings, the listing)
is held by a manual/csv link of another TikTok product. When two TikTok products compete
for one store product in the same run (impossible while SKUs are unique on both sides, so
a guard), the product already auto-linked to it wins, else the lowest TikTok product id
(string order).

Persistence: ``mappings`` persists across runs; ``mapped_at`` is the first time a link was
made. Auto-map never undoes a manual or csv link, and never drops one because the auto
rules would not have made it. A manual/csv link is dropped only when its TikTok SKU
vanished (TIKTOK_SKU_GONE), its store variant vanished (STORE_VARIANT_GONE) or the store
variant's SKU is no longer the one recorded with the link (SKU_CHANGED; the recorded value
is ``mappings.store_sku``; a TikTok-side SKU edit does not break a hand-made pairing).
Auto links are re-derived every run and kept while the rules still make the same link; a
dropped auto link gets TIKTOK_SKU_GONE, STORE_VARIANT_GONE, SKU_CHANGED (either side),
REPLACED_BY_MANUAL/CSV, RELINKED, or the reason code the product now fails with. Each
drop and each new link is one ``mapping_events`` row; an unchanged rerun writes none.
A product that holds manual/csv links is not auto-mapped; its SKUs without a link show
their own SKU-level reason, else VARIANT_COUNT_MISMATCH.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from tasks.link_history import record_links
from tasks.warehouse import sql

REPORT_COLUMNS = [
    "tiktok_product_id",
    "tiktok_sku_id",
    "seller_sku",
    "status",
    "reason",
    "method",
    "store_product_id",
    "store_variant_id",
    "suggestion",
    # added later, at the end (docs/reports.md)
    "tiktok_title",
    "tiktok_options",
    "store_title",
    "store_options",
    "suggested_store_variant_id",
    "suggested_store_sku",
    "suggestion_basis",
]

REASONS = (
    "MISSING_SKU",
    "DUPLICATE_TIKTOK_SKU",
    "SKU_NOT_FOUND",
    "DUPLICATE_STORE_SKU",
    "SPLIT_ACROSS_PRODUCTS",
    "VARIANT_COUNT_MISMATCH",
    "STORE_PRODUCT_TAKEN",
    "UNMAPPED_BY_HAND",
)
"""Unmapped reason codes in precedence order (docs/reports.md); ``UNMAPPED_BY_HAND``: a
person unmapped the SKU (tasks/unmap.py), auto-map leaves it alone."""

STORE_CHANNELS = ("shopify", "amazon")
# The steps are mapping/prepare, stale_fixed_links, classify, apply; classify is a query,
# stored by auto_map (_CREATE_RESULT) and only counted by classify() (_COUNT_RESULT).
_CREATE_RESULT = "CREATE OR REPLACE TEMP TABLE map_result AS\n{query}"
# The outcome's counts: the few distinct (method, reason, product columns) combinations.
_COUNT_RESULT = (
    "SELECT method, reason, product_reason, product_head, product_mapped, count(*)"
    " FROM ({query}) GROUP BY ALL"
)


@dataclass(frozen=True)
class DroppedLink:
    """A link removed by this run and why."""

    tiktok_sku_id: str
    tiktok_product_id: str | None
    store_variant_id: str | None
    method: str
    reason: str


@dataclass
class MapOutcome:
    """What one auto-map run found and changed."""

    run_id: str
    store_channel: str
    tiktok_skus: int = 0
    tiktok_products: int = 0
    mapped_skus: int = 0
    mapped_products: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    by_reason: dict[str, int] = field(default_factory=dict)
    products_by_reason: dict[str, int] = field(default_factory=dict)
    linked: int = 0
    dropped: list[DroppedLink] = field(default_factory=list)

    @property
    def unmapped_skus(self) -> int:
        return self.tiktok_skus - self.mapped_skus

    def summary(self, max_dropped: int = 20) -> dict[str, Any]:
        """A JSON-able summary for the run record and the flow's markdown artifact."""
        return {
            "tiktok_skus": self.tiktok_skus,
            "tiktok_products": self.tiktok_products,
            "mapped_skus": self.mapped_skus,
            "unmapped_skus": self.unmapped_skus,
            "mapped_products": self.mapped_products,
            "by_method": dict(self.by_method),
            "unmapped_by_reason": dict(self.by_reason),
            "unmapped_products_by_reason": dict(self.products_by_reason),
            "linked": self.linked,
            "dropped": len(self.dropped),
            "dropped_by_reason": dict(Counter(d.reason for d in self.dropped)),
            "dropped_links": [d.__dict__ for d in self.dropped[:max_dropped]],
        }


def _set_vars(con: duckdb.DuckDBPyConnection, **values: Any) -> None:
    for name, value in values.items():
        con.execute(f"SET VARIABLE {name} = ?", [value])


def auto_map(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    store_channel: str,
    now: datetime | None = None,
) -> MapOutcome:
    """Classify every TikTok SKU and bring ``mappings`` in line (see the module docstring).

    One transaction: links dropped and made, a ``mapping_events`` row for each, the SKUs'
    link history (:mod:`tasks.link_history`), and the reason of every unmapped SKU in
    ``mapping_state`` (read by :func:`build_mapping_report`).
    """
    if store_channel not in STORE_CHANNELS:
        raise ValueError(f"store_channel must be one of {STORE_CHANNELS}, not {store_channel!r}")
    when = now or datetime.now(UTC)
    _set_vars(con, map_store_channel=store_channel, map_run_id=run_id, map_now=when)
    # Row order inside the working tables carries no meaning (the report sorts), and not
    # keeping it lets DuckDB build them in parallel without a reorder step.
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql("mapping/prepare"))
        con.execute(sql("mapping/stale_fixed_links"))
        con.execute(_CREATE_RESULT.format(query=sql("mapping/classify")))
        con.execute(sql("mapping/hand_unmapped"))
        con.execute(sql("mapping/apply"))
        record_links(con, when)
        counts = con.execute(_COUNT_RESULT.format(query="SELECT * FROM map_result")).fetchall()
        outcome = _outcome(con, run_id, store_channel, counts)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        _drop_temps(con)
        con.execute("RESET preserve_insertion_order")
    return outcome


def classify(
    con: duckdb.DuckDBPyConnection, *, store_channel: str, run_id: str = "preview"
) -> MapOutcome:
    """What :func:`auto_map` would find, without changing anything (rolled back).

    The pure map stage (normalise, join, classify); ``linked``/``dropped`` stay empty.
    The per-SKU states are only counted, never stored.
    """
    if store_channel not in STORE_CHANNELS:
        raise ValueError(f"store_channel must be one of {STORE_CHANNELS}, not {store_channel!r}")
    _set_vars(con, map_store_channel=store_channel, map_run_id=run_id, map_now=datetime.now(UTC))
    con.execute("SET preserve_insertion_order = false")
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql("mapping/prepare"))
        con.execute(sql("mapping/stale_fixed_links"))
        counts = con.execute(_COUNT_RESULT.format(query=sql("mapping/classify"))).fetchall()
        return _outcome(con, run_id, store_channel, counts, applied=False)
    finally:
        con.execute("ROLLBACK")
        _drop_temps(con)
        con.execute("RESET preserve_insertion_order")


def _drop_temps(con: duckdb.DuckDBPyConnection) -> None:
    for name in ("map_tiktok", "map_store"):
        con.execute(f"DROP VIEW IF EXISTS temp.{name}")
    for name in ("map_dropped", "map_fixed", "map_result", "map_auto_diff"):
        con.execute(f"DROP TABLE IF EXISTS temp.{name}")


def _outcome(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    store_channel: str,
    counts: list[Any],
    *,
    applied: bool = True,
) -> MapOutcome:
    """The run outcome from the _COUNT_RESULT rows (product_head marks one row per TikTok
    product) and, when ``applied``, the links made and dropped."""
    out = MapOutcome(run_id=run_id, store_channel=store_channel)
    by_method: Counter[str] = Counter()
    by_reason: Counter[str] = Counter()
    products_by_reason: Counter[str] = Counter()
    for method, reason, product_reason, head, mapped, n in counts:
        out.tiktok_skus += n
        if method is not None:
            out.mapped_skus += n
            by_method[method] += n
        if reason is not None:
            by_reason[reason] += n
        if head:
            out.tiktok_products += n
            out.mapped_products += n if mapped else 0
            if product_reason is not None:
                products_by_reason[product_reason] += n
    out.by_method = dict(by_method)
    out.by_reason = dict(by_reason)
    out.products_by_reason = dict(products_by_reason)
    if not applied:
        return out
    out.linked = int(
        con.execute("SELECT count(*) FROM map_auto_diff WHERE old_sku_id IS NULL").fetchone()[0]  # type: ignore[index]
    )
    out.dropped = [
        DroppedLink(*r)
        for r in con.execute(
            "SELECT tiktok_sku_id, tiktok_product_id, store_variant_id, method, reason"
            " FROM map_dropped ORDER BY tiktok_product_id, tiktok_sku_id"
        ).fetchall()
    ]
    return out


SUGGESTION_COLUMNS = [
    "suggestion",
    "suggested_store_variant_id",
    "suggested_store_sku",
    "suggestion_basis",
]
"""The suggestion as text and as columns. ``suggestion_basis``: ``same_sku`` (the store
variant with exactly this SKU, named on product-level failures) or a basis of
:mod:`tasks.suggest` (``same_sku_normalised``, ``same_barcode``, ``similar_title_options``,
``duplicate_store_sku``)."""


def _suggested_store_side(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, store_channel: str
) -> None:
    """On unmapped rows with a suggested variant, the store title/options are that
    variant's, so the suggestion can be judged from the row alone."""
    ids = frame["suggested_store_variant_id"].dropna().unique().tolist()
    if not ids:
        return
    side = con.execute(sql("mapping/store_side"), [store_channel, ids]).df()
    side = side.set_index("variant_id")
    target = frame["suggested_store_variant_id"]
    rows = target.notna() & (frame["status"] == "unmapped")
    for column in ("store_title", "store_options"):
        frame[column] = frame[column].astype(object)
        frame.loc[rows, column] = target[rows].map(side[column]).astype(object)


def build_mapping_report(
    con: duckdb.DuckDBPyConnection,
    *,
    run_id: str,
    store_channel: str,
    suggestions: bool = True,
) -> pd.DataFrame:
    """The mapping report (docs/reports.md columns exactly), one row per TikTok SKU.

    Reads the classification of the latest :func:`auto_map` and the current links; with
    ``suggestions`` the failed SKUs get a hint from :mod:`tasks.suggest` (never applied).
    ``run_id`` names the run the report belongs to (publish_report stores it).
    """
    del run_id  # the report rows carry no run id; publish_report adds it
    # Through Arrow: DuckDB's .df() builds Python strings for 1M rows and then converts
    # them to pandas' Arrow-backed str dtype; Arrow's to_pandas() gives the same frame
    # (same dtypes, NaN for missing) without that detour, about 3x faster at 1M rows.
    frame = (
        con.sql(sql("mapping/report"), params={"store_channel": store_channel})
        .to_arrow_table()
        .to_pandas()
    )
    for column in SUGGESTION_COLUMNS:
        frame[column] = np.full(len(frame), None, dtype=object)
    if suggestions and len(frame):
        from tasks.suggest import suggest_frame

        hints = suggest_frame(con, store_channel=store_channel)
        if len(hints):
            keep = frame["status"] == "unmapped"
            for column in SUGGESTION_COLUMNS:
                hinted = frame["tiktok_sku_id"].map(hints[column]).astype(object)
                hinted[~keep | hinted.isna()] = None
                frame[column] = hinted
    # A product-level failure (split, count mismatch, taken) still names the store variant
    # carrying exactly this SKU: in the suggestion columns, never in the store ids.
    same = frame["same_sku_variant_id"].notna() & frame["suggested_store_variant_id"].isna()
    if same.any():
        frame.loc[same, "suggested_store_variant_id"] = frame.loc[same, "same_sku_variant_id"]
        frame.loc[same, "suggested_store_sku"] = frame.loc[same, "seller_sku"]
        frame.loc[same, "suggestion_basis"] = "same_sku"
    _suggested_store_side(con, frame, store_channel)
    # Missing values are pandas' own (NaN in string columns; None in the suggestion ones):
    # converting 1M rows to Python objects would cost more than the whole classification.
    return frame[REPORT_COLUMNS]
