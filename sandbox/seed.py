"""Landing a sandbox fixture's catalogs and seller-SKU mappings in a shop's DuckDB.

What the catalog and mapping flows would leave behind for the fixture (accepted TikTok and
store catalogs, stock per warehouse/location, auto mappings by exact seller SKU), written
directly: push tests and the push benchmark start from a known warehouse without running
those flows.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pandas as pd

from sandbox.fixture import Fixture
from tasks.warehouse import insert_frame

SEED_RUN = "seed"


def seed_from_fixture(
    con: duckdb.DuckDBPyConnection, fixture: Fixture, store: str = "shopify"
) -> dict[str, int]:
    """Replace catalogs and mappings in ``con`` with ``fixture``'s, mapped by seller SKU.

    TikTok rows carry price, currency and stock per warehouse; Shopify rows stock per
    location, Amazon rows 'FBA' or 'MFN' stock. Returns row counts.
    """
    now = datetime.now(UTC)
    variants: list[dict[str, object]] = []
    stock: list[dict[str, object]] = []
    for p in fixture.tiktok.products:
        for s in p.skus:
            row = _variant("tiktok", p.id, s.id, s.seller_sku, s.price, s.currency)
            row["status"] = p.status
            variants.append(row)
            stock += [_stock("tiktok", s.id, w, q) for w, q in s.inventory.items()]
    store_ids: dict[str, tuple[str, str]] = {}
    if store == "shopify":
        for sp in fixture.shopify.products:
            for v in sp.variants:
                row = _variant("shopify", sp.id, v.id, v.sku, v.price, fixture.shopify.currency)
                row["tracked"], row["inventory_policy"] = v.tracked, v.inventory_policy
                variants.append(row)
                stock += [_stock("shopify", v.id, loc, q) for loc, q in v.inventory.items()]
                if v.sku:
                    store_ids[v.sku] = (str(sp.id), str(v.id))
    else:
        for listing in fixture.amazon.listings:
            row = _variant(
                "amazon", listing.asin, listing.sku, listing.sku, listing.price, listing.currency
            )
            row["fulfillment"] = listing.fulfillment
            variants.append(row)
            stock.append(_stock("amazon", listing.sku, listing.fulfillment, listing.quantity))
            store_ids[listing.sku] = (str(listing.asin), listing.sku)
    mappings = [
        {
            "tiktok_sku_id": s.id,
            "tiktok_product_id": p.id,
            "seller_sku": s.seller_sku,
            "store_product_id": store_ids[s.seller_sku][0],
            "store_variant_id": store_ids[s.seller_sku][1],
            "method": "auto",
            "mapped_at": now,
            "run_id": SEED_RUN,
        }
        for p in fixture.tiktok.products
        for s in p.skus
        if s.seller_sku and s.seller_sku in store_ids
    ]
    con.execute("DELETE FROM catalog_variants")
    con.execute("DELETE FROM catalog_stock")
    con.execute("DELETE FROM mappings")
    frames = {
        "catalog_variants": pd.DataFrame(variants).assign(run_id=SEED_RUN, extracted_at=now),
        "catalog_stock": pd.DataFrame(
            stock, columns=["channel", "variant_id", "location_id", "quantity"]
        ).assign(run_id=SEED_RUN),
        "mappings": pd.DataFrame(mappings),
    }
    return {table: insert_frame(con, table, frame) for table, frame in frames.items()}


def _variant(
    channel: str,
    product_id: object,
    variant_id: object,
    sku: str | None,
    price: Decimal,
    currency: str,
) -> dict[str, object]:
    return {
        "channel": channel,
        "product_id": str(product_id),
        "variant_id": str(variant_id),
        "seller_sku": sku,
        "title": "Product",
        "price": price,
        "currency": currency,
        "fulfillment": None,
        "status": None,
        "tracked": None,
        "inventory_policy": None,
    }


def _stock(channel: str, variant_id: object, location: str, quantity: int) -> dict[str, object]:
    return {
        "channel": channel,
        "variant_id": str(variant_id),
        "location_id": location,
        "quantity": int(quantity),
    }
