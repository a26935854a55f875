"""Read-side namespaces: ``provider.accounts``, ``.conversations``, ``.contacts``, ``.opt_outs``.

Collections come back as :class:`~smsbridge.AsyncPager` (``async for`` walks every page; nothing
is requested until iteration starts). Every account-scoped call takes ``account=`` to override
the provider's default account slug.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from multidict import MultiDict

from ...errors import NotFoundError, ValidationError
from ...phone import normalize
from ...transport.pagination import AsyncPager
from ._resource import Resource, parser
from ._validation import check_slug, numbers
from .models import Account, Contact, Conversation, Message, OptOut

PhoneInput = str | tuple[str, str] | Mapping[str, Any]


def _query(**values: Any) -> dict[str, str]:
    """Drop unset values; booleans as ``true``/``false``."""
    out = {}
    for key, value in values.items():
        if value is None:
            continue
        out[key] = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return out


class Accounts(Resource):
    def list(
        self,
        *,
        q: str | None = None,
        type: str | None = None,
        slug: str | None = None,
        ancestors: bool | str | None = None,
        descendants: bool | str | None = None,
        legal: bool | str | None = None,
    ) -> AsyncPager[Account]:
        """``GET /accounts{?ancestors,descendants,legal,q,type,slug}``: accounts you belong to."""
        params = _query(
            ancestors=ancestors, descendants=descendants, legal=legal, q=q, type=type, slug=slug
        )
        return self._collection(parser(Account), "/accounts", params or None)

    async def get(self, account: str | None = None) -> Account:
        """``GET /accounts/:account`` (default: the provider's account)."""
        path = "/accounts" + self._scope.account_path("", account)
        return await self._object("GET", path, parser(Account))


class Conversations(Resource):
    async def get(self, phone: str, *, account: str | None = None) -> Conversation:
        """``GET /:account/conversations/:phone_number``: the thread with that contact."""
        path = self._scope.number_path("/conversations", phone, account)
        return await self._object("GET", path, parser(Conversation))

    async def get_by_id(self, conversation: str | Conversation) -> Conversation:
        """``GET /conversations/:conversation`` by slug or IRI."""
        path = self._scope.iri(conversation, "conversations")
        return await self._object("GET", path, parser(Conversation))

    def timeline(
        self, conversation: str | Conversation, *, account: str | None = None
    ) -> AsyncPager[Message]:
        """The conversation's messages and events, newest first.

        Pass the contact's phone number (the conversation is looked up first), a conversation
        IRI (``/conversations/kY1QwY``) or a :class:`Conversation`.
        """
        if isinstance(conversation, str) and not conversation.startswith("/conversations/"):
            normalize(conversation, self._scope.region)  # reject a bad number before iterating

        async def first_page() -> str:
            return await self._timeline_path(conversation, account)

        return self._collection(parser(Message), first_page)

    async def _timeline_path(self, conversation: str | Conversation, account: str | None) -> str:
        if isinstance(conversation, Conversation):
            found = conversation.timeline_path
        elif conversation.startswith("/conversations/"):
            found = conversation.rstrip("/") + "/timeline"
        else:
            found = (await self.get(conversation, account=account)).timeline_path
        if not found:
            raise ValidationError("the conversation has no id or timeline link to follow")
        return found


class Contacts(Resource):
    def list(
        self, *, q: str | None = None, filter: str | None = None, account: str | None = None
    ) -> AsyncPager[Contact]:
        """``GET /:account/contacts``; with ``q`` or ``filter``, the contact-filter search
        ``GET /:account/contact_filters/:filter/contacts?q=`` (default filter ``all``)."""
        if q is None and filter is None:
            return self._collection(parser(Contact), self._scope.account_path("/contacts", account))
        slug = check_slug(filter, "contact filter") if filter is not None else "all"
        path = self._scope.account_path(f"/contact_filters/{slug}/contacts", account)
        return self._collection(parser(Contact), path, _query(q=q) or None)

    async def get(self, contact: str | Contact) -> Contact:
        """``GET /contacts/:contact`` by slug or IRI."""
        return await self._object("GET", self._scope.iri(contact, "contacts"), parser(Contact))

    async def create(
        self,
        *,
        name: str | None = None,
        phones: Iterable[PhoneInput] = (),
        data: Mapping[str, Any] | None = None,
        account: str | None = None,
    ) -> Contact:
        """``POST /:account/contacts``. ``phones``: numbers, ``(number, type)`` pairs or
        ``{"number": ..., "type": "Mobile"}``; ``data``: custom fields."""
        body = self._contact_body(name, phones, data)
        if not body.get("phones"):
            raise ValidationError("a TextUs contact needs at least one phone number")
        path = self._scope.account_path("/contacts", account)
        # The docs show 200; 201 is what a create usually answers (reference: a docs quirk).
        return await self._object("POST", path, parser(Contact), json_body=body,
                                  expect=frozenset({200, 201}))

    async def update(
        self,
        contact: str | Contact,
        *,
        name: str | None = None,
        phones: Iterable[PhoneInput] | None = None,
        data: Mapping[str, Any] | None = None,
    ) -> Contact:
        """``PUT /contacts/:contact`` with only the fields given."""
        body = self._contact_body(name, phones, data)
        if not body:
            raise ValidationError("nothing to update: pass name=, phones= or data=")
        path = self._scope.iri(contact, "contacts")
        return await self._object("PUT", path, parser(Contact), json_body=body)

    def _contact_body(
        self, name: str | None, phones: Iterable[PhoneInput] | None, data: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if phones is not None:
            body["phones"] = [self._phone(item) for item in phones]
        if data is not None:
            if not isinstance(data, Mapping):
                raise ValidationError("contact data must be a mapping of custom fields")
            body["data"] = dict(data)
        return body

    def _phone(self, item: PhoneInput) -> dict[str, Any]:
        if isinstance(item, str):
            return {"number": normalize(item, self._scope.region)}
        if isinstance(item, tuple):
            number, kind = item
            return {"number": normalize(number, self._scope.region), "type": kind}
        if isinstance(item, Mapping) and isinstance(item.get("number"), str):
            return {**item, "number": normalize(item["number"], self._scope.region)}
        raise ValidationError(
            "each contact phone is a number, a (number, type) pair or {'number': ..., 'type': ...}"
        )


class OptOuts(Resource):
    def list(
        self,
        *,
        q: str | None = None,
        exact: Iterable[str] | None = None,
        account: str | None = None,
    ) -> AsyncPager[OptOut]:
        """``GET /:account/opt_outs{?q,exact[]}``: ``q`` matches part of a number (3+ chars),
        ``exact`` lists full numbers."""
        params: MultiDict[str] = MultiDict()
        if q is not None:
            if len(q.strip()) < 3:
                raise ValidationError("opt-out search q needs at least 3 characters")
            params.add("q", q.strip())
        for number in numbers(exact or (), self._scope.region, unique=True):
            params.add("exact[]", number)
        path = self._scope.account_path("/opt_outs", account)
        return self._collection(parser(OptOut), path, params or None)

    async def get(self, number: str, *, account: str | None = None) -> OptOut | None:
        """``GET /:account/opt_outs/:phone_number``; None when the number has no opt-out."""
        path = self._scope.number_path("/opt_outs", number, account)
        try:
            return await self._object("GET", path, parser(OptOut))
        except NotFoundError:
            return None

    async def check(self, number: str, *, account: str | None = None) -> bool:
        """True when ``number`` is opted out (do not text it)."""
        record = await self.get(number, account=account)
        return record is not None and record.is_opted_out

    async def create(self, number: str, *, account: str | None = None) -> OptOut:
        """``PUT /:account/opt_outs/:phone_number`` (201): opt the number out."""
        path = self._scope.number_path("/opt_outs", number, account)
        return await self._object("PUT", path, parser(OptOut), expect=frozenset({201}))
