"""`session_create` made safe to repeat: a client that retries "add a number" after a
timeout (API `Idempotency-Key`, or the UI form submitted twice) gets the session it
already created instead of a second browser and a second QR attempt."""

from __future__ import annotations

from django.db import transaction

from accounts.models import Workspace
from sessions_app.models import WhatsAppSession
from sessions_app.selectors import session_by_idempotency_key
from sessions_app.services.common import SessionServiceError
from sessions_app.services.lifecycle import session_create


class IdempotencyKeyReused(SessionServiceError):
    def __init__(self) -> None:
        super().__init__(
            "This Idempotency-Key created a number that has since been deleted; use a new key "
            "to add another number."
        )


@transaction.atomic
def session_create_idempotent(
    *, workspace: Workspace, created_by=None, idempotency_key: str | None
) -> tuple[WhatsAppSession, bool]:
    """Creates a number (see `services.session_create`) unless this workspace already
    created one with `idempotency_key`; returns (session, created).

    Locks the workspace row before looking the key up. `session_create` takes the same
    lock first, so the lock order (workspace, then workers, then sessions) is unchanged;
    a concurrent duplicate waits on it and, once the first commits, finds that row (READ
    COMMITTED reads the committed row in its next statement) instead of creating another.
    Raises what `session_create` raises, or IdempotencyKeyReused."""
    if not idempotency_key:
        return session_create(workspace=workspace, created_by=created_by), True
    Workspace.objects.select_for_update(no_key=True).filter(pk=workspace.pk).first()
    existing = session_by_idempotency_key(workspace=workspace, key=idempotency_key)
    if existing is not None:
        if existing.deleted_at is not None:
            raise IdempotencyKeyReused()
        return existing, False
    session = session_create(workspace=workspace, created_by=created_by)
    session.idempotency_key = idempotency_key
    session.save(update_fields=["idempotency_key", "updated_at"])
    return session, True
