"""The webhook receiver: a small Starlette app that turns verified deliveries into events.

``POST /webhooks/tiktok`` and ``POST /webhooks/shopify`` verify the signature with the
secret of the shop the delivery names (401 otherwise, logged without the body), refuse
shops not in the shops file (404), answer 200 at once for a duplicate delivery id, and
hand the rest to :class:`tasks.events.Coalescer`, which emits the Prefect events in the
background. Prefect's own inbound webhooks are a Prefect Cloud feature
(https://docs.prefect.io/v3/concepts/webhooks), hence this receiver for a self-hosted
server. TikTok wants an answer within 3 s, Shopify within 5 s
(https://shopify.dev/docs/apps/build/webhooks/best-practices): nothing here waits on I/O.
``GET /healthz`` reports counters (no shop data).
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from connectors.webhooks import (
    Notice,
    TikTokApp,
    WebhookRejected,
    shopify_notice,
    tiktok_notice,
)
from skubridge.config import ShopsFile, resolve_secret
from tasks.events import Coalescer, DeliveryLog, Emitter

log = logging.getLogger("skubridge.webhooks")

MAX_BODY = 2 * 1024 * 1024  # products/update carries up to 100 full variants


@dataclass
class WebhookShops:
    """Who may deliver: TikTok apps with their shops, Shopify domains with their secrets."""

    tiktok: list[TikTokApp] = field(default_factory=list)
    shopify: dict[str, tuple[str, str | None]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def webhook_shops(shops: ShopsFile, only: list[str] | None = None) -> WebhookShops:
    """Resolve the secrets the receiver needs for ``only`` (default: every shop).

    A TikTok delivery names the shop by TikTok shop id, so a shop without
    ``tiktok.shop_id`` cannot be told apart and gets a warning instead of TikTok events.
    """
    out = WebhookShops()
    apps: dict[tuple[str, str], dict[str, str]] = {}
    for shop in shops.shops:
        if only and shop.id not in only:
            continue
        where = {"shop_id": shop.id, "file": shop.source_file}
        tt = shop.tiktok
        if tt.shop_id:
            key = resolve_secret(tt.app_key, field="tiktok.app_key", **where)
            secret = resolve_secret(tt.app_secret, field="tiktok.app_secret", **where)
            apps.setdefault((key, secret), {})[tt.shop_id] = shop.id
        else:
            out.warnings.append(
                f"shop '{shop.id}': no tiktok.shop_id in the shops file, its TikTok webhooks "
                "will be refused (`skubridge webhooks register --shop {shop.id}` prints it)"
            )
        if shop.shopify is not None:
            hook_secret = None
            if shop.shopify.webhook_secret:
                hook_secret = resolve_secret(
                    shop.shopify.webhook_secret, field="shopify.webhook_secret", **where
                )
            else:
                out.warnings.append(
                    f"shop '{shop.id}': no shopify.webhook_secret, its Shopify webhooks will "
                    "be refused"
                )
            out.shopify[shop.shopify.shop_domain.lower()] = (shop.id, hook_secret)
    out.tiktok = [TikTokApp(k, s, ids) for (k, s), ids in apps.items()]
    return out


class Receiver:
    """The receiver's state: shops, delivery log, coalescer and counters."""

    def __init__(self, shops: WebhookShops, emit: Emitter, *, window: float = 5.0) -> None:
        self.shops = shops
        self.deliveries = DeliveryLog()
        self.coalescer = Coalescer(emit, window)
        self.counts: Counter[str] = Counter()

    async def tiktok(self, request: Request) -> Response:
        return await self._receive(request, "tiktok")

    async def shopify(self, request: Request) -> Response:
        return await self._receive(request, "shopify")

    async def _receive(self, request: Request, marketplace: str) -> Response:
        body = await _body(request)
        try:
            if body is None:
                raise WebhookRejected(413, f"body larger than {MAX_BODY} bytes")
            if marketplace == "tiktok":
                notice = tiktok_notice(
                    body, request.headers.get("authorization"), self.shops.tiktok
                )
            else:
                notice = shopify_notice(body, dict(request.headers), self.shops.shopify)
        except WebhookRejected as exc:
            self.counts[f"rejected_{exc.status}"] += 1
            # Never the body or the signature: only where it came from and why.
            log.warning(
                "%s webhook refused (%d): %s [from %s]",
                marketplace,
                exc.status,
                exc.reason,
                request.client.host if request.client else "?",
            )
            return Response(status_code=exc.status)
        return self._accept(notice)

    def _accept(self, notice: Notice) -> Response:
        key = f"{notice.marketplace}:{notice.shop_id}:{notice.delivery_id}"
        if not self.deliveries.first_time(key):
            self.counts["duplicates"] += 1
            log.info("%s delivery %s seen before: dropped", notice.marketplace, key)
            return Response(status_code=200)  # a 2xx stops the retries
        if self.coalescer.add(notice):
            self.counts["accepted"] += 1
        else:
            self.counts["ignored_topic"] += 1
        # TikTok: "HTTP 200 with an empty body" (webhook configuration guide,
        # https://partner.tiktokshop.com/docv2/page/650512b42f024f02be19755f).
        return Response(status_code=200)

    async def health(self, _: Request) -> Response:
        return JSONResponse(
            {"ok": True, "pending_events": self.coalescer.pending, **dict(self.counts)}
        )


async def _body(request: Request) -> bytes | None:
    """The raw body (signatures are over the exact bytes), or None when it is too large."""
    size = request.headers.get("content-length")
    if size and size.isdigit() and int(size) > MAX_BODY:
        return None
    chunks = bytearray()
    async for chunk in request.stream():
        chunks += chunk
        if len(chunks) > MAX_BODY:
            return None
    return bytes(chunks)


def create_app(shops: WebhookShops, emit: Emitter | None = None, *, window: float = 5.0):
    """The Starlette app; ``emit`` defaults to :func:`prefect.events.emit_event`."""
    if emit is None:
        from prefect.events import emit_event as emit
    receiver = Receiver(shops, emit, window=window)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        yield
        receiver.coalescer.flush_all()  # nothing collected is lost on a clean stop
        with contextlib.suppress(Exception):
            from prefect.events.worker import EventsWorker

            drained = EventsWorker.drain_all(timeout=10)
            if inspect.isawaitable(drained):
                await drained

    app = Starlette(
        routes=[
            Route("/webhooks/tiktok", receiver.tiktok, methods=["POST"]),
            Route("/webhooks/shopify", receiver.shopify, methods=["POST"]),
            Route("/healthz", receiver.health, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.receiver = receiver
    return app
