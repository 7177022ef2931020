"""Which TikTok shipping provider a store carrier is: an explicit map, never a guess.

TikTok wants a ``shipping_provider_id`` from its own list for the order's delivery option
(https://partner.tiktokshop.com/docv2/page/get-shipping-providers-202309) and checks the
tracking number against it; a wrong provider gets the package flagged, and for Amazon MCF
warehouses repeated non-MCF tracking deactivates the warehouse
(https://seller-us.tiktok.com/university/essay?knowledge_id=8485209294784270). The store
gives free text (Shopify ``trackingInfo.company``, MCF ``carrierCode``), so a carrier is
matched through :data:`DEFAULT_CARRIERS` plus the shop's ``[shops.orders.carriers]``
overrides to a provider *name* (or id), which is then looked up in TikTok's list. A
carrier missing from the map, or a name missing from the list, gives None: the caller
parks the order as ``UNKNOWN_CARRIER``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

# Store carrier (normalised) -> TikTok provider name. Names are the US provider names
# TikTok lists (the USPS sample id is on the Get Shipping Providers page above).
DEFAULT_CARRIERS: dict[str, str] = {
    "ups": "UPS",
    "usps": "USPS",
    "fedex": "FedEx",
    "dhl ecommerce": "DHL eCommerce",
    "amazon logistics": "Amazon Logistics",
    "amzl": "Amazon Logistics",
    "amzl us": "Amazon Logistics",
}


@dataclass(frozen=True, slots=True)
class Provider:
    """A TikTok shipping provider (``id`` goes into the ship call)."""

    id: str
    name: str


def normalise(name: str) -> str:
    """Case, punctuation and repeated spaces do not matter ("Amazon-Logistics " = "amazon
    logistics")."""
    return re.sub(r"[^a-z0-9]+", " ", name.lower()).strip()


def carrier_map(overrides: Mapping[str, str]) -> dict[str, str]:
    """The defaults with the shop's overrides on top, keyed by normalised store carrier."""
    out = dict(DEFAULT_CARRIERS)
    out.update({normalise(k): v for k, v in overrides.items()})
    return out


def resolve_provider(
    carrier: str | None, providers: Sequence[Provider], carriers: Mapping[str, str]
) -> Provider | None:
    """The provider of TikTok's list that ``carrier`` maps to, or None (unknown carrier, or
    the mapped provider is not offered for this delivery option)."""
    if not carrier:
        return None
    target = carriers.get(normalise(carrier))
    if target is None:
        return None
    for p in providers:
        if p.id == target or normalise(p.name) == normalise(target):
            return p
    return None
