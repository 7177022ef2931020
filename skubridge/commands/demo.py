"""`skubridge demo`: the whole cycle for two sandbox shops, end to end, on this machine.

Starts the sandbox marketplaces (one TikTok shop + Shopify store, one TikTok shop + Amazon
seller account, generated catalogs with the usual anomalies and some historical orders),
writes a shops file pointing at them, and runs the ``sync-shop`` flow twice per shop on
Prefect's embedded (ephemeral) API with DuckDB files:

1. first cycle: import both catalogs, auto-map, report what failed and why, push prices and
   stock, look at orders (the historical ones stay in TikTok Seller Center);
2. new TikTok orders arrive (some shipped by TikTok with masked buyers, some with unmapped
   products), then a second cycle relays them into the store exactly once and pushes only
   what changed.

It prints a per-shop summary and where the reports are.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import typer

DEMO_SHOPS = (("demo-shopify", "shopify"), ("demo-amazon", "amazon"))


def main(
    variants: int = typer.Option(300, min=20, max=20000, help="TikTok variants per shop."),
    orders: int = typer.Option(12, min=0, max=500, help="New TikTok orders per shop."),
    seed: int = typer.Option(7, help="Seed of the generated catalogs and orders."),
    workdir: Path = typer.Option(
        Path("demo"), help="Folder for the shops file, DuckDB files and reports."
    ),
) -> None:
    """Run the whole cycle against the bundled sandbox marketplaces."""
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ["NO_PROXY"] = ",".join(
        filter(None, [os.environ.get("NO_PROXY"), "127.0.0.1,localhost"])
    )

    from sandbox.generator import generate_fixture
    from sandbox.stack import SandboxStack

    workdir = workdir.resolve()
    data, reports = workdir / "data", workdir / "reports"
    for shop_id, _ in DEMO_SHOPS:
        for leftover in (data / f"{shop_id}.duckdb", data / f"{shop_id}.duckdb.wal"):
            leftover.unlink(missing_ok=True)
    data.mkdir(parents=True, exist_ok=True)
    typer.echo(f"skubridge demo: two sandbox shops, {variants} TikTok variants each, in {workdir}")

    stacks: dict[str, SandboxStack] = {}
    try:
        shops_toml = ""
        for index, (shop_id, store) in enumerate(DEMO_SHOPS):
            # A few orders placed an hour ago, before anything was mapped: historical.
            scenario = generate_fixture(
                variants,
                seed=seed + index,
                store=store,
                orders=4,
                orders_start=int(time.time()) - 3600,
            )
            stack = SandboxStack(scenario.fixture).start()
            stacks[shop_id] = stack
            shops_toml += stack.shop_toml(shop_id, store)
            typer.echo(
                f"  sandbox for {shop_id}: " + ", ".join(f"{k} {v}" for k, v in stack.urls.items())
            )
        shops_file = workdir / "shops.toml"
        shops_file.write_text(shops_toml, encoding="utf-8")
        os.environ.update(next(iter(stacks.values())).env())
        os.environ["SKUBRIDGE_SHOPS_FILE"] = str(shops_file)
        os.environ["SKUBRIDGE_DATA_DIR"] = str(data)
        os.environ["SKUBRIDGE_REPORTS_DIR"] = str(reports)

        from flows.sync_shop import sync_shop

        results: dict[str, list[dict[str, Any]]] = {shop_id: [] for shop_id, _ in DEMO_SHOPS}
        typer.echo("\n== Cycle 1: import, map, push, orders (starting Prefect's embedded API) ==")
        for shop_id, _ in DEMO_SHOPS:
            results[shop_id].append(_cycle(sync_shop, shop_id))
        typer.echo(f"\n== {orders} new TikTok orders per shop arrive ==")
        for stack in stacks.values():
            # a tenth of multi-unit orders lose one unit on their own, as US/UK orders can
            mix = {"generate": orders, "seed": seed, "line_cancel_rate": 0.1}
            stack.admin("tiktok", "POST", "orders", json=mix)
        typer.echo("\n== Cycle 2: relay the new orders, push what changed ==")
        for shop_id, _ in DEMO_SHOPS:
            results[shop_id].append(_cycle(sync_shop, shop_id))
        typer.echo("")
        for shop_id, store in DEMO_SHOPS:
            _print_summary(shop_id, store, data, stacks[shop_id], results[shop_id])
    finally:
        for stack in stacks.values():
            stack.stop()
    typer.echo(
        "\nLook at the runs in the Prefect UI: `prefect server start`, then in another shell\n"
        "`export PREFECT_API_URL=http://127.0.0.1:4200/api` and run `make demo` again; the\n"
        "flow runs, their artifacts (unmapped products, counts per reason, push and order\n"
        "reports) appear under Runs and Artifacts at http://127.0.0.1:4200."
    )


def _cycle(sync_shop: Any, shop_id: str) -> dict[str, Any]:
    started = time.monotonic()
    state = sync_shop(shop_id, return_state=True)
    took = time.monotonic() - started
    status = "COMPLETED" if state.is_completed() else state.type.value
    typer.echo(f"  sync-shop {shop_id}: {status} in {took:.1f} s")
    if not state.is_completed():
        try:
            state.result()
        except Exception as exc:  # shown, never hidden: the demo reports what failed
            typer.echo(f"    {exc}")
    return {"status": status, "seconds": took}


def _print_summary(
    shop_id: str, store: str, data: Path, stack: Any, cycles: list[dict[str, Any]]
) -> None:
    from tasks.warehouse import connect

    con = connect(data / f"{shop_id}.duckdb", read_only=True)
    try:
        typer.echo(f"== {shop_id} ({store}) ==")
        typer.echo(
            "  cycles: " + ", ".join(f"{c['status']} ({c['seconds']:.0f} s)" for c in cycles)
        )
        rows = con.execute(
            "SELECT status, coalesce(reason, method) AS why, count(*) FROM mapping_report"
            " WHERE run_id = (SELECT run_id FROM mapping_report ORDER BY rowid DESC LIMIT 1)"
            " GROUP BY ALL ORDER BY 1, 3 DESC"
        ).fetchall()
        typer.echo("  mapping (TikTok SKUs): " + ", ".join(f"{s} {w}: {n}" for s, w, n in rows))
        for label, flow, table, column in (
            ("push to TikTok", "push-prices-and-stock", "push_report", "status"),
            ("orders", "relay-orders", "order_report", "reason"),
        ):
            runs = con.execute(
                "SELECT run_id FROM runs WHERE flow = ? ORDER BY started_at", [flow]
            ).fetchall()
            parts = []
            for cycle, (run_id,) in enumerate(runs, 1):
                counts = con.execute(
                    f"SELECT {column}, count(*) FROM {table} WHERE run_id = ?"
                    " GROUP BY 1 ORDER BY 2 DESC",
                    [run_id],
                ).fetchall()
                text = ", ".join(f"{k}: {n}" for k, n in counts) or "nothing to change"
                parts.append(f"cycle {cycle}: {text}")
            typer.echo(f"  {label}: " + " | ".join(parts))
        masked = con.execute(
            "SELECT count(*) FROM order_report WHERE warning = 'MASKED_BUYER'"
        ).fetchone()[0]
        if masked:
            typer.echo(
                f"  {masked} relayed order(s) had masked buyer data (shipped by TikTok): switch the"
                " TikTok shop to Seller Shipping to get full customer details."
            )
        store_orders = _store_order_count(stack, store)
        typer.echo(f"  orders now in the sandbox {store}: {store_orders}")
        last = con.execute(
            "SELECT report_dir FROM runs WHERE report_dir IS NOT NULL"
            " ORDER BY started_at DESC LIMIT 1"
        ).fetchone()
        typer.echo(f"  DuckDB: {data / (shop_id + '.duckdb')}")
        if last:
            typer.echo(f"  latest reports: {Path(last[0]).parent}")
    finally:
        con.close()


def _store_order_count(stack: Any, store: str) -> int:
    state = stack.admin(store, "GET", "state")
    if store == "shopify":
        return len(state.get("orders", []))
    return len(state.get("mcf_orders", []))
