"""Tasks talk to the store through :class:`connectors.base.StoreApi` only.

The relay and the manual map must not know which store they talk to: no import of a
concrete connector, no comparison with a store kind, no GraphQL document, no reaching for
a connector-specific method with ``getattr``. Store-specific behaviour belongs behind the
protocol (``order_key``, ``order_lookup_grace_s``, ``relay_concurrency``,
``variant_skus``, ``set_variant_skus``).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TASKS = Path(__file__).resolve().parents[2] / "tasks"
CONCRETE = {"connectors.amazon", "connectors.shopify", "connectors.tiktok"}


def problems(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module in CONCRETE:
            found.append(f"line {node.lineno}: imports {node.module}")
        if isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: imports {a.name}" for a in node.names if a.name in CONCRETE
            ]
        if isinstance(node, ast.Compare):
            consts = [c for c in [node.left, *node.comparators] if isinstance(c, ast.Constant)]
            for c in consts:
                if c.value in ("amazon", "shopify"):
                    found.append(f"line {node.lineno}: compares with {c.value!r}")
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value.lstrip()
            if text.startswith(("query ", "mutation ", "{")) and "{" in text and "}" in text:
                found.append(f"line {node.lineno}: carries a GraphQL document")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "getattr"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and node.args[1].value in ("execute", "kind")
        ):
            found.append(f"line {node.lineno}: getattr(..., {node.args[1].value!r})")
    return found


@pytest.mark.parametrize("name", ["relay.py", "manual_map.py"])
def test_task_is_store_neutral_where_it_calls_the_store(name):
    path = TASKS / name
    found = problems(path)
    if name == "manual_map.py":
        # the plan reads the catalog tables, whose Amazon product ids are family ids: that
        # is about the data in DuckDB, not about calling the store
        found = [f for f in found if "compares with" not in f]
    assert found == []
