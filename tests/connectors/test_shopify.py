"""ShopifyClient against the Shopify emulator over loopback HTTP."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from graphql import parse, validate

from connectors.base import Address, StoreApi, StoreOrderLine, StoreOrderRequest
from connectors.errors import AuthError, FatalError, OutcomeUnknownError, ThrottledError
from connectors.http import RetryPolicy
from connectors.redact import install_log_redaction
from connectors.shopify import (
    BULK_VARIANTS_QUERY,
    DOCUMENTS,
    INVENTORY_SET_MUTATION,
    MAX_PAGE,
    ORDER_CREATE_MUTATION,
    InventorySet,
    ShopifyClient,
    throttle_wait,
    verify_webhook,
)
from sandbox.faults import FaultConfig
from sandbox.fixture import load_fixture
from sandbox.server import serve_in_thread
from sandbox.shopify import DEFAULT_ACCESS_TOKEN, create_app, sign_webhook
from sandbox.shopify.bulk import query_rule_errors
from sandbox.shopify.schema import admin_schema
from tests.clients import Recorder

TOKEN = DEFAULT_ACCESS_TOKEN
L1, L2 = "gid://shopify/Location/1", "gid://shopify/Location/2"
FAST = RetryPolicy(attempts=6, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0)


def small_fixture():
    return load_fixture(
        {
            "shopify": {
                "locations": [{"id": L1, "name": "Main"}, {"id": L2, "name": "Back"}],
                "products": [
                    {
                        "title": "Tee",
                        "variants": [
                            {
                                "sku": "TEE-S",
                                "price": "10",
                                "barcode": "111",
                                "options": {"Size": "S"},
                                "inventory": {L1: 5, L2: 2},
                            },
                            {
                                "sku": "TEE-M",
                                "price": "11.50",
                                "options": {"Size": "M"},
                                "inventory": {L1: 1},
                            },
                        ],
                    },
                    {
                        "title": "Mug",
                        "variants": [{"sku": None, "price": "7", "inventory": {L2: 9}}],
                    },
                ],
            }
        }
    )


def big_fixture(products: int = 100, per_product: int = 100):
    return load_fixture(
        {
            "shopify": {
                "locations": [{"id": L1, "name": "Main"}],
                "products": [
                    {
                        "title": f"P{p}",
                        "variants": [
                            {"sku": f"SKU-{p}-{v}", "price": "5.00", "inventory": {L1: (p + v) % 7}}
                            for v in range(per_product)
                        ],
                    }
                    for p in range(products)
                ],
            }
        }
    )


@pytest.fixture(scope="module")
def big_server() -> Iterator[tuple[str, object]]:
    app = create_app(big_fixture(), throttle=False)
    with serve_in_thread(app) as url:
        yield url, app


def endpoint(url: str) -> str:
    return f"{url}/admin/api/2026-04/graphql.json"


async def collect(client: ShopifyClient) -> list:
    out = []
    async for page in client.iter_catalog():
        out.extend(page)
    return out


def test_every_document_is_valid_against_the_schema() -> None:
    schema = admin_schema()
    assert len(DOCUMENTS) >= 10
    for name, document in DOCUMENTS.items():
        assert validate(schema, parse(document)) == [], name
    assert query_rule_errors(schema, BULK_VARIANTS_QUERY) == []


def test_documents_check_really_fails_on_a_bad_document() -> None:
    errors = validate(admin_schema(), parse(ORDER_CREATE_MUTATION.replace("tags", "tagz")))
    assert errors


async def test_client_satisfies_store_protocol() -> None:
    client = ShopifyClient(
        endpoint_url="http://127.0.0.1:9/admin/api/2026-04/graphql.json", access_token=TOKEN
    )
    assert isinstance(client, StoreApi)
    assert client.kind == "shopify"
    assert client.order_key("576461413038785752") == "576461413038785752"  # sourceIdentifier
    assert (client.relay_concurrency, client.order_lookup_grace_s) == (1, 300.0)
    await client.aclose()


async def test_small_catalog_fields_and_what_is_sent() -> None:
    rec = Recorder()
    with serve_in_thread(create_app(small_fixture(), rate_scale=50)) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec, retry=FAST
        ) as client:
            variants = await collect(client)
    by_sku = {v.seller_sku: v for v in variants}
    assert set(by_sku) == {"TEE-S", "TEE-M", None}
    tee = by_sku["TEE-S"]
    assert tee.channel == "shopify" and tee.title == "Tee" and tee.variant_title == "S"
    assert tee.price == Decimal("10.00") and tee.currency == "USD" and tee.barcode == "111"
    assert tee.stock == {L1: 5, L2: 2} and tee.options == {"Size": "S"}
    assert tee.product_id == "gid://shopify/Product/1" and tee.status == "ACTIVE"
    assert by_sku["TEE-M"].stock == {L1: 1, L2: 0}
    assert by_sku[None].stock == {L1: 0, L2: 9}
    for request in rec.requests:
        assert request.url.path == "/admin/api/2026-04/graphql.json"
        assert request.headers["x-shopify-access-token"] == TOKEN
        assert request.headers["content-type"] == "application/json"
        assert "authorization" not in request.headers
    sent = rec.posted()
    variant_calls = [b for b in sent if b["query"] == DOCUMENTS["productVariants"]]
    assert variant_calls and variant_calls[0]["variables"]["levels"] == 2
    assert variant_calls[0]["variables"]["after"] is None


async def test_location_filter_limits_stock() -> None:
    with serve_in_thread(create_app(small_fixture(), throttle=False)) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, location_ids=[L2]
        ) as client:
            variants = await collect(client)
            locations = await client.locations()
    assert {v.seller_sku: v.stock for v in variants}["TEE-S"] == {L2: 2}
    assert [w.id for w in locations] == [L1, L2]


async def test_pages_through_10000_variants(big_server) -> None:
    url, app = big_server
    app.state.faults.reset_counts()
    async with ShopifyClient(
        endpoint_url=endpoint(url), access_token=TOKEN, bulk_threshold=50_000
    ) as client:
        variants = await collect(client)
    assert len(variants) == 10_000
    assert len({v.variant_id for v in variants}) == 10_000
    assert {v.seller_sku for v in variants} == {
        f"SKU-{p}-{v}" for p in range(100) for v in range(100)
    }
    sample = next(v for v in variants if v.seller_sku == "SKU-3-4")
    assert sample.stock == {L1: 0} and sample.price == Decimal("5.00")
    counts = app.state.faults.stats.requests
    # the first page follows our estimate (99); later ones the cost Shopify reported, which
    # fits more nodes under the 1,000-point limit
    assert math.ceil(10_000 / MAX_PAGE) <= counts["productVariants"] < math.ceil(10_000 / 99)
    assert counts["bulkOperationRunQuery"] == 0


async def test_bulk_path_reads_the_same_10000_variants(big_server) -> None:
    url, app = big_server
    app.state.faults.reset_counts()
    rec = Recorder()
    async with ShopifyClient(
        endpoint_url=endpoint(url),
        access_token=TOKEN,
        bulk_threshold=1000,
        bulk_poll_interval=0.01,
        transport=rec,
    ) as client:
        variants = await collect(client)
    assert len(variants) == 10_000
    assert len({v.variant_id for v in variants}) == 10_000
    sample = next(v for v in variants if v.seller_sku == "SKU-3-5")
    assert sample.stock == {L1: 1} and sample.title == "P3"
    counts = app.state.faults.stats.requests
    assert counts["bulkOperationRunQuery"] == 1 and counts["productVariants"] == 0
    download = [r for r in rec.requests if r.method == "GET"]
    assert len(download) == 1 and download[0].url.path.endswith(".jsonl")
    assert "x-shopify-access-token" not in download[0].headers  # signed URL: no token
    run = next(b for b in rec.posted() if "bulkOperationRunQuery" in b["query"])
    assert run["variables"]["query"] == BULK_VARIANTS_QUERY


async def test_recovers_from_throttled_answers() -> None:
    app = create_app(small_fixture(), rate_scale=100)
    with serve_in_thread(app) as url:
        app.state.emulator.force_throttle = 3
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            variants = await collect(client)
    assert len(variants) == 3
    assert app.state.emulator.force_throttle == 0


async def test_paces_on_the_cost_bucket_instead_of_being_throttled() -> None:
    app = create_app(big_fixture(10, 100), rate_scale=100)  # restore 10000 points/s
    emulator = app.state.emulator
    emulator.bucket.configure(maximum=1100)
    throttled = []
    original = emulator._throttled

    def spy(requested: int) -> bool:
        hit = original(requested)
        throttled.append(hit)
        return hit

    emulator._throttled = spy
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            variants = await collect(client)
    assert len(variants) == 1000
    assert len(throttled) > 10 and not any(throttled)


async def test_recovers_from_5xx() -> None:
    app = create_app(small_fixture(), throttle=False)
    app.state.faults.configure(
        FaultConfig(seed=0, error_rate=0.8, operations=["productVariants", "locations"])
    )
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            variants = await collect(client)
    assert len(variants) == 3
    assert app.state.faults.stats.faults["error"] >= 1


async def test_wrong_token_is_an_auth_error_without_the_token() -> None:
    with serve_in_thread(create_app(small_fixture())) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token="shpat_wrong_token_123456"
        ) as client:
            with pytest.raises(AuthError) as info:
                await client.locations()
    assert info.value.status == 401
    assert "Invalid API key or access token" in str(info.value)
    assert "shpat_wrong_token_123456" not in str(info.value)


async def test_graphql_errors_are_fatal_with_code() -> None:
    with serve_in_thread(create_app(small_fixture())) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            with pytest.raises(FatalError) as info:
                await client.execute("shop", "{ shop { nam } }")
            assert info.value.code == "undefinedField"
            assert "Field 'nam' doesn't exist on type 'Shop'" in str(info.value)
            with pytest.raises(FatalError) as info2:
                await client.execute(
                    "productVariants", "{ productVariants(first: 300) { nodes { id } } }"
                )
            assert "page size" in str(info2.value).lower()


async def test_set_variant_skus_and_user_errors() -> None:
    app = create_app(small_fixture(), throttle=False)
    rec = Recorder()
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec
        ) as client:
            await client.set_variant_skus(
                "gid://shopify/Product/1",
                {
                    "gid://shopify/ProductVariant/1001": "TT-1",
                    "gid://shopify/ProductVariant/1002": "TT-2",
                },
            )
            with pytest.raises(FatalError) as info:
                await client.set_variant_skus(
                    "gid://shopify/Product/1",
                    {
                        "gid://shopify/ProductVariant/1001": "X",
                        "gid://shopify/ProductVariant/999999": "Y",
                    },
                )
            read_back = await client.variant_skus("gid://shopify/Product/1")
            assert await client.variant_skus("gid://shopify/Product/999999") == {}
    assert read_back == {
        "gid://shopify/ProductVariant/1001": "TT-1",
        "gid://shopify/ProductVariant/1002": "TT-2",
    }
    assert rec.posted()[-2]["variables"] == {"id": "gid://shopify/Product/1"}
    assert "product(id: $id)" in rec.posted()[-2]["query"]
    assert info.value.code == "PRODUCT_VARIANT_DOES_NOT_EXIST"
    assert "variants.1.id" in str(info.value)
    snap = app.state.emulator.snapshot()
    skus = [v["sku"] for v in snap["products"][0]["variants"]]
    assert skus == ["TT-1", "TT-2"]  # the failed call changed nothing (atomic)
    sent = rec.posted()[0]["variables"]
    assert sent["productId"] == "gid://shopify/Product/1"
    assert sent["variants"][0] == {
        "id": "gid://shopify/ProductVariant/1001",
        "inventoryItem": {"sku": "TT-1"},
    }


async def test_set_inventory_batches_keys_and_stale_compare() -> None:
    fixture = big_fixture(3, 200)  # 600 variants in one location
    app = create_app(fixture, throttle=False)
    rec = Recorder()
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec
        ) as client:
            variants = await collect(client)
            rows = [
                InventorySet(client.inventory_items[v.variant_id], L1, 42, v.stock[L1])
                for v in variants
            ]
            rec.requests.clear()
            assert await client.set_inventory(rows) == 3
            sent = [b for b in rec.posted() if b["query"] == INVENTORY_SET_MUTATION]
            assert [len(b["variables"]["input"]["quantities"]) for b in sent] == [250, 250, 100]
            assert len({b["variables"]["key"] for b in sent}) == 3
            assert all(
                "changeFromQuantity" in q
                for b in sent
                for q in b["variables"]["input"]["quantities"]
            )
            with pytest.raises(FatalError) as info:
                await client.set_inventory([InventorySet(rows[0].inventory_item_id, L1, 1, 5)])
    assert info.value.code == "CHANGE_FROM_QUANTITY_STALE"
    snap = app.state.emulator.snapshot()
    assert {v["inventory"][L1] for p in snap["products"] for v in p["variants"]} == {42}


async def test_set_inventory_retry_after_lost_answer_applies_once() -> None:
    app = create_app(small_fixture(), throttle=False)
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            variants = await collect(client)
            tee = next(v for v in variants if v.seller_sku == "TEE-S")
            app.state.faults.configure(
                FaultConfig(drop_after_commit_rate=1.0, operations=["inventorySetQuantities"])
            )
            # the retry carries the same key: the emulator replays, nothing applies twice
            # and the stale compare cannot fire on the second attempt
            with pytest.raises(Exception):  # noqa: B017 - every attempt is dropped
                await client.set_inventory(
                    [InventorySet(client.inventory_items[tee.variant_id], L1, 8, 5)]
                )
    snap = app.state.emulator.snapshot()
    assert snap["products"][0]["variants"][0]["inventory"][L1] == 8
    assert app.state.faults.stats.requests["inventorySetQuantities"] >= 2


def order_request(order_id: str = "576461413038785752") -> StoreOrderRequest:
    return StoreOrderRequest(
        tiktok_order_id=order_id,
        lines=(StoreOrderLine("gid://shopify/ProductVariant/1001", "TEE-S", 2, Decimal("9.5")),),
        currency="USD",
        created_at=datetime(2026, 11, 1, 12, 0, tzinfo=UTC),
        recipient=Address(
            name="Ada Lovelace",
            address1="1 Main St",
            city="Austin",
            region_code="TX",
            postal_code="78701",
            country_code="us",
            phone="+15550100",
        ),
        email="buyer@example.com",
        tags=("skubridge",),
    )


async def test_page_size_follows_the_cost_shopify_reports(monkeypatch) -> None:
    """Pages are sized from the requestedQueryCost Shopify reports, not only from our own
    estimate: a store that prices the variant query lower (live accepts 250 variants where
    the estimate allowed ~99) gets full pages after the first one."""
    import sandbox.shopify.emulator as shopify_emulator

    priced = shopify_emulator.query_cost

    def cheaper(*args: Any, **kwargs: Any) -> int:
        return max(1, priced(*args, **kwargs) // 4)

    monkeypatch.setattr(shopify_emulator, "query_cost", cheaper)
    fixture = load_fixture(
        {
            "shopify": {
                "locations": [{"id": L1, "name": "Main"}],
                "products": [
                    {"title": f"P{i}", "variants": [{"sku": f"S-{i}", "inventory": {L1: 1}}]}
                    for i in range(600)
                ],
            }
        }
    )
    rec = Recorder()
    with serve_in_thread(create_app(fixture, throttle=False)) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec
        ) as client:
            variants = await collect(client)
    assert len(variants) == 600
    sizes = [b["variables"]["first"] for b in rec.posted() if "SkubridgeVariants" in b["query"]]
    assert sizes[0] < MAX_PAGE and sizes[1:] == [MAX_PAGE] * (len(sizes) - 1)


async def test_create_order_sends_the_documented_shape_and_decrements() -> None:
    app = create_app(small_fixture(), throttle=False)
    rec = Recorder()
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec
        ) as client:
            created = await client.create_order(order_request())
            found = await client.find_order("576461413038785752")
            assert await client.find_order("57646141303878575") is None
    assert created.id.startswith("gid://shopify/Order/") and created.name == "#1001"
    assert found is not None and found.id == created.id
    body = next(b for b in rec.posted() if b["query"] == ORDER_CREATE_MUTATION)
    order, options = body["variables"]["order"], body["variables"]["options"]
    assert options["inventoryBehaviour"] == "DECREMENT_IGNORING_POLICY"
    assert order["sourceIdentifier"] == "576461413038785752"
    assert order["tags"] == ["tiktok", "tiktok-576461413038785752", "skubridge"]
    assert order["lineItems"] == [
        {
            "variantId": "gid://shopify/ProductVariant/1001",
            "quantity": 2,
            "priceSet": {"shopMoney": {"amount": "9.50", "currencyCode": "USD"}},
        }
    ]
    assert order["transactions"][0]["amountSet"]["shopMoney"]["amount"] == "19.00"
    assert order["shippingAddress"] == {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "phone": "+15550100",
        "address1": "1 Main St",
        "city": "Austin",
        "provinceCode": "TX",
        "zip": "78701",
        "countryCode": "US",
    }
    assert order["email"] == "buyer@example.com"
    assert order["processedAt"] == "2026-11-01T12:00:00Z"
    snap = app.state.emulator.snapshot()
    assert snap["products"][0]["variants"][0]["inventory"] == {L1: 3, L2: 2}
    assert snap["orders"][0]["source_identifier"] == "576461413038785752"


async def test_future_processed_at_is_clamped_to_now() -> None:
    """Clock skew can put a TikTok create_time ahead of Shopify's clock; 2026-04 refuses a
    future processedAt (PROCESSED_AT_INVALID), so the connector sends at most now."""
    app = create_app(small_fixture(), throttle=False)
    rec = Recorder()
    ahead = replace(order_request("888"), created_at=datetime.now(UTC) + timedelta(minutes=2))
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec
        ) as client:
            created = await client.create_order(ahead)
    assert created.id.startswith("gid://shopify/Order/")
    body = next(b for b in rec.posted() if b["query"] == ORDER_CREATE_MUTATION)
    sent = datetime.fromisoformat(body["variables"]["order"]["processedAt"].replace("Z", "+00:00"))
    assert sent <= datetime.now(UTC)


async def test_create_order_user_errors_surface() -> None:
    with serve_in_thread(create_app(small_fixture(), throttle=False)) as url:
        async with ShopifyClient(endpoint_url=endpoint(url), access_token=TOKEN) as client:
            bad = StoreOrderRequest(
                "1",
                (StoreOrderLine("gid://shopify/ProductVariant/404", None, 1, Decimal(1)),),
                "USD",
                datetime(2026, 1, 1, tzinfo=UTC),
            )
            with pytest.raises(FatalError) as info:
                await client.create_order(bad)
    assert info.value.code == "INVALID"
    assert "Line items is invalid" in str(info.value)


async def test_dropped_order_create_is_outcome_unknown_not_a_second_order() -> None:
    app = create_app(small_fixture(), throttle=False)
    app.state.faults.configure(FaultConfig(drop_after_commit_rate=1.0, operations=["orderCreate"]))
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, retry=FAST
        ) as client:
            with pytest.raises(OutcomeUnknownError):
                await client.create_order(order_request("777"))
            found = await client.find_order("777")
    assert app.state.faults.stats.requests["orderCreate"] == 1
    assert len(app.state.emulator.snapshot()["orders"]) == 1
    assert found is not None


async def test_no_access_token_in_logs_or_exceptions(caplog) -> None:
    install_log_redaction()
    secret = "shpat_very_secret_token_0042"
    app = create_app(small_fixture(), access_token=secret)
    app.state.faults.configure(FaultConfig(seed=1, error_rate=0.5))
    caplog.set_level(logging.DEBUG)
    messages = []
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=secret, retry=FAST
        ) as client:
            await collect(client)
            app.state.faults.configure(FaultConfig())
            try:
                await client.execute("shop", "{ shop { nam } }")
            except FatalError as exc:
                messages.append(str(exc))
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=secret + "x", retry=FAST
        ) as client:
            try:
                await client.locations()
            except AuthError as exc:
                messages.append(str(exc))
    assert len(messages) == 2
    assert app.state.faults.stats.faults["error"] >= 1
    text = caplog.text + "\n".join(messages)
    assert secret not in text


def test_verify_webhook_helper() -> None:
    body = b'{"inventory_item_id":1}'
    signature = sign_webhook(body, "shpss_x")
    assert verify_webhook(body, signature, "shpss_x")
    assert not verify_webhook(body + b" ", signature, "shpss_x")
    assert not verify_webhook(body, None, "shpss_x")


async def test_set_inventory_refuses_untracked_items() -> None:
    fixture = small_fixture()
    fixture.shopify.products[1].variants[0].tracked = False
    app = create_app(fixture, throttle=False)
    with serve_in_thread(app) as url:
        async with ShopifyClient(endpoint_url=endpoint(url), access_token=TOKEN) as client:
            variants = await collect(client)
            mug = next(v for v in variants if v.title == "Mug")
            app.state.faults.reset_counts()
            with pytest.raises(FatalError) as info:
                await client.set_inventory(
                    [InventorySet(client.inventory_items[mug.variant_id], L2, 1, 9)]
                )
    assert info.value.code == "UNTRACKED"
    assert app.state.faults.stats.requests["inventorySetQuantities"] == 0


async def test_http_429_with_retry_after_is_retried() -> None:
    answers = [
        httpx.Response(429, headers={"Retry-After": "0"}, json={"errors": "Exceeded limit"}),
        httpx.Response(
            200,
            json={"data": {"shop": {"name": "s", "myshopifyDomain": "s", "currencyCode": "EUR"}}},
        ),
    ]
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers[len(seen) - 1]

    client = ShopifyClient(
        endpoint_url="https://s.myshopify.com/admin/api/2026-04/graphql.json",
        access_token=TOKEN,
        transport=httpx.MockTransport(handler),
        retry=FAST,
    )
    try:
        assert await client.currency() == "EUR"
    finally:
        await client.aclose()
    assert len(seen) == 2
    assert str(seen[0].url) == "https://s.myshopify.com/admin/api/2026-04/graphql.json"


def test_throttle_wait_from_throttle_status() -> None:
    cost = {
        "requestedQueryCost": 752,
        "actualQueryCost": None,
        "throttleStatus": {
            "maximumAvailable": 1000.0,
            "currentlyAvailable": 666,
            "restoreRate": 50.0,
        },
    }
    assert throttle_wait(cost) == pytest.approx(1.72)
    assert throttle_wait(None) is None


async def test_throttled_body_raises_throttled_error_with_wait() -> None:
    body = {
        "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
        "extensions": {
            "cost": {
                "requestedQueryCost": 300,
                "actualQueryCost": None,
                "throttleStatus": {
                    "maximumAvailable": 2000.0,
                    "currentlyAvailable": 100,
                    "restoreRate": 100.0,
                },
            }
        },
    }
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=body))
    client = ShopifyClient(
        endpoint_url="https://s.myshopify.com/admin/api/2026-04/graphql.json",
        access_token=TOKEN,
        transport=transport,
        retry=RetryPolicy(attempts=1),
    )
    try:
        with pytest.raises(ThrottledError) as info:
            await client.currency()
    finally:
        await client.aclose()
    assert info.value.code == "THROTTLED" and info.value.retry_after == pytest.approx(2.0)


async def test_page_is_halved_when_shopify_says_the_query_costs_too_much() -> None:
    firsts: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent = json.loads(request.content)
        query, variables = sent["query"], sent["variables"]
        if query == DOCUMENTS["locations"]:
            data = {
                "locations": {
                    "nodes": [{"id": L1, "name": "Main", "isActive": True}],
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                }
            }
        elif query == DOCUMENTS["shop"]:
            data = {"shop": {"name": "s", "myshopifyDomain": "s", "currencyCode": "USD"}}
        elif query == DOCUMENTS["productVariantsCount"]:
            data = {"productVariantsCount": {"count": 1, "precision": "EXACT"}}
        else:
            firsts.append(variables["first"])
            if variables["first"] > 30:
                return httpx.Response(
                    200,
                    json={
                        "errors": [
                            {
                                "message": "Query cost is 1500, which exceeds the single "
                                "query max cost limit (1000).",
                                "extensions": {"code": "MAX_COST_EXCEEDED"},
                            }
                        ]
                    },
                )
            data = {
                "productVariants": {
                    "nodes": [],
                    "pageInfo": {"hasNextPage": False, "endCursor": None},
                }
            }
        return httpx.Response(200, json={"data": data})

    client = ShopifyClient(
        endpoint_url="https://s.myshopify.com/admin/api/2026-04/graphql.json",
        access_token=TOKEN,
        transport=httpx.MockTransport(handler),
        retry=FAST,
    )
    try:
        assert await collect(client) == []
    finally:
        await client.aclose()
    assert firsts == [99, 49, 24]


@pytest.mark.parametrize("bulk", [False, True], ids=["paged", "bulk"])
async def test_tracked_and_inventory_policy_reach_the_catalog(bulk: bool) -> None:
    fixture = small_fixture()
    tee_s, tee_m = fixture.shopify.products[0].variants
    tee_s.tracked = False
    tee_m.inventory_policy = "CONTINUE"
    rec = Recorder()
    with serve_in_thread(create_app(fixture, throttle=False)) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url),
            access_token=TOKEN,
            transport=rec,
            bulk_threshold=1 if bulk else 50_000,
            bulk_poll_interval=0.01,
        ) as client:
            variants = await collect(client)
    by_sku = {v.seller_sku: v for v in variants}
    assert (by_sku["TEE-S"].tracked, by_sku["TEE-S"].inventory_policy) == (False, "DENY")
    assert (by_sku["TEE-M"].tracked, by_sku["TEE-M"].inventory_policy) == (True, "CONTINUE")
    assert (by_sku[None].tracked, by_sku[None].inventory_policy) == (True, "DENY")
    sent = json.dumps(rec.posted())
    assert ("bulkOperationRunQuery" in sent) is bulk
    # both documents ask for the two fields (validated against the schema above)
    for document in (DOCUMENTS["productVariants"], BULK_VARIANTS_QUERY):
        assert "inventoryPolicy" in document and "id tracked" in document
