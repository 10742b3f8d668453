"""Contacts a team can manage (issue 19): search by a phone typed in any format, adding a
known number never renames it, erasure with its messages (UI and API), CSV export safe to
open in a spreadsheet."""

import csv
import io
import json

import pytest

from campaigns.models import CampaignLog
from messaging.models import Chat, Contact, ContactSession, ConversationNote, WebhookDelivery
from messaging.services import contact_erase
from messaging.services.common import chat_payload
from messaging.webhooks import webhook_endpoint_create, webhook_events_record
from tests.factories import (
    CampaignFactory,
    ChatFactory,
    ContactFactory,
    ContactSessionFactory,
    WhatsAppSessionFactory,
)

pytestmark = pytest.mark.django_db


def test_search_finds_a_phone_typed_in_any_format(alice_client, workspace_a):
    ContactFactory(workspace=workspace_a, phone="+5521977770001", name="Ana")
    ContactFactory(workspace=workspace_a, phone="+5521977770002", name="Bia")
    for query in ("+55 21 97777-0001", "(21) 97777-0001", "5521977770001", "ana"):
        page = alice_client.get("/contacts/", {"q": query})
        assert [c.name for c in page.context["contacts"]] == ["Ana"], query


def test_adding_a_known_number_in_the_ui_changes_nothing_and_says_so(alice_client, workspace_a):
    contact = ContactFactory(
        workspace=workspace_a, phone="+5521977770001", name="Ana", metadata={"city": "Rio"}
    )
    answer = alice_client.post(
        "/contacts/", {"phone": "+55 21 97777-0001", "name": "Someone Else"}, follow=True
    )
    assert "is already a contact (Ana); nothing was changed" in answer.content.decode()
    contact.refresh_from_db()
    assert (contact.name, contact.metadata) == ("Ana", {"city": "Rio"})


def test_erasing_a_contact_deletes_its_messages_conversations_notes_and_recipients(
    alice_client, alice, workspace_a
):
    number = WhatsAppSessionFactory(workspace=workspace_a)
    contact = ContactFactory(workspace=workspace_a, name="Ana")
    other = ContactFactory(workspace=workspace_a, name="Bia")
    ChatFactory.create_batch(3, workspace=workspace_a, whatsapp_session=number, contact=contact)
    ChatFactory(workspace=workspace_a, whatsapp_session=number, contact=other)
    conversation = ContactSessionFactory(contact=contact, whatsapp_session=number)
    ConversationNote.objects.create(conversation=conversation, author=alice, body="x")
    CampaignLog.objects.create(campaign=CampaignFactory(workspace=workspace_a), contact=contact)

    page = alice_client.get(f"/contacts/{contact.uuid}/delete/").content.decode()
    assert "3 messages" in page and "1 conversation" in page and "1 campaign recipient entry" in page
    unconfirmed = alice_client.post(f"/contacts/{contact.uuid}/delete/")
    assert unconfirmed.status_code == 302 and Contact.objects.filter(pk=contact.pk).exists()

    assert alice_client.post(f"/contacts/{contact.uuid}/delete/", {"confirm": "yes"}).status_code == 302
    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert not Chat.objects.filter(contact_id=contact.pk).exists()
    assert not ContactSession.objects.filter(contact_id=contact.pk).exists()
    assert not ConversationNote.objects.exists() and not CampaignLog.objects.exists()
    assert Chat.objects.filter(contact=other).count() == 1  # nobody else's


def test_erasing_a_contact_clears_what_the_webhook_outbox_holds_about_it(workspace_a):
    webhook_endpoint_create(workspace=workspace_a, url="https://hooks.example/in")
    number = WhatsAppSessionFactory(workspace=workspace_a)
    contact = ContactFactory(workspace=workspace_a, name="Ana", phone="+5521977770001")
    other = ContactFactory(workspace=workspace_a, name="Bia")

    def record(about):
        chat = ChatFactory(workspace=workspace_a, whatsapp_session=number, contact=about)
        payload = chat_payload(chat, session=number, contact=about)
        [delivery_id] = webhook_events_record(
            workspace_id=workspace_a.id, event_type="message.received", payload=payload
        )
        return delivery_id

    delivered, pending, bias = record(contact), record(contact), record(other)
    WebhookDelivery.objects.filter(pk=delivered).update(status=WebhookDelivery.Status.DELIVERED)

    contact_erase(contact=contact)

    assert not WebhookDelivery.objects.filter(pk=pending).exists()  # never sent after the erasure
    assert WebhookDelivery.objects.get(pk=delivered).payload == {"erased": True}
    assert "+5521977770001" not in json.dumps(list(WebhookDelivery.objects.values_list("payload", flat=True)))
    assert WebhookDelivery.objects.get(pk=bias).payload["contact"]["name"] == "Bia"  # nobody else's


def test_the_api_erases_a_contact(alice_api, workspace_a, workspace_b):
    contact = ContactFactory(workspace=workspace_a)
    foreign = ContactFactory(workspace=workspace_b)
    assert alice_api.delete(f"/api/v1/contacts/{foreign.uuid}").status_code == 404
    assert alice_api.delete(f"/api/v1/contacts/{contact.uuid}").status_code == 204
    assert (
        not Contact.objects.filter(pk=contact.pk).exists() and Contact.objects.filter(pk=foreign.pk).exists()
    )


def test_agents_can_neither_erase_nor_export(carol_client, workspace_a):
    contact = ContactFactory(workspace=workspace_a)
    assert carol_client.post(f"/contacts/{contact.uuid}/delete/", {"confirm": "yes"}).status_code == 403
    assert carol_client.get("/contacts/export.csv").status_code == 403
    assert Contact.objects.filter(pk=contact.pk).exists()


def test_the_export_is_every_contact_and_defuses_spreadsheet_formulas(alice_client, workspace_a, workspace_b):
    ContactFactory(
        workspace=workspace_a,
        phone="+5521977770001",
        name='=HYPERLINK("http://evil")',
        metadata={"city": "Recife"},
        tags=["vip", "=cmd"],
    )
    ContactFactory(
        workspace=workspace_a, phone=None, name="", wa_lid="49991743450909@lid", profile_name="Bia"
    )
    ContactFactory(workspace=workspace_b, name="Not ours")
    answer = alice_client.get("/contacts/export.csv")
    assert answer.status_code == 200 and answer["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode())))
    assert rows[0] == [
        "phone",
        "name",
        "whatsapp_name",
        "whatsapp_id",
        "whatsapp_lid",
        "tags",
        "metadata",
        "created_at",
    ]
    assert [r[:3] for r in rows[1:]] == [
        ["+5521977770001", '\'=HYPERLINK("http://evil")', ""],
        ["", "", "Bia"],
    ]
    assert rows[1][5:7] == ["vip, =cmd", '{"city": "Recife"}'] and rows[2][4] == "49991743450909@lid"
