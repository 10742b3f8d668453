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

import hashlib
import io
import logging
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from typing import IO, Any

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import connection, transaction
from django.db.models import F, JSONField, Sum, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Workspace
from blazz.realtime import publish_to_workspace
from messaging.media.links import absolute, media_signed_path
from messaging.media.sniff import OCTET_STREAM, SNIFF_BYTES, mimetype_for_kind, sniff_mimetype
from messaging.media.storage import media_storage, media_storage_name, media_thumbnail_name
from messaging.models import Chat, MediaFile

logger = logging.getLogger(__name__)

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


_READ_CHUNK = 1024 * 1024
_KIND_LIMIT_SETTING = {
    "image": "BLAZZ_MEDIA_MAX_IMAGE_BYTES",
    "video": "BLAZZ_MEDIA_MAX_VIDEO_BYTES",
    "audio": "BLAZZ_MEDIA_MAX_AUDIO_BYTES",
    "ptt": "BLAZZ_MEDIA_MAX_AUDIO_BYTES",
    "document": "BLAZZ_MEDIA_MAX_DOCUMENT_BYTES",
    "sticker": "BLAZZ_MEDIA_MAX_STICKER_BYTES",
}
THUMBNAIL_TASK = "messaging.tasks.media_thumbnail_make"
# What the storage raises when it, not the bytes, is at fault (the filesystem, or S3 through
# boto3): a fetch that met one is retried like a page that could not hand the bytes over.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)
# The page's own thumbnail of a video (wa-js MsgModel.body, a small JPEG) is kept only if it
# is an image of at most this size.
PAGE_THUMBNAIL_MAX_BYTES = 256 * 1024
ERROR_MAX_CHARS = 500
RETIRED_ERROR = "removed: the number that received it was deleted"


def media_size_limit(kind: str) -> int:
    """WhatsApp's cap per kind, from settings: images 16 MB, video/audio 16 MB, documents
    100 MB, stickers 1 MB (BLAZZ_MEDIA_MAX_*_BYTES)."""
    setting = _KIND_LIMIT_SETTING.get(kind)
    if setting is None:
        raise MediaRefused(f"A {kind} message carries no file.", field="type")
    return int(getattr(settings, setting))


def _mb(size: int) -> str:
    return f"{size / (1024 * 1024):.0f} MB" if size >= 1024 * 1024 else f"{size} bytes"


@dataclass
class _Spooled:
    file: IO[bytes]
    sha256: str
    size: int
    head: bytes


def _spool(data: bytes | IO[bytes], *, limit: int, kind: str) -> _Spooled:
    """Hashes the bytes and keeps them (a file object is copied to a spooled temporary file,
    read in chunks and refused as soon as it passes `limit`, never read whole into memory)."""
    too_big = MediaRefused(f"The {kind} is larger than {_mb(limit)}.", status=413, field="file")
    if isinstance(data, bytes | bytearray | memoryview):
        raw = bytes(data)
        if len(raw) > limit:
            raise too_big
        return _Spooled(io.BytesIO(raw), hashlib.sha256(raw).hexdigest(), len(raw), raw[:SNIFF_BYTES])
    digest = hashlib.sha256()
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    size = 0
    head = b""
    if hasattr(data, "seek"):
        try:
            data.seek(0)
        except (OSError, ValueError):
            pass
    while chunk := data.read(_READ_CHUNK):
        size += len(chunk)
        if size > limit:
            spool.close()
            raise too_big
        if len(head) < SNIFF_BYTES:
            head += chunk[: SNIFF_BYTES - len(head)]
        digest.update(chunk)
        spool.write(chunk)
    spool.seek(0)
    return _Spooled(spool, digest.hexdigest(), size, head)


class _ContentLock:
    """A PostgreSQL session advisory lock on (workspace, sha256): two processes storing the
    same bytes at once write them once, one after the other. A session lock rather than a
    transaction lock so the storage write (maybe an S3 PUT) happens outside any transaction."""

    def __init__(self, workspace_pk: int, sha256: str) -> None:
        digest = hashlib.blake2b(f"media:{workspace_pk}:{sha256}".encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big", signed=True)

    def __enter__(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [self.key])

    def __exit__(self, *exc: object) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])


def media_quota_used(*, workspace: Workspace) -> int:
    return int(MediaFile.objects.filter(workspace=workspace).aggregate(total=Sum("size"))["total"] or 0)


def _quota_check(*, workspace: Workspace, size: int) -> None:
    quota = settings.BLAZZ_MEDIA_WORKSPACE_QUOTA_BYTES
    if quota <= 0:
        return
    used = media_quota_used(workspace=workspace)
    if used + size > quota:
        raise MediaRefused(
            f"This workspace's media storage is full ({_mb(used)} of {_mb(quota)} used); "
            "delete old media or ask for a larger quota.",
            status=413,
            field="file",
        )


def media_file_store(
    *, workspace: Workspace, data: bytes | IO[bytes], kind: str, filename: str = ""
) -> MediaFile:
    """Stores bytes once per workspace (sha256), sniffing the mimetype from the bytes
    (a mismatch with `kind` stores application/octet-stream). Raises MediaRefused over the
    kind's size limit or the workspace quota. Idempotent: the same bytes return the same
    MediaFile (with the mimetype of their first store), also when two processes store them at
    the same moment (an advisory lock on the content, and the unique (workspace, sha256)
    constraint behind it). A new image gets its thumbnail task queued after commit. Must not be called
    inside a transaction that other writers wait on: it may write to S3."""
    spooled = _spool(data, limit=media_size_limit(kind), kind=kind)
    try:
        existing = MediaFile.objects.filter(workspace=workspace, sha256=spooled.sha256).first()
        if existing is not None:
            return existing
        if spooled.size == 0:
            raise MediaRefused("The file is empty.", field="file")
        mimetype = mimetype_for_kind(kind=kind, sniffed=sniff_mimetype(spooled.head))
        with _ContentLock(workspace.pk, spooled.sha256):
            existing = MediaFile.objects.filter(workspace=workspace, sha256=spooled.sha256).first()
            if existing is not None:
                return existing  # another process stored these bytes while we waited
            # The quota is checked under the content lock only: concurrent stores of
            # different files may pass it together and overshoot it by those files.
            _quota_check(workspace=workspace, size=spooled.size)
            width = height = None
            if mimetype.startswith("image/"):
                from messaging.media.thumbnails import image_size

                spooled.file.seek(0)
                dimensions = image_size(spooled.file)
                if dimensions:
                    width, height = dimensions
            spooled.file.seek(0)
            name = media_storage_name(workspace_uuid=workspace.uuid, sha256=spooled.sha256)
            # Content-addressed: storing the same name again (a row lost after the write)
            # overwrites the same bytes (allow_overwrite / file_overwrite in the storage).
            stored_name = media_storage().save(name, File(spooled.file, name=name))
            media_file, created = MediaFile.objects.get_or_create(
                workspace=workspace,
                sha256=spooled.sha256,
                defaults={
                    "size": spooled.size,
                    "mimetype": mimetype,
                    "storage_name": stored_name,
                    "width": width,
                    "height": height,
                },
            )
            if created and _thumbnailable(mimetype):
                _thumbnail_enqueue(media_file.pk)
            return media_file
    finally:
        spooled.file.close()


def _thumbnail_enqueue(media_file_pk: int) -> None:
    """After commit: a wake-up for the general worker; media_thumbnails_sweep finds what a
    lost message left undone."""
    from blazz.celery import app as celery_app

    def send() -> None:
        try:
            celery_app.send_task(THUMBNAIL_TASK, kwargs={"media_file_pk": media_file_pk})
        except Exception:  # the broker is down: the Beat sweep makes it later
            logger.warning("media file %s: thumbnail task not queued", media_file_pk, exc_info=True)

    transaction.on_commit(send)


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
    from messaging.services.common import chat_payload

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


def _thumbnailable(mimetype: str) -> bool:
    from messaging.media.sniff import is_raster_image

    return is_raster_image(mimetype)


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


def media_file_open(*, media_file: MediaFile, thumbnail: bool = False) -> IO[bytes]:
    name = media_file.thumbnail_name if thumbnail else media_file.storage_name
    if not name:
        raise FileNotFoundError("no thumbnail")
    return media_storage().open(name, "rb")


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


def media_thumbnail_make(*, media_file_pk: int) -> bool:
    """General worker: a bounded JPEG thumbnail of a stored image or sticker (Pillow,
    decompression bombs refused). Safe to run twice: the name is conditional on none yet.
    A file Pillow refuses is marked so the sweep stops retrying it."""
    from messaging.media.thumbnails import ThumbnailRefused, thumbnail_jpeg

    media_file = MediaFile.objects.filter(pk=media_file_pk, thumbnail_name="", thumbnail_failed=False).first()
    if media_file is None or not _thumbnailable(media_file.mimetype):
        return False
    try:
        with media_storage().open(media_file.storage_name, "rb") as source:
            jpeg = thumbnail_jpeg(source)
    except (ThumbnailRefused, FileNotFoundError) as exc:
        logger.warning("media file %s: no thumbnail: %s", media_file_pk, exc)
        MediaFile.objects.filter(pk=media_file_pk).update(thumbnail_failed=True)
        return False
    name = media_thumbnail_name(media_file.storage_name)
    stored = media_storage().save(name, ContentFile(jpeg, name=name))
    return bool(MediaFile.objects.filter(pk=media_file_pk, thumbnail_name="").update(thumbnail_name=stored))


def media_thumbnails_sweep(*, older_than_s: int = 60, limit: int = 200) -> list[int]:
    """Beat: images stored a while ago still without a thumbnail (their task was lost) get
    their task again."""
    from messaging.media.sniff import _RASTER_IMAGES

    cutoff = timezone.now() - timedelta(seconds=older_than_s)
    pks = list(
        MediaFile.objects.filter(
            thumbnail_name="", thumbnail_failed=False, mimetype__in=_RASTER_IMAGES, created_at__lt=cutoff
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    for pk in pks:
        _thumbnail_enqueue(pk)
    return pks


def media_files_delete(*, media_file_pks: list[int]) -> int:
    """Deletes these MediaFiles and their bytes, each only if nothing refers to it any more
    (any foreign key to MediaFile counts: chats, campaigns...). Row first, then the bytes:
    a crash in between leaves an unreferenced file, never a row without bytes."""
    deleted = 0
    for media_file in MediaFile.objects.filter(pk__in=media_file_pks):
        with _ContentLock(media_file.workspace_id, media_file.sha256):
            if _in_use(media_file):
                continue
            names = [n for n in (media_file.storage_name, media_file.thumbnail_name) if n]
            # Conditional on the same row still existing; a store of the same bytes waits on
            # the content lock, so it cannot reuse the row we are deleting.
            if not MediaFile.objects.filter(pk=media_file.pk).delete()[0]:
                continue
            for name in names:
                try:
                    media_storage().delete(name)
                except OSError:
                    logger.warning("media file %s: could not delete %s", media_file.pk, name, exc_info=True)
            deleted += 1
    return deleted


def _referring_relations() -> list[Any]:
    """Every field of another model that points at MediaFile (foreign keys, one-to-one and
    many-to-many), hidden ones (`related_name="+"`) included: whatever refers to a file keeps
    it, without this module knowing who (campaign attachments live in a layer above)."""
    return [
        rel
        for rel in MediaFile._meta.get_fields(include_hidden=True)
        if rel.is_relation and rel.auto_created and not rel.concrete and rel.related_model is not MediaFile
    ]


def _referring_values(rel: Any) -> Any:
    """The MediaFile pks that `rel`'s model refers to, as a subquery."""
    model, name = rel.related_model, rel.field.name
    return model._base_manager.filter(**{f"{name}__isnull": False}).values(name)


def _in_use(media_file: MediaFile) -> bool:
    return any(
        rel.related_model._base_manager.filter(**{rel.field.name: media_file.pk}).exists()
        for rel in _referring_relations()
    )


def media_orphans(*, older_than_s: int = 3600, limit: int = 500) -> list[int]:
    """MediaFiles nothing refers to (no chat, no campaign: any foreign key), stored more than
    `older_than_s` ago (an upload about to be attached to a send is not an orphan yet)."""
    queryset = MediaFile.objects.filter(created_at__lt=timezone.now() - timedelta(seconds=older_than_s))
    for rel in _referring_relations():
        queryset = queryset.exclude(pk__in=_referring_values(rel))
    return list(queryset.order_by("pk").values_list("pk", flat=True)[:limit])


def media_cleanup() -> dict[str, int]:
    """Beat (maintenance queue): detaches the media of numbers deleted more than
    BLAZZ_MEDIA_RETIRED_NUMBER_DAYS ago (their messages stay, marked without bytes), then
    deletes every orphan file with its bytes."""
    from sessions_app.models import WhatsAppSession

    cutoff = timezone.now() - timedelta(days=settings.BLAZZ_MEDIA_RETIRED_NUMBER_DAYS)
    retired = WhatsAppSession.objects.filter(deleted_at__lt=cutoff).values("pk")
    # The message stays; its media says why the bytes are gone (status failed, `error`), so
    # the inbox and the API show a reason instead of a broken link.
    removed = Value({"error": RETIRED_ERROR}, output_field=JSONField())
    detached = Chat.objects.filter(whatsapp_session__in=retired, media_file__isnull=False).update(
        media_file=None,
        media_status=Chat.MediaStatus.FAILED,
        media=CombinedExpression(Coalesce(F("media"), Value({}, output_field=JSONField())), "||", removed),
    )
    deleted = media_files_delete(media_file_pks=media_orphans())
    return {"detached": detached, "deleted": deleted}


__all__ = [
    "DOWNLOADABLE_KINDS",
    "MEDIA_KINDS",
    "OCTET_STREAM",
    "MediaFetch",
    "MediaRefused",
    "OutboundMedia",
    "inbound_media_bytes_store",
    "inbound_media_fetch_failed",
    "media_cleanup",
    "media_fetches_due",
    "media_file_open",
    "media_file_store",
    "media_link",
    "media_payload",
    "media_size_limit",
    "media_thumbnail_make",
    "media_thumbnails_sweep",
    "outbound_media_open",
]
