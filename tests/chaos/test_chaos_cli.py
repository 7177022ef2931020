"""``python -m bench.chaos``: exit status, printed figures and the docs section it writes.

``bench/`` is not an installed package (``make chaos`` runs it from the checkout), so the
repository root goes on ``sys.path`` here; the engine itself is faked (the reduced run in
test_chaos_reduced.py exercises it).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from bench.chaos import cli  # noqa: E402
from bench.chaos import engine as chaos  # noqa: E402
from bench.chaos.checks import ScanResult  # noqa: E402


def _report(tmp_path: Path, violations: list[str]) -> chaos.ChaosReport:
    options = chaos.ChaosOptions(kills=2, orders=10, variants=40, workdir=tmp_path)
    shop = chaos.ShopOutcome(
        "chaos-shopify",
        "shopify",
        orders_created=10,
        eligible=7,
        in_store=7,
        kills=2,
        faults_injected={"error": 3, "drop_after_commit": 1},
        final_writes=0,
        violations=violations,
    )
    return chaos.ChaosReport(options, tmp_path, [shop], ScanResult(outputs=5), [], 12.0)


@pytest.mark.parametrize(("violations", "status"), [([], 0), (["1 eligible orders lost"], 1)])
def test_exit_status_figures_and_docs_section(tmp_path, monkeypatch, capsys, violations, status):
    docs = tmp_path / "BENCHMARKS.md"
    docs.write_text(
        "# Benchmarks\n\n## Push\n\npush figures\n\n"
        "## Chaos\n\nstale chaos figures\n\n## Map\n\nmap\n"
    )
    monkeypatch.setattr(cli, "DOCS", docs)
    seen = {}

    def fake_run(options):
        seen["options"] = options
        return _report(tmp_path, violations)

    monkeypatch.setattr(chaos, "run_chaos", fake_run)
    code = cli.main(["--seed", "9", "--kills", "2", "--workdir", str(tmp_path / "w")])

    assert code == status
    assert (seen["options"].seed, seen["options"].kills) == (9, 2)
    out = capsys.readouterr().out
    assert "faults injected: 4" in out and "kills: 2" in out
    assert "duplicates: 0, lost: 0" in out
    assert ("VIOLATION" in out) == bool(violations)
    text = docs.read_text()
    assert "push figures" in text and "## Map\n\nmap" in text  # other sections untouched
    assert "stale chaos figures" not in text
    assert text.count("## Chaos") == 1
    assert "`python -m bench.chaos --seed 9 --kills 2" in text
    assert ("**PASSED**" in text) == (status == 0)
