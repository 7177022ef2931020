"""Query cost and the per app+shop leaky bucket of the Admin API
(https://shopify.dev/docs/apps/build/apis/graphql-admin/rate-limits,
https://shopify.dev/docs/api/usage/limits).

Costs follow the documented rules closely enough to exercise a client's pacing: scalars and
enums 0, objects 1, a connection 2 + its page size times the cost of one node, a mutation
root field 10. ``requestedQueryCost`` uses the requested page sizes; ``actualQueryCost``
uses the nodes actually returned, and the difference is refunded.

Sources cited by name below:

- captures: https://github.com/airhorns/shopify-draft-proxy (fixtures/conformance)
"""

from __future__ import annotations

import threading
import time
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_leaf_type,
    value_from_ast_untyped,
)

MUTATION_COST = 10
MAX_QUERY_COST = 1000  # single query max regardless of plan:
# https://github.com/Shopify/shopify-app-js/issues/577


def is_connection(type_name: str) -> bool:
    return type_name.endswith("Connection")


class _Walker:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: dict[str, FragmentDefinitionNode],
        variables: dict[str, Any],
    ) -> None:
        self.schema, self.fragments, self.variables = schema, fragments, variables

    def fields(self, parent: Any, sel: SelectionSetNode | None) -> list[tuple[FieldNode, Any]]:
        """(field node, parent type) pairs, fragments flattened."""
        out: list[tuple[FieldNode, Any]] = []
        if sel is None:
            return out
        for s in sel.selections:
            if isinstance(s, FieldNode):
                out.append((s, parent))
            elif isinstance(s, InlineFragmentNode):
                t = (
                    self.schema.get_type(s.type_condition.name.value)
                    if s.type_condition
                    else parent
                )
                out.extend(self.fields(t, s.selection_set))
            elif isinstance(s, FragmentSpreadNode):
                frag = self.fragments.get(s.name.value)
                if frag:
                    out.extend(
                        self.fields(
                            self.schema.get_type(frag.type_condition.name.value), frag.selection_set
                        )
                    )
        return out

    def arg(self, node: FieldNode, name: str) -> Any:
        for a in node.arguments or ():
            if a.name.value == name:
                return value_from_ast_untyped(a.value, self.variables)
        return None

    def cost(
        self, parent: Any, sel: SelectionSetNode | None, data: Any = None, actual: bool = False
    ) -> int:
        total = 0
        for node, ptype in self.fields(parent, sel):
            name = node.name.value
            if name.startswith("__"):
                continue
            fdef = getattr(ptype, "fields", {}).get(name)
            if fdef is None:
                continue
            named = get_named_type(fdef.type)
            if is_leaf_type(named) or named.name == "PageInfo":
                continue
            key = node.alias.value if node.alias else name
            value = data.get(key) if isinstance(data, dict) else None
            if actual and value is None:
                continue
            if is_connection(named.name):
                total += 2 + self._connection(named, node, value, actual)
            else:
                items = value if isinstance(value, list) else [value]
                child = max(
                    (self.cost(named, node.selection_set, v, actual) for v in items), default=0
                )
                total += 1 + child
        return total

    def _connection(self, conn_type: Any, node: FieldNode, value: Any, actual: bool) -> int:
        if actual:
            total = 0
            for inner, _ in self.fields(conn_type, node.selection_set):
                if inner.name.value == "nodes":
                    nodes = (value or {}).get(inner.alias.value if inner.alias else "nodes") or []
                    total = max(
                        total,
                        sum(
                            1
                            + self.cost(
                                get_named_type(conn_type.fields["nodes"].type),
                                inner.selection_set,
                                n,
                                True,
                            )
                            for n in nodes
                        ),
                    )
                elif inner.name.value == "edges":
                    edges = (value or {}).get(inner.alias.value if inner.alias else "edges") or []
                    total = max(
                        total, sum(1 + self._edge_cost(conn_type, inner, e, True) for e in edges)
                    )
            return total
        first, last = self.arg(node, "first"), self.arg(node, "last")
        # ``first: 0`` asks for no node: the connection's 2 points only (0 is not "unset")
        size = first if first is not None else last if last is not None else 1
        per_node = 0
        for inner, _ in self.fields(conn_type, node.selection_set):
            if inner.name.value == "nodes":
                per_node = max(
                    per_node,
                    self.cost(get_named_type(conn_type.fields["nodes"].type), inner.selection_set),
                )
            elif inner.name.value == "edges":
                per_node = max(per_node, self._edge_cost(conn_type, inner, None, False))
        return int(size) * (1 + per_node)

    def _edge_cost(self, conn_type: Any, edges: FieldNode, edge: Any, actual: bool) -> int:
        edge_type = get_named_type(conn_type.fields["edges"].type)
        node_type = get_named_type(edge_type.fields["node"].type)
        total = 0
        for inner, _ in self.fields(edge_type, edges.selection_set):
            if inner.name.value == "node":
                value = (edge or {}).get(inner.alias.value if inner.alias else "node")
                total = max(total, self.cost(node_type, inner.selection_set, value, actual))
        return total


def query_cost(
    schema: GraphQLSchema,
    op: OperationDefinitionNode,
    fragments: dict[str, FragmentDefinitionNode],
    variables: dict[str, Any],
    data: Any = None,
    actual: bool = False,
) -> int:
    """Requested (``actual=False``) or actual cost of one operation."""
    if op.operation.value == "mutation":
        return MUTATION_COST * sum(
            1
            for s in op.selection_set.selections
            if isinstance(s, FieldNode) and not s.name.value.startswith("__")
        )
    root = schema.query_type
    return _Walker(schema, fragments, variables).cost(root, op.selection_set, data, actual)


class LeakyBucket:
    """Cost points per app+shop: ``maximum`` capacity restored at ``restore_rate`` per second.

    ``scale`` multiplies the restore rate (tests speed it up); ``enabled=False`` never
    throttles but still reports a full bucket.
    """

    def __init__(
        self,
        maximum: float = 2000.0,
        restore_rate: float = 100.0,
        scale: float = 1.0,
        enabled: bool = True,
    ) -> None:
        self.maximum = maximum
        self.base_rate = restore_rate
        self.scale = scale
        self.enabled = enabled
        self._available = maximum
        self._at = time.monotonic()
        self._lock = threading.Lock()

    @property
    def restore_rate(self) -> float:
        return self.base_rate * self.scale if self.scale > 0 else self.base_rate

    def configure(
        self,
        *,
        enabled: bool | None = None,
        scale: float | None = None,
        maximum: float | None = None,
        available: float | None = None,
    ) -> None:
        with self._lock:
            self._refill()
            if enabled is not None:
                self.enabled = enabled
            if scale is not None:
                self.scale = scale
            if maximum is not None:
                self.maximum = maximum
                self._available = min(self._available, maximum)
            if available is not None:
                self._available = max(0.0, min(available, self.maximum))

    def _refill(self) -> None:
        now = time.monotonic()
        self._available = min(self.maximum, self._available + (now - self._at) * self.restore_rate)
        self._at = now

    def take(self, points: int) -> bool:
        """Charge ``points`` if the bucket holds them; False means THROTTLED."""
        with self._lock:
            self._refill()
            if not self.enabled:
                return True
            if points > self._available:
                return False
            self._available -= points
            return True

    def refund(self, points: int) -> None:
        with self._lock:
            self._refill()
            if self.enabled:
                self._available = min(self.maximum, self._available + max(0, points))

    def status(self) -> dict[str, Any]:
        """``throttleStatus``: floats for maximum and rate, an int for what is left (captures)."""
        with self._lock:
            self._refill()
            available = self._available if self.enabled else self.maximum
            return {
                "maximumAvailable": float(self.maximum),
                "currentlyAvailable": int(available),
                "restoreRate": float(self.restore_rate),
            }
