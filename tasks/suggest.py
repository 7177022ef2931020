"""Suggestions for TikTok SKUs that failed to map: a likely store variant, never applied.

For every unmapped TikTok SKU with a SKU-level failure (MISSING_SKU, SKU_NOT_FOUND,
DUPLICATE_STORE_SKU) the best candidate of, in rank order:

0. the store's report delivered a SKU that this one becomes when characters outside
   Cp1252 are replaced by "?" (Amazon's All Listings report does that,
   https://github.com/amzn/selling-partner-api-models/issues/4888): the text says so and
   how to fix it, because no store variant can match until the SKU is renamed;
1. the same seller SKU after normalising Unicode look-alikes (NFKC), case, spaces and
   punctuation (DUPLICATE_STORE_SKU: the store variants sharing the SKU are named);
2. the same barcode (digits and letters only, compared exactly);
3. a very similar title + option values (rapidfuzz ``token_sort_ratio`` >= 85), compared
   only against store variants sharing at least one rare word with the TikTok SKU (words
   carried by more than ``max_token_df`` store variants are not used for blocking; at most
   ``max_candidates`` candidates per SKU), so it scales with the number of failures.

Unlinked store variants rank before linked ones. Normalisation and blocking run
vectorised (pyarrow compute, DuckDB); Python touches only the candidate pairs.

:func:`suggest_frame` gives each suggestion as text and as columns (the store variant, its
SKU, the basis: ``same_sku_normalised``, ``same_barcode``, ``similar_title_options`` or
``duplicate_store_sku``, where no single variant is named), so an unmapped list can be
turned into a CSV map file (``skubridge report --unmapped-only --as-map-csv``).
"""

from __future__ import annotations

import unicodedata

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import fuzz, process

from tasks.warehouse import sql

FUZZY_CUTOFF = 85.0
SUGGEST_REASONS = ("MISSING_SKU", "SKU_NOT_FOUND", "DUPLICATE_STORE_SKU")


def normalise_sku(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """NFKC, lower case, letters and digits only (vectorised); '' when nothing is left."""
    out = pc.utf8_normalize(pc.fill_null(values, ""), form="NFKC")
    out = pc.utf8_lower(out)
    return pc.replace_substring_regex(out, pattern=r"[^\p{L}\p{N}]+", replacement="")


def _words(values: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    out = pc.utf8_lower(pc.utf8_normalize(pc.fill_null(values, ""), form="NFKC"))
    out = pc.replace_substring_regex(out, pattern=r"[^\p{L}\p{N}]+", replacement=" ")
    return pc.utf8_trim_whitespace(out)


def describe_sku_difference(tiktok_sku: str, store_sku: str) -> str:
    """Why two SKUs that normalise alike differ: case, look-alike characters or punctuation."""
    if tiktok_sku == store_sku:
        return "same SKU"
    if tiktok_sku.lower() == store_sku.lower():
        return "differs by case"
    nt, ns = unicodedata.normalize("NFKC", tiktok_sku), unicodedata.normalize("NFKC", store_sku)
    if nt == ns or nt.lower() == ns.lower():
        return "differs by look-alike characters"
    return "differs by spaces or punctuation"


def cp1252_altered(sku: str) -> str:
    """The SKU as a Cp1252 report delivers it: every character outside Cp1252 is "?"."""
    return sku.encode("cp1252", errors="replace").decode("cp1252")


def altered_sku_text(tiktok_sku: str, report_sku: str) -> str:
    """The suggestion for a TikTok SKU whose store twin arrives altered by the report."""
    outside = "".join(dict.fromkeys(c for c in tiktok_sku if cp1252_altered(c) == "?"))
    return (
        f"the store SKU arrives as {_quote(report_sku)}: the listings report is Cp1252 "
        f"and replaces {_quote(outside)} by '?', so the SKU cannot be matched or used in "
        "calls; rename it on both sides with Cp1252 characters only, or map by hand"
    )


def _altered(
    con: duckdb.DuckDBPyConnection, failed: pa.Table, store_channel: str
) -> dict[str, str]:
    """Texts for failed TikTok SKUs whose store SKU the report delivered altered."""
    report = {r[0] for r in con.execute(sql("suggest/altered_skus"), [store_channel]).fetchall()}
    if not report:
        return {}
    texts: dict[str, str] = {}
    ids, skus = failed["tiktok_sku_id"].to_pylist(), failed["seller_sku"].to_pylist()
    for sku_id, sku in zip(ids, skus, strict=True):
        if sku and "?" not in sku and (seen := cp1252_altered(sku)) != sku and seen in report:
            texts[sku_id] = altered_sku_text(sku, seen)
    return texts


def _quote(value: str | None) -> str:
    return repr(value if value is not None else "")


SUGGESTION_COLUMNS = [
    "suggestion",
    "suggested_store_variant_id",
    "suggested_store_sku",
    "suggestion_basis",
]
BASIS = {1: "same_sku_normalised", 2: "same_barcode", 3: "similar_title_options"}


def suggest(
    con: duckdb.DuckDBPyConnection,
    *,
    store_channel: str,
    max_token_df: int = 50,
    max_candidates: int = 20,
) -> pd.Series:
    """A suggestion text per failed TikTok SKU id (index), from the latest classification."""
    frame = suggest_frame(
        con, store_channel=store_channel, max_token_df=max_token_df, max_candidates=max_candidates
    )
    return frame["suggestion"] if len(frame) else pd.Series(dtype=object)


def suggest_frame(
    con: duckdb.DuckDBPyConnection,
    *,
    store_channel: str,
    max_token_df: int = 50,
    max_candidates: int = 20,
) -> pd.DataFrame:
    """Per failed TikTok SKU id (index): the suggestion text, store variant id, store SKU
    and basis (:data:`SUGGESTION_COLUMNS`), from the latest classification."""
    records: dict[str, dict[str, str | None]] = {}
    empty = pd.DataFrame(columns=SUGGESTION_COLUMNS, dtype=object)
    failed = con.sql(sql("suggest/failed_skus")).to_arrow_table()
    if failed.num_rows == 0:
        return empty
    store = con.sql(sql("suggest/store_variants"), params=[store_channel]).to_arrow_table()
    failed = failed.append_column("norm", normalise_sku(failed["seller_sku"]))
    failed = failed.append_column("words", _words(failed["text"]))
    failed = failed.append_column("bc", normalise_sku(failed["barcode"]))
    store = store.append_column("norm", normalise_sku(store["seller_sku"]))
    store = store.append_column("words", _words(store["text"]))
    store = store.append_column("bc", normalise_sku(store["barcode"]))

    con.register("sugg_t", failed)
    con.register("sugg_s", store)
    try:
        by_sku = con.execute(sql("suggest/same_sku")).df()
        by_barcode = con.execute(sql("suggest/same_barcode")).df()
        pairs = con.execute(
            sql("suggest/similar_title_pairs"),
            {"max_df": max_token_df, "max_candidates": max_candidates},
        ).df()
    finally:
        con.unregister("sugg_t")
        con.unregister("sugg_s")

    for sku_id, text in _altered(con, failed, store_channel).items():
        records[sku_id] = {
            "suggestion": text,
            "suggested_store_variant_id": None,
            "suggested_store_sku": None,
            "suggestion_basis": "altered_by_report",
        }
    if len(pairs):
        scores = process.cpdist(
            pairs["t_text"].tolist(),
            pairs["s_text"].tolist(),
            scorer=fuzz.token_sort_ratio,
            workers=-1,
        )
        pairs = pairs.assign(score=scores, kind=3)
        pairs = pairs[pairs["score"] >= FUZZY_CUTOFF]
    reasons = dict(
        zip(failed["tiktok_sku_id"].to_pylist(), failed["reason"].to_pylist(), strict=True)
    )

    # DUPLICATE_STORE_SKU: name the store variants that share the exact SKU. A SKU found
    # exactly once is fine itself: it carries its product's reason, a sibling's failure.
    exact = by_sku[by_sku["t_sku"] == by_sku["s_sku"]] if len(by_sku) else by_sku
    for sku_id, group in exact.groupby("tiktok_sku_id") if len(exact) else ():
        ids = sorted(group["variant_id"])
        if len(ids) == 1:
            records.setdefault(
                sku_id,
                {
                    "suggestion": (
                        f"{ids[0]} carries this SKU (exact match); the product failed for its"
                        f" other SKUs ({reasons.get(sku_id)}): fix those, or map the product by"
                        " hand"
                    ),
                    "suggested_store_variant_id": ids[0],
                    "suggested_store_sku": group["s_sku"].iloc[0],
                    "suggestion_basis": "same_sku",
                },
            )
            continue
        shown = ", ".join(ids[:3]) + (f" and {len(ids) - 3} more" if len(ids) > 3 else "")
        records.setdefault(
            sku_id,
            {
                "suggestion": f"{len(ids)} store variants carry this SKU: {shown}; keep one",
                "suggested_store_variant_id": None,
                "suggested_store_sku": group["s_sku"].iloc[0],
                "suggestion_basis": "duplicate_store_sku",
            },
        )

    ranked = pd.concat(
        [
            by_sku[by_sku["t_sku"] != by_sku["s_sku"]] if len(by_sku) else by_sku,
            by_barcode,
            pairs,
        ],
        ignore_index=True,
    )
    if len(ranked) == 0:
        return _frame(records, empty)
    store_sku = dict(
        zip(store["variant_id"].to_pylist(), store["seller_sku"].to_pylist(), strict=True)
    )
    ranked = ranked.sort_values(
        ["tiktok_sku_id", "kind", "linked", "score", "variant_id"],
        ascending=[True, True, True, False, True],
    ).drop_duplicates("tiktok_sku_id")
    for row in ranked.itertuples(index=False):
        if row.tiktok_sku_id in records or reasons.get(row.tiktok_sku_id) not in SUGGEST_REASONS:
            continue
        if row.kind == 1:
            why = f"sku {_quote(row.s_sku)} {describe_sku_difference(row.t_sku, row.s_sku)}"
        elif row.kind == 2:
            why = f"same barcode {_quote(row.barcode)}"
        else:
            why = f"similar title and options {_quote(row.s_text)}, score {row.score:.0f}"
        linked = "; already linked to another TikTok SKU" if row.linked else ""
        records[row.tiktok_sku_id] = {
            "suggestion": f"{row.variant_id} ({why}{linked})",
            "suggested_store_variant_id": row.variant_id,
            "suggested_store_sku": store_sku.get(row.variant_id),
            "suggestion_basis": BASIS[int(row.kind)],
        }
    return _frame(records, empty)


def _frame(records: dict[str, dict[str, str | None]], empty: pd.DataFrame) -> pd.DataFrame:
    if not records:
        return empty
    return pd.DataFrame.from_dict(records, orient="index", columns=SUGGESTION_COLUMNS).astype(
        object
    )
