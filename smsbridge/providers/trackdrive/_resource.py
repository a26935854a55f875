"""What every TrackDrive resource namespace shares: the pipeline, records and page iteration."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from ... import _constants as C
from ..._convert import from_json, from_json_list, is_object
from ..._logging import logger
from ...errors import APIError, InvalidPhoneNumber
from ...phone import normalize
from ...transport.http import HttpClient, Response
from ...transport.pagination import AsyncPager, Page
from ._wire import envelope_status, positive_int, query, unwrap
from .models import Envelope

T = TypeVar("T")


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def next_page(
    page: int, count: int, metadata: Mapping[str, Any], per_page: int | None
) -> int | None:
    """The next page number, or None: stop on an empty page, at ``metadata.total_pages``, or
    (when the server gives no total) on a page shorter than the page size."""
    if count == 0:
        return None
    total_pages = _int(metadata.get("total_pages"))
    if total_pages is not None:
        return page + 1 if page < total_pages else None
    size = per_page or _int(metadata.get("per_page")) or C.TRACKDRIVE_DEFAULT_PER_PAGE
    return page + 1 if count >= size else None


class Resource:
    """A namespace of operations (``provider.schedules``...) over the provider's pipeline."""

    def __init__(self, http: HttpClient, region: str | None) -> None:
        self._http = http
        self._region = region

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self._http.base_url}>"

    def _phone(self, number: str | None, name: str) -> str | None:
        """E.164 or None; an unusable number is an InvalidPhoneNumber naming the parameter."""
        if number is None:
            return None
        if not isinstance(number, str):
            raise InvalidPhoneNumber(f"{name} must be a phone number string like +13035551234")
        try:
            return normalize(number, self._region)
        except InvalidPhoneNumber as exc:
            raise InvalidPhoneNumber(
                f"{name}: {exc}", masked_number=exc.masked_number, reason=exc.reason
            ) from None

    @staticmethod
    def parse_record(response: Response, cls: type[T], root: str) -> T:
        """The record under ``root`` as ``cls``; a model with an ``envelope`` field also gets
        the envelope's status, metadata and checksum."""
        payload = response.json()
        record, metadata, checksum = unwrap(payload, root)
        if not is_object(record):
            record = {}
        extra: dict[str, Any] = {}
        if checksum is not None and "checksum" not in record:
            extra["checksum"] = checksum
        if getattr(getattr(cls, "__attrs_attrs__", None), "envelope", None) is not None and \
                record is not payload:
            extra["envelope"] = Envelope(status=envelope_status(payload), metadata=metadata,
                                         checksum=checksum)
        return from_json(cls, record, **extra)

    def _paginate(
        self,
        path: str,
        params: Mapping[str, Any],
        cls: type[T],
        root: str,
        *,
        page: int | None,
        per_page: int | None,
    ) -> AsyncPager[T]:
        """Lazily walk ``GET path`` page by page (nothing is sent until iteration starts)."""
        first = positive_int(page, "page") or 1
        per_page = positive_int(per_page, "per_page")
        base = query({**params, "per_page": per_page})
        http = self._http
        previous_head: Any = None

        async def fetch(page_number: int) -> Page[T]:
            nonlocal previous_head
            response = await http.request("GET", path, params={**base, "page": str(page_number)})
            items, metadata, _ = unwrap(response.json(), root)
            if not isinstance(items, list):
                raise APIError(
                    f"trackdrive: expected a list under {root!r} from GET {path}, "
                    f"got {type(items).__name__}",
                    provider="trackdrive", status=response.status,
                    request_id=response.request_id, body=response.json(),
                )
            following = next_page(page_number, len(items), metadata, per_page)
            head = items[0] if items else None
            if following is not None and head is not None and head == previous_head:
                # The server ignored ``page`` and sent the same page again: stop, do not loop.
                logger.warning("trackdrive: GET %s repeated page %d; stopping", path, page_number)
                return Page(items=[], next=None, metadata=metadata)
            previous_head = head
            return Page(
                items=from_json_list(cls, items),
                next=following,
                metadata=metadata,
                total=_int(metadata.get("total_count")),
            )

        return AsyncPager(fetch, first)
