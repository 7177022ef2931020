"""The carrier map: explicit names to TikTok providers, never a guess (tasks/carriers.py)."""

from __future__ import annotations

from tasks.carriers import Provider, carrier_map, normalise, resolve_provider

PROVIDERS = (
    Provider("7117858858072016686", "USPS"),
    Provider("7117859084333745966", "UPS"),
    Provider("7129736029146269486", "Amazon Logistics"),
)


def test_defaults_match_case_and_punctuation_insensitively():
    carriers = carrier_map({})
    assert resolve_provider("ups", PROVIDERS, carriers).id == "7117859084333745966"
    assert resolve_provider(" Amazon-Logistics ", PROVIDERS, carriers).name == "Amazon Logistics"
    assert normalise("DHL  eCommerce!") == "dhl ecommerce"


def test_unknown_or_unoffered_carrier_is_none_not_a_guess():
    carriers = carrier_map({})
    assert resolve_provider("Hermes", PROVIDERS, carriers) is None  # not in the map
    assert resolve_provider("UPS Ground", PROVIDERS, carriers) is None  # no fuzzy match
    assert resolve_provider("FedEx", PROVIDERS, carriers) is None  # mapped, not offered
    assert resolve_provider(None, PROVIDERS, carriers) is None


def test_shop_overrides_add_and_replace_by_name_or_id():
    carriers = carrier_map({"Hermes": "UPS", "usps": "7129736029146269486"})
    assert resolve_provider("hermes", PROVIDERS, carriers).name == "UPS"
    assert resolve_provider("USPS", PROVIDERS, carriers).name == "Amazon Logistics"
