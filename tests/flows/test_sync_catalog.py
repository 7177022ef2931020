"""The sync-catalog flow against the sandbox: reports, artifacts, run record, blocked runs."""

from __future__ import annotations

import asyncio
import json
import stat

import pandas as pd
import pytest
from typer.testing import CliRunner

from connectors.errors import AuthError, FatalError, ThrottledError, TransientError
from flows.retry import retry_on_transient
from flows.sync_catalog import PARTS, sync_catalog
from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import app
from skubridge.commands.sync import catalog_summary_lines
from skubridge.config import load_shops
from tasks.steps.catalog import CatalogStepError, run_catalog
from tasks.warehouse import open_shop

extract_catalogs = PARTS["extract_catalogs"]

runner = CliRunner()

FIXTURE = {
    "tiktok": {
        "products": [
            {
                "title": "Tee",
                "skus": [
                    {"seller_sku": "TEE-S", "price": "10", "sales_attributes": {"Size": "S"}},
                    {"seller_sku": "TEE-M", "price": "10", "sales_attributes": {"Size": "M"}},
                ],
            },
            {"title": "Mug", "skus": [{"seller_sku": "MUG-1", "price": "7"}]},
            {"title": "Cap", "skus": [{"seller_sku": "", "price": "5"}]},
        ]
    },
    "shopify": {
        "products": [
            {
                "title": "Tee",
                "variants": [
                    {"sku": "TEE-S", "price": "10", "options": {"Size": "S"}},
                    {"sku": "TEE-M", "price": "10", "options": {"Size": "M"}},
                ],
            },
            {"title": "Mug", "variants": [{"sku": "mug 1", "price": "7"}]},
        ]
    },
}


@pytest.fixture
def sandbox(data_dirs, tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        path = stack.write_shops_file(tmp_path / "shops.toml", [("acme", "shopify")])
        monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
        yield stack


def _report(shop, run_id):
    with open_shop(shop, read_only=True) as con:
        frame = con.execute(
            "SELECT * EXCLUDE (run_id) FROM mapping_report WHERE run_id = ? ORDER BY tiktok_sku_id",
            [run_id],
        ).df()
    return frame.astype(object).where(frame.notna(), None)


def test_catalog_step_maps_and_a_collapsed_catalog_is_blocked(sandbox, data_dirs, monkeypatch):
    shop = load_shops().get("acme")
    summary = run_catalog(shop, run_id="run-1")
    assert summary.status == "COMPLETED"
    assert summary.promoted == {"tiktok": 4, "shopify": 3}
    assert summary.mapping["mapped_skus"] == 2 and summary.mapping["unmapped_skus"] == 2
    report = _report("acme", "run-1")
    assert report[["seller_sku", "status", "reason", "method"]].to_dict("records") == [
        {"seller_sku": "TEE-S", "status": "mapped", "reason": None, "method": "auto"},
        {"seller_sku": "TEE-M", "status": "mapped", "reason": None, "method": "auto"},
        {"seller_sku": "MUG-1", "status": "unmapped", "reason": "SKU_NOT_FOUND", "method": None},
        {"seller_sku": None, "status": "unmapped", "reason": "MISSING_SKU", "method": None},
    ]
    mug = report[report["seller_sku"] == "MUG-1"].iloc[0]
    assert mug["suggestion"]  # "mug 1" differs only by case/punctuation: a hint, not a map
    lines = "\n".join(catalog_summary_lines(summary.to_dict()))
    assert "catalog sync COMPLETED (run run-1)" in lines
    assert "1 of 3 TikTok products mapped; 2 SKUs mapped, 2 unmapped" in lines
    assert "SKU_NOT_FOUND" in lines and summary.reports["mapping_report"]["csv"] in lines
    with open_shop("acme", read_only=True) as con:
        before = {
            t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=str)
            for t in ("catalog_variants", "mappings")
        }

    # The store now answers with one of its three variants: a collapse, not a change.
    smaller = load_fixture(
        {**FIXTURE, "shopify": {"products": [FIXTURE["shopify"]["products"][1]]}}
    )
    sandbox.load(smaller)
    with pytest.raises(CatalogStepError) as caught:
        run_catalog(shop, run_id="run-2")
    error = caught.value
    assert error.step == "catalog_checks"
    assert "shopify: catalog_not_collapsed (observed 1)" in str(error)
    assert error.summary.status == "FAILED" and error.summary.promoted == {}
    assert error.summary.checks["tiktok"]["passed"] is True
    with open_shop("acme", read_only=True) as con:
        after = {
            t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=str)
            for t in ("catalog_variants", "mappings")
        }
        snapshots = con.execute(
            "SELECT channel, accepted FROM catalog_snapshots WHERE run_id = 'run-2' ORDER BY 1"
        ).fetchall()
        reports = con.execute("SELECT DISTINCT run_id FROM mapping_report").fetchall()
    assert after == before
    assert snapshots == [("shopify", False), ("tiktok", False)]
    assert reports == [("run-1",)]
    lines = "\n".join(catalog_summary_lines(error.summary.to_dict()))
    assert "stopped at catalog_checks" in lines and "shopify catalog checks FAILED" in lines

    # A failure after promotion names its step and does not claim nothing was promoted.
    sandbox.load(load_fixture(FIXTURE))

    def broken_auto_map(*args, **kwargs):
        raise RuntimeError("mapping exploded")

    monkeypatch.setattr("tasks.mapping.auto_map", broken_auto_map)
    with pytest.raises(CatalogStepError) as caught:
        run_catalog(shop, run_id="run-3")
    assert caught.value.step == "map"
    assert str(caught.value) == "RuntimeError: mapping exploded"
    assert caught.value.summary.promoted == {"tiktok": 4, "shopify": 3}
    lines = "\n".join(catalog_summary_lines(caught.value.summary.to_dict()))
    assert "stopped at map" in lines and "catalogs were promoted" in lines


def test_sync_command_rejects_bad_step_and_unknown_shop(sandbox):
    result = runner.invoke(app, ["sync", "--shop", "acme", "--step", "push"])
    assert result.exit_code == 2 and "unknown step 'push'" in result.stderr
    result = runner.invoke(app, ["sync", "--shop", "nobody"])
    assert result.exit_code == 2 and "no shop 'nobody'" in result.stderr


@pytest.mark.usefixtures("prefect_api")
def test_sync_catalog_flow_end_to_end(sandbox, data_dirs):
    result = sync_catalog(shop="acme")
    run_id = result["run_id"]
    assert result["status"] == "COMPLETED"
    assert result["mapping"]["mapped_products"] == 1

    # DuckDB report rows and the run record
    report = _report("acme", run_id)
    assert list(report.columns) == [
        "tiktok_product_id",
        "tiktok_sku_id",
        "seller_sku",
        "status",
        "reason",
        "method",
        "store_product_id",
        "store_variant_id",
        "suggestion",
        "tiktok_title",
        "tiktok_options",
        "store_title",
        "store_options",
        "suggested_store_variant_id",
        "suggested_store_sku",
        "suggestion_basis",
    ]
    assert sorted(report["status"]) == ["mapped", "mapped", "unmapped", "unmapped"]
    with open_shop("acme", read_only=True) as con:
        cur = con.execute("SELECT * FROM runs WHERE run_id = ?", [run_id])
        run = dict(zip([d[0] for d in cur.description], cur.fetchone(), strict=True))
    assert run["flow"] == "sync-catalog" and run["status"] == "COMPLETED"
    assert run["failed_step"] is None and run["finished_at"] is not None
    assert json.loads(run["summary"])["promoted"] == {"tiktok": 4, "shopify": 3}

    # CSV and Parquet files, owner-only, same rows
    files = result["reports"]["mapping_report"]
    csv = pd.read_csv(files["csv"])
    parquet = pd.read_parquet(files["parquet"])
    assert len(csv) == len(parquet) == 4
    latest = data_dirs[1] / "acme" / "latest" / "mapping_report.parquet"
    pd.testing.assert_frame_equal(pd.read_parquet(latest), parquet)
    assert run["report_dir"] == result["report_dir"]
    assert files["csv"].startswith(str(data_dirs[1]))
    assert stat.S_IMODE(__import__("os").stat(files["csv"]).st_mode) == 0o600

    # Prefect artifacts, read back from the API
    keys = {
        "mapping-report-acme",
        "unmapped-products-acme",
        "mapping-summary-acme",
        "catalog-summary-acme",
    }
    assert set(result["artifacts"]) == keys
    artifacts = asyncio.run(_artifacts(keys))
    assert set(artifacts) == keys
    unmapped = json.loads(artifacts["unmapped-products-acme"].data)
    assert sorted(r["reason"] for r in unmapped) == ["MISSING_SKU", "SKU_NOT_FOUND"]
    summary_rows = json.loads(artifacts["mapping-summary-acme"].data)
    assert {(r["status"], r["reason"], r["skus"]) for r in summary_rows} == {
        ("mapped", "", "2"),
        ("unmapped", "MISSING_SKU", "1"),
        ("unmapped", "SKU_NOT_FOUND", "1"),
    }
    markdown = artifacts["catalog-summary-acme"].data
    assert "COMPLETED" in markdown and files["csv"] in markdown
    assert artifacts["catalog-summary-acme"].type == "markdown"
    assert artifacts["mapping-report-acme"].type == "table"

    # A blocked run: the flow ends Failed with the check's message, the run record says why.
    sandbox.load(load_fixture({**FIXTURE, "shopify": {"products": []}}))
    state = sync_catalog(shop="acme", return_state=True)
    assert state.is_failed()
    assert "shopify: catalog_not_collapsed (observed 0)" in state.message
    with open_shop("acme", read_only=True) as con:
        failed = con.execute(
            "SELECT status, failed_step, error FROM runs WHERE flow = 'sync-catalog'"
            " AND run_id <> ? ORDER BY started_at DESC LIMIT 1",
            [run_id],
        ).fetchone()
        mapped = con.execute("SELECT count(*) FROM mappings").fetchone()[0]
    assert failed[0] == "FAILED" and failed[1] == "catalog_checks"
    assert "catalog_not_empty (observed 0)" in failed[2]
    assert mapped == 2
    failure_md = asyncio.run(_artifacts({"catalog-summary-acme"}))["catalog-summary-acme"].data
    assert "Stopped at `catalog_checks`" in failure_md


async def _artifacts(keys):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    async with get_client() as client:
        found = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=sorted(keys)))
        )
    latest = {}
    for artifact in sorted(found, key=lambda a: a.created):
        latest[artifact.key] = artifact  # keyed artifacts are versioned: keep the newest
    return latest


@pytest.mark.usefixtures("prefect_api")
def test_sync_command_runs_the_flow(sandbox, data_dirs):
    result = runner.invoke(app, ["sync", "--shop", "acme", "--step", "catalog", "--no-suggestions"])
    assert result.exit_code == 0, result.output
    assert "shop acme: catalog sync COMPLETED" in result.stdout
    assert "tiktok: 4 variants of 3 products, 0 malformed records skipped" in result.stdout
    csv_line = next(
        line for line in result.stdout.splitlines() if "mapping_report (4 rows)" in line
    )
    assert csv_line.strip().endswith("mapping_report.csv")
    with open_shop("acme", read_only=True) as con:
        hints = con.execute("SELECT count(suggestion) FROM mapping_report").fetchone()[0]
    assert hints == 0  # --no-suggestions


class _State:
    def __init__(self, exc):
        self.exc = exc

    def result(self):
        if self.exc:
            raise self.exc
        return None


@pytest.mark.parametrize(
    "exc, retried",
    [
        (TransientError("5xx", marketplace="tiktok", operation="product.search"), True),
        (ThrottledError("429", marketplace="shopify", operation="catalog"), True),
        (AuthError("401", marketplace="amazon", operation="lwaToken"), False),
        (FatalError("400", marketplace="tiktok", operation="product.search"), False),
        (ValueError("bug"), False),
        (None, False),
    ],
)
def test_extract_task_retries_only_transient_errors(exc, retried):
    assert extract_catalogs.retry_condition_fn is retry_on_transient
    assert extract_catalogs.retries >= 1
    assert retry_on_transient(extract_catalogs, None, _State(exc)) is retried
