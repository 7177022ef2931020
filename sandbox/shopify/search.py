"""A small implementation of Shopify's search syntax for ``query:`` arguments
(https://shopify.dev/docs/api/usage/search-syntax).

Supported: ``field:value`` terms, the comparators ``field:>v``, ``>=``, ``<``, ``<=`` (on
times, e.g. ``updated_at:>'2020-10-21T23:39:20Z'``, and numbers), implicit AND, ``OR``,
``-``/``NOT`` negation, single or double quotes, backslash escapes and a trailing ``*``
prefix match. Parentheses are accepted and ignored (grouping is flattened), which is
enough for the filters skubridge sends.
Values are compared case-insensitively, which is the safe reading of an UNCONFIRMED rule
(search syntax): a client must still compare SKUs exactly itself.

Sources cited by name below:

- search syntax: https://shopify.dev/docs/api/usage/search-syntax
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(frozen=True)
class Term:
    field: str | None
    value: str
    negated: bool = False
    prefix: bool = False
    op: str | None = None  # > >= < <= (search syntax: comparators)


def tokenize(query: str) -> list[str]:
    """Split a search string into tokens, honouring quotes and backslash escapes."""
    tokens: list[str] = []
    buf: list[str] = []
    quote: str | None = None
    i = 0
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query):
            buf.append(query[i + 1])
            i += 2
            continue
        if quote:
            if ch == quote:
                quote = None
            else:
                buf.append(ch)
        elif ch in "\"'":
            quote = ch
            buf.append("")  # mark "a value was given" even if empty
        elif ch.isspace() or ch in "()":
            if buf:
                tokens.append("".join(buf))
                buf = []
        else:
            buf.append(ch)
        i += 1
    if buf:
        tokens.append("".join(buf))
    return tokens


def parse(query: str | None) -> list[list[Term]]:
    """The query as OR-groups of AND-ed terms (disjunctive form of a flat query)."""
    if not query or not query.strip():
        return []
    groups: list[list[Term]] = [[]]
    for token in tokenize(query):
        if token == "OR":  # noqa: S105 - a search keyword
            groups.append([])
            continue
        if token in ("AND", "NOT"):
            continue
        negated = token.startswith("-")
        if negated:
            token = token[1:]
        name, sep, value = token.partition(":")
        field = name.lower() if sep else None
        value = value if sep else token
        op = next((o for o in (">=", "<=", ">", "<") if sep and value.startswith(o)), None)
        if op:
            value = value[len(op) :].strip("'\"")
        prefix = op is None and value.endswith("*")
        groups[-1].append(Term(field, value.rstrip("*") if prefix else value, negated, prefix, op))
    return [g for g in groups if g]


Getter = Callable[[object, str], Iterable[str] | None]


def matches(groups: list[list[Term]], obj: object, get: Getter, default_field: str) -> bool:
    """Whether ``obj`` matches the parsed query; ``get(obj, field)`` gives its values.

    ``get`` returns None for an unknown field; such terms are ignored, like Shopify ignores
    filters it does not support on a resource.
    """
    if not groups:
        return True
    for group in groups:
        if all(_term_matches(term, obj, get, default_field) for term in group):
            return True
    return False


def _term_matches(term: Term, obj: object, get: Getter, default_field: str) -> bool:
    values = get(obj, term.field or default_field)
    if values is None:
        return True
    if term.op:
        return any(_compare(v, term.op, term.value) for v in values) != term.negated
    wanted = term.value.lower()
    hit = False
    for value in values:
        have = (value or "").lower()
        if (term.prefix and have.startswith(wanted)) or (not term.prefix and have == wanted):
            hit = True
            break
        if term.field is None and wanted in have:  # free text: substring of the title
            hit = True
            break
    return hit != term.negated


def _comparable(text: str) -> tuple[int, Any]:
    """A value ordered as a time (ISO 8601; a bare year or date is its first instant), a
    number, or else text."""
    raw = text.strip()
    try:
        return 0, int(raw)
    except ValueError:
        pass
    try:
        when = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        return 2, raw
    return 1, when if when.tzinfo else when.replace(tzinfo=UTC)


def _compare(have: str, op: str, wanted: str) -> bool:
    a, b = _comparable(have or ""), _comparable(wanted)
    if a[0] != b[0]:
        return False
    match op:
        case ">":
            return a[1] > b[1]
        case ">=":
            return a[1] >= b[1]
        case "<":
            return a[1] < b[1]
    return a[1] <= b[1]
