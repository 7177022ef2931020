"""TikTokClient against the TikTok emulator over real loopback HTTP.

Sources cited by name below:

- Get Product: https://partner.tiktokshop.com/docv2/page/6509d85b4a0bb702c057fdda
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from connectors.base import InventoryUpdate, PriceUpdate, TikTokApi
from connectors.errors import (
    AuthError,
    FatalError,
    MalformedResponseError,
    PagingError,
    ThrottledError,
    TransientError,
)
from connectors.http import RetryPolicy
from connectors.tiktok import TikTokClient, check, sign, verify_webhook
from sandbox.faults import FaultConfig
from sandbox.fixture import Fixture
from sandbox.server import serve_in_thread
from sandbox.tiktok import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
)
from sandbox.tiktok.state import ApiFailure
from tests.tiktok_sign_vectors import SIGN_VECTORS

CIPHER = "ROW_sandboxcipher0001"
WH1, WH2 = "7000000000000000001", "7000000000000000002"
FAST_RETRY = RetryPolicy(attempts=6, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)


class Recorder(httpx.AsyncBaseTransport):
    """A real HTTP transport that remembers every request it sends."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def to(self, path: str) -> list[httpx.Request]:
        return [r for r in self.requests if r.url.path == path]


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


def small_fixture() -> Fixture:
    return Fixture.model_validate(
        {
            "tiktok": {
                "warehouses": [{"id": WH1, "is_default": True}, {"id": WH2}],
                "products": [
                    {
                        "id": "1729000000000000001",
                        "title": "Tee",
                        "skus": [
                            {
                                "id": "1729000000000000011",
                                "seller_sku": "TEE-S",
                                "price": "10.00",
                                "inventory": {WH1: 3, WH2: 1},
                                "sales_attributes": {"Color": "Red", "Size": "S"},
                            },
                            {
                                "id": "1729000000000000012",
                                "seller_sku": "",
                                "price": "11.00",
                                "inventory": {WH1: 5},
                                "sales_attributes": {"Color": "Red", "Size": "M"},
                            },
                        ],
                    },
                    {
                        "id": "1729000000000000002",
                        "title": "Mug",
                        "skus": [
                            {
                                "id": "1729000000000000021",
                                "seller_sku": "MUG",
                                "price": "5.50",
                                "inventory": {WH1: 9},
                            }
                        ],
                    },
                    {
                        "id": "1729000000000000003",
                        "title": "Gone",
                        "status": "DELETED",
                        "skus": [{"id": "1729000000000000031", "seller_sku": "GONE"}],
                    },
                    {
                        "id": "1729000000000000004",
                        "title": "Paused",
                        "status": "SELLER_DEACTIVATED",
                        "skus": [{"id": "1729000000000000041", "seller_sku": "PAUSE"}],
                    },
                ],
            },
            "orders": [
                {
                    "id": "5760000000000000001",
                    "status": "AWAITING_SHIPMENT",
                    "lines": [{"seller_sku": "TEE-S", "quantity": 3}, {"seller_sku": "MUG"}],
                    "recipient": {
                        "name": "Avery Okafor",
                        "phone": "(+1)555-201-3344",
                        "address1": "12 Cedar St",
                        "city": "Salem",
                        "region": "Oregon",
                        "postal_code": "97301",
                    },
                },
                {
                    "id": "5760000000000000002",
                    "status": "AWAITING_SHIPMENT",
                    "shipping_type": "TIKTOK",
                    "lines": [{"seller_sku": "MUG", "quantity": 2}],
                },
            ],
        }
    )


@pytest.fixture
def emulator() -> Iterator[tuple[Any, str]]:
    app = create_app(small_fixture())
    with serve_in_thread(app) as base:
        yield app, base


def make_client(base: str, **kwargs: Any) -> TikTokClient:
    options: dict[str, Any] = {
        "shop_cipher": CIPHER,
        "base_url": base,
        "auth_base_url": base,
        "rate_scale": 0,
        "retry": FAST_RETRY,
    }
    options.update(kwargs)
    return TikTokClient(
        app_key=DEFAULT_APP_KEY,
        app_secret=DEFAULT_APP_SECRET,
        access_token=DEFAULT_ACCESS_TOKEN,
        refresh_token=DEFAULT_REFRESH_TOKEN,
        **options,
    )


async def collect(pages: AsyncIterator[list[Any]]) -> list[Any]:
    return [item async for page in pages for item in page]


def sku_state(app: Any, sku_id: str) -> dict[str, Any]:
    snap = app.state.emulator.snapshot()
    return next(s for p in snap["products"] for s in p["skus"] if s["id"] == sku_id)


# -- pure functions --------------------------------------------------------------------------
@pytest.mark.parametrize(("secret", "path", "query", "body", "expected"), SIGN_VECTORS)
def test_sign_matches_every_reference_vector(secret, path, query, body, expected) -> None:
    assert sign(secret, path, query, body) == expected


def test_verify_webhook_golden_vector() -> None:
    body = (
        b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
        b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
        b'"order_status":"UNPAID","update_time":1718305585}}'
    )
    good = "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    assert verify_webhook("abcdef", "123", body, good)
    assert not verify_webhook("abcdef", "123", body.replace(b"UNPAID", b"PAID"), good)


def _response(status: int, body: Any, headers: dict[str, str] | None = None) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers)


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (
            200,
            {"code": 36009002, "message": "Too many requests", "request_id": "R1"},
            ThrottledError,
        ),
        (429, {"code": 36009002, "message": "Too many requests"}, ThrottledError),
        (429, b"", ThrottledError),
        (200, {"code": 36009003, "message": "internal"}, TransientError),
        (200, {"code": 36009007, "message": "timeout"}, TransientError),
        (503, b"<html>busy</html>", TransientError),
        (401, {"code": 106001, "message": "bad sign"}, AuthError),
        (401, {"code": 105002, "message": "expired"}, AuthError),
        (200, {"code": 105005, "message": "no scope"}, AuthError),
        (
            200,
            {"code": 12052032, "message": "product does not exist", "request_id": "R2"},
            FatalError,
        ),
        (200, b'{"code":0,"da', MalformedResponseError),
    ],
)
def test_check_classifies_tiktok_answers(status: int, body: Any, error: type) -> None:
    with pytest.raises(error) as caught:
        check(_response(status, body), "product.search")
    if isinstance(body, dict):
        assert caught.value.code == str(body["code"])
    if error is FatalError:
        assert not isinstance(caught.value, AuthError)
        assert caught.value.request_id == "R2"
    check(_response(200, {"code": 0, "message": "Success", "data": {}}), "product.search")


# -- catalog ---------------------------------------------------------------------------------
async def test_catalog_pages_to_the_end_of_10000_skus() -> None:
    products = [
        {
            "id": str(1730000000000000000 + p),
            "title": f"Product {p}",
            "skus": [
                {
                    "id": str(1731000000000000000 + p * 2 + s),
                    "seller_sku": f"SKU-{p}-{s}",
                    "price": f"{1 + p % 50}.99",
                    "inventory": {WH1: p % 7},
                }
                for s in range(2)
            ],
        }
        for p in range(5000)
    ]
    app = create_app(Fixture.model_validate({"tiktok": {"products": products}}))
    with serve_in_thread(app) as base:
        client = make_client(base, catalog_options=False)
        pages = [page async for page in client.iter_catalog(page_size=100)]
        await client.aclose()
    variants = [v for page in pages for v in page]
    assert len(variants) == 10_000 and len({v.variant_id for v in variants}) == 10_000
    assert len(pages) == 50
    assert app.state.faults.stats.requests["product.search"] == 50
    last = variants[-1]
    assert (last.product_id, last.seller_sku, last.price, last.stock) == (
        "1730000000000004999",
        "SKU-4999-1",
        Decimal("50.99"),
        {WH1: 4999 % 7},
    )


async def test_catalog_variants_with_options_prices_and_stock(emulator) -> None:
    app, base = emulator
    client = make_client(base)
    assert isinstance(client, TikTokApi)
    variants = {v.variant_id: v for v in await collect(client.iter_catalog(page_size=2))}
    await client.aclose()
    assert set(variants) == {
        "1729000000000000011",
        "1729000000000000012",
        "1729000000000000021",
        "1729000000000000041",
    }  # DELETED left out
    tee = variants["1729000000000000011"]
    assert tee.channel == "tiktok" and tee.product_id == "1729000000000000001"
    assert tee.options == {"Color": "Red", "Size": "S"} and tee.variant_title == "Red / S"
    assert tee.price == Decimal("10.00") and tee.currency == "USD"
    assert tee.stock == {WH1: 3, WH2: 1} and tee.quantity == 4
    assert variants["1729000000000000012"].seller_sku is None  # empty seller SKU
    assert variants["1729000000000000041"].status == "SELLER_DEACTIVATED"
    calls = app.state.faults.stats.requests
    assert calls["product.get"] == 1  # only the multi-SKU product needs Get Product


async def test_catalog_splits_update_time_ranges_beyond_the_search_window() -> None:
    base_time = 1_767_225_600
    products = [
        {
            "id": str(1730000000000000000 + p),
            "title": f"P{p}",
            "update_time": base_time + p * 3600,
            "skus": [{"id": str(1731000000000000000 + p), "seller_sku": f"S{p}"}],
        }
        for p in range(100)
    ]
    app = create_app(Fixture.model_validate({"tiktok": {"products": products}}))
    app.state.emulator.search_window = 40
    recorder = Recorder()
    with serve_in_thread(app) as base:
        client = make_client(base, catalog_options=False, transport=recorder)
        client.search_window = 40
        variants = await collect(client.iter_catalog(page_size=10))
        await client.aclose()
    assert sorted(v.variant_id for v in variants) == sorted(
        str(1731000000000000000 + p) for p in range(100)
    )
    # No future search time (the API refuses it): the newest range is left open-ended.
    bodies = [json.loads(r.content) for r in recorder.to("/product/202309/products/search")]
    assert all(b.get("update_time_le", 0) <= time.time() for b in bodies)
    assert any("update_time_ge" in b and "update_time_le" not in b for b in bodies)


async def test_repeated_page_token_stops_with_paging_error() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "code": 0,
                "message": "Success",
                "request_id": "x",
                "data": {
                    "total_count": 500,
                    "next_page_token": "c2FtZQ==",
                    "products": [{"id": "1", "title": "t", "status": "ACTIVATE", "skus": []}],
                },
            },
        )

    client = make_client("http://tiktok.invalid", transport=httpx.MockTransport(handler))
    with pytest.raises(PagingError, match="repeated page token"):
        await collect(client.iter_catalog(page_size=100))
    await client.aclose()


# -- resilience ------------------------------------------------------------------------------
async def test_recovers_from_throttling(emulator) -> None:
    app, base = emulator
    app.state.throttle.configure(force=3)
    client = make_client(base)
    warehouses = await client.warehouses()
    await client.aclose()
    assert [w.id for w in warehouses] == [WH1, WH2] and warehouses[0].is_default
    assert app.state.faults.stats.requests["logistics.warehouses"] == 4
    assert app.state.throttle.rejected == 3


async def test_recovers_from_server_errors(emulator) -> None:
    app, base = emulator
    app.state.faults.configure(FaultConfig(seed=3, error_rate=0.5, operations=["product.search"]))
    client = make_client(base, catalog_options=False)
    variants = await collect(client.iter_catalog(page_size=1))
    await client.aclose()
    assert len(variants) == 4
    assert app.state.faults.stats.faults["error"] > 0


async def test_client_side_rate_limits_are_documented_and_scalable() -> None:
    client = make_client("http://tiktok.invalid", rate_scale=2.0)
    limiter = client.http.limiter("product.update_inventory")
    assert limiter is not None and limiter.max_rate / limiter.time_period == pytest.approx(100.0)
    off = make_client("http://tiktok.invalid", rate_scale=0)
    assert off.http.limiter("product.update_inventory") is None
    await client.aclose()
    await off.aclose()


async def test_fatal_error_names_operation_and_code(emulator) -> None:
    app, base = emulator
    client = make_client(base)
    with pytest.raises(FatalError) as caught:
        await client.get_orders(["5769999999999999999"])
    await client.aclose()
    text = str(caught.value)
    assert "order.detail" in text and "21008111" in text and "tiktok" in text
    assert caught.value.code == "21008111" and caught.value.request_id
    assert app.state.faults.stats.requests["order.detail"] == 1  # not retried


# -- writes ----------------------------------------------------------------------------------
async def test_inventory_partial_failure_is_reported_per_sku(emulator) -> None:
    app, base = emulator
    client = make_client(base)
    result = await client.update_inventory(
        "1729000000000000001",
        [
            InventoryUpdate("1729000000000000012", {WH1: 0}),
            InventoryUpdate("1729000000000000011", {WH1: 7}),  # WH2 missing
            InventoryUpdate("1729000000000000999", {WH1: 1}),
        ],
    )
    await client.aclose()
    assert result.applied == ("1729000000000000012",)
    errors = {e.sku_id: e for e in result.errors}
    assert errors["1729000000000000011"].code == "12019028"
    assert WH2 in errors["1729000000000000011"].message
    assert errors["1729000000000000999"].code == "12052556"
    assert sku_state(app, "1729000000000000012")["inventory"] == {WH1: 0}
    assert sku_state(app, "1729000000000000011")["inventory"] == {WH1: 3, WH2: 1}


async def test_price_update_and_whole_call_rejection(emulator) -> None:
    app, base = emulator
    client = make_client(base)
    ok = await client.update_price(
        "1729000000000000001", [PriceUpdate("1729000000000000011", Decimal("12.5"), "USD")]
    )
    rejected = await client.update_price(
        "1729000000000000004", [PriceUpdate("1729000000000000041", Decimal("3"), "USD")]
    )
    await client.aclose()
    assert ok.applied == ("1729000000000000011",) and ok.errors == ()
    assert sku_state(app, "1729000000000000011")["price"] == "12.50"
    assert rejected.applied == () and rejected.errors[0].code == "12052901"
    assert rejected.errors[0].sku_id == "1729000000000000041"


async def test_documented_error_codes_reach_the_report(emulator) -> None:
    """The codes TikTok documents for these refusals (Products API error list): a stock out
    of range 12052055 inside the "Check failed" wrapper 12052990 (the SKU error carries the
    inner code), another currency 12052084, an input it cannot read 12052910."""
    app, base = emulator
    client = make_client(base)
    stock = await client.update_inventory(
        "1729000000000000001", [InventoryUpdate("1729000000000000012", {WH1: 100_000})]
    )
    currency = await client.update_price(
        "1729000000000000001", [PriceUpdate("1729000000000000012", Decimal("9.5"), "EUR")]
    )
    await client.aclose()
    [too_many] = stock.errors
    assert too_many.code == "12052055" and "Check failed" in too_many.message
    [wrong] = currency.errors
    assert wrong.code == "12052084"
    body = {"skus": [{"id": "1729000000000000012", "price": {"amount": "x", "currency": "USD"}}]}
    with pytest.raises(ApiFailure) as unreadable:
        app.state.emulator.update_price("1729000000000000001", body)
    assert unreadable.value.code == 12052910


async def test_what_is_sent_path_query_header_body(emulator) -> None:
    app, base = emulator
    recorder = Recorder()
    client = make_client(base, transport=recorder)
    await client.update_inventory(
        "1729000000000000001", [InventoryUpdate("1729000000000000011", {WH1: 4, WH2: 0})]
    )
    await client.update_price(
        "1729000000000000001", [PriceUpdate("1729000000000000012", Decimal("9.5"), "USD")]
    )
    await collect(client.iter_catalog(page_size=1))
    await client.aclose()
    inv = recorder.to("/product/202309/products/1729000000000000001/inventory/update")[0]
    assert inv.method == "POST"
    q = query_of(inv)
    assert set(q) == {"app_key", "timestamp", "shop_cipher", "sign"}
    assert q["app_key"] == DEFAULT_APP_KEY and q["shop_cipher"] == CIPHER
    assert abs(int(q["timestamp"]) - time.time()) < 60 and len(q["timestamp"]) == 10
    assert inv.headers["x-tts-access-token"] == DEFAULT_ACCESS_TOKEN
    assert inv.headers["content-type"] == "application/json"
    assert inv.content == (
        b'{"skus":[{"id":"1729000000000000011","inventory":[{"warehouse_id":"7000000000000000001",'
        b'"quantity":4},{"warehouse_id":"7000000000000000002","quantity":0}]}]}'
    )
    unsigned = {k: v for k, v in q.items() if k != "sign"}
    assert q["sign"] == sign(DEFAULT_APP_SECRET, inv.url.path, unsigned, inv.content)
    price = recorder.to("/product/202309/products/1729000000000000001/prices/update")[0]
    assert json.loads(price.content) == {
        "skus": [{"id": "1729000000000000012", "price": {"amount": "9.50", "currency": "USD"}}]
    }
    searches = recorder.to("/product/202309/products/search")
    assert len(searches) == 4 and searches[0].content == b'{"status":"ALL"}'
    tokens = [query_of(r).get("page_token") for r in searches]
    assert tokens[0] is None and all(tokens[1:])
    raw_query = urlsplit(str(searches[1].url)).query
    assert "%2B" in raw_query or "%2F" in raw_query  # '+' and '/' in tokens are encoded
    assert sku_state(app, "1729000000000000011")["inventory"] == {WH1: 4, WH2: 0}


async def test_timestamp_and_sign_are_recomputed_per_attempt(emulator) -> None:
    app, base = emulator
    app.state.throttle.configure(force=1)
    ticks = itertools.count(int(time.time()) - 100, 7)
    recorder = Recorder()
    client = make_client(base, transport=recorder, clock=lambda: next(ticks))
    await client.warehouses()
    await client.aclose()
    first, second = recorder.to("/logistics/202309/warehouses")
    q1, q2 = query_of(first), query_of(second)
    assert q1["timestamp"] != q2["timestamp"] and q1["sign"] != q2["sign"]
    for q, req in ((q1, first), (q2, second)):
        unsigned = {k: v for k, v in q.items() if k != "sign"}
        assert q["sign"] == sign(DEFAULT_APP_SECRET, req.url.path, unsigned, b"")


async def test_token_refresh_on_expired_access_token(emulator) -> None:
    app, base = emulator
    app.state.emulator.expire_access_tokens()
    recorder = Recorder()
    refreshed: list[dict[str, Any]] = []
    client = make_client(base, transport=recorder, on_token_refresh=refreshed.append)
    await client.warehouses()
    await client.warehouses()
    await client.aclose()
    paths = [r.url.path for r in recorder.requests]
    assert paths == [
        "/logistics/202309/warehouses",
        "/api/v2/token/refresh",
        "/logistics/202309/warehouses",
        "/logistics/202309/warehouses",
    ]
    refresh_q = query_of(recorder.requests[1])
    assert refresh_q == {
        "app_key": DEFAULT_APP_KEY,
        "app_secret": DEFAULT_APP_SECRET,
        "refresh_token": DEFAULT_REFRESH_TOKEN,
        "grant_type": "refresh_token",
    }
    new_token = refreshed[0]["access_token"]
    assert new_token != DEFAULT_ACCESS_TOKEN
    assert recorder.requests[0].headers["x-tts-access-token"] == DEFAULT_ACCESS_TOKEN
    assert recorder.requests[2].headers["x-tts-access-token"] == new_token
    assert recorder.requests[3].headers["x-tts-access-token"] == new_token


async def test_expired_token_without_refresh_token_is_auth_error(emulator) -> None:
    app, base = emulator
    app.state.emulator.expire_access_tokens()
    client = TikTokClient(
        app_key=DEFAULT_APP_KEY,
        app_secret=DEFAULT_APP_SECRET,
        access_token=DEFAULT_ACCESS_TOKEN,
        shop_cipher=CIPHER,
        base_url=base,
        rate_scale=0,
        retry=FAST_RETRY,
    )
    with pytest.raises(AuthError, match="105002"):
        await client.warehouses()
    await client.aclose()


async def test_shop_cipher_discovery(emulator) -> None:
    _, base = emulator
    recorder = Recorder()
    client = make_client(base, shop_cipher=None, transport=recorder)
    await client.warehouses()
    await client.aclose()
    shops, warehouses = recorder.requests
    assert shops.url.path == "/authorization/202309/shops" and "shop_cipher" not in query_of(shops)
    assert query_of(warehouses)["shop_cipher"] == CIPHER
    assert client.shop_id == "7495000000000000001"


# -- orders ----------------------------------------------------------------------------------
async def test_orders_search_window_and_detail_batches(emulator) -> None:
    app, base = emulator
    ids = app.state.emulator.generate_orders(
        {
            "generate": 120,
            "seed": 5,
            "shipping_type_mix": {"SELLER": 0.5, "TIKTOK": 0.5},
            "max_quantity": 3,
        }
    )
    client = make_client(base)
    now = datetime.now(UTC)
    found = await collect(
        client.search_orders(
            update_time_ge=now - timedelta(hours=1), update_time_lt=now + timedelta(minutes=1)
        )
    )
    assert sorted(found) == sorted(ids)  # the two fixture orders (2026-01-01) are outside
    orders = await client.get_orders(found)
    await client.aclose()
    assert app.state.faults.stats.requests["order.detail"] == 3  # 50 + 50 + 20
    assert app.state.faults.stats.requests["order.search"] == 2
    raw = {o["id"]: o for o in app.state.emulator.snapshot()["orders"]}
    for order in orders:
        units = raw[order.id]["line_items"]
        assert sum(line.quantity for line in order.lines) == len(units)
        assert {line.sku_id for line in order.lines} == {u["sku_id"] for u in units}
        assert order.create_time.tzinfo is UTC and isinstance(order.total, Decimal)
        assert order.masked == (order.shipping_type == "TIKTOK")


async def test_order_lines_grouped_and_masking(emulator) -> None:
    _, base = emulator
    client = make_client(base)
    seller, platform = await client.get_orders(["5760000000000000001", "5760000000000000002"])
    await client.aclose()
    lines = {line.seller_sku: line for line in seller.lines}
    assert lines["TEE-S"].quantity == 3 and lines["TEE-S"].unit_price == Decimal("10.00")
    assert lines["MUG"].quantity == 1
    assert seller.create_time == datetime(2026, 1, 1, 0, 1, tzinfo=UTC)
    assert not seller.masked and seller.recipient is not None
    assert (seller.recipient.name, seller.recipient.city, seller.recipient.postal_code) == (
        "Avery Okafor",
        "Salem",
        "97301",
    )
    assert platform.masked and platform.lines[0].quantity == 2
    assert seller.total == Decimal("35.50") and seller.currency == "USD"


# -- secrets ---------------------------------------------------------------------------------
async def test_no_secret_in_logs_or_errors(emulator, caplog: pytest.LogCaptureFixture) -> None:
    app, base = emulator
    caplog.set_level(logging.DEBUG)
    recorder = Recorder()
    refreshed: list[dict[str, Any]] = []
    client = make_client(base, transport=recorder, on_token_refresh=refreshed.append)
    app.state.throttle.configure(force=2)
    app.state.faults.configure(FaultConfig(seed=3, error_rate=0.5, operations=["product.search"]))
    app.state.emulator.expire_access_tokens()
    texts: list[str] = []
    await collect(client.iter_catalog(page_size=1))
    for bad in (
        client.get_orders(["5769999999999999999"]),
        client.update_price("1729000000000000404", [PriceUpdate("1", Decimal("1"), "USD")]),
    ):
        try:
            result = await bad
            texts.append(repr(result))
        except Exception as exc:
            texts.append(str(exc) + repr(exc))
    app.state.faults.configure(FaultConfig(malformed_rate=1.0, operations=["logistics.warehouses"]))
    with pytest.raises(MalformedResponseError) as caught:
        await client.warehouses()
    texts.append(str(caught.value))
    await client.aclose()
    assert refreshed, "the run should have refreshed the token"
    secrets = {
        DEFAULT_APP_SECRET,
        DEFAULT_ACCESS_TOKEN,
        DEFAULT_REFRESH_TOKEN,
        refreshed[0]["access_token"],
        refreshed[0]["refresh_token"],
    }
    secrets |= {query_of(r)["sign"] for r in recorder.requests if "sign" in query_of(r)}
    assert len(secrets) > 10
    records = caplog.records
    assert any("will retry" in r.getMessage() for r in records)
    for record in records:
        texts.append(record.getMessage())
        texts.append(" ".join(str(v) for v in vars(record).values()))
    texts.append(caplog.text)
    blob = "\n".join(texts)
    leaked = [s for s in secrets if s in blob]
    assert leaked == []


async def test_catalog_survives_products_get_product_refuses() -> None:
    fx = small_fixture()
    fx.tiktok.products[0].status = "FREEZE"  # Get Product is unavailable for FREEZE (Get Product)
    app = create_app(fx)
    with serve_in_thread(app) as base:
        client = make_client(base)
        variants = {v.variant_id: v for v in await collect(client.iter_catalog())}
        await client.aclose()
    assert variants["1729000000000000011"].options == {}
    assert variants["1729000000000000011"].status == "FREEZE"
    assert app.state.faults.stats.requests.get("product.get", 0) == 0


async def test_client_rate_limit_stays_under_the_documented_server_limit(emulator) -> None:
    app, base = emulator
    app.state.throttle.configure(enabled=True, scale=4.0)  # 200 QPS per API on the server
    client = make_client(base, rate_scale=4.0)  # the documented 50 QPS, scaled the same way
    updates = [InventoryUpdate("1729000000000000021", {WH1: n}) for n in range(150)]
    results = await asyncio.gather(
        *(client.update_inventory("1729000000000000002", [u]) for u in updates)
    )
    await client.aclose()
    assert all(r.applied == ("1729000000000000021",) for r in results)
    assert app.state.throttle.rejected == 0
    assert app.state.faults.stats.requests["product.update_inventory"] == 150


async def test_concurrent_calls_refresh_the_token_once(emulator) -> None:
    app, base = emulator
    app.state.emulator.expire_access_tokens()
    client = make_client(base)
    results = await asyncio.gather(*(client.warehouses() for _ in range(5)))
    await client.aclose()
    assert all(len(r) == 2 for r in results)
    assert app.state.faults.stats.requests["auth.token_refresh"] == 1
