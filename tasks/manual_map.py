"""Mapping by hand: one TikTok product to one store product, or many SKUs from a CSV file.

Product map (``skubridge map --tiktok-product ID --store-product ID``, flow ``map-product``):
the variants are paired by explicit ``--pair`` first, then exact seller SKU, normalised SKU,
barcode and option values (:mod:`tasks.variant_pairing`), never by position: a variant
that cannot be paired so is refused with both sides listed and the ``--pair`` syntax;
different variant counts are refused. On
Shopify the TikTok seller SKUs are written onto the paired store variants
(``set_variant_skus``), read back (``variant_skus``) and compared; only then
are the links recorded (method ``manual``). Amazon seller SKUs cannot be renamed, so there
the links are recorded only and the result says so. A dry run plans and writes nothing.

CSV map (``skubridge map --csv FILE``): columns ``tiktok_sku_id`` or ``seller_sku`` and
``store_variant_id`` or ``store_sku``; every row is checked on its own (blank, padded,
Unicode look-alike, unknown, ambiguous, duplicated, already linked elsewhere, one TikTok
product spread over several store products) and gets ``mapped`` or ``error`` with a reason;
bad rows never stop the others. CSV links are recorded (method ``csv``); no SKU is written
to the store (:data:`CSV_SHOPIFY_NOTE` says why) and nothing goes to a marketplace, so there
is no confirmation step (``--dry-run`` previews). The rules between rows run until no row
changes: a store variant linked to TikTok SKU T is taken only if T's own row is accepted,
so a CSV never links one store variant to two TikTok SKUs (and :func:`record_links`
refuses the whole batch if it would). Amazon standalone listings (no parent ASIN) are
products of their own: one TikTok product may go to several of them, as auto-map allows.

Links record the store variant's SKU at link time (``mappings.store_sku``): auto-map drops
a manual/csv link only when that SKU later changes or a side vanishes (tasks/mapping.py).
"""

from __future__ import annotations

import csv
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from connectors.base import NotSupportedError, StoreApi
from tasks import variant_pairing
from tasks.variant_pairing import VariantPair, parse_pairs

__all__ = ["ManualMapError", "VariantPair", "pair_variants", "parse_pairs"]

_TIKTOK_VARIANTS = """
SELECT variant_id, seller_sku, options, barcode,
       coalesce(nullif(variant_title, ''), title) AS label, title
FROM catalog_variants
WHERE channel = 'tiktok' AND product_id = ? ORDER BY variant_id
"""

# Amazon: a family id is a parent ASIN; a standalone listing is found by its product id or SKU.
_STORE_VARIANTS = """
SELECT variant_id, seller_sku, options, barcode,
       coalesce(nullif(variant_title, ''), title) AS label,
       CASE WHEN ? = 'amazon' THEN coalesce(nullif(trim(parent_id), ''), product_id)
            ELSE product_id END AS store_product_id,
       title
FROM catalog_variants
WHERE channel = ?
  AND (product_id = ? OR (? = 'amazon' AND (parent_id = ? OR variant_id = ?)))
ORDER BY variant_id
"""


class ManualMapError(Exception):
    """The manual map cannot be done; the message says why and what to do."""


@dataclass
class ManualMapPlan:
    """What a product map would do (a dry run prints this)."""

    store_channel: str
    tiktok_product_id: str
    store_product_id: str
    pairs: list[VariantPair]
    replaced: list[str] = field(default_factory=list)  # TikTok SKU ids whose old link goes
    # map --replace: links of other TikTok products to this store product, unmapped first
    displaced: list[tuple[str, str, str, str]] = field(default_factory=list)

    @property
    def writes_skus(self) -> bool:
        return self.store_channel == "shopify" and any(p.needs_write for p in self.pairs)

    def frame(self, *, applied: bool) -> pd.DataFrame:
        """One row per pair: what was (or would be) done."""
        rows = []
        for p in self.pairs:
            if self.store_channel == "amazon":
                action = "link recorded only (Amazon seller SKUs cannot be renamed)"
            elif p.needs_write:
                action = "store SKU set to the TikTok seller SKU"
            else:
                action = "store SKU already equal"
            if not applied:
                action = "would: " + action.replace("recorded", "be recorded").replace(
                    "set to", "be set to"
                )
            rows.append(
                {
                    "tiktok_product_id": self.tiktok_product_id,
                    "tiktok_sku_id": p.tiktok_sku_id,
                    "tiktok_seller_sku": p.tiktok_seller_sku,
                    "store_product_id": self.store_product_id,
                    "store_variant_id": p.store_variant_id,
                    "store_sku_before": p.store_sku,
                    "paired_by": p.paired_by,
                    "tiktok_options": p.tiktok_options,
                    "store_options": p.store_options,
                    "action": action,
                }
            )
        return pd.DataFrame(rows)

    def lines(self, *, applied: bool) -> list[str]:
        """Human-readable description for the CLI and the flow's artifact."""
        head = (
            f"TikTok product {self.tiktok_product_id} -> {self.store_channel} product "
            f"{self.store_product_id} ({len(self.pairs)} variants)"
        )
        out = [head]
        for p in self.pairs:
            if self.store_channel == "shopify" and p.needs_write:
                what = f"store SKU {p.store_sku!r} -> {p.tiktok_seller_sku!r}"
            else:
                what = f"store SKU {p.store_sku!r} unchanged"
            out.append(
                f"  {p.tiktok_sku_id} ({p.tiktok_seller_sku!r}; {p.tiktok_options}) <-> "
                f"{p.store_variant_id} ({p.store_options}): {what} [paired by {p.paired_by}]"
            )
        if self.store_channel == "amazon":
            out.append(
                "Amazon seller SKUs cannot be renamed: the links are recorded, the SKUs stay "
                "as they are."
            )
        if self.replaced:
            out.append(f"Replaces the existing links of {len(self.replaced)} TikTok SKUs.")
        for product, sku, variant, method in self.displaced:
            out.append(
                f"  unmaps TikTok product {product} SKU {sku} from {variant} ({method}; --replace)"
            )
        out.append("Applied." if applied else "Dry run: nothing was written.")
        return out


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def _labelled(row: tuple[Any, ...], product_title: str | None) -> tuple[Any, ...]:
    """A variant row whose label is dropped when it only repeats the product title."""
    return (*row[:4], None if row[4] == product_title else row[4])


def pair_variants(
    tiktok: list[tuple[Any, ...]],
    store: list[tuple[Any, ...]],
    *,
    explicit: list[tuple[str, str]] | None = None,
    tiktok_title: str | None = None,
    store_title: str | None = None,
) -> list[VariantPair]:
    """Pair (id, sku, options[, barcode[, title]]) rows by explicit pair, exact SKU,
    normalised SKU, barcode, then option values (:mod:`tasks.variant_pairing`).

    Raises ManualMapError when the counts differ or some variant cannot be paired.
    """
    try:
        return variant_pairing.pair_variants(
            tiktok,
            store,
            explicit=explicit or (),
            tiktok_title=tiktok_title,
            store_title=store_title,
        )
    except variant_pairing.PairingError as exc:
        raise ManualMapError(str(exc)) from None


def plan_product_map(
    con: duckdb.DuckDBPyConnection,
    *,
    store_channel: str,
    tiktok_product_id: str,
    store_product_id: str,
    replace: bool = False,
    pairs: list[tuple[str, str]] | None = None,
) -> ManualMapPlan:
    """Check and pair a product map against the catalogs in DuckDB (writes nothing).

    ``replace``: a store product already linked to another TikTok product is taken over
    (those links are unmapped first, tasks/unmap.py) instead of refused. ``pairs``:
    explicit (TikTok SKU id or seller SKU, store variant id or SKU) pairs, applied before
    the automatic ones (:mod:`tasks.variant_pairing`)."""
    tiktok = con.execute(_TIKTOK_VARIANTS, [tiktok_product_id]).fetchall()
    if not tiktok:
        raise ManualMapError(
            f"no TikTok product {tiktok_product_id!r} in the imported catalog "
            "(run a catalog sync first, or find the id with `skubridge search`)"
        )
    rows = con.execute(
        _STORE_VARIANTS,
        [store_channel, store_channel, store_product_id, store_channel, store_product_id,
         store_product_id],
    ).fetchall()  # fmt: skip
    if not rows:
        raise ManualMapError(
            f"no {store_channel} product {store_product_id!r} in the imported catalog "
            "(run a catalog sync first, or find the id with `skubridge search`)"
        )
    family = rows[0][5]
    store_title, tiktok_title = rows[0][6], tiktok[0][5]
    store = [_labelled(r[:5], store_title) for r in rows]
    tiktok = [_labelled(r[:5], tiktok_title) for r in tiktok]
    if store_channel == "shopify":
        skus = [t[1] for t in tiktok]
        if any(_blank(s) for s in skus):
            raise ManualMapError(
                "a TikTok variant of this product has no seller SKU; set one in TikTok Seller "
                "Center (skubridge writes the TikTok SKUs onto the Shopify variants)"
            )
        if len(set(skus)) != len(skus):
            raise ManualMapError("two TikTok variants of this product share a seller SKU")
    pairs = pair_variants(
        tiktok, store, explicit=pairs, tiktok_title=tiktok_title, store_title=store_title
    )
    variant_ids = [p.store_variant_id for p in pairs]
    holders = con.execute(
        "SELECT DISTINCT tiktok_product_id, store_variant_id FROM mappings"
        " WHERE (store_variant_id IN (SELECT unnest(?)) OR store_product_id = ?)"
        " AND tiktok_product_id <> ?",
        [variant_ids, family, tiktok_product_id],
    ).fetchall()
    if holders and not replace:
        raise ManualMapError(
            f"store product {family} is already mapped to TikTok product {holders[0][0]}; "
            "a store product maps to one TikTok product (to move the link here in one step, "
            "add --replace)"
        )
    displaced = [
        (str(r[0]), str(r[1]), str(r[2]), str(r[3]))
        for r in con.execute(
            "SELECT tiktok_product_id, tiktok_sku_id, store_variant_id, method FROM mappings"
            " WHERE list_contains(?, tiktok_product_id) ORDER BY 1, 2",
            [sorted({str(h[0]) for h in holders})],
        ).fetchall()
    ]
    if store_channel == "shopify":
        # Writing a SKU that another store variant already carries would make it ambiguous.
        clash = con.execute(
            "SELECT seller_sku, variant_id FROM catalog_variants WHERE channel = 'shopify'"
            " AND seller_sku IN (SELECT unnest(?)) AND variant_id NOT IN (SELECT unnest(?))",
            [[p.tiktok_seller_sku for p in pairs], variant_ids],
        ).fetchall()
        if clash:
            raise ManualMapError(
                f"SKU {clash[0][0]!r} is already on another Shopify variant ({clash[0][1]}); "
                "writing it here would make the SKU ambiguous"
            )
    replaced = [
        r[0]
        for r in con.execute(
            "SELECT tiktok_sku_id FROM mappings WHERE tiktok_product_id = ? ORDER BY 1",
            [tiktok_product_id],
        ).fetchall()
    ]
    return ManualMapPlan(store_channel, tiktok_product_id, family, pairs, replaced, displaced)


async def write_store_skus(store: StoreApi, plan: ManualMapPlan) -> dict[str, str | None] | None:
    """Set the TikTok SKUs on the store variants and read them back.

    Returns the store SKU per variant as read back; raises ManualMapError on a difference.
    None when the store cannot rename seller SKUs (Amazon: ``NotSupportedError``): the
    links are then recorded only, as the plan's report says.
    """
    wanted = {p.store_variant_id: p.tiktok_seller_sku for p in plan.pairs if p.needs_write}
    try:
        if wanted:
            await store.set_variant_skus(plan.store_product_id, wanted)  # type: ignore[arg-type]
        seen = await store.variant_skus(plan.store_product_id)
    except NotSupportedError:
        return None
    wrong = [
        f"{p.store_variant_id} reads {seen.get(p.store_variant_id)!r}, "
        f"expected {p.tiktok_seller_sku!r}"
        for p in plan.pairs
        if seen.get(p.store_variant_id) != p.tiktok_seller_sku
    ]
    if wrong:
        raise ManualMapError("the SKU write did not hold: " + "; ".join(wrong))
    return seen


def record_links(
    con: duckdb.DuckDBPyConnection,
    rows: pd.DataFrame,
    *,
    method: str,
    run_id: str,
    now: datetime | None = None,
) -> int:
    """Record links (columns tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id,
    store_variant_id, store_sku): replace other links of those TikTok SKUs (event
    'dropped' REPLACED_BY_<METHOD>), keep ``mapped_at`` of an identical pair, and log
    'linked' for new or changed links. Returns the number of links written."""
    if rows.empty:
        return 0
    now = now or datetime.now(UTC)
    con.register("_manual_links", rows)
    try:
        con.execute("BEGIN TRANSACTION")
        con.execute(
            "CREATE OR REPLACE TEMP TABLE _manual_prev AS SELECT m.* FROM mappings m"
            " JOIN _manual_links n USING (tiktok_sku_id)"
        )
        con.execute(
            "INSERT INTO mapping_events SELECT ?, ?, p.tiktok_sku_id, p.tiktok_product_id,"
            " p.store_variant_id, 'dropped', p.method, 'REPLACED_BY_' || upper(?)"
            " FROM _manual_prev p JOIN _manual_links n USING (tiktok_sku_id)"
            " WHERE p.store_variant_id <> n.store_variant_id",
            [now, run_id, method],
        )
        con.execute(
            "DELETE FROM mappings WHERE tiktok_sku_id IN (SELECT tiktok_sku_id FROM _manual_links)"
        )
        con.execute(
            "INSERT INTO mappings (tiktok_sku_id, tiktok_product_id, seller_sku, store_product_id,"
            " store_variant_id, method, mapped_at, run_id, store_sku)"
            " SELECT n.tiktok_sku_id, n.tiktok_product_id, n.seller_sku, n.store_product_id,"
            " n.store_variant_id, ?,"
            " CASE WHEN p.store_variant_id = n.store_variant_id THEN p.mapped_at ELSE ? END,"
            " ?, n.store_sku"
            " FROM _manual_links n LEFT JOIN _manual_prev p USING (tiktok_sku_id)",
            [method, now, run_id],
        )
        twice = con.execute(
            "SELECT store_variant_id, string_agg(tiktok_sku_id, ', ' ORDER BY tiktok_sku_id)"
            " FROM mappings WHERE store_variant_id IN (SELECT store_variant_id FROM _manual_links)"
            " GROUP BY 1 HAVING count(*) > 1 ORDER BY 1"
        ).fetchall()
        if twice:  # one store variant feeds one TikTok SKU's stock, never two
            raise ManualMapError(
                f"store variant {twice[0][0]} would be linked to TikTok SKUs {twice[0][1]}; "
                "nothing was recorded"
            )
        con.execute(
            "INSERT INTO mapping_events SELECT ?, ?, n.tiktok_sku_id, n.tiktok_product_id,"
            " n.store_variant_id, 'linked', ?, NULL"
            " FROM _manual_links n LEFT JOIN _manual_prev p USING (tiktok_sku_id)"
            " WHERE p.tiktok_sku_id IS NULL OR p.store_variant_id <> n.store_variant_id"
            " OR p.method <> ?",
            [now, run_id, method, method],
        )
        con.execute("DROP TABLE temp._manual_prev")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        con.unregister("_manual_links")
    return len(rows)


def record_product_map(
    con: duckdb.DuckDBPyConnection,
    plan: ManualMapPlan,
    *,
    store_skus: dict[str, str | None],
    run_id: str,
    now: datetime | None = None,
) -> int:
    """Record a product map's links (method manual); Shopify: refresh the written SKUs in
    the accepted catalog so the next auto-map sees what the store now holds."""
    rows = pd.DataFrame(
        [
            {
                "tiktok_sku_id": p.tiktok_sku_id,
                "tiktok_product_id": plan.tiktok_product_id,
                "seller_sku": p.tiktok_seller_sku,
                "store_product_id": plan.store_product_id,
                "store_variant_id": p.store_variant_id,
                "store_sku": store_skus.get(p.store_variant_id, p.store_sku),
            }
            for p in plan.pairs
        ]
    )
    if plan.store_channel == "shopify":
        con.executemany(
            "UPDATE catalog_variants SET seller_sku = ? WHERE channel = 'shopify'"
            " AND variant_id = ?",
            [[sku, vid] for vid, sku in store_skus.items()],
        )
    return record_links(con, rows, method="manual", run_id=run_id, now=now)


# --- CSV ----------------------------------------------------------------------------------
CSV_RESULT_COLUMNS = ["row", "tiktok_sku_id", "store_variant_id", "result", "reason"]


def _check_text(value: Any, column: str) -> tuple[str | None, str | None]:
    """(value, error): blank, padded and Unicode look-alike values are errors."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None, f"{column} is blank"
    text = str(value)
    if text.strip() == "":
        return None, f"{column} is blank"
    if text != text.strip():
        return None, f"{column} {text!r} has leading or trailing spaces"
    if unicodedata.normalize("NFKC", text) != text:
        return None, (
            f"{column} {text!r} contains Unicode look-alike characters "
            f"(plain form {unicodedata.normalize('NFKC', text)!r})"
        )
    return text, None


def plan_csv_map(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, *, store_channel: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check every CSV row; returns (results per row, links to record for the good rows)."""
    cols = set(frame.columns)
    t_col = "tiktok_sku_id" if "tiktok_sku_id" in cols else "seller_sku"
    s_col = "store_variant_id" if "store_variant_id" in cols else "store_sku"
    if t_col not in cols or s_col not in cols:
        raise ManualMapError(
            "the CSV needs a column tiktok_sku_id or seller_sku, and a column "
            "store_variant_id or store_sku"
        )
    tiktok = con.execute(
        "SELECT variant_id, product_id, seller_sku FROM catalog_variants WHERE channel='tiktok'"
    ).df()
    store = con.execute(
        "SELECT variant_id, seller_sku, CASE WHEN ? = 'amazon'"
        " THEN coalesce(nullif(trim(parent_id), ''), product_id) ELSE product_id END AS pid,"
        " ? = 'amazon' AND nullif(trim(parent_id), '') IS NULL AS standalone"
        " FROM catalog_variants WHERE channel = ?",
        [store_channel, store_channel, store_channel],
    ).df()
    t_key = "variant_id" if t_col == "tiktok_sku_id" else "seller_sku"
    s_key = "variant_id" if s_col == "store_variant_id" else "seller_sku"
    t_index = tiktok.groupby(t_key)["variant_id"].apply(list).to_dict()
    s_index = store.groupby(s_key)["variant_id"].apply(list).to_dict()
    t_info = tiktok.set_index("variant_id").to_dict("index")
    s_info = store.set_index("variant_id").to_dict("index")
    links = con.execute(
        "SELECT tiktok_sku_id, tiktok_product_id, store_variant_id, store_product_id FROM mappings"
    ).df()
    linked_variant = dict(zip(links["store_variant_id"], links["tiktok_sku_id"], strict=True))
    product_holder = dict(zip(links["store_product_id"], links["tiktok_product_id"], strict=True))

    results: list[dict[str, Any]] = []
    for i, rec in enumerate(frame.to_dict("records"), start=2):  # row 1 is the header
        out = {"row": i, "tiktok_sku_id": None, "store_variant_id": None, "reason": None}
        t_val, err = _check_text(rec.get(t_col), t_col)
        s_val, s_err = _check_text(rec.get(s_col), s_col)
        err = err or s_err
        if err is None:
            t_ids = t_index.get(t_val, [])
            if not t_ids:
                err = f"no TikTok SKU with {t_col} {t_val!r}"
            elif len(t_ids) > 1:
                err = f"{t_col} {t_val!r} is on {len(t_ids)} TikTok SKUs; use tiktok_sku_id"
            else:
                out["tiktok_sku_id"] = t_ids[0]
        if err is None:
            s_ids = s_index.get(s_val, [])
            if not s_ids:
                err = f"no {store_channel} variant with {s_col} {s_val!r}"
            elif len(s_ids) > 1:
                err = f"{s_col} {s_val!r} is on {len(s_ids)} store variants; use store_variant_id"
            else:
                out["store_variant_id"] = s_ids[0]
        out["reason"] = err
        results.append(out)
    res = pd.DataFrame(results, columns=["row", "tiktok_sku_id", "store_variant_id", "reason"])

    def flag(mask: pd.Series, reason: Any) -> None:
        todo = mask & res["reason"].isna()
        res.loc[todo, "reason"] = [reason(r) for r in res[todo].itertuples()]

    res["tiktok_product_id"] = res["tiktok_sku_id"].map(
        lambda v: t_info.get(v, {}).get("product_id")
    )
    res["store_product_id"] = res["store_variant_id"].map(lambda v: s_info.get(v, {}).get("pid"))
    res["standalone"] = res["store_variant_id"].map(
        lambda v: bool(s_info.get(v, {}).get("standalone"))
    )
    # The rules below depend on each other (a listing linked to TikTok SKU T is free only if
    # T's own row is accepted and moves T elsewhere), so they run until no row changes.
    while True:
        good_before = int(res["reason"].isna().sum())
        _flag_csv_rules(res, flag, linked_variant, product_holder, store_channel)
        if int(res["reason"].isna().sum()) == good_before:
            break
    res["result"] = res["reason"].isna().map({True: "mapped", False: "error"})
    good = res[res["result"] == "mapped"]
    link_rows = pd.DataFrame(
        {
            "tiktok_sku_id": good["tiktok_sku_id"],
            "tiktok_product_id": good["tiktok_product_id"],
            "seller_sku": good["tiktok_sku_id"].map(lambda v: t_info[v]["seller_sku"]),
            "store_product_id": good["store_product_id"],
            "store_variant_id": good["store_variant_id"],
            "store_sku": good["store_variant_id"].map(lambda v: s_info[v]["seller_sku"]),
        }
    )
    res = res[CSV_RESULT_COLUMNS].astype(object)
    return res.where(res.notna(), None), link_rows


def _flag_csv_rules(
    res: pd.DataFrame,
    flag: Any,
    linked_variant: dict[str, str],
    product_holder: dict[str, str],
    store_channel: str,
) -> None:
    """One pass of the rules between rows (see :func:`plan_csv_map`); only adds errors."""
    ok = res["reason"].isna()
    for col, label in (("tiktok_sku_id", "TikTok SKU"), ("store_variant_id", "store variant")):
        rows_of = res[ok].groupby(col)["row"].apply(list)
        dup = {k: v for k, v in rows_of.items() if len(v) > 1}
        flag(
            res[col].isin(dup),
            lambda r, col=col, label=label, dup=dup: (
                f"{label} {getattr(r, col)} is on rows " + ", ".join(map(str, dup[getattr(r, col)]))
            ),
        )
    # A store variant linked to another TikTok SKU is free only when that SKU's own row is
    # accepted (it moves elsewhere); otherwise the variant would be linked twice.
    moving = set(res.loc[res["reason"].isna(), "tiktok_sku_id"])
    in_csv = set(res["tiktok_sku_id"].dropna())

    def holder_text(r: Any) -> str:
        holder = linked_variant[r.store_variant_id]
        refused = " (its own row is refused, so it keeps the link)" if holder in in_csv else ""
        return f"store variant already linked to TikTok SKU {holder}{refused}"

    flag(
        res["store_variant_id"].map(lambda v: linked_variant.get(v) not in (None, *moving))
        & res["store_variant_id"].notna(),
        holder_text,
    )
    good = res[res["reason"].isna()]
    # Amazon standalone listings are products of their own: one TikTok product may go to
    # several of them (as auto-map allows), but not to listings of a family as well.
    families = good[~good["standalone"]].groupby("tiktok_product_id")["store_product_id"].nunique()
    mixed = good.groupby("tiktok_product_id")["standalone"].nunique()
    spread = set(families[families > 1].index) | set(mixed[mixed > 1].index)
    if store_channel != "amazon":
        plain = good.groupby("tiktok_product_id")["store_product_id"].nunique()
        spread |= set(plain[plain > 1].index)
    flag(
        res["tiktok_product_id"].isin(spread),
        lambda r: f"TikTok product {r.tiktok_product_id} would map to several store products",
    )
    good = res[res["reason"].isna()]
    owners = good.groupby("store_product_id")["tiktok_product_id"].nunique()
    shared = set(owners[owners > 1].index)
    flag(
        res["store_product_id"].isin(shared),
        lambda r: f"store product {r.store_product_id} would map to several TikTok products",
    )
    # A store product (Shopify product, Amazon family) maps to one TikTok product; an Amazon
    # standalone listing is covered by the per-variant rule above.
    flag(
        ~res["standalone"]
        & res["store_product_id"].map(lambda p: product_holder.get(p) is not None)
        & (res["store_product_id"].map(product_holder.get) != res["tiktok_product_id"]),
        lambda r: (
            f"store product {r.store_product_id} is mapped to TikTok product "
            f"{product_holder[r.store_product_id]}"
        ),
    )


def _check_field_counts(path: Path) -> None:
    """Refuse a row with more fields than the header (pandas would silently shift it into
    the index and misread every column of that row), naming its line."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header is None:
            raise ManualMapError(f"{path}: the file is empty (expected a header row)")
        for row in reader:
            if len(row) > len(header):
                raise ManualMapError(
                    f"{path}: line {reader.line_num} has {len(row)} fields, the header has "
                    f"{len(header)} (quote values that contain a comma); nothing was mapped"
                )


def read_mapping_csv(path: str | Path) -> pd.DataFrame:
    """The mapping CSV as text (no type guessing, empty cells stay empty strings).

    Refused with one line: a folder, a missing or unreadable file, a row with more fields
    than the header, a file with no rows under its header."""
    path = Path(path)
    if path.is_dir():
        raise ManualMapError(f"{path} is a folder, not a CSV file")
    try:
        _check_field_counts(path)
        frame = pd.read_csv(
            path, dtype=str, keep_default_na=False, encoding="utf-8-sig", index_col=False
        )
    except FileNotFoundError:
        raise ManualMapError(f"{path}: no such file") from None
    except PermissionError:
        raise ManualMapError(f"{path}: permission denied") from None
    except (
        pd.errors.ParserError,
        UnicodeDecodeError,
        pd.errors.EmptyDataError,
        csv.Error,
    ) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ManualMapError(f"{path}: not a readable CSV file ({first})") from None
    if frame.empty:
        raise ManualMapError(f"{path}: no rows under the header; nothing to map")
    return frame


# --- whole operations (CLI and flow) -------------------------------------------------------
@dataclass
class ProductMapResult:
    """The outcome of a product map (or its dry run)."""

    plan: ManualMapPlan
    applied: bool
    run_id: str
    report_path: Path | None = None

    def lines(self) -> list[str]:
        out = self.plan.lines(applied=self.applied)
        if self.report_path:
            out.append(f"Report: {self.report_path}")
        return out


@dataclass
class CsvMapResult:
    """The outcome of a CSV map: one result row per input row."""

    results: pd.DataFrame
    dry_run: bool
    run_id: str
    result_path: Path | None = None

    @property
    def counts(self) -> dict[str, int]:
        return {str(k): int(v) for k, v in self.results["result"].value_counts().items()}


CSV_SHOPIFY_NOTE = (
    "CSV links are recorded in skubridge only: the Shopify SKUs are not changed (a CSV row "
    "links one SKU pair, and renaming store SKUs row by row could make a SKU ambiguous in "
    "the store). To write the TikTok seller SKUs onto a Shopify product's variants, map it "
    "with `skubridge map --tiktok-product ID --store-product ID`."
)
"""What CSV map does not do on Shopify, and why; printed with every Shopify CSV map."""


def _write_csv(frame: pd.DataFrame, path: Path) -> Path:
    import os

    old = os.umask(0o077)
    try:
        frame.to_csv(path, index=False)
    finally:
        os.umask(old)
    return path


async def map_product_by_hand(
    shop: Any,
    *,
    tiktok_product_id: str,
    store_product_id: str,
    dry_run: bool = False,
    run_id: str | None = None,
    client_kwargs: dict[str, Any] | None = None,
    replace: bool = False,
    pairs: list[str] | None = None,
) -> ProductMapResult:
    """Plan, then (unless ``dry_run``) write the SKUs (Shopify), verify, record the links.

    ``pairs``: explicit ``TIKTOK_SKU=STORE_VARIANT`` texts (``--pair``, flow parameter).

    ``shop`` is a :class:`skubridge.config.ShopConfig`. The warehouse is held open only
    while planning and while recording, not during the store calls.
    """
    from connectors.factory import store_client
    from tasks.reports import run_report_dir
    from tasks.runs import current_run_id, start_run
    from tasks.warehouse import check_output_dirs, open_shop

    run_id = run_id or current_run_id()
    try:
        explicit = parse_pairs(pairs)
    except variant_pairing.PairingError as exc:
        raise ManualMapError(str(exc)) from None
    with open_shop(shop.id) as con:
        plan = plan_product_map(
            con,
            store_channel=shop.store,
            tiktok_product_id=tiktok_product_id,
            store_product_id=store_product_id,
            replace=replace,
            pairs=explicit,
        )
    if dry_run:
        return ProductMapResult(plan, applied=False, run_id=run_id)
    # Where the result goes is settled before the store is written to (a reports folder
    # that is a file must not stop us after the SKUs were renamed).
    check_output_dirs()
    folder = run_report_dir(shop.id, run_id)
    store_skus: dict[str, str | None] = {p.store_variant_id: p.store_sku for p in plan.pairs}
    store = store_client(shop, **(client_kwargs or {}))
    try:
        written = await write_store_skus(store, plan)
    finally:
        await store.aclose()
    if written is not None:
        store_skus = written
    try:
        path = _write_csv(plan.frame(applied=True), folder / "manual_map.csv")
        with open_shop(shop.id) as con:
            start_run(con, run_id=run_id, flow="map-product", shop_id=shop.id)
            if plan.displaced:  # map --replace: the wrong link goes first (tasks/unmap.py)
                from tasks.unmap import apply_unmap

                apply_unmap(con, plan.displaced, run_id=run_id)
            record_product_map(con, plan, store_skus=store_skus, run_id=run_id)
            _finish(con, plan, run_id, folder, written)
    except Exception as exc:
        if written is None or not any(p.needs_write for p in plan.pairs):
            raise
        # The store already has the new SKUs: say exactly what, and how to finish.
        done = "; ".join(
            f"{p.store_variant_id}: {p.store_sku!r} -> {p.tiktok_seller_sku!r}"
            for p in plan.pairs
            if p.needs_write
        )
        raise ManualMapError(
            f"the store SKUs were written ({done}) but recording the links failed "
            f"({type(exc).__name__}: {exc}). Run the same map command again: the SKUs are "
            "in place, so it only records the links."
        ) from exc
    return ProductMapResult(plan, applied=True, run_id=run_id, report_path=path)


def _finish(
    con: Any, plan: ManualMapPlan, run_id: str, folder: Path, written: dict[str, Any] | None
) -> None:
    """Record the map run as COMPLETED with its summary."""
    from tasks.runs import finish_run

    finish_run(
        con,
        run_id=run_id,
        status="COMPLETED",
        report_dir=str(folder),
        summary={
            "tiktok_product_id": plan.tiktok_product_id,
            "store_product_id": plan.store_product_id,
            "links": len(plan.pairs),
            "skus_written": written is not None and sum(p.needs_write for p in plan.pairs),
        },
    )


def map_from_csv(
    shop: Any,
    csv_path: str | Path,
    *,
    dry_run: bool = False,
    run_id: str | None = None,
) -> CsvMapResult:
    """Check every CSV row, record the good ones (method csv) unless ``dry_run``, and write
    the per-row results next to the input (``<name>.result.csv``; the run's reports folder
    when that is not writable)."""
    from tasks.reports import run_report_dir
    from tasks.runs import current_run_id
    from tasks.warehouse import open_shop

    run_id = run_id or current_run_id()
    frame = read_mapping_csv(csv_path)
    with open_shop(shop.id) as con:
        results, links = plan_csv_map(con, frame, store_channel=shop.store)
        if dry_run:
            results["result"] = results["result"].replace({"mapped": "would map"})
        else:
            record_links(con, links, method="csv", run_id=run_id)
    source = Path(csv_path)
    try:
        path = _write_csv(results, source.with_name(source.stem + ".result.csv"))
    except OSError:
        path = _write_csv(results, run_report_dir(shop.id, run_id) / "csv_map_result.csv")
    return CsvMapResult(results, dry_run=dry_run, run_id=run_id, result_path=path)
