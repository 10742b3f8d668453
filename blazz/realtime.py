"""The one way services push live events to browsers (CONVENTIONS habit 7).

Events are sent on commit, so a browser never sees a state the database rolled back. A
service that stores a batch (hundreds of inbound messages) publishes it as one channel-layer
message: one Redis round trip instead of one per event, and the consumer still hands the
browser one frame per event."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def workspace_group_name(workspace_uuid: Any) -> str:
    return f"workspace.{workspace_uuid}"


def publish_to_workspace(*, workspace_uuid: Any, event: str, payload: dict[str, Any]) -> None:
    publish_many_to_workspace(workspace_uuid=workspace_uuid, events=[(event, payload)])


def publish_many_to_workspace(*, workspace_uuid: Any, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Publishes ``events`` ((event, payload) pairs, in order) to the workspace's members
    after the current transaction commits."""
    if not events:
        return
    message = {
        "type": "workspace.events",
        "events": [{"event": event, "payload": payload} for event, payload in events],
    }

    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(workspace_group_name(workspace_uuid), message)
        except Exception:
            # A dead channel layer must never undo or block the write it reports on;
            # the UI re-reads the database on reconnect.
            logger.exception("realtime publish of %d events failed", len(events))

    transaction.on_commit(send)
