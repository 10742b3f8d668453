"""WhatsApp profile names (issue 19: contacts stayed "—"): the push name each inbound message
carries is kept on the contact and shown until a person sets a name."""

import pytest

from messaging.models import Contact
from messaging.services import contact_update
from sessions_app.models import WhatsAppSession
from sessions_app.webjs.page_events import apply_page_events
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db
CUSTOMER = "+5521977770001"


@pytest.fixture
def number(workspace_a):
    return WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000001"
    )


def inbound(number, n: int, push_name) -> None:
    chat = f"{CUSTOMER[1:]}@c.us"
    apply_page_events(
        session_pk=number.pk,
        events=[
            {
                "seq": n,
                "type": "message",
                "payload": {
                    "id": f"false_{chat}_3A{n:018X}",
                    "chat": chat,
                    "from_jid": chat,
                    "phone": CUSTOMER,
                    "push_name": push_name,
                    "body": f"m{n}",
                    "type": "chat",
                },
            }
        ],
    )


def test_the_push_name_is_kept_and_follows_changes(number, workspace_a):
    inbound(number, 1, "  Ana\x00 Lima  ")
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.name, contact.profile_name, contact.label) == ("", "Ana Lima", "Ana Lima")
    inbound(number, 2, None)  # a message without one keeps what is known
    inbound(number, 3, "")
    assert Contact.objects.get(pk=contact.pk).profile_name == "Ana Lima"
    inbound(number, 4, "Ana L. 🌸")
    assert Contact.objects.get(pk=contact.pk).profile_name == "Ana L. 🌸"


def test_a_name_a_person_set_wins(number, workspace_a):
    inbound(number, 1, "Ana Lima")
    contact = contact_update(contact=Contact.objects.get(workspace=workspace_a), name="Ana (VIP)")
    inbound(number, 2, "Ana")
    contact.refresh_from_db()
    assert (contact.name, contact.profile_name, contact.label) == ("Ana (VIP)", "Ana", "Ana (VIP)")


def test_the_inbox_and_the_api_show_it(number, workspace_a, alice_client, alice_api):
    inbound(number, 1, "Ana Lima")
    assert "Ana Lima" in alice_client.get("/inbox/").content.decode()
    [row] = alice_api.get("/api/v1/contacts").json()["results"]
    assert (row["name"], row["profile_name"]) == ("", "Ana Lima")
