"""Malformed, truncated, enormous and looping marketplace answers.

Every connector is run against its in-process emulator with one operation's answer
replaced (:mod:`.wire`). A broken answer must end in a typed :mod:`connectors.errors`
exception naming the marketplace and the operation (never a KeyError, never a hang),
or, for a well-formed but odd answer, be handled correctly.
"""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest

from connectors.errors import ApiError, MalformedResponseError, PagingError
from tasks.extract import MISSING_PRODUCT_ID, MISSING_VARIANT_ID, extract_catalog

from . import wire

FIXTURE: dict[str, Any] = {
    "tiktok": {
        "products": [
            {"title": "Tee", "skus": [{"seller_sku": "TEE-S"}, {"seller_sku": "TEE-M"}]},
            {"title": "Mug", "skus": [{"seller_sku": "MUG-1"}]},
        ]
    },
    "shopify": {
        "products": [
            {"title": "Tee", "variants": [{"sku": "TEE-S"}, {"sku": "TEE-M"}]},
            {"title": "Mug", "variants": [{"sku": "MUG-1"}]},
        ]
    },
    "amazon": {
        "listings": [
            {"sku": "TEE-S", "fulfillment": "FBA"},
            {"sku": "MUG-1", "quantity": 3},
        ]
    },
}

TIKTOK_SEARCH = "/product/202309/products/search"
FIFTY_MB = 50 * 1024 * 1024


def tiktok_envelope(data: Any) -> httpx.Response:
    return httpx.Response(
        200, json={"code": 0, "message": "Success", "request_id": "r", "data": data}
    )


def graphql(data: Any) -> httpx.Response:
    return httpx.Response(200, json={"data": data})


def when(target: str, answer: Any) -> wire.Override:
    """Answer requests of operation ``target`` with ``answer`` (a response or a factory)."""

    def override(request: httpx.Request, operation: str) -> httpx.Response | None:
        if operation != target:
            return None
        return answer(request) if callable(answer) else answer

    return override


def assert_names(error: ApiError, marketplace: str, operation: str) -> None:
    assert error.marketplace == marketplace and error.operation == operation
    assert f"{marketplace} {operation} failed" in str(error)


# ----- bodies that are not JSON / truncated -------------------------------------------------

NOT_JSON = httpx.Response(200, text="<html><body>502 Bad Gateway</body></html>")


def truncated(answer: dict[str, Any]) -> httpx.Response:
    raw = json.dumps(answer).encode()
    return httpx.Response(200, content=raw[: len(raw) // 2])


BROKEN_BODIES = {
    "not-json": NOT_JSON,
    "truncated": truncated(
        {"code": 0, "data": {"products": [{"id": "1", "skus": []}] * 20, "total_count": 20}}
    ),
    "empty": httpx.Response(200, content=b""),
    "json-scalar": httpx.Response(200, json=42),
}


@pytest.mark.parametrize("kind", sorted(BROKEN_BODIES))
async def test_tiktok_broken_body_is_a_malformed_response(kind):
    client, calls = wire.tiktok(FIXTURE, when(TIKTOK_SEARCH, BROKEN_BODIES[kind]))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "product.search")
    assert calls.calls[TIKTOK_SEARCH] == 2  # transient: retried once (FAST policy), then raised


@pytest.mark.parametrize("kind", sorted(BROKEN_BODIES))
async def test_shopify_broken_body_is_a_malformed_response(kind):
    client, calls = wire.shopify(FIXTURE, when("productVariants", BROKEN_BODIES[kind]))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "productVariants")
    assert calls.calls["productVariants"] == 2


@pytest.mark.parametrize("kind", sorted(BROKEN_BODIES))
async def test_amazon_broken_body_is_a_malformed_response(kind):
    client, _ = wire.amazon(FIXTURE, when("/reports/2021-06-30/reports", BROKEN_BODIES[kind]))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "amazon", "createReport")


# ----- JSON of the wrong shape / missing fields -----------------------------------------------

TIKTOK_WRONG_SHAPES = {
    "data-is-a-list": tiktok_envelope([1, 2, 3]),
    "products-is-text": tiktok_envelope({"products": "oops", "total_count": 3}),
    "product-is-a-number": tiktok_envelope({"products": [7], "total_count": 1}),
    "skus-is-an-object": tiktok_envelope(
        {"products": [{"id": "1", "skus": {"id": "2"}}], "total_count": 1}
    ),
    "no-products-but-a-total": tiktok_envelope({"total_count": 3}),
}


@pytest.mark.parametrize("kind", sorted(TIKTOK_WRONG_SHAPES))
async def test_tiktok_wrong_shape_is_a_malformed_response(kind):
    client, _ = wire.tiktok(FIXTURE, when(TIKTOK_SEARCH, TIKTOK_WRONG_SHAPES[kind]))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "product.search")


async def test_tiktok_records_missing_ids_are_skipped_and_counted_by_the_extract():
    page = {
        "total_count": 3,
        "products": [
            {"title": "No id", "status": "ACTIVATE", "skus": [{"id": "11", "seller_sku": "A"}]},
            {
                "id": "2",
                "title": "Sku without id",
                "status": "ACTIVATE",
                "skus": [{"seller_sku": "B"}],
            },
            {
                "id": "3",
                "title": "Fine",
                "status": "ACTIVATE",
                "skus": [{"id": "31", "seller_sku": "C"}],
            },
        ],
    }
    client, _ = wire.tiktok(FIXTURE, when(TIKTOK_SEARCH, tiktok_envelope(page)))
    async with client:
        variants, _, stats = await extract_catalog(client, run_id="r", channel="tiktok")
    assert variants.column("seller_sku").to_pylist() == ["C"]
    assert stats.skipped_by_reason == {MISSING_PRODUCT_ID: 1, MISSING_VARIANT_ID: 1}


SHOPIFY_WRONG_SHAPES = {
    "connection-missing": graphql({}),
    "connection-null": graphql({"productVariants": None}),
    "nodes-is-text": graphql(
        {"productVariants": {"nodes": "x", "pageInfo": {"hasNextPage": False}}}
    ),
    "node-is-a-number": graphql(
        {"productVariants": {"nodes": [5], "pageInfo": {"hasNextPage": False}}}
    ),
    "page-info-missing": graphql({"productVariants": {"nodes": []}}),
    "data-is-a-list": graphql([1]),
}


@pytest.mark.parametrize("kind", sorted(SHOPIFY_WRONG_SHAPES))
async def test_shopify_wrong_shape_is_a_malformed_response(kind):
    client, _ = wire.shopify(FIXTURE, when("productVariants", SHOPIFY_WRONG_SHAPES[kind]))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "productVariants")


async def test_shopify_node_without_id_is_skipped_and_counted_by_the_extract():
    nodes = [
        {"sku": "A", "price": "1.00", "product": {"id": "gid://shopify/Product/1", "title": "T"}},
        {"id": "gid://shopify/ProductVariant/2", "sku": "B", "price": "1.00", "product": {}},
        {
            "id": "gid://shopify/ProductVariant/3",
            "sku": "C",
            "price": "1.00",
            "product": {"id": "gid://shopify/Product/3", "title": "T"},
        },
    ]
    answer = graphql({"productVariants": {"nodes": nodes, "pageInfo": {"hasNextPage": False}}})
    client, _ = wire.shopify(FIXTURE, when("productVariants", answer))
    async with client:
        variants, _, stats = await extract_catalog(client, run_id="r", channel="shopify")
    assert variants.column("seller_sku").to_pylist() == ["C"]
    assert stats.skipped_by_reason == {MISSING_PRODUCT_ID: 1, MISSING_VARIANT_ID: 1}


AMAZON_WRONG_SHAPES = {
    ("/reports/2021-06-30/reports", "createReport"): httpx.Response(202, json=[]),
    ("/reports/2021-06-30/reports", "createReport", "no-id"): httpx.Response(202, json={}),
}


@pytest.mark.parametrize(
    ("path", "operation", "answer"),
    [
        ("/reports/2021-06-30/reports", "createReport", httpx.Response(202, json=[])),
        ("/reports/2021-06-30/reports", "createReport", httpx.Response(202, json={})),
        ("/reports/2021-06-30/reports/50000000000", "getReport", httpx.Response(200, json=[1])),
        (
            "/reports/2021-06-30/reports/50000000000",
            "getReport",
            httpx.Response(200, json={"processingStatus": "DONE"}),  # DONE without a document
        ),
        ("/reports/2021-06-30/documents/", "getReportDocument", httpx.Response(200, json={})),
        (
            "/fba/inventory/v1/summaries",
            "getInventorySummaries",
            httpx.Response(200, json={"pagination": {}}),
        ),
        (
            "/listings/2021-08-01/items/A2SANDBOXSELLER",
            "searchListingsItems",
            httpx.Response(200, json={"items": "none"}),
        ),
    ],
    ids=[
        "createReport-list",
        "createReport-no-id",
        "getReport-list",
        "getReport-done-without-document",
        "getReportDocument-no-url",
        "inventory-no-payload",
        "search-items-text",
    ],
)
async def test_amazon_wrong_shape_is_a_malformed_response(path, operation, answer):
    def override(request: httpx.Request, op: str) -> httpx.Response | None:
        return answer if op.startswith(path) and not op.startswith("/_s3") else None

    client, _ = wire.amazon(FIXTURE, override, report_timeout=0.2)
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "amazon", operation)


async def test_amazon_report_that_is_not_a_listings_report_is_refused():
    def override(request: httpx.Request, op: str) -> httpx.Response | None:
        if op.startswith("/_s3/"):
            # gzip: the document is marked GZIP (the emulator's default, as real reports)
            return httpx.Response(
                200, content=gzip.compress(b"\x00\x01garbage\tnot\ta\treport\n" * 100)
            )
        return None

    client, _ = wire.amazon(FIXTURE, override)
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "amazon", "downloadReportDocument")
    assert "seller-sku" in str(caught.value)


# ----- cursors that repeat forever ------------------------------------------------------------


async def test_tiktok_repeated_page_token_stops_with_a_paging_error():
    page = {
        "total_count": 5,
        "next_page_token": "c2FtZQ==",
        "products": [{"id": "1", "status": "ACTIVATE", "skus": [{"id": "2", "seller_sku": "A"}]}],
    }
    client, calls = wire.tiktok(FIXTURE, when(TIKTOK_SEARCH, tiktok_envelope(page)))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "product.search")
    assert calls.calls[TIKTOK_SEARCH] == 2  # stops at the first repeat


async def test_tiktok_endless_fresh_tokens_stop_at_the_page_budget():
    """A server that invents a new token every time is stopped by the page budget."""
    counter = iter(range(10**6))

    def endless(request: httpx.Request) -> httpx.Response:
        n = next(counter)
        return tiktok_envelope(
            {
                "total_count": 3,
                "next_page_token": f"token-{n}",
                "products": [{"id": str(n), "status": "ACTIVATE", "skus": []}],
            }
        )

    client, calls = wire.tiktok(FIXTURE, when(TIKTOK_SEARCH, endless))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "product.search")
    assert "too many pages" in str(caught.value)
    assert calls.calls[TIKTOK_SEARCH] <= 10


async def test_shopify_repeated_end_cursor_stops_with_a_paging_error():
    page = {
        "productVariants": {
            "nodes": [],
            "pageInfo": {"hasNextPage": True, "endCursor": "eyJsYXN0X2lkIjo1fQ=="},
        }
    }
    client, calls = wire.shopify(FIXTURE, when("productVariants", graphql(page)))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "productVariants")
    assert calls.calls["productVariants"] == 2


async def test_shopify_next_page_without_a_cursor_stops_with_a_paging_error():
    page = {"productVariants": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": None}}}
    client, _ = wire.shopify(FIXTURE, when("productVariants", graphql(page)))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "productVariants")


async def test_shopify_repeated_locations_cursor_names_the_locations_operation():
    page = {"locations": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": "c"}}}
    client, _ = wire.shopify(FIXTURE, when("locations", graphql(page)))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "locations")


@pytest.mark.parametrize(
    ("path", "operation", "answer"),
    [
        (
            "/fba/inventory/v1/summaries",
            "getInventorySummaries",
            {"payload": {"inventorySummaries": []}, "pagination": {"nextToken": "same"}},
        ),
        (
            "/listings/2021-08-01/items/A2SANDBOXSELLER",
            "searchListingsItems",
            {"numberOfResults": 99, "items": [], "pagination": {"nextToken": "same"}},
        ),
    ],
    ids=["inventory", "listings-search"],
)
async def test_amazon_repeated_next_token_stops_with_a_paging_error(path, operation, answer):
    client, calls = wire.amazon(FIXTURE, when(path, httpx.Response(200, json=answer)))
    async with client:
        with pytest.raises(PagingError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "amazon", operation)
    assert calls.calls[path] == 2


# ----- enormous answers ----------------------------------------------------------------------


async def test_fifty_megabyte_non_json_body_fails_cleanly():
    blob = b"x" * FIFTY_MB
    client, calls = wire.tiktok(
        FIXTURE, when(TIKTOK_SEARCH, lambda _: httpx.Response(200, content=blob))
    )
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "product.search")
    assert len(str(caught.value)) < 1000  # the body is not echoed into the message
    assert calls.calls[TIKTOK_SEARCH] == 2


async def test_fifty_megabyte_title_is_kept_whole():
    """An enormous but well-formed answer is data, not an error: nothing is cut."""
    title = "T" * FIFTY_MB
    page = {
        "total_count": 1,
        "products": [
            {
                "id": "1",
                "title": title,
                "status": "ACTIVATE",
                "skus": [{"id": "2", "seller_sku": "A"}],
            }
        ],
    }
    raw = json.dumps({"code": 0, "message": "Success", "request_id": "r", "data": page}).encode()
    del page
    client, _ = wire.tiktok(
        FIXTURE, when(TIKTOK_SEARCH, lambda _: httpx.Response(200, content=raw))
    )
    async with client:
        variants = await wire.catalog(client)
    assert len(variants) == 1 and len(variants[0].title) == FIFTY_MB


async def test_a_page_of_100k_items_is_read_completely():
    """A server ignoring page_size (100k SKUs on one page) is still read correctly."""
    products = [
        {
            "id": str(10_000_000 + n),
            "title": f"P{n}",
            "status": "ACTIVATE",
            "skus": [
                {
                    "id": str(20_000_000 + n),
                    "seller_sku": f"SKU-{n}",
                    "price": {"sale_price": "1.5", "currency": "USD"},
                }
            ],
        }
        for n in range(100_000)
    ]
    raw = json.dumps(
        {
            "code": 0,
            "message": "Success",
            "request_id": "r",
            "data": {"total_count": 9_000, "products": products},
        }
    ).encode()
    del products
    client, calls = wire.tiktok(
        FIXTURE, when(TIKTOK_SEARCH, lambda _: httpx.Response(200, content=raw))
    )
    async with client:
        variants, _, stats = await extract_catalog(client, run_id="r", channel="tiktok")
    assert variants.num_rows == 100_000 and stats.skipped == []
    assert calls.calls[TIKTOK_SEARCH] == 1
    assert variants.column("seller_sku")[99_999].as_py() == "SKU-99999"


# ----- Shopify bulk results (JSONL) -------------------------------------------------------

VARIANT_LINE = (
    '{"id":"gid://shopify/ProductVariant/1","sku":"A","price":"1.00",'
    '"product":{"id":"gid://shopify/Product/1","title":"T","status":"ACTIVE"}}'
)


@pytest.mark.parametrize(
    "body",
    [
        VARIANT_LINE + "\n" + VARIANT_LINE[:40],  # cut off mid-line
        VARIANT_LINE + "\n[1, 2]\n",  # a line that is not an object
        VARIANT_LINE + '\n{"sku": "B", "price": "1.00"}\n',  # a row without an id
        "<?xml version='1.0'?><Error><Code>AccessDenied</Code></Error>",
    ],
    ids=["truncated", "not-an-object", "no-id", "not-jsonl"],
)
async def test_shopify_bulk_result_that_is_malformed_fails_cleanly(body):
    def override(request: httpx.Request, operation: str) -> httpx.Response | None:
        if request.method == "GET" and not request.url.path.endswith("graphql.json"):
            return httpx.Response(200, content=body.encode())
        return None

    client, _ = wire.shopify(FIXTURE, override, bulk_threshold=1, bulk_poll_interval=0.001)
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", "bulkResult")


# ----- the small reads around the catalog -----------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "data"),
    [
        ("shop", {"shop": None}),
        ("shop", {"shop": {"name": "x"}}),
        ("productVariantsCount", {"productVariantsCount": {"count": "many"}}),
        ("productVariantsCount", {"productVariantsCount": []}),
        (
            "locations",
            {"locations": {"nodes": [{"name": "Main"}], "pageInfo": {"hasNextPage": False}}},
        ),
    ],
    ids=["shop-null", "shop-no-currency", "count-text", "count-list", "location-no-id"],
)
async def test_shopify_catalog_preamble_of_wrong_shape(operation, data):
    client, _ = wire.shopify(FIXTURE, when(operation, graphql(data)))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "shopify", operation)


@pytest.mark.parametrize(
    "data",
    [{"shops": "all"}, {"shops": [{"id": "7495000000000000001", "name": "no cipher"}]}],
    ids=["shops-text", "shop-without-cipher"],
)
async def test_tiktok_authorized_shops_of_wrong_shape(data):
    client, _ = wire.tiktok(FIXTURE, when("/authorization/202309/shops", tiktok_envelope(data)))
    client.shop_cipher = None  # discover it
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await wire.catalog(client)
    assert_names(caught.value, "tiktok", "authorization.shops")


@pytest.mark.parametrize(
    "data",
    [{"warehouses": {"id": "1"}}, {"warehouses": [{"name": "no id"}]}],
    ids=["object", "no-id"],
)
async def test_tiktok_warehouses_of_wrong_shape(data):
    client, _ = wire.tiktok(FIXTURE, when("/logistics/202309/warehouses", tiktok_envelope(data)))
    async with client:
        with pytest.raises(MalformedResponseError) as caught:
            await client.warehouses()
    assert_names(caught.value, "tiktok", "logistics.warehouses")
