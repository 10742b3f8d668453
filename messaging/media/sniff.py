"""The mimetype of stored media is read from the bytes (libmagic through python-magic), never
taken from the page or the uploader; bytes that do not look like the kind they claim to be
are stored as application/octet-stream, which is never shown inline."""

from __future__ import annotations

import magic

OCTET_STREAM = "application/octet-stream"
# libmagic reads the first bytes only; some container formats need a little more than the
# 2 KB python-magic suggests.
SNIFF_BYTES = 64 * 1024

_RASTER_IMAGES = frozenset({"image/jpeg", "image/png", "image/gif", "image/webp"})
# What each kind may be. Documents may be anything (served as attachments unless safe).
_KIND_ACCEPTS: dict[str, tuple[frozenset[str], tuple[str, ...]]] = {
    # (exact types, prefixes)
    "image": (_RASTER_IMAGES | {"image/bmp", "image/heic", "image/heif", "image/tiff"}, ()),
    "sticker": (frozenset({"image/webp", "image/png", "image/gif"}), ()),
    "video": (frozenset({"application/mp4"}), ("video/",)),
    # An OGG/Opus voice note is audio/ogg to recent libmagic, application/ogg or video/ogg to
    # older ones; an M4A is audio/x-m4a or video/mp4 depending on the brand.
    "audio": (frozenset({"application/ogg", "video/ogg", "video/mp4", "video/webm"}), ("audio/",)),
    "ptt": (frozenset({"application/ogg", "video/ogg", "video/mp4", "video/webm"}), ("audio/",)),
}

# Served inline (everything else is an attachment): raster images, audio and video a browser
# plays itself. Never SVG (scripts), HTML, XML, PDF or octet-stream.
INLINE_SAFE = _RASTER_IMAGES | frozenset(
    {
        "audio/ogg",
        "audio/mpeg",
        "audio/mp4",
        "audio/x-m4a",
        "audio/aac",
        "audio/webm",
        "audio/wav",
        "audio/x-wav",
        "audio/opus",
        "application/ogg",
        "video/mp4",
        "video/webm",
        "video/ogg",
        "video/quicktime",
    }
)


def sniff_mimetype(head: bytes) -> str:
    if not head:
        return OCTET_STREAM
    try:
        found = magic.from_buffer(head[:SNIFF_BYTES], mime=True)
    except magic.MagicException:
        return OCTET_STREAM
    return (found or OCTET_STREAM).strip().lower()[:100]


def mimetype_for_kind(*, kind: str, sniffed: str) -> str:
    """The mimetype to store: the sniffed one when it fits the claimed kind, else
    application/octet-stream (a "photo" that is really HTML is not a photo)."""
    accepts = _KIND_ACCEPTS.get(kind)
    if accepts is None:  # document: whatever it is
        return sniffed
    exact, prefixes = accepts
    if sniffed in exact or sniffed.startswith(prefixes):
        return sniffed
    return OCTET_STREAM


def is_raster_image(mimetype: str) -> bool:
    return mimetype in _RASTER_IMAGES


def is_inline_safe(mimetype: str) -> bool:
    return mimetype in INLINE_SAFE
