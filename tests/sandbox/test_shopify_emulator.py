"""The Shopify emulator over loopback HTTP, written from Shopify's docs
(https://shopify.dev/docs/api/admin-graphql), not with our client.

Sources cited by name below:

- captures: https://github.com/airhorns/shopify-draft-proxy (fixtures/conformance)
"""

from __future__ import annotations

import base64
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.fixture import dump_fixture, load_fixture
from sandbox.server import serve_in_thread
from sandbox.shopify import DEFAULT_ACCESS_TOKEN, DEFAULT_WEBHOOK_SECRET, create_app, verify_webhook

L1, L2 = "gid://shopify/Location/1", "gid://shopify/Location/2"
V1, V2, V3 = (f"gid://shopify/ProductVariant/{n}" for n in (1001, 1002, 2001))
PATH = "/admin/api/2026-04/graphql.json"

FIXTURE = {
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
                        "price": "11.5",
                        "options": {"Size": "M"},
                        "inventory": {L1: 1},
                    },
                ],
            },
            {"title": "Mug", "variants": [{"sku": "MUG", "price": "7", "inventory": {L2: 9}}]},
            {"title": "Cap", "variants": [{"sku": "CAP-1", "price": "3"}, {"sku": "CAP-2"}]},
        ],
    }
}


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[str, Any]]:
    app = create_app(None, rate_scale=1000)
    with serve_in_thread(app) as url:
        yield url, app


@pytest.fixture
def shop(server) -> Iterator[Any]:
    url, app = server
    with httpx.Client(base_url=url, trust_env=False) as client:
        assert client.put("/_sandbox/load", json=FIXTURE).status_code == 200
        client.put(
            "/_sandbox/throttle",
            json={"enabled": True, "scale": 1000, "maximum": 2000, "available": 2000},
        )
        client.put("/_sandbox/faults", json={})
        client.delete("/_sandbox/requests")
        client.app = app  # type: ignore[attr-defined]
        yield client


def gql(
    client: httpx.Client,
    query: str,
    variables: dict | None = None,
    token: str | None = DEFAULT_ACCESS_TOKEN,
) -> tuple[int, dict]:
    headers = {"X-Shopify-Access-Token": token} if token else {}
    r = client.post(PATH, json={"query": query, "variables": variables or {}}, headers=headers)
    return r.status_code, r.json()


def item_of(client: httpx.Client, variant_id: str) -> str:
    _, body = gql(
        client,
        "query($id: ID!) { productVariant(id: $id) { inventoryItem { id } } }",
        {"id": variant_id},
    )
    return body["data"]["productVariant"]["inventoryItem"]["id"]


def variant_state(client: httpx.Client, variant_id: str) -> dict:
    state = client.get("/_sandbox/state").json()
    return next(v for p in state["products"] for v in p["variants"] if v["id"] == variant_id)


# -- transport, auth, validation ---------------------------------------------------------


def test_valid_document_answers_with_data_and_cost(shop) -> None:
    status, body = gql(shop, "query Shop { shop { name myshopifyDomain currencyCode } }")
    assert status == 200
    assert body["data"]["shop"] == {
        "name": "sandbox",
        "myshopifyDomain": "sandbox.myshopify.com",
        "currencyCode": "USD",
    }
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 1 and cost["actualQueryCost"] == 1
    throttle = cost["throttleStatus"]
    assert isinstance(throttle["maximumAvailable"], float) and throttle["maximumAvailable"] == 2000
    assert isinstance(throttle["currentlyAvailable"], int)
    assert isinstance(throttle["restoreRate"], float)


def test_any_api_version_is_served(shop) -> None:
    r = shop.post(
        "/admin/api/2026-10/graphql.json",
        json={"query": "{ shop { name } }"},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )
    assert r.status_code == 200 and r.json()["data"]["shop"]["name"] == "sandbox"


@pytest.mark.parametrize("token", [None, "shpat_wrong"])
def test_wrong_or_missing_token_is_401_with_string_errors(shop, token) -> None:
    status, body = gql(shop, "{ shop { name } }", token=token)
    assert status == 401
    assert body == {
        "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
    }


def test_bearer_token_is_not_accepted(shop) -> None:
    r = shop.post(
        PATH,
        json={"query": "{ shop { name } }"},
        headers={"Authorization": f"Bearer {DEFAULT_ACCESS_TOKEN}"},
    )
    assert r.status_code == 401


def test_unknown_field_is_rejected_like_shopify(shop) -> None:
    status, body = gql(shop, "query Probe {\n  products(first: 1) {\n    nodes { id nope }\n  }\n}")
    assert status == 200
    assert "data" not in body and "extensions" not in body
    (error,) = body["errors"]
    assert error["message"] == "Field 'nope' doesn't exist on type 'Product'"
    assert error["path"] == ["query Probe", "products", "nodes", "nope"]
    assert error["extensions"] == {
        "code": "undefinedField",
        "typeName": "Product",
        "fieldName": "nope",
    }


def test_syntax_error_is_parse_error(shop) -> None:
    _, body = gql(shop, "query Broken {\n  shop {\n    id\n")
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "PARSE_ERROR"}
    assert error["message"].startswith("syntax error, ")
    assert "data" not in body


def test_missing_required_argument_and_bad_variable(shop) -> None:
    _, body = gql(shop, "{ inventoryItem { id } }")
    assert body["errors"][0]["extensions"]["code"] == "missingRequiredArguments"
    _, body = gql(
        shop,
        "mutation($input: InventorySetQuantitiesInput!) { inventorySetQuantities"
        '(input: $input) @idempotent(key: "k") { userErrors { message } } }',
        {
            "input": {
                "name": "available",
                "reason": "correction",
                "quantities": [],
                "ignoreCompareQuantity": True,
            }
        },
    )
    (error,) = body["errors"]
    assert error["extensions"]["code"] == "INVALID_VARIABLE"
    assert error["message"] == (
        "Variable $input of type InventorySetQuantitiesInput! was provided invalid value"
    )
    assert "data" not in body


def test_requests_are_counted_per_root_field(shop) -> None:
    gql(shop, "{ shop { name } }")
    gql(shop, "{ shop { name } }")
    gql(shop, "{ locations(first: 5) { nodes { id } } }")
    counts = shop.get("/_sandbox/requests").json()
    assert counts["shop"] == 2 and counts["locations"] == 1


# -- reads ---------------------------------------------------------------------------------

VARIANTS = """query V($first: Int!, $after: String, $q: String) {
  productVariants(first: $first, after: $after, query: $q) {
    nodes { id sku price barcode inventoryQuantity selectedOptions { name value }
            inventoryItem { id tracked inventoryLevels(first: 5) { nodes { id location { id }
              quantities(names: ["available", "on_hand"]) { name quantity } } } }
            product { id title status } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
  }
}"""


def test_product_variants_cursor_paging(shop) -> None:
    seen, after, pages = [], None, 0
    while True:
        _, body = gql(shop, VARIANTS, {"first": 2, "after": after})
        conn = body["data"]["productVariants"]
        seen += [n["id"] for n in conn["nodes"]]
        pages += 1
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
        decoded = json.loads(base64.b64decode(after))
        assert set(decoded) == {"last_id", "last_value"}
    assert pages == 3 and len(seen) == 5 and len(set(seen)) == 5
    first = body["data"]["productVariants"]
    assert first["pageInfo"]["hasPreviousPage"] is True


def test_variant_fields_and_levels(shop) -> None:
    _, body = gql(shop, VARIANTS, {"first": 1})
    node = body["data"]["productVariants"]["nodes"][0]
    assert node["id"] == V1 and node["sku"] == "TEE-S" and node["price"] == "10.00"
    assert node["inventoryQuantity"] == 7
    levels = node["inventoryItem"]["inventoryLevels"]["nodes"]
    assert {lv["location"]["id"]: lv["quantities"][0]["quantity"] for lv in levels} == {
        L1: 5,
        L2: 2,
    }
    assert all("?inventory_item_id=" in lv["id"] for lv in levels)
    assert node["inventoryItem"]["id"] != node["id"].replace("ProductVariant", "InventoryItem")


def test_paging_limits(shop) -> None:
    _, body = gql(shop, "{ productVariants { nodes { id } } }")
    assert body["errors"][0]["message"] == "you must provide one of first or last"
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    _, body = gql(shop, "{ productVariants(first: 251) { nodes { id } } }")
    assert body["errors"] and body["data"] is None


def test_sku_search_filter(shop) -> None:
    _, body = gql(shop, VARIANTS, {"first": 10, "q": "sku:TEE-M"})
    assert [n["sku"] for n in body["data"]["productVariants"]["nodes"]] == ["TEE-M"]
    _, body = gql(shop, VARIANTS, {"first": 10, "q": "sku:CAP-*"})
    assert [n["sku"] for n in body["data"]["productVariants"]["nodes"]] == ["CAP-1", "CAP-2"]
    _, body = gql(shop, VARIANTS, {"first": 10, "q": "sku:TEE-S OR sku:MUG"})
    assert len(body["data"]["productVariants"]["nodes"]) == 2


def test_products_and_locations(shop) -> None:
    _, body = gql(
        shop,
        '{ products(first: 10, query: "sku:MUG") { nodes { id title '
        "variants(first: 5) { nodes { sku } } } } "
        "locations(first: 10) { nodes { id name isActive } } }",
    )
    products = body["data"]["products"]["nodes"]
    assert [p["title"] for p in products] == ["Mug"]
    assert [n["name"] for n in body["data"]["locations"]["nodes"]] == ["Main", "Back"]


# -- cost and throttling -------------------------------------------------------------------


def test_throttled_body_when_the_bucket_is_empty(shop) -> None:
    shop.put("/_sandbox/throttle", json={"maximum": 100, "available": 0, "scale": 0.01})
    status, body = gql(shop, VARIANTS, {"first": 10})
    assert status == 200
    assert "data" not in body
    assert body["errors"][0]["message"] == "Throttled"
    assert body["errors"][0]["extensions"]["code"] == "THROTTLED"
    cost = body["extensions"]["cost"]
    assert cost["actualQueryCost"] is None and cost["requestedQueryCost"] > 0
    assert cost["throttleStatus"]["currentlyAvailable"] < cost["requestedQueryCost"]
    shop.put("/_sandbox/throttle", json={"enabled": False})
    status, body = gql(shop, VARIANTS, {"first": 10})
    assert "data" in body


def test_cost_is_charged_and_refunded(shop) -> None:
    shop.put("/_sandbox/throttle", json={"scale": 0.0001, "maximum": 2000, "available": 2000})
    _, body = gql(shop, "{ productVariants(first: 100) { nodes { id product { id } } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 2 + 100 * 2
    assert cost["actualQueryCost"] == 2 + 5 * 2  # only five variants exist
    assert cost["throttleStatus"]["currentlyAvailable"] in (1987, 1988)


def test_single_query_max_cost(shop) -> None:
    _, body = gql(
        shop,
        "{ productVariants(first: 250) { nodes { id product { id } "
        "inventoryItem { inventoryLevels(first: 5) { nodes { id } } } } } }",
    )
    assert body["errors"][0]["extensions"]["code"] == "MAX_COST_EXCEEDED"
    assert "exceeds the single query max cost limit (1000)" in body["errors"][0]["message"]


# -- inventorySetQuantities ----------------------------------------------------------------

SET = """mutation Set($input: InventorySetQuantitiesInput!, $key: String!) {
  inventorySetQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { id reason changes { name delta quantityAfterChange
      item { id } location { id } } }
    userErrors { field message code }
  }
}"""


def set_input(item: str, qty: int, change_from: Any = 5, location: str = L1) -> dict:
    row = {"inventoryItemId": item, "locationId": location, "quantity": qty}
    if change_from != "omit":
        row["changeFromQuantity"] = change_from
    return {
        "name": "available",
        "reason": "correction",
        "referenceDocumentUri": "gid://skubridge/Run/1",
        "quantities": [row],
    }


def test_inventory_set_applies_once_per_key(shop) -> None:
    item = item_of(shop, V1)
    _, first = gql(shop, SET, {"key": "k-1", "input": set_input(item, 8)})
    group = first["data"]["inventorySetQuantities"]["inventoryAdjustmentGroup"]
    assert [(c["name"], c["delta"], c["quantityAfterChange"]) for c in group["changes"]] == [
        ("available", 3, None),
        ("on_hand", 3, None),
    ]
    _, replay = gql(shop, SET, {"key": "k-1", "input": set_input(item, 8)})
    assert replay["data"] == first["data"]  # same answer, not applied again
    assert variant_state(shop, V1)["inventory"] == {L1: 8, L2: 2}
    _, other = gql(shop, SET, {"key": "k-1", "input": set_input(item, 9, 8)})
    (err,) = other["data"]["inventorySetQuantities"]["userErrors"]
    assert err["code"] == "IDEMPOTENCY_KEY_PARAMETER_MISMATCH"
    assert variant_state(shop, V1)["inventory"][L1] == 8


def test_inventory_set_change_from_quantity_mismatch(shop) -> None:
    item = item_of(shop, V1)
    _, body = gql(shop, SET, {"key": "k-2", "input": set_input(item, 1, 4)})
    payload = body["data"]["inventorySetQuantities"]
    assert payload["inventoryAdjustmentGroup"] is None
    (err,) = payload["userErrors"]
    assert err["code"] == "CHANGE_FROM_QUANTITY_STALE"
    assert err["field"] == ["input", "quantities", "0", "changeFromQuantity"]
    assert variant_state(shop, V1)["inventory"][L1] == 5
    _, body = gql(shop, SET, {"key": "k-3", "input": set_input(item, 1, None)})  # null = no CAS
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert variant_state(shop, V1)["inventory"][L1] == 1


def test_inventory_set_contract_errors(shop) -> None:
    item = item_of(shop, V1)
    _, body = gql(shop, SET, {"key": "k-4", "input": set_input(item, 1, "omit")})
    assert body["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"
    assert "changeFromQuantity" in body["errors"][0]["message"]
    assert body["data"] == {"inventorySetQuantities": None}
    no_key = SET.replace("@idempotent(key: $key)", "").replace(", $key: String!", "")
    _, body = gql(shop, no_key, {"input": set_input(item, 1)})
    assert body["errors"][0]["message"] == (
        "The @idempotent directive is required for this mutation but was not provided."
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert body["errors"][0]["path"] == ["inventorySetQuantities"]
    many = set_input(item, 1)
    many["quantities"] = many["quantities"] * 251
    _, body = gql(shop, SET, {"key": "k-5", "input": many})
    assert body["errors"][0]["extensions"]["code"] == "MAX_INPUT_SIZE_EXCEEDED"
    assert "data" not in body and body["extensions"]["cost"]["actualQueryCost"] is None
    bad = set_input("gid://shopify/InventoryItem/1", -1_000_000_001)
    _, body = gql(shop, SET, {"key": "k-6", "input": bad})
    codes = {e["code"] for e in body["data"]["inventorySetQuantities"]["userErrors"]}
    assert codes == {"INVALID_INVENTORY_ITEM", "INVALID_QUANTITY_TOO_LOW"}


# -- productVariantsBulkUpdate -------------------------------------------------------------

BULK_UPDATE = """mutation U($productId: ID!, $variants: [ProductVariantsBulkInput!]!) {
  productVariantsBulkUpdate(productId: $productId, variants: $variants) {
    product { id } productVariants { id sku price } userErrors { field message code }
  }
}"""


def test_bulk_update_sets_sku_on_inventory_item(shop) -> None:
    _, body = gql(
        shop,
        BULK_UPDATE,
        {
            "productId": "gid://shopify/Product/1",
            "variants": [
                {"id": V1, "inventoryItem": {"sku": "TT-1"}, "price": "12.5"},
                {"id": V2, "inventoryItem": {"sku": "TT-2"}},
            ],
        },
    )
    payload = body["data"]["productVariantsBulkUpdate"]
    assert payload["userErrors"] == []
    assert [(v["sku"], v["price"]) for v in payload["productVariants"]] == [
        ("TT-1", "12.50"),
        ("TT-2", "11.50"),
    ]
    assert variant_state(shop, V1)["sku"] == "TT-1"


def test_bulk_update_is_atomic_and_has_no_variant_sku_field(shop) -> None:
    _, body = gql(
        shop,
        BULK_UPDATE,
        {
            "productId": "gid://shopify/Product/1",
            "variants": [{"id": V1, "inventoryItem": {"sku": "NEW"}}, {"id": V3, "price": "-1"}],
        },
    )
    payload = body["data"]["productVariantsBulkUpdate"]
    assert payload["productVariants"] is None
    fields = [e["field"] for e in payload["userErrors"]]
    assert ["variants", "1", "id"] in fields and ["variants", "1", "price"] in fields
    assert variant_state(shop, V1)["sku"] == "TEE-S"
    _, body = gql(
        shop,
        BULK_UPDATE,
        {"productId": "gid://shopify/Product/1", "variants": [{"id": V1, "sku": "X"}]},
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_VARIABLE"
    _, body = gql(shop, BULK_UPDATE, {"productId": "gid://shopify/Product/99", "variants": []})
    assert (
        body["data"]["productVariantsBulkUpdate"]["userErrors"][0]["code"]
        == "PRODUCT_DOES_NOT_EXIST"
    )


# -- orders --------------------------------------------------------------------------------

ORDER = """mutation O($order: OrderCreateOrderInput!, $options: OrderCreateOptionsInput) {
  orderCreate(order: $order, options: $options) {
    order { id name sourceIdentifier sourceName tags
      lineItems(first: 5) { nodes { quantity sku originalUnitPriceSet { shopMoney { amount } } } } }
    userErrors { field message code }
  }
}"""


def order_vars(source_id: str, qty: int = 2, behaviour: str | None = None) -> dict:
    variables: dict[str, Any] = {
        "order": {
            "currency": "USD",
            "sourceName": "tiktok",
            "sourceIdentifier": source_id,
            "tags": ["tiktok", f"tiktok-{source_id}"],
            "lineItems": [
                {
                    "variantId": V1,
                    "quantity": qty,
                    "priceSet": {"shopMoney": {"amount": "9.50", "currencyCode": "USD"}},
                }
            ],
        }
    }
    if behaviour:
        variables["options"] = {"inventoryBehaviour": behaviour}
    return variables


def test_order_create_bypasses_stock_by_default(shop) -> None:
    _, body = gql(shop, ORDER, order_vars("111"))
    order = body["data"]["orderCreate"]["order"]
    assert order["name"] == "#1001" and order["sourceIdentifier"] == "111"
    assert order["tags"] == ["tiktok", "tiktok-111"]
    line = order["lineItems"]["nodes"][0]
    assert line == {
        "quantity": 2,
        "sku": "TEE-S",
        "originalUnitPriceSet": {"shopMoney": {"amount": "9.5"}},
    }
    assert variant_state(shop, V1)["inventory"] == {L1: 5, L2: 2}


def test_order_create_decrements_when_asked(shop) -> None:
    gql(shop, ORDER, order_vars("222", 3, "DECREMENT_IGNORING_POLICY"))
    assert variant_state(shop, V1)["inventory"] == {L1: 2, L2: 2}
    gql(shop, ORDER, order_vars("333", 2, "DECREMENT_OBEYING_POLICY"))
    assert variant_state(shop, V1)["inventory"] == {L1: 0, L2: 2}  # L1 still had 2
    _, body = gql(shop, ORDER, order_vars("444", 5, "DECREMENT_OBEYING_POLICY"))
    assert body["data"]["orderCreate"]["userErrors"][0]["code"] == "INVENTORY_CLAIM_FAILED"
    orders = shop.get("/_sandbox/state").json()["orders"]
    assert [o["source_identifier"] for o in orders] == ["222", "333"]
    assert orders[0]["inventory_behaviour"] == "DECREMENT_IGNORING_POLICY"
    assert variant_state(shop, V1)["on_hand"] == {L1: 5, L2: 2}  # available only (captures)


def test_order_create_validation(shop) -> None:
    bad = order_vars("555")
    bad["order"]["lineItems"][0]["variantId"] = "gid://shopify/ProductVariant/404"
    _, body = gql(shop, ORDER, bad)
    errors = body["data"]["orderCreate"]["userErrors"]
    assert [e["message"] for e in errors] == [
        "Order Line items is invalid",
        "Line items Name can't be blank",
        "Line items Title can't be blank",
    ]
    empty = order_vars("556")
    empty["order"]["lineItems"] = []
    _, body = gql(shop, ORDER, empty)
    assert body["data"]["orderCreate"]["userErrors"][0]["field"] == ["order", "lineItems"]


def test_order_search_by_source_identifier_and_tag(shop) -> None:
    gql(shop, ORDER, order_vars("123"))
    gql(shop, ORDER, order_vars("1234"))
    search = "query F($q: String!) { orders(first: 5, query: $q) { nodes { id sourceIdentifier "
    search += "tags } } }"
    _, body = gql(shop, search, {"q": "source_identifier:123"})
    assert [n["sourceIdentifier"] for n in body["data"]["orders"]["nodes"]] == ["123"]
    _, body = gql(shop, search, {"q": 'tag:"tiktok-1234"'})
    assert [n["sourceIdentifier"] for n in body["data"]["orders"]["nodes"]] == ["1234"]
    _, body = gql(shop, search, {"q": "source_identifier:999"})
    assert body["data"]["orders"]["nodes"] == []


def test_dropped_answer_still_commits_the_order(shop) -> None:
    shop.put(
        "/_sandbox/faults", json={"drop_after_commit_rate": 1.0, "operations": ["orderCreate"]}
    )
    with pytest.raises(httpx.HTTPError):
        gql(shop, ORDER, order_vars("888"))
    shop.put("/_sandbox/faults", json={})
    assert [o["source_identifier"] for o in shop.get("/_sandbox/state").json()["orders"]] == ["888"]
    assert shop.get("/_sandbox/requests").json()["orderCreate"] == 1


# -- bulk operations -----------------------------------------------------------------------

RUN = """mutation R($q: String!) { bulkOperationRunQuery(query: $q) {
  bulkOperation { id status objectCount url } userErrors { field message code } } }"""
POLL = """query P($id: ID!) { bulkOperation(id: $id) { id status objectCount rootObjectCount
  fileSize url } }"""
INNER = """{ products { edges { node { id title variants { edges { node { id sku } } } } } } }"""


def test_bulk_operation_jsonl_with_parent_ids(shop) -> None:
    _, body = gql(shop, RUN, {"q": INNER})
    op = body["data"]["bulkOperationRunQuery"]["bulkOperation"]
    assert op["status"] == "CREATED" and op["objectCount"] == "0" and op["url"] is None
    statuses = []
    for _ in range(5):
        _, polled = gql(shop, POLL, {"id": op["id"]})
        statuses.append(polled["data"]["bulkOperation"]["status"])
        if statuses[-1] == "COMPLETED":
            break
    assert statuses == ["RUNNING", "COMPLETED"]
    done = polled["data"]["bulkOperation"]
    assert done["objectCount"] == "8" and done["rootObjectCount"] == "3"
    r = httpx.get(done["url"], trust_env=False)  # signed URL: no token
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/jsonl")
    assert int(done["fileSize"]) == len(r.content)
    assert "gid:\\/\\/shopify\\/Product\\/1" in r.text  # slashes escaped like Shopify
    rows = [json.loads(line) for line in r.text.splitlines()]
    products = [x for x in rows if "__parentId" not in x]
    variants = [x for x in rows if "__parentId" in x]
    assert [p["title"] for p in products] == ["Tee", "Mug", "Cap"]
    assert all(list(v)[-1] == "__parentId" for v in variants)
    assert {v["sku"]: v["__parentId"] for v in variants}["MUG"] == "gid://shopify/Product/2"
    _, current = gql(shop, "{ currentBulkOperation { id status } }")
    assert current["data"]["currentBulkOperation"]["id"] == op["id"]


def test_bulk_query_rules(shop) -> None:
    _, body = gql(shop, RUN, {"q": "{ products { nodes { id } } }"})
    payload = body["data"]["bulkOperationRunQuery"]
    assert payload["bulkOperation"] is None
    assert payload["userErrors"][0]["field"] == ["query"]
    assert payload["userErrors"][0]["code"] == "INVALID"
    _, body = gql(shop, RUN, {"q": "{ shop { name } }"})
    assert (
        "at least one connection"
        in body["data"]["bulkOperationRunQuery"]["userErrors"][0]["message"]
    )


# -- webhooks ------------------------------------------------------------------------------


def test_signed_webhooks_on_state_changes(shop) -> None:
    received: list[tuple[dict, bytes]] = []
    arrived = threading.Event()

    async def hook(request: Request) -> Response:
        received.append((dict(request.headers), await request.body()))
        arrived.set()
        return Response("ok")

    receiver = Starlette(routes=[Route("/hook", hook, methods=["POST"])])
    with serve_in_thread(receiver) as hook_url:
        shop.put("/_sandbox/webhooks", json={"url": f"{hook_url}/hook"})
        item = item_of(shop, V1)
        gql(shop, SET, {"key": "wh-1", "input": set_input(item, 6)})
        deadline = time.monotonic() + 10
        while not received and time.monotonic() < deadline:
            arrived.wait(0.05)
        gql(
            shop,
            BULK_UPDATE,
            {"productId": "gid://shopify/Product/1", "variants": [{"id": V2, "price": "20"}]},
        )
        while len(received) < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        shop.put("/_sandbox/webhooks", json={"url": None})
    headers, body = received[0]
    assert headers["x-shopify-topic"] == "inventory_levels/update"
    assert verify_webhook(body, headers["x-shopify-hmac-sha256"], DEFAULT_WEBHOOK_SECRET)
    assert not verify_webhook(body, headers["x-shopify-hmac-sha256"], "other-secret")
    payload = json.loads(body)
    assert payload["available"] == 6 and payload["location_id"] == 1
    assert payload["admin_graphql_api_id"].startswith("gid://shopify/InventoryLevel/")
    assert headers["x-shopify-shop-domain"] == "sandbox.myshopify.com"
    assert headers["x-shopify-webhook-id"] and headers["x-shopify-api-version"] == "2026-04"
    headers, body = received[1]
    assert headers["x-shopify-topic"] == "products/update"
    assert verify_webhook(body, headers["x-shopify-hmac-sha256"], DEFAULT_WEBHOOK_SECRET)
    assert json.loads(body)["variants"][1]["price"] == "20.00"


# -- fixture round-trip --------------------------------------------------------------------


def test_fixture_round_trip(shop) -> None:
    emulator = shop.app.state.emulator
    original = load_fixture(FIXTURE)
    assert emulator.state.to_fixture() == original.shopify
    again = load_fixture(dump_fixture(original))
    emulator.load(again)
    assert emulator.state.to_fixture() == original.shopify
    state = shop.get("/_sandbox/state").json()
    assert [p["title"] for p in state["products"]] == ["Tee", "Mug", "Cap"]
    assert variant_state(shop, "gid://shopify/ProductVariant/3001")["inventory"] == {L1: 0}


ADJUST = """mutation A($input: InventoryAdjustQuantitiesInput!, $key: String!) {
  inventoryAdjustQuantities(input: $input) @idempotent(key: $key) {
    inventoryAdjustmentGroup { changes { name delta } }
    userErrors { field message code }
  }
}"""


def test_inventory_adjust_quantities_deltas(shop) -> None:
    item = item_of(shop, V1)
    change = {"inventoryItemId": item, "locationId": L2, "delta": -2, "changeFromQuantity": 2}
    variables = {
        "key": "a-1",
        "input": {"name": "available", "reason": "correction", "changes": [change]},
    }
    _, body = gql(shop, ADJUST, variables)
    group = body["data"]["inventoryAdjustQuantities"]["inventoryAdjustmentGroup"]
    assert group["changes"] == [
        {"name": "available", "delta": -2},
        {"name": "on_hand", "delta": -2},
    ]
    gql(shop, ADJUST, variables)  # replay with the same key: applied once
    assert variant_state(shop, V1)["inventory"] == {L1: 5, L2: 0}
    stale = {"key": "a-2", "input": {**variables["input"]}}
    _, body = gql(shop, ADJUST, stale)
    assert (
        body["data"]["inventoryAdjustQuantities"]["userErrors"][0]["code"]
        == "CHANGE_FROM_QUANTITY_STALE"
    )
    missing = {
        "key": "a-3",
        "input": {
            "name": "available",
            "reason": "correction",
            "changes": [{"inventoryItemId": item, "locationId": L2, "delta": 1}],
        },
    }
    _, body = gql(shop, ADJUST, missing)
    assert body["errors"][0]["extensions"]["code"] == "INVALID_FIELD_ARGUMENTS"


def test_inventory_item_update_sets_sku_and_tracked(shop) -> None:
    item = item_of(shop, V2)
    _, body = gql(
        shop,
        "mutation($id: ID!, $input: InventoryItemInput!) { inventoryItemUpdate("
        "id: $id, input: $input) { inventoryItem { id sku tracked } userErrors "
        "{ field message } } }",
        {"id": item, "input": {"sku": "TT-9", "tracked": False}},
    )
    assert body["data"]["inventoryItemUpdate"]["inventoryItem"] == {
        "id": item,
        "sku": "TT-9",
        "tracked": False,
    }
    state = variant_state(shop, V2)
    assert state["sku"] == "TT-9" and state["tracked"] is False


def test_webhook_subscription_create_is_recorded(shop) -> None:
    _, body = gql(
        shop,
        "mutation { webhookSubscriptionCreate(topic: INVENTORY_LEVELS_UPDATE, "
        'webhookSubscription: {uri: "https://example.test/h", format: JSON}) '
        "{ webhookSubscription { id topic uri } userErrors { message } } }",
    )
    sub = body["data"]["webhookSubscriptionCreate"]["webhookSubscription"]
    assert sub["topic"] == "INVENTORY_LEVELS_UPDATE" and sub["uri"] == "https://example.test/h"
    hooks = shop.get("/_sandbox/state").json()["webhooks"]
    assert hooks == [
        {"id": sub["id"], "topic": "inventory_levels/update", "uri": "https://example.test/h"}
    ]


def test_optional_dev_store_order_throttle() -> None:
    app = create_app(load_fixture(FIXTURE), throttle=False, order_limit_per_minute=2)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        results = [gql(client, ORDER, order_vars(str(n)))[1] for n in range(3)]
    assert [r["data"]["orderCreate"]["order"] is not None for r in results] == [True, True, False]
    assert (
        results[2]["data"]["orderCreate"]["userErrors"][0]["message"]
        == "Too many attempts. Please try again later."
    )


def test_optional_search_index_lag() -> None:
    app = create_app(load_fixture(FIXTURE), throttle=False, search_lag_s=30)
    search = "query F($q: String!) { orders(first: 5, query: $q) { nodes { id } } }"
    with serve_in_thread(app) as url, httpx.Client(base_url=url, trust_env=False) as client:
        _, created = gql(client, ORDER, order_vars("321"))
        order_id = created["data"]["orderCreate"]["order"]["id"]
        _, found = gql(client, search, {"q": "source_identifier:321"})
        assert found["data"]["orders"]["nodes"] == []  # not indexed yet
        _, direct = gql(
            client, "query($id: ID!) { order(id: $id) { sourceIdentifier } }", {"id": order_id}
        )
        assert direct["data"]["order"]["sourceIdentifier"] == "321"  # reads by id are fresh
        gql(
            client,
            BULK_UPDATE,
            {
                "productId": "gid://shopify/Product/1",
                "variants": [{"id": V1, "inventoryItem": {"sku": "NEW-1"}}],
            },
        )
        _, body = gql(client, VARIANTS, {"first": 5, "q": "sku:NEW-1"})
        assert body["data"]["productVariants"]["nodes"] == []
        app.state.emulator.state.search_lag_s = 0
        for order in app.state.emulator.state.orders:
            order.indexed_at = 0.0
        _, found = gql(client, search, {"q": "source_identifier:321"})
        assert [n["id"] for n in found["data"]["orders"]["nodes"]] == [order_id]


# -- refusals and crashes seen against live answers (issue: real-world wire shapes) ---------


def test_unknown_operation_name_is_200_with_an_error(shop) -> None:
    doc = "query A { shop { name } } query B { shop { id } }"
    r = shop.post(
        PATH,
        json={"query": doc, "operationName": "Nope"},
        headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN},
    )
    assert r.status_code == 200 and "data" not in r.json()
    assert r.json()["errors"][0]["message"] == 'No operation named "Nope"'
    r = shop.post(
        PATH, json={"query": doc}, headers={"X-Shopify-Access-Token": DEFAULT_ACCESS_TOKEN}
    )
    assert (
        r.status_code == 200 and r.json()["errors"][0]["message"] == "An operation name is required"
    )


def test_fragment_spreads_are_served_and_validated(shop) -> None:
    status, body = gql(
        shop, "query { shop { ...F } } fragment F on Shop { name ...G } fragment G on Shop { id }"
    )
    assert status == 200 and body["data"]["shop"]["name"] == "sandbox"
    status, body = gql(
        shop,
        "mutation { webhookSubscriptionCreate(topic: ORDERS_CREATE, webhookSubscription:"
        ' {callbackUrl: "https://x"}) { ...P } } fragment P on'
        " WebhookSubscriptionCreatePayload { userErrors { field message } nope }",
    )
    assert status == 200 and body["errors"][0]["extensions"]["code"] == "undefinedField"


def test_inventory_set_accepts_negative_available(shop) -> None:
    """Live accepts ``available`` down to -1,000,000,000 (InventorySetQuantitiesUserErrorCode
    INVALID_QUANTITY_TOO_LOW, Admin API 2026-04 schema)."""
    item = item_of(shop, V1)
    _, body = gql(shop, SET, {"key": "neg-1", "input": set_input(item, -3)})
    assert body["data"]["inventorySetQuantities"]["userErrors"] == []
    assert variant_state(shop, V1)["inventory"][L1] == -3
    _, body = gql(shop, SET, {"key": "neg-2", "input": set_input(item, -1_000_000_001, -3)})
    (err,) = body["data"]["inventorySetQuantities"]["userErrors"]
    assert err["code"] == "INVALID_QUANTITY_TOO_LOW"


def test_order_create_refuses_a_future_processed_at(shop) -> None:
    """2026-04: a future processedAt is PROCESSED_AT_INVALID (clamped only from 2026-07,
    OrderCreateOrderInput.processedAt in the Admin API schema)."""
    future = order_vars("777")
    future["order"]["processedAt"] = "2099-01-01T00:00:00Z"
    _, body = gql(shop, ORDER, future)
    (err,) = body["data"]["orderCreate"]["userErrors"]
    assert err["code"] == "PROCESSED_AT_INVALID" and err["field"] == ["order", "processedAt"]
    assert body["data"]["orderCreate"]["order"] is None
    past = order_vars("778")
    past["order"]["processedAt"] = "2026-01-01T00:00:00Z"
    _, body = gql(shop, ORDER, past)
    assert body["data"]["orderCreate"]["userErrors"] == []


def test_connection_of_zero_nodes_costs_the_connection_only(shop) -> None:
    _, body = gql(shop, "query { productVariants(first: 0) { nodes { id sku } } }")
    assert body["extensions"]["cost"]["requestedQueryCost"] == 2
    _, body = gql(shop, "query { productVariants(first: 3) { nodes { id sku } } }")
    cost = body["extensions"]["cost"]
    assert cost["requestedQueryCost"] == 5 and cost["actualQueryCost"] == 5
    _, body = gql(shop, "query { productVariants(first: 250) { nodes { id sku } } }")
    cost = body["extensions"]["cost"]  # actual: what was returned (5 variants in the fixture)
    assert cost["requestedQueryCost"] == 252 and cost["actualQueryCost"] == 7
