"""What every part of messaging's services shares: the errors views turn into 4xx, the
webhook outbox record, the message payload, the contact-number link."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from django.db import connection

from messaging.models import Chat, Contact, ContactSession
from messaging.services.media import media_payload
from sessions_app.models import WhatsAppSession

logger = logging.getLogger(__name__)


class MessagingError(Exception):
    """A business rule refused the request; the message is safe to show."""


class InvalidMessage(MessagingError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field  # the input at fault, for the API's error body


class NoConnectedNumber(MessagingError):
    pass


class InvalidContact(MessagingError):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def webhook_record(workspace_id: int, event_type: str, payload: dict[str, Any]) -> None:
    from messaging.webhooks import webhook_events_record

    webhook_events_record(workspace_id=workspace_id, event_type=event_type, payload=payload)


def chat_payload(chat: Chat, *, session: WhatsAppSession, contact: Contact) -> dict[str, Any]:
    return {
        "uuid": str(chat.uuid),
        "wam_id": chat.wam_id,
        "direction": chat.direction,
        "status": chat.status,
        "body": chat.body,
        # Media messages (issue 17): type, metadata, status and links; never the bytes.
        "media": media_payload(chat),
        "contact": {
            "uuid": str(contact.uuid),
            "phone": contact.phone_e164,
            "wa_lid": contact.wa_lid,
            "wa_id": contact.wa_id,
            "name": contact.name,
            "profile_name": contact.profile_name,
        },
        "session": {"uuid": str(session.uuid), "phone_number": str(session.phone_number or "")},
        "created_at": chat.created_at.isoformat() if chat.created_at else None,
    }


def contact_sessions_bump(
    *, session_pk: int, contact_ids: list[int], at: datetime, inbound: bool = False
) -> list[int]:
    """One upsert for the batch: first/last interaction and message count per conversation.
    Inbound messages also count as unread, mark when the customer last wrote, and reopen a
    resolved conversation (the customer is talking again). Returns the conversation ids."""
    counts: dict[int, int] = {}
    for contact_id in contact_ids:
        counts[contact_id] = counts.get(contact_id, 0) + 1
    if not counts:
        return []
    table = ContactSession._meta.db_table
    values = ", ".join(["(gen_random_uuid(), %s, %s, %s, %s, %s, %s, %s, 'open')"] * len(counts))
    params: list[Any] = []
    for contact_id, count in counts.items():
        params += [contact_id, session_pk, at, at, count, count if inbound else 0, at if inbound else None]
    on_inbound = (
        f"""
                , unread_count = {table}.unread_count + EXCLUDED.unread_count
                , last_inbound_at = GREATEST({table}.last_inbound_at, EXCLUDED.last_inbound_at)
                , status = CASE WHEN {table}.status = 'resolved' THEN 'open' ELSE {table}.status END"""
        if inbound
        else ""
    )
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (uuid, contact_id, whatsapp_session_id, first_interaction_at,
                                 last_interaction_at, total_messages, unread_count, last_inbound_at, status)
            VALUES {values}
            ON CONFLICT (contact_id, whatsapp_session_id) DO UPDATE SET
                last_interaction_at = GREATEST({table}.last_interaction_at, EXCLUDED.last_interaction_at),
                total_messages = {table}.total_messages + EXCLUDED.total_messages{on_inbound}
            RETURNING id
            """,  # noqa: S608 — table name from the model, fixed SQL, placeholders only  # nosec B608
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def from_unix(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
    return None
