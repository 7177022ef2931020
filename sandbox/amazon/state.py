"""The Amazon seller account the emulator keeps: listings, FBA stock, reports, MCF orders.

Handlers here take decoded request values and return ``(status, body)``; HTTP concerns
(routing, auth, throttling, headers) live in :mod:`sandbox.amazon.app`. Behaviour follows
Amazon's models (sandbox/amazon/models/) and the SP-API docs cited where a rule comes from them;
assumptions that no source confirms are labelled UNCONFIRMED.

Sources cited by name below:

- All Listings Report: https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory,
  sandbox/amazon/models/reports_2021-06-30.json
- FBA Inventory model: sandbox/amazon/models/fbaInventory.json
- Listings Items model: sandbox/amazon/models/listingsItems_2021-08-01.json
- error envelope: ``ErrorList`` in sandbox/amazon/models/; unknown route:
  https://github.com/amzn/selling-partner-api-models/issues/1100
- LWA: https://developer-docs.amazon.com/sp-api-blog/docs/selling-partner-api-migration-for-private-developers
- URL encoding: https://developer-docs.amazon.com/sp-api/docs/url-encoding
- Fulfillment Outbound model: sandbox/amazon/models/fulfillmentOutbound_2020-07-01.json
"""

from __future__ import annotations

import base64
import csv
import gzip
import hashlib
import hmac
import io
import itertools
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sandbox.amazon import mcf
from sandbox.amazon.families import (
    VariationParent,
    build_parents,
    child_relationships,
    parent_relationships,
)
from sandbox.amazon.schemas import body_errors
from sandbox.fixture import AmazonListing, AmazonSide, Fixture

Reply = tuple[int, Any]

SANDBOX_CLIENT_ID = "amzn1.application-oa2-client.sandbox0001"
SANDBOX_CLIENT_SECRET = "amzn1.oa2-cs.v1.sandboxsecret0001"  # noqa: S105 - sandbox only
SANDBOX_REFRESH_TOKEN = "Atzr|sandbox-refresh-token-0001"  # noqa: S105 - sandbox only

TOKEN_LIFETIME_S = 3600  # the token answer's expires_in (LWA)
DOCUMENT_URL_TTL_S = 300  # pre-signed report URLs expire after 5 minutes (All Listings Report)
INVENTORY_TOKEN_TTL_S = 30  # getInventorySummaries nextToken lifetime (FBA Inventory model)
INVENTORY_PAGE = 50
# searchListingsItems: only the first 1,000 results are reachable (Listings Items model)
SEARCH_CAP = 1000
# includedData enum of getListingsItem / searchListingsItems (MODEL:listingsItems_2021-08-01)
INCLUDED_DATA = {
    "summaries",
    "attributes",
    "issues",
    "offers",
    "fulfillmentAvailability",
    "procurement",
    "relationships",
    "productTypes",
}
IDENTIFIER_TYPES = {"ASIN", "EAN", "FNSKU", "GTIN", "ISBN", "JAN", "MINSAN", "SKU", "UPC"}
LISTING_STATUSES = {"BUYABLE", "DISCOVERABLE"}

# GET_MERCHANT_LISTINGS_ALL_DATA columns in documented order (All Listings Report).
REPORT_COLUMNS = [
    "item-name",
    "item-description",
    "listing-id",
    "seller-sku",
    "price",
    "quantity",
    "open-date",
    "image-url",
    "item-is-marketplace",
    "product-id-type",
    "zshop-shipping-fee",
    "item-note",
    "item-condition",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin1",
    "asin2",
    "asin3",
    "will-ship-internationally",
    "expedited-shipping",
    "zshop-boldface",
    "product-id",
    "bid-for-featured-placement",
    "add-delete",
    "pending-quantity",
    "fulfillment-channel",
    "merchant-shipping-group",
    "status",
]

# The All Listings header in Chinese, column for column with REPORT_COLUMNS, as a seller
# received it (https://github.com/jlevers/selling-partner-api/issues/525).
TRANSLATED_HEADERS = {
    "zh_CN": [
        "商品名称",
        "商品描述",
        "商品编码",
        "卖家 SKU",
        "价格",
        "数量",
        "开售日期",
        "不适用项目",
        "是否为商城中的商品",
        "商品编码类型",
        "不适用项目",
        "商品备注",
        "商品状况",
        "不适用项目",
        "不适用项目",
        "不适用项目",
        "ASIN1",
        "不适用项目",
        "不适用项目",
        "国际配送",
        "加急配送",
        "不适用项目",
        "商品编码",
        "不适用项目",
        "添加-删除",
        "等待购买数量",
        "配送渠道",
        "卖家配送组",
        "状态",
    ]
}

# Columns real accounts see titled "Deprecated column" (issues #3999/#4140 cited above
# ReportOptions.header); the zshop-* and asin2/asin3 columns are no longer filled.
DEPRECATED_COLUMNS = {
    "image-url",
    "zshop-shipping-fee",
    "zshop-category1",
    "zshop-browse-path",
    "zshop-storefront-feature",
    "asin2",
    "asin3",
    "zshop-boldface",
    "bid-for-featured-placement",
}


def report_header(style: str) -> list[str]:
    """The header row for ``ReportOptions.header`` (same column count as the rows + extras)."""
    if style == "documented":
        return list(REPORT_COLUMNS)
    if style != "deprecated":
        raise ValueError(f"unknown report header style {style!r}")
    names = [
        "Deprecated column"
        if name in DEPRECATED_COLUMNS
        else "fulfilment-channel"
        if name == "fulfillment-channel"
        else name
        for name in REPORT_COLUMNS
    ]
    return [*names, "Minimum order quantity", "Sell remainder"]


# Attribute names the emulator accepts in a Listings PATCH; others give an INVALID issue
# like a misspelt attribute does on Amazon (issue code 90000900, Listings Items model).
KNOWN_ATTRIBUTES = {
    "purchasable_offer",
    "fulfillment_availability",
    "item_name",
    "list_price",
    "brand",
    "bullet_point",
    "product_description",
    "condition_type",
    "merchant_suggested_asin",
    "externally_assigned_product_identifier",
    "main_product_image_locator",
    "child_parent_sku_relationship",
    "parentage_level",
    "variation_theme",
}

# FBA fulfillment channel code by marketplace region (Listings Items model / All Listings Report)
AMAZON_CHANNEL = {
    "A1F83G8C2ARO7P": "AMAZON_EU",
    "A1PA6795UKMFR9": "AMAZON_EU",
    "A13V1IB3VIYZZH": "AMAZON_EU",
    "APJ6JRA9NG5V4": "AMAZON_EU",
    "A1RKKUPIHCS9HS": "AMAZON_EU",
    "A1VC38T7YXB528": "AMAZON_JP",
}
MCF_STATUS_STEPS = mcf.STEPS
ORDER_HEAD_KEYS = (
    "sellerFulfillmentOrderId",
    "marketplaceId",
    "displayableOrderId",
    "displayableOrderDate",
    "displayableOrderComment",
    "shippingSpeedCategory",
    "destinationAddress",
    "fulfillmentAction",
    "fulfillmentPolicy",
    "fulfillmentOrderStatus",
    "receivedDate",
    "statusUpdatedDate",
    "notificationEmails",
)


def iso(ts: float) -> str:
    """An epoch time as ISO 8601 UTC with a Z suffix."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def error(code: str, message: str, details: str | None = None) -> dict[str, Any]:
    """The SP-API error envelope (see "error envelope" above)."""
    entry = {"code": code, "message": message}
    if details is not None:
        entry["details"] = details
    return {"errors": [entry]}


def invalid(message: str, details: str | None = None) -> Reply:
    return 400, error("InvalidInput", message, details)


@dataclass
class Listing:
    """One seller SKU in the emulated marketplace."""

    sku: str
    asin: str
    parent_asin: str | None
    title: str
    price: Decimal
    currency: str
    quantity: int  # MFN: seller-managed quantity; FBA: fulfillable quantity
    fulfillment: str  # FBA | MFN
    barcode: str | None
    status: str
    created: float
    updated: float
    product_type: str = "PRODUCT"
    reserved: int = 0
    attributes: dict[str, Any] = field(default_factory=dict)
    parent_sku: str | None = None  # the family's parent listing (derived, not in fixtures)

    def to_fixture(self) -> dict[str, Any]:
        return {
            "sku": self.sku,
            "asin": self.asin,
            "parent_asin": self.parent_asin,
            "title": self.title,
            "price": str(self.price),
            "currency": self.currency,
            "quantity": self.quantity,
            "fulfillment": self.fulfillment,
            "barcode": self.barcode,
            "status": self.status,
        }


@dataclass
class ReportJob:
    report_id: str
    report_type: str
    marketplace_ids: list[str]
    created: float
    content: bytes
    polls: int = 0
    status: str = "IN_QUEUE"
    document_id: str | None = None


@dataclass
class ReportOptions:
    """Knobs for report generation (``PUT /_sandbox/reports``)."""

    # Real All Listings documents are Cp1252 text (``text/plain; charset=Cp1252``), usually
    # gzipped, raw TSV; characters outside Cp1252 arrive already replaced by "?"
    # (https://github.com/amzn/selling-partner-api-models/issues/2748,
    # https://github.com/amzn/selling-partner-api-models/issues/4888,
    # https://github.com/amzn/selling-partner-api-models/issues/4955; gzip:
    # https://github.com/amzn/selling-partner-api-models/issues/2966).
    compression: str | None = "GZIP"  # "GZIP" or None
    charset: str = "Cp1252"
    statuses: tuple[str, ...] = ("IN_QUEUE", "IN_PROGRESS", "DONE")  # one per getReport poll
    # Whether variation parents appear as (price-less) rows in the All Listings report is
    # UNCONFIRMED (All Listings Report lists no parentage column): off by default, on to test
    # clients
    # that must drop parent rows.
    include_parents: bool = False
    # Header spelling: "documented" (the names in REPORT_COLUMNS) or "deprecated", the
    # header some real accounts get: ``fulfilment-channel`` with one "l", unused columns
    # titled ``Deprecated column`` and two extra columns at the end
    # (https://github.com/amzn/selling-partner-api-models/issues/3999,
    # https://github.com/amzn/selling-partner-api-models/issues/4140).
    header: str = "documented"
    # The next N All Listings reports end CANCELLED although the account has listings, as
    # Amazon does for reports requested too often; the answer does not say why
    # (https://github.com/amzn/selling-partner-api-docs/issues/1329,
    # https://github.com/amzn/selling-partner-api-docs/issues/1604).
    cancel_next: int = 0
    # Column headers in the marketplace's language unless createReport asks for
    # ``reportOptions.preferredReportDocumentLocale`` (the default is the marketplace's
    # language: https://github.com/amzn/selling-partner-api-models/issues/5303). Only the
    # Chinese header seen in https://github.com/jlevers/selling-partner-api/issues/525 is
    # emulated ("zh_CN"); None = English headers whatever was asked.
    header_locale: str | None = None


class AmazonEmulator:
    """State and operations of one emulated seller account (one marketplace)."""

    def __init__(
        self,
        fixture: Fixture | None = None,
        *,
        client_id: str = SANDBOX_CLIENT_ID,
        client_secret: str = SANDBOX_CLIENT_SECRET,
        refresh_token: str = SANDBOX_REFRESH_TOKEN,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.refresh_tokens = {refresh_token}
        self.clock = clock
        self.lock = threading.RLock()
        self.tokens: dict[str, float] = {}  # access token -> expiry (epoch)
        self.token_calls = 0
        self.report_options = ReportOptions()
        # FBA SKUs getInventorySummaries leaves out although they are FBA listings, as real
        # accounts see for some SKUs
        # (https://github.com/amzn/selling-partner-api-models/issues/2447,
        # https://github.com/amzn/selling-partner-api-models/issues/515);
        # set with ``PUT /_sandbox/inventory/missing``.
        self.summaries_missing: set[str] = set()
        self._signing_key = secrets.token_bytes(16)
        self._ids = itertools.count(50_000_000_000)
        self.listing_apply_delay_s = 0.0  # ACCEPTED patches applied this much later (§4.1)
        self.load(fixture or Fixture())

    # ----- fixture -----------------------------------------------------------------
    def load(self, fixture: Fixture) -> None:
        """Replace the account with the ``amazon`` part of a fixture."""
        side = fixture.amazon
        now = self.clock()
        with self.lock:
            self.seller_id = side.seller_id
            self.marketplace_id = side.marketplace_id
            self.listings: dict[str, Listing] = {}
            for item in side.listings:
                self.listings[item.sku] = self._listing(item, now)
            self.parents: dict[str, VariationParent] = build_parents(self.listings.values())
            for parent in self.parents.values():
                for child in parent.children:
                    self.listings[child].parent_sku = parent.sku
            self.reports: dict[str, ReportJob] = {}
            self.documents: dict[str, tuple[bytes, str | None]] = {}
            self.inventory_tokens: dict[str, tuple[float, list[str], int]] = {}
            self.orders: dict[str, dict[str, Any]] = {}
            self.mcf = mcf.McfBook(iso, lambda: self.clock())  # follows a replaced clock
            self.pending_patches: list[tuple[float, Listing, list[Callable[[], None]]]] = []

    def _listing(self, item: AmazonListing, now: float) -> Listing:
        return Listing(
            sku=item.sku,
            asin=item.asin or "",
            parent_asin=item.parent_asin,
            title=item.title,
            price=item.price,
            currency=item.currency,
            quantity=item.quantity,
            fulfillment=item.fulfillment,
            barcode=item.barcode,
            status=item.status,
            created=now,
            updated=now,
        )

    def export_side(self) -> AmazonSide:
        """The current account as a fixture ``amazon`` part (FBA quantity = fulfillable)."""
        with self.lock:
            return AmazonSide(
                seller_id=self.seller_id,
                marketplace_id=self.marketplace_id,
                listings=[AmazonListing(**lst.to_fixture()) for lst in self.listings.values()],
            )

    def snapshot(self) -> dict[str, Any]:
        """Everything a test may assert on, as JSON-ready data."""
        with self.lock:
            return {
                "seller_id": self.seller_id,
                "marketplace_id": self.marketplace_id,
                "listings": [lst.to_fixture() for lst in self.listings.values()],
                "fba": {
                    s: lst.quantity for s, lst in self.listings.items() if lst.fulfillment == "FBA"
                },
                "families": {
                    p.sku: {"asin": p.asin, "children": list(p.children), "theme": p.theme}
                    for p in self.parents.values()
                },
                "mcf_orders": [dict(order) for order in self.orders.values()],
                "reports": [
                    {"reportId": r.report_id, "reportType": r.report_type, "status": r.status}
                    for r in self.reports.values()
                ],
                "token_calls": self.token_calls,
            }

    # ----- LWA ----------------------------------------------------------------------
    def issue_token(self, form: dict[str, str]) -> Reply:
        """``POST /auth/o2/token`` with the refresh_token grant (LWA)."""
        with self.lock:
            self.token_calls += 1
            if form.get("grant_type") != "refresh_token":
                return 400, {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                }
            if (
                form.get("client_id") != self.client_id
                or form.get("client_secret") != self.client_secret
            ):
                # 401 invalid_client: observed in third-party fixtures, UNCONFIRMED (LWA)
                return 401, {
                    "error": "invalid_client",
                    "error_description": "Client authentication failed",
                }
            refresh = form.get("refresh_token", "")
            if refresh not in self.refresh_tokens:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": (
                        "The request has an invalid grant parameter : refresh_token"
                    ),
                }
            token = "Atza|" + secrets.token_urlsafe(48)
            self.tokens[token] = self.clock() + TOKEN_LIFETIME_S
            return 200, {
                "access_token": token,
                "token_type": "bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "refresh_token": refresh,
            }

    def token_problem(self, token: str | None) -> str | None:
        """Why an access token is refused (the ``details`` text), or None if it is valid."""
        if not token:
            return "Access token is missing in the request header."
        with self.lock:
            expiry = self.tokens.get(token)
        if expiry is None:
            return "The access token you provided is revoked, malformed or invalid."
        if expiry <= self.clock():
            return "The access token you provided has expired."
        return None

    def expire_tokens(self) -> int:
        """Make every issued access token expired (tests of the refresh-on-403 path)."""
        with self.lock:
            now = self.clock()
            for token in self.tokens:
                self.tokens[token] = now - 1
            return len(self.tokens)

    # ----- Listings Items (Listings Items model) --------------------------------------
    def channel_code(self) -> str:
        return AMAZON_CHANNEL.get(self.marketplace_id, "AMAZON_NA")

    def item(self, listing: Listing, included: set[str]) -> dict[str, Any]:
        """A Listings ``Item`` with the requested datasets."""
        out: dict[str, Any] = {"sku": listing.sku}
        if "summaries" in included:
            summary: dict[str, Any] = {
                "marketplaceId": self.marketplace_id,
                "asin": listing.asin,
                "productType": listing.product_type,
                "conditionType": "new_new",
                "status": ["BUYABLE", "DISCOVERABLE"] if listing.status == "Active" else [],
                "itemName": listing.title,
                "createdDate": iso(listing.created),
                "lastUpdatedDate": iso(listing.updated),
            }
            if listing.fulfillment == "FBA":
                summary["fnSku"] = fn_sku(listing.sku)
            out["summaries"] = [summary]
        if "attributes" in included:
            out["attributes"] = {
                "item_name": [{"value": listing.title, "marketplace_id": self.marketplace_id}],
                "purchasable_offer": [self._offer_attribute(listing)],
                **listing.attributes,
            }
        if "issues" in included:
            out["issues"] = []
        if "offers" in included:
            out["offers"] = [
                {
                    "marketplaceId": self.marketplace_id,
                    "offerType": "B2C",
                    "price": {"currencyCode": listing.currency, "amount": f"{listing.price:.2f}"},
                    "audience": {"value": "ALL", "displayName": "Sell on Amazon"},
                }
            ]
        if "fulfillmentAvailability" in included:
            if listing.fulfillment == "FBA":  # FBA carries no quantity here (Listings Items model)
                out["fulfillmentAvailability"] = [{"fulfillmentChannelCode": self.channel_code()}]
            else:
                out["fulfillmentAvailability"] = [
                    {"fulfillmentChannelCode": "DEFAULT", "quantity": listing.quantity}
                ]
        if "relationships" in included:
            parent = self.parents.get(listing.parent_sku) if listing.parent_sku else None
            out["relationships"] = child_relationships(self.marketplace_id, parent)
        if "productTypes" in included:
            out["productTypes"] = [
                {"marketplaceId": self.marketplace_id, "productType": listing.product_type}
            ]
        return out

    def parent_item(self, parent: VariationParent, included: set[str]) -> dict[str, Any]:
        """A variation parent as a Listings ``Item``: no offer, no availability.

        UNCONFIRMED: the exact summary status of a parent; a parent cannot be bought, so
        its ``status`` list is empty (the model allows an empty list).
        """
        out: dict[str, Any] = {"sku": parent.sku}
        if "summaries" in included:
            out["summaries"] = [
                {
                    "marketplaceId": self.marketplace_id,
                    "asin": parent.asin,
                    "productType": parent.product_type,
                    "conditionType": "new_new",
                    "status": [],
                    "itemName": parent.title,
                    "createdDate": iso(parent.created),
                    "lastUpdatedDate": iso(parent.updated),
                }
            ]
        if "attributes" in included:
            out["attributes"] = {
                "item_name": [{"value": parent.title, "marketplace_id": self.marketplace_id}]
            }
        for dataset in ("issues", "offers", "fulfillmentAvailability"):
            if dataset in included:
                out[dataset] = []
        if "relationships" in included:
            out["relationships"] = parent_relationships(self.marketplace_id, parent)
        if "productTypes" in included:
            out["productTypes"] = [
                {"marketplaceId": self.marketplace_id, "productType": parent.product_type}
            ]
        return out

    def _any_item(self, entry: Listing | VariationParent, included: set[str]) -> dict[str, Any]:
        if isinstance(entry, VariationParent):
            return self.parent_item(entry, included)
        return self.item(entry, included)

    @staticmethod
    def _statuses(entry: Listing | VariationParent) -> set[str]:
        if isinstance(entry, Listing) and entry.status == "Active":
            return {"BUYABLE", "DISCOVERABLE"}
        return set()

    def _offer_attribute(self, listing: Listing) -> dict[str, Any]:
        return {
            "marketplace_id": self.marketplace_id,
            "currency": listing.currency,
            "audience": "ALL",
            "our_price": [{"schedule": [{"value_with_tax": float(listing.price)}]}],
        }

    def get_listing(self, seller_id: str, sku: str, query: dict[str, list[str]]) -> Reply:
        """``getListingsItem``: default includedData is summaries only (Listings Items model)."""
        if (problem := self._check_marketplaces(query)) is not None:
            return problem
        included, problem = included_data(query)
        if problem is not None:
            return problem
        with self.lock:
            if seller_id != self.seller_id:
                return 403, error("Unauthorized", "Access to requested resource is denied.")
            entry = self.listings.get(sku) or self.parents.get(sku)
            if entry is None:
                return 404, error(
                    "NOT_FOUND", f"SKU '{sku}' not found in marketplace {self.marketplace_id}"
                )
            return 200, self._any_item(entry, included)

    def search_listings(self, seller_id: str, query: dict[str, list[str]]) -> Reply:
        """``searchListingsItems``: pageSize <= 20, cap of 1,000 reachable results (Listings Items
        model).

        Filters from the model: ``identifiers`` (max 20, needs ``identifiersType``),
        ``variationParentSku`` (the children of a parent SKU), ``packageHierarchySku``
        (no package hierarchies are emulated: always empty), mutually exclusive;
        ``withStatus`` / ``withoutStatus``. Parents are searchable like any listing.
        """
        if (problem := self._check_marketplaces(query)) is not None:
            return problem
        try:
            page_size = int(first(query, "pageSize") or 10)
        except ValueError:
            return invalid("pageSize must be an integer")
        if not 1 <= page_size <= 20:
            return invalid("pageSize must be between 1 and 20")
        included, problem = included_data(query)
        if problem is not None:
            return problem
        identifiers = csv_values(query, "identifiers")
        id_type = first(query, "identifiersType")
        variation_parent = first(query, "variationParentSku")
        package_sku = first(query, "packageHierarchySku")
        if len(identifiers) > 20:
            return invalid("identifiers accepts at most 20 values")
        if bool(identifiers) != bool(id_type) or (id_type and id_type not in IDENTIFIER_TYPES):
            return invalid("identifiers and a valid identifiersType must be given together")
        if sum(map(bool, (identifiers, variation_parent, package_sku))) > 1:
            # the three are mutually exclusive (model parameter notes); error code UNCONFIRMED
            return invalid(
                "identifiers, variationParentSku and packageHierarchySku cannot be combined"
            )
        with_status = set(csv_values(query, "withStatus"))
        without_status = set(csv_values(query, "withoutStatus"))
        if not (with_status | without_status) <= LISTING_STATUSES:
            return invalid("withStatus/withoutStatus accept BUYABLE and DISCOVERABLE")
        offset = 0
        if token := first(query, "pageToken"):
            try:
                offset = int(base64.urlsafe_b64decode(token.encode()).decode().split(":")[1])
            except (ValueError, IndexError):
                return invalid("Invalid pageToken")
        sort_by = first(query, "sortBy") or "lastUpdatedDate"
        descending = (first(query, "sortOrder") or "DESC") == "DESC"
        with self.lock:
            if seller_id != self.seller_id:
                return 403, error("Unauthorized", "Access to requested resource is denied.")
            found = self._search_candidates(identifiers, id_type, variation_parent, package_sku)
            if with_status:
                found = [x for x in found if with_status & self._statuses(x)]
            if without_status:
                found = [x for x in found if not without_status & self._statuses(x)]
            key = {"sku": lambda x: x.sku, "createdDate": lambda x: (x.created, x.sku)}.get(
                sort_by, lambda x: (x.updated, x.sku)
            )
            found.sort(key=key, reverse=descending)
            reachable = found[:SEARCH_CAP]
            page = reachable[offset : offset + page_size]
            body: dict[str, Any] = {
                "numberOfResults": len(found),
                "items": [self._any_item(x, included) for x in page],
            }
            pagination = {}
            if offset + page_size < len(reachable):
                pagination["nextToken"] = page_token(offset + page_size)
            if offset > 0:
                pagination["previousToken"] = page_token(max(0, offset - page_size))
            if pagination:
                body["pagination"] = pagination
            return 200, body

    def _search_candidates(
        self,
        identifiers: list[str],
        id_type: str | None,
        variation_parent: str | None,
        package_sku: str | None,
    ) -> list[Listing | VariationParent]:
        if package_sku:
            return []  # UNCONFIRMED how Amazon answers without package hierarchies: empty
        if variation_parent:
            # An unknown or non-parent SKU simply has no children (UNCONFIRMED: could be 400)
            parent = self.parents.get(variation_parent)
            return [self.listings[c] for c in parent.children] if parent else []
        wanted = set(identifiers)
        if id_type == "SKU":
            hits = (self.listings.get(s) or self.parents.get(s) for s in wanted)
            return [x for x in hits if x is not None]
        everything: list[Listing | VariationParent] = [
            *self.listings.values(),
            *self.parents.values(),
        ]
        if not identifiers:
            return everything
        if id_type == "ASIN":
            return [x for x in everything if x.asin in wanted]
        if id_type == "FNSKU":
            return [
                x
                for x in self.listings.values()
                if x.fulfillment == "FBA" and fn_sku(x.sku) in wanted
            ]
        return [x for x in self.listings.values() if x.barcode in wanted]  # EAN/UPC/GTIN/...

    def patch_listing(
        self, seller_id: str, sku: str, query: dict[str, list[str]], body: Any
    ) -> Reply:
        """``patchListingsItem``: 400 if malformed, else 200 ACCEPTED/INVALID/VALID (Listings Items
        model)."""
        if (problem := self._check_marketplaces(query)) is not None:
            return problem
        if problems := body_errors("listings", "ListingsItemPatchRequest", body):
            return invalid("Invalid input", "; ".join(problems[:5]))
        with self.lock:
            if seller_id != self.seller_id:
                return 403, error("Unauthorized", "Access to requested resource is denied.")
            listing = self.listings.get(sku)
            if listing is None:
                return 404, error(
                    "NOT_FOUND", f"SKU '{sku}' not found in marketplace {self.marketplace_id}"
                )
            issues, changes = self._plan_patches(listing, body["patches"])
            submission = {"sku": sku, "submissionId": uuid.uuid4().hex}
            if issues:
                return 200, {**submission, "status": "INVALID", "issues": issues}
            if first(query, "mode") == "VALIDATION_PREVIEW":
                return 200, {**submission, "status": "VALID", "issues": []}
            if self.listing_apply_delay_s > 0:
                # ACCEPTED is asynchronous: reads show the old values for a while (§4.1)
                due = self.clock() + self.listing_apply_delay_s
                self.pending_patches.append((due, listing, changes))
            else:
                for apply in changes:
                    apply()
                listing.updated = self.clock()
            return 200, {**submission, "status": "ACCEPTED", "issues": []}

    def apply_due_patches(self) -> None:
        """Apply ACCEPTED patches whose delay has passed (called before every read)."""
        with self.lock:
            now = self.clock()
            due = [p for p in self.pending_patches if p[0] <= now]
            self.pending_patches = [p for p in self.pending_patches if p[0] > now]
            for _, listing, changes in due:
                for apply in changes:
                    apply()
                listing.updated = now

    def _plan_patches(
        self, listing: Listing, patches: list[dict[str, Any]]
    ) -> tuple[list[dict[str, Any]], list[Callable[[], None]]]:
        issues: list[dict[str, Any]] = []
        changes: list[Callable[[], None]] = []

        def issue(code: str, message: str, name: str) -> None:
            if "price" in name:
                category = "INVALID_PRICE"
            elif "required" in message or "enough values" in message:
                category = "MISSING_ATTRIBUTE"
            else:
                category = "INVALID_ATTRIBUTE"
            issues.append({
                "code": code, "message": message, "severity": "ERROR",
                "attributeNames": [name], "categories": [category],
            })  # fmt: skip

        for patch in patches:
            path = patch["path"]
            parts = path.split("/")
            if len(parts) != 3 or parts[0] != "" or parts[1] != "attributes" or not parts[2]:
                # only top-level attributes can be patched (Listings Items model)
                issue("4000001", f"The patch path '{path}' is not supported.", path)
                continue
            name, value = parts[2], patch.get("value")
            if name not in KNOWN_ATTRIBUTES:
                issue(
                    "90000900",
                    f"The provided attribute '{name}' is not valid for product "
                    f"type '{listing.product_type}'.",
                    name,
                )
                continue
            if patch["op"] == "delete":
                changes.append(lambda n=name: listing.attributes.pop(n, None))
                continue
            if not value:
                issue("90220", f"'{name}' is required but not supplied.", name)
                continue
            if name == "purchasable_offer":
                self._plan_offer(listing, value, issue, changes)
            elif name == "fulfillment_availability":
                self._plan_availability(listing, value, issue, changes)
            elif name == "item_name":
                title = value[0].get("value")
                if not isinstance(title, str) or not title:
                    issue("90220", "'item_name' needs a non-empty value.", name)
                else:
                    changes.append(lambda t=title: setattr(listing, "title", t))
            else:
                changes.append(lambda n=name, v=value: listing.attributes.__setitem__(n, v))
        return issues, changes

    def _plan_offer(
        self, listing: Listing, value: list[dict[str, Any]], issue: Any, changes: list
    ) -> None:
        for offer in value:
            if offer.get("marketplace_id", self.marketplace_id) != self.marketplace_id:
                continue
            try:
                amount = Decimal(str(offer["our_price"][0]["schedule"][0]["value_with_tax"]))
            except (KeyError, IndexError, TypeError, InvalidOperation):
                issue(
                    "99022",
                    "A value is required for 'our_price' in 'purchasable_offer'.",
                    "purchasable_offer.our_price",
                )
                return
            if not amount.is_finite() or amount <= 0:
                issue("99022", "'our_price' must be greater than 0.", "purchasable_offer.our_price")
                return
            currency = offer.get("currency", listing.currency)
            if currency != listing.currency:
                issue(
                    "99022",
                    f"Currency '{currency}' is not valid for this marketplace.",
                    "purchasable_offer.currency",
                )
                return
            changes.append(lambda a=amount: setattr(listing, "price", a.quantize(Decimal("0.01"))))

    def _plan_availability(
        self, listing: Listing, value: list[dict[str, Any]], issue: Any, changes: list
    ) -> None:
        for entry in value:
            code = entry.get("fulfillment_channel_code")
            if not code:
                issue(
                    "90220",
                    "The field 'fulfillment_channel_code' does not have enough values.",
                    "fulfillment_availability",
                )
                return
            if code != "DEFAULT":
                continue  # Amazon owns FBA quantities
            quantity = entry.get("quantity")
            if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity < 0:
                issue(
                    "90220",
                    "'quantity' must be a whole number of 0 or more.",
                    "fulfillment_availability.quantity",
                )
                return
            if listing.fulfillment == "MFN":
                changes.append(lambda q=quantity: setattr(listing, "quantity", q))

    def _check_marketplaces(self, query: dict[str, list[str]]) -> Reply | None:
        ids = csv_values(query, "marketplaceIds")
        if not ids:
            return invalid("Missing required parameter", "marketplaceIds is required")
        if self.marketplace_id not in ids:
            return invalid(f"Invalid marketplaceIds: {','.join(ids)}")
        return None

    # ----- FBA inventory (FBA Inventory model) ----------------------------------------
    def inventory_summaries(self, query: dict[str, list[str]]) -> Reply:
        """``getInventorySummaries``: payload wrapper, 50 per page, nextToken valid 30 s."""
        if first(query, "granularityType") != "Marketplace":
            return invalid("Invalid granularityType", "granularityType must be Marketplace")
        if first(query, "granularityId") != self.marketplace_id:
            return invalid("Invalid granularityId")
        markets = csv_values(query, "marketplaceIds")
        if len(markets) != 1 or markets[0] != self.marketplace_id:
            return invalid("marketplaceIds must hold exactly this seller's marketplace")
        details = (first(query, "details") or "false").lower() == "true"
        now = self.clock()
        with self.lock:
            if token := first(query, "nextToken"):
                saved = self.inventory_tokens.pop(token, None)
                if saved is None or saved[0] < now:
                    return invalid("Invalid nextToken", "The nextToken is expired or invalid.")
                _, skus, offset = saved
            else:
                wanted = csv_values(query, "sellerSkus")
                if len(wanted) > 50:
                    return invalid("sellerSkus accepts at most 50 values")
                if not wanted and (single := first(query, "sellerSku")):
                    wanted = [single]
                fba = sorted(
                    s
                    for s, lst in self.listings.items()
                    if lst.fulfillment == "FBA" and s not in self.summaries_missing
                )
                skus = [s for s in fba if s in set(wanted)] if wanted else fba
                if (start := first(query, "startDateTime")) is not None:
                    # "all inventory summaries that have changed since then are returned";
                    # no earlier than 18 months back (fbaInventory model, startDateTime)
                    try:
                        since = datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp()
                    except ValueError:
                        return invalid("Invalid startDateTime", "not an ISO 8601 date and time")
                    if since < now - 548 * 86_400:
                        return invalid("Invalid startDateTime", "earlier than 18 months ago")
                    skus = [s for s in skus if self.listings[s].updated >= since]
                offset = 0
            page = skus[offset : offset + INVENTORY_PAGE]
            body: dict[str, Any] = {
                "payload": {
                    "granularity": {
                        "granularityType": "Marketplace",
                        "granularityId": self.marketplace_id,
                    },
                    "inventorySummaries": [
                        self._summary(self.listings[s], details) for s in page if s in self.listings
                    ],
                }
            }
            if offset + INVENTORY_PAGE < len(skus):
                token = secrets.token_urlsafe(24) + "+/="  # exercises URL encoding
                self.inventory_tokens[token] = (
                    now + INVENTORY_TOKEN_TTL_S,
                    skus,
                    offset + INVENTORY_PAGE,
                )
                body["pagination"] = {"nextToken": token}
            return 200, body

    def _summary(self, listing: Listing, details: bool) -> dict[str, Any]:
        out: dict[str, Any] = {
            "asin": listing.asin,
            "fnSku": fn_sku(listing.sku),
            "sellerSku": listing.sku,
            "condition": "NewItem",
            "lastUpdatedTime": iso(listing.updated),
            "productName": listing.title,
            "totalQuantity": listing.quantity + listing.reserved,
        }
        if details:
            zero_unfulfillable = {
                k: 0
                for k in (
                    "totalUnfulfillableQuantity",
                    "customerDamagedQuantity",
                    "warehouseDamagedQuantity",
                    "distributorDamagedQuantity",
                    "carrierDamagedQuantity",
                    "defectiveQuantity",
                    "expiredQuantity",
                )
            }
            out["inventoryDetails"] = {
                "fulfillableQuantity": listing.quantity,
                "inboundWorkingQuantity": 0,
                "inboundShippedQuantity": 0,
                "inboundReceivingQuantity": 0,
                "reservedQuantity": {
                    "totalReservedQuantity": listing.reserved,
                    "pendingCustomerOrderQuantity": listing.reserved,
                    "pendingTransshipmentQuantity": 0,
                    "fcProcessingQuantity": 0,
                },
                "researchingQuantity": {
                    "totalResearchingQuantity": 0,
                    "researchingQuantityBreakdown": [],
                },
                "unfulfillableQuantity": zero_unfulfillable,
            }
        return out

    # ----- Reports (All Listings Report) ----------------------------------------------
    def create_report(self, body: Any) -> Reply:
        """``createReport``: 202 with a reportId; only the All Listings report is emulated."""
        if problems := body_errors("reports", "CreateReportSpecification", body):
            return invalid("Invalid input", "; ".join(problems[:5]))
        if body["reportType"] != "GET_MERCHANT_LISTINGS_ALL_DATA":
            return invalid(f"Report type {body['reportType']} is not supported by the sandbox.")
        if self.marketplace_id not in body["marketplaceIds"]:
            return invalid("Invalid marketplaceIds")
        with self.lock:
            report_id = str(next(self._ids))
            locale = (body.get("reportOptions") or {}).get("preferredReportDocumentLocale")
            content = self._listing_report(locale) if self.listings else b""
            self.reports[report_id] = ReportJob(
                report_id, body["reportType"], list(body["marketplaceIds"]), self.clock(), content
            )
            return 202, {"reportId": report_id}

    def _listing_report(self, locale: str | None = None) -> bytes:
        buffer = io.StringIO()
        writer = csv.writer(
            buffer, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE, escapechar="\\"
        )
        header = report_header(self.report_options.header)
        translated = self.report_options.header_locale
        if translated and not (locale or "").lower().startswith("en"):
            header = TRANSLATED_HEADERS[translated] + header[len(REPORT_COLUMNS) :]
        writer.writerow(header)
        extra = [""] * (len(report_header(self.report_options.header)) - len(REPORT_COLUMNS))
        for n, listing in enumerate(self.listings.values()):
            fba = listing.fulfillment == "FBA"
            row = dict.fromkeys(REPORT_COLUMNS, "")
            row.update(
                {
                    "item-name": listing.title.replace("\t", " ").replace("\n", " "),
                    "listing-id": f"{1127000000 + n:010d}ZZZ",
                    "seller-sku": listing.sku,
                    "price": f"{listing.price:.2f}",
                    # FBA rows: empty (All Listings Report)
                    "quantity": "" if fba else str(listing.quantity),
                    "open-date": datetime.fromtimestamp(listing.created, UTC).strftime(
                        "%Y-%m-%d %H:%M:%S GMT"
                    ),
                    "item-is-marketplace": "y",
                    # product-id is what the listing was created with: the barcode when the
                    # fixture has one (3 = UPC, 4 = EAN), else the ASIN (1) (All Listings Report)
                    "product-id-type": barcode_type(listing.barcode),
                    "item-condition": "11",
                    "asin1": listing.asin,
                    "product-id": listing.barcode or listing.asin,
                    "pending-quantity": "0",
                    "fulfillment-channel": self.channel_code() if fba else "DEFAULT",
                    "status": listing.status,
                }
            )
            writer.writerow([row[c] for c in REPORT_COLUMNS] + extra)
        if self.report_options.include_parents:
            for parent in self.parents.values():
                row = dict.fromkeys(REPORT_COLUMNS, "")
                row.update(
                    {
                        "item-name": parent.title.replace("\t", " ").replace("\n", " "),
                        "seller-sku": parent.sku,
                        "open-date": datetime.fromtimestamp(parent.created, UTC).strftime(
                            "%Y-%m-%d %H:%M:%S GMT"
                        ),
                        "product-id-type": "1",
                        "asin1": parent.asin,
                        "product-id": parent.asin,
                        "fulfillment-channel": "DEFAULT",
                        "status": "Inactive",  # a parent is not buyable (UNCONFIRMED wording)
                    }
                )
                writer.writerow([row[c] for c in REPORT_COLUMNS] + extra)
        return buffer.getvalue().encode(self.report_options.charset, errors="replace")

    def get_report(self, report_id: str) -> Reply:
        """``getReport``: each poll moves the status one step (options.statuses)."""
        with self.lock:
            job = self.reports.get(report_id)
            if job is None:
                return 404, error("NotFound", f"Report {report_id} was not found.")
            if job.status not in ("DONE", "CANCELLED", "FATAL"):
                steps = self.report_options.statuses
                job.status = steps[min(job.polls, len(steps) - 1)]
                job.polls += 1
                if job.status == "DONE" and not job.content:
                    job.status = "CANCELLED"  # no data -> CANCELLED (All Listings Report)
                elif job.status == "DONE" and self.report_options.cancel_next > 0:
                    self.report_options.cancel_next -= 1
                    job.status = "CANCELLED"  # requested too often (see ReportOptions)
                if job.status == "DONE":
                    job.document_id = f"amzn1.spdoc.1.4.na.{uuid.uuid4()}"
                    data = job.content
                    if self.report_options.compression == "GZIP":
                        data = gzip.compress(data, mtime=0)
                    self.documents[job.document_id] = (data, self.report_options.compression)
            body: dict[str, Any] = {
                "reportId": job.report_id,
                "reportType": job.report_type,
                "marketplaceIds": job.marketplace_ids,
                "createdTime": iso(job.created),
                "processingStatus": job.status,
            }
            if job.polls > 1:
                body["processingStartTime"] = iso(job.created)
            if job.status in ("DONE", "CANCELLED", "FATAL"):
                body["processingEndTime"] = iso(self.clock())
            if job.document_id:
                body["reportDocumentId"] = job.document_id
            return 200, body

    def report_document(self, document_id: str, base_url: str) -> Reply:
        """``getReportDocument``: a pre-signed URL on this app, valid for 5 minutes."""
        with self.lock:
            doc = self.documents.get(document_id)
        if doc is None:
            return 404, error("NotFound", f"Report document {document_id} was not found.")
        issued = str(int(self.clock()))
        signature = self._sign(document_id, issued)
        url = (
            f"{base_url.rstrip('/')}/_s3/report-documents/{document_id}"
            f"?X-Amz-Date={issued}&X-Amz-Expires={DOCUMENT_URL_TTL_S}&X-Amz-Signature={signature}"
        )
        body = {"reportDocumentId": document_id, "url": url}
        if doc[1]:
            body["compressionAlgorithm"] = doc[1]
        return 200, body

    def _sign(self, document_id: str, issued: str) -> str:
        return hmac.new(self._signing_key, f"{document_id}:{issued}".encode(), "sha256").hexdigest()

    def download(self, document_id: str, query: dict[str, list[str]]) -> tuple[int, bytes, str]:
        """The pre-signed download: ``(status, bytes, content type)``; no SP-API auth (All Listings
        Report)."""
        issued = first(query, "X-Amz-Date") or ""
        signature = first(query, "X-Amz-Signature") or ""
        with self.lock:
            doc = self.documents.get(document_id)
        denied = (
            403,
            b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
            b"<Message>Request has expired</Message></Error>",
            "application/xml",
        )
        if doc is None or not hmac.compare_digest(signature, self._sign(document_id, issued)):
            return 403, denied[1].replace(b"Request has expired", b"Access Denied"), denied[2]
        if int(issued) + DOCUMENT_URL_TTL_S < self.clock():
            return denied
        return 200, doc[0], f"text/plain; charset={self.report_options.charset}"

    # ----- Multi-Channel Fulfillment (Fulfillment Outbound model) ---------------------
    def create_order(self, body: Any) -> Reply:
        """``createFulfillmentOrder``: 200 ``{}``; reserves FBA fulfillable units."""
        if problems := body_errors("outbound", "CreateFulfillmentOrderRequest", body):
            return invalid("Invalid input", "; ".join(problems[:5]))
        address = body["destinationAddress"]
        if address.get("countryCode") == "JP" and address.get("city"):
            # Address.city "should not be used in Japan" (fulfillmentOutbound_2020-07-01
            # model); that Amazon answers 400 for it is UNCONFIRMED.
            return invalid("Invalid input", "destinationAddress.city must not be used in Japan")
        order_id = body["sellerFulfillmentOrderId"]
        items = body["items"]
        with self.lock:
            if order_id in self.orders:
                # Duplicate ids: behaviour UNCONFIRMED (Fulfillment Outbound model). Assumption from
                # the reference:
                # reject with 400 InvalidInput so the client's look-up path gets exercised.
                return invalid(
                    f"Fulfillment order {order_id} already exists.",
                    "sellerFulfillmentOrderId must be unique",
                )
            if body.get("marketplaceId", self.marketplace_id) != self.marketplace_id:
                return invalid(f"Invalid marketplaceId {body['marketplaceId']}")
            if not items or len(items) > 100:
                return invalid("An order needs 1 to 100 items.")
            if sum(i["quantity"] for i in items) > 250:
                return invalid("An order can hold at most 250 units.")
            item_ids = [i["sellerFulfillmentOrderItemId"] for i in items]
            if len(set(item_ids)) != len(item_ids):
                return invalid("sellerFulfillmentOrderItemId must be unique within the order.")
            for item in items:
                listing = self.listings.get(item["sellerSku"])
                if listing is None or listing.fulfillment != "FBA" or item["quantity"] < 1:
                    # observed message: github.com/amzn/selling-partner-api-models/issues/2979
                    item_id = item["sellerFulfillmentOrderItemId"]
                    return invalid(f"the SellerSKU for Item Id: {item_id} is invalid.")
            now = self.clock()
            fulfillable = all(
                self.listings[i["sellerSku"]].quantity >= i["quantity"] for i in items
            )
            if fulfillable:
                for item in items:
                    listing = self.listings[item["sellerSku"]]
                    listing.quantity -= item["quantity"]
                    listing.reserved += item["quantity"]
                    listing.updated = now
            self.orders[order_id] = {
                **body,
                "marketplaceId": self.marketplace_id,
                "fulfillmentAction": body.get("fulfillmentAction", "Ship"),
                "fulfillmentPolicy": body.get("fulfillmentPolicy", "FillOrKill"),
                "fulfillmentOrderStatus": "Received" if fulfillable else "Unfulfillable",
                "receivedDate": iso(now),
                "statusUpdatedDate": iso(now),
                "changedAt": now,
                "polls": 0,
                "reserved_units": fulfillable,
            }
            return 200, {}

    def _settle(self, order: dict[str, Any]) -> None:
        """Release the reservation once an order is shipped; unshipped units go back."""
        if order.get("settled") or order["fulfillmentOrderStatus"] not in (
            "Complete",
            "CompletePartialled",
        ):
            return
        order["settled"] = True
        short = order.get("unfulfillable", {})
        for item in order["items"]:
            listing = self.listings[item["sellerSku"]]
            listing.reserved -= item["quantity"]
            listing.quantity += short.get(item["sellerFulfillmentOrderItemId"], 0)

    def get_order(self, order_id: str) -> Reply:
        """``getFulfillmentOrder``: payload with items and shipments (life cycle: mcf.py)."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                # 404 is declared in the model; the exact code is UNCONFIRMED (Fulfillment Outbound
                # model)
                return 404, error("NotFound", f"Fulfillment order {order_id} was not found.")
            self.mcf.on_read(order, counted=True)
            self._settle(order)
            return 200, {"payload": self.mcf.payload(order, ORDER_HEAD_KEYS)}

    def list_orders(self, query: dict[str, list[str]]) -> Reply:
        """``listAllFulfillmentOrders``: orders whose status changed at or after
        ``queryStartDate`` (creation counts), paged by ``nextToken``. Without
        ``queryStartDate`` every order is listed (Amazon's behaviour is UNCONFIRMED)."""
        raw = first(query, "queryStartDate")
        start = None
        if raw:
            start = mcf.parse_time(raw)
            if start is None:
                return invalid(f"Invalid queryStartDate: {raw}", "expected ISO 8601 date-time")
        with self.lock:
            for order in self.orders.values():
                self.mcf.on_read(order, counted=False)
                self._settle(order)
            page = self.mcf.list_page(list(self.orders.values()), start, first(query, "nextToken"))
            if page is None:
                return invalid("Invalid nextToken")
            orders, following = page
            payload: dict[str, Any] = {
                "fulfillmentOrders": [self.mcf.head(o, ORDER_HEAD_KEYS) for o in orders]
            }
            if following:
                payload["nextToken"] = following
            return 200, {"payload": payload}

    def package_tracking(self, query: dict[str, list[str]]) -> Reply:
        """``getPackageTrackingDetails?packageNumber=`` (int32, required)."""
        raw = first(query, "packageNumber")
        try:
            number = int(raw or "")
        except ValueError:
            return invalid("packageNumber is required and must be an integer")
        with self.lock:
            details = self.mcf.tracking(number)
        if details is None:
            # the model declares 404; code and wording UNCONFIRMED
            return 404, error("NotFound", f"Package {number} was not found.")
        return 200, {"payload": details}

    def advance_order(self, order_id: str, data: dict[str, Any]) -> Reply:
        """Admin: move an order to ``data["to"]`` (default: the next step), optionally
        with explicit ``packages`` (see :meth:`McfBook._shipped_shipment`)."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, {"error": f"no MCF order {order_id}"}
            status = order["fulfillmentOrderStatus"]
            to = data.get("to")
            if to is None:
                if status not in mcf.STEPS[:-1]:
                    return 409, {"error": f"{order_id} is {status}: no next step"}
                to = mcf.STEPS[mcf.STEPS.index(status) + 1]
            if to not in (*mcf.STEPS, "CompletePartialled", "Unfulfillable"):
                return 400, {"error": f"cannot move an order to {to}"}
            try:
                self.mcf.move(order, to, data.get("packages"))
            except (KeyError, TypeError, ValueError) as exc:
                return 400, {"error": f"bad packages: {exc}"}
            self._settle(order)
            return 200, self.mcf.payload(order, ORDER_HEAD_KEYS)

    def cancel_order(self, order_id: str) -> Reply:
        """``cancelFulfillmentOrder``: only while New/Received/Planning; releases units."""
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return 404, error("NotFound", f"Fulfillment order {order_id} was not found.")
            self.mcf.on_read(order, counted=False)
            refused = self.mcf.cancel(order)
            if refused is not None:
                return 400, error(self.mcf.options.cancel_error_code, refused)
            if order.get("reserved_units", True):
                for item in order["items"]:
                    listing = self.listings[item["sellerSku"]]
                    listing.quantity += item["quantity"]
                    listing.reserved -= item["quantity"]
            return 200, {}


def first(query: dict[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[0] if values else None


def csv_values(query: dict[str, list[str]], name: str) -> list[str]:
    """A csv (collectionFormat csv) query parameter split on commas (URL encoding)."""
    out: list[str] = []
    for value in query.get(name, []):
        out.extend(v for v in value.split(",") if v != "")
    return out


def included_data(query: dict[str, list[str]]) -> tuple[set[str], Reply | None]:
    """The requested datasets (default ``summaries``) or a 400 for a value not in the enum."""
    included = set(csv_values(query, "includedData") or ["summaries"])
    if unknown := included - INCLUDED_DATA:
        return included, invalid(f"Invalid includedData: {','.join(sorted(unknown))}")
    return included, None


def fn_sku(sku: str) -> str:
    """The emulator's deterministic FNSKU of an FBA listing."""
    return "X0" + hashlib.sha256(sku.encode()).hexdigest()[:8].upper()


def barcode_type(barcode: str | None) -> str:
    """The report's product-id-type code: 1 ASIN, 3 UPC (12 digits), 4 EAN (13 digits)."""
    if not barcode:
        return "1"
    return "4" if len(barcode) == 13 else "3"


def page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"page:{offset}:{secrets.token_hex(4)}".encode()).decode()


def dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":"), default=str).encode()
