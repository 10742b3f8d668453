"""Fixtures for the Numbers UI, API and admin tests: a live session worker whose real Redis queue the tests
can read (nothing consumes it: no browser is needed to check that a verb reached it)."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass

import pytest
import redis
from django.conf import settings
from django.db import connection

from blazz.celery import session_queue_name
from sessions_app.routing import route_invalidate
from tests.factories import WorkerInstanceFactory


@dataclass(frozen=True)
class QueuedTask:
    name: str
    kwargs: dict


class Broker:
    """Reads what was sent to session workers' queues on the real Redis broker."""

    def __init__(self) -> None:
        self.redis = redis.Redis.from_url(settings.CELERY_BROKER_URL)
        self.queues: set[str] = set()

    def tasks(self, worker) -> list[QueuedTask]:
        queue = session_queue_name(worker.name)
        self.queues.add(queue)
        found = []
        # kombu pushes on the left and consumers pop from the right: oldest last.
        for raw in reversed(self.redis.lrange(queue, 0, -1)):
            message = json.loads(raw)
            _, kwargs, _ = json.loads(base64.b64decode(message["body"]))
            found.append(QueuedTask(message["headers"]["task"], kwargs))
        return found

    def cleanup(self) -> None:
        for queue in self.queues:
            for key in self.redis.scan_iter(f"*{queue}"):
                self.redis.delete(key)


@pytest.fixture
def broker():
    broker = Broker()
    yield broker
    broker.cleanup()


@pytest.fixture
def live_worker(db, broker):
    """A worker that heartbeats (as far as the database can tell). Its name is unique per
    test so its queue never holds another test's or another run's messages."""
    worker = WorkerInstanceFactory(name=f"numbers-{uuid.uuid4().hex[:10]}", capacity=20)
    broker.queues.add(session_queue_name(worker.name))
    return worker


def fresh_route(session) -> None:
    """The routing cache lives in Redis and outlives the test database, whose ids restart
    with every run; forget whatever an earlier run cached for this id."""
    route_invalidate(session.pk)


def forget_routes_of_next_sessions(count: int) -> None:
    """Like fresh_route for sessions a test is about to create through a service: a stale
    route cached by an earlier run for a reused id would send their start task to a queue
    of that run (which nobody reads, nor cleans)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('sessions_app_whatsappsession', 'id'))")
        next_id = cursor.fetchone()[0]
    for pk in range(next_id, next_id + count + 1):
        route_invalidate(pk)
