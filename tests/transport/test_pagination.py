"""AsyncPager: lazy, walks every page, stops on the last/empty page, honours limits."""

from __future__ import annotations

from typing import Any

from smsbridge import AsyncPager, Page


class Pages:
    """A fake fetch over fixed pages; records the tokens it was asked for."""

    def __init__(self, pages: dict[Any, Page[int]]) -> None:
        self.pages = pages
        self.asked: list[Any] = []

    async def __call__(self, token: Any) -> Page[int]:
        self.asked.append(token)
        return self.pages[token]


THREE = {
    None: Page([1, 2], next="p2", total=5),
    "p2": Page([3, 4], next="p3", total=5),
    "p3": Page([5], next=None, total=5),
}


async def test_nothing_is_fetched_until_iteration():
    fetch = Pages(THREE)
    pager = AsyncPager(fetch)
    assert fetch.asked == []
    assert [item async for item in pager] == [1, 2, 3, 4, 5]
    assert fetch.asked == [None, "p2", "p3"]


async def test_pages_yields_each_page_with_its_metadata():
    pages = [page async for page in AsyncPager(Pages(THREE)).pages()]
    assert [p.items for p in pages] == [[1, 2], [3, 4], [5]]
    assert [p.total for p in pages] == [5, 5, 5]


async def test_a_first_token_starts_mid_collection():
    fetch = Pages(THREE)
    assert await AsyncPager(fetch, first="p2").to_list() == [3, 4, 5]
    assert fetch.asked == ["p2", "p3"]


async def test_an_empty_page_ends_the_walk_even_with_a_next_token():
    fetch = Pages({None: Page([1], next="p2"), "p2": Page([], next="p3"), "p3": Page([9])})
    assert await AsyncPager(fetch).to_list() == [1]
    assert fetch.asked == [None, "p2"]


async def test_max_pages_bounds_the_walk():
    fetch = Pages(THREE)
    assert await AsyncPager(fetch, max_pages=2).to_list() == [1, 2, 3, 4]
    assert fetch.asked == [None, "p2"]


async def test_to_list_limit_stops_fetching_early():
    fetch = Pages(THREE)
    assert await AsyncPager(fetch).to_list(limit=3) == [1, 2, 3]
    assert fetch.asked == [None, "p2"]


async def test_a_pager_can_be_iterated_again_from_the_start():
    fetch = Pages(THREE)
    pager = AsyncPager(fetch)
    assert await pager.to_list() == await pager.to_list()
    assert fetch.asked.count(None) == 2
