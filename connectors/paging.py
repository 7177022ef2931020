"""The one cursor-paging loop every connector uses.

TikTok (``page_token`` / ``next_page_token``), Shopify (``after`` / ``pageInfo.endCursor``)
and Amazon (``nextToken``) all page the same way: ask for a page with the token the last
page handed out, stop when no token comes back. :class:`CursorPages` runs that loop once
for all of them and guards it: a token seen before (a server that hands out the same
cursor again would loop forever) or more pages than the budget stops the loop with
:class:`connectors.errors.PagingError` naming the marketplace and the endpoint.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Generic, TypeVar

from connectors.errors import PagingError

P = TypeVar("P")

# Far above any real catalog (10,000 TikTok products at 100 a page are 100 pages), low
# enough that a server inventing fresh tokens forever is stopped.
MAX_PAGES = 100_000

Fetch = Callable[[str | None], Awaitable[tuple[P, str | None]]]
"""``fetch(token)`` -> ``(page, next_token)``; ``token`` is None for the first page and
``next_token`` None (or empty) after the last one."""


class CursorPages(Generic[P]):
    """Async iterator over the pages ``fetch`` returns, following its tokens.

    Every page is yielded, empty ones included (a page may be empty and still hand out a
    token). ``max_pages`` may be lowered while iterating, e.g. once the first page says how
    many results there are; ``pages`` counts the pages fetched so far.
    """

    def __init__(
        self,
        fetch: Fetch[P],
        *,
        marketplace: str,
        endpoint: str,
        max_pages: int = MAX_PAGES,
    ) -> None:
        if max_pages < 1:
            raise ValueError("max_pages must be at least 1")
        self._fetch = fetch
        self.marketplace = marketplace
        self.endpoint = endpoint
        self.max_pages = max_pages
        self.pages = 0
        self.tokens: set[str] = set()

    def __aiter__(self) -> AsyncIterator[P]:
        return self._run()

    async def _run(self) -> AsyncIterator[P]:
        token: str | None = None
        while True:
            page, next_token = await self._fetch(token)
            self.pages += 1
            yield page
            if not next_token:
                return
            if next_token in self.tokens:
                raise self._error("repeated page token")
            if self.pages >= self.max_pages:
                raise self._error(f"too many pages, the budget is {self.max_pages}")
            self.tokens.add(next_token)
            token = next_token

    def _error(self, why: str) -> PagingError:
        return PagingError(
            f"{self.endpoint} paging stopped after {self.pages} pages ({why})",
            marketplace=self.marketplace,
            operation=self.endpoint,
        )


__all__ = ["MAX_PAGES", "CursorPages", "Fetch"]
