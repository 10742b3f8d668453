"""`POST /api/v1/sessions` with an `Idempotency-Key`: a retry (even a concurrent one)
gets the number the first request created, never a second browser or QR attempt."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create
from sessions_app.models import SessionEvent, WhatsAppSession
from tests.concurrency import run_at_once
from tests.factories import WhatsAppSessionFactory, WorkspaceFactory
from tests.sessions_app.conftest import forget_routes_of_next_sessions


@pytest.mark.django_db
def test_it_returns_the_same_number_for_a_repeated_key(alice_api, workspace_a, live_worker):
    first = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="crm-import-42")
    again = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="crm-import-42")
    other = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="crm-import-43")

    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 201)
    assert again.json()["uuid"] == first.json()["uuid"]
    assert other.json()["uuid"] != first.json()["uuid"]
    assert WhatsAppSession.objects.filter(workspace=workspace_a).count() == 2
    assert SessionEvent.objects.filter(kind="qr_attempt").count() == 2
    session = WhatsAppSession.objects.get(uuid=first.json()["uuid"])
    # A column with a unique constraint per workspace, as every other create keeps its key.
    assert session.idempotency_key == "crm-import-42"
    assert "idempotency_key" not in session.metadata


@pytest.mark.django_db
def test_it_replays_a_key_even_when_the_qr_budget_is_spent_since(alice_api, live_worker, settings):
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 1
    first = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="k1")

    assert alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="k2").status_code == 429
    again = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="k1")

    assert again.status_code == 200
    assert again.json()["uuid"] == first.json()["uuid"]


@pytest.mark.django_db
def test_it_keeps_keys_apart_between_workspaces(alice_api, workspace_b, bob, live_worker):
    WhatsAppSessionFactory(workspace=workspace_b, idempotency_key="shared")

    response = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="shared")

    assert response.status_code == 201
    assert WhatsAppSession.objects.filter(idempotency_key="shared").count() == 2


@pytest.mark.django_db
def test_it_answers_409_when_the_keys_number_was_deleted(alice_api, workspace_a, live_worker):
    first = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="gone")
    alice_api.delete(f"/api/v1/sessions/{first.json()['uuid']}")

    again = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="gone")

    assert again.status_code == 409
    assert "use a new key" in again.json()["error"]["message"]
    assert WhatsAppSession.objects.filter(workspace=workspace_a).count() == 1


@pytest.mark.django_db
def test_it_refuses_a_malformed_key(alice_api, live_worker):
    response = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="x" * 256)

    assert response.status_code == 400
    assert not WhatsAppSession.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_it_creates_one_number_for_concurrent_duplicates(alice, live_worker, broker):
    # Real concurrency needs committed data and one connection per thread, hence
    # transaction=True. The barrier releases all requests together; the workspace row
    # lock makes the late ones wait and then find the first one's row.
    workspace = WorkspaceFactory()
    _, key = api_key_create(workspace=workspace, name="crm", created_by=alice)
    requests = 4
    forget_routes_of_next_sessions(requests)

    def create() -> tuple[int, str]:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = client.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="same-click")
        return response.status_code, response.json()["uuid"]

    answers = run_at_once(create, times=requests, timeout=30)

    assert sorted(code for code, _ in answers) == [200] * (requests - 1) + [201]
    assert len({uuid for _, uuid in answers}) == 1
    assert WhatsAppSession.objects.filter(workspace=workspace).count() == 1
    assert SessionEvent.objects.filter(session__workspace=workspace, kind="qr_attempt").count() == 1
    # Committed for real, so the one start task really went to the worker's queue.
    assert [t.name for t in broker.tasks(live_worker)] == ["sessions_app.tasks.session_start"]


@pytest.mark.django_db
def test_a_second_number_with_the_same_key_is_refused_by_the_database(workspace_a):
    from django.db import IntegrityError, transaction

    WhatsAppSessionFactory(workspace=workspace_a, idempotency_key="once")
    with pytest.raises(IntegrityError), transaction.atomic():
        WhatsAppSessionFactory(workspace=workspace_a, idempotency_key="once")


@pytest.mark.django_db
def test_keys_have_one_length_everywhere(alice_api, live_worker):
    too_long = "k" * 201  # the numbers API took up to 255, the others 200

    response = alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY=too_long)

    assert response.status_code == 400
    assert alice_api.post("/api/v1/sessions", HTTP_IDEMPOTENCY_KEY="k" * 200).status_code == 201
