"""Login snapshots in the database (F1): the encrypted bytes come from
sessions_app.driver.snapshot; here they are stored and dropped."""

from __future__ import annotations

from django.utils import timezone

from sessions_app.models import SessionEvent, SessionSnapshot


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
