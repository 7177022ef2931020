"""Loop back: what happens to a TikTok order after the relay goes to the other side, once.

One run for one shop (:func:`loop_back_shop`; called by :func:`tasks.steps.orders.run_orders`
right after the relay):

1. the orders still followed (:func:`tasks.loop_back_ledger.candidates`): relayed orders,
   and any order with a line of a merchant-fulfilled (MFN) store SKU;
2. read them on TikTok (Get Order Detail, 50 per call: lines one per unit, packages,
   tracking, cancellations) and, for relayed ones, in the store
   (:meth:`connectors.base.StoreApi.order_state`: the boxes it shipped, its cancellation).
   The store is read only for orders it changed since the last clean run (one paged list,
   :meth:`connectors.base.StoreApi.changed_orders`, from the watermark minus
   :data:`OVERLAP`), orders a cancellation concerns, and orders the last read left
   unfinished; every :data:`FULL_EVERY_RUNS` runs or after :data:`FULL_AFTER` all of them;
3. **store box -> TikTok shipped.** Each store box (Shopify fulfilment, MCF package) takes
   as many not-yet-shipped TikTok lines of each SKU as it holds units (a store line of 3
   units = three TikTok line ids). Its carrier goes through the shop's carrier map
   (:mod:`tasks.carriers`) to a provider of TikTok's list for the order's delivery option;
   an unknown carrier is parked ``UNKNOWN_CARRIER``. The lines are written ``IN_FLIGHT``
   before the call, then shipped with Mark Package As Shipped (the package is created by
   shipping, US/UK) or Ship Package (packages exist from payment): whichever the order
   shows. "Already shipped" is checked against TikTok's view and taken as done when the
   tracking matches. A changed tracking number is pushed once as TikTok's one correction;
   after that ``CORRECTION_USED``. TikTok-shipped orders get nothing pushed
   (``TIKTOK_SHIPPING``); their store order is tagged once (Shopify ``tagsAdd``; MCF
   orders have no tags, the report says so);
4. **TikTok cancellation -> store.** A cancelled order cancels the store order where the
   store still allows it, single cancelled lines cancel those units; too late gives
   ``STORE_ALREADY_FULFILLED`` with the advice to handle a return;
5. **MFN stock.** A sold unit of a merchant-fulfilled store SKU lowers its store quantity
   once (absolute quantity = current - sold, the target recorded before the write so a
   rerun writes the same value); a cancelled unit gives it back;
6. the fulfilment report (:data:`REPORT_COLUMNS`): table, CSV/Parquet and artifact.

Every decision comes from the ledger (:mod:`tasks.loop_back_ledger`) and these reads, so a
rerun, or the loop back's own writes coming back, changes nothing. Wire references:
https://partner.tiktokshop.com/docv2/page/mark-package-as-shipped-202309,
https://partner.tiktokshop.com/docv2/page/update-package-shipping-info-202309 (one update
within 72 hours), https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/orderCancel,
https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-v2020-07-01-reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import duckdb
import pandas as pd

from connectors import tiktok_fulfillment as tts
from connectors.base import (
    NotSupportedError,
    StoreApi,
    StoreOrderState,
    StoreShipment,
    TikTokApi,
)
from connectors.errors import ApiError, TransientError
from skubridge.config import ShopConfig
from tasks import loop_back_ledger as ledger
from tasks.carriers import Provider, carrier_map, resolve_provider
from tasks.loop_back_ledger import LineRow, OrderRow
from tasks.relay_ledger import mapped_skus
from tasks.relay_rules import MappedSku, line_sku
from tasks.reports import (
    ReportFiles,
    markdown_artifact,
    markdown_table,
    publish_report,
    run_report_dir,
)

log = logging.getLogger("skubridge.tasks.loop_back")

FOLLOW_DAYS = 30  # orders created longer ago than this are no longer followed
# Incremental store reads: orders changed since the last clean run's start minus OVERLAP
# (store clocks and search indexing lag), with a full re-read as a backstop every
# FULL_EVERY_RUNS runs or when the watermark is older than FULL_AFTER.
OVERLAP = timedelta(minutes=10)
FULL_EVERY_RUNS = 24
FULL_AFTER = timedelta(days=1)
CONCURRENCY = 8  # orders in flight at once; the clients pace every call to its API's limit
# US/UK/SEA: one tracking update within 72 h of shipment
# (https://partner.tiktokshop.com/docv2/page/update-package-shipping-info-202309)
CORRECTION_WINDOW = timedelta(hours=72)
# Tag on the store order of a TikTok-shipped order, added with Shopify's tagsAdd
# (https://shopify.dev/docs/api/admin-graphql/2026-04/mutations/tagsAdd).
TIKTOK_SHIPPING_TAG = "TikTok shipping label"
REPORT_COLUMNS = [
    "tiktok_order_id",
    "store_order_id",
    "action",
    "status",
    "reason",
    "lines",
    "tracking_number",
    "carrier",
    "tiktok_shipping_provider_id",
    "detail",
]
ADVICE = {
    "UNKNOWN_CARRIER": "Add the carrier to [shops.orders.carriers] in shops.toml (store "
    "carrier = TikTok provider name); the next run ships the order.",
    "CORRECTION_USED": "TikTok allows one tracking correction: change the tracking in "
    "TikTok Seller Center (or open a support ticket).",
    "STORE_ALREADY_FULFILLED": "The store shipped it before the TikTok cancellation: handle "
    "it as a return.",
    "TIKTOK_SHIPPING": "TikTok sells the label for this order: buy it in TikTok Seller "
    "Center; nothing is pushed from the store.",
    "TIKTOK_REJECTED": "TikTok refused the tracking or provider: check both in the store.",
    "STORE_REJECTED": "The store cannot cancel this: cancel it by hand in the store.",
}
PAID = frozenset(
    {
        "AWAITING_SHIPMENT",
        "PARTIALLY_SHIPPING",
        "AWAITING_COLLECTION",
        "IN_TRANSIT",
        "DELIVERED",
        "COMPLETED",
    }
)
FINISHED = frozenset({"DELIVERED", "COMPLETED"})
SHIPPED_ON = frozenset({"AWAITING_COLLECTION", "IN_TRANSIT", "DELIVERED", "COMPLETED"})
CANCEL_FINAL = frozenset({"CANCELLED_IN_STORE", "STORE_ALREADY_FULFILLED", "STORE_REJECTED"})


@dataclass(frozen=True)
class ReportRow:
    """One fulfilment report row (the public columns, then ``detail``)."""

    tiktok_order_id: str
    store_order_id: str | None
    action: str  # SHIP | UPDATE_TRACKING | CANCEL_STORE | LOWER_MFN_STOCK
    status: str  # DONE | PARKED | WAITING | FAILED | SKIPPED | PLANNED (dry run)
    reason: str
    lines: str
    tracking_number: str | None = None
    carrier: str | None = None
    tiktok_shipping_provider_id: str | None = None
    detail: str | None = None


@dataclass
class LoopBackOutcome:
    """What a loop-back run did: one report row per order and action touched."""

    run_id: str
    shop_id: str
    orders: int = 0
    rows: list[ReportRow] = field(default_factory=list)
    dry_run: bool = False
    report: ReportFiles | None = None

    def frame(self) -> pd.DataFrame:
        data = [{c: getattr(r, c) for c in REPORT_COLUMNS} for r in self.rows]
        return pd.DataFrame(data, columns=REPORT_COLUMNS)

    def counts(self) -> dict[str, int]:
        """Rows per reason code."""
        return dict(Counter(r.reason for r in self.rows))

    def summary(self) -> dict[str, Any]:
        return {
            "followed": self.orders,
            "rows": len(self.rows),
            "reasons": self.counts(),
            "dry_run": self.dry_run,
            "report": str(self.report.csv) if self.report else None,
        }


class _Run:
    """One loop-back run over one shop (state shared by the per-order steps)."""

    def __init__(
        self,
        shop: ShopConfig,
        con: duckdb.DuckDBPyConnection,
        tiktok: TikTokApi,
        store: StoreApi,
        *,
        run_id: str,
        dry_run: bool,
    ) -> None:
        self.shop, self.con, self.store = shop, con, store
        # The fulfilment calls take the concrete client (connectors/tiktok_fulfillment.py).
        self.tiktok: Any = cast(Any, tiktok)
        self.run_id, self.dry_run = run_id, dry_run
        self.carriers = carrier_map(shop.orders.carriers)
        self.providers: dict[str, tuple[Provider, ...] | None] = {}
        self.mfn_written: dict[str, int] = {}  # store SKU -> quantity written this run
        self.mfn_locks: dict[str, asyncio.Lock] = {}  # one read-modify-write per SKU at a time
        self.providers_lock = asyncio.Lock()
        self.out = LoopBackOutcome(run_id=run_id, shop_id=shop.id, dry_run=dry_run)
        self.started = self.now()
        self.changed: set[str] | None = None  # None: full re-read
        self.next_mark: ledger.Watermark | None = None
        self.clean = True  # every order's reads succeeded: the watermark may move

    # -- plumbing ------------------------------------------------------------------------
    @staticmethod
    def now() -> datetime:
        return datetime.now(UTC)

    def put(self, row: LineRow) -> None:
        if not self.dry_run:
            ledger.put_line(self.con, row, run_id=self.run_id, now=self.now())

    def put_order(self, row: OrderRow) -> None:
        if not self.dry_run:
            ledger.put_order(self.con, row, run_id=self.run_id, now=self.now())

    def report(self, **values: Any) -> None:
        if self.dry_run and values.get("status") == "DONE":
            values["status"] = "PLANNED"
        self.out.rows.append(ReportRow(**values))

    async def provider_list(self, delivery_option_id: str | None) -> tuple[Provider, ...] | None:
        """TikTok's providers for a delivery option (cached per run); None when TikTok
        ships that option itself or the option is unknown."""
        if not delivery_option_id:
            return None
        async with self.providers_lock:  # one Get Shipping Providers per option and run
            return await self._provider_list(delivery_option_id)

    async def _provider_list(self, delivery_option_id: str) -> tuple[Provider, ...] | None:
        if delivery_option_id not in self.providers:
            try:
                found = await tts.list_shipping_providers(self.tiktok, delivery_option_id)
                self.providers[delivery_option_id] = tuple(Provider(p.id, p.name) for p in found)
            except tts.TikTokShippingOptionError:
                self.providers[delivery_option_id] = None
        return self.providers[delivery_option_id]

    # -- the run -------------------------------------------------------------------------
    async def changed_since(self) -> None:
        """Decide what this run reads in the store: ``self.changed`` is None for a full
        re-read (no watermark yet, every :data:`FULL_EVERY_RUNS` runs, or a watermark older
        than :data:`FULL_AFTER`), else the store orders changed since the last clean run
        minus :data:`OVERLAP` (one paged list)."""
        mark = ledger.watermark(self.con)
        if (
            mark is None
            or mark.runs_since_full + 1 >= FULL_EVERY_RUNS
            or self.started - mark.read_from > FULL_AFTER
        ):
            self.changed = None
            self.next_mark = ledger.Watermark(self.started, self.started, 0)
            return
        self.changed = await self.store.changed_orders(mark.read_from - OVERLAP)
        self.next_mark = ledger.Watermark(self.started, mark.full_at, mark.runs_since_full + 1)

    def must_read_store(self, orow: OrderRow) -> bool:
        """Read the store order: full re-read, changed since the watermark, or left
        unfinished by the last read (a box parked, waiting or failed)."""
        return self.changed is None or orow.store_retry or orow.store_order_id in self.changed

    async def run(self) -> LoopBackOutcome:
        since = self.now() - timedelta(days=FOLLOW_DAYS)
        followed = ledger.candidates(self.con, since=since, store=self.shop.store)
        self.out.orders = len(followed)
        if not followed:
            return self.out
        await self.changed_since()
        ids = [f[0] for f in followed]
        mapped = mapped_skus(self.con, self.shop.store)
        views = {o.order_id: o for o in await tts.get_order_shipping(self.tiktok, ids)}
        lines = ledger.lines_of(self.con, ids)
        orders = ledger.orders_of(self.con, ids)
        gate = asyncio.Semaphore(CONCURRENCY)

        async def follow(order_id: str, store_order_id: str | None, relay_state: str) -> None:
            view = views.get(order_id)
            if view is None:
                return
            orow = orders.get(order_id) or OrderRow(order_id, store_order_id, view.shipping_type)
            rows = {
                ln.line_item_id: lines.get(ln.line_item_id)
                or LineRow(order_id, ln.line_item_id, ln.sku_id, store_order_id)
                for ln in view.lines
            }
            try:
                async with gate:
                    await self.one(view, orow, rows, mapped, relayed=relay_state == "RELAYED")
            except ledger.LedgerConflict as exc:
                log.warning("order %s: another run of this shop holds it (%s)", order_id, exc)
            except ApiError as exc:
                # One order's failure must not stop the others; the ledger keeps its place,
                # and the watermark stays where it was so the next run reads it again.
                self.clean = False
                self.report(
                    tiktok_order_id=order_id,
                    store_order_id=store_order_id,
                    action="SHIP",
                    status="FAILED",
                    reason="RETRY",
                    lines="",
                    detail=f"{type(exc).__name__}: {exc}"[:500],
                )

        await asyncio.gather(*(follow(*f) for f in followed))
        if self.clean and not self.dry_run and self.next_mark is not None:
            try:
                ledger.put_watermark(self.con, self.next_mark)
            except ledger.LedgerConflict as exc:
                # An overlapping run recorded its own watermark just now; either mark
                # re-reads what the other left, so this run keeps that one.
                log.warning("loop-back watermark written by another run (%s)", exc)
        self.out.rows.sort(key=lambda r: (r.tiktok_order_id, r.action))
        return self.out

    async def one(
        self,
        view: tts.OrderShipping,
        orow: OrderRow,
        rows: dict[str, LineRow],
        mapped: Mapping[str, MappedSku],
        *,
        relayed: bool,
    ) -> None:
        await self.mfn(view, rows, mapped, orow.store_order_id)
        state: StoreOrderState | None = None
        if relayed and orow.store_order_id:
            cancel_open = view.cancelled and orow.cancel_state not in CANCEL_FINAL
            line_cancels = (
                [i for i in view.cancelled_line_ids() if rows[i].cancel_state is None]
                if not view.cancelled
                else []
            )
            ships = view.seller_ships and self.must_read_store(orow)
            if ships or cancel_open or line_cancels:
                state = await self.store.order_state(orow.store_order_id)
            if state is not None:
                if view.cancelled:
                    if cancel_open:
                        await self.cancel_whole(view, orow, state)
                else:
                    if line_cancels:
                        await self.cancel_lines(view, orow, rows, line_cancels, mapped)
                    if view.seller_ships:
                        before = len(self.out.rows)
                        await self.ship(view, orow, rows, state, mapped)
                        orow.store_retry = any(
                            r.status in ("PARKED", "WAITING", "FAILED")
                            for r in self.out.rows[before:]
                        )
            if not view.seller_ships and "TIKTOK_SHIPPING" not in (orow.noted or ""):
                await self.tiktok_shipping(view, orow)
        orow.done = self.finished(view, orow, rows, relayed=relayed)
        orow.shipping_type = view.shipping_type
        self.put_order(orow)

    async def tiktok_shipping(self, view: tts.OrderShipping, orow: OrderRow) -> None:
        """TikTok sells the label: tag the store order so the merchant does not ship it with
        a label of their own, report ``TIKTOK_SHIPPING`` once. The ledger's ``noted`` is
        written only after the tag call, so a crash in between tags again (harmless:
        a tag already there is not added twice)."""
        assert orow.store_order_id is not None
        detail = ADVICE["TIKTOK_SHIPPING"]
        if not self.dry_run:
            try:
                await self.store.tag_order(orow.store_order_id, [TIKTOK_SHIPPING_TAG])
                detail += f" Store order tagged {TIKTOK_SHIPPING_TAG!r}."
            except NotSupportedError as exc:
                detail += f" {exc}."
        self.report(
            tiktok_order_id=view.order_id,
            store_order_id=orow.store_order_id,
            action="SHIP",
            status="SKIPPED",
            reason="TIKTOK_SHIPPING",
            lines=_lines_text(view, view.unshipped_line_ids()),
            detail=detail,
        )
        orow.noted = "TIKTOK_SHIPPING"

    def finished(
        self, view: tts.OrderShipping, orow: OrderRow, rows: Mapping[str, LineRow], *, relayed: bool
    ) -> bool:
        """Nothing more can happen that the loop back must carry over."""
        mfn_open = any(r.mfn_state in ("LOWERING", "RESTORING") for r in rows.values())
        if mfn_open:
            return False
        if view.cancelled:
            lowered = any(r.mfn_state == "LOWERED" for r in rows.values())
            return not lowered and (not relayed or orow.cancel_state in CANCEL_FINAL)
        if not relayed:
            return view.status in SHIPPED_ON
        if view.status in FINISHED:
            return True
        # Every line shipped by us and TikTok's correction window over: nothing left to carry.
        open_rows = [rows[ln.line_item_id] for ln in view.lines if not ln.cancelled]
        shipped_at = [r.shipped_at for r in open_rows if r.ship_state == "SHIPPED"]
        return (
            view.status in SHIPPED_ON
            and len(shipped_at) == len(open_rows) > 0
            and all(t is not None and t < self.now() - CORRECTION_WINDOW for t in shipped_at)
        )

    # -- store box -> TikTok shipped ---------------------------------------------------------
    async def ship(
        self,
        view: tts.OrderShipping,
        orow: OrderRow,
        rows: dict[str, LineRow],
        state: StoreOrderState,
        mapped: Mapping[str, MappedSku],
    ) -> None:
        to_tiktok = _store_sku_index(view, mapped)
        boxes = sorted(state.shipments, key=lambda s: (s.shipped_at or _EPOCH, s.id))
        groups = []
        for box in boxes:  # every box takes its lines first (a package may span boxes)
            group = [r for r in rows.values() if r.store_shipment_id == box.id]
            groups.append((box, group or self.assign(view, rows, box, to_tiktok)))
        for box, group in groups:
            if group:
                await self.ship_box(view, orow, rows, box, group)

    def assign(
        self,
        view: tts.OrderShipping,
        rows: Mapping[str, LineRow],
        box: StoreShipment,
        to_tiktok: Mapping[str, str],
    ) -> list[LineRow]:
        """The TikTok lines a new store box carries: per store SKU, that many lines of the
        matching TikTok SKU not taken by another box and not cancelled (one line per unit)."""
        taken = {i for i, r in rows.items() if r.store_shipment_id}
        group: list[LineRow] = []
        for store_sku, units in sorted(box.units.items()):
            sku_id = to_tiktok.get(store_sku)
            if sku_id is None:
                continue
            free = [
                ln
                for ln in view.lines
                if ln.sku_id == sku_id and not ln.cancelled and ln.line_item_id not in taken
            ]
            # lines nobody shipped first; then lines TikTok shows shipped with this tracking
            free.sort(key=lambda ln: (ln.shipped, ln.line_item_id))
            for ln in free[:units]:
                row = rows[ln.line_item_id]
                row.store_shipment_id = box.id  # in memory until the ship call is recorded
                group.append(row)
                taken.add(ln.line_item_id)
        return group

    async def ship_box(
        self,
        view: tts.OrderShipping,
        orow: OrderRow,
        rows: dict[str, LineRow],
        box: StoreShipment,
        group: list[LineRow],
    ) -> None:
        line_ids = [r.tiktok_line_id for r in group]
        base = {
            "tiktok_order_id": view.order_id,
            "store_order_id": orow.store_order_id,
            "lines": _lines_text(view, line_ids),
            "tracking_number": box.tracking_number,
            "carrier": box.carrier,
        }
        shipped = all(r.ship_state == "SHIPPED" for r in group)
        if not box.tracking_number:
            if not shipped:
                self.report(**base, action="SHIP", status="WAITING", reason="NO_TRACKING")
            return
        tracking = box.tracking_number
        providers = await self.provider_list(view.delivery_option_id)
        provider = resolve_provider(box.carrier, providers or (), self.carriers)
        if shipped:
            if all(r.tracking_number == tracking for r in group):
                return  # our own shipment read back: nothing to do
            spans = {
                r.store_shipment_id
                for r in rows.values()
                if r.package_id and r.package_id in {g.package_id for g in group}
            }
            if len(spans) > 1:
                return  # one TikTok package shipped for several store boxes: one tracking
            await self.correct(view, group, box, provider, base)
            return
        if provider is None:
            why = (
                f"carrier {box.carrier!r} is not in the carrier map"
                if providers
                else "TikTok lists no providers for the order's delivery option"
            )
            self.report(
                **base,
                action="SHIP",
                status="PARKED",
                reason="UNKNOWN_CARRIER",
                detail=f"{why}. {ADVICE['UNKNOWN_CARRIER']}",
            )
            return
        base["tiktok_shipping_provider_id"] = provider.id
        rejected = [r for r in group if r.ship_state == "REJECTED"]
        if rejected and all(
            r.tracking_number == tracking and r.shipping_provider_id == provider.id
            for r in rejected
        ):
            return  # refused before with these values: wait for the store to change them
        if view.shipped_with(line_ids, tracking):
            self.mark(group, view, box, provider, state="SHIPPED")
            self.report(**base, action="SHIP", status="DONE", reason="ALREADY_SHIPPED")
            return
        packages = {
            ln.package_id
            for ln in view.lines
            if ln.line_item_id in line_ids and ln.package_id and not ln.shipped
        }
        if packages:
            # Packages exist from payment (SEA, LATAM): Ship Package ships a whole package.
            package_id = sorted(packages)[0]
            in_package = {
                ln.line_item_id
                for ln in view.lines
                if ln.package_id == package_id and not ln.cancelled
            }
            covered = {i for i, r in rows.items() if r.store_shipment_id}
            if len(packages) > 1 or not in_package <= covered:
                self.report(
                    **base,
                    action="SHIP",
                    status="WAITING",
                    reason="PARTIAL_PACKAGE",
                    detail="the store shipped part of a TikTok package; waiting for the rest",
                )
                return
            # The package ships whole, with the tracking of the first store box of it.
            group = [rows[i] for i in sorted(in_package)]
            line_ids = [r.tiktok_line_id for r in group]
            base["lines"] = _lines_text(view, line_ids)
        if self.dry_run:
            self.report(**base, action="SHIP", status="DONE", reason="SHIPPED")
            return
        self.mark(group, view, box, provider, state="IN_FLIGHT")
        warning = None
        try:
            if packages:
                await tts.ship_package(
                    self.tiktok,
                    sorted(packages)[0],
                    tracking_number=tracking,
                    shipping_provider_id=provider.id,
                )
                package_id = sorted(packages)[0]
            else:
                result = await tts.mark_package_shipped(
                    self.tiktok,
                    view.order_id,
                    line_item_ids=line_ids,
                    tracking_number=tracking,
                    shipping_provider_id=provider.id,
                )
                package_id, warning = result.package_id, result.warning
        except tts.AlreadyShippedError:
            [fresh] = await tts.get_order_shipping(self.tiktok, [view.order_id]) or [view]
            if fresh.shipped_with(line_ids, tracking):
                self.mark(group, fresh, box, provider, state="SHIPPED")
                self.report(**base, action="SHIP", status="DONE", reason="ALREADY_SHIPPED")
            else:
                self.mark(group, fresh, box, provider, state="REJECTED", error="ALREADY_SHIPPED")
                self.report(
                    **base,
                    action="SHIP",
                    status="FAILED",
                    reason="ALREADY_SHIPPED",
                    detail="TikTok shows these lines shipped with other tracking",
                )
            return
        except tts.NotSellerShippedError:
            self.mark(group, view, box, provider, state="REJECTED", error="TIKTOK_SHIPPING")
            self.report(
                **base,
                action="SHIP",
                status="SKIPPED",
                reason="TIKTOK_SHIPPING",
                detail=ADVICE["TIKTOK_SHIPPING"],
            )
            return
        except tts.FulfillmentError as exc:
            self.mark(group, view, box, provider, state="REJECTED", error=f"{exc.code}")
            self.report(
                **base,
                action="SHIP",
                status="FAILED",
                reason="TIKTOK_REJECTED",
                detail=f"TikTok {exc.code}: {exc.message}. {ADVICE['TIKTOK_REJECTED']}"[:500],
            )
            return
        except TransientError as exc:
            # Left IN_FLIGHT: the next run compares with TikTok before sending again.
            self.report(
                **base, action="SHIP", status="FAILED", reason="RETRY", detail=str(exc)[:300]
            )
            return
        self.mark(group, view, box, provider, state="SHIPPED", package_id=package_id)
        self.report(**base, action="SHIP", status="DONE", reason="SHIPPED", detail=warning)

    def mark(
        self,
        group: Sequence[LineRow],
        view: tts.OrderShipping,
        box: StoreShipment,
        provider: Provider,
        *,
        state: str,
        package_id: str | None = None,
        error: str | None = None,
    ) -> None:
        by_id = {ln.line_item_id: ln for ln in view.lines}
        now = self.now()
        for row in group:
            row.ship_state, row.store_shipment_id = state, row.store_shipment_id or box.id
            row.tracking_number, row.carrier = box.tracking_number, box.carrier
            row.shipping_provider_id, row.error = provider.id, error
            row.package_id = package_id or by_id[row.tiktok_line_id].package_id
            if state == "SHIPPED" and row.shipped_at is None:
                row.shipped_at = now
            self.put(row)

    async def correct(
        self,
        view: tts.OrderShipping,
        group: list[LineRow],
        box: StoreShipment,
        provider: Provider | None,
        base: dict[str, Any],
    ) -> None:
        """The store changed the tracking of a box already shipped on TikTok: one update."""
        tracking = box.tracking_number or ""
        noted = f"CORRECTION_USED:{tracking}"
        if any(r.error == noted for r in group):
            return  # reported once already
        if provider is None:
            self.report(
                **base,
                action="UPDATE_TRACKING",
                status="PARKED",
                reason="UNKNOWN_CARRIER",
                detail=ADVICE["UNKNOWN_CARRIER"],
            )
            return
        base["tiktok_shipping_provider_id"] = provider.id
        line_ids = [r.tiktok_line_id for r in group]
        if view.shipped_with(line_ids, tracking):
            applied = True  # the update went through on an earlier run
        elif max(r.corrections_used for r in group) >= 1:
            applied = False
        elif self.dry_run:
            self.report(**base, action="UPDATE_TRACKING", status="DONE", reason="TRACKING_UPDATED")
            return
        else:
            package_ids = sorted({r.package_id for r in group if r.package_id})
            try:
                for package_id in package_ids:
                    await tts.update_package_tracking(
                        self.tiktok,
                        package_id,
                        tracking_number=tracking,
                        shipping_provider_id=provider.id,
                    )
                applied = True
            except tts.CorrectionRefusedError:
                applied = False
        for r in group:
            r.corrections_used = max(r.corrections_used, 1)
            if applied:
                r.tracking_number, r.carrier, r.shipping_provider_id = (
                    tracking,
                    box.carrier,
                    provider.id,
                )
                r.error = None
            else:
                r.error = noted
            self.put(r)
        if applied:
            self.report(**base, action="UPDATE_TRACKING", status="DONE", reason="TRACKING_UPDATED")
        else:
            self.report(
                **base,
                action="UPDATE_TRACKING",
                status="PARKED",
                reason="CORRECTION_USED",
                detail=ADVICE["CORRECTION_USED"],
            )

    # -- TikTok cancellation -> store ----------------------------------------------------------
    async def cancel_whole(
        self, view: tts.OrderShipping, orow: OrderRow, state: StoreOrderState
    ) -> None:
        assert orow.store_order_id is not None
        base = {
            "tiktok_order_id": view.order_id,
            "store_order_id": orow.store_order_id,
            "action": "CANCEL_STORE",
            "lines": _lines_text(view, [ln.line_item_id for ln in view.lines]),
        }
        if state.cancelled:
            status: str = "ALREADY_CANCELLED"
            detail = None
        elif self.dry_run:
            self.report(**base, status="DONE", reason="CANCELLED_IN_STORE")
            return
        else:
            who = view.cancellation_initiator or "SYSTEM"
            result = await self.store.cancel_order(
                orow.store_order_id,
                reason=who,
                note=f"TikTok Shop order {view.order_id} was cancelled ({who.lower()})",
            )
            status, detail = result.status, result.detail
        if status in ("CANCELLED", "ALREADY_CANCELLED"):
            orow.cancel_state = "CANCELLED_IN_STORE"
            self.report(**base, status="DONE", reason="CANCELLED_IN_STORE", detail=detail)
        elif status == "PENDING":
            orow.cancel_state = "CANCEL_PENDING"
            self.report(**base, status="WAITING", reason="CANCEL_PENDING", detail=detail)
        elif status == "TOO_LATE":
            orow.cancel_state = "STORE_ALREADY_FULFILLED"
            self.report(
                **base,
                status="PARKED",
                reason="STORE_ALREADY_FULFILLED",
                detail=f"{ADVICE['STORE_ALREADY_FULFILLED']} ({detail})" if detail else None,
            )
        else:
            orow.cancel_state = "STORE_REJECTED"
            self.report(**base, status="FAILED", reason="STORE_REJECTED", detail=detail or status)

    async def cancel_lines(
        self,
        view: tts.OrderShipping,
        orow: OrderRow,
        rows: dict[str, LineRow],
        line_ids: list[str],
        mapped: Mapping[str, MappedSku],
    ) -> None:
        assert orow.store_order_id is not None
        by_id = {ln.line_item_id: ln for ln in view.lines}
        units: Counter[str] = Counter()
        for i in line_ids:
            m = mapped.get(by_id[i].sku_id)
            units[_store_sku(m) or by_id[i].seller_sku or by_id[i].sku_id] += 1
        base = {
            "tiktok_order_id": view.order_id,
            "store_order_id": orow.store_order_id,
            "action": "CANCEL_STORE",
            "lines": _lines_text(view, line_ids),
        }
        if self.dry_run:
            self.report(**base, status="DONE", reason="CANCELLED_IN_STORE")
            return
        key = (
            "skubridge-cancel-"
            + hashlib.sha256(f"{view.order_id}:{','.join(sorted(line_ids))}".encode()).hexdigest()[
                :32
            ]
        )
        result = await self.store.cancel_order_units(
            orow.store_order_id,
            dict(units),
            key=key,
            note=f"TikTok Shop order {view.order_id}: lines cancelled on TikTok",
        )
        outcome = {
            "CANCELLED": ("DONE", "CANCELLED_IN_STORE"),
            "ALREADY_CANCELLED": ("DONE", "CANCELLED_IN_STORE"),
            "TOO_LATE": ("PARKED", "STORE_ALREADY_FULFILLED"),
        }.get(result.status, ("FAILED", "STORE_REJECTED"))
        if result.status == "PENDING":
            return  # looked at again next run
        for i in line_ids:
            rows[i].cancel_state = outcome[1]
            self.put(rows[i])
        advice = ADVICE.get(outcome[1])
        detail = "; ".join(x for x in (result.detail, advice) if x) or None
        self.report(**base, status=outcome[0], reason=outcome[1], detail=detail)

    # -- MFN stock -----------------------------------------------------------------------
    async def mfn(
        self,
        view: tts.OrderShipping,
        rows: dict[str, LineRow],
        mapped: Mapping[str, MappedSku],
        store_order_id: str | None,
    ) -> None:
        """Lower a merchant-fulfilled SKU's store quantity once per sold unit; give the
        units of cancelled lines back."""
        lower: dict[str, list[LineRow]] = {}
        give_back: dict[str, list[LineRow]] = {}
        for ln in view.lines:
            m = mapped.get(ln.sku_id)
            row = rows[ln.line_item_id]
            sku = row.mfn_sku or (_store_sku(m) if m and m.fulfillment == "MFN" else None)
            if sku is None:
                continue
            cancelled = ln.cancelled or view.cancelled
            if row.mfn_state == "LOWERING" or (
                row.mfn_state is None and not cancelled and view.status in PAID
            ):
                lower.setdefault(sku, []).append(row)
            elif row.mfn_state == "RESTORING" or (row.mfn_state == "LOWERED" and cancelled):
                give_back.setdefault(sku, []).append(row)
        for lowering, work in ((True, lower), (False, give_back)):
            for sku, group in sorted(work.items()):
                async with self.mfn_locks.setdefault(sku, asyncio.Lock()):
                    await self.mfn_write(view, sku, group, store_order_id, lowering=lowering)

    async def mfn_write(
        self,
        view: tts.OrderShipping,
        sku: str,
        group: list[LineRow],
        store_order_id: str | None,
        *,
        lowering: bool,
    ) -> None:
        busy, done = ("LOWERING", "LOWERED") if lowering else ("RESTORING", "RESTORED")
        pending = [r for r in group if r.mfn_state == busy and r.mfn_target is not None]
        base = {
            "tiktok_order_id": view.order_id,
            "store_order_id": store_order_id,
            "action": "LOWER_MFN_STOCK",
            "lines": _lines_text(view, [r.tiktok_line_id for r in group]),
        }
        reason = "MFN_STOCK_LOWERED" if lowering else "MFN_STOCK_RESTORED"
        if pending:
            # A write whose outcome was not recorded: send the same absolute value again.
            target = int(pending[0].mfn_target or 0)
        else:
            current = self.mfn_written.get(sku)
            if current is None:
                current = await self.store.merchant_quantity(sku)
            if current is None:
                self.report(
                    **base,
                    status="FAILED",
                    reason="STORE_REJECTED",
                    detail=f"{sku} is not a merchant-fulfilled listing in the store",
                )
                return
            n = len(group)
            target = max(0, current - n) if lowering else current + n
            if self.dry_run:
                self.report(**base, status="DONE", reason=reason, detail=f"{sku} -> {target}")
                return
            for r in group:
                r.mfn_sku, r.mfn_state, r.mfn_target = sku, busy, target
                self.put(r)
        await self.store.set_merchant_quantity(sku, target)
        self.mfn_written[sku] = target
        for r in group:
            r.mfn_sku, r.mfn_state, r.mfn_target = sku, done, target
            self.put(r)
        self.report(**base, status="DONE", reason=reason, detail=f"{sku} -> {target}")


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _store_sku(m: MappedSku | None) -> str | None:
    if m is None:
        return None
    return m.store_sku or m.seller_sku or m.store_variant_id


def _store_sku_index(view: tts.OrderShipping, mapped: Mapping[str, MappedSku]) -> dict[str, str]:
    """Store SKU (as the store's boxes name it) -> TikTok SKU id, for this order's SKUs."""
    out: dict[str, str] = {}
    for ln in view.lines:
        m = mapped.get(ln.sku_id)
        names = [ln.seller_sku]
        if m is not None:
            names += [m.store_sku, m.seller_sku, m.store_variant_id]
        for name in names:
            if name:
                out.setdefault(name, ln.sku_id)
    return out


def _lines_text(view: tts.OrderShipping, line_ids: Sequence[str]) -> str:
    """``SKU-A x2; SKU-B x1`` for the given TikTok lines (units counted per SKU)."""
    wanted = set(line_ids)
    counts: Counter[str] = Counter(
        line_sku(ln.sku_id, ln.seller_sku) for ln in view.lines if ln.line_item_id in wanted
    )
    return "; ".join(f"{sku} x{n}" for sku, n in counts.items())


async def loop_back_shop(
    shop: ShopConfig,
    con: duckdb.DuckDBPyConnection,
    tiktok: TikTokApi,
    store: StoreApi,
    *,
    run_id: str,
    dry_run: bool = False,
    publish: bool = True,
) -> LoopBackOutcome:
    """Carry store fulfilments, TikTok cancellations and MFN sales over for one shop.

    ``dry_run`` reads both sides and reports what would be done, with no marketplace or
    ledger writes.
    """
    outcome = await _Run(shop, con, tiktok, store, run_id=run_id, dry_run=dry_run).run()
    if publish:
        outcome.report = publish_fulfilment_report(con, outcome)
    return outcome


def publish_fulfilment_report(
    con: duckdb.DuckDBPyConnection, outcome: LoopBackOutcome
) -> ReportFiles:
    """The fulfilment report as table rows, CSV/Parquet and Prefect artifacts (in a run)."""
    files = publish_report(
        con,
        table="fulfilment_report",
        run_id=outcome.run_id,
        frame=outcome.frame(),
        folder=run_report_dir(outcome.shop_id, outcome.run_id),
        name="fulfilment_report",
        artifact=f"fulfilment-report-{outcome.shop_id}",
        description=f"Loop back of run {outcome.run_id}, shop {outcome.shop_id}: store "
        "fulfilments pushed to TikTok, TikTok cancellations sent to the store, MFN stock.",
    )
    counts = pd.DataFrame(
        [{"reason": r, "rows": n} for r, n in sorted(outcome.counts().items())],
        columns=["reason", "rows"],
    )
    text = [f"# Order loop back, shop {outcome.shop_id}", "", markdown_table(counts)]
    for reason in sorted(outcome.counts()):
        if reason in ADVICE:
            text += ["", f"**{reason}**: {ADVICE[reason]}"]
    markdown_artifact(
        f"fulfilment-summary-{outcome.shop_id}",
        "\n".join(text),
        description=f"Order loop back summary, shop {outcome.shop_id}",
    )
    return files


def summary_lines(outcome: LoopBackOutcome) -> list[str]:
    """Human-readable summary for the CLI."""
    head = "Dry run: " if outcome.dry_run else ""
    out = [
        f"{head}loop back followed {outcome.orders} order(s) of shop {outcome.shop_id}, "
        f"{len(outcome.rows)} action(s)."
    ]
    for reason, n in sorted(outcome.counts().items()):
        advice = f" — {ADVICE[reason]}" if reason in ADVICE else ""
        out.append(f"  {reason}: {n}{advice}")
    if outcome.report is not None:
        out.append(f"Fulfilment report: {outcome.report.csv} (and .parquet)")
    return out
