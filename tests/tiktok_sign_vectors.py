"""TikTok request-signing test vectors
(https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf; EcomPHP/tiktokshop-php
tests/ClientTest.php; fudiwei/DotNetCore.SKIT.FlurlHttpClient.ByteDance).

Shared by the emulator tests (the sandbox must accept exactly these signatures) and the
connector tests (the client must produce them). Each is (secret, path, query, body, sign).
"""

from __future__ import annotations

SIGN_VECTORS: list[tuple[str, str, dict[str, str], bytes, str]] = [
    (
        "e59af819cc",
        "/authorization/202309/shops",
        {"app_key": "29a39d", "timestamp": "1623812664"},
        b"",
        "b596b73e0cc6de07ac26f036364178ab16b0a907af13d43f0a0cd2345f582dc8",
    ),
    (
        "e59af819cc",
        "/event/202309/webhooks",
        {
            "app_key": "68xu9ks5p4i8",
            "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
            "timestamp": "1696909648",
        },
        b"",
        "ed58e1b5e59865c22a7b828c1cab65007441f43cc91a6cb2f2cdc638e0995a37",
    ),
    (
        "e59af819cc",
        "/event/202309/webhooks",
        {
            "app_key": "68xu9ks5p4i8",
            "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
            "timestamp": "1696909648",
        },
        b'{"event_type":"PACKAGE_UPDATE","address":"https://partner.tiktokshop.com"}',
        "701dd6deb2389fe4c469b89bd37fc56f96a6da6afeb4d01c9077a65169752fa7",
    ),
    (
        "e59af819cc",
        "/event/202309/webhooks",
        {
            "app_key": "68xu9ks5p4i8",
            "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
            "timestamp": "1696909648",
        },
        b'{"address":"https://partner.tiktokshop.com","event_type":"PACKAGE_UPDATE"}',
        "cd0d6268252f4ba293bf7ea4c0a2873bf9beec600d22530638564ab301435f7a",
    ),
    (
        "app_secret",
        "/test-api",
        {"foo": "bar"},
        b"",
        "d3cb7fe11ecae942802ceeca67e7cf10120cc12f1517d45fbc1c8cfe5413c80f",
    ),
    (
        "e59af819cc",
        "/product/202309/products/search",
        {
            "app_key": "29a39d",
            "page_size": "50",
            "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
            "timestamp": "1623812664",
            "access_token": "IGNORED",
        },
        b'{"status":"ACTIVATE"}',
        "071fe06377f52918c9660d5e7749a2d9800c1a1b5f32830d2db5c3a47b7120b8",
    ),
    (
        "e59af819cc",
        "/order/202309/orders",
        {
            "app_key": "29a39d",
            "ids": "576461413038785752,576461413038785753",
            "shop_cipher": "ROW_xkMbgAAAeVAQra0eZWebFQq5aIK",
            "timestamp": "1623812664",
        },
        b"",
        "c7c2a0bb5bdaf2fe848b6af7d97b29f01de464ee19e87d81f65a92c371ca35b6",
    ),
    (
        "e59af819cc",
        "/product/202309/products/search",
        {"app_key": "29a39d", "timestamp": "1623812664"},
        b"",
        "a60f625b25dd3e0d7c49afa9a5646678ef462d3b5c79fd9a1a6b053de4fd5dce",
    ),
    (
        "e59af819cc",
        "/product/202309/products/search",
        {"app_key": "29a39d", "timestamp": "1623812664"},
        b"{}",
        "dd68edb5762324babc4e96d3ff87e29d2af93fc2a83847d44bc31f9d81642ccc",
    ),
]
