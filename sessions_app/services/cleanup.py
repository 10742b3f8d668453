"""F6: sessions left waiting for a QR scan, or disconnected, for too long are stopped and
soft-deleted with their snapshots, by Beat every 10 minutes (the schedule is installed by
sessions_app migration 0003).

How old is a session? The moment it entered its current status: its latest `status_change`
SessionEvent into that status (every status change writes one, in the same transaction, in
`session_transition`), or its creation when it never changed status. `updated_at` is not
used: it moves with every save of any field (metadata, a QR rotation through save()), so a
session parked in `disconnected` for days could look fresh, and a session that only just
entered it could look old.

Concurrency: each session is claimed in its own short transaction with
`SELECT … FOR UPDATE SKIP LOCKED` that re-checks the whole staleness condition, so two
cleanups running at once (two beats, a slow run) never retire one session twice, and a
session that connected meanwhile is left alone."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, OuterRef, QuerySet, Subquery
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.services.common import ACTIVE_STATUSES, Status, session_transition
from sessions_app.services.snapshots import snapshot_drop
from sessions_app.services.workers import enqueue_on_session_worker

logger = logging.getLogger(__name__)

# Sessions retired per status and run; the next run (10 min later) takes the rest, so one
# run stays well inside the task time limit even after a long outage.
CLEANUP_BATCH = 500


@dataclass(frozen=True)
class CleanupResult:
    qr_scanning: int
    disconnected: int

    @property
    def total(self) -> int:
        return self.qr_scanning + self.disconnected


def stale_after() -> dict[str, timedelta]:
    """How long a session may stay in each status before the cleanup retires it."""
    return {
        Status.QR_SCANNING: timedelta(minutes=settings.BLAZZ_STALE_QR_MINUTES),
        Status.DISCONNECTED: timedelta(hours=settings.BLAZZ_STALE_DISCONNECTED_HOURS),
    }


def _entered_current_status_at():
    """When the session entered the status it has now (see the module docstring)."""
    entered = (
        SessionEvent.objects.filter(session=OuterRef("pk"), kind=SessionEvent.Kind.STATUS_CHANGE)
        .annotate(to_status=KeyTextTransform("to", "detail"))
        .filter(to_status=OuterRef("status"))
        .order_by("-at", "-id")
        .values("at")[:1]
    )
    return Coalesce(Subquery(entered), F("created_at"))


def stale_sessions(*, status: str, older_than: timedelta, now: datetime) -> QuerySet[WhatsAppSession]:
    """Live sessions that have been in `status` for longer than `older_than` at `now`,
    annotated with `status_since`."""
    return (
        WhatsAppSession.objects.filter(status=status, deleted_at__isnull=True)
        .annotate(status_since=_entered_current_status_at())
        .filter(status_since__lt=now - older_than)
    )


def _worker_may_host(session: WhatsAppSession) -> bool:
    """Whether a browser may still be open for the session on its worker: a live worker
    whose last heartbeat lists it, or a status that keeps a browser open. Otherwise a stop
    task would only bounce around as "unroutable"; and a browser that shows up anyway is
    closed by that worker's next heartbeat, which no longer holds a deleted session."""
    if session.assigned_worker_id is None:
        return False
    worker = WorkerInstance.objects.filter(pk=session.assigned_worker_id).only("status", "metrics").first()
    if worker is None or worker.status in (WorkerInstance.Status.DEAD, WorkerInstance.Status.RESCUING):
        return False
    if session.status in ACTIVE_STATUSES:
        return True
    reported = (worker.metrics or {}).get("sessions") if isinstance(worker.metrics, dict) else None
    return isinstance(reported, list) and session.pk in reported


@transaction.atomic
def session_cleanup_stale_one(*, session_pk: int, status: str, older_than: timedelta, now: datetime) -> bool:
    """Retires one session if it is still stale in `status` and no one else holds its row:
    its snapshot is dropped, its worker is told (after commit) to close the browser
    without snapshotting it, and it becomes `stopped` and soft-deleted (one SessionEvent,
    one `session.status` webhook event). Returns whether this call retired it."""
    session = (
        stale_sessions(status=status, older_than=older_than, now=now)
        .filter(pk=session_pk)
        .select_for_update(skip_locked=True, no_key=True)
        .first()
    )
    if session is None:
        return False  # connected meanwhile, already retired, or being retired right now
    snapshot_drop(session_pk=session.pk)
    if _worker_may_host(session):
        enqueue_on_session_worker("session_stop", session.pk, reason=f"stale {status}", snapshot=False)
    session_transition(
        session_pk=session.pk,
        to_status=Status.STOPPED,
        detail={"reason": f"stale {status}", "since": session.status_since.isoformat()},
        deleted_at=now,
        is_primary=False,
    )
    return True


def sessions_cleanup_stale(*, now: datetime | None = None) -> CleanupResult:
    """Stops and soft-deletes every session in `qr_scanning` for longer than
    BLAZZ_STALE_QR_MINUTES and in `disconnected` for longer than
    BLAZZ_STALE_DISCONNECTED_HOURS. Safe to run concurrently with itself: each session is
    retired by exactly one run."""
    now = now or timezone.now()
    retired: dict[str, int] = {}
    for status, older_than in stale_after().items():
        candidates = list(
            stale_sessions(status=status, older_than=older_than, now=now)
            .order_by("id")
            .values_list("pk", flat=True)[:CLEANUP_BATCH]
        )
        retired[status] = sum(
            session_cleanup_stale_one(session_pk=pk, status=status, older_than=older_than, now=now)
            for pk in candidates
        )
    result = CleanupResult(qr_scanning=retired[Status.QR_SCANNING], disconnected=retired[Status.DISCONNECTED])
    if result.total:
        logger.info(
            "stale cleanup retired %s qr_scanning and %s disconnected sessions",
            result.qr_scanning,
            result.disconnected,
        )
    return result
