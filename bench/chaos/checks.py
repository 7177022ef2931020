"""What the chaos suite checks after its runs: exactly-once orders, final prices and stock,
settled ledgers, reports that agree with the marketplaces, and no leaked secrets or buyer data.

Everything here reads: the emulators' in-memory state (the truth about what reached each
marketplace), the shop's DuckDB file (read-only), the report files and the captured logs.
:mod:`bench.chaos.engine` calls :func:`shop_invariants` per shop, then :func:`scan_outputs` and
:func:`permission_problems` over everything the runs wrote. Each check returns violations
as plain sentences; an empty list means the invariant holds.
"""

from __future__ import annotations

import re
import tempfile
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from connectors.amazon import fulfillment_order_id
from skubridge.config import ShopConfig
from tasks.plan import WRITABLE_STATUS
from tasks.reports import run_folder_tail
from tasks.rules import desired_price, desired_stock
from tasks.warehouse import connect

AWAITING_SHIPMENT = "AWAITING_SHIPMENT"
FBT = "FULFILLMENT_BY_TIKTOK"
REPORT_TABLES = ("mapping_report", "push_report", "order_report", "fulfilment_report")


# ----- orders: exactly once ---------------------------------------------------------------


@dataclass(frozen=True)
class Mapped:
    """A mapped TikTok SKU as the shop's DuckDB holds it."""

    tiktok_sku_id: str
    store_variant_id: str
    mapped_at: datetime


def _rows(db: Path, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    """The rows of one query, on a read-only connection closed right after."""
    con = connect(db, read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def read_mappings(db: Path) -> dict[str, Mapped]:
    """The shop's mappings (TikTok SKU id -> link), read-only."""
    rows = _rows(db, "SELECT tiktok_sku_id, store_variant_id, mapped_at FROM mappings")
    return {str(r[0]): Mapped(str(r[0]), str(r[1]), _utc(r[2])) for r in rows}


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def eligible_orders(
    tiktok_state: Mapping[str, Any],
    mapped: Mapping[str, Mapped],
    *,
    store: str,
    fba_skus: set[str] | None = None,
) -> set[str]:
    """TikTok orders that must be in the store exactly once (the rules of tasks/relay_rules.py).

    AWAITING_SHIPMENT, fulfilled by the seller, every line mapped, created no earlier than
    each line's mapping (else historical), and for Amazon every line an FBA listing.
    """
    out = set()
    for order in tiktok_state["orders"]:
        if order["status"] != AWAITING_SHIPMENT or order.get("fulfillment_type") == FBT:
            continue
        created = datetime.fromtimestamp(int(order["create_time"]), UTC)
        lines = order["line_items"]
        if not lines or any(li["sku_id"] not in mapped for li in lines):
            continue
        if any(created < mapped[li["sku_id"]].mapped_at for li in lines):
            continue
        if store == "amazon" and any(
            mapped[li["sku_id"]].store_variant_id not in (fba_skus or set()) for li in lines
        ):
            continue
        out.add(str(order["id"]))
    return out


def store_orders(
    store: str, store_state: Mapping[str, Any], tiktok_ids: Iterable[str]
) -> dict[str, list[str]]:
    """Store orders per TikTok order id; values are the store order ids.

    Shopify: by ``source_identifier``. Amazon: by ``sellerFulfillmentOrderId``, mapped back
    to the TikTok order through :func:`connectors.amazon.fulfillment_order_id`; an MCF order
    under any other id is listed as ``unknown:<id>`` (a second create would be one)."""
    found: dict[str, list[str]] = {}
    if store == "shopify":
        for o in store_state["orders"]:
            found.setdefault(str(o.get("source_identifier")), []).append(str(o["id"]))
        return found
    by_mcf_id = {fulfillment_order_id(t): t for t in tiktok_ids}
    for o in store_state["mcf_orders"]:
        mcf_id = str(o["sellerFulfillmentOrderId"])
        found.setdefault(by_mcf_id.get(mcf_id, f"unknown:{mcf_id}"), []).append(mcf_id)
    return found


@dataclass
class OrderCheck:
    """Exactly-once figures of one shop."""

    eligible: int = 0
    in_store: int = 0
    duplicates: int = 0
    lost: int = 0
    unexpected: int = 0
    violations: list[str] = field(default_factory=list)


def check_orders(eligible: set[str], in_store: Mapping[str, list[str]]) -> OrderCheck:
    """Every eligible order in the store exactly once, and nothing else there."""
    check = OrderCheck(eligible=len(eligible), in_store=sum(len(v) for v in in_store.values()))
    dup = {k: len(v) for k, v in in_store.items() if len(v) > 1}
    lost = sorted(eligible - set(in_store))
    unexpected = sorted(set(in_store) - eligible)
    check.duplicates, check.lost, check.unexpected = len(dup), len(lost), len(unexpected)
    if dup:
        check.violations.append(f"{len(dup)} TikTok orders created more than once: {_few(dup)}")
    if lost:
        check.violations.append(f"{len(lost)} eligible orders missing in the store: {_few(lost)}")
    if unexpected:
        check.violations.append(
            f"{len(unexpected)} store orders for ineligible TikTok orders: {_few(unexpected)}"
        )
    return check


# ----- order loop back: store shipments reach TikTok once, cancellations reach the store -----


@dataclass
class LoopBackCheck:
    """Loop-back figures of one shop."""

    boxes: int = 0  # store boxes (Shopify fulfilments, MCF packages) of seller-shipped orders
    shipped_on_tiktok: int = 0  # of those, shipped on TikTok exactly once with their tracking
    cancelled: int = 0  # cancelled TikTok orders that have a store order
    cancelled_in_store: int = 0
    violations: list[str] = field(default_factory=list)


def store_boxes(
    store: str, store_state: Mapping[str, Any], tiktok_ids: Iterable[str]
) -> dict[str, list[tuple[str, int]]]:
    """TikTok order id -> (tracking number, units) of every box the store shipped for it."""
    out: dict[str, list[tuple[str, int]]] = {}
    if store == "shopify":
        for o in store_state["orders"]:
            for f in o.get("fulfillments") or []:
                numbers = [t["number"] for t in f.get("tracking") or [] if t.get("number")]
                if f.get("status") == "SUCCESS" and numbers:
                    units = sum(int(ln["quantity"]) for ln in f.get("lines") or [])
                    out.setdefault(str(o["source_identifier"]), []).append((numbers[0], units))
        return out
    by_mcf_id = {fulfillment_order_id(t): t for t in tiktok_ids}
    for o in store_state["mcf_orders"]:
        tid = by_mcf_id.get(str(o["sellerFulfillmentOrderId"]))
        for shipment in o.get("shipments") or o.get("fulfillmentShipments") or []:
            if str(shipment.get("fulfillmentShipmentStatus", "")).upper() != "SHIPPED":
                continue
            for package in shipment.get("fulfillmentShipmentPackage") or []:
                units = sum(
                    int(i["quantity"])
                    for i in shipment.get("fulfillmentShipmentItem") or []
                    if i.get("packageNumber") == package["packageNumber"]
                )
                if tid is not None and package.get("trackingNumber"):
                    out.setdefault(tid, []).append((package["trackingNumber"], units))
    return out


def store_cancelled(
    store: str, store_state: Mapping[str, Any], tiktok_ids: Iterable[str]
) -> set[str]:
    """TikTok order ids whose store order is cancelled."""
    if store == "shopify":
        return {str(o["source_identifier"]) for o in store_state["orders"] if o.get("cancelled_at")}
    by_mcf_id = {fulfillment_order_id(t): t for t in tiktok_ids}
    return {
        by_mcf_id[str(o["sellerFulfillmentOrderId"])]
        for o in store_state["mcf_orders"]
        if str(o.get("fulfillmentOrderStatus", "")).lower() == "cancelled"
        and str(o["sellerFulfillmentOrderId"]) in by_mcf_id
    }


def check_loop_back(
    store: str,
    tiktok_state: Mapping[str, Any],
    tiktok_packages: Iterable[Mapping[str, Any]],
    store_state: Mapping[str, Any],
    in_store: Mapping[str, list[str]],
    cancel_reasons: Mapping[str, set[str]],
) -> LoopBackCheck:
    """Every store box of a seller-shipped, not cancelled TikTok order is one shipped TikTok
    package with the same tracking and as many lines as units; no TikTok line is in two
    shipped packages; every cancelled TikTok order with a store order is cancelled in the
    store or reported (``cancel_reasons``: fulfilment report reasons of CANCEL_STORE rows per
    TikTok order) as too late or refused."""
    check = LoopBackCheck()
    orders = {str(o["id"]): o for o in tiktok_state["orders"]}
    shipped = [p for p in tiktok_packages if p.get("shipped")]
    twice = [lid for lid, n in Counter(i for p in shipped for i in p["line_ids"]).items() if n > 1]
    if twice:
        check.violations.append(f"{len(twice)} TikTok lines shipped in two packages: {_few(twice)}")
    by_tracking: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for p in shipped:
        by_tracking.setdefault((str(p["order_id"]), str(p["tracking_number"])), []).append(p)
    wrong: list[str] = []
    for tid, boxes in store_boxes(store, store_state, orders).items():
        o = orders.get(tid)
        if (
            o is None
            or o.get("shipping_type") != "SELLER"
            or o.get("fulfillment_type") == FBT
            or o["status"] == "CANCELLED"
        ):
            continue
        for tracking, units in boxes:
            check.boxes += 1
            found = by_tracking.get((tid, tracking), [])
            if len(found) == 1 and len(found[0]["line_ids"]) == units:
                check.shipped_on_tiktok += 1
            else:
                wrong.append(f"{tid}/{tracking}: {len(found)} package(s)")
    if wrong:
        check.violations.append(
            f"{len(wrong)} store shipments not on TikTok exactly once with their tracking: "
            f"{_few(wrong)}"
        )
    gone = store_cancelled(store, store_state, orders)
    unhandled = []
    for tid, o in orders.items():
        if o["status"] != "CANCELLED" or tid not in in_store:
            continue
        check.cancelled += 1
        if tid in gone:
            check.cancelled_in_store += 1
        elif not cancel_reasons.get(tid, set()) & {"STORE_ALREADY_FULFILLED", "STORE_REJECTED"}:
            unhandled.append(tid)
    if unhandled:
        check.violations.append(
            f"{len(unhandled)} cancelled TikTok orders neither cancelled in the store nor "
            f"reported: {_few(unhandled)}"
        )
    return check


def cancel_report_reasons(db: Path) -> dict[str, set[str]]:
    """Fulfilment report reasons of CANCEL_STORE rows per TikTok order, over every run."""
    rows = _rows(
        db, "SELECT tiktok_order_id, reason FROM fulfilment_report WHERE action = 'CANCEL_STORE'"
    )
    out: dict[str, set[str]] = {}
    for tid, reason in rows:
        out.setdefault(str(tid), set()).add(str(reason))
    return out


def _few(items: Iterable[Any], n: int = 5) -> str:
    items = list(items)
    return ", ".join(str(i) for i in items[:n]) + (" ..." if len(items) > n else "")


# ----- ledgers and reports -----------------------------------------------------------------


def check_ledgers_and_reports(
    db: Path,
    store: str,
    in_store: Mapping[str, list[str]],
    reports_root: Path,
    shop_id: str,
    killed_runs: Iterable[str] = (),
) -> list[str]:
    """No PENDING ledger rows; the relay ledger and the order reports name exactly the store's
    orders (with the right store ids); every report table run has its CSV and Parquet file
    with the same number of rows.

    Runs whose id starts with a ``killed_runs`` tag were SIGKILLed: a kill between the
    table insert and the file writes leaves a report without (complete) files, which is
    what a killed run leaves; their files are not compared."""
    killed = tuple(f"{tag}-" for tag in killed_runs)
    problems: list[str] = []
    con = connect(db, read_only=True)
    try:
        for table in ("order_ledger", "push_ledger"):
            column = "state" if table == "order_ledger" else "status"
            stuck = con.execute(
                f"SELECT count(*) FROM {table} WHERE {column} = 'PENDING'"
            ).fetchone()[0]
            if stuck:
                problems.append(f"{stuck} {table} rows stuck PENDING")
        relayed = dict(
            con.execute(
                "SELECT tiktok_order_id, store_order_id FROM order_ledger WHERE state = 'RELAYED'"
            ).fetchall()
        )
        reported = con.execute(
            "SELECT DISTINCT tiktok_order_id, store_order_id FROM order_report"
            " WHERE reason IN ('RELAYED', 'ALREADY_RELAYED')"
        ).fetchall()
        report_dirs = dict(
            con.execute(
                "SELECT run_id, report_dir FROM runs WHERE report_dir IS NOT NULL"
            ).fetchall()
        )
        runs = {
            table: dict(
                con.execute(f"SELECT run_id, count(*) FROM {table} GROUP BY run_id").fetchall()
            )
            for table in REPORT_TABLES
        }
    finally:
        con.close()
    store_ids = {tid: set(ids) for tid, ids in in_store.items()}
    if set(relayed) != set(store_ids):
        problems.append(
            "order_ledger RELAYED ids differ from the store's orders: missing in ledger "
            f"{_few(sorted(set(store_ids) - set(relayed)))}; not in store "
            f"{_few(sorted(set(relayed) - set(store_ids)))}"
        )
    wrong_ids = [t for t, s in relayed.items() if t in store_ids and s not in store_ids[t]]
    if wrong_ids:
        problems.append(f"order_ledger store_order_id wrong for {_few(wrong_ids)}")
    reported_ids = {str(t) for t, _ in reported}
    if reported_ids != set(store_ids):
        problems.append(
            "order reports (RELAYED/ALREADY_RELAYED) differ from the store's orders: "
            f"unreported {_few(sorted(set(store_ids) - reported_ids))}; "
            f"not in store {_few(sorted(reported_ids - set(store_ids)))}"
        )
    bad_report_ids = [t for t, s in reported if t in store_ids and s not in store_ids[t]]
    if bad_report_ids:
        problems.append(f"order report names a wrong store order for {_few(bad_report_ids)}")
    for table, counts in runs.items():
        for run_id, rows in counts.items():
            if killed and str(run_id).startswith(killed):
                continue
            folder = _run_folder(reports_root / shop_id, str(run_id), report_dirs.get(run_id))
            csv, parquet = folder / f"{table}.csv", folder / f"{table}.parquet"
            if not csv.exists() or not parquet.exists():
                problems.append(f"{table} of run {run_id}: report files missing in {folder}")
                continue
            in_csv, in_parquet = len(pd.read_csv(csv)), len(pd.read_parquet(parquet))
            if not in_csv == in_parquet == rows:
                problems.append(
                    f"{table} of run {run_id}: {rows} table rows, {in_csv} CSV rows, "
                    f"{in_parquet} Parquet rows"
                )
    return problems


def _run_folder(shop_folder: Path, run_id: str, recorded: str | None) -> Path:
    """Where a run's report files are, found as the product names them
    (:func:`tasks.reports.run_report_dir`, ``<UTC start>-<run folder tail>``): the folder the
    ``runs`` row recorded, else the latest stamped folder with the run's tail. Nothing is
    created (a missing folder is reported as missing)."""
    if recorded and Path(recorded).is_dir():
        return Path(recorded)
    tail = run_folder_tail(run_id)
    stamped = sorted(shop_folder.glob(f"*T*Z-{tail}")) if shop_folder.is_dir() else []
    return stamped[-1] if stamped else shop_folder / tail


def push_ledger_rows(db: Path, run_id: str) -> int:
    """Writes a push run sent (or was about to send): its push_ledger rows."""
    return int(_rows(db, "SELECT count(*) FROM push_ledger WHERE run_id = ?", [run_id])[0][0])


# ----- prices and stock --------------------------------------------------------------------


@dataclass
class PriceStockCheck:
    """TikTok's final price and stock against the store's, through the shop's rules."""

    checked_prices: int = 0
    checked_stock: int = 0
    skipped: int = 0
    violations: list[str] = field(default_factory=list)


def receiving_warehouse_id(shop: ShopConfig, tiktok_state: Mapping[str, Any]) -> str:
    """The configured TikTok warehouse, else the default sales warehouse (as the push picks)."""
    if shop.tiktok.warehouse_id:
        return shop.tiktok.warehouse_id
    for w in tiktok_state["warehouses"]:
        if w.get("is_default") and w.get("type", "SALES_WAREHOUSE") == "SALES_WAREHOUSE":
            return str(w["id"])
    return str(tiktok_state["warehouses"][0]["id"])


def store_values(
    store: str, store_state: Mapping[str, Any], shopify_currency: str = "USD"
) -> dict[str, tuple[Decimal, int, str]]:
    """Store variant id -> (price, available units, currency) from the store emulator.

    Shopify: available summed over every location (the shop configures none), the shop's
    currency; Amazon: the listing's quantity (FBA fulfillable or MFN), keyed by seller SKU."""
    if store == "shopify":
        return {
            v["id"]: (
                Decimal(v["price"]),
                sum(int(q) for q in v["inventory"].values()),
                shopify_currency,
            )
            for p in store_state["products"]
            for v in p["variants"]
        }
    return {
        lst["sku"]: (
            Decimal(str(lst["price"])),
            int(lst.get("quantity") or 0),
            str(lst.get("currency") or "USD"),
        )
        for lst in store_state["listings"]
    }


def check_prices_and_stock(
    shop: ShopConfig,
    mapped: Mapping[str, Mapped],
    tiktok_state: Mapping[str, Any],
    store_state: Mapping[str, Any],
    *,
    shopify_currency: str = "USD",
) -> PriceStockCheck:
    """For every mapped SKU TikTok takes updates for: TikTok price == desired price and
    TikTok stock in the receiving warehouse == desired stock, desired values recomputed from
    the store emulator's final state with :mod:`tasks.rules` (the plan's reference)."""
    check = PriceStockCheck()
    warehouse = receiving_warehouse_id(shop, tiktok_state)
    store = store_values(shop.store, store_state, shopify_currency)
    skus = {s["id"]: (p["status"], s) for p in tiktok_state["products"] for s in p["skus"]}
    wrong: list[str] = []
    for sku_id, link in sorted(mapped.items()):
        status, sku = skus.get(sku_id, (None, None))
        value = store.get(link.store_variant_id)
        if sku is None or value is None or status != WRITABLE_STATUS:
            check.skipped += 1
            continue
        price, available, currency = value
        # A non-positive price is never pushed; other currencies are never converted.
        if price > 0 and str(sku["currency"]).upper() == currency.upper():
            want = desired_price(price, shop.price_rule)
            check.checked_prices += 1
            if Decimal(sku["price"]) != want:
                wrong.append(f"{sku_id} price {sku['price']} != {want}")
        if warehouse in sku["inventory"]:
            want_stock = desired_stock(available, shop.stock_rule)
            check.checked_stock += 1
            if int(sku["inventory"][warehouse]) != want_stock:
                wrong.append(f"{sku_id} stock {sku['inventory'][warehouse]} != {want_stock}")
    if wrong:
        check.violations.append(
            f"{len(wrong)} TikTok values differ from the store's through the rules: {_few(wrong)}"
        )
    return check


# ----- secrets and buyer data --------------------------------------------------------------


@dataclass(frozen=True)
class Needle:
    """A value that must appear in no output; ``kind`` names it in reports (never the value)."""

    kind: str
    text: str


def secret_needles(
    env: Mapping[str, str], tiktok_emulators: Iterable[Any], amazon_emulators: Iterable[Any]
) -> list[Needle]:
    """Configured secrets (``SandboxStack.env()`` minus the public app key and client id) and
    every token the emulators issued (TikTok access/refresh tokens, Amazon LWA tokens)."""
    public = ("TIKTOK_APP_KEY", "AMAZON_CLIENT_ID")
    out = [Needle(f"secret {k}", v) for k, v in env.items() if not k.endswith(public)]
    for tiktok in tiktok_emulators:
        creds = tiktok.credentials
        out += [Needle("TikTok access token", t) for t in creds.access_tokens]
        out += [Needle("TikTok refresh token", t) for t in creds.refresh_tokens]
        out.append(Needle("TikTok app secret", creds.app_secret))
    for amazon in amazon_emulators:
        out += [Needle("Amazon LWA access token", t) for t in list(amazon.tokens)]
    return _unique(out)


def buyer_needles(tiktok_states: Iterable[Mapping[str, Any]]) -> list[Needle]:
    """Buyer names, phones, street addresses and emails of every TikTok order (unmasked, from
    the emulator's state). Phones also in digits-only and without the country prefix."""
    out: list[Needle] = []
    for state in tiktok_states:
        for order in state["orders"]:
            r = order["recipient"]
            name = f"{r['first_name']} {r['last_name']}".strip()
            if name:
                out.append(Needle("buyer name", name))
            phone = str(r.get("phone") or "")
            if phone:
                local = phone.split(")", 1)[-1]
                digits = re.sub(r"\D", "", local)
                out += [Needle("buyer phone", phone), Needle("buyer phone", local)]
                if len(digits) >= 10:
                    out.append(Needle("buyer phone", digits))
            if r.get("address_line1"):
                out.append(Needle("buyer address", r["address_line1"]))
            if order.get("buyer_email"):
                out.append(Needle("buyer email", order["buyer_email"]))
    return _unique(out)


def _unique(needles: Iterable[Needle]) -> list[Needle]:
    seen: dict[str, Needle] = {}
    for n in needles:
        if n.text and n.text.lower() not in seen:
            seen[n.text.lower()] = n
    return list(seen.values())


@dataclass
class ScanResult:
    """Where needles were found: (output, needle kind) pairs; never the values themselves."""

    outputs: int = 0
    chars: int = 0
    needles: int = 0
    needle_kinds: dict[str, int] = field(default_factory=dict)  # kind -> values searched
    labels: list[str] = field(default_factory=list)  # every output scanned
    hits: list[tuple[str, str]] = field(default_factory=list)


def output_texts(
    data_dir: Path, reports_dir: Path, log_files: Iterable[Path]
) -> Iterator[tuple[str, str]]:
    """Every output as (label, text): logs; each DuckDB table exported with COPY to CSV and
    the raw file bytes (and WAL); every report CSV, Parquet (read through pandas) or other
    file under the reports folder."""
    for path in log_files:
        yield str(path), path.read_text(encoding="utf-8", errors="replace")
    with tempfile.TemporaryDirectory(prefix="chaos-scan-") as scratch:
        for db in sorted(data_dir.glob("*.duckdb")):
            yield from _duckdb_texts(db, Path(scratch))
            for raw in (db, db.with_name(db.name + ".wal")):
                if raw.exists():
                    # Mostly zero-filled blocks: each run of NULs becomes one space.
                    data = re.sub(rb"\x00+", b" ", raw.read_bytes())
                    yield f"{raw} (raw bytes)", data.decode("latin-1")
    for path in sorted(p for p in reports_dir.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            yield str(path), pd.read_parquet(path).to_csv(index=False)
        else:
            yield str(path), path.read_bytes().decode("utf-8", errors="replace")


def _duckdb_texts(db: Path, scratch: Path) -> Iterator[tuple[str, str]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables"
                " WHERE table_schema = 'main' AND table_type = 'BASE TABLE' ORDER BY 1"
            ).fetchall()
        ]
        for table in tables:
            out = scratch / f"{db.stem}-{table}.csv"
            con.execute(f"COPY (SELECT * FROM \"{table}\") TO '{out}' (HEADER, DELIMITER ',')")
            yield f"{db}:{table}", out.read_text(encoding="utf-8", errors="replace")
            out.unlink()
    finally:
        con.close()


def scan_outputs(texts: Iterable[tuple[str, str]], needles: list[Needle]) -> ScanResult:
    """Search every text (case-insensitively) for every needle."""
    result = ScanResult(needles=len(needles), needle_kinds=dict(Counter(n.kind for n in needles)))
    if not needles:
        return result
    kind = {n.text.lower(): n.kind for n in needles}
    for label, text in texts:
        result.outputs += 1
        result.chars += len(text)
        result.labels.append(label)
        low = text.lower()
        found: Counter[str] = Counter()
        for needle, what in kind.items():
            if n := low.count(needle):
                found[what] += n
        result.hits += [(label, f"{k} x{n}") for k, n in sorted(found.items())]
    return result


def permission_problems(data_dir: Path, reports_dir: Path) -> list[str]:
    """DuckDB files and their folder, report files and their folders: owner-only
    (``mode & 0o077 == 0``). The reports root itself is checked too."""
    paths = [data_dir, *data_dir.glob("*.duckdb*")]
    if reports_dir.exists():
        paths += [reports_dir, *reports_dir.rglob("*")]
    return [
        f"{p} is mode {p.stat().st_mode & 0o777:o}"
        for p in paths
        if p.exists() and p.stat().st_mode & 0o077
    ]
