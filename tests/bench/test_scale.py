"""The scale run's parts that run without a Prefect server: the shops file with queues,
the overlap rule, process-tree kills, the PostgreSQL lifecycle and the docs section.

The scale run itself (`make scale`, bench/scale.py) takes tens of minutes and needs
PostgreSQL, so it is not part of `make test`.
"""

from __future__ import annotations

import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bench import scale
from bench.scale_infra import alive, kill_tree, process_tree, start_postgres
from skubridge.config import load_shops

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_shops_file_places_half_the_shops_on_each_queue(tmp_path):
    shops = scale.make_shops(8, 20, seed=5)
    try:
        path = tmp_path / "shops.toml"
        path.write_text(scale.shops_toml(shops), encoding="utf-8")
        loaded = {s.id: (s.store, s.queue) for s in load_shops(path).shops}
    finally:
        for shop in shops:
            shop.stack.stop()
    assert loaded == {s.id: (s.store, s.queue) for s in shops}
    queues = [q for _, q in loaded.values()]
    assert queues.count("node-a") == queues.count("node-b") == 4
    assert sorted(store for store, _ in loaded.values()).count("amazon") == 2


def test_overlap_rule_counts_only_steps_of_different_cycles():
    # Steps of one cycle back to back, the next cycle after it: fine.
    fine = {"s1": [(_at(0), _at(10), "c1"), (_at(10), _at(20), "c1"), (_at(25), _at(30), "c2")]}
    assert scale.find_overlaps(fine) == []
    # A second cycle's step starting inside the first cycle's long step: an overlap,
    # even when a short step of the first cycle ended before it.
    clash = {
        "s1": [(_at(0), _at(100), "c1"), (_at(5), _at(6), "c1"), (_at(50), _at(60), "c2")],
        "s2": [(_at(0), _at(10), "c3")],
    }
    problems = scale.find_overlaps(clash)
    assert len(problems) == 1
    assert "shop s1: cycles c1 and c2 overlapped" in problems[0]


def test_kill_tree_kills_the_worker_and_its_flow_run_processes():
    parent = subprocess.Popen(["sh", "-c", "sleep 60 & sleep 60 & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(process_tree(parent.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        tree = process_tree(parent.pid)
        assert len(tree) == 3
        assert sorted(kill_tree(parent.pid)) == sorted(tree)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(alive(pid) for pid in tree[1:]):
            assert time.monotonic() < deadline, "children still alive"
            time.sleep(0.05)
    finally:
        kill_tree(parent.pid)
        parent.wait(timeout=10)


@pytest.mark.skipif(
    not list(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl")),
    reason="Debian's postgresql package is not installed (make scale installs it as root)",
)
def test_postgres_cluster_starts_with_pg_trgm_and_stops_without_leftovers():
    pg = start_postgres()
    try:
        out = subprocess.run(
            [
                str(pg.bin / "psql"),
                "-h",
                "127.0.0.1",
                "-p",
                str(pg.port),
                "-U",
                "prefect",
                "-d",
                "prefect",
                "-Atc",
                "SELECT extname FROM pg_extension ORDER BY 1",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        assert "pg_trgm" in out.split()
        assert pg.url == f"postgresql+asyncpg://prefect@127.0.0.1:{pg.port}/prefect"
        pids = pg.pids()
        assert pids
    finally:
        pg.stop()
    assert not pg.root.exists()
    assert not [pid for pid in pids if alive(pid)]


def test_docs_section_states_the_figures():
    rounds = [
        {"round": "round-1", "shops": 40, "completed": 40, "makespan": 600.0, "sum": 3000.0,
         "median": 70.0, "p95": 90.0, "speedup": 5.0, "efficiency": 0.83},
        {"round": "round-2", "shops": 40, "completed": 40, "makespan": 400.0, "sum": 2000.0,
         "median": 48.0, "p95": 60.0, "speedup": 5.0, "efficiency": 0.83},
    ]  # fmt: skip
    memory = {"total": 900.0, "root": 150.0, "largest_child": 280.0}
    result = {
        "shops": 40,
        "amazon": 10,
        "variants": 40,
        "slots_per_worker": 3,
        "rounds": rounds,
        "shops_per_slot_hour_median": 75.0,
        "shops_per_slot_hour_p95": 60.0,
        "memory": {"server": memory, "postgres": memory, "worker-a": memory, "worker-b": memory},
        "postgres_version": "15",
        "seconds": 1800.0,
        "kill": {
            "killed_shops": ["a", "b"],
            "crashed_after_s": 100.0,
            "slots_free_after_s": 310.0,
            "orders_relayed_killed_shops": 6,
        },
        "orders": {"eligible": 120, "in_store": 120},
        "misplaced": {"seconds": 9.5, "message": "shop 'x' belongs to work queue 'node-a'"},
    }
    text = scale.section(result)
    assert text.startswith("## Scale-out\n")
    assert "| round-2 | 40 | 40 | 400 s | 2000 s | 48 / 60 s | 5.0x | 83% |" in text
    assert "**30.0 min**" in text
    assert "**75**" in text and "**60**" in text
    assert "Crashed after 100 s" in text and "free after 310 s" in text
    assert "120 store orders match 120 eligible TikTok orders" in text
