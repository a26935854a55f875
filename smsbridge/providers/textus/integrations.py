"""``provider.integrations``: register the webhook TextUs posts delivery and opt-out events to.

The created integration carries ``webhook_secret``, the key of the ``X-TextUs-Signature`` HMAC:
store it where your webhook receiver can read it. TextUs recommends creating the webhook on the
organisation (top) account.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from ... import _constants as C
from ...errors import ValidationError
from ...transport.pagination import AsyncPager
from ._resource import Resource
from .models import Integration


class Integrations(Resource):
    async def create_webhook(
        self,
        url: str,
        events: Iterable[str] = C.TEXTUS_DEFAULT_WEBHOOK_EVENTS,
        *,
        account: str | None = None,
    ) -> Integration:
        """``POST /:account/integrations`` (201) subscribing ``url`` to ``events``."""
        parts = urlsplit(url if isinstance(url, str) else "")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError(
                "the webhook url must be an absolute http(s) URL TextUs can reach "
                "(TextUs requires HTTPS in production)"
            )
        actions = list(dict.fromkeys(events))
        unknown = sorted(set(actions) - C.TEXTUS_WEBHOOK_EVENTS)
        if not actions or unknown:
            raise ValidationError(
                f"unknown or missing webhook event(s) {unknown}; choose from "
                f"{sorted(C.TEXTUS_WEBHOOK_EVENTS)}"
            )
        # Exactly the documented create body: the URL under config.baseUrl and each action as
        # an explicit on/off flag; other layouts are undocumented and the sandbox refuses them.
        chosen = set(actions)
        body = {
            "@type": "Integration",
            "@context": "/contexts/Integration.jsonld",
            "provider": "webhook",
            "active": True,
            "config": {"baseUrl": url},
            "settings": {
                "actions": {event: event in chosen for event in C.TEXTUS_WEBHOOK_EVENT_ORDER}
            },
        }
        path = self._scope.account_path("/integrations", account)
        return await self._object("POST", path, Integration.from_json, json_body=body,
                                  expect=frozenset({201}))

    def list(self, *, account: str | None = None) -> AsyncPager[Integration]:
        """``GET /:account/integrations``: every integration of the account."""
        path = self._scope.account_path("/integrations", account)
        return self._collection(Integration.from_json, path)
