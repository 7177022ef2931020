"""Amazon emulator: variation families served as Listings Items ``relationships``."""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest

from sandbox.amazon import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    create_app,
)
from sandbox.amazon.families import build_parents
from sandbox.amazon.schemas import body_errors
from sandbox.fixture import Fixture, load_fixture
from sandbox.server import serve_in_thread

SELLER = "A2SANDBOXSELLER"
US = "ATVPDKIKX0DER"
SEARCH = f"/listings/2021-08-01/items/{SELLER}"
THEME = {"attributes": ["size", "color"], "theme": "SIZE_NAME/COLOR_NAME"}


def family_fixture() -> Fixture:
    tees = [
        {"sku": f"TEE-{size}", "asin": f"B0TEE0000{n}", "parent_asin": "B0TEEPARNT",
         "title": f"Tee {size}", "price": "15.00", "quantity": 4}
        for n, size in enumerate(("S", "M", "L"))
    ]  # fmt: skip
    return load_fixture(
        {
            "amazon": {
                "listings": [
                    *tees,
                    {"sku": "MUG-1", "asin": "B0MUG00001", "price": "9.00", "quantity": 2},
                    {"sku": "OLD-1", "asin": "B0OLD00001", "status": "Inactive"},
                ]
            }
        }
    )


@pytest.fixture
def client() -> Iterator[tuple[httpx.Client, Any]]:
    app = create_app(family_fixture(), throttle=False)
    with serve_in_thread(app) as url, httpx.Client(base_url=url, timeout=10) as http:
        token = http.post(
            "/auth/o2/token",
            data={
                "grant_type": "refresh_token",
                "refresh_token": SANDBOX_REFRESH_TOKEN,
                "client_id": SANDBOX_CLIENT_ID,
                "client_secret": SANDBOX_CLIENT_SECRET,
            },
        ).json()["access_token"]
        http.headers["x-amz-access-token"] = token
        yield http, app


def get_item(http: httpx.Client, sku: str, included: str) -> dict[str, Any]:
    response = http.get(f"{SEARCH}/{sku}", params={"marketplaceIds": US, "includedData": included})
    assert response.status_code == 200, response.text
    return response.json()


def test_child_parent_and_standalone_relationships_follow_the_model(client):
    http, _ = client
    included = "summaries,offers,fulfillmentAvailability,relationships,attributes,issues"
    child = get_item(http, "TEE-M", included)
    parent = get_item(http, "B0TEEPARNT-PARENT", included)
    alone = get_item(http, "MUG-1", included)
    for item in (child, parent, alone):
        assert body_errors("listings", "Item", item) == []
    assert child["relationships"] == [
        {
            "marketplaceId": US,
            "relationships": [
                {"type": "VARIATION", "parentSkus": ["B0TEEPARNT-PARENT"], "variationTheme": THEME}
            ],
        }
    ]
    assert parent["relationships"] == [
        {
            "marketplaceId": US,
            "relationships": [
                {
                    "type": "VARIATION",
                    "childSkus": ["TEE-S", "TEE-M", "TEE-L"],
                    "variationTheme": THEME,
                }
            ],
        }
    ]  # fmt: skip
    assert alone["relationships"] == [{"marketplaceId": US, "relationships": []}]
    # the parent is a listing of its own: the parent ASIN, not buyable, no offer or stock
    summary = parent["summaries"][0]
    assert summary["asin"] == "B0TEEPARNT" and summary["status"] == []
    assert parent["offers"] == [] and parent["fulfillmentAvailability"] == []
    assert child["summaries"][0]["asin"] == "B0TEE00001"
    # relationships only when asked for (default includedData is summaries)
    assert set(get_item(http, "TEE-M", "summaries")) == {"sku", "summaries"}


def test_search_by_sku_identifiers_returns_children_and_parents(client):
    http, _ = client
    response = http.get(
        SEARCH,
        params={
            "marketplaceIds": US,
            "identifiersType": "SKU",
            "identifiers": "TEE-S,MUG-1,B0TEEPARNT-PARENT,NOPE",
            "includedData": "summaries,relationships",
            "pageSize": 20,
        },
    )
    body = response.json()
    assert response.status_code == 200
    assert body_errors("listings", "ItemSearchResults", body) == []
    assert body["numberOfResults"] == 3 and "pagination" not in body
    by_sku = {item["sku"]: item for item in body["items"]}
    assert set(by_sku) == {"TEE-S", "MUG-1", "B0TEEPARNT-PARENT"}
    assert by_sku["TEE-S"]["relationships"][0]["relationships"][0]["parentSkus"] == [
        "B0TEEPARNT-PARENT"
    ]
    by_asin = http.get(
        SEARCH,
        params={"marketplaceIds": US, "identifiersType": "ASIN", "identifiers": "B0TEEPARNT"},
    ).json()
    assert [item["sku"] for item in by_asin["items"]] == ["B0TEEPARNT-PARENT"]


def test_variation_parent_sku_filter_pages_children(client):
    http, app = client
    app.state.emulator.load(
        load_fixture(
            {
                "amazon": {
                    "listings": [
                        *({"sku": f"C-{i:02d}", "parent_asin": "B0BIGFAMLY"} for i in range(25)),
                        {"sku": "LONE"},
                    ]
                }
            }
        )
    )
    params: dict[str, Any] = {
        "marketplaceIds": US,
        "variationParentSku": "B0BIGFAMLY-PARENT",
        "includedData": "relationships",
        "pageSize": 20,
        "sortBy": "sku",
        "sortOrder": "ASC",
    }
    first = http.get(SEARCH, params=params).json()
    assert first["numberOfResults"] == 25 and len(first["items"]) == 20
    second = http.get(SEARCH, params={**params, "pageToken": first["pagination"]["nextToken"]})
    body = second.json()
    assert body_errors("listings", "ItemSearchResults", body) == []
    assert "nextToken" not in body["pagination"]
    skus = [item["sku"] for item in first["items"] + body["items"]]
    assert skus == [f"C-{i:02d}" for i in range(25)]  # children only: no parent, no LONE
    unknown = http.get(SEARCH, params={**params, "variationParentSku": "LONE"}).json()
    assert unknown["numberOfResults"] == 0 and unknown["items"] == []


@pytest.mark.parametrize(
    "extra",
    [
        {"variationParentSku": "B0TEEPARNT-PARENT", "identifiers": "A", "identifiersType": "SKU"},
        {"variationParentSku": "B0TEEPARNT-PARENT", "packageHierarchySku": "TEE-S"},
        {"identifiersType": "SKU"},  # identifiers required with identifiersType
        {"identifiers": "TEE-S"},  # ... and identifiersType with identifiers
        {"identifiers": "TEE-S", "identifiersType": "COLOR"},
        {"includedData": "summaries,relations"},  # not in the includedData enum
        {"withStatus": "ACTIVE"},
    ],
)  # fmt: skip
def test_search_rejects_what_the_model_forbids(client, extra):
    http, _ = client
    response = http.get(SEARCH, params={"marketplaceIds": US, **extra})
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "InvalidInput"
    assert response.headers["x-amzn-RateLimit-Limit"] == "5"


def test_status_filters_tell_parents_and_inactive_from_buyable(client):
    http, _ = client

    def skus(**params: str) -> set[str]:
        body = http.get(SEARCH, params={"marketplaceIds": US, "pageSize": 20, **params}).json()
        return {item["sku"] for item in body["items"]}

    assert skus(withStatus="BUYABLE") == {"TEE-S", "TEE-M", "TEE-L", "MUG-1"}
    assert skus(withoutStatus="BUYABLE") == {"B0TEEPARNT-PARENT", "OLD-1"}
    assert skus(packageHierarchySku="TEE-S") == set()  # no package hierarchies emulated


def test_report_leaves_parents_out_unless_asked_and_state_lists_families(client):
    http, _ = client

    def report_skus() -> list[str]:
        report_id = http.post(
            "/reports/2021-06-30/reports",
            json={"reportType": "GET_MERCHANT_LISTINGS_ALL_DATA", "marketplaceIds": [US]},
        ).json()["reportId"]
        for _ in range(3):
            report = http.get(f"/reports/2021-06-30/reports/{report_id}").json()
        doc = http.get(f"/reports/2021-06-30/documents/{report['reportDocumentId']}").json()
        data = httpx.get(doc["url"]).content  # gzip + Cp1252 by default, as real reports
        if doc.get("compressionAlgorithm") == "GZIP":
            data = gzip.decompress(data)
        rows = csv.DictReader(io.StringIO(data.decode("cp1252")), delimiter="\t")
        return [row["seller-sku"] + "|" + row["price"] + "|" + row["asin1"] for row in rows]

    assert report_skus() == [
        "TEE-S|15.00|B0TEE00000", "TEE-M|15.00|B0TEE00001", "TEE-L|15.00|B0TEE00002",
        "MUG-1|9.00|B0MUG00001", "OLD-1|10.00|B0OLD00001",
    ]  # fmt: skip
    assert http.put("/_sandbox/reports", json={"include_parents": True}).status_code == 200
    assert report_skus()[-1] == "B0TEEPARNT-PARENT||B0TEEPARNT"  # price-less parent row
    state = http.get("/_sandbox/state").json()
    assert state["families"] == {
        "B0TEEPARNT-PARENT": {
            "asin": "B0TEEPARNT",
            "children": ["TEE-S", "TEE-M", "TEE-L"],
            "theme": "SIZE_NAME/COLOR_NAME",
        }
    }
    # parents are derived: the exported fixture holds only the real listings
    exported = http.get("/_sandbox/fixture").json()
    assert [x["sku"] for x in exported["listings"]] == ["TEE-S", "TEE-M", "TEE-L", "MUG-1", "OLD-1"]


def test_derived_parent_sku_never_takes_a_real_sku():
    def listing(sku: str, parent: str | None) -> SimpleNamespace:
        return SimpleNamespace(
            sku=sku, asin="B0X", parent_asin=parent, title=sku, product_type="SHIRT",
            created=1.0, updated=2.0,
        )  # fmt: skip

    parents = build_parents(
        [listing("B0P-PARENT", None), listing("A", "B0P"), listing("B", "B0P"), listing("C", "B0Q")]
    )
    assert {sku: p.children for sku, p in parents.items()} == {
        "B0P-PARENT-2": ["A", "B"],
        "B0Q-PARENT": ["C"],
    }
    assert parents["B0P-PARENT-2"].asin == "B0P"
    assert parents["B0P-PARENT-2"].product_type == "SHIRT"
