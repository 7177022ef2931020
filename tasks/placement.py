"""Shop placement: a shop's runs open its DuckDB file only on a worker that holds it.

With shops pinned to machines (docs/operations.md, "Several machines"), each shop names
the work queue of its machine (``queue`` in shops.toml) and each worker declares the
queues whose files its data folder holds in ``$SKUBRIDGE_WORKER_QUEUES`` (the same names as
its ``prefect worker start --work-queue``). A run that lands on another worker (a rerun
from the UI on the deployment's default queue, a worker started on the wrong queue) must
fail at once, naming the shop, its queue and the worker, instead of creating an empty file
there and mapping the shop from scratch (its manual mappings and ledgers live in the real
file). Hosts that declare nothing (one machine, a shared volume) are not checked.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

from skubridge.config import WORKER_NAME_ENV, WORKER_QUEUES_ENV, load_shops, worker_queues


class ShopNotHereError(Exception):
    """The run landed on a worker that does not hold the shop's DuckDB file."""


def worker_name() -> str:
    """This worker's name for messages: $SKUBRIDGE_WORKER_NAME, else the host name."""
    return os.environ.get(WORKER_NAME_ENV) or socket.gethostname()


def check_placement(shop_id: str, path: Path) -> None:
    """Raise :class:`ShopNotHereError` when this host must not open ``shop_id``'s file.

    Checked only on hosts that declare their queues. A shop pinned to another queue is
    refused whether or not a (stale) file exists here; an unpinned shop is refused when its
    file is not here (a pinned host never starts an unpinned shop from scratch).
    """
    queues = worker_queues()
    if not queues:
        return
    shop = load_shops().get(shop_id)
    where = (
        f"this run landed on worker '{worker_name()}' ({WORKER_QUEUES_ENV}={','.join(queues)}, "
        f"data dir {path.parent})"
    )
    if shop.queue is None:
        if path.exists():
            return
        raise ShopNotHereError(
            f"shop '{shop_id}' has no queue in {shop.source_file or 'the shops file'} and "
            f"{where}, which does not hold {path.name}; set the shop's queue to the queue of the "
            "worker that holds its file"
        )
    if shop.queue in queues:
        return
    raise ShopNotHereError(
        f"shop '{shop_id}' belongs to work queue '{shop.queue}', but {where}, which does not hold "
        f"its DuckDB file; nothing was opened or created. Rerun it on its queue: "
        f"skubridge rerun --shop {shop_id}"
    )
