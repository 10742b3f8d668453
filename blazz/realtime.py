"""The one way services push live events to browsers (CONVENTIONS habit 7).

Events are sent on commit, so a browser never sees a state the database rolled back. A
service that stores a batch (hundreds of inbound messages) publishes it as one channel-layer
message: one Redis round trip instead of one per event, and the consumer still hands the
browser one frame per event.

Three kinds of group:
- `workspace.<uuid>`: every member's socket in that workspace (messages, statuses, progress);
- `workspace.<uuid>.managers`: owners' and admins' sockets only, for what agents must not see
  (a live QR code is a login credential for the number: whoever scans it links a phone);
- `user.<pk>`: every socket of one user, for access changes (logout, removal, role change,
  workspace switch), so a socket never outlives the access it was opened with."""

import logging
from typing import Any, Literal

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

Audience = Literal["members", "managers"]
MEMBERS: Audience = "members"
MANAGERS: Audience = "managers"


def workspace_group_name(workspace_uuid: Any) -> str:
    return f"workspace.{workspace_uuid}"


def workspace_managers_group_name(workspace_uuid: Any) -> str:
    return f"workspace.{workspace_uuid}.managers"


def user_group_name(user_pk: Any) -> str:
    return f"user.{user_pk}"


def publish_to_workspace(
    *, workspace_uuid: Any, event: str, payload: dict[str, Any], audience: Audience = MEMBERS
) -> None:
    publish_many_to_workspace(workspace_uuid=workspace_uuid, events=[(event, payload)], audience=audience)


def publish_many_to_workspace(
    *, workspace_uuid: Any, events: list[tuple[str, dict[str, Any]]], audience: Audience = MEMBERS
) -> None:
    """Publishes ``events`` ((event, payload) pairs, in order) after the current transaction
    commits: to every member of the workspace, or with ``audience=MANAGERS`` to its owners
    and admins only."""
    if not events:
        return
    group = (
        workspace_managers_group_name(workspace_uuid)
        if audience == MANAGERS
        else workspace_group_name(workspace_uuid)
    )
    message = {
        "type": "workspace.events",
        "audience": audience,
        "events": [{"event": event, "payload": payload} for event, payload in events],
    }
    transaction.on_commit(lambda: _group_send(group, message, what=f"{len(events)} events"))


def publish_access_changed(
    *,
    user_pk: Any,
    ended_session: str | None = None,
    switched_session: str | None = None,
    workspace_id: Any = None,
) -> None:
    """Tells every open socket of the user that its access may have changed (after commit).
    Each socket re-checks its login and membership against the database and closes if they
    no longer hold. ``ended_session`` (a logged-out session's key) and ``switched_session``
    with ``workspace_id`` (a session that now acts in another workspace) are said outright,
    because the session row is written only after this is sent."""
    message = {
        "type": "access.changed",
        "ended_session": ended_session,
        "switched_session": switched_session,
        "workspace_id": workspace_id,
    }
    transaction.on_commit(lambda: _group_send(user_group_name(user_pk), message, what="an access change"))


def _group_send(group: str, message: dict[str, Any], *, what: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, message)
    except Exception:
        # A dead channel layer must never undo or block the write it reports on; the UI
        # re-reads the database on reconnect, and sockets re-check access on their own.
        logger.exception("realtime publish of %s failed", what)
