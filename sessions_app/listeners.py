"""The port through which the number's lifecycle tells the layers above it what happened,
without importing them (DESIGN §3: sessions_app sits below messaging). Each listener named
in settings.BLAZZ_SESSION_LISTENERS (a dotted path to a class) gets every call; messaging's
turns session events into webhook outbox rows and releases a moved number's claimed sends."""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol

from django.conf import settings
from django.utils.module_loading import import_string


class SessionListener(Protocol):
    def session_event(self, *, workspace_id: int, event_type: str, payload: dict[str, Any]) -> None:
        """A lifecycle event (`session.status`, `session.qr`, `session.failed`), inside the
        transaction that made it: a listener that writes rows commits or rolls back with it."""

    def session_moved(self, *, session_pk: int) -> int:
        """The number moved to another worker (failover): returns how many pieces of work the
        old worker had claimed and the listener released for the new one."""


@cache
def _listeners(paths: tuple[str, ...]) -> tuple[SessionListener, ...]:
    return tuple(import_string(path)() for path in paths)


def session_listeners() -> tuple[SessionListener, ...]:
    return _listeners(tuple(settings.BLAZZ_SESSION_LISTENERS))


def session_event_emit(*, workspace_id: int, event_type: str, payload: dict[str, Any]) -> None:
    for listener in session_listeners():
        listener.session_event(workspace_id=workspace_id, event_type=event_type, payload=payload)


def session_moved_emit(*, session_pk: int) -> int:
    return sum(listener.session_moved(session_pk=session_pk) for listener in session_listeners())
