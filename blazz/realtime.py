"""The one way services push live events to browsers (CONVENTIONS habit 7).

Events are sent on commit, so a browser never sees a state the database rolled back."""

import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)


def workspace_group_name(workspace_uuid: Any) -> str:
    return f"workspace.{workspace_uuid}"


def publish_to_workspace(*, workspace_uuid: Any, event: str, payload: dict[str, Any]) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                workspace_group_name(workspace_uuid),
                {"type": "workspace.event", "event": event, "payload": payload},
            )
        except Exception:
            # A dead channel layer must never undo or block the write it reports on;
            # the UI re-reads the database on reconnect.
            logger.exception("realtime publish failed for %s", event)

    transaction.on_commit(send)
