"""The simulated world's vocabulary: its limits and message types, the refusal it raises, and
the records it keeps (devices, sent messages, contacts, link codes). No behaviour lives here;
``state`` holds the rules."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from typing import Any

MAX_LINKED_DEVICES = 4
MAX_BODY_CHARS = 65536
INBOUND_HISTORY_MAX = 100_000
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
LID = re.compile(r"[0-9]{1,40}@lid")
MEDIA_TYPES = frozenset({"image", "video", "audio", "ptt", "document", "sticker"})
# WhatsApp's SYSTEM_MESSAGE_TYPES and other non-user types (wa-js src/whatsapp/enums/MSG_TYPE.ts)
SYSTEM_TYPES = frozenset(
    {
        "notification",
        "notification_template",
        "group_notification",
        "gp2",
        "broadcast_notification",
        "e2e_notification",
        "call_log",
        "protocol",
        "revoked",
        "ciphertext",
        "oversized",
        "unknown",
    }
)
MESSAGE_TYPES = frozenset({"chat", "location", "vcard"}) | MEDIA_TYPES | SYSTEM_TYPES
# What WhatsApp clients label each kind when the sender gives no mimetype.
DEFAULT_MIMETYPES = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/mpeg",
    "ptt": "audio/ogg; codecs=opus",
    "document": "application/octet-stream",
    "sticker": "image/webp",
}
# WhatsApp's upload limits per kind (wa-js chat/functions/sendFileMessage.ts asks WhatsApp's
# MediaGatingUtils.getUploadLimit; 16 MB for media, 100 MB for documents in the web client of
# wa-js 4.6.0's time). The media servers refuse more.
UPLOAD_LIMITS = {"document": 100 * 2**20}
UPLOAD_LIMIT_DEFAULT = 16 * 2**20
# The largest control or upload request the simulator reads (a 100 MB document in base64).
MAX_REQUEST_BYTES = 140 * 2**20
# MsgModel fields a test may set on an inbound message (wa-js src/whatsapp/models/MsgModel.ts).
MESSAGE_EXTRAS = (
    "caption",
    "mimetype",
    "filename",
    "size",
    "duration",
    "width",
    "height",
    "lat",
    "lng",
    "loc",
    "subtype",
    "push_name",
    "is_view_once",
    "is_forwarded",
)
# A 1x1 JPEG: what a media message's body holds on WhatsApp Web (a thumbnail, not the text).
THUMBNAIL_JPEG_B64 = (
    "/9j/4AAQSkZJRgABAQEASABIAAD/2wBDAP//////////////////////////////////////////////////////////"
    "////////////////////////////wgALCAABAAEBAREA/8QAFBABAAAAAAAAAAAAAAAAAAAAAP/aAAgBAQABPxA="
)
DEVICE_ID = re.compile(r"[A-Za-z0-9_-]{8,64}")
# WhatsApp's pairing codes use an alphabet without look-alike characters (no 0, O, I, U).
LINK_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"
LINK_CODE_TTL_S = 180.0


class SimError(Exception):
    """A request the simulated world refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def parse_phone(value: Any, *, field_name: str = "phone") -> str:
    """Return ``value`` as E.164 (``+`` and 7-15 digits). Digits without ``+`` are accepted
    because a ``+`` is awkward in URLs and in wa-js calls (which take bare digits)."""
    if not isinstance(value, str):
        raise SimError(400, f"{field_name} must be a string in E.164 form, like +5511999999999")
    candidate = value.strip()
    if candidate and candidate[0] != "+":
        candidate = "+" + candidate
    if not E164.fullmatch(candidate):
        raise SimError(400, f"{field_name} is not an E.164 phone number: {value!r}")
    return candidate


def jid_for(phone: str) -> str:
    return f"{phone.lstrip('+')}@c.us"


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


@dataclass
class Device:
    device_id: str
    secret: str
    created_at: float
    status: str = "pending"  # pending | linked | logged_out
    phone: str | None = None
    lid: str | None = None  # the linked phone's own LID, told to the page at login
    linked_at: float | None = None
    logged_out_at: float | None = None
    frozen: bool = False
    dropped_until: float | None = None
    last_seen_at: float | None = None
    next_event_seq: int = 1
    pending: list[dict[str, Any]] = field(default_factory=list)
    # The QR code is not persisted: a restarted server issues a fresh one, as WhatsApp does.
    qr: dict[str, Any] | None = field(default=None, compare=False)
    qr_issued_at: float | None = field(default=None, compare=False)

    def summary(self, *, online: bool, now: float) -> dict[str, Any]:
        return {
            "device_id": self.device_id,
            "status": self.status,
            "phone": self.phone,
            "online": online,
            "frozen": self.frozen,
            "dropped": self.is_dropped(now),
            "linked_at": self.linked_at,
            "last_seen_at": self.last_seen_at,
            "pending_events": len(self.pending),
        }

    def is_dropped(self, now: float) -> bool:
        return self.dropped_until is not None and now < self.dropped_until


@dataclass
class OutboxEntry:
    id: str  # serialised key, the wam_id the sender got back
    msg_id: str
    phone: str  # the sender's number
    device_id: str
    to: str
    body: str
    at: float
    ack: int = 1  # 1 = reached the server; 2 = delivered to the phone; 3 = read
    chat: str = ""  # the chat the page addressed: `<phone>@c.us`, or `<lid>@lid` for a LID chat
    type: str = "chat"  # chat | image | video | audio | ptt | document | sticker | location | vcard
    # What a media, location or contact-card message carried besides `body` (its caption for
    # media): mimetype, filename, size, sha256 of the bytes the page uploaded, duration,
    # width, height, isViewOnce, lat, lng, loc, vcardFormattedName.
    media: dict[str, Any] | None = None


@dataclass
class WorldContact:
    """Someone on (or not on) WhatsApp, as WhatsApp's servers know them. After WhatsApp's
    LID migration a contact has a LID; ``share_pn`` says whether the servers tell linked
    devices the phone number behind it (the LID<->PN mapping)."""

    phone: str | None
    lid: str | None = None
    share_pn: bool = True
    on_whatsapp: bool = True
    fail_sends: bool = False  # the servers refuse messages to this contact (a negative ack)


@dataclass
class LinkCode:
    code: str
    device_id: str
    phone: str
    created_at: float
