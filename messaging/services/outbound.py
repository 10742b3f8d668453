"""Outbound messages (F10, F11): written first, handed to the number's transport after
commit, claimed once, marked sent only on WhatsApp's ack."""

from __future__ import annotations

import logging
import math
import mimetypes
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Workspace
from blazz.phones import InvalidPhoneNumber, normalize_phone
from blazz.realtime import publish_to_workspace
from messaging.models import Chat, Contact, ContactSession, MediaFile
from messaging.selectors import reply_number
from messaging.services.common import (
    InvalidMessage,
    NoConnectedNumber,
    chat_payload,
    contact_sessions_bump,
    webhook_record,
)
from messaging.services.contacts import LID_JID, contact_upsert, raw_whatsapp_id
from messaging.services.conversations import conversation_claim_on_reply
from messaging.services.media import DOWNLOADABLE_KINDS, MEDIA_KINDS, OutboundMedia
from messaging.transport import NoTransport, transport_for
from sessions_app.models import WhatsAppSession

logger = logging.getLogger(__name__)

# --- Outbound ---------------------------------------------------------------------------------


def message_body_problem(body: Any) -> str | None:
    """What is wrong with a message text, or None: the one rule every sender (the API, the
    inbox, campaigns) applies."""
    if not isinstance(body, str) or not body.strip():
        return "The message body must be non-empty text."
    if "\x00" in body:
        return "The message body must not contain NUL characters."
    if len(body) > settings.BLAZZ_MESSAGE_MAX_CHARS:
        return (
            f"The message body has {len(body)} characters; the limit is {settings.BLAZZ_MESSAGE_MAX_CHARS}."
        )
    return None


def _validate_body(body: Any) -> str:
    problem = message_body_problem(body)
    if problem is not None:
        raise InvalidMessage(problem, field="body")
    return body


# --- Media (issue 17) -------------------------------------------------------------------------

# What WhatsApp shows inline (or plays) for each kind; bytes of another type go out as a
# document, never as what the sender claimed. SVG is an image/* type a browser would run
# scripts in, and WhatsApp does not render it: a document.
_INLINE_MIMETYPES: dict[str, tuple[str, ...]] = {
    "image": ("image/jpeg", "image/png", "image/gif", "image/webp"),
    "sticker": ("image/webp", "image/png", "image/jpeg"),
    "video": ("video/",),
    "audio": ("audio/",),
    "ptt": ("audio/",),
}
# Kinds WhatsApp shows no caption for: its apps offer none for stickers and voice notes, so a
# caption would be lost without a word; locations and contact cards carry their own name
# fields. Refused, so the sender learns it (wa-js 4.6.0 sendFileMessage would pass it on).
_NO_CAPTION_KINDS = frozenset({"sticker", "ptt", "location", "vcard"})
MEDIA_FILENAME_MAX_CHARS = 255
VCARD_MAX_CHARS = 16 * 1024
LOCATION_TEXT_MAX_CHARS = 256
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


def media_kind_for_file(*, kind: str, mimetype: str) -> str:
    """The kind a file is sent as: the requested one when its (sniffed) mimetype fits it,
    else `document`: bytes that are not what the sender claimed (stored as
    application/octet-stream by media_file_store) are never sent as an inline image or video."""
    accepted = _INLINE_MIMETYPES.get(kind)
    if accepted is None:
        return kind
    if any(mimetype == a or (a.endswith("/") and mimetype.startswith(a)) for a in accepted):
        return kind
    return "document"


def media_filename_clean(value: Any) -> str:
    """A filename as the recipient sees it: the last path component, no control characters,
    at most MEDIA_FILENAME_MAX_CHARS."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidMessage("The filename must be text.", field="filename")
    name = _CONTROL_CHARS.sub("", value.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    if len(name) > MEDIA_FILENAME_MAX_CHARS:
        raise InvalidMessage(
            f"The filename has {len(name)} characters; the limit is {MEDIA_FILENAME_MAX_CHARS}.",
            field="filename",
        )
    return name


def _location_clean(location: Any) -> dict[str, Any]:
    if not isinstance(location, dict):
        raise InvalidMessage("A location needs `lat` and `lng`.", field="location")
    clean: dict[str, Any] = {}
    for key, bound in (("lat", 90.0), ("lng", 180.0)):
        value = location.get(key)
        # bool is an int to Python; true is not a latitude.
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InvalidMessage(f"`{key}` must be a number.", field=f"location.{key}")
        if not -bound <= value <= bound:
            raise InvalidMessage(
                f"`{key}` must be between -{bound:g} and {bound:g}.", field=f"location.{key}"
            )
        clean[key] = float(value)
    for key in ("name", "address"):
        value = location.get(key)
        if value in (None, ""):
            continue
        if not isinstance(value, str) or "\x00" in value or len(value) > LOCATION_TEXT_MAX_CHARS:
            raise InvalidMessage(
                f"`{key}` must be text of at most {LOCATION_TEXT_MAX_CHARS} characters.",
                field=f"location.{key}",
            )
        clean[key] = value
    unknown = sorted(set(location) - {"lat", "lng", "name", "address"})
    if unknown:
        raise InvalidMessage(f"Unknown location field: {', '.join(map(str, unknown))}.", field="location")
    return clean


def vcard_problem(vcard: Any) -> str | None:
    """What is wrong with a contact card's text, or None."""
    if not isinstance(vcard, str) or not vcard.strip():
        return "The contact card (vCard) must be non-empty text."
    if len(vcard) > VCARD_MAX_CHARS:
        return f"The vCard has {len(vcard)} characters; the limit is {VCARD_MAX_CHARS}."
    if "\x00" in vcard:
        return "The vCard must not contain NUL characters."
    lines = [line.strip().upper() for line in vcard.strip().splitlines()]
    if lines[0] != "BEGIN:VCARD" or lines[-1] != "END:VCARD":
        return "A vCard starts with BEGIN:VCARD and ends with END:VCARD."
    return None


def _vcard_escape(value: str) -> str:
    # RFC 2426 §4: backslash, comma, semicolon and newlines are escaped in text values.
    return (
        value.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
    )


def vcard_build(*, name: str, phone: str) -> str:
    """A vCard 3.0 for one contact (name + phone), as WhatsApp shares contacts: the `waid`
    parameter names the WhatsApp account, so the recipient's phone offers "Message"."""
    if not isinstance(name, str) or not name.strip() or "\x00" in name or len(name) > 200:
        raise InvalidMessage(
            "The contact card needs a name of at most 200 characters.", field="contact_card.name"
        )
    try:
        e164 = normalize_phone(phone)
    except InvalidPhoneNumber as exc:
        raise InvalidMessage(str(exc), field="contact_card.phone") from exc
    name = _CONTROL_CHARS.sub(" ", name).strip()
    escaped = _vcard_escape(name)
    return (
        "BEGIN:VCARD\r\nVERSION:3.0\r\n"
        f"N:{escaped};;;;\r\nFN:{escaped}\r\n"
        f"TEL;type=CELL;type=VOICE;waid={e164.lstrip('+')}:{e164}\r\n"
        "END:VCARD"
    )


def _caption_check(*, kind: str | None, caption: str) -> None:
    if kind in _NO_CAPTION_KINDS and caption:
        labels = {"ptt": "A voice note", "sticker": "A sticker", "location": "A location"}
        label = labels.get(kind, "A contact card")
        raise InvalidMessage(f"{label} has no caption; send the text as its own message.", field="caption")


def _media_clean(
    *, workspace: Workspace, media: OutboundMedia, body: str
) -> tuple[dict[str, Any], MediaFile | None, str | None]:
    """(Chat.media, Chat.media_file, Chat.media_status) for an outbound media message, or
    InvalidMessage naming the input at fault."""
    if not isinstance(media, OutboundMedia) or media.kind not in MEDIA_KINDS:
        raise InvalidMessage(f"The media type must be one of {', '.join(sorted(MEDIA_KINDS))}.", field="type")
    kind = media.kind
    _caption_check(kind=kind, caption=body)
    if kind not in DOWNLOADABLE_KINDS:
        if media.file is not None:
            raise InvalidMessage(f"A {kind} message carries no file.", field="file")
        if kind == "location":
            return {"type": "location", **_location_clean(media.location)}, None, None
        problem = vcard_problem(media.vcard)
        if problem is not None:
            raise InvalidMessage(problem, field="vcard")
        return {"type": "vcard", "vcard": media.vcard}, None, None
    file = media.file
    if not isinstance(file, MediaFile) or file.pk is None:
        raise InvalidMessage(f"A {kind} message needs a file.", field="file")
    if file.workspace_id != workspace.id:
        # Files are never shared across workspaces; another's uuid is as good as unknown.
        raise InvalidMessage("No such media file in this workspace.", field="file")
    if media.location is not None or media.vcard:
        raise InvalidMessage(f"A {kind} message has no location or contact card.", field="type")
    sent_as = media_kind_for_file(kind=kind, mimetype=file.mimetype)
    payload: dict[str, Any] = {"type": sent_as, "mimetype": file.mimetype, "size": file.size}
    filename = media_filename_clean(media.filename)
    if not filename and sent_as == "document":
        # WhatsApp shows a document by its name; without one the recipient sees "Untitled".
        filename = "document" + (mimetypes.guess_extension(file.mimetype) or "")
    if filename:
        payload["filename"] = filename
    if sent_as != kind:
        payload["requested_type"] = kind  # why an "image" went out as a document
    if file.width and file.height and sent_as in ("image", "video", "sticker"):
        payload["width"], payload["height"] = file.width, file.height
    return payload, file, Chat.MediaStatus.READY


def media_send_precheck(*, workspace: Workspace, to: Any, caption: Any, kind: str | None) -> None:
    """The refusals of chat_send that do not depend on the file, for a caller about to store or
    fetch one (up to 100 MB) for a message: a bad recipient or caption is refused before the
    bytes are read, and leaves no stored file behind. Creates nothing. `kind` None: not known
    until the bytes are sniffed (the caption rules of those kinds apply later)."""
    _caption_check(kind=kind, caption=_validate_caption(caption))
    if isinstance(to, str) and LID_JID.fullmatch(to.strip()):
        if not Contact.objects.filter(workspace=workspace, wa_lid=to.strip()).exists():
            raise InvalidMessage("No contact of this workspace has that WhatsApp id.", field="to")
        return
    try:
        normalize_phone(to, region=workspace.phone_region)
    except InvalidPhoneNumber as exc:
        raw_id = raw_whatsapp_id(to)
        if not (raw_id and Contact.objects.filter(workspace=workspace, wa_id=raw_id).exists()):
            raise InvalidMessage(str(exc), field="to") from exc


def chat_for_idempotency_key(*, workspace: Workspace, idempotency_key: str | None) -> Chat | None:
    """The message an earlier request with this key made, if any: the API answers a retried
    media send with it before fetching or storing the file again."""
    if not idempotency_key:
        return None
    return Chat.objects.filter(workspace=workspace, idempotency_key=idempotency_key).first()


def _validate_caption(body: Any) -> str:
    """A media caption: like a body, but it may be empty."""
    if body is None or body == "":
        return ""
    if isinstance(body, str) and not body.strip():
        return ""
    return _validate_body(body)


def sending_session_choose(*, workspace: Workspace, contact: Contact | None) -> WhatsAppSession:
    """The number to send from when the caller names none (messaging.selectors.reply_number)."""
    chosen = reply_number(workspace=workspace, contact=contact)
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
        phone = normalize_phone(to, region=workspace.phone_region)
    except InvalidPhoneNumber as exc:
        # A customer whose number the phone library refuses wrote in under its raw WhatsApp
        # id; answering it is allowed, starting a conversation with an unknown one is not.
        raw_id = raw_whatsapp_id(to)
        known = raw_id and Contact.objects.filter(workspace=workspace, wa_id=raw_id).first()
        if known:
            return known
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
    sent_by: AbstractBaseUser | None = None,
    media: OutboundMedia | None = None,
) -> tuple[Chat, bool]:
    """Writes the outbound Chat (pending) and, after commit, hands it to the worker of the
    sending number. Returns (chat, created). The same idempotency key returns the first
    message and sends nothing; a concurrent duplicate gets the same answer. A member
    (`sent_by`) who answers an unassigned conversation takes it.

    With `media` the body is the caption (may be empty) and the row carries `media` (the
    keys messaging.services.media documents) and, for kinds with bytes, the stored
    `media_file` with media_status `ready`: the worker sends it from there. A file whose
    sniffed mimetype does not fit the kind goes out as a document."""
    media_fields: dict[str, Any] = {}
    if media is None:
        body = _validate_body(body)
    else:
        body = _validate_caption(body)
        payload, media_file, media_status = _media_clean(workspace=workspace, media=media, body=body)
        media_fields = {"media": payload, "media_file": media_file, "media_status": media_status}
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
        if session.status != WhatsAppSession.Status.CONNECTED:
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
                **media_fields,
            )
            if sent_by is not None:
                now = timezone.now()
                conversation, _ = ContactSession.objects.get_or_create(
                    contact=contact,
                    whatsapp_session=session,
                    defaults={"first_interaction_at": now, "last_interaction_at": now},
                )
                conversation_claim_on_reply(conversation=conversation, member=sent_by)
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
        contact_sessions_bump(session_pk=session.pk, contact_ids=[chat.contact_id], at=now)
        payload = chat_payload(chat, session=session, contact=chat.contact)
        webhook_record(session.workspace_id, "message.sent", payload)
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
        webhook_record(session.workspace_id, "message.failed", payload)
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


@dataclass
class SendSweep:
    woken: int = 0
    released: int = 0
    failed: int = 0


def chats_sweep_pending(*, now: datetime | None = None) -> SendSweep:
    """Beat's sweep of outbound messages (every 30 s). The Chat row is the record of a send;
    the Celery message that announced it is only a wake-up call, which a broker that lost its
    data (FLUSHALL, a restart without persistence) never delivers. So:

    - a pending message of a connected number that nobody claimed for
      BLAZZ_SEND_SWEEP_AFTER_SECONDS is woken again (the claim makes a duplicate harmless);
    - a claim older than BLAZZ_SEND_CLAIM_STALE_SECONDS that made nothing (no wam_id) is
      released, so the next wake-up can send it;
    - a message still pending BLAZZ_SEND_DEADLINE_SECONDS after it was accepted is failed,
      with `message.failed`, instead of going out hours late or never."""
    now = now or timezone.now()
    result = SendSweep()
    pending = Chat.objects.filter(direction=Chat.Direction.OUTBOUND, status=Chat.Status.PENDING)
    deadline = now - timedelta(seconds=settings.BLAZZ_SEND_DEADLINE_SECONDS)
    for chat in pending.filter(created_at__lt=deadline).select_related(
        "contact", "whatsapp_session__workspace"
    )[:500]:
        if chat_give_up(chat=chat, error=f"not sent within {settings.BLAZZ_SEND_DEADLINE_SECONDS} s"):
            result.failed += 1
    result.released = pending.filter(
        send_claimed_at__lt=now - timedelta(seconds=settings.BLAZZ_SEND_CLAIM_STALE_SECONDS),
        wam_id__isnull=True,
    ).update(send_claimed_at=None)
    lost = (
        pending.filter(
            send_claimed_at__isnull=True,
            created_at__lt=now - timedelta(seconds=settings.BLAZZ_SEND_SWEEP_AFTER_SECONDS),
            whatsapp_session__status=WhatsAppSession.Status.CONNECTED,
            whatsapp_session__deleted_at__isnull=True,
        )
        .order_by("created_at", "id")
        .values_list("pk", "whatsapp_session_id", "whatsapp_session__provider_type")[:1000]
    )
    for chat_pk, session_pk, provider in lost:
        try:
            transport_for(provider).send(session_pk=session_pk, chat_pk=chat_pk)
        except NoTransport:
            continue
        result.woken += 1
    return result


def chat_give_up(*, chat: Chat, error: str) -> bool:
    """Fails a message only if it is still pending (a send that raced to `sent` wins).
    Returns whether it failed it."""
    with transaction.atomic():
        if not Chat.objects.filter(pk=chat.pk, status=Chat.Status.PENDING).update(status=Chat.Status.FAILED):
            return False
        chat_mark_failed(chat=chat, error=error)
    return True
