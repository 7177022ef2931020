"""End-to-end benchmark: catalog -> push -> relay for one shop against the emulators.

``python -m bench.e2e_bench [--part a|b|both] [--write-docs]`` (never part of ``make test``).

Four processes per measured run, so each side's CPU and memory are its own:

- the **TikTok and the Shopify emulator**, one process each (``python -m bench.e2e_bench
  serve --only NAME``): a seeded :func:`sandbox.generator.generate_fixture` catalog (its
  anomaly mix, 30 % of mapped SKUs stale in price or stock) served over loopback;
- the **skubridge worker** (``python -m bench.e2e_bench cycle``): the plain step functions
  the ``sync-shop`` flow runs, without a Prefect server or flow run (tasks run as plain
  calls): :func:`tasks.steps.catalog.run_catalog`,
  :func:`tasks.steps.push.run_push`, then, after some new TikTok orders
  arrive, :func:`tasks.steps.orders.run_orders`. Stages are timed by wrapping the functions
  those steps call (extract, land, checks, promote, map, reports, plan, guards, push,
  relay); its peak resident memory is its own ``ru_maxrss``;
- this **orchestrator**, which starts both, collects the worker's JSON and the emulators'
  CPU time, and takes medians.

Part (a): rate limits off (emulator throttle off, client ``rate_scale=0``), no latency, at
100,000 TikTok variants; goal <= 60 s and <= 2 GiB. ``--profile`` adds one cProfile run.
Part (b): documented rate limits on both sides, ``latency_ms`` on every emulator call, a
smaller catalog; the measured time is compared with the lower bound the limits allow for
the calls the run made (the emulators' ``GET /_sandbox/requests`` counts, Shopify's
``actualQueryCost`` per operation), goal <= 1.15.
``--write-docs`` replaces the "End-to-end" section of docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import inspect
import io
import json
import os
import platform
import pstats
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

from bench.docs import write_section

SHOP = "bench"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
SECTION = "## End-to-end"
EMULATORS = ("tiktok", "shopify")

# Stages in cycle order; the three step totals are timed around the step calls.
STAGES = (
    "extract_tiktok",
    "extract_store",
    "store_bulk",
    "extract",
    "land",
    "checks",
    "promote",
    "map",
    "reports",
    "warehouses",
    "plan",
    "guards",
    "ledger",
    "push",
    "push_report",
    "relay",
)
STEPS = ("catalog_step", "push_step", "relay_step")

# Documented limits used for the lower bound of part (b).
# TikTok: per API per app x shop, https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0
# (the live number is UNCONFIRMED). Shopify, standard plan:
# https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits
TIKTOK_QPS = 50.0
SHOPIFY_BUCKET = 2000.0  # points
SHOPIFY_RESTORE = 100.0  # points per second
SHOPIFY_MUTATION_COST = 10.0  # points per mutation
SHOPIFY_SEQUENTIAL = {"bulkOperation"}  # polls follow each other (2 s apart, by design)
TIKTOK_SEQUENTIAL = {"product.search", "order.search"}  # page tokens chain the pages


# SKUs the push updated: any field, inventory, price.
CHANGED_SKUS = """
SELECT count(DISTINCT tiktok_sku_id),
       count(DISTINCT tiktok_sku_id) FILTER (WHERE field = 'inventory'),
       count(DISTINCT tiktok_sku_id) FILTER (WHERE field = 'price')
FROM push_report WHERE run_id = ? AND status = 'UPDATED'
"""


# --- emulator process ------------------------------------------------------------------------
def serve(args: argparse.Namespace) -> int:
    """Generate the catalog, serve one emulator, print one JSON line, wait for stdin EOF."""
    from sandbox import shopify as shopify_sandbox
    from sandbox import tiktok as tiktok_sandbox
    from sandbox.generator import generate_fixture
    from sandbox.server import ServerThread

    scenario = generate_fixture(args.variants, seed=args.seed, store="shopify")
    # The generator gives every TikTok product the same update_time, but Search Products
    # pages through at most 10,000 results per update_time range
    # (https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369), so a catalog above
    # 10,000 products cannot be read at all. Real products were edited at different times: spread
    # them one minute apart (the connector splits the range).
    for n, product in enumerate(scenario.fixture.tiktok.products):
        product.update_time = (product.update_time or 0) + 60 * n
    factory = {"tiktok": tiktok_sandbox.create_app, "shopify": shopify_sandbox.create_app}
    app = factory[args.only](scenario.fixture, throttle=not args.no_throttle, rate_scale=1.0)
    server = ServerThread(app).start()
    try:
        expected = scenario.manifest.expected
        info = {
            "url": server.url,
            "tiktok_products": len(scenario.fixture.tiktok.products),
            "tiktok_variants": len(expected),
            "expected_mapped_skus": int((expected["status"] == "mapped").sum()),
            "store_products": len(scenario.fixture.shopify.products),
        }
        del scenario, expected
        print(json.dumps(info), flush=True)
        sys.stdin.read()  # until the orchestrator closes our stdin
    finally:
        server.stop()
    return 0


class EmulatorProcess:
    """One emulator in a child process: started, its JSON line, CPU seconds, stopped."""

    def __init__(self, name: str, variants: int, seed: int, *, throttle: bool) -> None:
        cmd = [sys.executable, "-m", "bench.e2e_bench", "serve", "--only", name]
        cmd += ["--variants", str(variants), "--seed", str(seed)]
        if not throttle:
            cmd.append("--no-throttle")
        self.name = name
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ready(self) -> dict[str, Any]:
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line:
            self.proc.kill()
            raise RuntimeError(f"the {self.name} emulator process did not start")
        self.info: dict[str, Any] = json.loads(line)
        return self.info

    def cpu_seconds(self) -> float:
        """User + system CPU time of the emulator process so far (/proc/<pid>/stat)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def shops_file(folder: Path, urls: dict[str, str]) -> tuple[Path, dict[str, str]]:
    """A shops.toml for shop ``bench`` pointing at the served emulators, and its env vars."""
    from sandbox.stack import SandboxStack, sandbox_credentials

    stack = SandboxStack()  # not started: only its shops-file writer is used
    stack.servers = {name: SimpleNamespace(url=url) for name, url in urls.items()}  # type: ignore[misc]
    return stack.write_shops_file(folder / "shops.toml", [(SHOP, "shopify")]), sandbox_credentials()


# --- stage timers (worker) -------------------------------------------------------------------
class StageClock:
    """Wall seconds per stage, gathered by wrapping the functions the steps call."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, stage: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        if inspect.iscoroutinefunction(fn):

            @functools.wraps(fn)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                started = time.perf_counter()
                try:
                    return await fn(*args, **kwargs)
                finally:
                    self.seconds[stage] += time.perf_counter() - started

            return timed_async

        @functools.wraps(fn)
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                self.seconds[stage] += time.perf_counter() - started

        return timed

    def patch(self, owner: Any, name: str, stage: str) -> None:
        setattr(owner, name, self.wrap(stage, getattr(owner, name)))


def instrument(clock: StageClock) -> None:
    """Wrap the functions of the three steps with stage timers (this process only)."""
    import tasks.mapping as mapping
    import tasks.relay as relay
    import tasks.steps.catalog as cat
    import tasks.steps.push as push
    from connectors.shopify import ShopifyClient

    clock.patch(ShopifyClient, "run_bulk_query", "store_bulk")
    clock.patch(cat, "extract_both", "extract")
    clock.patch(cat, "land_staged", "land")
    clock.patch(cat, "check_catalogs", "checks")
    clock.patch(cat, "promote_catalogs", "promote")
    clock.patch(cat, "map_and_report", "map_and_reports")
    clock.patch(mapping, "auto_map", "map")  # imported by map_and_report at call time
    clock.patch(push, "receiving_warehouse", "warehouses")
    clock.patch(push, "build_plan", "plan")
    clock.patch(push, "check_plan", "guards")
    clock.patch(push, "settle_stale", "ledger")
    clock.patch(push, "record_pending", "ledger")
    clock.patch(push, "push_writes", "push")
    clock.patch(push, "publish_report", "push_report")
    clock.patch(relay, "publish_order_report", "relay_report")


SHOPIFY_POINTS: dict[str, float] = defaultdict(float)


def meter_shopify_cost() -> None:
    """Sum Shopify's ``actualQueryCost`` per operation
    (https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits) for the bound."""
    from connectors.shopify import ShopifyClient

    original = ShopifyClient.execute

    @functools.wraps(original)
    async def execute(self: Any, operation: str, *args: Any, **kwargs: Any) -> Any:
        self.last_cost = None
        try:
            return await original(self, operation, *args, **kwargs)
        finally:
            cost = self.last_cost or {}
            SHOPIFY_POINTS[operation] += float(cost.get("actualQueryCost") or 0)

    ShopifyClient.execute = execute  # type: ignore[method-assign]


def _admin(urls: dict[str, str], name: str, method: str, path: str, **kw: Any) -> Any:
    with httpx.Client(base_url=urls[name], trust_env=False, timeout=120) as client:
        response = client.request(method, f"/_sandbox/{path}", **kw)
        response.raise_for_status()
        return response.json() if response.content else None


def _requests(urls: dict[str, str]) -> dict[str, dict[str, int]]:
    return {name: _admin(urls, name, "GET", "requests") for name in EMULATORS}


def _minus(after: dict[str, dict[str, int]], before: dict[str, dict[str, int]]) -> dict:
    return {
        name: {
            op: n - before[name].get(op, 0) for op, n in ops.items() if n - before[name].get(op, 0)
        }
        for name, ops in after.items()
    }


def cycle(args: argparse.Namespace) -> int:
    """The skubridge side of one measured run; prints its figures as one JSON line."""
    info = json.loads(Path(args.info).read_text())
    os.environ.update(info["env"])
    os.environ["SKUBRIDGE_SHOPS_FILE"] = info["shops_file"]
    os.environ["SKUBRIDGE_DATA_DIR"] = str(Path(args.folder) / "data")
    os.environ["SKUBRIDGE_REPORTS_DIR"] = str(Path(args.folder) / "reports")
    urls = info["urls"]

    from skubridge.config import load_shops
    from tasks.steps.catalog import run_catalog
    from tasks.steps.orders import run_orders
    from tasks.steps.push import run_push

    clock = StageClock()
    instrument(clock)
    meter_shopify_cost()
    shop = load_shops().get(SHOP)
    # The Shopify emulator builds a bulk result inside the bulkOperationRunQuery request
    # (real Shopify answers at once and works in the background); at 100,000 variants that
    # takes longer than the clients' default 30 s timeout, hence a longer one here.
    push_options = {"concurrency": args.push_concurrency} if args.push_concurrency else {}
    kwargs: dict[str, Any] = {"timeout": args.client_timeout}
    if not args.limits:
        kwargs["rate_scale"] = 0
    for name in EMULATORS:
        _admin(urls, name, "PUT", "faults", json={"latency_ms": args.latency_ms})
        _admin(urls, name, "DELETE", "requests")
    throttled0 = _admin(urls, "tiktok", "GET", "throttle").get("rejected", 0)
    # CPU time, not wall time: the cores are shared with the emulators (and other work).
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    steps: dict[str, float] = {}
    requests: dict[str, Any] = {}
    points: dict[str, dict[str, float]] = {}

    def timed_step(name: str, call: Callable[[], Any]) -> Any:
        before = _requests(urls)
        points_before = dict(SHOPIFY_POINTS)
        if profiler:
            profiler.enable()
        started = time.perf_counter()
        try:
            return call()
        finally:
            steps[name] = time.perf_counter() - started
            if profiler:
                profiler.disable()
            requests[name] = _minus(_requests(urls), before)
            points[name] = {
                op: v - points_before.get(op, 0.0)
                for op, v in SHOPIFY_POINTS.items()
                if v - points_before.get(op, 0.0)
            }

    catalog = timed_step(
        "catalog_step",
        lambda: run_catalog(shop, run_id="e2e-catalog", client_options=kwargs),
    )
    pushed = timed_step(
        "push_step",
        lambda: run_push(shop, run_id="e2e-push", client_kwargs=kwargs, **push_options),
    )
    # New orders arrive after the mapping (orders placed before it are historical).
    time.sleep(1.1)
    _admin(
        urls,
        "tiktok",
        "POST",
        "orders",
        json={"generate": args.orders, "seed": args.seed, "max_lines": 2, "max_quantity": 2},
    )
    relayed = timed_step(
        "relay_step", lambda: run_orders(shop, run_id="e2e-relay", client_kwargs=kwargs)
    )
    usage = resource.getrusage(resource.RUSAGE_SELF)
    from tasks.warehouse import open_shop

    with open_shop(SHOP) as con:
        changed = con.execute(CHANGED_SKUS, ["e2e-push"]).fetchone()
    stages = dict(clock.seconds)
    for side, stats in catalog.extract.items():
        stages["extract_tiktok" if side == "tiktok" else "extract_store"] = stats["seconds"]
    stages["reports"] = stages.pop("map_and_reports", 0.0) - stages.get("map", 0.0)
    stages["relay"] = steps["relay_step"]
    result = {
        "steps": steps,
        "total": sum(steps.values()),
        "stages": stages,
        "peak_rss_mib": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "requests": requests,
        "shopify_points": points,
        "tiktok_429": _admin(urls, "tiktok", "GET", "throttle").get("rejected", 0) - throttled0,
        "catalog": {
            "extract": {
                k: {f: v[f] for f in ("rows", "pages", "products", "skipped", "seconds")}
                for k, v in catalog.extract.items()
            },
            "mapping": {
                k: v for k, v in catalog.mapping.items() if isinstance(v, int | float | str)
            },
        },
        "push": {
            "mapped": pushed.mapped,
            "counts": pushed.counts,
            "guards_passed": pushed.guards_passed,
            "message": pushed.message,
            "changed_skus": changed[0],
            "changed_inventory_skus": changed[1],
            "changed_price_skus": changed[2],
        },
        "relay": {"counts": relayed.counts(), "orders": args.orders},
    }
    if profiler:
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(35)
        stats.sort_stats("tottime").print_stats(25)
        result["profile"] = out.getvalue()
        profiler.dump_stats(str(Path(args.folder) / "cycle.prof"))
    print(json.dumps(result, default=str), flush=True)
    return 0


# --- orchestrator ----------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """One kind of measured run."""

    part: str  # "a" or "b"
    variants: int
    orders: int
    seed: int
    limits: bool
    latency_ms: float
    client_timeout: float = 300.0
    push_concurrency: int | None = None  # None: the push step's default


def one_run(setup: Setup, *, profile: bool = False) -> dict[str, Any]:
    """Start the emulators and a worker for one cycle; the worker's figures + emulator CPU."""
    with tempfile.TemporaryDirectory(prefix="skubridge-e2e-") as tmp:
        folder = Path(tmp)
        emulators = [
            EmulatorProcess(name, setup.variants, setup.seed, throttle=setup.limits)
            for name in EMULATORS
        ]
        try:
            infos = {e.name: e.ready() for e in emulators}
            urls = {name: info["url"] for name, info in infos.items()}
            path, env = shops_file(folder, urls)
            info_file = folder / "info.json"
            info_file.write_text(json.dumps({"urls": urls, "env": env, "shops_file": str(path)}))
            cpu0 = {e.name: e.cpu_seconds() for e in emulators}
            cmd = [sys.executable, "-m", "bench.e2e_bench", "cycle", "--info", str(info_file)]
            cmd += ["--folder", str(folder), "--orders", str(setup.orders)]
            cmd += ["--seed", str(setup.seed), "--latency-ms", str(setup.latency_ms)]
            cmd += ["--client-timeout", str(setup.client_timeout)]
            if setup.push_concurrency:
                cmd += ["--push-concurrency", str(setup.push_concurrency)]
            cmd += ["--limits"] if setup.limits else []
            cmd += ["--profile"] if profile else []
            done = subprocess.run(cmd, capture_output=True, text=True, check=False)
            cpu = {e.name: e.cpu_seconds() - cpu0[e.name] for e in emulators}
        finally:
            for e in emulators:
                e.stop()
        if done.returncode != 0:
            sys.stderr.write(done.stderr[-5000:])
            raise RuntimeError(f"the cycle worker failed (exit {done.returncode})")
        result = json.loads(done.stdout.strip().splitlines()[-1])
        result["emulator_cpu_s"] = sum(cpu.values())
        result["emulator_cpu_by_name"] = cpu
        result["fixture"] = {k: v for k, v in infos["tiktok"].items() if k != "url"}
        return result


def median_figures(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Medians over runs of the total, each step, each stage, memory and CPU."""
    med = statistics.median
    return {
        "total": med(r["total"] for r in runs),
        "steps": {s: med(r["steps"][s] for r in runs) for s in STEPS},
        "stages": {s: med(r["stages"].get(s, 0.0) for r in runs) for s in STAGES},
        "peak_rss_mib": med(r["peak_rss_mib"] for r in runs),
        "cpu_s": med(r["cpu_s"] for r in runs),
        "emulator_cpu_s": med(r["emulator_cpu_s"] for r in runs),
    }


# --- lower bound (part b) --------------------------------------------------------------------
def endpoint_bound(
    name: str, op: str, calls: int, latency: float, concurrency: int, points: float | None = None
) -> tuple[float, str]:
    """Least time ``calls`` calls of one endpoint can take; with the limiting factor."""
    if name == "tiktok":
        rate_bound = max(0.0, calls - 1) / TIKTOK_QPS  # no documented burst: start at 0
        if op in TIKTOK_SEQUENTIAL:
            return calls * latency, "sequential pages x latency"
        flight = -(-calls // concurrency) * latency
        if rate_bound + latency >= flight:
            return rate_bound + latency, f"{TIKTOK_QPS:g} QPS"
        return flight, f"{concurrency} in flight x latency"
    # Shopify: cost bucket; the points the calls cost (measured, else 10 per call).
    if points is None:
        points = calls * SHOPIFY_MUTATION_COST
    rate_bound = max(0.0, points - SHOPIFY_BUCKET) / SHOPIFY_RESTORE
    if op in SHOPIFY_SEQUENTIAL or op == "orderCreate" or rate_bound < calls * latency:
        return max(rate_bound, calls * latency), "one at a time x latency"
    return rate_bound + latency, "cost bucket"


def lower_bound(run: dict[str, Any], latency: float) -> dict[str, Any]:
    """Per step: the endpoint bounds; a step's bound is its slowest endpoint (endpoints of a
    step may overlap), the run's the sum of the steps (they follow each other)."""
    from connectors.tiktok import DEFAULT_QPS
    from tasks.load import DEFAULT_CONCURRENCY

    assert DEFAULT_QPS == TIKTOK_QPS
    concurrency = {"catalog_step": 8, "push_step": DEFAULT_CONCURRENCY, "relay_step": 8}
    out: dict[str, Any] = {}
    for step, by_emulator in run["requests"].items():
        rows = []
        measured_points = run.get("shopify_points", {}).get(step, {})
        for name, ops in by_emulator.items():
            for op, calls in sorted(ops.items()):
                cost = measured_points.get(op) if name == "shopify" else None
                seconds, why = endpoint_bound(name, op, calls, latency, concurrency[step], cost)
                rows.append({"api": name, "op": op, "calls": calls, "bound": seconds, "why": why})
        shopify = {op: n for op, n in by_emulator.get("shopify", {}).items()}
        if shopify:
            # One cost bucket for every Shopify call of the step.
            total = sum(
                measured_points.get(op, n * SHOPIFY_MUTATION_COST) for op, n in shopify.items()
            )
            rows.append(
                {
                    "api": "shopify",
                    "op": "(all calls: one cost bucket)",
                    "calls": sum(shopify.values()),
                    "bound": max(0.0, total - SHOPIFY_BUCKET) / SHOPIFY_RESTORE + latency,
                    "why": f"{total:,.0f} points, 2000 bucket + 100/s",
                }
            )
        if step == "catalog_step":
            # The two catalogs are read concurrently: per side, the slowest endpoint.
            sides = [
                max((r["bound"] for r in rows if r["api"] == a), default=0.0) for a in EMULATORS
            ]
            bound = max(sides)
        elif step == "relay_step":
            # Search, then details, then creates: each needs the previous one's answers.
            bound = sum(r["bound"] for r in rows if r["api"] == "tiktok") + max(
                (r["bound"] for r in rows if r["api"] == "shopify"), default=0.0
            )
        else:
            bound = max((r["bound"] for r in rows), default=0.0)
        out[step] = {"bound": bound, "measured": run["steps"][step], "endpoints": rows}
    out["total"] = {
        "bound": sum(v["bound"] for v in out.values()),
        "measured": run["total"],
    }
    return out


# --- report ----------------------------------------------------------------------------------
def machine() -> dict[str, Any]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }


def _s(value: float) -> str:
    return f"{value:.1f} s" if value >= 0.95 else f"{value:.2f} s"


def markdown(results: dict[str, Any], command: str) -> str:
    """The "End-to-end" section of docs/BENCHMARKS.md."""
    m = results["machine"]
    lines = [
        SECTION,
        "",
        "The whole cycle of one shop (`bench/e2e_bench.py`): catalog step (both catalogs "
        "extracted concurrently, checks, promote, auto-map, mapping reports), push step "
        "(plan, guards, price/stock writes, push report), relay step (new TikTok orders "
        "into Shopify, order report).",
        "",
        f"- Command: `{command}`",
        f"- Machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, Python "
        f"{m['python']}, {m['date']}; the 2 cores were shared with other engineers' test "
        "runs while measured, so figures are noisy.",
        "- Processes: the TikTok and the Shopify emulator each run in their own process "
        "(uvicorn on loopback, the apps `SandboxStack` serves); skubridge runs in a worker "
        "process calling the step runners `run_catalog`, `run_push`, "
        "`run_orders` (no Prefect server, no flow run: tasks run as plain calls). All "
        "three compete for the same 2 cores, so emulator CPU slows skubridge down; it is "
        "reported separately. Peak memory is the worker's `ru_maxrss`.",
        "- Bench-side adjustments: the generator gives every TikTok product the same "
        "`update_time`, which a real shop never has and which Search Products cannot page "
        "past 10,000 results (https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369), "
        "so the bench spreads them one minute "
        "apart; clients get a 300 s timeout because the Shopify emulator builds a bulk "
        "operation's result inside the `bulkOperationRunQuery` request (Shopify answers at "
        "once and builds it in the background).",
        "- Stages are timed by wrapping the functions the steps call; `extract tiktok` "
        "and `extract store` overlap (run concurrently in one event loop), `extract` is "
        "the both-sides wall time.",
    ]
    if "a" in results:
        lines += _markdown_a(results["a"])
    if "b" in results:
        lines += _markdown_b(results["b"])
    return "\n".join(lines) + "\n"


def _markdown_a(a: dict[str, Any]) -> list[str]:
    med, runs, fx = a["median"], a["runs"], a["runs"][0]["fixture"]
    r0 = runs[0]
    push, relay = r0["push"], r0["relay"]
    mapping = r0["catalog"]["mapping"]
    goal_t = "met" if med["total"] <= 60 else "**missed**"
    goal_m = "met" if med["peak_rss_mib"] <= 2048 else "**missed**"
    labels = {
        "extract_tiktok": "extract TikTok (overlaps store)",
        "extract_store": "extract Shopify (overlaps TikTok)",
        "store_bulk": "of which Shopify bulk operation (start + polls until the file is ready)",
        "extract": "extract, both sides (wall)",
        "land": "land staged tables",
        "checks": "catalog checks (GX)",
        "promote": "promote",
        "map": "auto-map",
        "reports": "mapping report + unmapped/summary tables",
        "warehouses": "receiving warehouse lookup",
        "plan": "plan",
        "guards": "guards (GX)",
        "ledger": "ledger (pending rows)",
        "push": "push writes (ledger flushes included)",
        "push_report": "push report",
        "relay": "relay (whole step)",
    }
    rows = [f"| {labels[s]} | {_s(med['stages'][s])} |" for s in STAGES]
    steps = [f"| **{s.replace('_', ' ')}** | **{_s(med['steps'][s])}** |" for s in STEPS]
    per_run = "; ".join(f"{r['total']:.1f} s / {r['peak_rss_mib']:.0f} MiB" for r in runs)
    requests = r0["requests"]
    calls = "; ".join(
        f"{step.removesuffix('_step')}: "
        + ", ".join(f"{op} {n}" for name in EMULATORS for op, n in requests[step][name].items())
        for step in STEPS
    )
    out = [
        "",
        f"### (a) Rate limits off, no latency, {fx['tiktok_variants']:,} TikTok variants",
        "",
        f'- Setup: `generate_fixture({fx["tiktok_variants"]:,}, seed=0, store="shopify")`: '
        f"{fx['tiktok_products']:,} TikTok products, {fx['store_products']:,} Shopify "
        f"products, the generator's anomaly mix; emulator throttle off, clients "
        f"`rate_scale=0`, no added latency; {relay['orders']} new orders generated by the "
        "TikTok emulator after the push (random ACTIVATE SKUs, so some have unmapped lines).",
        f"- Work done (run 1): mapped SKUs {mapping.get('mapped_skus')}, unmapped "
        f"{mapping.get('unmapped_skus')}; push "
        + ", ".join(f"{k} {v}" for k, v in push["counts"].items())
        + " (rows = SKU x field); relay "
        + ", ".join(f"{k} {v}" for k, v in relay["counts"].items())
        + ".",
        f"- Calls (run 1): {calls}.",
        f"- Push calls per changed SKU (run 1): {calls_per_changed_sku(r0)}.",
        f"- Median of {len(runs)} runs (each run: fresh emulators, fresh DuckDB file).",
        "",
        "| stage | median wall time |",
        "| --- | --- |",
        *rows,
        *steps,
        f"| **total (three steps)** | **{_s(med['total'])}** |",
        "",
        f"- Total: **{med['total']:.1f} s** (goal <= 60 s: {goal_t}).",
        f"- Peak RSS of the skubridge process: **{med['peak_rss_mib']:.0f} MiB** (goal "
        f"<= 2 GiB: {goal_m}).",
        f"- CPU: skubridge worker {med['cpu_s']:.1f} s, emulators {med['emulator_cpu_s']:.1f} s "
        "(medians) over the same wall time on 2 cores.",
        f"- Runs (total / peak RSS): {per_run}.",
    ]
    if a.get("profile_summary"):
        out += ["", a["profile_summary"]]
    return out


def calls_per_changed_sku(run: dict[str, Any]) -> str:
    """Push-step calls per endpoint divided by the SKUs whose field that endpoint writes."""
    push = run["push"]
    per_field = {
        "product.update_inventory": push["changed_inventory_skus"],
        "product.update_price": push["changed_price_skus"],
    }
    parts = []
    total = 0
    for name in EMULATORS:
        for op, n in sorted(run["requests"]["push_step"][name].items()):
            total += n
            if op in per_field:
                base = per_field[op]
                parts.append(f"`{op}` {n} calls / {base} SKUs = {n / max(base, 1):.3f}")
    parts.append(
        f"every push-step call (with the shop and warehouse look-ups) {total} / "
        f"{push['changed_skus']} SKUs = {total / max(push['changed_skus'], 1):.3f}"
    )
    return "; ".join(parts)


def _markdown_b(b: dict[str, Any]) -> list[str]:
    run, bound = b["run"], b["bound"]
    fx = run["fixture"]
    push, relay = run["push"], run["relay"]
    ratio = bound["total"]["measured"] / bound["total"]["bound"]
    goal = "met" if ratio <= 1.15 else "**missed**"
    rows = []
    for step in STEPS:
        sb = bound[step]
        rows.append(
            f"| **{step.replace('_', ' ')}** | | | **{_s(sb['bound'])}** | "
            f"**{_s(sb['measured'])}** | **{sb['measured'] / max(sb['bound'], 1e-9):.2f}** |"
        )
        for e in sb["endpoints"]:
            rows.append(
                f"| {e['api']} `{e['op']}` | {e['calls']} | {e['why']} | {_s(e['bound'])} | | |"
            )
    per_sku = calls_per_changed_sku(run)
    return [
        "",
        f"### (b) Documented rate limits, {b['latency_ms']:g} ms latency, "
        f"{fx['tiktok_variants']:,} TikTok variants",
        "",
        f"- Setup: `generate_fixture({fx['tiktok_variants']:,}, seed={b['seed']})` "
        f"({fx['tiktok_products']:,} TikTok products); emulator throttles on at the "
        "documented limits (TikTok 50 QPS per API, "
        "https://partner.tiktokshop.com/docv2/page/64f1991d64ed2e0295f3d2c0; Shopify cost bucket "
        "2000 points + 100/s, https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits), "
        "clients pacing at the same limits, "
        f"`FaultConfig(latency_ms={b['latency_ms']:g})` on every emulator call; "
        f"{relay['orders']} new orders before the relay. One run.",
        "- Lower bound: per endpoint, the least time its calls can take: TikTok "
        "`(calls - 1) / 50 QPS + latency`, or `calls x latency` for page-token chains "
        "(search pages), or `ceil(calls / in-flight) x latency` when skubridge's in-flight "
        "cap (8 for catalog reads and relay, 16 per write API in the push) is the tighter "
        "one; Shopify `max(0, points - 2000) / 100 points/s` (points taken as 10 per call, "
        "an over-estimate for small queries) or `calls x latency` for calls that follow "
        "each other (bulk-operation polls, `orderCreate` one at a time). A step's bound is "
        "its slowest endpoint (catalog: slowest of the two concurrent sides; relay: the sum, "
        "since search, details and creates depend on each other); the run's is the sum of "
        "the steps. Local work (checks, mapping, plan, reports) counts in the measured time, "
        "not in the bound.",
        "- Work done: push "
        + ", ".join(f"{k} {v}" for k, v in push["counts"].items())
        + "; relay "
        + ", ".join(f"{k} {v}" for k, v in relay["counts"].items())
        + f"; TikTok 429 answers {run['tiktok_429']}.",
        "",
        "| step / endpoint | calls | limited by | lower bound | measured | measured / bound |",
        "| --- | --- | --- | --- | --- | --- |",
        *rows,
        f"| **whole run** | | | **{_s(bound['total']['bound'])}** | "
        f"**{_s(bound['total']['measured'])}** | **{ratio:.2f}** |",
        "",
        f"- Measured / lower bound for the whole run: **{ratio:.2f}** (goal <= 1.15: {goal}).",
        f"- Calls per changed SKU ({push['changed_skus']} SKUs updated: "
        f"{push['changed_inventory_skus']} in stock, {push['changed_price_skus']} in price; "
        "from the emulators' request counts during the push step): " + per_sku + ".",
        *([b["notes"]] if b.get("notes") else []),
    ]


def write_docs(section: str, machine_info: dict[str, Any]) -> None:
    """Replace (or append) the "End-to-end" section; add a Machine paragraph if none."""
    text = DOCS.read_text(encoding="utf-8") if DOCS.exists() else "# Benchmarks\n"
    if "**Machine**" not in text:
        m = machine_info
        para = (
            f"**Machine** (where the figures below were measured unless a section says "
            f"otherwise): {m['cpus']} CPUs ({m['cpu_model']}), {m['ram_gib']} GiB RAM, "
            f"Python {m['python']}, {m['platform']}, {m['date']}; the cores were shared with "
            "other work while measured.\n"
        )
        head, sep, rest = text.partition("\n")
        text = head + sep + "\n" + para + rest if head.startswith("# ") else para + "\n" + text
    write_section(SECTION, section, DOCS, text)


def _profile_summary(profile: str, limit: int = 18) -> str:
    keep = [line for line in profile.splitlines() if line.strip()][:limit]
    return "\n".join(keep)


def orchestrate(args: argparse.Namespace) -> int:
    if args.from_json:
        # Re-render the docs section from saved figures (e.g. to add --notes), no new run.
        saved = json.loads(Path(args.from_json).read_text())
        return publish(saved["results"], saved["command"], args)
    results: dict[str, Any] = {"machine": machine()}
    if args.part in ("a", "both"):
        setup = Setup(
            "a",
            args.variants,
            args.orders,
            args.seed,
            False,
            0.0,
            push_concurrency=args.push_concurrency,
        )
        runs = []
        for index in range(args.runs):
            run = one_run(setup)
            runs.append(run)
            print(
                f"(a) run {index + 1}: total {run['total']:.1f} s, steps "
                + ", ".join(f"{k} {v:.1f}" for k, v in run["steps"].items())
                + f"; peak RSS {run['peak_rss_mib']:.0f} MiB; stages "
                + ", ".join(f"{k} {v:.2f}" for k, v in run["stages"].items()),
                flush=True,
            )
        if runs:
            results["a"] = {"runs": runs, "median": median_figures(runs)}
        if args.profile:
            prof = one_run(setup, profile=True)
            print(prof["profile"], flush=True)
            if runs:
                results["a"]["profile"] = prof["profile"]
    if args.part in ("b", "both"):
        setup = Setup(
            "b", args.limited_variants, args.limited_orders, args.seed, True, args.latency_ms
        )
        run = one_run(setup)
        bound = lower_bound(run, args.latency_ms / 1000)
        results["b"] = {
            "run": run,
            "bound": bound,
            "latency_ms": args.latency_ms,
            "seed": args.seed,
        }
        print(
            f"(b) total {run['total']:.1f} s, lower bound {bound['total']['bound']:.1f} s, "
            f"ratio {run['total'] / bound['total']['bound']:.2f}",
            flush=True,
        )
        print(json.dumps(bound, indent=1), flush=True)
    command = "python -m bench.e2e_bench " + " ".join(sys.argv[1:])
    if args.json:
        saved = {"command": command, "results": results}
        Path(args.json).write_text(json.dumps(saved, indent=1, default=str))
        print(f"figures written to {args.json}")
    return publish(results, command, args)


def publish(results: dict[str, Any], command: str, args: argparse.Namespace) -> int:
    """Print the Markdown section (plus ``--notes``) and write it into the docs if asked."""
    section = markdown(results, command)
    if args.notes:
        section += "\n" + Path(args.notes).read_text(encoding="utf-8").strip() + "\n"
    print(section)
    if args.write_docs:
        write_docs(section, results["machine"])
        print(f"wrote the End-to-end section of {DOCS}")
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] == "serve":
        p = argparse.ArgumentParser(prog="bench.e2e_bench serve")
        p.add_argument("--only", choices=EMULATORS, required=True)
        p.add_argument("--variants", type=int, required=True)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--no-throttle", action="store_true")
        return serve(p.parse_args(argv[1:]))
    if argv and argv[0] == "cycle":
        p = argparse.ArgumentParser(prog="bench.e2e_bench cycle")
        p.add_argument("--info", required=True)
        p.add_argument("--folder", required=True)
        p.add_argument("--orders", type=int, default=200)
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--latency-ms", type=float, default=0.0)
        p.add_argument("--client-timeout", type=float, default=300.0)
        p.add_argument("--push-concurrency", type=int, default=None)
        p.add_argument("--limits", action="store_true")
        p.add_argument("--profile", action="store_true")
        return cycle(p.parse_args(argv[1:]))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["a", "b", "both"], default="both")
    parser.add_argument("--variants", type=int, default=100_000, help="(a) TikTok variants")
    parser.add_argument("--orders", type=int, default=200, help="(a) new TikTok orders")
    parser.add_argument("--runs", type=int, default=3, help="(a) measured runs (median)")
    parser.add_argument("--profile", action="store_true", help="(a) one extra cProfile run")
    parser.add_argument("--limited-variants", type=int, default=20_000, help="(b) variants")
    parser.add_argument("--limited-orders", type=int, default=100, help="(b) new orders")
    parser.add_argument("--latency-ms", type=float, default=100.0, help="(b) added latency")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--push-concurrency", type=int, help="(a) calls in flight per write API (default: push's)"
    )
    parser.add_argument("--json", help="also write every figure to this JSON file")
    parser.add_argument("--write-docs", action="store_true", help="update docs/BENCHMARKS.md")
    parser.add_argument("--notes", help="Markdown file appended to the section (findings)")
    parser.add_argument("--from-json", help="render the section from a --json file, no run")
    return orchestrate(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
