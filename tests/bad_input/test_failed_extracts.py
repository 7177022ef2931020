"""Extracts that fail half-way, come back empty or shrunken: nothing accepted is lost.

A shop first syncs a good catalog (run-1). Then the marketplace breaks in one way per
test. The catalog step must stop with the step and the reason, promote nothing, keep the
accepted catalogs and the mappings exactly as they were, and write no mapping report for
the failed run.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from connectors.http import RetryPolicy
from sandbox.fixture import load_fixture
from sandbox.stack import sandbox_stack
from skubridge.commands.sync import catalog_summary_lines
from skubridge.config import load_shops
from tasks.steps.catalog import CatalogStepError, run_catalog, summary_markdown
from tasks.warehouse import open_shop

from .wire import Wire

TIKTOK_SEARCH = "/product/202309/products/search"
FAST = RetryPolicy(attempts=2, timeout=20, wait_initial=0.001, wait_max=0.01, wait_jitter=0.0)
KEPT_TABLES = ("catalog_variants", "catalog_stock", "mappings", "mapping_state")
N = 150  # products per side, one SKU each: TikTok search answers pages of 100


def fixture(tiktok: int = N, store: int = N) -> dict[str, Any]:
    return {
        "tiktok": {
            "products": [
                {"title": f"P{i}", "skus": [{"seller_sku": f"SKU-{i}", "price": "5"}]}
                for i in range(tiktok)
            ]
        },
        "shopify": {
            "products": [
                {"title": f"P{i}", "variants": [{"sku": f"SKU-{i}", "price": "5"}]}
                for i in range(store)
            ]
        },
        "amazon": {
            "listings": [{"sku": f"SKU-{i}", "price": "5", "quantity": 2} for i in range(store)]
        },
    }


@pytest.fixture
def stack(data_dirs, tmp_path, monkeypatch):
    import connectors.amazon

    class QuickReports(connectors.amazon.AmazonClient):  # polls the sandbox's report quickly
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**{"report_poll_initial": 0.01, "report_poll_max": 0.05, **kwargs})

    monkeypatch.setattr(connectors.amazon, "AmazonClient", QuickReports)
    with sandbox_stack(load_fixture(fixture()), throttle=False) as running:
        for name, value in running.env().items():
            monkeypatch.setenv(name, value)
        path = running.write_shops_file(
            tmp_path / "shops.toml", [("acme", "shopify"), ("amzn", "amazon")]
        )
        monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
        yield running


def options(wire: Wire | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"rate_scale": 0, "retry": FAST, **extra}
    if wire is not None:
        out["transport"] = wire
    return out


def snapshot(shop_id: str) -> dict[str, list[tuple[Any, ...]]]:
    with open_shop(shop_id, read_only=True) as con:
        return {
            table: sorted(con.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in KEPT_TABLES
        }


def report_runs(shop_id: str) -> list[str]:
    with open_shop(shop_id, read_only=True) as con:
        return [r[0] for r in con.execute("SELECT DISTINCT run_id FROM mapping_report").fetchall()]


def accepted(shop_id: str, shop_kind: str = "shopify") -> dict[str, Any]:
    """Sync a good catalog first and return what was accepted."""
    config = load_shops().get(shop_id)
    summary = run_catalog(config, run_id="run-1", client_options=options())
    assert summary.status == "COMPLETED" and summary.mapping["mapped_skus"] == N
    return snapshot(shop_id)


def failed_run(shop_id: str, client_options: dict[str, Any]) -> CatalogStepError:
    config = load_shops().get(shop_id)
    with pytest.raises(CatalogStepError) as caught:
        run_catalog(config, run_id="run-2", client_options=client_options)
    error = caught.value
    assert error.summary.status == "FAILED" and error.summary.promoted == {}
    markdown = summary_markdown(error.summary)
    assert "Nothing was promoted: the previous catalogs and mappings are unchanged." in markdown
    return error


def page_answers_then(fail_after: int, answer: Any) -> Wire:
    """TikTok product search answers ``fail_after`` pages, then ``answer`` (a response or a
    function of the request) for every later call, retries included."""
    seen = {"pages": 0}

    def override(request: httpx.Request, operation: str) -> httpx.Response | None:
        if operation != TIKTOK_SEARCH:
            return None
        seen["pages"] += 1
        if seen["pages"] <= fail_after:
            return None
        return answer(request) if callable(answer) else answer

    return Wire(override=override)


@pytest.mark.parametrize(
    ("answer", "error_class"),
    [
        (
            httpx.Response(
                500, json={"code": 36009003, "message": "Internal error", "request_id": "r"}
            ),
            "TransientError",
        ),
        (httpx.Response(200, content=b'{"code":0,"data":{"products":[{"id":'), "Malformed"),
        (
            lambda request: httpx.Response(
                200,
                json={
                    "code": 0,
                    "request_id": "r",
                    "data": {
                        "total_count": N,
                        # the token this page was asked with, handed back again
                        "next_page_token": request.url.params["page_token"],
                        "products": [],
                    },
                },
            ),
            "PagingError",
        ),
    ],
    ids=["server-errors", "truncated-page", "repeated-token"],
)
def test_extract_failing_after_some_pages_keeps_everything(stack, answer, error_class):
    before = accepted("acme")
    wire = page_answers_then(1, answer)
    error = failed_run("acme", options(wire))
    assert error.step == "extract"
    assert error_class in str(error) and "tiktok product.search failed" in str(error)
    assert snapshot("acme") == before
    assert report_runs("acme") == ["run-1"]
    lines = "\n".join(catalog_summary_lines(error.summary.to_dict()))
    assert "stopped at extract" in lines and "product.search" in lines


def test_empty_tiktok_catalog_is_blocked(stack):
    before = accepted("acme")
    stack.load(load_fixture(fixture(tiktok=0)))
    error = failed_run("acme", options())
    assert error.step == "catalog_checks"
    assert "tiktok: catalog_not_collapsed (observed 0)" in str(error)
    assert "catalog_not_empty" in str(error)
    assert error.summary.checks["shopify"]["passed"] is True
    assert snapshot("acme") == before and report_runs("acme") == ["run-1"]


def test_shrunken_tiktok_catalog_is_blocked(stack):
    before = accepted("acme")
    stack.load(load_fixture(fixture(tiktok=3)))
    error = failed_run("acme", options())
    assert error.step == "catalog_checks"
    assert "tiktok: catalog_not_collapsed (observed 3)" in str(error)
    markdown = summary_markdown(error.summary)
    assert "catalog_not_collapsed" in markdown and "FAILED" in markdown
    assert snapshot("acme") == before and report_runs("acme") == ["run-1"]


def test_amazon_report_with_no_listings_is_blocked(stack):
    """Amazon cancels a report that has no data: never read as an empty catalog; the
    connector checks searchListingsItems and says the account shows no listings."""
    before = accepted("amzn", "amazon")
    stack.load(load_fixture(fixture(store=0)))
    error = failed_run("amzn", options())
    assert error.step == "extract"
    assert "CANCELLED" in str(error) and "no listing" in str(error)
    assert snapshot("amzn") == before and report_runs("amzn") == ["run-1"]


def test_amazon_report_cancelled_for_frequency_keeps_the_accepted_catalog(stack):
    """Amazon also cancels reports requested too often (amzn/selling-partner-api-docs#1329):
    the run stops at extract ("try later"), the accepted catalog stays, nothing is empty."""
    before = accepted("amzn", "amazon")
    stack.emulator("amazon").report_options.cancel_next = 1
    error = failed_run("amzn", options())
    assert error.step == "extract"
    assert "CANCELLED" in str(error) and "try again later" in str(error)
    assert snapshot("amzn") == before and report_runs("amzn") == ["run-1"]


def test_first_amazon_report_cancelled_promotes_nothing(stack):
    """On a shop's first run a CANCELLED report must not become an accepted empty catalog."""
    stack.emulator("amazon").report_options.cancel_next = 1
    error = failed_run("amzn", options())
    assert error.step == "extract" and "CANCELLED" in str(error)
    with open_shop("amzn") as con:
        assert con.execute("SELECT count(*) FROM catalog_variants").fetchone() == (0,)
        assert con.execute("SELECT count(*) FROM catalog_snapshots").fetchone() == (0,)


def test_store_page_of_wrong_shape_half_way_keeps_everything(stack):
    before = accepted("acme")
    calls = {"n": 0}

    def override(request: httpx.Request, operation: str) -> httpx.Response | None:
        if operation != "productVariants":
            return None
        calls["n"] += 1
        return httpx.Response(200, content=json.dumps({"data": {"productVariants": None}}))

    error = failed_run("acme", options(Wire(override=override)))
    assert error.step == "extract"
    assert "shopify productVariants failed" in str(error) and "wrong shape" in str(error)
    assert snapshot("acme") == before and report_runs("acme") == ["run-1"]
