"""Writes for WhatsApp sessions: the lifecycle state machine, assignment to workers, the
connect transaction (F3) and snapshots (F1).

Only this module changes a session's status, through `session_transition`, so the
database, the UI (websocket) and webhooks never disagree.

Lock order (to avoid deadlocks between concurrent callers): WorkerInstance rows by id,
then WhatsAppSession rows by id."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from accounts.models import Workspace
from blazz.realtime import publish_to_workspace
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession, WorkerInstance

Status = WhatsAppSession.Status


class SessionServiceError(Exception):
    """A business rule refused the request; the message is safe to show to a user."""


class InvalidTransition(SessionServiceError):
    pass


class QrAttemptsExceeded(SessionServiceError):
    def __init__(self, wait_seconds: int):
        self.wait_seconds = wait_seconds
        minutes = max(1, round(wait_seconds / 60))
        super().__init__(
            f"Too many QR attempts for this workspace in the last hour; try again in about {minutes} min."
        )


class NoWorkerCapacity(SessionServiceError):
    def __init__(self) -> None:
        super().__init__("No session worker has free capacity right now; the number was not started.")


# Which status may follow which. `disconnected`, `failed` and `stopped` can start again.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.STARTING: frozenset({Status.QR_SCANNING, Status.AUTHENTICATED, Status.CONNECTED}),
    Status.QR_SCANNING: frozenset({Status.AUTHENTICATED, Status.CONNECTED, Status.STARTING}),
    Status.AUTHENTICATED: frozenset({Status.CONNECTED, Status.QR_SCANNING}),
    Status.CONNECTED: frozenset({Status.STARTING}),
    Status.DISCONNECTED: frozenset({Status.STARTING}),
    Status.FAILED: frozenset({Status.STARTING}),
    Status.STOPPED: frozenset({Status.STARTING}),
}
# Any live state may end this way.
TERMINAL_FROM_ANYWHERE = frozenset({Status.DISCONNECTED, Status.FAILED, Status.STOPPED})
# Statuses that occupy a worker's browser slot.
ACTIVE_STATUSES = (Status.STARTING, Status.QR_SCANNING, Status.AUTHENTICATED, Status.CONNECTED)


def transition_allowed(from_status: str, to_status: str) -> bool:
    if from_status == to_status:
        return True
    if to_status in TERMINAL_FROM_ANYWHERE:
        return True
    return to_status in ALLOWED_TRANSITIONS.get(from_status, frozenset())


def session_payload(session: WhatsAppSession) -> dict[str, Any]:
    return {
        "uuid": str(session.uuid),
        "session_id": session.session_id,
        "status": session.status,
        "phone_number": str(session.phone_number) if session.phone_number else None,
        "is_primary": session.is_primary,
        "worker": session.assigned_worker.name if session.assigned_worker_id else None,
    }


def _publish(session: WhatsAppSession, event: str, extra: dict[str, Any] | None = None) -> None:
    publish_to_workspace(
        workspace_uuid=session.workspace.uuid,
        event=event,
        payload={**session_payload(session), **(extra or {})},
    )


@transaction.atomic
def session_transition(
    *, session_pk: int, to_status: str, detail: dict[str, Any] | None = None, **fields: Any
) -> WhatsAppSession:
    """Moves a session to `to_status` if the state machine allows it, writing the extra
    `fields`, one SessionEvent, and (after commit) a websocket event. Moving to the status
    it already has writes the fields but no event. Raises InvalidTransition otherwise."""
    session = WhatsAppSession.objects.select_for_update().select_related("workspace").get(pk=session_pk)
    from_status = session.status
    if not transition_allowed(from_status, to_status):
        raise InvalidTransition(f"A session cannot go from {from_status} to {to_status}.")
    for name, value in fields.items():
        setattr(session, name, value)
    session.status = to_status
    session.save()
    if from_status != to_status:
        SessionEvent.objects.create(
            session=session,
            kind=SessionEvent.Kind.STATUS_CHANGE,
            detail={"from": from_status, "to": to_status, **(detail or {})},
        )
        _publish(session, "session.status")
    return session


# --- Workers and assignment -----------------------------------------------------------------


def worker_heartbeat_cutoff():
    return timezone.now() - timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS)


def live_workers_with_load():
    """Live workers annotated with `load` (active sessions) and `free` (capacity - load)."""
    active = Q(sessions__deleted_at__isnull=True, sessions__status__in=ACTIVE_STATUSES)
    return (
        WorkerInstance.objects.filter(
            status=WorkerInstance.Status.ALIVE, last_heartbeat_at__gte=worker_heartbeat_cutoff()
        )
        .annotate(load=Count("sessions", filter=active))
        .annotate(free=F("capacity") - F("load"))
    )


def worker_choose() -> WorkerInstance | None:
    """The live worker with the most free capacity (ties: fewest sessions, then name);
    None when every worker is full. Must run inside the assigning transaction, which
    holds the chosen worker's row lock until the assignment is written."""
    candidates = list(live_workers_with_load().filter(free__gt=0).order_by("-free", "load", "name"))
    if not candidates:
        return None
    # Lock, then re-count under the lock: two concurrent creates must not both take the
    # last slot of one worker.
    for worker in sorted(candidates, key=lambda w: w.id):
        WorkerInstance.objects.select_for_update().filter(pk=worker.pk).first()
    for worker in candidates:
        load = worker.sessions.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES).count()
        if load < worker.capacity:
            return worker
    return None


def lease_expiry():
    return timezone.now() + timedelta(seconds=settings.BLAZZ_SESSION_LEASE_SECONDS)


@dataclass(frozen=True)
class QrBudget:
    used: int
    limit: int
    wait_seconds: int


def qr_budget(*, workspace: Workspace) -> QrBudget:
    """QR attempts are sessions started toward a QR in the last hour (F12: too many QR
    attempts get numbers logged out in loops)."""
    since = timezone.now() - timedelta(hours=1)
    attempts = list(
        SessionEvent.objects.filter(
            session__workspace=workspace, kind=SessionEvent.Kind.QR_ATTEMPT, at__gte=since
        )
        .values_list("at", flat=True)
        .order_by("at")
    )
    limit = settings.BLAZZ_QR_ATTEMPTS_PER_HOUR
    wait = 0
    if len(attempts) >= limit:
        wait = (
            int((attempts[len(attempts) - limit] + timedelta(hours=1) - timezone.now()).total_seconds()) + 1
        )
    return QrBudget(used=len(attempts), limit=limit, wait_seconds=max(wait, 0))


def retire_stale_qr_sessions(*, workspace: Workspace) -> int:
    """Stops and soft-deletes the workspace's `qr_scanning` sessions whose QR expired
    unscanned (F6). A session whose QR is still valid is one an admin may be scanning, so
    it is kept."""
    now = timezone.now()
    stale = WhatsAppSession.objects.filter(
        workspace=workspace,
        deleted_at__isnull=True,
        status=Status.QR_SCANNING,
        qr_expires_at__lt=now - timedelta(seconds=settings.BLAZZ_QR_STALE_GRACE_SECONDS),
    ).values_list("pk", flat=True)
    count = 0
    for pk in stale:
        session_transition(
            session_pk=pk, to_status=Status.STOPPED, detail={"reason": "qr expired unscanned"}, deleted_at=now
        )
        count += 1
    return count


@transaction.atomic
def session_create(*, workspace: Workspace, created_by=None) -> WhatsAppSession:
    """Creates a number connection and assigns it to the least-loaded live worker.
    Raises QrAttemptsExceeded or NoWorkerCapacity (nothing is written then). The start
    task is enqueued by the caller's task layer after commit (see sessions_app.tasks)."""
    Workspace.objects.select_for_update().filter(pk=workspace.pk).first()  # serialises the QR budget
    retire_stale_qr_sessions(workspace=workspace)
    budget = qr_budget(workspace=workspace)
    if budget.used >= budget.limit:
        raise QrAttemptsExceeded(budget.wait_seconds)
    worker = worker_choose()
    if worker is None:
        raise NoWorkerCapacity()
    session = WhatsAppSession.objects.create(
        workspace=workspace,
        session_id=f"wa_{secrets.token_hex(8)}",
        status=Status.STARTING,
        assigned_worker=worker,
        lease_expires_at=lease_expiry(),
        created_by=created_by,
    )
    SessionEvent.objects.create(session=session, kind=SessionEvent.Kind.QR_ATTEMPT, detail={})
    SessionEvent.objects.create(
        session=session, kind=SessionEvent.Kind.ASSIGNMENT, detail={"worker": worker.name, "reason": "create"}
    )
    _publish(session, "session.created")
    return session


@transaction.atomic
def session_mark_connected(*, session_pk: int, phone_number: str) -> WhatsAppSession:
    """The page is ready as `phone_number`. In one transaction the workspace's other
    sessions with that phone are retired (disconnected; soft-deleted if they never
    connected) and this one becomes connected, so the partial unique constraint of F3
    never fires. Locks: this session, then the others by id."""
    session = WhatsAppSession.objects.select_for_update().get(pk=session_pk)
    others = list(
        WhatsAppSession.objects.select_for_update()
        .filter(workspace_id=session.workspace_id, phone_number=phone_number, deleted_at__isnull=True)
        .exclude(pk=session.pk)
        .order_by("id")
    )
    now = timezone.now()
    for other in others:
        fields: dict[str, Any] = {"is_primary": False} if other.is_primary else {}
        if other.last_connected_at is None:
            fields["deleted_at"] = now
        inherit_primary = other.is_primary
        session_transition(
            session_pk=other.pk,
            to_status=Status.DISCONNECTED,
            detail={"reason": "same phone connected in another session", "by": session.session_id},
            **fields,
        )
        if inherit_primary:
            session.is_primary = True
    return session_transition(
        session_pk=session.pk,
        to_status=Status.CONNECTED,
        phone_number=phone_number,
        last_connected_at=now,
        last_activity_at=now,
        restart_attempts=0,
        qr_code="",
        qr_expires_at=None,
        is_primary=session.is_primary or not _workspace_has_primary(session.workspace_id, exclude=session.pk),
    )


def _workspace_has_primary(workspace_id: int, *, exclude: int) -> bool:
    return (
        WhatsAppSession.objects.filter(workspace_id=workspace_id, is_primary=True, deleted_at__isnull=True)
        .exclude(pk=exclude)
        .exists()
    )


@transaction.atomic
def session_set_primary(*, session: WhatsAppSession) -> WhatsAppSession:
    """Makes `session` the workspace's primary number (idempotent)."""
    WhatsAppSession.objects.filter(workspace_id=session.workspace_id, is_primary=True).exclude(
        pk=session.pk
    ).update(is_primary=False)
    WhatsAppSession.objects.filter(pk=session.pk).update(is_primary=True)
    session.refresh_from_db()
    _publish(session, "session.primary")
    return session


@transaction.atomic
def session_delete(*, session: WhatsAppSession) -> WhatsAppSession:
    """Soft-deletes a session and drops its snapshot; its browser is stopped by the
    worker (the task layer enqueues the stop after commit). Idempotent."""
    if session.deleted_at is not None:
        return session
    SessionSnapshot.objects.filter(session=session).delete()
    return session_transition(
        session_pk=session.pk,
        to_status=Status.STOPPED,
        detail={"reason": "deleted"},
        deleted_at=timezone.now(),
        is_primary=False,
    )


# --- Snapshots (F1) ---------------------------------------------------------------------------


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
