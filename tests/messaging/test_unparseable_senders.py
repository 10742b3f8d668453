"""A customer WhatsApp delivers is never dropped because Blazz's phone-number library does not
know its range (issue 19: `+447700900123`, in a range libphonenumber calls invalid, vanished
while `+447911123456` worked). It is stored under its raw WhatsApp id, shown as such, and can be
answered from the inbox and the API."""

from __future__ import annotations

import pytest

from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging import services as messaging
from messaging.models import Chat, Contact, ContactSession, WebhookDelivery
from messaging.services.contacts import raw_whatsapp_id
from messaging.webhooks import webhook_endpoint_create
from sessions_app.models import WhatsAppSession
from sessions_app.webjs.page_events import apply_page_events
from tests.factories import WhatsAppSessionFactory

pytestmark = pytest.mark.django_db

UNKNOWN_RANGE = "+447700900123"  # a UK drama range: real WhatsApp ids can be such numbers too
RAW_ID = "447700900123@c.us"


@pytest.fixture
def number(workspace_a):
    return WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000001"
    )


def bridge_message(n: int, chat: str = RAW_ID, phone: str | None = UNKNOWN_RANGE) -> dict:
    # The shape bridge.js pushes for a 1:1 `@c.us` chat (phoneOf reads 7-15 digits as a phone).
    return {
        "seq": n,
        "type": "message",
        "payload": {
            "id": f"false_{chat}_3A{n:018X}",
            "chat": chat,
            "from_jid": chat,
            "phone": phone,
            "lid": None,
            "body": f"hello {n}",
            "type": "chat",
            "fromMe": False,
        },
    }


def test_the_range_is_one_the_phone_library_refuses():
    # The premise of this file: if the library learns the range, pick another example.
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(UNKNOWN_RANGE)


def test_raw_whatsapp_ids_are_read_from_phone_jids_only():
    assert raw_whatsapp_id("447700900123@c.us") == RAW_ID
    assert raw_whatsapp_id("447700900123:7@s.whatsapp.net") == RAW_ID
    assert raw_whatsapp_id("+447700900123") == RAW_ID
    for not_a_phone_id in ("49991743450909@lid", "120363040000000000@g.us", "status@broadcast", "", None, 42):
        assert raw_whatsapp_id(not_a_phone_id) is None


def test_a_sender_the_phone_library_refuses_is_stored_once_under_its_whatsapp_id(number, workspace_a):
    webhook_endpoint_create(
        workspace=workspace_a, url="https://hooks.example/in", events=["message.received"]
    )
    apply_page_events(session_pk=number.pk, events=[bridge_message(1), bridge_message(2)])
    apply_page_events(session_pk=number.pk, events=[bridge_message(2)])  # a harvest read twice

    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone, contact.wa_lid, contact.wa_id) == (None, None, RAW_ID)
    assert contact.address == RAW_ID
    assert list(Chat.objects.filter(contact=contact).order_by("id").values_list("body", flat=True)) == [
        "hello 1",
        "hello 2",
    ]
    assert ContactSession.objects.get(contact=contact).total_messages == 2
    payloads = [d.payload for d in WebhookDelivery.objects.filter(event_type="message.received")]
    assert len(payloads) == 2
    assert {p["contact"]["wa_id"] for p in payloads} == {RAW_ID}
    assert {p["contact"]["phone"] for p in payloads} == {None}


def test_a_parseable_sender_is_still_stored_by_e164(number, workspace_a):
    apply_page_events(
        session_pk=number.pk, events=[bridge_message(1, chat="447911123456@c.us", phone="+447911123456")]
    )
    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone_e164, contact.wa_id) == ("+447911123456", None)


def test_the_customer_is_answered_under_its_whatsapp_id(number, workspace_a):
    apply_page_events(session_pk=number.pk, events=[bridge_message(1)])
    contact = Contact.objects.get(workspace=workspace_a)

    for to in (RAW_ID, UNKNOWN_RANGE):
        reply, created = messaging.chat_send(
            workspace=workspace_a, to=to, body="we got it", idempotency_key=f"reply-{to}"
        )
        assert created and reply.contact_id == contact.pk and reply.whatsapp_session_id == number.pk
    assert Contact.objects.filter(workspace=workspace_a).count() == 1


def test_an_unknown_unparseable_number_is_still_refused_for_a_first_message(workspace_a, number):
    with pytest.raises(messaging.InvalidMessage):
        messaging.chat_send(workspace=workspace_a, to="+447700900999", body="hi", idempotency_key="cold")


def test_the_inbox_and_the_api_show_the_whatsapp_id(number, workspace_a, alice_client, alice_api):
    apply_page_events(session_pk=number.pk, events=[bridge_message(1)])
    assert RAW_ID in alice_client.get("/inbox/").content.decode()
    listed = alice_api.get("/api/v1/contacts").json()
    rows = listed.get("results", listed)
    assert [(row["phone"], row["wa_id"]) for row in rows] == [(None, RAW_ID)]
