"""`skubridge push`."""

from __future__ import annotations

from skubridge.commands import not_built


def main() -> None:
    """Not built yet."""
    not_built("push")
