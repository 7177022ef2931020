"""`skubridge rerun`: start one shop's deployment run on the Prefect server, on its queue.

`prefect deployment run` (3.9) has no option for the work queue, so a rerun started with
it, or with the deployment's Run button in the UI, goes to the deployment's default queue
and may land on a worker that does not hold the shop's DuckDB file (that run then fails
at once, see tasks/placement.py). This command sends the run to the shop's ``queue`` from
shops.toml, like `sync-all` does, through Prefect's ``run_deployment(...,
work_queue_name=...)``. It needs PREFECT_API_URL pointing at the server.
"""

from __future__ import annotations

import json
from typing import Any

import typer

from skubridge.commands.options import SHOP
from skubridge.config import ConfigError, load_shops


def _parse_params(items: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; each value is JSON when it parses, else a string (as Prefect)."""
    params: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise typer.BadParameter(f"{item!r}: use --param key=value")
        try:
            params[key] = json.loads(value)
        except json.JSONDecodeError:
            params[key] = value
    return params


def start_rerun(shop: str, deployment: str, parameters: dict[str, Any]) -> tuple[Any, str | None]:
    """Create the flow run of ``deployment`` for ``shop`` on the shop's queue.

    Returns (flow run, queue or None for the deployment's own queue).
    """
    from prefect.deployments import run_deployment

    config = load_shops().get(shop)
    run = run_deployment(
        name=deployment,
        parameters={**parameters, "shop": config.id},
        timeout=0,
        as_subflow=False,
        work_queue_name=config.queue,
    )
    return run, config.queue


def main(
    shop: str = SHOP,
    deployment: str = typer.Option(
        "sync-shop/sync-shop", help="Deployment to run, <flow>/<deployment>."
    ),
    param: list[str] = typer.Option(
        [], "--param", "-p", help="Extra flow parameter key=value (JSON value), repeatable."
    ),
) -> None:
    """Rerun one shop on the Prefect server, on the work queue that holds its file."""
    try:
        run, queue = start_rerun(shop, deployment, _parse_params(param))
    except ConfigError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    where = f"work queue '{queue}'" if queue else "the deployment's own work queue"
    typer.echo(f"flow run {run.name} ({run.id}) of {deployment} for shop {shop} on {where}")
