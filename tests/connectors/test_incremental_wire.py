"""What the connectors send for an incremental read, against the emulators.

TikTok: Search Products with ``update_time_ge``
(https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369), and no Get Product
for a product the attributes cache can answer for. Shopify: ``productVariants`` with
``updated_at:>='...'`` and ``Location.inventoryLevels`` with the same filter, then the
variants whose stock moved by id (https://shopify.dev/docs/api/usage/search-syntax).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from connectors.attributes import AttributeCache
from connectors.shopify import DOCUMENTS, ShopifyClient
from sandbox.server import serve_in_thread
from sandbox.shopify.app import create_app as shopify_app
from sandbox.shopify.state import now_iso
from tests.connectors.test_shopify import FAST, TOKEN, endpoint
from tests.connectors.test_shopify import Recorder as ShopifyRecorder
from tests.connectors.test_shopify import small_fixture as shopify_fixture
from tests.connectors.test_tiktok_connector import Recorder, collect, emulator, make_client

__all__ = ["emulator"]  # the pytest fixture, used by name below

SEARCH = "/product/202309/products/search"


async def test_tiktok_since_sends_update_time_ge_and_the_emulator_honours_it(emulator) -> None:
    app, base = emulator
    products = app.state.emulator.products
    fresh = sorted(products)[0]
    for pid, product in products.items():
        product.update_time = 5_000 if pid == fresh else 1_000
    recorder = Recorder()
    client = make_client(base, transport=recorder)
    since = datetime.fromtimestamp(4_000, UTC)
    variants = await collect(client.iter_catalog(since=since))
    await client.aclose()
    (search,) = recorder.to(SEARCH)
    assert json.loads(search.content) == {"status": "ALL", "update_time_ge": 4_000}
    assert {v.product_id for v in variants} == {fresh}


async def test_tiktok_attribute_cache_saves_get_product_until_update_time_moves(emulator) -> None:
    app, base = emulator
    tee = next(p for p in app.state.emulator.products.values() if len(p.skus) > 1)
    recorder = Recorder()
    client = make_client(base, transport=recorder)
    cache = AttributeCache()
    first = await collect(client.iter_catalog(attributes=cache))
    get_tee = f"/product/202309/products/{tee.id}"
    assert len(recorder.to(get_tee)) == 1 and tee.id in cache.fetched
    options = {v.variant_id: dict(v.options) for v in first}

    again = AttributeCache(cache.known)
    second = await collect(client.iter_catalog(attributes=again))
    assert len(recorder.to(get_tee)) == 1 and again.hits == 1 and not again.fetched
    assert {v.variant_id: dict(v.options) for v in second} == options

    tee.update_time += 10
    moved = AttributeCache(cache.known)
    await collect(client.iter_catalog(attributes=moved))
    assert len(recorder.to(get_tee)) == 2 and tee.id in moved.fetched
    kept = AttributeCache(cache.known, keep={tee.id})  # mapped: its options are kept
    await collect(client.iter_catalog(attributes=kept))
    await client.aclose()
    assert len(recorder.to(get_tee)) == 2


async def test_shopify_since_reads_changed_variants_and_moved_stock() -> None:
    rec = ShopifyRecorder()
    app = shopify_app(shopify_fixture(), throttle=False)
    state = app.state.emulator.state
    for variant in state.variants.values():
        variant.updated_at = "2020-01-01T00:00:00Z"
    for item in state.items.values():
        for level in item.levels.values():
            level.updated_at = "2020-01-01T00:00:00Z"
    by_sku = {item.sku: item for item in state.items.values()}
    state.variants[by_sku["TEE-S"].variant_id].updated_at = now_iso()  # an edit
    level = next(iter(by_sku["TEE-M"].levels.values()))
    level.available, level.updated_at = 4, now_iso()  # a stock change
    since = datetime.now(UTC) - timedelta(minutes=5)
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec, retry=FAST
        ) as client:
            variants = [v async for page in client.iter_catalog(since=since) for v in page]
    assert sorted(v.seller_sku for v in variants) == ["TEE-M", "TEE-S"]
    stamp = since.strftime("%Y-%m-%dT%H:%M:%SZ")
    sent = rec.posted()
    searches = [b for b in sent if b["query"] == DOCUMENTS["productVariantsSearch"]]
    assert searches[0]["variables"]["query"] == f"updated_at:>='{stamp}'"
    levels = [b for b in sent if b["query"] == DOCUMENTS["location"]]
    assert levels and all(b["variables"]["query"] == f"updated_at:>='{stamp}'" for b in levels)
    moved = by_sku["TEE-M"].variant_id.rsplit("/", 1)[-1]
    assert searches[-1]["variables"]["query"] == f"id:{moved}"
    assert not [b for b in sent if b["query"] == DOCUMENTS["productVariants"]]  # no full read


async def test_shopify_since_keeps_the_inventory_policy_of_changed_variants() -> None:
    # An incremental read asks for the same variant fields as a full one: a CONTINUE
    # (continue selling) variant keeps its policy, which the stock rules depend on.
    rec = ShopifyRecorder()
    app = shopify_app(shopify_fixture(), throttle=False)
    state = app.state.emulator.state
    for variant in state.variants.values():
        variant.updated_at = "2020-01-01T00:00:00Z"
    by_sku = {item.sku: item for item in state.items.values()}
    edited = state.variants[by_sku["TEE-S"].variant_id]
    edited.inventory_policy, edited.updated_at = "CONTINUE", now_iso()
    since = datetime.now(UTC) - timedelta(minutes=5)
    with serve_in_thread(app) as url:
        async with ShopifyClient(
            endpoint_url=endpoint(url), access_token=TOKEN, transport=rec, retry=FAST
        ) as client:
            full = {v.seller_sku: v async for page in client.iter_catalog() for v in page}
            changed = [v async for page in client.iter_catalog(since=since) for v in page]
    (tee_s,) = [v for v in changed if v.seller_sku == "TEE-S"]
    assert tee_s.inventory_policy == full["TEE-S"].inventory_policy == "CONTINUE"
