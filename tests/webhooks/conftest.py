"""Fixtures of the webhook tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .deliveries import write_shops


@pytest.fixture
def shops_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return write_shops(tmp_path / "shops.toml", monkeypatch)
