"""Liveness of connected sessions (F7: "connected" but deaf for hours).

The session worker checks each of its pages (Beat asks every 30 s): the age of the page's
own heartbeat (a hung page stops its timers), the age of its last event (reported, not
judged: a quiet number may receive nothing for hours), and an active probe, a round trip to
WhatsApp's servers that a silently dead connection cannot answer. A failed check restarts
the session from its snapshot (no QR); after BLAZZ_LIVENESS_MAX_RESTARTS failed restarts
within BLAZZ_LIVENESS_WINDOW_SECONDS the session is marked failed and the workspace's
admins are alerted (webhook ``session.failed``, email, a banner in the UI). A passing probe
after a restart resets the count."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.models import Membership
from sessions_app.listeners import session_event_emit
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from sessions_app.services.common import session_payload, session_transition

logger = logging.getLogger(__name__)
Status = WhatsAppSession.Status


@dataclass(frozen=True)
class LivenessVerdict:
    ok: bool
    reason: str
    heartbeat_age_s: float | None = None
    event_age_s: float | None = None
    rtt_ms: int | None = None


def liveness_verdict(*, state: dict[str, Any] | None, probe: dict[str, Any] | None) -> LivenessVerdict:
    """Judges a page from its ``state()`` and ``probe()`` answers (pure; ages are measured
    on the page's own clock, so the two machines' clocks never matter)."""
    if not state:
        return LivenessVerdict(ok=False, reason="page did not answer")
    now_ms = state.get("now") or 0
    heartbeat_age = (now_ms - state["heartbeat_at"]) / 1000 if state.get("heartbeat_at") else None
    event_age = (now_ms - state["last_event_at"]) / 1000 if state.get("last_event_at") else None
    ages = {"heartbeat_age_s": heartbeat_age, "event_age_s": event_age}
    if heartbeat_age is None or heartbeat_age > settings.BLAZZ_LIVENESS_HEARTBEAT_MAX_SECONDS:
        return LivenessVerdict(ok=False, reason="page heartbeat stale", **ages)
    if not state.get("authenticated"):
        return LivenessVerdict(ok=False, reason="page is not logged in", **ages)
    if not probe or not probe.get("ok"):
        reason = (probe or {}).get("reason") or "no answer"
        return LivenessVerdict(ok=False, reason=f"probe failed: {reason}", **ages)
    return LivenessVerdict(ok=True, reason="ok", rtt_ms=probe.get("rtt_ms"), **ages)


class LivenessOutcome:
    OK = "ok"
    RESTART = "restart"
    FAILED = "failed"
    IGNORED = "ignored"  # not connected (any more): nothing to judge


@transaction.atomic
def session_liveness_record(
    *, session_pk: int, verdict: LivenessVerdict, statuses: tuple[str, ...] = (Status.CONNECTED,)
) -> str:
    """Records a check and decides what the worker does next: nothing, restart the
    session, or give up (it is then failed and alerted here). A session no longer in one
    of ``statuses`` was changed meanwhile and is not judged."""
    session = (
        WhatsAppSession.objects.select_for_update(no_key=True)
        .filter(pk=session_pk, deleted_at__isnull=True)
        .first()
    )
    if session is None or session.status not in statuses:
        return LivenessOutcome.IGNORED
    now = timezone.now()
    liveness = dict(session.metadata.get("liveness") or {})
    window_start = now - timedelta(seconds=settings.BLAZZ_LIVENESS_WINDOW_SECONDS)
    restarts = [at for at in liveness.get("restarts", []) if datetime.fromisoformat(at) >= window_start]
    liveness["checked_at"] = now.isoformat()
    liveness["last"] = asdict(verdict)
    if verdict.ok:
        if restarts:
            SessionEvent.objects.create(
                session_id=session_pk,
                kind=SessionEvent.Kind.RESTART,
                detail={"recovered": True, **asdict(verdict)},
            )
        liveness["restarts"] = []
        _save(session, liveness)
        return LivenessOutcome.OK
    SessionEvent.objects.create(
        session_id=session_pk, kind=SessionEvent.Kind.PROBE_FAILURE, detail=asdict(verdict)
    )
    if len(restarts) >= settings.BLAZZ_LIVENESS_MAX_RESTARTS:
        liveness["restarts"] = restarts
        _save(session, liveness)
        error = f"{verdict.reason} after {len(restarts)} restarts within the hour"
        session_transition(
            session_pk=session_pk, to_status=Status.FAILED, detail={"error": error, "reason": "liveness"}
        )
        session_alert_failed(session_pk=session_pk, error=error)
        return LivenessOutcome.FAILED
    liveness["restarts"] = [*restarts, now.isoformat()]
    _save(session, liveness)
    return LivenessOutcome.RESTART


def _save(session: WhatsAppSession, liveness: dict[str, Any]) -> None:
    metadata = {**session.metadata, "liveness": liveness}
    WhatsAppSession.objects.filter(pk=session.pk).update(metadata=metadata)


def session_alert_failed(*, session_pk: int, error: str) -> None:
    """Tells the workspace a number stopped working: a ``session.failed`` webhook event and,
    after commit, an email to its owners and admins. The UI shows a banner for every failed
    number (health.context_processors)."""
    session = WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)
    payload = {**session_payload(session), "error": error}
    session_event_emit(workspace_id=session.workspace_id, event_type="session.failed", payload=payload)
    recipients = sorted(
        set(
            Membership.objects.filter(
                workspace_id=session.workspace_id, role__in=(Membership.Role.OWNER, Membership.Role.ADMIN)
            )
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )
    if not recipients:
        return
    number = session.phone_number or session.session_id
    subject = f"[Blazz] {number} stopped working"
    body = (
        f"The WhatsApp number {number} in workspace {session.workspace.name} stopped answering and "
        f"could not be brought back automatically.\n\nReason: {error}\n\n"
        "Open Numbers in Blazz to restart it or scan its QR code again."
    )

    def send() -> None:
        try:
            send_mail(subject, body, None, recipients)
        except Exception:
            # The banner and the webhook already carry the alert; a mail outage must not undo them.
            logger.exception("could not email the failure of session %s", session_pk)

    transaction.on_commit(send)


def sessions_to_probe() -> list[int]:
    """Connected sessions held by a live worker (the others are reconciliation's)."""
    return list(
        WhatsAppSession.objects.filter(
            deleted_at__isnull=True,
            status=Status.CONNECTED,
            assigned_worker__status=WorkerInstance.Status.ALIVE,
        )
        .order_by("id")
        .values_list("pk", flat=True)
    )


RESTORING_STATUSES = (Status.STARTING, Status.AUTHENTICATED)


def sessions_stuck_restoring() -> list[int]:
    """Sessions restored from a snapshot (a restart or a failover) that have not come back
    within BLAZZ_LIVENESS_START_TIMEOUT_SECONDS: a restore that cannot reconnect is as deaf
    as a frozen page, and is judged the same way (restart, then give up)."""
    cutoff = timezone.now() - timedelta(seconds=settings.BLAZZ_LIVENESS_START_TIMEOUT_SECONDS)
    return list(
        WhatsAppSession.objects.filter(
            deleted_at__isnull=True,
            status__in=RESTORING_STATUSES,
            assigned_worker__status=WorkerInstance.Status.ALIVE,
            snapshot__isnull=False,
        )
        .annotate(changed_at=Max("events__at", filter=Q(events__kind=SessionEvent.Kind.STATUS_CHANGE)))
        .filter(changed_at__lt=cutoff)
        .order_by("id")
        .values_list("pk", flat=True)
    )


def session_restore_timed_out(*, session_pk: int) -> str:
    """Beat's verdict on a restore that did not come back; returns a LivenessOutcome."""
    verdict = LivenessVerdict(ok=False, reason="did not reconnect after a restore")
    return session_liveness_record(session_pk=session_pk, verdict=verdict, statuses=RESTORING_STATUSES)
