"""`skubridge sandbox ...`: serve the local marketplace emulators, generate fixtures.

``serve`` starts the TikTok Shop, Shopify and Amazon emulators on loopback (one thread
each, :class:`sandbox.stack.SandboxStack`), prints their base URLs and blocks until
Ctrl-C or SIGTERM. ``generate`` writes a seeded fixture (and optionally its manifest).
"""

from __future__ import annotations

import json
import shlex
import signal
import threading
import time
from enum import StrEnum
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from sandbox.fixture import Fixture

app = typer.Typer(
    help="Local emulators of the TikTok Shop, Shopify and Amazon APIs.", no_args_is_help=True
)

SANDBOX_SHOPS = (("sandbox-shopify", "shopify"), ("sandbox-amazon", "amazon"))


class StoreKind(StrEnum):
    shopify = "shopify"
    amazon = "amazon"


def _fixture(fixture: Path | None, generate: int | None, seed: int, store: str, orders: int):
    """The fixture to serve: a file, a generated one, or None (empty emulators)."""
    from sandbox.fixture import load_fixture
    from sandbox.generator import generate_fixture

    if fixture is not None and generate is not None:
        raise typer.BadParameter("give either --fixture or --generate, not both")
    if fixture is not None:
        try:
            return load_fixture(fixture)
        except FileNotFoundError:
            raise typer.BadParameter(f"{fixture}: no such file", param_hint="--fixture") from None
        except ValueError as exc:  # JSON or validation errors
            raise typer.BadParameter(
                f"{fixture}: not a valid fixture: {exc}", param_hint="--fixture"
            ) from None
    if generate is not None:
        return generate_fixture(
            generate, seed=seed, store=store, orders=orders, orders_start=int(time.time())
        ).fixture
    return None


def _shops_with_a_store(scenario: Fixture | None) -> list[tuple[str, str]]:
    """The sandbox shops whose store side the served fixture fills (both when empty)."""
    if scenario is None:
        return list(SANDBOX_SHOPS)
    filled = {"shopify": bool(scenario.shopify.products), "amazon": bool(scenario.amazon.listings)}
    return [(shop, store) for shop, store in SANDBOX_SHOPS if filled[store]] or list(SANDBOX_SHOPS)


@app.command("serve")
def serve(
    fixture: Path | None = typer.Option(
        None, "--fixture", help="Fixture JSON to load (see sandbox/README.md)."
    ),
    generate: int | None = typer.Option(
        None, "--generate", min=1, help="Generate a catalog of N TikTok variants instead."
    ),
    seed: int = typer.Option(0, "--seed", help="Seed for --generate."),
    store: StoreKind = typer.Option(StoreKind.shopify, "--store", help="Store side to generate."),
    orders: int = typer.Option(0, "--orders", min=0, help="TikTok orders to generate."),
    tiktok_port: int = typer.Option(8701, "--tiktok-port", help="0 = any free port."),
    shopify_port: int = typer.Option(8702, "--shopify-port", help="0 = any free port."),
    amazon_port: int = typer.Option(8703, "--amazon-port", help="0 = any free port."),
    no_throttle: bool = typer.Option(False, "--no-throttle", help="Switch rate limits off."),
    rate_scale: float = typer.Option(
        1.0, "--rate-scale", help="Multiply the documented rate limits (e.g. 10 = faster)."
    ),
    write_shops: Path | None = typer.Option(
        None,
        "--write-shops",
        help="Write a shops.toml for the served stack (shops 'sandbox-shopify' and "
        "'sandbox-amazon') and print the credential env vars it refers to.",
    ),
) -> None:
    """Serve the three emulators on loopback until Ctrl-C / SIGTERM."""
    from sandbox.stack import SandboxStack

    scenario = _fixture(fixture, generate, seed, store.value, orders)
    deferred: list[dict[str, object]] = []
    if generate is not None and scenario is not None and scenario.orders:
        # Generated orders are placed at the first order search, i.e. after the first
        # catalog sync mapped their products, so the first relay relays them.
        deferred = [
            o.model_dump(exclude={"id", "create_time"}, exclude_none=True) for o in scenario.orders
        ]
        scenario = scenario.model_copy(update={"orders": []})
    stack = SandboxStack(
        scenario,
        throttle=not no_throttle,
        rate_scale=rate_scale,
        ports={"tiktok": tiktok_port, "shopify": shopify_port, "amazon": amazon_port},
    )
    stop = threading.Event()

    def on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        try:
            stack.start()
        except (OSError, RuntimeError) as exc:
            typer.echo(f"skubridge sandbox serve: cannot start the emulators: {exc}", err=True)
            raise typer.Exit(code=1) from None
        if deferred:
            stack.emulator("tiktok").defer_orders(deferred)
        for name, url in stack.urls.items():
            typer.echo(f"{name:8} {url}")
        if deferred:
            typer.echo(f"{len(deferred)} TikTok orders are placed at the first order search")
        if write_shops is not None:
            path = stack.write_shops_file(write_shops, _shops_with_a_store(scenario))
            typer.echo(f"shops file: {path}")
            typer.echo("# credentials the shops file refers to (sandbox values):")
            for name, value in stack.env().items():
                typer.echo(f"export {name}={shlex.quote(value)}")
            typer.echo(f"export SKUBRIDGE_SHOPS_FILE={shlex.quote(str(path.resolve()))}")
        typer.echo("serving; press Ctrl-C to stop")
        while not stop.wait(0.5):
            pass
    finally:
        stack.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    typer.echo("stopped")


@app.command("generate")
def generate(
    variants: int = typer.Argument(..., min=1, help="Number of TikTok variants."),
    seed: int = typer.Option(0, "--seed"),
    store: StoreKind = typer.Option(StoreKind.shopify, "--store"),
    orders: int = typer.Option(0, "--orders", min=0, help="TikTok orders to add."),
    out: Path = typer.Option(..., "--out", help="Fixture JSON file to write."),
    manifest: Path | None = typer.Option(
        None, "--manifest", help="Also write the manifest (expected mapping outcome) as JSON."
    ),
) -> None:
    """Write a seeded fixture with every anomaly kind (see sandbox/README.md)."""
    from sandbox.fixture import dump_fixture
    from sandbox.generator import generate_fixture

    scenario = generate_fixture(variants, seed=seed, store=store.value, orders=orders)
    out.write_text(dump_fixture(scenario.fixture), encoding="utf-8")
    if manifest is not None:
        manifest.write_text(json.dumps(scenario.manifest.to_dict(), indent=1), encoding="utf-8")
    counts = ", ".join(f"{k}={v}" for k, v in scenario.manifest.anomaly_counts().items() if v)
    typer.echo(f"wrote {out}: {variants} TikTok variants, {store.value} store ({counts})")
