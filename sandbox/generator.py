"""Seeded generator of realistic two-sided catalogs with known mapping anomalies.

One vectorised core (numpy + pyarrow, no per-row Python objects) builds a TikTok catalog
and a store catalog (Shopify or Amazon) from a seed. Every TikTok product is built with
exactly one *anomaly kind* (or none), so its mapping outcome (docs/reports.md) is unambiguous; the
generator records that expected outcome per TikTok SKU.

Two outputs:

- :func:`generate_tables`: ``(tiktok, store)`` Arrow tables with the columns of
  ``staged_variants`` (tasks/sql/migrations/001_core.sql), for benchmarks at up to
  1,000,000 variants per side (:func:`generate_tables_with_expected` adds the expectations);
- :func:`generate_fixture`: a :class:`sandbox.fixture.Fixture` the emulators load, plus a
  :class:`Manifest` (anomaly per TikTok product, expected status/reason per TikTok SKU,
  optional orders).

Anomaly kinds (each a share of TikTok products, see :class:`AnomalyMix`) and the reason a
product built with it must get (docs/reports.md):

=========================  ========================  ==============================================
kind                       expected reason           how it is built
=========================  ========================  ==============================================
``none``                   (mapped)                  store product with exactly the same SKUs
``blank_sku``              MISSING_SKU               first TikTok variant's SKU is "" or "  "
``duplicate_tiktok_sku``   DUPLICATE_TIKTOK_SKU      last TikTok variant repeats the first one's SKU
``duplicate_store_sku``    DUPLICATE_STORE_SKU       an extra store product repeats the first SKU
``sku_case_punct``         SKU_NOT_FOUND             store SKUs differ by case/spaces/punctuation
``split_across_products``  SPLIT_ACROSS_PRODUCTS     store holds the SKUs in two products
``variant_count_mismatch`` VARIANT_COUNT_MISMATCH    store product has one extra variant
``tiktok_only``            SKU_NOT_FOUND             no store product at all
``barcode_only``           SKU_NOT_FOUND             TikTok SKUs are other codes; barcodes equal
=========================  ========================  ==============================================

Plus ``store_only`` products (store side only; not in the mapping report). SKU-level reasons
(MISSING_SKU on the blank SKU, DUPLICATE_TIKTOK_SKU on both repeated SKUs,
DUPLICATE_STORE_SKU on the repeated SKU, SKU_NOT_FOUND on SKUs absent from the store) are
carried by those SKUs; every other SKU of an unmapped product carries the product's reason.
``STORE_PRODUCT_TAKEN`` needs an existing link, so catalogs alone never produce it.

Amazon: a seller SKU is unique per seller and marketplace, so ``duplicate_store_sku`` is
never generated for ``store="amazon"``. Multi-variant store products are variation
families (``parent_asin``); single-variant ones are standalone listings; a share
(``amazon_standalone_share``) of normal multi-variant products are listed as standalone
listings instead (they still map: the TikTok product defines the family). Split products
become two families. For a mapped SKU the expected ``store_product_id`` is the family's
parent ASIN, or the standalone listing's own ASIN, and ``store_variant_id`` the seller SKU.

``n_variants`` is the exact number of TikTok variants; the store side has about as many
(fewer for ``tiktok_only``, more for extras and ``store_only``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from sandbox.fixture import (
    DEFAULT_LOCATION,
    DEFAULT_WAREHOUSE,
    AmazonListing,
    AmazonSide,
    Fixture,
    OrderFixture,
    OrderLineFixture,
    ShopifyLocation,
    ShopifyProduct,
    ShopifySide,
    ShopifyVariant,
    TikTokProduct,
    TikTokSide,
    TikTokSku,
    TikTokWarehouse,
)

Store = Literal["shopify", "amazon"]

EXTRACTED_AT = datetime(2026, 1, 1, tzinfo=UTC)
ORDERS_START = int(EXTRACTED_AT.timestamp())
SECOND_WAREHOUSE = "7000000000000000002"
SECOND_LOCATION = "gid://shopify/Location/2"

# Anomaly kinds: code = position in this tuple.
KINDS = (
    "none",
    "blank_sku",
    "duplicate_tiktok_sku",
    "duplicate_store_sku",
    "sku_case_punct",
    "split_across_products",
    "variant_count_mismatch",
    "tiktok_only",
    "barcode_only",
)
STORE_ONLY = "store_only"
EXPECTED_REASON = {
    "none": None,
    "blank_sku": "MISSING_SKU",
    "duplicate_tiktok_sku": "DUPLICATE_TIKTOK_SKU",
    "duplicate_store_sku": "DUPLICATE_STORE_SKU",
    "sku_case_punct": "SKU_NOT_FOUND",
    "split_across_products": "SPLIT_ACROSS_PRODUCTS",
    "variant_count_mismatch": "VARIANT_COUNT_MISMATCH",
    "tiktok_only": "SKU_NOT_FOUND",
    "barcode_only": "SKU_NOT_FOUND",
}
_K = {name: code for code, name in enumerate(KINDS)}
_NEEDS_TWO_VARIANTS = ("duplicate_tiktok_sku", "split_across_products")

STAGED_COLUMNS = (
    "channel",
    "product_id",
    "variant_id",
    "seller_sku",
    "title",
    "variant_title",
    "options",
    "price",
    "currency",
    "quantity",
    "barcode",
    "status",
    "fulfillment",
    "parent_id",
    "extracted_at",
)


@dataclass(frozen=True)
class AnomalyMix:
    """Shares of TikTok products built with each anomaly, plus layout knobs.

    The anomaly shares (first nine fields but ``store_only``) must sum to at most 1; the rest
    of the products map cleanly. ``store_only`` adds that share (of the TikTok product
    count) of products that exist only in the store. With ``at_least_one`` every kind with
    a share > 0 gets at least one product when the catalog has room for it, so even a tiny
    catalog exercises every reason code.
    """

    blank_sku: float = 0.02
    duplicate_tiktok_sku: float = 0.02
    duplicate_store_sku: float = 0.02
    sku_case_punct: float = 0.03
    split_across_products: float = 0.02
    variant_count_mismatch: float = 0.02
    tiktok_only: float = 0.04
    barcode_only: float = 0.02
    store_only: float = 0.04
    # layout knobs (not mapping anomalies)
    fba_share: float = 0.6  # Amazon store products fulfilled by Amazon (FBA), rest MFN
    multi_location_share: float = 0.3  # Shopify variants stocked at two locations
    multi_warehouse_share: float = 0.1  # TikTok SKUs stocked in two warehouses
    # Shopify variants whose inventory is not tracked (inventoryItem.tracked false) and
    # that keep selling when out of stock (inventoryPolicy CONTINUE); drawn from their own
    # random stream, so other draws of a seed stay the same.
    untracked_share: float = 0.0
    continue_selling_share: float = 0.0
    stale_share: float = 0.3  # mapped TikTok SKUs whose price or stock differs from the store
    amazon_standalone_share: float = 0.2  # normal multi-variant Amazon products, no parent
    at_least_one: bool = True

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name != "at_least_one" and not 0 <= value <= 1:
                raise ValueError(f"AnomalyMix.{f.name} must be within 0..1, got {value}")
        if sum(self.share(kind) for kind in KINDS[1:]) > 1:
            raise ValueError("AnomalyMix anomaly shares add up to more than 1")

    def share(self, kind: str) -> float:
        """The share of TikTok products built with ``kind`` (0 for 'none')."""
        return 0.0 if kind == "none" else float(getattr(self, kind))

    @classmethod
    def clean(cls) -> AnomalyMix:
        """No anomalies at all: every TikTok product maps."""
        return cls(**{k: 0.0 for k in (*KINDS[1:], STORE_ONLY)}, at_least_one=False)


# --- vocabulary ---------------------------------------------------------------------------
_BRANDS = (
    "Northwind",
    "Cobalt & Pine",
    "Harbor Lane",
    "Fieldnote",
    "Kestrel",
    "Marigold Co",
    "Summit Thread",
    "Lumen",
    "Ashgrove",
    "Tidewater",
)
_ADJECTIVES = (
    "Classic",
    "Everyday",
    "Relaxed",
    "Essential",
    "Vintage",
    "Organic",
    "Lightweight",
    "Heavyweight",
    "Premium",
    "Soft-Touch",
    "Recycled",
    "Waffle-Knit",
)
_COLOURS = [
    "Black",
    "White",
    "Navy",
    "Heather Grey",
    "Red",
    "Forest Green",
    "Sand",
    "Sky Blue",
    "Burgundy",
    "Olive",
    "Charcoal",
    "Cream",
]
_COLOUR_CODES = ["BLK", "WHT", "NVY", "HGR", "RED", "FGR", "SND", "SKY", "BUR", "OLV", "CHR", "CRM"]
_SHADES = ["Ivory", "Sand", "Honey", "Caramel", "Mocha", "Rose", "Coral", "Berry", "Nude", "Plum"]
_SHADE_CODES = ["IVO", "SAN", "HON", "CAR", "MOC", "ROS", "COR", "BER", "NUD", "PLM"]


@dataclass(frozen=True)
class _Category:
    prefix: str
    nouns: tuple[str, ...]
    axis1: str
    values1: tuple[str, ...]
    codes1: tuple[str, ...]
    axis2: str
    values2: tuple[str, ...]
    codes2: tuple[str, ...]
    price_range: tuple[int, int]  # whole currency units


_CATEGORIES = (
    _Category(
        "APL",
        (
            "T-Shirt",
            "Hoodie",
            "Crewneck Sweatshirt",
            "Joggers",
            "Tank Top",
            "Polo Shirt",
            "Leggings",
            "Denim Jacket",
        ),
        "Color",
        tuple(_COLOURS),
        tuple(_COLOUR_CODES),
        "Size",
        ("XS", "S", "M", "L", "XL", "XXL", "3XL"),
        ("XS", "S", "M", "L", "XL", "2XL", "3XL"),
        (12, 89),
    ),
    _Category(
        "FTW",
        ("Running Shoe", "Canvas Sneaker", "Hiking Boot", "Slide Sandal", "Loafer"),
        "Color",
        tuple(_COLOURS),
        tuple(_COLOUR_CODES),
        "Size",
        ("6", "7", "8", "9", "10", "11", "12"),
        ("06", "07", "08", "09", "10", "11", "12"),
        (29, 159),
    ),
    _Category(
        "HOM",
        ("Throw Blanket", "Linen Duvet Cover", "Bath Towel Set", "Cushion Cover", "Table Runner"),
        "Color",
        tuple(_COLOURS),
        tuple(_COLOUR_CODES),
        "Size",
        ("Small", "Medium", "Large", "Queen", "King"),
        ("SM", "MD", "LG", "QN", "KG"),
        (15, 120),
    ),
    _Category(
        "BTY",
        ("Lip Tint", "Foundation", "Nail Polish", "Eye Shadow Palette", "Moisturiser"),
        "Shade",
        tuple(_SHADES),
        tuple(_SHADE_CODES),
        "Size",
        ("5 ml", "15 ml", "30 ml", "50 ml"),
        ("05ML", "15ML", "30ML", "50ML"),
        (6, 48),
    ),
    _Category(
        "ACC",
        ("Phone Case", "Canvas Tote", "Beanie", "Baseball Cap", "Leather Belt", "Watch Strap"),
        "Color",
        tuple(_COLOURS),
        tuple(_COLOUR_CODES),
        "Size",
        ("Small", "Medium", "Large"),
        ("SM", "MD", "LG"),
        (9, 59),
    ),
)
_VARIANT_COUNTS = np.arange(1, 13)
_VARIANT_WEIGHTS = np.array([35, 10, 12, 10, 6, 9, 3, 6, 3, 3, 1, 2], dtype=float)
_VARIANT_WEIGHTS /= _VARIANT_WEIGHTS.sum()


def _flat(attr: str) -> tuple[pa.Array, np.ndarray, np.ndarray]:
    """Concatenate one per-category list; return (values, offset per category, length)."""
    lists = [getattr(c, attr) for c in _CATEGORIES]
    lengths = np.array([len(x) for x in lists])
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    return pa.array([v for x in lists for v in x], pa.string()), offsets, lengths


# --- Arrow string helpers (strings stay in Arrow: no Python object per row) ---------------
Strings = pa.Array


def _join(*parts: Strings | str) -> Strings:
    """Element-wise concatenation of string arrays and scalars."""
    return pc.binary_join_element_wise(*parts, "")


def _pad(values: np.ndarray, width: int) -> Strings:
    """Integers as zero-padded decimal strings."""
    return pc.utf8_lpad(pa.array(values, pa.int64()).cast(pa.string()), width, "0")


def _where(mask: np.ndarray, a: Strings | str | None, b: Strings | str | None) -> Strings:
    def arg(x: Strings | str | None) -> Any:
        return x if isinstance(x, pa.Array) else pa.scalar(x, pa.string())

    return pc.if_else(pa.array(mask, pa.bool_()), arg(a), arg(b))


def _take(values: Strings, index: np.ndarray) -> Strings:
    return values.take(pa.array(index, pa.int64()))


def _const(value: str | None, n: int) -> Strings:
    if value is None:
        return pa.nulls(n, pa.string())
    return _take(pa.array([value], pa.string()), np.zeros(n, np.int64))


def _put(values: Strings, mask: np.ndarray, replacement: Strings) -> Strings:
    """``values`` with the masked positions replaced, in order, by ``replacement``."""
    if not mask.any():
        return values
    return pc.replace_with_mask(values, pa.array(mask, pa.bool_()), replacement)


def _concat(*arrays: Strings) -> Strings:
    return pa.concat_arrays([a.cast(pa.string()) for a in arrays])


# --- core ---------------------------------------------------------------------------------
@dataclass
class _Side:
    """Column arrays of one side, one entry per variant (strings as Arrow arrays)."""

    product: np.ndarray  # product index (dense, 0-based)
    pos: np.ndarray  # position within product
    sku: Strings
    title: Strings
    variant_title: Strings
    options: Strings  # JSON text
    option_pairs: list[Strings]  # [axis1, value1, axis2, value2] ("" = no options)
    cents: np.ndarray
    stock: np.ndarray  # (n, 2) quantity at first / second location or warehouse
    barcode: Strings


@dataclass
class _Core:
    store: Store
    tiktok: _Side
    store_side: _Side
    # TikTok products
    p_kind: np.ndarray
    p_count: np.ndarray
    # expectations per TikTok variant
    exp_store_row: np.ndarray  # index into store rows for mapped variants, -1 otherwise
    exp_sku_reason: np.ndarray  # object: SKU-level reason or None
    exp_suggest_row: np.ndarray  # store row a suggestion should name, -1 = no expectation
    # store products
    s_product_count: int
    s_store_only: np.ndarray  # bool per store product
    s_family: np.ndarray  # bool per store product (amazon: has a parent ASIN)
    s_fba: np.ndarray  # bool per store product (amazon)
    s_active: np.ndarray  # bool per store product (False = draft / inactive)
    t_two_wh: np.ndarray | None = None  # bool per TikTok variant: listed in both warehouses
    s_untracked: np.ndarray | None = None  # bool per store row (shopify): tracked false
    s_continue: np.ndarray | None = None  # bool per store row (shopify): policy CONTINUE


def _assign_kinds(rng: np.random.Generator, counts: np.ndarray, mix: AnomalyMix) -> np.ndarray:
    n = len(counts)
    kind = np.zeros(n, dtype=np.int8)
    free = np.ones(n, dtype=bool)
    order = sorted(KINDS[1:], key=lambda k: k not in _NEEDS_TWO_VARIANTS)
    for name in order:
        share = mix.share(name)
        if share <= 0:
            continue
        eligible = free & (counts >= 2) if name in _NEEDS_TWO_VARIANTS else free.copy()
        want = round(share * n)
        if mix.at_least_one:
            want = max(want, 1)
        pool = np.flatnonzero(eligible)
        take = min(want, len(pool))
        if take == 0:
            continue
        chosen = rng.choice(pool, size=take, replace=False)
        kind[chosen] = _K[name]
        free[chosen] = False
    return kind


def _variant_counts(rng: np.random.Generator, n_variants: int) -> np.ndarray:
    mean = float((_VARIANT_COUNTS * _VARIANT_WEIGHTS).sum())
    draw = rng.choice(_VARIANT_COUNTS, size=int(n_variants / mean * 1.3) + 8, p=_VARIANT_WEIGHTS)
    total = np.cumsum(draw)
    while total[-1] < n_variants:  # pragma: no cover - the draw is oversized on purpose
        draw = np.concatenate([draw, draw])
        total = np.cumsum(draw)
    last = int(np.searchsorted(total, n_variants))
    counts = draw[: last + 1].copy()
    counts[-1] -= int(total[last] - n_variants)
    return counts


def _upc(body: np.ndarray) -> Strings:
    """UPC-A codes (11-digit body + check digit) as strings."""
    digits = (body[:, None] // (10 ** np.arange(10, -1, -1))) % 10
    odd = digits[:, 0::2].sum(axis=1)  # positions 1, 3, ... 11
    even = digits[:, 1::2].sum(axis=1)
    check = (10 - (odd * 3 + even) % 10) % 10
    return _pad(body * 10 + check, 12)


def _describe(
    cat: np.ndarray,
    number: np.ndarray,
    pos: np.ndarray,
    count: np.ndarray,
    colour0: np.ndarray,
    nsizes: np.ndarray,
    size0: np.ndarray,
) -> dict[str, Any]:
    """SKU, options and option text of variants ``pos`` of products (vectorised)."""
    v1, off1, len1 = _flat("values1")
    c1, _, _ = _flat("codes1")
    v2, off2, len2 = _flat("values2")
    c2, _, _ = _flat("codes2")
    axis1 = _take(pa.array([c.axis1 for c in _CATEGORIES], pa.string()), cat)
    axis2 = _take(pa.array([c.axis2 for c in _CATEGORIES], pa.string()), cat)
    i1 = off1[cat] + (colour0 + pos // nsizes) % len1[cat]
    i2 = off2[cat] + (size0 + pos % nsizes) % len2[cat]
    value1, value2 = _take(v1, i1), _take(v2, i2)
    prefixes = _take(pa.array([c.prefix for c in _CATEGORIES], pa.string()), cat)
    base = _join(prefixes, "-", _pad(number, 7))
    multi = count > 1
    return {
        "sku": _where(multi, _join(base, "-", _take(c1, i1), "-", _take(c2, i2)), base),
        "options": _where(
            multi, _join('{"', axis1, '": "', value1, '", "', axis2, '": "', value2, '"}'), "{}"
        ),
        "variant_title": _where(multi, _join(value1, " / ", value2), None),
        "pairs": [_where(multi, x, "") for x in (axis1, value1, axis2, value2)],
    }


def _products(rng: np.random.Generator, counts: np.ndarray) -> dict[str, Any]:
    """Per-product attributes: category, title, option layout, base price."""
    n = len(counts)
    cat = rng.integers(0, len(_CATEGORIES), n)
    nouns, noff, nlen = _flat("nouns")
    noun = _take(nouns, noff[cat] + rng.integers(0, 1 << 30, n) % nlen[cat])
    title = _join(
        _take(pa.array(_BRANDS, pa.string()), rng.integers(0, len(_BRANDS), n)),
        " ",
        _take(pa.array(_ADJECTIVES, pa.string()), rng.integers(0, len(_ADJECTIVES), n)),
        " ",
        noun,
    )
    _, _, len2 = _flat("values2")
    nsizes = np.minimum(rng.integers(2, 6, n), len2[cat])
    low = np.array([c.price_range[0] for c in _CATEGORIES])[cat]
    high = np.array([c.price_range[1] for c in _CATEGORIES])[cat]
    units = rng.integers(low, high + 1)
    ends_99 = rng.random(n) < 0.7  # 12.99 rather than 13.00
    return {
        "cat": cat,
        "title": title,
        "colour0": rng.integers(0, 12, n),
        "nsizes": nsizes,
        "size0": rng.integers(0, 2, n),
        "cents": units * 100 - ends_99,
    }


def _build(n_variants: int, seed: int, mix: AnomalyMix, store: Store) -> _Core:
    if not 1 <= n_variants <= 5_000_000:
        raise ValueError("n_variants must be within 1..5,000,000")
    if store not in ("shopify", "amazon"):
        raise ValueError(f"store must be 'shopify' or 'amazon', not {store!r}")
    if store == "amazon" and mix.duplicate_store_sku:
        # A seller SKU is unique per Amazon seller and marketplace: cannot be built.
        mix = AnomalyMix(**{**asdict(mix), "duplicate_store_sku": 0.0})
    rng = np.random.default_rng(seed)

    # TikTok products and variants
    counts = _variant_counts(rng, n_variants)
    n_products = len(counts)
    kind = _assign_kinds(rng, counts, mix)
    prod = _products(rng, counts)
    v_prod = np.repeat(np.arange(n_products), counts)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    v_pos = np.arange(n_variants) - starts[v_prod]
    v_kind = kind[v_prod]

    def describe(p: np.ndarray, pos: np.ndarray) -> dict[str, Any]:
        return _describe(
            prod["cat"][p],
            p + 1,
            pos,
            np.maximum(counts[p], pos + 1),
            prod["colour0"][p],
            prod["nsizes"][p],
            prod["size0"][p],
        )

    t = describe(v_prod, v_pos)
    original_sku = t["sku"]
    size_bump = (v_pos % prod["nsizes"][v_prod] >= 3) * 200  # larger sizes cost a bit more
    store_cents = prod["cents"][v_prod] + size_bump
    quantity = np.where(rng.random(n_variants) < 0.05, 0, rng.geometric(0.02, n_variants))
    barcode_body = 84_000_000_000 + (seed % 1000) * 10_000_000 + np.arange(n_variants)
    barcode_body %= 100_000_000_000
    upc = _upc(barcode_body)
    store_has_barcode = rng.random(n_variants) < 0.7
    tiktok_has_barcode = store_has_barcode & (rng.random(n_variants) < 0.6)
    barcode_kind = v_kind == _K["barcode_only"]
    store_has_barcode |= barcode_kind
    tiktok_has_barcode |= barcode_kind

    # TikTok SKU anomalies
    blank = (v_kind == _K["blank_sku"]) & (v_pos == 0)
    tiktok_sku = _put(
        original_sku, blank, _take(pa.array(["", "  "]), rng.integers(0, 2, blank.sum()))
    )
    dup_last = (v_kind == _K["duplicate_tiktok_sku"]) & (v_pos == counts[v_prod] - 1)
    tiktok_sku = _put(tiktok_sku, dup_last, _take(original_sku, starts[v_prod[dup_last]]))
    tiktok_sku = _put(
        tiktok_sku,
        barcode_kind,
        _join("TTS-", _pad(v_prod[barcode_kind] + 1, 7), "-", _pad(v_pos[barcode_kind] + 1, 2)),
    )

    # Store rows, segment A: the TikTok variants as the store holds them
    in_store = v_kind != _K["tiktok_only"]
    a_rows = np.flatnonzero(in_store)
    a_sku = _take(original_sku, a_rows)
    case = v_kind[a_rows] == _K["sku_case_punct"]
    style = rng.integers(0, 4, n_products)[v_prod[a_rows][case]]
    cased = a_sku.filter(pa.array(case))
    a_sku = _put(
        a_sku,
        case,
        pc.choose(
            pa.array(style, pa.int8()),
            pc.utf8_lower(cased),
            pc.replace_substring(cased, "-", ""),
            pc.replace_substring(cased, "-", " "),
            pc.utf8_lower(pc.replace_substring(cased, "-", "_")),
        ),
    )
    # store product number per TikTok product (main), plus split second halves
    main_sp = np.cumsum(kind != _K["tiktok_only"]) - 1
    a_sp = main_sp[v_prod[a_rows]]
    split = kind == _K["split_across_products"]
    split_sp = np.full(n_products, -1)
    next_sp = int(main_sp.max()) + 1 if n_products else 0
    split_sp[split] = next_sp + np.arange(split.sum())
    next_sp += int(split.sum())
    second_half = (v_kind[a_rows] == _K["split_across_products"]) & (
        v_pos[a_rows] >= (counts[v_prod[a_rows]] + 1) // 2
    )
    a_sp[second_half] = split_sp[v_prod[a_rows][second_half]]

    # segment B: one extra variant per variant-count-mismatch product
    b_prod = np.flatnonzero(kind == _K["variant_count_mismatch"])
    b = describe(b_prod, counts[b_prod])
    # segment C: a copy of the first variant in an extra store product (duplicate store SKU)
    c_prod = np.flatnonzero(kind == _K["duplicate_store_sku"])
    c_rows = starts[c_prod]
    c_sp = next_sp + np.arange(len(c_prod))
    next_sp += len(c_prod)
    # segment D: store-only products
    d_products = round(mix.store_only * n_products)
    if mix.at_least_one and mix.store_only > 0:
        d_products = max(d_products, 1)
    d_counts = rng.choice(_VARIANT_COUNTS, size=d_products, p=_VARIANT_WEIGHTS)
    d_attr = _products(rng, d_counts)
    d_local = np.repeat(np.arange(d_products), d_counts)
    d_starts = np.concatenate([[0], np.cumsum(d_counts)[:-1]]).astype(int)
    d_pos = np.arange(len(d_local)) - d_starts[d_local]
    d = _describe(
        d_attr["cat"][d_local],
        n_products + d_local + 1,
        d_pos,
        d_counts[d_local],
        d_attr["colour0"][d_local],
        d_attr["nsizes"][d_local],
        d_attr["size0"][d_local],
    )
    d_sp = next_sp + d_local
    n_store_products = next_sp + d_products

    # assemble the store rows (origin = the TikTok variant for segment A, else -1)
    s_sp = np.concatenate([a_sp, main_sp[b_prod], c_sp, d_sp]).astype(np.int64)
    s_pos = np.concatenate(
        [v_pos[a_rows], counts[b_prod], np.zeros(len(c_prod), np.int64), d_pos]
    ).astype(np.int64)
    n_a = len(a_rows)
    a_title = _take(prod["title"], v_prod[a_rows])
    a_title = _put(a_title, second_half, _join(a_title.filter(pa.array(second_half)), " II"))
    s_title = _concat(
        a_title,
        _take(prod["title"], b_prod),
        _join(_take(prod["title"], c_prod), " (copy)"),
        _take(d_attr["title"], d_local),
    )

    def four(key: str, i: int | None = None) -> Strings:
        def get(x: dict[str, Any]) -> Strings:
            return x[key] if i is None else x[key][i]

        return _concat(_take(get(t), a_rows), get(b), _take(get(t), c_rows), get(d))

    s_sku = _concat(a_sku, b["sku"], _take(original_sku, c_rows), d["sku"])
    s_pairs = [four("pairs", i) for i in range(4)]
    s_cents = np.concatenate(
        [
            store_cents[a_rows],
            prod["cents"][b_prod] + 200,
            store_cents[c_rows],
            d_attr["cents"][d_local],
        ]
    )
    s_qty = np.concatenate(
        [
            quantity[a_rows],
            rng.geometric(0.02, len(b_prod)),
            quantity[c_rows],
            rng.geometric(0.02, len(d_pos)),
        ]
    )
    n_extra = len(b_prod) + len(d_pos)
    extra_upc = _upc((barcode_body.max(initial=0) + 1 + np.arange(n_extra)) % 100_000_000_000)
    extra_has = rng.random(n_extra) < 0.7
    s_barcode = _concat(
        _where(store_has_barcode[a_rows], _take(upc, a_rows), None),
        _where(extra_has[: len(b_prod)], extra_upc.slice(0, len(b_prod)), None),
        _where(store_has_barcode[c_rows], _take(upc, c_rows), None),
        _where(extra_has[len(b_prod) :], extra_upc.slice(len(b_prod)), None),
    )

    # order store rows by (store product, position)
    order = np.lexsort((s_pos, s_sp))
    s_sp, s_pos, s_cents, s_qty = s_sp[order], s_pos[order], s_cents[order], s_qty[order]
    s_sku, s_title, s_barcode = _take(s_sku, order), _take(s_title, order), _take(s_barcode, order)
    s_pairs = [_take(p, order) for p in s_pairs]
    s_options, s_vtitle = _take(four("options"), order), _take(four("variant_title"), order)
    n_store_rows = len(s_sp)
    # TikTok variant -> its store row (segment A only: the copies in C are not "its" row)
    new_position = np.empty(n_store_rows, dtype=np.int64)
    new_position[order] = np.arange(n_store_rows)
    store_row_of = np.full(n_variants, -1)
    store_row_of[a_rows] = new_position[:n_a]

    # store products: status, family, FBA
    s_store_only = np.zeros(n_store_products, dtype=bool)
    s_store_only[next_sp:] = True
    s_active = np.ones(n_store_products, dtype=bool)
    s_active[next_sp:] = rng.random(d_products) >= 0.15  # some store-only drafts
    rows_per_sp = np.bincount(s_sp, minlength=n_store_products)
    s_family = rows_per_sp >= 2
    standalone = (
        (kind == _K["none"])
        & (counts >= 2)
        & (rng.random(n_products) < mix.amazon_standalone_share)
    )
    s_family[main_sp[standalone]] = False
    s_family[main_sp[split]] = True
    s_family[split_sp[split]] = True
    s_fba = rng.random(n_store_products) < mix.fba_share

    # stock per location / warehouse
    s_stock = np.zeros((n_store_rows, 2), dtype=np.int64)
    s_stock[:, 0] = s_qty
    if store == "shopify":
        two = rng.random(n_store_rows) < mix.multi_location_share
        first = (s_qty * rng.random(n_store_rows)).astype(np.int64)
        s_stock[two, 0] = first[two]
        s_stock[two, 1] = s_qty[two] - first[two]

    # TikTok current price and stock: the store's, except stale ones
    t_cents = store_cents.copy()
    t_qty = quantity.copy()
    stale = rng.random(n_variants) < mix.stale_share
    price_stale = stale & (rng.random(n_variants) < 0.5)
    factor = rng.uniform(0.85, 1.15, int(price_stale.sum()))
    t_cents[price_stale] = (t_cents[price_stale] * factor).astype(np.int64).clip(min=99)
    qty_stale = stale & ~price_stale
    t_qty[qty_stale] = rng.geometric(0.02, int(qty_stale.sum()))
    t_stock = np.zeros((n_variants, 2), dtype=np.int64)
    t_stock[:, 0] = t_qty
    two_wh = rng.random(n_variants) < mix.multi_warehouse_share
    first_wh = (t_qty * rng.random(n_variants)).astype(np.int64)
    t_stock[two_wh, 0] = first_wh[two_wh]
    t_stock[two_wh, 1] = t_qty[two_wh] - first_wh[two_wh]

    # expectations
    reasons = np.array(list(EXPECTED_REASON.values()), dtype=object)
    exp_reason = reasons[v_kind]
    exp_reason[blank] = "MISSING_SKU"
    exp_store_row = np.where(v_kind == _K["none"], store_row_of, -1)
    suggest = np.isin(v_kind, [_K["sku_case_punct"], _K["barcode_only"]])
    exp_suggest = np.where(suggest, store_row_of, -1)

    # Shopify inventory tracking and out-of-stock policy (own stream: see AnomalyMix)
    flags = np.random.default_rng([seed, 19])
    s_untracked = np.zeros(n_store_rows, dtype=bool)
    s_continue = np.zeros(n_store_rows, dtype=bool)
    if store == "shopify" and n_store_rows:
        s_untracked = flags.random(n_store_rows) < mix.untracked_share
        s_continue = ~s_untracked & (flags.random(n_store_rows) < mix.continue_selling_share)
        # at_least_one: each kind on at least one mapped variant, so it shows in a push
        mapped = np.zeros(n_store_rows, dtype=bool)
        mapped[exp_store_row[exp_store_row >= 0]] = True
        for share, chosen, other in (
            (mix.untracked_share, s_untracked, s_continue),
            (mix.continue_selling_share, s_continue, s_untracked),
        ):
            if not mix.at_least_one or share == 0 or (chosen & (mapped | ~mapped.any())).any():
                continue
            free = np.flatnonzero(~chosen & ~other & mapped)
            if not len(free):  # nothing mapped (tiny catalog): any variant
                free = np.flatnonzero(~chosen & ~other)
            if len(free):
                chosen[free[flags.integers(len(free))]] = True

    tiktok = _Side(
        product=v_prod,
        pos=v_pos,
        sku=tiktok_sku,
        title=_take(prod["title"], v_prod),
        variant_title=t["variant_title"],
        options=t["options"],
        option_pairs=t["pairs"],
        cents=t_cents,
        stock=t_stock,
        barcode=_where(tiktok_has_barcode, upc, None),
    )
    store_side = _Side(
        product=s_sp,
        pos=s_pos,
        sku=s_sku,
        title=s_title,
        variant_title=s_vtitle,
        options=s_options,
        option_pairs=s_pairs,
        cents=s_cents,
        stock=s_stock,
        barcode=s_barcode,
    )
    return _Core(
        store=store,
        tiktok=tiktok,
        store_side=store_side,
        p_kind=kind,
        p_count=counts,
        exp_store_row=exp_store_row,
        exp_sku_reason=exp_reason,
        exp_suggest_row=exp_suggest,
        s_product_count=n_store_products,
        s_store_only=s_store_only,
        s_family=s_family,
        s_fba=s_fba,
        s_active=s_active,
        t_two_wh=two_wh,
        s_untracked=s_untracked,
        s_continue=s_continue,
    )


# --- ids ----------------------------------------------------------------------------------
def _numbers(values: np.ndarray) -> Strings:
    return pa.array(values, pa.int64()).cast(pa.string())


def _tiktok_ids(core: _Core) -> tuple[Strings, Strings]:
    """(product id per TikTok variant, SKU id per TikTok variant) as decimal strings."""
    side = core.tiktok
    return (
        _numbers(1_729_000_000_000_000_001 + side.product),
        _numbers(1_731_000_000_000_000_001 + np.arange(len(side.product))),
    )


def _store_ids(core: _Core) -> dict[str, Strings]:
    """Store ids per store row: product_id, variant_id, parent (amazon), asin (amazon)."""
    side = core.store_side
    n = len(side.product)
    if core.store == "shopify":
        return {
            "product_id": _join("gid://shopify/Product/", _numbers(8_000_000_001 + side.product)),
            "variant_id": _join(
                "gid://shopify/ProductVariant/", _numbers(40_000_000_001 + np.arange(n))
            ),
            "parent": _const(None, n),
            "asin": _const(None, n),
        }
    asin = _join("B0", _pad(10_000_000 + np.arange(n), 8))
    parent_asin = _join("B0", _pad(90_000_000 + side.product, 8))
    family = core.s_family[side.product]
    return {
        "product_id": _where(family, parent_asin, asin),
        "variant_id": side.sku,
        "parent": _where(family, parent_asin, None),
        "asin": asin,
    }


# --- tables -------------------------------------------------------------------------------
def _decimal_column(cents: np.ndarray) -> pa.Array:
    """DECIMAL(18, 4) from integer cents without Python objects (little-endian 128-bit)."""
    scaled = np.zeros((len(cents), 2), dtype=np.int64)
    scaled[:, 0] = cents.astype(np.int64) * 100  # non-negative: high word stays 0
    return pa.Array.from_buffers(pa.decimal128(18, 4), len(cents), [None, pa.py_buffer(scaled)])


def _table(channel: str, columns: dict[str, Any]) -> pa.Table:
    n = len(columns["variant_id"])
    stamp = pa.array([EXTRACTED_AT], pa.timestamp("us", tz="UTC"))
    data = {
        **columns,
        "channel": _const(channel, n),
        "currency": _const("USD", n),
        "quantity": pa.array(columns["quantity"], pa.int64()),
        "extracted_at": stamp.take(pa.array(np.zeros(n, np.int64))),
    }
    return pa.table({name: data[name] for name in STAGED_COLUMNS})


def _tables(core: _Core) -> tuple[pa.Table, pa.Table]:
    t, s = core.tiktok, core.store_side
    t_pid, t_sid = _tiktok_ids(core)
    n_t = len(t_pid)
    tiktok = _table(
        "tiktok",
        {
            "product_id": t_pid,
            "variant_id": t_sid,
            "seller_sku": t.sku,
            "title": t.title,
            "variant_title": t.variant_title,
            "options": t.options,
            "price": _decimal_column(t.cents),
            "quantity": t.stock.sum(axis=1),
            "barcode": t.barcode,
            "status": _const("ACTIVATE", n_t),
            "fulfillment": _const(None, n_t),
            "parent_id": _const(None, n_t),
        },
    )
    ids = _store_ids(core)
    n_s = len(s.product)
    amazon = core.store == "amazon"
    active = core.s_active[s.product]
    store = _table(
        core.store,
        {
            "product_id": ids["product_id"],
            "variant_id": ids["variant_id"],
            "seller_sku": s.sku,
            "title": _amazon_titles(s) if amazon else s.title,
            "variant_title": s.variant_title,
            "options": s.options,
            "price": _decimal_column(s.cents),
            "quantity": s.stock.sum(axis=1),
            "barcode": s.barcode,
            "status": (
                _where(active, "Active", "Inactive")
                if amazon
                else _where(active, "ACTIVE", "DRAFT")
            ),
            "fulfillment": (
                _where(core.s_fba[s.product], "FBA", "MFN") if amazon else _const(None, n_s)
            ),
            "parent_id": ids["parent"],
        },
    )
    return tiktok, store


def _amazon_titles(s: _Side) -> Strings:
    """Amazon child titles carry the variation: 'Title, Red, M'."""
    multi = pc.not_equal(s.option_pairs[1], "").to_numpy(zero_copy_only=False)
    return _where(multi, _join(s.title, ", ", s.option_pairs[1], ", ", s.option_pairs[3]), s.title)


def _expected_frame(core: _Core) -> pd.DataFrame:
    t_pid, t_sid = _tiktok_ids(core)
    ids = _store_ids(core)
    row = core.exp_store_row
    mapped = row >= 0
    sug = core.exp_suggest_row

    def pick(values: Strings, rows: np.ndarray, ok: np.ndarray) -> Strings:
        return _where(ok, _take(values, np.where(ok, rows, 0)), None)

    kinds = _take(pa.array(KINDS, pa.string()), core.p_kind[core.tiktok.product])
    table = pa.table(
        {
            "tiktok_product_id": t_pid,
            "tiktok_sku_id": t_sid,
            "seller_sku": core.tiktok.sku,
            "status": _where(mapped, "mapped", "unmapped"),
            "reason": pa.array(core.exp_sku_reason, pa.string()),
            "store_product_id": pick(ids["product_id"], row, mapped),
            "store_variant_id": pick(ids["variant_id"], row, mapped),
            "suggestion": pick(ids["variant_id"], sug, sug >= 0),
            "anomaly": kinds,
        }
    )
    return pd.DataFrame(
        {
            name: pd.array(col.to_numpy(zero_copy_only=False), dtype=object)
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )


def generate_tables(
    n_variants: int, *, seed: int = 0, mix: AnomalyMix | None = None, store: Store = "shopify"
) -> tuple[pa.Table, pa.Table]:
    """Both catalogs as Arrow tables with the ``staged_variants`` columns (no ``run_id``).

    Deterministic for a seed; vectorised, for benchmarks up to millions of variants. The
    tables hold the same catalog :func:`generate_fixture` would build for these arguments.
    """
    core = _build(n_variants, seed, mix or AnomalyMix(), store)
    return _tables(core)


def generate_tables_with_expected(
    n_variants: int, *, seed: int = 0, mix: AnomalyMix | None = None, store: Store = "shopify"
) -> tuple[pa.Table, pa.Table, pd.DataFrame]:
    """:func:`generate_tables` plus the expected mapping outcome per TikTok SKU (see
    :attr:`Manifest.expected` for the columns)."""
    core = _build(n_variants, seed, mix or AnomalyMix(), store)
    return (*_tables(core), _expected_frame(core))


# --- fixture ------------------------------------------------------------------------------
@dataclass
class Manifest:
    """What the generator built and what the mapping must make of it.

    ``expected``: one row per TikTok SKU with the mapping-report columns
    ``tiktok_product_id, tiktok_sku_id, seller_sku, status, reason, store_product_id,
    store_variant_id`` (store ids only for mapped rows), ``suggestion`` (the store variant
    a suggestion should name for ``sku_case_punct`` and ``barcode_only`` SKUs, else None:
    no expectation) and ``anomaly`` (the product's kind).
    ``products``: one row per TikTok product: ``tiktok_product_id, anomaly, status,
    reason, variants``. ``store_only``: ids of the store products with no TikTok
    counterpart. ``orders``: one row per generated order: ``order_id, status,
    shipping_type, has_unmapped_line, units``.
    """

    seed: int
    store: Store
    mix: AnomalyMix
    expected: pd.DataFrame
    products: pd.DataFrame
    store_only: list[str]
    orders: pd.DataFrame

    def anomaly_counts(self) -> dict[str, int]:
        """Number of TikTok products per anomaly kind (plus ``store_only``)."""
        counts = self.products["anomaly"].value_counts().to_dict()
        out = {kind: int(counts.get(kind, 0)) for kind in KINDS}
        out[STORE_ONLY] = len(self.store_only)
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (records), e.g. to write next to a generated fixture file."""

        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return json.loads(frame.to_json(orient="records"))

        return {
            "seed": self.seed,
            "store": self.store,
            "mix": asdict(self.mix),
            "anomaly_counts": self.anomaly_counts(),
            "products": records(self.products),
            "expected": records(self.expected),
            "store_only": self.store_only,
            "orders": records(self.orders),
        }


@dataclass
class GeneratedScenario:
    """A generated fixture and its manifest."""

    fixture: Fixture
    manifest: Manifest


def _runs(values: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of equal consecutive values (rows are grouped)."""
    if len(values) == 0:
        return []
    cut = np.flatnonzero(np.diff(values)) + 1
    starts = np.concatenate([[0], cut])
    stops = np.concatenate([cut, [len(values)]])
    return list(zip(starts.tolist(), stops.tolist(), strict=True))


def _money(cents: int) -> Decimal:
    return Decimal(int(cents)).scaleb(-2)


@dataclass
class _Rows:
    """One side as Python lists, for building fixture objects (small catalogs)."""

    sku: list[str | None]
    title: list[str]
    variant_title: list[str | None]
    barcode: list[str | None]
    pairs: list[list[str]]
    cents: list[int]
    stock: list[list[int]]

    @classmethod
    def of(cls, side: _Side, title: Strings | None = None) -> _Rows:
        return cls(
            sku=side.sku.to_pylist(),
            title=(title if title is not None else side.title).to_pylist(),
            variant_title=side.variant_title.to_pylist(),
            barcode=side.barcode.to_pylist(),
            pairs=[p.to_pylist() for p in side.option_pairs],
            cents=side.cents.tolist(),
            stock=side.stock.tolist(),
        )

    def attrs(self, i: int) -> dict[str, str]:
        a1, v1, a2, v2 = (p[i] for p in self.pairs)
        return {a1: v1, a2: v2} if a1 else {}


def _tiktok_side(core: _Core) -> TikTokSide:
    rows = _Rows.of(core.tiktok)
    pids, sids = (x.to_pylist() for x in _tiktok_ids(core))
    created = ORDERS_START - 30 * 86_400
    products = []
    # Products were created and last edited at different times, as in a real shop: one
    # minute apart (the TikTok search window of 10,000 results is paged by update time).
    for number, (start, stop) in enumerate(_runs(core.tiktok.product)):
        skus = []
        for i in range(start, stop):
            inventory = {DEFAULT_WAREHOUSE: rows.stock[i][0]}
            if rows.stock[i][1] or (core.t_two_wh is not None and core.t_two_wh[i]):
                inventory[SECOND_WAREHOUSE] = rows.stock[i][1]
            skus.append(
                TikTokSku.model_construct(
                    id=sids[i],
                    seller_sku=rows.sku[i],
                    price=_money(rows.cents[i]),
                    currency="USD",
                    inventory=inventory,
                    sales_attributes=rows.attrs(i),
                    barcode=rows.barcode[i],
                )
            )
        products.append(
            TikTokProduct.model_construct(
                id=pids[start],
                title=rows.title[start],
                status="ACTIVATE",
                create_time=created + number * 60,
                update_time=created + number * 60,
                skus=skus,
            )
        )
    warehouses = [
        TikTokWarehouse(id=DEFAULT_WAREHOUSE, name="Main", is_default=True),
        TikTokWarehouse(id=SECOND_WAREHOUSE, name="Overflow"),
    ]
    return TikTokSide(warehouses=warehouses).model_copy(update={"products": products})


def _shopify_side(core: _Core) -> ShopifySide:
    side = core.store_side
    rows = _Rows.of(side)
    ids = {k: v.to_pylist() for k, v in _store_ids(core).items()}
    products = []
    for start, stop in _runs(side.product):
        variants = []
        for i in range(start, stop):
            inventory = {DEFAULT_LOCATION: rows.stock[i][0]}
            if rows.stock[i][1]:
                inventory[SECOND_LOCATION] = rows.stock[i][1]
            variants.append(
                ShopifyVariant.model_construct(
                    id=ids["variant_id"][i],
                    sku=rows.sku[i],
                    price=_money(rows.cents[i]),
                    barcode=rows.barcode[i],
                    title=rows.variant_title[i],
                    options=rows.attrs(i),
                    inventory=inventory,
                    tracked=not (core.s_untracked is not None and core.s_untracked[i]),
                    inventory_policy="CONTINUE"
                    if core.s_continue is not None and core.s_continue[i]
                    else "DENY",
                )
            )
        active = bool(core.s_active[side.product[start]])
        products.append(
            ShopifyProduct.model_construct(
                id=ids["product_id"][start],
                title=rows.title[start],
                status="ACTIVE" if active else "DRAFT",
                variants=variants,
            )
        )
    locations = [
        ShopifyLocation(id=DEFAULT_LOCATION, name="Main"),
        ShopifyLocation(id=SECOND_LOCATION, name="East Warehouse"),
    ]
    return ShopifySide(locations=locations).model_copy(update={"products": products})


def _amazon_side(core: _Core) -> AmazonSide:
    side = core.store_side
    rows = _Rows.of(side, title=_amazon_titles(side))
    ids = {k: v.to_pylist() for k, v in _store_ids(core).items()}
    fba = core.s_fba[side.product].tolist()
    active = core.s_active[side.product].tolist()
    listings = [
        AmazonListing.model_construct(
            sku=rows.sku[i],
            asin=ids["asin"][i],
            parent_asin=ids["parent"][i],
            title=rows.title[i],
            price=_money(rows.cents[i]),
            currency="USD",
            quantity=sum(rows.stock[i]),
            fulfillment="FBA" if fba[i] else "MFN",
            barcode=rows.barcode[i],
            status="Active" if active[i] else "Inactive",
        )
        for i in range(len(side.product))
    ]
    return AmazonSide().model_copy(update={"listings": listings})


_FIRST_NAMES = (
    "Ada",
    "Bram",
    "Celine",
    "Dario",
    "Elif",
    "Farah",
    "Gideon",
    "Hana",
    "Ivo",
    "Juno",
    "Kai",
    "Lena",
    "Milo",
    "Nadia",
    "Otto",
    "Priya",
)
_LAST_NAMES = (
    "Arden",
    "Bishop",
    "Carvalho",
    "Dunmore",
    "Eriksen",
    "Fontaine",
    "Gallagher",
    "Hoshino",
    "Ibarra",
    "Jansen",
    "Keller",
    "Lowell",
    "Marchetti",
)
_STREETS = (
    "Birch Rd",
    "Quarry Ln",
    "Meadow St",
    "Bayview Ave",
    "Granite Way",
    "Hollow Ct",
    "Larkspur Dr",
    "Mill Race Rd",
)
_CITIES = (
    ("Portland", "Multnomah County", "Oregon", "972"),
    ("Austin", "Travis County", "Texas", "787"),
    ("Columbus", "Franklin County", "Ohio", "432"),
    ("Raleigh", "Wake County", "North Carolina", "276"),
    ("Boise", "Ada County", "Idaho", "837"),
    ("Tucson", "Pima County", "Arizona", "857"),
)
ORDER_STATUS_MIX = {"AWAITING_SHIPMENT": 0.6, "UNPAID": 0.1, "ON_HOLD": 0.15, "CANCELLED": 0.15}


def _orders(
    core: _Core, n_orders: int, seed: int, start: int, unmapped_share: float = 0.15
) -> tuple[list[OrderFixture], pd.DataFrame]:
    """Orders over the generated TikTok SKUs with fake buyers (555 phone numbers)."""
    rng = np.random.default_rng([seed, 7])
    sids = _tiktok_ids(core)[1].to_pylist()
    skus = core.tiktok.sku.to_pylist()
    mapped = np.flatnonzero(core.exp_store_row >= 0)
    unmapped = np.flatnonzero(core.exp_store_row < 0)
    statuses = list(ORDER_STATUS_MIX)
    weights = np.array(list(ORDER_STATUS_MIX.values()))
    orders, rows = [], []
    for n in range(n_orders):
        status = str(rng.choice(statuses, p=weights / weights.sum()))
        shipping = "TIKTOK" if rng.random() < 0.2 else "SELLER"
        n_lines = int(rng.choice([1, 1, 1, 2, 2, 3]))
        with_unmapped = len(unmapped) > 0 and (len(mapped) == 0 or rng.random() < unmapped_share)
        pool = mapped if len(mapped) else unmapped
        picks = list(rng.choice(pool, size=min(n_lines, len(pool)), replace=False))
        if with_unmapped:
            picks[-1] = int(rng.choice(unmapped))
        picks = list(dict.fromkeys(int(p) for p in picks))
        lines = [
            OrderLineFixture(
                sku_id=sids[p],
                seller_sku=skus[p] or None,
                quantity=int(rng.choice([1, 1, 1, 2, 3])),
            )
            for p in picks
        ]
        city, county, state, zip3 = _CITIES[int(rng.integers(len(_CITIES)))]
        recipient = {
            "first_name": str(rng.choice(_FIRST_NAMES)),
            "last_name": str(rng.choice(_LAST_NAMES)),
            "phone": f"(+1)555-{rng.integers(100, 1000)}-{rng.integers(1000, 10000)}",
            "address_line1": f"{rng.integers(10, 9900)} {rng.choice(_STREETS)}",
            "address_line2": f"Unit {rng.integers(1, 60)}" if rng.random() < 0.3 else "",
            "city": city,
            "county": county,
            "state": state,
            "postal_code": f"{zip3}{rng.integers(10, 100)}",
        }
        order_id = str(5_768_000_000_000_000_001 + n)
        orders.append(
            OrderFixture(
                id=order_id,
                status=status,
                shipping_type=shipping,
                create_time=start + n * 60,
                lines=lines,
                recipient=recipient,
                buyer_email=f"buyer{n + 1:05d}@example.com",
            )
        )
        rows.append(
            {
                "order_id": order_id,
                "status": status,
                "shipping_type": shipping,
                "has_unmapped_line": bool(with_unmapped),
                "units": sum(line.quantity for line in lines),
            }
        )
    columns = ["order_id", "status", "shipping_type", "has_unmapped_line", "units"]
    return orders, pd.DataFrame(rows, columns=columns)


def generate_fixture(
    n_variants: int,
    *,
    seed: int = 0,
    store: Store = "shopify",
    mix: AnomalyMix | None = None,
    orders: int = 0,
    orders_start: int | None = None,
) -> GeneratedScenario:
    """A seeded scenario: a Fixture (TikTok + the store side) and its :class:`Manifest`.

    ``orders`` adds that many TikTok orders (statuses per ``ORDER_STATUS_MIX``, 20 %
    shipped by TikTok, 1-3 lines of 1-3 units, 15 % with a line of an unmapped product),
    created one minute apart from ``orders_start`` (Unix seconds; default 2026-01-01,
    which is before any mapping made today: pass the current time for orders that are to
    be relayed).
    """
    mix = mix or AnomalyMix()
    core = _build(n_variants, seed, mix, store)
    expected = _expected_frame(core)
    tiktok = _tiktok_side(core)
    shopify = _shopify_side(core) if store == "shopify" else ShopifySide()
    amazon = _amazon_side(core) if store == "amazon" else AmazonSide()
    order_list, order_frame = _orders(core, orders, seed, orders_start or ORDERS_START)
    fixture = Fixture.model_construct(
        tiktok=tiktok, shopify=shopify, amazon=amazon, orders=order_list
    )
    first = expected.groupby("tiktok_product_id", sort=False).agg(
        anomaly=("anomaly", "first"),
        status=("status", "first"),
        variants=("tiktok_sku_id", "size"),
    )
    products = first.reset_index()
    products["reason"] = products["anomaly"].map(EXPECTED_REASON)
    products = products[["tiktok_product_id", "anomaly", "status", "reason", "variants"]]
    store_product_ids = _store_ids(core)["product_id"]
    only = core.s_store_only[core.store_side.product]
    store_only_ids = sorted(set(store_product_ids.filter(pa.array(only)).to_pylist()))
    manifest = Manifest(
        seed=seed,
        store=store,
        mix=mix,
        expected=expected,
        products=products,
        store_only=store_only_ids,
        orders=order_frame,
    )
    return GeneratedScenario(fixture=fixture, manifest=manifest)
