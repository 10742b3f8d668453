"""messaging's Transport for WhatsApp Web numbers: the send is a task on the queue of the
session worker whose browser holds the number (routing cache, F10, F11)."""

from __future__ import annotations

from sessions_app.services import enqueue_on_session_worker


class WebJsTransport:
    def send(self, *, session_pk: int, chat_pk: int) -> None:
        # The Chat row is the send; messaging's sweep wakes it again if this call is lost.
        enqueue_on_session_worker("session_send", session_pk, chat_pk=chat_pk, robust=True)
