"""Customers on WhatsApp's LID addressing, through a real worker, Chromium and the simulator
(wa-js 4.6.0 model): a sender known only by LID is stored by it, a reply reaches it and is
acked under the LID form, and the contact gets its phone (one contact, not two) when
WhatsApp shares the mapping. System messages never reach the inbox or webhooks."""

import pytest

from messaging import services as messaging
from messaging.models import Chat, Contact, WebhookDelivery
from messaging.webhooks import webhook_endpoint_create
from sessions_app.models import SessionEvent, WorkerInstance
from tests.e2e.test_connect_number import connect
from tests.e2e.workers import wait_until
from tests.factories import WorkspaceFactory

pytestmark = [pytest.mark.e2e, pytest.mark.browser]
NUMBER, CUSTOMER, LID = "+5511987650071", "+14155550171", "120363012345678@lid"


@pytest.fixture
def worker(start_worker):
    worker = start_worker("wa_lid")
    wait_until(lambda: WorkerInstance.objects.filter(name="wa_lid").exists(), what="worker", log=worker.log)
    return worker


def test_a_lid_customer_is_stored_answered_and_merged_when_its_phone_appears(sim, worker):
    workspace = WorkspaceFactory()
    webhook_endpoint_create(workspace=workspace, url="https://hooks.example/blazz", events=[])
    number = connect(sim, worker, workspace, NUMBER)

    sim.ok("POST", "/messages", {"from_lid": LID, "to": NUMBER, "body": "oi, sou LID"})
    sim.ok("POST", "/messages", {"from_lid": LID, "to": NUMBER, "type": "e2e_notification"})
    wait_until(lambda: Chat.objects.filter(workspace=workspace).exists(), timeout=30, what="the LID message")
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.phone, contact.wa_lid) == (None, LID)

    reply, _ = messaging.chat_send(workspace=workspace, to=LID, body="olá!", idempotency_key="lid-1")
    wait_until(
        lambda: Chat.objects.get(pk=reply.pk).status == "sent", timeout=30, what="sent", log=worker.log
    )
    reply.refresh_from_db()
    assert reply.wam_id.startswith(f"true_{LID}_")
    sim.ok("POST", "/acks", {"id": reply.wam_id, "ack": 2})
    wait_until(lambda: Chat.objects.get(pk=reply.pk).status == "delivered", timeout=30, what="delivered")

    # WhatsApp now shares the phone behind the LID: the same person, one contact.
    sim.ok("POST", "/messages", {"from": CUSTOMER, "from_lid": LID, "to": NUMBER, "body": "meu número"})
    wait_until(
        lambda: Chat.objects.filter(workspace=workspace, direction="inbound").count() == 2,
        timeout=30,
        what="the second message",
    )
    merged = Contact.objects.get(workspace=workspace)
    assert (merged.phone_e164, merged.wa_lid) == (CUSTOMER, LID)
    assert set(Chat.objects.filter(workspace=workspace).values_list("contact_id", flat=True)) == {merged.pk}

    # The security-code notice is on the number's timeline, not in the inbox or the webhooks.
    assert not Chat.objects.filter(workspace=workspace, body="").exists()
    kinds = {d.event_type for d in WebhookDelivery.objects.filter(endpoint__workspace=workspace)}
    assert "message.received" in kinds and all(not k.startswith("system") for k in kinds)
    wait_until(
        lambda: SessionEvent.objects.filter(session=number, detail__message_type="e2e_notification").exists(),
        timeout=30,
        what="the system message on the timeline",
    )


def test_a_customer_on_a_range_the_phone_library_refuses_is_stored_and_answered(sim, worker):
    """Issue 19: `+447700900123` reached the number and vanished. Through the real page it is
    stored under its WhatsApp id, and the reply goes back to that same chat."""
    workspace = WorkspaceFactory()
    connect(sim, worker, workspace, NUMBER)

    sim.ok("POST", "/messages", {"from": "+447700900123", "to": NUMBER, "body": "hello from a new range"})
    wait_until(lambda: Chat.objects.filter(workspace=workspace).exists(), timeout=30, what="the message")
    contact = Contact.objects.get(workspace=workspace)
    assert (contact.phone, contact.wa_id) == (None, "447700900123@c.us")

    reply, _ = messaging.chat_send(
        workspace=workspace, to=contact.address, body="got it", idempotency_key="uk-1"
    )
    wait_until(
        lambda: Chat.objects.get(pk=reply.pk).status == "sent", timeout=30, what="sent", log=worker.log
    )
    outbox = sim.ok("GET", f"/phones/{NUMBER}/outbox")
    assert [(m["body"], "447700900123" in m["to"]) for m in outbox] == [("got it", True)], outbox
