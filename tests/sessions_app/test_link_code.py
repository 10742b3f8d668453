"""Pair by code: asking for a code is validated, budgeted and sent to the session's worker."""

import pytest

from tests.factories import WhatsAppSessionFactory
from tests.sessions_app.conftest import fresh_route

pytestmark = pytest.mark.django_db


@pytest.fixture
def scanning(workspace_a, live_worker):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="qr_scanning", assigned_worker=live_worker)
    fresh_route(session)  # an earlier run may have cached another worker's queue for this id
    return session


def test_it_sends_the_code_request_to_the_sessions_worker(
    alice_api, scanning, live_worker, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = alice_api.post(
            f"/api/v1/sessions/{scanning.uuid}/link-code", {"phone_number": "+55 11 98765-0103"}
        )
    assert response.status_code == 202
    [task] = [t for t in broker.tasks(live_worker) if t.name == "sessions_app.tasks.session_link_code"]
    assert task.kwargs == {"session_pk": scanning.pk, "phone_number": "+5511987650103"}
    assert scanning.events.filter(kind="qr_attempt").count() == 1


@pytest.mark.parametrize("phone", ["", "12", "not a phone", "+1" + "9" * 40])
def test_it_refuses_an_invalid_phone_with_400(alice_api, scanning, phone):
    response = alice_api.post(f"/api/v1/sessions/{scanning.uuid}/link-code", {"phone_number": phone})
    assert response.status_code == 400
    assert scanning.events.filter(kind="qr_attempt").count() == 0


def test_it_refuses_a_code_for_a_number_not_waiting_for_a_scan(alice_api, workspace_a, live_worker):
    connected = WhatsAppSessionFactory(workspace=workspace_a, status="connected", assigned_worker=live_worker)
    response = alice_api.post(
        f"/api/v1/sessions/{connected.uuid}/link-code", {"phone_number": "+5511987650103"}
    )
    assert response.status_code == 409
    assert "waits for a scan" in response.json()["error"]["message"]


def test_it_shows_the_latest_code_or_says_there_is_none(alice_api, scanning):
    assert alice_api.get(f"/api/v1/sessions/{scanning.uuid}/link-code").status_code == 409
    scanning.metadata = {
        "link_code": {"code": "ABCD-EFGH", "phone_number": "+5511987650103", "at": "2026-11-22T00:00:00Z"}
    }
    scanning.save()
    body = alice_api.get(f"/api/v1/sessions/{scanning.uuid}/link-code").json()
    assert body["code"] == "ABCD-EFGH"


def test_it_lets_a_manager_ask_from_the_numbers_page_but_not_an_agent(alice_client, carol_client, scanning):
    url = f"/numbers/{scanning.uuid}/link-code/"
    assert carol_client.post(url, {"phone_number": "+5511987650103"}).status_code == 403
    response = alice_client.post(url, {"phone_number": "+5511987650103"}, follow=True)
    assert "pairing code" in response.content.decode()
    page = alice_client.get(f"/numbers/{scanning.uuid}/")
    assert b"Link with a phone number instead" in page.content
