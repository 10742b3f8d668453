"""Writes for messaging: contacts, inbound ingestion (F4, F5), outbound sending (F10, F11)
and acks. Webhook deliveries are written in the same transaction as the event they report
(the outbox), and live pushes happen after commit."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Workspace
from blazz.json_documents import JsonDocumentRefused, json_document_check
from blazz.realtime import publish_many_to_workspace, publish_to_workspace
from messaging.models import Chat, Contact, ContactSession
from messaging.phones import InvalidPhoneNumber, normalize_phone
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
        "contact": {"uuid": str(contact.uuid), "phone": str(contact.phone), "name": contact.name},
        "session": {"uuid": str(session.uuid), "phone_number": str(session.phone_number or "")},
        "created_at": chat.created_at.isoformat() if chat.created_at else None,
    }


def inbound_messages_ingest(*, session_pk: int, messages: list[dict[str, Any]]) -> list[Chat]:
    """Stores a batch of inbound messages harvested from one session's page. Must run inside
    the caller's transaction (the page keeps the events until it commits). Idempotent: a
    message already stored (same session and wam_id) is skipped, so a batch re-read after a
    crash stores nothing twice. Returns the newly stored chats."""
    session = WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)
    wanted: dict[str, dict[str, Any]] = {}
    for message in messages:
        if message.get("fromMe") or not message.get("id"):
            continue  # our own sends come back as echoes; the outbound row already exists
        try:
            message["_phone"] = normalize_phone(message.get("from") or message.get("from_jid") or "")
        except InvalidPhoneNumber:
            logger.warning(
                "session %s: inbound message %s from an unreadable sender", session_pk, message.get("id")
            )
            continue
        wanted.setdefault(message["id"], message)
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
    phones = {m["_phone"] for m in fresh}
    Contact.objects.bulk_create(
        [Contact(workspace=session.workspace, phone=p) for p in phones], ignore_conflicts=True
    )
    contacts = {
        str(c.phone): c for c in Contact.objects.filter(workspace=session.workspace, phone__in=phones)
    }
    now = timezone.now()
    rows = [
        Chat(
            workspace=session.workspace,
            whatsapp_session=session,
            contact=contacts[m["_phone"]],
            wam_id=m["id"],
            direction=Chat.Direction.INBOUND,
            body=(m.get("body") or "").replace("\x00", ""),
            media=None if m.get("type") in (None, "chat") else {"type": m.get("type")},
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


def chat_acks_apply(*, session_pk: int, acks: list[dict[str, Any]]) -> int:
    """Moves outbound chats forward (never backwards) on ack events. Idempotent."""
    updated = 0
    for ack in acks:
        status = _ACK_STATUS.get(ack.get("ack"))
        if status is None or not ack.get("id"):
            continue
        lower = [s for s, rank in _STATUS_RANK.items() if rank < _STATUS_RANK[status]]
        chat = (
            Chat.objects.select_related("whatsapp_session__workspace", "contact")
            .filter(whatsapp_session_id=session_pk, wam_id=ack["id"], status__in=lower)
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
    try:
        phone = normalize_phone(to)
    except InvalidPhoneNumber as exc:
        raise InvalidMessage(str(exc), field="to") from exc
    contact = contact_upsert(workspace=workspace, phone=phone)
    if session is not None:
        if session.workspace_id != workspace.id or session.deleted_at is not None:
            raise InvalidMessage("That number does not belong to this workspace.", field="session")
        if session.status != "connected":
            raise NoConnectedNumber(f"That number is not connected (status: {session.status}).")
    else:
        session = sending_session_choose(workspace=workspace, contact=contact)
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
    from sessions_app.services import enqueue_on_session_worker

    enqueue_on_session_worker("session_send", session.pk, chat_pk=chat.pk)
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


def chat_mark_sent(*, chat: Chat, wam_id: str | None, confirmed: bool = True) -> None:
    now = timezone.now()
    Chat.objects.filter(pk=chat.pk).update(
        status=Chat.Status.SENT,
        wam_id=wam_id,
        sent_at=now,
        error="" if confirmed else "not confirmed by server",
    )
    chat.status, chat.wam_id, chat.sent_at = Chat.Status.SENT, wam_id, now
    session = chat.whatsapp_session
    _contact_sessions_bump(session_pk=session.pk, contact_ids=[chat.contact_id], at=now)
    payload = chat_payload(chat, session=session, contact=chat.contact)
    with transaction.atomic():
        _webhook_record(session.workspace_id, "message.sent", payload)
    publish_to_workspace(workspace_uuid=session.workspace.uuid, event="message.sent", payload=payload)


def chat_mark_failed(*, chat: Chat, error: str) -> None:
    Chat.objects.filter(pk=chat.pk).update(status=Chat.Status.FAILED, error=error[:2000])
    publish_to_workspace(
        workspace_uuid=chat.whatsapp_session.workspace.uuid,
        event="message.failed",
        payload={"uuid": str(chat.uuid), "error": error[:500]},
    )


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
    from sessions_app.services import enqueue_on_session_worker

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
    for chat_pk in pending:
        enqueue_on_session_worker("session_send", session_pk, chat_pk=chat_pk)
    return len(pending)
