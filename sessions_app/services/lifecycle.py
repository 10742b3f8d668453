"""Lifecycle verbs of a WhatsApp number (DESIGN section 5): create, start, stop, restart,
logout, delete, set_primary, refresh_qr, and what the worker reports back (QR codes,
connection, restarts). All idempotent; UI, API and admin call these same functions."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Workspace
from blazz.realtime import MANAGERS
from sessions_app.models import SessionEvent, SessionSnapshot, WhatsAppSession
from sessions_app.routing import route_invalidate
from sessions_app.services.common import (
    ACTIVE_STATUSES,
    InvalidSessionField,
    NoWorkerCapacity,
    QrAttemptsExceeded,
    SessionServiceError,
    Status,
    session_event_record,
    session_publish,
    session_transition,
)
from sessions_app.services.placement import placement_admit
from sessions_app.services.snapshots import snapshot_drop
from sessions_app.services.workers import (
    enqueue_on_session_worker,
    lease_expiry,
    session_assign,
    worker_choose,
)


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
    Raises QrAttemptsExceeded, ActiveNumbersQuotaExceeded, FairShareExceeded or
    NoWorkerCapacity (nothing is written then). The start task goes to the worker's queue
    after commit."""
    # Serialises the QR budget, the quota and the fair share of this workspace.
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
    retire_stale_qr_sessions(workspace=workspace)
    budget = qr_budget(workspace=workspace)
    if budget.used >= budget.limit:
        raise QrAttemptsExceeded(budget.wait_seconds)
    placement_admit(workspace_id=workspace.pk, new_number=True, new_browser=True)
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
    session_publish(session, "session.created")
    # Ids are reused after a database reset; a route cached for an older row must not
    # send this session's start to another worker.
    route_invalidate(session.pk)
    enqueue_on_session_worker("session_start", session.pk)
    return session


@transaction.atomic
def session_mark_connected(*, session_pk: int, phone_number: str) -> WhatsAppSession:
    """The page is ready as `phone_number`. In one transaction the workspace's other
    sessions with that phone are retired (disconnected; soft-deleted if they never
    connected) and this one becomes connected, so the partial unique constraint of F3
    never fires. Locks: this session, then the others by id."""
    session = WhatsAppSession.objects.select_for_update(no_key=True).get(pk=session_pk)
    others = list(
        WhatsAppSession.objects.select_for_update(no_key=True)
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
        is_primary=session.is_primary or _primary_claim_if_none(session),
    )


def _primary_claim_if_none(session: WhatsAppSession) -> bool:
    """Makes the session the workspace's primary number when it has none. Two numbers of a
    workspace connecting at once both find none (measured at 50 numbers: one harvest failed
    on the one-primary constraint and was retried); the constraint decides, in a savepoint,
    and the number that loses stays a secondary one instead of failing its connect."""
    primaries = WhatsAppSession.objects.filter(
        workspace_id=session.workspace_id, is_primary=True, deleted_at__isnull=True
    )
    has_primary = primaries.exclude(pk=session.pk).exists()
    if has_primary:
        return False
    try:
        with transaction.atomic():
            WhatsAppSession.objects.filter(pk=session.pk).update(is_primary=True)
    except IntegrityError:
        return False
    return True


@transaction.atomic
def session_set_primary(*, session: WhatsAppSession) -> WhatsAppSession:
    """Makes `session` the workspace's primary number (idempotent)."""
    WhatsAppSession.objects.filter(workspace_id=session.workspace_id, is_primary=True).exclude(
        pk=session.pk
    ).update(is_primary=False)
    WhatsAppSession.objects.filter(pk=session.pk).update(is_primary=True)
    session.refresh_from_db()
    session_publish(session, "session.primary")
    return session


DISPLAY_NAME_MAX_CHARS = 80


def session_rename(*, session: WhatsAppSession, display_name: Any) -> WhatsAppSession:
    """Names the number for the team ("Sales"); blank clears the name."""
    if not isinstance(display_name, str):
        raise InvalidSessionField("The name must be text.", field="display_name")
    display_name = " ".join(display_name.split())
    if "\x00" in display_name or len(display_name) > DISPLAY_NAME_MAX_CHARS:
        raise InvalidSessionField(
            f"A number's name is at most {DISPLAY_NAME_MAX_CHARS} characters, without NUL.",
            field="display_name",
        )
    WhatsAppSession.objects.filter(pk=session.pk).update(display_name=display_name, updated_at=timezone.now())
    session.display_name = display_name
    session_publish(session, "session.renamed")
    return session


@transaction.atomic
def session_delete(*, session: WhatsAppSession) -> WhatsAppSession:
    """Soft-deletes a session and drops its snapshot; its browser is stopped by the
    worker (the task layer enqueues the stop after commit). Idempotent."""
    if session.deleted_at is not None:
        return session
    SessionSnapshot.objects.filter(session=session).delete()
    if session.assigned_worker_id:
        enqueue_on_session_worker("session_stop", session.pk, reason="deleted", snapshot=False)
    return session_transition(
        session_pk=session.pk,
        to_status=Status.STOPPED,
        detail={"reason": "deleted"},
        deleted_at=timezone.now(),
        is_primary=False,
    )


# --- Verbs carried out by the session's worker -----------------------------------------------


def _live(session: WhatsAppSession) -> WhatsAppSession:
    if session.deleted_at is not None:
        raise SessionServiceError("This number was deleted.")
    return session


@transaction.atomic
def session_start(*, session: WhatsAppSession) -> WhatsAppSession:
    """Starts (or restores from its snapshot) a session on its worker, assigning one if it
    has none. A session already connected or starting is left as it is (idempotent). One
    that holds no browser yet must fit the workspace's quota and fair share
    (ActiveNumbersQuotaExceeded, FairShareExceeded). Locks: the Workspace row, then this
    session."""
    Workspace.objects.select_for_update(no_key=True).filter(pk=session.workspace_id).first()
    session = _live(WhatsAppSession.objects.select_for_update(no_key=True).get(pk=session.pk))
    if session.status in ACTIVE_STATUSES and session.assigned_worker_id:
        return session
    placement_admit(
        workspace_id=session.workspace_id,
        new_number=session.status in (Status.STOPPED, Status.FAILED),
        new_browser=session.status not in ACTIVE_STATUSES,
    )
    if session.assigned_worker_id is None:
        session_assign(session_pk=session.pk, reason="start")
    session = session_transition(session_pk=session.pk, to_status=Status.STARTING, detail={"reason": "start"})
    enqueue_on_session_worker("session_start", session.pk)
    return session


# Which pending verb a new request may take the place of: a logout outranks a stop, which
# outranks a restart. A request that cannot take its place (the same verb, or a stronger one,
# is pending) is not sent at all: the pending one already does what it asks, or more.
VERB_REPLACES: dict[str, tuple[str, ...]] = {
    WhatsAppSession.Verb.RESTART: ("",),
    WhatsAppSession.Verb.STOP: ("", WhatsAppSession.Verb.RESTART),
    WhatsAppSession.Verb.LOGOUT: ("", WhatsAppSession.Verb.RESTART, WhatsAppSession.Verb.STOP),
}


def session_verb_request(*, session_pk: int, verb: str, reason: str, **kwargs: Any) -> bool:
    """Records `verb` as the session's pending verb (conditional update: concurrent requests
    record it once) and, after commit, sends it to the session's worker as a wake-up call.
    Returns False when it was coalesced into a pending one (nothing sent). Reconciliation
    re-sends a verb still pending after BLAZZ_SESSION_VERB_RESEND_SECONDS (a lost message)."""
    recorded = WhatsAppSession.objects.filter(
        pk=session_pk, deleted_at__isnull=True, pending_verb__in=VERB_REPLACES[verb]
    ).update(pending_verb=verb, pending_verb_at=timezone.now())
    if not recorded:
        return False
    enqueue_on_session_worker(f"session_{verb}", session_pk, reason=reason, requested=True, **kwargs)
    return True


def session_verb_pending(*, session_pk: int, verb: str) -> bool:
    """Whether the worker should still carry out a requested `verb` (it was not replaced by a
    stronger one, nor done by an earlier delivery of the same message)."""
    return WhatsAppSession.objects.filter(pk=session_pk, pending_verb=verb).exists()


def session_verb_done(*, session_pk: int, verb: str) -> None:
    """The worker carried `verb` out (or found nothing to do): clear it, unless a stronger
    verb replaced it meanwhile."""
    WhatsAppSession.objects.filter(pk=session_pk, pending_verb=verb).update(
        pending_verb="", pending_verb_at=None
    )


def session_stop(*, session: WhatsAppSession) -> WhatsAppSession:
    """Asks the worker to snapshot and close the browser; the worker marks it `stopped`.
    With no worker, it is marked stopped at once."""
    session = _live(session)
    if session.status == Status.STOPPED:
        return session
    if session.assigned_worker_id is None:
        return session_transition(session_pk=session.pk, to_status=Status.STOPPED, detail={"reason": "stop"})
    session_verb_request(session_pk=session.pk, verb=WhatsAppSession.Verb.STOP, reason="stop", snapshot=True)
    return session


def session_restart(*, session: WhatsAppSession) -> WhatsAppSession:
    """Closes and reopens the browser from the latest snapshot (no QR when logged in). A
    restart asked while one is pending is the same restart (a burst of 40 is one)."""
    session = _live(session)
    if session.assigned_worker_id is None:
        return session_start(session=session)
    session_verb_request(session_pk=session.pk, verb=WhatsAppSession.Verb.RESTART, reason="requested")
    return session


def session_logout(*, session: WhatsAppSession) -> WhatsAppSession:
    """Logs the device out of WhatsApp and drops the snapshot; the number must scan a QR
    again. Marked `disconnected` by the worker once the page confirms."""
    session = _live(session)
    snapshot_drop(session_pk=session.pk)
    if session.assigned_worker_id is None or session.status not in ACTIVE_STATUSES:
        return session_transition(
            session_pk=session.pk, to_status=Status.DISCONNECTED, detail={"reason": "logout"}
        )
    session_verb_request(session_pk=session.pk, verb=WhatsAppSession.Verb.LOGOUT, reason="logout")
    return session


@transaction.atomic
def session_refresh_qr(*, session: WhatsAppSession) -> WhatsAppSession:
    """Reloads the page for a new QR; counts as a QR attempt (F12)."""
    session = _live(session)
    if session.status == Status.CONNECTED:
        return session
    Workspace.objects.select_for_update(no_key=True).filter(pk=session.workspace_id).first()
    budget = qr_budget(workspace=session.workspace)
    if budget.used >= budget.limit:
        raise QrAttemptsExceeded(budget.wait_seconds)
    SessionEvent.objects.create(
        session=session, kind=SessionEvent.Kind.QR_ATTEMPT, detail={"reason": "refresh"}
    )
    if session.status not in ACTIVE_STATUSES or session.assigned_worker_id is None:
        return session_start(session=session)
    session_verb_request(session_pk=session.pk, verb=WhatsAppSession.Verb.RESTART, reason="refresh_qr")
    return session


def session_qr_update(*, session_pk: int, code: str) -> None:
    """The page shows a (new) QR code: store it with its expiry and push it live."""
    expires_at = timezone.now() + timedelta(seconds=settings.BLAZZ_QR_PERIOD_SECONDS)
    session = WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)
    if session.status == Status.QR_SCANNING:
        WhatsAppSession.objects.filter(pk=session_pk).update(qr_code=code, qr_expires_at=expires_at)
        session.qr_code, session.qr_expires_at = code, expires_at
    else:
        session = session_transition(
            session_pk=session_pk, to_status=Status.QR_SCANNING, qr_code=code, qr_expires_at=expires_at
        )
    qr = {"qr_code": code, "qr_expires_at": expires_at.isoformat()}
    session_publish(session, "session.qr", qr, audience=MANAGERS)
    session_event_record(session, "session.qr", qr)


def session_note_auto_restart(*, session_pk: int, error: str) -> bool:
    """The browser died under the session. Returns True if it may be restarted (the
    budget is BLAZZ_AUTO_RESTARTS until it connects again), else marks it failed."""
    session = WhatsAppSession.objects.filter(pk=session_pk, deleted_at__isnull=True).first()
    if session is None:
        return False
    if session.restart_attempts >= settings.BLAZZ_AUTO_RESTARTS:
        session_transition(
            session_pk=session_pk,
            to_status=Status.FAILED,
            detail={"error": error, "reason": "restart budget spent"},
        )
        return False
    WhatsAppSession.objects.filter(pk=session_pk).update(restart_attempts=session.restart_attempts + 1)
    SessionEvent.objects.create(
        session_id=session_pk, kind=SessionEvent.Kind.RESTART, detail={"error": error, "auto": True}
    )
    return True


@transaction.atomic
def session_request_link_code(*, session: WhatsAppSession, phone_number: str) -> WhatsAppSession:
    """Pair by code instead of a QR (WhatsApp Web's "link with phone number"): the worker
    asks the page for an 8-character code for `phone_number`, which the admin types on the
    phone. Counts as a QR attempt (F12). The code arrives as `session.link_code`."""
    from blazz.phones import InvalidPhoneNumber, normalize_phone

    session = _live(session)
    try:
        phone = normalize_phone(phone_number)
    except InvalidPhoneNumber as exc:
        raise SessionServiceError(str(exc)) from exc
    if session.status != Status.QR_SCANNING or session.assigned_worker_id is None:
        raise SessionServiceError(
            f"A code can be requested only while the number waits for a scan (status: {session.status})."
        )
    Workspace.objects.select_for_update(no_key=True).filter(pk=session.workspace_id).first()
    budget = qr_budget(workspace=session.workspace)
    if budget.used >= budget.limit:
        raise QrAttemptsExceeded(budget.wait_seconds)
    SessionEvent.objects.create(
        session=session, kind=SessionEvent.Kind.QR_ATTEMPT, detail={"link_code_for": phone}
    )
    # Safe to lose, so no table: a code is only useful within the minute the admin waits for
    # it; if this message is lost the admin sees no code and asks again (the attempt counted).
    enqueue_on_session_worker("session_link_code", session.pk, phone_number=phone)
    return session


def session_link_code_ready(*, session_pk: int, phone_number: str, code: str) -> None:
    """The page produced a pairing code: keep it on the session and push it live."""
    session = WhatsAppSession.objects.select_related("workspace").get(pk=session_pk)
    session.metadata = {
        **session.metadata,
        "link_code": {"code": code, "phone_number": phone_number, "at": timezone.now().isoformat()},
    }
    session.save(update_fields=["metadata", "updated_at"])
    session_publish(
        session,
        "session.link_code",
        {"link_code": code, "link_phone_number": phone_number},
        audience=MANAGERS,
    )
