"""The TikTok Shop emulator accepts what the real API accepts and refuses what it refuses.

Requests are built here by hand from TikTok's signing page
(https://partner.tiktokshop.com/docv2/page/678e3a3d4ddec3030b238faf), not with our connector, and
sent over real loopback HTTP.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sandbox.fixture import Fixture, dump_fixture
from sandbox.server import serve_in_thread
from sandbox.tiktok import (
    DEFAULT_ACCESS_TOKEN,
    DEFAULT_APP_KEY,
    DEFAULT_APP_SECRET,
    DEFAULT_REFRESH_TOKEN,
    create_app,
)
from sandbox.tiktok.signing import accepted_signs, request_sign, webhook_sign
from tests.tiktok_sign_vectors import SIGN_VECTORS

CIPHER = "ROW_sandboxcipher0001"
WH1, WH2 = "7000000000000000001", "7000000000000000002"


def fixture(**extra: Any) -> Fixture:
    data: dict[str, Any] = {
        "tiktok": {
            "warehouses": [
                {"id": WH1, "name": "Main", "is_default": True},
                {"id": WH2, "name": "East"},
            ],
            "products": [
                {
                    "id": "1729000000000000001",
                    "title": "Tee",
                    "skus": [
                        {
                            "id": "1729000000000000011",
                            "seller_sku": "TEE-S",
                            "price": "10.00",
                            "inventory": {WH1: 3, WH2: 1},
                            "sales_attributes": {"Size": "S"},
                        },
                        {
                            "id": "1729000000000000012",
                            "seller_sku": "TEE-M",
                            "price": "11.00",
                            "inventory": {WH1: 5},
                            "sales_attributes": {"Size": "M"},
                        },
                    ],
                },
                {
                    "id": "1729000000000000002",
                    "title": "Mug",
                    "skus": [
                        {
                            "id": "1729000000000000021",
                            "seller_sku": "MUG",
                            "price": "5.50",
                            "inventory": {WH1: 9},
                        }
                    ],
                },
                {
                    "id": "1729000000000000003",
                    "title": "Old",
                    "status": "SELLER_DEACTIVATED",
                    "skus": [
                        {"id": "1729000000000000031", "seller_sku": "OLD", "inventory": {WH1: 1}}
                    ],
                },
            ],
        },
        "orders": [
            {
                "id": "5760000000000000001",
                "status": "AWAITING_SHIPMENT",
                "shipping_type": "SELLER",
                "lines": [{"seller_sku": "TEE-S", "quantity": 3}, {"seller_sku": "MUG"}],
                "recipient": {
                    "name": "Avery Okafor",
                    "phone": "(+1)555-201-3344",
                    "address1": "12 Cedar St",
                    "city": "Salem",
                    "region": "Oregon",
                    "postal_code": "97301",
                },
            },
            {
                "id": "5760000000000000002",
                "status": "AWAITING_SHIPMENT",
                "shipping_type": "TIKTOK",
                "lines": [{"seller_sku": "MUG", "quantity": 2}],
                "recipient": {
                    "name": "Jordan Vance",
                    "phone": "(+1)555-777-1234",
                    "address1": "9 Elm St",
                },
            },
            {
                "id": "5760000000000000003",
                "status": "ON_HOLD",
                "shipping_type": "SELLER",
                "lines": [{"seller_sku": "TEE-M"}],
            },
            {
                "id": "5760000000000000004",
                "status": "UNPAID",
                "shipping_type": "SELLER",
                "lines": [{"seller_sku": "TEE-M"}],
            },
        ],
    }
    data.update(extra)
    return Fixture.model_validate(data)


class Api:
    """A hand-rolled signed client for the emulator (written from the reference)."""

    def __init__(self, base: str, app: Any) -> None:
        self.base, self.app = base, app
        self.http = httpx.Client(base_url=base, timeout=10, trust_env=False)

    def call(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, str] | None = None,
        body: Any = None,
        cipher: str | None = CIPHER,
        token: str | None = DEFAULT_ACCESS_TOKEN,
        timestamp: int | None = None,
        secret: str = DEFAULT_APP_SECRET,
        sign: str | None = "compute",
        app_key: str = DEFAULT_APP_KEY,
    ) -> httpx.Response:
        query = {
            "app_key": app_key,
            "timestamp": str(timestamp or int(time.time())),
            **(params or {}),
        }
        if cipher is not None:
            query["shop_cipher"] = cipher
        raw = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        if sign == "compute":
            query["sign"] = request_sign(secret, path, query, raw)
        elif sign is not None:
            query["sign"] = sign
        headers = {"content-type": "application/json"}
        if token is not None:
            headers["x-tts-access-token"] = token
        return self.http.request(method, path, params=query, content=raw or None, headers=headers)

    def admin(self, method: str, path: str, body: Any = None) -> httpx.Response:
        return self.http.request(method, f"/_sandbox/{path}", json=body)


@pytest.fixture
def api() -> Iterator[Api]:
    app = create_app(fixture())
    with serve_in_thread(app) as base:
        client = Api(base, app)
        yield client
        client.http.close()


def state(api: Api) -> dict[str, Any]:
    return api.admin("GET", "state").json()


def sku_state(api: Api, sku_id: str) -> dict[str, Any]:
    return next(s for p in state(api)["products"] for s in p["skus"] if s["id"] == sku_id)


# -- signing ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("secret", "path", "query", "body", "expected"), SIGN_VECTORS)
def test_request_sign_matches_reference_vectors(secret, path, query, body, expected) -> None:
    assert request_sign(secret, path, query, body) == expected


def test_empty_object_body_accepts_both_signatures() -> None:
    query = {"app_key": "29a39d", "timestamp": "1623812664"}
    signs = accepted_signs("e59af819cc", "/product/202309/products/search", query, b"{}")
    assert {SIGN_VECTORS[7][4], SIGN_VECTORS[8][4]} <= signs
    other = accepted_signs("e59af819cc", "/product/202309/products/search", query, b'{"a":1}')
    assert SIGN_VECTORS[7][4] not in other


def test_webhook_signature_golden_vectors() -> None:
    body = (
        b'{"type":1,"tts_notification_id":"7380066284010030890","shop_id":"7495540735365777507",'
        b'"timestamp":1718305585,"data":{"is_on_hold_order":true,"order_id":"576653688135258178",'
        b'"order_status":"UNPAID","update_time":1718305585}}'
    )
    assert webhook_sign("abcdef", "123", body) == (
        "5dec0f11ec2f6783b8deee53c9ffbf8d024302f7c7e7fa55a35d17629031ac05"
    )
    body2 = (
        b'{"type":1,"shop_id":"7494726673780148744","timestamp":1664095733,"data":{"order_id":'
        b'"576684019603311365","order_status":"AWAITING_SHIPMENT","update_time":1664095610}}'
    )
    assert webhook_sign("fake_app_key", "fake_app_secret", body2) == (
        "21109834de72ec53c9959716d8514ae388ce1f123e5ffdcafc46713fcdf62b27"
    )


# -- gateway checks --------------------------------------------------------------------------
def test_authorized_shops_accepts_a_correct_request(api: Api) -> None:
    r = api.call("GET", "/authorization/202309/shops", cipher=None)
    assert r.status_code == 200
    body = r.json()
    assert body["code"] == 0 and body["request_id"]
    assert body["data"]["shops"] == [
        {
            "id": "7495000000000000001",
            "name": "Sandbox TikTok Shop",
            "region": "US",
            "seller_type": "LOCAL",
            "cipher": CIPHER,
            "code": "US00000001",
        }
    ]


@pytest.mark.parametrize("bad_sign", ["0" * 64, "upper"])
def test_bad_signature_is_106001_with_401(api: Api, bad_sign: str) -> None:
    if bad_sign == "upper":
        stamp = int(time.time())
        q = {"app_key": DEFAULT_APP_KEY, "timestamp": str(stamp)}
        bad_sign = request_sign(DEFAULT_APP_SECRET, "/authorization/202309/shops", q).upper()
        r = api.call(
            "GET", "/authorization/202309/shops", cipher=None, sign=bad_sign, timestamp=stamp
        )
    else:
        r = api.call("GET", "/authorization/202309/shops", cipher=None, sign=bad_sign)
    assert r.status_code == 401
    assert r.json()["code"] == 106001 and r.json()["data"] is None


def test_signature_must_cover_the_body_bytes(api: Api) -> None:
    path = "/product/202309/products/search"
    stamp = str(int(time.time()))
    query = {
        "app_key": DEFAULT_APP_KEY,
        "timestamp": stamp,
        "shop_cipher": CIPHER,
        "page_size": "10",
    }
    signed_body = b'{"status":"ACTIVATE"}'
    query["sign"] = request_sign(DEFAULT_APP_SECRET, path, query, signed_body)
    headers = {"x-tts-access-token": DEFAULT_ACCESS_TOKEN, "content-type": "application/json"}
    ok = api.http.post(path, params=query, content=signed_body, headers=headers)
    assert ok.json()["code"] == 0
    reserialised = api.http.post(
        path, params=query, content=b'{"status": "ACTIVATE"}', headers=headers
    )
    assert reserialised.json()["code"] == 106001


def test_missing_sign_wrong_app_key_and_wrong_secret(api: Api) -> None:
    assert (
        api.call("GET", "/authorization/202309/shops", cipher=None, sign=None).json()["code"]
        == 36009004
    )
    r = api.call("GET", "/authorization/202309/shops", cipher=None, app_key="nope")
    assert (r.status_code, r.json()["code"]) == (401, 36009004)
    r = api.call("GET", "/authorization/202309/shops", cipher=None, secret="wrong-secret")
    assert r.json()["code"] == 106001


@pytest.mark.parametrize(("offset", "code"), [(-301, 36009004), (-290, 0), (25, 0), (31, 36009004)])
def test_timestamp_window(api: Api, offset: int, code: int) -> None:
    r = api.call(
        "GET", "/authorization/202309/shops", cipher=None, timestamp=int(time.time()) + offset
    )
    assert r.json()["code"] == code


def test_access_token_missing_invalid_and_expired(api: Api) -> None:
    path = "/authorization/202309/shops"
    assert api.call("GET", path, cipher=None, token=None).json()["code"] == 36009004
    assert api.call("GET", path, cipher=None, token="TTP_forged").json()["code"] == 36009004
    api.admin("PUT", "credentials", {"expire_access_tokens": True})
    r = api.call("GET", path, cipher=None)
    assert (r.status_code, r.json()["code"]) == (401, 105002)
    assert "expired" in r.json()["message"]


def test_token_refresh_and_get(api: Api) -> None:
    api.admin("PUT", "credentials", {"expire_access_tokens": True})
    r = api.http.get(
        "/api/v2/token/refresh",
        params={
            "app_key": DEFAULT_APP_KEY,
            "app_secret": DEFAULT_APP_SECRET,
            "refresh_token": DEFAULT_REFRESH_TOKEN,
            "grant_type": "refresh_token",
        },
    )
    data = r.json()["data"]
    assert r.json()["code"] == 0
    assert data["access_token"] != DEFAULT_ACCESS_TOKEN
    assert data["access_token_expire_in"] > time.time() + 6 * 86400  # absolute timestamp
    ok = api.call("GET", "/authorization/202309/shops", cipher=None, token=data["access_token"])
    assert ok.json()["code"] == 0
    bad = api.http.get(
        "/api/v2/token/refresh",
        params={
            "app_key": DEFAULT_APP_KEY,
            "app_secret": DEFAULT_APP_SECRET,
            "refresh_token": "TTP_unknown",
            "grant_type": "refresh_token",
        },
    )
    assert bad.json()["code"] == 36004005
    params = {
        "app_key": DEFAULT_APP_KEY,
        "app_secret": DEFAULT_APP_SECRET,
        "auth_code": "sandbox-auth-code",
        "grant_type": "authorized_code",
    }
    first = api.http.get("/api/v2/token/get", params=params).json()
    assert first["code"] == 0 and first["data"]["refresh_token"].startswith("TTP_")
    assert api.http.get("/api/v2/token/get", params=params).json()["code"] == 36004005  # single use


def test_shop_cipher_rules(api: Api) -> None:
    search = "/product/202309/products/search"
    r = api.call("POST", search, params={"page_size": "10"}, body={"status": "ALL"}, cipher=None)
    assert r.json()["code"] == 106013
    r = api.call("GET", "/authorization/202309/shops", cipher=CIPHER)
    assert r.json()["code"] == 36009004 and "Unexpected" in r.json()["message"]
    r = api.call(
        "POST", search, params={"page_size": "10"}, body={"status": "ALL"}, cipher="ROW_other"
    )
    assert r.json()["code"] == 101000


def test_unknown_path_method_and_version(api: Api) -> None:
    assert api.call("GET", "/product/202309/nothing").json()["code"] == 36009009
    assert api.call("GET", "/product/202309/products/search").json()["code"] == 36009010
    r = api.call(
        "POST", "/product/201901/products/search", params={"page_size": "5"}, body={"a": 1}
    )
    assert r.json()["code"] == 36009014


# -- products --------------------------------------------------------------------------------
def test_search_paging_page_size_limits_and_read_price_fields(api: Api) -> None:
    path = "/product/202309/products/search"
    for size in ("101", "0", None):
        params = {"page_size": size} if size else {}
        assert (
            api.call("POST", path, params=params, body={"status": "ALL"}).json()["code"] == 12019109
        )
    seen, token, pages = [], None, 0
    while True:
        params = {"page_size": "1"} | ({"page_token": token} if token else {})
        data = api.call("POST", path, params=params, body={"status": "ALL"}).json()["data"]
        pages += 1
        assert data["total_count"] == 3
        seen += [p["id"] for p in data["products"]]
        token = data["next_page_token"]
        if not token:
            break
        assert set(token) & set("+/=")  # opaque base64 token: must be percent-encoded
    assert pages == 3 and len(set(seen)) == 3
    first = api.call("POST", path, params={"page_size": "5"}, body={"status": "ACTIVATE"}).json()
    tee = first["data"]["products"][0]
    assert first["data"]["next_page_token"] == "" and first["data"]["total_count"] == 2
    assert tee["skus"][0]["price"] == {"currency": "USD", "tax_exclusive_price": "10.00"}
    assert "amount" not in tee["skus"][0]["price"]
    assert tee["skus"][0]["inventory"] == [
        {"warehouse_id": WH1, "quantity": 3},
        {"warehouse_id": WH2, "quantity": 1},
    ]
    too_many = {"seller_skus": [f"S{i}" for i in range(11)]}
    assert (
        api.call("POST", path, params={"page_size": "5"}, body=too_many).json()["code"] == 12019027
    )
    hit = api.call("POST", path, params={"page_size": "5"}, body={"seller_skus": ["MUG"]}).json()
    assert [p["title"] for p in hit["data"]["products"]] == ["Mug"]


def test_page_token_with_raw_plus_is_refused(api: Api) -> None:
    path = "/product/202309/products/search"
    token = api.call("POST", path, params={"page_size": "1"}, body={"status": "ALL"}).json()[
        "data"
    ]["next_page_token"]
    stamp = str(int(time.time()))
    query = {
        "app_key": DEFAULT_APP_KEY,
        "timestamp": stamp,
        "shop_cipher": CIPHER,
        "page_size": "1",
        "page_token": token,
    }
    body = b'{"status":"ALL"}'
    sign = request_sign(DEFAULT_APP_SECRET, path, query, body)
    raw_url = (
        f"{path}?app_key={DEFAULT_APP_KEY}&timestamp={stamp}&shop_cipher={CIPHER}"
        f"&page_size=1&page_token={token}&sign={sign}"
    )  # '+' not percent-encoded
    r = api.http.post(
        raw_url,
        content=body,
        headers={"x-tts-access-token": DEFAULT_ACCESS_TOKEN, "content-type": "application/json"},
    )
    assert r.json()["code"] == 106001


def test_search_window_cap(api: Api) -> None:
    api.admin("PUT", "settings", {"search_window": 2})
    path = "/product/202309/products/search"
    first = api.call("POST", path, params={"page_size": "2"}, body={"status": "ALL"}).json()
    token = first["data"]["next_page_token"]
    second = api.call(
        "POST", path, params={"page_size": "2", "page_token": token}, body={"status": "ALL"}
    ).json()
    assert second["code"] == 12052180


def test_get_product_has_sales_attributes(api: Api) -> None:
    data = api.call("GET", "/product/202309/products/1729000000000000001").json()["data"]
    assert data["skus"][0]["sales_attributes"][0]["name"] == "Size"
    assert data["skus"][0]["sales_attributes"][0]["value_name"] == "S"
    assert (
        api.call("GET", "/product/202309/products/1729999999999999999").json()["code"] == 12052032
    )


def test_warehouses(api: Api) -> None:
    data = api.call("GET", "/logistics/202309/warehouses").json()["data"]
    assert [(w["id"], w["is_default"], w["type"]) for w in data["warehouses"]] == [
        (WH1, True, "SALES_WAREHOUSE"),
        (WH2, False, "SALES_WAREHOUSE"),
    ]


def test_inventory_per_sku_errors_inside_code_zero(api: Api) -> None:
    path = "/product/202309/products/1729000000000000001/inventory/update"
    body = {
        "skus": [
            {"id": "1729000000000000012", "inventory": [{"warehouse_id": WH1, "quantity": 0}]},
            {"id": "1729000000000000999", "inventory": [{"warehouse_id": WH1, "quantity": 4}]},
            {"id": "1729000000000000021", "inventory": [{"warehouse_id": WH1, "quantity": 4}]},
            {
                "id": "1729000000000000011",
                "inventory": [
                    {"warehouse_id": WH1, "quantity": -1},
                    {"warehouse_id": WH2, "quantity": 2},
                ],
            },
        ]
    }
    r = api.call("POST", path, body=body).json()
    assert r["code"] == 0
    errors = {e["detail"]["sku_id"]: e for e in r["data"]["errors"]}
    assert errors["1729000000000000999"]["code"] == 12052556
    assert errors["1729000000000000021"]["code"] == 12052557  # SKU of another product
    assert errors["1729000000000000011"]["detail"]["extra_errors"][0]["warehouse_id"] == WH1
    assert "1729000000000000012" not in errors
    assert sku_state(api, "1729000000000000012")["inventory"] == {WH1: 0}
    assert sku_state(api, "1729000000000000011")["inventory"] == {WH1: 3, WH2: 1}


def test_inventory_must_list_every_warehouse_of_the_sku(api: Api) -> None:
    path = "/product/202309/products/1729000000000000001/inventory/update"
    partial = {
        "skus": [{"id": "1729000000000000011", "inventory": [{"warehouse_id": WH1, "quantity": 8}]}]
    }
    r = api.call("POST", path, body=partial).json()
    assert r["code"] == 0 and r["data"]["errors"][0]["code"] == 12019028
    assert sku_state(api, "1729000000000000011")["inventory"] == {WH1: 3, WH2: 1}
    full = {
        "skus": [
            {
                "id": "1729000000000000011",
                "inventory": [
                    {"warehouse_id": WH1, "quantity": 8},
                    {"warehouse_id": WH2, "quantity": 0},
                ],
            }
        ]
    }
    assert api.call("POST", path, body=full).json()["data"] == {}
    assert sku_state(api, "1729000000000000011")["inventory"] == {WH1: 8, WH2: 0}
    single = {"skus": [{"id": "1729000000000000012", "inventory": [{"quantity": 6}]}]}
    assert api.call("POST", path, body=single).json()["data"] == {}  # one warehouse: id optional
    assert sku_state(api, "1729000000000000012")["inventory"] == {WH1: 6}


def test_writes_need_an_active_product(api: Api) -> None:
    body = {
        "skus": [{"id": "1729000000000000031", "inventory": [{"warehouse_id": WH1, "quantity": 1}]}]
    }
    r = api.call("POST", "/product/202309/products/1729000000000000003/inventory/update", body=body)
    assert r.json()["code"] == 12052901


def test_update_price_amount_and_currency_all_or_nothing(api: Api) -> None:
    path = "/product/202309/products/1729000000000000001/prices/update"
    ok = {"skus": [{"id": "1729000000000000011", "price": {"amount": "12.34", "currency": "USD"}}]}
    assert api.call("POST", path, body=ok).json() | {"request_id": ""} == {
        "code": 0,
        "message": "Success",
        "request_id": "",
        "data": {},
    }
    assert sku_state(api, "1729000000000000011")["price"] == "12.34"
    mixed = {
        "skus": [
            {"id": "1729000000000000012", "price": {"amount": "1.00", "currency": "USD"}},
            {"id": "1729000000000000999", "price": {"amount": "2.00", "currency": "USD"}},
        ]
    }
    assert api.call("POST", path, body=mixed).json()["code"] == 12052556
    assert sku_state(api, "1729000000000000012")["price"] == "11.00"
    read_shape = {
        "skus": [
            {"id": "1729000000000000012", "price": {"tax_exclusive_price": "3", "currency": "USD"}}
        ]
    }
    assert api.call("POST", path, body=read_shape).json()["code"] != 0
    too_high = {
        "skus": [{"id": "1729000000000000012", "price": {"amount": "9000", "currency": "USD"}}]
    }
    assert api.call("POST", path, body=too_high).json()["code"] == 12052570


# -- orders ----------------------------------------------------------------------------------
def detail(api: Api, *ids: str) -> dict[str, Any]:
    return api.call("GET", "/order/202309/orders", params={"ids": ",".join(ids)}).json()


def test_order_detail_one_line_item_per_unit(api: Api) -> None:
    order = detail(api, "5760000000000000001")["data"]["orders"][0]
    skus = [li["sku_id"] for li in order["line_items"]]
    assert sorted(skus) == ["1729000000000000011"] * 3 + ["1729000000000000021"]
    assert len({li["id"] for li in order["line_items"]}) == 4
    assert all("quantity" not in li for li in order["line_items"])
    assert order["payment"]["sub_total"] == "35.50"
    assert isinstance(order["create_time"], int) and isinstance(order["id"], str)


def test_single_line_items_cancelled_on_their_own(api: Api) -> None:
    """US/UK: one unit cancelled, the order goes on; all units cancelled = order CANCELLED
    (line_items[].display_status / cancel_user, TikTok SDK GetOrderDetailResponseDataOrders-
    LineItems)."""
    oid = "5760000000000000001"
    before = detail(api, oid)["data"]["orders"][0]
    r = api.admin("POST", f"orders/{oid}/lines/cancel", {"sku_id": "1729000000000000011"})
    assert r.status_code == 200 and r.json()["status"] == before["status"]
    order = detail(api, oid)["data"]["orders"][0]
    cancelled = [li for li in order["line_items"] if li["display_status"] == "CANCELLED"]
    assert len(cancelled) == 1 and cancelled[0]["sku_id"] == "1729000000000000011"
    assert cancelled[0]["cancel_user"] == "BUYER" and cancelled[0]["cancel_reason"]
    assert order["status"] == before["status"] and order["update_time"] >= before["update_time"]
    live = [li["id"] for li in order["line_items"] if li["display_status"] != "CANCELLED"]
    too_many = {"sku_id": "1729000000000000021", "count": 2}
    assert api.admin("POST", f"orders/{oid}/lines/cancel", too_many).status_code == 409
    r = api.admin("POST", f"orders/{oid}/lines/cancel", {"line_ids": live})
    assert r.json()["status"] == "CANCELLED"


def test_order_detail_id_limits(api: Api) -> None:
    assert detail(api, *[str(5760000000000000001 + i) for i in range(51)])["code"] != 0
    assert detail(api, "5769999999999999999")["code"] == 21008111


def test_masking_by_shipping_type_and_status(api: Api) -> None:
    orders = {
        o["id"]: o
        for o in detail(
            api,
            "5760000000000000001",
            "5760000000000000002",
            "5760000000000000003",
            "5760000000000000004",
        )["data"]["orders"]
    }
    seller = orders["5760000000000000001"]["recipient_address"]
    assert seller["name"] == "Avery Okafor" and seller["phone_number"] == "(+1)555-201-3344"
    assert seller["address_line1"] == "12 Cedar St"
    platform = orders["5760000000000000002"]["recipient_address"]
    assert "*" in platform["name"] and "Jordan" not in platform["name"]
    assert platform["phone_number"] == "(+1)555-***-1234"
    assert "9 Elm St" not in json.dumps(platform)
    on_hold = orders["5760000000000000003"]["recipient_address"]
    assert on_hold["full_address"] == "" and on_hold["district_info"] == []
    assert "*" in orders["5760000000000000004"]["recipient_address"]["name"]
    api.admin("PUT", "settings", {"mask_platform_shipping": False})  # US rule of July 2025
    again = detail(api, "5760000000000000002")["data"]["orders"][0]["recipient_address"]
    assert again["name"] == "Jordan Vance"


def test_order_search_update_time_window_and_paging(api: Api) -> None:
    base = 1_767_225_600
    api.admin(
        "POST",
        "orders",
        [
            {
                "id": f"57610000000000000{i:02d}",
                "lines": [{"seller_sku": "MUG"}],
                "create_time": base + i,
                "update_time": base + 1000 + i,
            }
            for i in range(10)
        ],
    )
    path = "/order/202309/orders/search"
    window = {"update_time_ge": base + 1002, "update_time_lt": base + 1007}
    ids, token = [], None
    while True:
        params = {"page_size": "2", "sort_field": "update_time", "sort_order": "ASC"}
        if token:
            params["page_token"] = token
        data = api.call("POST", path, params=params, body=window).json()["data"]
        assert data["total_count"] == 5
        ids += [o["id"] for o in data["orders"]]
        token = data["next_page_token"]
        if not token:
            break
    assert ids == [f"57610000000000000{i:02d}" for i in range(2, 7)]  # lt is exclusive
    assert (
        api.call("POST", path, params={"page_size": "101"}, body=window).json()["code"] == 12019109
    )


def test_order_lifecycle(api: Api) -> None:
    ids = api.admin(
        "POST", "orders", [{"status": "UNPAID", "lines": [{"seller_sku": "MUG"}]}]
    ).json()["ids"]
    oid = ids[0]
    for status in ("ON_HOLD", "AWAITING_SHIPMENT", "AWAITING_COLLECTION", "IN_TRANSIT"):
        r = api.admin("POST", f"orders/{oid}/status", {"status": status})
        assert r.status_code == 200 and r.json()["status"] == status
    assert api.admin("POST", f"orders/{oid}/status", {"status": "UNPAID"}).status_code == 409
    assert api.admin("POST", f"orders/{oid}/status", {"status": "CANCELLED"}).status_code == 200
    assert api.admin("POST", f"orders/{oid}/status", {"status": "COMPLETED"}).status_code == 409
    order = next(o for o in state(api)["orders"] if o["id"] == oid)
    assert [h[0] for h in order["history"]] == [
        "UNPAID",
        "ON_HOLD",
        "AWAITING_SHIPMENT",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "CANCELLED",
    ]
    times = [h[1] for h in order["history"]]
    assert times == sorted(times) and len(set(times[1:])) == len(times) - 1
    assert api.admin("POST", "orders/1/status", {"status": "CANCELLED"}).status_code == 404


def test_order_generation_is_seeded_and_realistic(api: Api) -> None:
    spec = {
        "generate": 12,
        "seed": 7,
        "shipping_type_mix": {"SELLER": 0.5, "TIKTOK": 0.5},
        "max_quantity": 3,
    }
    ids = api.admin("POST", "orders", spec).json()["ids"]
    assert len(ids) == 12
    orders = [o for o in state(api)["orders"] if o["id"] in ids]
    assert {o["shipping_type"] for o in orders} == {"SELLER", "TIKTOK"}
    skus_in_catalog = {"1729000000000000011", "1729000000000000012", "1729000000000000021"}
    for o in orders:
        assert {li["sku_id"] for li in o["line_items"]} <= skus_in_catalog
        addr = o["recipient_address"]  # admin state is unmasked
        assert (
            addr["name"] and "*" not in addr["name"] and addr["phone_number"].startswith("(+1)555-")
        )
        assert addr["postal_code"].isdigit() and len(addr["district_info"]) == 4
    app2 = create_app(fixture())
    again = app2.state.emulator.generate_orders(spec)
    mine = [[li["sku_id"] for li in o["line_items"]] for o in orders]
    snap = {o["id"]: o for o in app2.state.emulator.snapshot()["orders"]}
    assert [[li["sku_id"] for li in snap[i]["line_items"]] for i in again] == mine


# -- webhooks --------------------------------------------------------------------------------
class Receiver:
    """A tiny webhook endpoint: fails the first ``fail_first`` deliveries with 500."""

    def __init__(self, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[bytes, str]] = []
        self.lock = threading.Lock()

    async def handle(self, request: Request) -> Response:
        body = await request.body()
        with self.lock:
            self.received.append((body, request.headers.get("authorization", "")))
            if len(self.received) <= self.fail_first:
                return Response(status_code=500)
        return Response(status_code=200)


def test_webhook_signed_post_on_status_change_with_retry(api: Api) -> None:
    receiver = Receiver(fail_first=1)
    with serve_in_thread(
        Starlette(routes=[Route("/hook", receiver.handle, methods=["POST"])])
    ) as hook:
        api.admin("PUT", "webhooks", {"address": f"{hook}/hook"})
        oid = api.admin(
            "POST", "orders", [{"status": "ON_HOLD", "lines": [{"seller_sku": "MUG"}]}]
        ).json()["ids"][0]
        api.admin("POST", f"orders/{oid}/status", {"status": "AWAITING_SHIPMENT"})
        assert api.app.state.emulator.webhooks.wait_idle(10)
    bodies = [json.loads(b) for b, _ in receiver.received]
    for raw, auth in receiver.received:
        assert auth == webhook_sign(DEFAULT_APP_KEY, DEFAULT_APP_SECRET, raw)
    assert bodies[0] == bodies[1]  # first delivery refused with 500, then retried
    last = bodies[-1]
    assert last["type"] == 1 and last["shop_id"] == "7495000000000000001"
    assert last["data"]["order_id"] == oid and last["data"]["order_status"] == "AWAITING_SHIPMENT"
    assert last["tts_notification_id"] != bodies[0]["tts_notification_id"]
    deliveries = api.admin("GET", "webhooks").json()["deliveries"]
    assert deliveries[0]["attempts"] == [500, 200] and deliveries[1]["attempts"] == [200]


def test_event_api_registers_webhook(api: Api) -> None:
    r = api.call(
        "PUT",
        "/event/202309/webhooks",
        body={"address": "https://example.test/hook", "event_type": "ORDER_STATUS_CHANGE"},
    )
    assert r.json()["code"] == 0
    hooks = api.call("GET", "/event/202309/webhooks").json()["data"]
    assert hooks["webhooks"][0]["address"] == "https://example.test/hook"


# -- throttling ------------------------------------------------------------------------------
def test_throttling_body_status_switch_and_scale(api: Api) -> None:
    path = "/logistics/202309/warehouses"
    api.admin("PUT", "throttle", {"enabled": True, "qps": 50, "scale": 0.002})  # 1 call per 10 s
    codes = [api.call("GET", path).status_code for _ in range(3)]
    assert codes[0] == 200 and 429 in codes[1:]
    r = api.call("GET", path)
    assert r.status_code == 429
    assert r.json()["code"] == 36009002 and r.json()["data"] is None
    api.admin("PUT", "throttle", {"enabled": False})
    assert all(api.call("GET", path).status_code == 200 for _ in range(20))
    api.admin("PUT", "throttle", {"throttle_next": 2})
    assert [api.call("GET", path).status_code for _ in range(3)] == [429, 429, 200]


# -- fixture and admin -----------------------------------------------------------------------
def test_fixture_round_trip_through_admin(api: Api) -> None:
    fx = Fixture.model_validate(
        {
            "tiktok": {
                "shop_cipher": "ROW_round",
                "products": [
                    {
                        "title": "Cap",
                        "skus": [
                            {
                                "seller_sku": "CAP-1",
                                "price": "7.25",
                                "inventory": {"7000000000000000001": 4},
                            }
                        ],
                    }
                ],
            },
            "orders": [{"lines": [{"seller_sku": "CAP-1", "quantity": 2}]}],
        }
    )
    assert api.http.put("/_sandbox/load", content=dump_fixture(fx)).status_code == 200
    snap = state(api)
    assert snap["shop"]["cipher"] == "ROW_round"
    product = snap["products"][0]
    expected = fx.tiktok.products[0]
    assert (product["id"], product["title"]) == (expected.id, "Cap")
    assert product["skus"][0] | {"price": None} == {
        "id": expected.skus[0].id,
        "seller_sku": "CAP-1",
        "price": None,
        "currency": "USD",
        "inventory": {"7000000000000000001": 4},
        "sales_attributes": {},
    }
    assert product["skus"][0]["price"] in ("7.25", "7.250")
    assert [li["sku_id"] for li in snap["orders"][0]["line_items"]] == [expected.skus[0].id] * 2
    assert api.http.put("/_sandbox/load", content=b'{"tiktok": {"bogus": 1}}').status_code == 400


# -- fault knobs over loopback ---------------------------------------------------------------
INVENTORY_PATH = "/product/202309/products/1729000000000000001/inventory/update"
SET_M_TO_2 = {
    "skus": [{"id": "1729000000000000012", "inventory": [{"warehouse_id": WH1, "quantity": 2}]}]
}


def faults(api: Api, **knobs: Any) -> None:
    assert api.admin("PUT", "faults", knobs).status_code == 200


def test_fault_error_answers_5xx_in_tiktok_shape_and_applies_nothing(api: Api) -> None:
    faults(api, error_rate=1.0, operations=["product.update_inventory"])
    r = api.call("POST", INVENTORY_PATH, body=SET_M_TO_2)
    assert r.status_code in (500, 503) and r.json()["code"] == 36009003
    assert sku_state(api, "1729000000000000012")["inventory"] == {WH1: 5}
    assert api.call("GET", "/logistics/202309/warehouses").json()["code"] == 0  # not targeted
    assert api.admin("GET", "faults").json()["injected"] == {"error": 1}
    counts = api.admin("GET", "requests").json()
    assert counts["product.update_inventory"] == 1 and counts["logistics.warehouses"] == 1
    api.admin("DELETE", "requests")
    assert api.admin("GET", "requests").json() == {}


def test_fault_drop_after_commit_applies_then_cuts(api: Api) -> None:
    faults(api, drop_after_commit_rate=1.0, operations=["product.update_inventory"])
    with pytest.raises(httpx.TransportError):
        api.call("POST", INVENTORY_PATH, body=SET_M_TO_2)
    assert sku_state(api, "1729000000000000012")["inventory"] == {WH1: 2}


def test_fault_malformed_applies_and_truncates(api: Api) -> None:
    faults(api, malformed_rate=1.0, operations=["product.update_inventory"])
    r = api.call("POST", INVENTORY_PATH, body=SET_M_TO_2)
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.content)
    assert sku_state(api, "1729000000000000012")["inventory"] == {WH1: 2}


def test_fault_timeout_hangs_the_request(api: Api) -> None:
    faults(api, timeout_rate=1.0, timeout_s=1.0, operations=["logistics.warehouses"])
    api.http.timeout = httpx.Timeout(0.2)
    with pytest.raises(httpx.ReadTimeout):
        api.call("GET", "/logistics/202309/warehouses")
    assert api.admin("GET", "faults").json()["injected"] == {"timeout": 1}


def test_fault_latency_delays_the_answer(api: Api) -> None:
    faults(api, latency_ms=600, operations=["logistics.warehouses"])
    api.http.timeout = httpx.Timeout(0.1)
    with pytest.raises(httpx.ReadTimeout):
        api.call("GET", "/logistics/202309/warehouses")
    api.http.timeout = httpx.Timeout(10)
    assert api.call("GET", "/logistics/202309/warehouses").json()["code"] == 0
    assert api.call("GET", "/authorization/202309/shops", cipher=None).json()["code"] == 0
    assert api.admin("PUT", "faults", {"nope": 1}).status_code == 400


def test_admin_state_keeps_raw_recipient_and_cancel_spelling_is_switchable(api: Api) -> None:
    raw = next(o for o in state(api)["orders"] if o["id"] == "5760000000000000004")
    assert raw["recipient_address"]["name"].count("*") > 0  # UNPAID stays masked when rendered
    assert raw["recipient"]["first_name"] and "*" not in raw["recipient"]["first_name"]
    settings = api.admin("PUT", "settings", {"webhook_cancel_status": "CANCEL"}).json()
    assert settings["webhook_cancel_status"] == "CANCEL"
    receiver = Receiver()
    with serve_in_thread(
        Starlette(routes=[Route("/h", receiver.handle, methods=["POST"])])
    ) as hook:
        api.admin("PUT", "webhooks", {"address": f"{hook}/h"})
        api.admin("POST", "orders/5760000000000000004/status", {"status": "CANCELLED"})
        assert api.app.state.emulator.webhooks.wait_idle(10)
    assert json.loads(receiver.received[-1][0])["data"]["order_status"] == "CANCEL"


def test_order_generation_with_line_cancellations(api: Api) -> None:
    spec = {"generate": 20, "seed": 3, "max_quantity": 3, "line_cancel_rate": 1.0}
    ids = api.admin("POST", "orders", spec).json()["ids"]
    orders = detail(api, *ids)["data"]["orders"]
    for o in orders:
        statuses = [li["display_status"] for li in o["line_items"]]
        expected = 1 if len(statuses) > 1 else 0
        assert statuses.count("CANCELLED") == expected, o["id"]
