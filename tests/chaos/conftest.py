"""One reduced chaos run per test session, shared by the chaos and security tests."""

from __future__ import annotations

import pytest

# Small but complete: two shops (Shopify, Amazon), faults on every emulator, one SIGKILL
# per shop at a random point, reruns, fault-free final runs, every invariant checked.
REDUCED = {"seed": 3, "kills": 1, "orders": 16, "variants": 60, "max_reruns": 4}


@pytest.fixture(scope="session")
def reduced_chaos(tmp_path_factory):
    """The :class:`bench.chaos.engine.ChaosReport` of a reduced chaos run (outputs kept in tmp)."""
    from bench.chaos.engine import ChaosOptions, run_chaos

    options = ChaosOptions(**REDUCED, workdir=tmp_path_factory.mktemp("chaos"))
    return run_chaos(options)
