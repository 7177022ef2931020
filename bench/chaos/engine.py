"""The chaos suite's engine: whole sync cycles under faults and SIGKILL, then invariants.

For each shop (one Shopify, one Amazon; each on its own :class:`sandbox.stack.SandboxStack`
with a generated catalog, throttling on) the driver, in this process:

1. places a few orders (historical: never to be relayed), then maps: runs the catalog
   step once, fault-free;
2. creates TikTok orders after the mapping (mostly AWAITING_SHIPMENT, some ON_HOLD/UNPAID
   later moved on, some shipped or fulfilled by TikTok) and changes some store prices and
   stock (in the store emulator's state);
3. turns on seeded faults on every emulator (5xx, latency, answers dropped after commit,
   truncated bodies, forced throttling, access tokens expired mid-run) and runs whole
   cycles (catalog -> push -> relay, :mod:`bench.chaos.cycle`) in child processes that it
   SIGKILLs at random points: after a random delay, after k catalog reads, k TikTok writes
   or k store order creates. New orders and store edits arrive between the runs;
4. reruns with faults on until a cycle completes (bounded), then switches the faults off
   and runs clean cycles until one has nothing left to do (zero writes planned, nothing
   relayed): that final run must complete;
5. checks (:mod:`bench.chaos.checks`): every eligible order in the store exactly once and
   nothing else, TikTok price and stock equal to the store's through the shop's rules, no
   PENDING ledger rows, reports agree with the emulators, mappings unchanged by the chaos;
   then scans every output (logs, DuckDB tables and raw bytes, CSV/Parquet reports) for
   secrets and buyer data and checks that data and report files are owner-only.

The emulators live here and survive the kills; each cycle is a child forked from a
``multiprocessing`` fork server that preloaded skubridge (a child starts in milliseconds).
``python -m bench.chaos`` is the command line; ``tests/chaos`` runs a reduced version.
"""

from __future__ import annotations

import json
import logging
import multiprocessing
import os
import random
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import httpx

from bench.chaos import checks
from bench.chaos.cycle import PRELOAD, STEPS, child_main
from sandbox.generator import GeneratedScenario, generate_fixture
from sandbox.stack import SandboxStack

log = logging.getLogger("skubridge.chaos")

STORES = ("shopify", "amazon")
CYCLE_TIMEOUT_S = 300.0  # a cycle that hangs longer is killed and counted as a failure
IDLE_RUNS = 4  # clean cycles allowed to reach one that has nothing left to do
KILL_KINDS = ("push", "relay", "catalog", "delay")
NEW_ORDER_STATUS_MIX = {
    "AWAITING_SHIPMENT": 0.75,
    "ON_HOLD": 0.1,
    "UNPAID": 0.08,
    "CANCELLED": 0.07,
}
# Store-order creation per store: the operation names the emulators count.
CREATE_OPERATION = {"shopify": "orderCreate", "amazon": "createFulfillmentOrder"}
TIKTOK_WRITES = ("product.update_inventory", "product.update_price")
MIN_STOCK = 10  # store units a mapped SKU keeps before it is ordered again (see add_orders)


@dataclass
class ChaosOptions:
    """Size and roughness of a chaos run."""

    seed: int = 1
    kills: int = 3  # SIGKILLs per shop
    orders: int = 60  # TikTok orders per shop created after the mapping, in waves
    variants: int = 300  # TikTok variants per shop
    max_reruns: int = 6  # cycles with faults after the kills before giving up on faults
    rate_scale: float = 5.0  # emulators' documented rate limits x this (throttling stays on)
    historical_orders: int = 3  # orders placed before the mapping (must never be relayed)
    stores: tuple[str, ...] = STORES
    workdir: Path | None = None
    kill_kinds: tuple[str, ...] = KILL_KINDS  # where kills may happen (see Trigger)
    # The relay's trust in a PENDING row over the store's search (tasks/relay.py); the
    # emulators have no search lag, so 0. A larger value shows what the checks catch: a
    # killed create left PENDING is not looked up, so its order is lost to the final run.
    pending_grace_s: float = 0.0
    token_expiry_rate: float = 0.5  # share of faulted cycles whose access tokens expire midway
    error_rate: float = 0.04
    drop_after_commit_rate: float = 0.03
    malformed_rate: float = 0.01
    latency_ms: float = 2.0
    jitter_ms: float = 12.0

    def faults(self, seed: int) -> dict[str, Any]:
        """The fault knobs of one run (``PUT /_sandbox/faults``)."""
        return {
            "seed": seed,
            "latency_ms": self.latency_ms,
            "jitter_ms": self.jitter_ms,
            "error_rate": self.error_rate,
            "drop_after_commit_rate": self.drop_after_commit_rate,
            "malformed_rate": self.malformed_rate,
        }


@dataclass
class CycleRecord:
    """One child cycle: why it ran, how it ended."""

    n: int
    phase: str  # map | chaos | rerun | final
    run_tag: str
    faults: bool
    trigger: str | None
    killed: bool
    exitcode: int | None
    seconds: float
    result: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.exitcode == 0 and bool(self.result and self.result.get("ok"))

    def step_status(self) -> str:
        if self.killed:
            return f"killed ({self.trigger})"
        steps = (self.result or {}).get("steps") or {}
        text = ", ".join(f"{k} {v['status']}" for k, v in steps.items())
        return text or f"exit {self.exitcode}"


@dataclass
class ShopOutcome:
    """Figures and violations of one shop."""

    shop_id: str
    store: str
    variants: int = 0
    mapped: int = 0
    orders_created: int = 0
    historical_orders: int = 0
    eligible: int = 0
    in_store: int = 0
    duplicates: int = 0
    lost: int = 0
    unexpected: int = 0
    kills: int = 0
    reruns: int = 0
    clean_runs: int = 0
    store_edits: int = 0
    status_moves: int = 0
    forced_throttles: int = 0
    token_expiries: int = 0
    token_refreshes: int = 0  # TikTok token refresh calls (after an expiry)
    faults_injected: dict[str, int] = field(default_factory=dict)
    prices_checked: int = 0
    stock_checked: int = 0
    store_shipments: int = 0  # relayed orders the store shipped during the chaos
    tiktok_cancels: int = 0  # relayed orders TikTok cancelled during the chaos
    boxes_on_tiktok: int = 0  # store boxes found shipped on TikTok exactly once
    cancelled_in_store: int = 0
    final_writes: int | None = None
    final_relayed: int | None = None
    seconds: float = 0.0
    cycles: list[CycleRecord] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)


@dataclass
class ChaosReport:
    """The whole run: per-shop outcomes, the security scan, the verdict."""

    options: ChaosOptions
    workdir: Path
    shops: list[ShopOutcome]
    scan: checks.ScanResult
    permission_problems: list[str]
    seconds: float

    @property
    def violations(self) -> list[str]:
        out = [f"{s.shop_id}: {v}" for s in self.shops for v in s.violations]
        out += [f"secret or buyer data in {label}: {kind}" for label, kind in self.scan.hits]
        out += [f"not owner-only: {p}" for p in self.permission_problems]
        return out

    @property
    def ok(self) -> bool:
        return not self.violations

    def total(self, name: str) -> int:
        return sum(int(getattr(s, name)) for s in self.shops)

    def faults_injected(self) -> int:
        return sum(sum(s.faults_injected.values()) for s in self.shops)

    def summary_lines(self) -> list[str]:
        """Human-readable result, one line per figure."""
        lines = [
            f"chaos: {'PASSED' if self.ok else 'FAILED'} in {self.seconds:.0f} s "
            f"(seed {self.options.seed}, {len(self.shops)} shops)",
            f"  faults injected: {self.faults_injected()} "
            f"({_kinds(self.shops)}), forced throttles: {self.total('forced_throttles')}",
            f"  access tokens expired mid-run: {self.total('token_expiries')} "
            f"(TikTok token refreshes: {self.total('token_refreshes')})",
            f"  kills: {self.total('kills')}, reruns: {self.total('reruns')}, "
            f"clean final runs: {self.total('clean_runs')}",
            f"  orders: {self.total('orders_created')} created after mapping "
            f"(+{self.total('historical_orders')} historical), {self.total('eligible')} "
            f"eligible, {self.total('in_store')} in the stores",
            f"  duplicates: {self.total('duplicates')}, lost: {self.total('lost')}, "
            f"unexpected: {self.total('unexpected')}",
            f"  prices/stock checked against the store: {self.total('prices_checked')}/"
            f"{self.total('stock_checked')}; final push writes: "
            + ", ".join(f"{s.shop_id} {s.final_writes}" for s in self.shops),
            f"  security scan: {self.scan.outputs} outputs, {self.scan.chars:,} chars, "
            f"{self.scan.needles} secrets/buyer values, {len(self.scan.hits)} hits; "
            f"permission problems: {len(self.permission_problems)}",
        ]
        for shop in self.shops:
            lines.append(
                f"  {shop.shop_id}: "
                + "; ".join(
                    f"#{c.n} {c.phase}{' +faults' if c.faults else ''}: {c.step_status()}"
                    for c in shop.cycles
                )
            )
        lines += [f"  VIOLATION {v}" for v in self.violations]
        return lines

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "seconds": self.seconds,
            "options": {k: str(v) for k, v in asdict(self.options).items()},
            "shops": [{k: v for k, v in asdict(s).items() if k != "cycles"} for s in self.shops],
            "scan": {"outputs": self.scan.outputs, "hits": self.scan.hits},
            "permission_problems": self.permission_problems,
            "violations": self.violations,
        }


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    return rng.choices(list(mix), weights=list(mix.values()))[0]


def _kinds(shops: list[ShopOutcome]) -> str:
    total: dict[str, int] = {}
    for s in shops:
        for k, v in s.faults_injected.items():
            total[k] = total.get(k, 0) + v
    return ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "none"


# ----- one shop ----------------------------------------------------------------------------


@dataclass
class Trigger:
    """When to SIGKILL a running cycle."""

    kind: str  # delay | catalog | push | relay
    value: float

    def describe(self) -> str:
        what = {
            "delay": "after {:.1f} s",
            "catalog": "after {:g} catalog reads",
            "push": "after {:g} TikTok writes",
            "relay": "after {:g} store order creates",
        }[self.kind]
        return what.format(self.value)


class ShopChaos:
    """The chaos scenario of one shop on its own emulator stack."""

    def __init__(self, driver: ChaosDriver, index: int, store: str) -> None:
        opts = driver.options
        self.driver, self.store = driver, store
        self.shop_id = f"chaos-{store}"
        self.rng = random.Random(f"{opts.seed}-{store}")
        self.scenario: GeneratedScenario = generate_fixture(
            opts.variants,
            seed=opts.seed * 10 + index,
            store=store,  # type: ignore[arg-type]
        )
        self.stack = SandboxStack(self.scenario.fixture, rate_scale=opts.rate_scale).start()
        if store == "amazon":
            # The All Listings report is DONE at the first poll: the client would otherwise
            # wait its 5 s initial poll delay per cycle (the states are tested elsewhere).
            self.stack.admin("amazon", "PUT", "reports", json={"statuses": ["DONE"]})
        self.outcome = ShopOutcome(
            self.shop_id,
            store,
            variants=opts.variants,
            historical_orders=opts.historical_orders,
        )
        self.cycle_seconds = 10.0  # estimate for delay kills, refined by the map run
        expected = self.scenario.manifest.expected
        mapped = expected[expected["status"] == "mapped"]
        # TikTok SKU id -> store variant id (Amazon: seller SKU) of the expected mapping
        self.store_variant = dict(
            zip(mapped["tiktok_sku_id"], mapped["store_variant_id"], strict=True)
        )
        self.picks: Counter[str] = Counter()  # order lines per store variant so far
        self.looped: set[str] = set()  # relayed TikTok orders shipped by the store or cancelled

    # -- emulator helpers ------------------------------------------------------------------
    def requests(self, name: str) -> dict[str, int]:
        """Requests per operation the emulator ``name`` has seen (in-process, no HTTP)."""
        injector = self.stack.apps[name].state.faults
        with injector._lock:
            return dict(injector.stats.requests)

    def count(self, name: str, operations: tuple[str, ...]) -> int:
        counts = self.requests(name)
        return sum(counts.get(op, 0) for op in operations)

    def set_faults(self, on: bool, seed: int) -> None:
        """Faults on every emulator (each its own seed) plus a few forced throttle answers
        (TikTok rate-limit codes, Shopify THROTTLED), or everything off."""
        for k, name in enumerate(("tiktok", self.store)):
            knobs = self.driver.options.faults(seed * 7 + k) if on else {}
            self.stack.admin(name, "PUT", "faults", json=knobs)
        tiktok_forced = self.rng.randint(1, 4) if on else 0
        self.stack.admin("tiktok", "PUT", "throttle", json={"throttle_next": tiktok_forced})
        self.outcome.forced_throttles += tiktok_forced
        if self.store == "shopify":
            shopify_forced = self.rng.randint(1, 4) if on else 0
            self.stack.admin("shopify", "PUT", "throttle", json={"force": shopify_forced})
            self.outcome.forced_throttles += shopify_forced
        # Amazon: its limits are hit for real (a faulted run's client paces 1.5x faster).

    def expire_tokens(self) -> None:
        """Expire every access token the emulators issued (TikTok access tokens, Amazon LWA
        tokens) while a cycle runs: the connectors must refresh and carry on."""
        self.stack.admin("tiktok", "PUT", "credentials", json={"expire_access_tokens": True})
        if self.store == "amazon":
            self.stack.admin("amazon", "POST", "tokens/expire")
        self.outcome.token_expiries += 1

    def add_historical_orders(self, n: int) -> None:
        """``n`` shippable orders of mappable SKUs placed an hour ago, before the mapping:
        historical (BEFORE_MAPPING), so never relayed."""
        relayable, _ = self.sku_pools()
        hour_ago = int(time.time()) - 3600
        orders = [
            {
                "status": "AWAITING_SHIPMENT",
                "create_time": hour_ago + k,
                "lines": [{"sku_id": self.rng.choice(relayable), "quantity": 1}],
            }
            for k in range(n)
        ]
        if orders:
            self.stack.admin("tiktok", "POST", "orders", json=orders)

    def add_orders(self, n: int) -> None:
        """``n`` new TikTok orders (emulator admin API, buyers made up by the emulator).

        Lines come mostly (90 %) from SKUs the store can take (mapped; Amazon: FBA), else
        from any ACTIVATE SKU, so that unmapped, MFN and mixed orders occur too; statuses
        per :data:`NEW_ORDER_STATUS_MIX`, 15 % shipped by TikTok, 5 % fulfilled by TikTok.

        A mapped SKU is only ordered while its store variant has stock for it (at least
        ``MIN_STOCK`` plus 2 units per earlier order line): Shopify orders decrement stock
        below zero, and oversold variants beyond ``guards.max_bad_value_share`` would
        (rightly) block the catalog step, which is not what this suite is about.
        """
        if n <= 0:
            return
        available = self.store_available()

        def usable(sku: str) -> bool:
            vid = self.store_variant.get(sku)
            return vid is None or available.get(vid, 0) >= MIN_STOCK + 2 * self.picks[vid]

        relayable, every = self.sku_pools()
        orders = []
        for _ in range(n):
            picks: list[str] = []
            for _ in range(self.rng.choice((1, 1, 2, 3))):
                pool = [s for s in (relayable if self.rng.random() < 0.9 else every) if usable(s)]
                sku = self.rng.choice(pool) if pool else None
                if sku is not None and sku not in picks:
                    picks.append(sku)
                    if sku in self.store_variant:
                        self.picks[self.store_variant[sku]] += 1
            if not picks:
                continue
            orders.append(
                {
                    "status": _pick(self.rng, NEW_ORDER_STATUS_MIX),
                    "shipping_type": "TIKTOK" if self.rng.random() < 0.15 else "SELLER",
                    "fulfillment_type": "FULFILLMENT_BY_TIKTOK"
                    if self.rng.random() < 0.05
                    else "FULFILLMENT_BY_SELLER",
                    "lines": [{"sku_id": s, "quantity": self.rng.randint(1, 2)} for s in picks],
                }
            )
        ids = self.stack.admin("tiktok", "POST", "orders", json=orders)["ids"] if orders else []
        self.outcome.orders_created += len(ids)

    def store_available(self) -> dict[str, int]:
        """Store variant id -> available units now (store emulator state)."""
        state = self.stack.emulator(self.store).snapshot()
        return {vid: v[1] for vid, v in checks.store_values(self.store, state).items()}

    def sku_pools(self) -> tuple[list[str], list[str]]:
        """(TikTok SKUs the store can take: mapped, on Amazon FBA; every ACTIVATE SKU)."""
        fixture, expected = self.scenario.fixture, self.scenario.manifest.expected
        every = [s.id for p in fixture.tiktok.products if p.status == "ACTIVATE" for s in p.skus]
        mapped = expected[expected["status"] == "mapped"]
        if self.store == "amazon":
            fba = {lst.sku for lst in fixture.amazon.listings if lst.fulfillment == "FBA"}
            mapped = mapped[mapped["store_variant_id"].isin(fba)]
        active = set(every)
        relayable = sorted(set(mapped["tiktok_sku_id"]) & active)
        return relayable or every, every

    def move_waiting_orders(self) -> None:
        """Some UNPAID / ON_HOLD orders move on: most to AWAITING_SHIPMENT, a few cancelled."""
        state = self.stack.emulator("tiktok").snapshot()
        waiting = [o["id"] for o in state["orders"] if o["status"] in ("UNPAID", "ON_HOLD")]
        for order_id in self.rng.sample(waiting, k=len(waiting) // 2):
            status = "AWAITING_SHIPMENT" if self.rng.random() < 0.8 else "CANCELLED"
            self.stack.admin("tiktok", "POST", f"orders/{order_id}/status", json={"status": status})
            self.outcome.status_moves += 1

    def ship_and_cancel(self, share: float = 0.5) -> None:
        """Loop-back traffic: the store ships some relayed orders (Shopify: the merchant
        fulfils everything with a UPS tracking number; Amazon: MCF ships), TikTok cancels
        some others (buyer). Orders acted on stay eligible for the exactly-once check."""
        tiktok = {o["id"]: o for o in self.stack.emulator("tiktok").snapshot()["orders"]}
        state = self.stack.emulator(self.store).snapshot()
        in_store = checks.store_orders(self.store, state, list(tiktok))
        for tid, store_ids in sorted(in_store.items()):
            o = tiktok.get(tid)
            if o is None or o["status"] != checks.AWAITING_SHIPMENT or tid in self.looped:
                continue
            roll = self.rng.random()
            if roll >= share:
                continue
            try:
                if roll < share * 0.7:
                    if self.store == "shopify":
                        number = store_ids[0].rsplit("/", 1)[1]
                        tracking = {"number": "1ZCHAOS" + tid[-10:], "company": "UPS"}
                        self.stack.admin(
                            "shopify",
                            "POST",
                            f"orders/{number}/fulfill",
                            json={"tracking": tracking},
                        )
                    else:
                        self.stack.admin(
                            "amazon", "POST", f"mcf/{store_ids[0]}/advance", json={"to": "Complete"}
                        )
                    self.outcome.store_shipments += 1
                else:
                    self.stack.admin(
                        "tiktok",
                        "POST",
                        f"orders/{tid}/loopback",
                        json={"action": "cancel", "role": "BUYER"},
                    )
                    self.outcome.tiktok_cancels += 1
            except httpx.HTTPStatusError:
                continue  # e.g. the store order was cancelled meanwhile
            self.looped.add(tid)

    def edit_store(self, share: float = 0.08) -> None:
        """Change price and/or stock of a share of the mapped store variants in the store
        emulator's state (as a seller editing the store would)."""
        expected = self.scenario.manifest.expected
        variants = sorted(set(expected.loc[expected["status"] == "mapped", "store_variant_id"]))
        picked = self.rng.sample(variants, k=max(1, int(len(variants) * share)))
        for vid in picked:
            price_factor = Decimal(str(round(self.rng.uniform(0.9, 1.1), 3)))
            if self.picks[vid]:  # ordered before: keep enough for those orders
                stock = self.rng.randint(MIN_STOCK + 2 * self.picks[vid], 90)
            else:
                stock = 0 if self.rng.random() < 0.05 else self.rng.randint(1, 80)
            change_price, change_stock = self.rng.choice([(1, 0), (0, 1), (1, 1)])
            if self.store == "shopify":
                self._edit_shopify(
                    vid, price_factor if change_price else None, stock if change_stock else None
                )
            else:
                self._edit_amazon(
                    vid, price_factor if change_price else None, stock if change_stock else None
                )
            self.outcome.store_edits += 1

    def _edit_shopify(self, vid: str, factor: Decimal | None, stock: int | None) -> None:
        from sandbox.shopify.state import now_iso

        state = self.stack.emulator("shopify").state
        with state.lock:
            variant = state.variants[vid]
            if factor is not None:
                variant.price = max(
                    Decimal("0.99"), (variant.price * factor).quantize(Decimal("0.01"))
                )
                variant.updated_at = now_iso()
            if stock is not None:
                item = state.items[variant.inventory_item_id]
                level = next(iter(item.levels.values()))
                level.on_hand += stock - level.available
                level.available = stock
                level.updated_at = item.updated_at = now_iso()

    def _edit_amazon(self, sku: str, factor: Decimal | None, stock: int | None) -> None:
        amazon = self.stack.emulator("amazon")
        with amazon.lock:
            listing = amazon.listings[sku]
            if factor is not None:
                listing.price = max(
                    Decimal("0.99"), (listing.price * factor).quantize(Decimal("0.01"))
                )
            if stock is not None:
                listing.quantity = stock
            listing.updated = amazon.clock()

    # -- cycles ----------------------------------------------------------------------------
    def trigger(self) -> Trigger:
        kind = self.rng.choice(self.driver.options.kill_kinds)
        if kind == "delay":
            return Trigger("delay", round(self.rng.uniform(0.15, 0.9) * self.cycle_seconds, 1))
        if kind == "catalog":
            return Trigger("catalog", self.rng.randint(1, 30))
        if kind == "push":
            return Trigger("push", self.rng.randint(1, 8))
        return Trigger("relay", self.rng.randint(1, 4))

    def fired(self, trigger: Trigger, started: float, base: dict[str, int]) -> bool:
        if trigger.kind == "delay":
            return time.monotonic() - started >= trigger.value
        return self.progress(trigger.kind) - base[trigger.kind] >= trigger.value

    def progress(self, kind: str) -> int:
        if kind == "catalog":
            return self.count("tiktok", ("product.get", "product.search"))
        if kind == "push":
            return self.count("tiktok", TIKTOK_WRITES)
        if kind == "relay":
            return self.count(self.store, (CREATE_OPERATION[self.store],))
        return 0

    def cycle(
        self,
        phase: str,
        *,
        faults: bool,
        trigger: Trigger | None = None,
        steps: tuple[str, ...] = STEPS,
    ) -> CycleRecord:
        """Run one cycle in a child process; SIGKILL it when ``trigger`` fires."""
        n = len(self.outcome.cycles) + 1
        tag = f"c{n:02d}-{phase}"
        self.set_faults(faults, seed=self.driver.options.seed * 1000 + n)
        opts = self.driver.options
        # With faults the client may run 1.5x the server's limits, so throttling really
        # happens (429 / QuotaExceeded / THROTTLED, retried); clean runs pace at the limits.
        scale = opts.rate_scale * (1.5 if faults else 1.0)
        logs = self.driver.logs
        spec = {
            "shop": self.shop_id,
            "run_tag": tag,
            "steps": list(steps),
            "client_scale": scale,
            "pending_grace_s": opts.pending_grace_s,
            "env": self.driver.child_env,
            "log": str(logs / f"{self.shop_id}-{tag}.log"),
            "result": str(logs / f"{self.shop_id}-{tag}.json"),
        }
        base = {kind: self.progress(kind) for kind in ("catalog", "push", "relay")}
        expire_at = None
        if faults and self.rng.random() < opts.token_expiry_rate:
            expire_at = self.rng.uniform(0.1, 0.8) * self.cycle_seconds
        proc = self.driver.start_child(spec)
        started = time.monotonic()
        reason = None
        while proc.is_alive():
            if expire_at is not None and time.monotonic() - started >= expire_at:
                self.expire_tokens()
                expire_at = None
            if time.monotonic() - started > CYCLE_TIMEOUT_S:
                reason = f"hung: killed after {CYCLE_TIMEOUT_S:g} s"
            elif trigger is not None and self.fired(trigger, started, base):
                reason = trigger.describe()
            if reason:
                proc.kill()  # SIGKILL
                break
            time.sleep(0.01)
        proc.join()
        seconds = time.monotonic() - started
        killed = proc.exitcode == -signal.SIGKILL
        result_path = Path(spec["result"])
        result = json.loads(result_path.read_text()) if result_path.exists() else None
        record = CycleRecord(
            n,
            phase,
            tag,
            faults,
            reason if killed else None,
            killed,
            proc.exitcode,
            seconds,
            result,
        )
        if killed and reason and reason.startswith("hung"):
            self.outcome.violations.append(f"cycle #{n} ({phase}) {reason}")
        self.outcome.cycles.append(record)
        self.driver.say(f"{self.shop_id} #{n} {phase}: {record.step_status()} ({seconds:.1f} s)")
        return record

    # -- the scenario ----------------------------------------------------------------------
    def run(self) -> None:
        opts = self.driver.options
        started = time.monotonic()
        out = self.outcome
        self.add_historical_orders(opts.historical_orders)
        mapped = None
        for _ in range(2):  # fault-free; a second try only if something odd happened
            mapped = self.cycle("map", faults=False, steps=("catalog",))
            if mapped.ok:
                break
        assert mapped is not None
        if not mapped.ok:
            out.violations.append("the fault-free catalog (mapping) run failed")
            return
        self.cycle_seconds = max(3.0, mapped.seconds * 1.6)
        links = checks.read_mappings(self.driver.db(self.shop_id))
        out.mapped = len(links)
        time.sleep(1.1)  # TikTok times are whole seconds: new orders come after mapped_at
        waves = opts.kills + 1
        per_wave = [
            opts.orders // waves + (1 if i < opts.orders % waves else 0) for i in range(waves)
        ]
        self.add_orders(per_wave[0])
        self.edit_store()

        kills, attempts, missed = 0, 0, False
        while kills < opts.kills and attempts < opts.kills * 4:
            attempts += 1
            # A count trigger misses when the run has less work than it waits for; the next
            # try then kills after a short random delay instead.
            trigger = (
                Trigger("delay", round(self.rng.uniform(0.1, 0.6) * self.cycle_seconds, 1))
                if missed
                else self.trigger()
            )
            record = self.cycle("chaos", faults=True, trigger=trigger)
            missed = not record.killed
            if record.killed:
                kills += 1
                self.add_orders(per_wave[kills] if kills < waves else 0)
                self.ship_and_cancel()
                self.move_waiting_orders()
                self.edit_store(share=0.04)
        out.kills = kills
        if kills < opts.kills:
            out.violations.append(f"only {kills} of {opts.kills} kills happened")

        self.move_waiting_orders()
        self.ship_and_cancel()
        for _ in range(opts.max_reruns):
            out.reruns += 1
            if self.cycle("rerun", faults=True).ok:
                break
        # Orders relayed only by the reruns: their shipments and cancellations too.
        self.ship_and_cancel()

        final = None
        for _ in range(IDLE_RUNS):
            out.clean_runs += 1
            final = self.cycle("final", faults=False)
            if not final.ok:
                out.violations.append(
                    f"the fault-free run #{final.n} did not complete: {final.step_status()}"
                )
                break
            if self.idle(final):
                break
        assert final is not None
        if final.ok and not self.idle(final):
            out.violations.append(
                f"no fault-free run reached a state with nothing to do in {IDLE_RUNS} runs "
                f"(last: {out.final_writes} push writes, {out.final_relayed} relayed)"
            )
        self.check(links)
        out.seconds = time.monotonic() - started

    def idle(self, record: CycleRecord) -> bool:
        """Whether a completed cycle planned zero writes and relayed nothing."""
        steps = (record.result or {}).get("steps", {})
        push_run = steps.get("push", {}).get("run_id") or f"{record.run_tag}-push"
        self.outcome.final_writes = checks.push_ledger_rows(self.driver.db(self.shop_id), push_run)
        self.outcome.final_relayed = int(steps.get("relay", {}).get("counts", {}).get("RELAYED", 0))
        return self.outcome.final_writes == 0 and self.outcome.final_relayed == 0

    def check(self, links_after_map: dict[str, checks.Mapped]) -> None:
        """The invariants of this shop (see :mod:`bench.chaos.checks`)."""
        out = self.outcome
        db = self.driver.db(self.shop_id)
        links = checks.read_mappings(db)
        if links != links_after_map:
            changed = set(links.items()) ^ set(links_after_map.items())
            out.violations.append(f"mappings changed during the chaos ({len(changed)} links)")
        tiktok = self.stack.emulator("tiktok").snapshot()
        store_state = self.stack.emulator(self.store).snapshot()
        fba = set(store_state.get("fba", {})) if self.store == "amazon" else None
        eligible = checks.eligible_orders(tiktok, links, store=self.store, fba_skus=fba)
        in_store = checks.store_orders(self.store, store_state, [o["id"] for o in tiktok["orders"]])
        packages = self.stack.admin("tiktok", "GET", "loopback")["packages"]
        # Relayed while eligible, then shipped or cancelled on purpose, or shipped on TikTok
        # by the loop back (MCF orders move on as they are read): still exactly once.
        eligible |= self.looped | {str(p["order_id"]) for p in packages if p.get("shipped")}
        loop = checks.check_loop_back(
            self.store,
            tiktok,
            packages,
            store_state,
            in_store,
            checks.cancel_report_reasons(db),
        )
        out.boxes_on_tiktok, out.cancelled_in_store = (
            loop.shipped_on_tiktok,
            loop.cancelled_in_store,
        )
        out.violations += loop.violations
        orders = checks.check_orders(eligible, in_store)
        out.eligible, out.in_store = orders.eligible, orders.in_store
        out.duplicates, out.lost, out.unexpected = orders.duplicates, orders.lost, orders.unexpected
        out.violations += orders.violations
        if not eligible:
            out.violations.append("no eligible orders: the scenario tested nothing")
        out.violations += checks.check_ledgers_and_reports(
            db,
            self.store,
            in_store,
            self.driver.reports,
            self.shop_id,
            killed_runs=[c.run_tag for c in out.cycles if c.killed],
        )
        shop = self.driver.shop_config(self.shop_id)
        values = checks.check_prices_and_stock(
            shop,
            links,
            tiktok,
            store_state,
            shopify_currency=self.scenario.fixture.shopify.currency,
        )
        out.prices_checked, out.stock_checked = values.checked_prices, values.checked_stock
        out.violations += values.violations
        out.token_refreshes = self.requests("tiktok").get("auth.token_refresh", 0)
        for name in ("tiktok", self.store):
            injected = self.stack.admin(name, "GET", "faults")["injected"]
            for kind, n in injected.items():
                out.faults_injected[kind] = out.faults_injected.get(kind, 0) + int(n)


# ----- the driver ----------------------------------------------------------------------------


class ChaosDriver:
    """Runs every shop's scenario (one thread each), then the checks and the scan."""

    def __init__(self, options: ChaosOptions) -> None:
        self.options = options
        root = options.workdir or Path(tempfile.mkdtemp(prefix="skubridge-chaos-"))
        self.workdir = Path(root).resolve()
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.data = self.workdir / "data"  # created by skubridge itself (owner-only)
        self.reports = self.workdir / "reports"
        self.logs = self.workdir / "logs"
        self.logs.mkdir(exist_ok=True, mode=0o700)
        self.driver_log = self.logs / "driver.log"
        # Everything this process (emulators, fork server) writes to stdout/stderr.
        self.output_log = self.logs / "driver-output.log"
        self._console: TextIO | None = None
        self.shops_file = self.workdir / "shops.toml"
        self.child_env: dict[str, str] = {}
        self._lock = threading.Lock()
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)

    def say(self, text: str) -> None:
        """Progress line to the console and the driver log (which the security scan reads)."""
        line = f"{time.strftime('%H:%M:%S')} {text}"
        with self._lock:
            print(line, file=self._console or sys.stdout, flush=True)
            with self.driver_log.open("a", encoding="utf-8") as fh:
                fh.write(line + "\n")

    def db(self, shop_id: str) -> Path:
        return self.data / f"{shop_id}.duckdb"

    def shop_config(self, shop_id: str) -> Any:
        from skubridge.config import load_shops

        return load_shops(self.shops_file).get(shop_id)

    def start_child(self, spec: dict[str, Any]) -> Any:
        with self._lock:
            proc = self._context.Process(target=child_main, args=(spec,), daemon=True)
            proc.start()
        return proc

    def run(self) -> ChaosReport:
        """Run every shop, check, scan; the process's stdout/stderr go to a log meanwhile."""
        with _captured_output(self.output_log) as console:
            self._console = console
            try:
                return self._run()
            finally:
                self._console = None

    def _run(self) -> ChaosReport:
        started = time.monotonic()
        handler = logging.FileHandler(self.driver_log, encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root = logging.getLogger()
        root.addHandler(handler)
        uvicorn_log = logging.getLogger("uvicorn.error")
        uvicorn_level = uvicorn_log.level
        shops: list[ShopChaos] = []
        try:
            for index, store in enumerate(self.options.stores):
                shops.append(ShopChaos(self, index, store))
            # Dropped-after-commit faults end in tracebacks of the emulators' servers: expected
            # (set after the servers started: uvicorn sets its level when it starts).
            uvicorn_log.setLevel(logging.CRITICAL)
            self.shops_file.write_text(
                "".join(s.stack.shop_toml(s.shop_id, s.store) for s in shops), encoding="utf-8"
            )
            self.child_env = {
                **shops[0].stack.env(),
                "SKUBRIDGE_SHOPS_FILE": str(self.shops_file),
                "SKUBRIDGE_DATA_DIR": str(self.data),
                "SKUBRIDGE_REPORTS_DIR": str(self.reports),
                "NO_PROXY": "127.0.0.1,localhost,::1",
                "no_proxy": "127.0.0.1,localhost,::1",
            }
            self.say(
                f"chaos in {self.workdir}: {len(shops)} shops x {self.options.variants} "
                f"variants, {self.options.kills} kills and {self.options.orders} orders each"
            )
            threads = [threading.Thread(target=self._run_shop, args=(s,)) for s in shops]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            needles = checks.secret_needles(
                shops[0].stack.env(),
                [s.stack.emulator("tiktok") for s in shops],
                [s.stack.emulator("amazon") for s in shops],
            ) + checks.buyer_needles(s.stack.emulator("tiktok").snapshot() for s in shops)
            self.say("scanning every output for secrets and buyer data")
            root.removeHandler(handler)
            handler.close()
            logs = sorted(self.logs.glob("*.log")) + sorted(self.logs.glob("*.json"))
            scan = checks.scan_outputs(checks.output_texts(self.data, self.reports, logs), needles)
            perms = checks.permission_problems(self.data, self.reports)
        finally:
            root.removeHandler(handler)
            handler.close()
            for s in shops:
                s.stack.stop()
            uvicorn_log.setLevel(uvicorn_level)
        return ChaosReport(
            self.options,
            self.workdir,
            [s.outcome for s in shops],
            scan,
            perms,
            time.monotonic() - started,
        )

    def _run_shop(self, shop: ShopChaos) -> None:
        try:
            shop.run()
        except Exception as exc:  # a crash of the driver itself is a failed run, not a pass
            log.exception("chaos driver failed for %s", shop.shop_id)
            shop.outcome.violations.append(f"driver error: {type(exc).__name__}: {exc}")


@contextmanager
def _captured_output(path: Path) -> Iterator[TextIO]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so threads, C code and
    processes started meanwhile too) to ``path``; yield a stream to the real stdout."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    console = os.fdopen(os.dup(saved[0]), "w", buffering=1, encoding="utf-8")
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield console
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)
        console.close()


def run_chaos(options: ChaosOptions) -> ChaosReport:
    """Run the chaos suite (see the module docstring) and return its report."""
    os.environ.setdefault("DO_NOT_TRACK", "1")
    return ChaosDriver(options).run()
