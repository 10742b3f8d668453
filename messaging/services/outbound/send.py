"""The send request: validating what chat_send takes (text, caption, attachment, recipient,
number) and writing the pending Chat that the number's transport sends after commit. A
refusal here creates nothing."""

from __future__ import annotations

import math
import mimetypes
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Workspace
from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.models import Chat, Contact, ContactSession, MediaFile
from messaging.selectors import reply_number
from messaging.services.common import InvalidMessage, NoConnectedNumber
from messaging.services.contacts import LID_JID, contact_upsert, raw_whatsapp_id
from messaging.services.conversations import conversation_claim_on_reply
from messaging.services.media import DOWNLOADABLE_KINDS, MEDIA_KINDS, OutboundMedia
from messaging.services.outbound.attachments import (
    LOCATION_TEXT_MAX_CHARS,
    media_filename_clean,
    media_kind_for_file,
    vcard_problem,
)
from messaging.transport import NoTransport, transport_for
from sessions_app.models import WhatsAppSession

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

# Kinds WhatsApp shows no caption for: its apps offer none for stickers and voice notes, so a
# caption would be lost without a word; locations and contact cards carry their own name
# fields. Refused, so the sender learns it (wa-js 4.6.0 sendFileMessage would pass it on).
_NO_CAPTION_KINDS = frozenset({"sticker", "ptt", "location", "vcard"})


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
