"""The shared inbox in the API: one conversation per contact across numbers, latest first,
with unread counts, filters by number and contact, and the read mark."""

import datetime as dt

import pytest
from django.utils import timezone

from messaging.models import Chat
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def inbox(workspace_a):
    one = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550101")
    two = WhatsAppSessionFactory(workspace=workspace_a, status="connected", phone_number="+12015550102")
    ann = ContactFactory(workspace=workspace_a, name="Ann", phone="+12015550201")
    ben = ContactFactory(workspace=workspace_a, name="Ben", phone="+12015550202")
    now = timezone.now()
    for minutes, session, contact, body in [
        (5, one, ann, "hello from ann"),
        (4, two, ann, "ann again, other number"),
        (3, one, ben, "ben here"),
    ]:
        chat = ChatFactory(
            workspace=workspace_a, whatsapp_session=session, contact=contact, body=body, direction="inbound"
        )
        Chat.objects.filter(pk=chat.pk).update(created_at=now - dt.timedelta(minutes=minutes))
    return {"one": one, "two": two, "ann": ann, "ben": ben}


def test_it_lists_conversations_latest_first_with_unread_counts(alice_api, inbox):
    rows = alice_api.get("/api/v1/chats").json()["results"]

    assert [(r["contact"]["name"], r["unread"], r["last_body"]) for r in rows] == [
        ("Ben", 1, "ben here"),
        ("Ann", 2, "ann again, other number"),
    ]


def test_it_filters_by_number_and_contact(alice_api, inbox):
    by_number = alice_api.get("/api/v1/chats", {"session": inbox["two"].uuid}).json()["results"]
    by_name = alice_api.get("/api/v1/chats", {"q": "ben"}).json()["results"]

    assert [r["contact"]["uuid"] for r in by_number] == [str(inbox["ann"].uuid)]
    assert [r["contact"]["name"] for r in by_name] == ["Ben"]


def test_it_refuses_a_number_of_another_workspace(alice_api, workspace_b):
    theirs = WhatsAppSessionFactory(workspace=workspace_b)

    response = alice_api.get("/api/v1/chats", {"session": theirs.uuid})

    assert response.status_code == 400
    assert response.json()["error"]["field"] == "session"


def test_it_marks_a_conversation_read(alice_api, inbox):
    response = alice_api.post(f"/api/v1/chats/{inbox['ann'].uuid}/read")

    assert response.status_code == 204
    unread = {r["contact"]["name"]: r["unread"] for r in alice_api.get("/api/v1/chats").json()["results"]}
    assert unread == {"Ann": 0, "Ben": 1}
