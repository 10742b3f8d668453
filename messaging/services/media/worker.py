"""What the worker hosting a number calls: the inbound media whose bytes it still has to
fetch from its page, storing them (or recording why not, with backoff), and opening an
outbound file to send. The claim on a pending fetch is a conditional update, so a fetch
done twice stores once."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from blazz.realtime import publish_to_workspace
from messaging.media.sniff import sniff_mimetype
from messaging.media.storage import media_storage, media_thumbnail_name
from messaging.models import Chat, MediaFile
from messaging.services.media.contract import DOWNLOADABLE_KINDS, MediaFetch, MediaRefused, media_size_limit
from messaging.services.media.store import STORAGE_ERRORS, media_file_open, media_file_store

logger = logging.getLogger(__name__)

# The page's own thumbnail of a video (wa-js MsgModel.body, a small JPEG) is kept only if it
# is an image of at most this size.
PAGE_THUMBNAIL_MAX_BYTES = 256 * 1024
ERROR_MAX_CHARS = 500


def _page_thumbnail_store(*, media_file: MediaFile, thumbnail: bytes) -> None:
    """Keeps the page's thumbnail of a video (there is no ffmpeg to take a frame) if it is a
    small raster image; the thumbnail task never overwrites it."""
    if media_file.thumbnail_name or not thumbnail or len(thumbnail) > PAGE_THUMBNAIL_MAX_BYTES:
        return
    if sniff_mimetype(thumbnail) not in ("image/jpeg", "image/png", "image/webp"):
        return
    name = media_thumbnail_name(media_file.storage_name)
    stored = media_storage().save(name, ContentFile(thumbnail, name=name))
    if MediaFile.objects.filter(pk=media_file.pk, thumbnail_name="").update(thumbnail_name=stored):
        media_file.thumbnail_name = stored


def _media_for_stored_file(media: dict[str, Any] | None, media_file: MediaFile) -> dict[str, Any]:
    described = dict(media or {})
    described.pop("error", None)
    described["mimetype"] = media_file.mimetype
    described["size"] = media_file.size
    if media_file.width and media_file.height:
        described.setdefault("width", media_file.width)
        described.setdefault("height", media_file.height)
    return described


def inbound_media_bytes_store(*, chat_pk: int, data: bytes, thumbnail: bytes | None = None) -> bool:
    """The worker fetched an inbound message's bytes from its page: store them (once), flip
    media_status pending -> ready, record `media.ready` (webhook + live push), queue the
    thumbnail. False (nothing done) when the chat is no longer pending (already stored).
    `thumbnail`: the page's JPEG thumbnail as bytes (wa-js puts it base64-encoded in a media
    message's `body`; the transport decodes it), kept as the thumbnail of a video if it is a
    raster image of at most PAGE_THUMBNAIL_MAX_BYTES; images get theirs from Pillow. Bytes
    refused (over the kind's limit, quota full) mark the media failed with the reason. Call
    outside a transaction (the bytes may go to S3)."""
    chat = (
        Chat.objects.filter(pk=chat_pk, media_status=Chat.MediaStatus.PENDING)
        .select_related("workspace")
        .first()
    )
    if chat is None:
        return False
    kind = (chat.media or {}).get("type", "document")
    try:
        media_file = media_file_store(
            workspace=chat.workspace, data=data, kind=kind, filename=(chat.media or {}).get("filename", "")
        )
    except MediaRefused as refused:
        inbound_media_fetch_failed(chat_pk=chat_pk, reason=str(refused), permanent=True)
        return False
    except STORAGE_ERRORS as exc:
        # The storage (a full disk, an unreachable bucket), not the bytes: tried again later.
        logger.warning("chat %s: media not stored: %s", chat_pk, exc)
        inbound_media_fetch_failed(chat_pk=chat_pk, reason=f"storage error: {exc}")
        return False
    if thumbnail and kind == "video":
        try:
            _page_thumbnail_store(media_file=media_file, thumbnail=thumbnail)
        except STORAGE_ERRORS:  # a video without a thumbnail is still the video
            logger.warning("media file %s: page thumbnail not stored", media_file.pk, exc_info=True)
    from messaging.services.common import chat_payload  # common imports this package: a cycle

    with transaction.atomic():
        # The conditional update is the claim: of two fetches of the same message, one flips
        # it, the other changes nothing (its bytes were deduplicated by media_file_store).
        flipped = Chat.objects.filter(pk=chat_pk, media_status=Chat.MediaStatus.PENDING).update(
            media_status=Chat.MediaStatus.READY,
            media_file=media_file,
            media=_media_for_stored_file(chat.media, media_file),
            media_next_attempt_at=None,
        )
        if not flipped:
            return False
        chat = Chat.objects.select_related("workspace", "whatsapp_session", "contact", "media_file").get(
            pk=chat_pk
        )
        payload = chat_payload(chat, session=chat.whatsapp_session, contact=chat.contact)
        from messaging.webhooks import webhook_events_record

        webhook_events_record(workspace_id=chat.workspace_id, event_type="media.ready", payload=payload)
        publish_to_workspace(workspace_uuid=chat.workspace.uuid, event="media.ready", payload=payload)
    return True


def _fetch_backoff(attempts: int) -> timedelta:
    base = settings.BLAZZ_MEDIA_FETCH_BACKOFF_S
    return timedelta(seconds=min(base * 2 ** max(attempts - 1, 0), 3600))


def inbound_media_fetch_failed(*, chat_pk: int, reason: str, permanent: bool = False) -> None:
    """The page could not hand the bytes over: retried later with backoff; after the last
    attempt (or when `permanent`, e.g. over the size limit) media_status becomes failed.
    Only a pending chat changes (a late failure report after the bytes arrived is ignored)."""
    reason = (reason or "unknown error").replace("\x00", "")[:ERROR_MAX_CHARS]
    with transaction.atomic():
        chat = (
            Chat.objects.select_for_update(of=("self",), no_key=True)
            .filter(pk=chat_pk, media_status=Chat.MediaStatus.PENDING)
            .select_related("workspace")
            .first()
        )
        if chat is None:
            return
        attempts = chat.media_attempts + 1
        media = dict(chat.media or {})
        media["error"] = reason
        if permanent or attempts >= settings.BLAZZ_MEDIA_FETCH_MAX_ATTEMPTS:
            Chat.objects.filter(pk=chat_pk).update(
                media_status=Chat.MediaStatus.FAILED,
                media_attempts=attempts,
                media=media,
                media_next_attempt_at=None,
            )
            logger.warning("chat %s: media failed after %s attempts: %s", chat_pk, attempts, reason)
            publish_to_workspace(
                workspace_uuid=chat.workspace.uuid,
                event="media.failed",
                payload={"uuid": str(chat.uuid), "error": reason},
            )
            return
        Chat.objects.filter(pk=chat_pk).update(
            media_attempts=attempts,
            media=media,
            media_next_attempt_at=timezone.now() + _fetch_backoff(attempts),
        )


def media_fetches_due(*, session_pks: list[int], limit: int = 20) -> list[MediaFetch]:
    """Selector for the worker: pending inbound media of these sessions whose next attempt is
    due, oldest first."""
    rows = (
        Chat.objects.filter(
            whatsapp_session_id__in=session_pks,
            media_status=Chat.MediaStatus.PENDING,
            media_next_attempt_at__lte=timezone.now(),
            direction=Chat.Direction.INBOUND,
        )
        .order_by("media_next_attempt_at", "pk")
        .values_list("pk", "whatsapp_session_id", "wam_id", "media")[:limit]
    )
    fetches = []
    for pk, session_pk, wam_id, media in rows:
        kind = (media or {}).get("type", "document")
        if kind not in DOWNLOADABLE_KINDS or not wam_id:
            continue
        fetches.append(
            MediaFetch(
                chat_pk=pk, session_pk=session_pk, wam_id=wam_id, kind=kind, size_limit=media_size_limit(kind)
            )
        )
    return fetches


def outbound_media_open(*, chat: Chat) -> IO[bytes]:
    """For the worker that sends an outbound media chat: the stored bytes, opened for reading."""
    if chat.media_file_id is None:
        raise MediaRefused("This message has no stored file.", field="media")
    return media_file_open(media_file=chat.media_file)
