"""The shops file: valid files load; every kind of broken file names file, shop and field."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import BaseModel

from skubridge.config import (
    ConfigError,
    ShopConfig,
    load_shops,
    resolve_secret,
    shops_file_path,
)

REPO = Path(__file__).resolve().parents[1]

TIKTOK = """
[shops.tiktok]
app_key = "env:TT_KEY"
app_secret = "env:TT_SECRET"
access_token = "env:TT_TOKEN"
"""
SHOPIFY = """
[shops.shopify]
shop_domain = "acme.myshopify.com"
access_token = "env:SHOPIFY_TOKEN"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def shop(shop_id: str = "acme-us", *, store: str = "shopify", extra: str = "") -> str:
    return f'[[shops]]\nid = "{shop_id}"\nstore = "{store}"\n{extra}{TIKTOK}{SHOPIFY}'


def error_of(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_shops(path)
    message = str(caught.value)
    assert str(path) in message  # every error names the file
    return message


def test_valid_file_loads(tmp_path):
    text = shop(extra="[shops.stock_rule]\nbuffer_percent = 12.5\n") + shop("acme-eu")
    shops = load_shops(write(tmp_path, text))
    assert [s.id for s in shops.shops] == ["acme-us", "acme-eu"]
    acme = shops.get("acme-us")
    assert acme.stock_rule.buffer_percent == Decimal("12.5")
    assert acme.shopify is not None
    assert acme.shopify.endpoint == "https://acme.myshopify.com/admin/api/2026-04/graphql.json"
    assert acme.guards.max_zero_stock_share == 0.25  # defaults filled
    with pytest.raises(ConfigError, match=r"no shop 'nope'.*acme-us, acme-eu"):
        shops.get("nope")


def test_shops_file_from_environment(tmp_path, monkeypatch):
    path = write(tmp_path, shop())
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
    assert shops_file_path() == path
    assert load_shops().shops[0].id == "acme-us"


def test_missing_field(tmp_path):
    text = '[[shops]]\nid = "acme-us"\nstore = "shopify"\n' + SHOPIFY
    message = error_of(tmp_path, text)
    assert "shop 'acme-us'" in message and "field 'tiktok'" in message
    assert "Field required" in message


def test_missing_nested_field(tmp_path):
    message = error_of(tmp_path, shop().replace('app_secret = "env:TT_SECRET"\n', ""))
    assert "shop 'acme-us'" in message and "field 'tiktok.app_secret'" in message


def test_wrong_type(tmp_path):
    message = error_of(tmp_path, shop(extra='[shops.stock_rule]\nbuffer_absolute = "lots"\n'))
    assert "shop 'acme-us'" in message and "field 'stock_rule.buffer_absolute'" in message


def test_out_of_range_value(tmp_path):
    message = error_of(tmp_path, shop(extra="[shops.stock_rule]\nbuffer_percent = 150\n"))
    assert "field 'stock_rule.buffer_percent'" in message and "100" in message


def test_literal_secret_is_rejected_without_echoing_it(tmp_path):
    literal = "shpat_0123456789abcdef0123456789abcdef"
    text = shop().replace('access_token = "env:SHOPIFY_TOKEN"', f'access_token = "{literal}"')
    message = error_of(tmp_path, text)
    assert "shop 'acme-us'" in message and "field 'shopify.access_token'" in message
    assert "env:" in message and "block:" in message
    assert literal not in message


def test_unknown_key(tmp_path):
    message = error_of(tmp_path, shop(extra='colour = "blue"\n'))
    assert "shop 'acme-us'" in message and "field 'colour'" in message
    message = error_of(tmp_path, 'shop = "x"\n' + shop())
    assert "unknown top-level key" in message and "'shop'" in message


def test_duplicate_shop_id(tmp_path):
    message = error_of(tmp_path, shop() + shop())
    assert "shop 'acme-us'" in message and "field 'id'" in message and "duplicate" in message


def test_store_settings_missing(tmp_path):
    message = error_of(tmp_path, shop(store="amazon"))
    assert "shop 'acme-us'" in message and "[shops.amazon]" in message


def test_bad_shop_id(tmp_path):
    message = error_of(tmp_path, shop("Acme US"))
    assert "shop 'Acme US'" in message and "field 'id'" in message


def test_bad_toml(tmp_path):
    message = error_of(tmp_path, shop() + "\n[[shops]\nid = ")
    assert "not valid TOML" in message


def test_no_shops(tmp_path):
    assert "no [[shops]] table" in error_of(tmp_path, "# nothing here\n")


def test_missing_file(tmp_path):
    path = tmp_path / "absent.toml"
    with pytest.raises(ConfigError) as caught:
        load_shops(path)
    assert str(path) in str(caught.value) and "not found" in str(caught.value)


def test_resolve_secret_from_environment(monkeypatch):
    monkeypatch.setenv("SKUBRIDGE_TEST_SECRET", "value-123")
    assert resolve_secret("env:SKUBRIDGE_TEST_SECRET", shop_id="acme", field="x") == "value-123"


def test_resolve_secret_missing_names_shop_and_field_not_value(monkeypatch):
    monkeypatch.delenv("SKUBRIDGE_ABSENT", raising=False)
    with pytest.raises(ConfigError) as caught:
        resolve_secret("env:SKUBRIDGE_ABSENT", shop_id="acme-us", field="tiktok.app_secret")
    message = str(caught.value)
    assert "shop 'acme-us'" in message and "field 'tiktok.app_secret'" in message
    assert "SKUBRIDGE_ABSENT" in message and "not set" in message

    literal = "super-secret-literal-value"
    with pytest.raises(ConfigError) as caught:
        resolve_secret(literal, shop_id="acme-us", field="shopify.access_token")
    assert "field 'shopify.access_token'" in str(caught.value)
    assert literal not in str(caught.value)


def _field_names(model: type[BaseModel]) -> set[str]:
    names = set()
    for name, info in model.model_fields.items():
        names.add(name)
        for candidate in (info.annotation, *getattr(info.annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                names |= _field_names(candidate)
    return names


def test_example_file_loads_and_documents_every_field(monkeypatch):
    example = REPO / "shops.example.toml"
    shops = load_shops(example)
    assert [(s.id, s.store) for s in shops.shops] == [
        ("acme-us", "shopify"),
        ("acme-amazon-us", "amazon"),
    ]
    text = example.read_text(encoding="utf-8")
    written = set(re.findall(r"^#?\s*([a-z_]+) = ", text, re.M))
    tables = set(re.findall(r"^\[shops\.([a-z_]+)\]", text, re.M))
    missing = _field_names(ShopConfig) - written - tables
    assert not missing, f"shops.example.toml does not document {sorted(missing)}"
