"""The Amazon emulator's loop-back features over loopback HTTP, checked against Amazon's
Fulfillment Outbound and Listings Items models (vendored in sandbox/amazon/models)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.amazon_report import decode_document
from sandbox.amazon import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    create_app,
)
from sandbox.amazon.schemas import body_errors
from sandbox.fixture import load_fixture
from sandbox.server import serve_in_thread

SELLER = "A2SANDBOXSELLER"
US = "ATVPDKIKX0DER"
OUT = "/fba/outbound/2020-07-01"


class Clock:
    """A test clock for the emulator (starts now so issued tokens stay valid)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def amazon() -> Iterator[tuple[httpx.Client, Any, Clock]]:
    app = create_app(
        load_fixture(
            {
                "amazon": {
                    "listings": [
                        {"sku": "FBA-A", "quantity": 10, "fulfillment": "FBA"},
                        {"sku": "FBA-B", "quantity": 10, "fulfillment": "FBA"},
                        {"sku": "MFN-A", "quantity": 5, "fulfillment": "MFN"},
                    ]
                }
            }
        )
    )
    clock = Clock()
    app.state.emulator.clock = clock
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        token = client.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": SANDBOX_REFRESH_TOKEN,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
            },
        ).json()["access_token"]
        client.headers["x-amz-access-token"] = token
        yield client, app, clock


def create(client: httpx.Client, order_id: str, items: list[tuple[str, int]]) -> None:
    body = {
        "marketplaceId": US,
        "sellerFulfillmentOrderId": order_id,
        "displayableOrderId": order_id,
        "displayableOrderDate": "2026-03-27T00:00:00Z",
        "displayableOrderComment": "TikTok Shop order",
        "shippingSpeedCategory": "Standard",
        "destinationAddress": {
            "name": "Jane Doe",
            "addressLine1": "1 Main St",
            "city": "Seattle",
            "stateOrRegion": "WA",
            "postalCode": "98101",
            "countryCode": "US",
        },
        "items": [
            {"sellerSku": sku, "sellerFulfillmentOrderItemId": f"{order_id}-{n}", "quantity": q}
            for n, (sku, q) in enumerate(items, 1)
        ],
    }
    assert client.post(f"{OUT}/fulfillmentOrders", json=body).status_code == 200


def get(client: httpx.Client, order_id: str) -> dict:
    answer = client.get(f"{OUT}/fulfillmentOrders/{order_id}")
    assert answer.status_code == 200
    body = answer.json()
    assert body_errors("outbound", "GetFulfillmentOrderResponse", body) == []
    return body["payload"]


def status(payload: dict) -> str:
    return payload["fulfillmentOrder"]["fulfillmentOrderStatus"]


def test_admin_driven_life_cycle_with_shipments_packages_and_tracking(amazon) -> None:
    client, _, _ = amazon
    assert client.put("/_sandbox/mcf", json={"progress": "manual"}).status_code == 200
    create(client, "TTS-M1", [("FBA-A", 3)])
    assert status(get(client, "TTS-M1")) == "Received"
    assert status(get(client, "TTS-M1")) == "Received"  # reads do not move a manual order
    client.post("/_sandbox/mcf/TTS-M1/advance", json={})
    assert status(get(client, "TTS-M1")) == "Planning"
    client.post("/_sandbox/mcf/TTS-M1/advance", json={})
    processing = get(client, "TTS-M1")
    assert status(processing) == "Processing"
    [pending] = processing["fulfillmentShipments"]
    assert pending["fulfillmentShipmentStatus"] == "PENDING"
    assert "fulfillmentShipmentPackage" not in pending
    assert {i["packageNumber"] for i in pending["fulfillmentShipmentItem"]} == {0}
    # two boxes: 2 units by UPS, 1 unit by Amazon Logistics
    advanced = client.post(
        "/_sandbox/mcf/TTS-M1/advance",
        json={
            "packages": [
                {
                    "items": [{"sellerFulfillmentOrderItemId": "TTS-M1-1", "quantity": 2}],
                    "carrierCode": "UPS",
                },
                {"items": [{"sellerFulfillmentOrderItemId": "TTS-M1-1", "quantity": 1}]},
            ]
        },
    )
    assert advanced.status_code == 200
    done = get(client, "TTS-M1")
    assert status(done) == "Complete"
    [shipment] = done["fulfillmentShipments"]
    assert shipment["fulfillmentShipmentStatus"] == "SHIPPED" and shipment["shippingDate"]
    boxes = shipment["fulfillmentShipmentPackage"]
    assert [b["carrierCode"] for b in boxes] == ["UPS", "Amazon Logistics"]
    assert all(b["trackingNumber"] and b["packageNumber"] for b in boxes)
    assert boxes[0]["trackingNumber"].startswith("1Z")
    per_box = {i["packageNumber"]: i["quantity"] for i in shipment["fulfillmentShipmentItem"]}
    assert per_box == {boxes[0]["packageNumber"]: 2, boxes[1]["packageNumber"]: 1}
    assert done["fulfillmentOrderItems"][0]["unfulfillableQuantity"] == 0
    tracking = client.get(f"{OUT}/tracking", params={"packageNumber": boxes[0]["packageNumber"]})
    assert tracking.status_code == 200
    assert body_errors("outbound", "GetPackageTrackingDetailsResponse", tracking.json()) == []
    details = tracking.json()["payload"]
    assert details["trackingNumber"] == boxes[0]["trackingNumber"]
    assert details["carrierCode"] == "UPS"
    assert [e["eventCode"] for e in details["trackingEvents"]] == ["EVENT_101", "EVENT_102"]
    assert client.get(f"{OUT}/tracking", params={"packageNumber": 1}).status_code == 404
    assert client.get(f"{OUT}/tracking", params={"packageNumber": "x"}).status_code == 400


def test_packages_covering_part_of_the_units_complete_partialled(amazon) -> None:
    client, app, _ = amazon
    client.put("/_sandbox/mcf", json={"progress": "manual"})
    create(client, "TTS-P", [("FBA-A", 2), ("FBA-B", 1)])
    client.post(
        "/_sandbox/mcf/TTS-P/advance",
        json={
            "to": "Complete",
            "packages": [{"items": [{"sellerFulfillmentOrderItemId": "TTS-P-1", "quantity": 2}]}],
        },
    )
    payload = get(client, "TTS-P")
    assert status(payload) == "CompletePartialled"
    items = {i["sellerSku"]: i["unfulfillableQuantity"] for i in payload["fulfillmentOrderItems"]}
    assert items == {"FBA-A": 0, "FBA-B": 1}
    assert app.state.emulator.listings["FBA-B"].quantity == 10  # the unshipped unit is back


def test_clock_driven_progress_and_list_changed_since(amazon) -> None:
    client, _, clock = amazon
    client.put("/_sandbox/mcf", json={"progress": "clock", "step_s": 60})
    start = clock.now
    create(client, "TTS-C1", [("FBA-A", 1)])
    clock.now += 30
    create(client, "TTS-C2", [("FBA-B", 1)])
    assert status(get(client, "TTS-C1")) == "Received"
    clock.now += 40  # C1: 70 s, C2: 40 s
    assert status(get(client, "TTS-C1")) == "Planning"
    assert status(get(client, "TTS-C2")) == "Received"

    def listed(since: float) -> dict[str, str]:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(since))
        answer = client.get(f"{OUT}/fulfillmentOrders", params={"queryStartDate": stamp})
        assert answer.status_code == 200
        body = answer.json()
        assert body_errors("outbound", "ListAllFulfillmentOrdersResponse", body) == []
        assert "nextToken" not in body["payload"]
        return {
            o["sellerFulfillmentOrderId"]: o["fulfillmentOrderStatus"]
            for o in body["payload"]["fulfillmentOrders"]
        }

    assert listed(start) == {"TTS-C1": "Planning", "TTS-C2": "Received"}
    assert listed(start + 65) == {"TTS-C1": "Planning"}  # C2 unchanged since it was created
    clock.now += 180
    assert listed(start + 65) == {"TTS-C1": "Complete", "TTS-C2": "Complete"}
    assert get(client, "TTS-C1")["fulfillmentShipments"][0]["fulfillmentShipmentPackage"]
    bad = client.get(f"{OUT}/fulfillmentOrders", params={"queryStartDate": "yesterday"})
    assert bad.status_code == 400 and bad.json()["errors"][0]["code"] == "InvalidInput"


def test_list_pages_with_next_token(amazon) -> None:
    client, _, _ = amazon
    client.put("/_sandbox/mcf", json={"progress": "manual"})
    client.put("/_sandbox/throttle", json={"enabled": False})  # 55 creates exceed the burst
    for n in range(55):
        create(client, f"TTS-L{n:02d}", [("FBA-A" if n % 2 else "FBA-B", 1)])
    first = client.get(
        f"{OUT}/fulfillmentOrders", params={"queryStartDate": "2020-01-01T00:00:00Z"}
    )
    page = first.json()["payload"]
    assert len(page["fulfillmentOrders"]) == 50 and page["nextToken"]
    second = client.get(
        f"{OUT}/fulfillmentOrders",
        params={"queryStartDate": "2020-01-01T00:00:00Z", "nextToken": page["nextToken"]},
    ).json()["payload"]
    ids = [o["sellerFulfillmentOrderId"] for o in page["fulfillmentOrders"]]
    ids += [o["sellerFulfillmentOrderId"] for o in second["fulfillmentOrders"]]
    assert sorted(ids) == [f"TTS-L{n:02d}" for n in range(55)] and "nextToken" not in second


def test_cancel_only_while_received_or_planning(amazon) -> None:
    client, app, _ = amazon
    client.put("/_sandbox/mcf", json={"progress": "manual"})
    listings = app.state.emulator.listings
    create(client, "TTS-X1", [("FBA-A", 2)])
    client.post("/_sandbox/mcf/TTS-X1/advance", json={})  # Planning
    assert listings["FBA-A"].quantity == 8
    ok = client.put(f"{OUT}/fulfillmentOrders/TTS-X1/cancel", json={"MarketplaceId": US})
    assert ok.status_code == 200 and ok.json() == {}  # any JSON body is accepted
    cancelled = get(client, "TTS-X1")
    assert status(cancelled) == "Cancelled"
    assert cancelled["fulfillmentOrderItems"][0]["cancelledQuantity"] == 2
    assert listings["FBA-A"].quantity == 10
    create(client, "TTS-X2", [("FBA-A", 1)])
    client.post("/_sandbox/mcf/TTS-X2/advance", json={"to": "Processing"})
    late = client.put(f"{OUT}/fulfillmentOrders/TTS-X2/cancel")
    assert late.status_code == 400
    assert late.json()["errors"][0]["code"] == "InvalidInput"
    assert "Processing" in late.json()["errors"][0]["message"]
    assert status(get(client, "TTS-X2")) == "Processing"
    client.put("/_sandbox/mcf", json={"cancel_error_code": "InvalidOperation"})
    again = client.put(f"{OUT}/fulfillmentOrders/TTS-X2/cancel")
    assert again.json()["errors"][0]["code"] == "InvalidOperation"
    missing = client.put(f"{OUT}/fulfillmentOrders/NOPE/cancel")
    assert missing.status_code == 404


def test_mfn_quantity_patch_reaches_listing_reads_and_the_report(amazon) -> None:
    client, _, clock = amazon
    patch = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 3}],
            }
        ],
    }
    assert body_errors("listings", "ListingsItemPatchRequest", patch) == []
    path = f"/listings/2021-08-01/items/{SELLER}/MFN-A"
    answer = client.patch(path, params={"marketplaceIds": US}, json=patch)
    assert answer.status_code == 200 and answer.json()["status"] == "ACCEPTED"
    item = client.get(
        path, params={"marketplaceIds": US, "includedData": "fulfillmentAvailability"}
    ).json()
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 3}]
    report = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]},
    ).json()["reportId"]
    for _ in range(3):
        meta = client.get(f"/reports/2021-06-30/reports/{report}").json()
    document = client.get(f"/reports/2021-06-30/documents/{meta['reportDocumentId']}").json()
    download = httpx.get(document["url"])
    text = decode_document(
        download.content,
        compression=document.get("compressionAlgorithm"),
        content_type=download.headers.get("content-type"),
    )
    rows = [line.split("\t") for line in text.splitlines()]
    header = rows[0]
    mfn = next(r for r in rows[1:] if r[header.index("seller-sku")] == "MFN-A")
    assert mfn[header.index("quantity")] == "3"
    # with an apply delay, ACCEPTED shows up only later (asynchronous on Amazon)
    client.put("/_sandbox/listings", json={"apply_delay_s": 30})
    patch["patches"][0]["value"][0]["quantity"] = 1
    assert client.patch(path, params={"marketplaceIds": US}, json=patch).json()["status"] == (
        "ACCEPTED"
    )

    def quantity() -> int:
        got = client.get(
            path, params={"marketplaceIds": US, "includedData": "fulfillmentAvailability"}
        )
        return got.json()["fulfillmentAvailability"][0]["quantity"]

    assert quantity() == 3
    clock.now += 31
    assert quantity() == 1
