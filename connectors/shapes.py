"""Checks that an answer has the documented shape, for every connector.

An answer that is valid JSON but not the shape the vendor documents (a missing field, a
list that is not a list of objects) is a :class:`connectors.errors.MalformedResponseError`
naming the marketplace and the operation, worded the same for all three marketplaces.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from connectors.errors import MalformedResponseError

T = TypeVar("T")


def wrong_shape(marketplace: str, operation: str, why: str) -> MalformedResponseError:
    """The error for an answer of ``operation`` that is not the documented shape."""
    return MalformedResponseError(
        f"answer has the wrong shape: {why}", marketplace=marketplace, operation=operation
    )


def object_list(value: Any, *, marketplace: str, operation: str, name: str) -> list[dict[str, Any]]:
    """A JSON array of objects (None reads as empty); anything else is :func:`wrong_shape`."""
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise wrong_shape(marketplace, operation, f"{name} is not a list of objects")
    return value


def parsed(parse: Callable[[Any], T], node: Any, *, marketplace: str, operation: str) -> T:
    """``parse(node)``; a missing or mistyped field in ``node`` is :func:`wrong_shape`."""
    try:
        return parse(node)
    except (KeyError, TypeError, ValueError) as exc:
        raise wrong_shape(marketplace, operation, f"{type(exc).__name__}: {exc}") from None


__all__ = ["object_list", "parsed", "wrong_shape"]
