"""The vendored Shopify Admin GraphQL schema (2026-04), loaded once per process.

``admin_2026-04.json.gz`` is Shopify's own introspection result from the official npm package
``@shopify/dev-mcp`` 1.16.0 (ISC licence, see NOTICE.md beside it). The emulator validates
every incoming document against it and the connector tests validate every document the
connector can send.
"""

from __future__ import annotations

import gzip
import json
from functools import cache
from importlib import resources

from graphql import GraphQLSchema, build_client_schema

API_VERSION = "2026-04"
SCHEMA_FILE = "admin_2026-04.json.gz"


@cache
def admin_schema() -> GraphQLSchema:
    """The 2026-04 Admin schema as a graphql-core schema (cached; ~0.5 s on first call)."""
    raw = resources.files(__package__).joinpath(SCHEMA_FILE).read_bytes()
    data = json.loads(gzip.decompress(raw))
    schema = build_client_schema(data["data"])
    # graphql-core 3.3 rejects the published schema's self-check (a deprecated field on an
    # interface implementation, see NOTICE.md); mark it checked so documents can be validated.
    schema._validation_errors = []
    return schema
