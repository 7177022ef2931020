"""The cursor-paging helper, and that every paged read of the three connectors runs on it.

The helper is tested with a scripted ``fetch``; each connector loop is then driven by an
in-process emulator whose answer for that one endpoint is replaced by endless fresh
tokens: only the helper's page budget (``client.max_pages``) can stop it, so a loop that
does not go through the helper would run on and fail the call count.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest

from connectors.errors import PagingError
from connectors.paging import MAX_PAGES, CursorPages
from tests.bad_input import wire
from tests.bad_input.test_malformed_responses import FIXTURE, graphql, tiktok_envelope, when


class Script:
    """``fetch`` answering (page, next_token) pairs in order; records the tokens asked for."""

    def __init__(self, *answers: tuple[list[int], str | None]) -> None:
        self.answers = list(answers)
        self.asked: list[str | None] = []

    async def __call__(self, token: str | None) -> tuple[list[int], str | None]:
        self.asked.append(token)
        return self.answers.pop(0)


async def pages_of(pager: CursorPages[list[int]]) -> list[list[int]]:
    return [page async for page in pager]


async def test_follows_tokens_until_none_and_yields_every_page():
    script = Script(([1, 2], "a"), ([3], "b"), ([4], None))
    pager = CursorPages(script, marketplace="m", endpoint="things.list")
    assert await pages_of(pager) == [[1, 2], [3], [4]]
    assert script.asked == [None, "a", "b"]
    assert pager.pages == 3 and pager.tokens == {"a", "b"}


async def test_empty_pages_are_yielded_and_an_empty_token_ends():
    script = Script(([], "a"), ([], ""))
    assert await pages_of(CursorPages(script, marketplace="m", endpoint="e")) == [[], []]
    assert script.asked == [None, "a"]


async def test_a_repeated_token_raises_naming_the_endpoint():
    script = Script(([1], "a"), ([2], "b"), ([3], "a"), ([4], None))
    seen: list[list[int]] = []
    with pytest.raises(PagingError) as caught:
        async for page in CursorPages(script, marketplace="shopify", endpoint="locations"):
            seen.append(page)
    assert seen == [[1], [2], [3]]  # the page with the repeat is still delivered
    assert script.asked == [None, "a", "b"]  # ...but the repeated token is never followed
    err = caught.value
    assert err.marketplace == "shopify" and err.operation == "locations"
    assert "locations paging stopped after 3 pages (repeated page token)" in str(err)


async def test_the_page_budget_stops_endless_fresh_tokens():
    counter = iter(range(100))

    async def endless(token: str | None) -> tuple[list[int], str | None]:
        return [1], f"t{next(counter)}"

    pager = CursorPages(endless, marketplace="tiktok", endpoint="order.search", max_pages=3)
    with pytest.raises(PagingError, match="too many pages, the budget is 3") as caught:
        await pages_of(pager)
    assert pager.pages == 3 and caught.value.operation == "order.search"


async def test_the_budget_can_be_lowered_while_paging():
    script = Script(([1], "a"), ([2], "b"), ([3], "c"))
    pager = CursorPages(script, marketplace="m", endpoint="e")
    assert pager.max_pages == MAX_PAGES
    got = []
    with pytest.raises(PagingError, match="too many pages"):
        async for page in pager:
            got.append(page)
            pager.max_pages = 2
    assert got == [[1], [2]]


def test_a_budget_below_one_page_is_refused():
    with pytest.raises(ValueError):
        CursorPages(Script(), marketplace="m", endpoint="e", max_pages=0)


# ----- every connector loop goes through the helper ---------------------------------------


def fresh_tokens(make: Any) -> Any:
    """A response factory handing out a new token on every call."""
    counter = iter(range(10**6))
    return lambda _request: make(f"token-{next(counter)}")


async def run_tiktok_orders(client: Any) -> None:
    now = datetime.now(UTC)
    async for _ in client.search_orders(update_time_ge=now, update_time_lt=now):
        pass


async def run_shopify_variants(client: Any) -> None:
    async for _ in client.iter_catalog():
        pass


async def run_locations(client: Any) -> None:
    await client.locations()


async def run_amazon_inventory(client: Any) -> None:
    await client.fba_fulfillable(["TEE-S"])


async def run_amazon_search(client: Any) -> None:
    await client.variation_children("PARENT")


LOOPS = [
    (
        "tiktok",
        "/product/202309/products/search",
        "product.search",
        lambda t: tiktok_envelope(
            {"total_count": 3, "next_page_token": t, "products": [{"id": t, "skus": []}]}
        ),
        wire.catalog,
    ),
    (
        "tiktok",
        "/order/202309/orders/search",
        "order.search",
        lambda t: tiktok_envelope({"next_page_token": t, "orders": [{"id": t}]}),
        run_tiktok_orders,
    ),
    (
        "shopify",
        "productVariants",
        "productVariants",
        lambda t: graphql(
            {"productVariants": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": t}}}
        ),
        run_shopify_variants,
    ),
    (
        "shopify",
        "locations",
        "locations",
        lambda t: graphql(
            {"locations": {"nodes": [], "pageInfo": {"hasNextPage": True, "endCursor": t}}}
        ),
        run_locations,
    ),
    (
        "amazon",
        "/fba/inventory/v1/summaries",
        "getInventorySummaries",
        lambda t: httpx.Response(
            200, json={"payload": {"inventorySummaries": []}, "pagination": {"nextToken": t}}
        ),
        run_amazon_inventory,
    ),
    (
        "amazon",
        "/listings/2021-08-01/items/A2SANDBOXSELLER",
        "searchListingsItems",
        lambda t: httpx.Response(200, json={"items": [], "pagination": {"nextToken": t}}),
        run_amazon_search,
    ),
]


@pytest.mark.parametrize(
    ("marketplace", "target", "endpoint", "answer", "run"),
    LOOPS,
    ids=[f"{m}-{e}" for m, _, e, _, _ in LOOPS],
)
async def test_every_connector_loop_is_bounded_by_the_client_page_budget(
    marketplace, target, endpoint, answer, run
):
    client, calls = getattr(wire, marketplace)(FIXTURE, when(target, fresh_tokens(answer)))
    client.max_pages = 4
    async with client:
        with pytest.raises(PagingError, match="too many pages, the budget is 4") as caught:
            await run(client)
    assert caught.value.marketplace == marketplace
    assert caught.value.operation == endpoint
    assert calls.calls[target] == 4
