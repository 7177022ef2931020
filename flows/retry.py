"""The one retry rule of every flow task that talks to a marketplace.

Prefect retries a task only when its failure is a connector error marked transient
(5xx, throttling, timeouts, dropped connections: :class:`connectors.errors.TransientError`
and its subclasses); a business or auth error fails at once
(https://docs.prefect.io/v3/how-to-guides/workflows/retries).
"""

from __future__ import annotations

from typing import Any

from connectors.errors import TransientError


def retry_on_transient(task: Any, task_run: Any, state: Any) -> bool:
    """Prefect ``retry_condition_fn``: True when the task failed with a transient error."""
    try:
        state.result()
    except TransientError:
        return True
    except Exception:
        return False
    return False
