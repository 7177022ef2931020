"""Links from one run page to another in the Prefect UI (artifacts are Markdown)."""

from __future__ import annotations

from typing import Any


def run_url(flow_run_id: Any) -> str:
    """The UI address of a flow run: absolute when ``PREFECT_UI_URL`` is known (a server),
    else the UI's own path, which the artifact page resolves on the same host."""
    from prefect.settings import PREFECT_UI_URL

    base = (PREFECT_UI_URL.value() or "").rstrip("/")
    return f"{base}/runs/flow-run/{flow_run_id}"


def run_link(flow_run_id: Any, text: str | None = None) -> str:
    """A Markdown link to a flow run ('' without an id)."""
    if not flow_run_id:
        return ""
    return f"[{text or str(flow_run_id)[:8]}]({run_url(flow_run_id)})"
