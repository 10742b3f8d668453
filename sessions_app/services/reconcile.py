"""Reconciliation (Beat, every 30 s; DESIGN section 7, F9, F10): dead workers are declared
dead, the sessions they held (and sessions nobody holds or whose lease ran out) are given to
live workers and restored from their snapshots, their pending sends follow them, and the
routing cache is re-read from the database.

Safe to run concurrently with itself (a second beat, a slow run): one PostgreSQL advisory
lock admits one run at a time; the other returns at once with ``skipped``. Every move is
also a conditional, row-locked assignment, so a session is never given to two workers."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from sessions_app.listeners import session_moved_emit
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.services.common import (
    ACTIVE_STATUSES,
    RESTORE_ORDER,
    NoWorkerCapacity,
    Status,
    session_transition,
)
from sessions_app.services.snapshots import snapshot_drop
from sessions_app.services.workers import enqueue_on_session_worker, session_assign, worker_heartbeat_cutoff

logger = logging.getLogger(__name__)

# pg advisory lock id: "blazz" + 1, any constant unique to this job.
RECONCILE_LOCK_ID = 0x626C617A7A01


@dataclass
class ReconcileReport:
    skipped: bool = False
    workers_dead: list[str] = field(default_factory=list)
    moved: list[int] = field(default_factory=list)
    unplaced: list[int] = field(default_factory=list)
    sends_released: int = 0
    verbs_resent: list[int] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "skipped": self.skipped,
            "workers_dead": self.workers_dead,
            "moved": self.moved,
            "unplaced": self.unplaced,
            "sends_released": self.sends_released,
            "verbs_resent": self.verbs_resent,
        }


def sessions_reconcile() -> ReconcileReport:
    """One reconciliation pass. Never holds a row lock across a session's move: each move
    is its own short transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [RECONCILE_LOCK_ID])
        (locked,) = cursor.fetchone()
    if not locked:
        return ReconcileReport(skipped=True)
    try:
        report = ReconcileReport(workers_dead=workers_mark_dead())
        # Before the moves: a session its user stopped must not be restarted elsewhere.
        for session_pk in sessions_with_lost_verbs():
            if session_verb_resend(session_pk=session_pk):
                report.verbs_resent.append(session_pk)
        for session_pk in sessions_needing_a_worker():
            try:
                requeued = session_fail_over(session_pk=session_pk)
            except NoWorkerCapacity:
                report.unplaced.append(session_pk)
                continue
            if requeued is not None:
                report.moved.append(session_pk)
                report.sends_released += requeued
        if report.workers_dead or report.moved or report.unplaced or report.verbs_resent:
            logger.warning("reconcile: %s", report.as_dict())
        return report
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [RECONCILE_LOCK_ID])


def workers_mark_dead() -> list[str]:
    """Workers whose heartbeat is older than BLAZZ_WORKER_DEAD_AFTER_SECONDS are dead, and so
    are those whose reaper began a rescue more than BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS ago
    and never finished it (the reaper marks the worker dead itself when it does)."""
    rescue_cutoff = timezone.now() - timezone.timedelta(seconds=settings.BLAZZ_WORKER_RESCUE_DEADLINE_SECONDS)
    stale = Q(
        status__in=(WorkerInstance.Status.ALIVE, WorkerInstance.Status.DRAINING),
        last_heartbeat_at__lt=worker_heartbeat_cutoff(),
    ) | Q(status=WorkerInstance.Status.RESCUING, last_heartbeat_at__lt=rescue_cutoff)
    names = []
    for worker in WorkerInstance.objects.filter(stale):
        # Conditional: a heartbeat (or a rescue beginning) that arrived meanwhile wins.
        marked = WorkerInstance.objects.filter(stale, pk=worker.pk).update(status=WorkerInstance.Status.DEAD)
        if marked:
            names.append(worker.name)
    return names


def _verb_resend_cutoff():
    return timezone.now() - timezone.timedelta(seconds=settings.BLAZZ_SESSION_VERB_RESEND_SECONDS)


def sessions_with_lost_verbs() -> list[int]:
    """Sessions whose stop, restart or logout has been pending longer than
    BLAZZ_SESSION_VERB_RESEND_SECONDS: its Celery message was lost (a broker that lost its
    data) or its worker died before carrying it out."""
    return list(
        WhatsAppSession.objects.exclude(pending_verb="")
        .filter(pending_verb_at__lt=_verb_resend_cutoff())
        .order_by("id")
        .values_list("pk", flat=True)
    )


@transaction.atomic
def session_verb_resend(*, session_pk: int) -> bool:
    """Carries a lost verb through: sent again to the session's live worker, or, when no
    live worker hosts the session, done here on the row (a stop or logout of a session no
    browser runs is a status change; a restart is left to the moves that follow, which start
    it from its snapshot). Returns whether anything was done."""
    session = (
        WhatsAppSession.objects.select_for_update(of=("self",), skip_locked=True, no_key=True)
        .select_related("assigned_worker")
        .filter(pk=session_pk, pending_verb_at__lt=_verb_resend_cutoff())
        .exclude(pending_verb="")
        .first()
    )
    if session is None:
        return False  # done or being handled meanwhile
    verb = session.pending_verb
    worker = session.assigned_worker
    hosted = (
        session.deleted_at is None
        and session.status in ACTIVE_STATUSES
        and worker is not None
        and worker.status == WorkerInstance.Status.ALIVE
    )
    if hosted:
        WhatsAppSession.objects.filter(pk=session_pk).update(pending_verb_at=timezone.now())
        SessionEvent.objects.create(
            session_id=session_pk, kind=SessionEvent.Kind.ERROR, detail={"verb_resent": verb}
        )
        extra = {"snapshot": True} if verb == WhatsAppSession.Verb.STOP else {}
        enqueue_on_session_worker(
            f"session_{verb}", session_pk, reason=f"{verb} (re-sent)", requested=True, **extra
        )
        return True
    WhatsAppSession.objects.filter(pk=session_pk).update(pending_verb="", pending_verb_at=None)
    if session.deleted_at is None and session.status in ACTIVE_STATUSES:
        if verb == WhatsAppSession.Verb.STOP:
            session_transition(session_pk=session_pk, to_status=Status.STOPPED, detail={"reason": "stop"})
        elif verb == WhatsAppSession.Verb.LOGOUT:
            snapshot_drop(session_pk=session_pk)
            session_transition(
                session_pk=session_pk, to_status=Status.DISCONNECTED, detail={"reason": "logout"}
            )
    return True


def sessions_needing_a_worker() -> list[int]:
    """Live sessions (not deleted, in an active status) held by no live worker: unassigned,
    assigned to a dead or missing worker, or with a lease nobody renewed (the assigned
    worker is up but does not report it, so does not host it). Not those of a worker being
    rescued: moving them before the reaper's snapshots land would restore an older login
    state, without the messages the dead worker's pages received and nobody stored."""
    now = timezone.now()
    grace = timezone.timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS)
    return list(
        WhatsAppSession.objects.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES)
        .filter(
            Q(assigned_worker__isnull=True)
            | ~Q(assigned_worker__status=WorkerInstance.Status.ALIVE)
            | Q(lease_expires_at__lt=now - grace)
            | Q(lease_expires_at__isnull=True)
        )
        .exclude(assigned_worker__status=WorkerInstance.Status.RESCUING)
        .order_by(*RESTORE_ORDER)
        .values_list("pk", flat=True)
    )


@transaction.atomic
def session_fail_over(*, session_pk: int) -> int | None:
    """Gives the session to a live worker with room and starts it there from its snapshot
    (no QR scan for a connected one), and sends its pending outbound messages after it.
    Returns how many claimed sends were released, or None if the session no longer needs moving
    (another run or a heartbeat fixed it meanwhile). Raises NoWorkerCapacity."""
    session = (
        WhatsAppSession.objects.select_for_update(of=("self",), no_key=True)
        .select_related("assigned_worker")
        .get(pk=session_pk)
    )
    if session.deleted_at is not None or session.status not in ACTIVE_STATUSES:
        return None
    previous = session.assigned_worker
    if previous is not None and previous.status == WorkerInstance.Status.RESCUING:
        return None  # its reaper's snapshot comes first; the next run moves it
    if previous is not None and previous.status == WorkerInstance.Status.ALIVE:
        lease_ok = session.lease_expires_at is not None and session.lease_expires_at >= timezone.now() - (
            timezone.timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS)
        )
        if lease_ok:
            return None
    reason = _why(previous)
    exclude = previous if previous is not None and previous.status != WorkerInstance.Status.ALIVE else None
    moved = session_assign(session_pk=session_pk, reason=reason, exclude=exclude)
    # Starting it on its new worker is the restart a user may have asked of the old one.
    WhatsAppSession.objects.filter(pk=session_pk, pending_verb=WhatsAppSession.Verb.RESTART).update(
        pending_verb="", pending_verb_at=None
    )
    SessionEvent.objects.create(
        session_id=session_pk,
        kind=SessionEvent.Kind.FAILOVER,
        detail={
            "from": previous.name if previous else None,
            "to": moved.assigned_worker.name,
            "reason": reason,
        },
    )
    enqueue_on_session_worker("session_start", session_pk)
    # Sends the dead worker had claimed may or may not have left; they carry their Chat's
    # uuid as WhatsApp message id, so sending them again cannot make a second message.
    # The new page sends every pending message once it is ready (page_events).
    return session_moved_emit(session_pk=session_pk)


def _why(previous: WorkerInstance | None) -> str:
    if previous is None:
        return "no worker held it"
    if previous.status != WorkerInstance.Status.ALIVE:
        return f"worker {previous.name} is {previous.status}"
    return f"worker {previous.name} did not renew its lease"
