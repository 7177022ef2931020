"""AmazonClient groups variation children into one store product (Listings relationships).

Sources cited by name below:

- URL encoding: https://developer-docs.amazon.com/sp-api/docs/url-encoding
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from connectors.amazon import RATES, AmazonClient
from connectors.amazon_families import (
    ItemLinks,
    build_index,
    item_links,
    minimum_seconds,
    search_calls,
)
from connectors.errors import MalformedResponseError, PagingError
from sandbox.amazon import (
    create_app,
)
from sandbox.amazon.schemas import body_errors, model
from sandbox.fixture import load_fixture
from sandbox.server import serve_in_thread
from tests.clients import SELLER, US, Recorder, amazon_client

SEARCH_PATH = f"/listings/2021-08-01/items/{SELLER}"


def searches(recorder: Recorder) -> list[httpx.Request]:
    """The searchListingsItems calls (the seller's items path itself, no SKU after it)."""
    return [r for r in recorder.requests if r.url.path == SEARCH_PATH]


def shop_listings() -> list[dict[str, Any]]:
    """A family of 3 tees (mixed FBA/MFN), a family of 2 mugs, 2 standalone listings."""
    tees = [
        {"sku": f"TEE-{size}", "asin": f"B0TEE0000{n}", "parent_asin": "B0TEEPARNT",
         "title": f"Tee {size}", "price": "15.00", "quantity": 3 + n,
         "fulfillment": "FBA" if size == "L" else "MFN"}
        for n, size in enumerate(("S", "M", "L"))
    ]  # fmt: skip
    mugs = [
        {"sku": f"MUG-{c}", "asin": f"B0MUG0000{n}", "parent_asin": "B0MUGPARNT", "quantity": 1}
        for n, c in enumerate(("RED", "BLUE"))
    ]
    alone = [
        {"sku": "LAMP-1", "asin": "B0LAMP0001", "quantity": 7},
        {"sku": "BOOK-1", "asin": "B0BOOK0001", "quantity": 2, "fulfillment": "FBA"},
    ]
    return [*tees, *mugs, *alone]


@pytest.fixture
def served() -> Iterator[tuple[str, Any]]:
    app = create_app(load_fixture({"amazon": {"listings": shop_listings()}}), throttle=False)
    app.state.emulator.report_options.statuses = ("IN_QUEUE", "DONE")
    with serve_in_thread(app) as url:
        yield url, app


async def catalog(client: AmazonClient) -> dict[str, Any]:
    return {v.seller_sku: v async for page in client.iter_catalog() for v in page}


async def test_family_of_three_is_one_product_and_standalones_stay_alone(served):
    url, app = served
    recorder = Recorder(keep_answers=True)
    async with amazon_client(url, recorder) as client:
        variants = await catalog(client)
        index = client.last_families
    assert set(variants) == {"TEE-S", "TEE-M", "TEE-L", "MUG-RED", "MUG-BLUE", "LAMP-1", "BOOK-1"}
    tees = [variants[s] for s in ("TEE-S", "TEE-M", "TEE-L")]
    assert {(v.product_id, v.parent_id) for v in tees} == {("B0TEEPARNT", "B0TEEPARNT")}
    assert [v.variant_id for v in tees] == ["TEE-S", "TEE-M", "TEE-L"]
    assert variants["TEE-L"].stock == {"FBA": 5} and variants["TEE-S"].stock == {"MFN": 3}
    assert {variants[s].product_id for s in ("MUG-RED", "MUG-BLUE")} == {"B0MUGPARNT"}
    for sku, asin in (("LAMP-1", "B0LAMP0001"), ("BOOK-1", "B0BOOK0001")):
        assert (variants[sku].product_id, variants[sku].parent_id) == (asin, None)
    assert len({v.product_id for v in variants.values()}) == 4
    assert index is not None
    assert index.families["B0TEEPARNT-PARENT"].children == ("TEE-L", "TEE-M", "TEE-S")
    assert index.families["B0TEEPARNT-PARENT"].theme == "SIZE_NAME/COLOR_NAME"
    # what was sent: 7 report SKUs in one search, then the 2 unseen parents in another
    sent = searches(recorder)
    assert len(sent) == search_calls(7, 2) == 2 == index.calls
    first, second = (dict(r.url.params) for r in sent)
    assert first == {
        "marketplaceIds": US,
        "identifiersType": "SKU",
        "identifiers": "TEE-S,TEE-M,TEE-L,MUG-RED,MUG-BLUE,LAMP-1,BOOK-1",
        "includedData": "summaries,relationships",
        "pageSize": "20",
    }
    assert second["identifiers"] == "B0MUGPARNT-PARENT,B0TEEPARNT-PARENT"
    assert second["includedData"] == "summaries,relationships"
    # csv lists are one parameter (comma encoded once), never repeated keys (URL encoding)
    assert b"includedData=summaries%2Crelationships" in sent[0].url.raw_path
    assert all(r.headers["x-amz-access-token"].startswith("Atza|") for r in sent)
    assert app.state.faults.stats.requests["searchListingsItems"] == 2


async def test_families_off_sends_no_listings_calls(served):
    url, app = served
    async with amazon_client(url, families="off") as client:
        variants = await catalog(client)
        assert "searchListingsItems" not in client.calls
    assert variants["TEE-S"].product_id == "B0TEE00000" and variants["TEE-S"].parent_id is None
    assert len({v.product_id for v in variants.values()}) == 7
    assert "searchListingsItems" not in app.state.faults.stats.requests
    with pytest.raises(ValueError, match="families"):
        amazon_client(url, families="yes")  # type: ignore[arg-type]


async def test_parent_rows_in_the_report_are_dropped_and_cost_no_second_pass(served):
    url, app = served
    app.state.emulator.report_options.include_parents = True
    recorder = Recorder(keep_answers=True)
    async with amazon_client(url, recorder) as client:
        variants = await catalog(client)
        stats = client.last_report_stats
    assert stats is not None and stats.rows == 9  # 7 listings + 2 parent rows
    assert "B0TEEPARNT-PARENT" not in variants and len(variants) == 7
    assert variants["MUG-BLUE"].product_id == "B0MUGPARNT"
    assert len(searches(recorder)) == search_calls(9, 0) == 1


async def test_search_batches_of_20_and_comma_skus_asked_alone(served):
    url, app = served
    listings = [{"sku": f"K-{i:03d}", "parent_asin": f"B0FAM{i % 3:05d}"} for i in range(45)]
    listings += [{"sku": "ODD,SKU", "parent_asin": "B0FAM00000"}, {"sku": "SOLO"}]
    app.state.emulator.load(load_fixture({"amazon": {"listings": listings}}))
    recorder = Recorder(keep_answers=True)
    async with amazon_client(url, recorder) as client:
        variants = await catalog(client)
    sent = searches(recorder)
    assert len(sent) == search_calls(46, 3) == 4  # 46 plain SKUs: 20 + 20 + 6; 3 parents
    batches = [r.url.params["identifiers"].split(",") for r in sent]
    # the three catalog batches may go out in any order (concurrent); parents come last
    assert sorted(len(b) for b in batches[:3]) == [6, 20, 20] and len(batches[3]) == 3
    assert sorted(sku for b in batches[:3] for sku in b) == [f"K-{i:03d}" for i in range(45)] + [
        "SOLO"
    ]
    assert "ODD,SKU" not in ",".join(r.url.params["identifiers"] for r in sent)
    single = [r for r in recorder.requests if r.url.path.startswith(SEARCH_PATH + "/")]
    assert [r.url.raw_path.split(b"?")[0] for r in single] == [SEARCH_PATH.encode() + b"/ODD%2CSKU"]
    assert single[0].url.params["includedData"] == "summaries,relationships"
    assert variants["ODD,SKU"].product_id == "B0FAM00000" == variants["K-000"].product_id
    assert variants["K-001"].product_id == "B0FAM00001"
    assert variants["SOLO"].parent_id is None
    assert len({v.product_id for v in variants.values()}) == 4


async def test_variation_children_follows_page_tokens(served):
    url, app = served
    listings = [{"sku": f"C-{i:02d}", "parent_asin": "B0BIGFAMLY"} for i in range(45)]
    app.state.emulator.load(load_fixture({"amazon": {"listings": listings}}))
    recorder = Recorder(keep_answers=True)
    async with amazon_client(url, recorder) as client:
        children = await client.variation_children("B0BIGFAMLY-PARENT")
    assert children == [f"C-{i:02d}" for i in range(45)]
    sent = searches(recorder)
    assert len(sent) == 3  # pages of 20: 20 + 20 + 5
    assert "pageToken" not in sent[0].url.params
    assert all(r.url.params["variationParentSku"] == "B0BIGFAMLY-PARENT" for r in sent)
    assert all(r.url.params["pageSize"] == "20" for r in sent)
    # each later request carries the previous answer's nextToken as pageToken
    answers = [
        json.loads(body)
        for request, body in zip(recorder.requests, recorder.answers, strict=True)
        if request.url.path == SEARCH_PATH
    ]
    tokens = [answer.get("pagination", {}).get("nextToken") for answer in answers]
    assert tokens[0] and tokens[1] and tokens[2] is None
    assert [r.url.params["pageToken"] for r in sent[1:]] == tokens[:2]


async def test_family_lookup_stays_within_the_usage_plan():
    """150 listings in 30 families against the emulator's token bucket (5/s, burst 5,
    scaled): the client paces itself, so every planned call is answered the first time."""
    listings = [{"sku": f"F-{i:03d}", "parent_asin": f"B0P{i // 5:07d}"} for i in range(150)]
    app = create_app(load_fixture({"amazon": {"listings": listings}}), rate_scale=4)
    app.state.emulator.report_options.statuses = ("DONE",)
    with serve_in_thread(app) as url:
        # the client paces at half the emulator's refill (10/s vs 20/s, both burst 5): the
        # slack absorbs a burst that reaches the server late on a busy machine
        async with amazon_client(url, rate_scale=2) as client:
            variants = await catalog(client)
            calls = client.calls
    planned = search_calls(150, 30)
    assert planned == math.ceil(150 / 20) + math.ceil(30 / 20) == 10
    assert calls["searchListingsItems"] == planned  # no 429 retries
    assert app.state.faults.stats.requests["searchListingsItems"] == planned
    assert len({v.product_id for v in variants.values()}) == 30
    # the client's bucket is the model's usage plan for searchListingsItems (rate 5, burst 5)
    plan = model("listings")["paths"]["/listings/2021-08-01/items/{sellerId}"]["get"]
    assert "| 5 | 5 |" in plan["description"]
    assert (RATES["searchListingsItems"].rate, RATES["searchListingsItems"].burst) == (5, 5)
    # unscaled, the same lookup needs at least (10 - 5) / 5 = 1 s of pacing
    assert minimum_seconds(planned) == 1.0
    assert minimum_seconds(search_calls(10_000, 1_000)) == pytest.approx((550 - 5) / 5)


async def test_malformed_and_looping_search_answers_raise(served):
    url, app = served
    emulator = app.state.emulator
    emulator.search_listings = lambda seller, query: (200, {"numberOfResults": 0})
    async with amazon_client(url) as client:
        with pytest.raises(MalformedResponseError):
            await catalog(client)
    loop = {"numberOfResults": 30, "items": [], "pagination": {"nextToken": "same"}}
    emulator.search_listings = lambda seller, query: (200, loop)
    async with amazon_client(url) as client:
        with pytest.raises(PagingError):
            await client.variation_children("X")


def test_item_links_reads_only_variation_links_of_this_marketplace():
    item = {
        "sku": "TEE-S",
        "summaries": [
            {"marketplaceId": "A2EUQ1WTGCTBG2", "asin": "B0CA"},
            {"marketplaceId": US, "asin": "B0US"},
        ],
        "relationships": [
            {"marketplaceId": "A2EUQ1WTGCTBG2", "relationships": [
                {"type": "VARIATION", "parentSkus": ["CA-PARENT"]}]},
            {"marketplaceId": US, "relationships": [
                {"type": "PACKAGE_HIERARCHY", "parentSkus": ["CASE-OF-6"]},
                {"type": "VARIATION", "parentSkus": ["US-PARENT"],
                 "variationTheme": {"attributes": ["size"], "theme": "SIZE_NAME"}},
            ]},
        ],
    }  # fmt: skip
    assert body_errors("listings", "ItemRelationships", item["relationships"]) == []
    assert item_links(item, US) == ItemLinks(
        sku="TEE-S", asin="B0US", parents=("US-PARENT",), theme="SIZE_NAME"
    )
    assert item_links({"summaries": []}, US) is None


def test_build_index_rules():
    links = [
        ItemLinks("A", "B0A", parents=("P2", "P1")),  # two parents: the first by name
        ItemLinks("B", "B0B"),  # no pointer, but P1 lists it as a child
        ItemLinks("P1", "B0P1", children=("A", "B", "GONE")),
        ItemLinks("C", "B0C", parents=("P3",)),  # parent P3 unknown: family id = its SKU
        ItemLinks("D", "B0D"),
    ]
    index = build_index(links, ["A", "B", "C", "D", "P1"])
    assert index.parent_of == {"A": "P1", "B": "P1", "C": "P3"}
    assert index.families["P1"].children == ("A", "B")  # GONE is not in the catalog
    assert index.family_of("A").family_id == "B0P1"  # type: ignore[union-attr]
    assert index.family_of("C").family_id == "P3"  # type: ignore[union-attr]
    assert index.family_of("D") is None and index.family_of("P1") is None
    assert index.is_parent("P1") and not index.is_parent("A")


async def test_generated_amazon_catalog_extracts_with_the_generators_product_ids():
    """The seeded generator's Amazon side (families by parent_asin) comes out of the
    connector with the product ids the generator expects: parent ASIN or own ASIN."""
    from sandbox.generator import generate_fixture

    fixture = generate_fixture(400, seed=7, store="amazon").fixture
    app = create_app(fixture, throttle=False)
    app.state.emulator.report_options.statuses = ("DONE",)
    with serve_in_thread(app) as url:
        async with amazon_client(url) as client:
            variants = await catalog(client)
            index = client.last_families
    listings = fixture.amazon.listings
    assert len(variants) == len(listings)
    parents = {x.parent_asin for x in listings if x.parent_asin}
    assert len(parents) > 10 and index is not None and len(index.families) == len(parents)
    asin_count: dict[str | None, int] = {}
    for x in listings:
        asin_count[x.asin] = asin_count.get(x.asin, 0) + 1
    for x in listings:
        got = variants[x.sku]
        standalone = x.asin if asin_count[x.asin] == 1 else x.sku
        assert (got.product_id, got.parent_id) == (x.parent_asin or standalone, x.parent_asin)


def test_families_setting_reaches_the_client(monkeypatch):
    from connectors.factory import store_client
    from skubridge.config import AmazonSettings, ShopConfig, TikTokSettings

    for name in ("AMZ_ID", "AMZ_SECRET", "AMZ_REFRESH"):
        monkeypatch.setenv(name, f"value-of-{name}")
    refs = {
        "lwa_client_id": "env:AMZ_ID",
        "lwa_client_secret": "env:AMZ_SECRET",
        "refresh_token": "env:AMZ_REFRESH",
    }
    tiktok = TikTokSettings(
        app_key="env:AMZ_ID", app_secret="env:AMZ_ID", access_token="env:AMZ_ID"
    )

    def shop(settings: AmazonSettings) -> ShopConfig:
        return ShopConfig(id="a1", store="amazon", tiktok=tiktok, amazon=settings)

    off = shop(AmazonSettings(seller_id=SELLER, marketplace_id=US, families="off", **refs))
    default = shop(AmazonSettings(seller_id=SELLER, marketplace_id=US, **refs))
    assert store_client(off).families == "off"
    assert store_client(default).families == "auto"
    assert store_client(default, families="off").families == "off"
