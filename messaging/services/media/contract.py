"""The media contract's names: which kinds there are, what an outbound attachment and a
pending fetch are, the per-kind size limits, and the error for refused bytes. Every other
part of the package, the transport and the API code against these, so they import nothing
of the rest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings

from messaging.models import MediaFile

DOWNLOADABLE_KINDS = frozenset({"image", "video", "audio", "ptt", "document", "sticker"})
MEDIA_KINDS = DOWNLOADABLE_KINDS | {"location", "vcard"}


class MediaRefused(ValueError):
    """Bytes refused: over the per-kind size limit (`status` 413), the workspace's quota is
    full (413), an unsafe URL (400). `field` names the input at fault."""

    def __init__(self, message: str, *, status: int = 400, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class OutboundMedia:
    """What chat_send(media=...) sends besides the caption (Chat.body).
    kind: image | video | audio | ptt | document | sticker | location | vcard."""

    kind: str
    file: MediaFile | None = None  # the kinds with bytes
    filename: str = ""
    location: dict[str, Any] | None = None  # {"lat", "lng", "name"?, "address"?}
    vcard: str = ""  # a vCard 3.0 text (contact cards)


@dataclass(frozen=True)
class MediaFetch:
    """One inbound media message whose bytes the hosting worker still has to fetch."""

    chat_pk: int
    session_pk: int
    wam_id: str
    kind: str
    size_limit: int  # bytes; the page refuses to hand over more


_KIND_LIMIT_SETTING = {
    "image": "BLAZZ_MEDIA_MAX_IMAGE_BYTES",
    "video": "BLAZZ_MEDIA_MAX_VIDEO_BYTES",
    "audio": "BLAZZ_MEDIA_MAX_AUDIO_BYTES",
    "ptt": "BLAZZ_MEDIA_MAX_AUDIO_BYTES",
    "document": "BLAZZ_MEDIA_MAX_DOCUMENT_BYTES",
    "sticker": "BLAZZ_MEDIA_MAX_STICKER_BYTES",
}


def media_size_limit(kind: str) -> int:
    """WhatsApp's cap per kind, from settings: images 16 MB, video/audio 16 MB, documents
    100 MB, stickers 1 MB (BLAZZ_MEDIA_MAX_*_BYTES)."""
    setting = _KIND_LIMIT_SETTING.get(kind)
    if setting is None:
        raise MediaRefused(f"A {kind} message carries no file.", field="type")
    return int(getattr(settings, setting))
