"""The shared HTTP layer: retries, Retry-After, write safety, rate limiters, redaction."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import stamina._core
from aiolimiter import AsyncLimiter

from connectors.errors import (
    AuthError,
    FatalError,
    MalformedResponseError,
    OutcomeUnknownError,
    ThrottledError,
    TransientError,
)
from connectors.http import (
    ErrorTable,
    HttpLayer,
    RateLimit,
    RetryPolicy,
    api_error,
    error_class,
    json_bytes,
    parse_json,
    status_class,
)
from connectors.redact import register_secret

Handler = Callable[[httpx.Request], httpx.Response]


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Record stamina's backoff waits instead of sleeping (no wall clock in these tests)."""
    waited: list[float] = []

    async def fake_sleep(delay: float) -> None:
        waited.append(delay)

    monkeypatch.setattr(stamina._core, "_smart_sleep", fake_sleep)
    return waited


class Script:
    """A MockTransport handler answering from a list of steps (response or exception)."""

    def __init__(self, *steps: httpx.Response | type[Exception]) -> None:
        self.steps = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]
        if isinstance(step, type):
            raise step("scripted failure", request=request)  # type: ignore[call-arg]
        return step


def layer(script: Script, **kwargs) -> HttpLayer:
    kwargs.setdefault("retry", RetryPolicy(attempts=4, wait_initial=0.01, wait_max=0.5))
    return HttpLayer(
        marketplace="testmarket",
        base_url="https://api.example.test",
        transport=httpx.MockTransport(script),
        **kwargs,
    )


def get(http: HttpLayer) -> Callable[[], httpx.Request]:
    return lambda: http.client.build_request("GET", "/things")


async def test_retries_5xx_then_succeeds(sleeps):
    script = Script(httpx.Response(503), httpx.Response(500), httpx.Response(200, json={"ok": 1}))
    async with layer(script) as http:
        response = await http.send("things.list", get(http))
    assert response.json() == {"ok": 1}
    assert len(script.requests) == 3 and http.calls["things.list"] == 3
    assert len(sleeps) == 2 and all(0 < s <= 0.5 + 0.5 for s in sleeps)


async def test_429_retry_after_is_honoured(sleeps):
    script = Script(
        httpx.Response(429, headers={"Retry-After": "7"}, text="slow down"),
        httpx.Response(200, json={}),
    )
    async with layer(script, retry=RetryPolicy(attempts=3, wait_max=5.0)) as http:
        await http.send("things.list", get(http))
    assert sleeps == [7.0]  # the server's wait, not the exponential backoff
    assert len(script.requests) == 2


async def test_gives_up_after_the_configured_attempts(sleeps):
    script = Script(httpx.Response(503, text="down"))
    async with layer(script, retry=RetryPolicy(attempts=3, wait_max=0.1)) as http:
        with pytest.raises(TransientError) as caught:
            await http.send("things.list", get(http))
    assert len(script.requests) == 3
    assert caught.value.status == 503 and caught.value.operation == "things.list"


@pytest.mark.parametrize(("status", "error"), [(400, FatalError), (404, FatalError),
                                               (401, AuthError), (403, AuthError)])  # fmt: skip
async def test_4xx_is_not_retried(sleeps, status, error):
    script = Script(httpx.Response(status, text="bad request"))
    async with layer(script) as http:
        with pytest.raises(error) as caught:
            await http.send("things.list", get(http))
    assert len(script.requests) == 1 and sleeps == []
    assert caught.value.status == status and not caught.value.retriable


async def test_dropped_connection_on_a_write_is_outcome_unknown(sleeps):
    script = Script(httpx.RemoteProtocolError, httpx.Response(201, json={"id": 1}))
    async with layer(script) as http:
        with pytest.raises(OutcomeUnknownError) as caught:
            await http.send(
                "order.create",
                lambda: http.client.build_request("POST", "/orders", content=b"{}"),
                idempotent=False,
            )
    assert len(script.requests) == 1  # never re-sent blindly
    assert "look the result up" in str(caught.value)


async def test_dropped_connection_on_a_read_is_retried(sleeps):
    script = Script(httpx.RemoteProtocolError, httpx.ReadTimeout, httpx.Response(200))
    async with layer(script) as http:
        response = await http.send("things.list", get(http))
    assert response.status_code == 200 and len(script.requests) == 3


async def test_connect_failure_on_a_write_is_retried(sleeps):
    script = Script(httpx.ConnectError, httpx.ConnectTimeout, httpx.Response(201))
    async with layer(script) as http:
        response = await http.send(
            "order.create",
            lambda: http.client.build_request("POST", "/orders", content=b"{}"),
            idempotent=False,
        )
    assert response.status_code == 201 and len(script.requests) == 3


async def test_write_5xx_is_outcome_unknown_but_429_is_retried(sleeps):
    def post(http: HttpLayer) -> Callable[[], httpx.Request]:
        return lambda: http.client.build_request("POST", "/orders", content=b"{}")

    script = Script(httpx.Response(502))
    async with layer(script) as http:
        with pytest.raises(OutcomeUnknownError):
            await http.send("order.create", post(http), idempotent=False)
    assert len(script.requests) == 1

    script = Script(httpx.Response(429), httpx.Response(201))
    async with layer(script) as http:
        response = await http.send("order.create", post(http), idempotent=False)
    assert response.status_code == 201 and len(script.requests) == 2


async def test_request_is_rebuilt_for_every_attempt(sleeps):
    script = Script(httpx.Response(503), httpx.Response(503), httpx.Response(200))
    built: list[int] = []

    def build() -> httpx.Request:
        built.append(len(built) + 1)
        return http.client.build_request("GET", "/things", params={"attempt": len(built)})

    async with layer(script) as http:
        await http.send("things.list", build)
    assert built == [1, 2, 3]
    assert [r.url.params["attempt"] for r in script.requests] == ["1", "2", "3"]


async def test_custom_check_decides_success(sleeps):
    def check(response: httpx.Response, operation: str) -> None:
        if response.json().get("code") == 36009009:
            raise ThrottledError("app throttled", marketplace="testmarket", operation=operation)

    script = Script(httpx.Response(200, json={"code": 36009009}), httpx.Response(200, json={}))
    async with layer(script) as http:
        await http.send("things.list", get(http), check=check)
    assert len(script.requests) == 2


def test_rate_limiters_per_operation_and_off_when_scale_is_zero():
    script = Script(httpx.Response(200))
    rates = {"slow": RateLimit(rate=2.0, burst=4), "fast": RateLimit(rate=50.0)}
    http = layer(script, rates=rates, default_rate=RateLimit(rate=10.0))
    slow, fast, other = http.limiter("slow"), http.limiter("fast"), http.limiter("other")
    assert isinstance(slow, AsyncLimiter) and isinstance(fast, AsyncLimiter)
    assert slow is http.limiter("slow") and slow is not fast
    assert (slow.max_rate, slow.time_period) == (4, 2.0)  # 4 per 2 s = 2/s, bucket of 4
    assert (fast.max_rate, fast.time_period) == (1, pytest.approx(0.02))
    assert other is not None and other.time_period == pytest.approx(0.1)

    scaled = layer(script, rates=rates, rate_scale=10)
    assert scaled.limiter("slow").time_period == pytest.approx(0.2)
    assert scaled.limiter("unknown") is None  # no default rate: unlimited
    for off in (0, -1):
        assert layer(script, rates=rates, rate_scale=off).limiter("slow") is None


async def test_secrets_are_redacted_from_error_text(sleeps):
    secret = "sk_live_verysecretvalue_42"
    register_secret(secret)
    body = f'{{"error": "token {secret} is invalid", "access_token": "tok-abc-123"}}'
    script = Script(httpx.Response(400, text=body))
    async with layer(script) as http:
        with pytest.raises(FatalError) as caught:
            await http.send("things.list", get(http))
    text = str(caught.value)
    assert secret not in text and "tok-abc-123" not in text
    assert "***" in text and "is invalid" in text


def test_json_helpers():
    assert json_bytes({"a": 1, "b": "é"}) == '{"a":1,"b":"é"}'.encode()
    response = httpx.Response(200, content=b'{"truncated": [1, 2')
    with pytest.raises(MalformedResponseError) as caught:
        parse_json(response, marketplace="testmarket", operation="things.list")
    assert caught.value.retriable


# ----- the one status ladder and the code tables ---------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [(200, None), (302, None), (400, FatalError), (401, AuthError), (403, AuthError),
     (404, FatalError), (429, ThrottledError), (500, TransientError), (503, TransientError)],
)  # fmt: skip
def test_status_ladder(status, expected):
    assert status_class(status) is expected


def test_error_class_retriable_wins_then_code_then_status():
    table = ErrorTable(codes={"SLOW": ThrottledError, "AUTH": AuthError, "FLAKY": TransientError})
    assert error_class(400, "SLOW", table) is ThrottledError
    assert error_class(429, "AUTH", table) is ThrottledError  # a 429 is never "fix your keys"
    assert error_class(500, "AUTH", table) is TransientError
    assert error_class(200, "FLAKY", table) is TransientError
    assert error_class(200, "AUTH", table) is AuthError
    assert error_class(404, "AUTH", table) is AuthError
    assert error_class(401, "OTHER", table) is AuthError  # unknown code: the status decides
    assert error_class(200, "OTHER", table) is FatalError  # nothing classifies it: fatal
    strict = ErrorTable(default=FatalError)
    assert error_class(401, None, strict) is FatalError
    assert error_class(503, None, strict) is TransientError


def test_api_error_builds_without_side_effects():
    response = httpx.Response(429, headers={"Retry-After": "3"})
    first = api_error(response, "things.list", marketplace="m", code="Q", request_id="r1")
    second = api_error(response, "things.list", marketplace="m", code="Q", request_id="r1")
    assert type(first) is ThrottledError and first is not second
    assert (first.status, first.code, first.request_id, first.retry_after) == (429, "Q", "r1", 3.0)
    assert first.message == "rate limited"  # the default text of the class
    explicit = api_error(response, "op", marketplace="m", retry_after=9.0)
    assert explicit.retry_after == 9.0
    fatal = api_error(httpx.Response(404, headers={"Retry-After": "3"}), "op", marketplace="m")
    assert type(fatal) is FatalError and fatal.retry_after is None
    assert fatal.message == "request rejected"
