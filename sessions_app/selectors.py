"""Reads for WhatsApp sessions, shared by the UI, the API and the admin. Every read made
for a request is scoped to the caller's workspace (accounts.tenancy)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db.models import Count, Q, QuerySet

from accounts.models import Workspace
from accounts.tenancy import get_scoped_or_404, scoped
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance

TIMELINE_LENGTH = 50

# A number that can send and receive now: connected and not deleted. The one definition the
# inbox, sending, campaigns and the dashboard share.
CONNECTED_NUMBER = Q(status=WhatsAppSession.Status.CONNECTED, deleted_at__isnull=True)


def connected_numbers(*, workspace: Workspace | int) -> QuerySet[WhatsAppSession]:
    """The workspace's connected numbers, the primary first, then the most recently connected."""
    return (
        scoped(WhatsAppSession, workspace)
        .filter(CONNECTED_NUMBER)
        .order_by("-is_primary", "-last_connected_at", "id")
    )


def number_is_connected(session: WhatsAppSession | None) -> bool:
    return (
        session is not None
        and session.status == WhatsAppSession.Status.CONNECTED
        and session.deleted_at is None
    )


def sessions_of_workspace(*, workspace: Workspace) -> QuerySet[WhatsAppSession]:
    """The workspace's numbers that are not soft-deleted, newest first."""
    return (
        scoped(WhatsAppSession, workspace)
        .filter(deleted_at__isnull=True)
        .select_related("assigned_worker")
        .order_by("-is_primary", "-created_at")
    )


def session_get_or_404(*, workspace: Workspace, session_uuid) -> WhatsAppSession:
    """One live (not soft-deleted) number of the workspace. A deleted, foreign or malformed
    id is Http404, which both Django and DRF answer with a 404."""
    return get_scoped_or_404(
        WhatsAppSession.objects.select_related("assigned_worker", "workspace"),
        workspace,
        uuid=session_uuid,
        deleted_at__isnull=True,
    )


def number_by_uuid(
    *, workspace: Workspace | int, value: object, include_deleted: bool = False
) -> WhatsAppSession | None:
    """The workspace's number with this uuid (a form field, a query value, an API field, a
    UUID): None when blank, malformed, another workspace's, or deleted (unless asked for)."""
    if not value:
        return None
    numbers = scoped(WhatsAppSession, workspace)
    if not include_deleted:
        numbers = numbers.filter(deleted_at__isnull=True)
    try:
        return numbers.filter(uuid=value).first()
    except (ValueError, ValidationError):
        return None


def session_by_idempotency_key(*, workspace: Workspace, key: str) -> WhatsAppSession | None:
    """The session an API client created with this `Idempotency-Key`, deleted or not (the
    caller decides what a replay of a deleted one means)."""
    return (
        scoped(WhatsAppSession, workspace)
        .filter(idempotency_key=key)
        .select_related("assigned_worker")
        .order_by("id")
        .first()
    )


def session_timeline(*, session: WhatsAppSession, limit: int = TIMELINE_LENGTH) -> list[SessionEvent]:
    """The latest events of the session, newest first."""
    return list(session.events.order_by("-at", "-id")[:limit])


def session_events(*, session: WhatsAppSession, kind: str | None = None) -> QuerySet[SessionEvent]:
    """The session's whole timeline (for the API to page through), optionally one kind."""
    events = session.events.all()
    return events.filter(kind=kind) if kind else events


@dataclass(frozen=True)
class CurrentQr:
    code: str
    expires_at: datetime | None


def session_current_qr(*, session: WhatsAppSession) -> CurrentQr | None:
    """The QR code the session's page shows right now, or None. Only a session waiting for
    a scan has one that means anything: an old code of a connected number is not shown."""
    if session.status != WhatsAppSession.Status.QR_SCANNING or not session.qr_code:
        return None
    return CurrentQr(code=session.qr_code, expires_at=session.qr_expires_at)


def workers_with_session_counts() -> QuerySet[WorkerInstance]:
    """Workers annotated with `session_count`: the live (not deleted) sessions assigned to
    each, whatever their status, as the database sees it (the heartbeat's own list is in
    `metrics`)."""
    return WorkerInstance.objects.annotate(
        session_count=Count("sessions", filter=Q(sessions__deleted_at__isnull=True))
    )
