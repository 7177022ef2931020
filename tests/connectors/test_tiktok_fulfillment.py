"""connectors.tiktok_fulfillment against the TikTok emulator: what is sent (path, query,
signature, token header, body) and how every documented answer is typed."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from connectors import tiktok_fulfillment as tf
from connectors.errors import FatalError, TransientError
from connectors.http import RetryPolicy
from connectors.tiktok import TikTokClient, sign
from sandbox.faults import FaultConfig
from sandbox.fixture import Fixture
from sandbox.server import serve_in_thread
from sandbox.tiktok import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
)
from sandbox.tiktok.loopback import DEFAULT_PROVIDERS, SELLER_OPTION, TIKTOK_OPTION

CIPHER = "ROW_sandboxcipher0001"
WH1 = "7000000000000000001"
SELLER_ORDER, TIKTOK_ORDER = "5760000000000000001", "5760000000000000002"
TEE, MUG = "1729000000000000011", "1729000000000000021"
USPS, UPS = DEFAULT_PROVIDERS[0][0], DEFAULT_PROVIDERS[1][0]
FAST_RETRY = RetryPolicy(attempts=3, timeout=30, wait_initial=0.01, wait_max=0.05, wait_jitter=0)


class Recorder(httpx.AsyncBaseTransport):
    """A real HTTP transport that remembers every request it sends."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def last(self) -> httpx.Request:
        return self.requests[-1]


def query_of(request: httpx.Request) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(str(request.url)).query, keep_blank_values=True))


def assert_signed(request: httpx.Request, path: str, body: Any = None) -> dict[str, str]:
    """The request went to ``path``, signed over exactly its query and body bytes."""
    assert request.url.path == path
    query = query_of(request)
    assert query["app_key"] == DEFAULT_APP_KEY
    assert query["shop_cipher"] == CIPHER
    unsigned = {k: v for k, v in query.items() if k != "sign"}
    assert query["sign"] == sign(DEFAULT_APP_SECRET, path, unsigned, request.content)
    assert request.headers["x-tts-access-token"] == DEFAULT_ACCESS_TOKEN
    if body is None:
        assert request.content == b""
    else:
        assert json.loads(request.content) == body
        assert request.headers["content-type"] == "application/json"
    return query


def fixture() -> Fixture:
    return Fixture.model_validate(
        {
            "tiktok": {
                "warehouses": [{"id": WH1, "name": "Main", "is_default": True}],
                "products": [
                    {
                        "id": "1729000000000000001",
                        "title": "Tee",
                        "skus": [{"id": TEE, "seller_sku": "TEE-S", "inventory": {WH1: 9}}],
                    },
                    {
                        "id": "1729000000000000002",
                        "title": "Mug",
                        "skus": [{"id": MUG, "seller_sku": "MUG", "inventory": {WH1: 9}}],
                    },
                ],
            },
            "orders": [
                {
                    "id": SELLER_ORDER,
                    "lines": [{"seller_sku": "TEE-S", "quantity": 3}, {"seller_sku": "MUG"}],
                },
                {
                    "id": TIKTOK_ORDER,
                    "shipping_type": "TIKTOK",
                    "lines": [{"seller_sku": "MUG", "quantity": 2}],
                },
            ],
        }
    )


class Env:
    def __init__(self, app: Any, base: str) -> None:
        self.app, self.base = app, base
        self.recorder = Recorder()
        self.client = TikTokClient(
            app_key=DEFAULT_APP_KEY,
            app_secret=DEFAULT_APP_SECRET,
            access_token=DEFAULT_ACCESS_TOKEN,
            refresh_token=DEFAULT_REFRESH_TOKEN,
            shop_cipher=CIPHER,
            base_url=base,
            auth_base_url=base,
            rate_scale=0,
            retry=FAST_RETRY,
            transport=self.recorder,
        )
        self.admin = httpx.Client(base_url=base, timeout=10, trust_env=False)

    def set(self, path: str, body: Any, method: str = "POST") -> Any:
        answer = self.admin.request(method, f"/_sandbox/{path}", json=body)
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def order(self, order_id: str) -> tf.OrderShipping:
        (view,) = await tf.get_order_shipping(self.client, [order_id])
        return view


@pytest.fixture
def env() -> Iterator[Env]:
    app = create_app(fixture(), throttle=False)
    with serve_in_thread(app) as base:
        e = Env(app, base)
        yield e
        e.admin.close()


async def collect(pages: AsyncIterator[list[Any]]) -> list[Any]:
    return [item async for page in pages for item in page]


async def test_shipping_providers_and_delivery_options(env: Env) -> None:
    providers = await tf.list_shipping_providers(env.client, SELLER_OPTION)
    path = f"/logistics/202309/delivery_options/{SELLER_OPTION}/shipping_providers"
    assert_signed(env.recorder.last(), path)
    assert env.recorder.last().method == "GET"
    assert tf.ShippingProvider(USPS, "USPS") in providers
    with pytest.raises(tf.TikTokShippingOptionError) as err:
        await tf.list_shipping_providers(env.client, TIKTOK_OPTION)
    assert err.value.code == "21008117"
    options = await tf.list_delivery_options(env.client, WH1)
    assert_signed(env.recorder.last(), f"/logistics/202309/warehouses/{WH1}/delivery_options")
    assert tf.DeliveryOption(SELLER_OPTION, "Standard Shipping", "SEND_BY_SELLER") in options


async def test_multi_unit_lines_shipped_with_explicit_line_ids(env: Env) -> None:
    view = await env.order(SELLER_ORDER)
    assert_signed(env.recorder.last(), "/order/202309/orders")
    assert view.seller_ships and view.delivery_option_id == SELLER_OPTION
    tee = view.line_ids_for_sku(TEE)
    assert len(tee) == 3 and len(set(tee)) == 3  # quantity 3 = three TikTok lines
    assert view.package_ids == () and view.unshipped_line_ids() == tuple(
        line.line_item_id for line in view.lines
    )

    result = await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=tee[:2],
        tracking_number="1Z999AA10123456784",
        shipping_provider_id=UPS,
    )
    assert_signed(
        env.recorder.last(),
        f"/fulfillment/202309/orders/{SELLER_ORDER}/packages",
        {
            "order_line_item_ids": list(tee[:2]),
            "tracking_number": "1Z999AA10123456784",
            "shipping_provider_id": UPS,
        },
    )
    assert result.order_id == SELLER_ORDER and result.line_item_ids == tee[:2]
    assert result.warning is None
    view = await env.order(SELLER_ORDER)
    assert view.status == "PARTIALLY_SHIPPING"
    assert view.package_ids == (result.package_id,)
    assert view.shipped_with(tee[:2], "1Z999AA10123456784")
    assert not view.shipped_with(tee, "1Z999AA10123456784")
    assert view.unshipped_line_ids() == (tee[2], *view.line_ids_for_sku(MUG))
    shipped = {line.line_item_id: line for line in view.lines if line.shipped}
    assert {line.shipping_provider_id for line in shipped.values()} == {UPS}
    assert {line.package_status for line in shipped.values()} == {"PROCESSING"}


async def test_already_shipped_is_distinguishable_and_matches_tiktok_view(env: Env) -> None:
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    kwargs = {"line_item_ids": lines, "tracking_number": "1Z999AA1", "shipping_provider_id": USPS}
    await tf.mark_package_shipped(env.client, SELLER_ORDER, **kwargs)
    with pytest.raises(tf.AlreadyShippedError) as err:
        await tf.mark_package_shipped(env.client, SELLER_ORDER, **kwargs)
    assert err.value.code == "21011006"
    assert isinstance(err.value, FatalError)
    view = await env.order(SELLER_ORDER)
    assert view.status == "AWAITING_COLLECTION"
    assert view.shipped_with(lines, "1Z999AA1")
    assert not view.shipped_with(lines, "1Z999AA2")


@pytest.mark.parametrize(
    ("order_id", "tracking", "provider", "error", "code"),
    [
        (SELLER_ORDER, "1Z999AA1", "7000", tf.InvalidTrackingError, "21011022"),
        (SELLER_ORDER, "1Z 999-AA1", USPS, tf.InvalidTrackingError, "21004012"),
        (TIKTOK_ORDER, "1Z999AA1", USPS, tf.NotSellerShippedError, "21008025"),
    ],
)
async def test_mark_shipped_errors_are_typed(
    env: Env, order_id: str, tracking: str, provider: str, error: type, code: str
) -> None:
    lines = [line.line_item_id for line in (await env.order(order_id)).lines]
    with pytest.raises(error) as err:
        await tf.mark_package_shipped(
            env.client,
            order_id,
            line_item_ids=lines,
            tracking_number=tracking,
            shipping_provider_id=provider,
        )
    assert err.value.code == code
    assert (await env.order(order_id)).status == "AWAITING_SHIPMENT"


async def test_more_mark_shipped_refusals(env: Env) -> None:
    view = await env.order(SELLER_ORDER)
    tee = view.line_ids_for_sku(TEE)
    await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=tee[:1],
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    with pytest.raises(tf.AlreadyShippedError) as err:  # overlapping lines
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=tee,
            tracking_number="1Z2",
            shipping_provider_id=USPS,
        )
    assert err.value.code == "21008099"
    env.set("loopback", {"refuse_split_same_sku": True}, "PUT")
    with pytest.raises(tf.SplitNotAllowedError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=tee[1:2],
            tracking_number="1Z3",
            shipping_provider_id=USPS,
        )
    env.set("loopback", {"market": "SEA", "refuse_split_same_sku": False}, "PUT")
    with pytest.raises(tf.WrongRegionError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=tee[1:],
            tracking_number="1Z4",
            shipping_provider_id=USPS,
        )
    requests_before = len(env.recorder.requests)
    with pytest.raises(ValueError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=tee,
            tracking_number=" ",
            shipping_provider_id=USPS,
        )
    with pytest.raises(ValueError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=(),
            tracking_number="1Z5",
            shipping_provider_id=USPS,
        )
    assert len(env.recorder.requests) == requests_before  # refused before anything is sent


async def test_warning_is_returned(env: Env) -> None:
    env.set("loopback", {"warning_next": "match more than one provider"}, "PUT")
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    result = await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=lines,
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    assert result.warning == "match more than one provider"


async def test_one_correction_then_refused(env: Env) -> None:
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    with pytest.raises(tf.NotShippedYetError):
        await tf.update_order_tracking(
            env.client, SELLER_ORDER, tracking_number="1Z9", shipping_provider_id=UPS
        )
    result = await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=lines,
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    await tf.update_package_tracking(
        env.client, result.package_id, tracking_number="1Z999AA9", shipping_provider_id=UPS
    )
    assert_signed(
        env.recorder.last(),
        f"/fulfillment/202309/packages/{result.package_id}/shipping_info/update",
        {"tracking_number": "1Z999AA9", "shipping_provider_id": UPS},
    )
    package = await tf.get_package(env.client, result.package_id)
    assert_signed(env.recorder.last(), f"/fulfillment/202309/packages/{result.package_id}")
    assert (package.tracking_number, package.shipping_provider_id) == ("1Z999AA9", UPS)
    assert package.line_item_ids == lines and package.order_ids == (SELLER_ORDER,)
    with pytest.raises(tf.CorrectionRefusedError) as err:
        await tf.update_package_tracking(
            env.client, result.package_id, tracking_number="1Z999AB0", shipping_provider_id=UPS
        )
    assert err.value.code == "21011051"
    with pytest.raises(tf.CorrectionRefusedError):
        await tf.update_order_tracking(
            env.client, SELLER_ORDER, tracking_number="1Z999AB0", shipping_provider_id=UPS
        )
    assert_signed(
        env.recorder.last(),
        f"/fulfillment/202309/orders/{SELLER_ORDER}/shipping_info/update",
        {"tracking_number": "1Z999AB0", "shipping_provider_id": UPS},
    )


async def test_correction_window_and_delivered(env: Env) -> None:
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    result = await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=lines,
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    env.set("loopback/advance", {"seconds": 72 * 3600 + 1})
    with pytest.raises(tf.CorrectionRefusedError) as err:
        await tf.update_package_tracking(
            env.client, result.package_id, tracking_number="1Z2", shipping_provider_id=USPS
        )
    assert err.value.code == "21011049"
    env.set("loopback/advance", {"package_id": result.package_id})
    assert (await env.order(SELLER_ORDER)).status == "IN_TRANSIT"
    env.set("loopback/advance", {"package_id": result.package_id})
    view = await env.order(SELLER_ORDER)
    assert view.status == "DELIVERED"
    assert {line.package_status for line in view.lines} == {"COMPLETED"}
    with pytest.raises(tf.PackageDeliveredError):
        await tf.update_package_tracking(
            env.client, result.package_id, tracking_number="1Z2", shipping_provider_id=USPS
        )


async def test_tiktok_shipped_order_refuses_seller_shipping(env: Env) -> None:
    view = await env.order(TIKTOK_ORDER)
    assert not view.seller_ships and view.shipping_type == "TIKTOK"
    with pytest.raises(tf.NotSellerShippedError):
        await tf.update_order_tracking(
            env.client, TIKTOK_ORDER, tracking_number="1Z1", shipping_provider_id=USPS
        )
    with pytest.raises(tf.TikTokShippingOptionError):
        await tf.list_shipping_providers(env.client, view.delivery_option_id or "")


async def test_ship_package_and_batch_where_packages_pre_exist(env: Env) -> None:
    env.set("loopback", {"market": "SEA"}, "PUT")
    (other,) = env.set("orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]})["ids"]
    (first,) = (await env.order(SELLER_ORDER)).package_ids
    (second,) = (await env.order(other)).package_ids
    await tf.ship_package(env.client, first, tracking_number="1Z1", shipping_provider_id=UPS)
    assert_signed(
        env.recorder.last(),
        f"/fulfillment/202309/packages/{first}/ship",
        {"self_shipment": {"tracking_number": "1Z1", "shipping_provider_id": UPS}},
    )
    assert (await env.order(SELLER_ORDER)).status == "AWAITING_COLLECTION"
    with pytest.raises(tf.AlreadyShippedError) as err:
        await tf.ship_package(env.client, first, tracking_number="1Z1", shipping_provider_id=UPS)
    assert err.value.code == "21011040"
    with pytest.raises(tf.PackageNotFoundError):
        await tf.get_package(env.client, "42")
    failures = await tf.batch_ship_packages(
        env.client,
        [
            tf.PackageShipment(first, "1Z1", UPS),
            tf.PackageShipment(second, "1Z2", UPS),
        ],
    )
    assert_signed(
        env.recorder.last(),
        "/fulfillment/202309/packages/ship",
        {
            "packages": [
                {
                    "id": first,
                    "self_shipment": {"tracking_number": "1Z1", "shipping_provider_id": UPS},
                },
                {
                    "id": second,
                    "self_shipment": {"tracking_number": "1Z2", "shipping_provider_id": UPS},
                },
            ]
        },
    )
    assert [(f.package_id, f.code) for f in failures] == [(first, "21011040")]
    assert isinstance(failures[0].error, tf.AlreadyShippedError)
    assert (await env.order(other)).status == "AWAITING_COLLECTION"


async def test_search_packages_pages(env: Env) -> None:
    env.set("loopback", {"market": "SEA"}, "PUT")
    env.set("orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]} for _ in range(4)]})
    now = datetime.now(UTC)
    packages = await collect(
        tf.search_packages(
            env.client,
            update_time_ge=now - timedelta(hours=1),
            update_time_lt=now + timedelta(hours=1),
            page_size=2,
        )
    )
    searches = [r for r in env.recorder.requests if r.url.path.endswith("/packages/search")]
    assert len(searches) == 3  # 5 packages, 2 per page
    query = assert_signed(
        searches[0],
        "/fulfillment/202309/packages/search",
        {
            "update_time_ge": int((now - timedelta(hours=1)).timestamp()),
            "update_time_lt": int((now + timedelta(hours=1)).timestamp()),
        },
    )
    assert (query["page_size"], query["sort_field"], query["sort_order"]) == (
        "2",
        "update_time",
        "ASC",
    )
    assert "page_token" in query_of(searches[1])
    assert len({p.package_id for p in packages}) == 5
    assert {p.status for p in packages} == {"TO_FULFILL"}


async def test_buyer_request_found_and_approved(env: Env) -> None:
    made = env.set(f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel"})
    view = await env.order(SELLER_ORDER)
    assert view.is_buyer_request_cancel and view.request_cancel_time is not None
    (request,) = await collect(
        tf.search_cancellations(
            env.client, order_ids=[SELLER_ORDER], cancel_status=["CANCELLATION_REQUEST_PENDING"]
        )
    )
    query = assert_signed(
        env.recorder.last(),
        "/return_refund/202309/cancellations/search",
        {"order_ids": [SELLER_ORDER], "cancel_status": ["CANCELLATION_REQUEST_PENDING"]},
    )
    assert query["sort_field"] == "update_time"
    assert request.cancel_id == made["cancel_id"] and request.pending
    assert request.cancel_type == "BUYER_CANCEL" and request.role == "BUYER"
    assert request.deadline == datetime.fromtimestamp(made["deadline"], UTC)
    assert request.line_item_ids == tuple(line.line_item_id for line in view.lines)
    await tf.approve_cancellation(env.client, request.cancel_id, idempotency_key="approve-1")
    q = assert_signed(
        env.recorder.last(),
        f"/return_refund/202309/cancellations/{request.cancel_id}/approve",
        {},
    )
    assert q["idempotency_key"] == "approve-1"
    view = await env.order(SELLER_ORDER)
    assert view.cancelled and view.cancellation_initiator == "BUYER"
    with pytest.raises(tf.CancellationStateError):
        await tf.approve_cancellation(env.client, request.cancel_id, idempotency_key="approve-2")
    with pytest.raises(tf.CancellationNotFoundError):
        await tf.approve_cancellation(env.client, "1", idempotency_key="approve-3")


async def test_request_closed_by_shipping_and_reject(env: Env) -> None:
    env.set(f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel"})
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=lines,
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    (closed,) = await collect(tf.search_cancellations(env.client, order_ids=[SELLER_ORDER]))
    assert closed.withdrawn
    with pytest.raises(tf.CancellationClosedError):
        await tf.approve_cancellation(env.client, closed.cancel_id, idempotency_key="k")
    (other,) = env.set("orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]})["ids"]
    made = env.set(f"orders/{other}/loopback", {"action": "request_cancel"})
    with pytest.raises(tf.CancelReasonError):
        await tf.reject_cancellation(
            env.client, made["cancel_id"], reject_reason="because", idempotency_key="r1"
        )
    reason = "seller_reject_apply_product_has_been_packed"
    await tf.reject_cancellation(
        env.client, made["cancel_id"], reject_reason=reason, idempotency_key="r2"
    )
    assert_signed(
        env.recorder.last(),
        f"/return_refund/202309/cancellations/{made['cancel_id']}/reject",
        {"reject_reason": reason},
    )
    (rejected,) = await collect(tf.search_cancellations(env.client, cancel_ids=[made["cancel_id"]]))
    assert rejected.withdrawn and (await env.order(other)).status == "AWAITING_SHIPMENT"


async def test_seller_cancel_and_system_cancel(env: Env) -> None:
    with pytest.raises(tf.CancelReasonError):
        await tf.cancel_order(env.client, SELLER_ORDER, cancel_reason="nope")
    result = await tf.cancel_order(
        env.client, SELLER_ORDER, cancel_reason="seller_cancel_reason_out_of_stock"
    )
    assert_signed(
        env.recorder.last(),
        "/return_refund/202309/cancellations",
        {"order_id": SELLER_ORDER, "cancel_reason": "seller_cancel_reason_out_of_stock"},
    )
    assert result.cancel_status == "CANCELLATION_REQUEST_SUCCESS"
    with pytest.raises(tf.CancellationClosedError):
        await tf.cancel_order(
            env.client, SELLER_ORDER, cancel_reason="seller_cancel_reason_out_of_stock"
        )
    with pytest.raises(tf.OrderCancelledError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=[line.line_item_id for line in (await env.order(SELLER_ORDER)).lines],
            tracking_number="1Z1",
            shipping_provider_id=USPS,
        )
    (other,) = env.set("orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]})["ids"]
    env.set(f"orders/{other}/loopback", {"action": "cancel", "role": "SYSTEM", "reason": "late"})
    view = await env.order(other)
    assert (view.status, view.cancellation_initiator, view.cancel_reason) == (
        "CANCELLED",
        "SYSTEM",
        "late",
    )
    assert view.cancel_time is not None
    (rec,) = await collect(tf.search_cancellations(env.client, order_ids=[other]))
    assert (rec.cancel_type, rec.role, rec.cancel_status) == (
        "CANCEL",
        "SYSTEM",
        "CANCELLATION_REQUEST_COMPLETE",
    )


async def test_cancel_after_shipment_is_typed(env: Env) -> None:
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=lines,
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    with pytest.raises(tf.CancelAfterShipmentError):
        await tf.cancel_order(
            env.client, SELLER_ORDER, cancel_reason="seller_cancel_reason_out_of_stock"
        )


async def test_transient_fulfilment_codes_and_unknown_codes(env: Env) -> None:
    base = FatalError("x", marketplace="tiktok", operation="op", code="21008300")
    assert isinstance(tf._typed(base), TransientError)
    other = FatalError("x", marketplace="tiktok", operation="op", code="99999999")
    assert tf._typed(other) is other
    assert tf.ERROR_FOR_CODE[21011020] is tf.AlreadyShippedError
    assert tf.ERROR_FOR_CODE[21011004] is tf.NotSellerShippedError
    assert tf.ERROR_FOR_CODE[21011052] is tf.CorrectionRefusedError


async def test_line_level_states_are_read(env: Env) -> None:
    raw = {
        "id": "1",
        "status": "AWAITING_SHIPMENT",
        "shipping_type": "SELLER",
        "line_items": [
            {
                "id": "11",
                "sku_id": "s",
                "display_status": "CANCELLED",
                "cancel_user": "SELLER",
                "cancel_reason": "Out of stock",
            },
            {"id": "12", "sku_id": "s", "display_status": "AWAITING_SHIPMENT"},
        ],
    }
    view = tf.parse_order_shipping(raw)
    assert view.cancelled_line_ids() == ("11",)
    assert view.unshipped_line_ids() == ("12",)
    assert view.lines[0].cancel_user == "SELLER" and view.lines[0].cancel_reason == "Out of stock"


async def test_cancel_eligibility_and_sla_times(env: Env) -> None:
    view = await env.order(SELLER_ORDER)
    assert view.rts_sla_time is not None and view.cancel_order_sla_time is not None
    assert view.rts_sla_time < view.cancel_order_sla_time
    rows = await tf.get_cancel_eligibility(env.client, SELLER_ORDER)
    query = assert_signed(
        env.recorder.last(), f"/return_refund/202309/orders/{SELLER_ORDER}/aftersale_eligibility"
    )
    assert query["initiate_aftersale_user"] == "SELLER"
    by_sku = {r.sku_id: r for r in rows}
    assert by_sku[TEE].eligible and by_sku[TEE].line_item_ids == view.line_ids_for_sku(TEE)
    await tf.mark_package_shipped(
        env.client,
        SELLER_ORDER,
        line_item_ids=view.line_ids_for_sku(MUG),
        tracking_number="1Z1",
        shipping_provider_id=USPS,
    )
    by_sku = {r.sku_id: r for r in await tf.get_cancel_eligibility(env.client, SELLER_ORDER)}
    assert not by_sku[MUG].eligible and by_sku[MUG].ineligible_code == "25001045"


async def test_lost_answer_then_already_shipped_matches_tiktok_view(env: Env) -> None:
    """The ship call is applied but its answer is lost: the retries answer "already
    shipped", and TikTok's view shows our tracking, so the caller can count it as done."""
    lines = (await env.order(SELLER_ORDER)).unshipped_line_ids()
    env.app.state.faults.configure(
        FaultConfig(drop_after_commit_rate=1.0, operations=["fulfillment.mark_shipped"])
    )
    with pytest.raises(TransientError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=lines,
            tracking_number="1Z1",
            shipping_provider_id=USPS,
        )
    assert env.app.state.faults.stats.requests["fulfillment.mark_shipped"] == 3  # retried
    env.app.state.faults.configure(FaultConfig())
    with pytest.raises(tf.AlreadyShippedError):
        await tf.mark_package_shipped(
            env.client,
            SELLER_ORDER,
            line_item_ids=lines,
            tracking_number="1Z1",
            shipping_provider_id=USPS,
        )
    view = await env.order(SELLER_ORDER)
    assert view.shipped_with(lines, "1Z1") and len(view.package_ids) == 1
