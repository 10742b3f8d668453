"""Deleting bytes: files nothing refers to any more, and the media of numbers deleted long
ago. A file is kept while any row refers to it, whoever that is (campaigns live above)."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db.models import F, JSONField, Value
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.utils import timezone

from messaging.media.storage import media_storage
from messaging.models import Chat, MediaFile
from messaging.services.media._common import _ContentLock

logger = logging.getLogger(__name__)

RETIRED_ERROR = "removed: the number that received it was deleted"


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
