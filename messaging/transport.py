"""The Transport port: how messaging hands an outbound message to whatever reaches WhatsApp
for a number, without importing it (DESIGN §3). A number's `provider_type` picks the
transport from settings.BLAZZ_TRANSPORTS (a dotted path per provider): `webjs` is the
WhatsApp Web transport in sessions_app/webjs; `meta` (Meta's Cloud API) is reserved.

What a transport hands back in is messaging's own services: `inbound_messages_ingest`
(message records: id, chat, phone and/or lid, body, type, media, timestamp) and
`chat_acks_apply` (ack records: id, ids, ack), both idempotent."""

from __future__ import annotations

from functools import cache
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class Transport(Protocol):
    def send(self, *, session_pk: int, chat_pk: int) -> None:
        """Wake the sender of a pending outbound Chat (after the caller's commit). The Chat row
        is the record of the work; the transport claims it before sending, so a wake-up
        delivered twice sends once."""


class NoTransport(LookupError):
    """No transport is configured for a number's provider."""


@cache
def _transport(path: str) -> Transport:
    return import_string(path)()


def transport_for(provider_type: str) -> Transport:
    path = settings.BLAZZ_TRANSPORTS.get(provider_type)
    if not path:
        raise NoTransport(f"no transport is configured for {provider_type!r} numbers (BLAZZ_TRANSPORTS)")
    return _transport(path)
