"""The Shopify emulator object: state, cost bucket, auth, webhooks and request counting.

``execute(body, headers)`` is the whole GraphQL endpoint minus HTTP: token check, document
validation against the vendored 2026-04 schema, the cost bucket, execution, and answers in
the shapes Shopify uses (https://shopify.dev/docs/api/admin-graphql,
https://shopify.dev/docs/api/usage/response-codes).

Sources cited by name below:

- captures: https://github.com/airhorns/shopify-draft-proxy (fixtures/conformance)
- webhooks: https://shopify.dev/docs/apps/build/webhooks/verify-deliveries
"""

from __future__ import annotations

import re
import threading
import time
from collections import Counter, deque
from functools import lru_cache
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLError,
    OperationDefinitionNode,
    execute,
    parse,
    print_ast,
    validate,
)

from sandbox.fixture import Fixture
from sandbox.shopify import webhooks
from sandbox.shopify.cost import MAX_QUERY_COST, LeakyBucket, query_cost
from sandbox.shopify.root import Root
from sandbox.shopify.schema import API_VERSION, admin_schema
from sandbox.shopify.state import InventoryItem, Level, Order, Product, ShopifyState, gid_number

DEFAULT_ACCESS_TOKEN = "shpat_sandbox0000000000000000000000"  # noqa: S105 - sandbox only
DEFAULT_WEBHOOK_SECRET = "shpss_sandbox_webhook_secret"  # noqa: S105 - sandbox only
UNAUTHORIZED = {
    "errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"
}
THROTTLE_DOC = "https://shopify.dev/api/usage/rate-limits"
IMPLEMENTED_ROOTS = frozenset(
    name for name in dir(Root) if not name.startswith("_") and name[0].islower()
)


@lru_cache(maxsize=512)
def _checked(query: str) -> tuple[DocumentNode | None, tuple[dict[str, Any], ...]]:
    """Parse and validate once per distinct document text (documents repeat a lot)."""
    try:
        doc = parse(query)
    except GraphQLError as exc:
        loc = exc.locations[0] if exc.locations else None
        where = f" at [{loc.line}, {loc.column}]" if loc else ""
        err = {
            "message": f"syntax error, {exc.message.removeprefix('Syntax Error: ')}{where}",
            "locations": [{"line": loc.line, "column": loc.column}] if loc else [],
            "extensions": {"code": "PARSE_ERROR"},
        }
        return None, (err,)
    errors = validate(admin_schema(), doc)
    return doc, tuple(shopify_validation_error(e, doc) for e in errors)


def _paths(doc: DocumentNode) -> dict[int, list[str]]:
    """Shopify-style error paths (``["query Name", "field", ...]``) per field node id."""
    out: dict[int, list[str]] = {}

    def walk(sel: Any, path: list[str]) -> None:
        for s in getattr(sel, "selections", None) or ():
            if isinstance(s, FieldNode):
                p = [*path, s.name.value]
                out[id(s)] = p
                walk(s.selection_set, p)
            else:  # inline fragment (has a selection set) or fragment spread (has none)
                walk(getattr(s, "selection_set", None), path)

    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode):
            label = d.operation.value + (f" {d.name.value}" if d.name else "")
            walk(d.selection_set, [label])
        elif isinstance(d, FragmentDefinitionNode):
            walk(d.selection_set, [f"fragment {d.name.value}"])
    return out


_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(r"Cannot query field '(?P<f>\w+)' on type '(?P<t>\w+)'"),
        lambda m: (
            f"Field '{m['f']}' doesn't exist on type '{m['t']}'",
            {"code": "undefinedField", "typeName": m["t"], "fieldName": m["f"]},
        ),
    ),
    (
        # graphql-core 3.2 / 3.3 wordings of a missing required argument
        re.compile(
            r"(?:Field '(?P<f>\w+)' argument '(?P<a>\w+)'|"
            r"Argument '\w+\.(?P<f2>\w+)\((?P<a2>\w+):\)') of type .* is required"
        ),
        lambda m: (
            f"Field '{m['f'] or m['f2']}' is missing required arguments: {m['a'] or m['a2']}",
            {
                "code": "missingRequiredArguments",
                "className": "Field",
                "name": m["f"] or m["f2"],
                "arguments": m["a"] or m["a2"],
            },
        ),
    ),
    (
        re.compile(r"Field '(?P<f>\w+)' of type '(?P<t>[^']+)' must have a selection"),
        lambda m: (
            f"Field must have selections (field '{m['f']}' returns "
            f"{m['t'].strip('[]!')} but has no selections. Did you mean "
            f"'{m['f']} {{ ... }}'?)",
            {
                "code": "selectionMismatch",
                "nodeName": f"field '{m['f']}'",
                "typeName": m["t"].strip("[]!"),
            },
        ),
    ),
    (
        re.compile(r"Unknown argument '(?P<a>\w+)' on field '(?P<t>\w+)\.(?P<f>\w+)'"),
        lambda m: (
            f"Field '{m['f']}' doesn't accept argument '{m['a']}'",
            {
                "code": "argumentNotAccepted",
                "name": m["f"],
                "typeName": "Field",
                "argumentName": m["a"],
            },
        ),
    ),
    (
        re.compile(r"Unknown type '(?P<t>\w+)'"),
        lambda m: (
            f"No such type {m['t']}, so it can't be a variable type",
            {"code": "undefinedType", "typeName": m["t"]},
        ),
    ),
    (
        re.compile(r"Variable '\$(?P<v>\w+)' is never used"),
        lambda m: (
            f"Variable ${m['v']} is declared by anonymous query but not used",
            {"code": "variableNotUsed", "variableName": m["v"]},
        ),
    ),
    (
        re.compile(r"Variable '\$(?P<v>\w+)' is not defined"),
        lambda m: (
            f"Variable ${m['v']} is used but not declared",
            {"code": "variableNotDefined", "variableName": m["v"]},
        ),
    ),
    (
        re.compile(r"Unknown directive '@?(?P<d>\w+)'"),
        lambda m: (
            f"Directive @{m['d']} is not defined",
            {"code": "undefinedDirective", "directiveName": m["d"]},
        ),
    ),
]


def shopify_validation_error(error: GraphQLError, doc: DocumentNode) -> dict[str, Any]:
    """A graphql-core validation error in Shopify's shape (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    message, extensions = error.message, {"code": "argumentLiteralsIncompatible"}
    for pattern, build in _PATTERNS:
        m = pattern.search(error.message)
        if m:
            message, extensions = build(m)
            break
    out: dict[str, Any] = {"message": message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    paths = _paths(doc)
    node = next((n for n in error.nodes or () if id(n) in paths), None)
    if node is not None:
        out["path"] = paths[id(node)]
    out["extensions"] = extensions
    return out


def _variable_error(
    error: GraphQLError, doc: DocumentNode, variables: dict[str, Any]
) -> dict[str, Any]:
    """A variable coercion failure as Shopify's INVALID_VARIABLE (captured in
    github.com/airhorns/shopify-draft-proxy)."""
    m = re.match(r"Variable '\$(?P<v>\w+)'", error.message)
    name = m["v"] if m else "input"
    explanation = error.message.split("; ", 1)[-1] if "; " in error.message else error.message
    return {
        "message": f"Variable ${name} of type {_type_text(doc, name)} was provided invalid value",
        "locations": [{"line": loc.line, "column": loc.column} for loc in error.locations or ()],
        "extensions": {
            "code": "INVALID_VARIABLE",
            "value": variables.get(name),
            "problems": [{"path": [], "explanation": explanation}],
        },
    }


def _type_text(doc: DocumentNode, name: str) -> str:
    """The declared type of variable ``$name`` as written, e.g. ``InventorySetQuantitiesInput!``."""
    for d in doc.definitions:
        if isinstance(d, OperationDefinitionNode):
            for v in d.variable_definitions or ():
                if v.variable.name.value == name:
                    return print_ast(v.type)
    return "?"


def _operation(doc: DocumentNode, name: Any) -> OperationDefinitionNode | str:
    """The operation a request runs, or the error text when none can be chosen."""
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if name:
        found = [o for o in ops if o.name and o.name.value == name]
        return found[0] if found else f'No operation named "{name}"'
    if len(ops) != 1:
        return "An operation name is required"
    return ops[0]


def root_fields(doc: DocumentNode | None, operation_name: str | None = None) -> list[str]:
    """Root field names of the operation that would run (what the request counts use)."""
    if doc is None:
        return []
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    op = next(
        (o for o in ops if operation_name and o.name and o.name.value == operation_name),
        ops[0] if ops else None,
    )
    if op is None:
        return []
    return [
        s.name.value
        for s in op.selection_set.selections
        if isinstance(s, FieldNode) and not s.name.value.startswith("__")
    ]


class ShopifyEmulator:
    """State plus the behaviour of the Admin GraphQL endpoint."""

    def __init__(
        self,
        *,
        access_token: str = DEFAULT_ACCESS_TOKEN,
        webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
        throttle: bool = True,
        rate_scale: float = 1.0,
        bulk_polls_until_complete: int = 1,
        order_limit_per_minute: int | None = None,
        search_lag_s: float = 0.0,
        job_polls_until_done: int = 1,
    ) -> None:
        self.state = ShopifyState()
        self.job_polls_until_done = job_polls_until_done  # job(id:) reads answering done: false
        self.state.search_lag_s = search_lag_s
        self.access_token = access_token
        self.webhook_secret = webhook_secret
        self.bucket = LeakyBucket(enabled=throttle, scale=rate_scale)
        self.bulk_polls_until_complete = bulk_polls_until_complete
        self.order_limit_per_minute = order_limit_per_minute
        self._order_times: deque[float] = deque()
        self.root_counts: Counter[str] = Counter()
        self.pending: list[webhooks.Delivery] = []
        self.deliveries: list[webhooks.Delivery] = []
        self.webhook_url: str | None = None
        self.webhook_topics: set[str] | None = None
        self.webhook_delay_s = 0.0  # each delivery waits this long (copies: n x delay)
        self.webhook_duplicates = 0  # extra copies of every delivery (same webhook id)
        self.force_throttle = 0  # answer THROTTLED to the next N requests (test switch)
        self._lock = threading.RLock()

    # -- contract: load / snapshot ---------------------------------------------------------

    def load(self, fixture: Fixture | None) -> None:
        """Replace the state with the ``shopify`` part of ``fixture``."""
        with self._lock:
            self.state.load(fixture)
            self.pending.clear()

    def snapshot(self) -> dict[str, Any]:
        """State for assertions (see :meth:`ShopifyState.snapshot`) plus webhook deliveries."""
        snap = self.state.snapshot()
        snap["root_field_counts"] = dict(self.root_counts)
        snap["webhook_deliveries"] = [
            {"topic": d.topic, "url": d.url, "status": d.status, "error": d.error}
            for d in self.deliveries
        ]
        return snap

    # -- endpoint --------------------------------------------------------------------------

    def authorised(self, headers: dict[str, str]) -> bool:
        return headers.get("x-shopify-access-token") == self.access_token

    def execute(self, body: Any, *, base_url: str = "") -> dict[str, Any]:
        """Answer one GraphQL request body (already authenticated); always HTTP 200."""
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return {
                "errors": [
                    {
                        "message": "No query string was present",
                        "extensions": {"code": "BAD_REQUEST"},
                    }
                ]
            }
        variables = body.get("variables") or {}
        doc, errors = _checked(body["query"])
        names = root_fields(doc, body.get("operationName"))
        with self._lock:
            for name in names:
                self.root_counts[name] += 1
        if doc is None or errors:
            return {"errors": list(errors)}  # no data, no cost (captures)
        op = _operation(doc, body.get("operationName"))
        if isinstance(op, str):
            # Live answers HTTP 200 with an error here, never a 500 (message wording of
            # graphql-ruby, which serves the Admin API: UNCONFIRMED)
            return {"errors": [{"message": op}]}
        missing = [n for n in names if n not in IMPLEMENTED_ROOTS]
        if missing:
            return {
                "errors": [
                    {
                        "message": f"The sandbox does not emulate {', '.join(missing)}",
                        "extensions": {"code": "NOT_EMULATED"},
                    }
                ]
            }
        fragments = {
            d.name.value: d for d in doc.definitions if isinstance(d, FragmentDefinitionNode)
        }
        schema = admin_schema()
        requested = query_cost(schema, op, fragments, variables)
        if requested > MAX_QUERY_COST:
            return {
                "errors": [
                    {
                        "message": f"Query cost is {requested}, which exceeds the single query "
                        f"max cost limit ({MAX_QUERY_COST}).\n\nSee {THROTTLE_DOC} for more "
                        "information on how the cost of a query is calculated.\n\nTo query "
                        "larger amounts of data with fewer limits, bulk operations should be "
                        "used instead.",
                        # code seen in third-party clients only: UNCONFIRMED
                        "extensions": {
                            "code": "MAX_COST_EXCEEDED",
                            "cost": requested,
                            "maxCost": MAX_QUERY_COST,
                            "documentation": THROTTLE_DOC,
                        },
                    }
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
        if self._throttled(requested):
            return {
                "errors": [
                    {
                        "message": "Throttled",
                        "extensions": {"code": "THROTTLED", "documentation": THROTTLE_DOC},
                    }
                ],
                "extensions": {"cost": self._cost(requested, None)},
            }
        with self._lock, self.state.lock:
            result = execute(
                schema,
                doc,
                root_value=Root(self),
                variable_values=variables,
                operation_name=body.get("operationName"),
                context_value={"emulator": self, "base_url": base_url},
            )
        if result.data is None and result.errors and not any(e.path for e in result.errors):
            self.bucket.refund(requested)
            return {"errors": [_variable_error(e, doc, variables) for e in result.errors]}
        out: dict[str, Any] = {}
        if result.errors:
            out["errors"] = [_execution_error(e) for e in result.errors]
            if any(e["extensions"].get("code") == "MAX_INPUT_SIZE_EXCEEDED" for e in out["errors"]):
                self.bucket.refund(requested)
                return {
                    "errors": out["errors"],
                    "extensions": {"cost": self._cost(requested, None)},
                }
        out["data"] = result.data
        actual = (
            query_cost(schema, op, fragments, variables, result.data, actual=True)
            if op.operation.value == "query"
            else requested
        )
        self.bucket.refund(requested - actual)
        out["extensions"] = {"cost": self._cost(requested, actual)}
        return out

    def _throttled(self, requested: int) -> bool:
        with self._lock:
            if self.force_throttle > 0:
                self.force_throttle -= 1
                return True
        return not self.bucket.take(requested)

    def _cost(self, requested: int, actual: int | None) -> dict[str, Any]:
        return {
            "requestedQueryCost": requested,
            "actualQueryCost": actual,
            "throttleStatus": self.bucket.status(),
        }

    def order_throttle_ok(self) -> bool:
        """The optional dev-store limit of N orderCreate per minute (the orderCreate
        description in sandbox/shopify/schema/admin_2026-04.json.gz)."""
        if not self.order_limit_per_minute:
            return True
        now = time.monotonic()
        while self._order_times and now - self._order_times[0] > 60:
            self._order_times.popleft()
        if len(self._order_times) >= self.order_limit_per_minute:
            return False
        self._order_times.append(now)
        return True

    # -- webhooks --------------------------------------------------------------------------

    def _targets(self, topic: str) -> list[str]:
        urls = [w.uri for w in self.state.webhooks if w.topic == topic]
        if self.webhook_url and (self.webhook_topics is None or topic in self.webhook_topics):
            urls.append(self.webhook_url)
        return urls

    def _emit(self, topic: str, payload: dict[str, Any]) -> None:
        for url in self._targets(topic):
            self.pending.append(
                webhooks.build(
                    topic,
                    url,
                    payload,
                    secret=self.webhook_secret,
                    shop_domain=self.state.shop_domain,
                    api_version=API_VERSION,
                )
            )

    def emit_rest(self, topic: str, payload: dict[str, Any]) -> None:
        """Queue a REST-shaped webhook ``payload`` for ``topic`` (e.g. ``orders/cancelled``)."""
        self._emit(topic, payload)

    def emit_inventory_level(self, item: InventoryItem, level: Level) -> None:
        self._emit(
            "inventory_levels/update",
            {
                "inventory_item_id": gid_number(item.id),
                "location_id": gid_number(level.location_id),
                "available": level.available,
                "updated_at": level.updated_at,
                "admin_graphql_api_id": f"gid://shopify/InventoryLevel/{level.id_number}"
                f"?inventory_item_id={gid_number(item.id)}",
            },
        )

    def emit_product(self, product: Product) -> None:
        s = self.state
        variants = []
        for vid in product.variant_ids:
            v = s.variants[vid]
            item = s.items[v.inventory_item_id]
            variants.append(
                {
                    "id": gid_number(v.id),
                    "product_id": gid_number(product.id),
                    "title": v.title,
                    "sku": item.sku or None,
                    "price": f"{v.price:.2f}",
                    "barcode": v.barcode,
                    "compare_at_price": None
                    if v.compare_at_price is None
                    else f"{v.compare_at_price:.2f}",
                    "inventory_item_id": gid_number(item.id),
                    "inventory_quantity": sum(lv.available for lv in item.levels.values()),
                    "admin_graphql_api_id": v.id,
                    **{f"option{i}": value for i, (_, value) in enumerate(v.options[:3], 1)},
                }
            )
        self._emit(
            "products/update",
            {
                "id": gid_number(product.id),
                "title": product.title,
                "status": product.status.lower(),
                "updated_at": product.updated_at,
                "admin_graphql_api_id": product.id,
                "variants": variants[:100],
                "variant_gids": [
                    {
                        "admin_graphql_api_id": v["admin_graphql_api_id"],
                        "updated_at": product.updated_at,
                    }
                    for v in variants
                ],
            },
        )

    def emit_order(self, order: Order) -> None:
        self._emit(
            "orders/create",
            {
                "id": gid_number(order.id),
                "name": order.name,
                "email": order.email,
                "created_at": order.created_at,
                "currency": order.currency,
                "source_name": order.source_name,
                "source_identifier": order.source_identifier,
                "tags": ", ".join(order.tags),  # a comma-separated string (webhooks)
                "admin_graphql_api_id": order.id,
                "line_items": [
                    {
                        "id": gid_number(ln.id),
                        "sku": ln.sku,
                        "quantity": ln.quantity,
                        "variant_id": gid_number(ln.variant_id) if ln.variant_id else None,
                        "price": f"{ln.price:.2f}",
                        "admin_graphql_api_id": ln.id,
                    }
                    for ln in order.lines
                ],
            },
        )

    def take_pending(self) -> list[webhooks.Delivery]:
        with self._lock:
            out, self.pending = self.pending, []
            self.deliveries.extend(out)
            return out


def _execution_error(error: GraphQLError) -> dict[str, Any]:
    out: dict[str, Any] = {"message": error.message}
    if error.locations:
        out["locations"] = [{"line": loc.line, "column": loc.column} for loc in error.locations]
    out["path"] = list(error.path or [])
    out["extensions"] = dict(error.extensions or {}) or {"code": "INTERNAL_SERVER_ERROR"}
    return out
