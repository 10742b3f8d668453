"""Messaging's side of sessions_app's listener port (sessions_app/listeners.py), named in
settings.BLAZZ_SESSION_LISTENERS."""

from __future__ import annotations

from typing import Any

from messaging.services import chats_release_claims
from messaging.webhooks import webhook_events_record


class MessagingSessionListener:
    def session_event(self, *, workspace_id: int, event_type: str, payload: dict[str, Any]) -> None:
        webhook_events_record(workspace_id=workspace_id, event_type=event_type, payload=payload)

    def session_moved(self, *, session_pk: int) -> int:
        return chats_release_claims(session_pk=session_pk)
