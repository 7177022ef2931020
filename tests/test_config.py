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
    tables = set(re.findall(r"^#?\s*\[\[?shops\.([a-z_]+)\]", text, re.M))
    missing = _field_names(ShopConfig) - written - tables
    assert not missing, f"shops.example.toml does not document {sorted(missing)}"


def test_stock_rule_quantities_and_location_map(tmp_path):
    extra = (
        '[shops.stock_rule]\nuntracked_quantity = "max"\ncontinue_selling_quantity = 25\n'
        '[shops.location_map]\n"gid://shopify/Location/1" = "W1"\n'
        '"gid://shopify/Location/2" = "W2"\n'
    )
    acme = load_shops(write(tmp_path, shop(extra=extra))).get("acme-us")
    assert acme.stock_rule.untracked_quantity == "max"
    assert acme.stock_rule.continue_selling_quantity == 25
    assert acme.location_map == {"gid://shopify/Location/1": "W1", "gid://shopify/Location/2": "W2"}
    assert acme.stock_locations() == ["gid://shopify/Location/1", "gid://shopify/Location/2"]
    default = load_shops(write(tmp_path, shop())).get("acme-us")
    assert default.stock_rule.untracked_quantity == "store" and default.location_map == {}


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ('[shops.stock_rule]\nuntracked_quantity = "lots"\n', "stock_rule.untracked_quantity"),
        (
            "[shops.stock_rule]\ncontinue_selling_quantity = 100000\n",
            "stock_rule.continue_selling_quantity",
        ),
        ('[[shops.overrides]]\nstock = "skip"\n', "overrides"),
        ('[[shops.overrides]]\nseller_sku = "A"\nstock = "never"\n', "overrides.stock"),
        ('[[shops.overrides]]\nseller_sku = "A"\nprice = "12.999"\n', "overrides.price"),
        ('[[shops.overrides]]\nseller_sku = "A"\n', "overrides"),
        (
            '[[shops.overrides]]\nseller_sku = "A"\ntiktok_sku_id = "1"\nstock = 1\n',
            "overrides",
        ),
    ],
)
def test_bad_rules_name_the_field(tmp_path, extra, field):
    message = error_of(tmp_path, shop(extra=extra))
    assert "shop 'acme-us'" in message and f"field '{field}" in message
    assert "\n" not in message


def test_location_map_and_location_ids_conflict(tmp_path):
    text = shop(extra='[shops.location_map]\n"L1" = "W1"\n') + 'location_ids = ["L2"]\n'
    assert "location_map and shopify.location_ids" in error_of(tmp_path, text)


def test_duplicate_override_in_toml(tmp_path):
    extra = '[[shops.overrides]]\nseller_sku = "A"\nstock = 1\n' * 2
    assert "two overrides for seller_sku 'A'" in error_of(tmp_path, shop(extra=extra))


def test_overrides_from_csv_next_to_the_shops_file(tmp_path):
    (tmp_path / "ov.csv").write_text(
        "seller_sku,tiktok_sku_id,stock,price\nA,,skip,\n,123,4,9.50\n", encoding="utf-8"
    )
    extra = (
        'overrides_csv = "ov.csv"\n[[shops.overrides]]\ntiktok_product_id = "9"\nprice = "skip"\n'
    )
    acme = load_shops(write(tmp_path, shop(extra=extra))).get("acme-us")
    rows = acme.all_overrides()
    assert [(o.key, o.stock, o.price) for o in rows] == [
        (("tiktok_product_id", "9"), None, "skip"),
        (("seller_sku", "A"), "skip", None),
        (("tiktok_sku_id", "123"), 4, Decimal("9.50")),
    ]


@pytest.mark.parametrize(
    ("csv_text", "expected"),
    [
        ("seller_sku,stock\nA,1\nB,lots\n", "line 3: column 'stock' must be 'skip' or a whole"),
        ("seller_sku,price\nA,-1\n", "line 2: column 'price' must be 'skip' or a price above 0"),
        ("seller_sku,tiktok_sku_id,stock\nA,1,2\n", "line 2: an override names exactly one of"),
        ("seller_sku,stock,price\nA,,\n", "line 2: an override sets stock and/or price"),
        ("sku,stock\nA,1\n", "line 1: header must name columns among"),
        ("seller_sku,stock\nA,1\nA,2\n", "override for seller_sku 'A' given twice"),
    ],
)
def test_bad_overrides_csv_is_one_line_naming_file_and_line(tmp_path, csv_text, expected):
    (tmp_path / "ov.csv").write_text(csv_text, encoding="utf-8")
    message = error_of(tmp_path, shop(extra='overrides_csv = "ov.csv"\n'))
    assert "ov.csv" in message and expected in message, message
    assert "\n" not in message


def test_missing_overrides_csv(tmp_path):
    message = error_of(tmp_path, shop(extra='overrides_csv = "absent.csv"\n'))
    assert "absent.csv" in message and "not found" in message
