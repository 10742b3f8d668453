"""How the inbox shows a media message (issue 17): what to render for each kind, which bytes may
be shown inline, the one-line preview of the conversation list, the contact cards read out of
a vCard, and the kind an upload from the reply box is sent as.

Only the MediaFile's mimetype counts (sniffed from the bytes when they were stored); the page's
or the uploader's claim in Chat.media never decides what the browser renders inline. Anything
not on the safe lists below (SVG, HTML, application/octet-stream, ...) is a download."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import IO, Any

from django.db.models import OuterRef, QuerySet, Subquery

from messaging.media.sniff import SNIFF_BYTES, sniff_mimetype
from messaging.models import Chat, ContactSession
from messaging.services.media import media_link

# Raster formats every browser decodes without running anything; never SVG (a document that
# can carry script) nor whatever the sniffer could not name.
INLINE_IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PLAYABLE_VIDEO_TYPES = frozenset({"video/mp4", "video/webm", "video/ogg", "video/quicktime", "video/3gpp"})
PLAYABLE_AUDIO_TYPES = frozenset(
    {
        "audio/ogg",
        "audio/opus",
        "audio/mpeg",
        "audio/mp4",
        "audio/aac",
        "audio/x-m4a",
        "audio/webm",
        "audio/wav",
        "audio/x-wav",
        "audio/flac",
        "audio/amr",
        "audio/3gpp",
        # An Ogg/Opus voice note is application/ogg or video/ogg to older libmagic, an M4A
        # video/mp4 depending on its brand: an <audio> element plays them all the same.
        "application/ogg",
        "video/ogg",
        "video/mp4",
        "video/webm",
    }
)

# (icon, label) per Chat.media type, as WhatsApp's own chat list shows them.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "image": ("📷", "Photo"),
    "video": ("🎥", "Video"),
    "audio": ("🎵", "Audio"),
    "ptt": ("🎤", "Voice note"),
    "document": ("📄", "Document"),
    "sticker": ("💟", "Sticker"),
    "location": ("📍", "Location"),
    "vcard": ("👤", "Contact"),
}

# A vCard is text from the sender's phone: read at most this much, and this many cards.
VCARD_MAX_CHARS = 64 * 1024
VCARD_MAX_CARDS = 10


@dataclass(frozen=True)
class VCardContact:
    name: str
    phones: tuple[str, ...] = ()


@dataclass(frozen=True)
class MediaView:
    """What the thread shows for one message's media. `show` picks the template branch:
    image | video | audio | download | location | contacts | pending | failed | missing |
    unsupported."""

    kind: str
    icon: str
    label: str
    show: str
    url: str = ""
    thumbnail_url: str = ""
    filename: str = ""
    size: int | None = None
    mimetype: str = ""
    duration: str = ""
    width: int | None = None
    height: int | None = None
    error: str = ""
    lat: str = ""
    lng: str = ""
    place_name: str = ""
    address: str = ""
    map_url: str = ""
    contacts: tuple[VCardContact, ...] = field(default_factory=tuple)
    # The stored file's uuid (the signed links change with every render, their file does not).
    file_uuid: str = ""

    @property
    def key(self) -> str:
        """Changes whenever what is rendered changes: the page keeps a player that is playing
        across a refresh of the thread only while its key stays the same."""
        return f"{self.show}:{self.file_uuid}"


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _int(value: Any) -> int | None:
    number = _number(value)
    return int(number) if number is not None and number >= 0 else None


def duration_text(seconds: Any) -> str:
    """0:07, 12:45, 1:02:03; empty when unknown."""
    total = _int(seconds)
    if total is None:
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def _text(value: Any, limit: int = 300) -> str:
    return value[:limit] if isinstance(value, str) else ""


def openstreetmap_url(lat: float, lng: float) -> str:
    return f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lng:.6f}#map=16/{lat:.6f}/{lng:.6f}"


def _vcard_unescape(value: str) -> str:
    return re.sub(r"\\([\\,;nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value)


def vcard_contacts(text: Any) -> tuple[VCardContact, ...]:
    """Name and phone numbers of each card in a vCard (2.1/3.0/4.0) text. Tolerant: a card
    without FN uses N; unknown lines are skipped; nothing here is ever rendered unescaped."""
    if not isinstance(text, str):
        return ()
    # Folded lines (RFC 6350 §3.2) continue with a space or a tab.
    unfolded = re.sub(r"\r?\n[ \t]", "", text[:VCARD_MAX_CHARS])
    cards: list[VCardContact] = []
    name, structured, phones = "", "", []
    inside = False
    for line in unfolded.splitlines():
        head, sep, value = line.partition(":")
        if not sep:
            continue
        prop = head.split(";", 1)[0].rsplit(".", 1)[-1].strip().upper()  # item1.TEL -> TEL
        value = value.strip()
        if prop == "BEGIN" and value.upper() == "VCARD":
            inside, name, structured, phones = True, "", "", []
        elif prop == "END" and value.upper() == "VCARD" and inside:
            inside = False
            label = name or structured
            if label or phones:
                cards.append(VCardContact(name=label[:200], phones=tuple(p[:50] for p in phones[:5])))
            if len(cards) >= VCARD_MAX_CARDS:
                break
        elif not inside:
            continue
        elif prop == "FN":
            name = _vcard_unescape(value).strip()
        elif prop == "N":
            # Family;Given;Additional;Prefix;Suffix
            parts = [_vcard_unescape(p).strip() for p in re.split(r"(?<!\\);", value)]
            structured = " ".join(p for p in [*parts[3:4], *parts[1:3], *parts[0:1], *parts[4:5]] if p)
        elif prop == "TEL" and value:
            phones.append(_vcard_unescape(value.removeprefix("tel:")).strip())
    return tuple(cards)


def chat_media_view(chat: Chat) -> MediaView | None:
    """What to show for `chat`'s media; None for a text message."""
    media = chat.media if isinstance(chat.media, dict) else None
    if not media:
        return None
    kind = media.get("type")
    if kind not in KIND_LABELS:
        # A type that is not media (a system message: revoked, e2e_notification, call_log...),
        # stored with its type since before media; named, never guessed at.
        return MediaView(kind=_text(kind, 40) or "unknown", icon="💬", label="Message", show="unsupported")
    icon, label = KIND_LABELS[kind]
    common: dict[str, Any] = {"kind": kind, "icon": icon, "label": label}

    if kind == "location":
        lat, lng = _number(media.get("lat")), _number(media.get("lng"))
        if lat is None or lng is None or not (-90 <= lat <= 90 and -180 <= lng <= 180):
            return MediaView(**common, show="failed", error="This location has no valid coordinates.")
        return MediaView(
            **common,
            show="location",
            lat=f"{lat:.6f}",
            lng=f"{lng:.6f}",
            place_name=_text(media.get("name")),
            address=_text(media.get("address")),
            map_url=openstreetmap_url(lat, lng),
        )
    if kind == "vcard":
        contacts = vcard_contacts(media.get("vcard"))
        if not contacts:
            return MediaView(**common, show="failed", error="This contact card could not be read.")
        return MediaView(**common, show="contacts", contacts=contacts)

    common.update(
        filename=_text(media.get("filename"), 255),
        size=_int(media.get("size")),
        duration=duration_text(media.get("duration")),
        width=_int(media.get("width")),
        height=_int(media.get("height")),
    )
    file = chat.media_file
    if file is None:
        if chat.media_status == Chat.MediaStatus.PENDING:
            return MediaView(**common, show="pending")
        if chat.media_status == Chat.MediaStatus.FAILED:
            reason = _text(media.get("error")) or "the phone did not hand the file over"
            return MediaView(**common, show="failed", error=reason)
        return MediaView(**common, show="missing")

    common.update(
        size=file.size, mimetype=file.mimetype, width=file.width or common["width"], file_uuid=str(file.uuid)
    )
    common["height"] = file.height or common["height"]
    url = media_link(media_file=file)
    thumbnail = media_link(media_file=file, thumbnail=True) if file.thumbnail_name else ""
    if kind in ("image", "sticker") and file.mimetype in INLINE_IMAGE_TYPES:
        return MediaView(**common, show="image", url=url, thumbnail_url=thumbnail or url)
    if kind == "video" and file.mimetype in PLAYABLE_VIDEO_TYPES:
        return MediaView(**common, show="video", url=url, thumbnail_url=thumbnail)
    if kind in ("audio", "ptt") and file.mimetype in PLAYABLE_AUDIO_TYPES:
        return MediaView(**common, show="audio", url=url)
    return MediaView(**common, show="download", url=url)


def media_preview(media: Any, body: str = "") -> str:
    """The conversation list's line for a message: "📷 Photo", "🎤 Voice note (0:07)",
    "📄 invoice.pdf", a caption after the icon when there is one."""
    if not isinstance(media, dict) or not media.get("type"):
        return body or ""
    kind = media["type"]
    if kind not in KIND_LABELS:
        return body or "💬 Message"
    icon, label = KIND_LABELS[kind]
    if kind in ("ptt", "audio"):
        duration = duration_text(media.get("duration"))
        return f"{icon} {label}" + (f" ({duration})" if duration else "")
    if kind == "document":
        return f"{icon} {_text(media.get('filename'), 255) or body or label}"
    if kind == "location":
        return f"{icon} {_text(media.get('name')) or label}"
    if kind == "vcard":
        contacts = vcard_contacts(media.get("vcard"))
        return f"{icon} {contacts[0].name if contacts and contacts[0].name else label}"
    return f"{icon} {body or label}"


def conversations_with_last_media(conversations: QuerySet[ContactSession]) -> QuerySet[ContactSession]:
    """Adds `last_media` (the newest message's Chat.media) next to the `last_body` that
    messaging.selectors.conversations_search annotates, for the list's preview."""
    latest = Chat.objects.filter(
        contact_id=OuterRef("contact_id"), whatsapp_session_id=OuterRef("whatsapp_session_id")
    ).order_by("-created_at", "-id")
    return conversations.annotate(last_media=Subquery(latest.values("media")[:1]))


# --- the reply box's attachments ---------------------------------------------------------------

# What older libmagic calls an Ogg/Opus voice note (the storage accepts them as audio too).
OGG_CONTAINERS = frozenset({"application/ogg", "video/ogg"})
SEND_AS_CHOICES = (("", "Automatic"), ("document", "Document"), ("ptt", "Voice note"))


def upload_mimetype(upload: IO[bytes]) -> str:
    """The mimetype of an upload from its first bytes, by the storage's own sniffer (never the
    browser's claim); the file is rewound for whoever reads it next. It only picks the kind to
    send as: media_file_store sniffs again when it stores the bytes, and that is what is served."""
    upload.seek(0)
    head = upload.read(SNIFF_BYTES)
    upload.seek(0)
    return sniff_mimetype(head)


def upload_kind(*, mimetype: str, send_as: str = "") -> str:
    """The kind an upload from the reply box goes out as: what the agent chose when it fits
    (a voice note must be audio; anything can go as a document), otherwise inferred from the
    sniffed mimetype: a safe raster image is a photo, video a video, audio an audio message,
    the rest (PDF, SVG, archives, ...) a document."""
    audio = mimetype.startswith("audio/") or mimetype in OGG_CONTAINERS
    if send_as == "document":
        return "document"
    if send_as == "ptt" and audio:
        return "ptt"
    if mimetype in INLINE_IMAGE_TYPES:
        return "image"
    if mimetype == "application/ogg" or mimetype.startswith("audio/"):
        return "audio"
    if mimetype.startswith("video/"):
        return "video"
    return "document"
