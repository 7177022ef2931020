"""The TikTok emulator's loop-back surface: providers, packages, shipping, corrections,
cancellations. Requests are built by hand (signed like the real API) and sent over loopback
HTTP, so these tests pin the wire contract the connector is then tested against.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from sandbox.fixture import Fixture
from sandbox.server import serve_in_thread
from sandbox.tiktok import create_app
from sandbox.tiktok.loopback import SELLER_OPTION, TIKTOK_OPTION
from tests.tiktok_api import SignedApi
from tests.tiktok_loopback_shop import (
    MUG,
    SELLER_ORDER,
    TEE,
    TIKTOK_ORDER,
    UPS,
    USPS,
    WH1,
    loopback_shop,
)

HOLD_ORDER = "5760000000000000003"


def fixture() -> Fixture:
    """The loop-back shop plus an order on hold."""
    return loopback_shop({"id": HOLD_ORDER, "status": "ON_HOLD", "lines": [{"seller_sku": "MUG"}]})


class Api(SignedApi):
    """The signed client, answers read as JSON, plus the loop-back calls these tests make."""

    def answer(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        return self.call(method, path, **kwargs).json()

    def ok(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        answer = self.answer(method, path, **kwargs)
        assert answer["code"] == 0, answer
        return answer["data"]

    def code(self, method: str, path: str, **kwargs: Any) -> int:
        return self.answer(method, path, **kwargs)["code"]

    def order(self, order_id: str) -> dict[str, Any]:
        return self.ok("GET", "/order/202309/orders", params={"ids": order_id})["orders"][0]

    def lines(self, order_id: str, sku_id: str | None = None) -> list[str]:
        return [
            line["id"]
            for line in self.order(order_id)["line_items"]
            if sku_id is None or line["sku_id"] == sku_id
        ]

    def mark(self, order_id: str, lines: list[str], tracking: str, provider: str = USPS) -> Any:
        return self.answer(
            "POST",
            f"/fulfillment/202309/orders/{order_id}/packages",
            body={
                "order_line_item_ids": lines,
                "tracking_number": tracking,
                "shipping_provider_id": provider,
            },
        )


@pytest.fixture
def api() -> Iterator[Api]:
    app = create_app(fixture(), throttle=False)
    with serve_in_thread(app) as base:
        client = Api(base, app)
        yield client
        client.http.close()


def test_shipping_providers_per_delivery_option(api: Api) -> None:
    order = api.order(SELLER_ORDER)
    assert order["delivery_option_id"] == SELLER_OPTION
    data = api.ok("GET", f"/logistics/202309/delivery_options/{SELLER_OPTION}/shipping_providers")
    assert {"id": USPS, "name": "USPS"} in data["shipping_providers"]
    assert api.order(TIKTOK_ORDER)["delivery_option_id"] == TIKTOK_OPTION
    path = f"/logistics/202309/delivery_options/{TIKTOK_OPTION}/shipping_providers"
    assert api.code("GET", path) == 21008117
    path = "/logistics/202309/delivery_options/123/shipping_providers"
    assert api.code("GET", path) == 21008116
    options = api.ok("GET", f"/logistics/202309/warehouses/{WH1}/delivery_options")
    assert {o["type"] for o in options["delivery_options"]} == {"SEND_BY_SELLER", "STANDARD"}


def test_requests_are_signed_and_checked(api: Api) -> None:
    path = f"/logistics/202309/delivery_options/{SELLER_OPTION}/shipping_providers"
    assert api.code("GET", path, sign="0" * 64) == 106001
    lines = api.lines(SELLER_ORDER)
    body = {"order_line_item_ids": lines, "tracking_number": "1Z999", "shipping_provider_id": UPS}
    path = f"/fulfillment/202309/orders/{SELLER_ORDER}/packages"
    assert api.code("POST", path, body=body, sign="0" * 64) == 106001
    assert api.order(SELLER_ORDER)["status"] == "AWAITING_SHIPMENT"


def test_us_order_has_no_package_until_marked_shipped_per_unit(api: Api) -> None:
    order = api.order(SELLER_ORDER)
    assert order["packages"] == []
    assert all("package_id" not in line for line in order["line_items"])
    tee = api.lines(SELLER_ORDER, TEE)
    assert len(tee) == 3 and len(set(tee)) == 3  # one line per unit

    first = api.mark(SELLER_ORDER, tee[:2], "9400111899223197428490")
    assert first["code"] == 0
    data = first["data"]
    assert data["order_id"] == SELLER_ORDER and data["order_line_item_ids"] == tee[:2]
    order = api.order(SELLER_ORDER)
    assert order["status"] == "PARTIALLY_SHIPPING"
    assert order["packages"] == [{"id": data["package_id"]}]
    by_id = {line["id"]: line for line in order["line_items"]}
    for line_id in tee[:2]:
        line = by_id[line_id]
        assert line["package_id"] == data["package_id"]
        assert line["package_status"] == "PROCESSING"
        assert line["tracking_number"] == "9400111899223197428490"
        assert line["shipping_provider_id"] == USPS
        assert line["display_status"] == "AWAITING_COLLECTION"
    assert by_id[tee[2]]["display_status"] == "AWAITING_SHIPMENT"

    rest = [tee[2], *api.lines(SELLER_ORDER, MUG)]
    assert api.mark(SELLER_ORDER, rest, "1Z999AA10123456784", UPS)["code"] == 0
    order = api.order(SELLER_ORDER)
    assert order["status"] == "AWAITING_COLLECTION"
    assert len(order["packages"]) == 2
    assert [s for s, _ in api.app.state.emulator.orders[SELLER_ORDER].history] == [
        "AWAITING_SHIPMENT",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
    ]
    # A retried call: every line already shipped -> 21011006; overlapping -> 21008099.
    assert api.mark(SELLER_ORDER, tee[:2], "9400111899223197428490")["code"] == 21011006


def test_mark_shipped_errors(api: Api) -> None:
    tee = api.lines(SELLER_ORDER, TEE)
    assert api.mark(SELLER_ORDER, tee, "1Z999AA1", "7000")["code"] == 21011022
    assert api.mark(SELLER_ORDER, tee, "1Z-999 AA1")["code"] == 21004012
    assert api.mark(SELLER_ORDER, ["1"], "1Z999AA1")["code"] == 21001001
    assert api.mark(SELLER_ORDER, [], "1Z999AA1")["code"] == 21001001
    assert api.mark(TIKTOK_ORDER, api.lines(TIKTOK_ORDER), "1Z999AA1")["code"] == 21008025
    assert api.mark(HOLD_ORDER, api.lines(HOLD_ORDER), "1Z999AA1")["code"] == 21042057
    assert api.mark(SELLER_ORDER, tee[:1], "1Z999AA1")["code"] == 0
    assert api.mark(SELLER_ORDER, tee, "1Z999AA2")["code"] == 21008099
    api.admin("PUT", "loopback", {"market": "SEA"})
    assert api.mark(SELLER_ORDER, tee[1:], "1Z999AA3")["code"] == 21008106
    assert api.order(SELLER_ORDER)["status"] == "PARTIALLY_SHIPPING"


def test_split_switch_and_warning(api: Api) -> None:
    tee = api.lines(SELLER_ORDER, TEE)
    api.admin("PUT", "loopback", {"refuse_split_same_sku": True, "warning_next": "mismatch"})
    assert api.mark(SELLER_ORDER, tee[:1], "1Z999AA1")["code"] == 21011036
    answer = api.mark(SELLER_ORDER, tee, "1Z999AA1")
    assert answer["data"]["warning"] == {"message": "mismatch"}
    assert "warning" not in api.mark(SELLER_ORDER, api.lines(SELLER_ORDER, MUG), "1Z999AA2")["data"]


def test_package_detail_and_search(api: Api) -> None:
    tee = api.lines(SELLER_ORDER, TEE)
    package_id = api.mark(SELLER_ORDER, tee, "1Z999AA1", UPS)["data"]["package_id"]
    detail = api.ok("GET", f"/fulfillment/202309/packages/{package_id}")
    assert detail["package_id"] == package_id
    assert detail["orders"] == [{"id": SELLER_ORDER}]
    assert detail["order_line_item_ids"] == tee
    assert detail["package_status"] == "PROCESSING"
    assert (detail["tracking_number"], detail["shipping_provider_id"]) == ("1Z999AA1", UPS)
    assert detail["shipping_provider_name"] == "UPS"
    assert detail["shipping_type"] == "SELLER"
    assert detail["delivery_option_id"] == SELLER_OPTION
    assert api.code("GET", "/fulfillment/202309/packages/42") == 21011028
    found = api.ok(
        "POST",
        "/fulfillment/202309/packages/search",
        params={"page_size": "10"},
        body={"update_time_ge": 0, "update_time_lt": int(time.time()) + 10},
    )
    assert found["total_count"] == 1
    assert found["packages"][0]["id"] == package_id
    assert found["packages"][0]["status"] == "PROCESSING"
    assert found["packages"][0]["order_line_item_ids"] == tee
    none = api.ok(
        "POST",
        "/fulfillment/202309/packages/search",
        params={"page_size": "10"},
        body={"package_status": "COMPLETED"},
    )
    assert none["packages"] == []


def test_one_tracking_correction_inside_the_window(api: Api) -> None:
    lines = api.lines(SELLER_ORDER)
    path = f"/fulfillment/202309/orders/{SELLER_ORDER}/shipping_info/update"
    body = {"tracking_number": "1Z999AA9", "shipping_provider_id": UPS}
    assert api.code("POST", path, body=body) == 21011043  # not shipped yet
    package_id = api.mark(SELLER_ORDER, lines, "1Z999AA1")["data"]["package_id"]
    pkg_path = f"/fulfillment/202309/packages/{package_id}/shipping_info/update"
    assert api.code("POST", pkg_path, body={**body, "shipping_provider_id": "1"}) == 21011022
    assert api.ok("POST", pkg_path, body=body) == {}
    line = api.order(SELLER_ORDER)["line_items"][0]
    assert (line["tracking_number"], line["shipping_provider_id"]) == ("1Z999AA9", UPS)
    assert api.code("POST", pkg_path, body={**body, "tracking_number": "1Z999AB0"}) == 21011051
    assert api.code("POST", path, body=body) == 21011051
    assert api.order(SELLER_ORDER)["tracking_number"] == "1Z999AA9"


def test_correction_window_closes_and_delivered_packages_refuse(api: Api) -> None:
    lines = api.lines(SELLER_ORDER)
    package_id = api.mark(SELLER_ORDER, lines, "1Z999AA1")["data"]["package_id"]
    assert api.admin("PUT", "loopback", {"correction_window_s": 100}).status_code == 200
    assert api.admin("POST", "loopback/advance", {"seconds": 101}).status_code == 200
    path = f"/fulfillment/202309/packages/{package_id}/shipping_info/update"
    body = {"tracking_number": "1Z999AA9", "shipping_provider_id": UPS}
    assert api.code("POST", path, body=body) == 21011049
    assert api.admin("POST", "loopback/advance", {"package_id": package_id}).json() == {
        "package_status": "FULFILLING",
        "order_status": "IN_TRANSIT",
    }
    api.admin("POST", "loopback/advance", {"package_id": package_id})
    assert api.order(SELLER_ORDER)["status"] == "DELIVERED"
    assert api.code("POST", path, body=body) == 21011030


def test_tiktok_shipped_orders_refuse_seller_tracking(api: Api) -> None:
    path = f"/fulfillment/202309/orders/{TIKTOK_ORDER}/shipping_info/update"
    body = {"tracking_number": "1Z999AA9", "shipping_provider_id": UPS}
    assert api.code("POST", path, body=body) == 21011004
    assert api.mark(TIKTOK_ORDER, api.lines(TIKTOK_ORDER), "1Z999AA1")["code"] == 21008025
    assert api.order(TIKTOK_ORDER)["status"] == "AWAITING_SHIPMENT"


def test_ship_package_where_packages_exist_from_payment(api: Api) -> None:
    api.admin("PUT", "loopback", {"market": "SEA"})
    order = api.order(SELLER_ORDER)
    assert len(order["packages"]) == 1
    package_id = order["packages"][0]["id"]
    assert {line["package_id"] for line in order["line_items"]} == {package_id}
    assert {line["package_status"] for line in order["line_items"]} == {"TO_FULFILL"}
    path = f"/fulfillment/202309/packages/{package_id}/ship"
    assert api.code("POST", path, body={"handover_method": "DROP_OFF"}) == 21001001
    bad = {"self_shipment": {"tracking_number": "1Z999AA1", "shipping_provider_id": "9"}}
    assert api.code("POST", path, body=bad) == 21011022
    good = {"self_shipment": {"tracking_number": "1Z999AA1", "shipping_provider_id": UPS}}
    assert api.ok("POST", path, body=good) == {}
    assert api.order(SELLER_ORDER)["status"] == "AWAITING_COLLECTION"
    assert api.code("POST", path, body=good) == 21011040
    assert api.code("POST", "/fulfillment/202309/packages/77/ship", body=good) == 21011028


def test_batch_ship_reports_failures_per_package(api: Api) -> None:
    api.admin("PUT", "loopback", {"market": "SEA"})
    (other,) = api.admin("POST", "orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]}).json()[
        "ids"
    ]
    first = api.order(SELLER_ORDER)["packages"][0]["id"]
    second = api.order(other)["packages"][0]["id"]
    data = api.ok(
        "POST",
        "/fulfillment/202309/packages/ship",
        body={
            "packages": [
                {
                    "id": first,
                    "self_shipment": {"tracking_number": "1Z999AA1", "shipping_provider_id": UPS},
                },
                {
                    "id": second,
                    "self_shipment": {
                        "tracking_number": "bad tracking",
                        "shipping_provider_id": UPS,
                    },
                },
            ]
        },
    )
    assert data["errors"] == [
        {
            "code": 21004012,
            "message": "Tracking number has special characters, verify failed.",
            "detail": {"package_id": second},
        }
    ]
    assert api.order(SELLER_ORDER)["status"] == "AWAITING_COLLECTION"
    assert api.order(other)["status"] == "AWAITING_SHIPMENT"


def _search_cancellations(api: Api, **body: Any) -> list[dict[str, Any]]:
    return api.ok(
        "POST",
        "/return_refund/202309/cancellations/search",
        params={"page_size": "50"},
        body=body,
    )["cancellations"]


def test_buyer_request_then_seller_approves(api: Api) -> None:
    made = api.admin(
        "POST", f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel", "reason": "x"}
    ).json()
    order = api.order(SELLER_ORDER)
    assert order["is_buyer_request_cancel"] is True
    assert order["seller_next_action_response"][0]["action"] == "SELLER_RESPOND_CANCEL"
    (rec,) = _search_cancellations(api, order_ids=[SELLER_ORDER])
    assert rec["cancel_id"] == made["cancel_id"]
    assert (rec["cancel_type"], rec["cancel_status"], rec["role"]) == (
        "BUYER_CANCEL",
        "CANCELLATION_REQUEST_PENDING",
        "BUYER",
    )
    assert rec["seller_next_action_response"][0]["deadline"] == made["deadline"]
    assert [i["order_line_item_id"] for i in rec["cancel_line_items"]] == api.lines(SELLER_ORDER)
    path = f"/return_refund/202309/cancellations/{rec['cancel_id']}/approve"
    assert api.code("POST", path, body={}) == 21001001  # idempotency_key is required
    assert api.ok("POST", path, params={"idempotency_key": "k1"}, body={}) == {}
    order = api.order(SELLER_ORDER)
    assert (order["status"], order["cancellation_initiator"]) == ("CANCELLED", "BUYER")
    assert order["is_buyer_request_cancel"] is False
    (rec,) = _search_cancellations(api, order_ids=[SELLER_ORDER])
    assert rec["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    assert api.code("POST", path, params={"idempotency_key": "k2"}, body={}) == 25011012
    missing = "/return_refund/202309/cancellations/99/approve"
    assert api.code("POST", missing, params={"idempotency_key": "k"}, body={}) == 25007006


def test_shipping_rejects_a_pending_request_in_us_mode(api: Api) -> None:
    api.admin("POST", f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel"})
    assert api.mark(SELLER_ORDER, api.lines(SELLER_ORDER), "1Z999AA1")["code"] == 0
    (rec,) = _search_cancellations(api, order_ids=[SELLER_ORDER])
    assert rec["cancel_status"] == "CANCELLATION_REQUEST_CANCEL"
    path = f"/return_refund/202309/cancellations/{rec['cancel_id']}/approve"
    assert api.code("POST", path, params={"idempotency_key": "k"}, body={}) == 25020009
    assert _search_cancellations(api, cancel_status=["CANCELLATION_REQUEST_CANCEL"])


def test_pending_request_blocks_shipping_outside_the_us(api: Api) -> None:
    api.admin("POST", f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel"})
    api.admin("PUT", "loopback", {"market": "SEA"})
    package_id = api.order(SELLER_ORDER)["packages"][0]["id"]
    body = {"self_shipment": {"tracking_number": "1Z999AA1", "shipping_provider_id": UPS}}
    assert api.code("POST", f"/fulfillment/202309/packages/{package_id}/ship", body=body) == (
        21011007
    )


def test_buyer_request_is_auto_approved_after_the_deadline(api: Api) -> None:
    api.admin("POST", f"orders/{SELLER_ORDER}/loopback", {"action": "request_cancel"})
    out = api.admin("POST", "loopback/advance", {"seconds": 47 * 3600}).json()
    assert out["auto_approved"] == []
    out = api.admin("POST", "loopback/advance", {"seconds": 3600}).json()
    assert len(out["auto_approved"]) == 1
    assert api.order(SELLER_ORDER)["status"] == "CANCELLED"


def test_seller_cancel_order_rules(api: Api) -> None:
    path = "/return_refund/202309/cancellations"
    body = {"order_id": SELLER_ORDER, "cancel_reason": "nope"}
    assert api.code("POST", path, body=body) == 25001014
    body["cancel_reason"] = "seller_cancel_reason_out_of_stock"
    data = api.ok("POST", path, body=body)
    assert data["cancel_status"] == "CANCELLATION_REQUEST_SUCCESS"
    order = api.order(SELLER_ORDER)
    assert (order["status"], order["cancellation_initiator"]) == ("CANCELLED", "SELLER")
    assert api.code("POST", path, body=body) == 25001011
    # Shipped orders can no longer be cancelled; shipping a cancelled order is refused.
    (other,) = api.admin("POST", "orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]}).json()[
        "ids"
    ]
    assert api.mark(other, api.lines(other), "1Z999AA1")["code"] == 0
    assert api.code("POST", path, body={**body, "order_id": other}) == 25001045
    assert api.mark(SELLER_ORDER, api.lines(SELLER_ORDER), "1Z999AA2")["code"] == 21011041


def test_system_cancel_of_a_whole_order_and_webhook_type_11(api: Api) -> None:
    api.admin(
        "PUT",
        "webhooks",
        {"address": "http://127.0.0.1:9/hook", "event_types": ["CANCELLATION_STATUS_CHANGE"]},
    )
    answer = api.admin(
        "POST",
        f"orders/{SELLER_ORDER}/loopback",
        {"action": "cancel", "role": "SYSTEM", "reason": "Package not shipped in time"},
    )
    assert answer.status_code == 200
    order = api.order(SELLER_ORDER)
    assert order["status"] == "CANCELLED"
    assert order["cancellation_initiator"] == "SYSTEM"
    assert order["cancel_reason"] == "Package not shipped in time"
    (rec,) = _search_cancellations(api, order_ids=[SELLER_ORDER])
    assert (rec["cancel_type"], rec["role"]) == ("CANCEL", "SYSTEM")
    deliveries = api.admin("GET", "webhooks").json()["deliveries"]
    sent = [d["body"] for d in deliveries if d["event_type"] == "CANCELLATION_STATUS_CHANGE"]
    assert sent and sent[0]["type"] == 11
    assert sent[0]["data"]["cancel_id"] == rec["cancel_id"]
    assert sent[0]["data"]["cancel_status"] == "CANCELLATION_REQUEST_COMPLETE"
    # A cancelled order cannot be cancelled twice.
    again = api.admin("POST", f"orders/{SELLER_ORDER}/loopback", {"action": "cancel"})
    assert again.status_code == 409


def test_admin_moves_an_order_to_another_delivery_option(api: Api) -> None:
    answer = api.admin(
        "POST",
        f"orders/{SELLER_ORDER}/loopback",
        {"action": "delivery_option", "delivery_option_id": TIKTOK_OPTION},
    )
    assert answer.status_code == 200
    assert api.order(SELLER_ORDER)["delivery_option_id"] == TIKTOK_OPTION
    # The provider check follows the option: the order's option has no seller providers.
    assert api.mark(SELLER_ORDER, api.lines(SELLER_ORDER), "1Z999AA1")["code"] == 21011022


def test_sla_fields_and_system_auto_cancel(api: Api) -> None:
    order = api.order(SELLER_ORDER)
    paid = api.app.state.emulator.orders[SELLER_ORDER].paid_time
    assert order["rts_sla_time"] == paid + 2 * 86400
    assert order["cancel_order_sla_time"] == paid + 7 * 86400
    api.admin("PUT", "webhooks", {"address": "http://127.0.0.1:9/hook"})
    (shipped,) = api.admin(
        "POST", "orders", {"orders": [{"lines": [{"seller_sku": "MUG"}]}]}
    ).json()["ids"]
    assert api.mark(shipped, api.lines(shipped), "1Z999AA1")["code"] == 0
    out = api.admin("POST", "loopback/advance", {"seconds": 7 * 86400 + 5}).json()
    assert out["auto_cancelled"] == []  # the switch is off by default
    assert api.order(SELLER_ORDER)["status"] == "AWAITING_SHIPMENT"
    api.admin("PUT", "loopback", {"auto_cancel_overdue": True})
    out = api.admin("POST", "loopback/advance", {"seconds": 1}).json()
    assert out["auto_cancelled"] == [SELLER_ORDER]  # not the shipped one, not TikTok's
    order = api.order(SELLER_ORDER)
    assert (order["status"], order["cancellation_initiator"]) == ("CANCELLED", "SYSTEM")
    assert api.order(shipped)["status"] == "AWAITING_COLLECTION"
    assert api.order(TIKTOK_ORDER)["status"] == "AWAITING_SHIPMENT"
    sent = [
        d["body"]["data"]["order_status"]
        for d in api.admin("GET", "webhooks").json()["deliveries"]
        if d["event_type"] == "ORDER_STATUS_CHANGE"
        and d["body"]["data"]["order_id"]
        in (
            SELLER_ORDER,
            shipped,
        )
    ]
    assert "AWAITING_COLLECTION" in sent and "CANCELLED" in sent  # type 1 for both moves


def test_aftersale_eligibility_and_refund_amount(api: Api) -> None:
    path = f"/return_refund/202309/orders/{SELLER_ORDER}/aftersale_eligibility"
    assert api.code("GET", path) == 21001001
    data = api.ok("GET", path, params={"initiate_aftersale_user": "SELLER"})
    by_sku = {e["sku_id"]: e["line_item_eligibility"][0] for e in data["sku_eligibility"]}
    assert by_sku[TEE]["eligible"] is True and by_sku[TEE]["request_type"] == "CANCEL"
    assert by_sku[TEE]["order_line_items_ids"] == api.lines(SELLER_ORDER, TEE)
    assert api.mark(SELLER_ORDER, api.lines(SELLER_ORDER, MUG), "1Z999AA1")["code"] == 0
    data = api.ok("GET", path, params={"initiate_aftersale_user": "SELLER"})
    by_sku = {e["sku_id"]: e["line_item_eligibility"][0] for e in data["sku_eligibility"]}
    assert by_sku[MUG]["eligible"] is False and by_sku[MUG]["ineligible_code"] == 25001045
    (other,) = api.admin(
        "POST", "orders", {"orders": [{"lines": [{"seller_sku": "MUG", "price": "4.25"}]}]}
    ).json()["ids"]
    api.admin("POST", f"orders/{other}/loopback", {"action": "request_cancel"})
    (rec,) = _search_cancellations(api, order_ids=[other])
    assert rec["refund_amount"]["refund_total"] == "4.25"
    assert rec["refund_amount"]["currency"] == "USD"
