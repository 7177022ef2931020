"""The chaos suite's loop-back invariants on hand-made states (bench/chaos/checks.py)."""

from __future__ import annotations

from bench.chaos.checks import check_loop_back
from connectors.amazon import fulfillment_order_id


def tiktok(*orders):
    return {
        "orders": [dict(zip(("id", "status", "shipping_type"), o, strict=True)) for o in orders]
    }


def shopify(*orders):
    """Shopify snapshot orders: (TikTok id, cancelled, [(tracking, units)])."""
    return {
        "orders": [
            {
                "id": f"gid://shopify/Order/{n}",
                "source_identifier": tid,
                "cancelled_at": "2026-01-01T00:00:00Z" if cancelled else None,
                "fulfillments": [
                    {
                        "status": "SUCCESS",
                        "tracking": [{"number": t, "company": "UPS"}],
                        "lines": [{"line_item_id": "x", "quantity": u}],
                    }
                    for t, u in boxes
                ],
            }
            for n, (tid, cancelled, boxes) in enumerate(orders, 1)
        ]
    }


def pkg(order_id, tracking, *lines):
    return {
        "order_id": order_id,
        "tracking_number": tracking,
        "line_ids": list(lines),
        "shipped": True,
    }


IN_STORE = {"1": ["s1"], "2": ["s2"], "3": ["s3"]}


def test_shipped_once_with_same_tracking_holds():
    check = check_loop_back(
        "shopify",
        tiktok(("1", "AWAITING_COLLECTION", "SELLER")),
        [pkg("1", "1ZA", "a", "b")],
        shopify(("1", False, [("1ZA", 2)])),
        IN_STORE,
        {},
    )
    assert check.violations == [] and (check.boxes, check.shipped_on_tiktok) == (1, 1)


def test_box_missing_twice_or_other_tracking_on_tiktok_is_a_violation():
    state = tiktok(
        ("1", "AWAITING_SHIPMENT", "SELLER"),
        ("2", "AWAITING_COLLECTION", "SELLER"),
        ("3", "AWAITING_COLLECTION", "TIKTOK"),
    )
    store = shopify(
        ("1", False, [("1ZA", 1)]), ("2", False, [("1ZB", 1)]), ("3", False, [("1ZC", 1)])
    )
    packages = [pkg("2", "1ZB", "c"), pkg("2", "1ZB", "c")]  # the same line shipped twice
    check = check_loop_back("shopify", state, packages, store, IN_STORE, {})
    text = " ".join(check.violations)
    assert "1 TikTok lines shipped in two packages" in text
    assert "2 store shipments not on TikTok exactly once" in text  # 1 lost, 2 doubled
    assert check.boxes == 2  # the TikTok-shipped order 3 is not the loop back's to push


def test_cancelled_order_must_be_cancelled_in_store_or_reported():
    state = tiktok(
        ("1", "CANCELLED", "SELLER"), ("2", "CANCELLED", "SELLER"), ("3", "CANCELLED", "SELLER")
    )
    store = shopify(("1", True, []), ("2", False, [("1ZB", 1)]), ("3", False, []))
    reasons = {"2": {"STORE_ALREADY_FULFILLED"}}
    check = check_loop_back("shopify", state, [], store, IN_STORE, reasons)
    assert (check.cancelled, check.cancelled_in_store) == (3, 1)
    assert check.violations == [
        "1 cancelled TikTok orders neither cancelled in the store nor reported: 3"
    ]


def test_mcf_packages_are_boxes_of_their_tiktok_order():
    mcf = {
        "mcf_orders": [
            {
                "sellerFulfillmentOrderId": fulfillment_order_id("1"),
                "fulfillmentOrderStatus": "Complete",
                "shipments": [
                    {
                        "fulfillmentShipmentStatus": "SHIPPED",
                        "fulfillmentShipmentItem": [
                            {"quantity": 2, "packageNumber": 7},
                            {"quantity": 1, "packageNumber": 8},
                        ],
                        "fulfillmentShipmentPackage": [
                            {"packageNumber": 7, "trackingNumber": "TBA1"},
                            {"packageNumber": 8, "trackingNumber": "TBA2"},
                        ],
                    }
                ],
            }
        ]
    }
    state = tiktok(("1", "AWAITING_COLLECTION", "SELLER"))
    good = [pkg("1", "TBA1", "a", "b"), pkg("1", "TBA2", "c")]
    assert check_loop_back("amazon", state, good, mcf, {"1": ["x"]}, {}).violations == []
    short = [pkg("1", "TBA1", "a")]
    assert check_loop_back("amazon", state, short, mcf, {"1": ["x"]}, {}).violations
