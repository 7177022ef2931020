"""End to end on a real Prefect server: the pages a data team reads after a fan-out.

`sync-all` fans out to two shops on a process worker; one shop's store token is wrong, so
its catalog step fails. In the Prefect UI (headless Chromium) the `sync-all` run page's
summary names the failed shop and its reason, and the failed shop's `sync-shop` run page
shows each step's outcome with links to the step runs. Screenshots are saved as test
output (test-output/prefect-ui-sync-all.png, test-output/prefect-ui-sync-shop.png).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path
from typing import Any

import pytest

from sandbox.stack import sandbox_stack

from .browser import chromium_page, ensure_chromium
from .prefect_processes import UUID_RE, PrefectEnv
from .test_prefect_server import FIXTURE, ROOT, _client, _wait_for_final_state

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]

OUTPUT = ROOT / "test-output"
GOOD, BAD = "e2e-good", "e2e-bad"


def _artifact(client: Any, run_id: str, key: str) -> Any:
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterFlowRunId,
        ArtifactFilterKey,
    )

    found = client.read_artifacts(
        artifact_filter=ArtifactFilter(
            key=ArtifactFilterKey(any_=[key]), flow_run_id=ArtifactFilterFlowRunId(any_=[run_id])
        )
    )
    assert found, f"run {run_id} has no artifact {key}"
    return found[0]


def _open_artifact(page: Any, ui_url: str, run_id: str, key: str, shot: Path) -> str:
    try:
        page.goto(f"{ui_url}/runs/flow-run/{run_id}")
        page.get_by_text("Artifacts", exact=True).first.click()
        page.get_by_text(key, exact=True).first.click()
        page.wait_for_load_state("networkidle")
        time.sleep(1)  # the markdown renders after the data arrives
        return page.inner_text("body")
    finally:
        page.screenshot(path=str(shot), full_page=True)


def test_sync_all_page_names_the_failed_shop_and_sync_shop_page_shows_steps(
    prefect_server: PrefectEnv, tmp_path: Path
) -> None:
    reason = ensure_chromium()
    if reason:
        pytest.skip(f"no browser for the UI check: {reason}")
    prefect = prefect_server
    with sandbox_stack(FIXTURE, throttle=False) as stack:
        bad = stack.shop_toml(BAD, "shopify").replace(
            'access_token = "env:SKUBRIDGE_SANDBOX_SHOPIFY_TOKEN"',
            'access_token = "env:E2E_WRONG_SHOPIFY_TOKEN"',
        )
        assert "E2E_WRONG_SHOPIFY_TOKEN" in bad
        shops_file = tmp_path / "shops.toml"
        shops_file.write_text(stack.shop_toml(GOOD, "shopify") + bad, encoding="utf-8")
        worker_env = {
            **stack.env(),
            "E2E_WRONG_SHOPIFY_TOKEN": "shpat_wrong",
            "SKUBRIDGE_SHOPS_FILE": str(shops_file),
            "SKUBRIDGE_DATA_DIR": str(tmp_path / "data"),
            "SKUBRIDGE_REPORTS_DIR": str(tmp_path / "reports"),
            "SKUBRIDGE_PROJECT_DIR": str(ROOT),
        }
        worker = None
        try:
            prefect.run("--no-prompt", "deploy", "-n", "sync-shop", "-n", "sync-all", cwd=ROOT)
            worker = prefect.start("worker", "worker", "start", "--pool", "skubridge",
                                   cwd=tmp_path, more=worker_env)  # fmt: skip
            output = prefect.run("deployment", "run", "sync-all/sync-all", cwd=tmp_path)
            run_id = UUID_RE.findall(output.split("Created flow run", 1)[-1])[0]
            with _client(prefect.api_url) as client:
                run = _wait_for_final_state(client, run_id, 600)
                assert run.state.is_failed(), f"sync-all ended {run.state_name}"
                assert run.name.startswith("sync-all-cycle-")
                outcomes = _artifact(client, run_id, "sync-all-outcomes")
                import json

                rows = {r["shop"]: r for r in json.loads(outcomes.data)}
                assert rows[GOOD]["state"] == "COMPLETED" and rows[GOOD]["reason"] == ""
                assert rows[BAD]["state"] == "FAILED" and "catalog" in rows[BAD]["reason"]
                bad_run = rows[BAD]["flow_run_id"]
                steps = _artifact(client, bad_run, f"sync-shop-{BAD}")
                assert f"# sync-shop {BAD}: FAILED at catalog" in steps.data
            OUTPUT.mkdir(parents=True, exist_ok=True)
            with chromium_page(tmp_path / "chromium-profile") as page:
                page.set_default_timeout(60_000)
                text = _open_artifact(
                    page,
                    prefect.ui_url,
                    run_id,
                    "sync-all-summary",
                    OUTPUT / "prefect-ui-sync-all.png",
                )
                assert BAD in text and "not completed" in text and "catalog" in text
                assert f"{BAD} run" in text and f"{GOOD} run" in text
                text = _open_artifact(
                    page,
                    prefect.ui_url,
                    bad_run,
                    f"sync-shop-{BAD}",
                    OUTPUT / "prefect-ui-sync-shop.png",
                )
                assert "FAILED at catalog" in text and "catalog failed" in text
                for step in ("catalog run", "relay run"):
                    assert step in text, f"no link '{step}' on the sync-shop page"
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n\nprocess logs:\n{prefect.logs_text()}") from exc
        finally:
            if worker is not None:
                worker.stop()
            shutil.rmtree(tmp_path / "chromium-profile", ignore_errors=True)
