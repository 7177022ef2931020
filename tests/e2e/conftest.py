"""The end-to-end tests' shared Prefect server (``prefect_processes.py``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from .prefect_processes import PrefectEnv


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrefectEnv]:
    """A real Prefect server (SQLite, UI on) with the `skubridge` process work pool, one per
    test module.

    The scheduler is off: only what a test starts may run (the fan-out schedules one test
    deploys must not start runs on another's worker; the webhook test's runs must come from
    its trigger).
    """
    home = tmp_path_factory.mktemp("prefect-server")
    prefect = PrefectEnv(home=home / "prefect-home", logs=home / "logs")
    try:
        prefect.start_server("--no-scheduler", cwd=home)
        prefect.run("work-pool", "create", "skubridge", "--type", "process", cwd=home)
        yield prefect
    finally:
        prefect.stop_all()
