"""Map-stage benchmark: auto-map in DuckDB against a pandas baseline, at up to 1M x 1M.

Run ``python -m bench.map_bench [--variants 1000000] [--runs 5] [--write-docs]`` (never
part of ``make test``). It builds both catalogs with ``sandbox.generator.generate_tables``
(every anomaly kind), loads them into a DuckDB file, and times:

- ``classify``: the map stage proper (normalise, join, classify every TikTok SKU; nothing
  written), which is what the pandas baseline does too,
- ``auto_map`` on an empty link table (classify + write every link + events + state),
- ``auto_map`` again with the links in place (the steady state of an hourly sync),
- the mapping report without suggestions (``build_mapping_report(suggestions=False)``),
- the whole map stage with suggestions on, at ``--suggest-variants`` (default 100,000),
- a pandas baseline that does the same classification with merges and groupbys (no
  persistence), whose per-reason counts must equal DuckDB's;

medians over ``--runs``. Peak memory of the map stage is the peak resident set size
(VmHWM) of a child process that only opens the file and runs the stage, because
tracemalloc does not see DuckDB's allocations. ``--write-docs`` replaces the "Map stage"
section of docs/BENCHMARKS.md with the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from bench.docs import write_section
from sandbox.generator import generate_tables
from tasks.mapping import REASONS, MapOutcome, auto_map, build_mapping_report, classify
from tasks.warehouse import connect, insert_frame

DOCS = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
SECTION = "## Map stage"
# The figures of the code before the one-query classification (commit 60ef4a0), run with
# the same command on the same shared machine shortly before the current ones (load average
# 2.4 at the start, 5.6 at the end), kept in the section for comparison.
BEFORE = {
    "classify_s": 4.504,
    "pandas_s": 4.384,
    "ratio_vs_pandas": 1.0,
    "auto_map_s": 9.219,
    "auto_map_rerun_s": 4.918,
    "report_s": 3.345,
    "map_stage_s": 8.263,
    "peak_rss_mib": 1417.7,
    "load": "2.4 -> 5.6",
}
_BLANK = r"[\s\u00a0\u2000-\u200b\u3000\ufeff]*"


def machine() -> dict[str, Any]:
    """CPU count, model and RAM of this machine."""
    model = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "ram_gib": round(ram, 1),
        "python": platform.python_version(),
    }


def build_db(path: Path, n_variants: int, seed: int, store: str) -> dict[str, int]:
    """Generate both catalogs and land them in ``catalog_variants`` of a new DuckDB file."""
    tiktok, store_side = generate_tables(n_variants, seed=seed, store=store)  # type: ignore[arg-type]
    con = connect(path)
    try:
        for table in (tiktok, store_side):
            table = table.append_column("run_id", pa.array(["bench"] * table.num_rows))
            insert_frame(con, "catalog_variants", table)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return {"tiktok_variants": tiktok.num_rows, "store_variants": store_side.num_rows}


def _reset_links(con: Any) -> None:
    con.execute("DELETE FROM mappings")
    con.execute("DELETE FROM mapping_events")
    con.execute("DELETE FROM mapping_state")
    con.execute("CHECKPOINT")


def _timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


# --- pandas baseline ---------------------------------------------------------------------
def pandas_classify(tiktok: pd.DataFrame, store: pd.DataFrame, store_channel: str) -> pd.Series:
    """The auto-map classification with pandas merges/groupbys: reason per TikTok SKU
    (None = mapped). No links are persisted and no manual links exist (fresh shop)."""
    t = tiktok[["product_id", "variant_id", "seller_sku"]].copy()
    t["sku"] = t["seller_sku"].where(~t["seller_sku"].fillna("").str.fullmatch(_BLANK), None)
    s = store[["product_id", "variant_id", "seller_sku", "parent_id"]].copy()
    s["sku"] = s["seller_sku"].where(~s["seller_sku"].fillna("").str.fullmatch(_BLANK), None)
    if store_channel == "amazon":
        parent = s["parent_id"].where(s["parent_id"].fillna("").str.strip() != "", None)
        s["family"] = parent
        s["spid"] = parent.fillna(s["product_id"])
    else:
        s["family"] = s["product_id"]
        s["spid"] = s["product_id"]
    fam_size = s.groupby("family").size().rename("family_size")
    s = s.join(fam_size, on="family")
    by_sku = (
        s.dropna(subset=["sku"])
        .groupby("sku")
        .agg(
            sku_count=("variant_id", "size"),
            family=("family", "first"),
            family_size=("family_size", "first"),
        )
    )
    t["t_count"] = t.groupby("sku")["sku"].transform("size")
    m = t.join(by_sku, on="sku")
    one = m["sku_count"] == 1
    m["family"] = m["family"].where(one, None)
    m["family_size"] = m["family_size"].where(one, np.nan)
    rank = np.select(
        [m["sku"].isna(), m["t_count"] > 1, m["sku_count"].isna(), m["sku_count"] > 1],
        [1, 2, 3, 4],
        default=0,
    )
    m["rank"] = np.where(rank == 0, np.nan, rank)
    g = m.groupby("product_id")
    prod = pd.DataFrame(
        {
            "first": g["rank"].min(),
            "fmin": g["family"].min(),
            "fmax": g["family"].max(),
            "frows": g["family"].count(),
            "n": g.size(),
            "fsize": g["family_size"].max(),
        }
    )
    reason = pd.Series(None, index=prod.index, dtype=object)
    for code in (4, 3, 2, 1):
        reason = reason.mask(prod["first"] == code, REASONS[code - 1])
    free = prod["first"].isna()
    split = free & (
        (prod["fmin"] != prod["fmax"]) | ((prod["frows"] > 0) & (prod["frows"] < prod["n"]))
    )
    count = free & ~split & (prod["frows"] > 0) & (prod["fsize"] != prod["n"])
    reason = reason.mask(split, "SPLIT_ACROSS_PRODUCTS").mask(count, "VARIANT_COUNT_MISMATCH")
    sku_reason = pd.Series(
        np.array([None, *REASONS[:4]], dtype=object)[rank], index=m.index, dtype=object
    )
    out = sku_reason.fillna(m["product_id"].map(reason))
    out.index = m["variant_id"].to_numpy()
    return out


# --- child process: peak memory of the map stage alone --------------------------------------
def _peak_rss_kib() -> int:
    """This process's peak RSS. VmHWM (Linux) belongs to the current program image; the
    getrusage ru_maxrss fallback keeps the parent's high-water mark across fork+exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def map_stage(
    con: duckdb.DuckDBPyConnection, *, run_id: str, store_channel: str, suggestions: bool = True
) -> tuple[MapOutcome, pd.DataFrame]:
    """Auto-map then build the report: the map step of a catalog run, as the flow does it."""
    outcome = auto_map(con, run_id=run_id, store_channel=store_channel)
    report = build_mapping_report(
        con, run_id=run_id, store_channel=store_channel, suggestions=suggestions
    )
    return outcome, report


def _child(path: str, store: str) -> None:
    con = connect(path)
    before = _peak_rss_kib()
    map_stage(con, run_id="mem", store_channel=store, suggestions=False)
    after = _peak_rss_kib()
    con.close()
    print(json.dumps({"rss_before_kib": before, "peak_rss_kib": after}))


def peak_memory(path: Path, store: str) -> dict[str, float]:
    """Peak RSS (MiB) of a fresh process running the map stage (no suggestions) once, on a
    shop without links (the heaviest run: every link and event is written)."""
    code = "import sys; from bench.map_bench import _child; _child(sys.argv[1], sys.argv[2])"
    done = subprocess.run(
        [sys.executable, "-c", code, str(path), store],
        check=True,
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parent.parent,
    )
    data = json.loads(done.stdout.strip().splitlines()[-1])
    return {
        "peak_rss_mib": round(data["peak_rss_kib"] / 1024, 1),
        "baseline_rss_mib": round(data["rss_before_kib"] / 1024, 1),
    }


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Build, time and compare; returns the figures."""
    results: dict[str, Any] = {
        "machine": machine(),
        "command": "python -m bench.map_bench " + " ".join(sys.argv[1:]),
        "variants": args.variants,
        "runs": args.runs,
        "store": args.store,
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
    }
    with tempfile.TemporaryDirectory(prefix="map-bench-") as tmp:
        path = Path(tmp) / "bench.duckdb"
        t0 = time.perf_counter()
        results["sizes"] = build_db(path, args.variants, args.seed, args.store)
        results["build_s"] = round(time.perf_counter() - t0, 2)
        print(f"built {results['sizes']} in {results['build_s']} s", flush=True)

        con = connect(path)
        results["duckdb_settings"] = dict(
            con.execute(
                "SELECT name, value FROM duckdb_settings()"
                " WHERE name IN ('threads', 'memory_limit')"
            ).fetchall()
        )
        first, rerun, report, pure, pure_cpu = [], [], [], [], []
        outcome = None
        results["loadavg_start"] = os.getloadavg()
        for i in range(args.runs):
            _reset_links(con)
            cpu0 = time.process_time()
            secs, _ = _timed(lambda: classify(con, store_channel=args.store))
            pure.append(secs)
            pure_cpu.append(time.process_time() - cpu0)
            secs, outcome = _timed(
                lambda i=i: auto_map(con, run_id=f"b{i}", store_channel=args.store)
            )
            first.append(secs)
            secs, _ = _timed(lambda i=i: auto_map(con, run_id=f"c{i}", store_channel=args.store))
            rerun.append(secs)
            secs, _ = _timed(
                lambda i=i: build_mapping_report(
                    con, run_id=f"c{i}", store_channel=args.store, suggestions=False
                )
            )
            report.append(secs)
            print(
                f"run {i + 1}: classify {pure[-1]:.3f} s, "
                f"auto_map {first[-1]:.3f} s, rerun {rerun[-1]:.3f} s, "
                f"report {report[-1]:.3f} s",
                flush=True,
            )
        assert outcome is not None
        results["runs_s"] = {
            "classify": [round(v, 3) for v in pure],
            "auto_map": [round(v, 3) for v in first],
            "auto_map_rerun": [round(v, 3) for v in rerun],
            "report": [round(v, 3) for v in report],
        }
        results["classify_s"] = round(statistics.median(pure), 3)
        # CPU seconds of this process (both DuckDB threads): less sensitive to other load.
        results["classify_cpu_s"] = round(statistics.median(pure_cpu), 3)
        results["auto_map_s"] = round(statistics.median(first), 3)
        results["auto_map_rerun_s"] = round(statistics.median(rerun), 3)
        results["report_s"] = round(statistics.median(report), 3)
        results["map_stage_s"] = round(results["auto_map_rerun_s"] + results["report_s"], 3)
        results["mapped_skus"] = outcome.mapped_skus
        results["by_reason"] = outcome.by_reason

        tiktok = con.execute("SELECT * FROM catalog_variants WHERE channel = 'tiktok'").df()
        store = con.execute("SELECT * FROM catalog_variants WHERE channel = ?", [args.store]).df()
        _reset_links(con)  # the memory child starts from a shop without links
        con.close()
        pandas_runs = []
        reasons = None
        for _ in range(max(1, min(args.runs, args.pandas_runs))):
            secs, reasons = _timed(lambda: pandas_classify(tiktok, store, args.store))
            pandas_runs.append(secs)
            print(f"pandas baseline {secs:.3f} s", flush=True)
        assert reasons is not None
        pandas_counts = {str(k): int(v) for k, v in reasons.value_counts().items()}
        if pandas_counts != outcome.by_reason:
            raise SystemExit(f"pandas and DuckDB disagree: {pandas_counts} vs {outcome.by_reason}")
        results["runs_s"]["pandas"] = [round(v, 3) for v in pandas_runs]
        results["pandas_s"] = round(statistics.median(pandas_runs), 3)
        results["ratio_vs_pandas"] = round(results["pandas_s"] / results["classify_s"], 1)
        results["loadavg_end"] = os.getloadavg()

        results["memory"] = peak_memory(path, args.store)
        print(f"memory {results['memory']}", flush=True)

    with tempfile.TemporaryDirectory(prefix="map-bench-sugg-") as tmp:
        path = Path(tmp) / "sugg.duckdb"
        build_db(path, args.suggest_variants, args.seed, args.store)
        con = connect(path)
        times = []
        for i in range(args.runs):
            _reset_links(con)
            secs, (_, frame) = _timed(
                lambda i=i: map_stage(con, run_id=f"s{i}", store_channel=args.store)
            )
            times.append(secs)
            hinted = int(frame["suggestion"].notna().sum())
            print(f"map stage with suggestions {secs:.3f} s ({hinted} suggestions)", flush=True)
        con.close()
        results["suggest_variants"] = args.suggest_variants
        results["suggest_stage_s"] = round(statistics.median(times), 3)
        results["suggestions"] = hinted
    return results


def markdown(r: dict[str, Any]) -> str:
    """The "Map stage" section of docs/BENCHMARKS.md."""
    m = r["machine"]
    n = f"{r['variants']:,}"
    reasons = ", ".join(f"{k} {v:,}" for k, v in sorted(r["by_reason"].items()))
    goal_time = "met" if r["classify_s"] <= 2 else "not met"
    goal_mem = "met" if r["memory"]["peak_rss_mib"] <= 2048 else "not met"
    goal_ratio = "met" if r["ratio_vs_pandas"] >= 5 else "not met"
    load = ", ".join(f"{a:.1f}" for a in r["loadavg_start"])
    load_end = ", ".join(f"{a:.1f}" for a in r["loadavg_end"])
    sug = f"{r['suggest_variants']:,} x {r['suggest_variants']:,}"
    why_ratio = (
        ""
        if r["ratio_vs_pandas"] >= 5
        else """
  Why the 5x goal is missed: both do the same hash work on 2 cores (normalise ~2M SKUs,
  group 1M store SKUs, join 1M TikTok SKUs, group 266k products), and pandas 3's
  Arrow-backed string groupbys/merges are compiled code too. Per `EXPLAIN ANALYZE` most of
  the DuckDB time left is the 1M-key SKU aggregation and join on VARCHAR SKUs, then the
  product aggregation. An integer surrogate for the SKU would have to come from that same
  aggregation, and a 64-bit hash key could collide, which "SKUs compare byte for byte"
  does not allow, so the keys stay strings."""
    )
    cpu = r.get("classify_cpu_s")
    why_time = (
        ""
        if r["classify_s"] <= 2
        else f""" (load average {load} on 2 CPUs: the
  two DuckDB threads got about one CPU; classify used {cpu} CPU seconds, median)"""
    )
    settings = ", ".join(f"{k} {v}" for k, v in sorted(r.get("duckdb_settings", {}).items()))
    rows = [
        ("classify", "classify_s"),
        ("pandas baseline", "pandas_s"),
        ("classify vs pandas (x)", "ratio_vs_pandas"),
        ("auto_map, shop without links", "auto_map_s"),
        ("auto_map rerun", "auto_map_rerun_s"),
        ("report, suggestions off", "report_s"),
        ("steady-state map step", "map_stage_s"),
    ]
    now = {**r, "peak_rss_mib": r["memory"]["peak_rss_mib"]}
    rows.append(("peak RSS (MiB)", "peak_rss_mib"))
    before = "\n".join(f"| {label} | {BEFORE[key]} | {now[key]} |" for label, key in rows)
    per_run = "\n".join(
        f"- {name} per run (s): {', '.join(str(v) for v in values)}"
        for name, values in r.get("runs_s", {}).items()
    )
    return f"""{SECTION}

Auto-map (DuckDB SQL, `tasks/mapping.py`) on generated catalogs with every anomaly kind
(`sandbox.generator.generate_tables`, store `{r["store"]}`), measured on {r["date"]}.

- Machine: {m["nproc"]} CPUs ({m["cpu"]}), {m["ram_gib"]} GiB RAM, Python {m["python"]}.
  Shared with other jobs while measuring: load average {load} at the start, {load_end}
  at the end of the timed runs (on 2 CPUs), so every figure here is pessimistic.
- Command: `{r["command"]}`
- Catalogs: {r["sizes"]["tiktok_variants"]:,} TikTok x {r["sizes"]["store_variants"]:,} store
  variants; {r["mapped_skus"]:,} SKUs mapped; unmapped by reason: {reasons}.

| step ({n} x {n}, median of {r["runs"]}) | seconds |
|---|---|
| **classify** (normalise, join, classify; `tasks.mapping.classify`) | **{r["classify_s"]}** |
| pandas baseline, the same classification with merges/groupbys | {r["pandas_s"]} |
| auto_map, shop without links (classify, write a link + event per SKU) | {r["auto_map_s"]} |
| auto_map again, links in place (the hourly steady state) | {r["auto_map_rerun_s"]} |
| mapping report, suggestions off (`build_mapping_report`) | {r["report_s"]} |
| steady-state map step (auto_map rerun + report) | {r["map_stage_s"]} |
| map stage with suggestions on, {sug} (auto_map + report) | {r["suggest_stage_s"]} |

{per_run}
- Classification vs pandas: **{r["ratio_vs_pandas"]}x** faster (goal >= 5x: {goal_ratio});
  the per-reason counts of both are equal (the bench stops otherwise). The baseline is
  idiomatic pandas on frames already in memory (no read from the file, which the DuckDB
  figure includes).{why_ratio}
- Classification <= 2 s at 1M x 1M without suggestions: {goal_time}{why_time}. Writing ~1M links
  the first time (primary-key index, audit events, commit) comes on top, once per shop.
- Peak resident memory (VmHWM) of a process running the map stage alone on a shop without
  links: {r["memory"]["peak_rss_mib"]:,} MiB (after opening the file:
  {r["memory"]["baseline_rss_mib"]:,} MiB; goal <= 2 GiB: {goal_mem}).
- DuckDB settings of the connection (defaults of `tasks.warehouse.connect`): {settings}.
- With suggestions on, {r["suggestions"]:,} failed SKUs got a hint.

Before / after the one-query classification (before: the code of commit 60ef4a0, the same
command on the same machine earlier that day, load average {BEFORE["load"]}; medians):

| step | before (s) | now (s) |
|---|---|---|
{before}

What changed: the classification is one query of CTEs instead of eight temp tables of long
VARCHAR columns (creating those tables cost more than computing them); `classify()` only
counts that query's rows (nothing stored) and `auto_map` stores them once as `map_result`;
the SKU reason is an integer until the last step; the run outcome is one scan; new links
are inserted straight from the old/new diff (a rerun writes no link or event; only
`mapping_state`, the ~200k unmapped SKUs' reasons stamped with the run id, is rewritten); the
same-run competition guard reads `mappings` only for contested store products; the report
is fetched through Arrow (`to_arrow_table().to_pandas()` gives the same frame as `.df()`,
three times faster at 1M rows). Results are unchanged (same tests; same report, links,
events and state at 1M x 1M, Shopify and Amazon, compared before/after).
"""


def write_docs(text: str, path: Path = DOCS) -> None:
    """Replace (or append) the "Map stage" section, leaving other sections untouched."""
    write_section(SECTION, text, path)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", choices=["shopify", "amazon"], default="shopify")
    parser.add_argument("--suggest-variants", type=int, default=100_000)
    parser.add_argument("--pandas-runs", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args(argv)
    results = run(args)
    print(json.dumps(results, indent=1, default=str))
    if args.write_docs:
        write_docs(markdown(results))
        print(f"wrote the Map stage section of {DOCS}")


if __name__ == "__main__":
    main()
