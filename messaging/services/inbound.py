"""Inbound messages (F4, F5) and acks, as the transport hands them in: stored in the
caller's transaction, idempotently, with their webhook rows."""

from __future__ import annotations

import logging
import math
from typing import Any

from django.utils import timezone

from blazz.realtime import publish_many_to_workspace, publish_to_workspace
from messaging.models import Chat, Contact
from messaging.services.common import chat_payload, contact_sessions_bump, from_unix, webhook_record
from messaging.services.contacts import SenderIdentity, contacts_for_senders, inbound_sender_identity
from messaging.services.conversations import conversations_auto_assign
from messaging.services.media import DOWNLOADABLE_KINDS, MEDIA_KINDS
from messaging.services.outbound import chat_mark_failed, chat_mark_sent
from sessions_app.models import WhatsAppSession

logger = logging.getLogger(__name__)


def inbound_messages_ingest(*, session_pk: int, messages: list[dict[str, Any]]) -> list[Chat]:
    """Stores a batch of inbound messages harvested from one session's page. Must run inside
    the caller's transaction (the page keeps the events until it commits). Idempotent: a
    message already stored (same session and wam_id) is skipped, so a batch re-read after a
    crash stores nothing twice. Returns the newly stored chats."""
    session = WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)
    wanted: dict[str, dict[str, Any]] = {}
    senders: dict[str, SenderIdentity] = {}
    for message in messages:
        if message.get("fromMe") or not message.get("id"):
            continue  # our own sends come back as echoes; the outbound row already exists
        sender = inbound_sender_identity(message)
        if sender is None:
            logger.warning(
                "session %s: inbound message %s from an unreadable sender", session_pk, message.get("id")
            )
            continue
        if message["id"] not in wanted:
            wanted[message["id"]] = message
            senders[message["id"]] = sender
    if not wanted:
        return []
    already = set(
        Chat.objects.filter(whatsapp_session=session, wam_id__in=list(wanted)).values_list(
            "wam_id", flat=True
        )
    )
    fresh = [m for wam_id, m in wanted.items() if wam_id not in already]
    if not fresh:
        return []
    contacts = contacts_for_senders(workspace=session.workspace, senders={senders[m["id"]] for m in fresh})
    _profile_names_update(contacts=contacts, named={senders[m["id"]]: m.get("push_name") for m in fresh})
    now = timezone.now()
    rows = [
        Chat(
            workspace=session.workspace,
            whatsapp_session=session,
            contact=contacts[senders[m["id"]]],
            wam_id=m["id"],
            direction=Chat.Direction.INBOUND,
            body=(m.get("body") or "").replace("\x00", ""),
            media=media,
            media_status=_media_status(media),
            media_next_attempt_at=now if _media_status(media) else None,
            status=Chat.Status.DELIVERED,
            sent_at=from_unix(m.get("timestamp")) or now,
        )
        for m, media in ((m, _inbound_media(m)) for m in fresh)
    ]
    # ON CONFLICT DO NOTHING on (whatsapp_session, wam_id): the unique constraint, not the
    # pre-check above, is what guarantees no duplicate.
    Chat.objects.bulk_create(rows, ignore_conflicts=True)
    stored = list(
        Chat.objects.filter(whatsapp_session=session, wam_id__in=[m["id"] for m in fresh]).select_related(
            "contact"
        )
    )
    conversation_ids = contact_sessions_bump(
        session_pk=session.pk, contact_ids=[c.contact_id for c in stored], at=now, inbound=True
    )
    conversations_auto_assign(workspace=session.workspace, conversation_ids=conversation_ids)
    WhatsAppSession.objects.filter(pk=session.pk).update(last_activity_at=now)
    payloads = [chat_payload(chat, session=session, contact=chat.contact) for chat in stored]
    from messaging.webhooks import webhook_events_record_many

    webhook_events_record_many(
        workspace_id=session.workspace_id, event_type="message.received", payloads=payloads
    )
    publish_many_to_workspace(
        workspace_uuid=session.workspace.uuid, events=[("message.received", p) for p in payloads]
    )
    return stored


PROFILE_NAME_MAX_CHARS = 200  # the column


def _profile_names_update(
    *, contacts: dict[SenderIdentity, Contact], named: dict[SenderIdentity, Any]
) -> None:
    """Keeps each sender's WhatsApp profile name (the latest of the batch) on its contact;
    one UPDATE per contact whose name changed, none in the common case."""
    latest: dict[int, str] = {}
    for sender, push_name in named.items():
        if isinstance(push_name, str):
            clean = " ".join(push_name.replace("\x00", "").split())[:PROFILE_NAME_MAX_CHARS]
            if clean:
                latest[contacts[sender].pk] = clean
    for contact in {c.pk: c for c in contacts.values()}.values():
        name = latest.get(contact.pk)
        if name and contact.profile_name != name:
            Contact.objects.filter(pk=contact.pk).update(profile_name=name)
            contact.profile_name = name


# What the page tells of a media message (the bridge has already translated wa-js MsgModel's
# names into Chat.media's; messaging.services.media documents the keys); the bytes themselves
# are fetched afterwards. Each value is checked for its type and bounded: it comes from a page.
_TEXT_LIMITS = {"mimetype": 100, "filename": 255, "name": 500, "address": 1000, "vcard": 64 * 1024}
_NUMBER_BOUNDS = {
    "size": (0, 10**12),
    "duration": (0, 10**7),
    "width": (0, 10**5),
    "height": (0, 10**5),
    "lat": (-90, 90),
    "lng": (-180, 180),
}
# Kinds a message of another type is stored as (wa-js sends several cards as multi_vcard).
_KIND_ALIASES = {"multi_vcard": "vcard"}
# Today's shape for types that are not media (system messages): their type and these fields.
_LEGACY_FIELDS = ("mimetype", "filename", "size", "duration", "width", "height", "lat", "lng")


def _inbound_media(message: dict[str, Any]) -> dict[str, Any] | None:
    kind = message.get("type")
    if kind in (None, "chat") or not isinstance(kind, str):
        return None
    kind = _KIND_ALIASES.get(kind, kind)
    described = message.get("media") if isinstance(message.get("media"), dict) else {}
    media: dict[str, Any] = {"type": kind.replace("\x00", "")[:40]}
    if kind not in MEDIA_KINDS:
        for name in _LEGACY_FIELDS:
            value = described.get(name)
            if isinstance(value, str | int | float) and not isinstance(value, bool):
                media[name] = value.replace("\x00", "")[:500] if isinstance(value, str) else value
        return media
    for name, limit in _TEXT_LIMITS.items():
        value = described.get(name)
        if isinstance(value, str):
            clean = value.replace("\x00", "")[:limit]
            if clean:
                media[name] = clean
    for name, (low, high) in _NUMBER_BOUNDS.items():
        value = described.get(name)
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            if low <= value <= high:
                media[name] = (
                    value if isinstance(value, float) and name in ("lat", "lng", "duration") else int(value)
                )
    if isinstance(described.get("view_once"), bool):
        media["view_once"] = described["view_once"]
    return media


def _media_status(media: dict[str, Any] | None) -> str | None:
    """Kinds with bytes start pending: the worker fetches them from its page next."""
    if media and media.get("type") in DOWNLOADABLE_KINDS:
        return Chat.MediaStatus.PENDING
    return None


# --- Acks -------------------------------------------------------------------------------------

# wa-js ack levels: 1 server (sent), 2 device (delivered), 3 read, 4 played.
_ACK_STATUS = {1: Chat.Status.SENT, 2: Chat.Status.DELIVERED, 3: Chat.Status.READ, 4: Chat.Status.READ}
_STATUS_RANK = {
    Chat.Status.PENDING: 0,
    Chat.Status.SENT: 1,
    Chat.Status.DELIVERED: 2,
    Chat.Status.READ: 3,
    Chat.Status.FAILED: 0,
}


def _ack_ids(ack: dict[str, Any]) -> list[str]:
    """Every serialized key an ack may name its message by. A message sent to
    `<phone>@c.us` can be acked under the chat's `<lid>@lid` form (and the reverse); the
    page lists the forms it knows, and the stored wam_id is one of them."""
    ids = [ack.get("id"), *(ack.get("ids") or [])]
    return list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))


def chat_acks_apply(*, session_pk: int, acks: list[dict[str, Any]]) -> int:
    """Moves outbound chats forward (never backwards) on ack events; a negative ack (the
    servers refused the message) marks a chat not yet delivered as failed. Idempotent."""
    updated = 0
    for ack in acks:
        level = ack.get("ack")
        ids = _ack_ids(ack)
        if not ids or isinstance(level, bool) or not isinstance(level, int):
            continue
        if level < 0:
            chat = (
                Chat.objects.select_related("whatsapp_session__workspace", "contact")
                .filter(
                    whatsapp_session_id=session_pk,
                    wam_id__in=ids,
                    status__in=[Chat.Status.PENDING, Chat.Status.SENT],
                )
                .first()
            )
            if chat is not None:
                chat_mark_failed(chat=chat, error=f"WhatsApp refused the message (ack {level})")
                updated += 1
            continue
        status = _ACK_STATUS.get(level)
        if status is None:
            continue
        waiting = (
            Chat.objects.select_related("whatsapp_session__workspace", "contact")
            .filter(whatsapp_session_id=session_pk, wam_id__in=ids, status=Chat.Status.PENDING)
            .first()
        )
        if waiting is not None:
            # The first ack of a send that was not confirmed in time: now it is sent.
            chat_mark_sent(chat=waiting, wam_id=waiting.wam_id)
            updated += 1
            if status == Chat.Status.SENT:
                continue
        lower = [s for s, rank in _STATUS_RANK.items() if rank < _STATUS_RANK[status]]
        chat = (
            Chat.objects.select_related("whatsapp_session__workspace", "contact")
            .filter(whatsapp_session_id=session_pk, wam_id__in=ids, status__in=lower)
            .exclude(status=Chat.Status.FAILED)
            .first()
        )
        if chat is None:
            continue
        Chat.objects.filter(pk=chat.pk, status__in=lower).update(status=status)
        chat.status = status
        session = chat.whatsapp_session
        payload = chat_payload(chat, session=session, contact=chat.contact)
        webhook_record(session.workspace_id, "message.ack", payload)
        publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.ack", payload=payload)
        updated += 1
    return updated
