"""The Shopify emulator's loop-back features over loopback HTTP, written against Shopify's
documented shapes (fulfillment orders, fulfilments with tracking, orderCancel and its job,
webhook payloads), not against our connector."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from graphql import parse, validate

from sandbox.server import serve_in_thread
from sandbox.shopify import DEFAULT_ACCESS_TOKEN, DEFAULT_WEBHOOK_SECRET, create_app, verify_webhook
from sandbox.shopify.schema import admin_schema
from tests.webhook_sink import webhook_sink

L1, L2 = "gid://shopify/Location/1", "gid://shopify/Location/2"
V_TEE, V_MUG = "gid://shopify/ProductVariant/1001", "gid://shopify/ProductVariant/2001"
PATH = "/admin/api/2026-04/graphql.json"
FIXTURE = {
    "shopify": {
        "locations": [{"id": L1, "name": "Main"}, {"id": L2, "name": "Back"}],
        "products": [
            {
                "id": "gid://shopify/Product/1",
                "title": "Tee",
                "variants": [{"id": V_TEE, "sku": "TEE-S", "price": "10", "inventory": {L1: 5}}],
            },
            {
                "id": "gid://shopify/Product/2",
                "title": "Mug",
                "variants": [{"id": V_MUG, "sku": "MUG", "price": "7", "inventory": {L2: 9}}],
            },
        ],
    }
}

ORDER_CREATE = """
mutation($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name lineItems(first: 10) { nodes { id sku quantity } } }
    userErrors { field message code }
  }
}
"""
# The read the loop back uses (Shopify Admin 2026-04: Order.fulfillments is a plain list,
# fulfillmentLineItems and fulfillmentOrders are connections).
ORDER_READ = """
query OrderFulfillments($id: ID!) {
  order(id: $id) {
    id name sourceIdentifier displayFulfillmentStatus closed closedAt cancelledAt cancelReason
    updatedAt cancellation { staffNote }
    lineItems(first: 10) { nodes { id sku quantity unfulfilledQuantity } }
    fulfillments(first: 10) {
      id name status displayStatus createdAt updatedAt
      trackingInfo(first: 10) { number company url }
      fulfillmentLineItems(first: 25) { nodes { id quantity lineItem { id sku } } }
    }
    fulfillmentOrders(first: 5) {
      nodes {
        id status assignedLocation { location { id } }
        lineItems(first: 25) { nodes { id totalQuantity remainingQuantity lineItem { id } } }
      }
    }
  }
}
"""
FULFILL = """
mutation($f: FulfillmentInput!) {
  fulfillmentCreate(fulfillment: $f) {
    fulfillment { id name status displayStatus trackingInfo { number company url }
      fulfillmentLineItems(first: 10) { nodes { quantity lineItem { id } } } }
    userErrors { field message }
  }
}
"""
TRACKING_UPDATE = """
mutation($id: ID!, $t: FulfillmentTrackingInput!) {
  fulfillmentTrackingInfoUpdate(fulfillmentId: $id, trackingInfoInput: $t, notifyCustomer: false) {
    fulfillment { id trackingInfo { number company url } }
    userErrors { field message }
  }
}
"""
FULFILLMENT_CANCEL = """
mutation($id: ID!) {
  fulfillmentCancel(id: $id) { fulfillment { id status displayStatus } userErrors { message } }
}
"""
CANCEL = """
mutation CancelForTikTok($orderId: ID!, $reason: OrderCancelReason!, $restock: Boolean!,
    $staffNote: String, $refund: Boolean, $refundMethod: OrderCancelRefundMethodInput) {
  orderCancel(orderId: $orderId, reason: $reason, restock: $restock, notifyCustomer: false,
      staffNote: $staffNote, refund: $refund, refundMethod: $refundMethod) {
    job { id done }
    orderCancelUserErrors { field message code }
    userErrors { field message }
  }
}
"""
JOB = "query($id: ID!) { job(id: $id) { id done } }"


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    app = create_app(None, throttle=False)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def shop(server) -> Iterator[httpx.Client]:
    url, app = server
    with httpx.Client(base_url=url, trust_env=False) as client:
        assert client.put("/_sandbox/load", json=FIXTURE).status_code == 200
        client.put("/_sandbox/jobs", json={"polls_until_done": 1})
        client.put("/_sandbox/webhooks", json={"url": None})
        client.app = app  # type: ignore[attr-defined]
        yield client


def gql(client: httpx.Client, query: str, variables: dict | None = None) -> dict:
    assert not validate(admin_schema(), parse(query)), "test document must be schema-valid"
    r = client.post(
        PATH,
        json={"query": query, "variables": variables or {}},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )
    assert r.status_code == 200
    return r.json()


def create_order(client: httpx.Client, tee: int = 3, mug: int = 1) -> dict:
    body = gql(
        client,
        ORDER_CREATE,
        {
            "order": {
                "currency": "USD",
                "sourceIdentifier": "576000000000000001",
                "lineItems": [
                    {"variantId": V_TEE, "quantity": tee},
                    {"variantId": V_MUG, "quantity": mug},
                ],
            },
            "options": {"inventoryBehaviour": "DECREMENT_IGNORING_POLICY"},
        },
    )
    created = body["data"]["orderCreate"]
    assert created["userErrors"] == []
    return created["order"]


def read(client: httpx.Client, order_id: str) -> dict:
    body = gql(client, ORDER_READ, {"id": order_id})
    assert "errors" not in body, body
    return body["data"]["order"]


def fo_line(order: dict, sku: str) -> tuple[str, str]:
    """(fulfillment order id, fulfillment order line id) holding ``sku``."""
    lines = {n["id"]: n["sku"] for n in order["lineItems"]["nodes"]}
    for fo in order["fulfillmentOrders"]["nodes"]:
        for li in fo["lineItems"]["nodes"]:
            if lines[li["lineItem"]["id"]] == sku:
                return fo["id"], li["id"]
    raise AssertionError(sku)


def level(client: httpx.Client, variant: str, location: str) -> tuple[int, int]:
    state = client.get("/_sandbox/state").json()
    v = next(v for p in state["products"] for v in p["variants"] if v["id"] == variant)
    return v["inventory"][location], v["on_hand"][location]


def test_one_fulfillment_order_per_location_with_the_ordered_units(shop) -> None:
    order = read(shop, create_order(shop)["id"])
    assert order["displayFulfillmentStatus"] == "UNFULFILLED" and order["closed"] is False
    assert order["fulfillments"] == []
    fos = order["fulfillmentOrders"]["nodes"]
    by_location = {fo["assignedLocation"]["location"]["id"]: fo for fo in fos}
    assert set(by_location) == {L1, L2}  # TEE units taken at Main, MUG at Back
    tee = by_location[L1]["lineItems"]["nodes"]
    assert by_location[L1]["status"] == "OPEN"
    assert [(n["totalQuantity"], n["remainingQuantity"]) for n in tee] == [(3, 3)]
    assert level(shop, V_TEE, L1) == (2, 5)  # available 5-3, on hand unchanged


def test_partial_fulfilment_of_a_multi_unit_line_then_the_rest(shop) -> None:
    order = read(shop, create_order(shop)["id"])
    fo_id, line_id = fo_line(order, "TEE-S")
    tracking = {"number": "1Z999AA10123456784", "company": "UPS", "url": "https://ups.test/1Z9"}
    body = gql(
        shop,
        FULFILL,
        {
            "f": {
                "lineItemsByFulfillmentOrder": [
                    {
                        "fulfillmentOrderId": fo_id,
                        "fulfillmentOrderLineItems": [{"id": line_id, "quantity": 2}],
                    }
                ],
                "trackingInfo": tracking,
                "notifyCustomer": False,
            }
        },
    )
    made = body["data"]["fulfillmentCreate"]
    assert made["userErrors"] == []
    assert made["fulfillment"]["status"] == "SUCCESS"
    assert made["fulfillment"]["displayStatus"] == "FULFILLED"
    assert made["fulfillment"]["trackingInfo"] == [tracking]
    after = read(shop, order["id"])
    assert after["displayFulfillmentStatus"] == "PARTIALLY_FULFILLED" and after["closed"] is False
    [f] = after["fulfillments"]
    assert f["name"] == f"{order['name']}.1"
    [fli] = f["fulfillmentLineItems"]["nodes"]
    assert fli["quantity"] == 2 and fli["lineItem"]["sku"] == "TEE-S"
    fo = next(x for x in after["fulfillmentOrders"]["nodes"] if x["id"] == fo_id)
    assert fo["status"] == "IN_PROGRESS"
    assert fo["lineItems"]["nodes"][0]["remainingQuantity"] == 1
    tee_line = next(n for n in after["lineItems"]["nodes"] if n["sku"] == "TEE-S")
    assert tee_line["unfulfilledQuantity"] == 1
    assert level(shop, V_TEE, L1) == (2, 3)  # shipped units leave on_hand

    # the merchant fulfils everything else in the admin, two boxes for the last tee
    number = order["id"].rsplit("/", 1)[1]
    admin = shop.post(
        f"/_sandbox/orders/{number}/fulfill",
        json={"tracking": {"numbers": ["H-1", "H-2"], "company": "Hermes"}},
    )
    assert admin.status_code == 200
    rest = admin.json()
    assert rest["tracking_numbers"] == ["H-1", "H-2"] and rest["tracking_company"] == "Hermes"
    assert sorted((li["sku"], li["quantity"]) for li in rest["line_items"]) == [
        ("MUG", 1),
        ("TEE-S", 1),
    ]
    done = read(shop, order["id"])
    assert done["displayFulfillmentStatus"] == "FULFILLED"
    assert done["closed"] is True and done["closedAt"]
    second = done["fulfillments"][1]
    assert [t["number"] for t in second["trackingInfo"]] == ["H-1", "H-2"]
    assert {t["company"] for t in second["trackingInfo"]} == {"Hermes"}  # company repeated
    assert all(fo["status"] == "CLOSED" for fo in done["fulfillmentOrders"]["nodes"])


def test_fulfillment_create_preconditions(shop) -> None:
    order = read(shop, create_order(shop)["id"])
    fo_id, line_id = fo_line(order, "TEE-S")

    def attempt(fo: str, quantity: int) -> list[dict]:
        spec = {
            "lineItemsByFulfillmentOrder": [
                {
                    "fulfillmentOrderId": fo,
                    "fulfillmentOrderLineItems": [{"id": line_id, "quantity": quantity}],
                }
            ]
        }
        return gql(shop, FULFILL, {"f": spec})["data"]["fulfillmentCreate"]["userErrors"]

    assert attempt(fo_id, 4) == [
        {
            "field": ["fulfillment"],
            "message": "Invalid fulfillment order line item quantity requested.",
        }
    ]
    assert attempt(fo_id, 0)[0]["message"] == "Quantity must be greater than 0"
    missing = "gid://shopify/FulfillmentOrder/1"
    assert attempt(missing, 1)[0]["message"] == "Fulfillment order does not exist."
    assert attempt(fo_id, 3) == []
    number = fo_id.rsplit("/", 1)[1]
    assert attempt(fo_id, 1)[0]["message"] == (
        f"Fulfillment order {number} has an unfulfillable status= closed."
    )
    assert len(read(shop, order["id"])["fulfillments"]) == 1  # refusals changed nothing


def test_tracking_update_replaces_the_list_and_cancel_reopens(shop) -> None:
    order = read(shop, create_order(shop, tee=1, mug=1)["id"])
    number = order["id"].rsplit("/", 1)[1]
    made = shop.post(
        f"/_sandbox/orders/{number}/fulfill",
        json={"lines": [{"sku": "TEE-S", "quantity": 1}], "tracking": {"number": "OLD"}},
    ).json()
    fid = made["admin_graphql_api_id"]
    body = gql(shop, TRACKING_UPDATE, {"id": fid, "t": {"number": "NEW-1", "company": "USPS"}})
    update = body["data"]["fulfillmentTrackingInfoUpdate"]
    assert update["userErrors"] == []
    assert update["fulfillment"]["trackingInfo"] == [
        {"number": "NEW-1", "company": "USPS", "url": None}
    ]
    via_admin = shop.put(
        f"/_sandbox/fulfillments/{made['id']}/tracking", json={"number": "NEW-2", "company": "UPS"}
    )
    assert via_admin.json()["tracking_number"] == "NEW-2"
    cancelled = gql(shop, FULFILLMENT_CANCEL, {"id": fid})["data"]["fulfillmentCancel"]
    assert cancelled["fulfillment"]["status"] == "CANCELLED"
    assert cancelled["fulfillment"]["displayStatus"] == "CANCELED"
    after = read(shop, order["id"])
    assert after["fulfillments"][0]["trackingInfo"][0]["number"] == "NEW-2"  # kept
    fo_id, _ = fo_line(after, "TEE-S")
    fo = next(x for x in after["fulfillmentOrders"]["nodes"] if x["id"] == fo_id)
    assert fo["status"] == "OPEN" and fo["lineItems"]["nodes"][0]["remainingQuantity"] == 1
    assert after["displayFulfillmentStatus"] == "UNFULFILLED"


def test_order_cancel_runs_as_a_job_and_restocks(shop) -> None:
    order = create_order(shop)
    assert level(shop, V_TEE, L1) == (2, 5)
    body = gql(
        shop,
        CANCEL,
        {"orderId": order["id"], "reason": "CUSTOMER", "restock": True, "staffNote": "TikTok"},
    )
    payload = body["data"]["orderCancel"]
    assert payload["orderCancelUserErrors"] == [] and payload["userErrors"] == []
    job = payload["job"]
    assert job["done"] is False and job["id"].startswith("gid://shopify/Job/")
    assert read(shop, order["id"])["cancelledAt"] is None  # not applied before the job runs
    assert gql(shop, JOB, {"id": job["id"]})["data"]["job"]["done"] is False
    assert gql(shop, JOB, {"id": job["id"]})["data"]["job"]["done"] is True
    after = read(shop, order["id"])
    assert after["cancelledAt"] and after["closed"] is True
    assert after["closedAt"] == after["cancelledAt"]
    assert after["cancelReason"] == "CUSTOMER"
    assert after["cancellation"] == {"staffNote": "TikTok"}
    for fo in after["fulfillmentOrders"]["nodes"]:
        assert fo["status"] == "CLOSED"
        assert all(n["totalQuantity"] == 0 for n in fo["lineItems"]["nodes"])
    assert level(shop, V_TEE, L1) == (5, 5)  # restocked
    again = gql(shop, CANCEL, {"orderId": order["id"], "reason": "OTHER", "restock": True})
    assert again["data"]["orderCancel"]["job"] is None
    assert again["data"]["orderCancel"]["orderCancelUserErrors"] == [
        {
            "field": ["orderId"],
            "message": "Cannot cancel an order that has already been canceled",
            "code": "INVALID",
        }
    ]


def test_order_cancel_refusals(shop) -> None:
    order = read(shop, create_order(shop)["id"])
    number = order["id"].rsplit("/", 1)[1]
    base = {"orderId": order["id"], "reason": "OTHER", "restock": True}

    def errors(**extra: Any) -> list[dict]:
        return gql(shop, CANCEL, {**base, **extra})["data"]["orderCancel"]["orderCancelUserErrors"]

    assert errors(staffNote="x" * 256) == [
        {
            "field": ["staffNote"],
            "message": "Staff note is too long. Maximum length is 255 characters.",
            "code": "INVALID",
        }
    ]
    both = errors(refund=False, refundMethod={"originalPaymentMethodsRefund": True})
    assert both[0]["field"] == ["refund"] and both[0]["code"] == "INVALID"
    one_of = gql(
        shop,
        CANCEL,
        {
            **base,
            "refundMethod": {
                "originalPaymentMethodsRefund": True,
                "storeCreditRefund": {"expiresAt": None},
            },
        },
    )
    assert "data" not in one_of and one_of["errors"]  # a one-of input takes exactly one key
    unknown = errors(orderId="gid://shopify/Order/1")
    assert unknown[0]["code"] == "NOT_FOUND"
    shop.post(f"/_sandbox/orders/{number}/fulfill", json={"lines": [{"sku": "MUG", "quantity": 1}]})
    assert errors() == [
        {
            "field": ["orderId"],
            "message": "Cannot cancel an order that has outstanding fulfillments",
            "code": "INVALID",
        }
    ]
    assert read(shop, order["id"])["cancelledAt"] is None


def test_admin_can_complete_pending_jobs(shop) -> None:
    shop.put("/_sandbox/jobs", json={"polls_until_done": 5})
    order = create_order(shop)
    gql(shop, CANCEL, {"orderId": order["id"], "reason": "OTHER", "restock": False})
    assert shop.post("/_sandbox/jobs/run").json() == {"completed": 1}
    assert read(shop, order["id"])["cancelledAt"]
    assert level(shop, V_TEE, L1) == (2, 5)  # restock: false keeps the units committed


def test_loop_back_webhooks_are_rest_shaped_and_signed(shop) -> None:
    for topic in ("FULFILLMENTS_CREATE", "ORDERS_PARTIALLY_FULFILLED", "ORDERS_CANCELLED"):
        sub = gql(
            shop,
            "mutation($t: WebhookSubscriptionTopic!, $s: WebhookSubscriptionInput!) {"
            " webhookSubscriptionCreate(topic: $t, webhookSubscription: $s) {"
            " webhookSubscription { id topic } userErrors { message } } }",
            {"t": topic, "s": {"uri": "http://127.0.0.1:9/hooks", "format": "JSON"}},
        )
        assert sub["data"]["webhookSubscriptionCreate"]["userErrors"] == []
    topics = {w["topic"] for w in shop.get("/_sandbox/state").json()["webhooks"]}
    assert topics == {"fulfillments/create", "orders/partially_fulfilled", "orders/cancelled"}
    emulator = shop.app.state.emulator  # type: ignore[attr-defined]
    seen = len(emulator.deliveries)
    first = read(shop, create_order(shop)["id"])
    number = first["id"].rsplit("/", 1)[1]
    shop.post(
        f"/_sandbox/orders/{number}/fulfill",
        json={"lines": [{"sku": "TEE-S", "quantity": 2}], "tracking": {"number": "T-1"}},
    )
    second = create_order(shop)
    job = gql(shop, CANCEL, {"orderId": second["id"], "reason": "OTHER", "restock": True})
    gql(shop, JOB, {"id": job["data"]["orderCancel"]["job"]["id"]})
    gql(shop, JOB, {"id": job["data"]["orderCancel"]["job"]["id"]})
    new = emulator.deliveries[seen:]
    by_topic = {d.topic: d for d in new}
    assert set(by_topic) == {
        "fulfillments/create",
        "orders/partially_fulfilled",
        "orders/cancelled",
    }
    for d in new:
        assert verify_webhook(d.body, d.headers["X-Shopify-Hmac-Sha256"], DEFAULT_WEBHOOK_SECRET)
    created = json.loads(by_topic["fulfillments/create"].body)
    assert created["order_id"] == int(number) and created["status"] == "success"
    assert created["tracking_number"] == "T-1" and created["tracking_numbers"] == ["T-1"]
    assert created["admin_graphql_api_id"].startswith("gid://shopify/Fulfillment/")
    assert [(li["sku"], li["quantity"]) for li in created["line_items"]] == [("TEE-S", 2)]
    cancelled = json.loads(by_topic["orders/cancelled"].body)
    assert cancelled["admin_graphql_api_id"] == second["id"]
    assert cancelled["cancelled_at"] and cancelled["cancel_reason"] == "other"
    assert isinstance(cancelled["tags"], str) and cancelled["source_identifier"]


REFUND = """
mutation($input: RefundInput!, $key: String!) {
  refundCreate(input: $input) @idempotent(key: $key) {
    refund { id }
    order { id lineItems(first: 10) { nodes { id sku quantity currentQuantity } } }
    userErrors { field message }
  }
}
"""


def test_single_line_cancel_through_refund_create(shop) -> None:
    order = read(shop, create_order(shop)["id"])
    tee = next(n["id"] for n in order["lineItems"]["nodes"] if n["sku"] == "TEE-S")
    spec = {
        "orderId": order["id"],
        "notify": False,
        "refundLineItems": [{"lineItemId": tee, "quantity": 1, "restockType": "CANCEL"}],
    }
    no_key = gql(
        shop,
        "mutation($input: RefundInput!) { refundCreate(input: $input) { refund { id } } }",
        {"input": spec},
    )
    assert "@idempotent directive is required" in no_key["errors"][0]["message"]
    first = gql(shop, REFUND, {"input": spec, "key": "cancel-1"})["data"]["refundCreate"]
    assert first["userErrors"] == [] and first["refund"]["id"].startswith("gid://shopify/Refund/")
    line = next(n for n in first["order"]["lineItems"]["nodes"] if n["id"] == tee)
    assert (line["quantity"], line["currentQuantity"]) == (3, 2)
    replay = gql(shop, REFUND, {"input": spec, "key": "cancel-1"})["data"]["refundCreate"]
    assert replay["refund"]["id"] == first["refund"]["id"]  # answered from the record
    after = read(shop, order["id"])
    fo_id, _ = fo_line(after, "TEE-S")
    fo = next(x for x in after["fulfillmentOrders"]["nodes"] if x["id"] == fo_id)
    assert [(n["totalQuantity"], n["remainingQuantity"]) for n in fo["lineItems"]["nodes"]] == [
        (2, 2)
    ]
    assert level(shop, V_TEE, L1) == (3, 5)  # one unit back, applied once
    too_many = {**spec, "refundLineItems": [{"lineItemId": tee, "quantity": 3}]}
    refused = gql(shop, REFUND, {"input": too_many, "key": "cancel-2"})["data"]["refundCreate"]
    assert refused["refund"] is None and refused["userErrors"][0]["field"][-1] == "quantity"
    money = gql(
        shop,
        REFUND,
        {
            "input": {
                **spec,
                "transactions": [
                    {"orderId": order["id"], "gateway": "manual", "kind": "REFUND", "amount": "1"}
                ],
            },
            "key": "cancel-3",
        },
    )
    assert money["errors"][0]["extensions"]["code"] == "NOT_EMULATED"


def test_duplicate_deliveries_carry_the_same_webhook_id(shop) -> None:
    with webhook_sink() as sink:
        shop.put(
            "/_sandbox/webhooks",
            json={"url": sink.url, "topics": ["fulfillments/create"], "duplicates": 1},
        )
        order = create_order(shop)
        shop.post(f"/_sandbox/orders/{order['id'].rsplit('/', 1)[1]}/fulfill", json={})
        sink.wait_for(2)
        shop.put("/_sandbox/webhooks", json={"url": None})
    received = sink.received
    assert len(received) == 2
    ids = {headers["x-shopify-webhook-id"] for headers, _ in received}
    assert len(ids) == 1 and {h["x-shopify-topic"] for h, _ in received} == {"fulfillments/create"}
    assert received[0][1] == received[1][1]


TAGS_ADD = """
mutation($id: ID!, $tags: [String!]!) {
  tagsAdd(id: $id, tags: $tags) { node { id } userErrors { field message } }
}
"""
ORDER_TAGS = "query($id: ID!) { order(id: $id) { tags updatedAt } }"


def test_tags_add_merges_the_tags_and_refuses_an_unknown_order(shop) -> None:
    order = create_order(shop)
    before = gql(shop, ORDER_TAGS, {"id": order["id"]})["data"]["order"]
    added = gql(shop, TAGS_ADD, {"id": order["id"], "tags": ["TikTok label", "b, a"]})
    assert added["data"]["tagsAdd"] == {"node": {"id": order["id"]}, "userErrors": []}
    gql(shop, TAGS_ADD, {"id": order["id"], "tags": ["TikTok label"]})
    after = gql(shop, ORDER_TAGS, {"id": order["id"]})["data"]["order"]
    assert after["tags"] == ["TikTok label", "a", "b"]
    assert after["updatedAt"] >= before["updatedAt"]
    missing = gql(shop, TAGS_ADD, {"id": "gid://shopify/Order/999999", "tags": ["x"]})
    assert missing["data"]["tagsAdd"]["node"] is None
    assert missing["data"]["tagsAdd"]["userErrors"][0]["field"] == ["id"]


CHANGED = """
query($q: String!) { orders(first: 10, query: $q) { nodes { id updatedAt } } }
"""


def test_orders_search_honours_an_updated_at_range(shop) -> None:
    first, second = create_order(shop), create_order(shop, tee=1)
    emulator = shop.app.state.emulator  # type: ignore[attr-defined]
    for o in emulator.state.orders:
        o.updated_at = "2026-01-01T00:00:00Z" if o.id == first["id"] else "2026-06-01T00:00:00Z"

    def ids(q: str) -> list[str]:
        return [n["id"] for n in gql(shop, CHANGED, {"q": q})["data"]["orders"]["nodes"]]

    assert ids("updated_at:>='2026-06-01T00:00:00Z'") == [second["id"]]
    assert ids("updated_at:>2026-06-01T00:00:00Z") == []
    assert ids("updated_at:<'2026-03-01T00:00:00Z'") == [first["id"]]
    assert sorted(ids("updated_at:>=2025-12-31")) == sorted([first["id"], second["id"]])
