"""Loop-back store connectors against the Shopify and Amazon emulators over loopback HTTP:
what they send (paths, bodies, GraphQL documents valid against the 2026-04 schema) and what
they make of the answers (partial fulfilments, multi-unit lines, cancel before and after
fulfilment, MFN quantity)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from graphql import parse, validate

from connectors import amazon_fulfillment as amz
from connectors import shopify_fulfillment as shf
from connectors.amazon import AmazonClient
from connectors.base import Address, StoreOrderLine, StoreOrderRequest
from connectors.errors import FatalError
from connectors.http import RetryPolicy
from connectors.shopify import ShopifyClient
from sandbox.amazon import create_app as amazon_app
from sandbox.amazon.schemas import body_errors
from sandbox.fixture import load_fixture
from sandbox.server import serve_in_thread
from sandbox.shopify import DEFAULT_ACCESS_TOKEN
from sandbox.shopify import create_app as shopify_app
from sandbox.shopify.schema import admin_schema
from tests.amazon_http import Clock, mcf_shop
from tests.clients import SELLER, US, Recorder, amazon_client

FAST = RetryPolicy(attempts=4, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0.0)
L1, L2 = "gid://shopify/Location/1", "gid://shopify/Location/2"
V_TEE, V_MUG = "gid://shopify/ProductVariant/1001", "gid://shopify/ProductVariant/2001"
ADDRESS = Address(
    name="Ada Lovelace",
    address1="1 Main St",
    city="Austin",
    region_code="TX",
    postal_code="78701",
    country_code="US",
)


# -- Shopify -----------------------------------------------------------------------------


@pytest.fixture
def shopify() -> Iterator[tuple[str, Any]]:
    fixture = load_fixture(
        {
            "shopify": {
                "locations": [{"id": L1, "name": "Main"}, {"id": L2, "name": "Back"}],
                "products": [
                    {
                        "id": "gid://shopify/Product/1",
                        "title": "Tee",
                        "variants": [
                            {"id": V_TEE, "sku": "TEE-S", "price": "10", "inventory": {L1: 5}}
                        ],
                    },
                    {
                        "id": "gid://shopify/Product/2",
                        "title": "Mug",
                        "variants": [
                            {"id": V_MUG, "sku": "MUG", "price": "7", "inventory": {L2: 9}}
                        ],
                    },
                ],
            }
        }
    )
    app = shopify_app(fixture, throttle=False)
    with serve_in_thread(app) as url:
        yield url, app


def shopify_client(url: str, recorder: Recorder) -> ShopifyClient:
    return ShopifyClient(
        endpoint_url=f"{url}/admin/api/2026-04/graphql.json",
        access_token=DEFAULT_ACCESS_TOKEN,
        rate_scale=0,
        retry=FAST,
        transport=recorder,
    )


async def relayed_order(client: ShopifyClient, tiktok_id: str = "576000000000000001") -> str:
    """A Shopify order as the relay creates it: a 3-unit line and a 1-unit line."""
    created = await client.create_order(
        StoreOrderRequest(
            tiktok_order_id=tiktok_id,
            lines=(
                StoreOrderLine(V_TEE, "TEE-S", 3, Decimal("10")),
                StoreOrderLine(V_MUG, "MUG", 1, Decimal("7")),
            ),
            currency="USD",
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            recipient=ADDRESS,
        )
    )
    return created.id


def number(gid: str) -> str:
    return gid.rsplit("/", 1)[1]


def level(app: Any, variant: str, location: str) -> int:
    state = app.state.emulator.snapshot()
    v = next(v for p in state["products"] for v in p["variants"] if v["id"] == variant)
    return v["inventory"][location]


def test_every_loop_back_document_is_valid_against_the_schema() -> None:
    schema = admin_schema()
    for name, document in shf.DOCUMENTS.items():
        assert validate(schema, parse(document)) == [], name
    broken = shf.ORDER_FULFILLMENTS_QUERY.replace("trackingInfo(first: 10)", "tracking")
    assert validate(schema, parse(broken)) != []


async def test_read_partial_fulfilment_of_a_multi_unit_line(shopify) -> None:
    url, _ = shopify
    recorder = Recorder()
    async with shopify_client(url, recorder) as client:
        assert await shf.read_order_fulfillments(client, "gid://shopify/Order/1") is None
        order_id = await relayed_order(client)
        fresh = await shf.read_order_fulfillments(client, order_id)
        assert fresh is not None and fresh.fulfillments == () and not fresh.cancelled
        assert fresh.display_fulfillment_status == "UNFULFILLED"
        assert fresh.source_identifier == "576000000000000001"
        assert sorted(
            (ln.total_quantity, ln.remaining_quantity)
            for fo in fresh.fulfillment_orders
            for ln in fo.lines
        ) == [(1, 1), (3, 3)]
        with httpx.Client(base_url=url, trust_env=False) as admin:
            answer = admin.post(
                f"/_sandbox/orders/{number(order_id)}/fulfill",
                json={
                    "lines": [{"sku": "TEE-S", "quantity": 2}],
                    "tracking": {"number": "1Z999", "company": "UPS", "url": "https://u.test/1"},
                },
            )
            assert answer.status_code == 200
        partial = await shf.read_order_fulfillments(client, order_id)
    assert partial is not None and not partial.truncated
    assert partial.display_fulfillment_status == "PARTIALLY_FULFILLED"
    [f] = partial.fulfillments
    assert f.active and f.status == "SUCCESS" and f.display_status == "FULFILLED"
    assert f.tracking == (shf.TrackingInfo("1Z999", "UPS", "https://u.test/1"),)
    assert (f.tracking_number, f.carrier) == ("1Z999", "UPS")
    [line] = f.lines
    assert (line.sku, line.quantity) == ("TEE-S", 2)
    assert partial.shipped_quantities() == {line.line_item_id: 2}
    assert isinstance(f.created_at, datetime) and f.created_at.tzinfo is not None
    remaining = {
        ln.line_item_id: ln.remaining_quantity
        for fo in partial.fulfillment_orders
        for ln in fo.lines
    }
    assert remaining[line.line_item_id] == 1
    sent = [b for b in recorder.posted() if "SkubridgeOrderFulfillments" in b["query"]]
    assert len(sent) == 3
    assert all(b["query"] == shf.ORDER_FULFILLMENTS_QUERY for b in sent)
    assert sent[-1]["variables"] == {"id": order_id}


async def test_cancel_before_fulfilment_polls_the_job_and_is_repeatable(shopify) -> None:
    url, app = shopify
    recorder = Recorder()
    async with shopify_client(url, recorder) as client:
        order_id = await relayed_order(client)
        assert level(app, V_TEE, L1) == 2
        recorder.requests.clear()
        result = await shf.cancel_order(
            client, order_id, reason="CUSTOMER", staff_note="TikTok cancelled", poll_interval=0
        )
        assert result.status == "CANCELLED" and result.job_id
        assert result.cancelled_at is not None
        again = await shf.cancel_order(client, order_id, poll_interval=0)
    assert again.status == "ALREADY_CANCELLED" and again.cancelled_at == result.cancelled_at
    bodies = recorder.posted()
    names = [
        "orderCancel" if "orderCancel(" in b["query"] else "job" if "job(" in b["query"] else "read"
        for b in bodies
    ]
    # cancel, job (done: false), job (done: true), read; then cancel refused, read
    assert names == ["orderCancel", "job", "job", "read", "orderCancel", "read"]
    cancel = bodies[0]
    assert (
        cancel["query"] == shf.ORDER_CANCEL_MUTATION and "notifyCustomer: false" in cancel["query"]
    )
    assert cancel["variables"] == {
        "orderId": order_id,
        "reason": "CUSTOMER",
        "restock": True,
        "staffNote": "TikTok cancelled",
    }
    assert bodies[1]["variables"] == {"id": result.job_id}
    assert level(app, V_TEE, L1) == 5  # restocked
    [order] = app.state.emulator.snapshot()["orders"]
    assert order["cancel_reason"] == "CUSTOMER"


async def test_cancel_after_fulfilment_is_store_already_fulfilled(shopify) -> None:
    url, app = shopify
    async with shopify_client(url, Recorder()) as client:
        order_id = await relayed_order(client)
        with httpx.Client(base_url=url, trust_env=False) as admin:
            admin.post(
                f"/_sandbox/orders/{number(order_id)}/fulfill",
                json={"lines": [{"sku": "MUG", "quantity": 1}]},
            )
        with pytest.raises(shf.StoreAlreadyFulfilledError) as info:
            await shf.cancel_order(client, order_id, poll_interval=0)
        assert isinstance(info.value, FatalError)
        assert info.value.code == "STORE_ALREADY_FULFILLED"
        assert "outstanding fulfillments" in info.value.message
        state = await shf.read_order_fulfillments(client, order_id)
        with pytest.raises(shf.OrderNotFoundError):
            await shf.cancel_order(client, "gid://shopify/Order/1", poll_interval=0)
    assert state is not None and not state.cancelled
    assert level(app, V_TEE, L1) == 2  # nothing restocked


async def test_cancel_job_not_done_in_time_is_pending(shopify) -> None:
    url, app = shopify
    app.state.emulator.job_polls_until_done = 10
    async with shopify_client(url, Recorder()) as client:
        order_id = await relayed_order(client)
        result = await shf.cancel_order(client, order_id, poll_interval=0, max_polls=2)
        assert result.status == "PENDING" and result.cancelled_at is None
        with httpx.Client(base_url=url, trust_env=False) as admin:
            assert admin.post("/_sandbox/jobs/run").json() == {"completed": 1}
        assert await shf.job_done(client, result.job_id or "")
        later = await shf.read_order_fulfillments(client, order_id)
    assert later is not None and later.cancelled


async def test_single_line_cancel_once_and_refused_after_shipping(shopify) -> None:
    url, app = shopify
    recorder = Recorder()
    async with shopify_client(url, recorder) as client:
        order_id = await relayed_order(client)
        state = await shf.read_order_fulfillments(client, order_id)
        assert state is not None
        lines = {
            ln.line_item_id: ln.total_quantity for fo in state.fulfillment_orders for ln in fo.lines
        }
        tee = next(line for line, total in lines.items() if total == 3)
        mug = next(line for line, total in lines.items() if total == 1)
        recorder.requests.clear()
        result = await shf.cancel_order_lines(client, order_id, {tee: 2}, idempotency_key="tt-c1")
        again = await shf.cancel_order_lines(client, order_id, {tee: 2}, idempotency_key="tt-c1")
        assert again == result and result.lines == ((tee, 2),)
        assert level(app, V_TEE, L1) == 4  # two units back once, not four
        with httpx.Client(base_url=url, trust_env=False) as admin:
            admin.post(
                f"/_sandbox/orders/{number(order_id)}/fulfill",
                json={"lines": [{"sku": "MUG", "quantity": 1}]},
            )
        with pytest.raises(shf.StoreAlreadyFulfilledError):
            await shf.cancel_order_lines(client, order_id, {mug: 1}, idempotency_key="tt-c2")
        after = await shf.read_order_fulfillments(client, order_id)
    assert after is not None and not after.cancelled
    remaining = {
        ln.line_item_id: ln.remaining_quantity for fo in after.fulfillment_orders for ln in fo.lines
    }
    assert remaining[tee] == 1
    sent = recorder.posted()[0]
    assert sent["query"] == shf.CANCEL_LINES_MUTATION
    assert sent["variables"] == {
        "key": "tt-c1",
        "input": {
            "orderId": order_id,
            "notify": False,
            "refundLineItems": [{"lineItemId": tee, "quantity": 2, "restockType": "CANCEL"}],
        },
    }


async def test_tag_order_sends_tags_add_and_a_second_tag_is_not_doubled(shopify) -> None:
    url, app = shopify
    recorder = Recorder()
    async with shopify_client(url, recorder) as client:
        order_id = await relayed_order(client)
        recorder.requests.clear()
        await client.tag_order(order_id, ["TikTok shipping label"])
        await client.tag_order(order_id, ["TikTok shipping label"])
        with pytest.raises(FatalError, match="tagsAdd"):
            await client.tag_order("gid://shopify/Order/1", ["TikTok shipping label"])
    sent = recorder.posted()[0]
    assert sent["query"] == shf.TAGS_ADD_MUTATION
    assert sent["variables"] == {"id": order_id, "tags": ["TikTok shipping label"]}
    [order] = [o for o in app.state.emulator.state.orders if o.id == order_id]
    assert order.tags.count("TikTok shipping label") == 1


async def test_changed_orders_sends_one_updated_at_search(shopify) -> None:
    url, app = shopify
    recorder = Recorder()
    async with shopify_client(url, recorder) as client:
        order_id = await relayed_order(client)
        for o in app.state.emulator.state.orders:
            o.updated_at = "2026-01-01T00:00:00Z"
        recorder.requests.clear()
        assert await client.changed_orders(datetime(2026, 2, 1, tzinfo=UTC)) == set()
        with httpx.Client(base_url=url, trust_env=False) as admin:
            admin.post(f"/_sandbox/orders/{number(order_id)}/fulfill", json={})
        assert await client.changed_orders(datetime(2026, 2, 1, tzinfo=UTC)) == {order_id}
    sent = recorder.posted()[0]
    assert sent["query"] == shf.CHANGED_ORDERS_QUERY
    assert sent["variables"] == {"query": "updated_at:>='2026-02-01T00:00:00Z'", "after": None}


# -- Amazon ------------------------------------------------------------------------------


@pytest.fixture
def amazon() -> Iterator[tuple[str, Any]]:
    app = amazon_app(
        load_fixture(mcf_shop()),
        throttle=False,
    )
    app.state.emulator.report_options.statuses = ("IN_QUEUE", "DONE")
    app.state.emulator.mcf.options.progress = "manual"
    app.state.emulator.clock = Clock()
    with serve_in_thread(app) as url:
        yield url, app


async def mcf_order(client: AmazonClient, tiktok_id: str) -> str:
    created = await client.create_order(
        StoreOrderRequest(
            tiktok_order_id=tiktok_id,
            lines=(
                StoreOrderLine("FBA-A", "FBA-A", 3, Decimal("10")),
                StoreOrderLine("FBA-B", "FBA-B", 1, Decimal("7")),
            ),
            currency="USD",
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
            recipient=ADDRESS,
        )
    )
    return created.id


def advance(url: str, order_id: str, **body: Any) -> dict:
    with httpx.Client(base_url=url, trust_env=False) as admin:
        answer = admin.post(f"/_sandbox/mcf/{order_id}/advance", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()


async def test_mcf_shipments_packages_and_tracking(amazon) -> None:
    url, _ = amazon
    recorder = Recorder()
    async with amazon_client(url, recorder, retry=FAST, families="off") as client:
        assert await amz.get_mcf_order(client, "TTS-NOPE") is None
        order_id = await mcf_order(client, "576000000000000101")
        received = await amz.get_mcf_order(client, order_id)
        assert received is not None and received.status == "Received" and received.cancellable
        assert received.shipments == () and received.shipped_packages() == []
        advance(url, order_id, to="Processing")
        processing = await amz.get_mcf_order(client, order_id)
        assert processing is not None and not processing.cancellable
        assert processing.shipments[0].status == "PENDING"
        assert processing.shipped_packages() == []  # package 0 is no package
        advance(
            url,
            order_id,
            to="Complete",
            packages=[
                {
                    "items": [
                        {"sellerFulfillmentOrderItemId": f"{order_id}-1", "quantity": 2},
                        {"sellerFulfillmentOrderItemId": f"{order_id}-2", "quantity": 1},
                    ],
                    "carrierCode": "UPS",
                },
                {"items": [{"sellerFulfillmentOrderItemId": f"{order_id}-1", "quantity": 1}]},
            ],
        )
        done = await amz.get_mcf_order(client, order_id)
        assert done is not None and done.status == "Complete" and done.terminal
        boxes = done.shipped_packages()
        assert [
            (p.carrier_code, sorted((i.seller_sku, i.quantity) for i in items))
            for p, items in boxes
        ] == [
            ("UPS", [("FBA-A", 2), ("FBA-B", 1)]),
            ("Amazon Logistics", [("FBA-A", 1)]),
        ]
        assert all(p.tracking_number for p, _ in boxes)
        assert done.shipments[0].shipped_at is not None
        tracking = await amz.get_package_tracking(client, boxes[0][0].package_number)
        assert tracking is not None
        assert (tracking.tracking_number, tracking.carrier_code) == (
            boxes[0][0].tracking_number,
            "UPS",
        )
        assert [e.code for e in tracking.events] == ["EVENT_101", "EVENT_102"]
        assert await amz.get_package_tracking(client, 1) is None
    gets = [
        r for r in recorder.requests if r.method == "GET" and "/fulfillmentOrders/" in r.url.path
    ]
    assert gets[1].url.raw_path.decode() == f"/fba/outbound/2020-07-01/fulfillmentOrders/{order_id}"
    [track] = [r for r in recorder.requests if r.url.path.endswith("/tracking")][:1]
    assert dict(parse_qsl(track.url.query.decode())) == {
        "packageNumber": str(boxes[0][0].package_number)
    }
    assert all("x-amz-access-token" in r.headers for r in gets)


async def test_list_mcf_orders_changed_since(amazon) -> None:
    url, app = amazon
    clock = app.state.emulator.clock
    recorder = Recorder()
    async with amazon_client(url, recorder, retry=FAST, families="off") as client:
        before = datetime.fromtimestamp(clock.now, UTC)
        first = await mcf_order(client, "576000000000000201")
        second = await mcf_order(client, "576000000000000202")
        changes = await amz.list_mcf_orders_changed_since(client, before, id_prefix="TTS-")
        assert {c.order_id: c.status for c in changes} == {first: "Received", second: "Received"}
        assert all(c.status_updated_at is not None for c in changes)
        clock.now += 10
        advance(url, first, to="Planning")
        since = before + timedelta(seconds=5)
        moved = await amz.list_mcf_orders_changed_since(client, since)
        assert [(c.order_id, c.status) for c in moved] == [(first, "Planning")]
        assert await amz.list_mcf_orders_changed_since(client, since, id_prefix="OTHER-") == []
    listed = [
        r
        for r in recorder.requests
        if r.method == "GET" and r.url.path == "/fba/outbound/2020-07-01/fulfillmentOrders"
    ]
    assert len(listed) == 3
    assert dict(parse_qsl(listed[0].url.query.decode())) == {
        "queryStartDate": before.strftime("%Y-%m-%dT%H:%M:%SZ")
    }


async def test_mcf_cancel_before_and_after_processing(amazon) -> None:
    url, app = amazon
    recorder = Recorder()
    async with amazon_client(url, recorder, retry=FAST, families="off") as client:
        early = await mcf_order(client, "576000000000000301")
        advance(url, early, to="Planning")
        cancelled = await amz.cancel_mcf_order(client, early)
        assert cancelled.cancelled and cancelled.status == "Cancelled"
        assert [i.cancelled_quantity for i in cancelled.items] == [3, 1]
        assert app.state.emulator.listings["FBA-A"].quantity == 10  # units back
        again = await amz.cancel_mcf_order(client, early)  # repeatable
        assert again.cancelled
        late = await mcf_order(client, "576000000000000302")
        advance(url, late, to="Processing")
        with pytest.raises(amz.McfTooLateToCancelError) as info:
            await amz.cancel_mcf_order(client, late)
        assert info.value.order_status == "Processing" and info.value.status == 400
        assert isinstance(info.value, FatalError)
        with pytest.raises(amz.McfOrderNotFoundError):
            await amz.cancel_mcf_order(client, "TTS-NOPE")
    puts = [r for r in recorder.requests if r.method == "PUT"]
    assert puts[0].url.raw_path.decode() == (
        f"/fba/outbound/2020-07-01/fulfillmentOrders/{early}/cancel"
    )
    assert puts[0].content == b""  # the model has no request body


async def test_mfn_quantity_patch_is_visible_in_the_next_listings_read(amazon) -> None:
    url, _ = amazon
    recorder = Recorder()
    async with amazon_client(url, recorder, retry=FAST, families="off") as client:
        assert await amz.read_mfn_quantity(client, "MFN-A") == 5
        result = await amz.set_mfn_quantity(client, "MFN-A", 3)
        assert result == amz.ListingQuantityResult("MFN-A", 3, "ACCEPTED", result.submission_id)
        assert await amz.read_mfn_quantity(client, "MFN-A") == 3
        rows = {row.sku: row for row in await client.listing_report()}
        assert rows["MFN-A"].quantity == 3
        with pytest.raises(amz.NotMerchantFulfilledError):
            await amz.set_mfn_quantity(client, "FBA-A", 1)
        with pytest.raises(ValueError):
            await amz.set_mfn_quantity(client, "MFN-A", -1)  # refused before anything is sent
    [patch] = [r for r in recorder.requests if r.method == "PATCH"]
    assert patch.url.raw_path.decode().startswith(f"/listings/2021-08-01/items/{SELLER}/MFN-A?")
    assert dict(parse_qsl(patch.url.query.decode())) == {"marketplaceIds": US}
    body = json.loads(patch.content)
    assert body_errors("listings", "ListingsItemPatchRequest", body) == []
    assert body == {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }
        ],
    }
