"""The TextUs "Next" API over HTTP: auth, rate limit, request parsing and the response shapes.

Domain state lives in :mod:`.textus_state`; this module only turns requests into calls on it
and results into the documented status codes (201 Message, 202 no body, 201 empty body for a
saved reply, hydra collections with ``view.next`` cursors, hydra errors).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from ._web import JSON, Rejected, blank, e164, json_response, read_json_object
from .ratelimit import FixedWindowLimiter
from .records import Recorder
from .textus_parse import (
    contact_matches,
    decode_cursor,
    encode_cursor,
    read_attachments,
    read_contact,
    read_integration,
    read_recipients,
    read_scheduled_in,
    read_text,
)
from .textus_state import MEDIA_TYPE, RETRYABLE_STATES, TextUsState

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Admission = tuple[web.Response | None, dict[str, str] | None]
PROVIDER = "textus"
ROUTES = (
    "textus.accounts.list", "textus.accounts.get", "textus.send", "textus.schedule",
    "textus.messages.get", "textus.retry", "textus.conversations.get",
    "textus.conversations.by_phone", "textus.conversations.timeline", "textus.contacts.list",
    "textus.contacts.create", "textus.contacts.get", "textus.contacts.update",
    "textus.opt_outs.list", "textus.opt_outs.get", "textus.opt_outs.update",
    "textus.integrations.list", "textus.integrations.create",
)


def error(status: int, title: str, description: str | None = None,
          errors: dict[str, list[str]] | None = None) -> web.Response:
    body: JSON = {"@type": "hydra:Error", "hydra:title": title}
    if description:
        body["hydra:description"] = description
    if errors is not None:
        body["errors"] = errors
    return json_response(body, status, MEDIA_TYPE)


_TITLES = {400: "Bad Request", 404: "Not Found", 422: "Unprocessable Entity"}


def _missing(what: str) -> Rejected:
    return Rejected({"base": [f"{what} was not found"]}, status=404)


class TextUsAPI:
    def __init__(self, state: TextUsState, recorder: Recorder,
                 limiter: FixedWindowLimiter | None) -> None:
        self.state = state
        self.limiter = limiter
        self._recorder = recorder
        self._bearer = f"Bearer {state.token}"

    # --- what every request goes through (see server.Sandbox._wrap)
    def admit(self, request: web.Request) -> Admission:
        auth = request.headers.get("Authorization")
        ok = auth == self._bearer or (
            auth is not None and auth[:7].lower() == "bearer "
            and auth[7:].strip() == self.state.token
        )
        limiter = self.limiter
        if limiter is None:
            return (None if ok else self._unauthorized()), None
        verdict = limiter.hit(self.state.token if ok else f"ip:{request.remote}")
        headers = verdict.headers()
        if not ok:
            return self._unauthorized(), headers
        if not verdict.allowed:
            response = error(429, "Too Many Requests")
            response.headers["Retry-After"] = str(verdict.retry_after)
            return response, headers
        return None, headers

    @staticmethod
    def _unauthorized() -> web.Response:
        return error(401, "Unauthorized", "Invalid or missing API token")

    @staticmethod
    def rejected(exc: Rejected) -> web.Response:
        return error(exc.status, _TITLES.get(exc.status, "Error"), exc.description, exc.errors)

    def server_error(self, status: int) -> web.Response:
        return error(status, "Internal Server Error" if status == 500 else "Server Error")

    def too_many_requests(self, retry_after: float) -> web.Response:
        response = error(429, "Too Many Requests")
        response.headers["Retry-After"] = f"{retry_after:g}"
        return response

    def routes(self) -> list[tuple[str, str, str, Handler]]:
        return [
            ("GET", "/accounts", "textus.accounts.list", self.accounts),
            ("GET", "/accounts/{account}", "textus.accounts.get", self.account),
            ("POST", "/messages", "textus.send", self.send_without_account),
            ("GET", "/messages/{slug}", "textus.messages.get", self.get_message),
            ("POST", "/messages/{slug}/retry", "textus.retry", self.retry),
            ("GET", "/conversations/{slug}", "textus.conversations.get", self.conversation),
            ("GET", "/conversations/{slug}/timeline", "textus.conversations.timeline",
             self.timeline),
            ("GET", "/contacts/{slug}", "textus.contacts.get", self.get_contact),
            ("PUT", "/contacts/{slug}", "textus.contacts.update", self.update_contact),
            ("POST", "/{account}/messages", "textus.send", self.send),
            ("POST", "/{account}/messages/schedule", "textus.schedule", self.schedule),
            ("GET", "/{account}/conversations/{phone}", "textus.conversations.by_phone",
             self.conversation_by_phone),
            ("GET", "/{account}/contacts", "textus.contacts.list", self.contacts),
            ("GET", "/{account}/contact_filters/{filter}/contacts", "textus.contacts.list",
             self.contacts),
            ("POST", "/{account}/contacts", "textus.contacts.create", self.create_contact),
            ("GET", "/{account}/opt_outs", "textus.opt_outs.list", self.opt_outs),
            ("GET", "/{account}/opt_outs/{phone}", "textus.opt_outs.get", self.get_opt_out),
            ("PUT", "/{account}/opt_outs/{phone}", "textus.opt_outs.update", self.put_opt_out),
            ("GET", "/{account}/integrations", "textus.integrations.list", self.integrations),
            ("POST", "/{account}/integrations", "textus.integrations.create",
             self.create_integration),
        ]

    # --- helpers
    def _check_account(self, request: web.Request) -> None:
        account = request.match_info["account"]
        if account != self.state.account_slug:
            raise _missing(f"account {account!r}")

    def _record(self, request: web.Request, route: str, body: JSON, to: str | None,
                message_id: str | None) -> None:
        self._recorder.add(PROVIDER, route, request.method, request.path, body, to, message_id,
                           time.time())

    def _collection(self, request: web.Request, path: str, items: Sequence[Any],
                    render: Callable[[Any], JSON], kind: str = "hydra:Collection",
                    extra: JSON | None = None) -> web.Response:
        query = {k: v for k, v in request.query.items() if k != "cursor"}
        cursor = request.query.get("cursor")
        offset = decode_cursor(cursor) if cursor else 0
        size = self.state.page_size
        page = items[offset:offset + size]

        def link(at: int | None) -> str | None:
            if at is None:
                return None
            params = {**query, "cursor": encode_cursor(at)} if at else query
            return f"{path}?{urlencode(params)}" if params else path

        next_at = offset + size if offset + size < len(items) else None
        previous_at = max(offset - size, 0) if offset else None
        body: JSON = {"@type": kind, "@context": f"/contexts/{kind}.jsonld", "id": path,
                      **(extra or {}), "members": [render(item) for item in page],
                      "totalItems": len(items),
                      "view": {"@type": "hydra:PartialCollectionView",
                               "@context": "/contexts/hydra:PartialCollectionView.jsonld",
                               "id": link(offset), "first": link(0), "next": link(next_at),
                               "previous": link(previous_at)}}
        return json_response(body, 200, MEDIA_TYPE)

    # --- accounts
    async def accounts(self, request: web.Request) -> web.Response:
        account = self.state.account_json()
        query = request.query
        keep = all(
            query.get(key) in (None, "", account[field])
            for key, field in (("slug", "slug"), ("type", "type"))
        ) and query.get("q", "").lower() in account["name"].lower()
        return self._collection(request, "/accounts", [account] if keep else [], dict,
                                kind="AccountCollection")

    async def account(self, request: web.Request) -> web.Response:
        self._check_account(request)
        return json_response(self.state.account_json(), 200, MEDIA_TYPE)

    # --- messages
    async def send(self, request: web.Request) -> web.Response:
        self._check_account(request)
        return await self._send(request, "textus.send", needs_sender=False, scheduled=False)

    async def send_without_account(self, request: web.Request) -> web.Response:
        return await self._send(request, "textus.send", needs_sender=True, scheduled=False)

    async def schedule(self, request: web.Request) -> web.Response:
        self._check_account(request)
        return await self._send(request, "textus.schedule", needs_sender=False, scheduled=True)

    async def _send(self, request: web.Request, route: str, *, needs_sender: bool,
                    scheduled: bool) -> web.Response:
        body = await read_json_object(request)
        numbers, single = read_recipients(body.get("to"))
        attachments = read_attachments(body.get("attachments"))
        saved_reply = body.get("saved_reply")
        if saved_reply is not None and not (
            isinstance(saved_reply, str) and saved_reply.startswith("/saved_replies/")
        ):
            raise Rejected({"saved_reply": ["must be a saved reply IRI like "
                                            "/saved_replies/QxvonQv"]})
        text = read_text(body, needed=not attachments and saved_reply is None)
        if needs_sender:
            self._check_sender(body)
        elif body.get("from") is not None and e164(body["from"]) is None:
            raise Rejected({"from": ["is not a valid phone number"]})
        delay = read_scheduled_in(body.get("scheduled_at")) if scheduled else None
        messages = self.state.send(numbers, text, attachments=attachments, scheduled_in=delay)
        for message in messages:
            self._record(request, route, body, message.to, message.iri)
        if saved_reply is not None:
            return web.Response(status=201)  # documented: 201 with no body
        if not single:
            return web.Response(status=202)  # documented: 202, no body, no per-recipient ids
        return json_response(messages[0].to_json(), 201, MEDIA_TYPE)

    @staticmethod
    def _check_sender(body: JSON) -> None:
        sender, email = body.get("from"), body.get("email")
        if blank(sender) and blank(email):
            raise Rejected({"from": ["can't be blank (pass from or email)"]})
        if not blank(sender) and e164(sender) is None:
            raise Rejected({"from": ["is not a valid phone number"]})
        if not blank(email) and not (isinstance(email, str) and "@" in email.strip(" @")):
            raise Rejected({"email": ["is not a valid email address"]})

    async def get_message(self, request: web.Request) -> web.Response:
        message = self.state.messages.get(request.match_info["slug"])
        if message is None:
            raise _missing("message")
        return json_response(message.to_json(), 200, MEDIA_TYPE)

    async def retry(self, request: web.Request) -> web.Response:
        message = self.state.messages.get(request.match_info["slug"])
        if message is None:
            raise _missing("message")
        if message.state not in RETRYABLE_STATES:
            raise Rejected({"base": [
                f"a {message.state} message cannot be retried (only failed, failed_transient "
                "or unknown ones)"]})
        self.state.retry(message)
        self._record(request, "textus.retry", {}, message.to, message.iri)
        return web.Response(status=202)

    # --- conversations
    async def conversation(self, request: web.Request) -> web.Response:
        conversation = self.state.conversations.get(request.match_info["slug"])
        if conversation is None:
            raise _missing("conversation")
        return json_response(self.state.conversation_json(conversation), 200, MEDIA_TYPE)

    async def conversation_by_phone(self, request: web.Request) -> web.Response:
        self._check_account(request)
        phone = e164(request.match_info["phone"])
        if phone is None:
            raise _missing("conversation for that number")
        conversation = self.state.conversation_for(phone)
        return json_response(self.state.conversation_json(conversation), 200, MEDIA_TYPE)

    async def timeline(self, request: web.Request) -> web.Response:
        conversation = self.state.conversations.get(request.match_info["slug"])
        if conversation is None:
            raise _missing("conversation")
        messages = self.state.messages
        newest_first = conversation.messages[::-1]
        latest = messages[newest_first[0]].created if newest_first else None
        return self._collection(request, f"{conversation.iri}/timeline", newest_first,
                                lambda slug: messages[slug].to_json(), kind="Timeline",
                                extra={"latestPosition": latest})

    # --- contacts
    async def contacts(self, request: web.Request) -> web.Response:
        self._check_account(request)
        q = request.query.get("q", "").strip().lower()
        items = [c for c in self.state.contacts.values() if not q or contact_matches(c, q)]
        items.sort(key=lambda c: (c.get("name") or "").lower())
        contact_filter = request.match_info.get("filter")  # "all" and custom filters alike
        suffix = f"/contact_filters/{contact_filter}/contacts" if contact_filter else "/contacts"
        return self._collection(request, f"/{self.state.account_slug}{suffix}", items, dict)

    async def create_contact(self, request: web.Request) -> web.Response:
        self._check_account(request)
        return await self._save_contact(request, None)

    async def get_contact(self, request: web.Request) -> web.Response:
        contact = self.state.contacts.get(request.match_info["slug"])
        if contact is None:
            raise _missing("contact")
        return json_response(contact, 200, MEDIA_TYPE)

    async def update_contact(self, request: web.Request) -> web.Response:
        slug = request.match_info["slug"]
        if slug not in self.state.contacts:
            raise _missing("contact")
        return await self._save_contact(request, slug)

    async def _save_contact(self, request: web.Request, slug: str | None) -> web.Response:
        body = await read_json_object(request)
        name, phones, data = read_contact(body)
        contact = self.state.save_contact(slug, name, phones, data)
        route = "textus.contacts.update" if slug else "textus.contacts.create"
        self._record(request, route, body, None, contact["id"])
        return json_response(contact, 200, MEDIA_TYPE)  # the docs show 200 for create too

    # --- opt-outs
    async def opt_outs(self, request: web.Request) -> web.Response:
        self._check_account(request)
        raw_q = request.query.get("q", "").strip()
        if raw_q and len(raw_q) < 3:
            raise Rejected({"q": ["must have at least 3 characters"]})
        q = "".join(ch for ch in raw_q if ch.isdigit() or ch == "+")
        exact = {e164(v) for v in request.query.getall("exact[]", [])}
        items = [o for phone, o in self.state.opt_outs.items()
                 if (not q or q in phone) and (not exact or phone in exact)]
        return self._collection(request, f"/{self.state.account_slug}/opt_outs", items, dict)

    async def get_opt_out(self, request: web.Request) -> web.Response:
        self._check_account(request)
        record = self.state.opt_outs.get(e164(request.match_info["phone"]) or "")
        if record is None:
            raise _missing("opt-out for that number")
        return json_response(record, 200, MEDIA_TYPE)

    async def put_opt_out(self, request: web.Request) -> web.Response:
        self._check_account(request)
        phone = e164(request.match_info["phone"])
        if phone is None:
            raise Rejected({"phoneNumber": ["is not a valid phone number"]})
        record = self.state.opt_out(phone)
        self._record(request, "textus.opt_outs.update", {}, phone, record["id"])
        return json_response(record, 201, MEDIA_TYPE)

    # --- integrations
    async def integrations(self, request: web.Request) -> web.Response:
        self._check_account(request)
        items = list(self.state.integrations.values())
        return self._collection(request, f"/{self.state.account_slug}/integrations", items,
                                lambda i: i.to_json())

    async def create_integration(self, request: web.Request) -> web.Response:
        self._check_account(request)
        body = await read_json_object(request)
        url, actions, active = read_integration(body)
        integration = self.state.add_integration(url, actions, active)
        self._record(request, "textus.integrations.create", body, None, integration.iri)
        return json_response(integration.to_json(), 201, MEDIA_TYPE)
