"""The Amazon SP-API emulator answers like Amazon's docs, models and observed answers say
Amazon does (over loopback HTTP).

Sources cited by name below:

- SigV4 changelog: https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4
- error envelope: ``ErrorList`` in sandbox/amazon/models/; unknown route:
  https://github.com/amzn/selling-partner-api-models/issues/1100
- All Listings Report: https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory,
  sandbox/amazon/models/reports_2021-06-30.json
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from sandbox.amazon import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    create_app,
)
from sandbox.amazon.schemas import body_errors
from sandbox.amazon.state import REPORT_COLUMNS
from sandbox.fixture import Fixture, dump_fixture, load_fixture
from sandbox.server import serve_in_thread

SELLER = "A2SANDBOXSELLER"
US = "ATVPDKIKX0DER"


def fixture(n_fba: int = 3, n_mfn: int = 2, **extra: Any) -> Fixture:
    listings = [
        {
            "sku": f"FBA-{i:03d}",
            "price": "12.50",
            "quantity": 10 + i,
            "fulfillment": "FBA",
            "title": f"FBA item {i}",
            "parent_asin": "B0PARENT01" if i < 2 else None,
        }
        for i in range(n_fba)
    ] + [
        {"sku": f"MFN-{i:03d}", "price": "7.00", "quantity": 5, "fulfillment": "MFN"}
        for i in range(n_mfn)
    ]
    return load_fixture({"amazon": {"listings": listings, **extra}})


@pytest.fixture
def served() -> Iterator[tuple[httpx.Client, Any]]:
    app = create_app(fixture())
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as client:
        yield client, app


def token(client: httpx.Client) -> str:
    response = client.post(
        "/auth/o2/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": SANDBOX_REFRESH_TOKEN,
            "client_id": SANDBOX_CLIENT_ID,
            "client_secret": SANDBOX_CLIENT_SECRET,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()["access_token"]


def authed(client: httpx.Client) -> httpx.Client:
    client.headers["x-amz-access-token"] = token(client)
    return client


def order_body(order_id: str = "TTS-1", sku: str = "FBA-000", quantity: int = 2) -> dict:
    return {
        "marketplaceId": US,
        "sellerFulfillmentOrderId": order_id,
        "displayableOrderId": order_id,
        "displayableOrderDate": "2026-03-27T00:00:00Z",
        "displayableOrderComment": "Thanks",
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
            {
                "sellerSku": sku,
                "sellerFulfillmentOrderItemId": f"{order_id}-1",
                "quantity": quantity,
            }
        ],
    }


def test_lwa_token_ok_and_bad_credentials(served):
    client, _ = served
    good = {
        "grant_type": "refresh_token",
        "refresh_token": SANDBOX_REFRESH_TOKEN,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
    }
    ok = client.post("/auth/o2/token", data=good)
    body = ok.json()
    assert ok.status_code == 200
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["access_token"].startswith("Atza|")
    assert body["refresh_token"] == SANDBOX_REFRESH_TOKEN
    bad_grant = client.post("/auth/o2/token", data={**good, "refresh_token": "Atzr|nope"})
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
    bad_client = client.post("/auth/o2/token", data={**good, "client_secret": "wrong"})
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    assert "errors" not in bad_client.json()  # OAuth2 shape, not the SP-API envelope


def test_missing_unknown_and_expired_token_get_403_envelope(served):
    client, app = served
    path = f"/listings/2021-08-01/items/{SELLER}/FBA-000"
    params = {"marketplaceIds": US}
    missing = client.get(path, params=params)
    assert missing.status_code == 403
    err = missing.json()["errors"][0]
    assert err["code"] == "Unauthorized"
    assert err["message"] == "Access to requested resource is denied."
    assert "missing" in err["details"]
    assert missing.headers["x-amzn-RequestId"]
    assert "x-amzn-RateLimit-Limit" not in missing.headers
    unknown = client.get(path, params=params, headers={"x-amz-access-token": "Atza|forged"})
    assert unknown.status_code == 403 and "invalid" in unknown.json()["errors"][0]["details"]
    access = token(client)
    # a SigV4 Authorization header is ignored (SigV4 changelog)
    headers = {"x-amz-access-token": access, "Authorization": "AWS4-HMAC-SHA256 Credential=x"}
    assert client.get(path, params=params, headers=headers).status_code == 200
    app.state.emulator.expire_tokens()
    expired = client.get(path, params=params, headers=headers)
    assert expired.status_code == 403
    assert expired.json()["errors"][0]["details"] == "The access token you provided has expired."


def test_listing_get_default_summaries_and_requested_datasets(served):
    client, _ = authed(served[0]), None
    path = f"/listings/2021-08-01/items/{SELLER}/FBA-000"
    default = client.get(path, params={"marketplaceIds": US})
    assert default.status_code == 200
    assert set(default.json()) == {"sku", "summaries"}
    assert default.headers["x-amzn-RateLimit-Limit"] == "5"
    full = client.get(
        path,
        params={"marketplaceIds": US, "includedData": "summaries,offers,fulfillmentAvailability"},
    ).json()
    assert full["offers"][0]["price"] == {"currencyCode": "USD", "amount": "12.50"}
    assert full["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "AMAZON_NA"}]
    mfn = client.get(
        f"/listings/2021-08-01/items/{SELLER}/MFN-000",
        params={"marketplaceIds": US, "includedData": "fulfillmentAvailability"},
    ).json()
    assert mfn["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "DEFAULT", "quantity": 5}]
    missing = client.get(f"/listings/2021-08-01/items/{SELLER}/NOPE", params={"marketplaceIds": US})
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["code"] == "NOT_FOUND"
    assert missing.headers["x-amzn-RateLimit-Limit"] == "5"


def test_sku_with_reserved_characters_must_be_encoded_once(served):
    client, app = served
    authed(client)
    app.state.emulator.load(load_fixture({"amazon": {"listings": [{"sku": "A/B C+1"}]}}))
    base = f"/listings/2021-08-01/items/{SELLER}/"
    params = {"marketplaceIds": US}
    ok = client.get(base + "A%2FB%20C%2B1", params=params)
    assert ok.status_code == 200 and ok.json()["sku"] == "A/B C+1"
    # unencoded "/" splits the path: no route matches -> 403, not 404 (error envelope)
    raw = client.send(
        client.build_request(
            "GET",
            httpx.URL(
                ok.request.url, raw_path=(base + "A/B%20C%2B1?marketplaceIds=" + US).encode()
            ),
        )
    )
    assert raw.status_code == 403 and raw.json()["errors"][0]["code"] == "Unauthorized"
    # double encoding is decoded once, so the SKU is not found
    double = client.get(base + "A%252FB%2520C%252B1", params=params)
    assert double.status_code == 404


def test_patch_invalid_attribute_is_200_invalid_and_valid_patch_applies(served):
    client, app = served
    authed(client)
    path = f"/listings/2021-08-01/items/{SELLER}/MFN-000"
    params = {"marketplaceIds": US}
    wrong = client.patch(
        path,
        params=params,
        json={
            "productType": "PRODUCT",
            "patches": [
                {"op": "replace", "path": "/attributes/purchaseable_offer", "value": [{"x": 1}]}
            ],
        },
    )
    assert wrong.status_code == 200
    assert wrong.json()["status"] == "INVALID"
    assert wrong.json()["issues"][0]["code"] == "90000900"
    no_channel = client.patch(
        path,
        params=params,
        json={
            "productType": "PRODUCT",
            "patches": [
                {
                    "op": "replace",
                    "path": "/attributes/fulfillment_availability",
                    "value": [{"quantity": 3}],
                }
            ],
        },
    )
    assert no_channel.json()["status"] == "INVALID"
    malformed = client.patch(path, params=params, json={"productType": "PRODUCT", "patches": []})
    assert malformed.status_code == 400
    assert malformed.json()["errors"][0]["code"] == "InvalidInput"
    good = {
        "productType": "PRODUCT",
        "patches": [
            {
                "op": "replace",
                "path": "/attributes/purchasable_offer",
                "value": [
                    {
                        "marketplace_id": US,
                        "currency": "USD",
                        "audience": "ALL",
                        "our_price": [{"schedule": [{"value_with_tax": 19.99}]}],
                    }
                ],
            },
            {
                "op": "replace",
                "path": "/attributes/fulfillment_availability",
                "value": [{"fulfillment_channel_code": "DEFAULT", "quantity": 25}],
            },
        ],
    }
    preview = client.patch(path, params={**params, "mode": "VALIDATION_PREVIEW"}, json=good)
    assert preview.json()["status"] == "VALID"
    listing = app.state.emulator.listings["MFN-000"]
    assert (str(listing.price), listing.quantity) == ("7.00", 5)
    accepted = client.patch(path, params=params, json=good)
    assert accepted.status_code == 200 and accepted.json()["status"] == "ACCEPTED"
    assert (str(listing.price), listing.quantity) == ("19.99", 25)


def test_search_listings_pages_with_page_token_and_rejects_big_pages(served):
    client, app = served
    authed(client)
    app.state.emulator.load(fixture(n_fba=25, n_mfn=0))
    path = f"/listings/2021-08-01/items/{SELLER}"
    assert client.get(path, params={"marketplaceIds": US, "pageSize": 21}).status_code == 400
    seen, params = [], {"marketplaceIds": US, "pageSize": 20, "sortBy": "sku", "sortOrder": "ASC"}
    while True:
        page = client.get(path, params=params).json()
        assert page["numberOfResults"] == 26  # 25 listings + the parent of FBA-000/001
        seen += [item["sku"] for item in page["items"]]
        nxt = page.get("pagination", {}).get("nextToken")
        if not nxt:
            break
        params["pageToken"] = nxt
    assert seen == sorted([*(f"FBA-{i:03d}" for i in range(25)), "B0PARENT01-PARENT"])


def read_report(client: httpx.Client) -> tuple[list[dict[str, str]], dict]:
    created = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]},
    )
    assert created.status_code == 202
    report_id = created.json()["reportId"]
    statuses = []
    while True:
        report = client.get(f"/reports/2021-06-30/reports/{report_id}").json()
        statuses.append(report["processingStatus"])
        if report["processingStatus"] in ("DONE", "CANCELLED", "FATAL"):
            break
    assert statuses == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    doc = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    bare = httpx.get(doc["url"])  # pre-signed: no SP-API headers
    assert bare.status_code == 200
    data = (
        gzip.decompress(bare.content) if doc.get("compressionAlgorithm") == "GZIP" else bare.content
    )
    assert bare.headers["content-type"] == "text/plain; charset=Cp1252"  # real default
    rows = list(csv.DictReader(io.StringIO(data.decode("cp1252")), delimiter="\t"))
    return rows, doc


def test_report_flow_plain_and_gzip(served):
    client, _ = served
    authed(client)
    rows, doc = read_report(client)
    assert doc["compressionAlgorithm"] == "GZIP"  # the real default: gzip, Cp1252, raw TSV
    assert list(rows[0]) == REPORT_COLUMNS
    by_sku = {row["seller-sku"]: row for row in rows}
    assert by_sku["FBA-000"]["fulfillment-channel"] == "AMAZON_NA"
    assert by_sku["FBA-000"]["quantity"] == ""  # FBA rows carry no quantity (All Listings Report)
    assert by_sku["MFN-001"]["fulfillment-channel"] == "DEFAULT"
    assert by_sku["MFN-001"]["quantity"] == "5"
    assert by_sku["MFN-001"]["price"] == "7.00"
    client.put("/_sandbox/reports", json={"compression": None})
    plain_rows, plain_doc = read_report(client)
    assert "compressionAlgorithm" not in plain_doc
    assert plain_rows == rows


def test_report_url_expires_and_signature_is_checked(served):
    client, app = served
    authed(client)
    emulator = app.state.emulator
    report_id = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]},
    ).json()["reportId"]
    for _ in range(3):
        report = client.get(f"/reports/2021-06-30/reports/{report_id}").json()
    url = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()["url"]
    assert httpx.get(url.replace("X-Amz-Signature=", "X-Amz-Signature=0")).status_code == 403
    real_clock = emulator.clock
    emulator.clock = lambda: real_clock() + 301
    assert httpx.get(url).status_code == 403


def test_report_rejects_invalid_body(served):
    client, _ = served
    authed(client)
    bad = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": []},
    )
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["code"] == "InvalidInput"


def test_inventory_summaries_paging_details_and_50_sku_limit(served):
    client, app = served
    authed(client)
    app.state.emulator.load(fixture(n_fba=120, n_mfn=3))
    client.put("/_sandbox/throttle", json={"enabled": False})
    base = {
        "granularityType": "Marketplace",
        "granularityId": US,
        "marketplaceIds": US,
        "details": "true",
    }
    path = "/fba/inventory/v1/summaries"
    seen: list[dict] = []
    params = dict(base)
    pages = 0
    while True:
        response = client.get(path, params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert set(body["payload"]) >= {"granularity", "inventorySummaries"}
        seen += body["payload"]["inventorySummaries"]
        nxt = body.get("pagination", {}).get("nextToken")
        if not nxt:
            break
        params = {**base, "nextToken": nxt}
    assert pages == 3
    assert [s["sellerSku"] for s in seen] == sorted(f"FBA-{i:03d}" for i in range(120))
    assert seen[5]["inventoryDetails"]["fulfillableQuantity"] == 15
    no_details = client.get(
        path, params={**base, "details": "false", "sellerSkus": "FBA-001,MFN-000"}
    )
    summaries = no_details.json()["payload"]["inventorySummaries"]
    assert [s["sellerSku"] for s in summaries] == ["FBA-001"]  # MFN SKUs are not returned
    assert "inventoryDetails" not in summaries[0]
    too_many = ",".join(f"FBA-{i:03d}" for i in range(51))
    rejected = client.get(path, params={**base, "sellerSkus": too_many})
    assert rejected.status_code == 400
    assert rejected.json()["errors"][0]["code"] == "InvalidInput"
    assert rejected.headers["x-amzn-RateLimit-Limit"] == "2"


def test_429_quota_exceeded_without_rate_header(served):
    client, _ = served
    authed(client)
    params = {"granularityType": "Marketplace", "granularityId": US, "marketplaceIds": US}
    statuses = [client.get("/fba/inventory/v1/summaries", params=params) for _ in range(4)]
    throttled = [r for r in statuses if r.status_code == 429]
    assert throttled, "burst of 2 must be exceeded by 4 back-to-back calls"
    body = throttled[0].json()
    assert body["errors"][0]["code"] == "QuotaExceeded"
    assert "x-amzn-RateLimit-Limit" not in throttled[0].headers
    assert throttled[0].headers["x-amzn-RequestId"]
    client.put("/_sandbox/throttle", json={"enabled": False})
    assert all(
        client.get("/fba/inventory/v1/summaries", params=params).status_code == 200
        for _ in range(5)
    )


def test_mcf_create_get_duplicate_and_stock(served):
    client, app = served
    authed(client)
    created = client.post("/fba/outbound/2020-07-01/fulfillmentOrders", json=order_body())
    assert created.status_code == 200 and created.json() == {}
    assert created.headers["x-amzn-RateLimit-Limit"] == "2"
    assert app.state.emulator.listings["FBA-000"].quantity == 8  # 10 - 2
    got = client.get("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-1")
    payload = got.json()["payload"]
    assert payload["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Received"
    assert payload["fulfillmentOrder"]["destinationAddress"]["postalCode"] == "98101"
    assert payload["fulfillmentOrderItems"][0]["quantity"] == 2
    duplicate = client.post("/fba/outbound/2020-07-01/fulfillmentOrders", json=order_body())
    assert duplicate.status_code == 400
    assert duplicate.json()["errors"][0]["code"] == "InvalidInput"
    assert app.state.emulator.listings["FBA-000"].quantity == 8
    unknown = client.get("/fba/outbound/2020-07-01/fulfillmentOrders/NOPE")
    assert unknown.status_code == 404 and unknown.json()["errors"][0]["code"]
    mfn = client.post(
        "/fba/outbound/2020-07-01/fulfillmentOrders", json=order_body("TTS-2", sku="MFN-000")
    )
    assert mfn.status_code == 400
    assert "is invalid" in mfn.json()["errors"][0]["message"]
    statuses = [
        client.get("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-1").json()["payload"]
        for _ in range(3)
    ]
    assert statuses[-1]["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete"
    package = statuses[-1]["fulfillmentShipments"][0]["fulfillmentShipmentPackage"][0]
    assert package["trackingNumber"]
    state = client.get("/_sandbox/state").json()
    assert state["mcf_orders"][0]["items"][0]["sellerSku"] == "FBA-000"
    assert state["fba"]["FBA-000"] == 8


def test_mcf_body_validation_rejection(served):
    client, app = served
    authed(client)
    body = order_body("TTS-9")
    del body["destinationAddress"]["postalCode"]
    body["items"][0]["quantity"] = "2"
    rejected = client.post("/fba/outbound/2020-07-01/fulfillmentOrders", json=body)
    assert rejected.status_code == 400
    err = rejected.json()["errors"][0]
    assert err["code"] == "InvalidInput"
    assert "postalCode" in err["details"] and "quantity" in err["details"]
    assert "TTS-9" not in app.state.emulator.orders


def test_fixture_round_trip_and_request_counts(served):
    client, _ = served
    original = fixture(n_fba=2, n_mfn=1, seller_id="A9SELLER", marketplace_id="A1F83G8C2ARO7P")
    loaded = client.put("/_sandbox/load", content=dump_fixture(original))
    assert loaded.status_code == 200
    side = client.get("/_sandbox/fixture").json()
    assert Fixture.model_validate({"amazon": side}).amazon == original.amazon
    state = client.get("/_sandbox/state").json()
    assert state["seller_id"] == "A9SELLER"
    assert state["listings"][0]["parent_asin"] == "B0PARENT01"
    client.delete("/_sandbox/requests")
    authed(client)
    client.get("/fba/inventory/v1/summaries")
    counts = client.get("/_sandbox/requests").json()
    assert counts == {"lwaToken": 1, "getInventorySummaries": 1}


def test_faults_inject_5xx_in_amazon_error_shape(served):
    client, _ = served
    authed(client)
    client.put("/_sandbox/faults", json={"error_rate": 1.0, "operations": ["getReport"]})
    failed = client.get("/reports/2021-06-30/reports/1")
    assert failed.status_code in (500, 503)
    assert failed.json()["errors"][0]["code"] in ("InternalFailure", "ServiceUnavailable")


def test_responses_match_the_official_response_models(served):
    """Every success body the emulator gives validates against Amazon's own response schema."""
    client, _ = served
    authed(client)
    client.put("/_sandbox/throttle", json={"enabled": False})
    everything = (
        "summaries,attributes,issues,offers,fulfillmentAvailability,relationships,productTypes"
    )
    item = client.get(
        f"/listings/2021-08-01/items/{SELLER}/FBA-001",
        params={"marketplaceIds": US, "includedData": everything},
    ).json()
    assert body_errors("listings", "Item", item) == []
    search = client.get(
        f"/listings/2021-08-01/items/{SELLER}",
        params={"marketplaceIds": US, "pageSize": 2, "includedData": everything},
    )
    assert body_errors("listings", "ItemSearchResults", search.json()) == []
    patched = client.patch(
        f"/listings/2021-08-01/items/{SELLER}/MFN-000",
        params={"marketplaceIds": US},
        json={
            "productType": "PRODUCT",
            "patches": [{"op": "replace", "path": "/attributes/bogus", "value": [{"a": 1}]}],
        },
    )
    assert body_errors("listings", "ListingsItemSubmissionResponse", patched.json()) == []
    inventory = client.get(
        "/fba/inventory/v1/summaries",
        params={
            "granularityType": "Marketplace",
            "granularityId": US,
            "marketplaceIds": US,
            "details": "true",
        },
    )
    assert body_errors("fbaInventory", "GetInventorySummariesResponse", inventory.json()) == []
    report_id = client.post(
        "/reports/2021-06-30/reports",
        json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]},
    ).json()["reportId"]
    for _ in range(3):
        report = client.get(f"/reports/2021-06-30/reports/{report_id}").json()
        assert body_errors("reports", "Report", report) == []
    document = client.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
    assert body_errors("reports", "ReportDocument", document) == []
    client.post("/fba/outbound/2020-07-01/fulfillmentOrders", json=order_body("TTS-R"))
    for _ in range(4):
        got = client.get("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-R").json()
        assert body_errors("outbound", "GetFulfillmentOrderResponse", got) == []
    assert got["payload"]["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Complete"
    missing = client.get("/fba/outbound/2020-07-01/fulfillmentOrders/NOPE").json()
    assert body_errors("outbound", "GetFulfillmentOrderResponse", missing) == []


def test_mcf_unfulfillable_and_cancel_release_stock(served):
    client, app = served
    authed(client)
    emulator = app.state.emulator
    too_many = client.post(
        "/fba/outbound/2020-07-01/fulfillmentOrders",
        json=order_body("TTS-BIG", sku="FBA-001", quantity=99),
    )
    assert too_many.status_code == 200  # accepted, then Unfulfillable (FillOrKill)
    assert emulator.listings["FBA-001"].quantity == 11  # nothing reserved
    status = client.get("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-BIG").json()["payload"]
    assert status["fulfillmentOrder"]["fulfillmentOrderStatus"] == "Unfulfillable"
    assert status["fulfillmentOrderItems"][0]["unfulfillableQuantity"] == 99
    client.post(
        "/fba/outbound/2020-07-01/fulfillmentOrders", json=order_body("TTS-C", sku="FBA-001")
    )
    assert emulator.listings["FBA-001"].quantity == 9
    cancelled = client.put("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-C/cancel")
    assert cancelled.status_code == 200 and cancelled.json() == {}
    assert emulator.listings["FBA-001"].quantity == 11
    again = client.put("/fba/outbound/2020-07-01/fulfillmentOrders/TTS-C/cancel")
    assert again.status_code == 400
