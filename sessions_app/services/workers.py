"""Session workers and assignment: registration, heartbeats, leases, capacity (F1, F2, F8,
F9, F10). Lock order: WorkerInstance rows by id, then WhatsAppSession rows by id."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from blazz.celery import app as celery_app
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.routing import route_invalidate, session_queue
from sessions_app.services.common import ACTIVE_STATUSES, RESTORE_ORDER, NoWorkerCapacity, SessionServiceError

logger = logging.getLogger(__name__)


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


def worker_choose(*, exclude: WorkerInstance | None = None) -> WorkerInstance | None:
    """The live worker with the most free capacity (ties: fewest sessions, then name);
    None when every worker is full. Must run inside the assigning transaction, which
    holds the chosen worker's row lock until the assignment is written."""
    workers = live_workers_with_load().filter(free__gt=0)
    if exclude is not None:
        workers = workers.exclude(pk=exclude.pk)
    candidates = list(workers.order_by("-free", "load", "name"))
    if not candidates:
        return None
    # Lock, then re-count under the lock: two concurrent creates must not both take the
    # last slot of one worker.
    for worker in sorted(candidates, key=lambda w: w.id):
        WorkerInstance.objects.select_for_update(no_key=True).filter(pk=worker.pk).first()
    for worker in candidates:
        load = worker.sessions.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES).count()
        if load < worker.capacity:
            return worker
    return None


def lease_expiry():
    return timezone.now() + timedelta(seconds=settings.BLAZZ_SESSION_LEASE_SECONDS)


def enqueue_on_session_worker(action: str, session_pk: int, *, robust: bool = False, **kwargs: Any) -> None:
    """After commit, sends `sessions_app.tasks.<action>` to the queue of the session's
    worker (resolved through the routing cache). Tasks are looked up by name so services
    never import the task layer.

    `robust`: the work lives in a table a Beat sweep rereads (a send), so this message is
    only a wake-up call. When Redis cannot take it, the error is logged and the caller's
    committed work stands, instead of failing a request whose row already exists (a client
    told 500 would send again)."""

    def send() -> None:
        queue = session_queue(session_pk)
        if queue is None:
            # Reconciliation assigns it to a live worker and starts it; nothing is lost.
            logger.warning("session %s has no worker; %s left to reconciliation", session_pk, action)
            return
        celery_app.send_task(
            f"sessions_app.tasks.{action}", kwargs={"session_pk": session_pk, **kwargs}, queue=queue
        )

    transaction.on_commit(send, robust=robust)


@transaction.atomic
def session_assign(
    *,
    session_pk: int,
    reason: str,
    worker: WorkerInstance | None = None,
    exclude: WorkerInstance | None = None,
) -> WhatsAppSession:
    """Gives the session to `worker` (or the least-loaded live one) with a fresh lease.
    Raises NoWorkerCapacity. The routing cache is invalidated now and after commit."""
    worker = worker or worker_choose(exclude=exclude)
    if worker is None:
        raise NoWorkerCapacity()
    session = WhatsAppSession.objects.select_for_update(no_key=True).get(pk=session_pk)
    previous = session.assigned_worker.name if session.assigned_worker_id else None
    session.assigned_worker = worker
    session.lease_expires_at = lease_expiry()
    session.save(update_fields=["assigned_worker", "lease_expires_at", "updated_at"])
    SessionEvent.objects.create(
        session=session,
        kind=SessionEvent.Kind.ASSIGNMENT,
        detail={"worker": worker.name, "previous": previous, "reason": reason},
    )
    route_invalidate(session_pk)
    transaction.on_commit(lambda: route_invalidate(session_pk))
    return session


def session_release(*, session_pk: int, worker: WorkerInstance) -> bool:
    """The worker gives the session up (warm shutdown): assignment cleared, status kept, so
    reconciliation can hand it to another worker at once. Only the holder can release."""
    released = WhatsAppSession.objects.filter(pk=session_pk, assigned_worker=worker).update(
        assigned_worker=None, lease_expires_at=None, updated_at=timezone.now()
    )
    if released:
        SessionEvent.objects.create(
            session_id=session_pk,
            kind=SessionEvent.Kind.ASSIGNMENT,
            detail={"worker": None, "released_by": worker.name},
        )
        route_invalidate(session_pk)
    return bool(released)


def worker_register(*, name: str, queue: str, hostname: str, pid: int, capacity: int) -> WorkerInstance:
    """Creates or revives the worker's row (status alive, fresh heartbeat)."""
    now = timezone.now()
    worker, _ = WorkerInstance.objects.update_or_create(
        name=name,
        defaults={
            "queue": queue,
            "hostname": hostname,
            "pid": pid,
            "capacity": capacity,
            "status": WorkerInstance.Status.ALIVE,
            "started_at": now,
            "last_heartbeat_at": now,
        },
    )
    return worker


def worker_heartbeat(
    *, worker: WorkerInstance, live_session_pks: list[int], metrics: dict[str, Any]
) -> list[int]:
    """Reports the worker alive with its real session list (F2) and renews the leases of
    the sessions it hosts and still holds. Returns the hosted sessions it no longer holds
    (reassigned, deleted, or in a status that runs no browser): the caller must close them."""
    now = timezone.now()
    WorkerInstance.objects.filter(pk=worker.pk).update(
        last_heartbeat_at=now, metrics=metrics, status=WorkerInstance.Status.ALIVE
    )
    # A browser whose session should not run (deleted, stopped, failed, disconnected) is
    # closed too: the stop message that should have closed it may have been lost.
    held = set(
        WhatsAppSession.objects.filter(
            pk__in=live_session_pks,
            assigned_worker=worker,
            deleted_at__isnull=True,
            status__in=ACTIVE_STATUSES,
        ).values_list("pk", flat=True)
    )
    if held:
        WhatsAppSession.objects.filter(pk__in=held).update(
            lease_expires_at=lease_expiry(), last_heartbeat_at=now
        )
    return sorted(set(live_session_pks) - held)


def worker_mark_stopped(*, worker: WorkerInstance) -> None:
    """A warm shutdown: the worker is gone on purpose, no need to wait for its heartbeat to age."""
    WorkerInstance.objects.filter(pk=worker.pk).update(status=WorkerInstance.Status.DEAD, metrics={})


def session_claim_lease(*, session_pk: int, worker: WorkerInstance) -> WhatsAppSession | None:
    """Renews the lease if `worker` is the session's assigned worker; None otherwise. A
    worker must not start a session it does not hold (two workers never drive one profile)."""
    claimed = WhatsAppSession.objects.filter(
        pk=session_pk, assigned_worker=worker, deleted_at__isnull=True
    ).update(lease_expires_at=lease_expiry())
    if not claimed:
        return None
    return WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)


# Sessions in these states are brought back when their worker starts (no QR needed for
# connected ones; the others show a fresh QR or go on restoring).
RESTORE_STATUSES = ACTIVE_STATUSES


def sessions_to_restore(*, worker: WorkerInstance) -> list[int]:
    return list(
        WhatsAppSession.objects.filter(
            assigned_worker=worker, deleted_at__isnull=True, status__in=RESTORE_STATUSES
        )
        .order_by(*RESTORE_ORDER)
        .values_list("pk", flat=True)
    )


def session_reroute(*, action: str, session_pk: int, from_queue: str, **kwargs: Any) -> bool:
    """A task reached a worker that does not hold the session (it moved: failover, restart).
    Re-send it to the current owner instead of dropping it (F10). Returns False when there
    is nowhere else to send it (then reconciliation owns the session)."""
    route_invalidate(session_pk)
    queue = session_queue(session_pk)
    if queue is None or queue == from_queue:
        SessionEvent.objects.create(
            session_id=session_pk,
            kind=SessionEvent.Kind.ERROR,
            detail={"unroutable": action, "from": from_queue},
        )
        return False
    celery_app.send_task(
        f"sessions_app.tasks.{action}", kwargs={"session_pk": session_pk, **kwargs}, queue=queue
    )
    return True


def session_reassign(*, session: WhatsAppSession, requested_by: str) -> tuple[WhatsAppSession, bool]:
    """Staff move a number to the least-loaded other live worker. A running browser is
    reopened there (the old worker closes its copy when its heartbeat finds it no longer holds
    the number); a stopped or failed number only moves, since a restart would start it, which
    nobody asked for. Returns (the moved number, whether it restarts). Raises
    SessionServiceError for a deleted number, NoWorkerCapacity when no worker can take it."""

    if session.deleted_at is not None:
        raise SessionServiceError("it is deleted.")
    moved = session_assign(
        session_pk=session.pk, reason=f"admin reassign by {requested_by}", exclude=session.assigned_worker
    )
    restarting = session.status in ACTIVE_STATUSES
    if restarting:
        # Safe to lose: the new worker does not host it, so its fresh lease runs out and
        # reconciliation starts it there (or elsewhere).
        enqueue_on_session_worker("session_restart", session.pk, reason="reassigned")
    return moved, restarting


def session_move_off_full_worker(*, session_pk: int, worker: WorkerInstance) -> None:
    """The worker was full when the start arrived: give the session to another worker
    with room, or mark it failed with a clear reason (never left silently waiting)."""
    from sessions_app.services.common import session_fail

    try:
        session_assign(session_pk=session_pk, reason=f"{worker.name} at capacity", exclude=worker)
    except NoWorkerCapacity as exc:
        session_fail(session_pk=session_pk, error=str(exc))
        return
    enqueue_on_session_worker("session_start", session_pk)


def sessions_adopt_unassigned(*, worker: WorkerInstance) -> list[int]:
    """Takes live sessions that no worker holds (released by a warm shutdown) up to the
    worker's free capacity. Each is claimed by a conditional update, so when two workers
    start at once a session goes to exactly one of them. Reconciliation does the same for
    workers already running."""
    load = worker.sessions.filter(deleted_at__isnull=True, status__in=ACTIVE_STATUSES).count()
    free = max(0, worker.capacity - load)
    candidates = list(
        WhatsAppSession.objects.filter(
            assigned_worker__isnull=True, deleted_at__isnull=True, status__in=ACTIVE_STATUSES
        )
        .order_by(*RESTORE_ORDER)
        .values_list("pk", flat=True)[: free * 2]
    )
    adopted: list[int] = []
    for pk in candidates:
        if len(adopted) >= free:
            break
        claimed = WhatsAppSession.objects.filter(pk=pk, assigned_worker__isnull=True).update(
            assigned_worker=worker, lease_expires_at=lease_expiry(), updated_at=timezone.now()
        )
        if claimed:
            SessionEvent.objects.create(
                session_id=pk,
                kind=SessionEvent.Kind.ASSIGNMENT,
                detail={"worker": worker.name, "reason": "adopted"},
            )
            route_invalidate(pk)
            adopted.append(pk)
    return adopted
