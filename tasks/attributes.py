"""The TikTok attributes cache: sales attributes and barcodes kept in DuckDB.

Search Products has no sales attributes or barcodes, so the TikTok connector reads them
with Get Product, one call per multi-SKU product (Get Product,
https://partner.tiktokshop.com/docv2/page/6509d85b4a0bb702c057fdda). This module loads
what earlier extracts read (``tiktok_product_attributes``, keyed by product id and the
product's ``update_time``) into a :class:`connectors.tiktok.AttributeCache` before an
extract, and stores what the extract had to read anew afterwards, so an unchanged product
is never read again and a mapped product only when its SKUs change.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from connectors.attributes import AttributeCache
from tasks.warehouse import sql


def load_cache(con: duckdb.DuckDBPyConnection) -> AttributeCache:
    """The shop's cached attributes, mapped products marked as good enough when changed."""
    known = {
        str(pid): (int(update_time), json.loads(skus))
        for pid, update_time, skus in con.execute(sql("attributes/known")).fetchall()
    }
    mapped = {str(row[0]) for row in con.execute(sql("attributes/mapped_products")).fetchall()}
    return AttributeCache(known, keep=mapped)


def save_fetched(con: duckdb.DuckDBPyConnection, cache: AttributeCache, run_id: str) -> int:
    """Store the entries the extract read anew (one bulk upsert); returns how many."""
    if not cache.fetched:
        return 0
    now = datetime.now(UTC)
    ids = list(cache.fetched)
    frame = pa.table(
        {
            "product_id": pa.array(ids, pa.string()),
            "update_time": pa.array([cache.fetched[i][0] for i in ids], pa.int64()),
            "skus": pa.array([json.dumps(cache.fetched[i][1]) for i in ids], pa.string()),
            "fetched_at": pa.array([now] * len(ids), pa.timestamp("us", tz="UTC")),
            "run_id": pa.array([run_id] * len(ids), pa.string()),
        }
    )
    con.register("_attributes", frame)
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql("attributes/upsert"))
        con.execute("COMMIT")
    except Exception:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_attributes")
    return len(ids)
