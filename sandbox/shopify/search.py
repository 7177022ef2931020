"""A small implementation of Shopify's search syntax for ``query:`` arguments
(https://shopify.dev/docs/api/usage/search-syntax).

Supported: ``field:value`` terms, implicit AND, ``OR``, ``-``/``NOT`` negation, single or
double quotes, backslash escapes, a trailing ``*`` prefix match and range comparisons
(``updated_at:>='2026-12-08T03:00:00Z'``, also ``>``, ``<``, ``<=``; ISO times compared as
times). Parentheses are accepted
and ignored (grouping is flattened), which is enough for the filters skubridge sends.
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
    op: str | None = None  # range comparison: > >= < <= (search syntax, "Range queries")


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
        prefix = value.endswith("*")
        groups[-1].append(Term(field, value.rstrip("*"), negated, prefix, op))
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
    if term.op is not None:
        return any(_compare(v or "", term.op, term.value) for v in values) != term.negated
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


def _compare(have: str, op: str, wanted: str) -> bool:
    """``have op wanted``: as times when both parse as ISO 8601, else as numbers, else text."""
    a: Any
    b: Any
    try:
        a, b = _time(have), _time(wanted)
    except ValueError:
        try:
            a, b = float(have), float(wanted)
        except ValueError:
            a, b = have.lower(), wanted.lower()
    return {">": a > b, ">=": a >= b, "<": a < b, "<=": a <= b}[op]


def _time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
