"""Variation families of the emulated seller account (Listings Items ``relationships``).

The fixture gives each child listing a ``parent_asin``. Amazon models a variation family
as a parent listing (its own seller SKU and the parent ASIN, not buyable) plus children
whose listings point at the parent SKU. The emulator builds one parent per distinct
``parent_asin``; its SKU is derived (``<parent_asin>-PARENT``) because the fixture format
has no parent SKU. The parent is served by getListingsItem / searchListingsItems, never
by the report, inventory or MCF (it has no offer and no stock).

Wire shape (MODEL:listingsItems_2021-08-01.json ``ItemRelationships``): one entry per
marketplace ``{"marketplaceId", "relationships": [ItemRelationship]}``, where a
``VARIATION`` relationship lists ``parentSkus`` (on a child) or ``childSkus`` (on a
parent) and a ``variationTheme`` ``{"attributes": [...], "theme": "..."}``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

PARENT_SKU_SUFFIX = "-PARENT"
# The fixture carries no option names, so every family gets this theme. The model's own
# example theme is COLOR_NAME/STYLE_NAME; attribute names follow the theme's words.
DEFAULT_THEME = "SIZE_NAME/COLOR_NAME"
DEFAULT_THEME_ATTRIBUTES = ("size", "color")


class ChildListing(Protocol):
    sku: str
    asin: str
    parent_asin: str | None
    title: str
    product_type: str
    created: float
    updated: float


@dataclass
class VariationParent:
    """The parent listing of one variation family (not sellable: no offer, no stock)."""

    sku: str
    asin: str
    title: str
    product_type: str
    created: float
    updated: float
    children: list[str] = field(default_factory=list)
    theme: str = DEFAULT_THEME
    theme_attributes: tuple[str, ...] = DEFAULT_THEME_ATTRIBUTES

    def variation_theme(self) -> dict[str, Any]:
        """The model's ``ItemVariationTheme`` (both fields required)."""
        return {"attributes": list(self.theme_attributes), "theme": self.theme}


def build_parents(listings: Iterable[ChildListing]) -> dict[str, VariationParent]:
    """One parent per distinct ``parent_asin``, keyed by parent SKU, children in load order.

    The derived parent SKU never collides with a real listing's SKU (a suffix is added).
    """
    listings = list(listings)
    taken = {listing.sku for listing in listings}
    by_asin: dict[str, VariationParent] = {}
    for listing in listings:
        if not listing.parent_asin:
            continue
        parent = by_asin.get(listing.parent_asin)
        if parent is None:
            sku = listing.parent_asin + PARENT_SKU_SUFFIX
            n = 2
            while sku in taken:
                sku = f"{listing.parent_asin}{PARENT_SKU_SUFFIX}-{n}"
                n += 1
            taken.add(sku)
            parent = by_asin[listing.parent_asin] = VariationParent(
                sku=sku,
                asin=listing.parent_asin,
                title=listing.title,
                product_type=listing.product_type,
                created=listing.created,
                updated=listing.updated,
            )
        parent.children.append(listing.sku)
        parent.updated = max(parent.updated, listing.updated)
    return {parent.sku: parent for parent in by_asin.values()}


def child_relationships(
    marketplace_id: str, parent: VariationParent | None
) -> list[dict[str, Any]]:
    """``relationships`` of a (possibly standalone) sellable listing.

    A standalone listing gets its marketplace entry with an empty list (``relationships``
    is required in ``ItemRelationshipsByMarketplace``). Whether a child's relationship
    carries the ``variationTheme`` too is UNCONFIRMED; the model documents it for
    ``VARIATION`` relationships without restricting it to parents, so it is sent.
    """
    if parent is None:
        return [{"marketplaceId": marketplace_id, "relationships": []}]
    relationship = {
        "type": "VARIATION",
        "parentSkus": [parent.sku],
        "variationTheme": parent.variation_theme(),
    }
    return [{"marketplaceId": marketplace_id, "relationships": [relationship]}]


def parent_relationships(marketplace_id: str, parent: VariationParent) -> list[dict[str, Any]]:
    """``relationships`` of a parent listing: its children's SKUs and the theme."""
    relationship = {
        "type": "VARIATION",
        "childSkus": list(parent.children),
        "variationTheme": parent.variation_theme(),
    }
    return [{"marketplaceId": marketplace_id, "relationships": [relationship]}]
