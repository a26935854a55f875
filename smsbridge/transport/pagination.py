"""Auto-pagination: ``async for item in pager`` walks every page; ``pager.pages()`` yields pages."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any, Generic, TypeVar

import attrs

T = TypeVar("T")


@attrs.frozen(slots=True)
class Page(Generic[T]):
    """One page of a collection. ``next`` is the opaque token for the next page (None = last)."""

    items: list[T]
    next: Any = None
    metadata: Mapping[str, Any] = attrs.field(factory=dict, repr=False)
    total: int | None = None


FetchPage = Callable[[Any], Awaitable[Page[T]]]


class AsyncPager(Generic[T]):
    """Lazily fetches pages; nothing is requested until iteration starts."""

    def __init__(self, fetch: FetchPage[T], first: Any = None, *, max_pages: int | None = None):
        self._fetch = fetch
        self._first = first
        self._max_pages = max_pages

    async def pages(self) -> AsyncIterator[Page[T]]:
        token = self._first
        seen = 0
        while True:
            page = await self._fetch(token)
            seen += 1
            yield page
            if page.next is None or not page.items:
                return
            if self._max_pages is not None and seen >= self._max_pages:
                return
            token = page.next

    async def __aiter__(self) -> AsyncIterator[T]:
        async for page in self.pages():
            for item in page.items:
                yield item

    async def to_list(self, limit: int | None = None) -> list[T]:
        out: list[T] = []
        async for item in self:
            out.append(item)
            if limit is not None and len(out) >= limit:
                break
        return out
