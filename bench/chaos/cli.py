"""Chaos run: whole sync cycles for two sandbox shops under faults and SIGKILL, then checks.

``python -m bench.chaos [--seed S] [--kills K] [--orders N] [--variants V] [--max-reruns R]``
(``make chaos``). The engine is :mod:`bench.chaos.engine` (importable, also used by
``tests/chaos``); this module is its command line: it prints the figures (faults injected,
kills, reruns, orders, duplicates, lost), writes them to the "Chaos" section of
docs/BENCHMARKS.md and exits 1 when any invariant is violated.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
from pathlib import Path

from bench.docs import write_section

DOCS = Path(__file__).resolve().parents[2] / "docs" / "BENCHMARKS.md"
SECTION = "## Chaos"


def _prepare_environment(workdir: Path) -> None:
    """Prefect and GX quiet and local before anything imports them (the fork server's
    children inherit this): a private PREFECT_HOME, no analytics, loopback without proxy."""
    os.environ.setdefault("PREFECT_HOME", str(workdir / "prefect-home"))
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"
    os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
    for var in ("NO_PROXY", "no_proxy"):
        os.environ[var] = ",".join(filter(None, [os.environ.get(var), "127.0.0.1,localhost,::1"]))


def docs_section(report, command: str) -> str:  # type: ignore[no-untyped-def]
    """The "Chaos" section of docs/BENCHMARKS.md for ``report`` (a ChaosReport)."""
    o = report.options
    rows = [
        ("verdict", "**PASSED**" if report.ok else "**FAILED**"),
        ("faults injected", f"{report.faults_injected()} ({_fault_kinds(report)})"),
        ("forced throttle answers", str(report.total("forced_throttles"))),
        (
            "access tokens expired mid-run",
            f"{report.total('token_expiries')} (TikTok token refreshes: "
            f"{report.total('token_refreshes')})",
        ),
        ("SIGKILLs", str(report.total("kills"))),
        ("reruns with faults", str(report.total("reruns"))),
        ("fault-free final runs", str(report.total("clean_runs"))),
        (
            "TikTok orders after mapping",
            f"{report.total('orders_created')} "
            f"(+{report.total('historical_orders')} placed before it)",
        ),
        (
            "eligible orders / in the stores",
            f"{report.total('eligible')} / {report.total('in_store')}",
        ),
        ("duplicates", str(report.total("duplicates"))),
        ("lost", str(report.total("lost"))),
        ("store orders for ineligible TikTok orders", str(report.total("unexpected"))),
        (
            "prices / stock checked against the store",
            f"{report.total('prices_checked')} / {report.total('stock_checked')}",
        ),
        (
            "writes planned by the final run",
            ", ".join(f"{s.shop_id} {s.final_writes}" for s in report.shops),
        ),
        (
            "outputs scanned for secrets and buyer data",
            f"{report.scan.outputs} "
            f"({report.scan.chars:,} chars, {report.scan.needles} values): "
            f"{len(report.scan.hits)} hits",
        ),
        ("files or folders not owner-only", str(len(report.permission_problems))),
        ("violations", str(len(report.violations))),
        ("wall time", f"{report.seconds:.0f} s"),
    ]
    table = "\n".join(f"| {k} | {v} |" for k, v in rows)
    per_shop = "\n".join(
        f"- {s.shop_id}: {s.mapped} mapped SKUs; cycles: "
        + "; ".join(
            f"{c.phase}{' +faults' if c.faults else ''} {c.step_status()}" for c in s.cycles
        )
        for s in report.shops
    )
    violations = "".join(f"\n- VIOLATION: {v}" for v in report.violations)
    return f"""{SECTION}

Whole sync cycles under faults and SIGKILL (`bench/chaos/cli.py`, engine `bench/chaos/engine.py`;
a reduced run is part of `make test`: `tests/chaos/`).

- Command: `{command}`
- Machine: {platform.platform()}, Python {platform.python_version()}, {os.cpu_count()} CPUs \
(shared with other work while measured).
- Setup: {len(report.shops)} shops (Shopify, Amazon), each {o.variants} generated TikTok \
variants on its own emulator stack (throttling on, rate scale {o.rate_scale:g}) in the \
driver process; every cycle (catalog -> push -> relay) runs in a child process; {o.kills} \
SIGKILLs per shop at random points (a random delay, or after k catalog reads, k TikTok \
writes or k store order creates); faults on every emulator during the chaos runs \
(error {o.error_rate:g}, drop after commit {o.drop_after_commit_rate:g}, truncated body \
{o.malformed_rate:g}, latency {o.latency_ms:g} + up to {o.jitter_ms:g} ms, forced \
throttling, access tokens expired mid-run in {o.token_expiry_rate:.0%} of those runs; \
seed {o.seed}); new orders, order status changes and store price/stock edits between \
runs; then reruns until a cycle completes and fault-free runs until one has nothing left \
to do.
- Checked: every eligible TikTok order (AWAITING_SHIPMENT, seller-fulfilled, all lines \
mapped, created after the mapping, Amazon: FBA only) is in the store exactly once and no \
other is; TikTok price and stock equal the store's through the shop's rules; no PENDING \
row in order_ledger or push_ledger; the relay ledger and order reports name exactly the \
store's orders; every report table run has CSV and Parquet files with the same rows; \
mappings unchanged; no secret or buyer name/phone/address/email in any log, DuckDB table \
or file bytes, CSV or Parquet report; data and report files owner-only.

| figure | value |
| --- | --- |
{table}

{per_shop}{violations}

Notes:

- The cycle (`run_cycle`) calls the step runners (`run_catalog`, `run_push`, `run_orders`)
  without a Prefect API, so no Prefect artifacts exist to scan; they would show the same
  report frames as the CSV/Parquet files that are scanned.
- The relay's PENDING grace is 0 s here (the emulators index new orders at once; Shopify's
  default is 300 s for its search lag). `python -m bench.chaos --kill-at relay
  --pending-grace 300` shows the checks failing: a create cut off by a kill stays PENDING
  and its order is reported lost.
- The Amazon emulator finishes the All Listings report at the first poll (the client would
  otherwise wait 5 s per cycle); report states are tested in the connector tests.
- New orders only use mapped SKUs whose store variant has stock to spare: Shopify orders
  decrement stock below zero, and oversold variants beyond `guards.max_bad_value_share`
  block the catalog step by design (with 60 variants, 2 oversold variants do).
- Report files of SIGKILLed runs are not compared with their table rows: a kill between the
  table insert and the file writes leaves partial files of a run that never finished.
- Seen, not enforced: a relay run killed after it saved its watermark but before it
  published its order report leaves the orders it closed (e.g. historical ones) out of
  every later report (the next window starts at that watermark); the ledger has them.
  The checks therefore compare the relay ledger, not each report, for closed orders.
"""


def _fault_kinds(report) -> str:  # type: ignore[no-untyped-def]
    total: dict[str, int] = {}
    for s in report.shops:
        for k, v in s.faults_injected.items():
            total[k] = total.get(k, 0) + v
    return ", ".join(f"{k} {v}" for k, v in sorted(total.items())) or "none"


def write_docs(section: str) -> None:
    """Replace (or append) the "Chaos" section of docs/BENCHMARKS.md; other sections stay."""
    write_section(SECTION, section, DOCS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--kills", type=int, default=3, help="SIGKILLs per shop")
    parser.add_argument("--orders", type=int, default=60, help="TikTok orders per shop")
    parser.add_argument("--variants", type=int, default=300, help="TikTok variants per shop")
    parser.add_argument("--max-reruns", type=int, default=6, help="faulted reruns per shop")
    parser.add_argument("--rate-scale", type=float, default=5.0)
    parser.add_argument(
        "--kill-at",
        default="push,relay,catalog,delay",
        help="comma-separated kill points: push, relay, catalog, delay",
    )
    parser.add_argument(
        "--pending-grace",
        type=float,
        default=0.0,
        help="relay PENDING grace in seconds (>0 shows what the checks catch)",
    )
    parser.add_argument("--workdir", type=Path, help="keep outputs here (default: a temp dir)")
    parser.add_argument("--json", type=Path, help="also write the report as JSON here")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/BENCHMARKS.md")
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path(tempfile.mkdtemp(prefix="skubridge-chaos-"))).resolve()
    workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
    _prepare_environment(workdir)

    from bench.chaos.engine import ChaosOptions, run_chaos

    options = ChaosOptions(
        seed=args.seed,
        kills=args.kills,
        orders=args.orders,
        variants=args.variants,
        max_reruns=args.max_reruns,
        rate_scale=args.rate_scale,
        workdir=workdir,
        kill_kinds=tuple(k.strip() for k in args.kill_at.split(",") if k.strip()),
        pending_grace_s=args.pending_grace,
    )
    report = run_chaos(options)
    print("\n".join(report.summary_lines()))
    print(f"outputs and logs: {workdir}")
    if args.json:
        args.json.write_text(json.dumps(report.to_dict(), indent=2, default=str))
    if not args.no_docs:
        command = "python -m bench.chaos " + " ".join(argv if argv is not None else sys.argv[1:])
        write_docs(docs_section(report, command.strip()))
        print(f"figures written to {DOCS}")
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
