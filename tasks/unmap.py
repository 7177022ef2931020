"""Unmap by hand: remove the links of one TikTok product or one TikTok SKU.

``skubridge unmap`` and the ``map-product`` deployment (``unmap: true``) call
:func:`unmap_by_hand`. It writes nothing to any marketplace: the links are deleted from
``mappings`` (each a ``dropped`` row in ``mapping_events`` with reason
``UNMAPPED_BY_HAND``), the SKUs' link history gets a gap (:mod:`tasks.link_history`, so
orders placed while unmapped are historical), and the SKUs are remembered in
``hand_unmapped`` so the next auto-map does not link them again by SKU (mapping report
reason ``UNMAPPED_BY_HAND``) until a person maps them (``skubridge map`` or a CSV). An
unmapped SKU is in no push plan, so its TikTok price and stock are left as they are.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pandas as pd

from tasks.link_history import record_links
from tasks.warehouse import sql


class UnmapError(Exception):
    """Nothing to unmap, or the request names neither or both of product and SKU."""


@dataclass
class UnmapResult:
    """The links an unmap removes (or would remove, on a dry run)."""

    links: list[tuple[str, str, str, str]]  # (tiktok_product_id, tiktok_sku_id, variant, method)
    applied: bool
    run_id: str
    notes: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        verb = "Unmapped" if self.applied else "Would unmap"
        out = [f"{verb} {len(self.links)} link(s):"]
        out += [
            f"  TikTok product {p} SKU {s} -x- store variant {v} ({m})" for p, s, v, m in self.links
        ]
        out += self.notes
        if self.applied:
            out.append(
                "These SKUs are no longer pushed, and auto-map leaves them unmapped until you "
                "map them with `skubridge map`."
            )
        else:
            out.append("Dry run: nothing was changed.")
        return out


def plan_unmap(
    con: duckdb.DuckDBPyConnection,
    *,
    tiktok_product_id: str | None = None,
    tiktok_sku_id: str | None = None,
) -> list[tuple[str, str, str, str]]:
    """The current links of the product or SKU; UnmapError when there are none."""
    if (tiktok_product_id is None) == (tiktok_sku_id is None):
        raise UnmapError("give exactly one of --tiktok-product or --tiktok-sku")
    column, value = (
        ("tiktok_product_id", tiktok_product_id)
        if tiktok_product_id is not None
        else ("tiktok_sku_id", tiktok_sku_id)
    )
    rows = con.execute(
        "SELECT tiktok_product_id, tiktok_sku_id, store_variant_id, method FROM mappings"
        f" WHERE {column} = ? ORDER BY tiktok_sku_id",
        [value],
    ).fetchall()
    if not rows:
        what = "product" if tiktok_product_id is not None else "SKU"
        raise UnmapError(
            f"TikTok {what} {value!r} has no link (see the mapping report: "
            "`skubridge report --shop SHOP --kind mapping`)"
        )
    return [(str(a), str(b), str(c), str(d)) for a, b, c, d in rows]


def apply_unmap(
    con: duckdb.DuckDBPyConnection,
    links: list[tuple[str, str, str, str]],
    *,
    run_id: str,
    now: datetime | None = None,
) -> None:
    """Remove ``links`` in one transaction: events, mappings, hand_unmapped, link history."""
    when = now or datetime.now(UTC)
    frame = pd.DataFrame(
        links, columns=["tiktok_product_id", "tiktok_sku_id", "store_variant_id", "method"]
    )
    con.execute("SET VARIABLE unmap_now = ?", [when])
    con.execute("SET VARIABLE unmap_run_id = ?", [run_id])
    con.register("unmap_frame", frame)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE unmap_links AS SELECT * FROM unmap_frame")
        con.execute(sql("links/unmap"))
        record_links(con, when)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("unmap_frame")
        con.execute("DROP TABLE IF EXISTS temp.unmap_links")


def unmap_by_hand(
    shop: Any,
    *,
    tiktok_product_id: str | None = None,
    tiktok_sku_id: str | None = None,
    dry_run: bool = False,
    run_id: str | None = None,
) -> UnmapResult:
    """Plan and (unless ``dry_run``) apply an unmap for ``shop`` (a ShopConfig)."""
    from tasks.runs import current_run_id, finish_run, start_run
    from tasks.warehouse import open_shop

    run_id = run_id or current_run_id()
    with open_shop(shop.id) as con:
        links = plan_unmap(con, tiktok_product_id=tiktok_product_id, tiktok_sku_id=tiktok_sku_id)
        if dry_run:
            return UnmapResult(links, applied=False, run_id=run_id)
        start_run(con, run_id=run_id, flow="unmap", shop_id=shop.id)
        apply_unmap(con, links, run_id=run_id)
        finish_run(
            con,
            run_id=run_id,
            status="COMPLETED",
            summary={"unmapped": [s for _, s, _, _ in links]},
        )
    return UnmapResult(links, applied=True, run_id=run_id)
