"""What every TextUs namespace shares: the pipeline, the account scope, hydra paging.

Collections are ``hydra:Collection`` objects with ``members``, ``totalItems`` and a ``view`` whose
``next`` is a root-relative IRI carrying an opaque cursor. Pages are followed as given
(``base_url + next``) until ``next`` is null, absent, or points back at the page just read.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, TypeVar

from ..._convert import from_json
from ...errors import APIError, ConfigurationError
from ...transport.http import HttpClient, Response
from ...transport.pagination import AsyncPager, Page
from ._errors import PROVIDER
from ._validation import check_slug, path_segment_for_number, resource_path

T = TypeVar("T")
Parse = Callable[[Mapping[str, Any]], T]


class Scope:
    """The pipeline plus the defaults a call falls back on (account slug, phone region)."""

    def __init__(self, http: HttpClient, account: str | None, region: str | None) -> None:
        self.http = http
        self.account = account
        self.region = region

    def account_path(self, suffix: str, account: str | None = None) -> str:
        """``/<slug><suffix>``; ``account`` overrides the provider's default account."""
        slug = check_slug(account) if account is not None else self.account
        if slug is None:
            raise ConfigurationError(
                "this TextUs call needs an account slug: pass account=... to TextUsProvider() "
                "or to this call (provider.accounts.list() shows your accounts)"
            )
        return f"/{slug}{suffix}"

    def number_path(self, prefix: str, number: str, account: str | None = None) -> str:
        segment = path_segment_for_number(number, self.region)
        return self.account_path(f"{prefix}/{segment}", account)

    def iri(self, value: Any, collection: str) -> str:
        return resource_path(value, collection, self.http.base_url)


class Resource:
    """Base of the namespaces (``provider.contacts``, ``provider.opt_outs``...)."""

    def __init__(self, scope: Scope) -> None:
        self._scope = scope
        self._http = scope.http

    async def _object(
        self,
        method: str,
        path: str,
        parse: Parse[T],
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        expect: frozenset[int] | None = None,
    ) -> T:
        """One request whose success answer is a single JSON object (``expect``: its codes)."""
        response = await self._http.request(
            method, path, params=params, json_body=json_body, expect=expect)
        return parse(json_object(response))

    def _collection(
        self,
        parse: Parse[T],
        path: str | Callable[[], Awaitable[str]],
        params: Mapping[str, Any] | None = None,
    ) -> AsyncPager[T]:
        """Every member of a paginated collection; nothing is fetched until iteration.

        ``path`` may be a coroutine function resolving the first page's path lazily.
        """
        http = self._http
        seen: set[str] = set()

        async def fetch(token: str | None) -> Page[T]:
            if token is None:
                current = path if isinstance(path, str) else await path()
                response = await http.request("GET", current, params=params)
            else:
                current = token
                response = await http.request("GET", token)
            seen.add(current)
            page = hydra_page(json_object(response), parse, current, http.base_url)
            if page.next in seen:  # a server echoing an old cursor must not loop us forever
                return Page(page.items, None, page.metadata, page.total)
            return page

        return AsyncPager(fetch)


def json_object(response: Response) -> Mapping[str, Any]:
    """The body of a 2xx answer that must be a JSON object; anything else is an APIError."""
    body = response.json()
    if isinstance(body, Mapping):
        return body
    what = "an empty body" if body is None else "a body that is not a JSON object"
    raise APIError(
        f"{PROVIDER}: expected a JSON object from {response.method} but got {what} — the "
        "response may have been cut off; try again",
        provider=PROVIDER,
        status=response.status,
        request_id=response.request_id,
        body=body,
        retryable=response.method == "GET",
    )


def hydra_page(
    data: Mapping[str, Any], parse: Parse[T], current: str, base_url: str
) -> Page[T]:
    members = data.get("members")
    if not isinstance(members, list):
        members = []
    items = [parse(member) for member in members if isinstance(member, Mapping)]
    view = data.get("view")
    if not isinstance(view, Mapping):
        view = {}
    total = data.get("totalItems")
    return Page(
        items=items,
        next=next_link(view.get("next"), current, base_url),
        metadata=view,
        total=total if isinstance(total, int) else None,
    )


def next_link(link: object, current: str, base_url: str) -> str | None:
    """The path of the next page (None when there is none); never a foreign host."""
    if not isinstance(link, str) or not link.strip():
        return None
    link = link.strip()
    if link.startswith(base_url):
        link = link[len(base_url):]
    elif link.startswith(("http://", "https://")):
        # The token must never travel to another host.
        raise APIError(
            f"{PROVIDER}: a collection's next link points outside {base_url}; not following it",
            provider=PROVIDER,
        )
    if link.startswith("?"):
        link = current.split("?", 1)[0] + link
    return link


def parser(cls: type[T]) -> Parse[T]:
    def parse(data: Mapping[str, Any]) -> T:
        return from_json(cls, data)

    return parse
