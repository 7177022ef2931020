"""The end-to-end benchmark's pure parts: lower bound, docs section, stage clock, runner."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

import bench.__main__ as runner
from bench import e2e_bench as e2e

MACHINE = {
    "cpus": 2,
    "cpu_model": "Test CPU",
    "ram_gib": 8.0,
    "python": "3.11.0",
    "platform": "Linux",
    "date": "2026-01-01",
}


def test_tiktok_bound_is_the_documented_rate_or_the_page_chain() -> None:
    # 501 independent calls at 50 QPS: 10 s of spacing plus one call's latency.
    seconds, why = e2e.endpoint_bound("tiktok", "product.get", 501, 0.1, 8)
    assert seconds == pytest.approx(10.1)
    assert "QPS" in why
    # Search pages follow page tokens: one after the other.
    seconds, why = e2e.endpoint_bound("tiktok", "product.search", 30, 0.1, 8)
    assert seconds == pytest.approx(3.0)
    assert "sequential" in why
    # Few calls with one in flight: latency, not the rate, is the limit.
    seconds, why = e2e.endpoint_bound("tiktok", "order.detail", 4, 0.1, 1)
    assert seconds == pytest.approx(0.4)
    assert "in flight" in why


def test_shopify_bound_uses_the_cost_bucket_beyond_the_burst() -> None:
    # 300 mutations x 10 points = 3000 points: 1000 over the 2000-point bucket at 100/s.
    seconds, why = e2e.endpoint_bound("shopify", "productVariantsBulkUpdate", 300, 0.001, 8)
    assert seconds == pytest.approx(10.001)
    assert why == "cost bucket"
    # orderCreate goes one at a time: each waits for the previous answer.
    seconds, _ = e2e.endpoint_bound("shopify", "orderCreate", 50, 0.1, 1)
    assert seconds == pytest.approx(5.0)


def test_lower_bound_overlaps_catalog_sides_and_adds_the_steps() -> None:
    run = {
        "steps": {"catalog_step": 12.0, "push_step": 11.0, "relay_step": 2.0},
        "total": 25.0,
        "requests": {
            "catalog_step": {
                "tiktok": {"product.get": 501, "product.search": 5},
                "shopify": {"bulkOperation": 3},
            },
            "push_step": {
                "tiktok": {"product.update_inventory": 501, "product.update_price": 251},
                "shopify": {},
            },
            "relay_step": {"tiktok": {"order.search": 1}, "shopify": {"orderCreate": 10}},
        },
    }
    bound = e2e.lower_bound(run, 0.1)
    assert bound["catalog_step"]["bound"] == pytest.approx(10.1)  # slowest side: TikTok gets
    assert bound["push_step"]["bound"] == pytest.approx(10.1)  # the two write APIs overlap
    assert bound["relay_step"]["bound"] == pytest.approx(0.1 + 1.0)  # search, then creates
    assert bound["total"]["bound"] == pytest.approx(21.3)
    assert bound["total"]["measured"] == 25.0


def test_write_docs_replaces_only_its_section_and_adds_a_machine_paragraph(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text("# Benchmarks\n\n## Push\n\npush figures\n\n## Order relay\n\nrelay\n")
    monkeypatch.setattr(e2e, "DOCS", docs)
    e2e.write_docs("## End-to-end\n\nfirst\n", MACHINE)
    e2e.write_docs("## End-to-end\n\nsecond\n", MACHINE)
    text = docs.read_text()
    assert text.count("**Machine**") == 1
    assert "Test CPU" in text
    assert text.count("## End-to-end") == 1
    assert "second" in text and "first" not in text
    assert "push figures" in text and "relay" in text
    assert text.index("**Machine**") < text.index("## Push")


def test_stage_clock_times_sync_and_async_functions() -> None:
    clock = e2e.StageClock()

    def work(x: int) -> int:
        return x + 1

    async def awork(x: int) -> int:
        await asyncio.sleep(0)
        return x * 2

    assert clock.wrap("a", work)(1) == 2
    assert asyncio.run(clock.wrap("b", awork)(3)) == 6
    assert set(clock.seconds) == {"a", "b"}
    assert all(v >= 0 for v in clock.seconds.values())


def test_runner_runs_each_benchmark_as_a_module_with_docs_flags(tmp_path: Path) -> None:
    cmd = runner.command("push", quick=False, docs=True, out=tmp_path)
    assert cmd[1:3] == ["-m", "bench.push_bench"]
    assert "--write-docs" in cmd
    relay = runner.command("relay", quick=False, docs=True, out=tmp_path)
    assert "--write-docs" not in relay  # relay_bench prints its table only
    quick = runner.command("e2e", quick=True, docs=True, out=tmp_path)
    assert "--write-docs" not in quick
    assert quick[-2:] == ["--json", str(tmp_path / "e2e.json")]


def test_runner_rejects_unknown_names(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        runner.main(["nope"])
    assert exc.value.code == 2
    assert "unknown benchmark" in capsys.readouterr().err


def test_runner_lists_a_subset_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert runner.main(["--list", "e2e", "map"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in lines] == ["e2e", "map"]
