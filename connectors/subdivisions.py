"""Country subdivision names to ISO 3166-2 codes (pycountry), for store addresses.

TikTok gives the state or province of a recipient as a *name* in
``recipient_address.district_info[]`` (``address_level`` L1, e.g. "Illinois"; TikTok Shop
SDK model Order202309GetOrderDetailResponseDataOrdersRecipientAddressDistrictInfo), while
Shopify's ``MailingAddressInput`` takes ``provinceCode``, the subdivision part of the ISO
3166-2 code ("IL" for US-IL, "QC" for CA-QC;
https://shopify.dev/docs/api/admin-graphql/latest/input-objects/MailingAddressInput) and
Amazon MCF's ``stateOrRegion`` takes the state code in the US
(https://developer-docs.amazon.com/sp-api/docs/fulfillment-outbound-api-v2020-07-01-reference#address).
pycountry (https://pypi.org/project/pycountry/) carries the ISO 3166-2 tables.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import pycountry


def _key(text: str) -> str:
    """Compare names without case, accents, dots or extra spaces ("Québec" = "quebec")."""
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return " ".join(plain.replace(".", " ").replace("-", " ").casefold().split())


@cache
def _table(country_code: str) -> dict[str, str]:
    """Name (and code) key -> subdivision code without the country prefix, for a country."""
    out: dict[str, str] = {}
    for sub in pycountry.subdivisions.get(country_code=country_code) or []:
        short = sub.code.split("-", 1)[1]
        out.setdefault(_key(sub.name), short)
        out.setdefault(_key(short), short)
        out.setdefault(_key(sub.code), short)
    return out


def subdivision_code(country_code: str | None, name: str | None) -> str | None:
    """The ISO 3166-2 subdivision code (without country prefix) of ``name`` in a country.

    ``name`` may already be a code ("IL", "US-IL"). None when the country or the name is
    missing or unknown to ISO 3166-2: the caller reports it and keeps the name.
    """
    if not country_code or not name or not name.strip():
        return None
    return _table(country_code.strip().upper()).get(_key(name))
