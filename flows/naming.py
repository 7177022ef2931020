"""The one flow-run name format: ``<flow>-<subject>[-dry-run]-<UTC yyyymmdd-HHMMSS>``.

Every flow passes ``flow_run_name=run_name(...)`` so runs read alike in the Prefect UI
(e.g. ``push-prices-and-stock-acme-us-dry-run-20260101-120000``). The subject is the
shop by default; a flow whose subject is something else says how to read it from its
parameters.
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
        mode = ["dry-run"] if params.get("dry_run") else []
        return "-".join([flow, subject(params), *mode, f"{datetime.now(UTC):%Y%m%d-%H%M%S}"])

    return name
