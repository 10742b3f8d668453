"""F2: `/metrics` gives Prometheus the Health figures as gauges computed at scrape time, and
only to who may read them: a bearer token when one is set, else a local, unproxied client."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from messaging.models import Chat
from sessions_app.models import WhatsAppSession, WorkerInstance
from tests.factories import ChatFactory, WebhookDeliveryFactory, WhatsAppSessionFactory, WorkerInstanceFactory

pytestmark = pytest.mark.django_db
Status = WhatsAppSession.Status
URL = "/metrics"


def scrape(client: Client | None = None, **headers) -> dict[tuple[str, tuple], float]:
    response = (client or Client()).get(URL, **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def test_it_exposes_the_health_figures_as_gauges(workspace_a, workspace_b):
    worker = WorkerInstanceFactory(
        name=f"m-{uuid.uuid4().hex[:8]}",
        capacity=8,
        metrics={
            "sessions": [1, 2, 3],
            "session_count": 3,
            "chrome_pss_mb": 512.0,
            "open_fds": 99,
            "load": 1.5,
        },
    )
    WhatsAppSessionFactory(workspace=workspace_a, status=Status.CONNECTED, assigned_worker=worker)
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.CONNECTED, assigned_worker=worker)
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.FAILED)
    WebhookDeliveryFactory(endpoint__workspace=workspace_a, status="dead")
    WebhookDeliveryFactory(endpoint__workspace=workspace_b, status="pending")
    ChatFactory(workspace=workspace_a, direction=Chat.Direction.INBOUND)
    ChatFactory(workspace=workspace_b, direction=Chat.Direction.OUTBOUND)

    samples = scrape()

    w = (("worker", worker.name),)
    assert samples[("blazz_worker_up", w)] == 1
    assert samples[("blazz_worker_status", (("status", "alive"), *w))] == 1
    assert samples[("blazz_worker_status", (("status", "dead"), *w))] == 0
    assert samples[("blazz_worker_capacity", w)] == 8
    assert samples[("blazz_worker_sessions_assigned", w)] == 2
    assert samples[("blazz_worker_sessions_reported", w)] == 3
    assert samples[("blazz_worker_chrome_pss_bytes", w)] == 512 * 2**20
    assert samples[("blazz_worker_open_fds", w)] == 99
    assert samples[("blazz_worker_load1", w)] == 1.5
    assert samples[("blazz_worker_heartbeat_age_seconds", w)] < 10
    # Every workspace is counted (Prometheus is the operator's view).
    assert samples[("blazz_sessions", (("status", "connected"),))] == 2
    assert samples[("blazz_sessions", (("status", "failed"),))] == 1
    assert samples[("blazz_sessions_stuck", ())] == 1
    assert samples[("blazz_sessions_stuck_by_reason", (("reason", "failed"),))] == 1
    assert samples[("blazz_webhook_deliveries", (("status", "dead"),))] == 1
    assert samples[("blazz_webhook_backlog", ())] == 1
    assert samples[("blazz_messages_last_hour", (("direction", "inbound"),))] == 1
    assert samples[("blazz_messages_last_hour", (("direction", "outbound"),))] == 1
    assert samples[("blazz_broker_up", ())] == 1
    assert ("blazz_queue_depth", (("queue", f"wa.{worker.name}"),)) in samples
    assert ("blazz_queue_depth", (("queue", "maintenance"),)) in samples


def test_it_computes_the_figures_at_every_scrape(workspace_a):
    before = scrape()[("blazz_sessions", (("status", "qr_scanning"),))]
    WhatsAppSessionFactory(workspace=workspace_a, status=Status.QR_SCANNING)

    assert scrape()[("blazz_sessions", (("status", "qr_scanning"),))] == before + 1


def test_it_marks_a_silent_worker_down_and_omits_what_it_did_not_report():
    worker = WorkerInstanceFactory(name=f"m-{uuid.uuid4().hex[:8]}", metrics={})
    WorkerInstance.objects.filter(pk=worker.pk).update(
        last_heartbeat_at=timezone.now() - timedelta(minutes=5)
    )

    samples = scrape()

    w = (("worker", worker.name),)
    assert samples[("blazz_worker_up", w)] == 0
    assert samples[("blazz_worker_heartbeat_age_seconds", w)] >= 300
    # Unknown is absent, never a made-up 0.
    assert ("blazz_worker_sessions_reported", w) not in samples
    assert ("blazz_worker_chrome_pss_bytes", w) not in samples


def test_it_reports_a_broker_that_does_not_answer(settings):
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:1/0"

    samples = scrape()

    assert samples[("blazz_broker_up", ())] == 0
    assert not any(name == "blazz_queue_depth" for name, _ in samples)


def test_it_carries_no_tenant_data(workspace_b):
    WhatsAppSessionFactory(workspace=workspace_b, status=Status.FAILED, session_id="bobs-secret-session")

    body = Client().get(URL).content.decode()

    assert "bobs-secret-session" not in body
    assert workspace_b.name not in body
    assert str(workspace_b.uuid) not in body


def test_it_refuses_remote_clients_when_no_token_is_set(settings):
    settings.BLAZZ_METRICS_TOKEN = ""

    assert Client(REMOTE_ADDR="10.1.2.3").get(URL).status_code == 403
    assert Client(REMOTE_ADDR="::1").get(URL).status_code == 200


def test_it_refuses_a_request_that_came_through_a_proxy_on_loopback(settings):
    settings.BLAZZ_METRICS_TOKEN = ""

    response = Client().get(URL, HTTP_X_FORWARDED_FOR="203.0.113.9")

    assert response.status_code == 403


def test_it_requires_the_bearer_token_when_one_is_set(settings):
    settings.BLAZZ_METRICS_TOKEN = "s3cret-scrape-token"

    assert Client().get(URL).status_code == 401  # loopback is not enough any more
    wrong = Client().get(URL, HTTP_AUTHORIZATION="Bearer nope")
    assert (wrong.status_code, wrong["WWW-Authenticate"]) == (401, 'Bearer realm="metrics"')
    remote = Client(REMOTE_ADDR="10.1.2.3")
    assert remote.get(URL, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token").status_code == 200


def test_it_answers_only_get():
    assert Client().post(URL).status_code == 405


def test_it_speaks_openmetrics_when_asked():
    response = Client().get(URL, HTTP_ACCEPT="application/openmetrics-text; version=1.0.0")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/openmetrics-text")
    assert response.content.decode().rstrip().endswith("# EOF")
