"""Bulk query operations of the emulator (sandbox/shopify/schema/admin_2026-04.json.gz; behaviour
captured in github.com/airhorns/shopify-draft-proxy).

``bulkOperationRunQuery`` checks the documented query rules, runs the query over the whole
state (connections unpaged) and stores the result as JSONL: one object per connection
node, nested connection nodes as their own lines carrying ``__parentId`` (last key) = the id
of the enclosing connection node. With ``groupObjects: false`` (the 2026-01+ default) all
parent lines come first and children after them, so clients cannot rely on adjacency.

Sources cited by name below:

- captures: https://github.com/airhorns/shopify-draft-proxy (fixtures/conformance)
"""

from __future__ import annotations

import json
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    SelectionSetNode,
    execute,
    get_named_type,
    is_leaf_type,
    parse,
    validate,
)

from sandbox.shopify.cost import is_connection

MAX_CONNECTIONS = 5
MAX_DEPTH = 2


def query_rule_errors(schema: GraphQLSchema, text: str) -> list[str]:
    """Messages for a bulk query breaking the rules (captured userErrors with code INVALID)."""
    try:
        doc = parse(text)
    except GraphQLError as exc:
        return [f"Invalid bulk query: {exc.message}"]
    errors = validate(schema, doc)
    if errors:
        return [f"Invalid bulk query: {e.message}" for e in errors]
    ops = [d for d in doc.definitions if isinstance(d, OperationDefinitionNode)]
    if len(ops) != 1 or ops[0].operation.value != "query":
        return ["Bulk queries must contain exactly one query operation."]
    found: list[str] = []
    problems: list[str] = []
    _scan(schema.query_type, ops[0].selection_set, 0, True, found, problems)
    if not found:
        problems.append("Bulk queries must contain at least one connection.")
    if len(found) > MAX_CONNECTIONS:
        problems.append(f"Bulk queries cannot contain more than {MAX_CONNECTIONS} connections.")
    return problems


def _scan(
    parent: Any,
    sel: SelectionSetNode | None,
    depth: int,
    top: bool,
    found: list[str],
    problems: list[str],
) -> None:
    if sel is None:
        return
    for node in sel.selections:
        if not isinstance(node, FieldNode) or node.name.value.startswith("__"):
            continue
        fdef = parent.fields.get(node.name.value)
        if fdef is None:
            continue
        if top and node.name.value == "node":
            problems.append("Bulk queries cannot contain a top level `node` field.")
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            continue
        if is_connection(named.name):
            found.append(node.name.value)
            if depth + 1 > MAX_DEPTH:
                problems.append(
                    f"Bulk queries cannot contain connections with a nesting depth "
                    f"greater than {MAX_DEPTH}."
                )
            inner = (
                {s.name.value: s for s in node.selection_set.selections if isinstance(s, FieldNode)}
                if node.selection_set
                else {}
            )
            if "nodes" in inner:
                problems.append(
                    "The `nodes` field is not supported in bulk queries; "
                    "use `edges { node { ... } }`."
                )
            edges = inner.get("edges")
            if edges is None:
                continue
            edge_type = get_named_type(named.fields["edges"].type)
            node_sel = next(
                (
                    s
                    for s in edges.selection_set.selections
                    if isinstance(s, FieldNode) and s.name.value == "node"
                ),
                None,
            )
            if node_sel is None:
                continue
            node_type = get_named_type(edge_type.fields["node"].type)
            if _has_connection(node_type, node_sel.selection_set) and not _selects_id(node_sel):
                problems.append(
                    f"The parent '{node.name.value}' of a nested connection must "
                    "select the `id` field."
                )
            _scan(node_type, node_sel.selection_set, depth + 1, False, found, problems)
        else:
            _scan(named, node.selection_set, depth, False, found, problems)


def _selects_id(node: FieldNode) -> bool:
    return any(
        isinstance(s, FieldNode) and s.name.value == "id"
        for s in (node.selection_set.selections if node.selection_set else ())
    )


def _has_connection(parent: Any, sel: SelectionSetNode | None) -> bool:
    for node in sel.selections if sel else ():
        if not isinstance(node, FieldNode) or node.name.value.startswith("__"):
            continue
        fdef = parent.fields.get(node.name.value)
        if fdef is None:
            continue
        named = get_named_type(fdef.type)
        if is_leaf_type(named):
            continue
        if is_connection(named.name) or _has_connection(named, node.selection_set):
            return True
    return False


def run(
    schema: GraphQLSchema, text: str, root: Any, context: dict[str, Any], group_objects: bool
) -> tuple[list[str], int]:
    """Execute a (rule-checked) bulk query; returns (JSONL lines, root object count)."""
    doc: DocumentNode = parse(text)
    result = execute(schema, doc, root_value=root, context_value={**context, "bulk": True})
    if result.errors:
        raise RuntimeError("; ".join(e.message for e in result.errors))
    op = next(d for d in doc.definitions if isinstance(d, OperationDefinitionNode))
    parents: list[dict[str, Any]] = []
    children: list[dict[str, Any]] = []
    roots = 0
    for node in op.selection_set.selections:
        if not isinstance(node, FieldNode):
            continue
        fdef = schema.query_type.fields[node.name.value]
        named = get_named_type(fdef.type)
        key = node.alias.value if node.alias else node.name.value
        if is_connection(named.name):
            for row, kids in _flatten_connection(named, node, (result.data or {}).get(key), None):
                parents.append(row)
                roots += 1
                if group_objects:
                    parents.extend(kids)
                else:
                    children.extend(kids)
    lines = [_jsonl(r) for r in parents + children]
    return lines, roots


def _flatten_connection(
    conn_type: Any, node: FieldNode, value: Any, parent_id: str | None
) -> list[tuple[dict[str, Any], list[dict[str, Any]]]]:
    out: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    if not value:
        return out
    edge_type = get_named_type(conn_type.fields["edges"].type)
    node_type = get_named_type(edge_type.fields["node"].type)
    edges_node = next(
        s
        for s in node.selection_set.selections
        if isinstance(s, FieldNode) and s.name.value == "edges"
    )
    node_sel = next(
        s
        for s in edges_node.selection_set.selections
        if isinstance(s, FieldNode) and s.name.value == "node"
    )
    for edge in value.get(edges_node.alias.value if edges_node.alias else "edges") or []:
        data = edge.get(node_sel.alias.value if node_sel.alias else "node")
        if data is None:
            continue
        kids: list[dict[str, Any]] = []
        row = _strip(node_type, node_sel.selection_set, data, data.get("id"), kids)
        if parent_id is not None:
            row["__parentId"] = parent_id
        out.append((row, kids))
    return out


def _strip(
    parent: Any,
    sel: SelectionSetNode | None,
    data: dict[str, Any],
    owner_id: str | None,
    kids: list[dict[str, Any]],
) -> dict[str, Any]:
    """Copy of ``data`` without nested connections; their nodes are appended to ``kids``."""
    row = dict(data)
    for node in sel.selections if sel else ():
        if not isinstance(node, FieldNode) or node.name.value.startswith("__"):
            continue
        fdef = parent.fields.get(node.name.value)
        if fdef is None:
            continue
        named = get_named_type(fdef.type)
        key = node.alias.value if node.alias else node.name.value
        if is_leaf_type(named) or row.get(key) is None:
            continue
        if is_connection(named.name):
            value = row.pop(key)
            for child, grandkids in _flatten_connection(named, node, value, owner_id):
                kids.append(child)
                kids.extend(grandkids)
        elif isinstance(row[key], dict):
            row[key] = _strip(named, node.selection_set, row[key], owner_id, kids)
    return row


def _jsonl(row: dict[str, Any]) -> str:
    # Shopify escapes forward slashes in its JSONL (captured in
    # github.com/airhorns/shopify-draft-proxy); "/" only occurs inside strings, so replacing it
    # keeps the line valid JSON.
    return json.dumps(row, separators=(",", ":"), ensure_ascii=False).replace("/", "\\/")
