"""Storing bytes: once per workspace (content-addressed), within the kind's size limit and the
workspace quota, and opening them again. Every way bytes come in (an upload, a URL fetch, a
worker's fetch from its page) goes through media_file_store."""

from __future__ import annotations

import hashlib
import io
import tempfile
from dataclasses import dataclass
from typing import IO

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.base import File
from django.db.models import Sum

from accounts.models import Workspace
from messaging.media.sniff import SNIFF_BYTES, mimetype_for_kind, sniff_mimetype
from messaging.media.storage import media_storage, media_storage_name
from messaging.models import MediaFile
from messaging.services.media._common import _ContentLock, _thumbnail_enqueue, _thumbnailable
from messaging.services.media.contract import MediaRefused, media_size_limit

_READ_CHUNK = 1024 * 1024
# What the storage raises when it, not the bytes, is at fault (the filesystem, or S3 through
# boto3): a fetch that met one is retried like a page that could not hand the bytes over.
STORAGE_ERRORS: tuple[type[Exception], ...] = (OSError, BotoCoreError, ClientError)


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


def media_file_open(*, media_file: MediaFile, thumbnail: bool = False) -> IO[bytes]:
    name = media_file.thumbnail_name if thumbnail else media_file.storage_name
    if not name:
        raise FileNotFoundError("no thumbnail")
    return media_storage().open(name, "rb")
