"""The one flow-run name format: ``<flow>-<subject>[-dry-run]-<UTC yyyymmdd-HHMMSS>``.

Every flow passes ``flow_run_name=run_name(...)`` so runs read alike in the Prefect UI
(e.g. ``push-prices-and-stock-acme-us-dry-run-20260101-120000``). The subject is the
shop by default; a flow whose subject is something else says how to read it from its
parameters: the fan-out names what it fans out (``sync-all-cycle-...`` for full cycles,
``sync-all-relay-...`` for the 5-minute relay), a ``sync-shop`` run of some steps only
names them (``sync-shop-acme-relay-...``). A dry run is named as one whether ``dry_run``
is the flow's own parameter or one it passes to every child (``parameters``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any


def _shop(params: Mapping[str, Any]) -> str:
    return str(params.get("shop", "shop"))


def run_name(flow: str, subject: Callable[[Mapping[str, Any]], str] = _shop) -> Callable[[], str]:
    """A Prefect ``flow_run_name`` callable for ``flow`` (read when a run starts)."""

    def name() -> str:
        from prefect.runtime import flow_run

        params = flow_run.parameters
        nested = params.get("parameters") or {}
        dry = params.get("dry_run") or (isinstance(nested, Mapping) and nested.get("dry_run"))
        mode = ["dry-run"] if dry else []
        return "-".join([flow, subject(params), *mode, f"{datetime.now(UTC):%Y%m%d-%H%M%S}"])

    return name


FAN_OUT_SUBJECTS = {"sync-shop": "cycle", "relay-orders": "relay"}


def fan_out_subject(params: Mapping[str, Any]) -> str:
    """What a ``sync-all`` run fans out: ``cycle``, ``relay`` or the deployment's flow."""
    flow = str(params.get("deployment", "sync-shop/sync-shop")).split("/")[0]
    return FAN_OUT_SUBJECTS.get(flow, flow)


def shop_and_steps(params: Mapping[str, Any]) -> str:
    """The shop, plus the steps when a ``sync-shop`` run does not run them all."""
    steps = list(params.get("steps") or [])
    every = ["catalog", "push", "relay"]
    if not steps or sorted(steps) == sorted(every):
        return _shop(params)
    return "-".join([_shop(params), *[s for s in every if s in steps]])
