"""Media messages (issue 17): photos, voice notes, videos, documents, stickers, locations and
contact cards. CONTRACT between the media helpers; every function below is filled in by the
storage work, and the transport and inbox code against these names and meanings.

Chat.media (JSON) keys, all optional except `type`:
  type       image | video | audio | ptt | document | sticker | location | vcard
             (ptt = a voice note; WhatsApp's own type name, wa-js MsgModel.type)
  mimetype   sniffed from the bytes once they are stored (the page's claim until then)
  size       bytes
  filename   documents (and whatever the sender named)
  duration   seconds, audio / ptt / video
  width, height  pixels, image / video / sticker
  view_once  bool
  lat, lng, name, address   location
  vcard      the vCard text (contact cards)
  error      why the last fetch of the bytes failed
The caption is Chat.body. The bytes are Chat.media_file (a MediaFile) once
Chat.media_status is `ready`; `pending` means the worker hosting the number still has to
fetch them from its page; `failed` means it gave up (after retries).

Kinds with bytes: DOWNLOADABLE_KINDS. location and vcard have none."""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, Any

from accounts.models import Workspace
from messaging.models import Chat, MediaFile

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


def media_size_limit(kind: str) -> int:
    """WhatsApp's cap per kind, from settings: images 16 MB, video/audio 16 MB, documents
    100 MB (BLAZZ_MEDIA_MAX_*_BYTES)."""
    raise NotImplementedError


def media_file_store(
    *, workspace: Workspace, data: bytes | IO[bytes], kind: str, filename: str = ""
) -> MediaFile:
    """Stores bytes once per workspace (sha256), sniffing the mimetype from the bytes
    (a mismatch with `kind` stores application/octet-stream). Raises MediaRefused over the
    kind's size limit or the workspace quota. Idempotent: the same bytes return the same
    MediaFile."""
    raise NotImplementedError


def inbound_media_bytes_store(*, chat_pk: int, data: bytes) -> bool:
    """The worker fetched an inbound message's bytes from its page: store them (once), flip
    media_status pending -> ready, record `media.ready` (webhook + live push), queue the
    thumbnail. False (nothing done) when the chat is no longer pending (already stored)."""
    raise NotImplementedError


def inbound_media_fetch_failed(*, chat_pk: int, reason: str, permanent: bool = False) -> None:
    """The page could not hand the bytes over: retried later with backoff; after the last
    attempt (or when `permanent`, e.g. over the size limit) media_status becomes failed."""
    raise NotImplementedError


def media_fetches_due(*, session_pks: list[int], limit: int = 20) -> list[MediaFetch]:
    """Selector for the worker: pending inbound media of these sessions whose next attempt is
    due, oldest first."""
    raise NotImplementedError


def outbound_media_open(*, chat: Chat) -> IO[bytes]:
    """For the worker that sends an outbound media chat: the stored bytes, opened for reading."""
    raise NotImplementedError


def media_link(*, media_file: MediaFile, thumbnail: bool = False, absolute: bool = False) -> str:
    """A signed, expiring link to the bytes (or their thumbnail) that needs no API key:
    a path for the inbox (same origin), an absolute URL for webhooks."""
    raise NotImplementedError
