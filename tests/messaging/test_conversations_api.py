"""The team inbox through the API: list with filters, assign, status, read marks, notes and
quick replies, with the project's error body for bad input and 404 for other workspaces."""

from __future__ import annotations

import pytest

from messaging.models import Chat, ContactSession
from sessions_app.models import WhatsAppSession
from tests.factories import (
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    QuickReplyFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def conversation(workspace_a):
    number = WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000001"
    )
    contact = ContactFactory(workspace=workspace_a, phone="+5521977770001", name="Ana")
    ChatFactory(workspace=workspace_a, whatsapp_session=number, contact=contact, body="where is my parcel")
    return ContactSessionFactory(contact=contact, whatsapp_session=number, unread_count=1)


def test_list_and_filter_conversations(alice_api, conversation, carol):
    rows = alice_api.get("/api/v1/conversations").json()["results"]
    assert [(r["uuid"], r["status"], r["unread_count"], r["last_body"]) for r in rows] == [
        (str(conversation.uuid), "open", 1, "where is my parcel")
    ]
    assert alice_api.get("/api/v1/conversations", {"q": "parcel"}).json()["results"]
    assert not alice_api.get("/api/v1/conversations", {"q": "refund"}).json()["results"]
    assert alice_api.get("/api/v1/conversations", {"assignee": "none"}).json()["results"]
    assert not alice_api.get("/api/v1/conversations", {"assignee": str(carol.pk)}).json()["results"]
    bad = alice_api.get("/api/v1/conversations", {"assignee": "me", "status": "closed"})
    assert bad.status_code == 400 and bad.json()["error"]["field"] in ("assignee", "status")


def test_assign_resolve_and_mark_read_by_patch(alice_api, conversation, carol, bob):
    url = f"/api/v1/conversations/{conversation.uuid}"
    answer = alice_api.patch(
        url, {"assignee": carol.pk, "status": "resolved", "unread": False}, format="json"
    )
    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["assignee"]["id"], body["status"], body["unread_count"]) == (carol.pk, "resolved", 0)
    stored = ContactSession.objects.get(pk=conversation.pk)
    assert (stored.assignee_id, stored.status, stored.unread_count) == (carol.pk, "resolved", 0)

    refused = alice_api.patch(url, {"assignee": bob.pk}, format="json")  # not a member of A
    assert refused.status_code == 400 and refused.json()["error"]["field"] == "assignee"
    assert alice_api.patch(url, {"colour": "red"}, format="json").status_code == 400
    assert alice_api.patch(url, {"assignee": None}, format="json").json()["assignee"] is None


def test_notes_are_listed_and_never_sent(alice_api, conversation, alice):
    url = f"/api/v1/conversations/{conversation.uuid}/notes"
    created = alice_api.post(url, {"body": "VIP"}, format="json")
    assert created.status_code == 201 and created.json()["author"]["id"] == alice.pk
    assert [n["body"] for n in alice_api.get(url).json()] == ["VIP"]
    assert not Chat.objects.filter(direction="outbound").exists()
    empty = alice_api.post(url, {"body": "  "}, format="json")
    assert empty.status_code == 400 and empty.json()["error"]["field"] == "body"


def test_quick_replies_crud(alice_api, workspace_a):
    created = alice_api.post(
        "/api/v1/quick-replies", {"shortcut": "thanks", "body": "Thanks {{name}}!"}, format="json"
    )
    assert created.status_code == 201, created.content
    url = f"/api/v1/quick-replies/{created.json()['uuid']}"
    duplicate = alice_api.post("/api/v1/quick-replies", {"shortcut": "thanks", "body": "x"}, format="json")
    assert duplicate.status_code == 400 and duplicate.json()["error"]["field"] == "shortcut"
    changed = alice_api.put(url, {"shortcut": "thx", "body": "Thank you {{name|there}}"}, format="json")
    assert changed.status_code == 200 and changed.json()["shortcut"] == "thx"
    assert [r["shortcut"] for r in alice_api.get("/api/v1/quick-replies").json()] == ["thx"]
    assert alice_api.delete(url).status_code == 204
    assert alice_api.get(url).status_code == 404


def test_another_workspaces_conversation_and_quick_reply_are_404(alice_api, workspace_b):
    foreign = ContactSessionFactory(contact=ContactFactory(workspace=workspace_b))
    reply = QuickReplyFactory(workspace=workspace_b)
    for url in (
        f"/api/v1/conversations/{foreign.uuid}",
        f"/api/v1/conversations/{foreign.uuid}/notes",
        f"/api/v1/quick-replies/{reply.uuid}",
    ):
        assert alice_api.get(url).status_code == 404
    assert (
        alice_api.patch(
            f"/api/v1/conversations/{foreign.uuid}", {"status": "resolved"}, format="json"
        ).status_code
        == 404
    )
    assert not alice_api.get("/api/v1/conversations").json()["results"]
