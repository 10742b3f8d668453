"""Fixtures for the Numbers UI, API and admin tests: carol (an agent of alice's workspace),
an API client for workspace A, and a live session worker whose real Redis queue the tests
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
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.services import api_key_create
from blazz.celery import session_queue_name
from sessions_app.routing import route_invalidate
from tests.conftest import logged_in_client
from tests.factories import MembershipFactory, UserFactory, WorkerInstanceFactory


@pytest.fixture
def carol(workspace_a):
    user = UserFactory(username="carol@example.com")
    MembershipFactory(user=user, workspace=workspace_a, role=Membership.Role.AGENT)
    return user


@pytest.fixture
def carol_client(carol, workspace_a):
    return logged_in_client(carol, workspace_a)


@pytest.fixture
def alice_api(alice, workspace_a) -> APIClient:
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Api-Key " + api_key_create(workspace=workspace_a, name="crm", created_by=alice)[1]
    )
    return client


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
