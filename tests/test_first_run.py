"""First-run friction: one-line configuration errors, Prefect defaults in the CLI entry,
sandbox shops files and generated orders that the first relay relays."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandbox.generator import generate_fixture
from sandbox.stack import sandbox_stack
from skubridge.cli import PREFECT_DEFAULTS
from skubridge.commands.sandbox import _shops_with_a_store

ROOT = Path(__file__).parents[1]


def _cli(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "skubridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), **env},
    )


@pytest.mark.parametrize(
    "shops, args, message",
    [
        (None, ["push", "--shop", "acme"], "shops file not found"),
        ("[[shops]]\nid = 3\n", ["relay", "--shop", "acme"], "field 'id'"),
        ("not toml [", ["sync", "--shop", "acme"], "shops.toml"),
        ("not toml [", ["map", "--shop", "acme", "--csv", "x.csv"], "shops.toml"),
        ("not toml [", ["search", "--shop", "acme", "tee"], "shops.toml"),
    ],
)
def test_configuration_errors_are_one_line(tmp_path, shops, args, message):
    env = {"SKUBRIDGE_SHOPS_FILE": str(tmp_path / "shops.toml")}
    if shops is not None:
        (tmp_path / "shops.toml").write_text(shops, encoding="utf-8")
    done = _cli(*args, env=env, cwd=tmp_path)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr and "╭" not in done.stderr
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and message in lines[0], done.stderr
    assert lines[0].startswith(f"skubridge {args[0]}: ")


def test_cli_entry_sets_prefect_defaults_without_overriding(monkeypatch):
    from skubridge import cli

    for name in PREFECT_DEFAULTS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "999")
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] == "false"
    assert os.environ["DO_NOT_TRACK"] == "1"
    assert os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] == "999"
    assert "skubridge.cli:main" in (ROOT / "pyproject.toml").read_text(encoding="utf-8")


def test_write_shops_only_for_the_generated_store_side():
    shopify = generate_fixture(30, seed=1, store="shopify").fixture
    amazon = generate_fixture(30, seed=1, store="amazon").fixture
    assert _shops_with_a_store(shopify) == [("sandbox-shopify", "shopify")]
    assert _shops_with_a_store(amazon) == [("sandbox-amazon", "amazon")]


def test_serve_generate_writes_one_shop_and_defers_its_orders(tmp_path):
    shops = tmp_path / "sandbox-shops.toml"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "skubridge.cli",
            "sandbox",
            "serve",
            "--generate",
            "30",
            "--orders",
            "3",
            "--store",
            "shopify",
            "--tiktok-port",
            "0",
            "--shopify-port",
            "0",
            "--amazon-port",
            "0",
            "--write-shops",
            str(shops),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "serving; press Ctrl-C to stop":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            lines.append(line.strip())
        assert "3 TikTok orders are placed at the first order search" in lines
        text = shops.read_text(encoding="utf-8")
        assert 'id = "sandbox-shopify"' in text and "sandbox-amazon" not in text
    finally:
        proc.terminate()
        proc.communicate(timeout=60)


def test_deferred_orders_are_stamped_at_the_first_order_search():
    scenario = generate_fixture(30, seed=2, store="shopify", orders=2, orders_start=1).fixture
    items = [
        o.model_dump(exclude={"id", "create_time"}, exclude_none=True) for o in scenario.orders
    ]
    with sandbox_stack(scenario.model_copy(update={"orders": []}), throttle=False) as stack:
        tiktok = stack.emulator("tiktok")
        tiktok.defer_orders(items)
        assert tiktok.orders == {}
        before = int(time.time())
        found = tiktok.search_orders({}, "create_time", "ASC")
        assert len(found) == 2 and all(o.create_time >= before for o in found)
        assert len(tiktok.search_orders({}, "create_time", "ASC")) == 2  # placed once
