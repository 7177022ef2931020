"""Benchmark of the order relay against the store emulators at their documented limits.

``python -m bench.relay_bench [--seconds 60] [--store shopify|amazon|both]``: generates
enough AWAITING_SHIPMENT TikTok orders of mapped products for about ``seconds`` of work at
the store's documented order-creation limit, relays them once, and reports the achieved
rate as a share of what the limit allows in the same time (goal >= 90%):

- Shopify ``orderCreate``: cost-based bucket, 2000 points, 100 points/s restore
  (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits); the mutation costs 10
  points, so 200 orders at once then 10/s;
- Amazon ``createFulfillmentOrder``: 2 requests/s, burst 30
  (https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-rate-limits).

The emulators enforce those limits (throttle on, scale 1) and the clients pace
themselves at the same documented rates. Never part of ``make test``.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd

from sandbox.fixture import Fixture
from sandbox.stack import SandboxStack, sandbox_stack
from skubridge.config import ShopConfig, load_shops
from tasks.steps.orders import run_orders
from tasks.warehouse import insert_frame, open_shop

SKU_COUNT = 20
LIMITS = {
    # store: (burst in orders, sustained orders per second)
    "shopify": (2000 / 10, 100 / 10),
    "amazon": (30.0, 2.0),
}


@dataclass
class BenchResult:
    store: str
    orders: int
    relayed: int
    seconds: float
    allowed: float  # orders the limit allows in `seconds` (burst + rate * seconds)

    @property
    def share(self) -> float:
        return self.relayed / self.allowed if self.allowed else 0.0

    @property
    def sustained(self) -> float:
        burst, _ = LIMITS[self.store]
        return max(0.0, self.relayed - burst) / self.seconds if self.seconds else 0.0


def _fixture() -> Fixture:
    skus = [f"BENCH-{n:03d}" for n in range(SKU_COUNT)]
    return Fixture.model_validate(
        {
            "tiktok": {
                "products": [
                    {"id": f"{2000 + n}", "title": f"P{n}", "skus": [{"seller_sku": s}]}
                    for n, s in enumerate(skus)
                ]
            },
            "shopify": {
                "products": [
                    {"title": f"P{n}", "variants": [{"sku": s, "inventory": {}}]}
                    for n, s in enumerate(skus)
                ]
            },
            "amazon": {
                "listings": [{"sku": s, "fulfillment": "FBA", "quantity": 10**6} for s in skus]
            },
        }
    )


@contextmanager
def mapped_bench_shop(store: str, prefix: str) -> Iterator[tuple[SandboxStack, ShopConfig]]:
    """The emulators serving the bench catalog and shop ``bench`` on ``store``, every SKU
    mapped a day ago, data and reports in a temporary folder (``prefix``)."""
    fixture = _fixture()
    with tempfile.TemporaryDirectory(prefix=prefix) as tmp, sandbox_stack(fixture) as stack:
        os.environ.update(stack.env())
        os.environ["SKUBRIDGE_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["SKUBRIDGE_REPORTS_DIR"] = str(Path(tmp) / "reports")
        path = stack.write_shops_file(Path(tmp) / "shops.toml", [("bench", store)])
        shop = load_shops(path).get("bench")
        _map(shop.id, store, fixture)
        yield stack, shop


def _map(shop_id: str, store: str, fixture: Fixture) -> None:
    """Mapping rows (and store catalog rows) for every SKU, mapped a day ago."""
    when = datetime.now(UTC) - timedelta(days=1)
    mappings, catalog = [], []
    for n, product in enumerate(fixture.tiktok.products):
        sku = product.skus[0]
        if store == "shopify":
            variant = fixture.shopify.products[n].variants[0].id
            store_product = fixture.shopify.products[n].id
        else:
            variant = store_product = str(sku.seller_sku)
        mappings.append(
            {
                "tiktok_sku_id": sku.id,
                "tiktok_product_id": product.id,
                "seller_sku": sku.seller_sku,
                "store_product_id": store_product,
                "store_variant_id": variant,
                "method": "auto",
                "mapped_at": when,
            }
        )
        catalog.append(
            {
                "run_id": "bench",
                "channel": store,
                "product_id": store_product,
                "variant_id": variant,
                "seller_sku": sku.seller_sku,
                "fulfillment": "FBA" if store == "amazon" else None,
                "extracted_at": datetime.now(UTC),
            }
        )
    with open_shop(shop_id) as con:
        insert_frame(con, "mappings", pd.DataFrame(mappings))
        insert_frame(con, "catalog_variants", pd.DataFrame(catalog))


def bench_store(store: str, seconds: float, concurrency: int | None = None) -> BenchResult:
    """Relay about ``seconds`` worth of orders to one store at its documented limit."""
    burst, rate = LIMITS[store]
    orders = int(burst + rate * seconds)
    with mapped_bench_shop(store, "relay-bench-") as (stack, shop):
        for start in range(0, orders, 500):
            count = min(500, orders - start)
            stack.admin(
                "tiktok",
                "POST",
                "orders",
                json={"generate": count, "seed": start, "max_lines": 2, "max_quantity": 2},
            )

        began = time.perf_counter()
        outcome = run_orders(shop, run_id="bench", concurrency=concurrency)
        took = time.perf_counter() - began
        relayed = outcome.counts().get("RELAYED", 0)
    return BenchResult(store, orders, relayed, took, burst + rate * took)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--store", choices=["shopify", "amazon", "both"], default="both")
    parser.add_argument("--concurrency", type=int, default=None, help="default: per store")
    args = parser.parse_args()
    stores = ["shopify", "amazon"] if args.store == "both" else [args.store]
    print(
        f"machine: {platform.platform()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
    )
    print("| store | limit | orders | relayed | seconds | allowed then | share | sustained/s |")
    print("|---|---|---|---|---|---|---|---|")
    for store in stores:
        r = bench_store(store, args.seconds, args.concurrency)
        burst, rate = LIMITS[store]
        print(
            f"| {store} | burst {burst:.0f} + {rate:g}/s | {r.orders} | {r.relayed} | "
            f"{r.seconds:.1f} | {r.allowed:.0f} | {r.share:.0%} | {r.sustained:.2f} |"
        )


if __name__ == "__main__":
    main()
