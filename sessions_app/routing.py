"""Where a session's browser lives: the queue of its assigned worker (F10, F11).

Written only by assignment code (services) which calls `route_invalidate`; read by every
send through `session_queue`, which costs zero database queries on a cache hit."""

from django.core.cache import cache

from blazz.celery import session_queue_name
from sessions_app.models import WhatsAppSession

ROUTE_TTL_SECONDS = 300
_MISSING = "-"  # cached "no worker", so an unassigned session does not hit the DB each time


def _key(session_pk: int) -> str:
    return f"route:session:{session_pk}"


def session_queue(session_pk: int) -> str | None:
    """The `wa.<worker>` queue of the session's worker, or None if it has none."""
    cached = cache.get(_key(session_pk))
    if cached is not None:
        return None if cached == _MISSING else cached
    worker_name = (
        WhatsAppSession.objects.filter(pk=session_pk).values_list("assigned_worker__name", flat=True).first()
    )
    queue = session_queue_name(worker_name) if worker_name else None
    cache.set(_key(session_pk), queue or _MISSING, ROUTE_TTL_SECONDS)
    return queue


def route_invalidate(session_pk: int) -> None:
    cache.delete(_key(session_pk))
