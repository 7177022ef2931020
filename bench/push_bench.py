"""Benchmark of the price and stock push against the TikTok emulator.

``python -m bench.push_bench [--products 2000] [--skus 2] [--runs 3] [--latency-ms 100]``:
a shop of N products (``--skus`` SKUs each) where every SKU's price and stock changed,
pushed to the TikTok emulator with its documented rate limit on (50 QPS per API per app x
shop, https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0) and ``latency_ms``
added to every call (``FaultConfig``). It reports the achieved write rate per API as a share of
that limit (goal >= 90%) and the write calls per changed SKU; the median over ``--runs`` runs.
``--write-docs`` puts the figures into the "Push" section of docs/BENCHMARKS.md.

The timed part is the write phase (:func:`tasks.load.push_writes` through the real
connector and its rate limiter, ledger flushes included); the plan is built first from a
seeded DuckDB (:func:`sandbox.seed.seed_from_fixture`).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from bench.docs import write_section
from connectors.factory import tiktok_client
from connectors.tiktok import DEFAULT_QPS
from sandbox.fixture import DEFAULT_LOCATION, DEFAULT_WAREHOUSE, Fixture, load_fixture
from sandbox.seed import seed_from_fixture
from sandbox.stack import SandboxStack, sandbox_stack
from skubridge.config import load_shops
from tasks.load import DEFAULT_CONCURRENCY, push_writes, record_outcomes, record_pending
from tasks.plan import build_plan
from tasks.warehouse import connect

SHOP = "bench"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
SECTION = "## Push"


@dataclass(frozen=True)
class RunFigures:
    seconds: float
    inventory_calls: int
    price_calls: int
    changed_skus: int
    rejected: int
    throttled: int

    @property
    def inventory_share(self) -> float:
        return self.inventory_calls / self.seconds / DEFAULT_QPS

    @property
    def price_share(self) -> float:
        return self.price_calls / self.seconds / DEFAULT_QPS

    @property
    def calls_per_changed_sku(self) -> float:
        return (self.inventory_calls + self.price_calls) / self.changed_skus


def bench_fixture(products: int, skus: int) -> Fixture:
    """``products`` x ``skus`` TikTok SKUs at 10.00 / 5 units; the store says 12.00 / 8."""
    tiktok, store = [], []
    for i in range(products):
        tiktok.append(
            {
                "skus": [
                    {
                        "seller_sku": f"B{i}-{j}",
                        "price": "10.00",
                        "inventory": {DEFAULT_WAREHOUSE: 5},
                    }
                    for j in range(skus)
                ]
            }
        )
        store.append(
            {
                "variants": [
                    {"sku": f"B{i}-{j}", "price": "12.00", "inventory": {DEFAULT_LOCATION: 8}}
                    for j in range(skus)
                ]
            }
        )
    return load_fixture({"tiktok": {"products": tiktok}, "shopify": {"products": store}})


async def one_run(
    stack: SandboxStack, fixture: Fixture, folder: Path, index: int, concurrency: int
) -> RunFigures:
    """Reset emulator and warehouse, plan, then time the write phase."""
    stack.emulator("tiktok").load(fixture)
    shop = load_shops().get(SHOP)
    db = folder / f"run{index}.duckdb"
    con = connect(db)
    run_id = f"bench-{index}"
    try:
        seed_from_fixture(con, fixture)
        plan = build_plan(con, shop, DEFAULT_WAREHOUSE)
        writes = plan.writes("inventory") + plan.writes("price")
        record_pending(con, run_id, writes, DEFAULT_WAREHOUSE)
        stack.admin("tiktok", "DELETE", "requests")
        throttled_before = stack.admin("tiktok", "GET", "throttle")["rejected"]
        buffer = []

        async def progress(outcomes: list, done: int, total: int) -> None:
            buffer.extend(outcomes)
            if len(buffer) >= 400 or done == total:
                record_outcomes(con, run_id, buffer)
                buffer.clear()

        api = tiktok_client(shop, max_concurrency=2 * concurrency)
        try:
            await api.warehouses()  # token and cipher ready before the clock starts
            started = time.perf_counter()
            outcomes = await push_writes(api, writes, concurrency=concurrency, on_progress=progress)
            seconds = time.perf_counter() - started
        finally:
            await api.aclose()
    finally:
        con.close()
    counts = stack.admin("tiktok", "GET", "requests")
    throttled = stack.admin("tiktok", "GET", "throttle")["rejected"] - throttled_before
    return RunFigures(
        seconds=seconds,
        inventory_calls=counts.get("product.update_inventory", 0),
        price_calls=counts.get("product.update_price", 0),
        changed_skus=plan.mapped,
        rejected=sum(1 for o in outcomes if o.status != "UPDATED"),
        throttled=throttled,
    )


def run_benchmark(
    products: int, skus: int, runs: int, latency_ms: float, concurrency: int
) -> list[RunFigures]:
    """Serve the sandbox with latency and the documented throttle; do ``runs`` pushes."""
    with tempfile.TemporaryDirectory(prefix="skubridge-push-bench-") as tmp:
        folder = Path(tmp)
        fixture = bench_fixture(products, skus)
        with sandbox_stack(fixture, throttle=True, rate_scale=1.0) as stack:
            os.environ.update(stack.env())
            shops = stack.write_shops_file(folder / "shops.toml", [(SHOP, "shopify")])
            os.environ["SKUBRIDGE_SHOPS_FILE"] = str(shops)
            stack.admin("tiktok", "PUT", "faults", json={"latency_ms": latency_ms})
            results = []
            for index in range(runs):
                figures = asyncio.run(one_run(stack, fixture, folder, index, concurrency))
                results.append(figures)
                print(
                    f"run {index + 1}: {figures.seconds:.1f} s, inventory "
                    f"{figures.inventory_share:.1%} / price {figures.price_share:.1%} of "
                    f"{DEFAULT_QPS:g} QPS, {figures.calls_per_changed_sku:.2f} calls per changed "
                    f"SKU, {figures.rejected} not updated, {figures.throttled} answered 429",
                    flush=True,
                )
    return results


def markdown(results: list[RunFigures], args: argparse.Namespace) -> str:
    """The "Push" section of docs/BENCHMARKS.md."""
    med = statistics.median
    inv = med(r.inventory_share for r in results)
    price = med(r.price_share for r in results)
    secs = med(r.seconds for r in results)
    calls = med(r.calls_per_changed_sku for r in results)
    r0 = results[0]
    runs = "; ".join(
        f"{r.seconds:.1f} s ({r.inventory_share:.1%} / {r.price_share:.1%})" for r in results
    )
    return f"""{SECTION}

Price and stock push to the TikTok emulator (`bench/push_bench.py`).

- Command: `python -m bench.push_bench --products {args.products} --skus {args.skus} --runs \
{args.runs} --latency-ms {args.latency_ms:g} --concurrency {args.concurrency} --write-docs`
- Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs \
(shared with other work while measured).
- Setup: {args.products} products x {args.skus} SKUs, every SKU's price and stock changed;
  emulator throttle on at TikTok's documented {DEFAULT_QPS:g} QPS per API
  (https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0);
  {args.latency_ms:g} ms added to every call; {args.concurrency} calls in flight per
  API; the client's own limiter paces at the same {DEFAULT_QPS:g} QPS (burst 10).
- Timed: the write phase (`tasks.load.push_writes`, ledger flushes included), median of
  {len(results)} runs.

| figure | median |
| --- | --- |
| write phase | {secs:.1f} s for {r0.inventory_calls} inventory + {r0.price_calls} price calls |
| Update Inventory rate | {inv * DEFAULT_QPS:.1f} calls/s = **{inv:.1%}** of the limit |
| Update Price rate | {price * DEFAULT_QPS:.1f} calls/s = **{price:.1%}** of the limit |
| write calls per changed SKU | {calls:.2f} (price and stock both changed; one call per \
product and field) |
| answered 429 by the emulator | {med(r.throttled for r in results):g} |
| SKUs not updated | {med(r.rejected for r in results):g} |

Runs: {runs}. Goal: >= 90% of the documented limit per API.
"""


def write_docs(section: str) -> None:
    """Replace (or add) only the "Push" section of docs/BENCHMARKS.md."""
    write_section(SECTION, section, DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--products", type=int, default=2000)
    parser.add_argument("--skus", type=int, default=2, help="SKUs per product")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=100.0)
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY)
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    results = run_benchmark(args.products, args.skus, args.runs, args.latency_ms, args.concurrency)
    section = markdown(results, args)
    print(section)
    if args.write_docs:
        write_docs(section)
        print(f"wrote the Push section of {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
