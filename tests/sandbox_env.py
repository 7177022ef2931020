"""Point skubridge at a running sandbox stack, for tests (fixture ``point_at_stack``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def point_at(
    stack: Any,
    shops: list[tuple[str, str]],
    *,
    tmp_path: Path,
    monkeypatch: Any,
    incremental: bool = False,
) -> Path:
    """The stack's credentials in the environment and a shops file listing ``shops`` (id,
    store kind; ``incremental`` catalog reads) as SKUBRIDGE_SHOPS_FILE; returns its path."""
    for name, value in stack.env().items():
        monkeypatch.setenv(name, value)
    path = stack.write_shops_file(tmp_path / "shops.toml", shops, incremental=incremental)
    monkeypatch.setenv("SKUBRIDGE_SHOPS_FILE", str(path))
    return path
