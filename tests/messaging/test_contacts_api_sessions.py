"""`GET /api/v1/contacts/{uuid}/sessions`: the numbers a contact talked to, most recent first."""

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import ContactFactory, ContactSessionFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


def test_it_lists_the_numbers_a_contact_talked_to(alice_api, workspace_a):
    contact = ContactFactory(workspace=workspace_a)
    old = WhatsAppSessionFactory(workspace=workspace_a, phone_number="+12015550101", status="stopped")
    new = WhatsAppSessionFactory(workspace=workspace_a, phone_number="+12015550102", status="connected")
    now = timezone.now()
    ContactSessionFactory(
        contact=contact,
        whatsapp_session=old,
        first_interaction_at=now - timedelta(days=9),
        last_interaction_at=now - timedelta(days=3),
        total_messages=7,
    )
    ContactSessionFactory(
        contact=contact,
        whatsapp_session=new,
        first_interaction_at=now - timedelta(days=1),
        last_interaction_at=now,
        total_messages=2,
    )
    ContactSessionFactory(contact=ContactFactory(workspace=workspace_a))  # someone else's history

    response = alice_api.get(f"/api/v1/contacts/{contact.uuid}/sessions")

    assert response.status_code == 200
    rows = response.json()
    assert [(r["session"]["phone_number"], r["status"], r["total_messages"]) for r in rows] == [
        ("+12015550102", "connected", 2),
        ("+12015550101", "stopped", 7),
    ]
    assert rows[0]["session"]["uuid"] == str(new.uuid)
    assert rows[1]["first_interaction_at"] and rows[1]["last_interaction_at"]


def test_it_lists_nothing_for_a_contact_without_history(alice_api, workspace_a):
    contact = ContactFactory(workspace=workspace_a)

    assert alice_api.get(f"/api/v1/contacts/{contact.uuid}/sessions").json() == []


def test_it_answers_404_for_unknown_or_foreign_contacts(alice_api, workspace_b):
    foreign = ContactFactory(workspace=workspace_b)
    ContactSessionFactory(contact=foreign)

    assert alice_api.get(f"/api/v1/contacts/{foreign.uuid}/sessions").status_code == 404
    assert alice_api.get("/api/v1/contacts/6f1c3a0e-0000-4000-8000-000000000000/sessions").status_code == 404
