"""`skubridge sandbox serve` as a real process: URLs printed, APIs answer, SIGINT stops it."""

from __future__ import annotations

import asyncio
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest

from connectors.factory import store_client, tiktok_client
from skubridge.config import load_shops
from tests.clients import amazon_client


def _start(tmp_path: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    """Start the server and read its output up to the 'serving' line."""
    cmd = [sys.executable, "-m", "skubridge.cli", "sandbox", "serve", *args]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    lines: list[str] = []
    done = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("serving"):
                done.set()
        done.set()

    threading.Thread(target=read, daemon=True).start()
    if not done.wait(120) or not any(x.startswith("serving") for x in lines):
        proc.kill()
        pytest.fail("sandbox serve did not come up:\n" + "\n".join(lines))
    return proc, lines


def _stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("sandbox serve did not stop after SIGINT")


def test_serve_answers_and_stops_on_sigint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    shops_file = tmp_path / "shops.toml"
    proc, lines = _start(
        tmp_path,
        "--generate", "60", "--seed", "4",
        "--tiktok-port", "0", "--shopify-port", "0", "--amazon-port", "0",
        "--no-throttle", "--write-shops", str(shops_file),
    )  # fmt: skip
    try:
        urls = dict(re.findall(r"^(tiktok|shopify|amazon)\s+(http://127\.0\.0\.1:\d+)$",
                               "\n".join(lines), re.M))  # fmt: skip
        assert set(urls) == {"tiktok", "shopify", "amazon"}
        exports = dict(
            shlex.split(line[len("export ") :])[0].split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        assert exports["SKUBRIDGE_SHOPS_FILE"] == str(shops_file.resolve())
        for name, value in exports.items():
            monkeypatch.setenv(name, value)

        # admin state of each emulator: the generated catalog is loaded
        with httpx.Client(trust_env=False, timeout=30) as http:
            tiktok_state = http.get(f"{urls['tiktok']}/_sandbox/state").json()
            shopify_state = http.get(f"{urls['shopify']}/_sandbox/state").json()
            amazon_state = http.get(f"{urls['amazon']}/_sandbox/state").json()
        assert sum(len(p["skus"]) for p in tiktok_state["products"]) == 60
        assert shopify_state and amazon_state is not None

        # one real API call per marketplace through the connectors and the written shops file
        shops = load_shops(shops_file)
        # the generated catalog fills only the Shopify side: only shops with a store side
        # are written (skubridge/commands/sandbox.py: _shops_with_a_store)
        assert [s.id for s in shops.shops] == ["sandbox-shopify"]

        async def calls() -> tuple[list, list, str]:
            tiktok = tiktok_client(shops.get("sandbox-shopify"))
            shopify = store_client(shops.get("sandbox-shopify"))
            # no Amazon shop is written for a Shopify-only catalog: the served Amazon
            # emulator is still signed into, with the sandbox credentials
            amazon = amazon_client(urls["amazon"])
            try:
                return (
                    await tiktok.authorized_shops(),  # type: ignore[attr-defined]
                    await shopify.locations(),
                    await amazon.access_token(),
                )
            finally:
                for client in (tiktok, shopify, amazon):
                    await client.aclose()

        authorized, locations, token = asyncio.run(calls())
        assert authorized[0]["cipher"] == tiktok_state["shop"]["cipher"]
        assert {loc.name for loc in locations} == {"Main", "East Warehouse"}
        assert token
    finally:
        code = _stop(proc)
    assert code == 0
    assert lines[-1] == "stopped"


def test_serve_rejects_a_broken_fixture(tmp_path: Path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"tiktok": {"products": [{"nope": 1}]}}', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "skubridge.cli", "sandbox", "serve", "--fixture", str(bad)],
        capture_output=True, text=True, timeout=120, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "400"},
    )  # fmt: skip
    assert result.returncode != 0
    assert "bad.json: not a valid fixture" in result.stderr
    assert "nope" in result.stderr


def test_serve_stops_cleanly_on_sigterm(tmp_path: Path):
    proc, lines = _start(
        tmp_path, "--tiktok-port", "0", "--shopify-port", "0", "--amazon-port", "0"
    )
    url = next(line.split()[1] for line in lines if line.startswith("amazon"))
    with httpx.Client(trust_env=False, timeout=30) as http:
        assert http.get(f"{url}/_sandbox/state").json()["listings"] == []  # empty by default
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
