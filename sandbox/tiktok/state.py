"""The state of the TikTok Shop emulator: credentials, shop, catalog, orders, webhooks.

Every business rule the emulator enforces lives here (the endpoint pages listed at
https://partner.tiktokshop.com/docv2/page/678e3a40c0833b03100a46b1); the HTTP layer in
:mod:`sandbox.tiktok.app` only parses requests and renders answers. Methods are thread-safe (the
server runs in its own thread while tests read the state).

Sources cited by name below:

- Authorization guide: https://partner.tiktokshop.com/docv2/page/678e3a2dbd083702fd17455c
- Update Inventory: https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858
- Search Products: https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369
- ORDER_STATUS_CHANGE webhook: https://partner.tiktokshop.com/docv2/page/650300b8a57708028b430b4a
- Common errors: https://partner.tiktokshop.com/docv2/page/678e3a45786253031531b942
- Update Price: https://partner.tiktokshop.com/docv2/page/650307de5a12ff0294eac8b0
- Get Order Detail: https://partner.tiktokshop.com/docv2/page/6894134ba28e5204961601a5
- Get Order List: https://partner.tiktokshop.com/docv2/page/650aa8094a0bb702c06df242
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.fixture import Fixture, OrderFixture
from sandbox.tiktok import codes
from sandbox.tiktok.orders import (
    TRANSITIONS,
    LineUnit,
    Order,
    fake_recipient,
    recipient_from_dict,
    render_order,
)
from sandbox.tiktok.webhooks import EVENT_TYPES, WebhookSender

DEFAULT_APP_KEY = "6sandboxappkey"
DEFAULT_APP_SECRET = "sandbox-app-secret-0000"  # noqa: S105 - public sandbox value
DEFAULT_ACCESS_TOKEN = "TTP_sandbox_access_token_0001"  # noqa: S105
DEFAULT_REFRESH_TOKEN = "TTP_sandbox_refresh_token_0001"  # noqa: S105
DEFAULT_AUTH_CODE = "sandbox-auth-code"
ACCESS_TOKEN_LIFETIME_S = 7 * 86400  # Authorization guide
# UNCONFIRMED (Authorization guide): the seller's grant length
REFRESH_TOKEN_LIFETIME_S = 365 * 86400
QUANTITY_MAX = 99_999  # Update Inventory
PRICE_RANGE = {"USD": (Decimal("0.01"), Decimal("7600")), "GBP": (Decimal("0.01"), Decimal("5600"))}
SEARCH_WINDOW = 10_000  # Search Products


class ApiFailure(Exception):
    """A request the API refuses: rendered as ``{"code", "message", "data": null}``."""

    def __init__(self, code: int, message: str, status: int = 200) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class Sku:
    id: str
    seller_sku: str
    price: Decimal
    currency: str
    inventory: dict[str, int]
    sales_attributes: dict[str, str]
    barcode: str | None = None


@dataclass
class Product:
    id: str
    title: str
    status: str
    create_time: int
    update_time: int
    skus: list[Sku]


@dataclass
class Credentials:
    """App credentials and issued tokens (token -> absolute expiry, Unix seconds)."""

    app_key: str = DEFAULT_APP_KEY
    app_secret: str = DEFAULT_APP_SECRET
    auth_code: str = DEFAULT_AUTH_CODE
    access_tokens: dict[str, int] = field(default_factory=dict)
    refresh_tokens: dict[str, int] = field(default_factory=dict)
    current_access: str = DEFAULT_ACCESS_TOKEN
    current_refresh: str = DEFAULT_REFRESH_TOKEN
    issued: int = 0


class TikTokEmulator:
    """In-memory TikTok shop with the API's validation rules."""

    def __init__(self, fixture: Fixture | None = None, *, clock: Any = time.time) -> None:
        self._lock = threading.RLock()
        self.clock = clock
        self.mask_platform_shipping = True
        # The ORDER_STATUS_CHANGE page lists CANCEL, the API says CANCELLED (ORDER_STATUS_CHANGE
        # webhook, UNCONFIRMED).
        self.webhook_cancel_status = "CANCELLED"
        self.search_window = SEARCH_WINDOW
        self.webhooks = WebhookSender()
        self.webhook_addresses: dict[str, str] = {}
        self._notification_ids = itertools.count(7_380_000_000_000_000_001)
        self._line_ids = itertools.count(5_780_000_000_000_000_001)
        self._order_ids = itertools.count(5_769_000_000_000_000_001)
        now = self.now()
        self.credentials = Credentials(
            access_tokens={DEFAULT_ACCESS_TOKEN: now + ACCESS_TOKEN_LIFETIME_S},
            refresh_tokens={DEFAULT_REFRESH_TOKEN: now + REFRESH_TOKEN_LIFETIME_S},
        )
        self.load(fixture or Fixture())

    def now(self) -> int:
        return int(self.clock())

    # -- fixture --------------------------------------------------------------------------
    def load(self, fixture: Fixture) -> None:
        """Replace shop, catalog and orders with the ``tiktok`` and ``orders`` parts."""
        side = fixture.tiktok
        with self._lock:
            self.__dict__.pop("loopback", None)  # sandbox/tiktok/loopback.py state
            self.fixture_side = side
            self.shop = {
                "id": side.shop_id,
                "name": side.shop_name,
                "region": side.region,
                "seller_type": "LOCAL",
                "cipher": side.shop_cipher,
                "code": "US" + side.shop_id[-8:],
            }
            self.currency = side.currency
            self.warehouses = [w.model_dump() for w in side.warehouses]
            self.products: dict[str, Product] = {}
            self.sku_index: dict[str, Product] = {}
            for p in side.products:
                product = Product(
                    id=str(p.id),
                    title=p.title,
                    status=p.status,
                    create_time=int(p.create_time or 0),
                    update_time=int(p.update_time or 0),
                    skus=[
                        Sku(
                            str(s.id),
                            s.seller_sku or "",
                            s.price,
                            s.currency,
                            dict(s.inventory),
                            dict(s.sales_attributes),
                            s.barcode,
                        )
                        for s in p.skus
                    ],
                )
                self.products[product.id] = product
                for sku in product.skus:
                    self.sku_index[sku.id] = product
            self.orders: dict[str, Order] = {}
            rng = random.Random(0)
            for of in fixture.orders:
                self._add_order(of, rng, notify=False)

    def snapshot(self) -> dict[str, Any]:
        """Everything a test may assert on: shop, products with SKU prices and stock, orders."""
        with self._lock:
            now = self.now()
            return {
                "shop": dict(self.shop),
                "warehouses": [dict(w) for w in self.warehouses],
                "products": [
                    {
                        "id": p.id,
                        "title": p.title,
                        "status": p.status,
                        "create_time": p.create_time,
                        "update_time": p.update_time,
                        "skus": [
                            {
                                "id": s.id,
                                "seller_sku": s.seller_sku,
                                "price": str(s.price),
                                "currency": s.currency,
                                "inventory": dict(s.inventory),
                                "sales_attributes": dict(s.sales_attributes),
                            }
                            for s in p.skus
                        ],
                    }
                    for p in self.products.values()
                ],
                "orders": [
                    render_order(o, now, mask_platform_shipping=False)
                    | {"history": [list(h) for h in o.history], "recipient": asdict(o.recipient)}
                    for o in self.orders.values()
                ],
                "webhook_addresses": dict(self.webhook_addresses),
                "webhooks": [d.describe() for d in self.webhooks.deliveries],
            }

    # -- credentials ----------------------------------------------------------------------
    def configure_credentials(self, **values: str | int) -> None:
        """Set app_key / app_secret / access_token / refresh_token / auth_code (admin)."""
        with self._lock:
            c = self.credentials
            now = self.now()
            for key in ("app_key", "app_secret", "auth_code"):
                if key in values:
                    setattr(c, key, str(values[key]))
            if "access_token" in values:
                c.current_access = str(values["access_token"])
                c.access_tokens[c.current_access] = now + int(
                    values.get("access_expires_in", ACCESS_TOKEN_LIFETIME_S)
                )
            if "refresh_token" in values:
                c.current_refresh = str(values["refresh_token"])
                c.refresh_tokens[c.current_refresh] = now + REFRESH_TOKEN_LIFETIME_S

    def expire_access_tokens(self) -> None:
        """Make every issued access token expired (the next business call answers 105002)."""
        with self._lock:
            past = self.now() - 1
            for token in self.credentials.access_tokens:
                self.credentials.access_tokens[token] = past

    def check_access_token(self, token: str | None) -> None:
        """Raise the documented error for a missing, unknown or expired access token."""
        if not token:
            raise ApiFailure(
                codes.INVALID_CREDENTIALS,
                "Invalid credentials. The 'x-tts-access-token' header is missing.",
                401,
            )
        with self._lock:
            expires = self.credentials.access_tokens.get(token)
        if expires is None:
            raise ApiFailure(
                codes.INVALID_CREDENTIALS, "Invalid credentials. The access token is invalid.", 401
            )
        if expires <= self.now():
            # HTTP status of 105002 is UNCONFIRMED (Common errors); 401 like the other auth errors.
            raise ApiFailure(codes.TOKEN_EXPIRED, "access token is expired, please refresh it", 401)

    def token_get(
        self, app_key: str, app_secret: str, auth_code: str, grant: str
    ) -> dict[str, Any]:
        """``/api/v2/token/get``: exchange the (single-use) auth code for a token pair."""
        self._check_app(app_key, app_secret)
        if grant != "authorized_code":
            raise ApiFailure(codes.INVALID_GRANT, "grant_type must be authorized_code")
        with self._lock:
            if not auth_code or auth_code != self.credentials.auth_code:
                raise ApiFailure(codes.AUTH_RECORD_NOT_FOUND, "can not find related auth record")
            self.credentials.auth_code = ""  # single use (Authorization guide)
            return self._issue(new_refresh=True)

    def token_refresh(
        self, app_key: str, app_secret: str, refresh: str, grant: str
    ) -> dict[str, Any]:
        """``/api/v2/token/refresh``: a new access token and a new refresh token.

        The answer carries ``refresh_token`` with its own ``refresh_token_expire_in``
        (Refresh access token, https://partner.tiktokshop.com/docv2/page/678e3a3292b0f40314a92d75):
        the emulator rotates it on every refresh, so a client that keeps only the refresh
        token it was configured with loses access once that one expires. How long the
        previous refresh token keeps working is UNCONFIRMED: here until its own expiry.
        """
        self._check_app(app_key, app_secret)
        if grant != "refresh_token":
            raise ApiFailure(codes.INVALID_GRANT, "grant_type must be refresh_token")
        with self._lock:
            expires = self.credentials.refresh_tokens.get(refresh)
            if expires is None:
                raise ApiFailure(codes.AUTH_RECORD_NOT_FOUND, "can not find related auth record")
            if expires <= self.now():
                raise ApiFailure(codes.REFRESH_EXPIRED, "rt has expired")
            self.credentials.current_refresh = refresh
            return self._issue(new_refresh=True)

    def _check_app(self, app_key: str, app_secret: str) -> None:
        c = self.credentials
        if app_key != c.app_key or app_secret != c.app_secret:
            raise ApiFailure(
                codes.INVALID_CREDENTIALS,
                "Invalid credentials. app_key or app_secret is invalid.",
                401,
            )

    def _issue(self, *, new_refresh: bool) -> dict[str, Any]:
        c = self.credentials
        c.issued += 1
        now = self.now()
        c.current_access = f"TTP_sandbox_access_token_{c.issued + 1:04d}"
        c.access_tokens[c.current_access] = now + ACCESS_TOKEN_LIFETIME_S
        if new_refresh:
            c.current_refresh = f"TTP_sandbox_refresh_token_{c.issued + 1:04d}"
            c.refresh_tokens[c.current_refresh] = now + REFRESH_TOKEN_LIFETIME_S
        return {
            "access_token": c.current_access,
            # absolute (Authorization guide)
            "access_token_expire_in": c.access_tokens[c.current_access],
            "refresh_token": c.current_refresh,
            "refresh_token_expire_in": c.refresh_tokens[c.current_refresh],
            "open_id": "7010736057180325637",
            "seller_name": self.shop["name"],
            "seller_base_region": self.shop["region"],
            "user_type": 0,
            "granted_scopes": [
                "seller.authorization.info",
                "seller.product.basic",
                "seller.product.write",
                "seller.order.info",
                "seller.logistics",
            ],
        }

    def check_cipher(self, cipher: str) -> None:
        """The access token belongs to one seller with one shop: another cipher is 101000."""
        if cipher != self.shop["cipher"]:
            raise ApiFailure(
                codes.TOKEN_SHOP_MISMATCH, "The access token does not match the shop_cipher.", 401
            )

    # -- products -------------------------------------------------------------------------
    def search_products(self, filters: dict[str, Any]) -> list[Product]:
        """Products matching the Search Products body filters (Search Products), in a stable
        order."""
        status = filters.get("status") or "ALL"
        seller_skus = filters.get("seller_skus")
        if seller_skus is not None and (not isinstance(seller_skus, list) or len(seller_skus) > 10):
            raise ApiFailure(codes.TOO_MANY_SELLER_SKUS, "seller_skus supports at most 10 values")
        sku_ids = filters.get("sku_ids")
        bounds = {
            k: filters.get(k)
            for k in ("create_time_ge", "create_time_le", "update_time_ge", "update_time_le")
        }
        now = self.now()
        for key, value in bounds.items():
            if value is not None and not isinstance(value, int):
                raise ApiFailure(codes.INVALID_PARAMETER, f"{key} must be an integer")
            if value is not None and value > now:
                # Search Products documents an error for invalid search times and an omitted
                # side defaulting to now
                # (https://partner.tiktokshop.com/docv2/page/67b837b685619104a6846369);
                # which code it answers is UNCONFIRMED.
                raise ApiFailure(codes.INVALID_PARAMETER, f"{key} is in the future")
        with self._lock:
            found = []
            for p in self.products.values():
                if status != "ALL" and p.status != status:
                    continue
                # Whether ALL includes DELETED is UNCONFIRMED (Search Products): the emulator
                # includes it.
                if seller_skus and not any(s.seller_sku in seller_skus for s in p.skus):
                    continue
                if sku_ids and not any(s.id in sku_ids for s in p.skus):
                    continue
                if not _within(p.create_time, bounds["create_time_ge"], bounds["create_time_le"]):
                    continue
                if not _within(p.update_time, bounds["update_time_ge"], bounds["update_time_le"]):
                    continue
                found.append(p)
            return found

    def product(self, product_id: str) -> Product:
        with self._lock:
            product = self.products.get(product_id)
        if product is None or product.status in ("FREEZE", "DELETED"):
            raise ApiFailure(codes.PRODUCT_NOT_FOUND, "The product does not exist.")
        return product

    def _writable(self, product_id: str) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise ApiFailure(codes.PRODUCT_NOT_FOUND, "The product does not exist.")
        if product.status != "ACTIVATE":
            raise ApiFailure(
                codes.PRODUCT_STATUS_NOT_ALLOWED,
                f"Product status {product.status} does not allow this operation.",
            )
        return product

    def update_inventory(self, product_id: str, body: Any) -> dict[str, Any]:
        """Update Inventory (Update Inventory): valid SKUs are applied, the others come back in
        errors[]."""
        skus = _sku_list(body)
        with self._lock:
            product = self._writable(product_id)
            errors: list[dict[str, Any]] = []
            for entry in skus:
                sku_id = str(entry.get("id") or "")
                problem = self._sku_problem(product, sku_id)
                if problem:
                    errors.append(problem)
                    continue
                sku = next(s for s in product.skus if s.id == sku_id)
                wanted, extra = _inventory_entries(entry.get("inventory"), sku)
                if extra:
                    errors.append(_sku_error(sku_id, codes.CHECK_FAILED, "Check failed", extra))
                    continue
                missing = [w for w in sku.inventory if w not in wanted]
                if missing:
                    errors.append(
                        _sku_error(
                            sku_id,
                            codes.WAREHOUSES_INCOMPLETE,
                            "A multi-warehouse SKU must list all of its warehouses.",
                            [
                                {
                                    "warehouse_id": w,
                                    "code": codes.WAREHOUSES_INCOMPLETE,
                                    "message": "warehouse missing from the request",
                                }
                                for w in missing
                            ],
                        )
                    )
                    continue
                sku.inventory.update(wanted)
            if len(errors) < len(skus):
                product.update_time = max(self.now(), product.update_time)
            return {"errors": errors} if errors else {}

    def _sku_problem(self, product: Product, sku_id: str) -> dict[str, Any] | None:
        if sku_id not in self.sku_index:
            return _sku_error(sku_id, codes.SKU_NOT_FOUND, "The SKU does not exist.")
        if self.sku_index[sku_id] is not product:
            return _sku_error(
                sku_id, codes.SKU_NOT_IN_PRODUCT, "The SKU does not belong to the product."
            )
        return None

    def update_price(self, product_id: str, body: Any) -> dict[str, Any]:
        """Update Price (Update Price): all or nothing; any bad SKU fails the whole call."""
        skus = _sku_list(body)
        with self._lock:
            product = self._writable(product_id)
            staged: list[tuple[Sku, Decimal]] = []
            for entry in skus:
                sku_id = str(entry.get("id") or "")
                problem = self._sku_problem(product, sku_id)
                if problem:
                    raise ApiFailure(problem["code"], f"{problem['message']} sku_id={sku_id}")
                price = entry.get("price")
                if not isinstance(price, dict) or "amount" not in price or "currency" not in price:
                    raise ApiFailure(
                        codes.INVALID_PARAMETER, "price.amount and price.currency are required"
                    )
                try:
                    amount = Decimal(str(price["amount"]))
                except InvalidOperation:
                    raise ApiFailure(
                        codes.INVALID_PARAMETER, "price.amount is not a number"
                    ) from None
                if price["currency"] != self.currency:
                    raise ApiFailure(
                        codes.CURRENCY_NOT_AVAILABLE,
                        f"currency must be the shop currency {self.currency}",
                    )
                low, high = PRICE_RANGE.get(self.currency, (Decimal("0.01"), Decimal("1000000")))
                if not low <= amount <= high:
                    raise ApiFailure(codes.PRICE_LIMIT, "product price exceed limit")
                sku = next(s for s in product.skus if s.id == sku_id)
                staged.append((sku, amount))
            for sku, amount in staged:
                sku.price = amount
            product.update_time = max(self.now(), product.update_time)
            return {}

    # -- orders ---------------------------------------------------------------------------
    def _add_order(
        self,
        of: OrderFixture,
        rng: random.Random,
        *,
        notify: bool,
        fulfillment_type: str = "FULFILLMENT_BY_SELLER",
        update_time: int | None = None,
    ) -> Order:
        now = self.now()
        create = int(of.create_time or now)
        units: list[LineUnit] = []
        for line in of.lines:
            sku_id = line.sku_id
            if sku_id is None and line.seller_sku:
                sku_id = next(
                    (
                        s.id
                        for p in self.products.values()
                        for s in p.skus
                        if s.seller_sku == line.seller_sku
                    ),
                    None,
                )
            product = self.sku_index.get(sku_id or "")
            if product is None:
                raise ValueError(f"order line names no known SKU: {line.model_dump()}")
            sku = next(s for s in product.skus if s.id == sku_id)
            unit_price = line.price if line.price is not None else sku.price
            sku_name = ", ".join(sku.sales_attributes.values()) or "Default"
            for _ in range(line.quantity):  # one line item per unit (Get Order Detail)
                units.append(
                    LineUnit(
                        str(next(self._line_ids)),
                        sku.id,
                        product.id,
                        sku.seller_sku,
                        product.title,
                        sku_name,
                        unit_price,
                        max(unit_price, sku.price),
                    )
                )
        wh = next(
            (w["id"] for w in self.warehouses if w.get("is_default")), self.warehouses[0]["id"]
        )
        order = Order(
            id=str(of.id or next(self._order_ids)),
            status=of.status,
            shipping_type=of.shipping_type,
            fulfillment_type=fulfillment_type,
            create_time=create,
            update_time=int(update_time or create),
            currency=self.currency,
            lines=units,
            recipient=recipient_from_dict(of.recipient, fake_recipient(rng)),
            buyer_email=of.buyer_email or f"v{rng.randrange(16**6):06x}@scs3.tiktok.com",
            user_id=str(7_021_436_810_468_230_000 + rng.randrange(1000)),
            warehouse_id=wh,
            paid_time=create + 2 if of.status != "UNPAID" else 0,
        )
        order.history.append((order.status, order.update_time))
        self.orders[order.id] = order
        if notify:
            self._notify_order(order)
        return order

    def add_orders(self, items: list[dict[str, Any]]) -> list[str]:
        """Create orders from OrderFixture-like dicts (extras: fulfillment_type, update_time)."""
        ids = []
        with self._lock:
            rng = random.Random(len(self.orders))
            for raw in items:
                raw = dict(raw)
                fulfillment = raw.pop("fulfillment_type", "FULFILLMENT_BY_SELLER")
                update_time = raw.pop("update_time", None)
                of = OrderFixture.model_validate(raw)
                if of.create_time is None:
                    of.create_time = self.now()
                ids.append(
                    self._add_order(
                        of, rng, notify=True, fulfillment_type=fulfillment, update_time=update_time
                    ).id
                )
        return ids

    def generate_orders(self, spec: dict[str, Any]) -> list[str]:
        """Random orders over existing ACTIVATE SKUs (``generate``, ``seed``, mixes, sizes)."""
        rng = random.Random(spec.get("seed", 0))
        count = int(spec["generate"])
        shipping_mix = spec.get("shipping_type_mix") or {"SELLER": 1.0}
        status_mix = spec.get("status_mix") or {spec.get("status", "AWAITING_SHIPMENT"): 1.0}
        fbt_rate = float(spec.get("fbt_rate", 0.0))
        max_lines = int(spec.get("max_lines", 3))
        max_qty = int(spec.get("max_quantity", 3))
        # share of orders with more than one unit where the buyer cancels one unit on its own
        line_cancel_rate = float(spec.get("line_cancel_rate", 0.0))
        with self._lock:
            skus = [s.id for p in self.products.values() if p.status == "ACTIVATE" for s in p.skus]
            if not skus:
                raise ValueError("no ACTIVATE SKUs to order")
            items = []
            for _ in range(count):
                chosen = rng.sample(skus, k=min(len(skus), rng.randint(1, max_lines)))
                items.append(
                    {
                        "status": _pick(rng, status_mix),
                        "shipping_type": _pick(rng, shipping_mix),
                        "lines": [
                            {"sku_id": s, "quantity": rng.randint(1, max_qty)} for s in chosen
                        ],
                        "fulfillment_type": (
                            "FULFILLMENT_BY_TIKTOK"
                            if rng.random() < fbt_rate
                            else "FULFILLMENT_BY_SELLER"
                        ),
                        "recipient": {},
                    }
                )
            ids = self.add_orders(items)
            picker = random.Random(f"{spec.get('seed', 0)}-line-cancel")  # other draws unchanged
            for order_id in ids:
                order = self.orders[order_id]
                if (
                    line_cancel_rate
                    and len(order.lines) > 1
                    and order.status in ("ON_HOLD", "AWAITING_SHIPMENT")
                    and picker.random() < line_cancel_rate
                ):
                    self.cancel_lines(order_id, [order.lines[-1].id])
            return ids

    def set_order_status(self, order_id: str, status: str) -> Order:
        """Move an order along the lifecycle (Get Order Detail) and send ORDER_STATUS_CHANGE."""
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            if status not in TRANSITIONS.get(order.status, frozenset()):
                raise ValueError(f"cannot move order {order_id} from {order.status} to {status}")
            now = max(self.now(), order.update_time + 1)
            order.status, order.update_time = status, now
            if status != "UNPAID" and not order.paid_time:
                order.paid_time = now
            if status == "CANCELLED":
                order.cancel_time = now
            if status == "COMPLETED":
                order.completed_time = now
            order.history.append((status, now))
            self._notify_order(order)
            return order

    def cancel_lines(
        self,
        order_id: str,
        line_ids: list[str] | None = None,
        *,
        sku_id: str | None = None,
        count: int = 1,
        user: str = "BUYER",
        reason: str = "Buyer cancelled this item",
    ) -> Order:
        """Cancel single line items (one unit each) while the rest of the order goes on, as
        US/UK orders allow; the order itself is CANCELLED once no live unit is left.

        Either ``line_ids`` or ``count`` units of ``sku_id`` (the last ones first).
        """
        with self._lock:
            order = self.orders.get(order_id)
            if order is None:
                raise KeyError(order_id)
            if order.status not in ("UNPAID", "ON_HOLD", "AWAITING_SHIPMENT"):
                raise ValueError(f"order {order_id} is {order.status}: lines cannot be cancelled")
            live = [u for u in order.lines if not u.cancel_user]
            if line_ids is not None:
                chosen = [u for u in live if u.id in set(line_ids)]
                if len(chosen) != len(set(line_ids)):
                    raise ValueError(f"unknown or already cancelled line ids: {line_ids}")
            else:
                chosen = [u for u in live if u.sku_id == sku_id][::-1][:count]
                if len(chosen) != count:
                    raise ValueError(f"order {order_id} has fewer than {count} live {sku_id}")
            for unit in chosen:
                unit.cancel_user, unit.cancel_reason = user, reason
            if all(u.cancel_user for u in order.lines):
                return self.set_order_status(order_id, "CANCELLED")
            order.update_time = max(self.now(), order.update_time)
            self._notify_order(order)
            return order

    def search_orders(
        self, filters: dict[str, Any], sort_field: str, sort_order: str
    ) -> list[Order]:
        """Orders matching Get Order List filters (Get Order List: ``*_time_ge`` /
        ``*_time_lt``)."""
        for key in ("create_time_ge", "create_time_lt", "update_time_ge", "update_time_lt"):
            if filters.get(key) is not None and not isinstance(filters[key], int):
                raise ApiFailure(codes.INVALID_PARAMETER, f"{key} must be an integer")
        with self._lock:
            found = [
                o
                for o in self.orders.values()
                if (not filters.get("order_status") or o.status == filters["order_status"])
                and (
                    not filters.get("shipping_type") or o.shipping_type == filters["shipping_type"]
                )
                and _within_lt(
                    o.create_time, filters.get("create_time_ge"), filters.get("create_time_lt")
                )
                and _within_lt(
                    o.update_time, filters.get("update_time_ge"), filters.get("update_time_lt")
                )
            ]
        found.sort(key=lambda o: (getattr(o, sort_field), o.id), reverse=sort_order == "DESC")
        return found

    def render_orders(self, orders: list[Order]) -> list[dict[str, Any]]:
        from sandbox.tiktok.loopback import loopback_of  # packages, tracking, cancel requests

        now = self.now()
        with self._lock:
            out = []
            for o in orders:
                rendered = render_order(o, now, mask_platform_shipping=self.mask_platform_shipping)
                loopback_of(self).decorate(o, rendered)
                out.append(rendered)
            return out

    # -- webhooks -------------------------------------------------------------------------
    def set_webhook(self, event_type: str, address: str | None) -> None:
        if event_type not in EVENT_TYPES:
            raise ApiFailure(codes.INVALID_PARAMETER, f"unknown event_type {event_type}")
        with self._lock:
            if address is None:
                self.webhook_addresses.pop(event_type, None)
            else:
                self.webhook_addresses[event_type] = address

    def _notify_order(self, order: Order) -> None:
        address = self.webhook_addresses.get("ORDER_STATUS_CHANGE")
        if not address:
            return
        envelope = {
            "type": EVENT_TYPES["ORDER_STATUS_CHANGE"],
            "tts_notification_id": str(next(self._notification_ids)),
            "shop_id": self.shop["id"],
            "timestamp": self.now(),
            "data": {
                "order_id": order.id,
                "order_status": (
                    self.webhook_cancel_status if order.status == "CANCELLED" else order.status
                ),
                "is_on_hold_order": order.status == "ON_HOLD",
                "update_time": order.update_time,
            },
        }
        c = self.credentials
        self.webhooks.send(
            "ORDER_STATUS_CHANGE", address, envelope, app_key=c.app_key, app_secret=c.app_secret
        )


def _within(value: int, ge: int | None, le: int | None) -> bool:
    return (ge is None or value >= ge) and (le is None or value <= le)


def _within_lt(value: int, ge: int | None, lt: int | None) -> bool:
    return (ge is None or value >= ge) and (lt is None or value < lt)


def _pick(rng: random.Random, mix: dict[str, float]) -> str:
    names = list(mix)
    return rng.choices(names, weights=[float(mix[n]) for n in names])[0]


def _sku_list(body: Any) -> list[dict[str, Any]]:
    skus = body.get("skus") if isinstance(body, dict) else None
    if not isinstance(skus, list) or not skus or not all(isinstance(s, dict) for s in skus):
        raise ApiFailure(codes.INVALID_PARAMETER, "skus is required and must be a non-empty list")
    return skus


def _sku_error(
    sku_id: str, code: int, message: str, extra: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"sku_id": sku_id}
    if extra:
        detail["extra_errors"] = extra
    return {"code": code, "message": message, "detail": detail}


def _inventory_entries(entries: Any, sku: Sku) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Parse ``inventory[]`` of one SKU: (warehouse -> quantity, per-warehouse errors)."""
    wanted: dict[str, int] = {}
    extra: list[dict[str, Any]] = []
    if not isinstance(entries, list) or not entries:
        return wanted, [
            {
                "warehouse_id": "",
                "code": codes.INVALID_PARAMETER,
                "message": "inventory is required",
            }
        ]
    for item in entries:
        wh = item.get("warehouse_id") if isinstance(item, dict) else None
        qty = item.get("quantity") if isinstance(item, dict) else None
        if wh is None and len(sku.inventory) == 1:
            # may be omitted for a single-warehouse SKU (Update Inventory)
            wh = next(iter(sku.inventory))
        wh = str(wh or "")
        if wh not in sku.inventory:
            extra.append(
                {
                    "warehouse_id": wh,
                    "code": codes.WAREHOUSE_NOT_FOUND,
                    "message": "The warehouse does not exist",
                }
            )
        elif not isinstance(qty, int) or isinstance(qty, bool):
            extra.append(
                {
                    "warehouse_id": wh,
                    "code": codes.STOCK_COUNT_INVALID,
                    "message": "stock count is invalid",
                }
            )
        elif not 0 <= qty <= QUANTITY_MAX:
            # [0, 99999] per the SDK model; 0 accepted (Update Inventory,
            # UNCONFIRMED which doc is current).
            extra.append(
                {
                    "warehouse_id": wh,
                    "code": codes.QUANTITY_OUT_OF_RANGE,
                    "message": f"quantity must be an integer in [0, {QUANTITY_MAX}]",
                }
            )
        else:
            wanted[wh] = qty
    return wanted, extra
