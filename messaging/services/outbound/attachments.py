"""The rules for what an attachment may be, which every sender checks before it stores or
sends a file (the API, the inbox, campaigns): the kind bytes are sent as, the filename the
recipient sees, and contact cards."""

from __future__ import annotations

import re
from typing import Any

from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.services.common import InvalidMessage

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
