"""What the bridge hands in, stored as wa-js 4.6.0 shapes it: senders on LID addressing,
acks under either form of a key, failed acks, and system message types."""

from __future__ import annotations

import pytest

from blazz.phones import InvalidPhoneNumber, normalize_phone
from messaging.models import Chat, Contact, ContactSession, WebhookDelivery
from messaging.webhooks import webhook_endpoint_create
from sessions_app.models import SessionEvent, WhatsAppSession
from sessions_app.webjs.page_events import apply_page_events
from tests.factories import ChatFactory, ContactFactory, WhatsAppSessionFactory

pytestmark = pytest.mark.django_db

LID = "49991743450909@lid"
PHONE = "+5511987650103"


@pytest.fixture
def number(workspace_a):
    return WhatsAppSessionFactory(
        workspace=workspace_a, status=WhatsAppSession.Status.CONNECTED, phone_number="+5511900000001"
    )


def message(n: int, **sender) -> dict:
    chat = sender.get("lid") or f"{PHONE[1:]}@c.us"
    return {
        "seq": n,
        "type": "message",
        "payload": {
            "id": f"false_{chat}_3A{n:018X}",
            "chat": chat,
            "from_jid": chat,
            "body": f"m{n}",
            "type": "chat",
            "fromMe": False,
            **sender,
        },
    }


def outbound(number, *, status, wam_id=None) -> Chat:
    contact = ContactFactory(workspace=number.workspace, phone=PHONE)
    return ChatFactory(
        workspace=number.workspace,
        whatsapp_session=number,
        contact=contact,
        direction=Chat.Direction.OUTBOUND,
        status=status,
        wam_id=wam_id,
    )


def ingest(number, *events) -> None:
    apply_page_events(session_pk=number.pk, events=list(events))


def test_it_never_reads_a_lid_as_a_phone_number():
    with pytest.raises(InvalidPhoneNumber):
        normalize_phone(LID)


def test_it_stores_a_lid_only_sender_by_its_lid(number):
    ingest(number, message(1, lid=LID, phone=None))

    contact = Chat.objects.get().contact
    assert (contact.phone, contact.wa_lid) == (None, LID)
    assert contact.address == LID


def test_it_merges_the_lid_contact_when_the_mapping_appears(number, workspace_a):
    ingest(number, message(1, lid=LID, phone=None))
    lid_only = Contact.objects.get(workspace=workspace_a)
    ContactFactory(workspace=workspace_a, phone=PHONE, name="Ana")  # known by phone before

    ingest(number, message(2, lid=LID, phone=PHONE))

    contact = Contact.objects.get(workspace=workspace_a)
    assert (contact.phone_e164, contact.wa_lid, contact.name) == (PHONE, LID, "Ana")
    assert not Contact.objects.filter(pk=lid_only.pk).exists()
    assert set(Chat.objects.values_list("contact_id", flat=True)) == {contact.pk}
    link = ContactSession.objects.get(contact=contact)
    assert link.total_messages == 2


def test_it_gives_a_lid_contact_its_phone_when_none_had_it(number, workspace_a):
    ingest(number, message(1, lid=LID, phone=None))
    ingest(number, message(2, lid=LID, phone=PHONE))

    assert list(Contact.objects.filter(workspace=workspace_a).values_list("wa_lid", flat=True)) == [LID]
    assert Contact.objects.get(workspace=workspace_a).phone_e164 == PHONE


def test_it_matches_an_ack_under_the_other_form_of_the_key(number):
    sent = outbound(number, status=Chat.Status.SENT, wam_id=f"true_{PHONE[1:]}@c.us_ABC")
    ack = {"id": f"true_{LID}_ABC", "ids": [f"true_{LID}_ABC", f"true_{PHONE[1:]}@c.us_ABC"], "ack": 3}

    ingest(number, {"seq": 1, "type": "ack", "payload": ack})

    sent.refresh_from_db()
    assert sent.status == Chat.Status.READ


def test_a_negative_ack_fails_the_send_with_a_webhook(number, workspace_a):
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["message.failed"])
    pending = outbound(number, status=Chat.Status.PENDING, wam_id="true_x@c.us_F00")

    ingest(
        number,
        {
            "seq": 1,
            "type": "ack",
            "payload": {"id": "true_x@c.us_F00", "ids": ["true_x@c.us_F00"], "ack": -1},
        },
    )

    pending.refresh_from_db()
    assert pending.status == Chat.Status.FAILED
    delivery = WebhookDelivery.objects.get(event_type="message.failed")
    assert delivery.payload["uuid"] == str(pending.uuid)


def test_the_first_ack_of_an_unconfirmed_send_makes_it_sent(number, workspace_a):
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["message.sent"])
    pending = outbound(number, status=Chat.Status.PENDING, wam_id="true_y@c.us_B0B")

    ingest(number, {"seq": 1, "type": "ack", "payload": {"id": "true_y@c.us_B0B", "ack": 1}})

    pending.refresh_from_db()
    assert pending.status == Chat.Status.SENT
    assert WebhookDelivery.objects.filter(event_type="message.sent").count() == 1


def test_system_messages_are_timeline_events_not_chats(number, workspace_a):
    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=[])
    system = {"id": "false_1@c.us_E2E", "chat": "1@c.us", "type": "e2e_notification", "subtype": "encrypt"}

    ingest(number, {"seq": 1, "type": "system", "payload": system})

    assert Chat.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0
    event = SessionEvent.objects.get(session=number, kind=SessionEvent.Kind.PAGE_EVENT)
    assert event.detail["type"] == "system" and event.detail["id"] == "false_1@c.us_E2E"


def test_a_media_message_stores_its_caption_and_description(number):
    media = message(1, phone=PHONE)
    media["payload"].update(type="image", body="the receipt", media={"mimetype": "image/jpeg", "size": 99})

    ingest(number, media)

    chat = Chat.objects.get()
    assert chat.body == "the receipt"
    assert chat.media == {"type": "image", "mimetype": "image/jpeg", "size": 99}


def test_sent_status_and_its_webhook_commit_together(number, workspace_a, monkeypatch):
    from messaging.services import chat_mark_sent
    from messaging.services.outbound import worker as outbound_worker  # chat_mark_sent's module

    webhook_endpoint_create(workspace=workspace_a, url="https://a.example/hook", events=["message.sent"])
    pending = outbound(number, status=Chat.Status.PENDING)

    def outbox_down(*args, **kwargs):
        raise RuntimeError("the outbox insert failed")

    monkeypatch.setattr(outbound_worker, "webhook_record", outbox_down)
    with pytest.raises(RuntimeError):
        chat_mark_sent(chat=pending, wam_id="true_x@c.us_AB")

    # Before, the status committed on its own and message.sent was lost.
    pending.refresh_from_db()
    assert pending.status == Chat.Status.PENDING and pending.wam_id is None


def test_a_ready_page_is_connected_with_the_number_it_reported(workspace_a):
    starting = WhatsAppSessionFactory(workspace=workspace_a, status=WhatsAppSession.Status.AUTHENTICATED)

    apply_page_events(
        session_pk=starting.pk, events=[{"seq": 1, "type": "ready", "payload": {}}], page_me=PHONE
    )

    starting.refresh_from_db()
    assert (starting.status, starting.phone_number) == (WhatsAppSession.Status.CONNECTED, PHONE)
