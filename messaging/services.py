"""Writes for messaging: contacts, inbound ingestion (F4, F5), outbound sending (F10, F11)
and acks. Webhook deliveries are written in the same transaction as the event they report
(the outbox), and live pushes happen after commit."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Workspace
from blazz.json_documents import JsonDocumentRefused, json_document_check
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.realtime import publish_many_to_workspace, publish_to_workspace
from messaging.models import Chat, Contact, ContactSession
from messaging.transport import NoTransport, transport_for
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


CONTACT_NAME_MAX_CHARS = 200  # the column
# Metadata is what campaign filters match on ({"city": "Recife", "tags": ["vip"]}); a
# document, not a file store: bounded so one contact cannot bloat every audience query.
CONTACT_METADATA_MAX_BYTES = 16 * 1024
CONTACT_METADATA_MAX_KEYS = 50


def _contact_name_clean(name: Any) -> str:
    if not isinstance(name, str):
        raise InvalidContact("The name must be text.", field="name")
    name = name.strip()
    if "\x00" in name:
        raise InvalidContact("The name must not contain NUL characters.", field="name")
    if len(name) > CONTACT_NAME_MAX_CHARS:
        raise InvalidContact(
            f"The name has {len(name)} characters; the limit is {CONTACT_NAME_MAX_CHARS}.", field="name"
        )
    return name


def _contact_metadata_clean(metadata: Any) -> dict[str, Any]:
    if not isinstance(metadata, dict):
        raise InvalidContact('Metadata must be a JSON object such as {"city": "Recife"}.', field="metadata")
    try:
        json_document_check(metadata)
    except JsonDocumentRefused as refused:
        raise InvalidContact(f"Metadata: {refused.message}", field="metadata") from None
    if len(metadata) > CONTACT_METADATA_MAX_KEYS:
        raise InvalidContact(
            f"Metadata has {len(metadata)} keys; the limit is {CONTACT_METADATA_MAX_KEYS}.", field="metadata"
        )
    try:
        size = len(json.dumps(metadata, ensure_ascii=False, allow_nan=False).encode())
    except (TypeError, ValueError) as exc:
        raise InvalidContact(f"Metadata is not plain JSON: {exc}.", field="metadata") from exc
    if size > CONTACT_METADATA_MAX_BYTES:
        raise InvalidContact(
            f"Metadata is {size} bytes as JSON; the limit is {CONTACT_METADATA_MAX_BYTES}.", field="metadata"
        )
    return metadata


def contact_upsert(
    *, workspace: Workspace, phone: str, name: str = "", metadata: dict[str, Any] | None = None
) -> Contact:
    """Creates or updates the workspace's contact for `phone` (any format a phone-number
    library can parse; stored E.164). A blank name never overwrites a known one."""
    e164 = normalize_phone(phone)
    contact, created = Contact.objects.get_or_create(
        workspace=workspace, phone=e164, defaults={"name": name, "metadata": metadata or {}}
    )
    if not created:
        changed = False
        if name and contact.name != name:
            contact.name, changed = name, True
        if metadata:
            merged = {**contact.metadata, **metadata}
            if merged != contact.metadata:
                contact.metadata, changed = merged, True
        if changed:
            contact.save(update_fields=["name", "metadata", "updated_at"])
    return contact


def contact_create(
    *, workspace: Workspace, phone: Any, name: Any = "", metadata: Any = None
) -> tuple[Contact, bool]:
    """Adds the workspace's contact for `phone`, or returns the one it has (and False).

    The phone number is the contact's natural key (unique per workspace), so a retried or
    concurrent create never makes a second row; for an existing contact a non-blank name
    replaces the old one and metadata keys are merged in, as when a message arrives."""
    if not isinstance(phone, str):
        raise InvalidContact("The phone number must be text.", field="phone")
    try:
        e164 = normalize_phone(phone)
    except InvalidPhoneNumber as exc:
        raise InvalidContact(str(exc), field="phone") from exc
    clean_name = _contact_name_clean(name)
    clean_metadata = _contact_metadata_clean({} if metadata is None else metadata)
    with transaction.atomic():
        # get_or_create settles a concurrent create on the unique constraint: one row, and
        # only one of the callers is told it created it.
        contact, created = Contact.objects.get_or_create(
            workspace=workspace, phone=e164, defaults={"name": clean_name, "metadata": clean_metadata}
        )
        if created:
            return contact, True
        contact = Contact.objects.select_for_update().get(pk=contact.pk)
        merged = _contact_metadata_clean({**contact.metadata, **clean_metadata})
        if (clean_name and clean_name != contact.name) or merged != contact.metadata:
            contact.name = clean_name or contact.name
            contact.metadata = merged
            contact.save(update_fields=["name", "metadata", "updated_at"])
    return contact, False


_UNCHANGED: Any = object()


def contact_update(*, contact: Contact, name: Any = _UNCHANGED, metadata: Any = _UNCHANGED) -> Contact:
    """Sets what is given: `name` (blank clears it) and `metadata` (replaced as a whole, so a
    key can be removed). The phone number is the contact's identity and never changes."""
    changes = {}
    if name is not _UNCHANGED:
        changes["name"] = _contact_name_clean(name)
    if metadata is not _UNCHANGED:
        changes["metadata"] = _contact_metadata_clean(metadata)
    # Assigned only once all of it is valid: a refusal leaves the caller's object as stored.
    for field, value in changes.items():
        setattr(contact, field, value)
    if changes:
        contact.save(update_fields=[*changes, "updated_at"])
    return contact


# --- Inbound ----------------------------------------------------------------------------------


def _webhook_record(workspace_id: int, event_type: str, payload: dict[str, Any]) -> None:
    from messaging.webhooks import webhook_events_record

    webhook_events_record(workspace_id=workspace_id, event_type=event_type, payload=payload)


def chat_payload(chat: Chat, *, session: WhatsAppSession, contact: Contact) -> dict[str, Any]:
    return {
        "uuid": str(chat.uuid),
        "wam_id": chat.wam_id,
        "direction": chat.direction,
        "status": chat.status,
        "body": chat.body,
        "contact": {
            "uuid": str(contact.uuid),
            "phone": contact.phone_e164,
            "wa_lid": contact.wa_lid,
            "name": contact.name,
        },
        "session": {"uuid": str(session.uuid), "phone_number": str(session.phone_number or "")},
        "created_at": chat.created_at.isoformat() if chat.created_at else None,
    }


LID_JID = re.compile(r"[0-9]{1,40}@lid")


@dataclass(frozen=True)
class SenderIdentity:
    """Who sent an inbound message: its phone (E.164) when WhatsApp told it, its LID when
    the chat is addressed by one, or both once the page knows the mapping."""

    phone: str | None
    lid: str | None


def inbound_sender_identity(message: dict[str, Any]) -> SenderIdentity | None:
    """Reads the sender from a bridge message event. The phone comes from the page (a
    `@c.us` id, or the LID-to-phone mapping wa-js keeps); a LID is never read as a phone.
    None when the message names no usable sender."""
    phone = None
    for candidate in (message.get("phone"), message.get("from")):
        if isinstance(candidate, str) and candidate:
            try:
                phone = normalize_phone(candidate)
                break
            except InvalidPhoneNumber:
                continue
    if phone is None and isinstance(message.get("from_jid"), str):
        try:
            phone = normalize_phone(message["from_jid"])
        except InvalidPhoneNumber:
            phone = None
    lid = message.get("lid")
    if not (isinstance(lid, str) and LID_JID.fullmatch(lid)):
        from_jid = message.get("from_jid")
        lid = from_jid if isinstance(from_jid, str) and LID_JID.fullmatch(from_jid) else None
    if phone is None and lid is None:
        return None
    return SenderIdentity(phone=phone, lid=lid)


def _contact_merge(*, keep: Contact, gone: Contact) -> None:
    """Moves everything that points at `gone` (a contact known only by its LID) to `keep`
    (the same person, by phone), then deletes `gone`. Precondition: inside a transaction.
    Relations are found through the model's metadata, so apps above messaging (campaign
    recipients) follow without messaging importing them; a row that would duplicate one
    `keep` already has is dropped."""
    for link in ContactSession.objects.filter(contact=gone):
        mine = ContactSession.objects.filter(
            contact=keep, whatsapp_session_id=link.whatsapp_session_id
        ).first()
        if mine is None:
            ContactSession.objects.filter(pk=link.pk).update(contact=keep)
            continue
        ContactSession.objects.filter(pk=mine.pk).update(
            first_interaction_at=min(mine.first_interaction_at, link.first_interaction_at),
            last_interaction_at=max(mine.last_interaction_at, link.last_interaction_at),
            total_messages=mine.total_messages + link.total_messages,
        )
        link.delete()
    for relation in Contact._meta.related_objects:
        if relation.related_model is ContactSession or not relation.field.concrete:
            continue
        manager = relation.related_model._base_manager
        for pk in manager.filter(**{relation.field.name: gone}).values_list("pk", flat=True):
            try:
                with transaction.atomic():
                    manager.filter(pk=pk).update(**{relation.field.name: keep})
            except IntegrityError:
                logger.info("merging contact %s into %s: dropped a duplicate %s", gone.pk, keep.pk, relation)
    gone.delete()


def _contacts_for_senders(
    *, workspace: Workspace, senders: set[SenderIdentity]
) -> dict[SenderIdentity, Contact]:
    """The workspace's contact for each sender, created when new. A sender by phone alone
    (the common case) costs two queries for the whole batch; a sender with a LID also
    attaches the LID to its contact, or merges the LID-only contact made before the
    mapping was known. Precondition: inside a transaction."""
    phones = {s.phone for s in senders if s.phone}
    lids = {s.lid for s in senders if s.lid}
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, phone=p) for p in phones], ignore_conflicts=True
    )
    Contact.objects.bulk_create(
        [Contact(workspace=workspace, wa_lid=s.lid) for s in senders if s.lid and not s.phone],
        ignore_conflicts=True,
    )
    by_phone = {c.phone_e164: c for c in Contact.objects.filter(workspace=workspace, phone__in=phones)}
    by_lid = {c.wa_lid: c for c in Contact.objects.filter(workspace=workspace, wa_lid__in=lids)}
    found: dict[SenderIdentity, Contact] = {}
    for sender in senders:
        if sender.phone is None:
            # Created above unless a contact already had this LID (with or without a phone).
            found[sender] = by_lid[sender.lid]
            continue
        contact = by_phone[sender.phone]
        if sender.lid is not None and contact.wa_lid != sender.lid:
            other = by_lid.get(sender.lid)
            if other is not None and other.pk != contact.pk:
                if other.phone is None:
                    _contact_merge(keep=contact, gone=other)
                else:
                    # WhatsApp moved this LID to another number: the old holder lets go.
                    Contact.objects.filter(pk=other.pk).update(wa_lid=None)
            Contact.objects.filter(pk=contact.pk).update(wa_lid=sender.lid)
            contact.wa_lid = sender.lid
            by_lid[sender.lid] = contact
        found[sender] = contact
    return found


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
    contacts = _contacts_for_senders(workspace=session.workspace, senders={senders[m["id"]] for m in fresh})
    now = timezone.now()
    rows = [
        Chat(
            workspace=session.workspace,
            whatsapp_session=session,
            contact=contacts[senders[m["id"]]],
            wam_id=m["id"],
            direction=Chat.Direction.INBOUND,
            body=(m.get("body") or "").replace("\x00", ""),
            media=_inbound_media(m),
            status=Chat.Status.DELIVERED,
            sent_at=_from_unix(m.get("timestamp")) or now,
        )
        for m in fresh
    ]
    # ON CONFLICT DO NOTHING on (whatsapp_session, wam_id): the unique constraint, not the
    # pre-check above, is what guarantees no duplicate.
    Chat.objects.bulk_create(rows, ignore_conflicts=True)
    stored = list(
        Chat.objects.filter(whatsapp_session=session, wam_id__in=[m["id"] for m in fresh]).select_related(
            "contact"
        )
    )
    _contact_sessions_bump(session_pk=session.pk, contact_ids=[c.contact_id for c in stored], at=now)
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


# What the page tells of a media message; the bytes themselves are not fetched yet.
_MEDIA_FIELDS = ("mimetype", "filename", "size", "duration", "width", "height", "lat", "lng")


def _inbound_media(message: dict[str, Any]) -> dict[str, Any] | None:
    kind = message.get("type")
    if kind in (None, "chat"):
        return None
    media: dict[str, Any] = {"type": kind}
    described = message.get("media") if isinstance(message.get("media"), dict) else {}
    for name in _MEDIA_FIELDS:
        value = described.get(name)
        if isinstance(value, str | int | float) and not isinstance(value, bool):
            media[name] = value.replace("\x00", "") if isinstance(value, str) else value
    return media


def _contact_sessions_bump(*, session_pk: int, contact_ids: list[int], at: datetime) -> None:
    """One upsert for the batch: first/last interaction and message count per contact."""
    counts: dict[int, int] = {}
    for contact_id in contact_ids:
        counts[contact_id] = counts.get(contact_id, 0) + 1
    if not counts:
        return
    table = ContactSession._meta.db_table
    values = ", ".join(["(%s, %s, %s, %s, %s)"] * len(counts))
    params: list[Any] = []
    for contact_id, count in counts.items():
        params += [contact_id, session_pk, at, at, count]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {table} (contact_id, whatsapp_session_id, first_interaction_at, last_interaction_at,
                                 total_messages)
            VALUES {values}
            ON CONFLICT (contact_id, whatsapp_session_id) DO UPDATE SET
                last_interaction_at = GREATEST({table}.last_interaction_at, EXCLUDED.last_interaction_at),
                total_messages = {table}.total_messages + EXCLUDED.total_messages
            """,  # noqa: S608 — table name from the model, placeholders only  # nosec B608
            params,
        )


def _from_unix(value: Any) -> datetime | None:
    if isinstance(value, int | float) and value > 0:
        return datetime.fromtimestamp(value, tz=UTC)
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
        _webhook_record(session.workspace_id, "message.ack", payload)
        publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.ack", payload=payload)
        updated += 1
    return updated


# --- Outbound ---------------------------------------------------------------------------------


def _validate_body(body: Any) -> str:
    if not isinstance(body, str) or not body.strip():
        raise InvalidMessage("The message body must be non-empty text.", field="body")
    if "\x00" in body:
        raise InvalidMessage("The message body must not contain NUL characters.", field="body")
    if len(body) > settings.BLAZZ_MESSAGE_MAX_CHARS:
        raise InvalidMessage(
            f"The message body has {len(body)} characters; the limit is {settings.BLAZZ_MESSAGE_MAX_CHARS}.",
            field="body",
        )
    return body


def sending_session_choose(*, workspace: Workspace, contact: Contact | None) -> WhatsAppSession:
    """The number to send from when the caller names none: the one this contact last talked
    to, if connected; else the workspace's primary connected number; else any connected."""
    connected = WhatsAppSession.objects.filter(
        workspace=workspace, status="connected", deleted_at__isnull=True
    )
    if contact is not None:
        link = (
            ContactSession.objects.filter(contact=contact, whatsapp_session__in=connected)
            .order_by("-last_interaction_at")
            .select_related("whatsapp_session")
            .first()
        )
        if link is not None:
            return link.whatsapp_session
    chosen = connected.order_by("-is_primary", "-last_connected_at").first()
    if chosen is None:
        raise NoConnectedNumber("No WhatsApp number of this workspace is connected; connect one first.")
    return chosen


def _recipient_contact(*, workspace: Workspace, to: str) -> Contact:
    """`to` is a phone number, or the LID of a contact WhatsApp has shown only by it (a
    reply to such a contact goes back to its LID chat)."""
    if isinstance(to, str) and LID_JID.fullmatch(to.strip()):
        contact = Contact.objects.filter(workspace=workspace, wa_lid=to.strip()).first()
        if contact is None:
            raise InvalidMessage("No contact of this workspace has that WhatsApp id.", field="to")
        return contact
    try:
        phone = normalize_phone(to)
    except InvalidPhoneNumber as exc:
        raise InvalidMessage(str(exc), field="to") from exc
    return contact_upsert(workspace=workspace, phone=phone)


@transaction.atomic
def chat_send(
    *,
    workspace: Workspace,
    to: str,
    body: str,
    session: WhatsAppSession | None = None,
    idempotency_key: str | None = None,
) -> tuple[Chat, bool]:
    """Writes the outbound Chat (pending) and, after commit, hands it to the worker of the
    sending number. Returns (chat, created). The same idempotency key returns the first
    message and sends nothing; a concurrent duplicate gets the same answer."""
    body = _validate_body(body)
    if idempotency_key is not None:
        if len(idempotency_key) > 200 or "\x00" in idempotency_key:
            raise InvalidMessage("Idempotency-Key must be at most 200 characters.", field="Idempotency-Key")
        existing = Chat.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing, False
    contact = _recipient_contact(workspace=workspace, to=to)
    if session is not None:
        if session.workspace_id != workspace.id or session.deleted_at is not None:
            raise InvalidMessage("That number does not belong to this workspace.", field="session")
        if session.status != "connected":
            raise NoConnectedNumber(f"That number is not connected (status: {session.status}).")
    else:
        session = sending_session_choose(workspace=workspace, contact=contact)
    try:
        transport = transport_for(session.provider_type)
    except NoTransport as exc:
        raise InvalidMessage(f"That number cannot send: {exc}.", field="session") from exc
    try:
        with transaction.atomic():
            chat = Chat.objects.create(
                workspace=workspace,
                whatsapp_session=session,
                contact=contact,
                direction=Chat.Direction.OUTBOUND,
                body=body,
                status=Chat.Status.PENDING,
                idempotency_key=idempotency_key,
            )
    except IntegrityError:
        # A concurrent request with the same key won the insert: answer with its message.
        return Chat.objects.get(workspace=workspace, idempotency_key=idempotency_key), False
    transport.send(session_pk=session.pk, chat_pk=chat.pk)
    return chat, True


def chat_claim_for_send(*, chat_pk: int, session_pk: int) -> Chat | None:
    """The worker about to send: claims the pending row (conditional update), so a task
    delivered twice sends once. None when it was already claimed or is no longer pending."""
    claimed = Chat.objects.filter(
        pk=chat_pk, whatsapp_session_id=session_pk, status=Chat.Status.PENDING, send_claimed_at__isnull=True
    ).update(send_claimed_at=timezone.now())
    if not claimed:
        return None
    return Chat.objects.select_related("contact", "whatsapp_session__workspace").get(pk=chat_pk)


def chat_mark_sent(*, chat: Chat, wam_id: str | None) -> None:
    """WhatsApp's servers acked the message: status, contact-number link and the
    `message.sent` webhook in one transaction, the live push after it."""
    now = timezone.now()
    session = chat.whatsapp_session
    with transaction.atomic():
        Chat.objects.filter(pk=chat.pk).update(status=Chat.Status.SENT, wam_id=wam_id, sent_at=now, error="")
        chat.status, chat.wam_id, chat.sent_at, chat.error = Chat.Status.SENT, wam_id, now, ""
        _contact_sessions_bump(session_pk=session.pk, contact_ids=[chat.contact_id], at=now)
        payload = chat_payload(chat, session=session, contact=chat.contact)
        _webhook_record(session.workspace_id, "message.sent", payload)
    publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.sent", payload=payload)


def chat_mark_awaiting_ack(*, chat: Chat, wam_id: str | None) -> None:
    """The page made the message but WhatsApp's servers have not acked it yet: it stays
    pending (and claimed, so it is not sent twice) with its id, until an ack (sent, or
    failed) arrives for that id."""
    Chat.objects.filter(pk=chat.pk, status=Chat.Status.PENDING).update(
        wam_id=wam_id, error="waiting for WhatsApp's ack"
    )
    chat.wam_id = wam_id


def chat_mark_failed(*, chat: Chat, error: str) -> None:
    """The message will not be delivered: status, `message.failed` webhook and the live
    push, the first two in one transaction."""
    error = error[:2000]
    with transaction.atomic():
        Chat.objects.filter(pk=chat.pk).update(status=Chat.Status.FAILED, error=error)
        chat.status, chat.error = Chat.Status.FAILED, error
        session = chat.whatsapp_session
        payload = {**chat_payload(chat, session=session, contact=chat.contact), "error": error[:500]}
        _webhook_record(session.workspace_id, "message.failed", payload)
    publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.failed", payload=payload)


def chat_release_claim(*, chat_pk: int) -> None:
    """The send did not happen (the browser was not here): let the next owner claim it."""
    Chat.objects.filter(pk=chat_pk, status=Chat.Status.PENDING).update(send_claimed_at=None)


def chats_release_claims(*, session_pk: int) -> int:
    """The session moved because its worker died: claims that worker took on pending sends
    will never be finished by it. Released, the new owner sends them (same message id, so
    one that did leave is not sent twice). Returns how many were released."""
    return Chat.objects.filter(
        whatsapp_session_id=session_pk,
        direction=Chat.Direction.OUTBOUND,
        status=Chat.Status.PENDING,
        send_claimed_at__isnull=False,
    ).update(send_claimed_at=None)


def chats_send_pending(*, session_pk: int) -> int:
    """The session's page is ready: (re)enqueue every unclaimed pending message of it on its
    worker's queue, after commit. Sends that reached the worker before its browser was up,
    or while it had none, go out now; the claim makes a duplicate task harmless."""
    provider = WhatsAppSession.objects.filter(pk=session_pk).values_list("provider_type", flat=True).first()
    if provider is None:
        return 0
    pending = list(
        Chat.objects.filter(
            whatsapp_session_id=session_pk,
            direction=Chat.Direction.OUTBOUND,
            status=Chat.Status.PENDING,
            send_claimed_at__isnull=True,
        )
        .order_by("created_at", "id")
        .values_list("pk", flat=True)
    )
    transport = transport_for(provider)
    for chat_pk in pending:
        transport.send(session_pk=session_pk, chat_pk=chat_pk)
    return len(pending)
