"""How a stored file is shown: signed links (no API key needed) and the `media` object of a
message in webhooks and the REST API. Never the bytes themselves."""

from __future__ import annotations

from typing import Any

from messaging.media.links import absolute, media_signed_path
from messaging.models import Chat, MediaFile


def media_link(*, media_file: MediaFile, thumbnail: bool = False, absolute: bool = False) -> str:
    """A signed, expiring link to the bytes (or their thumbnail) that needs no API key:
    a path for the inbox (same origin), an absolute URL for webhooks."""
    path = media_signed_path(file_uuid=media_file.uuid, thumbnail=thumbnail)
    return _absolute(path) if absolute else path


def _absolute(path: str) -> str:
    return absolute(path)


def media_api_path(media_file: MediaFile) -> str:
    return f"/api/v1/media/{media_file.uuid}"


_PAYLOAD_KEYS = ("mimetype", "size", "filename", "duration", "width", "height", "view_once", "error")


def media_payload(chat: Chat) -> dict[str, Any] | None:
    """The `media` object webhooks and the REST API show for a message (None for text):
    what WhatsApp told of it, its status, and once the bytes are stored an absolute signed
    link (`url`, expiring), the API's link (`api_url`, needs the API key) and `thumbnail_url`.
    Never the bytes themselves."""
    media = chat.media
    if not isinstance(media, dict) or not media.get("type"):
        return None
    kind = media["type"]
    out: dict[str, Any] = {"type": kind, "caption": chat.body or ""}
    for key in _PAYLOAD_KEYS:
        if key in media:
            out[key] = media[key]
    out["ptt"] = kind == "ptt"
    if kind == "location":
        out["location"] = {key: media.get(key) for key in ("lat", "lng", "name", "address")}
    if kind == "vcard":
        out["vcard"] = media.get("vcard", "")
    out["status"] = chat.media_status
    out["url"] = out["api_url"] = out["thumbnail_url"] = None
    if chat.media_file_id is not None and chat.media_status in (Chat.MediaStatus.READY, None):
        media_file = chat.media_file
        out["mimetype"] = media_file.mimetype
        out["size"] = media_file.size
        out["url"] = media_link(media_file=media_file, absolute=True)
        out["api_url"] = _absolute(media_api_path(media_file))
        if media_file.thumbnail_name:
            out["thumbnail_url"] = media_link(media_file=media_file, thumbnail=True, absolute=True)
    return out
