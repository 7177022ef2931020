"""Local emulator of the Shopify Admin GraphQL API (2026-04), written from
Shopify's docs (https://shopify.dev/docs/api/admin-graphql) and schema: schema validation against
Shopify's own published schema, query cost and the leaky bucket, cursor paging, bulk operations with
JSONL results, the 2026-04 inventory contract (``@idempotent``, ``changeFromQuantity``), variant SKU
updates, ``orderCreate`` with inventory behaviour, order search and signed webhooks.

Default access token: ``shpat_sandbox0000000000000000000000`` (``X-Shopify-Access-Token``).
"""

from __future__ import annotations

from sandbox.shopify.app import create_app
from sandbox.shopify.emulator import DEFAULT_ACCESS_TOKEN, DEFAULT_WEBHOOK_SECRET, ShopifyEmulator
from sandbox.shopify.webhooks import sign as sign_webhook
from sandbox.shopify.webhooks import verify as verify_webhook

__all__ = [
    "DEFAULT_ACCESS_TOKEN",
    "DEFAULT_WEBHOOK_SECRET",
    "ShopifyEmulator",
    "create_app",
    "sign_webhook",
    "verify_webhook",
]
