"""The team inbox page (issue 19): conversations (a contact on one number) in a list with
views, filters, search and unread counts; the selected conversation's thread with notes,
assignment, status, mark unread and quick replies. A GET changes nothing; every write
redirects back (a reload never repeats it); refusals are flash messages, never a 500."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Chat, ContactSession, ConversationNote
from tests.factories import (
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    QuickReplyFactory,
    WhatsAppSessionFactory,
)
from tests.sessions_app.conftest import broker, fresh_route, live_worker  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def numbers(workspace_a, live_worker):  # noqa: F811
    one = WhatsAppSessionFactory(
        workspace=workspace_a,
        status="connected",
        phone_number="+12015550101",
        assigned_worker=live_worker,
        is_primary=True,
    )
    two = WhatsAppSessionFactory(
        workspace=workspace_a, status="connected", phone_number="+12015550102", assigned_worker=live_worker
    )
    fresh_route(one)
    fresh_route(two)
    return one, two


def conversation(
    number, contact, *, minutes_ago: int, unread: int = 0, body: str = "hi", **fields
) -> ContactSession:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    message = ChatFactory(
        workspace=number.workspace, whatsapp_session=number, contact=contact, direction="inbound", body=body
    )
    Chat.objects.filter(pk=message.pk).update(created_at=at)
    return ContactSessionFactory(
        contact=contact,
        whatsapp_session=number,
        last_interaction_at=at,
        last_inbound_at=at,
        unread_count=unread,
        **fields,
    )


@pytest.fixture
def inbox(workspace_a, numbers):
    one, two = numbers
    ann = ContactFactory(workspace=workspace_a, name="Ann", phone="+12015550201")
    ben = ContactFactory(workspace=workspace_a, name="Ben", phone="+12015550202")
    ContactFactory(workspace=workspace_a, name="Silent")  # never wrote: no conversation
    return {
        "ann_one": conversation(one, ann, minutes_ago=30, unread=1, body="ann on one"),
        "ben_one": conversation(one, ben, minutes_ago=10, unread=0, body="my parcel is late"),
        "ann_two": conversation(two, ann, minutes_ago=20, unread=2, body="ann on two"),
    }


def listed(response) -> list[tuple[str, str, int]]:
    assert response.status_code == 200, response.content[:500]
    return [
        (c.contact.name, str(c.whatsapp_session.phone_number), c.unread_count)
        for c in response.context["conversations"]
    ]


def test_it_lists_one_conversation_per_contact_and_number_latest_first(alice_client, inbox):
    page = alice_client.get(reverse("messaging:inbox"))
    assert listed(page) == [
        ("Ben", "+12015550101", 0),
        ("Ann", "+12015550102", 2),
        ("Ann", "+12015550101", 1),
    ]
    html = page.content.decode()
    assert "my parcel is late" in html and "Silent" not in html


def test_views_filters_and_search(alice_client, carol, inbox, numbers):
    inbox["ann_two"].assignee = carol
    inbox["ann_two"].save()
    ContactSession.objects.filter(pk=inbox["ben_one"].pk).update(status="resolved")
    url = reverse("messaging:inbox")
    assert listed(alice_client.get(url, {"view": "mine"})) == []
    assert [n for n, _, _ in listed(alice_client.get(url, {"view": "unassigned"}))] == ["Ben", "Ann"]
    assert listed(alice_client.get(url, {"number": numbers[1].uuid})) == [("Ann", "+12015550102", 2)]
    assert [n for n, _, _ in listed(alice_client.get(url, {"status": "resolved"}))] == ["Ben"]
    assert [n for n, _, _ in listed(alice_client.get(url, {"q": "parcel"}))] == ["Ben"]
    assert [n for n, _, _ in listed(alice_client.get(url, {"q": "(201) 555-0202"}))] == ["Ben"]
    # Junk filters show everything rather than failing.
    assert len(listed(alice_client.get(url, {"view": "x", "status": "y", "number": "z"}))) == 3


def test_opening_a_conversation_shows_its_thread_and_notes_and_marks_nothing_read(alice_client, alice, inbox):
    ann_two = inbox["ann_two"]
    ConversationNote.objects.create(conversation=ann_two, author=alice, body="Prefers mornings")
    page = alice_client.get(
        reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": ann_two.uuid})
    )
    html = page.content.decode()
    assert page.status_code == 200
    # The other number is another conversation (listed on the left, not in this thread).
    assert [item.message.body for item in page.context["thread"] if item.message] == ["ann on two"]
    assert "Prefers mornings" in html and "only the team sees this" in html
    assert ContactSession.objects.get(pk=ann_two.pk).unread_count == 2

    seen = alice_client.post(
        reverse("messaging:inbox_read", kwargs={"conversation_uuid": ann_two.uuid}),
        HTTP_X_REQUESTED_WITH="fetch",
    )
    assert seen.status_code == 204
    assert ContactSession.objects.get(pk=ann_two.pk).unread_count == 0


def test_an_agent_assigns_resolves_notes_and_marks_unread(carol_client, carol, alice, inbox):
    ben = inbox["ben_one"]
    kwargs = {"conversation_uuid": ben.uuid}
    back = carol_client.post(
        reverse("messaging:inbox_assign", kwargs=kwargs), {"assignee": "me", "filters": "view=mine"}
    )
    assert back.status_code == 302 and back.url.endswith("?view=mine")
    carol_client.post(reverse("messaging:inbox_status", kwargs=kwargs), {"status": "pending"})
    carol_client.post(reverse("messaging:inbox_note", kwargs=kwargs), {"body": "Called, no answer"})
    stored = ContactSession.objects.get(pk=ben.pk)
    assert (stored.assignee, stored.status) == (carol, "pending")
    assert [n.body for n in stored.notes.all()] == ["Called, no answer"]
    assert not Chat.objects.filter(direction="outbound").exists()

    unread = carol_client.post(reverse("messaging:inbox_unread", kwargs=kwargs))
    assert unread.url == reverse("messaging:inbox")
    assert ContactSession.objects.get(pk=ben.pk).unread_count == 1

    refused = carol_client.post(
        reverse("messaging:inbox_status", kwargs=kwargs), {"status": "archived"}, follow=True
    )
    assert refused.status_code == 200 and "Status must be one of" in refused.content.decode()
    empty_note = carol_client.post(reverse("messaging:inbox_note", kwargs=kwargs), {"body": " "}, follow=True)
    assert "A note needs some text." in empty_note.content.decode()


def test_a_reply_goes_out_from_the_conversations_number_and_assigns_whoever_answered(
    carol_client, carol, inbox, numbers
):
    ann_two = inbox["ann_two"]
    page = carol_client.get(
        reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": ann_two.uuid})
    )
    assert page.context["sending_number"] == numbers[1]
    assert page.context["reply_warning"] is None

    carol_client.post(
        reverse("messaging:inbox_reply", kwargs={"conversation_uuid": ann_two.uuid}),
        {"body": "On it!", "session": str(numbers[1].uuid), "idempotency_key": "k1"},
    )
    reply = Chat.objects.get(direction="outbound")
    assert (reply.body, reply.whatsapp_session_id) == ("On it!", numbers[1].pk)
    assert ContactSession.objects.get(pk=ann_two.pk).assignee == carol


def test_the_page_warns_when_the_customer_last_wrote_to_another_number(alice_client, inbox):
    # Ann wrote on number one 30 minutes ago and on number two 20 minutes ago.
    def warning(conversation):
        url = reverse("messaging:inbox_conversation", kwargs={"conversation_uuid": conversation.uuid})
        return alice_client.get(url).context["reply_warning"]

    assert warning(inbox["ann_two"]) is None
    assert "last wrote to +12015550102; this reply leaves from +12015550101" in warning(inbox["ann_one"])


def test_quick_replies_are_filled_in_for_the_contact(alice_client, workspace_a, inbox):
    QuickReplyFactory(workspace=workspace_a, shortcut="thanks", body="Thanks {{name}}, we are on it.")
    QuickReplyFactory(workspace=workspace_a, shortcut="city", body="Still in {{city}}?")
    url = reverse("messaging:inbox_quick_reply", kwargs={"conversation_uuid": inbox["ann_one"].uuid})
    assert alice_client.get(url, {"shortcut": "/thanks"}).json() == {
        "shortcut": "thanks",
        "text": "Thanks Ann, we are on it.",
    }
    missing = alice_client.get(url, {"shortcut": "city"})
    assert missing.status_code == 400 and "city" in missing.json()["error"]
    assert alice_client.get(url, {"shortcut": "nope"}).status_code == 404


def test_another_workspaces_conversation_is_a_404(alice_client, workspace_b):
    foreign = ContactSessionFactory(contact=ContactFactory(workspace=workspace_b))
    kwargs = {"conversation_uuid": foreign.uuid}
    assert alice_client.get(reverse("messaging:inbox_conversation", kwargs=kwargs)).status_code == 404
    assert (
        alice_client.post(
            reverse("messaging:inbox_status", kwargs=kwargs), {"status": "resolved"}
        ).status_code
        == 404
    )
    assert ContactSession.objects.get(pk=foreign.pk).status == "open"


def test_a_manager_turns_auto_assignment_on_and_agents_cannot(alice_client, carol_client, workspace_a):
    assert alice_client.post(reverse("messaging:inbox_settings"), {"auto_assign": "on"}).status_code == 302
    workspace_a.refresh_from_db()
    assert workspace_a.settings["inbox_auto_assign"] is True
    assert "Auto-assign is on" in alice_client.get(reverse("messaging:inbox")).content.decode()
    assert carol_client.post(reverse("messaging:inbox_settings"), {"auto_assign": "off"}).status_code == 403
    alice_client.post(reverse("messaging:inbox_settings"), {"auto_assign": "off"})
    workspace_a.refresh_from_db()
    assert workspace_a.settings["inbox_auto_assign"] is False
