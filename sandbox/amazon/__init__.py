"""Local emulator of the Amazon Selling Partner API parts skubridge uses.

LWA token refresh, Listings Items, the All Listings report, FBA inventory summaries and
Multi-Channel Fulfillment orders, with Amazon's error envelope, usage-plan throttling and
URL-encoding rules (https://developer-docs.amazon.com/sp-api/docs/url-encoding). ``create_app``
follows the shared emulator contract; sandbox credentials are the ``SANDBOX_*`` constants.

Admin routes (under ``/_sandbox/``, never throttled or faulted): ``PUT load`` (fixture
JSON), ``GET state`` (listings, FBA fulfillable per SKU, MCF orders with items and
address, reports, LWA token calls), ``GET fixture`` (the account as a fixture ``amazon``
part), ``GET|PUT faults``, ``GET|DELETE requests`` (counts per SP-API operation name, e.g.
``createFulfillmentOrder``), ``PUT throttle`` (``{"enabled": bool, "scale": float}``),
``POST tokens/expire`` (expire every issued access token), ``PUT mcf``
(``{"progress": "polls"|"clock"|"manual", "step_s", "carrier", "cancel_error_code"}``,
see :mod:`sandbox.amazon.mcf`), ``POST mcf/{sellerFulfillmentOrderId}/advance``
(``{"to"?, "packages"?}``), ``PUT listings`` (``{"apply_delay_s"}``: ACCEPTED listing
patches show up that much later) and ``PUT reports``
(``{"compression": "GZIP"|null, "charset": "UTF-8", "statuses": [...],
"include_parents": bool}``: one status per getReport poll; parent rows in the report).

Variation families: every distinct fixture ``parent_asin`` becomes a parent listing with
SKU ``<parent_asin>-PARENT``, served with ``includedData=relationships`` and the
``variationParentSku`` search filter (see :mod:`sandbox.amazon.families`); ``GET state``
lists them under ``families``.
"""

from __future__ import annotations

from sandbox.amazon.app import create_app, operation_of
from sandbox.amazon.state import (
    SANDBOX_CLIENT_ID,
    SANDBOX_CLIENT_SECRET,
    SANDBOX_REFRESH_TOKEN,
    AmazonEmulator,
)

__all__ = [
    "SANDBOX_CLIENT_ID",
    "SANDBOX_CLIENT_SECRET",
    "SANDBOX_REFRESH_TOKEN",
    "AmazonEmulator",
    "create_app",
    "operation_of",
]
