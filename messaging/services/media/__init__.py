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

Kinds with bytes: DOWNLOADABLE_KINDS. location and vcard have none.

A package (the ~500-line rule), each part owning one concern: `contract` (the kinds, types
and limits above), `store` (bytes in, once), `worker` (what the worker hosting a number
calls), `links` (signed links and the `media` payload), `thumbnails`, `cleanup`, and
`_common` (the content lock and the thumbnail wake-up they share). Callers import from here."""

from messaging.media.sniff import OCTET_STREAM
from messaging.services.media._common import THUMBNAIL_TASK
from messaging.services.media.cleanup import RETIRED_ERROR, media_cleanup, media_files_delete, media_orphans
from messaging.services.media.contract import (
    DOWNLOADABLE_KINDS,
    MEDIA_KINDS,
    MediaFetch,
    MediaRefused,
    OutboundMedia,
    media_size_limit,
)
from messaging.services.media.links import media_api_path, media_link, media_payload
from messaging.services.media.store import STORAGE_ERRORS, media_file_open, media_file_store, media_quota_used
from messaging.services.media.thumbnails import media_thumbnail_make, media_thumbnails_sweep
from messaging.services.media.worker import (
    ERROR_MAX_CHARS,
    PAGE_THUMBNAIL_MAX_BYTES,
    inbound_media_bytes_store,
    inbound_media_fetch_failed,
    media_fetches_due,
    outbound_media_open,
)

__all__ = [
    "DOWNLOADABLE_KINDS",
    "ERROR_MAX_CHARS",
    "MEDIA_KINDS",
    "OCTET_STREAM",
    "PAGE_THUMBNAIL_MAX_BYTES",
    "RETIRED_ERROR",
    "STORAGE_ERRORS",
    "THUMBNAIL_TASK",
    "MediaFetch",
    "MediaRefused",
    "OutboundMedia",
    "inbound_media_bytes_store",
    "inbound_media_fetch_failed",
    "media_api_path",
    "media_cleanup",
    "media_fetches_due",
    "media_file_open",
    "media_file_store",
    "media_files_delete",
    "media_link",
    "media_orphans",
    "media_payload",
    "media_quota_used",
    "media_size_limit",
    "media_thumbnail_make",
    "media_thumbnails_sweep",
    "outbound_media_open",
]
