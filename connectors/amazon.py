"""Amazon Selling Partner API connector: the store side for an Amazon seller account.

Implements :class:`connectors.base.StoreApi` (``kind = "amazon"``) on the shared
:class:`connectors.http.HttpLayer`:

- auth: Login with Amazon refresh-token grant; the access token is cached and refreshed
  5 minutes before it runs out, and once more when a call answers 403 for an expired or
  invalid token [lwa], [models]. No SigV4 (not required since 2023, [sigv4]);
- client-side token buckets per operation at the documented usage-plan rates [rate-limits];
- Amazon's error envelope becomes typed errors (:data:`ERRORS` and the shared status
  ladder): 429 QuotaExceeded -> ThrottledError, 5xx -> TransientError, 401/403 ->
  AuthError, other 4xx -> FatalError carrying the operation, code, message and
  ``x-amzn-RequestId``;
- catalog: the All Listings report (create, poll, download, gunzip, parse TSV), then
  variation families from ``searchListingsItems`` (``includedData=summaries,relationships``,
  20 SKUs per call; ``families="off"`` skips it), then FBA fulfillable quantities from
  ``getInventorySummaries`` (50 SKUs per call);
- orders: TikTok orders become Multi-Channel Fulfillment orders whose
  ``sellerFulfillmentOrderId`` is derived from the TikTok order id, so a lookup by TikTok
  order id (``find_order``) is always possible [models] (Fulfillment Outbound).

Path parameters are percent-encoded exactly once here (``quote(value, safe="")``) and the
already-built path is handed to httpx [url-encoding].

Sources (the bracketed names are cited below):

- [models] the SP-API models, https://github.com/amzn/selling-partner-api-models (the ones
  used are vendored in ``sandbox/amazon/models/``: Listings Items 2021-08-01, Reports
  2021-06-30, FBA Inventory v1, Fulfillment Outbound 2020-07-01)
- [lwa] https://developer-docs.amazon.com/sp-api-blog/docs/selling-partner-api-migration-for-private-developers
- [sigv4] https://developer-docs.amazon.com/sp-api/changelog/sp-api-will-no-longer-require-aws-iam-or-aws-signature-version-4
- [rate-limits] https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits
  and https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-rate-limits
- [url-encoding] https://developer-docs.amazon.com/sp-api/docs/url-encoding
- [marketplace-ids] https://developer-docs.amazon.com/sp-api/docs/marketplace-ids
- [search-listings] https://developer-docs.amazon.com/sp-api/docs/search-for-listings-items-by-id
- [reports] https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory
- [fba-inventory] https://developer-docs.amazon.com/sp-api/docs/get-fba-inventory-summaries
- [plus-bug] ``+`` in a fulfillment order id, amzn/selling-partner-api-models issue 5374
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

import httpx

from connectors import amazon_fulfillment as mcf
from connectors.amazon_families import (
    SEARCH_BATCH,
    FamilyIndex,
    FamilyMode,
    ItemLinks,
    build_index,
    item_links,
)
from connectors.amazon_report import (
    ParseStats,
    ReportRow,
    decode_document,
    parse_listings_report,
)
from connectors.base import (
    CatalogVariant,
    NotSupportedError,
    StoreCancelResult,
    StoreKind,
    StoreOrder,
    StoreOrderRequest,
    StoreOrderState,
    StoreShipment,
    Warehouse,
)
from connectors.errors import (
    AuthError,
    FatalError,
    MalformedResponseError,
    ThrottledError,
    TransientError,
)
from connectors.http import (
    ClientBase,
    ErrorTable,
    HttpLayer,
    RateLimit,
    RetryPolicy,
    api_error,
    json_bytes,
    parse_json,
)
from connectors.paging import CursorPages
from connectors.redact import install_log_redaction, register_secret

log = logging.getLogger("skubridge.connectors.amazon")

MARKETPLACE = "amazon"
LISTINGS_REPORT = "GET_MERCHANT_LISTINGS_ALL_DATA"
TOKEN_REFRESH_MARGIN_S = 300.0  # refresh ~5 minutes before expires_in runs out [lwa]
INVENTORY_BATCH = 50  # sellerSkus max 50 per getInventorySummaries call [models]
CATALOG_PAGE = 500  # variants per yielded page
# createReport refills one request per 60 s (rate 0.0167/s, burst 15:
# https://developer-docs.amazon.com/sp-api/docs/reports-api-rate-limits): "try later" for
# a cancelled report means minutes, not seconds.
REPORT_RETRY_AFTER_S = 60.0
# createReport and getReportDocument refill one request per 60 s (same page): a 429 there
# is waited out per that refill (or the answer's Retry-After), not with the seconds-long
# backoff of the other operations; bounded by tries and total wait, then a clear error.
REPORT_THROTTLED_OPERATIONS = frozenset({"createReport", "getReportDocument"})
REPORT_THROTTLE_TRIES = 5
REPORT_THROTTLE_MAX_WAIT_S = 300.0  # per wait (a larger Retry-After is cut to this)
REPORT_THROTTLE_BUDGET_S = 600.0  # total wait before giving up
REPORT_LOCALE = "en_US"
FAMILY_CONCURRENCY = (
    5  # searchListingsItems in flight while learning families (= burst, [rate-limits])
)
ORDER_ID_PREFIX = "TTS-"

# Per-operation usage plans (rate/s, burst) [rate-limits], [models]. Where the model and
# the docs page disagree the lower value is used (getListingsItem burst 5).
RATES: dict[str, RateLimit] = {
    "lwaToken": RateLimit(1.0, 5),  # LWA limit UNCONFIRMED: be gentle; tokens are cached
    "getListingsItem": RateLimit(5.0, 5),
    "searchListingsItems": RateLimit(5.0, 5),
    "patchListingsItem": RateLimit(5.0, 5),
    "getInventorySummaries": RateLimit(2.0, 2),
    "createFulfillmentOrder": RateLimit(2.0, 30),
    "getFulfillmentOrder": RateLimit(2.0, 30),
    "cancelFulfillmentOrder": RateLimit(2.0, 30),
    "listAllFulfillmentOrders": RateLimit(2.0, 30),  # used by connectors/amazon_fulfillment.py
    "getPackageTrackingDetails": RateLimit(2.0, 30),
    "createReport": RateLimit(0.0167, 15),
    "getReport": RateLimit(2.0, 15),
    "getReportDocument": RateLimit(0.0167, 15),
}

CURRENCY_BY_MARKETPLACE = {  # [marketplace-ids]
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN",
    "A2Q3Y263D00KWC": "BRL", "A1F83G8C2ARO7P": "GBP", "A1PA6795UKMFR9": "EUR",
    "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR", "A1RKKUPIHCS9HS": "EUR",
    "A1VC38T7YXB528": "JPY", "A19VAU5U5O7RUS": "SGD", "A39IBJ37TRP1C6": "AUD",
}  # fmt: skip

_SAFE_ID = re.compile(r"[^A-Za-z0-9_-]")


def fulfillment_order_id(tiktok_order_id: str) -> str:
    """The MCF ``sellerFulfillmentOrderId`` for a TikTok order: deterministic, at most 40
    characters of ``[A-Za-z0-9-_]`` (a ``+`` is mangled by getFulfillmentOrder, [plus-bug]).

    ``TTS-<id>`` when that fits; otherwise a readable prefix plus a hash of the full id, so
    two different TikTok ids never share a fulfillment order id.
    """
    raw = tiktok_order_id.strip()
    cleaned = _SAFE_ID.sub("", raw)
    candidate = ORDER_ID_PREFIX + cleaned
    if cleaned == raw and cleaned and len(candidate) <= 40:
        return candidate
    digest = hashlib.sha256(raw.encode()).hexdigest()[:15]
    return f"{ORDER_ID_PREFIX}{cleaned[:20]}-{digest}"


def _path(*segments: str) -> str:
    """A path from segments, each percent-encoded exactly once (UTF-8, nothing safe)
    [url-encoding]."""
    return "/" + "/".join(quote(segment, safe="") for segment in segments)


_URL_CREDENTIALS = ("x-amz-signature", "x-amz-security-token", "x-amz-credential", "signature")


def _register_url_credentials(url: str) -> None:
    """Treat the signing parts of a pre-signed download URL as secrets (kept out of logs)."""
    for key, value in parse_qsl(urlsplit(url).query):
        if key.lower() in _URL_CREDENTIALS:
            register_secret(value)


def _error_entry(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return errors[0]
    return {}


def _next_token(body: Any) -> str | None:
    """``pagination.nextToken`` of an answer (None on the last page)."""
    pagination = body.get("pagination") if isinstance(body, dict) else None
    token = pagination.get("nextToken") if isinstance(pagination, dict) else None
    return str(token) if token else None


def _field(body: Any, name: str, operation: str) -> Any:
    """A required field of a JSON object answer; a wrong shape is a malformed answer."""
    value = body.get(name) if isinstance(body, dict) else None
    if value in (None, ""):
        raise MalformedResponseError(
            f"answer has the wrong shape: no {name}",
            marketplace=MARKETPLACE,
            operation=operation,
        )
    return value


# Body codes of the SP-API error envelope (``ErrorList`` in the models,
# https://github.com/amzn/selling-partner-api-models; 429 QuotaExceeded:
# https://developer-docs.amazon.com/sp-api/docs/usage-plans-and-rate-limits). Anything else
# follows the HTTP status (auth failures come as 403 ``Unauthorized``).
ERRORS = ErrorTable(
    codes={
        "QuotaExceeded": ThrottledError,
        "Unauthorized": AuthError,
        "MissingAuthenticationToken": AuthError,
        "InternalFailure": TransientError,
    }
)
# Login with Amazon answers in the OAuth2 shape (``error``: invalid_grant, invalid_client...;
# https://developer-docs.amazon.com/sp-api-blog/docs/selling-partner-api-migration-for-private-developers):
# every refused token request is an auth failure unless it was throttled or a server error.
LWA_ERRORS = ErrorTable(default=AuthError)


def check_response(response: httpx.Response, operation: str) -> None:
    """Turn an SP-API (or Login with Amazon) answer into success or a typed error.

    The code and message come from the error envelope (``errors[0]``, its ``details``
    kept, e.g. "The access token you provided has expired.") or LWA's ``error`` and
    ``error_description``; :data:`ERRORS` / :data:`LWA_ERRORS` and the shared status
    ladder pick the class. Each error names the operation, code and ``x-amzn-RequestId``.
    """
    status = response.status_code
    if status < 400:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    entry = _error_entry(body)
    code = entry.get("code") or (body.get("error") if isinstance(body, dict) else None)
    message = str(entry.get("message") or "")
    details = str(entry.get("details") or "")
    if isinstance(body, dict) and "error_description" in body:  # LWA's OAuth2 shape
        message = str(body.get("error_description") or "")
    text = "; ".join(part for part in (message, details) if part)
    text = text or response.text[:300] or response.reason_phrase
    if status == 403 and not details and code == "Unauthorized":
        text += " (a 403 without details also means the path matched no route: check encoding)"
    raise api_error(
        response,
        operation,
        marketplace=MARKETPLACE,
        table=LWA_ERRORS if operation == "lwaToken" else ERRORS,
        code=str(code) if code is not None else None,
        message=text,
        request_id=response.headers.get("x-amzn-requestid"),
    )


class AmazonClient(ClientBase):
    """Amazon seller account (one marketplace) as a :class:`connectors.base.StoreApi`."""

    kind: StoreKind = "amazon"
    # A few orders in flight so round trips overlap while the client's 2/s token bucket for
    # createFulfillmentOrder sets the pace
    # (https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-rate-limits).
    relay_concurrency = 4
    # getFulfillmentOrder reads by id, without a search index: no lag to wait for.
    order_lookup_grace_s = 0.0

    def __init__(
        self,
        *,
        endpoint: str,
        lwa_url: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        seller_id: str,
        marketplace_id: str,
        rate_scale: float = 1.0,
        transport: httpx.AsyncBaseTransport | None = None,
        retry: RetryPolicy | None = None,
        shipping_speed: str = "Standard",
        report_poll_initial: float = 5.0,
        report_poll_max: float = 60.0,
        report_timeout: float = 3600.0,
        user_agent: str = "skubridge/0.1 (Language=Python; Platform=Linux)",
        families: FamilyMode = "auto",
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if families not in ("auto", "off"):
            raise ValueError(f"families must be 'auto' or 'off', not {families!r}")
        register_secret(client_secret, refresh_token, client_id)
        install_log_redaction()
        self.endpoint = endpoint.rstrip("/")
        self.lwa_url = lwa_url
        self._client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.seller_id = seller_id
        self.marketplace_id = marketplace_id
        self.currency = CURRENCY_BY_MARKETPLACE.get(marketplace_id)
        self.shipping_speed = shipping_speed
        self.report_poll_initial = report_poll_initial
        self.report_poll_max = report_poll_max
        self.report_timeout = report_timeout
        self.http = HttpLayer(
            marketplace=MARKETPLACE,
            base_url=self.endpoint,
            rates=RATES,
            rate_scale=rate_scale,
            retry=retry,
            transport=transport,
            headers={"user-agent": user_agent},  # documented as required [lwa]
        )
        self.http.own_throttle_retry = REPORT_THROTTLED_OPERATIONS
        self._sleep = sleep  # waits on report throttling (injected by tests)
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = asyncio.Lock()
        self.last_report_stats: ParseStats | None = None
        self.families = families
        self.last_families: FamilyIndex | None = None
        self._family_calls = 0

    # ----- auth -------------------------------------------------------------------------
    async def access_token(self, *, stale: str | None = None) -> str:
        """A valid LWA access token: cached, refreshed 5 minutes before expiry [lwa].

        ``stale`` is a token the API just refused: it is replaced unless another task has
        already done so (many concurrent 403s cost one refresh).
        """
        async with self._token_lock:
            fresh = self._token and time.monotonic() < self._token_expires
            if fresh and (stale is None or self._token != stale):
                return self._token  # type: ignore[return-value]
            form = {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
                "client_id": self._client_id,
                "client_secret": self._client_secret,
            }

            def build() -> httpx.Request:
                return self.http.client.build_request("POST", self.lwa_url, data=form)

            response = await self.http.send("lwaToken", build, check=check_response)
            body = parse_json(response, marketplace=MARKETPLACE, operation="lwaToken")
            token = body.get("access_token") if isinstance(body, dict) else None
            if not isinstance(token, str) or not token:
                raise MalformedResponseError(
                    "LWA answer has no access_token", marketplace=MARKETPLACE, operation="lwaToken"
                )
            register_secret(token)
            lifetime = float(body.get("expires_in") or 3600)
            self._token = token
            self._token_expires = time.monotonic() + max(0.0, lifetime - TOKEN_REFRESH_MARGIN_S)
            return token

    async def _call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotent: bool = True,
    ) -> httpx.Response:
        """One SP-API call with the access token; on a 403 that blames the token, get a new
        token and send once more (the refused request was not processed, so this is safe
        even for writes)."""
        content = json_bytes(body) if body is not None else None
        refused: str | None = None
        for attempt in (1, 2):
            token = await self.access_token(stale=refused)

            def build(token: str = token) -> httpx.Request:
                headers = {"x-amz-access-token": token}
                if content is not None:
                    headers["content-type"] = "application/json"
                return self.http.client.build_request(
                    method, path, params=dict(params or {}), content=content, headers=headers
                )

            try:
                return await self.http.send(
                    operation, build, check=check_response, idempotent=idempotent
                )
            except AuthError as exc:
                if attempt == 1 and "access token" in exc.message.lower():
                    refused = token
                    log.info("%s: access token refused (%s); refreshing once", operation, exc.code)
                    continue
                raise
        raise AssertionError("unreachable")  # pragma: no cover

    async def _json(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        if operation in REPORT_THROTTLED_OPERATIONS:
            response = await self._report_call(operation, method, path, **kwargs)
        else:
            response = await self._call(operation, method, path, **kwargs)
        return parse_json(response, marketplace=MARKETPLACE, operation=operation)

    async def _report_call(
        self, operation: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response:
        """A createReport / getReportDocument call whose 429s are waited out per the
        documented refill of one request per 60 s
        (https://developer-docs.amazon.com/sp-api/docs/reports-api-rate-limits), or the
        answer's ``Retry-After`` when it has one; at most :data:`REPORT_THROTTLE_TRIES`
        tries and :data:`REPORT_THROTTLE_BUDGET_S` seconds of waiting, then a
        ThrottledError that says so. A throttled request was not processed, so a retried
        createReport never makes a second report."""
        scale = self.http.rate_scale if self.http.rate_scale > 0 else 1.0  # sandbox speed-up
        refill = 1.0 / (RATES[operation].rate * scale)
        waited = 0.0
        for attempt in range(1, REPORT_THROTTLE_TRIES + 1):
            try:
                return await self._call(operation, method, path, **kwargs)
            except ThrottledError as exc:
                wait = min(
                    exc.retry_after if exc.retry_after is not None else refill,
                    REPORT_THROTTLE_MAX_WAIT_S,
                )
                if attempt == REPORT_THROTTLE_TRIES or waited + wait > REPORT_THROTTLE_BUDGET_S:
                    raise ThrottledError(
                        f"still throttled after {attempt} tries and {waited:.0f} s of waiting "
                        f"(Amazon refills {operation} at one request per {refill:.0f} s); "
                        "try again in a few minutes",
                        marketplace=MARKETPLACE,
                        operation=operation,
                        status=exc.status,
                        code=exc.code,
                        request_id=exc.request_id,
                        retry_after=refill,
                    ) from None
                log.warning(
                    "%s throttled (try %d of %d); waiting %.0f s for the quota to refill",
                    operation,
                    attempt,
                    REPORT_THROTTLE_TRIES,
                    wait,
                )
                await self._sleep(wait)
                waited += wait
        raise AssertionError("unreachable")  # pragma: no cover

    # ----- catalog ----------------------------------------------------------------------
    async def iter_catalog(
        self, *, since: datetime | None = None, **_: Any
    ) -> AsyncIterator[list[CatalogVariant]]:
        """Every sellable listing of the seller in this marketplace, page by page.

        With ``since``: only the FBA SKUs whose inventory changed since then
        (``getInventorySummaries`` ``startDateTime``, [fba-inventory]), as stock-only
        records (``product_id`` = the SKU, no price); the caller fills the rest from its
        accepted catalog. Listing changes (price, MFN quantity, new SKUs) wait for the
        next full read of the listings report.

        Source: the All Listings report (includes inactive listings), then the variation
        families (``families="auto"``, see :meth:`variation_families`), then FBA
        fulfillable quantity from ``getInventorySummaries`` for the FBA SKUs (the report
        has no FBA stock, [reports]; push ``fulfillableQuantity``, not ``totalQuantity``,
        [fba-inventory]).

        Product rule (``variant_id`` is always the seller SKU):

        - a variation child: ``product_id`` and ``parent_id`` are the family id, i.e. the
          parent ASIN (the parent SKU while the parent has no ASIN), so a family of N
          children is one store product with N variants;
        - a variation parent (if the report lists one) is not sellable and is left out;
        - with ``families="off"``: the report's ``parent-asin`` column when a report
          variant carries one (not in the documented columns), else standalone;
        - a standalone listing: its own ASIN when no other SKU in the report carries that
          ASIN, else the seller SKU itself (so two SKUs of one ASIN, e.g. an FBA and an MFN
          offer, never merge into one product by accident).
        """
        if since is not None:
            async for page in self._changed_fba(since):
                yield page
            return
        rows = await self.listing_report()
        index = FamilyIndex()
        if self.families == "auto" and rows:
            index = await self.variation_families([row.sku for row in rows])
        self.last_families = index
        parents = [row.sku for row in rows if index.is_parent(row.sku)]
        if parents:
            log.info("left %d variation parent row(s) out of the catalog", len(parents))
            rows = [row for row in rows if not index.is_parent(row.sku)]
        fba_skus = [row.sku for row in rows if row.fulfillment == "FBA"]
        fulfillable = await self.fba_fulfillable(fba_skus) if fba_skus else {}
        asin_count = Counter(row.asin for row in rows if row.asin)
        page: list[CatalogVariant] = []
        for row in rows:
            page.append(self._variant(row, fulfillable, asin_count, index))
            if len(page) >= CATALOG_PAGE:
                yield page
                page = []
        if page:
            yield page

    async def _changed_fba(self, since: datetime) -> AsyncIterator[list[CatalogVariant]]:
        stamp = since.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        page: list[CatalogVariant] = []
        async for summary in self._inventory_pages({"startDateTime": stamp}):
            sku = summary.get("sellerSku")
            quantity = (summary.get("inventoryDetails") or {}).get("fulfillableQuantity")
            if not isinstance(sku, str) or not isinstance(quantity, int):
                continue
            page.append(
                CatalogVariant(
                    channel="amazon",
                    product_id=sku,
                    variant_id=sku,
                    seller_sku=sku,
                    title=str(summary.get("productName") or ""),
                    stock={"FBA": max(0, quantity)},
                    fulfillment="FBA",
                )
            )
            if len(page) >= CATALOG_PAGE:
                yield page
                page = []
        if page:
            yield page

    def _variant(
        self,
        row: ReportRow,
        fulfillable: Mapping[str, int],
        asin_count: Counter[str],
        index: FamilyIndex,
    ) -> CatalogVariant:
        family = index.family_of(row.sku)
        parent_id = family.family_id if family else row.parent_asin
        if parent_id:
            product_id = parent_id
        elif row.asin and asin_count[row.asin] == 1:
            product_id = row.asin
        else:
            product_id = row.sku
        if row.fulfillment == "FBA":
            # No summary = unknown stock: no FBA row, so the plan does not push it.
            stock = {"FBA": fulfillable[row.sku]} if row.sku in fulfillable else {}
        else:
            stock = {"MFN": row.quantity or 0}
        return CatalogVariant(
            channel="amazon",
            product_id=product_id,
            variant_id=row.sku,
            seller_sku=row.sku,
            title=row.title,
            price=row.price,
            currency=self.currency if row.price is not None else None,
            stock=stock,
            barcode=row.barcode,
            status=row.status,
            fulfillment="FBA" if row.fulfillment == "FBA" else "MFN",
            parent_id=parent_id,
        )

    async def variation_families(self, skus: list[str]) -> FamilyIndex:
        """Which of ``skus`` are variation children (or parents), and of which family.

        Cost (``connectors.amazon_families.search_calls``): one ``searchListingsItems``
        per 20 SKUs (``identifiersType=SKU``, ``includedData=summaries,relationships``,
        ``pageSize=20``), plus one per 20 parent SKUs that were not among ``skus`` (to
        read the parent ASIN); a SKU containing a comma costs one ``getListingsItem``
        (it cannot go in a csv list, [url-encoding]). All paced by the client's token bucket at the
        usage plan (5 requests/s, burst 5, [rate-limits]): 10,000 SKUs in 1,000 families are
        500 + 50 calls, at least ~109 s. Searching by ``identifiers`` has no 1,000-result
        cap (each answer holds at most 20), unlike paging through all listings [search-listings].
        Errors are raised, not swallowed: silently falling back to standalone listings
        would change product ids between runs.
        """
        before = self._family_calls
        wanted = list(dict.fromkeys(skus))
        links = await self._links(wanted)
        first = build_index(links.values(), wanted)
        named = {p for link in links.values() for p in link.parents} | set(first.families)
        unseen = sorted(p for p in named if p not in links)
        if unseen:
            links.update(await self._links(unseen))
        index = build_index(links.values(), wanted)
        index.calls = self._family_calls - before
        return index

    async def _links(self, skus: list[str]) -> dict[str, ItemLinks]:
        """Variation links of ``skus``: 20 per search, comma SKUs one by one.

        Up to FAMILY_CONCURRENCY searches are in flight so that the client's token bucket,
        not the round-trip time, sets the pace (run up to the rate limit, not below it).
        """
        out: dict[str, ItemLinks] = {}
        plain = [sku for sku in skus if "," not in sku]
        included = ("summaries", "relationships")
        gate = asyncio.Semaphore(FAMILY_CONCURRENCY)

        async def batch(chunk: list[str]) -> list[dict[str, Any]]:
            params = {
                "identifiersType": "SKU",
                "identifiers": ",".join(chunk),
                "includedData": ",".join(included),
                "pageSize": str(SEARCH_BATCH),
            }
            async with gate:
                return [item async for item in self.search_listings(params)]

        try:
            async with asyncio.TaskGroup() as group:  # one failure cancels the rest
                tasks = [
                    group.create_task(batch(plain[i : i + SEARCH_BATCH]))
                    for i in range(0, len(plain), SEARCH_BATCH)
                ]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # callers expect connectors.errors types
        for task in tasks:
            for item in task.result():
                link = item_links(item, self.marketplace_id)
                if link is not None:
                    out[link.sku] = link
        for sku in skus:
            if "," in sku:
                item = await self.get_listing(sku, included)
                self._family_calls += 1
                link = item_links(item, self.marketplace_id) if item else None
                if link is not None:
                    out[link.sku] = link
        return out

    async def variation_children(self, parent_sku: str) -> list[str]:
        """The child SKUs of a variation parent (``variationParentSku`` filter, pages of 20).

        For checking one family by hand (e.g. before a manual map); the catalog extract
        uses :meth:`variation_families` instead, whose cost does not grow per family.
        """
        params = {
            "variationParentSku": parent_sku,
            "includedData": "summaries",
            "pageSize": str(SEARCH_BATCH),
            "sortBy": "sku",
            "sortOrder": "ASC",
        }
        return [str(item["sku"]) async for item in self.search_listings(params) if "sku" in item]

    async def search_listings(self, query: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        """Every ``Item`` of a ``searchListingsItems`` query, following ``nextToken`` as
        ``pageToken`` [search-listings]. Only the first 1,000 results are reachable by paging."""
        path = _path("listings", "2021-08-01", "items", self.seller_id)
        params = {"marketplaceIds": self.marketplace_id, **query}

        async def fetch(token: str | None) -> tuple[list[dict[str, Any]], str | None]:
            query = params if token is None else {**params, "pageToken": token}  # httpx encodes
            body = await self._json("searchListingsItems", "GET", path, params=query)
            self._family_calls += 1
            items = body.get("items") if isinstance(body, dict) else None
            if not isinstance(items, list):
                raise MalformedResponseError(
                    "searchListingsItems answer has no items",
                    marketplace=MARKETPLACE,
                    operation="searchListingsItems",
                )
            return [i for i in items if isinstance(i, dict)], _next_token(body)

        async for items in CursorPages(
            fetch, marketplace=MARKETPLACE, endpoint="searchListingsItems", max_pages=self.max_pages
        ):
            for item in items:
                yield item

    async def listing_report(self) -> list[ReportRow]:
        """Request, wait for, download and parse the All Listings report [reports]."""
        created = await self._json(
            "createReport",
            "POST",
            "/reports/2021-06-30/reports",
            body={
                "reportType": LISTINGS_REPORT,
                "marketplaceIds": [self.marketplace_id],
                # English column headers whatever the marketplace's language (the default);
                # https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory,
                # https://github.com/amzn/selling-partner-api-models/issues/5303
                "reportOptions": {"preferredReportDocumentLocale": REPORT_LOCALE},
            },
        )
        report_id = str(_field(created, "reportId", "createReport"))
        report = await self._wait_for_report(report_id)
        if report["processingStatus"] == "CANCELLED":
            raise await self._cancelled_report(report_id)
        text = await self._download_report(str(report["reportDocumentId"]))
        try:
            rows, stats = parse_listings_report(text)
        except ValueError as exc:
            raise MalformedResponseError(
                str(exc), marketplace=MARKETPLACE, operation="downloadReportDocument"
            ) from None
        self.last_report_stats = stats
        return rows

    async def _cancelled_report(self, report_id: str) -> TransientError:
        """The error for a CANCELLED All Listings report: never an empty catalog.

        Amazon cancels a report when it has no data and also when the report was requested
        too often, and the answer does not say which
        (https://github.com/amzn/selling-partner-api-docs/issues/1329,
        https://github.com/amzn/selling-partner-api-docs/issues/1604). One
        ``searchListingsItems`` call tells the two apart; either way the run stops at the
        extract so the previous accepted catalog stays in use, and the next run asks again.
        """
        listings = self.search_listings({"pageSize": "1"})
        try:
            has_listings = await anext(listings, None) is not None
        finally:
            await listings.aclose()
        if has_listings:
            why = (
                "although the account has listings (Amazon cancels reports requested too "
                "often); try again later, the previous accepted catalog stays in use"
            )
        else:
            why = (
                f"and searchListingsItems finds no listing in marketplace {self.marketplace_id}; "
                "an empty catalog is not accepted from a cancelled report: check the seller "
                "account and marketplace, then try again later"
            )
        log.warning("All Listings report %s was CANCELLED %s", report_id, why)
        return TransientError(
            f"All Listings report {report_id} was CANCELLED {why}",
            marketplace=MARKETPLACE,
            operation="getReport",
            code="CANCELLED",
            retry_after=REPORT_RETRY_AFTER_S,
        )

    async def _wait_for_report(self, report_id: str) -> dict[str, Any]:
        delay = self.report_poll_initial
        deadline = time.monotonic() + self.report_timeout
        path = _path("reports", "2021-06-30", "reports", report_id)
        while True:
            report = await self._json("getReport", "GET", path)
            status = str(_field(report, "processingStatus", "getReport")).upper()
            if status == "DONE":
                _field(report, "reportDocumentId", "getReport")  # DONE always names one [models]
                return report
            if status == "CANCELLED":
                return {**report, "processingStatus": "CANCELLED"}
            if status == "FATAL":
                raise FatalError(
                    f"report {report_id} ended FATAL",
                    marketplace=MARKETPLACE,
                    operation="getReport",
                    code="FATAL",
                )
            if time.monotonic() + delay > deadline:
                raise TransientError(
                    f"report {report_id} still {status or 'unknown'} after "
                    f"{self.report_timeout:.0f} s",
                    marketplace=MARKETPLACE,
                    operation="getReport",
                )
            await asyncio.sleep(delay)
            delay = min(self.report_poll_max, delay * 1.5)

    async def _download_report(self, document_id: str) -> str:
        path = _path("reports", "2021-06-30", "documents", document_id)
        for attempt in (1, 2):
            document = await self._json("getReportDocument", "GET", path)
            url = str(_field(document, "url", "getReportDocument"))
            _register_url_credentials(url)

            def build(url: str = url) -> httpx.Request:
                # A pre-signed URL: no SP-API auth headers [models].
                return self.http.client.build_request("GET", url)

            try:
                response = await self.http.send("downloadReportDocument", build)
            except AuthError:
                if attempt == 1:  # the URL lives 5 minutes: ask for a fresh one once
                    continue
                raise
            try:
                return decode_document(
                    response.content,
                    compression=document.get("compressionAlgorithm"),
                    content_type=response.headers.get("content-type"),
                )
            except ValueError as exc:
                raise MalformedResponseError(
                    str(exc), marketplace=MARKETPLACE, operation="downloadReportDocument"
                ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def fba_fulfillable(self, skus: list[str]) -> dict[str, int]:
        """``inventoryDetails.fulfillableQuantity`` per FBA SKU (50 SKUs per call, [models]).

        SKUs missing from the answer are left out: their stock is unknown, not 0, because
        getInventorySummaries is known to leave out some FBA SKUs
        (https://github.com/amzn/selling-partner-api-models/issues/2447,
        https://github.com/amzn/selling-partner-api-models/issues/515). A SKU containing a
        comma cannot go in the csv list ([url-encoding]) and is asked for alone via ``sellerSku``.
        """
        result: dict[str, int] = {}
        plain = [sku for sku in skus if "," not in sku]
        groups: list[dict[str, str]] = [
            {"sellerSkus": ",".join(plain[i : i + INVENTORY_BATCH])}
            for i in range(0, len(plain), INVENTORY_BATCH)
        ]
        groups += [{"sellerSku": sku} for sku in skus if "," in sku]
        for group in groups:
            async for summary in self._inventory_pages(group):
                sku = summary.get("sellerSku")
                details = summary.get("inventoryDetails") or {}
                quantity = details.get("fulfillableQuantity")
                if isinstance(sku, str) and isinstance(quantity, int):
                    result[sku] = max(0, quantity)
        return result

    async def _inventory_pages(self, extra: Mapping[str, str]) -> AsyncIterator[dict[str, Any]]:
        params = {
            "granularityType": "Marketplace",
            "granularityId": self.marketplace_id,
            "marketplaceIds": self.marketplace_id,
            "details": "true",
            **extra,
        }

        async def fetch(token: str | None) -> tuple[list[dict[str, Any]], str | None]:
            # nextToken lives 30 s [models]; httpx URL-encodes it in the query string
            query = params if token is None else {**params, "nextToken": token}
            body = await self._json(
                "getInventorySummaries", "GET", "/fba/inventory/v1/summaries", params=query
            )
            payload = body.get("payload") if isinstance(body, dict) else None
            if not isinstance(payload, dict):
                raise MalformedResponseError(
                    "getInventorySummaries answer has no payload",
                    marketplace=MARKETPLACE,
                    operation="getInventorySummaries",
                )
            return list(payload.get("inventorySummaries") or []), _next_token(body)

        async for summaries in CursorPages(
            fetch,
            marketplace=MARKETPLACE,
            endpoint="getInventorySummaries",
            max_pages=self.max_pages,
        ):
            for summary in summaries:
                yield summary

    async def get_listing(
        self,
        sku: str,
        included: tuple[str, ...] = ("summaries", "offers", "fulfillmentAvailability"),
    ) -> dict[str, Any] | None:
        """One listing as Amazon's ``Item`` (``getListingsItem``), or None if the SKU is unknown.

        Used to check a single SKU (e.g. before a manual map); the SKU is percent-encoded
        once in the path and ``includedData`` is sent as one csv parameter [url-encoding].
        """
        path = _path("listings", "2021-08-01", "items", self.seller_id, sku)
        params = {"marketplaceIds": self.marketplace_id, "includedData": ",".join(included)}
        try:
            return await self._json("getListingsItem", "GET", path, params=params)
        except FatalError as exc:
            if exc.status == 404:
                return None
            raise

    async def locations(self) -> list[Warehouse]:
        """The two pseudo-locations of Amazon stock: FBA (Amazon's) and MFN (the seller's)."""
        return [
            Warehouse(id="FBA", name="Fulfillment by Amazon", type="FBA"),
            Warehouse(id="MFN", name="Merchant fulfilled", is_default=True, type="MFN"),
        ]

    async def variant_skus(self, product_id: str) -> dict[str, str | None]:
        """Not offered: an Amazon variant's id is its seller SKU (the listing's identity)."""
        raise NotSupportedError(
            "Amazon seller SKUs are the listings' identity: a variant's id is its SKU"
        )

    async def set_variant_skus(self, product_id: str, skus: Mapping[str, str]) -> None:
        """Not possible on Amazon: a seller SKU is the listing's identity and cannot be
        renamed, so a manual map is recorded as a link only."""
        raise NotSupportedError(
            "Amazon seller SKUs cannot be renamed; the mapping is recorded as a link instead"
        )

    # ----- orders (Multi-Channel Fulfillment, [models] Fulfillment Outbound) -------------
    def fulfillment_order_body(self, order: StoreOrderRequest) -> dict[str, Any]:
        """The ``CreateFulfillmentOrderRequest`` for a TikTok order [models]."""
        order_id = fulfillment_order_id(order.tiktok_order_id)
        display = " ".join(order.tiktok_order_id.split())[:40] or order_id
        comment = " ".join((order.note or f"TikTok Shop order {order.tiktok_order_id}").split())
        items = []
        for n, line in enumerate(order.lines, start=1):
            sku = line.seller_sku or line.store_variant_id
            items.append(
                {
                    "sellerSku": sku,
                    "sellerFulfillmentOrderItemId": f"{order_id}-{n}"[-50:],
                    "quantity": line.quantity,
                }
            )
        created = order.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return {
            "marketplaceId": self.marketplace_id,
            "sellerFulfillmentOrderId": order_id,
            "displayableOrderId": display,
            "displayableOrderDate": created,
            "displayableOrderComment": comment[:750] or "TikTok Shop order",
            "shippingSpeedCategory": order.shipping_speed or self.shipping_speed,
            "destinationAddress": self._address(order),
            # Defaults when omitted are UNCONFIRMED: send them explicitly.
            "fulfillmentAction": "Ship",
            "fulfillmentPolicy": "FillOrKill",
            "items": items,
        }

    def _address(self, order: StoreOrderRequest) -> dict[str, str]:
        r = order.recipient
        if r is None:
            raise self._reject(order, "MISSING_ADDRESS", "the order has no recipient address")
        name = r.name or " ".join(p for p in (r.first_name, r.last_name) if p)
        address = {
            "name": name,
            "addressLine1": r.address1,
            "addressLine2": r.address2,
            "city": r.city,
            "stateOrRegion": r.region_code or r.region,
            "postalCode": r.postal_code,
            "countryCode": r.country_code,
            "phone": r.phone,
        }
        if (r.country_code or "").upper() == "JP" and r.city:
            # Address.city "should not be used in Japan" (fulfillmentOutbound_2020-07-01 model,
            # https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-v2020-07-01-reference#address):
            # the city / ward goes in an address line instead.
            address["addressLine3"] = r.city
            address["city"] = None
        missing = [
            k for k in ("name", "addressLine1", "postalCode", "countryCode") if not address[k]
        ]
        if missing:
            raise self._reject(order, "MISSING_ADDRESS", f"address lacks {', '.join(missing)}")
        return {k: v.strip() for k, v in address.items() if v and v.strip()}

    @staticmethod
    def _reject(order: StoreOrderRequest, code: str, why: str) -> FatalError:
        return FatalError(
            f"TikTok order {order.tiktok_order_id}: {why}",
            marketplace=MARKETPLACE,
            operation="createFulfillmentOrder",
            code=code,
        )

    def order_key(self, tiktok_order_id: str) -> str:
        """The MCF ``sellerFulfillmentOrderId`` (:func:`fulfillment_order_id`)."""
        return fulfillment_order_id(tiktok_order_id)

    async def create_order(self, order: StoreOrderRequest) -> StoreOrder:
        """Create the MCF order for a TikTok order (sent once: ``idempotent=False``).

        A lost answer raises OutcomeUnknownError: look the order up with ``find_order``
        before sending again. A 400 may mean the id already exists (duplicate behaviour is
        UNCONFIRMED): the order is then looked up and returned if it is there.
        """
        if not order.lines:
            raise self._reject(order, "NO_LINES", "the order has no lines")
        body = self.fulfillment_order_body(order)
        try:
            await self._call(
                "createFulfillmentOrder",
                "POST",
                "/fba/outbound/2020-07-01/fulfillmentOrders",
                body=body,
                idempotent=False,
            )
        except FatalError as exc:
            if exc.status != 400 or isinstance(exc, AuthError):
                raise
            existing = await self.find_order(order.tiktok_order_id)
            if existing is None:
                raise
            log.info("MCF order %s already existed; not created again", existing.id)
            return existing
        return StoreOrder(
            id=body["sellerFulfillmentOrderId"],
            tiktok_order_id=order.tiktok_order_id,
            name=body["displayableOrderId"],
            status=None,
        )

    async def find_order(self, tiktok_order_id: str) -> StoreOrder | None:
        """The MCF order created for a TikTok order (``getFulfillmentOrder``; 404 -> None)."""
        order_id = fulfillment_order_id(tiktok_order_id)
        path = _path("fba", "outbound", "2020-07-01", "fulfillmentOrders", order_id)
        try:
            body = await self._json("getFulfillmentOrder", "GET", path)
        except FatalError as exc:
            # 404 is the declared answer for an unknown id; its code is UNCONFIRMED [models],
            # and a 400 that says "not found" is read the same way. Safe either way: the id
            # is deterministic, so a create after a wrong "None" is refused as a duplicate.
            not_found = exc.status == 400 and "not found" in exc.message.lower()
            if exc.status == 404 or not_found:
                return None
            raise
        head = ((body or {}).get("payload") or {}).get("fulfillmentOrder") or {}
        return StoreOrder(
            id=str(head.get("sellerFulfillmentOrderId") or order_id),
            tiktok_order_id=tiktok_order_id,
            name=head.get("displayableOrderId"),
            status=head.get("fulfillmentOrderStatus"),
        )

    # -- order loop back (connectors/amazon_fulfillment.py holds the calls) -----------------
    async def order_state(self, store_order_id: str) -> StoreOrderState | None:
        """The MCF order's shipped packages as boxes (tracking, ``carrierCode``, units per
        seller SKU); cancellable while Received/Planning; MCF has no line cancel."""
        order = await mcf.get_mcf_order(self, store_order_id)
        if order is None:
            return None
        shipments = []
        for shipment in order.shipments:
            if not shipment.shipped:
                continue
            for package in shipment.packages:
                if not package.package_number:
                    continue
                units: dict[str, int] = {}
                for item in shipment.items_in(package.package_number):
                    units[item.seller_sku] = units.get(item.seller_sku, 0) + item.quantity
                shipments.append(
                    StoreShipment(
                        f"{shipment.shipment_id}/{package.package_number}",
                        package.tracking_number,
                        package.carrier_code,
                        shipment.shipped_at,
                        units,
                    )
                )
        return StoreOrderState(
            id=order.order_id,
            status=order.status,
            cancelled=order.cancelled,
            cancellable=order.cancellable,
            shipments=tuple(shipments),
            line_cancel=False,
        )

    async def cancel_order(
        self, store_order_id: str, *, reason: str, note: str
    ) -> StoreCancelResult:
        """``cancelFulfillmentOrder`` (only while Received/Planning; MCF takes no reason)."""
        before = await mcf.get_mcf_order(self, store_order_id)
        if before is not None and before.cancelled:
            return StoreCancelResult("ALREADY_CANCELLED")
        try:
            order = await mcf.cancel_mcf_order(self, store_order_id)
        except mcf.McfTooLateToCancelError as exc:
            return StoreCancelResult("TOO_LATE", f"MCF order is {exc.order_status}")
        return StoreCancelResult("CANCELLED" if order.cancelled else "PENDING")

    async def cancel_order_units(
        self, store_order_id: str, units: Mapping[str, int], *, key: str, note: str
    ) -> StoreCancelResult:
        # cancelFulfillmentOrder cancels whole orders only (fulfillmentOutbound_2020-07-01
        # model); there is no per-item cancel for an order already sent to fulfil.
        return StoreCancelResult(
            "NOT_SUPPORTED", "MCF cancels whole orders only; cancel the units in Seller Central"
        )

    async def changed_orders(self, since: datetime) -> set[str]:
        """``sellerFulfillmentOrderId`` of the MCF orders whose status changed at or
        after ``since`` (``listAllFulfillmentOrders?queryStartDate=``)."""
        changes = await mcf.list_mcf_orders_changed_since(self, since)
        return {c.order_id for c in changes}

    async def tag_order(self, store_order_id: str, tags: Sequence[str]) -> None:
        """Not offered: an MCF fulfillment order has no tags (CreateFulfillmentOrderRequest
        in the fulfillmentOutbound_2020-07-01 model carries comments printed on the packing
        slip, nothing the merchant filters orders by)."""
        raise NotSupportedError(
            "Amazon MCF orders have no tags: look the order up in Seller Central by its id"
        )

    async def merchant_quantity(self, sku: str) -> int | None:
        return await mcf.read_mfn_quantity(self, sku)

    async def set_merchant_quantity(self, sku: str, quantity: int) -> None:
        await mcf.set_mfn_quantity(self, sku, quantity)


__all__ = [
    "RATES",
    "AmazonClient",
    "check_response",
    "fulfillment_order_id",
]
