"""`skubridge webhooks serve|register`: the webhook receiver and the marketplace subscriptions.

``serve`` runs :mod:`skubridge.webhooks` under uvicorn for the shops of the shops file.
``register --shop ID --url https://hooks.example.com`` subscribes the shop's TikTok app and
Shopify store to the topics the deployment triggers in prefect.yaml act on; it only lists
them unless ``--apply`` is given.
"""

from __future__ import annotations

import asyncio
import logging
import os
from pathlib import Path

import typer

from skubridge.commands.options import SHOP, SHOPS_FILE
from skubridge.config import ConfigError, ShopConfig, load_shops

app = typer.Typer(
    help="Receive marketplace webhooks as Prefect events; subscribe shops to them.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
    port: int = typer.Option(8780, "--port", help="Port to listen on."),
    shop: list[str] = typer.Option(
        [], "--shop", help="Serve only these shop ids (repeatable); default every shop."
    ),
    window: float = typer.Option(
        5.0,
        "--window",
        min=0.0,
        help="Seconds to collect the changes of one shop before emitting one event.",
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Verify deliveries and emit Prefect events (PREFECT_API_URL names the server)."""
    import uvicorn
    from prefect.settings import PREFECT_API_URL

    from skubridge.webhooks import create_app, webhook_shops

    # The environment first: the settings object may have been built before it was set.
    if not (os.environ.get("PREFECT_API_URL") or PREFECT_API_URL.value()):
        # Without it emit_event would go to a throwaway in-process server: no triggers.
        typer.echo(
            "skubridge webhooks serve: PREFECT_API_URL is not set; point it at the Prefect "
            "server whose deployment triggers should see the events",
            err=True,
        )
        raise typer.Exit(code=2)
    try:
        shops = load_shops(shops_file)
        for shop_id in shop:
            shops.get(shop_id)
        served = webhook_shops(shops, only=shop or None)
    except ConfigError as exc:
        typer.echo(f"skubridge webhooks serve: {exc}", err=True)
        raise typer.Exit(code=2) from None
    for warning in served.warnings:
        typer.echo(f"warning: {warning}", err=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    typer.echo(
        f"Receiving on http://{host}:{port}/webhooks/tiktok and /webhooks/shopify "
        f"({sum(len(a.shops) for a in served.tiktok)} TikTok shop(s), "
        f"{len(served.shopify)} Shopify store(s))"
    )
    # access_log off: the access log would record every caller; refusals are logged by us.
    uvicorn.run(create_app(served, window=window), host=host, port=port, access_log=False)


@app.command("register")
def register(
    shop: str = SHOP,
    url: str = typer.Option(
        ...,
        "--url",
        help="Public base URL of the receiver, e.g. https://hooks.example.com "
        "(/webhooks/tiktok and /webhooks/shopify are appended).",
    ),
    apply: bool = typer.Option(
        False, "--apply", help="Subscribe for real; without it only the plan is listed."
    ),
    shops_file: Path | None = SHOPS_FILE,
) -> None:
    """Subscribe the shop's TikTok app and Shopify store to the receiver (dry run by default)."""
    from connectors.errors import ApiError
    from connectors.webhook_subscriptions import plan

    if not url.startswith(("https://", "http://")):
        raise typer.BadParameter("must start with https://", param_hint="--url")
    try:
        config = load_shops(shops_file).get(shop)
    except ConfigError as exc:
        typer.echo(f"skubridge webhooks register: {exc}", err=True)
        raise typer.Exit(code=2) from None
    wanted = plan(url, shopify=config.store == "shopify")
    if not url.startswith("https://"):
        typer.echo("warning: TikTok and Shopify deliver only to https:// addresses", err=True)
    if config.store == "amazon":
        typer.echo("note: Amazon notifications are not subscribed (the schedules poll Amazon)")
    if not apply:
        for sub in wanted:
            typer.echo(f"would subscribe {sub.marketplace} {sub.topic} -> {sub.address}")
        typer.echo("Dry run: nothing was subscribed (add --apply).")
        return
    try:
        done, tiktok_shop_id = asyncio.run(_register(config, wanted))
    except (ConfigError, ApiError) as exc:
        typer.echo(f"skubridge webhooks register: shop '{shop}': {exc}", err=True)
        raise typer.Exit(code=1) from None
    for sub in done:
        typer.echo(f"{sub.marketplace} {sub.topic} -> {sub.address}: {sub.outcome}")
    if tiktok_shop_id and config.tiktok.shop_id != tiktok_shop_id:
        typer.echo(
            f'TikTok shop_id is {tiktok_shop_id}: set tiktok.shop_id = "{tiktok_shop_id}" '
            f"for shop '{shop}' so the receiver accepts its deliveries"
        )
    if not all(sub.ok for sub in done):
        raise typer.Exit(code=1)


async def _register(config: ShopConfig, wanted: list) -> tuple[list, str | None]:
    from connectors.factory import store_client, tiktok_client
    from connectors.webhook_subscriptions import subscribe_shopify, subscribe_tiktok

    done = []
    async with tiktok_client(config) as tiktok:
        done += await subscribe_tiktok(tiktok, [s for s in wanted if s.marketplace == "tiktok"])
        tiktok_shop_id = tiktok.shop_id
    shopify = [s for s in wanted if s.marketplace == "shopify"]
    if shopify:
        async with store_client(config) as store:
            done += await subscribe_shopify(store, shopify)
    return done, tiktok_shop_id
