"""The session state machine: the one function that changes a session's status, and the
errors services raise. Lock order everywhere in sessions_app.services: WorkerInstance rows
by id, then WhatsAppSession rows by id."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.db.models import F

from blazz.realtime import MEMBERS, Audience, publish_to_workspace
from sessions_app.listeners import session_event_emit
from sessions_app.models import SessionEvent, WhatsAppSession

logger = logging.getLogger(__name__)
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


class InvalidSessionField(SessionServiceError):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class NoWorkerCapacity(SessionServiceError):
    def __init__(self) -> None:
        super().__init__("No session worker has free capacity right now; the number was not started.")


# Which status may follow which. `disconnected`, `failed` and `stopped` can start again.
ALLOWED_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.STARTING: frozenset({Status.QR_SCANNING, Status.AUTHENTICATED, Status.CONNECTED}),
    Status.QR_SCANNING: frozenset({Status.AUTHENTICATED, Status.CONNECTED, Status.STARTING}),
    Status.AUTHENTICATED: frozenset({Status.CONNECTED, Status.QR_SCANNING, Status.STARTING}),
    Status.CONNECTED: frozenset({Status.STARTING}),
    Status.DISCONNECTED: frozenset({Status.STARTING}),
    Status.FAILED: frozenset({Status.STARTING}),
    Status.STOPPED: frozenset({Status.STARTING}),
}
# Any live state may end this way.
TERMINAL_FROM_ANYWHERE = frozenset({Status.DISCONNECTED, Status.FAILED, Status.STOPPED})
# Statuses that occupy a worker's browser slot.
ACTIVE_STATUSES = (Status.STARTING, Status.QR_SCANNING, Status.AUTHENTICATED, Status.CONNECTED)
# The order numbers come back in after a worker start or a failover (issue 18): the ones
# customers were writing to most recently first.
RESTORE_ORDER = (F("last_activity_at").desc(nulls_last=True), "id")


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
        "display_name": session.display_name,
        "is_primary": session.is_primary,
        "worker": session.assigned_worker.name if session.assigned_worker_id else None,
    }


def session_publish(
    session: WhatsAppSession, event: str, extra: dict[str, Any] | None = None, *, audience: Audience = MEMBERS
) -> None:
    """Pushes a lifecycle event to the workspace's browsers; ``audience=MANAGERS`` for what
    only owners and admins may see (QR and link codes: whoever has one can link a phone)."""
    publish_to_workspace(
        workspace_uuid=session.workspace.uuid,
        event=event,
        payload={**session_payload(session), **(extra or {})},
        audience=audience,
    )


@transaction.atomic
def session_transition(
    *, session_pk: int, to_status: str, detail: dict[str, Any] | None = None, **fields: Any
) -> WhatsAppSession:
    """Moves a session to `to_status` if the state machine allows it, writing the extra
    `fields`, one SessionEvent, and (after commit) a websocket event. Moving to the status
    it already has writes the fields but no event. Raises InvalidTransition otherwise."""
    # Only the session's row, and not its key: a message or an event being inserted for this
    # session checks its foreign key (FOR KEY SHARE) at commit. Locking the workspace too, or
    # with FOR UPDATE, deadlocked a send (holding the workspace's key lock, waiting for the
    # session's) against a worker's start (holding the session, waiting for the workspace).
    session = (
        WhatsAppSession.objects.select_for_update(of=("self",), no_key=True)
        .select_related("workspace")
        .get(pk=session_pk)
    )
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
        session_publish(session, "session.status")
        session_event_record(session, "session.status", {"from": from_status, **(detail or {})})
    return session


def session_event_record(session: WhatsAppSession, event_type: str, extra: dict[str, Any]) -> None:
    """Integrators hear every lifecycle change through the outbox, in this transaction."""
    session_event_emit(
        workspace_id=session.workspace_id,
        event_type=event_type,
        payload={**session_payload(session), **extra},
    )


def session_transition_if_live(
    *, session_pk: int, to_status: str, detail: dict[str, Any] | None = None
) -> None:
    """Like session_transition for callers that report what already happened (a worker
    closed a browser): a deleted session or a refused transition is logged, not raised."""
    try:
        session_transition(session_pk=session_pk, to_status=to_status, detail=detail)
    except (InvalidTransition, WhatsAppSession.DoesNotExist):
        session_record(
            session_pk=session_pk,
            kind=SessionEvent.Kind.ERROR,
            detail={"ignored": to_status, **(detail or {})},
        )


def session_record(*, session_pk: int, kind: str, detail: dict[str, Any]) -> None:
    """Adds a line to the session's timeline without changing its status."""
    if WhatsAppSession.objects.filter(pk=session_pk).exists():
        SessionEvent.objects.create(session_id=session_pk, kind=kind, detail=detail)


def session_fail(*, session_pk: int, error: str) -> None:
    """Marks the session failed with the reason on its timeline (and, later, an alert)."""
    logger.error("session %s failed: %s", session_pk, error)
    session_transition_if_live(session_pk=session_pk, to_status=Status.FAILED, detail={"error": error[:2000]})
