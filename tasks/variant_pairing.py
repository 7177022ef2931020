"""Pairing the variants of a hand-mapped product: by what they carry, never by position.

A person names one TikTok product and one store product; skubridge decides which TikTok
SKU goes with which store variant, in this order, each step taking only one-to-one matches
among the variants still unpaired:

1. ``explicit``: pairs the person gave (``--pair TIKTOK_SKU=STORE_VARIANT``);
2. ``exact_sku``: the same seller SKU;
3. ``normalised_sku``: the same SKU after NFKC, case folding and dropping everything but
   letters and digits (``TT-Red 01`` = ``tt_red01``);
4. ``barcode``: the same barcode (UPC/EAN/GTIN), letters and digits only;
5. ``options``: the same option values, ignoring the option names (``Color`` = ``Colour``),
   case, spaces and punctuation, with the size words of :data:`SIZE_WORDS` read as one
   (``S`` = ``Small``);
6. ``single_variant``: both products have exactly one variant.

Whatever is still unpaired after that is refused (:class:`PairingError`) with both sides
listed (title, SKU, barcode, options) and the ``--pair`` syntax: the id order of the two
catalogs says nothing about which variant is which, and a wrong pair writes one variant's
SKU onto another and pushes its stock to the wrong TikTok SKU.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any

SIZE_WORDS: dict[str, str] = {
    "xxs": "extra extra small",
    "2xs": "extra extra small",
    "xs": "extra small",
    "s": "small",
    "sm": "small",
    "m": "medium",
    "med": "medium",
    "l": "large",
    "lg": "large",
    "xl": "extra large",
    "xxl": "extra extra large",
    "2xl": "extra extra large",
    "xxxl": "extra extra extra large",
    "3xl": "extra extra extra large",
    "x small": "extra small",
    "x large": "extra large",
    "xx large": "extra extra large",
    "xx small": "extra extra small",
    "os": "one size",
    "one size fits all": "one size",
}
"""Size words read as the same value when options are compared (keys and values are
already normalised: case folded, punctuation turned into single spaces)."""

METHODS = ("explicit", "exact_sku", "normalised_sku", "barcode", "options", "single_variant")


class PairingError(Exception):
    """The variants cannot all be paired; the message lists both sides and what to do."""


@dataclass(frozen=True)
class Variant:
    """One side's variant as pairing sees it."""

    id: str
    sku: str | None
    options: Any = None  # JSON text or a mapping of option name -> value
    barcode: str | None = None
    title: str | None = None

    @classmethod
    def of(cls, row: Iterable[Any]) -> Variant:
        """From a (id, sku, options[, barcode[, title]]) row."""
        values = list(row) + [None] * 2
        return cls(*values[:5])

    def option_map(self) -> dict[str, str]:
        """The options as a name -> value mapping ({} when none or unreadable)."""
        raw = self.options
        if raw in (None, ""):
            return {}
        try:
            data = json.loads(raw) if isinstance(raw, str) else dict(raw)
        except (TypeError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def describe_options(self) -> str:
        """``Size: Small, Color: Red`` (``-`` when none)."""
        return ", ".join(f"{k}: {v}" for k, v in self.option_map().items()) or "-"


@dataclass(frozen=True)
class VariantPair:
    """One TikTok SKU paired with one store variant, and how they were paired."""

    tiktok_sku_id: str
    tiktok_seller_sku: str | None
    store_variant_id: str
    store_sku: str | None
    paired_by: str  # one of METHODS
    tiktok_options: str = "-"
    store_options: str = "-"

    @property
    def needs_write(self) -> bool:
        return self.store_sku != self.tiktok_seller_sku


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() == "")


def normalise_text(value: Any) -> str:
    """NFKC, case folded, letters and digits only ('' for blank)."""
    if _blank(value):
        return ""
    text = unicodedata.normalize("NFKC", str(value)).casefold()
    return re.sub(r"[^\w]|_", "", text)


def _option_word(value: str) -> str:
    text = unicodedata.normalize("NFKC", value).casefold()
    text = " ".join(re.sub(r"[^\w]|_", " ", text).split())
    return SIZE_WORDS.get(text, text)


def options_key(variant: Variant) -> tuple[str, ...] | None:
    """The option values, normalised and sorted (None when the variant has no options)."""
    values = [_option_word(v) for v in variant.option_map().values()]
    values = [v for v in values if v]
    return tuple(sorted(values)) if values else None


def _one_to_one(
    left: list[Variant], right: list[Variant], key: Callable[[Variant], Hashable | None]
) -> list[tuple[Variant, Variant]]:
    """Pairs whose key is carried by exactly one variant on each side."""

    def index(rows: list[Variant]) -> dict[Hashable, list[Variant]]:
        out: dict[Hashable, list[Variant]] = {}
        for row in rows:
            k = key(row)
            if k not in (None, "", ()):
                out.setdefault(k, []).append(row)
        return out

    lefts, rights = index(left), index(right)
    return [
        (lefts[k][0], rights[k][0])
        for k in lefts
        if len(lefts[k]) == 1 and len(rights.get(k, [])) == 1
    ]


def _resolve(token: str, rows: list[Variant], what: str) -> Variant:
    """An explicit pair's side by id, else by exact SKU (must name exactly one)."""
    by_id = [r for r in rows if r.id == token]
    if by_id:
        return by_id[0]
    by_sku = [r for r in rows if r.sku == token]
    if len(by_sku) == 1:
        return by_sku[0]
    if by_sku:
        raise PairingError(f"{token!r} is the SKU of {len(by_sku)} variants; give its id")
    raise PairingError(f"{token!r} is not a {what} of this product (give its id or its SKU)")


def parse_pairs(values: Iterable[str] | None) -> list[tuple[str, str]]:
    """``TIKTOK_SKU=STORE_VARIANT`` texts as (tiktok, store) tuples."""
    out = []
    for value in values or []:
        tiktok, sep, store = str(value).partition("=")
        if not sep or not tiktok.strip() or not store.strip():
            raise PairingError(
                f"--pair {value!r}: write it as TIKTOK_SKU=STORE_VARIANT (a TikTok SKU id or "
                "seller SKU, '=', a store variant id or SKU)"
            )
        out.append((tiktok.strip(), store.strip()))
    return out


def pair_variants(
    tiktok: Iterable[Iterable[Any]],
    store: Iterable[Iterable[Any]],
    *,
    explicit: Iterable[tuple[str, str]] = (),
    tiktok_title: str | None = None,
    store_title: str | None = None,
) -> list[VariantPair]:
    """Pair (id, sku, options[, barcode[, title]]) rows as the module docstring says.

    Returns the pairs in the TikTok rows' order. Raises :class:`PairingError` when the
    variant counts differ, an explicit pair is wrong, or some variant stays unpaired.
    """
    t_rows = [Variant.of(r) for r in tiktok]
    s_rows = [Variant.of(r) for r in store]
    if len(t_rows) != len(s_rows):
        raise PairingError(
            f"the TikTok product has {len(t_rows)} variants and the store product "
            f"{len(s_rows)}; a product map needs the same number on both sides "
            "(map single SKUs with --csv instead)"
        )
    chosen: list[tuple[Variant, Variant, str]] = []
    seen_t: set[str] = set()
    seen_s: set[str] = set()
    for t_token, s_token in explicit:
        t = _resolve(t_token, t_rows, "TikTok SKU")
        s = _resolve(s_token, s_rows, "store variant")
        if t.id in seen_t:
            raise PairingError(f"TikTok SKU {t.id} is given twice in --pair")
        if s.id in seen_s:
            raise PairingError(f"store variant {s.id} is given twice in --pair")
        seen_t.add(t.id)
        seen_s.add(s.id)
        chosen.append((t, s, "explicit"))

    steps: list[tuple[str, Callable[[Variant], Hashable | None]]] = [
        ("exact_sku", lambda v: None if _blank(v.sku) else v.sku),
        ("normalised_sku", lambda v: normalise_text(v.sku)),
        ("barcode", lambda v: normalise_text(v.barcode)),
        ("options", options_key),
    ]
    for method, key in steps:
        left = [t for t in t_rows if t.id not in seen_t]
        right = [s for s in s_rows if s.id not in seen_s]
        for t, s in _one_to_one(left, right, key):
            seen_t.add(t.id)
            seen_s.add(s.id)
            chosen.append((t, s, method))
    left = [t for t in t_rows if t.id not in seen_t]
    right = [s for s in s_rows if s.id not in seen_s]
    if len(t_rows) == 1 and left and right:
        chosen.append((left[0], right[0], "single_variant"))
        left, right = [], []
    if left:
        raise PairingError(
            undecided_message(left, right, t_rows, s_rows, tiktok_title, store_title)
        )
    order = {t.id: i for i, t in enumerate(t_rows)}
    chosen.sort(key=lambda c: order[c[0].id])
    return [
        VariantPair(t.id, t.sku, s.id, s.sku, method, t.describe_options(), s.describe_options())
        for t, s, method in chosen
    ]


def _side_lines(rows: list[Variant], unpaired: set[str]) -> list[str]:
    return [
        f"    {'*' if r.id in unpaired else ' '} {r.id}  sku {r.sku!r}  barcode "
        f"{r.barcode or '-'}  options {r.describe_options()}"
        + (f"  title {r.title!r}" if r.title else "")
        for r in rows
    ]


def undecided_message(
    left: list[Variant],
    right: list[Variant],
    t_rows: list[Variant],
    s_rows: list[Variant],
    tiktok_title: str | None,
    store_title: str | None,
) -> str:
    """The refusal: both sides (unpaired ones starred) and how to give explicit pairs."""
    lines = [
        f"cannot pair {len(left)} of {len(t_rows)} variants by SKU, barcode or option values "
        "(skubridge never pairs by position); nothing was written.",
        f"  TikTok product {tiktok_title or ''!s}:".replace(" :", ":"),
        *_side_lines(t_rows, {r.id for r in left}),
        f"  store product {store_title or ''!s}:".replace(" :", ":"),
        *_side_lines(s_rows, {r.id for r in right}),
        "Give the starred pairs explicitly, one --pair per TikTok SKU, e.g. "
        f"--pair {left[0].sku or left[0].id}=<store variant id> "
        "(--pair TIKTOK_SKU=STORE_VARIANT, repeatable; TikTok SKU id or seller SKU, store "
        "variant id or SKU; flow map-product: parameter pairs).",
    ]
    return "\n".join(lines)
