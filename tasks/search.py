"""Search products on either side by title, seller SKU or id, with their mapping state.

Matching, best first: the whole text as a case-insensitive substring of the product id,
variant ids, seller SKUs, title or option values; then word by word: every word of the
text must match a word of the product (title, option values, SKUs, ids) exactly, as a
prefix, through a small list of retail synonyms (``tee`` is a T-shirt), or fuzzily
(rapidfuzz ``ratio`` >= 80, for typos). Hyphenated words also count joined ("T-Shirt" is
``t``, ``shirt`` and ``tshirt``). Matching runs over the catalog's vocabulary, not per
product, so it stays fast on large catalogs.

Each product shows its mapping state: for a TikTok product, mapped to which store
product (and how), or unmapped with the reason from the latest classification
(``mapping_state``, written by each auto-map run); for a store product, which TikTok
product is mapped to it, or which TikTok products match its SKUs but failed and why.
Amazon store products are variant families (parent ASIN) or standalone listings, as in
the mapping report.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Literal

import duckdb
import pandas as pd
from rapidfuzz import fuzz, process

from tasks.mapping import REASONS
from tasks.warehouse import sql

Side = Literal["tiktok", "store", "both"]
FUZZY_CUTOFF = 80.0  # rapidfuzz ratio for a word with a typo
SYNONYMS: dict[str, tuple[str, ...]] = {
    # retail shorthand for the same product word (the key matches any of the values)
    "tee": ("t-shirt",),
    "tees": ("t-shirt",),
    "tshirt": ("tee",),
    "hoody": ("hoodie",),
    "hoodie": ("hoody",),
}
_WORD = re.compile(r"[^\w]+")
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
        if needle in str(row["options"] or "").casefold():
            return "options", 85.0
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
        + "\x00"
        + products["options"].fillna("").astype(str).str.casefold()
    )
    hits = products[lowered.str.contains(needle, regex=False)].copy()
    labels = [where(r) for _, r in hits.iterrows()]
    hits["match"] = [lbl[0] if lbl else "text" for lbl in labels]
    hits["score"] = [lbl[1] if lbl else 80.0 for lbl in labels]
    found = hits
    if len(found) < limit:
        rest = products.drop(index=hits.index)
        words = _word_matches(query, rest)
        if len(words):
            picked = rest.loc[words.index].copy()
            picked["match"] = words["match"]
            picked["score"] = words["score"]
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


def words_of(text: str) -> list[str]:
    """Lower-case words of ``text`` (Unicode NFKC); a hyphenated word also joined."""
    text = unicodedata.normalize("NFKC", text).casefold()
    out = [w for w in _WORD.split(text.replace("_", " ")) if w]
    out += [w.replace("-", "") for w in re.findall(r"\w+(?:-\w+)+", text)]
    return out


def _word_matches(query: str, products: pd.DataFrame) -> pd.DataFrame:
    """Products whose words match every word of ``query`` (index: the product's row),
    with ``match`` ("words" or "fuzzy words") and ``score`` (mean of the word scores)."""
    wanted = list(dict.fromkeys(words_of(query)))
    if not wanted or products.empty:
        return pd.DataFrame(columns=["match", "score"])
    text = (
        products["title"].fillna("").astype(str)
        + " "
        + products["options"].fillna("").astype(str)
        + " "
        + products["skus"].map(lambda v: " ".join(str(s) for s in v if s is not None))
        + " "
        + products["product_id"].astype(str)
        + " "
        + products["variant_ids"].map(lambda v: " ".join(map(str, v)))
    )
    exploded = text.map(lambda t: sorted(set(words_of(t)))).explode().dropna()
    vocabulary = exploded.unique().tolist()
    known = set(vocabulary)
    scores: list[pd.Series] = []
    fuzzy_words: set[str] = set()
    for word in wanted:
        per_token: dict[str, float] = {}
        for token in vocabulary:
            if token == word:
                per_token[token] = 100.0
            elif len(word) >= 2 and token.startswith(word):
                per_token[token] = 95.0
        for synonym in SYNONYMS.get(word, ()):
            token = synonym.replace("-", "")  # the joined word: "shirt" alone is no tee
            if token in known:
                per_token[token] = max(per_token.get(token, 0.0), 95.0)
        if len(word) >= 3:
            for token, score, _ in process.extract(
                word, vocabulary, scorer=fuzz.ratio, score_cutoff=FUZZY_CUTOFF, limit=None
            ):
                if token not in per_token:
                    per_token[token] = float(score)
                    fuzzy_words.add(token)
        best = exploded.map(per_token).groupby(level=0).max()
        scores.append(best.rename(word))
    table = pd.concat(scores, axis=1)
    table = table[table.notna().all(axis=1)]
    if table.empty:
        return pd.DataFrame(columns=["match", "score"])
    out = pd.DataFrame(index=table.index)
    out["score"] = table.mean(axis=1).round(1).clip(upper=89.0)  # below any substring hit
    out["match"] = ["words" if (row >= 95).all() else "fuzzy words" for _, row in table.iterrows()]
    return out


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
    """A plain-text table for the terminal: columns two spaces apart, long titles and SKU
    lists cut to ``width``; the mapping state (last column) is never cut."""
    if frame.empty:
        return "No products found."
    shown = frame.drop(columns=["score"]).astype(str)
    for column in shown.columns:
        if column != "state":
            shown[column] = shown[column].map(
                lambda v: v if len(v) <= width else v[: width - 1] + "…"
            )
    header = [c.upper() for c in shown.columns]
    cells = shown.to_numpy().tolist()
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]

    def line(values: list[str]) -> str:
        return "  ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *map(line, cells)])
