"""The Numbers pages: a manager adds a number and lands on its live page; the list shows
every number's state; the page carries what numbers.js needs to follow it live."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from sessions_app.models import SessionEvent, WhatsAppSession
from tests.factories import SessionEventFactory, WhatsAppSessionFactory, WorkerInstanceFactory

pytestmark = pytest.mark.django_db
LIST = reverse("sessions_app:session_list")
ADD = reverse("sessions_app:session_add")


def detail(session) -> str:
    return reverse("sessions_app:session_detail", args=[session.uuid])


def test_it_adds_a_number_on_the_live_worker_and_shows_its_page(
    alice_client, alice, workspace_a, live_worker
):
    response = alice_client.post(ADD, {"idempotency_key": "a" * 32})

    session = WhatsAppSession.objects.get(workspace=workspace_a)
    assert response.status_code == 302
    assert response["Location"] == detail(session)
    assert session.assigned_worker == live_worker
    assert session.status == "starting"
    assert session.created_by == alice
    page = alice_client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Number added" in html
    assert "Opening WhatsApp Web for this number" in html
    assert f'data-session="{session.uuid}"' in html
    assert "blazz/numbers.js" in html


def test_it_adds_one_number_when_the_same_form_is_submitted_twice(alice_client, workspace_a, live_worker):
    first = alice_client.post(ADD, {"idempotency_key": "b" * 32})
    second = alice_client.post(ADD, {"idempotency_key": "b" * 32}, follow=True)

    assert WhatsAppSession.objects.filter(workspace=workspace_a).count() == 1
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "already being added" in second.content.decode()
    assert SessionEvent.objects.filter(kind="qr_attempt").count() == 1


def test_it_lists_numbers_with_status_phone_worker_activity_and_primary(
    alice_client, workspace_a, workspace_b
):
    worker = WorkerInstanceFactory(name="wa-list-1")
    WhatsAppSessionFactory(
        workspace=workspace_a,
        status="connected",
        phone_number="+5511987650111",
        assigned_worker=worker,
        is_primary=True,
        last_activity_at=timezone.now() - timedelta(minutes=3),
    )
    WhatsAppSessionFactory(workspace=workspace_a, status="qr_scanning", session_id="wa_waiting")
    WhatsAppSessionFactory(workspace=workspace_a, session_id="wa_deleted", deleted_at=timezone.now())
    WhatsAppSessionFactory(workspace=workspace_b, session_id="wa_someone_else")

    html = alice_client.get(LIST).content.decode()

    assert "+5511987650111" in html
    assert '<span class="badge connected" data-field="status">Connected</span>' in html
    assert '<span class="badge qr_scanning" data-field="status">Waiting for QR scan</span>' in html
    assert "wa-list-1" in html
    assert "★" in html
    assert "wa_waiting" in html
    assert "wa_deleted" not in html
    assert "wa_someone_else" not in html
    assert 'id="status-labels"' in html  # numbers.js names statuses the way the server does


def test_it_shows_the_qr_image_with_a_version_while_waiting_for_a_scan(alice_client, workspace_a):
    expires = timezone.now() + timedelta(seconds=20)
    session = WhatsAppSessionFactory(
        workspace=workspace_a, status="qr_scanning", qr_code="2@abc,def", qr_expires_at=expires
    )

    html = alice_client.get(detail(session)).content.decode()

    qr_url = reverse("sessions_app:session_qr_svg", args=[session.uuid])
    assert f'src="{qr_url}?v={int(expires.timestamp())}"' in html
    assert f'data-qr-url="{qr_url}"' in html
    assert "Linked devices" in html


def test_it_shows_a_connected_number_with_its_phone_and_timeline(alice_client, workspace_a):
    session = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+5511987650112", qr_code=""
    )
    SessionEventFactory(session=session, detail={"from": "authenticated", "to": "connected"})
    SessionEventFactory(session=session, kind="restart", detail={"error": "page crashed", "auto": True})

    html = alice_client.get(detail(session)).content.decode()

    assert "Connected as" in html
    assert '<strong data-field="phone_number">+5511987650112</strong>' in html
    assert "authenticated → <strong>connected</strong>" in html
    assert "page crashed" in html
    assert "<img" in html and "src=" not in html.split("<img", 1)[1].split(">", 1)[0]


def test_it_shows_managers_the_add_button_and_the_qr_budget(alice_client, live_worker):
    html = alice_client.get(LIST).content.decode()

    assert 'data-testid="add-number"' in html
    assert "QR attempts this hour: 0 of 5" in html
