"""Thumbnails of stored images, made on the general worker after the store commits; the Beat
sweep re-queues what a lost task left undone."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.files.base import ContentFile
from django.utils import timezone

from messaging.media.storage import media_storage, media_thumbnail_name
from messaging.models import MediaFile
from messaging.services.media._common import _thumbnail_enqueue, _thumbnailable

logger = logging.getLogger(__name__)


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
