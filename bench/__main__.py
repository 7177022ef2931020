"""``make bench`` / ``python -m bench``: run the benchmarks one after the other.

Each benchmark runs as its own subprocess (one failure does not stop the rest; no two
share the cores), its output goes to the terminal and to ``bench/out/<UTC time>/<name>.log``,
and those that can write their figures into docs/BENCHMARKS.md do so (``--no-docs``: don't).

    python -m bench                  # all: map, push, relay, loop-back, e2e, incremental (~33 min)
    python -m bench push e2e         # a subset, in the order given
    python -m bench --quick          # small sizes: a smoke run of every benchmark (~3 min)
    python -m bench --list           # the commands it would run
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "BENCHMARKS.md"

# name -> (module, default arguments, --quick arguments, writes a docs section?, section)
BENCHMARKS: dict[str, tuple[str, list[str], list[str], bool, str]] = {
    "map": (
        "bench.map_bench",
        ["--variants", "1000000", "--runs", "3"],
        [
            "--variants",
            "100000",
            "--runs",
            "1",
            "--suggest-variants",
            "10000",
            "--pandas-runs",
            "1",
        ],
        True,
        "Map stage",
    ),
    "push": (
        "bench.push_bench",
        ["--products", "2000", "--skus", "2", "--runs", "3"],
        ["--products", "200", "--skus", "2", "--runs", "1"],
        True,
        "Push",
    ),
    "relay": (
        "bench.relay_bench",
        ["--seconds", "60"],
        ["--seconds", "10"],
        False,
        "Order relay",
    ),
    "loop-back": (
        "bench.loop_back_bench",
        ["--orders", "200"],
        ["--orders", "20"],
        True,
        "Order loop back",
    ),
    "e2e": (
        "bench.e2e_bench",
        ["--part", "both", "--runs", "3"],
        [
            *("--part", "both", "--runs", "1", "--variants", "10000"),
            *("--limited-variants", "500", "--limited-orders", "20"),
        ],
        True,
        "End-to-end",
    ),
    "incremental": (
        "bench.incremental_bench",
        ["--variants", "3000"],
        ["--variants", "300", "--only-incremental"],
        True,
        "Unchanged shop",
    ),
}


def command(name: str, *, quick: bool, docs: bool, out: Path) -> list[str]:
    """The subprocess command line of one benchmark."""
    module, default, small, writes_docs, _ = BENCHMARKS[name]
    cmd = [sys.executable, "-m", module, *(small if quick else default)]
    if docs and writes_docs and not quick:
        cmd.append("--write-docs")
    if name == "e2e":
        cmd += ["--json", str(out / "e2e.json")]
    return cmd


def run_one(name: str, cmd: list[str], log: Path) -> tuple[int, float]:
    """Run one benchmark, teeing its output to ``log``; (exit code, seconds)."""
    started = time.monotonic()
    with log.open("w", encoding="utf-8") as sink:
        sink.write("$ " + " ".join(cmd) + "\n")
        sink.flush()
        proc = subprocess.Popen(
            cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            sys.stdout.write(f"[{name}] {line}")
            sys.stdout.flush()
            sink.write(line)
        code = proc.wait()
    return code, time.monotonic() - started


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument(
        "names", nargs="*", help=f"benchmarks to run: {', '.join(BENCHMARKS)} (default: all)"
    )
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run, no docs)")
    parser.add_argument("--no-docs", action="store_true", help="don't touch docs/BENCHMARKS.md")
    parser.add_argument("--out", type=Path, help="log folder (default bench/out/<UTC time>)")
    parser.add_argument("--list", action="store_true", help="print the commands and exit")
    args = parser.parse_args(argv)
    names = list(dict.fromkeys(args.names or BENCHMARKS))
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s) {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}")
    out = args.out or ROOT / "bench" / "out" / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    commands = {n: command(n, quick=args.quick, docs=not args.no_docs, out=out) for n in names}
    if args.list:
        for name, cmd in commands.items():
            print(f"{name}: {' '.join(cmd)}")
        return 0
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for name, cmd in commands.items():
        print(f"== {name}: {' '.join(cmd[1:])}", flush=True)
        code, seconds = run_one(name, cmd, out / f"{name}.log")
        results.append((name, code, seconds))
        print(f"== {name}: {'ok' if code == 0 else f'FAILED (exit {code})'} in {seconds:.0f} s")
    print("\nSummary")
    for name, code, seconds in results:
        _, _, _, writes_docs, section = BENCHMARKS[name]
        where = [f"log {out / f'{name}.log'}"]
        if writes_docs and code == 0 and not args.quick and not args.no_docs:
            where.append(f'section "{section}" of {DOCS}')
        if name == "e2e" and code == 0:
            where.append(f"figures {out / 'e2e.json'}")
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"- {name}: {status}, {seconds:.0f} s; " + "; ".join(where))
    return 0 if all(code == 0 for _, code, _ in results) else 1


if __name__ == "__main__":
    sys.exit(main())
