"""Shop configuration: the TOML file that describes every shop skubridge works on.

A *shop* pairs one TikTok shop with one store (Shopify or Amazon). The file holds
*references* to credentials (``env:NAME`` or ``block:NAME``), never the secrets
themselves; :func:`resolve_secret` turns a reference into its value at run time, in the
flow, so connectors never read the environment.

Errors name the file, the shop and the field, e.g.::

    shops.toml: shop 'acme-us', field 'stock_rule.buffer_percent': Input should be less
    than or equal to 100
"""

from __future__ import annotations

import csv
import os
import re
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

SHOPS_FILE_ENV = "SKUBRIDGE_SHOPS_FILE"
DATA_DIR_ENV = "SKUBRIDGE_DATA_DIR"
REPORTS_DIR_ENV = "SKUBRIDGE_REPORTS_DIR"
WORKER_QUEUES_ENV = "SKUBRIDGE_WORKER_QUEUES"  # queues whose shops' files this host holds
WORKER_NAME_ENV = "SKUBRIDGE_WORKER_NAME"
DEFAULT_SHOPS_FILE = "shops.toml"

TIKTOK_API_BASE = "https://open-api.tiktokglobalshop.com"
TIKTOK_AUTH_BASE = "https://auth.tiktok-shops.com"
SHOPIFY_API_VERSION = "2026-04"
AMAZON_LWA_URL = "https://api.amazon.com/auth/o2/token"
AMAZON_REGION_ENDPOINTS = {
    "na": "https://sellingpartnerapi-na.amazon.com",
    "eu": "https://sellingpartnerapi-eu.amazon.com",
    "fe": "https://sellingpartnerapi-fe.amazon.com",
}

# The SP-API region serving each marketplace
# (https://developer-docs.amazon.com/sp-api/docs/sp-api-endpoints,
# https://developer-docs.amazon.com/sp-api/docs/marketplace-ids).
AMAZON_MARKETPLACE_REGIONS = {
    **dict.fromkeys(
        ("ATVPDKIKX0DER", "A2EUQ1WTGCTBG2", "A1AM78C64UM0Y8", "A2Q3Y263D00KWC"), "na"
    ),
    **dict.fromkeys(
        (
            "A1F83G8C2ARO7P", "A1PA6795UKMFR9", "A13V1IB3VIYZZH", "APJ6JRA9NG5V4",
            "A1RKKUPIHCS9HS", "A1805IZSGTT6HS", "A2NODRKZP88ZB9", "A1C3SOZRARQ6R3",
            "A33AVAJ2PDY3EV", "A2VIGQ35RCS4UG", "A17E79C6D8DWNP", "ARBP9OOSHTCHU",
            "A21TJRUUN4KGV", "AMEN7PMS3EDWL", "A28R8C7NBKEWEB", "AE08WJ6YKNBMC",
        ),
        "eu",
    ),
    **dict.fromkeys(("A1VC38T7YXB528", "A19VAU5U5O7RUS", "A39IBJ37TRP1C6"), "fe"),
}  # fmt: skip

_SECRET_REF = re.compile(r"^(env|block):([A-Za-z0-9_.\-/]+)$")
_SHOP_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
_QUEUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class ConfigError(Exception):
    """The shops file is missing, unreadable or invalid; the message says where and why."""


def _check_secret_ref(value: Any) -> str:
    if not isinstance(value, str) or not _SECRET_REF.match(value):
        raise ValueError(
            "must be a reference 'env:VAR_NAME' or 'block:SECRET_BLOCK_NAME', not a literal "
            "value; secrets never go in the shops file"
        )
    return value


SecretRef = Annotated[str, BeforeValidator(_check_secret_ref)]
"""A reference to a secret: ``env:VAR_NAME`` or ``block:prefect-secret-block-name``."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TikTokSettings(_Model):
    app_key: SecretRef
    app_secret: SecretRef
    access_token: SecretRef
    refresh_token: SecretRef | None = None
    shop_cipher: str | None = Field(
        None, description="Discovered through Get Authorized Shops when not given."
    )
    shop_id: str | None = Field(
        None,
        description="TikTok shop id; names the shop in TikTok webhooks (needed by the "
        "receiver, `skubridge webhooks serve`).",
    )
    warehouse_id: str | None = Field(
        None,
        description="TikTok warehouse receiving the store stock; default: the default warehouse.",
    )
    base_url: str = TIKTOK_API_BASE
    auth_base_url: str = TIKTOK_AUTH_BASE
    currency: str | None = Field(
        None, description="Shop currency; taken from the catalog when not given."
    )


class ShopifySettings(_Model):
    shop_domain: str
    access_token: SecretRef
    api_version: str = SHOPIFY_API_VERSION
    base_url: str | None = Field(None, description="Default https://<shop_domain>.")
    location_ids: list[str] = Field(
        default_factory=list,
        description="Locations whose available stock feeds TikTok; empty = all active ones.",
    )
    webhook_secret: SecretRef | None = Field(
        None,
        description="The app's client secret, which signs Shopify webhooks "
        "(X-Shopify-Hmac-Sha256); `skubridge webhooks serve` refuses the store's "
        "deliveries without it.",
    )

    @field_validator("shop_domain")
    @classmethod
    def _domain(cls, v: str) -> str:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9.\-]*(:\d+)?$", v):
            raise ValueError("must be a host name like 'acme.myshopify.com'")
        return v

    @property
    def endpoint(self) -> str:
        base = self.base_url or f"https://{self.shop_domain}"
        return f"{base.rstrip('/')}/admin/api/{self.api_version}/graphql.json"


class AmazonSettings(_Model):
    seller_id: str
    marketplace_id: str
    region: Literal["na", "eu", "fe"] | None = Field(
        None, description="SP-API region; default: the one serving marketplace_id."
    )
    lwa_client_id: SecretRef
    lwa_client_secret: SecretRef
    refresh_token: SecretRef
    base_url: str | None = Field(None, description="Default: the region's SP-API endpoint.")
    lwa_url: str = AMAZON_LWA_URL
    shipping_speed: Literal["Standard", "Expedited", "Priority", "ScheduledDelivery"] = "Standard"
    families: Literal["auto", "off"] = Field(
        "auto", description="Group variation children by parent ASIN (Listings API calls)."
    )

    @model_validator(mode="before")
    @classmethod
    def _region_follows_marketplace(cls, data: Any) -> Any:
        """The region is the marketplace's (a US default would send a JP seller's calls to
        the NA endpoint); ScheduledDelivery is refused: it is JP-only and needs a
        ``deliveryWindow``, which skubridge does not send (CreateFulfillmentOrderRequest,
        https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-v2020-07-01-reference)."""
        if not isinstance(data, dict):
            return data
        expected = AMAZON_MARKETPLACE_REGIONS.get(str(data.get("marketplace_id")))
        region = data.get("region")
        if region is None:
            data = {**data, "region": expected or "na"}
        elif expected and region != expected:
            raise ValueError(
                f"region {region!r} does not serve marketplace {data.get('marketplace_id')} "
                f"(its region is {expected!r}); leave region out or set it to {expected!r}"
            )
        if data.get("shipping_speed") == "ScheduledDelivery":
            raise ValueError(
                "shipping_speed ScheduledDelivery needs a delivery window (Japan only), which "
                "skubridge does not send; use Standard, Expedited or Priority"
            )
        return data

    @property
    def endpoint(self) -> str:
        return (self.base_url or AMAZON_REGION_ENDPOINTS[self.region or "na"]).rstrip("/")


# Update Inventory takes quantities up to 99,999 per warehouse
# (https://partner.tiktokshop.com/docv2/page/6503068fc20ad60284b38858): what "max" means.
TIKTOK_MAX_QUANTITY = 99_999

FixedQuantity = Annotated[int, Field(ge=0, le=TIKTOK_MAX_QUANTITY)] | Literal["max", "store"]
"""A stock figure for variants without a meaningful stock: a number, ``"max"`` (TikTok's
maximum, 99,999) or ``"store"`` (the store's available figure through the stock rule)."""


def fixed_quantity(value: int | str) -> int | None:
    """The quantity a :data:`FixedQuantity` publishes; None for ``"store"``."""
    if value == "store":
        return None
    if value == "max":
        return TIKTOK_MAX_QUANTITY
    return int(value)


class StockRule(_Model):
    """How store stock becomes TikTok stock: minus a buffer, zero below a threshold.

    Shopify variants whose inventory is not tracked, or that keep selling when out of stock
    (``inventoryPolicy: CONTINUE``), publish ``untracked_quantity`` /
    ``continue_selling_quantity`` on each TikTok warehouse they feed instead.
    """

    buffer_absolute: int = Field(0, ge=0, description="Units held back from TikTok.")
    buffer_percent: Decimal = Field(
        Decimal(0), ge=0, le=100, description="Share held back, in percent (rounded down)."
    )
    zero_below: int = Field(0, ge=0, description="Publish 0 when the result is below this.")
    max_quantity: int = Field(99_999, ge=0, description="Upper clamp (TikTok's allowed range).")
    max_age_minutes: float = Field(
        10,
        gt=0,
        description="Oldest store stock a push may write: an older store catalog is read "
        "again (the catalog step runs first) before stock is pushed.",
    )
    untracked_quantity: FixedQuantity = Field(
        "store",
        description="TikTok stock of a Shopify variant whose inventory is not tracked: a "
        "number, 'max' (99,999) or 'store' (its available figure, usually 0).",
    )
    continue_selling_quantity: FixedQuantity = Field(
        "store",
        description="TikTok stock of a Shopify variant that keeps selling when out of stock "
        "(inventoryPolicy CONTINUE): a number, 'max' or 'store'.",
    )


class PriceRule(_Model):
    """How the store price becomes the TikTok price."""

    markup_percent: Decimal = Field(Decimal(0), ge=-90, le=1000)
    markup_fixed: Decimal = Field(Decimal(0))
    rounding: Literal["cent", "whole", "end_99", "end_95"] = Field(
        "cent",
        description="cent = 2 decimals; whole = whole units; end_99/end_95 = x.99 / x.95 ending.",
    )


class Guards(_Model):
    """Pre-write guard thresholds (shares are 0..1). Failing one blocks the writes it covers."""

    max_zero_stock_share: float = Field(0.25, ge=0, le=1)
    max_price_move: float = Field(0.5, ge=0, description="Largest relative price move allowed.")
    max_mapped_drop: float = Field(
        0.2, ge=0, le=1, description="Mapped-SKU count drop vs previous run."
    )
    max_catalog_drop: float = Field(
        0.5, ge=0, le=1, description="Catalog size drop vs previous run."
    )
    max_bad_value_share: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Share of variants with a non-positive price or negative stock tolerated "
        "before a catalog is refused (such prices are never pushed; stock is clamped at 0).",
    )


class Schedules(_Model):
    """Cron schedules for this shop's deployments (Prefect cron syntax)."""

    catalog: str | None = "0 * * * *"
    push: str | None = "15 * * * *"
    orders: str | None = "*/5 * * * *"
    timezone: str = "UTC"


class CatalogSettings(_Model):
    """How catalogs are read: changes only (incremental) with a periodic full read."""

    incremental: bool = Field(
        True, description="Read only what changed since the last accepted extract."
    )
    full_every_hours: float = Field(
        24,
        gt=0,
        description="A full extract (catches deletions and anything missed) when the last "
        "accepted full one is older than this.",
    )
    overlap_minutes: int = Field(
        10, ge=0, description="Changed-since window overlap with the last accepted extract."
    )


class OrderSettings(_Model):
    overlap_minutes: int = Field(
        15, ge=0, description="Search window overlap with the previous run."
    )
    initial_lookback_hours: int = Field(72, ge=1, description="How far back the first run looks.")
    tags: list[str] = Field(default_factory=lambda: ["TikTok Shop", "skubridge"])
    carriers: dict[str, str] = Field(
        default_factory=dict,
        description="Loop back: store carrier name (Shopify tracking company, MCF carrierCode) "
        "-> TikTok shipping provider name or id, added to the defaults in tasks/carriers.py.",
    )


OVERRIDE_KEYS = ("tiktok_sku_id", "seller_sku", "tiktok_product_id")  # most specific first
OVERRIDE_CSV_COLUMNS = (*OVERRIDE_KEYS, "stock", "price")
SKIP = "skip"


class Override(_Model):
    """Exclude a product or SKU from stock or price sync, or pin a fixed TikTok value.

    Names exactly one of ``tiktok_product_id``, ``tiktok_sku_id`` or ``seller_sku``. When
    several overrides match a SKU, the most specific one that sets a field wins
    (SKU id, then seller SKU, then product id).
    """

    tiktok_product_id: str | None = None
    tiktok_sku_id: str | None = None
    seller_sku: str | None = None
    stock: Literal["skip"] | Annotated[int, Field(ge=0, le=TIKTOK_MAX_QUANTITY)] | None = Field(
        None, description="'skip' = never write this stock; N = publish N on each warehouse."
    )
    price: Literal["skip"] | Annotated[Decimal, Field(gt=0, decimal_places=2)] | None = Field(
        None, description="'skip' = never write this price; '12.99' = publish this price."
    )

    @model_validator(mode="after")
    def _one_key(self) -> Override:
        keys = [k for k in OVERRIDE_KEYS if getattr(self, k)]
        if len(keys) != 1:
            raise ValueError(
                "an override names exactly one of tiktok_product_id, tiktok_sku_id or "
                f"seller_sku (got {', '.join(keys) or 'none'})"
            )
        if self.stock is None and self.price is None:
            raise ValueError("an override sets stock and/or price ('skip' or a value)")
        return self

    @property
    def key(self) -> tuple[str, str]:
        """(kind, value): which TikTok SKUs this override applies to."""
        kind = next(k for k in OVERRIDE_KEYS if getattr(self, k))
        return kind, str(getattr(self, kind))


class ShopConfig(_Model):
    id: str
    store: Literal["shopify", "amazon"]
    tiktok: TikTokSettings
    shopify: ShopifySettings | None = None
    amazon: AmazonSettings | None = None
    stock_rule: StockRule = StockRule()
    price_rule: PriceRule = PriceRule()
    guards: Guards = Guards()
    schedules: Schedules = Schedules()
    orders: OrderSettings = OrderSettings()
    location_map: dict[str, str] = Field(
        default_factory=dict,
        description="Store location id -> TikTok warehouse id; locations not listed are "
        "ignored. Empty: the chosen locations all feed tiktok.warehouse_id.",
    )
    overrides: list[Override] = Field(default_factory=list)
    overrides_csv: str | None = Field(
        None,
        description="CSV file of more overrides (columns tiktok_product_id, tiktok_sku_id, "
        "seller_sku, stock, price), relative to the shops file.",
    )
    catalog: CatalogSettings = CatalogSettings()
    queue: str | None = Field(
        None,
        description="Work queue of the worker(s) holding this shop's DuckDB file; every run "
        "of the shop is sent there. None: any worker (one machine or a shared volume).",
    )
    _file: Path | None = PrivateAttr(default=None)  # set by load_shops, named in errors

    @property
    def source_file(self) -> Path | None:
        """The shops file this shop was read from (None when built in code)."""
        return self._file

    @field_validator("id")
    @classmethod
    def _id(cls, v: str) -> str:
        if not _SHOP_ID.match(v):
            raise ValueError(
                "must be 1-63 chars of a-z, 0-9, '-' or '_', starting with a letter or digit"
            )
        return v

    @field_validator("queue")
    @classmethod
    def _queue(cls, v: str | None) -> str | None:
        if v is not None and not _QUEUE.match(v):
            raise ValueError("must be a work queue name: 1-63 chars of letters, digits, '-', '_'")
        return v

    @model_validator(mode="after")
    def _store_settings(self) -> ShopConfig:
        if self.store == "shopify" and self.shopify is None:
            raise ValueError("store = 'shopify' needs a [shops.shopify] table")
        if self.store == "amazon" and self.amazon is None:
            raise ValueError("store = 'amazon' needs a [shops.amazon] table")
        if self.location_map and self.shopify is not None and self.shopify.location_ids:
            raise ValueError(
                "location_map and shopify.location_ids both choose locations; keep one "
                "(location_map lists the locations that feed TikTok)"
            )
        if self.store == "amazon" and set(self.location_map) - {"FBA", "MFN"}:
            raise ValueError("on Amazon the location_map keys are 'FBA' and 'MFN'")
        seen: set[tuple[str, str]] = set()
        for override in self.overrides:
            if override.key in seen:
                raise ValueError(f"two overrides for {override.key[0]} {override.key[1]!r}")
            seen.add(override.key)
        return self

    def stock_locations(self) -> list[str]:
        """The store locations whose stock feeds TikTok (empty = all active ones)."""
        if self.location_map:
            return list(self.location_map)
        return list(self.shopify.location_ids) if self.shopify else []

    def overrides_file(self) -> Path | None:
        """The overrides CSV, resolved against the shops file's folder."""
        if not self.overrides_csv:
            return None
        path = Path(self.overrides_csv)
        if not path.is_absolute() and self._file is not None:
            path = self._file.parent / path
        return path

    def all_overrides(self) -> list[Override]:
        """The TOML overrides, then the CSV file's; raise ConfigError on a bad CSV row."""
        rows = list(self.overrides)
        path = self.overrides_file()
        if path is not None:
            rows += read_overrides_csv(path)
        seen: dict[tuple[str, str], str] = {}
        for index, override in enumerate(rows):
            where = "shops file" if index < len(self.overrides) else str(path)
            if override.key in seen:
                raise ConfigError(
                    f"{path}: shop '{self.id}': override for {override.key[0]} "
                    f"{override.key[1]!r} given twice ({seen[override.key]} and {where})"
                )
            seen[override.key] = where
        return rows


class ShopsFile(_Model):
    path: Path
    shops: tuple[ShopConfig, ...]

    def get(self, shop_id: str) -> ShopConfig:
        for shop in self.shops:
            if shop.id == shop_id:
                return shop
        known = ", ".join(s.id for s in self.shops) or "none"
        raise ConfigError(f"{self.path}: no shop '{shop_id}' (configured: {known})")


def read_overrides_csv(path: Path) -> list[Override]:
    """Overrides from a CSV file (header: any of ``OVERRIDE_CSV_COLUMNS``); one line each.

    Empty cells are unset. A bad row raises :class:`ConfigError` naming file, line and why.
    """
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            header = [h.strip() for h in reader.fieldnames or []]
            unknown = sorted(set(header) - set(OVERRIDE_CSV_COLUMNS))
            if not header or unknown:
                raise ConfigError(
                    f"{path}: line 1: header must name columns among "
                    f"{', '.join(OVERRIDE_CSV_COLUMNS)}"
                    + (f" (unknown: {', '.join(unknown)})" if unknown else "")
                )
            out = []
            for row in reader:
                cells = {
                    (k or "").strip(): v.strip()
                    for k, v in row.items()
                    if isinstance(v, str) and v.strip()
                }
                if not cells:
                    continue
                try:
                    out.append(Override.model_validate(cells))
                except ValidationError as exc:
                    raise ConfigError(
                        f"{path}: line {reader.line_num}: {_csv_problem(exc, cells)}"
                    ) from None
            return out
    except FileNotFoundError:
        raise ConfigError(
            f"{path}: overrides CSV file not found (shops field overrides_csv)"
        ) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise ConfigError(f"{path}: not a readable CSV file: {exc}") from None


_CSV_HINTS = {
    "stock": "must be 'skip' or a whole number 0..99999",
    "price": "must be 'skip' or a price above 0 with at most 2 decimals, like 12.99",
}


def _csv_problem(exc: ValidationError, cells: dict[str, str]) -> str:
    problems: list[str] = []
    for err in exc.errors(include_url=False):
        column = str(err["loc"][0]) if err["loc"] else ""
        if column in _CSV_HINTS:
            text = f"column '{column}' {_CSV_HINTS[column]} (got {cells.get(column)!r})"
        else:
            text = err["msg"].removeprefix("Value error, ")
        if text not in problems:
            problems.append(text)
    return "; ".join(problems)


def shops_file_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The shops file to use: the argument, else $SKUBRIDGE_SHOPS_FILE, else ./shops.toml."""
    return Path(path or os.environ.get(SHOPS_FILE_ENV) or DEFAULT_SHOPS_FILE)


_UNION_FIELDS = {"stock", "price", "untracked_quantity", "continue_selling_quantity"}


def _loc(loc: tuple[Any, ...]) -> str:
    parts: list[str] = []
    for part in loc:
        if isinstance(part, int):
            continue
        parts.append(str(part))
        if part in _UNION_FIELDS:  # what follows names a union member, not a field
            break
    return ".".join(parts) or "(shop)"


def load_shops(path: str | os.PathLike[str] | None = None) -> ShopsFile:
    """Read and validate the shops file; raise :class:`ConfigError` naming file, shop and field."""
    file = shops_file_path(path)
    try:
        raw = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{file}: shops file not found (set {SHOPS_FILE_ENV} or copy shops.example.toml)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: not valid TOML: {exc}") from None
    entries = raw.get("shops")
    unknown = sorted(set(raw) - {"shops"})
    if unknown:
        raise ConfigError(
            f"{file}: unknown top-level key(s) {unknown}; shops go in [[shops]] tables"
        )
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{file}: no [[shops]] table found")
    shops: list[ShopConfig] = []
    seen: set[str] = set()
    for index, entry in enumerate(entries):
        name = entry.get("id") if isinstance(entry, dict) else None
        label = f"shop '{name}'" if isinstance(name, str) else f"shop #{index + 1}"
        try:
            shop = ShopConfig.model_validate(entry)
        except ValidationError as exc:
            problems = "; ".join(
                f"field '{_loc(err['loc'])}': {err['msg']}" for err in exc.errors(include_url=False)
            )
            raise ConfigError(f"{file}: {label}, {problems}") from None
        if shop.id in seen:
            raise ConfigError(f"{file}: {label}, field 'id': duplicate shop id")
        seen.add(shop.id)
        shop._file = file
        try:
            shop.all_overrides()  # a bad overrides CSV fails here, before any run starts
        except ConfigError as exc:
            raise ConfigError(f"{file}: {label}, field 'overrides_csv': {exc}") from None
        shops.append(shop)
    return ShopsFile(path=file, shops=tuple(shops))


def resolve_secret(
    ref: str,
    *,
    shop_id: str = "?",
    field: str = "?",
    file: str | os.PathLike[str] | None = None,
) -> str:
    """Return the value a secret reference points at (env var or Prefect Secret block).

    Raises ConfigError naming the shops ``file`` (when known), the shop and the field when
    it cannot be resolved; the value itself never appears in any message.
    """
    where = f"{file}: " if file else ""
    try:
        kind, name = _check_secret_ref(ref).split(":", 1)
    except ValueError as exc:
        raise ConfigError(f"{where}shop '{shop_id}', field '{field}': {exc}") from None
    if kind == "env":
        value = os.environ.get(name)
        if not value:
            raise ConfigError(
                f"{where}shop '{shop_id}', field '{field}': environment variable {name} is not set"
            )
        return value
    try:
        from prefect.blocks.system import Secret

        # _sync: called from async code too (clients are built inside the runners' event
        # loop), where Prefect would otherwise hand back a coroutine
        value = Secret.load(name, _sync=True).get()
    except Exception as exc:  # Prefect raises ValueError/ObjectNotFound variants
        raise ConfigError(
            f"{where}shop '{shop_id}', field '{field}': Prefect Secret block '{name}' "
            f"could not be loaded ({type(exc).__name__})"
        ) from None
    return str(value)


def check_shop_id(shop_id: str, path: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`ConfigError` unless ``shop_id`` is a well-formed shop id and, when the
    shops file exists, one of its shops (a shop id names files: ``data/<id>.duckdb``, so
    ``../x`` must never reach a path)."""
    if not _SHOP_ID.match(shop_id):
        raise ConfigError(
            f"no shop '{shop_id}': shop ids are 1-63 chars of a-z, 0-9, '-' or '_', "
            "starting with a letter or digit"
        )
    if shops_file_path(path).exists():
        load_shops(path).get(shop_id)


def data_dir() -> Path:
    """Folder of the per-shop DuckDB files: $SKUBRIDGE_DATA_DIR or ./data."""
    return Path(os.environ.get(DATA_DIR_ENV) or "data")


def worker_queues() -> tuple[str, ...]:
    """Queues this host serves, from $SKUBRIDGE_WORKER_QUEUES (comma-separated; () = unset).

    Set on a worker that holds the DuckDB files of the shops of those queues (the same
    names as its ``prefect worker start --work-queue``); runs of other shops then refuse
    to open a warehouse here (:mod:`tasks.placement`).
    """
    raw = os.environ.get(WORKER_QUEUES_ENV) or ""
    return tuple(q.strip() for q in raw.split(",") if q.strip())


def reports_dir() -> Path:
    """Folder of the per-run report files: $SKUBRIDGE_REPORTS_DIR or ./reports."""
    return Path(os.environ.get(REPORTS_DIR_ENV) or "reports")
