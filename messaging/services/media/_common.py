"""What storing bytes and making thumbnails share: the content lock (a store and a delete of
the same bytes wait on it) and the thumbnail wake-up. Here so the store, the thumbnail sweep
and the cleanup use one copy without importing each other."""

from __future__ import annotations

import hashlib
import logging

from django.db import connection, transaction

logger = logging.getLogger(__name__)

THUMBNAIL_TASK = "messaging.tasks.media_thumbnail_make"


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


def _thumbnailable(mimetype: str) -> bool:
    from messaging.media.sniff import is_raster_image

    return is_raster_image(mimetype)
