"""End to end on a real Prefect server: prefect.yaml deployed, run by a worker, seen in the UI.

What a user does on a server (docs/operations.md), with the sandbox marketplaces in place
of real ones: `prefect server start` (SQLite under a temporary PREFECT_HOME), a `skubridge`
process work pool, `prefect deploy -n sync-shop` from the project's prefect.yaml, a process
worker whose environment carries the shops file, data folders and sandbox credentials,
`prefect deployment run 'sync-shop/sync-shop' --param shop=<id>`, and then the Prefect UI
in headless Chromium showing the run's "unmapped products" table artifact with the
products that could not be mapped and why. Everything started here is stopped here, also
on failure. The UI screenshot lands in test-output/prefect-ui-artifact.png.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.fixture import Fixture
from sandbox.stack import sandbox_stack

from .browser import chromium_page, ensure_chromium
from .prefect_processes import UUID_RE, PrefectEnv

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "test-output" / "prefect-ui-artifact.png"
SHOP = "e2e-shopify"
RUN_TIMEOUT = 480

MAPPED_ID = "1731000000000000101"
ORPHAN_ID = "1731000000000000102"
NO_SKU_ID = "1731000000000000103"
FIXTURE = Fixture.model_validate(
    {
        "tiktok": {
            "products": [
                {
                    "id": MAPPED_ID,
                    "title": "E2E Tee",
                    "skus": [
                        {"seller_sku": "E2E-TEE-S", "price": "19.00", "inventory": {}},
                        {"seller_sku": "E2E-TEE-M", "price": "19.00", "inventory": {}},
                    ],
                },
                # Its SKU is not in the store: SKU_NOT_FOUND.
                {"id": ORPHAN_ID, "title": "E2E Orphan Mug", "skus": [{"seller_sku": "E2E-MUG"}]},
                # A variant without a seller SKU: MISSING_SKU.
                {"id": NO_SKU_ID, "title": "E2E Nameless Cap", "skus": [{"seller_sku": ""}]},
            ]
        },
        "shopify": {
            "products": [
                {
                    "title": "E2E Tee",
                    "variants": [
                        {"sku": "E2E-TEE-S", "price": "21.00", "options": {"Size": "S"}},
                        {"sku": "E2E-TEE-M", "price": "21.00", "options": {"Size": "M"}},
                    ],
                },
                {"title": "E2E Poster", "variants": [{"sku": "E2E-POSTER", "price": "9.00"}]},
            ]
        },
    }
)
EXPECTED_UNMAPPED = {ORPHAN_ID: "SKU_NOT_FOUND", NO_SKU_ID: "MISSING_SKU"}
PULL_STEP = {
    "prefect.deployments.steps.set_working_directory": {"directory": "{{ $SKUBRIDGE_PROJECT_DIR }}"}
}


def _deployment() -> tuple[str, str]:
    """(deployment name in prefect.yaml, flow name): sync-shop, the whole cycle."""
    if not (ROOT / "flows" / "sync_shop.py").exists():
        pytest.skip("flows/sync_shop.py (the sync-shop flow) is not in this checkout")
    return "sync-shop", "sync-shop"


@contextmanager
def _client(api_url: str) -> Iterator[Any]:
    """A synchronous Prefect client for the test's own server (not the session's)."""
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: api_url}), get_client(sync_client=True) as client:
        yield client


def _wait_for_final_state(client: Any, run_id: str, timeout: float) -> Any:
    """Poll the flow run until it is final; return it."""
    deadline = time.monotonic() + timeout
    while True:
        run = client.read_flow_run(run_id)
        if run.state is not None and run.state.is_final():
            return run
        if time.monotonic() > deadline:
            raise AssertionError(f"flow run {run_id} still {run.state_name} after {timeout} s")
        time.sleep(2)


def _check_ui(ui_url: str, run_id: str, artifact_key: str, profile: Path) -> None:
    """Open the flow run holding the artifact in the Prefect UI, its Artifacts tab, then the
    unmapped-products table; every expected product shows in a row with its reason."""
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    with chromium_page(profile) as page:
        page.set_default_timeout(60_000)
        try:
            page.goto(f"{ui_url}/runs/flow-run/{run_id}")
            page.get_by_text("Artifacts", exact=True).first.click()
            page.get_by_text(artifact_key, exact=True).first.click()
            for product_id, reason in EXPECTED_UNMAPPED.items():
                row = page.locator("table tr", has_text=product_id).first
                row.wait_for()
                text = row.inner_text()
                assert reason in text, f"UI row of {product_id} lacks {reason}: {text!r}"
            table = page.locator("table").first.inner_text()
            assert "E2E Orphan Mug" in table
            assert MAPPED_ID not in table, "a mapped product is listed as unmapped"
        finally:
            page.screenshot(path=str(SCREENSHOT), full_page=True)


def test_sync_shop_deployment_runs_on_a_worker_and_the_ui_shows_unmapped_products(
    prefect_server: PrefectEnv, tmp_path: Path
) -> None:
    deployment, flow_name = _deployment()
    reason = ensure_chromium()
    if reason:
        pytest.skip(f"no browser for the UI check: {reason}")

    prefect = prefect_server
    with sandbox_stack(FIXTURE, throttle=False) as stack:
        shops_file = stack.write_shops_file(tmp_path / "shops.toml", [(SHOP, "shopify")])
        worker_env = {
            **stack.env(),
            "SKUBRIDGE_SHOPS_FILE": str(shops_file),
            "SKUBRIDGE_DATA_DIR": str(tmp_path / "data"),
            "SKUBRIDGE_REPORTS_DIR": str(tmp_path / "reports"),
            "SKUBRIDGE_PROJECT_DIR": str(ROOT),
        }
        worker = None
        try:
            prefect.run("--no-prompt", "deploy", "-n", deployment, cwd=ROOT)
            worker = prefect.start("worker", "worker", "start", "--pool", "skubridge",
                                   cwd=tmp_path, more=worker_env)  # fmt: skip
            output = prefect.run(
                "deployment", "run", f"{flow_name}/{deployment}", "--param", f"shop={SHOP}",
                cwd=tmp_path,
            )  # fmt: skip
            run_id = UUID_RE.findall(output.split("Created flow run", 1)[-1])[0]

            with _client(prefect.api_url) as client:
                spec = client.read_deployment_by_name(f"{flow_name}/{deployment}")
                assert spec.work_pool_name == "skubridge"
                # The pull step reached the server unresolved; the worker resolves it.
                assert spec.pull_steps == [PULL_STEP]
                run = _wait_for_final_state(client, run_id, RUN_TIMEOUT)
                assert run.state.is_completed(), f"flow run ended {run.state_name}"
                assert run.parameters["shop"] == SHOP
                assert run.name.startswith(f"{flow_name}-{SHOP}")
                artifacts = _table_artifacts(client, run_id)

            key = f"unmapped-products-{SHOP}"
            assert key in artifacts, f"no {key} artifact; the run made {sorted(artifacts)}"
            holder, table = artifacts[key]
            rows = {row["tiktok_product_id"]: row["reason"] for row in table}
            assert rows == EXPECTED_UNMAPPED

            _check_ui(prefect.ui_url, holder, key, tmp_path / "chromium-profile")
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n\nprocess logs:\n{prefect.logs_text()}") from exc
        finally:
            if worker is not None:
                worker.stop()  # and the flow-run processes it started
            shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)


def test_every_deployment_of_prefect_yaml_deploys_with_its_schedules(
    prefect_server: PrefectEnv,
) -> None:
    """`prefect deploy --all` accepts the whole file, and the server holds what it says:
    pool, pull step, tags, schedules with their parameters, fan-out concurrency limits."""
    _deployment()
    config = yaml.safe_load((ROOT / "prefect.yaml").read_text(encoding="utf-8"))
    prefect_server.run("--no-prompt", "deploy", "--all", cwd=ROOT)
    with _client(prefect_server.api_url) as client:
        deployed = {d.name: d for d in client.read_deployments()}
        for entry in config["deployments"]:
            name = entry["name"]
            assert name in deployed, f"{name} not deployed; server has {sorted(deployed)}"
            spec = deployed[name]
            assert spec.entrypoint == entry["entrypoint"]
            assert spec.work_pool_name == "skubridge"
            assert spec.pull_steps == [PULL_STEP]
            assert spec.enforce_parameter_schema is True
            assert set(entry["tags"]) <= set(spec.tags) and "skubridge" in spec.tags
            assert spec.parameters == (entry.get("parameters") or {})
            wanted = {s["slug"]: s.get("parameters", {}) for s in entry.get("schedules") or []}
            got = {s.slug: s.parameters for s in spec.schedules}
            assert got == wanted, name
            limit = entry.get("concurrency_limit")
            if limit:
                assert spec.global_concurrency_limit.limit == limit["limit"], name
                strategy = spec.concurrency_options.collision_strategy
                assert str(getattr(strategy, "value", strategy)) == limit["collision_strategy"]
            else:
                assert spec.global_concurrency_limit is None, name


def _table_artifacts(client: Any, run_id: str) -> dict[str, tuple[str, list[dict[str, Any]]]]:
    """Table artifacts of the run and its subflow runs: key -> (flow run id, rows).

    sync-shop runs each step as a subflow, so the mapping tables hang on the sync-catalog
    subflow run; the UI shows them on that run's page.
    """
    import json

    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        FlowRunFilter,
        FlowRunFilterParentFlowRunId,
    )

    children = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            parent_flow_run_id=FlowRunFilterParentFlowRunId(any_=[run_id])
        )
    )
    run_ids = [run_id, *(str(child.id) for child in children)]
    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=run_ids))
    )
    tables: dict[str, tuple[str, list[dict[str, Any]]]] = {}
    for artifact in found:
        if artifact.type == "table" and artifact.key:
            data = artifact.data
            rows = json.loads(data) if isinstance(data, str) else data
            tables[artifact.key] = (str(artifact.flow_run_id), rows)
    return tables


def _docs_automation(block_id: str) -> str:
    """The failure-alert automation exactly as docs/operations.md shows it."""
    text = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    start = text.index("name: skubridge-run-failed")
    block = text[start : text.index("```", start)]
    assert "<id printed above>" in block
    return block.replace("<id printed above>", block_id)


@contextmanager
def _webhook_receiver() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A loopback HTTP endpoint that records the JSON bodies posted to it."""
    import json
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            received.append(json.loads(body or b"{}"))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/alerts", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_failure_alert_automation_from_the_docs_notifies(
    prefect_server: PrefectEnv, tmp_path: Path
) -> None:
    """The automation of docs/operations.md, created with `prefect automation create`,
    sends one notification with the run's name, shop, error and UI link when a sync-shop
    run fails (here: a shop that is not in the shops file)."""
    deployment, flow_name = _deployment()
    from prefect.blocks.notifications import CustomWebhookNotificationBlock
    from prefect.settings import PREFECT_API_URL, temporary_settings

    prefect = prefect_server
    shops_file = tmp_path / "shops.toml"
    shops_file.write_text("", encoding="utf-8")
    worker = None
    with _webhook_receiver() as (url, received):
        try:
            with temporary_settings({PREFECT_API_URL: prefect.api_url}):
                # A stand-in for Slack: the same send-notification action, to loopback.
                block_id = CustomWebhookNotificationBlock(
                    name="alerts",
                    url=url,
                    json_data={"subject": "{{subject}}", "body": "{{body}}"},
                    allow_private_urls=True,
                ).save("skubridge-alerts", overwrite=True)
            automation = tmp_path / "skubridge-alerts.yaml"
            automation.write_text(_docs_automation(str(block_id)), encoding="utf-8")
            prefect.run("automation", "create", "--from-file", str(automation), cwd=tmp_path)
            prefect.run("--no-prompt", "deploy", "-n", deployment, cwd=ROOT)
            worker_env = {
                "SKUBRIDGE_SHOPS_FILE": str(shops_file),
                "SKUBRIDGE_DATA_DIR": str(tmp_path / "data"),
                "SKUBRIDGE_REPORTS_DIR": str(tmp_path / "reports"),
                "SKUBRIDGE_PROJECT_DIR": str(ROOT),
            }
            worker = prefect.start("alert-worker", "worker", "start", "--pool", "skubridge",
                                   cwd=tmp_path, more=worker_env)  # fmt: skip
            output = prefect.run(
                "deployment", "run", f"{flow_name}/{deployment}", "--param", "shop=ghost-shop",
                cwd=tmp_path,
            )  # fmt: skip
            run_id = UUID_RE.findall(output.split("Created flow run", 1)[-1])[0]
            with _client(prefect.api_url) as client:
                run = _wait_for_final_state(client, run_id, RUN_TIMEOUT)
            assert run.state.is_failed(), f"flow run ended {run.state_name}"
            deadline = time.monotonic() + 120
            while not received and time.monotonic() < deadline:
                time.sleep(1)
            assert received, "no notification within 120 s of the failed run"
            time.sleep(3)  # a second notification would arrive now
            assert len(received) == 1, received
            (note,) = received
            assert note["subject"] == f"skubridge: {run.name} Failed"
            assert "Flow sync-shop, shop ghost-shop: Failed." in note["body"]
            assert "ConfigError" in note["body"]
            assert f"/runs/flow-run/{run_id}" in note["body"]
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n\nprocess logs:\n{prefect.logs_text()}") from exc
        finally:
            if worker is not None:
                worker.stop()
