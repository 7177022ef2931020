"""Flow ``sync-shop``: the whole cycle for one shop.

catalog (extract -> checks -> map -> reports) -> push (plan -> guards -> writes) -> relay
orders. Wiring only: the cycle's rules (catalog failed -> push skipped; a failed step
never stops the orders step) are :func:`tasks.steps.cycle.run_cycle`'s; here each step is
a subflow (its own run record, reports, artifacts and retries on transient errors only).
The ``runs`` row of this flow names the failed step(s) and why; the run ends Failed then.
One shop never runs twice at once: the cycle holds the shop's slot
(:mod:`flows.shop_lock`); its subflows run inside that hold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, get_run_logger

from connectors.redact import install_log_redaction
from flows.links import run_link
from flows.naming import run_name, shop_and_steps
from flows.push_prices_and_stock import push_prices_and_stock
from flows.relay_orders import relay_orders
from flows.shop_lock import hold_shop
from flows.sync_catalog import sync_catalog
from skubridge.config import load_shops
from tasks.reports import markdown_artifact, markdown_table, table_artifact
from tasks.runs import current_run_id
from tasks.steps.cycle import FLOW_NAME, run_cycle

Step = Literal["catalog", "push", "relay"]
ALL_STEPS: list[Step] = ["catalog", "push", "relay"]


class SyncShopFailed(Exception):
    """At least one step of the cycle failed; the message names the steps and reasons."""


def _error_of(state: Any) -> str:
    try:
        state.result()
    except Exception as exc:  # the subflow's own exception, already redacted by it
        return f"{type(exc).__name__}: {exc}"
    return state.message or state.name


@flow(name=FLOW_NAME, flow_run_name=run_name(FLOW_NAME, shop_and_steps), log_prints=True)
def sync_shop(
    shop: str,
    steps: list[Step] = ALL_STEPS,
    dry_run: bool = False,
    force: bool = False,
    full: bool = False,
    changed_only: bool = False,
) -> dict[str, Any]:
    """Run the whole cycle for one shop: catalog -> push -> relay orders.

    Args:
        shop: Shop id from the shops file.
        steps: Which steps to run, in cycle order (catalog, push, relay; all by default).
        dry_run: Push and relay compute and report but write nothing to any marketplace.
        force: Let the push through a failed guard for this run only.
        full: Read both catalogs whole (the periodic reconciliation), not only what changed.
        changed_only: Store-change events, with steps [push]: the push reads the changes of
            both sides and writes only those SKUs.
    """
    install_log_redaction()
    config = load_shops().get(shop)  # fail at once on a bad shops file or unknown shop
    logger = get_run_logger()

    def subflow(name: str) -> dict[str, Any]:
        if name == "catalog":
            return _outcome(sync_catalog(shop, full=full, return_state=True))
        if name == "push":
            state = push_prices_and_stock(
                shop, dry_run=dry_run, force=force, changed_only=changed_only, return_state=True
            )
            return _outcome(state)
        return _outcome(relay_orders(shop, dry_run=dry_run, return_state=True))

    cycle = run_cycle(
        config.id,
        run_id=current_run_id(),
        run_step=subflow,
        steps=steps,
        hold=hold_shop(config.id),
    )
    markdown_artifact(
        f"sync-shop-{config.id}",
        _summary_markdown(config.id, cycle.steps),
        description=f"sync-shop {config.id}: {'COMPLETED' if cycle.ok else 'FAILED'}",
    )
    import pandas as pd

    table_artifact(
        f"sync-shop-steps-{config.id}",
        pd.DataFrame(_step_rows(cycle.steps)),
        description=f"Steps of sync-shop {config.id}: outcome, reason, child run, reports",
    )
    for name, o in cycle.steps.items():
        logger.info("%s: %s%s", name, o["status"], f" ({o['error']})" if o.get("error") else "")
    if not cycle.ok:
        raise SyncShopFailed(f"shop {config.id}: {cycle.error}")
    return {"shop": config.id, "run_id": cycle.run_id, "steps": cycle.steps}


def _outcome(state: Any) -> dict[str, Any]:
    child = getattr(state.state_details, "flow_run_id", None)
    run = {"flow_run_id": str(child)} if child else {}
    if state.is_completed():
        result = state.result()
        return {"status": "COMPLETED", "result": result, **run}
    return {"status": "FAILED", "error": _error_of(state), **run}


def _step_rows(outcomes: dict[str, dict[str, Any]]) -> list[dict[str, str]]:
    """One row per step: outcome, reason (failed) or counts, the child run, its reports."""
    rows = []
    for name, o in outcomes.items():
        result = o.get("result") or {}
        rows.append(
            {
                "step": name,
                "status": o["status"],
                "run": run_link(o.get("flow_run_id"), f"{name} run"),
                "reports": _report_place(result),
                "reason": o.get("error") or "",
                "detail": "" if o.get("error") else _detail(name, o),
            }
        )
    return rows


def _report_place(result: dict[str, Any]) -> str:
    report = result.get("report")  # relay: the order report's CSV
    folder = result.get("report_dir") or (str(Path(report).parent) if report else "")
    # <shop>/<run folder> under the reports folder: short enough to keep the table on screen
    return f"`{Path(folder).parent.name}/{Path(folder).name}`" if folder else ""


def _summary_markdown(shop: str, outcomes: dict[str, dict[str, Any]]) -> str:
    import pandas as pd

    failed = [name for name, o in outcomes.items() if o["status"] == "FAILED"]
    head = f"# sync-shop {shop}: " + ("FAILED at " + ", ".join(failed) if failed else "COMPLETED")
    lines = [head, ""]
    for name in failed:
        lines += [f"**{name} failed**: {outcomes[name].get('error')}", ""]
    table = pd.DataFrame(_step_rows(outcomes))
    # The full reasons are above; the table keeps its columns on the page.
    table["reason"] = table["reason"].map(lambda r: r if len(r) <= 80 else r[:79] + "…")
    lines.append(markdown_table(table))
    lines += [
        "",
        "Each step's run page holds its reports (mapping, push, order) as artifacts; the "
        "files are in the folders above (under the reports folder) and in "
        "`reports/<shop>/latest/`.",
    ]
    return "\n".join(lines)


def _detail(name: str, outcome: dict[str, Any]) -> str:
    result = outcome.get("result") or {}
    counts = result.get("reason_counts" if name == "catalog" else "counts") or {}
    if isinstance(counts, list):  # catalog: [{"status":..., "reason":..., "skus": n}, ...]
        return ", ".join(" ".join(str(v) for v in row.values() if v is not None) for row in counts)
    return ", ".join(f"{k}: {v}" for k, v in counts.items())
