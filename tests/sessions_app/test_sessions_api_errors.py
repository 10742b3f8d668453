"""The numbers API answers refusals with the status code a client can act on and the
service's own message: 429 + Retry-After, 503, 409, 404, 401."""

import pytest
from rest_framework.test import APIClient

from accounts.services import api_key_create, api_key_revoke
from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory, WorkerInstanceFactory

pytestmark = pytest.mark.django_db


def test_it_answers_429_with_retry_after_when_the_qr_budget_is_spent(
    alice_api, workspace_a, live_worker, settings
):
    for _ in range(settings.BLAZZ_QR_ATTEMPTS_PER_HOUR):
        assert alice_api.post("/api/v1/sessions").status_code == 201

    response = alice_api.post("/api/v1/sessions")

    assert response.status_code == 429
    assert 3500 < int(response["Retry-After"]) <= 3601
    assert "try again in about 60 min" in response.json()["error"]["message"]
    assert (
        WhatsAppSession.objects.filter(workspace=workspace_a).count() == settings.BLAZZ_QR_ATTEMPTS_PER_HOUR
    )


def test_it_answers_429_to_a_fresh_qr_over_budget(alice_api, workspace_a, live_worker, settings):
    settings.BLAZZ_QR_ATTEMPTS_PER_HOUR = 1
    session = WhatsAppSessionFactory(workspace=workspace_a, status="qr_scanning", assigned_worker=live_worker)
    assert alice_api.post(f"/api/v1/sessions/{session.uuid}/refresh-qr").status_code == 202

    response = alice_api.post(f"/api/v1/sessions/{session.uuid}/refresh-qr")

    assert response.status_code == 429
    assert int(response["Retry-After"]) > 0


def test_it_answers_503_when_no_worker_is_alive(alice_api, workspace_a):
    WorkerInstanceFactory(name="gone", status="dead")

    response = alice_api.post("/api/v1/sessions")

    assert response.status_code == 503
    assert response.json() == {
        "error": {
            "code": "no_capacity",
            "message": "No session worker has free capacity right now; the number was not started.",
            "field": None,
        }
    }
    assert not WhatsAppSession.objects.exists()


def test_it_answers_503_when_a_stopped_number_has_no_worker_to_start_on(alice_api, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="stopped")

    response = alice_api.post(f"/api/v1/sessions/{session.uuid}/start")

    assert response.status_code == 503
    assert "No session worker has free capacity" in response.json()["error"]["message"]
    session.refresh_from_db()
    assert session.status == "stopped"


@pytest.mark.parametrize(
    "method,suffix",
    [
        ("get", ""),
        ("delete", ""),
        ("get", "/qr"),
        ("post", "/start"),
        ("post", "/stop"),
        ("post", "/restart"),
        ("post", "/logout"),
        ("post", "/primary"),
        ("post", "/refresh-qr"),
    ],
)
def test_it_answers_404_for_another_workspaces_number(alice_api, workspace_b, method, suffix):
    theirs = WhatsAppSessionFactory(workspace=workspace_b, status="qr_scanning", qr_code="secret-code")

    response = getattr(alice_api, method)(f"/api/v1/sessions/{theirs.uuid}{suffix}")

    assert response.status_code == 404
    assert b"secret-code" not in response.content
    fresh = WhatsAppSession.objects.get(pk=theirs.pk)
    assert (fresh.status, fresh.deleted_at, fresh.is_primary) == ("qr_scanning", None, False)


def test_it_refuses_a_revoked_key(workspace_a, alice, live_worker):
    api_key, full_key = api_key_create(workspace=workspace_a, name="old", created_by=alice)
    api_key_revoke(api_key=api_key)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {full_key}")

    assert client.get("/api/v1/sessions").status_code == 401
    assert client.post("/api/v1/sessions").status_code == 401
    assert not WhatsAppSession.objects.exists()


def test_it_refuses_requests_without_a_key(client, workspace_a):
    assert client.get("/api/v1/sessions").status_code in (401, 403)
