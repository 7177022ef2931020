"""The relay rules without I/O: classification, store request, report text, scrubbing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from connectors.base import Address, OrderLine, TikTokOrder
from tasks.relay_rules import (
    LedgerRow,
    MappedSku,
    RelaySettings,
    classify,
    lines_json,
    lines_text,
    personal_values,
    scrub,
)

T0 = datetime(2026, 3, 1, 12, tzinfo=UTC)
SHOPIFY = RelaySettings(store="shopify", tags=("TikTok Shop",))
AMAZON = RelaySettings(store="amazon", shipping_speed="Expedited")
BUYER = Address(
    name="Avery Okafor",
    first_name="Avery",
    last_name="Okafor",
    phone="(+1)555-321-7654",
    address1="12 Cedar St",
    city="Salem",
    postal_code="97301",
    country_code="US",
)


def line(sku_id: str, qty: int = 1, seller_sku: str | None = None) -> OrderLine:
    return OrderLine(sku_id, "p1", seller_sku or f"SKU-{sku_id}", qty, Decimal("9.50"), "Tee")


def tt_order(*lines: OrderLine, **kw) -> TikTokOrder:
    base = dict(
        id="577",
        status="AWAITING_SHIPMENT",
        create_time=T0,
        update_time=T0,
        currency="USD",
        lines=lines,
        recipient=BUYER,
        buyer_email="x1@scs3.tiktok.com",
        fulfillment_type="FULFILLMENT_BY_SELLER",
    )
    base.update(kw)
    return TikTokOrder(**base)


def mapped(*sku_ids: str, at: datetime = T0 - timedelta(days=1), fulfillment="FBA"):
    return {
        s: MappedSku(
            s, f"gid://shopify/ProductVariant/{s}", f"SKU-{s}", at, f"AMZ-{s}", fulfillment
        )
        for s in sku_ids
    }


def test_fully_mapped_shippable_order_is_relayed_with_store_lines():
    verdict = classify(tt_order(line("a", 2), line("b")), mapped("a", "b"), SHOPIFY)
    assert (verdict.action, verdict.reason) == ("relay", "RELAYED")
    req = verdict.request
    assert [(ln.store_variant_id, ln.quantity, ln.unit_price) for ln in req.lines] == [
        ("gid://shopify/ProductVariant/a", 2, Decimal("9.50")),
        ("gid://shopify/ProductVariant/b", 1, Decimal("9.50")),
    ]
    assert (req.tiktok_order_id, req.currency, req.created_at) == ("577", "USD", T0)
    assert req.recipient == BUYER and req.tags == ("TikTok Shop",)
    assert req.shipping_speed is None


def test_amazon_lines_use_the_amazon_sku_and_shipping_speed():
    verdict = classify(tt_order(line("a", 3)), mapped("a"), AMAZON)
    assert verdict.request.lines[0].seller_sku == "AMZ-a"
    assert verdict.request.shipping_speed == "Expedited"


@pytest.mark.parametrize(
    ("status", "action"),
    [
        ("UNPAID", "wait"),
        ("ON_HOLD", "wait"),
        ("SOMETHING_NEW", "wait"),
        ("CANCELLED", "skip"),
        ("IN_TRANSIT", "skip"),
        ("COMPLETED", "skip"),
    ],
)
def test_not_shippable_statuses(status, action):
    verdict = classify(tt_order(line("a"), status=status), mapped("a"), SHOPIFY)
    reason = "CANCELLED" if status == "CANCELLED" else "NOT_READY"
    assert (verdict.action, verdict.reason, verdict.request) == (action, reason, None)


def test_unmapped_line_waits_and_names_the_sku():
    verdict = classify(tt_order(line("a"), line("z", seller_sku="CAP")), mapped("a"), SHOPIFY)
    assert (verdict.action, verdict.reason, verdict.details) == (
        "wait",
        "UNMAPPED_LINE",
        ("unmapped: CAP",),
    )


def test_mapped_after_the_order_is_historical_unless_it_was_waiting_for_the_mapping():
    late = mapped("a", at=T0 + timedelta(minutes=5))
    assert classify(tt_order(line("a")), late, SHOPIFY).reason == "BEFORE_MAPPING"
    assert classify(tt_order(line("a")), late, SHOPIFY).action == "skip"
    waiting = LedgerRow("577", "WAITING", reason="UNMAPPED_LINE")
    assert classify(tt_order(line("a")), late, SHOPIFY, waiting).reason == "RELAYED"
    not_ready = LedgerRow("577", "WAITING", reason="NOT_READY")
    assert classify(tt_order(line("a")), late, SHOPIFY, not_ready).reason == "BEFORE_MAPPING"


def test_mixed_fba_mfn_amazon_order_is_not_relayed_at_all():
    both = {**mapped("a"), **mapped("m", fulfillment="MFN"), **mapped("u", fulfillment=None)}
    verdict = classify(tt_order(line("a"), line("m", seller_sku="MUG")), both, AMAZON)
    assert (verdict.action, verdict.reason, verdict.details) == (
        "skip",
        "NOT_FBA",
        ("not FBA: MUG",),
    )
    unknown = classify(tt_order(line("u")), both, AMAZON)
    assert unknown.reason == "NOT_FBA"  # not in the catalog: unknown is not FBA
    assert classify(tt_order(line("m")), both, SHOPIFY).reason == "RELAYED"  # Shopify: no FBA rule


def test_fulfilled_by_tiktok_is_never_relayed():
    verdict = classify(
        tt_order(line("a"), fulfillment_type="FULFILLMENT_BY_TIKTOK"), mapped("a"), SHOPIFY
    )
    assert (verdict.action, verdict.reason, verdict.warnings) == (
        "skip",
        "NOT_FBA",
        ("FULFILLED_BY_TIKTOK",),
    )


def test_masked_buyer_is_relayed_with_warning():
    verdict = classify(tt_order(line("a"), masked=True), mapped("a"), SHOPIFY)
    assert (verdict.action, verdict.warnings) == ("relay", ("MASKED_BUYER",))


def test_report_and_ledger_lines_carry_skus_and_quantities_only():
    order = tt_order(line("a", 2), OrderLine("b", "p", None, 1, Decimal("1"), "x"))
    assert lines_text(order) == "SKU-a x2; sku:b x1"
    assert "Avery" not in lines_json(order) and '"quantity": 2' in lines_json(order)


def test_scrub_removes_every_personal_value():
    values = personal_values([tt_order(line("a"))])
    text = 'bad address "12 cedar st", phone 5553217654, name Avery Okafor, zip 97301'
    cleaned = scrub(text, values)
    for secret in ("cedar", "5553217654", "Avery", "Okafor", "97301"):
        assert secret.lower() not in cleaned.lower()
    assert cleaned.startswith("bad address")
