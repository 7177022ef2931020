"""Subdivision names to ISO 3166-2 codes (pycountry) for store addresses."""

from __future__ import annotations

import pytest

from connectors.subdivisions import subdivision_code


@pytest.mark.parametrize(
    ("country", "name", "code"),
    [
        ("US", "Illinois", "IL"),
        ("us", "  new   york ", "NY"),
        ("US", "District of Columbia", "DC"),
        ("US", "IL", "IL"),
        ("US", "US-CA", "CA"),
        ("CA", "Québec", "QC"),
        ("CA", "Quebec", "QC"),
        ("MX", "Ciudad de México", "CMX"),
    ],
)
def test_names_and_codes_convert(country: str, name: str, code: str) -> None:
    assert subdivision_code(country, name) == code


@pytest.mark.parametrize(
    ("country", "name"),
    [("US", "Atlantis"), ("US", ""), (None, "Illinois"), ("US", None), ("ZZ", "Illinois")],
)
def test_unknown_is_none(country: str | None, name: str | None) -> None:
    assert subdivision_code(country, name) is None
