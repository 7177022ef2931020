"""Fault injection (sandbox/faults.py) and the three-emulator stack (sandbox/stack.py)."""

from __future__ import annotations

import asyncio
import json
from dataclasses import asdict
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from connectors.base import StoreApi
from connectors.errors import OutcomeUnknownError, TransientError
from connectors.factory import store_client
from connectors.http import HttpLayer, RetryPolicy
from sandbox.faults import FaultConfig, FaultInjector, admin_routes
from sandbox.fixture import load_fixture
from sandbox.server import serve_in_thread
from sandbox.stack import sandbox_stack
from skubridge.config import load_shops


def tiny_app() -> tuple[FaultInjector, list[Any]]:
    """A two-route app behind a FaultInjector; ``items`` is its state."""
    items: list[Any] = []

    async def list_items(_: Request) -> JSONResponse:
        return JSONResponse({"items": items, "padding": "x" * 200})

    async def add_item(request: Request) -> JSONResponse:
        items.append(json.loads(await request.body()))
        return JSONResponse({"count": len(items), "padding": "x" * 200}, status_code=201)

    inner = Starlette(
        routes=[
            Route("/items", list_items, methods=["GET"]),
            Route("/items", add_item, methods=["POST"]),
        ]
    )
    injector = FaultInjector(
        inner,
        operation_of=lambda scope: f"items.{'list' if scope['method'] == 'GET' else 'add'}",
        error_body=lambda status: (status, {"error": "sandbox fault", "status": status}),
    )
    inner.router.routes.extend(admin_routes(injector))
    return injector, items


@pytest.fixture
def served():
    app, items = tiny_app()
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        yield app, items, client


def configure(client: httpx.Client, **knobs: Any) -> None:
    response = client.put("/_sandbox/faults", json=knobs)
    assert response.status_code == 200, response.text


def test_requests_are_counted_per_operation(served):
    _app, _items, client = served
    client.get("/items")
    client.get("/items")
    client.post("/items", json={"n": 1})
    assert client.get("/_sandbox/requests").json() == {"items.list": 2, "items.add": 1}
    client.delete("/_sandbox/requests")
    assert client.get("/_sandbox/requests").json() == {}


def test_error_fault_answers_5xx_without_applying(served):
    _app, items, client = served
    configure(client, error_rate=1.0)
    response = client.post("/items", json={"n": 1})
    assert response.status_code in (500, 503)
    assert response.json() == {"error": "sandbox fault", "status": response.status_code}
    assert items == []
    assert client.get("/_sandbox/faults").json()["injected"] == {"error": 1}


def test_drop_after_commit_applies_then_cuts_the_connection(served):
    _app, items, client = served
    configure(client, drop_after_commit_rate=1.0, writes_only=True)
    assert client.get("/items").status_code == 200  # reads untouched with writes_only
    with pytest.raises(httpx.TransportError):
        client.post("/items", json={"n": 1})
    assert items == [{"n": 1}]  # the change happened although the client saw an error


async def test_drop_after_commit_is_outcome_unknown_for_a_connector_write(served):
    _app, items, client = served
    configure(client, drop_after_commit_rate=1.0, operations=["items.add"])
    async with HttpLayer(
        marketplace="tiny",
        base_url=str(client.base_url),
        retry=RetryPolicy(attempts=3, wait_initial=0.01, wait_max=0.02),
    ) as http:
        with pytest.raises(OutcomeUnknownError):
            await http.send(
                "items.add",
                lambda: http.client.build_request("POST", "/items", json={"n": 2}),
                idempotent=False,
            )
    assert items == [{"n": 2}]  # applied exactly once, never re-sent


def test_malformed_fault_truncates_the_body(served):
    _app, items, client = served
    configure(client, malformed_rate=1.0)
    response = client.post("/items", json={"n": 1})
    assert response.status_code == 201 and items == [{"n": 1}]
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)


def test_faults_target_named_operations_only(served):
    _app, _items, client = served
    configure(client, error_rate=1.0, operations=["items.add"])
    assert client.get("/items").status_code == 200
    assert client.post("/items", json={}).status_code >= 500


def test_seeded_faults_replay_identically(served):
    _app, _items, client = served

    def statuses() -> list[int]:
        configure(client, error_rate=0.5, seed=42)
        return [client.get("/items").status_code for _ in range(30)]

    first = statuses()
    assert first == statuses()
    assert 200 in first and any(s >= 500 for s in first)


def test_unknown_fault_knob_is_rejected(served):
    _app, _items, client = served
    response = client.put("/_sandbox/faults", json={"eror_rate": 1})
    assert response.status_code == 400 and "eror_rate" in response.json()["error"]
    with pytest.raises(ValueError, match="unknown fault knob"):
        FaultConfig.from_dict({"nope": 1})


FIXTURE = {
    "tiktok": {"products": [{"title": "Tee", "skus": [{"seller_sku": "TEE-S", "price": "10"}]}]},
    "shopify": {"products": [{"title": "Tee", "variants": [{"sku": "TEE-S", "price": "10"}]}]},
    "amazon": {"listings": [{"sku": "TEE-S", "price": "10", "fulfillment": "FBA"}]},
}


def test_stack_serves_loads_and_writes_a_shops_file(tmp_path, monkeypatch):
    with sandbox_stack(load_fixture(FIXTURE), throttle=False) as stack:
        assert set(stack.urls) == {"tiktok", "shopify", "amazon"}
        assert len({*stack.urls.values()}) == 3
        assert stack.emulator("tiktok").snapshot()["products"][0]["skus"][0]["seller_sku"] == (
            "TEE-S"
        )
        # load a new fixture through the admin APIs of all three
        bigger = load_fixture(
            {
                "shopify": {"products": [{"title": "Cap", "variants": [{"sku": "CAP-1"}]}]},
                "amazon": {"listings": [{"sku": "CAP-1"}, {"sku": "CAP-2"}]},
            }
        )
        stack.load(bigger)
        assert stack.emulator("tiktok").snapshot()["products"] == []
        assert len(stack.admin("amazon", "GET", "state")["listings"]) == 2

        path = stack.write_shops_file(tmp_path / "shops.toml", [("a", "shopify"), ("b", "amazon")])
        for name, value in stack.env().items():
            monkeypatch.setenv(name, value)
        shops = load_shops(path)
        assert shops.get("a").tiktok.base_url == stack.urls["tiktok"]
        assert shops.get("b").amazon is not None
        assert shops.get("b").amazon.endpoint == stack.urls["amazon"]

        # a fault set through the stack's admin reaches a connector call
        stack.admin("shopify", "PUT", "faults", json={"error_rate": 1.0, "operations": ["shop"]})
        client: StoreApi = store_client(shops.get("a"), retry=RetryPolicy(attempts=2,
                                        wait_initial=0.01, wait_max=0.02))  # fmt: skip

        async def currency() -> str:
            try:
                return await client.currency()  # type: ignore[attr-defined]
            finally:
                await client.aclose()

        with pytest.raises(TransientError) as caught:
            asyncio.run(currency())
        assert "HTTP 50" in str(caught.value)
        assert stack.admin("shopify", "GET", "requests") == {"shop": 2}
    assert stack.servers == {}


def test_empty_stack_uses_an_empty_fixture():
    with sandbox_stack() as stack:
        assert stack.emulator("amazon").snapshot()["listings"] == []
        assert stack.admin("tiktok", "GET", "faults")["config"] == asdict(FaultConfig())
