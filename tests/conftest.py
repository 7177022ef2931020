"""Test harness: isolated Prefect home, loopback without proxies, one shared Prefect API.

The environment is set before anything imports Prefect (https://docs.prefect.io/v3/how-to-guides/workflows/test-workflows):
a fresh PREFECT_HOME per session (no stale caches), analytics off, NO_PROXY for loopback,
no silent ephemeral server (a flow called outside ``prefect_api`` fails loudly).
"""

from __future__ import annotations

import os
import tempfile

os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix="skubridge-prefect-home-")
os.environ["DO_NOT_TRACK"] = "1"
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "180"
os.environ["GX_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_ENABLED"] = "false"
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
_loopback = "127.0.0.1,localhost,::1"
for _var in ("NO_PROXY", "no_proxy"):
    os.environ[_var] = ",".join(filter(None, [os.environ.get(_var), _loopback]))
for _var in ("SKUBRIDGE_SHOPS_FILE", "SKUBRIDGE_DATA_DIR", "SKUBRIDGE_REPORTS_DIR"):
    os.environ.pop(_var, None)

import pytest  # noqa: E402


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--live", action="store_true", help="run tests marked live (real APIs)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--live"):
        return
    skip = pytest.mark.skip(reason="talks to real marketplaces; run with --live")
    for item in items:
        if "live" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def prefect_api():
    """One Prefect test API for the whole session; only flow-level tests use it."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=180):
        yield


@pytest.fixture
def data_dirs(tmp_path, monkeypatch):
    """Per-test data and report folders through the documented environment variables."""
    data, reports = tmp_path / "data", tmp_path / "reports"
    monkeypatch.setenv("SKUBRIDGE_DATA_DIR", str(data))
    monkeypatch.setenv("SKUBRIDGE_REPORTS_DIR", str(reports))
    return data, reports


@pytest.fixture
def con(tmp_path):
    """A DuckDB connection to a fresh, migrated warehouse file in the test's temp folder."""
    from tasks.warehouse import connect

    connection = connect(tmp_path / "shop.duckdb")
    yield connection
    connection.close()


@pytest.fixture(scope="module")
def stack_throttle() -> bool:
    """Whether the module's sandbox stack throttles like the marketplaces (override per module)."""
    return True


@pytest.fixture(scope="module")
def stack(stack_fixture, stack_throttle):
    """The three emulators serving the module's ``stack_fixture`` (a module defines it), one
    stack per test module."""
    from sandbox.stack import sandbox_stack

    with sandbox_stack(stack_fixture, throttle=stack_throttle) as running:
        yield running


@pytest.fixture
def point_at_stack(tmp_path, monkeypatch):
    """``point_at_stack(stack, shops)``: the stack's credentials in the environment and a
    shops file listing ``shops`` as SKUBRIDGE_SHOPS_FILE (see tests/sandbox_env.py)."""
    from tests.sandbox_env import point_at

    return lambda running, shops: point_at(
        running, shops, tmp_path=tmp_path, monkeypatch=monkeypatch
    )


@pytest.fixture(autouse=True)
def _prefect_console_on_open_stream():
    """Point Prefect's console log handlers back at the live stderr after each test.

    A CLI test (typer's CliRunner) that first configures Prefect logging leaves the console
    handler writing to the runner's captured stream, which is closed when that test ends;
    the next in-process flow run would then fail on "I/O operation on closed file".
    """
    yield
    import logging
    import sys

    from prefect.logging.handlers import PrefectConsoleHandler

    loggers = [logging.getLogger(), *map(logging.getLogger, logging.root.manager.loggerDict)]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if isinstance(handler, PrefectConsoleHandler) and getattr(
                handler.stream, "closed", False
            ):
                handler.stream = sys.stderr  # not setStream: it flushes the closed one
                handler.console.file = sys.stderr


@pytest.fixture(autouse=True)
def _environment_restored():
    """Each test sees the environment as the session set it up: a command that exports
    settings for its own children (``skubridge demo`` sets SKUBRIDGE_SHOPS_FILE, a sandbox
    stack its credentials) must not leak them into the tests that follow."""
    import os

    saved = dict(os.environ)
    yield
    for name in set(os.environ) - set(saved):
        del os.environ[name]
    for name, value in saved.items():
        if os.environ.get(name) != value:
            os.environ[name] = value
