"""Agents see the numbers but cannot change them: every verb is for owners and admins."""

import pytest
from django.urls import reverse

from sessions_app.models import WhatsAppSession
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db
VERBS = ["start", "restart", "stop", "logout", "delete", "primary", "refresh_qr"]


def test_it_shows_agents_the_numbers_read_only(carol_client, workspace_a, live_worker):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650121")

    listing = carol_client.get(reverse("sessions_app:session_list")).content.decode()
    page = carol_client.get(reverse("sessions_app:session_detail", args=[session.uuid])).content.decode()

    assert "+5511987650121" in listing
    assert 'data-testid="add-number"' not in listing
    assert "QR attempts this hour" not in listing
    assert "Connected as" in page
    assert '<form method="post" action="/numbers/' not in page


def test_it_refuses_to_let_an_agent_add_a_number(carol_client, workspace_a, live_worker):
    response = carol_client.post(reverse("sessions_app:session_add"), {"idempotency_key": "c" * 32})

    assert response.status_code == 403
    assert not WhatsAppSession.objects.filter(workspace=workspace_a).exists()


@pytest.mark.parametrize("verb", VERBS)
def test_it_refuses_every_verb_to_an_agent(carol_client, workspace_a, verb):
    session = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+5511987650122")

    response = carol_client.post(reverse(f"sessions_app:session_{verb}", args=[session.uuid]))

    assert response.status_code == 403
    fresh = WhatsAppSession.objects.get(pk=session.pk)
    assert (fresh.status, fresh.deleted_at, fresh.is_primary) == ("connected", None, False)
    assert not fresh.events.exists()


def test_it_sends_anonymous_visitors_to_the_login_page(client, workspace_a):
    session = WhatsAppSessionFactory(workspace=workspace_a)

    response = client.post(reverse("sessions_app:session_delete", args=[session.uuid]))

    assert response.status_code == 302
    assert "/login/" in response["Location"]
    assert WhatsAppSession.objects.get(pk=session.pk).deleted_at is None
