"""Login snapshots in the database (F1): the encrypted bytes come from
sessions_app.webjs.driver.snapshot; here they are stored and dropped."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance


def snapshot_store(
    *, session_pk: int, data: bytes, sha256: str, browser_version: str = ""
) -> SessionSnapshot:
    """Stores (replaces) the session's encrypted login snapshot."""
    snapshot, _ = SessionSnapshot.objects.update_or_create(
        session_id=session_pk,
        defaults={
            "data": data,
            "size_bytes": len(data),
            "sha256": sha256,
            "saved_at": timezone.now(),
            "browser_version": browser_version,
        },
    )
    SessionEvent.objects.create(
        session_id=session_pk,
        kind=SessionEvent.Kind.SNAPSHOT,
        detail={"size_bytes": len(data), "sha256": sha256},
    )
    return snapshot


def snapshot_drop(*, session_pk: int) -> None:
    SessionSnapshot.objects.filter(session_id=session_pk).delete()


def sessions_with_stale_snapshots() -> list[int]:
    """Connected sessions on live workers whose snapshot is missing or older than
    BLAZZ_SNAPSHOT_INTERVAL_SECONDS (the worker's own timer normally keeps them fresh)."""
    cutoff = timezone.now() - timedelta(seconds=settings.BLAZZ_SNAPSHOT_INTERVAL_SECONDS)
    return list(
        WhatsAppSession.objects.filter(
            deleted_at__isnull=True,
            status=WhatsAppSession.Status.CONNECTED,
            assigned_worker__status=WorkerInstance.Status.ALIVE,
        )
        .filter(Q(snapshot__isnull=True) | Q(snapshot__saved_at__lt=cutoff))
        .order_by("id")
        .values_list("pk", flat=True)
    )
