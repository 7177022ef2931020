"""Amazon variation families: reading ``relationships`` and choosing a family id.

The All Listings report has no parentage column (the report columns:
https://developer-docs.amazon.com/sp-api/docs/report-type-values-inventory), so the connector
asks the Listings Items API which listings are variation children of which parent
(``includedData=relationships``, ``ItemRelationships`` in the Listings Items model
``sandbox/amazon/models/listingsItems_2021-08-01.json``:
per marketplace, ``VARIATION`` relationships with ``parentSkus`` on a child and
``childSkus`` on a parent). This module holds the pure parts: parsing an ``Item``, the
family index and the call-cost formula; the HTTP calls live in :mod:`connectors.amazon`.

Family id rule: a family is identified by its parent ASIN (the parent listing's
``summaries[].asin``), or by the parent SKU while the parent has no ASIN yet (``asin`` is
optional in the model, e.g. while a listing is being created).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

log = logging.getLogger("skubridge.connectors.amazon")

FamilyMode = Literal["auto", "off"]
SEARCH_BATCH = 20  # identifiers and pageSize max 20 per searchListingsItems (the model)
SEARCH_RATE = 5.0  # usage plan: 5 requests/s, burst 5
# (https://developer-docs.amazon.com/sp-api/docs/listings-items-api-rate-limits)
SEARCH_BURST = 5


@dataclass(frozen=True, slots=True)
class ItemLinks:
    """The variation links of one listing in one marketplace."""

    sku: str
    asin: str | None
    parents: tuple[str, ...] = ()
    children: tuple[str, ...] = ()
    theme: str | None = None


def item_links(item: Mapping[str, Any], marketplace_id: str) -> ItemLinks | None:
    """Parent and child SKUs of an ``Item`` in ``marketplace_id`` (None if it has no sku).

    Only ``VARIATION`` relationships count (``PACKAGE_HIERARCHY`` is a different bond);
    entries of other marketplaces are ignored.
    """
    sku = item.get("sku")
    if not isinstance(sku, str) or not sku:
        return None
    asin = None
    for summary in item.get("summaries") or []:
        if isinstance(summary, dict) and summary.get("marketplaceId") == marketplace_id:
            asin = summary.get("asin") or None
    parents: list[str] = []
    children: list[str] = []
    theme = None
    for entry in item.get("relationships") or []:
        if not isinstance(entry, dict) or entry.get("marketplaceId") != marketplace_id:
            continue
        for rel in entry.get("relationships") or []:
            if not isinstance(rel, dict) or rel.get("type") != "VARIATION":
                continue
            parents += [s for s in rel.get("parentSkus") or [] if isinstance(s, str) and s]
            children += [s for s in rel.get("childSkus") or [] if isinstance(s, str) and s]
            variation_theme = rel.get("variationTheme")
            if isinstance(variation_theme, dict) and variation_theme.get("theme"):
                theme = str(variation_theme["theme"])
    return ItemLinks(
        sku=sku,
        asin=asin if isinstance(asin, str) else None,
        parents=tuple(dict.fromkeys(parents)),
        children=tuple(dict.fromkeys(children)),
        theme=theme,
    )


@dataclass(frozen=True, slots=True)
class Family:
    """One variation family: the parent listing and the children that point at it."""

    parent_sku: str
    parent_asin: str | None
    children: tuple[str, ...]
    theme: str | None = None

    @property
    def family_id(self) -> str:
        """The store product id of the family: parent ASIN, else parent SKU."""
        return self.parent_asin or self.parent_sku


@dataclass
class FamilyIndex:
    """Which listing belongs to which family; parents are listed so they can be dropped."""

    families: dict[str, Family] = field(default_factory=dict)  # parent SKU -> family
    parent_of: dict[str, str] = field(default_factory=dict)  # child SKU -> parent SKU
    calls: int = 0  # Listings Items calls spent learning the families

    def family_of(self, sku: str) -> Family | None:
        """The family a child SKU belongs to (None for a standalone or parent listing)."""
        parent = self.parent_of.get(sku)
        return self.families.get(parent) if parent else None

    def is_parent(self, sku: str) -> bool:
        """True for a variation parent (not sellable: no offer, no stock)."""
        return sku in self.families


def build_index(links: Iterable[ItemLinks], known_skus: Iterable[str]) -> FamilyIndex:
    """Families from the links of the catalog's listings and of their parents.

    A child is any known SKU that names a parent, or that a parent lists in ``childSkus``
    (either side is enough). A child naming more than one parent is ambiguous: the
    alphabetically first parent is taken, deterministically, and a warning is logged.
    """
    known = set(known_skus)
    by_sku = {link.sku: link for link in links}
    parent_of: dict[str, str] = {}
    for sku in known:
        link = by_sku.get(sku)
        if link is None or not link.parents:
            continue
        if len(link.parents) > 1:
            log.warning("SKU %r has %d variation parents; using %r", sku, len(link.parents),
                        min(link.parents))  # fmt: skip
        parent_of[sku] = min(link.parents)
    for link in by_sku.values():
        for child in link.children:
            if child in known and child not in parent_of:
                parent_of[child] = link.sku
    members: dict[str, list[str]] = {}
    for child, parent in parent_of.items():
        members.setdefault(parent, []).append(child)
    families: dict[str, Family] = {}
    for parent, children in members.items():
        link = by_sku.get(parent)
        theme = link.theme if link and link.theme else None
        if theme is None:
            theme = next((by_sku[c].theme for c in children if c in by_sku), None)
        families[parent] = Family(
            parent_sku=parent,
            parent_asin=link.asin if link else None,
            children=tuple(sorted(children)),
            theme=theme,
        )
    # a listing that is itself a parent is never someone's child
    for parent in families:
        parent_of.pop(parent, None)
    return FamilyIndex(families=families, parent_of=parent_of)


def search_calls(n_skus: int, n_unseen_parents: int, batch: int = SEARCH_BATCH) -> int:
    """searchListingsItems calls to learn the families of ``n_skus`` listings.

    One call per batch of 20 catalog SKUs (``identifiers``, ``pageSize=20``), then one
    per batch of 20 parent SKUs not already among them (for the parent ASIN):
    ``ceil(n/20) + ceil(p/20)``. SKUs containing a comma cannot go into the csv list
    (https://developer-docs.amazon.com/sp-api/docs/url-encoding) and cost one
    getListingsItem each instead.
    """
    return math.ceil(n_skus / batch) + math.ceil(n_unseen_parents / batch)


def minimum_seconds(calls: int, rate: float = SEARCH_RATE, burst: int = SEARCH_BURST) -> float:
    """Least time ``calls`` requests take under a token bucket (the burst is free)."""
    return max(0, calls - burst) / rate
