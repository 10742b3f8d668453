"""The per-contact conversation page (every number, both directions), reached from a contact:
a reply goes through chat_send (agents too); refusals are flash messages; another workspace's
contact is a 404. The team inbox's list and conversation panes are tests/messaging/
test_team_inbox_ui.py."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from messaging.models import Chat, Contact
from tests.factories import ChatFactory, ContactFactory, ContactSessionFactory, WhatsAppSessionFactory
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


def chat(number, contact, direction="inbound", body="hi", minutes_ago=0, status="delivered"):
    message = ChatFactory(
        workspace=number.workspace,
        whatsapp_session=number,
        contact=contact,
        direction=direction,
        body=body,
        status=status,
    )
    Chat.objects.filter(pk=message.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_ago))
    return message


@pytest.fixture
def conversations(workspace_a, numbers):
    one, two = numbers
    ann = ContactFactory(workspace=workspace_a, name="Ann", phone="+12015550201")
    ben = ContactFactory(workspace=workspace_a, name="Ben", phone="+12015550202")
    ContactFactory(workspace=workspace_a, name="Silent")  # no messages: not a conversation
    chat(one, ann, body="ann 1", minutes_ago=30)
    chat(two, ann, body="ann 2", minutes_ago=20)
    chat(one, ben, body="ben 1", minutes_ago=25)
    chat(one, ben, direction="outbound", body="to ben", minutes_ago=10, status="read")
    ContactSessionFactory(contact=ann, whatsapp_session=two)
    return ann, ben


def test_it_shows_the_thread_across_numbers_with_ticks(alice_client, conversations):
    _, ben = conversations
    pending = chat(
        ben.chats.first().whatsapp_session, ben, direction="outbound", body="later", status="pending"
    )

    page = alice_client.get(reverse("messaging:conversation", kwargs={"contact_uuid": ben.uuid}))

    html = page.content.decode()
    assert [m.body for m in page.context["conversation"].messages] == ["ben 1", "to ben", "later"]
    assert "via +12015550101" in html
    assert 'class="tick read"' in html
    assert f'data-chat="{pending.uuid}"' in html
    assert "⏳" in html


def test_it_sends_a_reply_through_chat_send(
    alice_client,
    conversations,
    numbers,
    live_worker,  # noqa: F811
    broker,  # noqa: F811
    django_capture_on_commit_callbacks,
):
    ann, _ = conversations
    url = reverse("messaging:conversation_reply", kwargs={"contact_uuid": ann.uuid})

    with django_capture_on_commit_callbacks(execute=True):
        response = alice_client.post(url, {"body": "مرحبا 👋", "idempotency_key": "abc"})

    assert response.status_code == 302
    reply = Chat.objects.get(direction="outbound", contact=ann)
    assert (reply.status, reply.body) == ("pending", "مرحبا 👋")
    assert reply.whatsapp_session == numbers[1]  # the number Ann last talked to
    sends = [t for t in broker.tasks(live_worker) if t.name == "sessions_app.tasks.session_send"]
    assert [t.kwargs["chat_pk"] for t in sends] == [reply.pk]


def test_it_sends_from_the_picked_number_and_once_per_form(alice_client, conversations, numbers):
    ann, _ = conversations
    url = reverse("messaging:conversation_reply", kwargs={"contact_uuid": ann.uuid})
    form = {"body": "from one", "session": str(numbers[0].uuid), "idempotency_key": "form-1"}

    alice_client.post(url, form)
    again = alice_client.post(url, form, follow=True)

    reply = Chat.objects.get(direction="outbound", contact=ann)
    assert reply.whatsapp_session == numbers[0]
    assert "already sent" in again.content.decode()


def test_an_agent_can_reply(carol_client, conversations, numbers):
    ann, _ = conversations

    response = carol_client.post(
        reverse("messaging:conversation_reply", kwargs={"contact_uuid": ann.uuid}), {"body": "Agent here"}
    )

    assert response.status_code == 302
    assert Chat.objects.filter(direction="outbound", contact=ann, body="Agent here").exists()
    assert carol_client.get(reverse("messaging:inbox")).status_code == 200


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"body": "   "}, "non-empty"),
        ({"body": "x" * 5000}, "limit"),
        ({"body": "hi", "session": "not-a-uuid"}, "no longer available"),
    ],
)
def test_it_flashes_refusals_instead_of_failing(alice_client, conversations, form, message):
    ann, _ = conversations

    response = alice_client.post(
        reverse("messaging:conversation_reply", kwargs={"contact_uuid": ann.uuid}), form, follow=True
    )

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Chat.objects.filter(direction="outbound", contact=ann).exists()


def test_it_flashes_when_no_number_is_connected(alice_client, workspace_a):
    number = WhatsAppSessionFactory(workspace=workspace_a, status="disconnected", phone_number="+12015550101")
    ann = ContactFactory(workspace=workspace_a)
    chat(number, ann)

    response = alice_client.post(
        reverse("messaging:conversation_reply", kwargs={"contact_uuid": ann.uuid}),
        {"body": "hi"},
        follow=True,
    )

    assert response.status_code == 200
    assert "connect one first" in response.content.decode()
    assert Chat.objects.filter(direction="outbound").count() == 0


def test_it_answers_404_for_another_workspaces_contact(alice_client, workspace_b):
    foreign = ContactFactory(workspace=workspace_b)

    assert (
        alice_client.get(reverse("messaging:conversation", kwargs={"contact_uuid": foreign.uuid})).status_code
        == 404
    )
    reply = alice_client.post(
        reverse("messaging:conversation_reply", kwargs={"contact_uuid": foreign.uuid}), {"body": "hi"}
    )
    assert reply.status_code == 404
    assert Contact.objects.get(pk=foreign.pk).inbox_read_at is None


def test_it_needs_a_login(client, conversations):
    ann, _ = conversations

    assert client.get(reverse("messaging:inbox")).status_code == 302
    assert client.get(reverse("messaging:conversation", kwargs={"contact_uuid": ann.uuid})).status_code == 302


def test_the_reply_box_names_the_number_chat_send_would_use(alice_client, conversations, numbers):
    from messaging.services import sending_session_choose

    ann, _ = conversations
    one, two = numbers
    two.status = "disconnected"
    two.save(update_fields=["status"])  # Ann's last number is gone: the primary answers her

    page = alice_client.get(reverse("messaging:conversation", kwargs={"contact_uuid": ann.uuid}))

    # Before, the page offered "Automatic" while chat_send picked the primary.
    assert (
        page.context["default_number"] == sending_session_choose(workspace=ann.workspace, contact=ann) == one
    )
    assert "+12015550101 (primary)" in page.content.decode()
