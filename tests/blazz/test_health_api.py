"""F2: `GET /api/v1/health` reports real figures — workers from their heartbeats, the
workspace's numbers, stuck sessions, restarts, queue depths on the broker, the webhook
outbox and the last hour's messages — and never another workspace's."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import pytest
import redis
import yaml
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create
from blazz.celery import session_queue_name
from messaging.models import Chat, WebhookDelivery
from sessions_app.models import SessionEvent, WhatsAppSession, WorkerInstance
from tests.factories import (
    ChatFactory,
    SessionEventFactory,
    WebhookDeliveryFactory,
    WhatsAppSessionFactory,
    WorkerInstanceFactory,
    next_phone,
)

pytestmark = pytest.mark.django_db
Status = WhatsAppSession.Status
URL = "/api/v1/health"


@pytest.fixture
def api(alice, workspace_a) -> APIClient:
    client = APIClient()
    key = api_key_create(workspace=workspace_a, name="monitoring", created_by=alice)[1]
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


@pytest.fixture
def broker_redis():
    client = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    created: list[str] = []
    yield client, created
    for key in created:
        client.delete(key)
    client.close()


def ago(**kwargs) -> datetime:
    return timezone.now() - timedelta(**kwargs)


def connected(workspace, **fields) -> WhatsAppSession:
    defaults = {
        "status": Status.CONNECTED,
        "phone_number": next_phone(),
        "last_connected_at": ago(hours=3),
        "last_activity_at": ago(minutes=1),
        "last_heartbeat_at": ago(seconds=2),
    }
    return WhatsAppSessionFactory(workspace=workspace, **{**defaults, **fields})


def test_it_requires_an_api_key(db):
    response = APIClient().get(URL)

    assert response.status_code in (401, 403)


def test_it_counts_the_workspaces_sessions_by_status_only(api, workspace_a, workspace_b):
    connected(workspace_a)
    WhatsAppSessionFactory(workspace=workspace_a, status=Status.QR_SCANNING)
    WhatsAppSessionFactory(workspace=workspace_a, status=Status.STOPPED, deleted_at=timezone.now())
    for _ in range(3):
        connected(workspace_b)

    body = api.get(URL).json()

    assert body["sessions_by_status"] == {
        **dict.fromkeys(Status.values, 0),
        "connected": 1,
        "qr_scanning": 1,
    }


def test_it_lists_workers_with_what_their_heartbeat_reported(api, workspace_a, workspace_b):
    fresh = WorkerInstanceFactory(
        name=f"hw-{uuid.uuid4().hex[:6]}",
        capacity=12,
        metrics={
            "sessions": [1, 2],
            "session_count": 2,
            "chrome_pss_mb": 321.5,
            "open_fds": 140,
            "load": 0.42,
        },
    )
    silent = WorkerInstanceFactory(name=f"hw-{uuid.uuid4().hex[:6]}", last_heartbeat_at=ago(seconds=90))
    stopped = WorkerInstanceFactory(
        name=f"hw-{uuid.uuid4().hex[:6]}", status=WorkerInstance.Status.DEAD, metrics={}
    )
    # Load counts every workspace's live sessions: workers are shared infrastructure.
    connected(workspace_a, assigned_worker=fresh)
    connected(workspace_b, assigned_worker=fresh)
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.STOPPED, assigned_worker=fresh)

    workers = {w["name"]: w for w in api.get(URL).json()["workers"]}

    assert workers[fresh.name] | {"last_heartbeat_at": None, "heartbeat_age_seconds": None} == {
        "name": fresh.name,
        "queue": session_queue_name(fresh.name),
        "hostname": "localhost",
        "status": "alive",
        "capacity": 12,
        "sessions_assigned": 2,
        "sessions_reported": 2,
        "chrome_pss_mb": 321.5,
        "open_fds": 140,
        "load": 0.42,
        "last_heartbeat_at": None,
        "heartbeat_age_seconds": None,
        "heartbeat_stale": False,
    }
    assert workers[fresh.name]["heartbeat_age_seconds"] < 10
    assert workers[silent.name]["heartbeat_stale"] is True
    assert workers[silent.name]["heartbeat_age_seconds"] >= 90
    assert workers[silent.name]["sessions_reported"] is None  # not reported is not "0"
    assert (workers[stopped.name]["status"], workers[stopped.name]["heartbeat_stale"]) == ("dead", False)


def test_it_lists_stuck_and_failed_sessions_with_their_reasons(api, workspace_a, workspace_b, settings):
    settings.BLAZZ_HEALTH_SILENT_AFTER_MINUTES = 60
    healthy = connected(workspace_a)
    failed = WhatsAppSessionFactory(workspace=workspace_a, status=Status.FAILED, restart_attempts=3)
    SessionEventFactory(
        session=failed, detail={"from": "connected", "to": "failed", "error": "probe timed out"}
    )
    restarting = connected(workspace_a, restart_attempts=2)
    silent = connected(workspace_a, last_activity_at=ago(minutes=90))
    unreported = connected(workspace_a, last_heartbeat_at=ago(minutes=5))
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.FAILED)

    body = api.get(URL).json()

    listed = {s["uuid"]: s for s in body["stuck_sessions"]}
    assert str(healthy.uuid) not in listed
    assert listed[str(failed.uuid)]["reasons"] == ["failed"]
    assert listed[str(failed.uuid)]["error"] == "probe timed out"
    assert listed[str(restarting.uuid)]["reasons"] == ["restarting"]
    assert listed[str(silent.uuid)]["reasons"] == ["silent"]
    assert listed[str(unreported.uuid)]["reasons"] == ["not_reported_by_worker"]
    assert body["stuck_sessions_total"] == 4  # workspace B's failed number is not counted
    assert body["stuck_by_reason"] == {
        "failed": 1,
        "restarting": 1,
        "silent": 1,
        "not_reported_by_worker": 1,
    }


def test_it_counts_restarts_and_failovers_of_the_last_hour(api, workspace_a, workspace_b):
    session = connected(workspace_a, restart_attempts=1)
    SessionEventFactory(session=session, kind=SessionEvent.Kind.RESTART, detail={})
    SessionEventFactory(session=session, kind=SessionEvent.Kind.RESTART, detail={})
    SessionEventFactory(session=session, kind=SessionEvent.Kind.FAILOVER, detail={})
    old = SessionEventFactory(session=session, kind=SessionEvent.Kind.RESTART, detail={})
    SessionEvent.objects.filter(pk=old.pk).update(at=ago(hours=2))
    SessionEventFactory(session__workspace=workspace_b, kind=SessionEvent.Kind.RESTART, detail={})

    restarts = api.get(URL).json()["restarts"]

    assert restarts == {
        "restarts_last_hour": 2,
        "failovers_last_hour": 1,
        "sessions_restarting": 1,
        "restart_attempts_total": 1,
    }


def test_it_reports_queue_depths_read_from_the_broker(api, broker_redis):
    client, created = broker_redis
    worker = WorkerInstanceFactory(name=f"qd-{uuid.uuid4().hex[:8]}")
    queue = session_queue_name(worker.name)
    priority_list = f"{queue}\x06\x163"  # kombu's list for priority 3 of the same queue
    created += [queue, priority_list]
    client.lpush(queue, "a", "b", "c")
    client.lpush(priority_list, "d")

    figures = api.get(URL).json()["queues"]

    depths = {q["queue"]: q["depth"] for q in figures["queues"]}
    assert figures["ok"] is True
    assert depths[queue] == 4
    assert {"default", "webhooks", "campaigns", "maintenance"} <= set(depths)


def test_it_still_answers_when_the_broker_is_down(api, settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    response = api.get(URL)

    assert response.status_code == 200
    figures = response.json()["queues"]
    assert (figures["ok"], figures["queues"], figures["unacked"]) == (False, [], None)
    assert "ConnectionError" in figures["error"]


def test_it_reports_the_workspaces_webhook_backlog_and_dead_deliveries(api, workspace_a, workspace_b):
    for status in ["pending", "pending", "sending", "failed", "dead", "dead", "dead", "delivered"]:
        WebhookDeliveryFactory(endpoint__workspace=workspace_a, status=status)
    WebhookDeliveryFactory(endpoint__workspace=workspace_b, status="dead")
    oldest = WebhookDelivery.objects.filter(endpoint__workspace=workspace_a, status="failed").get()
    WebhookDelivery.objects.filter(pk=oldest.pk).update(created_at=ago(minutes=10))

    webhooks = api.get(URL).json()["webhooks"]

    assert webhooks | {"oldest_backlog_age_seconds": None} == {
        "pending": 2,
        "sending": 1,
        "failed": 1,
        "dead": 3,
        "backlog": 4,
        "oldest_backlog_age_seconds": None,
    }
    assert 590 <= webhooks["oldest_backlog_age_seconds"] < 700


def test_it_counts_the_last_hours_messages_by_direction(api, workspace_a, workspace_b):
    for _ in range(3):
        ChatFactory(workspace=workspace_a, direction=Chat.Direction.INBOUND)
    ChatFactory(workspace=workspace_a, direction=Chat.Direction.OUTBOUND, status=Chat.Status.SENT)
    ChatFactory(workspace=workspace_a, direction=Chat.Direction.OUTBOUND, status=Chat.Status.FAILED)
    yesterday = ChatFactory(workspace=workspace_a, direction=Chat.Direction.INBOUND)
    Chat.objects.filter(pk=yesterday.pk).update(created_at=ago(hours=2))
    ChatFactory(workspace=workspace_b, direction=Chat.Direction.INBOUND)

    messages = api.get(URL).json()["messages_last_hour"]

    assert messages == {"inbound": 3, "outbound": 2, "outbound_failed": 1}


def test_it_is_documented_in_the_openapi_schema(tmp_path):
    target = tmp_path / "schema.yml"

    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(target))

    operation = yaml.safe_load(target.read_text())["paths"]["/api/v1/health"]["get"]
    assert "200" in operation["responses"]
    assert operation["security"] == [{"ApiKeyAuth": []}]
