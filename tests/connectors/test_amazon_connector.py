"""AmazonClient against the Amazon emulator over loopback HTTP: what it sends and how it copes."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from connectors.amazon import AmazonClient, fulfillment_order_id
from connectors.base import Address, NotSupportedError, StoreApi, StoreOrderLine, StoreOrderRequest
from connectors.errors import (
    AuthError,
    FatalError,
    MalformedResponseError,
    OutcomeUnknownError,
    TransientError,
)
from connectors.http import RetryPolicy
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
FAST = RetryPolicy(attempts=8, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0.01)


class Recorder(httpx.AsyncBaseTransport):
    """Forwards to real loopback HTTP and keeps every request sent (with its body)."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def to(self, path_part: str) -> list[httpx.Request]:
        return [r for r in self.requests if path_part in r.url.raw_path.decode()]


def listings(n_fba: int, n_mfn: int, **extra: Any) -> list[dict[str, Any]]:
    return [
        {
            "sku": f"FBA-{i:05d}",
            "price": "12.50",
            "quantity": i % 7,
            "fulfillment": "FBA",
            "title": f"FBA item {i}",
            **extra,
        }
        for i in range(n_fba)
    ] + [
        {
            "sku": f"MFN-{i:05d}",
            "price": "7.25",
            "quantity": 3,
            "fulfillment": "MFN",
            "title": f"MFN item {i}",
        }
        for i in range(n_mfn)
    ]


@pytest.fixture
def emulator() -> Iterator[tuple[str, Any]]:
    app = create_app(
        load_fixture(
            {
                "amazon": {
                    "listings": [
                        *listings(3, 2),
                        {
                            "sku": "odd/sku +1",
                            "price": "5.00",
                            "quantity": 4,
                            "fulfillment": "FBA",
                            "barcode": "0012345678905",
                        },
                    ]
                }
            }
        ),
        throttle=False,
    )
    app.state.emulator.report_options.statuses = ("IN_QUEUE", "DONE")
    with serve_in_thread(app) as url:
        yield url, app


def make_client(url: str, recorder: Recorder | None = None, **kwargs: Any) -> AmazonClient:
    defaults: dict[str, Any] = {
        "rate_scale": 0,
        "retry": FAST,
        "report_poll_initial": 0.01,
        "report_poll_max": 0.05,
        "report_timeout": 30,
    }
    return AmazonClient(
        endpoint=url,
        lwa_url=f"{url}/auth/o2/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        refresh_token=SANDBOX_REFRESH_TOKEN,
        seller_id=SELLER,
        marketplace_id=US,
        transport=recorder,
        **{**defaults, **kwargs},
    )


async def catalog(client: AmazonClient) -> list:
    out = []
    async for page in client.iter_catalog():
        out.extend(page)
    return out


def order(
    tiktok_id: str = "576460752303423488", sku: str = "FBA-00001", qty: int = 1, **kw: Any
) -> StoreOrderRequest:
    return StoreOrderRequest(
        tiktok_order_id=tiktok_id,
        lines=(
            StoreOrderLine(
                store_variant_id=sku, seller_sku=sku, quantity=qty, unit_price=Decimal("12.50")
            ),
        ),
        currency="USD",
        created_at=datetime(2026, 3, 27, 12, 0, tzinfo=UTC),
        recipient=Address(
            name="Jane Doe",
            address1="123 Main St",
            address2="Apt 4",
            city="Seattle",
            region_code="WA",
            postal_code="98101",
            country_code="US",
            phone="2065550100",
        ),
        **kw,
    )


async def test_catalog_variants_with_fba_and_mfn_stock(emulator):
    url, app = emulator
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        assert isinstance(client, StoreApi) and client.kind == "amazon"
        variants = {v.seller_sku: v for v in await catalog(client)}
    assert len(variants) == 6
    fba = variants["FBA-00002"]
    assert fba.fulfillment == "FBA" and fba.stock == {"FBA": 2}
    assert fba.price == Decimal("12.50") and fba.currency == "USD"
    assert fba.variant_id == "FBA-00002" and fba.channel == "amazon"
    assert fba.product_id == app.state.emulator.listings["FBA-00002"].asin  # own ASIN
    assert variants["MFN-00001"].stock == {"MFN": 3}
    assert variants["MFN-00001"].fulfillment == "MFN"
    assert variants["odd/sku +1"].stock == {"FBA": 4}
    assert variants["odd/sku +1"].barcode == "0012345678905"
    assert variants["MFN-00001"].barcode is None
    # what was sent: the report body, the inventory query (csv, details, marketplace)
    create = recorder.to("/reports/2021-06-30/reports")[0]
    assert create.method == "POST"
    assert json.loads(create.content) == {
        "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
        "marketplaceIds": [US],
        "reportOptions": {"preferredReportDocumentLocale": "en_US"},
    }
    assert create.headers["content-type"] == "application/json"
    assert create.headers["x-amz-access-token"].startswith("Atza|")
    assert create.headers["user-agent"].startswith("skubridge/")
    assert not body_errors("reports", "CreateReportSpecification", json.loads(create.content))
    inventory = recorder.to("/fba/inventory/v1/summaries")
    assert len(inventory) == 1
    params = inventory[0].url.params
    assert params["sellerSkus"].split(",") == ["FBA-00000", "FBA-00001", "FBA-00002", "odd/sku +1"]
    assert params["details"] == "true"
    assert params["granularityType"] == "Marketplace" and params["granularityId"] == US
    assert params["marketplaceIds"] == US
    download = recorder.to("/_s3/report-documents/")[0]
    assert "x-amz-access-token" not in download.headers  # pre-signed URL: no SP-API auth
    lwa = recorder.to("/auth/o2/token")
    assert len(lwa) == 1 and lwa[0].method == "POST"
    assert lwa[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert dict(parse_qsl(lwa[0].content.decode())) == {
        "grant_type": "refresh_token",
        "refresh_token": SANDBOX_REFRESH_TOKEN,
        "client_id": SANDBOX_CLIENT_ID,
        "client_secret": SANDBOX_CLIENT_SECRET,
    }


async def test_inventory_paging_sends_next_token_back_encoded(emulator):
    url, app = emulator
    app.state.emulator.load(load_fixture({"amazon": {"listings": listings(120, 0)}}))
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        summaries = [s async for s in client._inventory_pages({})]
    assert [s["sellerSku"] for s in summaries] == [f"FBA-{i:05d}" for i in range(120)]
    sent = recorder.to("/fba/inventory/v1/summaries")
    assert len(sent) == 3
    assert "nextToken" not in sent[0].url.params
    token = sent[1].url.params["nextToken"]
    assert token.endswith("+/=")  # the emulator's token carries reserved characters
    assert b"%2B%2F%3D" in sent[1].url.raw_path  # ... and they went out percent-encoded


async def test_catalog_gzip_report_parsed_the_same(emulator):
    url, app = emulator
    async with make_client(url) as client:
        plain = await catalog(client)
        app.state.emulator.report_options.compression = "GZIP"
        zipped = await catalog(client)
    assert zipped == plain


async def test_report_with_deprecated_columns_and_fulfilment_spelling(emulator):
    """Real headers: ``fulfilment-channel`` (one "l") and ``Deprecated column`` titles
    (amzn/selling-partner-api-models#3999, #4140): FBA listings stay FBA with their stock."""
    url, app = emulator
    async with make_client(url) as client:
        documented = await catalog(client)
        app.state.emulator.report_options.header = "deprecated"
        real = await catalog(client)
    assert real == documented
    assert {v.seller_sku: v.stock for v in real}["FBA-00002"] == {"FBA": 2}


async def test_report_without_fulfilment_column_fails_loudly(emulator):
    """A report without any fulfilment-channel spelling is refused, never read as all-MFN."""
    url, app = emulator
    emulator_state = app.state.emulator
    original = emulator_state._listing_report

    def without_channel(locale: str | None = None) -> bytes:
        lines = original(locale).decode(emulator_state.report_options.charset).split("\n")
        header = lines[0].split("\t")
        drop = header.index("fulfillment-channel")
        kept = ["\t".join(f for i, f in enumerate(line.split("\t")) if i != drop) for line in lines]
        return "\n".join(kept).encode(emulator_state.report_options.charset)

    emulator_state._listing_report = without_channel
    async with make_client(url) as client:
        with pytest.raises(MalformedResponseError, match="fulfillment-channel"):
            await catalog(client)


async def test_sku_altered_by_cp1252_is_flagged_not_used(emulator):
    """Real reports are Cp1252 and replace other characters by "?" before download
    (amzn/selling-partner-api-models#4888, #4955): such a SKU names no real listing, so it is
    left out of the catalog (no inventory or listing call with it) and reported."""
    url, app = emulator
    app.state.emulator.load(
        load_fixture(
            {
                "amazon": {
                    "listings": [
                        *listings(1, 1),
                        {"sku": "ŁÓDŹ-1", "price": "3.00", "fulfillment": "FBA", "title": "Łódź"},
                        {"sku": "CAFÉ-1", "price": "3.00", "quantity": 1, "title": "Café"},
                    ]
                }
            }
        )
    )
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        variants = {v.seller_sku: v for v in await catalog(client)}
        stats = client.last_report_stats
    assert set(variants) == {"FBA-00000", "MFN-00000", "CAFÉ-1"}  # é is in Cp1252
    assert variants["CAFÉ-1"].title == "Café"
    assert stats is not None and stats.altered_skus == ["?ÓD?-1"]
    sent = recorder.to("/fba/inventory/v1/summaries")[0].url.params["sellerSkus"]
    assert sent == "FBA-00000"


async def test_cancelled_report_is_try_later_never_an_empty_catalog(emulator):
    """CANCELLED means "no data" or "requested too often" (amzn/selling-partner-api-docs
    #1329); one searchListingsItems call tells which, and neither is an empty catalog."""
    url, app = emulator
    app.state.emulator.report_options.cancel_next = 1
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        with pytest.raises(TransientError, match="requested too often") as caught:
            await catalog(client)
        assert caught.value.code == "CANCELLED" and caught.value.retry_after == 60.0
        probe = recorder.to(f"/listings/2021-08-01/items/{SELLER}")
        assert len(probe) == 1 and probe[0].url.params["pageSize"] == "1"
        assert len(await catalog(client)) == 6  # the next request is served
        app.state.emulator.load(load_fixture({"amazon": {"listings": []}}))
        with pytest.raises(TransientError, match="finds no listing"):
            await catalog(client)


async def test_fba_sku_missing_from_inventory_summaries_has_unknown_stock(emulator):
    """getInventorySummaries leaves some FBA SKUs out (amzn/selling-partner-api-models#2447,
    #515): their stock is unknown (no FBA stock row), never 0."""
    url, app = emulator
    assert app.state.emulator.summaries_missing == set()
    httpx.put(f"{url}/_sandbox/inventory/missing", json={"skus": ["FBA-00002"]})
    async with make_client(url) as client:
        variants = {v.seller_sku: v for v in await catalog(client)}
    assert variants["FBA-00002"].fulfillment == "FBA"
    assert variants["FBA-00002"].stock == {}
    assert variants["FBA-00001"].stock == {"FBA": 1}


async def test_report_headers_asked_in_english(emulator):
    """Headers come in the marketplace's language unless reportOptions asks for a locale
    (amzn/selling-partner-api-models#5303; Chinese headers: jlevers/selling-partner-api#525):
    the client asks for en_US, so a non-English account reads like an English one."""
    url, app = emulator
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        english = await catalog(client)
        app.state.emulator.report_options.header_locale = "zh_CN"
        app.state.emulator.report_options.charset = "UTF-8"  # Chinese is not in Cp1252
        translated = await catalog(client)
    assert translated == english
    create = recorder.to("/reports/2021-06-30/reports")[0]
    body = json.loads(create.content)
    assert body["reportOptions"] == {"preferredReportDocumentLocale": "en_US"}
    assert not body_errors("reports", "CreateReportSpecification", body)


async def test_japanese_address_carries_no_city(emulator):
    """Address.city "should not be used in Japan" (fulfillmentOutbound_2020-07-01 model): the
    city goes to addressLine3 and the order is accepted."""
    url, _app = emulator
    jp = order("576460752303423499")
    jp = replace(
        jp,
        recipient=replace(
            jp.recipient,
            city="Shibuya-ku",
            region_code="13",
            postal_code="150-0002",
            country_code="JP",
        ),
    )
    async with make_client(url) as client:
        body = client.fulfillment_order_body(jp)
        created = await client.create_order(jp)
    address = body["destinationAddress"]
    assert "city" not in address and address["addressLine3"] == "Shibuya-ku"
    assert created.id == "TTS-576460752303423499"


async def test_paging_to_the_end_of_a_10000_listing_catalog():
    fixture = load_fixture({"amazon": {"listings": listings(3000, 7000)}})
    app = create_app(fixture, throttle=True, rate_scale=200)
    app.state.emulator.report_options.statuses = ("IN_QUEUE", "IN_PROGRESS", "DONE")
    with serve_in_thread(app) as url:
        recorder = Recorder()
        # the client paces a little under the emulator's bucket: no 429 expected
        async with make_client(url, recorder, rate_scale=150) as client:
            pages = [page async for page in client.iter_catalog()]
            stats = client.last_report_stats
    variants = [v for page in pages for v in page]
    assert len(variants) == 10_000
    assert len({v.variant_id for v in variants}) == 10_000
    assert stats is not None and stats.rows == 10_000 and stats.skipped == 0
    fba = {v.seller_sku: v.stock["FBA"] for v in variants if v.fulfillment == "FBA"}
    assert len(fba) == 3000 and fba["FBA-00013"] == 13 % 7
    calls = len(recorder.to("/fba/inventory/v1/summaries"))
    assert calls == 60  # 3000 FBA SKUs / 50 per call
    counts = app.state.faults.stats.requests
    assert counts["createReport"] == 1 and counts["getReport"] == 3
    assert counts.get("getInventorySummaries") == 60  # nothing throttled at the client's pace
    assert counts.get("searchListingsItems") == 500  # families: 10,000 SKUs / 20 per call


async def test_sku_encoded_once_in_paths(emulator):
    url, _ = emulator
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        item = await client.get_listing("odd/sku +1")
        assert await client.get_listing("no such sku") is None
    assert item is not None and item["sku"] == "odd/sku +1"
    assert item["fulfillmentAvailability"] == [{"fulfillmentChannelCode": "AMAZON_NA"}]
    sent = recorder.to("/listings/")[0]
    assert sent.url.raw_path == (
        b"/listings/2021-08-01/items/A2SANDBOXSELLER/odd%2Fsku%20%2B1"
        b"?marketplaceIds=ATVPDKIKX0DER&includedData=summaries%2Coffers%2CfulfillmentAvailability"
    )


async def test_429_recovery(emulator):
    url, app = emulator
    app.state.throttle.configure(enabled=True, scale=20)  # inventory: 40/s, burst 2
    async with make_client(url, rate_scale=0) as client:  # no client-side pacing: hit 429s
        result = await client.fba_fulfillable([f"FBA-{i:05d}" for i in range(3)] * 1)
        for _ in range(3):
            assert await client.fba_fulfillable(["FBA-00001"]) == {"FBA-00001": 1}
    assert result == {"FBA-00000": 0, "FBA-00001": 1, "FBA-00002": 2}
    assert app.state.faults.stats.requests["getInventorySummaries"] > 4  # some were 429 and retried


async def test_5xx_recovery_on_reads(emulator):
    url, app = emulator
    app.state.faults.configure(
        type(app.state.faults.config)(
            seed=3, error_rate=0.5, operations=["getReport", "getInventorySummaries"]
        )
    )
    async with make_client(url) as client:
        variants = await catalog(client)
    assert len(variants) == 6
    assert app.state.faults.stats.faults["error"] >= 1


async def test_fatal_4xx_names_operation_and_code(emulator):
    url, _ = emulator
    async with make_client(url) as client:
        with pytest.raises(FatalError) as info:
            await client.create_order(order(sku="MFN-00001"))
    err = info.value
    assert err.status == 400 and err.code == "InvalidInput"
    assert err.operation == "createFulfillmentOrder"
    assert err.request_id
    text = str(err)
    assert "createFulfillmentOrder" in text and "InvalidInput" in text and "is invalid" in text


async def test_create_order_body_matches_official_model_and_find(emulator):
    url, app = emulator
    recorder = Recorder()
    async with make_client(url, recorder) as client:
        assert await client.find_order("576460752303423488") is None
        created = await client.create_order(order(qty=1))
        found = await client.find_order("576460752303423488")
        again = await client.create_order(order(qty=1))  # duplicate id -> 400 -> looked up
    assert created.id == "TTS-576460752303423488" == found.id == again.id
    assert found.status == "Received"
    sent = [
        r for r in recorder.to("/fba/outbound/2020-07-01/fulfillmentOrders") if r.method == "POST"
    ]
    body = json.loads(sent[0].content)
    assert body_errors("outbound", "CreateFulfillmentOrderRequest", body) == []
    assert body["sellerFulfillmentOrderId"] == "TTS-576460752303423488"
    assert body["displayableOrderId"] == "576460752303423488"
    assert body["displayableOrderDate"] == "2026-03-27T12:00:00Z"
    assert body["shippingSpeedCategory"] == "Standard"
    assert body["destinationAddress"] == {
        "name": "Jane Doe",
        "addressLine1": "123 Main St",
        "addressLine2": "Apt 4",
        "city": "Seattle",
        "stateOrRegion": "WA",
        "postalCode": "98101",
        "countryCode": "US",
        "phone": "2065550100",
    }
    assert body["items"] == [
        {
            "sellerSku": "FBA-00001",
            "sellerFulfillmentOrderItemId": "TTS-576460752303423488-1",
            "quantity": 1,
        }
    ]
    assert body["displayableOrderComment"]
    assert len(app.state.emulator.orders) == 1
    assert app.state.emulator.listings["FBA-00001"].quantity == 0  # 1 - 1


async def test_dropped_create_raises_outcome_unknown_and_order_exists(emulator):
    url, app = emulator
    app.state.faults.configure(
        type(app.state.faults.config)(
            drop_after_commit_rate=1.0, operations=["createFulfillmentOrder"]
        )
    )
    async with make_client(url) as client:
        with pytest.raises(OutcomeUnknownError) as info:
            await client.create_order(order(tiktok_id="5770000000000000099", sku="FBA-00002"))
        assert info.value.operation == "createFulfillmentOrder"
        found = await client.find_order("5770000000000000099")
    assert found is not None and found.id == "TTS-5770000000000000099"
    assert app.state.faults.stats.requests["createFulfillmentOrder"] == 1  # never re-sent


async def test_lwa_token_cached_and_refreshed_once_on_expired_403(emulator):
    url, app = emulator
    async with make_client(url) as client:
        for _ in range(5):
            await client.find_order("1")
        assert app.state.emulator.token_calls == 1
        assert client.calls == {"lwaToken": 1, "getFulfillmentOrder": 5}
        app.state.emulator.expire_tokens()
        assert await client.find_order("1") is None
        assert app.state.emulator.token_calls == 2


async def test_bad_lwa_credentials_raise_auth_error(emulator):
    url, _ = emulator
    client = AmazonClient(
        endpoint=url,
        lwa_url=f"{url}/auth/o2/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret="wrong-secret-value",
        refresh_token=SANDBOX_REFRESH_TOKEN,
        seller_id=SELLER,
        marketplace_id=US,
        rate_scale=0,
        retry=FAST,
    )
    async with client:
        with pytest.raises(AuthError) as info:
            await client.find_order("1")
    assert info.value.code == "invalid_client" and info.value.operation == "lwaToken"
    revoked = AmazonClient(
        endpoint=url,
        lwa_url=f"{url}/auth/o2/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=SANDBOX_CLIENT_SECRET,
        refresh_token="Atzr|revoked",
        seller_id=SELLER,
        marketplace_id=US,
        rate_scale=0,
        retry=FAST,
    )
    async with revoked:
        with pytest.raises(AuthError) as info:
            await revoked.find_order("1")
    assert info.value.code == "invalid_grant" and info.value.status == 400


async def test_secrets_never_in_logs_or_exceptions(emulator, caplog):
    url, app = emulator
    caplog.set_level(logging.DEBUG)
    secret = "amzn1.oa2-cs.v1.definitely-wrong-secret"
    errors: list[str] = []
    async with make_client(url) as client:
        await catalog(client)
        app.state.emulator.expire_tokens()
        await client.find_order("1")
        token = client._token
        try:
            await client.create_order(order(sku="MFN-00001"))
        except FatalError as exc:
            errors.append(repr(exc) + str(exc))
    bad = AmazonClient(
        endpoint=url,
        lwa_url=f"{url}/auth/o2/token",
        client_id=SANDBOX_CLIENT_ID,
        client_secret=secret,
        refresh_token="Atzr|another-refresh-token",
        seller_id=SELLER,
        marketplace_id=US,
        rate_scale=0,
        retry=FAST,
    )
    async with bad:
        try:
            await bad.find_order("1")
        except AuthError as exc:
            errors.append(repr(exc) + str(exc))
    text = caplog.text + "\n".join(errors)
    assert errors and token
    assert "lwaToken" in text and "refreshing once" in caplog.text  # the logs were captured
    for value in (
        SANDBOX_CLIENT_SECRET,
        SANDBOX_REFRESH_TOKEN,
        secret,
        "Atzr|another-refresh-token",
        token,
    ):
        assert value not in text


def test_fulfillment_order_id_is_safe_and_deterministic():
    assert fulfillment_order_id("576460752303423488") == "TTS-576460752303423488"
    long_id = "x" * 60
    odd = fulfillment_order_id("57+64/60 75")
    for value in (fulfillment_order_id(long_id), odd):
        assert len(value) <= 40
        assert all(c.isalnum() or c in "-_" for c in value)
    assert odd == fulfillment_order_id("57+64/60 75")
    assert odd != fulfillment_order_id("576460 75")


async def test_set_variant_skus_not_supported_and_locations(emulator):
    url, _ = emulator
    async with make_client(url) as client:
        with pytest.raises(NotSupportedError):
            await client.set_variant_skus("B0000001", {"SKU-1": "SKU-2"})
        with pytest.raises(NotSupportedError):
            await client.variant_skus("B0000001")
        assert isinstance(client, StoreApi)
        assert client.order_key("576460752303423488") == "TTS-576460752303423488"
        assert client.order_key("57+64/60 75") == fulfillment_order_id("57+64/60 75")
        assert [w.id for w in await client.locations()] == ["FBA", "MFN"]


async def test_order_without_address_is_rejected_before_sending(emulator):
    url, app = emulator
    async with make_client(url) as client:
        with pytest.raises(FatalError) as info:
            await client.create_order(
                StoreOrderRequest(
                    tiktok_order_id="9",
                    lines=order().lines,
                    currency="USD",
                    created_at=datetime(2026, 1, 1, tzinfo=UTC),
                    recipient=Address(name="X", address1="1 St", country_code="US"),
                )
            )
    assert info.value.code == "MISSING_ADDRESS" and "postalCode" in str(info.value)
    assert app.state.faults.stats.requests.get("createFulfillmentOrder", 0) == 0


async def test_expired_download_url_is_fetched_again_once(emulator):
    url, app = emulator
    emulator_state = app.state.emulator
    real_download = emulator_state.download
    calls: list[str] = []

    def expire_first(document_id: str, query: dict) -> tuple[int, bytes, str]:
        calls.append(document_id)
        if len(calls) == 1:
            return 403, b"<Error><Code>AccessDenied</Code></Error>", "application/xml"
        return real_download(document_id, query)

    emulator_state.download = expire_first
    async with make_client(url) as client:
        variants = await catalog(client)
    assert len(variants) == 6 and len(calls) == 2
    assert app.state.faults.stats.requests["getReportDocument"] == 2
