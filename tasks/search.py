"""Search products on either side by title, seller SKU or id, with their mapping state.

Matching: case-insensitive substring on product id, variant ids, seller SKUs and title
(DuckDB, set-based), then fuzzy title matches (rapidfuzz ``WRatio``) to fill up to
``limit``. Each product shows its mapping state: for a TikTok product, mapped to which
store product (and how), or unmapped with the reason from the latest classification
(``mapping_state``, written by each auto-map run); for a store product, which TikTok
product is mapped to it, or which TikTok products match its SKUs but failed and why.
Amazon store products are variant families (parent ASIN) or standalone listings, as in
the mapping report.
"""

from __future__ import annotations

from typing import Literal

import duckdb
import pandas as pd
from rapidfuzz import fuzz, process

from tasks.mapping import REASONS
from tasks.warehouse import sql

Side = Literal["tiktok", "store", "both"]
FUZZY_CUTOFF = 70.0
RESULT_COLUMNS = ["side", "product_id", "title", "variants", "skus", "match", "score", "state"]


def _first_reason(reasons: list[str] | None) -> str | None:
    if not reasons:
        return None
    ranked = sorted(reasons, key=lambda r: REASONS.index(r) if r in REASONS else len(REASONS))
    return ", ".join(ranked)


def search_products(
    con: duckdb.DuckDBPyConnection,
    text: str,
    *,
    store_channel: str,
    side: Side = "both",
    limit: int = 20,
) -> pd.DataFrame:
    """Products matching ``text``, best first, with their mapping state (RESULT_COLUMNS)."""
    query = text.strip()
    if not query:
        raise ValueError("search text is empty")
    products = con.execute(sql("search/products"), [store_channel]).df()
    if side != "both":
        products = products[products["side"] == side]
    if products.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    needle = query.casefold()

    def where(row: pd.Series) -> tuple[str, float] | None:
        ids = [str(v) for v in row["variant_ids"]]
        skus = [str(s) for s in row["skus"] if s is not None]
        if needle == str(row["product_id"]).casefold() or needle in (s.casefold() for s in ids):
            return "id", 100.0
        if needle in (s.casefold() for s in skus):
            return "sku", 100.0
        if needle in str(row["product_id"]).casefold() or any(needle in s.casefold() for s in ids):
            return "id", 90.0
        if any(needle in s.casefold() for s in skus):
            return "sku", 90.0
        if needle in str(row["title"] or "").casefold():
            return "title", 90.0
        return None

    # Substring candidates first (vectorised prefilter, then the exact labelling).
    lowered = (
        products["product_id"].astype(str).str.casefold()
        + "\x00"
        + products["title"].fillna("").astype(str).str.casefold()
        + "\x00"
        + products["skus"]
        .map(lambda v: "\x00".join(str(s) for s in v if s is not None))
        .str.casefold()
        + "\x00"
        + products["variant_ids"].map(lambda v: "\x00".join(map(str, v))).str.casefold()
    )
    hits = products[lowered.str.contains(needle, regex=False)].copy()
    labels = [where(r) for _, r in hits.iterrows()]
    hits["match"] = [lbl[0] if lbl else "text" for lbl in labels]
    hits["score"] = [lbl[1] if lbl else 80.0 for lbl in labels]
    found = hits
    if len(found) < limit:
        rest = products.drop(index=hits.index)
        titles = rest["title"].fillna("").astype(str).tolist()
        fuzzy = process.extract(
            query,
            titles,
            scorer=fuzz.WRatio,
            processor=str.casefold,
            limit=limit - len(found),
            score_cutoff=FUZZY_CUTOFF,
        )
        if fuzzy:
            picked = rest.iloc[[i for _, _, i in fuzzy]].copy()
            picked["match"] = "fuzzy title"
            picked["score"] = [round(s, 1) for _, s, _ in fuzzy]
            found = pd.concat([found, picked])
    found = found.sort_values(["score", "side", "product_id"], ascending=[False, False, True])
    found = found.head(limit).reset_index(drop=True)
    found["state"] = _states(con, found)
    found["skus"] = found["skus"].map(
        lambda v: (
            ", ".join(str(s) for s in list(v)[:5] if s is not None)
            + (f" (+{len(v) - 5})" if len(v) > 5 else "")
        )
    )
    found["variants"] = found["variants"].astype(int)
    return found[RESULT_COLUMNS]


def _states(con: duckdb.DuckDBPyConnection, found: pd.DataFrame) -> list[str]:
    tiktok_ids = found.loc[found["side"] == "tiktok", "product_id"].tolist()
    store_ids = found.loc[found["side"] == "store", "product_id"].tolist()
    tstate = con.execute(sql("search/tiktok_state"), [tiktok_ids]).df().set_index("product_id")
    sstate = con.execute(sql("search/store_state"), [store_ids]).df().set_index("product_id")
    sfailed = con.execute(sql("search/store_failed"), [store_ids]).df().set_index("product_id")
    out = []
    for row in found.itertuples(index=False):
        pid = row.product_id
        if row.side == "tiktok":
            st = tstate.loc[pid] if pid in tstate.index else None
            if st is None or st["classified"] == 0:
                out.append("not classified yet (run the catalog sync)")
            elif st["mapped"] == st["skus"]:
                out.append(f"mapped to {st['mapped_to']} ({st['methods']})")
            elif st["mapped"]:
                out.append(
                    f"partly mapped to {st['mapped_to']} ({st['methods']}); "
                    f"{st['skus'] - st['mapped']} SKUs unmapped: "
                    f"{_first_reason(list(st['reasons']))}"
                )
            else:
                out.append(f"unmapped: {_first_reason(list(st['reasons']))}")
        elif pid in sstate.index:
            out.append(
                f"mapped from TikTok {sstate.loc[pid, 'mapped_from']} "
                f"({sstate.loc[pid, 'methods']})"
            )
        elif pid in sfailed.index:
            out.append(
                f"unmapped; TikTok {sfailed.loc[pid, 'tiktok']} failed: "
                f"{_first_reason(list(sfailed.loc[pid, 'reasons']))}"
            )
        else:
            out.append("unmapped")
    return out


def format_table(frame: pd.DataFrame, *, width: int = 40) -> str:
    """A plain-text table for the terminal (long cells cut to ``width``)."""
    if frame.empty:
        return "No products found."
    shown = frame.drop(columns=["score"]).astype(str)
    shown = shown.apply(
        lambda col: col.map(lambda v: v if len(v) <= width else v[: width - 1] + "…")
    )
    shown.columns = [c.upper() for c in shown.columns]
    return shown.to_string(index=False, justify="left")
