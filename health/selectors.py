"""The figures of the Health page, `GET /api/v1/health` and `/metrics` (F2), computed in one
place from the database, the workers' heartbeats and the broker — never from a process's
own memory, so every web process answers the same.

`workspace=None` means every workspace (staff, Prometheus). Workers and queues are shared
infrastructure and are always reported whole; sessions, webhooks and messages are scoped
to the workspace through accounts.tenancy.scoped()."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis
from django.conf import settings
from django.db.models import Count, Min, OuterRef, Q, Subquery, Sum
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import Workspace
from accounts.tenancy import scoped
from blazz.celery import session_queue_name
from messaging.models import Chat, WebhookDelivery
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.services.common import ACTIVE_STATUSES

Status = WhatsAppSession.Status
STUCK_LIST_LIMIT = 50
# kombu's Redis transport keeps a queue with priorities in one list per priority step:
# `<queue>` for 0 and `<queue>\x06\x16<n>` for the others (kombu.transport.redis).
_KOMBU_PRIORITY_SEP = "\x06\x16"
_KOMBU_PRIORITY_STEPS = (3, 6, 9)
_KOMBU_UNACKED_KEY = "unacked"


@dataclass(frozen=True)
class WorkerHealth:
    name: str
    queue: str
    hostname: str
    status: str
    capacity: int
    # Live sessions the database assigns to it (what capacity is checked against)...
    sessions_assigned: int
    # ...and what its own last heartbeat said it hosts; a gap is what reconciliation fixes.
    sessions_reported: int | None
    chrome_pss_mb: float | None
    open_fds: int | None
    load: float | None
    last_heartbeat_at: datetime | None
    heartbeat_age_seconds: float | None
    # Alive on paper but silent for longer than BLAZZ_WORKER_DEAD_AFTER_SECONDS: it will be
    # declared dead by reconciliation.
    heartbeat_stale: bool


@dataclass(frozen=True)
class StuckSession:
    uuid: str
    session_id: str
    phone_number: str | None
    workspace: str
    workspace_uuid: str
    status: str
    reasons: list[str]
    restart_attempts: int
    worker: str | None
    last_activity_at: datetime | None
    last_heartbeat_at: datetime | None
    error: str


@dataclass(frozen=True)
class RestartFigures:
    restarts_last_hour: int
    failovers_last_hour: int
    sessions_restarting: int
    restart_attempts_total: int


@dataclass(frozen=True)
class QueueDepth:
    queue: str
    depth: int


@dataclass(frozen=True)
class QueueFigures:
    ok: bool
    error: str
    queues: list[QueueDepth]
    # Tasks a worker has taken but not acknowledged yet (acks_late): running or lost with
    # their worker, in which case Redis redelivers them after the visibility timeout.
    unacked: int | None


@dataclass(frozen=True)
class WebhookFigures:
    pending: int
    sending: int
    failed: int
    dead: int
    backlog: int
    oldest_backlog_age_seconds: float | None


@dataclass(frozen=True)
class MessageFigures:
    inbound: int
    outbound: int
    outbound_failed: int


@dataclass(frozen=True)
class HealthReport:
    generated_at: datetime
    scope: str  # "workspace" or "all"
    workers: list[WorkerHealth]
    sessions_by_status: dict[str, int]
    stuck_sessions_total: int
    stuck_by_reason: dict[str, int]
    stuck_sessions: list[StuckSession]
    restarts: RestartFigures
    queues: QueueFigures
    webhooks: WebhookFigures
    messages_last_hour: MessageFigures
    thresholds: dict[str, Any] = field(default_factory=dict)


def _number(value: Any, kind: type) -> Any:
    """A figure from a heartbeat's metrics JSON, or None when absent or malformed (an old
    or stopped worker reports `{}`)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return kind(value)


def health_workers(*, now: datetime | None = None) -> list[WorkerHealth]:
    """Every known worker, as its row and its last heartbeat's metrics describe it."""
    now = now or timezone.now()
    dead_after = settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS
    active = Q(sessions__deleted_at__isnull=True, sessions__status__in=ACTIVE_STATUSES)
    workers = WorkerInstance.objects.annotate(assigned=Count("sessions", filter=active)).order_by("name")
    result = []
    for worker in workers:
        metrics = worker.metrics if isinstance(worker.metrics, dict) else {}
        reported = metrics.get("session_count")
        if reported is None and isinstance(metrics.get("sessions"), list):
            reported = len(metrics["sessions"])
        age = (now - worker.last_heartbeat_at).total_seconds() if worker.last_heartbeat_at else None
        result.append(
            WorkerHealth(
                name=worker.name,
                queue=worker.queue or session_queue_name(worker.name),
                hostname=worker.hostname,
                status=worker.status,
                capacity=worker.capacity,
                sessions_assigned=worker.assigned,
                sessions_reported=_number(reported, int),
                chrome_pss_mb=_number(metrics.get("chrome_pss_mb"), float),
                open_fds=_number(metrics.get("open_fds"), int),
                load=_number(metrics.get("load"), float),
                last_heartbeat_at=worker.last_heartbeat_at,
                heartbeat_age_seconds=round(age, 1) if age is not None else None,
                heartbeat_stale=worker.status != WorkerInstance.Status.DEAD
                and (age is None or age > dead_after),
            )
        )
    return result


def _sessions(workspace: Workspace | None):
    queryset = WhatsAppSession.objects.filter(deleted_at__isnull=True)
    return queryset if workspace is None else scoped(queryset, workspace)


def health_sessions_by_status(*, workspace: Workspace | None) -> dict[str, int]:
    """Live (not soft-deleted) sessions per status, every status present (0 when none)."""
    counts = dict(_sessions(workspace).values_list("status").annotate(n=Count("id")).order_by())
    return {status: counts.get(status, 0) for status in Status.values}


# Why a session is listed as stuck. Each is a cheap database condition; the liveness task
# decides restarts, this only shows what needs a human's eye.
REASON_FAILED = "failed"
REASON_RESTARTING = "restarting"
REASON_SILENT = "silent"
REASON_UNREPORTED = "not_reported_by_worker"
STUCK_REASONS = (REASON_FAILED, REASON_RESTARTING, REASON_SILENT, REASON_UNREPORTED)


def _stuck_conditions(now: datetime) -> dict[str, Q]:
    silent_cutoff = now - timedelta(minutes=settings.BLAZZ_HEALTH_SILENT_AFTER_MINUTES)
    # A heartbeat renews `last_heartbeat_at` of every session the worker really hosts; a
    # connected session missing from it for longer than a worker may be silent is driven by
    # nobody. A just-connected one counts from its connection.
    unreported_cutoff = now - timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS)
    connected = Q(status=Status.CONNECTED)
    return {
        REASON_FAILED: Q(status=Status.FAILED),
        REASON_RESTARTING: connected & Q(restart_attempts__gt=0),
        REASON_SILENT: connected & Q(_activity_at__lt=silent_cutoff),
        REASON_UNREPORTED: connected & Q(_reported_at__lt=unreported_cutoff),
    }


def _stuck_queryset(workspace: Workspace | None, now: datetime):
    conditions = _stuck_conditions(now)
    any_reason = Q()
    for condition in conditions.values():
        any_reason |= condition
    return (
        _sessions(workspace)
        .annotate(
            _activity_at=Coalesce("last_activity_at", "last_connected_at", "created_at"),
            _reported_at=Coalesce("last_heartbeat_at", "last_connected_at", "created_at"),
        )
        .filter(any_reason)
    ), conditions


def health_stuck_sessions(
    *, workspace: Workspace | None, now: datetime | None = None, limit: int = STUCK_LIST_LIMIT
) -> tuple[int, dict[str, int], list[StuckSession]]:
    """Failed sessions, and connected ones that restarted, went silent or that their
    worker does not report: (total, count per reason, the `limit` most recently changed)."""
    now = now or timezone.now()
    queryset, conditions = _stuck_queryset(workspace, now)
    totals = queryset.aggregate(
        _total=Count("id"), **{reason: Count("id", filter=cond) for reason, cond in conditions.items()}
    )
    total = totals.pop("_total")
    # The reason it failed is on the status change that made it so.
    failure_detail = (
        SessionEvent.objects.filter(session=OuterRef("pk"), kind=SessionEvent.Kind.STATUS_CHANGE)
        .annotate(to_status=KeyTextTransform("to", "detail"))
        .filter(to_status=Status.FAILED)
        .order_by("-at", "-id")
    )
    rows = (
        queryset.select_related("workspace", "assigned_worker")
        .annotate(
            _error=Subquery(failure_detail.annotate(e=KeyTextTransform("error", "detail")).values("e")[:1]),
            _failed_reason=Subquery(
                failure_detail.annotate(r=KeyTextTransform("reason", "detail")).values("r")[:1]
            ),
        )
        .order_by("-updated_at", "-id")[:limit]
    )
    silent_cutoff = now - timedelta(minutes=settings.BLAZZ_HEALTH_SILENT_AFTER_MINUTES)
    unreported_cutoff = now - timedelta(seconds=settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS)
    listed = []
    for session in rows:
        reasons = []
        if session.status == Status.FAILED:
            reasons.append(REASON_FAILED)
        elif session.status == Status.CONNECTED:
            if session.restart_attempts > 0:
                reasons.append(REASON_RESTARTING)
            if session._activity_at < silent_cutoff:
                reasons.append(REASON_SILENT)
            if session._reported_at < unreported_cutoff:
                reasons.append(REASON_UNREPORTED)
        listed.append(
            StuckSession(
                uuid=str(session.uuid),
                session_id=session.session_id,
                phone_number=session.phone_number.as_e164 if session.phone_number else None,
                workspace=session.workspace.name,
                workspace_uuid=str(session.workspace.uuid),
                status=session.status,
                reasons=reasons,
                restart_attempts=session.restart_attempts,
                worker=session.assigned_worker.name if session.assigned_worker_id else None,
                last_activity_at=session.last_activity_at,
                last_heartbeat_at=session.last_heartbeat_at,
                error=(session._error or session._failed_reason or "")[:500],
            )
        )
    return total, {reason: totals[reason] for reason in STUCK_REASONS}, listed


def health_restarts(*, workspace: Workspace | None, now: datetime | None = None) -> RestartFigures:
    now = now or timezone.now()
    events = SessionEvent.objects.filter(at__gte=now - timedelta(hours=1))
    if workspace is not None:
        events = scoped(events, workspace)
    event_counts = events.aggregate(
        restarts=Count("id", filter=Q(kind=SessionEvent.Kind.RESTART)),
        failovers=Count("id", filter=Q(kind=SessionEvent.Kind.FAILOVER)),
    )
    attempts = _sessions(workspace).aggregate(
        restarting=Count("id", filter=Q(restart_attempts__gt=0)),
        total=Coalesce(Sum("restart_attempts"), 0),
    )
    return RestartFigures(
        restarts_last_hour=event_counts["restarts"],
        failovers_last_hour=event_counts["failovers"],
        sessions_restarting=attempts["restarting"],
        restart_attempts_total=attempts["total"],
    )


def health_queue_names() -> list[str]:
    """The general queues, then the `wa.<name>` queue of every known worker (a dead
    worker's queue is listed too: what waits there waits for failover)."""
    names = list(settings.GENERAL_QUEUES)
    for worker_name in WorkerInstance.objects.order_by("name").values_list("name", flat=True):
        queue = session_queue_name(worker_name)
        if queue not in names:
            names.append(queue)
    return names


def health_queue_depths(*, queue_names: list[str] | None = None) -> QueueFigures:
    """Messages waiting in each Celery queue (LLEN on the broker, every priority list
    summed). A broker that does not answer is reported, not raised: health must render
    precisely when things are broken."""
    names = queue_names if queue_names is not None else health_queue_names()
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        pipe = client.pipeline(transaction=False)
        for name in names:
            pipe.llen(name)
            for step in _KOMBU_PRIORITY_STEPS:
                pipe.llen(f"{name}{_KOMBU_PRIORITY_SEP}{step}")
        pipe.hlen(_KOMBU_UNACKED_KEY)
        answers = pipe.execute()
    except redis.RedisError as exc:
        return QueueFigures(ok=False, error=f"{type(exc).__name__}: {exc}", queues=[], unacked=None)
    finally:
        client.close()
    per_queue = 1 + len(_KOMBU_PRIORITY_STEPS)
    queues = [
        QueueDepth(queue=name, depth=sum(answers[i * per_queue : (i + 1) * per_queue]))
        for i, name in enumerate(names)
    ]
    return QueueFigures(ok=True, error="", queues=queues, unacked=answers[-1])


def health_webhooks(*, workspace: Workspace | None, now: datetime | None = None) -> WebhookFigures:
    """The outbox: rows still to deliver (pending, being sent, failed and waiting for a
    retry) and rows given up on (dead, waiting for a manual redelivery)."""
    now = now or timezone.now()
    deliveries = WebhookDelivery.objects.all()
    if workspace is not None:
        deliveries = scoped(deliveries, workspace)
    S = WebhookDelivery.Status
    backlog = Q(status__in=[S.PENDING, S.SENDING, S.FAILED])
    figures = deliveries.aggregate(
        pending=Count("id", filter=Q(status=S.PENDING)),
        sending=Count("id", filter=Q(status=S.SENDING)),
        failed=Count("id", filter=Q(status=S.FAILED)),
        dead=Count("id", filter=Q(status=S.DEAD)),
        oldest=Min("created_at", filter=backlog),
    )
    oldest = figures.pop("oldest")
    return WebhookFigures(
        **figures,
        backlog=figures["pending"] + figures["sending"] + figures["failed"],
        oldest_backlog_age_seconds=round((now - oldest).total_seconds(), 1) if oldest else None,
    )


def health_messages_last_hour(*, workspace: Workspace | None, now: datetime | None = None) -> MessageFigures:
    now = now or timezone.now()
    chats = Chat.objects.filter(created_at__gte=now - timedelta(hours=1))
    if workspace is not None:
        chats = scoped(chats, workspace)
    figures = chats.aggregate(
        inbound=Count("id", filter=Q(direction=Chat.Direction.INBOUND)),
        outbound=Count("id", filter=Q(direction=Chat.Direction.OUTBOUND)),
        outbound_failed=Count("id", filter=Q(direction=Chat.Direction.OUTBOUND, status=Chat.Status.FAILED)),
    )
    return MessageFigures(**figures)


def health_report(*, workspace: Workspace | None, now: datetime | None = None) -> HealthReport:
    """Everything the Health page, the API and /metrics show, for one workspace or (None)
    for all of them."""
    now = now or timezone.now()
    stuck_total, stuck_by_reason, stuck = health_stuck_sessions(workspace=workspace, now=now)
    return HealthReport(
        generated_at=now,
        scope="all" if workspace is None else "workspace",
        workers=health_workers(now=now),
        sessions_by_status=health_sessions_by_status(workspace=workspace),
        stuck_sessions_total=stuck_total,
        stuck_by_reason=stuck_by_reason,
        stuck_sessions=stuck,
        restarts=health_restarts(workspace=workspace, now=now),
        queues=health_queue_depths(),
        webhooks=health_webhooks(workspace=workspace, now=now),
        messages_last_hour=health_messages_last_hour(workspace=workspace, now=now),
        thresholds={
            "worker_dead_after_seconds": settings.BLAZZ_WORKER_DEAD_AFTER_SECONDS,
            "silent_after_minutes": settings.BLAZZ_HEALTH_SILENT_AFTER_MINUTES,
        },
    )
