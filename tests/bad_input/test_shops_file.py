"""Broken shops files: literal secrets, missing references, unset variables, unknown blocks.

Every error must name the shops file, the shop and the field, and must never echo a
literal secret value, whether it is raised while loading the file or while the
connectors resolve the references.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from connectors.factory import store_client, tiktok_client
from skubridge.cli import app
from skubridge.config import ConfigError, load_shops

LITERAL = "shpat_0123456789abcdef0123456789abcdef"

TIKTOK = {
    "app_key": "env:BAD_TT_KEY",
    "app_secret": "env:BAD_TT_SECRET",
    "access_token": "env:BAD_TT_TOKEN",
    "refresh_token": "env:BAD_TT_REFRESH",
}
SHOPIFY = {"access_token": "env:BAD_SHOPIFY_TOKEN"}
AMAZON = {
    "lwa_client_id": "env:BAD_LWA_ID",
    "lwa_client_secret": "env:BAD_LWA_SECRET",
    "refresh_token": "env:BAD_LWA_REFRESH",
}
SECRET_FIELDS = (
    [("shopify", f"tiktok.{name}") for name in TIKTOK]
    + [("shopify", f"shopify.{name}") for name in SHOPIFY]
    + [("amazon", f"amazon.{name}") for name in AMAZON]
)


def toml_table(name: str, values: dict[str, str], extra: str = "") -> str:
    body = "".join(f'{key} = "{value}"\n' for key, value in values.items())
    return f"[shops.{name}]\n{body}{extra}"


def shops_text(
    store: str = "shopify", *, replace: tuple[str, str | None] | None = None, shop_id: str = "acme"
) -> str:
    """A valid shop, with field ``replace[0]`` (``section.name``) set to ``replace[1]``
    (left out when None)."""
    sections = {
        "tiktok": dict(TIKTOK),
        "shopify": dict(SHOPIFY),
        "amazon": dict(AMAZON),
    }
    if replace is not None:
        section, name = replace[0].split(".")
        if replace[1] is None:
            sections[section].pop(name)
        else:
            sections[section][name] = replace[1]
    text = f'[[shops]]\nid = "{shop_id}"\nstore = "{store}"\n'
    text += toml_table("tiktok", sections["tiktok"])
    if store == "shopify":
        text += toml_table("shopify", sections["shopify"], 'shop_domain = "acme.myshopify.com"\n')
    else:
        text += toml_table(
            "amazon",
            sections["amazon"],
            'seller_id = "A2SELLER"\nmarketplace_id = "ATVPDKIKX0DER"\n',
        )
    return text


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "shops.toml"
    path.write_text(text, encoding="utf-8")
    return path


def load_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_shops(path)
    message = str(caught.value)
    assert str(path) in message
    return message


@pytest.mark.parametrize(("store", "field"), SECRET_FIELDS)
@pytest.mark.parametrize(
    "literal",
    [LITERAL, "sk-live 0123456789", "env:", "ENV:NAME", "file:/etc/secret", "env:a b"],
    ids=["token", "with-space", "empty-ref", "upper-kind", "unknown-kind", "space-in-name"],
)
def test_literal_secret_is_refused_and_never_echoed(tmp_path, store, field, literal):
    message = load_error(tmp_path, shops_text(store, replace=(field, literal)))
    assert "shop 'acme'" in message and f"field '{field}'" in message
    assert "env:VAR_NAME" in message and "block:" in message
    if literal not in ("env:",):  # "env:" is part of the advice text itself
        assert literal not in message


def test_unquoted_literal_is_a_toml_error_without_the_value(tmp_path):
    text = shops_text().replace(
        'access_token = "env:BAD_SHOPIFY_TOKEN"', f"access_token = {LITERAL}"
    )
    message = load_error(tmp_path, text)
    assert "not valid TOML" in message and LITERAL not in message


def test_number_instead_of_reference_is_refused(tmp_path):
    text = shops_text().replace('"env:BAD_TT_SECRET"', "918273645546372819")
    message = load_error(tmp_path, text)
    assert "field 'tiktok.app_secret'" in message and "918273645546372819" not in message


@pytest.mark.parametrize(
    ("store", "field"),
    [
        ("shopify", "tiktok.app_key"),
        ("shopify", "tiktok.app_secret"),
        ("shopify", "tiktok.access_token"),
        ("shopify", "shopify.access_token"),
        ("amazon", "amazon.lwa_client_id"),
        ("amazon", "amazon.lwa_client_secret"),
        ("amazon", "amazon.refresh_token"),
    ],
)
def test_missing_reference_names_file_shop_and_field(tmp_path, store, field):
    message = load_error(tmp_path, shops_text(store, replace=(field, None)))
    assert "shop 'acme'" in message and f"field '{field}'" in message
    assert "required" in message.lower()


def _clear_env(monkeypatch) -> None:
    for ref in (*TIKTOK.values(), *SHOPIFY.values(), *AMAZON.values()):
        monkeypatch.delenv(ref.removeprefix("env:"), raising=False)


def _set_env_except(monkeypatch, missing: str) -> None:
    for ref in (*TIKTOK.values(), *SHOPIFY.values(), *AMAZON.values()):
        name = ref.removeprefix("env:")
        if name == missing:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, f"value-of-{name.lower()}")


@pytest.mark.parametrize(
    ("store", "field", "variable", "build"),
    [
        ("shopify", "tiktok.app_secret", "BAD_TT_SECRET", tiktok_client),
        ("shopify", "tiktok.refresh_token", "BAD_TT_REFRESH", tiktok_client),
        ("shopify", "shopify.access_token", "BAD_SHOPIFY_TOKEN", store_client),
        ("amazon", "amazon.lwa_client_secret", "BAD_LWA_SECRET", store_client),
        ("amazon", "amazon.refresh_token", "BAD_LWA_REFRESH", store_client),
    ],
)
def test_unset_environment_variable_names_file_shop_field_and_variable(
    tmp_path, monkeypatch, store, field, variable, build
):
    _set_env_except(monkeypatch, variable)
    path = write(tmp_path, shops_text(store))
    shop = load_shops(path).get("acme")
    with pytest.raises(ConfigError) as caught:
        build(shop)
    message = str(caught.value)
    assert str(path) in message
    assert "shop 'acme'" in message and f"field '{field}'" in message
    assert variable in message and "not set" in message
    assert "value-of-" not in message  # the other secrets are not echoed either


def test_empty_environment_variable_counts_as_unset(tmp_path, monkeypatch):
    _set_env_except(monkeypatch, "BAD_SHOPIFY_TOKEN")
    monkeypatch.setenv("BAD_SHOPIFY_TOKEN", "")
    shop = load_shops(write(tmp_path, shops_text())).get("acme")
    with pytest.raises(ConfigError, match="BAD_SHOPIFY_TOKEN is not set"):
        store_client(shop)


@pytest.mark.usefixtures("prefect_api")
def test_unknown_secret_block_names_file_shop_field_and_block(tmp_path, monkeypatch):
    _set_env_except(monkeypatch, "")
    path = write(
        tmp_path, shops_text(replace=("shopify.access_token", "block:no-such-secret-block"))
    )
    shop = load_shops(path).get("acme")
    with pytest.raises(ConfigError) as caught:
        store_client(shop)
    message = str(caught.value)
    assert str(path) in message and "shop 'acme'" in message
    assert "field 'shopify.access_token'" in message
    assert "Prefect Secret block 'no-such-secret-block' could not be loaded" in message


def test_cli_reports_a_literal_secret_without_echoing_it(tmp_path, monkeypatch, data_dirs):
    _clear_env(monkeypatch)
    path = write(tmp_path, shops_text(replace=("tiktok.access_token", LITERAL)))
    result = CliRunner().invoke(app, ["sync", "--shop", "acme", "--shops-file", str(path)])
    assert result.exit_code != 0
    output = result.stdout + result.stderr
    assert str(path) in output and "field 'tiktok.access_token'" in output
    assert LITERAL not in output


def test_amazon_region_follows_the_marketplace(tmp_path):
    """SP-API region by marketplace (developer-docs.amazon.com/sp-api/docs/sp-api-endpoints):
    a JP seller reaches the FE endpoint without naming it; a contradicting region is refused."""
    text = shops_text("amazon").replace("ATVPDKIKX0DER", "A1VC38T7YXB528")
    shop = load_shops(write(tmp_path, text)).get("acme")
    assert shop.amazon is not None and shop.amazon.region == "fe"
    assert shop.amazon.endpoint == "https://sellingpartnerapi-fe.amazon.com"
    us = load_shops(write(tmp_path, shops_text("amazon"))).get("acme")
    assert us.amazon is not None and us.amazon.endpoint.endswith("-na.amazon.com")
    message = load_error(
        tmp_path, text.replace("[shops.amazon]\n", '[shops.amazon]\nregion = "na"\n')
    )
    assert "does not serve marketplace A1VC38T7YXB528" in message and "'fe'" in message


def test_scheduled_delivery_is_refused(tmp_path):
    """ScheduledDelivery is Japan-only and needs a deliveryWindow skubridge does not send."""
    text = shops_text("amazon").replace(
        "[shops.amazon]\n", '[shops.amazon]\nshipping_speed = "ScheduledDelivery"\n'
    )
    assert "delivery window" in load_error(tmp_path, text)
