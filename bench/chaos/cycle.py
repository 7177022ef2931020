"""One sync cycle for one shop, run in a child process the chaos driver may SIGKILL.

The chaos suite (:mod:`bench.chaos.engine`) runs the marketplace emulators in its own
process and each cycle in a child forked from a preloaded fork server (``multiprocessing``:
forkserver, importing Prefect, GX, pandas and DuckDB once instead of per child). This module is that
child's side: :func:`run_cycle` runs catalog -> push -> relay through the cycle runner the
``sync-shop`` flow uses (:func:`tasks.steps.cycle.run_cycle`, same rules: a failed catalog
step skips the push, the relay still runs), with the plain step runners instead of
subflows, without Prefect, to keep a cycle short.

:func:`child_main` is the process entry: it takes its environment (shops file, data and
report folders, sandbox credentials) from the driver, sends stdout/stderr to a log file the
security scan reads afterwards, writes a JSON summary next to it and exits 0 only when every
step completed.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

CYCLE_FLOW = "chaos-cycle"
STEPS = ("catalog", "push", "relay")
# Preloaded by the fork server so that a child starts in milliseconds.
PRELOAD = [
    "bench.chaos.cycle",
    "prefect",
    "tasks.steps.cycle",
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

    :func:`tasks.steps.cycle.run_cycle` with the plain step runners: each step gets its own
    run id (``<run_tag>-<step>``) and so its own report folder. ``client_scale`` multiplies
    the connectors' rate limits (the emulators' ``rate_scale`` counterpart).
    ``pending_grace_s`` is the relay's trust in a PENDING ledger row over the store's
    search: the emulators index new orders at once (no search lag), so 0 lets a rerun look
    a crashed create up immediately instead of waiting Shopify's 300 s default.
    """
    from connectors.redact import install_log_redaction
    from skubridge.config import load_shops
    from tasks.steps import cycle

    install_log_redaction()
    shop = load_shops().get(shop_id)
    run_step = cycle.plain_steps(
        shop,
        run_tag=run_tag,
        client_options={"rate_scale": client_scale},
        pending_grace_s=pending_grace_s,
    )
    outcome = cycle.run_cycle(
        shop.id, run_id=run_tag, run_step=run_step, steps=steps, flow=CYCLE_FLOW
    )
    return {"shop": shop.id, "run_tag": run_tag, "steps": outcome.steps, "ok": outcome.ok}


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
