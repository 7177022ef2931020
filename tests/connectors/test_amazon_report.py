"""The All Listings report parser: header-name columns, encodings, malformed rows skipped."""

from __future__ import annotations

import gzip
from decimal import Decimal

import pytest

from connectors.amazon_report import decode_document, parse_listings_report

HEADER = "\t".join(
    [
        "item-name",
        "seller-sku",
        "price",
        "quantity",
        "asin1",
        "product-id-type",
        "product-id",
        "fulfillment-channel",
        "status",
    ]
)


def test_columns_by_name_fba_without_quantity_and_barcodes():
    text = "\n".join(
        [
            # columns in another order plus an unknown one: parsed by name
            "status\tnew-col\t" + HEADER,
            "Active\tx\tTee Red\tTEE-R\t12.50\t\tB0001\t1\tB0001\tAMAZON_NA\tActive",
            "Inactive\tx\tTee Blue\tTEE-B\t9.99\t4\tB0002\t3\t012345678905\tDEFAULT\tInactive",
        ]
    )
    rows, stats = parse_listings_report(text)
    assert stats.rows == 2 and stats.skipped == 0
    red, blue = rows
    assert (red.sku, red.fulfillment, red.quantity, red.price) == (
        "TEE-R",
        "FBA",
        None,
        Decimal("12.50"),
    )
    assert red.barcode is None  # product-id-type 1 = ASIN
    assert (blue.fulfillment, blue.quantity, blue.barcode) == ("MFN", 4, "012345678905")
    assert blue.status == "Inactive" and blue.asin == "B0002"


def test_malformed_rows_are_skipped_and_counted(caplog):
    text = "\n".join(
        [
            HEADER,
            "Good\tG-1\t1.00\t2\tB1\t1\tB1\tDEFAULT\tActive",
            "Tab\tin title\tT-1\t1.00\t2\tB1\t1\tB1\tDEFAULT\tActive",  # extra field
            "Short\tS-1\t1.00",  # truncated line
            "NoSku\t\t1.00\t2\tB1\t1\tB1\tDEFAULT\tActive",
            "BadPrice\tP-1\tabc\t2\tB1\t1\tB1\tDEFAULT\tActive",
            "BadQty\tQ-1\t1.00\t-3\tB1\t1\tB1\tDEFAULT\tActive",
            "Dup\tG-1\t1.00\t2\tB1\t1\tB1\tDEFAULT\tActive",
            "",
            "Good2\tG-2\t\t\tB2\t1\tB2\tDEFAULT\tActive",
        ]
    )
    rows, stats = parse_listings_report(text)
    assert [r.sku for r in rows] == ["G-1", "G-2"]
    assert rows[1].price is None and rows[1].quantity == 0
    assert stats.skipped == 6 and stats.rows == 2
    assert any("line 3" in reason for reason in stats.reasons)
    assert "skipped 6 malformed" in caplog.text


def test_not_a_listings_report_raises():
    with pytest.raises(ValueError, match="seller-sku"):
        parse_listings_report("a\tb\n1\t2\n")
    assert parse_listings_report("") == ([], parse_listings_report("")[1])


def test_decode_gzip_and_charsets():
    text = HEADER + "\nCafé ñ\tC-1\t1.00\t1\tB1\t1\tB1\tDEFAULT\tActive\n"
    assert (
        decode_document(gzip.compress(text.encode()), compression="GZIP", content_type=None) == text
    )
    latin = text.encode("cp1252")
    assert (
        decode_document(latin, compression=None, content_type=None) == text
    )  # UTF-8 fails -> cp1252
    assert (
        decode_document(latin, compression=None, content_type="text/plain; charset=ISO-8859-1")
        == text
    )
    jp = "商品\tJ-1".encode("cp932")
    assert (
        decode_document(jp, compression=None, content_type="text/plain;charset=windows-31j")
        == "商品\tJ-1"
    )


def test_known_header_spellings_and_missing_essential_columns():
    """``fulfilment-channel`` and ``Deprecated column`` headers are read
    (amzn/selling-partner-api-models#3999, #4140); a missing essential column is refused."""
    header = HEADER.replace("fulfillment-channel", "fulfilment-channel")
    row = "\tT\tT-1\t1.00\t\tB1\t1\tB1\tAMAZON_EU\tActive\t"
    text = f"Deprecated column\t{header}\tDeprecated column\n{row}\n"
    rows, _ = parse_listings_report(text)
    assert rows[0].fulfillment == "FBA" and rows[0].channel == "AMAZON_EU"
    for column in ("fulfillment-channel", "price", "quantity", "status"):
        cut = [c for c in HEADER.split("\t") if c != column]
        with pytest.raises(ValueError, match=f"no {column} column"):
            parse_listings_report("\t".join(cut) + "\n")


def test_chinese_header_is_read_when_a_report_comes_translated():
    """Headers of jlevers/selling-partner-api#525 (a report in Chinese despite everything)."""
    header = (
        "商品名称\t商品编码\t卖家 SKU\t价格\t数量\tASIN1\t商品编码类型\t商品编码\t配送渠道\t状态"
    )
    row = "Tee\t0816Y30OYFH\tTEE-1\t19.99\t\tB00V7I4DHA\t1\tB00V7I4DHA\tAMAZON_NA\tActive"
    [parsed], _ = parse_listings_report(f"{header}\n{row}\n")
    assert (parsed.sku, parsed.price, parsed.fulfillment) == ("TEE-1", Decimal("19.99"), "FBA")
    assert (parsed.title, parsed.asin, parsed.status) == ("Tee", "B00V7I4DHA", "Active")


def test_document_marked_gzip_that_is_not_gzip_is_a_value_error():
    with pytest.raises(ValueError, match="not gzip"):
        decode_document(b"\x00\x01plain", compression="GZIP", content_type=None)
    with pytest.raises(ValueError, match="not gzip"):
        decode_document(b"\x1f\x8b\x08\x00broken", compression="GZIP", content_type=None)
