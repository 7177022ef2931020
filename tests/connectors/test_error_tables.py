"""Each marketplace's error table: body code -> error class, through the connector's check.

The checks are pure classification: Shopify's cost bucket is learnt by the separate
``observe`` hook of the HTTP layer, which sees failed answers too.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from connectors import amazon, shopify, tiktok
from connectors.errors import (
    ApiError,
    AuthError,
    FatalError,
    MalformedResponseError,
    ThrottledError,
    TransientError,
)
from connectors.http import HttpLayer, RetryPolicy


def caught(check: Any, response: httpx.Response, operation: str = "op") -> ApiError:
    with pytest.raises(ApiError) as info:
        check(response, operation)
    return info.value


def tiktok_answer(code: int, status: int = 200, **extra: Any) -> httpx.Response:
    body = {"code": code, "message": "m", "request_id": "rid", **extra}
    return httpx.Response(status, json=body)


# ----- TikTok -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [(36009002, ThrottledError), (36009003, TransientError), (36009007, TransientError),
     (105002, AuthError), (106001, AuthError), (36004001, AuthError), (12052180, FatalError)],
)  # fmt: skip
def test_tiktok_table(code, expected):
    assert tiktok.ERRORS.codes.get(str(code), tiktok.ERRORS.default) is expected
    error = caught(tiktok.check, tiktok_answer(code))
    assert type(error) is expected
    assert (error.code, error.request_id, error.status) == (str(code), "rid", 200)


def test_tiktok_status_beats_codes_only_when_retrying_helps():
    assert type(caught(tiktok.check, tiktok_answer(105002, 429))) is ThrottledError
    assert type(caught(tiktok.check, tiktok_answer(105002, 503))) is TransientError
    # an unknown code on a 401 stays a business rejection, as the envelope says
    assert type(caught(tiktok.check, tiktok_answer(999, 401))) is FatalError


def test_tiktok_answers_without_envelope():
    assert type(caught(tiktok.check, httpx.Response(429, text="busy"))) is ThrottledError
    assert type(caught(tiktok.check, httpx.Response(502, text="bad gw"))) is TransientError
    assert type(caught(tiktok.check, httpx.Response(401, text="no"))) is FatalError
    assert type(caught(tiktok.check, httpx.Response(200, text="<html>"))) is MalformedResponseError
    tiktok.check(tiktok_answer(0), "op")  # success


# ----- Shopify ------------------------------------------------------------------------------


def graphql_errors(*codes: str | None, cost: dict[str, Any] | None = None) -> httpx.Response:
    errors = [{"message": f"e{i}", "extensions": {"code": c}} for i, c in enumerate(codes)]
    body: dict[str, Any] = {"errors": errors}
    if cost:
        body["extensions"] = {"cost": cost}
    return httpx.Response(200, json=body, headers={"x-request-id": "sid"})


COST = {
    "requestedQueryCost": 500,
    "throttleStatus": {"maximumAvailable": 2000, "currentlyAvailable": 300, "restoreRate": 100},
}


@pytest.mark.parametrize(
    ("code", "expected"),
    [("THROTTLED", ThrottledError), ("ACCESS_DENIED", AuthError),
     ("INTERNAL_SERVER_ERROR", TransientError), ("MAX_COST_EXCEEDED", FatalError),
     (None, FatalError)],
)  # fmt: skip
def test_shopify_table(code, expected):
    error = caught(shopify.check, graphql_errors(code))
    assert type(error) is expected and error.code == code and error.request_id == "sid"


def test_shopify_throttled_waits_what_the_bucket_needs_and_any_code_throttled_wins():
    error = caught(shopify.check, graphql_errors("ACCESS_DENIED", "THROTTLED", cost=COST))
    assert type(error) is ThrottledError and error.retry_after == pytest.approx(2.0)


@pytest.mark.parametrize(
    ("status", "expected"),
    [(401, AuthError), (403, AuthError), (429, ThrottledError), (500, TransientError),
     (404, FatalError), (302, FatalError)],
)  # fmt: skip
def test_shopify_http_statuses(status, expected):
    response = httpx.Response(status, json={"errors": "Invalid API key"})
    error = caught(shopify.check, response)
    assert type(error) is expected and error.status == status


async def test_shopify_check_leaves_the_pacer_alone_and_observe_learns_from_errors():
    client = shopify.ShopifyClient(
        endpoint_url="https://s.myshopify.com/admin/api/2026-04/graphql.json", access_token="t"
    )
    try:
        answer = graphql_errors("THROTTLED", cost=COST)
        caught(shopify.check, answer, "productVariants")
        assert client._pacer.maximum is None and client.last_cost is None
        client._observe_cost(answer, "productVariants")
        assert client._pacer.maximum == 2000 and client._pacer.available == 300
        assert client._expected["productVariants"] == 500
    finally:
        await client.aclose()


async def test_http_layer_observes_every_answer_before_checking_it():
    answers = iter([httpx.Response(503), httpx.Response(404)])
    seen: list[tuple[int, str]] = []
    http = HttpLayer(
        marketplace="m",
        base_url="https://x.test",
        transport=httpx.MockTransport(lambda _: next(answers)),
        retry=RetryPolicy(attempts=3, wait_initial=0.0, wait_max=0.0, wait_jitter=0.0),
    )
    async with http:
        with pytest.raises(FatalError):
            await http.send(
                "op",
                lambda: http.client.build_request("GET", "/"),
                observe=lambda r, op: seen.append((r.status_code, op)),
            )
    assert seen == [(503, "op"), (404, "op")]


# ----- Amazon -------------------------------------------------------------------------------


def sp_error(status: int, code: str, details: str = "") -> httpx.Response:
    entry = {"code": code, "message": "msg", **({"details": details} if details else {})}
    return httpx.Response(status, json={"errors": [entry]}, headers={"x-amzn-RequestId": "aid"})


@pytest.mark.parametrize(
    ("status", "code", "expected"),
    [(429, "QuotaExceeded", ThrottledError), (403, "Unauthorized", AuthError),
     (403, "MissingAuthenticationToken", AuthError), (500, "InternalFailure", TransientError),
     (503, "ServiceUnavailable", TransientError), (400, "InvalidInput", FatalError),
     (404, "NOT_FOUND", FatalError)],
)  # fmt: skip
def test_amazon_table(status, code, expected):
    error = caught(amazon.check_response, sp_error(status, code, "d"))
    assert type(error) is expected
    assert (error.status, error.code, error.request_id) == (status, code, "aid")
    assert error.message == "msg; d"


def test_amazon_403_without_details_hints_at_path_encoding():
    error = caught(amazon.check_response, sp_error(403, "Unauthorized"))
    assert type(error) is AuthError and "check encoding" in error.message


@pytest.mark.parametrize(
    ("status", "expected"),
    [(400, AuthError), (401, AuthError), (429, ThrottledError), (500, TransientError)],
)
def test_amazon_login_failures_are_auth_unless_retrying_helps(status, expected):
    response = httpx.Response(
        status, json={"error": "invalid_grant", "error_description": "bad refresh token"}
    )
    error = caught(amazon.check_response, response, "lwaToken")
    assert type(error) is expected and error.code == "invalid_grant"
    assert error.message == "bad refresh token"
    # the same 400 on an SP-API operation is a plain rejection
    assert type(caught(amazon.check_response, sp_error(400, "invalid_grant"))) is FatalError
