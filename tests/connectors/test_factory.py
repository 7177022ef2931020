"""Clients are built in one place: keyword-only constructors, secrets resolved by the factory."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

from connectors.amazon import AmazonClient
from connectors.shopify import ShopifyClient
from connectors.tiktok import TikTokClient

CONNECTORS = Path(__file__).resolve().parents[2] / "connectors"


@pytest.mark.parametrize("client", [TikTokClient, ShopifyClient, AmazonClient])
def test_constructors_are_keyword_only(client):
    params = list(inspect.signature(client.__init__).parameters.values())[1:]
    assert params and all(p.kind is inspect.Parameter.KEYWORD_ONLY for p in params)
    with pytest.raises(TypeError):
        client("a", "b", "c", "d", "e", "f", "g")


def test_only_the_factory_resolves_secrets():
    users = []
    for path in sorted(CONNECTORS.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            if "resolve_secret" in names:
                users.append(path.name)
    assert sorted(set(users)) == ["factory.py"]
