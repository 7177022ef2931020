"""One sync cycle for one shop, run in a child process the chaos driver may SIGKILL.

The chaos suite (:mod:`tasks.chaos`) runs the marketplace emulators in its own process and
each cycle in a child forked from a preloaded fork server (``multiprocessing`` forkserver:
importing Prefect, GX, pandas and DuckDB once instead of per child). This module is that
child's side: :func:`run_cycle` runs catalog -> push -> relay with the same plain step
functions the ``sync-shop`` flow wraps, and with its rules (a failed catalog step skips the
push, the relay still runs), without Prefect, to keep a cycle short.

:func:`child_main` is the process entry: it takes its environment (shops file, data and
report folders, sandbox credentials) from the driver, sends stdout/stderr to a log file the
security scan reads afterwards, writes a JSON summary next to it and exits 0 only when every
step completed.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any

CYCLE_FLOW = "chaos-cycle"
STEPS = ("catalog", "push", "relay")
# Preloaded by the fork server so that a child starts in milliseconds.
PRELOAD = [
    "tasks.chaos_cycle",
    "flows.sync_catalog",
    "flows.push_prices_and_stock",
    "tasks.relay",
    "skubridge.config",
]


def run_cycle(
    shop_id: str,
    *,
    run_tag: str,
    steps: tuple[str, ...] = STEPS,
    client_scale: float = 1.0,
    pending_grace_s: float = 0.0,
) -> dict[str, Any]:
    """Run ``steps`` of the cycle for ``shop_id``; returns per-step status and counts.

    Each step gets its own run id (``<run_tag>-<step>``) and so its own report folder.
    ``client_scale`` multiplies the connectors' rate limits (the emulators' ``rate_scale``
    counterpart). ``pending_grace_s`` is the relay's trust in a PENDING ledger row over the
    store's search: the emulators index new orders at once (no search lag), so 0 lets a
    rerun look a crashed create up immediately instead of waiting Shopify's 300 s default.
    """
    from connectors.redact import install_log_redaction
    from flows.push_prices_and_stock import push_run
    from flows.sync_catalog import CatalogStepError, run_catalog_step
    from skubridge.config import load_shops
    from tasks.relay import relay_run
    from tasks.runs import finish_run, start_run
    from tasks.warehouse import open_shop

    install_log_redaction()
    shop = load_shops().get(shop_id)
    client = {"rate_scale": client_scale}
    with open_shop(shop.id) as con:
        start_run(con, run_id=run_tag, flow=CYCLE_FLOW, shop_id=shop.id)
    out: dict[str, Any] = {"shop": shop.id, "run_tag": run_tag, "steps": {}}
    results = out["steps"]
    clock = time.monotonic()
    if "catalog" in steps:
        try:
            summary = run_catalog_step(shop, run_id=f"{run_tag}-catalog", client_options=client)
            results["catalog"] = {"status": "COMPLETED", "mapped": summary.mapping.get("linked")}
        except CatalogStepError as exc:
            results["catalog"] = {"status": "FAILED", "step": exc.step, "error": str(exc)}
        except Exception as exc:  # a crash of the step is a failed step, as in sync-shop
            results["catalog"] = {"status": "FAILED", "error": f"{type(exc).__name__}: {exc}"}
    _timed(results, "catalog", clock)
    clock = time.monotonic()
    if "push" in steps:
        if results.get("catalog", {}).get("status") == "FAILED":
            results["push"] = {"status": "SKIPPED", "error": "catalog step failed"}
        else:
            try:
                outcome = push_run(shop, run_id=f"{run_tag}-push", client_kwargs=client)
                results["push"] = {
                    "status": "COMPLETED" if outcome.ok else "FAILED",
                    "run_id": outcome.run_id,
                    "counts": outcome.counts,
                    "error": None if outcome.ok else outcome.message,
                }
            except Exception as exc:
                results["push"] = {"status": "FAILED", "error": f"{type(exc).__name__}: {exc}"}
    _timed(results, "push", clock)
    clock = time.monotonic()
    if "relay" in steps:
        try:
            relayed = relay_run(
                shop,
                run_id=f"{run_tag}-relay",
                flow="relay-orders",
                pending_grace_s=pending_grace_s,
                client_kwargs=client,
            )
            results["relay"] = {
                "status": "COMPLETED",
                "run_id": relayed.run_id,
                "counts": relayed.counts(),
            }
        except Exception as exc:
            results["relay"] = {"status": "FAILED", "error": f"{type(exc).__name__}: {exc}"}
    _timed(results, "relay", clock)
    failed = [name for name, r in results.items() if r["status"] != "COMPLETED"]
    out["ok"] = not failed
    with open_shop(shop.id) as con:
        finish_run(
            con,
            run_id=run_tag,
            status="FAILED" if failed else "COMPLETED",
            failed_step=",".join(failed) or None,
            error="; ".join(f"{n}: {results[n].get('error')}" for n in failed)[:1000] or None,
            summary=out,
        )
    return out


def _thread_lock_for_progress_bars() -> None:
    """GX's progress bars (tqdm) create a multiprocessing lock, registered with the driver's
    resource tracker; a SIGKILLed child never unregisters it, and the tracker warns about
    "leaked semaphores" at exit. This child is one process: a thread lock does."""
    import threading

    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - GX brings tqdm
        return
    tqdm.set_lock(threading.RLock())


def _timed(results: dict[str, Any], step: str, since: float) -> None:
    if step in results:
        results[step]["seconds"] = round(time.monotonic() - since, 2)


def child_main(spec: dict[str, Any]) -> None:
    """Child process entry: environment from ``spec["env"]``, output to ``spec["log"]``,
    summary JSON to ``spec["result"]``; exit 0 when every step completed, 1 otherwise."""
    log = Path(spec["log"])
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    os.environ.update(spec["env"])
    _thread_lock_for_progress_bars()
    try:
        out = run_cycle(
            spec["shop"],
            run_tag=spec["run_tag"],
            steps=tuple(spec.get("steps") or STEPS),
            client_scale=float(spec.get("client_scale", 1.0)),
            pending_grace_s=float(spec.get("pending_grace_s", 0.0)),
        )
    except BaseException as exc:
        out = {"ok": False, "error": f"{type(exc).__name__}: {exc}"[:1000], "steps": {}}
    Path(spec["result"]).write_text(json.dumps(out, default=str), encoding="utf-8")
    sys.stdout.flush()
    sys.stderr.flush()
    sys.exit(0 if out.get("ok") else 1)  # multiprocessing turns this into the exit code
